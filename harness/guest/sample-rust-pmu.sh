#!/bin/bash
# End-to-end check of samples/rust/rust_pmu.rs with the real perf tool: the
# module loads, its PMU is listed with its sysfs tables, `perf stat` counts
# its ticks, and `rmmod` succeeds while perf still has the event open; perf
# keeps running and exits cleanly. Prints KTAP.
. "$(dirname "$0")/lib.sh"
. "$SRC/tools/testing/selftests/kselftest/ktap_helpers.sh"

pmu=/sys/bus/event_source/devices/rust_pmu
ktap_print_header
ktap_set_plan 4

if modprobe rust_pmu && [ -d "$pmu" ] &&
   [ "$(cat "$pmu/format/event")" = config:0-0 ] &&
   [ "$(cat "$pmu/events/ticks")" = event=0 ] &&
   [ "$(cat "$pmu/events/ticks.unit")" = ms ] && [ -f "$pmu/cpumask" ]; then
	ktap_test_pass "rust_pmu_sysfs (type $(cat "$pmu/type"), cpumask $(cat "$pmu/cpumask"))"
else
	ktap_print_msg "$(ls -R "$pmu" 2>&1 | head -20)"
	ktap_test_fail "rust_pmu_sysfs"
fi

out=/tmp/rust_pmu.csv
intervals() { n=$(grep -c 'rust_pmu/ticks/' "$out" 2>/dev/null); echo "${n:-0}"; }
perf stat -a -x, -I 250 -e rust_pmu/ticks/ -o "$out" &
perf=$!
# perf starts slowly under TCG: unload only once it counts.
if wait_for '[ "$(intervals)" -ge 2 ]' 120; then
	before=$(intervals)
	if rmmod rust_pmu && [ ! -d "$pmu" ] && kill -0 "$perf" 2>/dev/null &&
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
ktap_print_msg "perf exit $rc; ${before:-0} intervals before rmmod; $ticks ticks counted in all"
if [ "$ticks" -gt 0 ]; then
	ktap_test_pass "perf_stat_counts_ticks ($ticks)"
else
	ktap_print_msg "$(head -20 "$out")"
	ktap_test_fail "perf_stat_counts_ticks"
fi
if [ "$rc" = 0 ] || [ "$rc" = 130 ]; then
	ktap_test_pass "perf_exits_cleanly_after_rmmod (exit $rc)"
else
	ktap_test_fail "perf_exits_cleanly_after_rmmod (exit $rc)"
fi
ktap_finished
