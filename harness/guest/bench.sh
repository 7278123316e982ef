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

# The Rust-only part of unbind, beyond the driver's own del and the event
# states' destroy that perf core calls while it detaches the events, is
# kernel::perf's PmuObject::free_deferred after perf_pmu_unregister(): the
# drop of the event states that destroy kept for late calls. A kprobe on its
# entry and a kretprobe on its return time every call. Only the unbind
# measure calls it, once per unbind of the Rust side; the bench's
# unbind_reps_n<N> lines say how many for each N.
tr=/sys/kernel/tracing
[ -d "$tr/events" ] || mount -t tracefs nodev "$tr"
sym() {
	awk -v suf="PmuObject$1" '$2 ~ /^[tT]$/ && $3 ~ /^_R/ &&
		substr($3, length($3) - length(suf) + 1) == suf { print $3; exit }' /proc/kallsyms
}
free=$(sym 13free_deferred)
probed=
if [ -n "$free" ] &&
	echo "p:pmurs/free_in $free" >> "$tr/kprobe_events" &&
	echo "r:pmurs/free_out $free" >> "$tr/kprobe_events"; then
	: > "$tr/trace"
	echo 1 > "$tr/events/pmurs/enable" && probed=1
fi
[ -n "$probed" ] || log "no kprobes on PmuObject::free_deferred: no Rust-only column"

{
	echo "perf_unbind_bench, kernel $(uname -r) without KASAN/lockdep, $accel, $(nproc) vCPUs"
	echo "command: make bench${PERF_UNBIND_BENCH:+ PERF_UNBIND_BENCH=$PERF_UNBIND_BENCH} (harness/guest/bench.sh runs $ksft/perf_unbind_bench)"
	"$ksft/perf_unbind_bench" /tmp/bench.kv
} > /tmp/bench.txt 2>&1
rc=$?

if [ -n "$probed" ]; then
	echo 0 > "$tr/events/pmurs/enable"
	# Per unbind, in call order, the time in us of the call. The median of
	# each N's group.
	awk 'match($0, /[0-9]+\.[0-9]+: free_(in|out):/) {
		ts = substr($0, RSTART, RLENGTH)
		t = substr(ts, 1, index(ts, ":") - 1) + 0
		if (ts ~ /_in:/) start = t
		else if (start != "") { printf "%.0f\n", (t - start) * 1e6; start = "" }
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
			printf 'Rust-only part (free_deferred), %5d events, us %8s\n' "$n" "$us" >> /tmp/bench.txt
			echo "revoke_us_n$n.rust $us" >> /tmp/bench.kv
		done
	else
		log "$calls free_deferred calls for $total unbinds: no Rust-only column"
	fi
fi
sed 's/^/  /' /tmp/bench.txt | while IFS= read -r l; do log "$l"; done
cp /tmp/bench.txt "$RUN/bench.txt"
cp /tmp/bench.kv "$RUN/bench.kv" 2>/dev/null
log "perf_unbind_bench exit $rc"
touch "$RUN/guest.done"
