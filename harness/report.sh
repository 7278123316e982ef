#!/bin/sh
# Host side of `make check`: read what the guest left in $RUN, print a
# per-test table and end with "N passed, N failed[, N skipped]".
# Exits non-zero on any failure.
#
#   harness/report.sh RUN_DIR
set -eu
. "$(dirname "$0")/env.sh"
RUN=${1:-$RUNS/latest}

# Kernel messages that fail the run.
SPLAT='BUG:|WARNING:|Oops|general protection fault|Kernel panic|KASAN:|UBSAN:|kernel BUG|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|rcu_sched self-detected|detected stall|invalid wait context|Call Trace:|unexpected IRQ trap|nobody cared|No irq handler for vector'
# Taint flags the run may have: TAINT_TEST (bit 18), set by KUnit itself.
TAINT_OK=262144

{
# KUnit: suites are top-level KTAP subtests, cases their direct children.
echo "KUnit (KTAP from the boot log)"
sed -e 's/^\[[^]]*\] \{0,1\}//' "$RUN/kunit.log" | awk '
	/^    # Subtest: / { suite = $3; pass = fail = skip = 0; next }
	/^    (not )?ok [0-9]+ / {
		name = $0; sub(/^    (not )?ok [0-9]+ /, "", name); sub(/ #.*/, "", name)
		if ($0 ~ /# SKIP/) { skip++; print "R skip " suite "." name }
		else if ($1 == "not") { fail++; print "R fail " suite "." name }
		else pass++
		next
	}
	/^(not )?ok [0-9]+ / {
		name = $0; sub(/^(not )?ok [0-9]+ /, "", name); sub(/ #.*/, "", name)
		if (pass + fail + skip == 0) {
			# a suite that ran no case (failed init, or skipped whole)
			if ($0 ~ /# SKIP/) skip = 1; else if ($1 == "not") fail = 1; else pass = 1
		}
		printf "S %-44s %5d %5d %5d\n", name, pass, fail, skip
		tp += pass; tf += fail; ts += skip
		pass = fail = skip = 0
	}
	END { printf "T %d %d %d\n", tp, tf, ts }'

echo "harness self-test"
awk '/^(not )?ok [0-9]+ / {
	name = $0; sub(/^(not )?ok [0-9]+ /, "", name)
	if ($0 ~ /# SKIP/) r = "skip"; else r = ($1 == "not") ? "fail" : "pass"
	print "C " r " " name }' "$RUN/harness.tap" 2>/dev/null

echo "kselftests"
awk '
	/^# (not )?ok [0-9]+ / {
		name = $0; sub(/^# (not )?ok [0-9]+ /, "", name)
		if ($0 ~ /# SKIP/) r = "skip"; else { r = ($2 == "not") ? "fail" : "pass"; if (r == "fail") nf++ }
		sub(/ # .*/, "", name)
		print "C " r " " prog ": " name; n++
		next
	}
	/^# selftests: / { prog = $3 " " $4; n = nf = 0; next }
	/^(not )?ok [0-9]+ selftests: / {
		name = $0; sub(/^.*selftests: /, "", name)
		if (n == 0 || ($1 == "not" && nf == 0)) {
			# no per-case results, or the program failed on its own
			if ($0 ~ /# SKIP/) r = "skip"; else r = ($1 == "not") ? "fail" : "pass"
			print "C " r " " name " (program)"
		}
	}' "$RUN/kselftest.tap" 2>/dev/null

echo "splat check"
if [ ! -s "$RUN/kunit.log" ] || ! grep -q 'KTAP version' "$RUN/kunit.log"; then
	echo "C fail kunit: no KTAP output in the boot log"
fi
# Our suites must have run: a suite that silently did not build or load fails.
for suite in rust_perf i915_pmu_rs; do
	grep -q "# Subtest: $suite\$" "$RUN/kunit.log" ||
		echo "C fail kunit: suite $suite did not run"
done
# KCSAN reports (`make kcsan`) are judged on their own, by whose code they
# name (harness/kcsan.awk); the splat check sees the rest of the log.
awk -v ours="$OURS" -v rest="$RUN/dmesg.rest" -f "$REPO/harness/kcsan.awk" "$RUN/dmesg.txt"
if [ "$(cat "$RUN/mode" 2>/dev/null)" = kcsan ]; then
	# The detector ran, and it saw the Rust code: rustc's ThreadSanitizer
	# instrumentation (patches/0018) in the kernel crate, the driver and
	# the sample.
	k=$(grep -c 'kcsan: selftest: [0-9]*/[0-9]* tests passed' "$RUN/dmesg.txt" || true)
	[ "$k" = 1 ] && r=pass || r=fail
	echo "C $r kcsan: enabled, $(grep -o 'selftest: [0-9]*/[0-9]* tests passed' "$RUN/dmesg.txt" || echo 'no selftest result')"
	for o in rust/kernel.o drivers/gpu/drm/i915/pmu_rs/i915_pmu_rs.ko samples/rust/rust_pmu.ko; do
		c=$(nm -u "$BUILD/$o" 2>/dev/null | grep -c ' __tsan_\(read\|write\)' || true)
		[ "$c" -gt 0 ] && r=pass || r=fail
		echo "C $r kcsan: $o instrumented ($c kinds of __tsan_read/write call)"
	done
fi
splats=$(grep -E "$SPLAT" "$RUN/dmesg.rest" || true)
if [ -z "$splats" ]; then
	echo "C pass dmesg: no BUG/WARNING/KASAN/lockdep/Oops"
else
	echo "C fail dmesg: $(echo "$splats" | wc -l) splat lines; the first report:"
	# The first report as the kernel printed it: its headline, what it
	# found and the call trace (KASAN names the allocating and freeing
	# stacks further down; dmesg.txt has it all).
	grep -E -m 1 -A 29 "$SPLAT" "$RUN/dmesg.rest" | sed 's/^/M /'
fi
taint=$(cat "$RUN/tainted")
if [ $((taint & ~TAINT_OK)) = 0 ]; then
	echo "C pass taint: $taint (only TAINT_TEST allowed)"
else
	echo "C fail taint: $taint (only TAINT_TEST=$TAINT_OK allowed)"
fi
leaks=$(grep -c 'unreferenced object' "$RUN/kmemleak.txt" || true)
ours=$(grep -cE "$OURS" "$RUN/kmemleak.txt" || true)
if [ "$ours" = 0 ]; then
	echo "C pass kmemleak: nothing of ours ($leaks reports in all)"
else
	echo "C fail kmemleak: $ours lines of ours in $leaks reports"
fi
} > "$RUN/report.raw"
set +e
awk -v run="$RUN" '
	/^S / { printf "  %-46s %5s %5s %5s\n", $2, $3, $4, $5; next }
	/^R / { printf "    %-6s %s\n", toupper($2), $3; next }
	/^T / { p += $2; f += $3; s += $4; next }
	/^C / { r = $2; sub(/^C [a-z]+ /, ""); printf "  %-6s %s\n", toupper(r), $0
		if (r == "pass") p++; else if (r == "fail") f++; else if (r != "note") s++; next }
	/^M / { sub(/^M /, ""); print "         | " $0; next }
	/^[a-zA-Z]/ { print "== " $0; if ($1 == "KUnit") printf "  %-46s %5s %5s %5s\n", "suite", "pass", "fail", "skip" }
	END {
		print "details: " run
		printf "%d passed, %d failed", p, f; if (s) printf ", %d skipped", s; print ""
		exit f > 0 || p == 0
	}' "$RUN/report.raw" > "$RUN/report.txt"
rc=$?
cat "$RUN/report.txt"
exit $rc
