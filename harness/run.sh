#!/bin/sh
# Boot the test kernel with a guest script, then print the report of that
# boot (`make check`, `make stress`, `make kselftest`):
#
#   harness/run.sh GUEST_SCRIPT [ARGS...]
#
# Each boot writes to its own run directory, so two boots on one cache
# (say `make stress` and `make check`) do not mix up their reports.
set -eu
. "$(dirname "$0")/env.sh"

RUN=$RUNS/$(date +%Y%m%d-%H%M%S)-$$
export RUN
mkdir -p "$RUN"
# The host steps since the last boot (phase_done in env.sh) are this run's.
mv "$CACHE/phases.host" "$RUN/phases.host" 2>/dev/null || true
sh "$REPO/harness/boot.sh" "$@"
sh "$REPO/harness/report.sh" "$RUN"
