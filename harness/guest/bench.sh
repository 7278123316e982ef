#!/bin/sh
# Inside the bench guest: bind one edu device to i915_pmu_rs and the other
# to the C twin, run perf_unbind_bench, leave the table and the figures in
# $RUN.
set -u
. "$(dirname "$0")/lib.sh"

ksft=$BUILD/kselftest/kselftest_install/perf_unbind
# The measures to run (harness/bench.sh's PERF_UNBIND_BENCH); all by default.
[ "${3:-all}" = all ] || export PERF_UNBIND_BENCH="$3"
modprobe i915_pmu_rs
insmod "$ksft/bench_modules/pmu_c_twin.ko"
wait_for '[ "$(edu_devices | wc -l)" = 2 ]' 30
# i915_pmu_rs, loaded first, took both devices: hand the second to the twin.
second=$(edu_devices | sed -n 2p)
echo "$second" > /sys/bus/pci/drivers/i915_pmu_rs/unbind
echo "$second" > /sys/bus/pci/drivers/pmu_c_twin/bind
accel=KVM
grep -q 'QEMU TCG CPU' /proc/cpuinfo && accel=TCG

# The Rust-only part of unbind is kernel::perf's PmuObject::swap_in_stubs
# (final counts folded, stubs swapped in) before perf_pmu_unregister(), and
# PmuObject::revoke after it (the wait for a grace period since the swap,
# which perf core's own has covered, and the drivers' event states
# dropped). A kprobe on the entry and a kretprobe on the return of each
# time every call. Only the unbind measure calls them, once each per unbind
# of the Rust side; the bench's unbind_reps_n<N> lines say how many for each
# N.
tr=/sys/kernel/tracing
[ -d "$tr/events" ] || mount -t tracefs nodev "$tr"
sym() {
	awk -v suf="PmuObject$1" '$2 == "T" && $3 ~ /^_R/ &&
		substr($3, length($3) - length(suf) + 1) == suf { print $3; exit }' /proc/kallsyms
}
stubs=$(sym 13swap_in_stubs)
revoke=$(sym 6revoke)
probed=
if [ -n "$stubs" ] && [ -n "$revoke" ] &&
	echo "p:pmurs/stubs_in $stubs" >> "$tr/kprobe_events" &&
	echo "r:pmurs/stubs_out $stubs" >> "$tr/kprobe_events" &&
	echo "p:pmurs/revoke_in $revoke" >> "$tr/kprobe_events" &&
	echo "r:pmurs/revoke_out $revoke" >> "$tr/kprobe_events"; then
	: > "$tr/trace"
	echo 1 > "$tr/events/pmurs/enable" && probed=1
fi
[ -n "$probed" ] || log "no kprobes on PmuObject::swap_in_stubs and ::revoke: no Rust-only column"

{
	echo "perf_unbind_bench, kernel $(uname -r) without KASAN/lockdep, $accel, $(nproc) vCPUs"
	echo "command: make bench${PERF_UNBIND_BENCH:+ PERF_UNBIND_BENCH=$PERF_UNBIND_BENCH} (harness/guest/bench.sh runs $ksft/perf_unbind_bench)"
	"$ksft/perf_unbind_bench" /tmp/bench.kv
} > /tmp/bench.txt 2>&1
rc=$?

if [ -n "$probed" ]; then
	echo 0 > "$tr/events/pmurs/enable"
	# Per unbind, in call order, the time in us spent in both: the stubs
	# pair comes first, its revoke pair ends the unbind. The median of each
	# N's group.
	awk 'match($0, /[0-9]+\.[0-9]+: (stubs|revoke)_(in|out):/) {
		ts = substr($0, RSTART, RLENGTH)
		t = substr(ts, 1, index(ts, ":") - 1) + 0
		if (ts ~ /_in:/) start = t
		else if (start != "") {
			sum += t - start
			start = ""
			if (ts ~ /revoke_out/) { printf "%.0f\n", sum * 1e6; sum = 0 }
		}
	}' "$tr/trace" > /tmp/revoke.us
	# The unbind measure's N and number of unbinds, in the order it ran
	# them (kv lines "unbind_reps_n<N>.rust <unbinds>"): one call each.
	sizes=$(sed -n 's/^unbind_reps_n\([0-9]*\)\.rust \([0-9]*\)\.0$/\1:\2/p' /tmp/bench.kv 2>/dev/null)
	calls=$(wc -l < /tmp/revoke.us)
	total=0
	for sz in $sizes; do
		total=$((total + ${sz#*:}))
	done
	if [ "$total" -gt 0 ] && [ "$calls" = "$total" ]; then
		first=1
		for sz in $sizes; do
			n=${sz%:*} reps=${sz#*:}
			us=$(sed -n "$first,$((first + reps - 1))p" /tmp/revoke.us |
				sort -n | sed -n "$(((reps + 1) / 2))p")
			first=$((first + reps))
			printf 'Rust-only part (swap_in_stubs + revoke), %5d events, us %8s\n' "$n" "$us" >> /tmp/bench.txt
			echo "revoke_us_n$n.rust $us" >> /tmp/bench.kv
		done
	else
		log "$calls swap_in_stubs/revoke pairs for $total unbinds: no Rust-only column"
	fi
fi
sed 's/^/  /' /tmp/bench.txt | while IFS= read -r l; do log "$l"; done
cp /tmp/bench.txt "$RUN/bench.txt"
cp /tmp/bench.kv "$RUN/bench.kv" 2>/dev/null
log "perf_unbind_bench exit $rc"
touch "$RUN/guest.done"
