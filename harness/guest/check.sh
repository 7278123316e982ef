#!/bin/sh
# Runs inside the guest for `make check`, `make stress` and `make kcsan`:
# the harness self-test, the kselftests, then a kmemleak scan. Results
# land in $RUN for the host to report: mode, kunit.log (boot dmesg with
# the KUnit KTAP), harness.tap, kselftest.tap, kmemleak.txt, dmesg.txt,
# dmesg.raw and tainted.
#
#   check.sh RUN BUILD [check [a|b] | stress | kcsan | only TARGET[:TEST] |
#                       kunit | script NAME]
#
# kunit (the KUnit suites, no guest script or kselftest: `make kunit`,
# `make mutants`) and script NAME (one script of harness/guest, for
# `make mutants`); `make kselftest` (only) boots without KUnit.
#
# When `make check` boots two guests (GUESTS=2, harness/run.sh), part a
# runs the KUnit suites, the harness and sample scripts and the
# kselftests, part b the driver script and perf-live.sh: about 10 minutes
# each on the 2-CPU CI machine (the timing table of make check).
set -u
. "$(dirname "$0")/lib.sh"

# Where the time goes: "UPTIME NAME" at the end of each phase, for the
# report's timing table; the first is the boot up to this script.
phase() { echo "$(cut -d' ' -f1 /proc/uptime) $*" >> "$RUN/phases"; }
: > "$RUN/phases"
phase boot to this script
mount_debugfs
echo "${3:-check}" > "$RUN/mode"
# Where our modules' code was each time they were loaded, "name address",
# polled until the kmemleak scan: the frames of a leak whose module was
# unloaded before the scan are bare addresses, which the report names with
# these and the symbols of the .ko (harness/report.sh). A load shorter
# than the poll may be missed; its frames stay bare, and still count.
# One bash process with no fork a second (an exec is slow under TCG):
# it naps in read -t on a FIFO nobody writes to, as lib.sh's nap does.
rm -f /tmp/modules.stop /tmp/modules.nap
mkfifo /tmp/modules.nap
bash -c 'exec 8<> /tmp/modules.nap
	rm -f /tmp/modules.nap
	while [ ! -e /tmp/modules.stop ]; do
		for m in i915_pmu_rs rust_pmu; do
			# A section file answers only a read at offset 0. Bash
			# reads a seekable file a buffer at a time, and the line
			# fits; dash would read it a byte at a time.
			read -r a 2>/dev/null < "/sys/module/$m/sections/.text" || continue
			case $a in 0x*[1-9a-f]*) echo "$m $a" ;; esac
		done
		read -r -t 1 -u 8 _
	done' | awk '!seen[$0]++ { print; fflush() }' > "$RUN/modules.txt" &
modules_watch=$!
part=
[ "${3:-check}" = check ] && part=${4:-}
# The guest scripts and kselftest targets this boot runs; the report
# checks that each target gave results. kunit and script run none.
all_scripts="harness-selftest.sh sample-rust-pmu.sh i915-pmu-rs.sh perf-live.sh"
scripts=
case ${3:-check}:$part in
check: | stress:*) scripts=$all_scripts targets=$(cat "$REPO/harness/kselftests") ;;
check:a) scripts="harness-selftest.sh sample-rust-pmu.sh" targets=$(cat "$REPO/harness/kselftests") ;;
check:b) scripts="i915-pmu-rs.sh perf-live.sh" targets= ;;
kcsan:*) scripts=$all_scripts targets=perf_unbind ;;
only:*) targets=${4%%:*} ;;
kunit:* | script:*) targets= ;;
*) log "check.sh: no such mode '${3:-}${part:+ $part}'"; exit 1 ;;
esac
# The driver's KUnit suite runs when its module loads; load it before the
# KUnit results are collected. It binds to the edu device.
modprobe i915_pmu_rs || log "modprobe i915_pmu_rs failed"
phase modprobe i915_pmu_rs, its KUnit suite
dmesg > "$RUN/kunit.log"
log "booted $(uname -r); KUnit ran at boot: $(grep -c '^\[[^]]*\]     ok \|^\[[^]]*\]     not ok ' "$RUN/kunit.log") test cases"

ksft=$BUILD/kselftest/kselftest_install
timeout=
if [ "${3:-}" = stress ]; then
	# `make stress`: the full counts of the unbind tests.
	export PERF_UNBIND_CYCLES=1000 PERF_UNBIND_READER_CYCLES=100 PERF_UNBIND_STRESS=50
	export PERF_LIVE_CYCLES=10 PERF_LIVE_HOTPLUG=100 PERF_LIVE_FAULTS=all
	timeout="-o 3600"
	log "stress profile: $(env | grep '^PERF_' | sort | tr '\n' ' ')"
fi
# Guest scripts that exit non-zero without saying why lose their remaining
# cases: that fails too.
script() {
	bash "$REPO/harness/guest/$1" "$RUN" "$BUILD" >> /tmp/harness.tap 2>&1 ||
		echo "not ok 0 $1 exited with status $?" >> /tmp/harness.tap
	phase "$1"
}
: > /tmp/harness.tap
case_prog= case_name=
if [ "${3:-}" = only ]; then
	# `make kselftest T=target[:test]`: just that, no harness self-test.
	# A test that is no program of the target is a kselftest_harness
	# case of one of them (`PROGRAM -l` lists it): that program runs with
	# -t CASE alone.
	case "$4" in
	*:*) sel="-t $4"
		if ! grep -qxF "$4" "$ksft/kselftest-list.txt"; then
			case_name=${4#*:}
			for p in $(sed -n "s/^${4%%:*}://p" "$ksft/kselftest-list.txt"); do
				# -l: "FIXTURE VARIANT TEST" lines; the TEST column only.
				"$ksft/${4%%:*}/$p" -l 2>&1 | awk -v c="$case_name" '$NF == c { f = 1 } END { exit !f }' &&
					case_prog=$p && break
			done
			[ -n "$case_prog" ] || { log "no program of ${4%%:*} has a test or case $case_name"; case_prog=none; }
		fi ;;
	*) sel="-c $4" ;;
	esac
	: > "$RUN/harness.tap"
elif [ "${3:-}" = kunit ]; then
	: > "$RUN/harness.tap"
elif [ "${3:-}" = script ]; then
	log "$4"
	script "$4"
	cp /tmp/harness.tap "$RUN/harness.tap"
	sed -n 's/^\(not ok\|ok\) /  &/p' "$RUN/harness.tap" | sed 's/^/pmu-rs-guest: /'
else
	for sc in $scripts; do
		case $sc in
		harness-selftest.sh) log "harness self-test: edu device and QMP hot-plug" ;;
		sample-rust-pmu.sh) log "sample: rust_pmu with perf stat and rmmod" ;;
		i915-pmu-rs.sh) log "driver: i915_pmu_rs on edu with perf stat, unbind, rebind and rmmod" ;;
		perf-live.sh) log "perf across unbind cycles, QMP surprise removal and failslab on probe" ;;
		esac
		script "$sc"
	done
	# perf_unbind skips, rather than fails, without an edu device bound to
	# i915_pmu_rs: the tests above must leave one bound.
	case " $(echo $targets) " in *" perf_unbind "*)
		r="not ok"
		for d in $(edu_devices); do
			[ -e "/sys/bus/pci/drivers/i915_pmu_rs/$d" ] && r=ok
		done
		echo "$r 0 i915_pmu_rs_bound_for_the_kselftests" >> /tmp/harness.tap
	esac
	cp /tmp/harness.tap "$RUN/harness.tap"
	sed -n 's/^\(not ok\|ok\) /  &/p' "$RUN/harness.tap" | sed 's/^/pmu-rs-guest: /'
	sel=
	for t in $targets; do sel="$sel -c $t"; done
	[ -z "$targets" ] || log "kselftests: $(echo $targets)"
fi
if [ -n "$targets" ]; then
	# Upstream's kselftests that need a hardware PMU or looser timeouts are
	# skipped with a TAP SKIP line, those of the targets this boot runs.
	# An entry TARGET:PROGRAM skips the program; TARGET:PROGRAM:CASE only
	# that kselftest_harness case of it (the runner passes the program
	# KSELFTEST_<PROGRAM>_ARGS; -T excludes a case), the program's other
	# cases run.
	skip() {
		for t in $(grep -v '^#' "$REPO/harness/guest/$1"); do
			case " $(echo $targets) " in *" ${t%%:*} "*) ;; *) continue ;; esac
			case $t in
			*:*:*)
				p=${t#*:} p=${p%%:*}
				v=KSELFTEST_$(echo "$p" | tr 'a-z.-' 'A-Z__')_ARGS
				eval "export $v=\"\${$v:+\$$v }-T ${t##*:}\"" ;;
			*) sel="$sel -S $t" ;;
			esac
			echo "ok 0 $t # SKIP $2" >> "$RUN/harness.tap"
			log "  skip $t: $2"
		done
	}
	[ -d /sys/bus/event_source/devices/cpu ] ||
		skip needs-hw-pmu "no hardware PMU in this guest (TCG)"
	grep -q 'QEMU TCG CPU' /proc/cpuinfo &&
		skip too-slow-for-tcg "its built-in timeouts are too tight under TCG with KASAN"
	echo "$targets" > "$RUN/kselftest.expected"
	# The kselftest runner reopens /dev/stdout: give it a pipe, not a file.
	# Each program's end goes to the phases.
	phase kselftest setup
	# (The shell, not awk: mawk reads a pipe a block at a time, so its
	# clock readings came late, by minutes.)
	if [ -n "$case_name" ]; then
		# One case, framed as the runner frames a program's output.
		run() {
			echo "TAP version 13"
			echo "1..1"
			echo "# selftests: $targets: $case_prog -t $case_name"
			r=0
			if [ "$case_prog" = none ]; then
				echo "no program of $targets has a test or case $case_name" > /tmp/case.out
				r=1
			else
				(cd "$ksft/$targets" && "./$case_prog" -t "$case_name") > /tmp/case.out 2>&1 || r=$?
			fi
			sed 's/^/# /' /tmp/case.out
			# The case ran: a result line of it, not a plan of none.
			grep -q '^\(not \)\{0,1\}ok [0-9]' /tmp/case.out || [ "$r" != 0 ] || r=no-case-ran
			if [ "$r" = 0 ]; then echo "ok 1 selftests: $targets: $case_prog"
			else echo "not ok 1 selftests: $targets: $case_prog # exit=$r"; fi
		}
	else
		run() { (cd "$ksft" && ./run_kselftest.sh $timeout $sel); }
	fi
	run 2>&1 | while IFS= read -r l || [ -n "$l" ]; do
		printf '%s\n' "$l"
		case $l in "ok "*" selftests: "* | "not ok "*" selftests: "*)
			read -r up _ < /proc/uptime
			l=${l#*selftests: }
			echo "$up kselftest ${l%% \# *}" >> "$RUN/phases" ;;
		esac
	done > /tmp/kselftest.tap
	cp /tmp/kselftest.tap "$RUN/kselftest.tap"
	grep '^\(not \)\?ok [0-9]* selftests:' "$RUN/kselftest.tap" | sed 's/^/pmu-rs-guest:   /'
fi

touch /tmp/modules.stop
wait $modules_watch
log "kmemleak scan"
if [ -w /sys/kernel/debug/kmemleak ]; then
	# kmemleak.done says that both scans ran; the report fails without it.
	echo scan > /sys/kernel/debug/kmemleak &&
		sleep 5 &&
		echo scan > /sys/kernel/debug/kmemleak &&
		cat /sys/kernel/debug/kmemleak > "$RUN/kmemleak.txt" &&
		touch "$RUN/kmemleak.done"
else
	echo "kmemleak unavailable" > "$RUN/kmemleak.txt"
fi

phase kmemleak scan
dmesg > "$RUN/dmesg.txt"
# The same with each message's facility and level ("<N>"), for the
# report's check of messages of level err and worse.
dmesg -r > "$RUN/dmesg.raw"
cat /proc/sys/kernel/tainted > "$RUN/tainted"
touch "$RUN/guest.done"
log "guest done"
