#!/bin/sh
# Lints that need no kernel build: rustfmt on every overlay .rs file,
# checkpatch --strict on every overlay C and Rust file (what the series'
# checkpatch would say of them: rustfmt leaves long comments alone) and on
# every patch, and the self-test of the KCSAN verdict.
# (Clippy runs inside the build, CLIPPY=1; rustdoc in harness/rustdoc.sh.)
set -eu
. "$(dirname "$0")/env.sh"
cd "$REPO"

rs=$(overlay_files -name '*.rs')
rustfmt="/usr/bin/rustfmt --edition 2021 --config-path $SRC/.rustfmt.toml"
if [ "${1:-}" = fmt ]; then
	[ -z "$rs" ] || $rustfmt $rs
	exit 0
fi

fail=0
if [ -n "$rs" ]; then
	if $rustfmt --check $rs; then
		echo "  OK    rustfmt ($(echo "$rs" | wc -l) files)"
	else
		echo "  FAIL  rustfmt: run 'make fmt'"; fail=1
	fi
fi

cp="$SRC/scripts/checkpatch.pl --strict --quiet --no-summary --show-types"
c=$(overlay_files \( -name '*.[ch]' -o -name '*.rs' \))
for f in $c; do
	if (cd "$SRC" && $cp -f "$f"); then echo "  OK    checkpatch $f"
	else echo "  FAIL  checkpatch $f"; fail=1; fi
done
# Everything in a patch is reported as for a file (checkpatch_patch in
# env.sh says what is not). The files in patches/ carry no sign-off:
# `make series` adds the runner's.
for p in $(series_patches); do
	out=$(checkpatch_patch "$SRC" ,MISSING_SIGN_OFF "$REPO/patches/$p")
	if [ -z "$out" ]; then echo "  OK    checkpatch patches/$p"
	else printf '%s' "$out"; echo "  FAIL  checkpatch patches/$p"; fail=1; fi
done
sh "$REPO/harness/kcsan-selftest.sh" || fail=1
sh "$REPO/harness/report-selftest.sh" || fail=1
[ "$fail" = 0 ] || die "lint failed"
phase_done lint
