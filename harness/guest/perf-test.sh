#!/bin/bash
# Runs inside the guest for `make perf-test` (harness/perf-test.sh): the
# perf tool's own test suite, `perf test` of Debian's linux-perf, each
# test on its own under a time limit, with our PMUs registered (rust_pmu,
# and i915_pmu_rs bound to the edu device) so that the tests that walk
# every PMU meet them too. Writes to $RUN:
#   list.txt            `perf test list`
#   perf-test.txt       perf's output of every test
#   results.tsv         "ID<TAB>RESULT<TAB>SECONDS<TAB>NAME" per test and
#                       subtest (ID 6 or 6.1; RESULT as perf prints it,
#                       or "Timeout")
#   perf-test-ID.log    `perf test -v ID` of a test that failed or skipped
#                       (its first 60 s for one that timed out)
#                       (perf's own skip reasons are one fixed string per
#                       test, "permissions" for any failed open: the log
#                       says what it was)
#   dmesg.txt, tainted, guest.done
#
#   perf-test.sh RUN BUILD [ID...]
# With IDs, only those tests, in that order (one may come more than once).
set -u
. "$(dirname "$0")/lib.sh"

limit=${PERF_TEST_TIMEOUT:-300}
mount_debugfs
modprobe rust_pmu || log "modprobe rust_pmu failed"
i915rs_setup
log "kernel $(uname -r), $(perf version); PMUs: $(ls /sys/bus/event_source/devices | tr '\n' ' ')"
# The tests write perf.data and friends into the working directory.
mkdir -p /tmp/perf-test && cd /tmp/perf-test || exit 1

perf test list > "$RUN/list.txt" 2>&1
shift 2
ids=${*:-$(sed -n 's/^ *\([0-9][0-9]*\): .*/\1/p' "$RUN/list.txt")}
log "perf test: $(echo "$ids" | wc -w) tests, at most $limit s each"
: > "$RUN/perf-test.txt"
: > "$RUN/results.tsv"
for id in $ids; do
	name=$(sed -n "s/^ *$id: //p" "$RUN/list.txt")
	start=$(date +%s)
	timeout -k 10 "$limit" perf test "$id" > /tmp/perf-test.out 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	cat /tmp/perf-test.out >> "$RUN/perf-test.txt"
	# " 6: name   :" heads subtests; " 6.1: name   : Ok" and " 8: name   : Ok"
	# are results.
	sed -n 's/^ *\([0-9][0-9.]*\): \(.*[^ ]\) *: \(..*\)$/\1\t\3\t'"$secs"'\t\2/p' \
		/tmp/perf-test.out > /tmp/perf-test.res
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		printf '%s\tTimeout\t%s\t%s\n' "$id" "$secs" "$name" >> /tmp/perf-test.res
	elif [ ! -s /tmp/perf-test.res ]; then
		printf '%s\tno result (exit status %s)\t%s\t%s\n' "$id" "$rc" "$secs" "$name" >> /tmp/perf-test.res
	fi
	cat /tmp/perf-test.res >> "$RUN/results.tsv"
	# A test that timed out would time out again: 60 s of its verbose
	# output show what it was doing.
	if cut -f2 /tmp/perf-test.res | grep -qv '^Ok$'; then
		t=$limit
		grep -q '	Timeout	' /tmp/perf-test.res && t=60
		timeout -k 10 "$t" perf test -v "$id" > "$RUN/perf-test-$id.log" 2>&1
	fi
	log "$(awk -F '\t' '{ printf "%s%s %s", n++ ? ", " : "", $1, $2 }' /tmp/perf-test.res) ($secs s): $name"
done

dmesg > "$RUN/dmesg.txt"
cat /proc/sys/kernel/tainted > "$RUN/tainted"
log "done: $(cut -f2 "$RUN/results.tsv" | sed 's/ .*//' | sort | uniq -c | tr '\n' ' ')"
touch "$RUN/guest.done"
