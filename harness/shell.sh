#!/bin/sh
# An interactive shell in the test kernel: the machine, accelerator and
# kernel parameters of `make check` (harness/vm.sh; the root without its
# page cache, so that files edited on the host are seen at once), with the
# edu device on its hot-pluggable port, QMP on $RUN/qmp.sock and the
# guest's QMP port (host_qmp in harness/guest/lib.sh) behind the broker.
set -eu
. "$(dirname "$0")/env.sh"
[ -f "$BUILD/arch/x86/boot/bzImage" ] || die "no kernel in $BUILD; run 'make build'"
RUN=$RUNS/shell-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
. "$(dirname "$0")/vm.sh"
vm_broker "$RUN"
trap 'kill $broker_pid 2>/dev/null || true' EXIT
say "booting the $FLAVOUR kernel ($accel_what: $why); QMP socket: $RUN/qmp.sock (e.g. socat - UNIX-CONNECT:$RUN/qmp.sock)"
vng --run "$BUILD" --disable-microvm --force-9p $accel \
	--cpus "$cpus" --memory "${MEMORY:-3G}" --append "$shell_append" \
	--rwdir "$RUN" --cwd "$REPO" --qemu-opts="$(vm_qemu_opts "$RUN")"
