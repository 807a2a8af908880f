/* SPDX-License-Identifier: MIT */
/*
 * The HTML page of tripod-analyze --format html (html.c): a timeline of the
 * snapshots (a row per thread and task, a column per snapshot, coloured by
 * the innermost function), the flame graph (flame.c, flame.js), and the
 * stacks of the snapshot clicked, with every frame's locals; a search box
 * for a function, a local's name or its value.  Everything it shows comes
 * from the JSON records embedded in the page (the records of
 * tripod-analyze --format json), written into the page with textContent
 * only: a value never becomes markup.
 */
(function () {
  'use strict';
  var records = JSON.parse(document.getElementById('tripod-records').textContent);
  var options = JSON.parse(document.getElementById('tripod-options').textContent);
  var term = '';
  var current = -1;

  function selected(label) {
    return !options.threads.length || options.threads.indexOf(label) >= 0;
  }
  /* as tp_views_thread_label() names them */
  function threadLabel(t) {
    if (t.name !== null && t.name !== undefined) return t.name;
    if (t.tid) return 'thread ' + t.tid;
    if (t.ident !== null && t.ident !== undefined) return 'thread ident ' + t.ident;
    return 'thread ?';
  }
  function taskLabel(t) {
    return t.name !== null && t.name !== undefined ? 'Task ' + t.name : 'Task at ' + t.address;
  }
  function stacks(rec) {
    var out = [];
    rec.threads.forEach(function (t) {
      var l = threadLabel(t);
      if (selected(l)) out.push({ label: l, kind: 'thread', obj: t });
    });
    (rec.tasks || []).forEach(function (t) {
      var l = taskLabel(t);
      if (selected(l)) out.push({ label: l, kind: 'task', obj: t });
    });
    return out;
  }
  function fnName(f) { return f.qualname || f.function || '?'; }
  function frameLabel(f) {
    return fnName(f) + ' (' + (f.file || '?') + ':' + (f.line === null ? '?' : f.line) + ')';
  }
  /* the flame graph's palette (flame.c frame_colour) */
  function colour(name) {
    var h = 2166136261;
    for (var i = 0; i < name.length && name.charAt(i) !== ' '; i++) {
      h ^= name.charCodeAt(i) & 0xff;
      h = Math.imul(h, 16777619) >>> 0;
    }
    return 'rgb(' + (205 + h % 50) + ',' + ((h >>> 8) % 230) + ',' + ((h >>> 16) % 55) + ')';
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function matches(s) {
    return term !== '' && s !== null && s !== undefined &&
      String(s).toLowerCase().indexOf(term) >= 0;
  }
  function frameMatches(f) {
    if (matches(f.function) || matches(f.qualname)) return true;
    return (f.locals || []).some(function (l) { return matches(l.name) || matches(l.repr); });
  }
  function stackMatches(s) { return (s.obj.frames || []).some(frameMatches); }

  /* ---- the timeline ---- */
  var rows = [], rowIndex = {};
  records.forEach(function (rec) {
    stacks(rec).forEach(function (s) {
      if (!(s.label in rowIndex)) {
        rowIndex[s.label] = rows.length;
        rows.push({ label: s.label, kind: s.kind });
      }
    });
  });
  var cells = [];
  function buildTimeline() {
    var table = document.getElementById('timeline');
    var head = el('tr');
    head.appendChild(el('th', 'row-label', 'snapshot'));
    var step = Math.max(1, Math.ceil(records.length / 20));
    records.forEach(function (rec, i) {
      var th = el('th', 'col', i % step === 0 ? String(i + 1) : '');
      th.title = (rec.time || '') + ' ' + (rec.file || '');
      th.setAttribute('data-snap', i);
      th.addEventListener('click', function () { show(i); });
      head.appendChild(th);
    });
    table.appendChild(head);
    rows.forEach(function (row) {
      var tr = el('tr', 'row ' + row.kind);
      tr.appendChild(el('th', 'row-label', row.label));
      cells.push([]);
      table.appendChild(tr);
    });
    records.forEach(function (rec, i) {
      var byLabel = {};
      stacks(rec).forEach(function (s) { byLabel[s.label] = s; });
      rows.forEach(function (row, r) {
        var td = el('td', 'cell');
        var s = byLabel[row.label];
        td.setAttribute('data-snap', i);
        if (!s) {
          td.className += ' absent';
          td.title = (rec.time || '') + ': not present';
        } else {
          var fr = s.obj.frames || [];
          var inner = fr.length ? fr[fr.length - 1] : null;
          td.style.background = inner ? colour(fnName(inner)) : '#ddd';
          td.title = (rec.time || '') + ': ' + (inner ? frameLabel(inner) : 'no Python frame') +
            (s.kind === 'task' && s.obj.state ? ' [' + s.obj.state + ']' : '');
          if (s.kind === 'task') td.className += ' task-' + (s.obj.state || 'unknown');
        }
        td.addEventListener('click', function () { show(i); });
        table.rows[r + 1].appendChild(td);
        cells[r].push({ td: td, stack: s });
      });
    });
  }

  /* ---- one snapshot's stacks ---- */
  function renderStack(s, rec, names) {
    var div = el('div', 'stack ' + s.kind);
    div.setAttribute('data-label', s.label);
    var h = el('h3', null, s.kind === 'task' ? "Task '" + (s.obj.name || s.obj.address) + "'" : s.label);
    var meta = [];
    if (s.kind === 'thread') {
      if (s.obj.tid) meta.push('native ' + s.obj.tid);
      if (s.obj.holds_gil) meta.push('holds the GIL');
      if (s.obj.is_main) meta.push('main thread');
    } else {
      if (s.obj.state) meta.push(s.obj.state);
      var by = (s.obj.awaited_by || []).map(function (a) { return "'" + (names[a] || a) + "'"; });
      if (by.length) meta.push('awaited by ' + by.join(', '));
      if (s.obj.in_cycle) meta.push('in an await cycle');
    }
    if (meta.length) h.appendChild(el('span', 'meta', ' (' + meta.join(', ') + ')'));
    div.appendChild(h);
    if (s.kind === 'task' && s.obj.awaiting) div.appendChild(el('div', 'awaiting', 'awaiting ' + s.obj.awaiting));
    var ol = el('ol', 'frames');
    (s.obj.frames || []).forEach(function (f) {
      var li = el('li', 'frame' + (frameMatches(f) ? ' hit' : ''));
      li.setAttribute('data-file', f.file);
      li.setAttribute('data-line', f.line === null ? '' : f.line);
      li.setAttribute('data-function', f.function);
      var where = el('div', 'where');
      where.appendChild(document.createTextNode('File "'));
      where.appendChild(el('span', 'file', f.file));
      where.appendChild(document.createTextNode('", line '));
      where.appendChild(el('span', 'line', f.line === null ? '?' : String(f.line)));
      where.appendChild(document.createTextNode(', in '));
      where.appendChild(el('span', 'function', fnName(f)));
      li.appendChild(where);
      if (f.error) li.appendChild(el('div', 'error', f.error));
      var locals = f.locals || [];
      if (locals.length) {
        var det = el('details', 'locals');
        det.appendChild(el('summary', null, locals.length + (locals.length === 1 ? ' local' : ' locals')));
        var table = el('table');
        var open = false;
        locals.forEach(function (l) {
          var hit = matches(l.name) || matches(l.repr);
          open = open || hit;
          var tr = el('tr', 'local' + (hit ? ' hit' : ''));
          tr.appendChild(el('td', 'name', l.name));
          tr.appendChild(el('td', 'type', l.type));
          var td = el('td', 'repr');
          td.appendChild(el('pre', null, l.repr));
          tr.appendChild(td);
          table.appendChild(tr);
        });
        det.appendChild(table);
        det.open = open;
        li.appendChild(det);
      }
      ol.appendChild(li);
    });
    div.appendChild(ol);
    if (s.obj.error) div.appendChild(el('div', 'error', s.obj.error));
    return div;
  }
  function show(i) {
    current = i;
    var rec = records[i];
    var title = document.getElementById('snapshot-title');
    title.textContent = 'Snapshot ' + (i + 1) + ' of ' + records.length + ': ' +
      (rec.time || 'time unknown') + ', ' + (rec.file || '') +
      (rec.python_version ? ', Python ' + rec.python_version : '');
    var pane = document.getElementById('snapshot');
    pane.setAttribute('data-snap', i);
    while (pane.firstChild) pane.removeChild(pane.firstChild);
    var names = {};
    (rec.tasks || []).forEach(function (t) { names[t.address] = t.name || t.address; });
    stacks(rec).forEach(function (s) { pane.appendChild(renderStack(s, rec, names)); });
    Array.prototype.forEach.call(document.querySelectorAll('#timeline .sel'), function (e) {
      e.classList.remove('sel');
    });
    Array.prototype.forEach.call(document.querySelectorAll('#timeline [data-snap="' + i + '"]'), function (e) {
      e.classList.add('sel');
    });
  }

  /* ---- search ---- */
  function search(text) {
    term = text.toLowerCase();
    var n = 0;
    cells.forEach(function (row) {
      row.forEach(function (c) {
        /* a boolean: toggle(name, undefined) would flip the class of a
         * cell whose thread or task is absent from that snapshot */
        var hit = term !== '' && !!c.stack && stackMatches(c.stack);
        c.td.classList.toggle('hit', hit);
        c.td.classList.toggle('miss', term !== '' && !hit);
        if (hit) n++;
      });
    });
    var count = document.getElementById('search-count');
    count.textContent = term === '' ? '' : n + ' of the timeline\'s stacks match';
    if (window.tripodFlame)
      window.tripodFlame.search(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    if (current >= 0) show(current);
  }
  document.getElementById('search').addEventListener('input', function (e) {
    search(e.target.value);
  });

  buildTimeline();
  if (records.length) show(0);
  window.tripodPage = { show: show, search: search, records: records };
})();
