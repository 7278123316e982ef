#!/bin/sh
# Build the kernel and modules (CLIPPY=1, so clippy lints every Rust
# object), then the kselftests the guest runs. Fails on any compiler or
# clippy warning in the overlay's files; on a build error, shows the
# failing file and its diagnostics.
set -eu
. "$(dirname "$0")/env.sh"

log=$BUILD/.pmu-rs-build.log
say "building the $FLAVOUR kernel in $BUILD ($(cold_build_says); warm: seconds)"
start=$(date +%s)
set +e
$KMAKE -j"$JOBS" CLIPPY=1 all 2>&1 | tee "$log" | kbuild_progress "" 1000
set -e
# (no pipefail in POSIX sh: make's failure is read back from its log)
if grep -q '\*\*\* \[' "$log"; then
	echo "---- failing files:" >&2
	grep -E '^[^ ]+:[0-9]+:[0-9]+: error|^error(\[E[0-9]+\])?:|^ *--> ' "$log" | head -n 20 >&2
	echo "---- end of the build log ($log):" >&2
	tail -n 25 "$log" >&2
	die "kernel build failed"
fi

# Warnings (rustc, clippy, clang) located in our overlay files fail the run.
# Each offending file is touched in the tree so that the next build sees
# the warning again instead of reusing the object.
ours=$(overlay_files)
if [ -n "$ours" ]; then
	hits=$(grep -E '^ *--> [^ ]+:[0-9]+|^[^ ]+:[0-9]+:[0-9]+: warning' "$log" |
		sed -E 's/^ *--> //; s/:[0-9]+.*//; s|^\.\./\.\./src/linux/||; s|^'"$SRC"'/||' |
		sort -u | grep -xF "$ours" || true)
	if [ -n "$hits" ]; then
		grep -B3 -A12 -E 'warning' "$log" | grep -B3 -A12 -F "$hits" >&2 || true
		for f in $hits; do touch "$SRC/$f"; done
		die "warnings in our code: $(echo $hits)"
	fi
fi
say "kernel built in $(( $(date +%s) - start )) s"

say "building kselftests"
# Test modules (TEST_GEN_MODS_DIR) are built in the source tree against
# KDIR; both flavours share that tree, so start them from clean.
(cd "$SRC/tools/testing/selftests" && for d in $(cat "$REPO/harness/kselftests"); do
	for m in $(sed -n 's/^TEST_GEN_MODS_DIR[[:space:]]*:*=//p' "$d/Makefile"); do
		[ -d "$d/$m" ] || continue
		find "$d/$m" \( -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '.*.cmd' \
			-o -name Module.symvers -o -name modules.order \) -delete
	done
done)
$KMAKE -s -j"$JOBS" TARGETS="$(cat "$REPO/harness/kselftests")" KDIR="$BUILD" \
	kselftest-install > "$BUILD/.pmu-rs-kselftest.log" 2>&1 ||
	{ tail -n 30 "$BUILD/.pmu-rs-kselftest.log" >&2; die "kselftest build failed"; }
phase_done build
