#!/bin/sh
# `make perf-test`: the perf tool's own test suite (`perf test`, Debian's
# linux-perf) on the test kernel, and on the same kernel without the
# series' perf core patches (FLAVOUR=nocore), in two guests side by side
# (harness/guest/perf-test.sh). Prints the table of both, and fails when
#   - a test fails or times out on the test kernel and not without the
#     perf core patches (a failure of ours),
#   - the test kernel's log has a kind of splat (env.sh's SPLAT) that the
#     other kernel's has not,
#   - a test that is not Ok on the test kernel has no reason in
#     harness/perf-test.reasons.
# The table goes to $RUN/table.md too (README.md quotes it).
# PERF_TEST_RUN=DIR prints the table and verdict of run DIR again;
# PERF_TEST_IDS="86 86 111" runs only those tests, in that order (a test
# named twice runs twice; the table has a row for each run).
set -eu
. "$(dirname "$0")/env.sh"

# PERF_TEST_RUN=DIR: the table and verdict of an earlier run, no boot.
if [ -n "${PERF_TEST_RUN:-}" ]; then
	RUN=$PERF_TEST_RUN
else
	RUN=$RUNS/$(date +%Y%m%d-%H%M%S)-$$-perf-test
	mkdir -p "$RUN"
	rm -f "$PHASES"
	say "perf test on the test kernel and without the perf core patches, side by side"
	for f in test nocore; do
		# shellcheck disable=SC2086 # PERF_TEST_IDS: one argument per ID
		FLAVOUR=$f RUN=$RUN/$f GUEST=$f CPUS=2 SOCKETS=1 BOOT_APPEND="${BOOT_APPEND:-} kunit.enable=0" \
			BOOT_TIMEOUT=${BOOT_TIMEOUT:-10800} sh "$REPO/harness/boot.sh" perf-test.sh ${PERF_TEST_IDS:-} &
		eval "pid_$f=\$!"
	done
	rc=0
	# shellcheck disable=SC2154 # pid_test and pid_nocore: set by eval
	wait "$pid_test" || rc=1
	# shellcheck disable=SC2154
	wait "$pid_nocore" || rc=1
	ln -sfn "$RUN" "$RUNS/latest"
	[ "$rc" = 0 ] || die "a guest failed ($RUN/test, $RUN/nocore)"
fi

reasons=$REPO/harness/perf-test.reasons
# ID, result on the test kernel, result without the perf core patches,
# seconds, name, reason (by name; subtests "PARENT / NAME").
awk -F '\t' -v reasons="$reasons" '
	BEGIN { while ((getline l < reasons) > 0) {
			if (l ~ /^#/ || l !~ /\t/) continue
			split(l, r, "\t"); why[r[1]] = r[2] } }
	FILENAME ~ /list.txt$/ { if (match($0, /^ *[0-9]+: /)) {
			n = substr($0, 1, RLENGTH - 2); sub(/^ */, "", n)
			top[n] = substr($0, RLENGTH + 1) }
		next }
	# A test run twice (PERF_TEST_IDS) pairs its n-th run on each kernel.
	FILENAME ~ /nocore/ { base[$1 "#" ++nb[$1]] = $2; next }
	{ id = $1; k = id "#" ++nt[id]; name = $4; p = id; sub(/\..*/, "", p)
	  if (id ~ /\./) name = top[p] " / " name
	  print id "\t" $2 "\t" ((k in base) ? base[k] : "(not run)") "\t" $3 "\t" name "\t" why[name] }
' "$RUN/test/list.txt" "$RUN/nocore/results.tsv" "$RUN/test/results.tsv" > "$RUN/table.tsv"

{
	echo "| perf test | test kernel | without the perf core patches | s | reason |"
	echo "|---|---|---|---|---|"
	awk -F '\t' '{ printf "| %s %s | %s | %s | %s | %s |\n", $1, $5, $2, $3, $4, $6 }' "$RUN/table.tsv"
} > "$RUN/table.md"
cat "$RUN/table.md"

problems=
problem() { problems="$problems
  - $*"; }
regress=$(awk -F '\t' '($2 ~ /FAILED|Timeout|no result/) && $3 !~ /FAILED|Timeout|no result/ {
	printf "%s %s: %s here, %s without the perf core patches; ", $1, $5, $2, $3 }' "$RUN/table.tsv")
[ -z "$regress" ] || problem "failures of ours: $regress"
unexplained=$(awk -F '\t' '$2 != "Ok" && $6 == "" { printf "%s %s (%s); ", $1, $5, $2 }' "$RUN/table.tsv")
[ -z "$unexplained" ] || problem "not Ok with no reason in harness/perf-test.reasons: $unexplained"
for f in test nocore; do
	[ -f "$RUN/$f/guest.done" ] || problem "the $f guest did not finish ($RUN/$f/console.log)"
	n=$(grep -cE "$SPLAT" "$RUN/$f/console.log" || true)
	echo "$f kernel: $(cut -f2 "$RUN/$f/results.tsv" | sed 's/ .*//' | sort | uniq -c |
		awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }'); $n splat lines; taint $(cat "$RUN/$f/tainted" 2>/dev/null || echo unknown)"
done
# A kind of splat (the part of SPLAT it matched) that the test kernel's
# console has and the other's has not is ours; one that both have is not (a
# stall of a guest starved under TCG, say), and is listed. The console is
# the whole log, from boot to power off.
kinds() { grep -oE "$SPLAT" "$1" 2>/dev/null | sort -u; }
kinds "$RUN/test/console.log" > "$RUN/splats.test"
kinds "$RUN/nocore/console.log" > "$RUN/splats.nocore"
both=$(comm -12 "$RUN/splats.test" "$RUN/splats.nocore" | tr '\n' ';')
ours=$(comm -23 "$RUN/splats.test" "$RUN/splats.nocore" | tr '\n' ';')
[ -z "$both" ] || echo "splats in both kernels' logs (not ours): $both"
if [ -n "$ours" ]; then
	grep -E "$SPLAT" "$RUN/test/console.log" | head -n 20
	problem "the test kernel's console has splats the other's has not: $ours ($RUN/test/console.log)"
fi
echo "run: $RUN ($(($(cat "$RUN/test/boot.end") - $(cat "$RUN/test/boot.start"))) s test kernel," \
	"$(($(cat "$RUN/nocore/boot.end") - $(cat "$RUN/nocore/boot.start"))) s without the patches)"
[ -z "$problems" ] || die "perf test:$problems"
say "perf test: no failure of ours, no splat of ours"
