#!/bin/bash
# End-to-end check of samples/rust/rust_pmu.rs with the real perf tool: the
# module loads, its PMU is listed with its sysfs tables, `perf stat` counts
# its ticks and its clock, and `rmmod` succeeds while perf still has the
# events open; perf keeps running and exits cleanly; and a registration the
# module forgot (safe Rust) goes with the module, not after it. Prints KTAP.
. "$(dirname "$0")/lib.sh"
. "$SRC/tools/testing/selftests/kselftest/ktap_helpers.sh"

pmu=/sys/bus/event_source/devices/rust_pmu
ktap_print_header
ktap_set_plan 6

if modprobe rust_pmu && [ -d "$pmu" ] &&
   [ "$(cat "$pmu/format/event")" = config:0-0 ] &&
   [ "$(cat "$pmu/events/ticks")" = event=0 ] &&
   [ "$(cat "$pmu/events/ticks.unit")" = ms ] &&
   [ "$(cat "$pmu/events/clock")" = event=1 ] &&
   [ "$(cat "$pmu/events/clock.unit")" = ns ] && [ -f "$pmu/cpumask" ]; then
	ktap_test_pass "rust_pmu_sysfs (type $(cat "$pmu/type"), cpumask $(cat "$pmu/cpumask"))"
else
	ktap_print_msg "$(ls -R "$pmu" 2>&1 | head -20)"
	ktap_test_fail "rust_pmu_sysfs"
fi

out=/tmp/rust_pmu.csv
intervals() { lines ticks "$out"; }
# The timer's expiries, counted by the hrtimer_expire_entry tracepoint
# filtered on the sample's callback (its address in kallsyms): what the
# ticks must be.
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
fn=$(grep ' _R.*RawHrTimerCallback3run.*\[rust_pmu\]$' /proc/kallsyms | cut -d' ' -f1)
t0=$(date +%s%N)
perf stat -a -x, -I 250 -e rust_pmu/ticks/ -e rust_pmu/clock/ \
	-e timer:hrtimer_expire_entry --filter "function == 0x${fn:-0}" -o "$out" &
perf=$!
# perf starts slowly under TCG: unload only once it counts.
if wait_for '[ "$(intervals)" -ge 2 ]' 120; then
	before=$(intervals)
	rmmod rust_pmu; unloaded=$?
	t1=$(date +%s%N)
	if [ "$unloaded" = 0 ] && [ ! -d "$pmu" ] && kill -0 "$perf" 2>/dev/null &&
	   wait_for '[ "$(intervals)" -ge $((before + 2)) ]' 60; then
		ktap_test_pass "rmmod_with_event_open (perf kept reporting)"
	else
		ktap_test_fail "rmmod_with_event_open"
	fi
else
	ktap_print_msg "perf never reported: $(cat "$out" 2>&1 | head -5)"
	ktap_test_fail "rmmod_with_event_open (perf did not start counting)"
fi
perf_stop "$perf"
ticks=$(csv_sum ticks "$out" 0 "$(lines ticks "$out")")
# A tick is one expiry of the timer: in the intervals perf printed before
# rmmod, counted entirely by a live PMU, the ticks are the expiries, give
# or take the ones between perf's reads of the two events. The timer
# expires at most once a millisecond (a late expiry skips the ones it
# missed; one in 1.8 ms in a TCG guest), so the ticks counted
# are at most the milliseconds from perf's start to the end of rmmod.
elapsed=$(( (${t1:-0} - t0) / 1000000 ))
early=$(csv_sum ticks "$out" 0 "${before:-0}")
expiries=$(grep hrtimer_expire_entry "$out" | sed -n "1,${before:-0}p" |
	awk -F, '$2 ~ /^[0-9]+$/ { s += $2 } END { printf "%.0f\n", s }')
diff=$((early - expiries))
ktap_print_msg "perf exit $rc; $ticks ticks in all, $elapsed ms from perf's start to rmmod's end; $early ticks and $expiries expiries of the timer (callback at 0x${fn:-?}) in the ${before:-0} intervals before rmmod"
if [ -n "$fn" ] && [ "$ticks" -gt 0 ] && [ "$ticks" -le $((elapsed + 2)) ] && [ "$expiries" -gt 0 ] &&
   [ "${diff#-}" -le $((expiries / 50 + 20)) ]; then
	ktap_test_pass "perf_stat_counts_ticks ($ticks)"
else
	ktap_print_msg "$(head -20 "$out")"
	ktap_test_fail "perf_stat_counts_ticks"
fi
# The clock counts the nanoseconds its event runs: each interval of perf's
# before rmmod (at least 250 ms each), no more than the time from perf's
# start to the end of rmmod.
clock=$(csv_sum clock "$out" 0 "${before:-0}")
ktap_print_msg "clock: $clock ns in the ${before:-0} intervals before rmmod, $elapsed ms from perf's start to rmmod's end"
if [ "${before:-0}" -gt 0 ] && [ "$clock" -ge $((before * 240000000)) ] &&
   [ "$clock" -le $((elapsed * 1000000 + 2000000)) ]; then
	ktap_test_pass "perf_stat_counts_clock ($clock ns)"
else
	ktap_test_fail "perf_stat_counts_clock"
fi
if [ "$rc" = 0 ] || [ "$rc" = 130 ]; then
	ktap_test_pass "perf_exits_cleanly_after_rmmod (exit $rc)"
else
	ktap_test_fail "perf_exits_cleanly_after_rmmod (exit $rc)"
fi

# A module that forgets its Registration (mem::forget is safe Rust) must
# not leave a PMU whose callbacks, tables and timer are in the freed
# module: kernel::perf unregisters it as the module goes, with a warning,
# and folds the count of the event perf has open; perf keeps running, a
# new open finds no PMU, and the name is free for the next load.
out=/tmp/rust_pmu_forgot.csv
log0=$(dmesg | wc -l)
if modprobe rust_pmu forget_registration=1 && [ -d "$pmu" ]; then
	perf stat -a -x, -I 250 -e rust_pmu/ticks/ -o "$out" &
	perf=$!
	if wait_for '[ "$(lines ticks "$out")" -ge 2 ]' 120; then
		rmmod rust_pmu; unloaded=$?
		before=$(lines ticks "$out")
		# The sample's timer ticks every millisecond: a second is
		# a thousand chances to run in the freed module.
		sleep 1
		if [ "$unloaded" = 0 ] && [ ! -d "$pmu" ] && kill -0 "$perf" 2>/dev/null &&
		   wait_for '[ "$(lines ticks "$out")" -ge $((before + 2)) ]' 60 &&
		   dmesg | tail -n +$((log0 + 1)) | grep -q 'PMU rust_pmu: registration forgotten by module rust_pmu' &&
		   ! perf stat -e rust_pmu/ticks/ true > /dev/null 2>&1 &&
		   perf_stop "$perf" && perf=; then
			ticks=$(csv_sum ticks "$out" 0 "$(lines ticks "$out")")
			if [ "$ticks" -gt 0 ] && modprobe rust_pmu && [ -d "$pmu" ] && rmmod rust_pmu; then
				ktap_test_pass "forgotten_registration_goes_with_module ($ticks ticks)"
			else
				ktap_test_fail "forgotten_registration_goes_with_module (ticks $ticks, or the name stayed taken)"
			fi
		else
			ktap_print_msg "rmmod $unloaded; $(ls -d "$pmu" 2>&1); $(dmesg | tail -5)"
			ktap_test_fail "forgotten_registration_goes_with_module"
		fi
	else
		ktap_test_fail "forgotten_registration_goes_with_module (perf did not start counting)"
	fi
	[ -z "$perf" ] || perf_stop "$perf"
else
	ktap_test_fail "forgotten_registration_goes_with_module (modprobe)"
fi
ktap_finished
