# Run inside gdb (source it after the interpreter's pythonX.Y-gdb.py, if
# any): print, for every thread, every frame gdb unwinds (inlined frames
# included, newest first) and, for each call of CPython's evaluation loop,
# the Python frames that pythonX.Y-gdb.py finds in it (its
# Frame.print_traceback(), the output py-bt prints for that C frame).
# With each frame its pc and, where gdb has line information, its source
# file and line (find_sal(): for a caller, the line of the call).
# One line: "TRIPOD-GDB-NATIVE " + JSON, for compare_native.py.
import io
import json
import sys

import gdb

MAX_FRAMES = 4096


def _python_frames(frame):
    """The text print_traceback() of the gdb extension writes for @frame,
    or None: not an evaluation-loop frame, or no extension loaded."""
    cls = globals().get("Frame")
    if cls is None or frame.type() != gdb.NORMAL_FRAME:
        return None
    pf = cls(frame)
    is_eval = getattr(pf, "is_evalframe", None) or \
        getattr(pf, "is_evalframeex", None)
    if is_eval is None or not is_eval():
        return None
    buf = io.StringIO()
    old = sys.stdout
    sys.stdout = buf
    try:
        pf.print_traceback()
    except Exception as e:  # noqa: BLE001 -- reported, not hidden
        buf.write("  (gdb extension failed: %s)\n" % e)
    finally:
        sys.stdout = old
    return buf.getvalue()


def _threads():
    out = []
    inferior = gdb.selected_inferior()
    for thread in sorted(inferior.threads(), key=lambda t: t.ptid[1]):
        thread.switch()
        frames = []
        try:
            f = gdb.newest_frame()
        except gdb.error:
            f = None
        while f is not None and len(frames) < MAX_FRAMES:
            item = {"function": f.name(),
                    "inline": f.type() == gdb.INLINE_FRAME,
                    "tailcall": f.type() == gdb.TAILCALL_FRAME,
                    "pc": f.pc()}
            try:
                sal = f.find_sal()
            except gdb.error:
                sal = None
            if sal is not None and sal.symtab is not None and sal.line:
                item["file"] = sal.symtab.filename
                item["line"] = sal.line
            text = _python_frames(f)
            if text is not None:
                item["python"] = text
            frames.append(item)
            try:
                f = f.older()
            except gdb.error:
                break
        out.append({"lwp": thread.ptid[1], "frames": frames})
    return out


# gdb stops at main() by default: the whole stack is wanted
gdb.execute("set backtrace past-main on")
gdb.execute("set backtrace past-entry on")
print("TRIPOD-GDB-NATIVE " + json.dumps(_threads()))
