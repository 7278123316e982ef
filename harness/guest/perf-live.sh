#!/bin/bash
# The real perf tool and real hot-unplug against i915_pmu_rs (perf_unbind's
# script part, orchestrated by the harness):
#  - `perf stat -I 200` keeps running while the device is unbound and
#    rebound several times; its counts move before each unbind and are
#    frozen after it; it exits cleanly when interrupted;
#  - hot-unplug: the host deletes the edu device through QMP while perf
#    runs, then adds it back; the driver binds again and a new perf counts;
#  - the device stops answering (its command register off) with work in
#    flight and perf reading: the unbind is prompt, the counts stay true;
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
ktap_set_plan 6

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

# 4. The device stops answering, as a device that falls off the bus does:
#    with a bcs0 DMA unit in flight and rcs0 work running beside it, memory
#    decoding and bus mastering go off in its command register, so that
#    MMIO reads answer 0 (QEMU's answer; all-ones on real hardware, which
#    KUnit's irq_status_of_a_gone_device_completes_nothing covers) and no
#    interrupt can come, while perf stat -I reads every event. Then unbind.
#    The unbind returns within 10 s (quiesce() waits 0.5 s for a unit that
#    will never end), perf runs on, no interval counts more time than it
#    lasted or an interrupt that did not come, bcs0 counts busy from the
#    submission to the unbind (the final fold, as the stuck unit never
#    ends), nothing is counted after the unbind, and once the command
#    register is back the device binds and counts again.
dead_ok=1
dead_msg=
dead_fail() { dead_ok=0; dead_msg="$dead_msg; $*"; }
cmd0=$(setpci -s "$dev" COMMAND)
out=/tmp/perf-dead.csv
evs=
for e in "$sysfs"/events/*; do
	case ${e##*/} in *.*) ;; *) evs="$evs,$pmu/${e##*/}/" ;; esac
done
stat_start "$out" "${evs#,}"
perf=$stat
irq0=$(engine_field gt interrupts)
t_sub0=$(date +%s%N)
# 60 DMA units: 6 s of QEMU virtual time, still running once the slow
# exec of setpci under TCG has switched the device off.
echo "bcs0 60" > "$dbg/submit"
t_sub1=$(date +%s%N)
echo "rcs0 1000" > "$dbg/submit"
setpci -s "$dev" COMMAND=0x0:0x6
irq_off=$(engine_field gt interrupts)
sleep 1.5
irq_later=$(engine_field gt interrupts)
[ "$irq_later" = "$irq_off" ] || dead_fail "interrupts went on with the device off: $irq_off then $irq_later"
[ "$(engine_field bcs0 pending)" = 1 ] || dead_fail "bcs0 pending $(engine_field bcs0 pending), not 1"
t_unb0=$(date +%s%N)
(echo "$dev" > "$drv/unbind") &
unbind=$!
if wait_for '! kill -0 $unbind 2>/dev/null' 10; then
	t_unb1=$(date +%s%N)
	wait $unbind || dead_fail "unbind failed"
else
	t_unb1=$(date +%s%N)
	dead_fail "unbind still running after 10 s"
fi
n1=$(($(lines interrupts "$out") + 1))
wait_for '[ "$(lines interrupts "$out")" -ge $((n1 + 3)) ]' 60 || dead_fail "perf stopped reporting"
kill -0 "$perf" 2>/dev/null || dead_fail "perf died"
perf_stop "$perf" || dead_fail "perf exit $rc"
n2=$(lines interrupts "$out")
# Up to each interval (perf's first column: seconds since it started), no
# time counter above that time and 100 ms of slack (a read of perf's can
# come tens of ms off its interval's timestamp under TCG), no interval
# with more interrupts than the device raised in all.
over=$(awk -F, -v irqs=$((irq_off - irq0)) '
	$4 ~ /\/interrupts\// { if ($2 + 0 > irqs) printf " %s", $0; next }
	$3 == "ns" { sum[$4] += $2
		if (sum[$4] > ($1 + 0.1) * 1e9) printf " %s (%.0f ns by then)", $0, sum[$4] }' "$out")
[ -z "$over" ] || dead_fail "time counters over the time that passed:$over"
irqs=$(csv_sum interrupts "$out" 0 "$n2")
[ "$irqs" = $((irq_off - irq0)) ] || dead_fail "perf counted $irqs interrupts, the device raised $((irq_off - irq0))"
bcs=$(csv_sum bcs0-busy "$out" 0 "$n2")
lo=$((t_unb0 - t_sub1)) hi=$((t_unb1 - t_sub0))
[ "$bcs" -ge "$lo" ] && [ "$bcs" -le "$hi" ] || dead_fail "bcs0-busy $bcs ns, not within $lo..$hi"
frozen=
for e in rcs0-busy bcs0-busy interrupts software-gt-awake-time; do
	frozen="$frozen $(csv_sum "$e" "$out" "$n1" "$n2")"
done
[ "$frozen" = " 0 0 0 0" ] || dead_fail "counted after the unbind:$frozen"
ktap_print_msg "device off with a unit in flight: $((irq_off - irq0)) interrupts before, none after; unbind took $(((t_unb1 - t_unb0) / 1000000)) ms; bcs0-busy $bcs ns within $lo..$hi; after the unbind:$frozen"
setpci -s "$dev" COMMAND="$cmd0"
out=/tmp/perf-alive.csv
if echo "$dev" > "$drv/bind" && bound &&
   perf stat -a -x, -o "$out" -e "$pmu/interrupts/" -- \
	sh -c "echo 'rcs0 50' > $dbg/submit; sleep 2" &&
   [ "$(awk -F, '/\/interrupts\// { print $1 }' "$out")" = 50 ]; then
	:
else
	dead_fail "the device did not count again once it answered: $(tr '\n' ' ' < "$out")"
fi
if [ $dead_ok = 1 ]; then
	ktap_test_pass "device_stops_answering_with_perf_running"
else
	ktap_print_msg "${dead_msg#; }"
	ktap_test_fail "device_stops_answering_with_perf_running"
fi

# 5-6. failslab on probe: the k-th fault point of a bind fails
#      (fail-nth: only the binding task is affected; probe runs in it). A
#      bind that succeeds with fail-nth set far away says how many fault
#      points a bind has, and a kprobe on should_failslab() (which
#      counts fail-nth) with its stack says where each one is: in
#      perf_pmu_register(), in the abstraction's registration
#      (kernel::perf::pmu: Registration::new()'s pmu_name(),
#      PmuObject::new() and watch()), or elsewhere in probe. FAULTS binds
#      are spread evenly over all of them; then binds fail the first point
#      of each of those two places, so both are failed in every run. A
#      return probe with its stack shows where each injected failure
#      landed. A failure must leave nothing behind.
fs=/sys/kernel/debug/failslab
tr=/sys/kernel/tracing
mountpoint -q $tr || mount -t tracefs nodev $tr 2>/dev/null
if [ ! -d $fs ] || [ ! -e /proc/self/fail-nth ] || [ ! -w $tr/kprobe_events ]; then
	ktap_test_skip "probe_fails_cleanly_under_failslab (no failslab or kprobe events)"
	ktap_test_skip "probe_works_after_failslab (no failslab or kprobe events)"
else
	echo "$dev" > "$drv/unbind"
	bad=
	echo 0 > $fs/verbose
	echo N > $fs/ignore-gfp-wait
	kp=$tr/events/kprobes
	# should_fail_ex(), which counts fail-nth, is notrace; should_failslab()
	# calls it for every slab allocation that is not __GFP_NOFAIL (none in
	# a bind) once ignore-gfp-wait is off.
	echo 'p:pmu_rs_fault_point should_failslab gfp=%si:x32 s=%di:x64' >> $tr/kprobe_events
	echo 'r:pmu_rs_fault_failed should_failslab ret=$retval:s32' >> $tr/kprobe_events
	echo 'p:pmu_rs_fault_armed proc_fail_nth_write' >> $tr/kprobe_events
	# The stacktrace trigger records a stack after each hit that meets
	# its condition, whether or not the event itself is recorded (it runs
	# after the event's commit or discard): the condition is the filter.
	echo 'ret != 0' > $kp/pmu_rs_fault_failed/filter
	echo 'stacktrace if ret != 0' > $kp/pmu_rs_fault_failed/trigger
	echo > $tr/trace
	# where [armed]: "N PLACE" for each stack of the trace in task context
	# (one per kprobe hit, innermost frame first; the flags' third
	# character marks an interrupt); with "armed", only those between the
	# first pmu_rs_fault_armed event and the second. PLACE is the first of perf_pmu_register or
	# kernel::perf::pmu (v0-mangled 4perf3pmu) on the stack, else "probe".
	where() {
		awk -v counting=$([ "${1:-}" = armed ] && echo 0 || echo 1) '
			function out() { if (n && counting && !irq) print n, w; irq = 1 }
			/ pmu_rs_fault_armed: / { if (marks++) out(); else n = 0
				irq = 1; counting = marks == 1; next }
			/<stack trace>/ { out(); irq = 0
				if (match($0, /\] [^ ]+ /))
					irq = substr($0, RSTART + 4, 1) ~ /[hHszZ]/
				if (!irq) n++
				w = "probe"; f = 0; next }
			/^ => / && n && !f {
				if ($2 ~ /^perf_pmu_register(\+|$)/) { w = "perf_pmu_register"; f = 1 }
				else if ($2 ~ /6kernel4perf3pmu/) { w = "Registration::new"; f = 1 } }
			END { out() }' $tr/trace
	}
	# fail-nth is the task's: each bind runs in a subshell, a forked task
	# of its own (forked, not exec'd: an exec is slow under TCG). The
	# sizing bind's task is the only one traced, from its write of
	# fail-nth (the pmu_rs_fault_armed event; an fd opened before, so no
	# allocation of an open comes between) to the write that clears it
	# after the bind (the subshell's exit allocates too).
	points=$(exec 8< /proc/self/fail-nth 9> /proc/self/fail-nth &&
		echo "common_pid == $BASHPID" > $kp/pmu_rs_fault_armed/filter &&
		echo 1 > $kp/pmu_rs_fault_armed/enable &&
		echo "common_pid == $BASHPID" > $kp/pmu_rs_fault_point/filter &&
		echo 1 > $kp/pmu_rs_fault_point/enable &&
		echo "stacktrace if common_pid == $BASHPID" > $kp/pmu_rs_fault_point/trigger &&
		echo 1000000 >&9 && echo "$dev" > "$drv/bind" &&
		read -r left <&8 && echo 0 >&9 && echo $((1000000 - left)))
	echo '!stacktrace' > $kp/pmu_rs_fault_point/trigger
	echo 0 > $kp/pmu_rs_fault_point/enable
	echo 0 > $kp/pmu_rs_fault_armed/enable
	cp $tr/trace "$RUN/failslab-points.trace"
	where armed > /tmp/fault-points
	traced=$(wc -l < /tmp/fault-points)
	echo "$dev" > "$drv/unbind"
	case $points in '' | *[!0-9]*) points=0 ;; esac
	places=$(awk '{ n[$2]++ } END { for (p in n) printf " %s %d", p, n[p] }' /tmp/fault-points)
	[ "$FAULTS" = all ] && FAULTS=$points
	step=$(( (points + FAULTS - 1) / (FAULTS > 0 ? FAULTS : 1) ))
	[ "$step" -ge 1 ] || step=1
	probe_failures() { dmesg | grep -c "probe with driver i915_pmu_rs failed"; }
	p0=$(probe_failures)
	failed=0
	tried=0
	last_failed=0
	no_debugfs=
	# fail_bind K: a bind whose K-th fault point fails; checks what it
	# leaves, appends where the failure landed to /tmp/fault-injected.
	: > /tmp/fault-injected
	fail_bind() {
		tried=$((tried + 1))
		echo > $tr/trace
		if (echo "$1" > /proc/self/fail-nth && echo "$dev" > "$drv/bind") 2>/dev/null; then
			# A failed debugfs file does not fail probe (debugfs is best
			# effort by design); a bound device without its PMU would.
			[ -d "$sysfs" ] || bad="$bad bound-without-pmu@$1"
			[ -w "$dbg/submit" ] || no_debugfs="$no_debugfs $1"
			echo "$dev" > "$drv/unbind"
		else
			failed=$((failed + 1))
			last_failed=$1
			if [ -d "$sysfs" ] || [ -d "$dbg" ] || [ -e "/sys/bus/pci/devices/$dev/driver" ]; then
				bad="$bad leftovers@$1"
			fi
		fi
		cat $tr/trace >> "$RUN/failslab-injected.trace"
		injected=$(where | awk '{ print $2 }')
		echo "$1 ${injected:-none}" >> /tmp/fault-injected
	}
	: > "$RUN/failslab-injected.trace"
	echo 1 > $kp/pmu_rs_fault_failed/enable
	for k in $(seq 1 "$step" "$points"); do
		fail_bind "$k"
	done
	# Then, for each of the two places that no bind so far failed, its
	# first point: a bind's fault points are not quite the same from one
	# bind to the next (a new type number, kmemleak's own allocations, a
	# vector that grows once), so the K that the sizing bind places there
	# may land a few points off: the neighbours are tried, up to 10 away,
	# until one lands there.
	for p in perf_pmu_register Registration::new; do
		k0=$(awk -v p="$p" '$2 == p { print $1; exit }' /tmp/fault-points)
		[ -n "$k0" ] || continue
		grep -q " $p\$" /tmp/fault-injected && continue
		for d in 0 1 -1 2 -2 3 -3 4 -4 5 -5 6 -6 7 -7 8 -8 9 -9 10 -10; do
			[ $((k0 + d)) -ge 1 ] || continue
			fail_bind $((k0 + d))
			[ "$injected" != "$p" ] || break
		done
	done
	echo 0 > $kp/pmu_rs_fault_failed/enable
	landed=$(awk '{ n[$2]++ } END { for (p in n) printf " %s %d", p, n[p] }' /tmp/fault-injected)
	# A trigger goes by its command; the events go once no trigger holds them.
	echo '!stacktrace' > $kp/pmu_rs_fault_failed/trigger
	for e in pmu_rs_fault_point pmu_rs_fault_failed pmu_rs_fault_armed; do
		echo "-:$e" >> $tr/kprobe_events || bad="$bad kprobe-$e-left"
	done
	echo > $tr/trace
	echo Y > $fs/ignore-gfp-wait
	probes=$(($(probe_failures) - p0))
	ktap_print_msg "failslab: a bind has $points fault points ($traced traced:$places); $tried binds failing k = 1, $((1 + step)), ... ($step apart), then $(tail -n +$(( (points - 1) / step + 2 )) /tmp/fault-injected | tr '\n' ' ' | sed 's/ $//;s/ \([0-9]\)/, \1/g'); $failed failed, $probes of them in probe, the last at k = $last_failed; injected failures landed in:$landed"
	[ -z "$no_debugfs" ] || ktap_print_msg "bound without the debugfs submit file at k =$no_debugfs"
	# A stack for every point fail-nth counted, and none for a point it
	# did not: else the k aimed at a place would land elsewhere (and the
	# stacks of the injected failures would show it).
	[ "$traced" = "$points" ] || bad="$bad traced-$traced-of-$points-points"
	for p in perf_pmu_register Registration::new; do
		grep -q " $p\$" /tmp/fault-points || bad="$bad no-fault-point-in-$p"
		grep -q " $p\$" /tmp/fault-injected || bad="$bad no-failure-injected-in-$p"
	done
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
