#!/bin/sh
# An interactive shell in the test kernel, same machine as `make check`
# (edu device on a hot-pluggable port, QMP on $RUN/qmp.sock).
set -eu
. "$(dirname "$0")/env.sh"
RUN=$RUNS/shell-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
accel=--disable-kvm
[ "${KVM:-0}" = 1 ] && accel=
say "QMP socket: $RUN/qmp.sock (e.g. socat - UNIX-CONNECT:$RUN/qmp.sock)"
exec vng --run "$BUILD" --disable-microvm $accel --cpus "${CPUS:-2}" \
	--memory "${MEMORY:-3G}" --append "no5lvl kasan_multi_shot" --rwdir "$RUN" --cwd "$REPO" \
	--qemu-opts="-device pcie-root-port,id=pmu_rp0,bus=pcie.0,chassis=1,slot=1 \
-device edu,id=edu0,bus=pmu_rp0 -qmp unix:$RUN/qmp.sock,server=on,wait=off"
