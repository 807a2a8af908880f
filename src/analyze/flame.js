/* SPDX-License-Identifier: MIT */
/*
 * The flame graph's script (flame.c), in the standalone SVG and in the
 * HTML page alike: it finds its elements by id.  Embedded in the program
 * as a string (Makefile.am, tools/embed.sh): it must never hold the end of
 * a CDATA section nor a closing script tag (the build checks).
 */
(function () {
  'use strict';
  var svg = document.getElementById('tripod-flame');
  if (!svg) return;
  var W = +svg.getAttribute('data-width');
  var PAD = +svg.getAttribute('data-pad');
  var TOTAL = +svg.getAttribute('data-total');
  var frames = Array.prototype.slice.call(svg.querySelectorAll('g.f'));
  var details = document.getElementById('tripod-details');
  var matched = document.getElementById('tripod-matched');
  var reset = document.getElementById('tripod-reset');
  var num = function (g, a) { return +g.getAttribute('data-' + a); };
  function place(g, x, w) {
    var r = g.querySelector('rect'), t = g.querySelector('text');
    var l = g.getAttribute('data-l');
    r.setAttribute('x', x.toFixed(1));
    r.setAttribute('width', w.toFixed(1));
    t.setAttribute('x', (x + 3).toFixed(1));
    var n = Math.floor((w - 6) / 7);
    t.textContent = n < 3 ? '' : l.length <= n ? l : l.substring(0, n - 2) + '..';
  }
  function unzoom() {
    var s = (W - 2 * PAD) / TOTAL;
    frames.forEach(function (f) {
      f.style.display = '';
      f.classList.remove('parent');
      place(f, PAD + num(f, 'x') * s, num(f, 'w') * s);
    });
    if (reset) reset.style.display = 'none';
  }
  function zoom(g) {
    var x0 = num(g, 'x'), w0 = num(g, 'w'), d0 = num(g, 'd');
    if (d0 === 0) { unzoom(); return; }
    var s = (W - 2 * PAD) / w0;
    frames.forEach(function (f) {
      var x = num(f, 'x'), w = num(f, 'w'), d = num(f, 'd');
      if (d < d0 && x <= x0 && x + w >= x0 + w0) {
        f.style.display = '';
        f.classList.add('parent');
        place(f, PAD, W - 2 * PAD);
      } else if (d >= d0 && x >= x0 && x + w <= x0 + w0 && w * s >= 0.1) {
        f.style.display = '';
        f.classList.remove('parent');
        place(f, PAD + (x - x0) * s, w * s);
      } else {
        f.style.display = 'none';
      }
    });
    if (reset) reset.style.display = '';
  }
  function pattern(term) {
    try { return new RegExp(term, 'i'); } catch (e) {
      return new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    }
  }
  /* Colour the frames whose label matches; the share of the samples
     under a match (nested matches counted once). */
  function search(term) {
    var re = term ? pattern(term) : null, hits = [];
    frames.forEach(function (f) {
      var r = f.querySelector('rect');
      if (re && num(f, 'd') > 0 && re.test(f.getAttribute('data-l'))) {
        r.setAttribute('fill', 'rgb(230,0,230)');
        hits.push([num(f, 'x'), num(f, 'x') + num(f, 'w')]);
      } else {
        r.setAttribute('fill', r.getAttribute('data-fill'));
      }
    });
    hits.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var covered = 0, end = -1;
    hits.forEach(function (h) {
      if (h[0] >= end) { covered += h[1] - h[0]; end = h[1]; }
      else if (h[1] > end) { covered += h[1] - end; end = h[1]; }
    });
    var share = TOTAL ? 100 * covered / TOTAL : 0;
    if (matched) matched.textContent = re ? 'Matched: ' + share.toFixed(1) + '%' : '';
    return share;
  }
  frames.forEach(function (f) {
    f.addEventListener('click', function () { zoom(f); });
    f.addEventListener('mouseover', function () {
      if (details) details.textContent = f.querySelector('title').textContent;
    });
    f.addEventListener('mouseout', function () {
      if (details) details.textContent = ' ';
    });
  });
  if (reset) reset.addEventListener('click', unzoom);
  var ctl = document.getElementById('tripod-search');
  if (ctl) ctl.addEventListener('click', function () {
    var term = window.prompt('Search for (a regular expression):', '');
    if (term !== null) search(term);
  });
  if (matched) matched.addEventListener('click', function () { search(''); });
  window.tripodFlame = { search: search, zoom: zoom, unzoom: unzoom };
})();
