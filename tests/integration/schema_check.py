#!/usr/bin/env python3
"""Check tripod-analyze --format json output against the JSON Schema of
doc/tripod-analyze.schema.json, with the standard library only.

usage: schema_check.py [--schema FILE] JSONL...   check every line
       schema_check.py [--schema FILE] --self-test

The validator knows the part of JSON Schema (2020-12) that the schema
uses: type (one or a list), enum, const, minimum, pattern, properties,
required, additionalProperties (false), items, $ref to "#/$defs/NAME".
A keyword it does not know is an error, so the schema cannot silently
say more than what is checked.  --self-test validates a correct record,
then records spoiled one way each, every one of which must be refused.
Exit status 0 when everything holds, 1 otherwise.
"""
import copy
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMA = os.path.join(HERE, "..", "..", "doc",
                              "tripod-analyze.schema.json")
KNOWN = {"$schema", "$id", "title", "description", "$defs", "type", "enum",
         "const", "minimum", "pattern", "properties", "required",
         "additionalProperties", "items", "$ref", "oneOf"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and
    not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class SchemaError(Exception):
    pass


def validate(value, schema, root, path="$"):
    """The list of problems of value against schema (empty: valid)."""
    unknown = set(schema) - KNOWN
    if unknown:
        raise SchemaError("%s: unknown schema keywords %s" %
                          (path, sorted(unknown)))
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            raise SchemaError("unsupported $ref %r" % ref)
        return validate(value, root["$defs"][ref[len("#/$defs/"):]], root,
                        path)
    if "oneOf" in schema:
        # exactly one of the alternatives (the frame kinds)
        results = [validate(value, sub, root, path)
                   for sub in schema["oneOf"]]
        if sum(1 for r in results if not r) == 1:
            return []
        if all(results):
            best = min(results, key=len)
            return best
        return ["%s: valid against more than one alternative" % path]
    problems = []
    if "type" in schema:
        types = schema["type"]
        types = types if isinstance(types, list) else [types]
        if not any(TYPES[t](value) for t in types):
            return ["%s: %r is not of type %s" % (path, _cut(value),
                                                  "/".join(types))]
    if "const" in schema and value != schema["const"]:
        problems.append("%s: %r is not %r" % (path, value, schema["const"]))
    if "enum" in schema and value not in schema["enum"]:
        problems.append("%s: %r is not one of %r" % (path, value,
                                                    schema["enum"]))
    if "minimum" in schema and TYPES["number"](value) and \
            value < schema["minimum"]:
        problems.append("%s: %r < %r" % (path, value, schema["minimum"]))
    if "pattern" in schema and isinstance(value, str) and \
            not re.search(schema["pattern"], value):
        problems.append("%s: %r does not match %s" % (
            path, _cut(value), schema["pattern"]))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                problems.append("%s: no key %r" % (path, key))
        if schema.get("additionalProperties", True) is False:
            for key in value:
                if key not in props:
                    problems.append("%s: key %r is not in the schema" %
                                    (path, key))
        for key, sub in props.items():
            if key in value:
                problems += validate(value[key], sub, root,
                                     "%s.%s" % (path, key))
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += validate(item, schema["items"], root,
                                 "%s[%d]" % (path, i))
    return problems


def _cut(v, n=80):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


def check_files(schema, paths):
    problems = []
    lines = 0
    for p in paths:
        with open(p, encoding="utf-8") as fp:
            for n, line in enumerate(fp, 1):
                if not line.strip():
                    continue
                lines += 1
                try:
                    record = json.loads(line)
                except ValueError as e:
                    problems.append("%s:%d: not JSON: %s" % (p, n, e))
                    continue
                problems += ["%s:%d: %s" % (p, n, q)
                             for q in validate(record, schema, schema)]
    return lines, problems


GOOD = {
    "file": "snaps/snapshot-000001.tripod", "time": "2026-11-25T17:33:05.123Z",
    "pid": 4299, "ppid": 1, "freeze_us": 812, "argv": ["python3", "x.py"],
    "python_version": "3.12.1", "layout_source": "dwarf",
    "threads": [{
        "tid": 4301, "ident": 140392811120448, "name": "MainThread",
        "holds_gil": True, "is_main": True, "interpreter": 0,
        "frames": [{
            "kind": "python",
            "file": "/tmp/x.py", "line": 8, "function": "f",
            "qualname": "f",
            "locals": [
                {"name": "n", "type": "int", "repr": "6",
                 "attributes": None},
                {"name": "c", "type": "__main__.C",
                 "repr": "<__main__.C object at 0x7f0000001000>",
                 "attributes": [{"name": "a", "type": "int",
                                 "repr": "1"}]}]},
            {"kind": "native", "function": "take_gil",
             "module": "libpython3.12.so.1.0", "build_id": "ab12",
             "offset": 4096, "pc": 140392811124736,
             "file": "Python/ceval_gil.c", "line": 300,
             "inlined": False}],
        "python": True, "state": "gil", "syscall": None}],
    "tasks": [{
        "address": "0x7f21c8fb1cc0", "name": "Task-1", "state": "pending",
        "loop": "0x7f21c8fb0000", "awaited_by": [], "in_cycle": False,
        "awaiting": None,
        "frames": [{"kind": "python", "file": "/tmp/x.py", "line": 3,
                    "function": "main", "qualname": "main",
                    "locals": []}]}]}


def _spoiled():
    """(what, record) pairs, each wrong in one way."""
    def spoil(what, fn):
        r = copy.deepcopy(GOOD)
        fn(r)
        return what, r
    frame = lambda r: r["threads"][0]["frames"][0]  # noqa: E731
    return [
        spoil("missing key", lambda r: r.pop("pid")),
        spoil("unknown key", lambda r: r.update(extra=1)),
        spoil("pid a string", lambda r: r.update(pid="4299")),
        spoil("pid zero", lambda r: r.update(pid=0)),
        spoil("bad time", lambda r: r.update(time="25-11-2026 17:33:05")),
        spoil("bad layout source", lambda r: r.update(layout_source="x")),
        spoil("is_main null",
              lambda r: r["threads"][0].update(is_main=None)),
        spoil("truncated false",
              lambda r: r["threads"][0].update(truncated=False)),
        spoil("line a string", lambda r: frame(r).update(line="8")),
        spoil("local without attributes",
              lambda r: frame(r)["locals"][0].pop("attributes")),
        spoil("attribute repr null",
              lambda r: frame(r)["locals"][1]["attributes"][0].update(
                  repr=None)),
        spoil("bool as integer", lambda r: r.update(freeze_us=True)),
        spoil("frame of no kind", lambda r: frame(r).pop("kind")),
        spoil("native frame without pc",
              lambda r: r["threads"][0]["frames"][1].pop("pc")),
        spoil("native frame with locals",
              lambda r: r["threads"][0]["frames"][1].update(locals=[])),
        spoil("no tasks", lambda r: r.pop("tasks")),
        spoil("task address a number",
              lambda r: r["tasks"][0].update(address=1)),
    ]


def self_test(schema):
    failures = []
    p = validate(GOOD, schema, schema)
    if p:
        failures.append("the good record is refused: %s" % p)
    for what, record in _spoiled():
        if not validate(record, schema, schema):
            failures.append("accepted a record with %s" % what)
    try:
        validate({}, {"type": "object", "maxLength": 3}, {})
        failures.append("an unknown keyword went unnoticed")
    except SchemaError:
        pass
    return failures


def main(argv):
    schema_path = DEFAULT_SCHEMA
    if len(argv) > 2 and argv[1] == "--schema":
        schema_path = argv[2]
        argv = argv[:1] + argv[3:]
    with open(schema_path, encoding="utf-8") as fp:
        schema = json.load(fp)
    if argv[1:] == ["--self-test"]:
        failures = self_test(schema)
        for f in failures:
            print("schema self-test: %s" % f)
        if not failures:
            print("ok: the schema accepts the example record and refuses "
                  "%d spoiled ones" % len(_spoiled()))
        return 1 if failures else 0
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    lines, problems = check_files(schema, argv[1:])
    for p in problems:
        print(p)
    if not problems:
        print("ok: %d record%s match %s" % (lines, "" if lines == 1 else "s",
                                            os.path.basename(schema_path)))
    return 1 if problems or not lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
