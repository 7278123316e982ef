#!/bin/sh
# Boot the built kernel under virtme-ng and run a guest script in it.
#
#   harness/boot.sh GUEST_SCRIPT [ARGS...]
#
# The machine, the accelerator and the kernel parameters are harness/vm.sh's,
# shared with `make shell`. EXTRA_QEMU_OPTS adds QEMU options (the bench's
# second edu device), BOOT_APPEND kernel parameters (the bench's
# tsc=reliable), GUEST a name for the progress lines when two guests boot
# side by side (harness/run.sh). Prints the guest's progress lines; the
# whole console goes to $RUN/console.log.
set -eu
. "$(dirname "$0")/env.sh"

[ -f "$BUILD/arch/x86/boot/bzImage" ] || die "no kernel in $BUILD; run 'make build'"
guest=$1
shift

RUN=${RUN:-$RUNS/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RUN"
ln -sfn "$RUN" "$RUNS/latest"
# Keep the last 10 runs.
ls -1d "$RUNS"/2* 2>/dev/null | head -n -10 | xargs -r rm -rf

. "$(dirname "$0")/vm.sh"
timeout=${BOOT_TIMEOUT:-1800}
vm_broker "$RUN"
trap 'kill $broker_pid 2>/dev/null || true' EXIT

say "${GUEST:+[$GUEST] }booting the $FLAVOUR kernel ($accel_what: $why), timeout ${timeout}s; console: $RUN/console.log"
date +%s > "$RUN/boot.start"
set +e
timeout -k 10 "$timeout" vng --run "$BUILD" --verbose --disable-microvm --force-9p $accel \
	--cpus "$cpus" --memory "${MEMORY:-3G}" --append "$append" \
	--rwdir "$RUN" --cwd "$REPO" \
	--qemu-opts="$(vm_qemu_opts "$RUN")" \
	--exec "sh $REPO/harness/guest/$guest $RUN $BUILD $*" < /dev/null 2>&1 |
	tee "$RUN/console.log" | sed -u -n "s/^.*pmu-rs-guest: /${GUEST:+[$GUEST] }/p"
set -e
date +%s > "$RUN/boot.end"
if [ ! -f "$RUN/guest.done" ]; then
	echo "---- ${GUEST:+[$GUEST] }the guest did not finish; last 40 console lines ($RUN/console.log):" >&2
	tail -n 40 "$RUN/console.log" >&2
	die "guest boot or run failed or timed out after ${timeout}s"
fi
