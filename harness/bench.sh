#!/bin/sh
# `make bench`: the Rust PMU against its C twin, in one boot of the bench
# kernel (FLAVOUR=bench: the test config without KASAN, lockdep, kmemleak,
# fault injection and KUnit). The guest has two edu devices, one for
# i915_pmu_rs and one for the C twin (perf_unbind's bench_modules). Then,
# on the host, the incremental rebuild of the test kernel after touching
# one driver file. Prints the table; writes $RUN/bench.txt (the table) and
# $RUN/bench.kv ("measure.side value" lines). PERF_UNBIND_BENCH=read,unbind
# (a comma-separated subset of read, unbind, scaling, memory) runs only
# those. The read() ratio moves by several percent between boots of the
# same kernel (where KASLR puts the code, say), so read() is measured in
# READ_BOOTS boots (9 by default; the first is the main one) and the table
# ends with the median of their Rust/C ratios.
set -eu
. "$(dirname "$0")/env.sh"

RUN=$RUNS/bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
export RUN
# One host thread per vCPU, or readers on two vCPUs cannot scale; see vm.sh
# for the risk that comes with it. tsc=reliable: under a loaded TCG host the
# clocksource watchdog can mark the TSC unstable mid-run. That switches the
# clock both PMUs read to the emulated HPET, and it flips the sched_clock
# static key, patching kernel text: a bench guest died silently right after
# "sched_clock: Marking unstable" (2026-11-26, 387 s into the run).
# Multi-threaded TCG can also oops on "int3" when the guest kernel patches
# its own text (vm.sh), at boot or mid-run: 3 of 21 bench boots on
# 2026-11-26. That is QEMU 7.2's, not the bench's, so such a boot is
# retried, at most twice, and the table says so; any other failure stops
# here.

# The second edu device sits behind a root port of its own, as vm.sh's
# first does, so that both PMUs' devices are reached the same way.
edu1="-device pcie-root-port,id=pmu_rp1,bus=pcie.0,chassis=2,slot=2 -device edu,id=edu1,bus=pmu_rp1"

# bench_boot MEASURES: one boot of the bench guest, results in $RUN.
bench_boot() {
	tries=1
	while ! TCG_THREAD=${TCG_THREAD:-multi} CPUS=2 SOCKETS=1 BOOT_APPEND="tsc=reliable" \
		EXTRA_QEMU_OPTS="$edu1" sh "$REPO/harness/boot.sh" bench.sh \
		"$1"; do
		grep -q 'Oops: int3' "$RUN/console.log" && [ "$tries" -lt 3 ] ||
			die "the bench guest failed: $RUN/console.log"
		mv "$RUN/console.log" "$RUN/console.int3-$tries.log"
		rm -f "$RUN"/*.sock
		warn "boot $tries oopsed on int3 (multi-threaded TCG, see harness/vm.sh): booting again"
		tries=$((tries + 1))
	done
	[ "$tries" = 1 ] ||
		echo "(boot $tries: the boots before oopsed on int3, see $RUN/console.int3-*.log)" >> "$RUN/bench.txt"
}

# read_ratio DIR: Rust/C of the read() median in DIR/bench.kv.
read_ratio() {
	awk '$1 == "read_median_ns.rust" { r = $2 } $1 == "read_median_ns.c" { c = $2 }
		END { if (r && c) printf "%.3f\n", r / c }' "$1/bench.kv"
}

measures=${PERF_UNBIND_BENCH:-all}
bench_boot "$measures"

boots=${READ_BOOTS:-9}
case ",$measures," in
*,all,* | *,read,*)
	top=$RUN
	ratios=$(read_ratio "$top")
	[ -n "$ratios" ] || die "no read() figures in $top/bench.kv"
	i=2
	while [ "$i" -le "$boots" ]; do
		say "read() boot $i of $boots ($top/read-$i)"
		RUN=$top/read-$i
		mkdir -p "$RUN"
		bench_boot read
		r=$(read_ratio "$RUN")
		[ -n "$r" ] || die "no read() figures in $RUN/bench.kv"
		ratios="$ratios $r"
		i=$((i + 1))
	done
	RUN=$top
	n=$(echo "$ratios" | wc -w)
	med=$(printf '%s\n' $ratios | sort -n | awk '{ v[NR] = $1 }
		END { printf "%.3f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	printf '%-34s %12s %12s %8s\n' "read() median Rust/C, $n boots" "" "" "$med" >> "$RUN/bench.txt"
	echo "  (per boot: $ratios; READ_BOOTS=$boots)" >> "$RUN/bench.txt"
	echo "read_median_ratio_boots.ratio $med" >> "$RUN/bench.kv"
	;;
esac

if [ "$measures" != all ]; then
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
