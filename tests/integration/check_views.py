#!/usr/bin/env python3
"""Check tripod-analyze's views over many snapshots (test_views.c).

Every expected value comes from elsewhere than the view checked: the JSON
records of the same snapshots (tripod-analyze --format json, themselves
checked against the truth recorded inside the target by test_scenarios),
or that truth directly (fixtures/tripod_fixture.py).

usage:
  check_views.py collapsed JSONL COLLAPSED [--by-thread] [--threads A,B]
      every line's count equals the number of JSON records' threads and
      tasks with that stack
  check_views.py summary TRUTH JSONL SUMMARY
      each thread's innermost frame and function, counted in every
      snapshot, as the truth recorded them
  check_views.py svg SVG COLLAPSED
      the SVG parses as XML; its frames are the tree of the collapsed
      stacks, each with its sample count
  check_views.py html HTML JSONL
      the page parses as HTML; its data are the JSON records; no external
      resource
  check_views.py browser HTML JSONL OUTDIR
      headless Chromium loads the page, clicks the last snapshot and
      searches; the stacks and locals shown are those of that snapshot's
      JSON record; a screenshot goes to OUTDIR/page.png
  check_views.py progress ANALYZE DIR COUNT [--eta]
      progress on a terminal ([COUNT/COUNT], a rate), none otherwise
  check_views.py svg-browser SVG COLLAPSED DIR
      the SVG in headless Chromium: zoom by clicking, reset, search
  check_views.py summary-records JSONL SUMMARY
      --summary of moving snapshots: its counts are those of the records
  check_views.py diff TRUTH1 TRUTH2 DIFF
      --diff between the two phases is what the two truths differ by
  check_views.py tree TRUTH TREE
      --tasks tree: each task hangs under the tasks the scenario made
      await it, cycles marked, with the recorded coroutine frames
Exits 1 with the differences printed, 0 when all is as expected.
"""
import html
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

SVG_NS = "{http://www.w3.org/2000/svg}"


def clean(s):
    return s.replace(";", ":").replace("\n", " ").replace("\r", " ")


def frame_label(f):
    """As tp_views_frame_label(): QUALNAME (FILE:LINE)."""
    fn = f.get("qualname") or f.get("function") or "?"
    line = "?" if f.get("line") is None else str(f["line"])
    return "%s (%s:%s)" % (clean(fn), clean(f.get("file") or "?"), line)


def function_label(f):
    fn = f.get("qualname") or f.get("function") or "?"
    return "%s (%s)" % (clean(fn), clean(f.get("file") or "?"))


def thread_label(t):
    if t.get("name") is not None:
        return t["name"]
    if t.get("tid"):
        return "thread %d" % t["tid"]
    if t.get("ident") is not None:
        return "thread ident %d" % t["ident"]
    return "thread ?"


def task_label(t):
    if t.get("name") is not None:
        return "Task " + t["name"]
    return "Task at " + t["address"]


def stacks(rec, threads=None):
    out = []
    for t in rec["threads"]:
        out.append((thread_label(t), t))
    for t in rec.get("tasks") or []:
        out.append((task_label(t), t))
    return [(l, s) for l, s in out if not threads or l in threads]


def records(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def fold(recs, by_thread, threads):
    want = {}
    for rec in recs:
        for label, s in stacks(rec, threads):
            if not s["frames"]:
                continue
            path = [label] if by_thread else []
            path += [frame_label(f) for f in s["frames"]]
            key = ";".join(path)
            want[key] = want.get(key, 0) + 1
    return want


def parse_collapsed(path):
    got = {}
    problems = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            problems.append("not a folded line: %r" % line)
            continue
        if stack in got:
            problems.append("stack twice: %r" % stack)
        got[stack] = int(count)
    return got, problems


def check_collapsed(args):
    recs = records(args[0])
    got, problems = parse_collapsed(args[1])
    by_thread = "--by-thread" in args
    threads = None
    if "--threads" in args:
        threads = args[args.index("--threads") + 1].split(",")
    want = fold(recs, by_thread, threads)
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            problems.append("%r: %s, JSON records say %s" % (
                k, got.get(k), want.get(k)))
    if not problems:
        print("ok: %d stacks, %d samples of %d snapshots" % (
            len(got), sum(got.values()), len(recs)))
    return problems


SECTION = re.compile(r"^(.*): (\d+) samples?(?: \((\d+) without Python frames\))?$")
ROW = re.compile(r"^    +(\d+) +([\d.]+)% +(.*)$")


def parse_summary(path):
    """{section: {"samples": N, "frames": [(count, share, label)],
    "functions": [...]}}"""
    out = {}
    cur = table = None
    lines = open(path, encoding="utf-8").read().split("\n")
    header = lines[0]
    for line in lines[1:]:
        m = SECTION.match(line)
        if m and not line.startswith(" "):
            cur = out.setdefault(m.group(1), {"samples": int(m.group(2)),
                                              "frames": [],
                                              "functions": []})
            continue
        if line == "  Innermost frames:":
            table = "frames"
        elif line == "  Innermost functions:":
            table = "functions"
        elif cur is not None and table:
            m = ROW.match(line)
            if m:
                cur[table].append((int(m.group(1)), float(m.group(2)),
                                   m.group(3)))
    return header, out


def truth_label(tt):
    if tt.get("name") is not None:
        return tt["name"]
    return "thread %d" % tt["native_id"]


def check_summary(args):
    truth = json.load(open(args[0]))
    recs = records(args[1])
    n = len(recs)
    header, got = parse_summary(args[2])
    problems = []
    if not header.startswith("%d snapshot%s" % (n, "" if n == 1 else "s")):
        problems.append("header %r, expected %d snapshots" % (header, n))
    total = {}
    allf = {}
    for tt in truth["threads"]:
        label = truth_label(tt)
        inner = tt["frames"][-1]
        s = got.get(label)
        if s is None:
            problems.append("no section for thread %r" % label)
            continue
        if s["samples"] != n:
            problems.append("%s: %d samples, expected %d" % (
                label, s["samples"], n))
        want_f = [(n, 100.0, frame_label(inner))]
        want_fn = [(n, 100.0, function_label(inner))]
        if s["frames"] != want_f:
            problems.append("%s: innermost frames %r, expected %r" % (
                label, s["frames"], want_f))
        if s["functions"] != want_fn:
            problems.append("%s: innermost functions %r, expected %r" % (
                label, s["functions"], want_fn))
        total[frame_label(inner)] = total.get(frame_label(inner), 0) + n
        allf[function_label(inner)] = allf.get(function_label(inner), 0) + n
    samples = n * len(truth["threads"])
    a = got.get("All threads and tasks")
    if a is None:
        problems.append("no section for all threads")
    else:
        if a["samples"] != samples:
            problems.append("all: %d samples, expected %d" % (a["samples"],
                                                               samples))
        for table, want in (("frames", total), ("functions", allf)):
            rows = dict((l, (c, sh)) for c, sh, l in a[table])
            exp = dict((l, (c, round(100.0 * c / samples, 1)))
                       for l, c in want.items())
            if rows != exp:
                problems.append("all: innermost %s %r, expected %r" % (
                    table, rows, exp))
    extra = set(got) - set(truth_label(t) for t in truth["threads"]) - \
        {"All threads and tasks"}
    if extra:
        problems.append("sections for threads the truth does not have: %r"
                        % sorted(extra))
    if not problems:
        print("ok: %d threads over %d snapshots" % (len(truth["threads"]), n))
    return problems


TOP = 10  # rows per table, as the man page says


def check_summary_records(args):
    """--summary of snapshots that move (no parked truth): each section's
    counts are those of the JSON records of the same snapshots -- samples
    per thread or task, those without Python frames, and the top innermost
    frames and functions with their shares."""
    recs = records(args[0])
    n = len(recs)
    header, got = parse_summary(args[1])
    problems = []
    if not header.startswith("%d snapshot%s" % (n, "" if n == 1 else "s")):
        problems.append("header %r, expected %d snapshots" % (header, n))
    ALL = "All threads and tasks"
    want = {}
    for rec in recs:
        for label, st in stacks(rec):
            for key in (ALL, label):
                w = want.setdefault(key, {"samples": 0, "frames": {},
                                          "functions": {}})
                w["samples"] += 1
                if st["frames"]:
                    inner = st["frames"][-1]
                    for table, lab in (("frames", frame_label(inner)),
                                       ("functions", function_label(inner))):
                        w[table][lab] = w[table].get(lab, 0) + 1
    for key in sorted(set(want) | set(got)):
        w, g = want.get(key), got.get(key)
        if w is None or g is None:
            problems.append("section %r: %s" % (
                key, "not in the records" if w is None else "missing"))
            continue
        if g["samples"] != w["samples"]:
            problems.append("%s: %d samples, the records have %d" % (
                key, g["samples"], w["samples"]))
        for table in ("frames", "functions"):
            rows = sorted(w[table].items(), key=lambda kv: (-kv[1], kv[0]))
            exp = [(c, round(100.0 * c / w["samples"], 1), l)
                   for l, c in rows[:TOP]]
            # ties at the cut may be ordered either way: compare the
            # counts in order, and the labels above the last count
            gotc = [(c, sh) for c, sh, _ in g[table]]
            if gotc != [(c, sh) for c, sh, _ in exp]:
                problems.append("%s: innermost %s %r, the records say %r" % (
                    key, table, g[table], exp))
                continue
            last = exp[-1][0] if exp else None
            if [r for r in g[table] if r[0] != last] != \
                    [r for r in exp if r[0] != last]:
                problems.append("%s: innermost %s %r, the records say %r" % (
                    key, table, g[table], exp))
    if not problems:
        print("ok: %d sections over %d snapshots" % (len(got), n))
    return problems


def tree_of(collapsed):
    """{(depth, path-prefix...): samples} from folded stacks."""
    nodes = {}
    for stack, count in collapsed.items():
        parts = stack.split(";")
        for i in range(1, len(parts) + 1):
            key = tuple(parts[:i])
            nodes[key] = nodes.get(key, 0) + count
    return nodes


def check_svg(args):
    problems = []
    try:
        root = ET.parse(args[0]).getroot()
    except ET.ParseError as e:
        return ["the SVG does not parse: %s" % e]
    if root.tag != SVG_NS + "svg":
        problems.append("root element %r" % root.tag)
    collapsed, p = parse_collapsed(args[1])
    problems += p
    total = sum(collapsed.values())
    if root.get("data-total") != str(total):
        problems.append("data-total %r, collapsed has %d samples" % (
            root.get("data-total"), total))
    # rebuild each frame's path from the data attributes: a frame at
    # depth d is under the frame at depth d-1 whose range holds it
    frames = []
    for g in root.iter(SVG_NS + "g"):
        if g.get("class") != "f":
            continue
        for child in ("title", "rect", "text"):
            if g.find(SVG_NS + child) is None:
                problems.append("frame %r has no <%s>" % (g.get("data-l"),
                                                          child))
        frames.append((int(g.get("data-d")), int(g.get("data-x")),
                       int(g.get("data-w")), g.get("data-l")))
    frames.sort()
    paths = {}
    got = {}
    for d, x, w, label in frames:
        if d == 0:
            paths[(0, x)] = ()
            if w != total or label != "all":
                problems.append("root %r %d, expected all %d" % (label, w,
                                                                 total))
            continue
        parent = [fr for fr in frames if fr[0] == d - 1 and
                  fr[1] <= x and x + w <= fr[1] + fr[2]]
        if len(parent) != 1:
            problems.append("frame %r at depth %d: %d parents" % (
                label, d, len(parent)))
            continue
        pd, px, pw, pl = parent[0]
        path = paths[(pd, px, pw)] if pd else ()
        path = path + (label,)
        paths[(d, x, w)] = path
        got[path] = got.get(path, 0) + w
    want = tree_of(collapsed)
    if got != want:
        for k in sorted(set(got) | set(want)):
            if got.get(k) != want.get(k):
                problems.append("%r: %s samples in the SVG, %s collapsed" % (
                    ";".join(k), got.get(k), want.get(k)))
    if root.find(SVG_NS + "script") is None:
        problems.append("no <script> (zoom and search)")
    if not problems:
        print("ok: %d frames, %d samples" % (len(frames), total))
    return problems


SVG_TEST_SCRIPT = r"""<script><![CDATA[
(function () {
  var result = {};
  try {
    var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
    function state() {
      return frames.map(function (f) {
        return [f.style.display !== 'none', f.classList.contains('parent'),
                +f.querySelector('rect').getAttribute('width'),
                f.querySelector('rect').getAttribute('fill')];
      });
    }
    frames[%(target)d].dispatchEvent(new MouseEvent('click', { bubbles: true }));
    result.zoomed = state();
    document.getElementById('tripod-reset').dispatchEvent(
      new MouseEvent('click', { bubbles: true }));
    result.reset = state();
    window.prompt = function () { return %(term)s; };
    document.getElementById('tripod-search').dispatchEvent(
      new MouseEvent('click', { bubbles: true }));
    result.searched = state();
    result.matched = document.getElementById('tripod-matched').textContent;
  } catch (e) {
    result.error = String(e && e.stack || e);
  }
  var t = document.createElementNS('http://www.w3.org/2000/svg', 'text');
  t.id = 'tripod-test-result';
  t.textContent = JSON.stringify(result);
  document.documentElement.appendChild(t);
})();
]]></script>
"""


def svg_frames(root):
    """The flame graph's frames in document order: (depth, x, width,
    label, path), the path rebuilt from the data attributes."""
    frames = []
    for g in root.iter(SVG_NS + "g"):
        if g.get("class") == "f":
            frames.append((int(g.get("data-d")), int(g.get("data-x")),
                           int(g.get("data-w")), g.get("data-l")))
    paths = {}
    for d, x, w, label in sorted(frames):
        if d == 0:
            paths[(d, x, w)] = ()
            continue
        parent = [f for f in frames if f[0] == d - 1 and f[1] <= x and
                  x + w <= f[1] + f[2]][0]
        paths[(d, x, w)] = paths[parent[:3]] + (label,)
    return [(d, x, w, l, paths[(d, x, w)]) for d, x, w, l in frames]


def check_svg_browser(args):
    """The standalone SVG in headless Chromium: clicking a frame zooms to
    it (its ancestors across the width, its descendants scaled, every
    other frame hidden), Reset zoom undoes it, Search (a regular
    expression, asked by a prompt) colours the matching frames and says
    the share of the samples under them, as the collapsed stacks count
    it."""
    exe = chromium()
    if not exe:
        print("SKIP: no chromium (Debian package chromium; tools/setup.sh)")
        return 77
    svg, outdir = args[0], args[2]
    collapsed, problems = parse_collapsed(args[1])
    root = ET.parse(svg).getroot()
    W, PAD = int(root.get("data-width")), int(root.get("data-pad"))
    total = int(root.get("data-total"))
    frames = svg_frames(root)
    # zoom on the widest frame below the root that has frames under it
    # and is narrower than the whole
    cands = [i for i, f in enumerate(frames) if f[0] >= 1 and
             f[2] < total and any(g[4][:len(f[4])] == f[4] and
                                  len(g[4]) > len(f[4]) for g in frames)]
    if not cands:
        return ["no frame to zoom on in %s" % svg]
    target = max(cands, key=lambda i: (frames[i][2], -i))
    tpath, tw = frames[target][4], frames[target][2]
    # search: the first function name that matches some of the samples,
    # not all
    term = None
    for f in frames:
        m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", f[3])
        if f[0] == 0 or not m:
            continue
        rx = re.compile(m.group(0), re.I)
        n = sum(c for stack, c in collapsed.items()
                if any(rx.search(l) for l in stack.split(";")))
        if 0 < n < total:
            term = m.group(0)
            break
    if term is None:
        return ["no function name matches only some samples in %s" % svg]
    test_svg = os.path.join(outdir, "flame-test.svg")
    text = open(svg, encoding="utf-8").read()
    open(test_svg, "w", encoding="utf-8").write(text.replace(
        "</svg>", SVG_TEST_SCRIPT % {"target": target,
                                     "term": json.dumps(term)} + "</svg>"))
    r = chromium_run(exe, ["--dump-dom"], "file://" + os.path.abspath(test_svg))
    m = re.search(r'<text id="tripod-test-result">(.*?)</text>',
                  r.stdout.decode("utf-8", "replace"), re.S)
    if not m:
        return ["no test result in the DOM (chromium exit %d):\n%s" % (
            r.returncode, r.stderr.decode("utf-8", "replace")[-2000:])]
    result = json.loads(html.unescape(m.group(1)))
    if "error" in result:
        return ["the test script failed: %s" % result["error"]]
    full = W - 2 * PAD
    scale = float(full) / tw
    for i, f in enumerate(frames):
        shown, parent, width, _ = result["zoomed"][i]
        path = f[4]
        above = len(path) < len(tpath) and tpath[:len(path)] == path
        under = path[:len(tpath)] == tpath and f[2] * scale >= 0.1
        if shown != (above or under) or parent != above:
            problems.append("zoomed on %r: %r %s%s" % (
                ";".join(tpath), ";".join(path) or "all",
                "shown" if shown else "hidden",
                " as a parent" if parent else ""))
        elif above and abs(width - full) > 0.2:
            problems.append("zoomed: parent %r %.1f wide, expected %d" % (
                ";".join(path) or "all", width, full))
        elif under and abs(width - f[2] * scale) > 0.2:
            problems.append("zoomed: %r %.1f wide, expected %.1f" % (
                ";".join(path), width, f[2] * scale))
    for i, f in enumerate(frames):
        shown, parent, width, _ = result["reset"][i]
        if not shown or parent or \
                abs(width - f[2] * float(full) / total) > 0.2:
            problems.append("after Reset zoom: %r %s, %.1f wide" % (
                ";".join(f[4]) or "all", "shown" if shown else "hidden",
                width))
    rx = re.compile(term, re.I)
    want_hits = [i for i, f in enumerate(frames) if f[0] > 0 and
                 rx.search(f[3])]
    got_hits = [i for i, st in enumerate(result["searched"])
                if st[3] == "rgb(230,0,230)"]
    if got_hits != want_hits:
        problems.append("search %r coloured %d frames, %d match" % (
            term, len(got_hits), len(want_hits)))
    under = sum(c for stack, c in collapsed.items()
                if any(rx.search(l) for l in stack.split(";")))
    share = 100.0 * under / total
    got = re.match(r"Matched: ([\d.]+)%$", result["matched"])
    if not got or abs(float(got.group(1)) - share) > 0.051:
        problems.append("search %r: %r, the collapsed stacks say %.1f%%" % (
            term, result["matched"], share))
    if not problems:
        print("ok: zoomed on %r (%d of %d frames shown), reset, search %r "
              "colours %d frames, %s" % (
                  ";".join(tpath), sum(1 for z in result["zoomed"] if z[0]),
                  len(frames), term, len(got_hits), result["matched"]))
    return problems


class Page(html.parser.HTMLParser):
    """Elements by id, the text of each <script>, external references."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = {}
        self.scripts = []
        self.external = []
        self.stack = []
        self.flame_frames = 0
        self.flame_labels = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids[a["id"]] = tag
        for k in ("src", "href"):
            if k in a and not a[k].startswith("#"):
                self.external.append((tag, a[k]))
        if tag == "link":
            self.external.append((tag, a.get("href")))
        if tag == "g" and a.get("class") == "f":
            self.flame_frames += 1
            self.flame_labels.append((int(a["data-d"]), a["data-l"]))
        if tag == "script":
            self.scripts.append([a, ""])
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "script":
            self.scripts[-1][1] += data


def parse_page(path):
    p = Page()
    p.feed(open(path, encoding="utf-8").read())
    p.close()
    return p


def check_html(args):
    problems = []
    page = parse_page(args[0])
    recs = records(args[1])
    for want in ("search", "timeline", "tripod-flame", "snapshot",
                 "tripod-records", "tripod-options"):
        if want not in page.ids:
            problems.append("no element with id %r" % want)
    if page.external:
        problems.append("external references: %r" % page.external)
    data = [s for a, s in page.scripts if a.get("id") == "tripod-records"]
    if len(data) != 1:
        problems.append("%d tripod-records scripts" % len(data))
    else:
        got = json.loads(data[0])
        if got != recs:
            problems.append("the page's records differ from --format json "
                            "(%d vs %d records)" % (len(got), len(recs)))
    if page.flame_frames == 0:
        problems.append("the flame graph has no frame")
    if not problems:
        print("ok: %d records, %d flame graph frames" % (
            len(recs), page.flame_frames))
    return problems


# The test page: the report with this script appended.  It clicks the
# last snapshot's column in the timeline, reads what the page shows, then
# types a search term and counts the timeline cells marked, and leaves
# all of it as JSON in <pre id="tripod-test-result">.
TEST_SCRIPT = r"""
<script>
(function () {
  var result = {};
  try {
    var cells = document.querySelectorAll('#timeline td.cell[data-snap="%(snap)d"]');
    result.cells = cells.length;
    cells[0].dispatchEvent(new MouseEvent('click', { bubbles: true }));
    result.pane_snap = document.getElementById('snapshot').getAttribute('data-snap');
    result.stacks = Array.prototype.map.call(
      document.querySelectorAll('#snapshot > .stack'), function (s) {
        return {
          label: s.getAttribute('data-label'),
          frames: Array.prototype.map.call(s.querySelectorAll('li.frame'), function (f) {
            return {
              file: f.querySelector('.file').textContent,
              line: f.querySelector('.line').textContent,
              function: f.getAttribute('data-function'),
              locals: Array.prototype.map.call(f.querySelectorAll('tr.local'), function (r) {
                return [r.querySelector('.name').textContent,
                        r.querySelector('.type').textContent,
                        r.querySelector('.repr').textContent];
              })
            };
          })
        };
      });
    var box = document.getElementById('search');
    box.value = %(term)s;
    box.dispatchEvent(new Event('input'));
    result.hits = document.querySelectorAll('#timeline td.hit').length;
    result.open_hits = document.querySelectorAll('#snapshot details[open] tr.local.hit').length;
    box.value = %(fterm)s;
    box.dispatchEvent(new Event('input'));
    result.flame_hits = document.querySelectorAll(
      '#tripod-flame g.f rect[fill="rgb(230,0,230)"]').length;
  } catch (e) {
    result.error = String(e && e.stack || e);
  }
  var pre = document.createElement('pre');
  pre.id = 'tripod-test-result';
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
})();
</script>
"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def chromium_run(exe, extra, url, timeout=120):
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu",
           "--no-first-run", "--disable-dev-shm-usage",
           "--allow-file-access-from-files"] + extra + [url]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def search_hits(recs, term):
    """Timeline cells whose stack matches @term as page.js documents it:
    a frame's function or qualname, a local's name or repr holds it,
    ignoring case."""
    term = term.lower()

    def m(s):
        return s is not None and term in str(s).lower()
    n = 0
    for rec in recs:
        for _, s in stacks(rec):
            if any(m(f.get("function")) or m(f.get("qualname")) or
                   any(m(l["name"]) or m(l["repr"]) for l in
                       f.get("locals") or [])
                   for f in s["frames"]):
                n += 1
    return n


def check_browser(args):
    exe = chromium()
    if not exe:
        print("SKIP: no chromium (Debian package chromium; tools/setup.sh)")
        return 77
    page, recs, outdir = args[0], records(args[1]), args[2]
    snap = len(recs) - 1
    rec = recs[snap]
    # a local value that only some stacks hold: the first local of the
    # innermost frame of a thread that has locals
    term = None
    for _, s in stacks(rec):
        for f in reversed(s["frames"]):
            if f.get("locals"):
                term = f["locals"][0]["name"]
                break
        if term:
            break
    term = term or rec["threads"][0]["frames"][-1]["function"]
    test_page = os.path.join(outdir, "page-test.html")
    text = open(page, encoding="utf-8").read()
    # a function's name, for the flame graph's search
    fterm = [s["frames"][-1]["function"] for _, s in stacks(rec)
             if s["frames"]][0]
    script = TEST_SCRIPT % {"snap": snap, "term": json.dumps(term),
                            "fterm": json.dumps(fterm)}
    open(test_page, "w", encoding="utf-8").write(
        text.replace("</body>", script + "</body>"))
    url = "file://" + os.path.abspath(test_page)
    r = chromium_run(exe, ["--dump-dom"], url)
    m = re.search(r'<pre id="tripod-test-result">(.*?)</pre>',
                  r.stdout.decode("utf-8", "replace"), re.S)
    if not m:
        return ["no test result in the DOM (chromium exit %d):\n%s" % (
            r.returncode, r.stderr.decode("utf-8", "replace")[-2000:])]
    result = json.loads(html.unescape(m.group(1)))
    problems = []
    if "error" in result:
        return ["the test script failed: %s" % result["error"]]
    if result["pane_snap"] != str(snap):
        problems.append("the pane shows snapshot %r, clicked %d" % (
            result["pane_snap"], snap))
    want = []
    for label, s in stacks(rec):
        want.append({
            "label": label,
            "frames": [{
                "file": f["file"],
                "line": "?" if f["line"] is None else str(f["line"]),
                "function": f["function"],
                "locals": [[l["name"], l["type"], l["repr"]]
                           for l in f.get("locals") or []],
            } for f in s["frames"]],
        })
    if result["stacks"] != want:
        for i, (g, w) in enumerate(zip(result["stacks"], want)):
            if g != w:
                problems.append("stack %d shown as %s,\n  its JSON record "
                                "says %s" % (i, json.dumps(g)[:1500],
                                             json.dumps(w)[:1500]))
        if len(result["stacks"]) != len(want):
            problems.append("%d stacks shown, the record has %d" % (
                len(result["stacks"]), len(want)))
    hits = search_hits(recs, term)
    if result["hits"] != hits or hits == 0:
        problems.append("search %r marks %d timeline cells, expected %d"
                        % (term, result["hits"], hits))
    if result["open_hits"] == 0:
        problems.append("search %r opened no matching local" % term)
    # the page's flame graph searches the same text (literally, ignoring
    # case) among its frames' labels
    flame = sum(1 for d, l in parse_page(page).flame_labels
                if d > 0 and fterm.lower() in l.lower())
    if result["flame_hits"] != flame or flame == 0:
        problems.append("search %r colours %d flame graph frames, %d "
                        "labels hold it" % (fterm, result["flame_hits"],
                                            flame))
    shot = os.path.join(outdir, "page.png")
    r = chromium_run(exe, ["--screenshot=" + shot, "--window-size=1400,1600"],
                     url)
    try:
        head = open(shot, "rb").read(8)
    except OSError:
        head = b""
    if head != b"\x89PNG\r\n\x1a\n":
        problems.append("no screenshot (chromium exit %d)" % r.returncode)
    if not problems:
        print("ok: snapshot %d clicked, %d stacks and %d frames shown as "
              "recorded, search %r marks %d cells; screenshot %s" % (
                  snap + 1, len(want), sum(len(w["frames"]) for w in want),
                  term, hits, shot))
    return problems


def check_progress(args):
    import pty
    import select
    analyze, path, count = args[0], args[1], int(args[2])
    problems = []
    r = subprocess.run([analyze, "--summary", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if r.returncode != 0 or r.stderr:
        problems.append("not a terminal: exit %d, stderr %r" % (
            r.returncode, r.stderr[:500]))
    # stderr on a terminal: a pseudo-terminal
    master, slave = pty.openpty()
    p = subprocess.Popen([analyze, "--summary", path],
                         stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        rl, _, _ = select.select([master], [], [], 60)
        if not rl:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    p.wait()
    os.close(master)
    text = seen.decode("utf-8", "replace")
    if not re.search(r"\[%d/%d\] [\d.]+ snapshots/s" % (count, count), text):
        problems.append("no progress line [%d/%d] on the terminal: %r" % (
            count, count, text[:500]))
    # --eta: long enough for lines on the way, with an estimate of the
    # time left
    if "--eta" in args:
        way = [int(m.group(1)) for m in re.finditer(
            r"\[(\d+)/%d\] [\d.]+ snapshots/s, ETA \d+ s" % count, text)]
        if not way or max(way) >= count:
            problems.append("no progress line with an ETA before the end: "
                            "%r" % text[:500])
    if p.returncode != 0:
        problems.append("on a terminal: exit %d" % p.returncode)
    if not problems:
        print("ok: silent without a terminal, progress on one")
    return problems


def diff_expected(t1, t2):
    """{header: sorted lines} as tp_views_diff() writes them."""
    def by_ident(t):
        return dict((tt["ident"], tt) for tt in t["threads"])
    a, b = by_ident(t1), by_ident(t2)
    out = {}

    def func(f):
        return "%s (%s)" % (f.get("qualname") or f["function"], f["file"])
    for ident, tb in b.items():
        label = truth_label(tb)
        ta = a.get(ident)
        if ta is None or truth_label(ta) != label:
            out["Thread %s: began" % label] = sorted(
                "    " + frame_label(f) for f in tb["frames"])
            continue
        fa, fb = ta["frames"], tb["frames"]
        common = 0
        while common < min(len(fa), len(fb)) and \
                func(fa[common]) == func(fb[common]):
            common += 1
        lines = ["  left:     " + frame_label(f) for f in fa[common:]]
        lines += ["  appeared: " + frame_label(f) for f in fb[common:]]
        for x, y in zip(fa[:common], fb[:common]):
            if x["line"] != y["line"]:
                lines.append("  moved:    %s line %d -> %d" % (
                    func(y), x["line"], y["line"]))
            la, lb = x["locals"], y["locals"]
            for name in lb:
                if name not in la:
                    lines.append("  added:    %s: %s = %s" % (
                        func(y), name, lb[name]["repr"]))
                elif la[name]["repr"] != lb[name]["repr"]:
                    lines.append("  changed:  %s: %s = %s -> %s" % (
                        func(y), name, la[name]["repr"], lb[name]["repr"]))
            for name in la:
                if name not in lb:
                    lines.append("  removed:  %s: %s (was %s)" % (
                        func(x), name, la[name]["repr"]))
        if lines:
            out["Thread %s:" % label] = sorted(lines)
    for ident, ta in a.items():
        tb = b.get(ident)
        if tb is None or truth_label(tb) != truth_label(ta):
            out["Thread %s: ended" % truth_label(ta)] = sorted(
                "    " + frame_label(f) for f in ta["frames"])
    return out


def check_diff(args):
    t1, t2 = json.load(open(args[0])), json.load(open(args[1]))
    text = open(args[2], encoding="utf-8").read()
    blocks = text.strip("\n").split("\n")
    problems = []
    if not blocks or not blocks[0].startswith("=== "):
        return ["no '=== ' header: %r" % text[:200]]
    got = {}
    cur = None
    for line in blocks[1:]:
        if line.startswith(("Thread ", "Task ")):
            cur = line
            got[cur] = []
        elif cur is not None and line:
            got[cur].append(line)
    got = dict((k, sorted(v)) for k, v in got.items())
    want = diff_expected(t1, t2)
    for k in sorted(set(got) | set(want)):
        if got.get(k) != want.get(k):
            problems.append("%s\n  got      %r\n  expected %r" % (
                k, got.get(k), want.get(k)))
    if not want:
        problems.append("the truths do not differ: nothing is tested")
    if not problems:
        print("ok: %d threads changed as the truths say" % len(want))
    return problems


TASK_LINE = re.compile(r"^(?P<prefix>[ \u2502\u251c\u2514\u2500]*)"
                       r"Task (?P<name>'.*?'|at 0x[0-9a-f]+) \((?P<rest>.*)\)$")


def check_tree(args):
    """Parse the tree: a task line's parent is the nearest task line above
    it that is less indented (its first column); the frame lines under a
    task line are its frames."""
    truth = json.load(open(args[0]))
    names = dict((t["id"], "'%s'" % t["name"] if t["name"] is not None
                  else "at 0x%x" % t["id"]) for t in truth["tasks"])
    want_edges = set()
    for t in truth["tasks"]:
        for p in t["awaited_by"]:
            want_edges.add((names[t["id"]], names[p]))
    want_frames = dict((names[t["id"]], [
        "%s %s:%d" % (f.get("qualname") or f["function"], f["file"],
                      f["line"]) for f in t["frames"]])
        for t in truth["tasks"])
    edges, frames, stack, problems = set(), {}, [], []
    cur = None
    in_cycle = set()
    for line in open(args[1], encoding="utf-8").read().split("\n"):
        m = TASK_LINE.match(line)
        if m:
            col = len(m.group("prefix"))
            while stack and stack[-1][0] >= col:
                stack.pop()
            name = m.group("name")
            if stack:
                edges.add((name, stack[-1][1]))
            if "in an await cycle" in m.group("rest"):
                in_cycle.add(name)
            stack.append((col, name))
            cur = name if name not in frames else None
            if cur:
                frames[cur] = []
            continue
        text = line.strip(" \u2502")
        if cur and text and not text.startswith("("):
            frames[cur].append(text)
        elif not text:
            cur = None
    if edges != want_edges:
        problems.append("edges: tree only %s, scenario only %s" % (
            sorted(edges - want_edges), sorted(want_edges - edges)))
    want_cycle = set(names[t["id"]] for t in truth["tasks"] if t["in_cycle"])
    if in_cycle != want_cycle:
        problems.append("cycles %s, expected %s" % (sorted(in_cycle),
                                                   sorted(want_cycle)))
    for name, fr in sorted(want_frames.items()):
        if frames.get(name) != fr:
            problems.append("task %s: frames %r, recorded %r" % (
                name, frames.get(name), fr))
    if not problems:
        print("ok: %d tasks, %d awaited-by edges, %d in cycles" % (
            len(frames), len(edges), len(in_cycle)))
    return problems


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"collapsed": check_collapsed, "summary": check_summary,
          "summary-records": check_summary_records,
          "svg": check_svg, "html": check_html, "browser": check_browser,
          "svg-browser": check_svg_browser,
          "progress": check_progress, "diff": check_diff,
          "tree": check_tree}[cmd]
    problems = fn(args)
    if problems == 77:
        return 77
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
