#!/bin/sh
# Run one Criterion test program with its results as TAP on stdout, for
# automake's TAP driver: every test case is counted (PASS/SKIP/FAIL) and a
# skip carries its reason.  Criterion's own log goes to stderr.
prog=$1
shift
exec "$prog" --tap=/dev/stdout --ascii -j"${TRIPOD_TEST_JOBS:-2}" "$@"
