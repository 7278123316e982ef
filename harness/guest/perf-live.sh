#!/bin/bash
# The real perf tool and real hot-unplug against i915_pmu_rs (perf_unbind's
# script part, orchestrated by the harness):
#  - `perf stat -I 200` keeps running while the device is unbound and
#    rebound several times; its counts move before each unbind and are
#    frozen after it; it exits cleanly when interrupted;
#  - hot-unplug: the host deletes the edu device through QMP while perf
#    runs, then adds it back; the driver binds again and a new perf counts;
#  - fault injection: failslab fails each fault point of a bind in turn,
#    the registration's included; the bind fails cleanly, nothing is left
#    behind, the next bind works.
# Cycle counts: PERF_LIVE_CYCLES (unbind/rebind), PERF_LIVE_HOTPLUG,
# PERF_LIVE_FAULTS (binds under failslab, spread evenly over all the fault
# points of a bind; "all" for every one). Prints KTAP.
. "$(dirname "$0")/lib.sh"
. "$SRC/tools/testing/selftests/kselftest/ktap_helpers.sh"

CYCLES=${PERF_LIVE_CYCLES:-3}
HOTPLUG=${PERF_LIVE_HOTPLUG:-3}
FAULTS=${PERF_LIVE_FAULTS:-40}

ktap_print_header
ktap_set_plan 5

i915rs_setup

# The jobs pending on all engines; shell builtins only, as in lib.sh.
pending() {
	local name rest s=0
	while read -r name rest; do
		rest=" $rest "
		case $rest in *" pending "*) rest=${rest#*" pending "}; s=$((s + ${rest%% *})) ;; esac
	done < "$dbg/engines"
	echo "$s"
}
bound() { [ -d "$sysfs" ] && [ -w "$dbg/submit" ]; }

# 1. perf across CYCLES unbind/rebind cycles. A long perf, started before
#    the first unbind, holds the first PMU's events: it counts until that
#    unbind, then reports frozen counts through every later cycle. Each cycle
#    also starts a fresh perf on the rebound PMU, which must count the
#    cycle's work and freeze at its unbind, and a perf that reads only
#    after the unbind, the busy time of work cut by it (the final fold) to
#    within the clock readings around submit and unbind.
# stat_start OUT EVENTS: perf stat -I 200 in the background; sets $stat.
# (wait_for evaluates its condition in its own scope: no "$1" in there.)
stat_start() {
	stat_out=$1
	perf stat -a -x, -I 200 -e "$2" -o "$stat_out" &
	stat=$!
	wait_for '[ "$(lines interrupts "$stat_out")" -ge 1 ]' 120
}
ok=1
msg=
long=/tmp/perf-live-long.csv
long_moved=0
long_frozen_from=0
stat_start $long "$pmu/rcs0-busy/,$pmu/interrupts/"
long_pid=$stat
for c in $(seq "$CYCLES"); do
	out=/tmp/perf-live-$c.csv
	stat_start "$out" "$pmu/rcs0-busy/,$pmu/interrupts/"
	n0=$(lines interrupts "$out")
	l0=$(lines interrupts $long)
	echo "rcs0 400" > "$dbg/submit"
	wait_for '[ "$(pending)" = 0 ]' 60
	wait_for '[ "$(lines interrupts "$out")" -ge $((n0 + 3)) ]' 60
	moved=$(csv_sum interrupts "$out" "$n0" "$(lines interrupts "$out")")
	# Work that runs into the unbind (eight jobs of 10000 units, about 1 s
	# each when the machine is idle), counted by a perf stat that reads
	# only once, when its command ends after the unbind: all it counts is
	# the final fold's, and its busy time lies within the clock readings
	# around submit and unbind. (date +%s%N and the driver's clock tick
	# alike; perf enables its events before it runs the command.)
	fin=/tmp/perf-live-final-$c.csv
	rm -f /tmp/perf-live-started /tmp/perf-live-unbound
	perf stat -a -x, -e "$pmu/rcs0-busy/" -o "$fin" -- sh -c 'touch /tmp/perf-live-started
		while [ ! -f /tmp/perf-live-unbound ]; do sleep 0.1; done' &
	fin_pid=$!
	wait_for '[ -f /tmp/perf-live-started ]' 60
	t_sub0=$(date +%s%N)
	echo "rcs0 10000" > "$dbg/submit"
	t_sub1=$(date +%s%N)
	for j in 2 3 4 5 6 7 8; do echo "rcs0 10000" > "$dbg/submit"; done
	sleep 0.5
	left=$(pending)
	t_unb0=$(date +%s%N)
	echo "$dev" > "$drv/unbind"
	t_unb1=$(date +%s%N)
	touch /tmp/perf-live-unbound
	wait $fin_pid
	busy=$(awk -F, '/\/rcs0-busy\// { print $1 }' "$fin")
	case $busy in '' | *[!0-9]*) busy=0 ;; esac
	# The interval in flight at unbind holds the final count; the ones after
	# it must be 0.
	n1=$(($(lines interrupts "$out") + 1))
	l1=$(($(lines interrupts $long) + 1))
	[ "$c" = 1 ] && { long_moved=$(csv_sum interrupts $long "$l0" "$l1"); long_frozen_from=$l1; }
	wait_for '[ "$(lines interrupts "$out")" -ge $((n1 + 3)) ]' 60
	frozen="$(csv_sum interrupts "$out" "$n1" "$(lines interrupts "$out")") $(csv_sum rcs0-busy "$out" "$n1" "$(lines interrupts "$out")")"
	lo=$((t_unb0 - t_sub1)) hi=$((t_unb1 - t_sub0))
	perf_stop $stat || { ok=0; msg="cycle $c: perf exit $rc"; }
	echo "$dev" > "$drv/bind"
	ktap_print_msg "cycle $c: this cycle's perf counted $moved interrupts before unbind, after it: $frozen; the work cut by the unbind: rcs0-busy $busy ns (final fold), clock $lo..$hi ns, $left jobs pending at unbind"
	if [ "$moved" -lt 400 ] || [ "$frozen" != "0 0" ] || ! kill -0 $long_pid 2>/dev/null ||
	   [ "$left" = 0 ] || [ "$busy" -lt "$lo" ] || [ "$busy" -gt "$hi" ] ||
	   ! wait_for bound 30; then
		ok=0
		msg="cycle $c"
	fi
	[ $ok = 1 ] || break
done
long_after=$(csv_sum interrupts $long "$long_frozen_from" "$(lines interrupts $long)")
ktap_print_msg "long perf: $long_moved interrupts before the first unbind, $long_after after it, $(lines interrupts $long) intervals"
perf_stop $long_pid || { ok=0; msg="$msg; long perf exit $rc"; }
if [ $ok = 1 ] && [ "$long_moved" -ge 400 ] && [ "$long_after" = 0 ]; then
	ktap_test_pass "perf_stat_across_${CYCLES}_unbind_rebind_cycles"
else
	ktap_print_msg "$msg; $(tail -4 $long 2>&1 | tr '\n' ' ')"
	ktap_test_fail "perf_stat_across_${CYCLES}_unbind_rebind_cycles"
fi

# 2-3. Surprise removal through QMP while perf runs, and back. Each cycle
#      logs how long its steps took (s since the cycle began).
ok=1
msg=
# In centiseconds of uptime, printed as seconds: shell builtins only.
now_cs() { local up; read -r up _ < /proc/uptime; echo "${up%.*}${up#*.}"; }
since() { local d=$(($(now_cs) - $1)); echo "$((d / 100)).$((d % 100 / 10))"; }
for c in $(seq "$HOTPLUG"); do
	t0=$(now_cs)
	out=/tmp/perf-hotplug.csv
	stat_start "$out" "$pmu/rcs0-busy/,$pmu/interrupts/"
	perf=$stat
	t_perf=$(since "$t0")
	echo "rcs0 3000" > "$dbg/submit"
	resp=$(host_qmp '{"execute":"device_del","arguments":{"id":"edu0"}}')
	if ! echo "$resp" | grep -q '"return": {}' || ! wait_for '[ -z "$(edu_devices)" ]' 30 ||
	   [ -d "$sysfs" ]; then
		ok=0
		msg="cycle $c: unplug: $resp"
	fi
	t_gone=$(since "$t0")
	n=$(lines interrupts "$out")
	wait_for '[ "$(lines interrupts "$out")" -ge $((n + 2)) ]' 60 || { ok=0; msg="cycle $c: perf stopped reporting"; }
	kill -0 $perf 2>/dev/null || { ok=0; msg="cycle $c: perf died"; }
	perf_stop $perf || { ok=0; msg="cycle $c: perf exit $rc"; }
	t_stop=$(since "$t0")
	resp=$(host_qmp '{"execute":"device_add","arguments":{"driver":"edu","id":"edu0","bus":"pmu_rp0"}}')
	if ! echo "$resp" | grep -q '"return": {}' || ! wait_for bound 30; then
		ok=0
		msg="cycle $c: replug: $resp"
	fi
	ktap_print_msg "hot-unplug cycle $c, s: perf counting $t_perf, device gone $t_gone, perf stopped $t_stop, bound again $(since "$t0")"
	[ $ok = 1 ] || break
done
if [ $ok = 1 ]; then
	ktap_test_pass "qmp_surprise_removal_with_perf_running ($HOTPLUG cycles)"
else
	ktap_print_msg "$msg"
	ktap_test_fail "qmp_surprise_removal_with_perf_running"
fi
out=/tmp/perf-replugged.csv
if bound && perf stat -a -x, -o "$out" -e "$pmu/interrupts/" -- \
	sh -c "echo 'rcs0 300' > $dbg/submit; i=0; \
		while [ \$(grep -c 'pending 0' $dbg/engines) != 2 ] && [ \$i -lt 600 ]; do \
			sleep 0.1; i=\$((i + 1)); done" &&
   [ "$(awk -F, '/\/interrupts\// { print $1 }' "$out")" = 300 ]; then
	ktap_test_pass "replugged_device_counts"
else
	ktap_print_msg "$(cat "$out" 2>&1 | tr '\n' ' ')"
	ktap_test_fail "replugged_device_counts"
fi

# 4-5. failslab on probe: the k-th fault point of a bind fails
#      (fail-nth: only the binding task is affected; probe runs in it). A
#      bind that succeeds with fail-nth set far away says how many fault
#      points a bind has; FAULTS binds are spread evenly over all of them,
#      so the registration's are reached too. A failure must leave nothing
#      behind.
fs=/sys/kernel/debug/failslab
if [ ! -d $fs ] || [ ! -e /proc/self/fail-nth ]; then
	ktap_test_skip "probe_fails_cleanly_under_failslab (no failslab)"
	ktap_test_skip "probe_works_after_failslab (no failslab)"
else
	echo "$dev" > "$drv/unbind"
	echo 0 > $fs/verbose
	echo N > $fs/ignore-gfp-wait
	# fail-nth is the task's: each bind runs in a subshell, a forked task
	# of its own (forked, not exec'd: an exec is slow under TCG).
	points=$(echo 1000000 > /proc/self/fail-nth && echo "$dev" > "$drv/bind" &&
		read -r left < /proc/self/fail-nth && echo $((1000000 - left)))
	echo "$dev" > "$drv/unbind"
	case $points in '' | *[!0-9]*) points=0 ;; esac
	[ "$FAULTS" = all ] && FAULTS=$points
	step=$(( (points + FAULTS - 1) / (FAULTS > 0 ? FAULTS : 1) ))
	[ "$step" -ge 1 ] || step=1
	probe_failures() { dmesg | grep -c "probe with driver i915_pmu_rs failed"; }
	p0=$(probe_failures)
	failed=0
	last_failed=0
	bad=
	no_debugfs=
	for k in $(seq 1 "$step" "$points"); do
		if (echo "$k" > /proc/self/fail-nth && echo "$dev" > "$drv/bind") 2>/dev/null; then
			# A failed debugfs file does not fail probe (debugfs is best
			# effort by design); a bound device without its PMU would.
			[ -d "$sysfs" ] || bad="$bad bound-without-pmu@$k"
			[ -w "$dbg/submit" ] || no_debugfs="$no_debugfs $k"
			echo "$dev" > "$drv/unbind"
		else
			failed=$((failed + 1))
			last_failed=$k
			if [ -d "$sysfs" ] || [ -d "$dbg" ] || [ -e "/sys/bus/pci/devices/$dev/driver" ]; then
				bad="$bad leftovers@$k"
			fi
		fi
	done
	echo Y > $fs/ignore-gfp-wait
	probes=$(($(probe_failures) - p0))
	tried=$(( points > 0 ? (points - 1) / step + 1 : 0 ))
	ktap_print_msg "failslab: a bind has $points fault points; of the $tried binds failing k = 1, $((1 + step)), ... ($step apart), $failed failed, $probes of them in probe, the last at k = $last_failed"
	[ -z "$no_debugfs" ] || ktap_print_msg "bound without the debugfs submit file at k =$no_debugfs"
	if [ -z "$bad" ] && [ "$probes" -gt 0 ] && [ "$points" -gt 0 ]; then
		ktap_test_pass "probe_fails_cleanly_under_failslab ($probes probe failures)"
	else
		ktap_print_msg "problems:$bad"
		ktap_test_fail "probe_fails_cleanly_under_failslab"
	fi
	out=/tmp/perf-afterfault.csv
	if echo "$dev" > "$drv/bind" && bound &&
	   perf stat -a -x, -o "$out" -e "$pmu/interrupts/" -- \
		sh -c "echo 'rcs0 50' > $dbg/submit; sleep 2" &&
	   [ "$(awk -F, '/\/interrupts\// { print $1 }' "$out")" = 50 ]; then
		ktap_test_pass "probe_works_after_failslab"
	else
		ktap_print_msg "$(cat "$out" 2>&1 | tr '\n' ' ')"
		ktap_test_fail "probe_works_after_failslab"
	fi
fi
ktap_finished
