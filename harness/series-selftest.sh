#!/bin/sh
# The self-test of `make series-check`: it must fail on a broken series and
# name the patch that breaks it. From the series `make series` writes, two
# broken ones, each checked by harness/series-check.sh (SERIES_DIR=):
#
#   bisect  the sample comes before the kernel::perf patch it uses: the
#           series builds at its end but not at the sample's patch;
#   clippy  the sample's patch carries a clippy warning (needless_return).
#
# Each must fail with that patch's file name and "does not build", and for
# the right reason (the compiler's error, the clippy lint). Patches that
# pass on the way are recorded as series-check records them, so the real
# check after this does not build them again.
#
# A pass stands while nothing it depends on changed: these scripts, the
# configuration, the base, the toolchain and the patches it uses (a
# content hash, as series-check's own); SERIES_CHECK_AGAIN=1 runs it anyway.
set -eu
FLAVOUR=series
. "$(dirname "$0")/env.sh"

dir=$CACHE/series/selftest
mkdir -p "$dir"

# First, in seconds: harness/series-cover.sh finds what a kernel does not
# compile, in a synthetic tree and build directory: a changed file no
# object reads, a changed line under an #ifdef of an unset symbol (next to
# one under a set symbol, which starts with "++" as a diff's header does),
# a Rust cfg of an unset symbol.
t=$dir/cover
rm -rf "$t"
mkdir -p "$t/tree/include/linux" "$t/build/include/generated"
cp "$SRC/include/linux/kconfig.h" "$t/tree/include/linux/"
printf 'int a;\n' > "$t/tree/a.c"
git -C "$t/tree" init -q
git -C "$t/tree" add -A
git -C "$t/tree" -c user.name=t -c user.email=t commit -q -m base
git -C "$t/tree" branch -q base
printf '#ifdef CONFIG_SET\n++b;\n#else\nint c;\nint d;\n#endif\n' >> "$t/tree/a.c"
printf 'int d;\n' > "$t/tree/unread.c"
printf '#[cfg(CONFIG_UNSET_RS)]\nfn f() {}\n' > "$t/tree/r.rs"
git -C "$t/tree" add -A
git -C "$t/tree" -c user.name=t -c user.email=t commit -q -m change
printf '#define CONFIG_SET 1\n' > "$t/build/include/generated/autoconf.h"
printf 'CONFIG_SET=y\n' > "$t/build/.config"
printf 'source_a.o := %s\n' "$t/tree/a.c" > "$t/build/.a.o.cmd"
printf 'deps_r.o := %s \\\n' "$t/tree/r.rs" > "$t/build/.r.o.cmd"
if sh "$REPO/harness/series-cover.sh" "$t/tree" "$t/build" > "$t/log" 2>&1; then
	cat "$t/log" >&2; die "series-selftest: series-cover.sh passed a build that misses code"
fi
for want in 'NOT COVERED  unread.c: no object of the build reads it' \
	'compiled in  a.c:3 .*defined\( CONFIG_SET\)' \
	'NOT COVERED  a.c:5 is compiled out: .*defined\( CONFIG_SET\)' \
	'NOT COVERED  r.rs: cfg\(CONFIG_UNSET_RS\) code is compiled out'; do
	grep -qE "$want" "$t/log" || { cat "$t/log" >&2; die "series-selftest: series-cover.sh did not say /$want/"; }
done
say "series-selftest: series-cover.sh finds an unread file, a line under a false #if and a Rust cfg off"
git_identity_fallback
O=$dir/real sh "$REPO/harness/series.sh" > "$dir/series.log" 2>&1 ||
	{ cat "$dir/series.log" >&2; die "make series failed"; }
main=$(series_sections | head -1)
real=$dir/real/$main
# The patch that adds kernel::perf and the sample's, right after it.
perf=$(grep -l '^+++ b/rust/kernel/perf/mod.rs' "$real"/[0-9]*.patch | head -n 1)
sample=$(grep -l '^+++ b/samples/rust/rust_pmu.rs' "$real"/[0-9]*.patch | head -n 1)
number() { basename "$1" | cut -c1-4 | sed 's/^0*//'; }
[ -n "$perf" ] && [ -n "$sample" ] && [ "$(number "$sample")" = $(($(number "$perf") + 1)) ] ||
	die "series-selftest: want a patch that adds kernel::perf and the sample's right after it; update this test"
np=$(number "$perf")
# The patches of the real series up to number $1.
upto() {
	for p in "$real"/[0-9]*.patch; do
		[ "$(basename "$p")" != 0000-cover-letter.patch ] && [ "$(number "$p")" -le "$1" ] && echo "$p"
	done
}

key=$( { cat "$0" "$REPO/harness/series-check.sh" "$REPO/harness/series-cover.sh" \
		"$REPO/harness/env.sh" "$REPO/harness/series.config" "$REPO/base.lock"
	/usr/bin/rustc --version; /usr/bin/clippy-driver --version; "clang-$LLVM_MAJOR" --version | head -1
	patch_text $(upto $((np + 1))); } 2>&1 | sha256sum | cut -c1-16)
if [ "${SERIES_CHECK_AGAIN:-0}" != 1 ] && [ "$(cat "$dir/passed" 2>/dev/null)" = "$key" ]; then
	say "series-selftest: passed before on the same scripts, configuration and patches (key $key)"
	exit 0
fi
rm -f "$dir/passed"

# $1: the case; its series in $dir/$1/$main, made by the caller. $2: the
# patch file that must be named; $3: what the log must show besides.
expect_failure() {
	say "series-selftest: $1: checking a series that must fail at $2"
	t0=$(date +%s)
	if SERIES_DIR=$dir/$1 sh "$REPO/harness/series-check.sh" > "$dir/$1.log" 2>&1; then
		tail -n 20 "$dir/$1.log" >&2
		die "series-selftest: $1: series-check passed a broken series (log: $dir/$1.log)"
	fi
	grep 'ERROR: ' "$dir/$1.log" | grep -qF "$main/$2" ||
		{ tail -n 20 "$dir/$1.log" >&2; die "series-selftest: $1: series-check failed without naming $2 (log: $dir/$1.log)"; }
	grep 'ERROR: ' "$dir/$1.log" | grep -q 'does not build' ||
		{ tail -n 20 "$dir/$1.log" >&2; die "series-selftest: $1: series-check failed, but not in the build of $2 (log: $dir/$1.log)"; }
	grep -qE "$3" "$dir/$1.log" ||
		{ tail -n 20 "$dir/$1.log" >&2; die "series-selftest: $1: the build failed, but not with /$3/ (log: $dir/$1.log)"; }
	say "series-selftest: $1: failed as it must, in $(($(date +%s) - t0)) s: $(grep 'ERROR: ' "$dir/$1.log" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g')"
}

# bisect: the patches before kernel::perf's, then the sample in its place.
rm -rf "$dir/bisect" "$dir/clippy"
mkdir -p "$dir/bisect/$main" "$dir/clippy/$main"
cp $(upto $((np - 1))) "$dir/bisect/$main/"
bad=$(basename "$perf" | cut -c1-4)-$(basename "$sample" | cut -d- -f2-)
cp "$sample" "$dir/bisect/$main/$bad"
expect_failure bisect "$bad" 'unresolved import|could not find `perf`|E0432|E0433'

# clippy: the patches up to kernel::perf's, then the sample with a
# needless `return` in a new function in place of the blank line after
# its `use` block.
cp $(upto "$np") "$dir/clippy/$main/"
awk 'f == 0 && prev == "+};" && $0 == "+" {
		print "+#[allow(dead_code)] fn selftest_clippy() -> u32 { return 1; }"; f = 1; next }
	{ print; prev = $0 } END { exit !f }' "$sample" > "$dir/clippy/$main/$(basename "$sample")" ||
	die "series-selftest: found no blank line after the sample's use block to put the warning in"
expect_failure clippy "$(basename "$sample")" 'unneeded .return. statement|needless_return'

echo "$key" > "$dir/passed"
say "series-selftest: series-check fails on a broken bisection and on a clippy warning, naming the patch"
