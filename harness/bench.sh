#!/bin/sh
# `make bench`: the Rust PMU against its C twin, in one boot of the bench
# kernel (FLAVOUR=bench: the test config without KASAN, lockdep, kmemleak,
# fault injection and KUnit). The guest has two edu devices, one for
# i915_pmu_rs and one for the C twin (perf_unbind's bench_modules). Then,
# on the host, the incremental rebuild of the test kernel after touching
# one driver file. Prints the table; writes $RUN/bench.txt (the table) and
# $RUN/bench.kv ("measure.side value" lines). PERF_UNBIND_BENCH=read,unbind
# (a comma-separated subset of read, unbind, scaling, memory) runs only
# those.
set -eu
. "$(dirname "$0")/env.sh"

RUN=$RUNS/bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
export RUN
# One host thread per vCPU, or readers on two vCPUs cannot scale; see boot.sh
# for the risk that comes with it. tsc=reliable: under a loaded TCG host the
# clocksource watchdog can mark the TSC unstable mid-run. That switches the
# clock both PMUs read to the emulated HPET, and it flips the sched_clock
# static key, patching kernel text: a bench guest died silently right after
# "sched_clock: Marking unstable" (2026-11-26, 387 s into the run).
TCG_THREAD=${TCG_THREAD:-multi} BOOT_APPEND="tsc=reliable" \
EXTRA_QEMU_OPTS="-device edu,id=edu1,bus=pcie.0" sh "$REPO/harness/boot.sh" bench.sh \
	"${PERF_UNBIND_BENCH:-all}"

if [ "${PERF_UNBIND_BENCH:-all}" != all ]; then
	say "results ($RUN/bench.txt, $RUN/bench.kv)"
	cat "$RUN/bench.txt"
	exit 0
fi

# 5. Rebuild loop of the test kernel (host side).
say "rebuild loop: touch drivers/gpu/drm/i915/pmu_rs/pmu.rs in the test tree, make build"
FLAVOUR=test sh "$REPO/harness/build.sh" > "$RUN/rebuild.log" 2>&1 ||
	die "the test kernel does not build: $RUN/rebuild.log"
touch "$CACHE/src/linux/drivers/gpu/drm/i915/pmu_rs/pmu.rs"
FLAVOUR=test sh "$REPO/harness/build.sh" > "$RUN/rebuild.log" 2>&1 ||
	die "rebuild failed: $RUN/rebuild.log"
# build.sh's own timing of the kernel part (Kbuild, clippy), not kselftests.
secs=$(sed -n 's/.*kernel built in \([0-9]*\) s.*/\1/p' "$RUN/rebuild.log")
steps=$(sed -n 's/^ *\([0-9]*\) build steps$/\1/p' "$RUN/rebuild.log")
echo "rebuild_s.rust $secs" >> "$RUN/bench.kv"
printf '%-34s %12s\n' "incremental rebuild, s (host)" "$secs ($steps build steps)" >> "$RUN/bench.txt"

say "results ($RUN/bench.txt, $RUN/bench.kv)"
cat "$RUN/bench.txt"
