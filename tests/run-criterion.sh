#!/bin/sh
# Run one Criterion test program with its results as TAP on stdout, for
# automake's TAP driver: every test case is counted (PASS/SKIP/FAIL) and a
# skip carries its reason.  Criterion's own log goes to stderr.
prog=$1
shift
# in a sanitizer build: leaks of Criterion itself are not ours
LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
exec "$prog" --tap=/dev/stdout --ascii -j"${TRIPOD_TEST_JOBS:-2}" "$@"
