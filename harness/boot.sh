#!/bin/sh
# Boot the built kernel under virtme-ng and run a guest script in it.
#
#   harness/boot.sh GUEST_SCRIPT [ARGS...]
#
# The guest is a q35 machine (PCI Express) with 2 vCPUs and QEMU's `edu`
# device on a hot-pluggable PCIe root port. QEMU listens for QMP on
# $RUN/qmp.sock; the guest asks the host to run QMP commands by writing
# JSON into $RUN/host/ (see harness/guest/lib.sh), which the broker loop
# below forwards, so tests in the guest can hot-unplug and replug the device.
# TCG is the default; KVM=1 uses KVM. Prints the guest's progress lines;
# the whole console goes to $RUN/console.log.
set -eu
. "$(dirname "$0")/env.sh"

[ -f "$BUILD/arch/x86/boot/bzImage" ] || die "no kernel in $BUILD; run 'make build'"
guest=$1
shift

RUN=${RUN:-$RUNS/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RUN/host"
ln -sfn "$RUN" "$RUNS/latest"
# Keep the last 10 runs.
ls -1d "$RUNS"/2* 2>/dev/null | head -n -10 | xargs -r rm -rf

accel=--disable-kvm
if [ "${KVM:-0}" = 1 ]; then
	[ -w /dev/kvm ] || die "KVM=1 but /dev/kvm is not usable"
	accel=
fi
timeout=${BOOT_TIMEOUT:-1800}

# QMP broker: forwards each $RUN/host/N.req (one JSON command) to QEMU.
broker() {
	while [ ! -e "$RUN/.done" ]; do
		for req in "$RUN"/host/*.req; do
			[ -f "$req" ] || continue
			{ echo '{"execute":"qmp_capabilities"}'; cat "$req"; sleep 1; } |
				socat -t 3 - "UNIX-CONNECT:$RUN/qmp.sock" > "${req%.req}.tmp" 2>&1 || true
			mv "${req%.req}.tmp" "${req%.req}.resp"
			rm -f "$req"
		done
		sleep 0.2
	done
}
broker &
broker_pid=$!
trap 'touch "$RUN/.done"; wait $broker_pid 2>/dev/null || true' EXIT

say "booting the $FLAVOUR kernel ($( [ -n "$accel" ] && echo TCG || echo KVM ), timeout ${timeout}s); console: $RUN/console.log"
set +e
timeout -k 10 "$timeout" vng --run "$BUILD" --verbose --disable-microvm $accel \
	--cpus "${CPUS:-2}" --memory "${MEMORY:-3G}" --append "no5lvl" \
	--rwdir "$RUN" --cwd "$REPO" \
	--qemu-opts "-device pcie-root-port,id=pmu_rp0,bus=pcie.0,chassis=1,slot=1 \
-device edu,id=edu0,bus=pmu_rp0 -qmp unix:$RUN/qmp.sock,server=on,wait=off" \
	--exec "sh $REPO/harness/guest/$guest $RUN $BUILD $*" < /dev/null 2>&1 |
	tee "$RUN/console.log" | sed -u -n 's/^.*pmu-rs-guest: //p'
set -e
if [ ! -f "$RUN/guest.done" ]; then
	echo "---- the guest did not finish; last 40 console lines ($RUN/console.log):" >&2
	tail -n 40 "$RUN/console.log" >&2
	die "guest boot or run failed or timed out after ${timeout}s"
fi
