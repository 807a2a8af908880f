#!/bin/sh
# Run the whole test suite (set-up and build first).  Exits non-zero when
# any test fails.  Every test case is counted: PASS, SKIP (with its reason
# in the log) and FAIL; the per-suite counts are printed at the end.
set -eu
cd "$(dirname "$0")/.."
sh tools/setup.sh
# Debian sid's Python 3.14 and 3.15 for their test suites; when they cannot
# be fetched the helper says why in one line and those tests skip with it.
sh tools/fetch-sid-python.sh || true
status=0
make -j"$(nproc)" check || status=$?
echo
echo "== test cases per suite (pass / skip / fail)"
cat tests/*/*.log 2>/dev/null | awk '
	/^(ok|not ok)( [0-9]+)? - / {
		name = $0
		sub(/^(ok|not ok)( [0-9]+)? - /, "", name)
		split(name, a, "::"); suite = a[1]
		if ($0 ~ /# SKIP/) skip[suite]++
		else if ($1 == "ok") pass[suite]++
		else fail[suite]++
		seen[suite] = 1
	}
	END { for (s in seen) printf "  %-32s %4d / %4d / %4d\n", s, pass[s], skip[s], fail[s] }' | sort
echo "== why tests were skipped (suite: reason, number of tests)"
cat tests/*/*.log 2>/dev/null | awk '
	/^ok( [0-9]+)? - .*# SKIP/ {
		name = $0
		sub(/^ok( [0-9]+)? - /, "", name)
		split(name, a, "::")
		reason = $0
		sub(/.*# SKIP */, "", reason)
		n[a[1] ": " reason]++
	}
	END { for (r in n) printf "  %s (%d)\n", r, n[r] }' | sort
if [ "$status" -ne 0 ]; then
	echo "== failures:"
	grep -h -B2 -A30 '^not ok' tests/*/*.log 2>/dev/null | head -200 || true
fi
exit "$status"
