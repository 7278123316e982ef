#!/bin/sh
# Host side of `make check`: read what the guest left in $RUN, print a
# per-test table and end with "N passed, N failed[, N skipped]".
# Exits non-zero on any failure.
#
#   harness/report.sh RUN_DIR
set -eu
. "$(dirname "$0")/env.sh"
RUN=${1:-$RUNS/latest}

# Taint flags the run may have: TAINT_TEST (bit 18), set by KUnit itself;
# and TAINT_OOT_MODULE (bit 12) when the only module built out of tree that
# was loaded is perf_unbind's C twin (bench_modules/pmu_c_twin.ko, loaded
# by its mux_interval_write_then_unbind_c_twin case).
TAINT_OK=262144
TAINT_OOT_MODULE=4096

# The bare module addresses of $1/kmemleak.txt (frames of a module unloaded
# before the scan), named with the .text addresses the guest saw our
# modules load at ($1/modules.txt, harness/guest/check.sh: "name address"
# per load) and the symbols of the module's .ko under $KO_DIRS (the build).
# Module space is the top 2 GiB, so the low 32 bits give the offsets.
KO_DIRS=${KO_DIRS:-$BUILD/drivers $BUILD/samples}
name_frames() {
	[ -s "$1/modules.txt" ] || return 0
	grep -oE '\] 0xffffffff[a-f][0-9a-f]{7}$' "$1/kmemleak.txt" | sort -u | while read -r _ a; do
		lo=$((0x${a#0xffffffff}))
		best= off=
		while read -r m t; do
			o=$((lo - 0x${t#0xffffffff}))
			if [ "$o" -ge 0 ] && { [ -z "$off" ] || [ "$o" -lt "$off" ]; }; then
				best=$m off=$o
			fi
		done < "$1/modules.txt"
		[ -n "$best" ] || { echo "kmemleak: $a: in none of our modules' loads"; continue; }
		# shellcheck disable=SC2086 # KO_DIRS is a list
		ko=$(find $KO_DIRS -name "$best.ko" 2>/dev/null | head -n 1)
		sym=$([ -n "$ko" ] && llvm-nm-19 -C --defined-only --format=sysv "$ko" 2>/dev/null |
			awk -F'|' -v off="$off" '
			function hex(s,  i, n) {
				s = tolower(s); gsub(/ /, "", s)
				for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
				return n
			}
			$4 ~ /FUNC/ && $7 ~ /^ *\.text *$/ {
				v = hex($2); z = hex($5); gsub(/ +$/, "", $1)
				if (v <= off && (best == "" || v > bv)) { best = $1; bv = v; bz = z }
			} END { if (best != "" && off < bv + bz) printf "%s+0x%x/0x%x", best, off - bv, bz }')
		if [ -n "$sym" ]; then
			echo "kmemleak: $a is $best's $sym (unloaded before the scan)"
		else
			echo "kmemleak: $a: in no function of our modules' loads (nearest: $best .text+$(printf '0x%x' "$off"))"
		fi
	done
}

# The err-level (or worse) prints of our kernel code as EREs, one a line:
# the format strings of dev_/pr_ err, crit, alert and emerg in the kernel
# crate's perf module, the driver, the sample, the C twin and the lines the
# series adds ({...} and %x conversions match anything). A kernel message
# of ours at that level fails the run, listed as expected or not.
our_errors() {
	{ cat "$REPO"/rust/kernel/perf/*.rs "$REPO"/drivers/gpu/drm/i915/pmu_rs/*.rs \
		"$REPO"/samples/rust/*.rs "$REPO"/tools/testing/selftests/perf_unbind/bench_modules/*.c
	  sed -n 's/^+//p' "$REPO"/patches/*.patch; } 2>/dev/null |
	perl -0777 -ne 'while (/\b(?:dev|pr)_(?:err|crit|alert|emerg)(?:_ratelimited|_once)?!?\s*\([^"]*?"((?:[^"\\]|\\.)*)"/g) { print "$1\n" }
		while (/printk\s*\(\s*KERN_(?:ERR|CRIT|ALERT|EMERG)\s*"((?:[^"\\]|\\.)*)"/g) { print "$1\n" }' |
	sed 's/\\n$//' | sort -u | perl -ne 'chomp;
		for (split /(\{[^}]*\}|%[-+ #0-9.]*[a-zA-Z]+)/) {
			if (/^[{%]/) { print ".*"; next }
			for my $c (split //) { print $c =~ /\w/ ? $c : $c =~ /[\\^]/ ? "\\$c" : "[$c]" }
		}
		print "\n"'
}

# What one guest left in its run directory $1, as report lines. $2 names the
# guest when `make check` booted two (harness/run.sh): "a" ran KUnit, the
# harness and sample scripts and the kselftests, "b" the driver script and
# perf-live.sh (harness/guest/check.sh).
guest_raw() {
R=$1
part=${2:-}
on=${part:+ (guest $part)}
at=${part:+ $part}
mode=$(cat "$R/mode" 2>/dev/null || true)
# KUnit: the kernel's own parser, tools/testing/kunit/kunit.py, on each KTAP
# stream of the boot log (the built-in suites at boot, then one per module
# loaded later, e.g. i915_pmu_rs); its JSON gives the suites' cases.
# Guest b of make check, make kselftest and make mutants' script runs boot
# without KUnit (kunit.enable=0).
kunit_ran=1
[ "$part" != b ] && [ "$mode" != only ] && [ "$mode" != script ] || kunit_ran=0
# kunit.filter_glob=GLOB (`make kunit`, `make mutants`): the last on the
# command line, as the kernel takes it (the kernel prints a long command
# line over several "Kernel command line:" lines).
glob=$(sed -n 's/^.*Kernel command line: //p' "$R/kunit.log" 2>/dev/null |
	tr ' ' '\n' | sed -n 's/^kunit\.filter_glob=//p' | tail -n 1)
if [ "$kunit_ran" = 1 ]; then
echo "KUnit (kunit.py parse of the boot log)$on"
rm -f "$R"/kunit.[0-9]*.ktap "$R"/kunit.[0-9]*.json
awk -v d="$R/kunit" '/^(\[[^]]*\] )?KTAP version/ { n++ } n { print > (d "." n ".ktap") }' \
	"$R/kunit.log" 2>/dev/null || true
for k in "$R"/kunit.[0-9]*.ktap; do
	[ -f "$k" ] || continue
	# A filter that selects no built-in suite leaves an empty plan.
	if [ -n "$glob" ] && sed -n 2p "$k" | grep -q '^\(\[[^]]*\] \)\?1\.\.0$'; then
		rm -f "$k"
		continue
	fi
	j=${k%.ktap}.json
	if ! python3 "$SRC/tools/testing/kunit/kunit.py" parse --json="$j" "$k" > "${k%.ktap}.txt" 2>&1 &&
		! jq -e '[.. | objects | select(.status? == "FAIL" or .status? == "ERROR")] | length > 0' "$j" >/dev/null 2>&1; then
		# kunit.py failed the stream, yet no case failed: a crash or a
		# stream cut short. Its summary says which.
		echo "C fail kunit: $(basename "$k"): kunit.py parse: $(grep -v '^\[[^]]*\] =*$' "${k%.ktap}.txt" | tail -n 1 | sed 's/^\[[^]]*\] //')"
	fi
	[ -s "$j" ] || continue
	jq -r '
		# kunit.py names a case or suite that the stream lacks "".
		def named: if .name == "" then .name = "(missing)" else . end;
		def leaves(p): (.test_cases[] | named | [p + .name, .status]),
			(.sub_groups[] | leaves(p + .name + "."));
		(.sub_groups[] | .name as $s | [leaves("")] as $l |
			($l[] | select(.[1] != "PASS") |
				"R " + (if .[1] == "SKIP" then "skip" else "fail" end) + " " + $s + "." + .[0]),
			"S \($s) \([$l[] | select(.[1] == "PASS")] | length) \([$l[] | select(.[1] != "PASS" and .[1] != "SKIP")] | length) \([$l[] | select(.[1] == "SKIP")] | length)"),
		# a suite that ran no case (failed init, or skipped whole)
		(.test_cases[] | named | "S \(.name) " +
			(if .status == "PASS" then "1 0 0" elif .status == "SKIP" then "0 0 1" else "0 1 0" end))' "$j"
done | awk '{ print } /^S / { p += $3; f += $4; s += $5 } END { printf "T %d %d %d\n", p, f, s }'
fi

echo "harness self-test$on"
awk '/^(not )?ok [0-9]+ / {
	name = $0; sub(/^(not )?ok [0-9]+ /, "", name)
	if ($0 ~ /# SKIP/) r = "skip"; else r = ($1 == "not") ? "fail" : "pass"
	print "C " r " " name }' "$R/harness.tap" 2>/dev/null

# Every TAP stream's plan against the results it gave (kunit.py checks
# KUnit's): the guest scripts' (harness.tap, a stream per script, from its
# "TAP version" line to the next; "ok 0"/"not ok 0" lines are check.sh's
# own, outside the streams) and, in kselftest.tap, the runner's (a result
# per program) and each program's (its lines under "# ", up to the runner's
# result for it; a program that did not run, or that skipped without TAP,
# has none). A stream cut short, one with no plan, or results where no
# stream is, fail.
tap_plans() {
	awk -v what="$2" '
	function close_stream() {
		if (!open) return
		open = 0
		if (plan == "") { printf "C fail tap: %s: %s has no plan\n", what, sname; bad++ }
		else if (plan != n) { printf "C fail tap: %s: %s: plan 1..%d, %d results\n", what, sname, plan, n; bad++ }
		else streams++
	}
	/^(K)?TAP version/ { close_stream(); open = 1; plan = ""; n = 0; sname = "stream " ++ns; next }
	/^1\.\.[0-9]+/ && open && plan == "" { split($1, f, "."); plan = f[3] + 0; next }
	/^(not )?ok [0-9]+/ {
		num = ($1 == "not") ? $3 : $2
		if (num == 0) next
		if (!open) { printf "C fail tap: %s: a result outside any stream: %s\n", what, $0; bad++; next }
		if (n++ == 0) { c = $0; sub(/^(not )?ok [0-9]+ /, "", c); sub(/ #.*/, "", c); sname = sname " (" c ")" }
	}
	END {
		close_stream()
		if (!bad) printf "C pass tap: %s: %d streams, each as long as its plan\n", what, streams
	}' "$1"
}

# kselftest.tap: the runner's plan against its results (one per program),
# and each program's plan against its cases (its lines under "# ").
kselftest_plans() {
	awk '
	/^TAP version/ { next }
	/^1\.\.[0-9]+/ && plan == "" { split($1, f, "."); plan = f[3] + 0; next }
	/^# selftests: / { prog = $0; sub(/^# selftests: /, "", prog); inprog = 1; popen = 0; next }
	inprog && /^# TAP version/ && !popen { popen = 1; pplan = ""; pn = 0; next }
	inprog && popen && /^# 1\.\.[0-9]+/ && pplan == "" { split($2, f, "."); pplan = f[3] + 0; next }
	inprog && popen && /^# (not )?ok [0-9]+ / { pn++; next }
	/^(not )?ok [0-9]+ selftests: / {
		top++
		if (popen && pplan == "") { printf "C fail tap: kselftest.tap: %s has no plan\n", prog; bad++ }
		else if (popen && pplan != pn) { printf "C fail tap: kselftest.tap: %s: plan 1..%d, %d results\n", prog, pplan, pn; bad++ }
		else if (popen) streams++
		inprog = popen = 0
	}
	END {
		if (plan == "") { print "C fail tap: kselftest.tap: the runner printed no plan"; bad++ }
		else if (plan != top) { printf "C fail tap: kselftest.tap: the runner planned %d programs and gave %d results\n", plan, top; bad++ }
		if (inprog) { printf "C fail tap: kselftest.tap: %s gave no result\n", prog; bad++ }
		if (!bad) printf "C pass tap: kselftest.tap: %d programs, %d streams, each as long as its plan\n", top, streams
	}' "$1"
}

# Of two guests, those that ran kselftests or have their results.
ks=1
[ -z "$part" ] || [ -f "$R/kselftest.expected" ] || [ -f "$R/kselftest.tap" ] || ks=0
[ "$ks" = 0 ] || echo "kselftests$on"
[ "$ks" = 0 ] || awk '
	/^# (not )?ok [0-9]+ / {
		name = $0; sub(/^# (not )?ok [0-9]+ /, "", name)
		if ($0 ~ /# SKIP/) r = "skip"; else { r = ($2 == "not") ? "fail" : "pass"; if (r == "fail") nf++ }
		why = ""
		# The test guest has all that perf_unbind needs (root, the driver
		# bound, BPF): a case of it that skips lost its setup, to an
		# earlier case that broke the device, say.
		if (r == "skip" && prog == "perf_unbind: perf_unbind") {
			why = $0; sub(/^.*# SKIP */, "", why); why = " (skipped in the test guest: " why ")"
			r = "fail"; nf++
		}
		sub(/ # .*/, "", name)
		print "C " r " " prog ": " name why; n++
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
	}' "$R/kselftest.tap" 2>/dev/null || true  # none in make mutants' kunit and script runs

echo "TAP plans$on"
[ ! -s "$R/harness.tap" ] || tap_plans "$R/harness.tap" harness.tap
[ "$ks" = 0 ] || [ ! -f "$R/kselftest.tap" ] || kselftest_plans "$R/kselftest.tap"

echo "splat check$on"
if [ "$kunit_ran" = 1 ] && { [ ! -s "$R/kunit.log" ] || ! grep -q 'KTAP version' "$R/kunit.log"; }; then
	echo "C fail kunit: no KTAP output in the boot log"
fi
# Our suites must have run: a suite that silently did not build or load
# fails. Under kunit.filter_glob=GLOB only those GLOB selects.
[ "$kunit_ran" = 0 ] || for suite in rust_perf i915_pmu_rs; do
	# shellcheck disable=SC2254 # $glob is a pattern
	case $suite in ${glob%%.*}) ;; *) [ -z "$glob" ] || continue ;; esac
	grep -q "# Subtest: $suite\$" "$R/kunit.log" ||
		echo "C fail kunit: suite $suite did not run"
done
# KCSAN reports (`make kcsan`) are judged on their own, by whose code they
# name (harness/kcsan.awk); the splat check sees the rest of the log.
awk -v ours="$OURS" -v rest="$R/dmesg.rest" -f "$REPO/harness/kcsan.awk" "$R/dmesg.txt"
if [ "$mode" = kcsan ]; then
	# The detector ran, and it saw the Rust code: rustc's ThreadSanitizer
	# instrumentation (patches/0017) in the kernel crate, the driver and
	# the sample.
	k=$(grep -c 'kcsan: selftest: [0-9]*/[0-9]* tests passed' "$R/dmesg.txt" || true)
	[ "$k" = 1 ] && r=pass || r=fail
	echo "C $r kcsan: enabled, $(grep -o 'selftest: [0-9]*/[0-9]* tests passed' "$R/dmesg.txt" || echo 'no selftest result')"
	for o in rust/kernel.o drivers/gpu/drm/i915/pmu_rs/i915_pmu_rs.ko samples/rust/rust_pmu.ko; do
		c=$(nm -u "$BUILD/$o" 2>/dev/null | grep -c ' __tsan_\(read\|write\)' || true)
		[ "$c" -gt 0 ] && r=pass || r=fail
		echo "C $r kcsan: $o instrumented ($c kinds of __tsan_read/write call)"
	done
fi
splats=$(grep -E "$SPLAT" "$R/dmesg.rest" || true)
if [ -z "$splats" ]; then
	echo "C pass dmesg: no BUG/WARNING/KASAN/lockdep/Oops"
else
	echo "C fail dmesg: $(echo "$splats" | wc -l) splat lines; the first report:"
	# The first report as the kernel printed it: its headline, what it
	# found and the call trace (KASAN names the allocating and freeing
	# stacks further down; dmesg.txt has it all).
	grep -E -m 1 -A 29 "$SPLAT" "$R/dmesg.rest" | sed 's/^/M /'
fi
# The whole console, from the boot to the power-off (harness/boot.sh's
# console.log): what the kernel printed after the guest took dmesg.txt (a
# module's exit, a late timer, a KASAN report at shutdown) too. KCSAN
# reports are judged above, on dmesg.txt. It must end with the power-off.
if [ -f "$R/console.log" ]; then
	awk -v ours="$OURS" -v rest="$R/console.rest" -f "$REPO/harness/kcsan.awk" "$R/console.log" > /dev/null
	late=$(grep -E "$SPLAT" "$R/console.rest" || true)
	lines=$(wc -l < "$R/console.log")
	if [ -n "$late" ]; then
		echo "C fail console: $(echo "$late" | wc -l) splat lines in the $lines lines from boot to power-off; the first report:"
		grep -E -m 1 -A 29 "$SPLAT" "$R/console.rest" | sed 's/^/M /'
	elif ! tail -n 5 "$R/console.log" | grep -q 'reboot: Power down'; then
		echo "C fail console: no power-off at its end; its last line: $(tail -n 1 "$R/console.log")"
	else
		echo "C pass console: $lines lines from boot to power-off, no splat"
	fi
fi
# Kernel messages of level err or worse, from the guest's `dmesg -r`
# ($R/dmesg.raw: "<N>[time] text", N = facility * 8 + level; the kernel's
# have facility 0, what user space writes to /dev/kmsg has another). One
# of ours (our_errors) fails; any other fails unless harness/kernel-errors
# lists it, with the reason it is expected.
if [ ! -s "$R/dmesg.raw" ]; then
	echo "C fail log levels: no dmesg.raw (the guest's dmesg -r)"
else
	our_errors > "$R/errors.ours"
	awk -v ours="$R/errors.ours" -v listf="$REPO/harness/kernel-errors" '
	BEGIN {
		while ((getline l < ours) > 0) if (l != "") our[++no] = l
		while ((getline l < listf) > 0) {
			if (l ~ /^#/ || l == "") continue
			i = index(l, " ## ")
			if (!i) { printf "C fail log levels: harness/kernel-errors: no \" ## reason\" in: %s\n", l; bad++; continue }
			re[++ne] = substr(l, 1, i - 1); why[ne] = substr(l, i + 4)
		}
	}
	{ n++ }
	match($0, /^<[0-9]+>/) {
		pri = substr($0, 2, RLENGTH - 2) + 0
		if (pri >= 8 || pri % 8 > 3) next
		e++
		t = substr($0, RLENGTH + 1); sub(/^\[[^]]*\] */, "", t)
		for (i = 1; i <= no; i++) if (t ~ our[i]) break
		if (i <= no) { printf "C fail log levels: ours, at level %d: %s\n", pri, t; bad++; next }
		for (i = 1; i <= ne; i++) if (t ~ re[i]) break
		if (i <= ne) { seen[i]++; next }
		printf "C fail log levels: level %d and not in harness/kernel-errors: %s\n", pri, t; bad++
	}
	END {
		if (bad) exit
		printf "C pass log levels: %d lines, %d of level err or worse, each expected\n", n, e
		for (i = 1; i <= ne; i++) if (seen[i]) printf "M %d x %s: %s\n", seen[i], re[i], why[i]
	}' "$R/dmesg.raw"
fi
taint=$(cat "$R/tainted")
oot=$(sed -n 's/.*\] \([^ ]*\): loading out-of-tree module taints kernel.*/\1/p' "$R/dmesg.txt" | sort -u)
allowed="TAINT_TEST"
if [ "$oot" = pmu_c_twin ]; then
	TAINT_OK=$((TAINT_OK | TAINT_OOT_MODULE))
	allowed="TAINT_TEST, and TAINT_OOT_MODULE for pmu_c_twin"
fi
if [ $((taint & ~TAINT_OK)) = 0 ]; then
	echo "C pass taint: $taint (only $allowed allowed)"
else
	echo "C fail taint: $taint (only $allowed allowed: $TAINT_OK${oot:+; out of tree: $(echo $oot)})"
fi
# The log must start at the boot: a ring buffer that wrapped (log_buf_len,
# harness/boot.sh) hid what came first.
grep -q '^\[ *0\.000000\] Linux version' "$R/dmesg.txt" 2>/dev/null ||
	echo "C fail dmesg: the log does not start at the boot (the ring buffer wrapped?)"
# Every kselftest target that the guest ran has a result.
if [ -f "$R/kselftest.expected" ]; then
	for t in $(cat "$R/kselftest.expected"); do
		grep -q "^\(not \)\{0,1\}ok [0-9]* selftests: $t: " "$R/kselftest.tap" 2>/dev/null ||
			echo "C fail kselftests: $t ran and gave no result"
	done
fi
leaks=$(grep -c 'unreferenced object' "$R/kmemleak.txt" 2>/dev/null || true)
# Ours: frames that name our code, and frames in module space that kallsyms
# no longer resolves, "[<ffffffffc0001234>] 0xffffffffc0001234": the
# module that allocated was unloaded, and the tests unload only ours.
ours=$(grep -cE "$OURS|\] 0xffffffff[a-f][0-9a-f]{7}\$" "$R/kmemleak.txt" 2>/dev/null || true)
if [ ! -f "$R/kmemleak.done" ]; then
	echo "C fail kmemleak: no scan ($(head -n 1 "$R/kmemleak.txt" 2>/dev/null || echo 'no kmemleak.txt'))"
elif [ "$ours" = 0 ]; then
	echo "C pass kmemleak: nothing of ours ($leaks reports in all)"
else
	echo "C fail kmemleak: $ours lines of ours in $leaks reports"
	name_frames "$R" | sed 's/^/M /'
fi

# What this guest's verdict read, for the head of report.txt: "FILE: N
# WHAT" for each file (lines matching ERE $3), or "no FILE".
rd() { if [ -f "$R/$1" ]; then echo "$1 $(grep -c -E -e "$3" "$R/$1" || true) $2"; else echo "no $1"; fi; }
echo "H${at:+ guest$at:} KUnit $(ls "$R"/kunit.[0-9]*.ktap 2>/dev/null | wc -l) KTAP streams;" \
	"$(rd harness.tap streams '^TAP version'); $(rd kselftest.tap programs '^(not )?ok [0-9]+ selftests: ');" \
	"$(rd dmesg.raw lines '')$([ -f "$R/dmesg.raw" ] && echo ", $(grep -c '^<[0-3]>' "$R/dmesg.raw") of the kernel's of level err or worse");" \
	"$(rd console.log lines ''); $(rd kmemleak.txt reports 'unreferenced object')"
return 0
}

# The seconds between $1/boot.start and $1/boot.end (harness/boot.sh,
# harness/run.sh), as a timing line named $2.
host_span() {
	[ -f "$1/boot.start" ] && [ -f "$1/boot.end" ] || return 0
	echo "P $(($(cat "$1/boot.end") - $(cat "$1/boot.start"))) $2 (host clock)"
}

# The guest's phases by its uptime (harness/guest/check.sh), and its boot as
# the host saw it.
guest_timing() {
R=$1
at=${2:+ $2}
if [ -f "$R/phases" ]; then
	# KUnit's built-in suites run inside the boot: the first KTAP stream,
	# from its version line to its last suite's result.
	kunit=$(awk 'function t() { match($0, /[0-9]+\.[0-9]+/); return substr($0, RSTART, RLENGTH) }
		/^\[ *[0-9.]+\] KTAP version/ && a == "" { a = t() }
		/^\[ *[0-9.]+\] (not )?ok [0-9]+ / { b = t() }
		END { if (a != "" && b != "") printf "%d", b - a + 0.5 }' \
		"$R/kunit.1.ktap" 2>/dev/null || true)
	awk -v kunit="$kunit" -v at="$at" '{ t = $1; $1 = ""; printf "P %d guest%s:%s\n", t - prev + 0.5, at, $0; prev = t
		if (NR == 1 && kunit != "") printf "P %d guest%s:   of which KUnit at boot\n", kunit, at }' "$R/phases"
fi
host_span "$R" "boot$at, all of it"
}

{
if [ -d "$RUN/a" ]; then
	guest_raw "$RUN/a" a
	guest_raw "$RUN/b" b
	# The kselftests run in one of the two (harness/guest/check.sh).
	if [ ! -f "$RUN/a/kselftest.expected" ] && [ ! -f "$RUN/b/kselftest.expected" ]; then
		echo "kselftests"
		echo "C fail kselftests: neither guest ran them (no kselftest.expected in a or b)"
	fi
else
	guest_raw "$RUN"
fi
# Where the time went: the host steps before the boot (phase_done in
# env.sh), each guest's phases, and this report.
echo "timing"
[ -f "$RUN/phases.host" ] && awk '{ s = $NF; sub(/ [0-9]+$/, ""); printf "P %d host: %s\n", s, $0 }' "$RUN/phases.host"
if [ -d "$RUN/a" ]; then
	guest_timing "$RUN/a" a
	guest_timing "$RUN/b" b
	host_span "$RUN" "both guests, side by side"
else
	guest_timing "$RUN"
fi
echo "P $(($(date +%s) - PHASE_START)) report"
} > "$RUN/report.raw"
set +e
# A skip is one that README.md lists, with its reason, in the table under
# "## Skips" (its first column, in backquotes, is the name the report
# gives); any other fails.
awk -v run="$RUN" -v readme="$REPO/README.md" '
	FILENAME == readme {
		if (/^## /) inskips = ($0 == "## Skips")
		else if (inskips && /^\| `[^`]+` \|/) { n = $0; sub(/^\| `/, "", n); sub(/`.*/, "", n); allowed[n] = 1 }
		next
	}
	function listed(name) { sub(/ # SKIP.*/, "", name); sub(/ \(.*/, "", name); return name in allowed }
	FNR == 1 { pass++ }
	pass == 1 { if (/^H /) { sub(/^H /, ""); print "read: " $0 }; next }
	/^H / { next }
	/^S / { printf "  %-46s %5s %5s %5s\n", $2, $3, $4, $5; next }
	/^R / { r = $2
		if (r == "skip" && !listed($3)) { r = "fail"; $3 = $3 " (a skip that README.md does not list under Skips)"; f++; s-- }
		printf "    %-6s %s\n", toupper(r), $3; next }
	/^T / { p += $2; f += $3; s += $4; next }
	/^C / { r = $2; sub(/^C [a-z]+ /, "")
		if (r == "skip" && !listed($0)) { r = "fail"; $0 = $0 " (a skip that README.md does not list under Skips)" }
		printf "  %-6s %s\n", toupper(r), $0
		if (r == "pass") p++; else if (r == "fail") f++; else if (r != "note") s++; next }
	/^M / { sub(/^M /, ""); print "         | " $0; next }
	/^P / { n = $2; sub(/^P [0-9-]+ /, ""); printf "  %6d s  %s\n", n, $0; next }
	/^[a-zA-Z]/ { print "== " $0; if ($1 == "KUnit") printf "  %-46s %5s %5s %5s\n", "suite", "pass", "fail", "skip" }
	END {
		print "details: " run
		printf "%d passed, %d failed", p, f; if (s) printf ", %d skipped", s; print ""
		exit f > 0 || p == 0
	}' "$REPO/README.md" "$RUN/report.raw" "$RUN/report.raw" > "$RUN/report.txt"
rc=$?
cat "$RUN/report.txt"
exit $rc
