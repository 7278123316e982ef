#!/bin/sh
# Install what pmu-rs needs on a Debian 12 (or newer) machine with root:
# Debian packages, bindgen-cli from crates.io and virtme-ng from PyPI.
# Idempotent: a second run checks, installs nothing and downloads nothing.
set -eu
. "$(dirname "$0")/env.sh"

BINDGEN_VERSION=0.73.2
VNG_VERSION=1.42
PACKAGES="rustc-web rust-web-src rust-web-clippy rustfmt-web clang-19 lld-19
llvm-19 libclang-19-dev flex bison bc libelf-dev libssl-dev cpio kmod pciutils
qemu-system-x86 linux-perf busybox-static python3-venv make gcc libc6-dev
xz-utils zstd socat rsync python3-sphinx python3-sphinx-rtd-theme jq
python3-ply python3-git ccache"
# The bench kernel's clang: rustc's LLVM (see env.sh).
if [ "$FLAVOUR" = bench ]; then
	PACKAGES="$PACKAGES clang-22 lld-22 llvm-22 libclang-22-dev"
fi

stamp=$CACHE/setup.stamp
want="$PACKAGES bindgen-$BINDGEN_VERSION vng-$VNG_VERSION"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
   [ -x "$TOOLS/bin/bindgen" ] && [ -x "$VENV/bin/vng" ]; then
	exit 0
fi

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || die "need root to install:$missing"
	say "installing Debian packages:$missing"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing
fi

mkdir -p "$TOOLS"
if ! "$TOOLS/bin/bindgen" --version 2>/dev/null | grep -qF "$BINDGEN_VERSION"; then
	command -v cargo >/dev/null || die "cargo is needed to build bindgen-cli"
	say "building bindgen-cli $BINDGEN_VERSION from crates.io (a few minutes)"
	cargo install --locked --root "$TOOLS" bindgen-cli --version "$BINDGEN_VERSION"
fi

if ! "$VENV/bin/vng" --version 2>/dev/null | grep -qF "$VNG_VERSION"; then
	say "installing virtme-ng $VNG_VERSION from PyPI"
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q "virtme-ng==$VNG_VERSION"
fi

/usr/bin/rustc --version | grep -q '^rustc 1\.96\.' ||
	die "/usr/bin/rustc is not 1.96: $(/usr/bin/rustc --version)"
echo "$want" > "$stamp"
say "setup complete"
