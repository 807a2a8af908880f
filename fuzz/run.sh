#!/bin/sh
# Run the libFuzzer targets of a build configured with --enable-fuzzing.
#
#   fuzz/run.sh BUILDDIR [SECONDS [TARGET...]]
#
# Each target (default: all five) runs SECONDS (default 12) on a scratch
# copy of its seed corpus, fixtures/fuzz/NAME/ (the decoder's seeds are
# made first by gen_decoder_seeds), with a 10-second limit per input and
# 2 GiB of memory; leaks count (LeakSanitizer).  A crash, a sanitizer
# report, a leak, a slow input or an out-of-memory fails the run; the
# input that did it is kept in fuzz-artifacts/ of the current directory
# and named on stderr (reproduce: BUILDDIR/fuzz/fuzz_NAME FILE).  One
# summary line per target: executions, coverage, corpus size.
set -eu
build=${1:?usage: fuzz/run.sh BUILDDIR [SECONDS [TARGET...]]}
build=$(cd "$build" && pwd)
secs=${2:-12}
[ $# -gt 2 ] && shift 2 || set --
targets=${*:-core gz store linetable decoder}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tripod-fuzzrun.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p fuzz-artifacts
status=0
for t in $targets; do
	corpus="$work/$t"
	mkdir -p "$corpus"
	case $t in
	store) cp "$src"/fixtures/fuzz/store/seeds/* "$corpus"/ ;;
	decoder) "$build"/fuzz/gen_decoder_seeds "$corpus" ;;
	*) cp "$src"/fixtures/fuzz/"$t"/* "$corpus"/ ;;
	esac
	log="$work/$t.log"
	if "$build/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -max_len=262144 -print_final_stats=1 \
		-artifact_prefix="$PWD/fuzz-artifacts/$t-" "$corpus" \
		>"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
		echo "fuzz_$t: ok, $runs executions in ${secs}s, $cov, corpus $(ls "$corpus" | wc -l)"
	else
		status=1
		echo "fuzz_$t: FAILED" >&2
		grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20 >&2
	fi
done
exit $status
