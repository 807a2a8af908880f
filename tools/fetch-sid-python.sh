#!/bin/sh
# Fetch Debian sid's CPython 3.14 and 3.15 (with their -dbg packages) for
# the test suite, without installing anything and without touching the
# system's apt configuration.
#
#   tools/fetch-sid-python.sh            fetch once, then reuse the cache
#   tools/fetch-sid-python.sh --refresh  fetch again (newer sid packages)
#
# The interpreters need a newer glibc than Debian 12's, so sid's libc6 and
# the few libraries the interpreters load are unpacked beside them (dpkg -x)
# and a wrapper script runs the unmodified interpreter through sid's own
# dynamic loader:
#
#   CACHE/bin/python3.14  ->  PYTHONHOME=ROOT/usr \
#       ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
#       --library-path ROOT/usr/lib/x86_64-linux-gnu ROOT/usr/bin/python3.14
#
# CACHE is $TRIPOD_SID_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/tripod/sid.
# Layout: CACHE/root (the unpacked packages; separate debug info under
# ROOT/usr/lib/debug/.build-id), CACHE/bin (the wrappers), CACHE/apt (the
# private package lists and downloaded .debs), CACHE/status ("ok" or the
# one-line reason the interpreters are missing; the tests skip with it).
#
# Apt runs with a private sources list (the machine's own Debian archive,
# suite sid), private lists and cache directories, and an empty dpkg
# status: the system's sources, lists and package state are never read or
# written.  Exit status: 0 when the wrappers work, 1 when they cannot be
# made (the reason is printed in one line and kept in CACHE/status).
set -eu

CACHE=${TRIPOD_SID_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tripod/sid}
ROOT=$CACHE/root
VERSIONS="3.14 3.15"
# What the interpreters map at start-up or when the test scenarios import
# threading, asyncio, concurrent.interpreters: the interpreter packages,
# their debug info, and the shared libraries they link to.
PACKAGES="libc6 libgcc-s1 libexpat1 zlib1g libffi8 libzstd1 libssl3t64
libbz2-1.0 liblzma5 libuuid1 media-types tzdata"
for v in $VERSIONS; do
	PACKAGES="$PACKAGES python$v python$v-minimal libpython$v-minimal
libpython$v-stdlib libpython$v python$v-dbg"
done

refresh=0
case "${1:-}" in
--refresh) refresh=1 ;;
"") ;;
*) echo "usage: $0 [--refresh]" >&2; exit 64 ;;
esac

mkdir -p "$CACHE"
chmod 700 "$CACHE"

fail() {
	echo "$1" >"$CACHE/status"
	echo "fetch-sid-python: $1" >&2
	exit 1
}

# A wrapper works when it runs and reports its own version.
works() {
	out=$("$CACHE/bin/python$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) &&
		[ "$out" = "$1" ]
}

if [ "$refresh" -eq 0 ] && [ -f "$CACHE/status" ] &&
	[ "$(cat "$CACHE/status")" = ok ]; then
	all=1
	for v in $VERSIONS; do works "$v" || all=0; done
	[ "$all" -eq 1 ] && exit 0
fi

for tool in apt-get dpkg; do
	command -v $tool >/dev/null 2>&1 || fail "$tool not found: cannot fetch Debian sid's python$VERSIONS"
done

# The archive the machine already uses ($TRIPOD_SID_ARCHIVE overrides it):
# the first URI of a deb822 stanza
# (sources.list.d/*.sources) or one-line entry (sources.list, *.list) whose
# suite has no "-" (not -security, -updates, -backports) and which serves
# Debian (the keyring or the URI says so).
archive=${TRIPOD_SID_ARCHIVE:-}
keyring=""
[ -n "$archive" ] ||
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] || continue
	case "$f" in
	*.sources)
		line=$(awk '
			/^[ \t]*$/ { if (uri != "" && ok) { print uri " " key; exit } uri = ""; key = ""; ok = 0; next }
			/^URIs:/ { uri = $2 }
			/^Signed-By:/ { key = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /-/) ok = 1 }
			/^Types:/ { deb = 0; for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1; if (!deb) ok = -99 }
			END { if (uri != "" && ok > 0) print uri " " key }' "$f" | head -n1)
		;;
	*)
		line=$(awk '$1 == "deb" {
				i = 2; key = ""
				if ($2 ~ /^\[/) { for (; i <= NF; i++) { if ($i ~ /signed-by=/) { key = $i; sub(/.*signed-by=/, "", key); sub(/\]$/, "", key) } if ($i ~ /\]$/) { i++; break } } }
				if ($(i + 1) !~ /-/) { print $i " " key; exit }
			}' "$f")
		;;
	esac
	case "$line" in
	*debian*)
		archive=${line%% *}
		keyring=${line#* }
		break
		;;
	esac
done
[ -n "$archive" ] || fail "no Debian archive in /etc/apt/sources.list*: cannot fetch Debian sid's python$VERSIONS"
[ -n "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg

apt=$CACHE/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
echo "deb [signed-by=$keyring] $archive sid main" >"$apt/sources.list"
: >"$apt/status"
APT_OPTS="-o Dir::Etc::SourceList=$apt/sources.list
-o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$apt/lists
-o Dir::Cache=$apt/cache -o Dir::State::status=$apt/status
-o Debug::NoLocking=1 -o APT::Sandbox::User=root -q"

log=$apt/log
if ! apt-get $APT_OPTS update >"$log" 2>&1; then
	fail "cannot reach $archive (suite sid): $(grep -E '^(E|W):' "$log" | head -n1 | cut -c1-200)"
fi
if grep -q '^[WE]:' "$log"; then
	fail "cannot reach $archive (suite sid): $(grep -E '^(E|W):' "$log" | head -n1 | cut -c1-200)"
fi

# The .deb file name of each package at sid's current version, resolved
# once (apt-cache is slow): "PKG_VERSION_" with the epoch's ":" escaped as
# apt-get download names it.
apt-cache $APT_OPTS show --no-all-versions $PACKAGES >"$apt/show" 2>"$log" ||
	fail "packages missing from $archive sid: $(grep -E '^(E|W):' "$log" | head -n1 | cut -c1-200)"
awk '/^Package:/ { p = $2 } /^Version:/ { v = $2; sub(/:/, "%3a", v); print p "_" v "_" }' \
	"$apt/show" >"$apt/files"
for p in $PACKAGES; do
	grep -q "^${p}_" "$apt/files" || fail "package $p not in $archive sid"
done

# apt-get download writes into the current directory and fetches again what
# is there: ask only for the packages whose current version is missing.
cd "$apt/debs"
want=""
for p in $PACKAGES; do
	prefix=$(grep "^${p}_" "$apt/files" | head -n1)
	ls "$prefix"*.deb >/dev/null 2>&1 || want="$want $p"
done
if [ -n "$want" ]; then
	if ! apt-get $APT_OPTS download $want >"$log" 2>&1; then
		fail "cannot download from $archive (suite sid): $(grep -E '^(E|W):' "$log" | head -n1 | cut -c1-200)"
	fi
fi
# Downloads of versions sid has since replaced.
for deb in *.deb; do
	[ -e "$deb" ] || continue
	grep -qxF "${deb%_*.deb}_" "$apt/files" || rm -f "$deb"
done

# Unpack into a fresh directory, then swap it in, so that a run cut short
# never leaves a half-unpacked root behind the wrappers.
rm -rf "$CACHE/root.new"
mkdir -p "$CACHE/root.new"
while read -r prefix; do
	deb=$(ls "$prefix"*.deb 2>/dev/null | head -n1)
	[ -n "$deb" ] || fail "download of ${prefix%_} is missing"
	dpkg -x "$deb" "$CACHE/root.new" || fail "dpkg -x $deb failed"
done <"$apt/files"
rm -rf "$ROOT"
mv "$CACHE/root.new" "$ROOT"

mkdir -p "$CACHE/bin"
lib=$ROOT/usr/lib/x86_64-linux-gnu
for v in $VERSIONS; do
	w=$CACHE/bin/python$v
	cat >"$w.new" <<EOF
#!/bin/sh
# Debian sid's python$v run through sid's loader (tools/fetch-sid-python.sh).
PYTHONHOME=$ROOT/usr
export PYTHONHOME
exec $lib/ld-linux-x86-64.so.2 --library-path $lib $ROOT/usr/bin/python$v "\$@"
EOF
	chmod 755 "$w.new"
	mv "$w.new" "$w"
	works "$v" || fail "python$v from Debian sid does not run through sid's loader (see $w)"
done
echo ok >"$CACHE/status"
echo "fetch-sid-python: python$(echo $VERSIONS | sed 's/ /, python/g') in $CACHE/bin"
