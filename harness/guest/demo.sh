#!/bin/bash
# The showcase, run inside the guest by `make demo`: the seed scenario.
# A GPU-style PMU is read by `perf stat -I 1000` while its device is
# unbound, rebound and surprise-removed; perf keeps running, the counts
# behave, the kernel stays clean. Narrated for a person watching.
set -u
. "$(dirname "$0")/lib.sh"

say() { sed 's/^/pmu-rs-guest: /'; }
step() { log ""; log "== $*"; }
SPLAT='BUG:|WARNING:|Oops|general protection fault|KASAN:|UBSAN:|kernel BUG|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage|invalid wait context|Call Trace:|unexpected IRQ trap|nobody cared|No irq handler for vector'
problems=
problem() { problems="$problems
  - $*"; log "   !! $*"; }

# Show perf's own output as it comes, indented, until perf ($2) exits
# (-F: perf may not have created the file yet).
follow() {
	tail -n +1 -F --pid="$2" "$1" 2>/dev/null | grep --line-buffered -v '^#\|^$' |
		sed -u 's/^/pmu-rs-guest:    perf| /'
}
# Ctrl-C for perf $2 (called $1); it must exit cleanly.
stop_perf() {
	perf_stop "$2" || problem "$1 perf exit status $rc"
	sleep 1
	log "   $1 perf stopped with Ctrl-C: exit status $rc"
}
# The sum of the numeric counts of perf's lines on stdin (perf prints
# "<not counted>" for revoked events), and of all lines of event $1 in $2.
numeric_sum() { awk '{ v = $2; gsub(/,/, "", v); if (v ~ /^[0-9]+$/) s += v } END { printf "%.0f\n", s }'; }
total() { grep "/$1/" "$2" | numeric_sum; }

log "kernel $(uname -r) under QEMU, with KASAN, lockdep and DEBUG_ATOMIC_SLEEP"
i915rs_setup

step "1. The GPU: QEMU's edu device, driven by the Rust driver i915_pmu_rs"
lspci -k -nn -s "$dev" | sed 's/^/   /' | say
step "2. Its PMU, as a perf user sees it (perf list)"
perf list pmu 2>/dev/null | grep "$pmu/" | sed 's/^ */   /' | say
[ -d "$sysfs" ] || problem "no PMU $pmu"

step "3. perf stat -a -I 1000 -e $pmu/{rcs0-busy,bcs0-busy,interrupts,rc6-residency}/"
out=/tmp/demo-perf1.txt
ev="$pmu/rcs0-busy/,$pmu/bcs0-busy/,$pmu/interrupts/,$pmu/rc6-residency/"
# perf writes its intervals to stderr, unbuffered (-o would buffer them).
perf stat -a -I 1000 -e "$ev" 2> "$out" &
perf1=$!
follow "$out" $perf1 &
wait_for '[ "$(lines interrupts "$out")" -ge 2 ]' 120 || problem "perf did not start"

step "4. Submit work: 10 x 'rcs0 10000' (factorials) and 'bcs0 4 after rcs0' (DMA, waits for rcs0)"
for i in 1 2 3 4 5 6 7 8 9 10; do echo "rcs0 10000" > "$dbg/submit"; done
echo "bcs0 4 after rcs0" > "$dbg/submit"
sleep 2

step "5. Unbind the device while perf reads it and work runs: echo $dev > $drv/unbind"
log "   engines before unbind: $(engine_field rcs0 pending) rcs0 and $(engine_field bcs0 pending) bcs0 jobs pending"
echo "$dev" > "$drv/unbind"
log "   unbind returned; PMU in sysfs: $([ -d "$sysfs" ] && echo yes || echo gone)"
sleep 3
kill -0 $perf1 2>/dev/null && log "   perf is still running; its counts are frozen at their final values" ||
	problem "perf died at unbind"

step "6. Rebind: echo $dev > $drv/bind"
echo "$dev" > "$drv/bind"
wait_for '[ -d "$sysfs" ]' 30 || problem "PMU did not come back"
log "   the PMU is back under the same name: $pmu, type $(cat "$sysfs/type" 2>/dev/null)"
sleep 2
kill -0 $perf1 2>/dev/null && log "   the first perf still runs (on its old, frozen events)" || problem "perf died at rebind"
stop_perf first $perf1
# Read back what perf printed: work counted before the unbind, and nothing
# in its last 3 intervals (at least 5 s after the unbind).
busy=$(total rcs0-busy "$out")
last=$(grep "/rcs0-busy/\|/interrupts/" "$out" | tail -n 6 | numeric_sum)
log "   perf saw $((busy / 1000000)) ms of rcs0 busy time in all; its last 3 intervals: $last"
[ "$busy" -gt 0 ] || problem "perf saw no rcs0 busy time"
[ "$last" = 0 ] || problem "counts moved after unbind ($last)"

step "7. A new perf stat on the rebound PMU, then QEMU hot-unplugs the device (QMP device_del)"
out=/tmp/demo-perf2.txt
perf stat -a -I 1000 -e "$pmu/rcs0-busy/,$pmu/interrupts/" 2> "$out" &
perf2=$!
follow "$out" $perf2 &
wait_for '[ "$(lines interrupts "$out")" -ge 1 ]' 120
echo "rcs0 8000" > "$dbg/submit"
sleep 2
resp=$(host_qmp '{"execute":"device_del","arguments":{"id":"edu0"}}')
wait_for '[ -z "$(edu_devices)" ]' 30 && log "   the device is gone from the PCI bus" ||
	problem "device_del failed: $resp"
sleep 3
kill -0 $perf2 2>/dev/null && log "   perf is still running" || problem "perf died at hot-unplug"

step "8. QEMU plugs the device back in (QMP device_add); the driver binds again"
resp=$(host_qmp '{"execute":"device_add","arguments":{"driver":"edu","id":"edu0","bus":"pmu_rp0"}}')
wait_for '[ -d "$sysfs" ]' 30 && log "   $pmu is back, type $(cat "$sysfs/type")" || problem "no PMU after replug: $resp"
stop_perf second $perf2
irqs=$(total interrupts "$out")
log "   the second perf counted $irqs interrupts (8000 units of work) before the unplug"
[ "$irqs" -gt 0 ] || problem "the rebound PMU counted nothing"

step "9. The kernel log"
splats=$(dmesg | grep -E "$SPLAT")
if [ -z "$splats" ]; then
	log "   no BUG, WARNING, KASAN, lockdep or Oops report; taint $(cat /proc/sys/kernel/tainted)"
else
	echo "$splats" | head -20 | sed 's/^/   /' | say
	problem "kernel reports in dmesg"
fi
dmesg > "$RUN/dmesg.txt"

log ""
if [ -z "$problems" ]; then
	log "VERDICT: PASS: perf kept running through unbind, rebind and hot-unplug; counts froze at unbind and the PMU came back each time; no splat"
else
	log "VERDICT: FAIL:"
	echo "$problems" | sed '/^$/d' | while IFS= read -r l; do log "$l"; done
fi
touch "$RUN/guest.done"
