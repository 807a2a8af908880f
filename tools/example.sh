#!/bin/sh
# Quick start: set up, build, then sample the bundled example script three
# times with tripod-snap and print tripod-analyze's Dogslow report.
set -eu
cd "$(dirname "$0")/.."
sh tools/setup.sh
out=$(mktemp -d "${TMPDIR:-/tmp}/tripod-example.XXXXXX")
echo "== tripod-snap -i 1 -o $out -- python3 fixtures/example.py"
src/tripod-snap -i 1 -o "$out" -- /usr/bin/python3 fixtures/example.py
echo "== tripod-analyze $out"
src/tripod-analyze "$out"
