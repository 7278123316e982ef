#!/bin/sh
# Boot the test kernel with a guest script, then print the report of that
# boot (`make check`, `make stress`, `make kselftest`):
#
#   harness/run.sh GUEST_SCRIPT [ARGS...]
#
# Each boot writes to its own run directory, so two boots on one cache
# (say `make stress` and `make check`) do not mix up their reports.
#
# `make check` (check.sh without arguments) boots two guests side by side,
# each with its own edu device, QMP socket and run directory ($RUN/a,
# $RUN/b): guest a runs KUnit, the harness and sample scripts and the
# kselftests, guest b the driver script and perf-live.sh (no KUnit at
# boot: kunit.enable=0); harness/guest/check.sh says which. Guest a has 4
# CPUs in 2 packages, guest b 2 CPUs in one (harness/vm.sh). The report
# merges them, and a failure in either fails the run. That is the default
# with 2 host CPUs or more (GUESTS=2); GUESTS=1 runs it all in one guest.
# On the 2-CPU CI machine the guests of a warm make check took 693 s side
# by side (the timing table in README.md).
set -eu
. "$(dirname "$0")/env.sh"

RUN=$RUNS/$(date +%Y%m%d-%H%M%S)-$$
export RUN
mkdir -p "$RUN"
# The host steps since the last boot (phase_done in env.sh) are this run's.
mv "$PHASES" "$RUN/phases.host" 2>/dev/null || true
guests=${GUESTS:-$([ "$(nproc)" -ge 2 ] && echo 2 || echo 1)}
if [ "$*" != check.sh ] || [ "$guests" = 1 ]; then
	sh "$REPO/harness/boot.sh" "$@"
	exec sh "$REPO/harness/report.sh" "$RUN"
fi

date +%s > "$RUN/boot.start"
RUN=$RUN/a GUEST=a sh "$REPO/harness/boot.sh" check.sh check a &
a=$!
RUN=$RUN/b GUEST=b CPUS=2 SOCKETS=1 BOOT_APPEND="${BOOT_APPEND:-} kunit.enable=0" \
	sh "$REPO/harness/boot.sh" check.sh check b &
b=$!
rc=0
wait $a || rc=1
wait $b || rc=1
date +%s > "$RUN/boot.end"
ln -sfn "$RUN" "$RUNS/latest"
[ "$rc" = 0 ] || die "a guest failed (its console tail is above; $RUN/a, $RUN/b)"
exec sh "$REPO/harness/report.sh" "$RUN"
