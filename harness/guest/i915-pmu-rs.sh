#!/bin/bash
# Smoke test of drivers/gpu/drm/i915/pmu_rs with the real perf tool: the
# driver binds to edu, perf lists every event, `perf stat` counts the work
# submitted to the engines and nothing when idle, the device is unbound
# while perf runs, rebound, and the module removed while perf runs; a full
# queue refuses more work with EBUSY and takes it again once drained.
# (The full user-visible suite is the perf_unbind kselftest.) Prints KTAP.
. "$(dirname "$0")/lib.sh"
. "$SRC/tools/testing/selftests/kselftest/ktap_helpers.sh"

EVENTS="rcs0-busy rcs0-wait rcs0-sema bcs0-busy bcs0-wait bcs0-sema actual-frequency
requested-frequency interrupts rc6-residency software-gt-awake-time"

ktap_print_header
ktap_set_plan 11

i915rs_setup

# Wait until every submitted job has completed.
wait_idle() {
	wait_for '[ "$(engine_field rcs0 pending)" = 0 ] && [ "$(engine_field bcs0 pending)" = 0 ]' "$1"
}

# 1. Bound, with the sysfs tables and the submission interface; the PMU sits
#    under its PCI device in sysfs.
if [ -n "$dev" ] && [ "$(basename "$(readlink "/sys/bus/pci/devices/$dev/driver")")" = i915_pmu_rs ] &&
   [ "$(cat "$sysfs/format/i915_eventid")" = config:0-20 ] &&
   [ "$(cat "$sysfs/events/bcs0-sema")" = config=0x1002 ] &&
   [ "$(cat "$sysfs/events/rcs0-busy.unit")" = ns ] &&
   [ "$(cat "$sysfs/events/actual-frequency.unit")" = M ] &&
   [ -f "$sysfs/cpumask" ] && [ -w "$dbg/submit" ] &&
   [ "$(dirname "$(readlink -f "$sysfs")")" = "$(readlink -f "/sys/bus/pci/devices/$dev")" ]; then
	ktap_test_pass "i915_pmu_rs_binds_to_edu ($dev, PMU $pmu type $(cat "$sysfs/type"))"
else
	ktap_print_msg "edu: '$dev'; $(ls "$sysfs" "$sysfs/events" 2>&1 | tr '\n' ' ')"
	ktap_test_fail "i915_pmu_rs_binds_to_edu"
fi

# 2. perf list shows every event.
listed=$(perf list 2>/dev/null | grep -o "$pmu/[a-z0-9-]*/" | sort -u)
missing=
for e in $EVENTS; do echo "$listed" | grep -qx "$pmu/$e/" || missing="$missing $e"; done
if [ -z "$missing" ] && [ "$(echo "$listed" | grep -c .)" = 11 ]; then
	ktap_test_pass "perf_list_shows_all_11_events"
else
	ktap_print_msg "perf list: $listed; missing:$missing"
	ktap_test_fail "perf_list_shows_all_11_events"
fi

# 3. Bad submissions get EINVAL and change nothing.
bad=0
for s in "vcs0 1" "rcs0 0" "rcs0 10001" "rcs0 1 after rcs0" "garbage"; do
	err=$( (echo "$s" > "$dbg/submit") 2>&1) && bad=1
	case $err in *"Invalid argument"*) ;; *) bad=1 ;; esac
done
if [ "$bad" = 0 ] && [ "$(engine_field rcs0 submitted)" = 0 ]; then
	ktap_test_pass "bad_submissions_einval"
else
	ktap_print_msg "last error: $err; $(cat "$dbg/engines")"
	ktap_test_fail "bad_submissions_einval"
fi

# 4-6. perf stat counts the submitted work, and nothing once idle.
out=/tmp/i915rs.csv
ev="$pmu/rcs0-busy/,$pmu/bcs0-busy/,$pmu/bcs0-sema/,$pmu/interrupts/,$pmu/actual-frequency/"
perf stat -a -x, -I 250 -e "$ev" -o "$out" &
perf=$!
if wait_for '[ "$(lines interrupts "$out")" -ge 2 ]' 120; then
	n0=$(lines interrupts "$out")
	irq0=$(engine_field gt interrupts)
	t0=$(date +%s%N)
	echo "rcs0 3000" > "$dbg/submit"
	echo "bcs0 2 after rcs0" > "$dbg/submit"
	wait_idle 120
	wall=$(($(date +%s%N) - t0))
	irq1=$(engine_field gt interrupts)
	# Let perf report the intervals that saw the work end, then two idle ones.
	n1=$(($(lines interrupts "$out") + 2))
	wait_for '[ "$(lines interrupts "$out")" -ge $((n1 + 2)) ]' 60
	n2=$((n1 + 2))
	rcs=$(csv_sum rcs0-busy "$out" "$n0" "$n1")
	bcs=$(csv_sum bcs0-busy "$out" "$n0" "$n1")
	sema=$(csv_sum bcs0-sema "$out" "$n0" "$n1")
	irqs=$(csv_sum interrupts "$out" "$n0" "$n1")
	freq=$(csv_sum actual-frequency "$out" "$n0" "$n1")
	ktap_print_msg "work: rcs0-busy $rcs ns, bcs0-busy $bcs ns, bcs0-sema $sema ns, interrupts $irqs (device: $((irq1 - irq0))), actual-frequency $freq; $wall ns from submission to idle"
	# Each engine was busy only between the submission and idle; bcs0
	# waited on its semaphore for about rcs0's busy time, then ran two DMA
	# units of 100 ms of QEMU virtual time each, within [95%, 125%] (as
	# perf_unbind's events_count_work).
	if [ "$rcs" -gt 0 ] && [ "$rcs" -le "$wall" ] && [ "$bcs" -le "$wall" ] &&
	   [ "$sema" -gt 0 ] && [ "$sema" -le $((rcs + 50000000)) ] &&
	   [ "$bcs" -ge $((sema + 190000000)) ] && [ "$bcs" -le $((sema + 250000000)) ] &&
	   [ "$irqs" = 3002 ] && [ "$((irq1 - irq0))" = 3002 ] && [ "$freq" -gt 0 ]; then
		ktap_test_pass "perf_stat_counts_submitted_work"
	else
		ktap_test_fail "perf_stat_counts_submitted_work"
	fi
	idle="$(csv_sum rcs0-busy "$out" "$n1" "$n2") $(csv_sum bcs0-busy "$out" "$n1" "$n2") $(csv_sum interrupts "$out" "$n1" "$n2")"
	if [ "$idle" = "0 0 0" ]; then
		ktap_test_pass "idle_counts_nothing"
	else
		ktap_print_msg "idle intervals: busy, busy, interrupts = $idle"
		ktap_test_fail "idle_counts_nothing"
	fi
	echo "rcs0 2000" > "$dbg/submit"
	before=$(lines interrupts "$out")
	if echo "$dev" > "$drv/unbind" && [ ! -d "$sysfs" ] && [ ! -d "$dbg" ] &&
	   wait_for '[ "$(lines interrupts "$out")" -ge $((before + 3)) ]' 60 &&
	   kill -0 "$perf" 2>/dev/null; then
		ktap_test_pass "unbind_mid_run_perf_keeps_running"
	else
		ktap_test_fail "unbind_mid_run_perf_keeps_running"
	fi
else
	ktap_print_msg "perf never reported: $(head -5 "$out" 2>&1)"
	for t in perf_stat_counts_submitted_work idle_counts_nothing unbind_mid_run_perf_keeps_running; do
		ktap_test_fail "$t (perf did not start counting)"
	done
fi

# 7. Rebind: the same PMU name, counting again.
echo "$dev" > "$drv/bind" 2>/dev/null
out2=/tmp/i915rs-rebind.csv
if [ -d "$sysfs" ] && [ -w "$dbg/submit" ] &&
   perf stat -a -x, -o "$out2" -e "$pmu/rcs0-busy/,$pmu/interrupts/" -- \
	sh -c "echo 'rcs0 500' > $dbg/submit; i=0; \
		while [ \$(grep -c 'pending 0' $dbg/engines) != 2 ] && [ \$i -lt 600 ]; do \
			sleep 0.1; i=\$((i + 1)); done"; then
	# Without -I, the count is the first field.
	rcs=$(awk -F, '/\/rcs0-busy\// { print $1 }' "$out2")
	irqs=$(awk -F, '/\/interrupts\// { print $1 }' "$out2")
	if [ "$rcs" -gt 0 ] && [ "$irqs" = 500 ]; then
		ktap_test_pass "rebind_same_pmu_counts ($rcs ns, $irqs interrupts)"
	else
		ktap_print_msg "$(cat "$out2")"
		ktap_test_fail "rebind_same_pmu_counts"
	fi
else
	ktap_print_msg "after bind: $(ls /sys/bus/event_source/devices | tr '\n' ' '); $(cat "$out2" 2>&1)"
	ktap_test_fail "rebind_same_pmu_counts"
fi

# 8. The first perf survived unbind and rebind and exits cleanly.
if perf_stop "$perf"; then
	ktap_test_pass "perf_exits_cleanly_after_unbind (exit $rc)"
else
	ktap_test_fail "perf_exits_cleanly_after_unbind (exit $rc)"
fi

# 9-10. rmmod while perf has events open, then load again.
out3=/tmp/i915rs-rmmod.csv
perf stat -a -x, -I 250 -e "$pmu/rcs0-busy/" -o "$out3" &
perf=$!
if wait_for '[ "$(lines rcs0-busy "$out3")" -ge 2 ]' 120 && rmmod i915_pmu_rs &&
   [ ! -d "$sysfs" ] && before=$(lines rcs0-busy "$out3") &&
   wait_for '[ "$(lines rcs0-busy "$out3")" -ge $((before + 2)) ]' 60 &&
   kill -0 "$perf" 2>/dev/null; then
	ktap_test_pass "rmmod_with_events_open"
else
	ktap_test_fail "rmmod_with_events_open"
fi
perf_stop "$perf"
if modprobe i915_pmu_rs && wait_for "[ -d $sysfs ]" 30; then
	ktap_test_pass "modprobe_again_same_pmu ($pmu)"
else
	ktap_test_fail "modprobe_again_same_pmu"
fi

# 11. An engine queues at most 64 jobs: behind four long rcs0 jobs (about
#     4 s), bcs0 jobs that wait for them (a semaphore) pile up, the 65th is
#     refused with EBUSY and changes nothing, and once the queues drain the
#     engine takes work again. The shell's own echo submits them, a few ms
#     for all 70: a process each would let the rcs0 jobs end first.
ok=0 busy=0 other=
: > /tmp/i915rs-queue.err
if [ -w "$dbg/submit" ]; then
	for i in 1 2 3 4; do echo "rcs0 10000" > "$dbg/submit"; done
	for i in $(seq 70); do
		if { echo "bcs0 1 after rcs0" > "$dbg/submit"; } 2>> /tmp/i915rs-queue.err; then
			ok=$((ok + 1))
		fi
	done
	busy=$(grep -c "Device or resource busy" /tmp/i915rs-queue.err)
	other=$(grep -v "Device or resource busy" /tmp/i915rs-queue.err | head -n 1)
fi
queued=$(engine_field bcs0 submitted)
wait_idle 300
if [ "$ok" = 64 ] && [ "$busy" = 6 ] && [ -z "$other" ] && [ "$queued" = 64 ] &&
   echo "bcs0 1" > "$dbg/submit" && wait_idle 60 && [ "$(engine_field bcs0 submitted)" = 65 ]; then
	ktap_test_pass "full_queue_ebusy_then_takes_work_again"
else
	ktap_print_msg "accepted $ok, EBUSY $busy, other error '$other', bcs0 submitted $queued; $(cat "$dbg/engines" 2>&1)"
	ktap_test_fail "full_queue_ebusy_then_takes_work_again"
fi
ktap_finished
