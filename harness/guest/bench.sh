#!/bin/sh
# Inside the bench guest: bind one edu device to i915_pmu_rs and the other
# to the C twin, run perf_unbind_bench, leave the table and the figures in
# $RUN.
set -u
. "$(dirname "$0")/lib.sh"

ksft=$BUILD/kselftest/kselftest_install/perf_unbind
modprobe i915_pmu_rs
insmod "$ksft/bench_modules/pmu_c_twin.ko"
wait_for '[ "$(edu_devices | wc -l)" = 2 ]' 30
# i915_pmu_rs, loaded first, took both devices: hand the second to the twin.
second=$(edu_devices | sed -n 2p)
echo "$second" > /sys/bus/pci/drivers/i915_pmu_rs/unbind
echo "$second" > /sys/bus/pci/drivers/pmu_c_twin/bind
accel=KVM
grep -q 'QEMU TCG CPU' /proc/cpuinfo && accel=TCG
{
	echo "perf_unbind_bench, kernel $(uname -r) without KASAN/lockdep, $accel, $(nproc) vCPUs"
	echo "command: make bench (harness/guest/bench.sh runs $ksft/perf_unbind_bench)"
	"$ksft/perf_unbind_bench" /tmp/bench.kv
} > /tmp/bench.txt 2>&1
rc=$?
sed 's/^/  /' /tmp/bench.txt | while IFS= read -r l; do log "$l"; done
cp /tmp/bench.txt "$RUN/bench.txt"
cp /tmp/bench.kv "$RUN/bench.kv" 2>/dev/null
log "perf_unbind_bench exit $rc"
touch "$RUN/guest.done"
