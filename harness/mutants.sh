#!/bin/sh
# `make mutants`: every test is killed by the bug it names. Each file of
# harness/mutants/ is a deliberate bug, as a patch against the assembled
# kernel tree, with a header that names the test that must catch it:
#
#   Mutant:  what the bug is (one line)
#   Test:    kunit | kselftest TARGET[:PROGRAM] | script NAME
#   Kills:   an ERE that a FAIL line of the run's report (or the first splat
#            report under it) must match
#   Hangs:   an ERE for a console line that shows the mutant caught when it
#            hangs the guest (optional): the guest is stopped once it appears
#   Boot:    extra kernel parameters (optional)
#   Timeout: seconds before the boot is given up (optional, default 900)
#
# First each test the mutants name runs on the tree as it is: a test that
# fails there makes its mutants "invalid" (it would kill anything). Then,
# for each mutant: apply it to a scratch copy of the tree, build
# incrementally, boot, run just that test (`kunit`: the rust_perf suite
# alone, kunit.filter_glob, or the one a Boot: kunit.filter_glob= names),
# read the report, revert. A mutant whose run
# does not fail on that line survived; any survivor, or a mutant that does
# not apply or build, fails `make mutants`. A guest that dies or hangs (it
# does not finish, and its console shows a report: Hangs:, or a splat) also
# kills the mutant: `make check` would fail the same way; the table says
# what its console showed. A guest that only ran out of time is "timeout",
# which fails `make mutants` like a survivor. M="name ..." runs those.
#
# The scratch copy is $CACHE/mutants/{src/linux,build/test}: copies of the
# test tree and its build directory, made current with rsync before the
# first mutant. The build's commands name the tree by its absolute path, so
# the copies are bind-mounted over the originals in a mount namespace of
# this script's own (unshare -m), where an incremental build sees them at
# the paths it knows; `make check` outside is not disturbed.
set -eu
. "$(dirname "$0")/env.sh"

MUT=$CACHE/mutants
DIR=$REPO/harness/mutants

if [ "${PMU_RS_MUTANTS_NS:-}" != 1 ]; then
	[ -f "$BUILD/arch/x86/boot/bzImage" ] || die "no test kernel; run 'make build'"
	[ "$FLAVOUR" = test ] || die "make mutants runs on the test kernel only"
	list=$(cd "$DIR" && ls -1 $(for m in ${M:-}; do echo "$m.patch"; done) 2>/dev/null |
		sed -n 's/\.patch$//p')
	[ -n "$list" ] || die "no mutant ${M:-in $DIR}"
	say "scratch copy of the test tree and build in $MUT (rsync)"
	mkdir -p "$MUT/src/linux" "$MUT/build/test" "$MUT/runs"
	rsync -a --delete "$SRC/" "$MUT/src/linux/"
	rsync -a --delete "$BUILD/" "$MUT/build/test/"
	rm -f "$MUT/results"
	start=$(date +%s)
	PMU_RS_MUTANTS_NS=1 unshare -m sh -c '
		mount --bind "$1/src/linux" "$2" && mount --bind "$1/build/test" "$3" &&
		exec sh "$4" "$5"' sh "$MUT" "$SRC" "$BUILD" "$0" "$list" || true
	# The table: mutant, test, verdict, what killed it.
	echo
	say "mutants ($(($(date +%s) - start)) s)"
	printf '  %-38s %-8s %s\n' mutant verdict "killed by / why"
	[ -f "$MUT/results" ] || die "no mutant ran"
	awk -F '\t' '{ printf "  %-38s %-8s %s\n", $1, $2, $3 }
		$2 != "killed" { bad++ }
		END { printf "%d mutants, %d killed\n", NR, NR - bad; exit bad > 0 }' "$MUT/results"
	exit
fi

# In the namespace: $SRC and $BUILD are the scratch copies.
export PMU_RS_RUNS=$MUT/runs PMU_RS_PHASES=$MUT/phases.host
field() { sed -n "s/^$1:[[:space:]]*//p" "$2" | head -n 1; }
result() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$MUT/results"; say "$1: $2${3:+ ($3)}"; }

# Boots the tree as it is in $SRC with the test $2 (a Test: field) and the
# kernel parameters $3 into run directory $1, and waits for it; a guest
# whose console shows the ERE $4 (a Hangs: field, optional) while it has
# not finished is stopped then, by QEMU's pid (harness/vm.sh's -pidfile).
boot_test() {
	cpus=${CPUS:-4} sockets=${SOCKETS:-2}
	case $2 in
	kunit) args=kunit; append="kunit.filter_glob=rust_perf" ;;
	kselftest\ *) args="only ${2#kselftest }"; append="kunit.enable=0" ;;
	script\ *) args="script ${2#script }"; append="kunit.enable=0"
		# Guest b's scripts run on guest b's machine (harness/run.sh).
		case $2 in *perf-live.sh | *i915-pmu-rs.sh) cpus=2 sockets=1 ;; esac ;;
	*) die "unknown Test: $2" ;;
	esac
	RUN=$1 CPUS=$cpus SOCKETS=$sockets BOOT_APPEND="$append $3" BOOT_TIMEOUT=$5 \
		sh "$REPO/harness/boot.sh" check.sh $args > "$1/boot.log" 2>&1 &
	bootpid=$!
	while kill -0 $bootpid 2>/dev/null; do
		if [ -n "$4" ] && [ ! -f "$1/guest.done" ] &&
		   grep -q -E -e "$4" "$1/console.log" 2>/dev/null; then
			sleep 5
			qemupid=$(cat "$1/qemu.pid" 2>/dev/null) && kill "$qemupid" 2>/dev/null && break
		fi
		sleep 5
	done
	wait $bootpid || true
}

# Each test the mutants name runs once on the tree as it is, with the
# mutant's kernel parameters and the longest Timeout: of the mutants that
# share them: one that fails there would count every mutant it names as
# killed. Its report must pass. $MUT/preflight: "TEST|BOOT<TAB>verdict<TAB>
# run directory" per test.
: > "$MUT/preflight"
key() { printf '%s|%s\n' "$(field Test "$1")" "$(field Boot "$1")"; }
keys=$(for m in $1; do key "$DIR/$m.patch"; done | awk '!seen[$0]++')
i=0
while IFS= read -r k; do
	i=$((i + 1))
	test=${k%%|*}
	boot=${k#*|}
	tmo=$(for m in $1; do
		[ "$(key "$DIR/$m.patch")" = "$k" ] && { field Timeout "$DIR/$m.patch" | grep . || echo 900; }
	done | sort -n | tail -n 1)
	run=$MUT/runs/unmutated-$i
	rm -rf "$run"
	mkdir -p "$run"
	say "unmutated: $test${boot:+ with $boot} (a test of the mutants must pass without them)"
	if [ "$i" = 1 ]; then
		sh "$REPO/harness/build.sh" < /dev/null > "$run/build.log" 2>&1 ||
			die "the tree does not build ($run/build.log)"
	fi
	boot_test "$run" "$test" "$boot" "" "$tmo" < /dev/null
	if [ ! -f "$run/guest.done" ]; then
		v=timeout
	elif sh "$REPO/harness/report.sh" "$run" < /dev/null > /dev/null 2>&1; then
		v=passes
	else
		v=FAILS
	fi
	printf '%s\t%s\t%s\n' "$k" "$v" "$run" >> "$MUT/preflight"
	[ "$v" = passes ] || warn "$test ${v} without a mutant ($run)"
done <<KEYS
$keys
KEYS

for m in $1; do
	p=$DIR/$m.patch
	test=$(field Test "$p")
	kills=$(field Kills "$p")
	hangs=$(field Hangs "$p")
	say "mutant $m: $(field Mutant "$p")"
	pre=$(awk -F '\t' -v k="$(key "$p")" '$1 == k { print $2 "\t" $3; exit }' "$MUT/preflight")
	if [ "${pre%%	*}" != passes ]; then
		result "$m" "invalid" "$test ${pre%%	*} without the mutant (${pre#*	})"
		continue
	fi
	if ! patch -p1 -s -N --dry-run -d "$SRC" < "$p" > /dev/null 2>&1; then
		result "$m" "broken" "does not apply to the tree"
		continue
	fi
	patch -p1 -s -N -d "$SRC" < "$p"
	run=$MUT/runs/$m
	rm -rf "$run"
	mkdir -p "$run"
	if ! sh "$REPO/harness/build.sh" > "$run/build.log" 2>&1; then
		tail -n 15 "$run/build.log" >&2
		result "$m" "broken" "does not build ($run/build.log)"
		patch -p1 -s -R -d "$SRC" < "$p"
		continue
	fi
	# A guest that hangs is stopped as soon as its console shows what
	# caught the mutant (a hung-task report, say), not at the timeout.
	boot_test "$run" "$test" "$(field Boot "$p")" "$hangs" \
		"$(field Timeout "$p" | grep . || echo 900)"
	if [ -f "$run/guest.done" ]; then
		sh "$REPO/harness/report.sh" "$run" > /dev/null 2>&1 || true
		# The FAIL lines, and the first splat report under the dmesg one.
		hit=$(grep -E "^ +(FAIL +|\| )" "$run/report.txt" 2>/dev/null | grep -E -m 1 -e "$kills" |
			sed 's/^ *FAIL *//; s/^ *| */dmesg: /' || true)
	else
		# The guest died or hung: what its console shows. A guest that
		# only ran out of time shows nothing: that is no kill.
		hit=$(grep -E -m 1 -e "${hangs:-$SPLAT}" "$run/console.log" 2>/dev/null |
			sed 's/^.*\] //; s/^/console: /' || true)
		[ -n "$hit" ] ||
			timeout="the guest ran out of time with nothing in its console ($run/console.log)"
	fi
	if [ -n "$hit" ]; then
		result "$m" killed "$(echo "$hit" | cut -c 1-90)"
	elif [ -n "${timeout:-}" ]; then
		result "$m" timeout "$timeout"
		timeout=
	else
		result "$m" SURVIVED "$test passed it (or failed elsewhere: $run/report.txt)"
	fi
	patch -p1 -s -R -d "$SRC" < "$p"
done
