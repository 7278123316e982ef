#!/bin/sh
# Self-test of the verdict (harness/report.sh), run by `make lint`: a clean
# synthetic run directory passes, and each kind of trouble a run can hide
# fails it with a message that says what. Seconds, on the host. TABLE=1
# prints each kind with the report's line for it (README.md's table).
set -eu
. "$(dirname "$0")/env.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pmu-rs-report.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# A clean run: two KTAP streams (the built-in suites, then the driver's at
# modprobe), a harness case, both kselftest targets, a clean log, taint
# only TAINT_TEST and a kmemleak scan that found nothing.
base=$tmp/base
mkdir -p "$base"
echo check > "$base/mode"
cat > "$base/kunit.log" <<'LOG'
[    0.000000] Linux version 7.3.4 (root@vm) #1 SMP PREEMPT_DYNAMIC
[    1.000000] KTAP version 1
[    1.000001] 1..1
[    1.000002]     KTAP version 1
[    1.000003]     # Subtest: rust_perf
[    1.000004]     # module: kernel
[    1.000005]     1..2
[    1.000006]     ok 1 registration_works
[    1.000007]     ok 2 unregistration_folds_final_counts
[    1.000008] # rust_perf: pass:2 fail:0 skip:0 total:2
[    1.000009] # Totals: pass:2 fail:0 skip:0 total:2
[    1.000010] ok 1 rust_perf
[    2.000000] KTAP version 1
[    2.000001] 1..1
[    2.000002]     KTAP version 1
[    2.000003]     # Subtest: i915_pmu_rs
[    2.000004]     # module: i915_pmu_rs
[    2.000005]     1..1
[    2.000006]     ok 1 config_encoding
[    2.000007] # i915_pmu_rs: pass:1 fail:0 skip:0 total:1
[    2.000008] # Totals: pass:1 fail:0 skip:0 total:1
[    2.000009] ok 1 i915_pmu_rs
LOG
cp "$base/kunit.log" "$base/dmesg.txt"
# What the detectors say at every boot is no report.
printf '%s\n' '[    2.279718] DMA-API: preallocated 65536 debug entries' \
	'[    2.280511] DMA-API: debugging enabled by kernel config' >> "$base/dmesg.txt"
echo '[    3.000000] i915_pmu_rs 0000:01:00.0: PMU i915rs_0000_01_00.0 registered, type 11' >> "$base/dmesg.txt"
# The log with levels (dmesg -r): all info, and one error that
# harness/kernel-errors lists (failslab's failed probes).
sed 's/^/<6>/' "$base/dmesg.txt" > "$base/dmesg.raw"
echo '<3>[    4.000000] i915_pmu_rs 0000:01:00.0: probe with driver i915_pmu_rs failed with error -12' >> "$base/dmesg.raw"
printf 'TAP version 13\n1..1\nok 1 perf_stat_counts_work\n' > "$base/harness.tap"
cat > "$base/kselftest.tap" <<'TAP'
TAP version 13
1..2
# selftests: perf_events: mmap
# TAP version 13
# 1..1
# ok 1 perf_mmap.ring
ok 1 selftests: perf_events: mmap
# selftests: perf_unbind: perf_unbind
# TAP version 13
# 1..1
# ok 1 unbind.final_counts
ok 2 selftests: perf_unbind: perf_unbind
TAP
printf 'perf_events\nperf_unbind\n' > "$base/kselftest.expected"
# The console: the kernel log and the guest's lines, to the power-off.
{ cat "$base/dmesg.txt"; echo 'pmu-rs-guest: guest done'
  echo '[  489.952550] ACPI: PM: Preparing to enter system sleep state S5'
  echo '[  489.992136] reboot: Power down'; } > "$base/console.log"
echo 262144 > "$base/tainted"
: > "$base/kmemleak.txt"
touch "$base/kmemleak.done"

fail=0
n=0
# case NAME EXPECTED-MESSAGE COMMAND: run COMMAND in a copy of the clean
# run ($d), then the report must fail and say EXPECTED-MESSAGE.
case_() {
	name=$1 want=$2
	shift 2
	d=$tmp/$n
	n=$((n + 1))
	cp -a "$base" "$d"
	(cd "$d" && eval "$*")
	if sh "$REPO/harness/report.sh" "$d" > "$d.out" 2>&1; then
		echo "  FAIL  report self-test: $name: the report passed"; fail=1
	elif ! grep -q -F -- "$want" "$d.out"; then
		echo "  FAIL  report self-test: $name: no \"$want\" in the report:"
		sed 's/^/        /' "$d.out"; fail=1
	elif [ -n "${TABLE:-}" ]; then
		# TABLE=1: README.md's table, the line the report gave.
		# A splat's line, then the first line of the report it quotes.
		echo "| $name | \`$(awk -v w="$want" 'f { if (/^ +\| /) { sub(/^ +/, ""); print } exit }
			index($0, w) { sub(/^ +/, ""); print; f = 1 }' "$d.out" |
			paste -s -d ' ' | cut -c 1-160 | sed 's/|/\\|/g')\` |"
	fi
}

# clean NAME DIR: the report of run directory DIR must pass.
clean() {
	if ! sh "$REPO/harness/report.sh" "$2" > "$2.out" 2>&1; then
		echo "  FAIL  report self-test: $1 fails:"; sed 's/^/        /' "$2.out"; fail=1
	fi
}

clean "the clean run" "$base"
mkdir "$tmp/skip" && cp -a "$base/." "$tmp/skip/" &&
	echo 'ok 0 perf_events:remove_on_exec # SKIP no hardware PMU in this guest (TCG)' >> "$tmp/skip/harness.tap"
clean "a run with a skip that README.md lists" "$tmp/skip"
case_ "a WARNING" "FAIL   dmesg: 1 splat lines" \
	"echo '[    4.000000] WARNING: kernel/events/core.c:13100 at perf_pmu_unregister+0x1/0x2' >> dmesg.txt"
case_ "a soft lockup" "FAIL   dmesg: 1 splat lines" \
	"echo '[   64.000000] watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [perf:412]' >> dmesg.txt"
case_ "a UBSAN report" "FAIL   dmesg: 1 splat lines" \
	"echo '[    4.000000] UBSAN: shift-out-of-bounds in drivers/gpu/drm/i915/pmu_rs/gt.rs:120:9' >> dmesg.txt"
case_ "a debug-objects report" "FAIL   dmesg: 1 splat lines" \
	"echo '[    4.000000] ODEBUG: free active (active state 0) object: ffff888004a1c0b8 object type: hrtimer hint: perf_mux_hrtimer_handler+0x0/0x40' >> dmesg.txt"
case_ "a KASAN report" "FAIL   dmesg: 1 splat lines" \
	"echo '[    4.000000] BUG: KASAN: slab-use-after-free in perf_event_read+0x1/0x2' >> dmesg.txt"
case_ "a lockdep report" "FAIL   dmesg: 1 splat lines" \
	"echo '[    4.000000] WARNING: possible circular locking dependency detected' >> dmesg.txt"
case_ "an Oops" "FAIL   dmesg: 1 splat lines" \
	"echo '[    4.000000] Oops: general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1] SMP KASAN' >> dmesg.txt"
case_ "an expedited RCU stall" "FAIL   dmesg" \
	"echo '[    4.000000] rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-.... }' >> dmesg.txt"
case_ "a hung task" "FAIL   dmesg" \
	"echo '[  125.000000] INFO: task kworker/0:1:35 blocked for more than 120 seconds.' >> dmesg.txt"
case_ "a DMA-API report" "FAIL   dmesg" \
	"echo '[    4.000000] DMA-API: pci 0000:01:00.0: device driver has pending DMA allocations while released from device [count=1]' >> dmesg.txt"
case_ "a corrupted list" "FAIL   dmesg" \
	"echo '[    4.000000] list_del corruption. prev->next should be ffff888004a1c0b8' >> dmesg.txt"
case_ "an error of ours" "FAIL   log levels: ours, at level 3: i915_pmu_rs 0000:01:00.0: not a live edu device (EIO)" \
	"echo '<3>[    4.100000] i915_pmu_rs 0000:01:00.0: not a live edu device (EIO)' >> dmesg.raw"
case_ "a critical message of ours" "FAIL   log levels: ours, at level 2" \
	"echo '<2>[    4.100000] i915_pmu_rs 0000:01:00.0: not a live edu device (ENODEV)' >> dmesg.raw"
case_ "an error nobody expects" "FAIL   log levels: level 3 and not in harness/kernel-errors: pci 0000:01:00.0: BAR 0: failed to assign" \
	"echo '<3>[    4.100000] pci 0000:01:00.0: BAR 0: failed to assign' >> dmesg.raw"
case_ "an emergency" "FAIL   log levels: level 0 and not in harness/kernel-errors" \
	"echo '<0>[    4.100000] Kernel panic - not syncing: x' >> dmesg.raw"
case_ "a log without levels" "FAIL   log levels: no dmesg.raw" \
	"rm dmesg.raw"
case_ "a splat after the guest took the log" "FAIL   console: 1 splat lines" \
	"sed -i '/Power down/i [  489.990000] BUG: KASAN: slab-use-after-free in rust_pmu_exit+0x1/0x2' console.log"
# A real hung-task report, from the quiesce-waits-forever mutant's console
# (harness/mutants/quiesce-waits-forever.console), printed after the guest
# took its log.
grep -v '^#' "$REPO/harness/mutants/quiesce-waits-forever.console" > "$tmp/hung"
case_ "a hung task in a mutant's console" "| [  492.510893] INFO: task bash:74 blocked for more than 122 seconds." \
	"sed -i '/Power down/e cat $tmp/hung' console.log"
case_ "a guest that did not power off" "FAIL   console: no power-off at its end" \
	"sed -i '/Power down/d' console.log"
case_ "a wrapped ring buffer" "the log does not start at the boot" \
	"sed -i '/Linux version/d' dmesg.txt"
case_ "kmemleak unavailable" "FAIL   kmemleak: no scan (kmemleak unavailable)" \
	"echo 'kmemleak unavailable' > kmemleak.txt; rm kmemleak.done"
case_ "a kmemleak scan that did not finish" "FAIL   kmemleak: no scan" \
	"rm kmemleak.done"
case_ "a leak of ours" "FAIL   kmemleak: 1 lines of ours" \
	"printf 'unreferenced object 0xffff888004a1c000 (size 64):\n  [<ffffffffc0001234>] i915_pmu_rs_probe+0x34/0x200 [i915_pmu_rs]\n' > kmemleak.txt"
case_ "a leak of an unloaded module of ours" "FAIL   kmemleak: 1 lines of ours" \
	"printf 'unreferenced object 0xffff888004a1c000 (size 64):\n  backtrace (crc 1a2b3c4d):\n    [<ffffffff81234567>] __kmalloc_noprof+0x1/0x2\n    [<ffffffffc0001234>] 0xffffffffc0001234\n' > kmemleak.txt"
# A module of ours unloaded before the scan: its bare frame is named from
# where the guest saw it load and the symbols of its .ko.
mkdir -p "$tmp/ko"
echo 'void rust_pmu_leaky_init(void) { } void rust_pmu_leaky_alloc(void) { }' |
	clang-19 -c -x c -O0 -o "$tmp/ko/rust_pmu.ko" -
v=$(llvm-nm-19 "$tmp/ko/rust_pmu.ko" | awk '$3 == "rust_pmu_leaky_alloc" { print $1 }')
addr=$(printf '0xffffffffc03%05x' $((0x$v + 4)))
export KO_DIRS=$tmp/ko
case_ "a leak named by an unloaded module's symbols" \
	"| kmemleak: $addr is rust_pmu's rust_pmu_leaky_alloc+0x4/" \
	"echo 'rust_pmu 0xffffffffc0300000' > modules.txt; printf 'unreferenced object 0xffff888004a1c000 (size 64):\n    [<%s>] %s\n' ${addr#0x} $addr > kmemleak.txt"
case_ "a KUnit case that failed" "FAIL   rust_perf.unregistration_folds_final_counts" \
	"sed -i 's/    ok 2 unregistration/    not ok 2 unregistration/' kunit.log"
case_ "a KTAP stream cut short" "FAIL   rust_perf.(missing)" \
	"sed -i '/ok 2 unregistration/,\$d' kunit.log"
case_ "a suite that did not run" "suite i915_pmu_rs did not run" \
	"sed -i '/^\[    2\./d' kunit.log"
# kunit.filter_glob (make kunit, make mutants) leaves out the suites it
# does not select, and only those.
mkdir "$tmp/glob" && cp -a "$base/." "$tmp/glob/" &&
	sed -i '1a [    0.000001] Kernel command line: console=ttyS0 kunit.filter_glob=rust_perf' "$tmp/glob/kunit.log" &&
	sed -i '/^\[    2\./d' "$tmp/glob/kunit.log"
clean "a run with kunit.filter_glob=rust_perf" "$tmp/glob"
case_ "a suite that kunit.filter_glob selects and did not run" "suite rust_perf did not run" \
	"sed -i '1a [    0.000001] Kernel command line: kunit.filter_glob=rust_perf.x kunit.filter_glob=rust_perf' kunit.log; sed -i '/^\[    1\.0/d' kunit.log"
case_ "a guest script that died" "FAIL   perf-live.sh exited with status 1" \
	"echo 'not ok 0 perf-live.sh exited with status 1' >> harness.tap"
case_ "a guest script's stream cut short" "FAIL   tap: harness.tap: stream 1 (perf_stat_counts_work): plan 1..2, 1 results" \
	"sed -i 's/^1\.\.1\$/1..2/' harness.tap"
case_ "a guest script's stream with no plan" "FAIL   tap: harness.tap: stream 1 (perf_stat_counts_work) has no plan" \
	"sed -i '/^1\.\./d' harness.tap"
case_ "a guest script's result outside any stream" "FAIL   tap: harness.tap: a result outside any stream: ok 1 x" \
	"printf 'ok 1 x\n' > harness.tap"
case_ "a kselftest program cut short" "FAIL   tap: kselftest.tap: perf_unbind: perf_unbind: plan 1..2, 1 results" \
	"sed -i '/selftests: perf_unbind/,\$ s/^# 1\.\.1\$/# 1..2/' kselftest.tap"
case_ "a kselftest program with no plan" "FAIL   tap: kselftest.tap: perf_events: mmap has no plan" \
	"sed -i '0,/^# 1\.\.1\$/{/^# 1\.\.1\$/d}' kselftest.tap"
case_ "a kselftest runner cut short" "FAIL   tap: kselftest.tap: the runner planned 3 programs and gave 2 results" \
	"sed -i 's/^1\.\.2\$/1..3/' kselftest.tap"
case_ "a kselftest target with no result" "perf_unbind ran and gave no result" \
	"sed -i '/perf_unbind/d' kselftest.tap"
case_ "a perf_unbind case that skipped" "FAIL   perf_unbind: perf_unbind: unbind.final_counts (skipped in the test guest: no edu" \
	"sed -i 's/^# ok 1 unbind.final_counts\$/# ok 1 unbind.final_counts # SKIP no edu device bound/' kselftest.tap"
case_ "a skip that README.md does not list" "FAIL   perf-live.sh: failslab # SKIP no failslab (a skip that README.md does not list under Skips)" \
	"echo 'ok 2 perf-live.sh: failslab # SKIP no failslab' >> harness.tap; sed -i 's/^1\.\.1\$/1..2/' harness.tap"
case_ "a kselftest case that skipped, not listed" "FAIL   perf_events: mmap: perf_mmap.ring (a skip that README.md does not list under Skips)" \
	"sed -i 's/^# ok 1 perf_mmap.ring\$/# ok 1 perf_mmap.ring # SKIP no ring/' kselftest.tap"
case_ "a KUnit case that skipped, not listed" "FAIL   rust_perf.registration_works (a skip that README.md does not list under Skips)" \
	"sed -i 's/    ok 1 registration_works/    ok 1 registration_works # SKIP no reason/' kunit.log"
case_ "a taint" "FAIL   taint: 262656" \
	"echo 262656 > tainted"
mkdir "$tmp/twin" && cp -a "$base/." "$tmp/twin/" && echo 266240 > "$tmp/twin/tainted" &&
	echo '[   50.346794] pmu_c_twin: loading out-of-tree module taints kernel.' >> "$tmp/twin/dmesg.txt"
clean "a run that loaded the C twin, out of tree" "$tmp/twin"
case_ "another module from out of tree" "FAIL   taint: 266240" \
	"echo 266240 > tainted; echo '[   50.346794] oot_mod: loading out-of-tree module taints kernel.' >> dmesg.txt"
# Two guests side by side (GUESTS=2): make check runs the kselftests in
# guest a only; a failed case in either guest fails the run, and so does a
# run where neither ran them.
two='for g in a b; do mkdir $g; cp -a "$base/." $g/; done'
mkdir "$tmp/two" && (cd "$tmp/two" && eval "$two" && rm b/kselftest.tap b/kselftest.expected)
clean "the clean run of two guests" "$tmp/two"
case_ "two guests, neither of which ran the kselftests" "FAIL   kselftests: neither guest ran them" \
	"$two; rm a/kselftest.tap a/kselftest.expected b/kselftest.tap b/kselftest.expected"
case_ "a kselftest case that failed in guest a of two" "FAIL   perf_events: mmap: perf_mmap.ring" \
	"$two; sed -i 's/^# ok 1 perf_mmap.ring/# not ok 1 perf_mmap.ring/' a/kselftest.tap"
case_ "a kselftest case that failed in guest b of two" "FAIL   perf_unbind: perf_unbind: unbind.final_counts" \
	"$two; sed -i 's/^# ok 1 unbind.final_counts/# not ok 1 unbind.final_counts/' b/kselftest.tap"
[ "$fail" = 0 ] && echo "  OK    report self-test ($n ways for a run to fail, and a clean run)"
exit "$fail"
