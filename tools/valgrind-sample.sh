#!/bin/sh
# Valgrind on a sample (CI): tripod-analyze of real snapshots of a Python
# process -- stored and single-file, one cut short, one of a process that
# corrupted its own objects (fixtures/corrupt/corrupt_self.py) -- under
# memcheck.  Fails on any memory error or definite leak.  Needs the plain
# build (tools/test.sh), /usr/bin/python3.11 and valgrind; says why and
# exits 0 when one is missing.
set -eu
cd "$(dirname "$0")/.."
top=$PWD
py=/usr/bin/python3.11
for need in valgrind "$py"; do
	if ! command -v "$need" >/dev/null 2>&1; then
		echo "valgrind-sample: $need not found: skipped"
		exit 0
	fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/tripod-valgrind.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null || :; done
	rm -rf "$work"
}
trap cleanup EXIT
"$py" -S -c 'import time
def wait(seconds):
    time.sleep(seconds)
wait(600)' &
p1=$!
pids="$pids $p1"
"$py" "$top/fixtures/corrupt/corrupt_self.py" "$work/expect" >/dev/null &
p2=$!
pids="$pids $p2"
for i in $(seq 1 100); do [ -f "$work/expect" ] && break; sleep 0.1; done
sleep 0.5
snap="$top/src/tripod-snap"
"$snap" -q --pid "$p1" -n 1 -o "$work/stored"
"$snap" -q --pid "$p1" -n 1 -o "$work/single" --standalone
"$snap" -q --pid "$p2" -n 1 -o "$work/corrupt"
gz="$work/single/snapshot-000001.core.gz"
head -c $(($(stat -c %s "$gz") - 65536)) "$gz" >"$work/cut.core.gz"
status=0
for input in "$work/stored" "$gz" "$work/cut.core.gz" "$work/corrupt"; do
	log="$work/vg.log"
	rc=0
	valgrind --quiet --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --log-file="$log" \
		"$top/src/tripod-analyze" "$input" >/dev/null 2>&1 || rc=$?
	if [ "$rc" -eq 99 ] || [ -s "$log" ]; then
		echo "valgrind-sample: $input: memcheck reports:" >&2
		head -60 "$log" >&2
		status=1
	else
		echo "valgrind-sample: $(basename "$input"): clean (tripod-analyze exit $rc)"
	fi
done
exit $status
