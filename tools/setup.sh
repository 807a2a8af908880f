#!/bin/sh
# Install what tripod needs to build and test (Debian 12, as root), then
# configure and build.  Safe to run again: it only does what is missing.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="build-essential autoconf automake libtool pkg-config libdw-dev
libelf-dev libunwind-dev zlib1g-dev libzstd-dev libcriterion-dev python3
python3.11-dbg gdb elfutils gzip patchelf chromium valgrind clang
libclang-rt-14-dev strace"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "== installing:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: run as root to install packages (apt-get)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing >/dev/null
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] ||
	[ Makefile.am -nt Makefile.in ]; then
	echo "== autoreconf"
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
	echo "== configure"
	./configure -q ${TRIPOD_CONFIGURE_FLAGS:-}
fi
echo "== make"
make -s -j"$(nproc)" >/dev/null
