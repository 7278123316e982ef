#!/bin/sh
# `make series-check`: prove the series that `make series` writes. In a
# scratch tree of the pinned base, `git am` each patch in turn, run
# `checkpatch.pl --strict` on it and build (CLIPPY=1, incremental: the cost
# is what the patch changed). After the last patch the tree must be the one
# `make build` assembles, and it must also build with the sample and the
# driver built in (=y).
#
# Each section of `series` is sent against the base, so each is checked on
# the base (the order is below); then the others are applied on top of the
# main one for the comparison with `make build`'s tree, which has them all.
#
# The kernel is the smallest that compiles what the series touches:
# `allnoconfig` with harness/series.config (FLAVOUR=series, its own build
# directory), CONFIG_WERROR so that a compiler or clippy warning fails.
# After each section's last patch, harness/series-cover.sh proves that it
# compiled every changed file and every changed line's #if branch. Not
# covered here, and listed there: the kselftests (`make build` builds
# them), the KCSAN-only code of the kcsan-rust patch (`make kcsan`).
#
# What passed is not checked again. A patch that passed is recorded under
# a key of its content, of every patch before it in its section and of
# everything it was checked with (the base, this script and its helpers,
# the configuration, the toolchain): refs/passed/KEY in the scratch
# repository names the tree it left. A section resumes after its last
# recorded patch, and a run in which everything was recorded, and make
# build's tree is the same, ends at once. SERIES_CHECK_AGAIN=1 checks all.
#
# SERIES_DIR=dir checks the `git format-patch` series in dir/SECTION/
# instead (harness/series-selftest.sh), without the comparison with make
# build's tree that the real series ends with.
set -eu
FLAVOUR=series
. "$(dirname "$0")/env.sh"

work=$CACHE/series/git
tree=$CACHE/series/check
log=$BUILD/.pmu-rs-series-check.log
start=$(date +%s)
# A build directory made with another fragment starts afresh: Kbuild
# leaves the .cmd files of objects a configuration no longer builds, and
# series-cover.sh would take them for objects of this one.
fh=$(sha256sum < "$REPO/harness/series.config" | cut -c1-16)
if [ -d "$BUILD" ] && [ "$(cat "$BUILD/.pmu-rs-fragment" 2>/dev/null)" != "$fh" ]; then
	say "series-check: $BUILD was built with another harness/series.config: starting it afresh"
	rm -rf "$BUILD"
fi
mkdir -p "$CACHE/series" "$BUILD"
echo "$fh" > "$BUILD/.pmu-rs-fragment"

if [ -n "${SERIES_DIR:-}" ]; then
	out=$SERIES_DIR
	sections=$(cd "$out" && ls -d -- */ | tr -d /)
	main=$(echo "$sections" | head -1)
	others=
else
	out=$CACHE/series/check-out	# not `make series`'s directory
	# The series is signed off as whoever runs this.
	git_identity_fallback
	say "series-check: make series into $out"
	O=$out sh "$REPO/harness/series.sh" > "$CACHE/series/series.log" 2>&1 ||
		{ cat "$CACHE/series/series.log" >&2; die "make series failed"; }
	cat "$CACHE/series/series.log" >&2
	sections=$(series_sections)
	main=$(echo "$sections" | head -1)
	others=$(echo "$sections" | tail -n +2)
fi

frag=$(flavour_fragment)
KMAKE=$(kmake_for "$tree")
# C objects through ccache: the check goes back and forth between the
# trees of the series (a section from the base, patches changed after a
# run), and each such tree has been compiled before. A directory of
# ours first in PATH makes clang-N ccache, which runs the clang-N after
# it in PATH; the commands in Kbuild's .cmd files stay the same. Depend
# mode: a miss costs no preprocessor run (about 2% on top of the compile,
# not 18%), the compiler's -MMD file names the headers to hash.
command -v ccache >/dev/null || die "ccache is missing: make setup installs it"
mkdir -p "$CACHE/ccache/bin"
ln -sf "$(command -v ccache)" "$CACHE/ccache/bin/clang-$LLVM_MAJOR"
export PATH="$CACHE/ccache/bin:$PATH" CCACHE_DIR="$CACHE/ccache/cache" CCACHE_MAXSIZE=4G CCACHE_DEPEND=1
hash() { sha256sum | cut -c1-16; }
# What every patch is checked with.
env_key=$( { cat "$REPO/base.lock" "$frag" "$0" "$REPO/harness/series-cover.sh" \
		"$REPO/harness/env.sh"
	echo "$KMAKE"; /usr/bin/rustc --version; /usr/bin/clippy-driver --version
	"clang-$LLVM_MAJOR" --version | head -1; "$TOOLS/bin/bindgen" --version
	echo "KCFLAGS=${KCFLAGS:-} KRUSTFLAGS=${KRUSTFLAGS:-} KAFLAGS=${KAFLAGS:-}"; } 2>&1 | hash)
# The key of a patch ($2) after the patch of key $1.
next_key() { { echo "$1"; patch_text "$2"; } | hash; }
passed() { git -C "$work" rev-parse -q --verify "refs/passed/$1^{commit}" 2>/dev/null; }

patches_of() {
	for p in "$out/$1"/*.patch; do
		case $p in *0000-cover-letter.patch) ;; *) echo "$p" ;; esac
	done
}
n=0
total=0
for section in $sections; do
	total=$((total + $(patches_of "$section" | wc -l)))
done

# The whole run: every patch in its place, and make build's tree.
if [ -z "${SERIES_DIR:-}" ]; then
	all_key=$( { echo "$env_key"; for s in $sections; do
			echo "== $s"; for p in $(patches_of "$s"); do patch_text "$p"; done; done
		(cd "$SRC" && sort .pmu-rs-manifest | xargs -r sha256sum); } | hash)
	if [ "${SERIES_CHECK_AGAIN:-0}" != 1 ] && passed "all-$all_key" >/dev/null; then
		say "series-check: the series, make build's tree and all they are checked with are those of a run that passed (key $all_key): nothing to check again (SERIES_CHECK_AGAIN=1 checks anyway)"
		exit 0
	fi
fi

# The scratch tree: a worktree of the series repository.
if ! git -C "$tree" rev-parse -q --verify base >/dev/null 2>&1; then
	rm -rf "$tree"
	git -C "$work" worktree prune
	git -C "$work" worktree add -q --detach "$tree" base
fi
# Puts the tree at commit $1; touches only the files that differ.
goto() {
	git -C "$tree" am --abort >/dev/null 2>&1 || true
	git -C "$tree" checkout -q -f --detach "$1"
	git -C "$tree" clean -q -fdx
}
am() {
	git -C "$tree" -c user.name=series-check -c user.email=series-check \
		am -q "$1" > "$log" 2>&1
}

# The configuration: allnoconfig with the fragment, again after every patch
# that touches a Kconfig file (a new symbol gets its value once it exists).
# Every symbol of the fragment that the tree defines must keep its value.
configure() {
	$KMAKE -s KCONFIG_ALLCONFIG="$frag" allnoconfig > "$log" 2>&1 ||
		{ tail -n 30 "$log" >&2; die "allnoconfig failed (log: $log)"; }
	defined=$(find "$tree" -name 'Kconfig*' -exec sed -n 's/^[[:space:]]*\(menu\)\{0,1\}config[[:space:]]\{1,\}\([A-Z0-9_]*\).*/\2/p' {} + | sort -u)
	for line in $(grep -o '^CONFIG_[A-Z0-9_]*=.*' "$frag"); do
		sym=${line%%=*}
		echo "$defined" | grep -qx "${sym#CONFIG_}" || continue
		grep -qxF "$line" "$BUILD/.config" ||
			die "series.config wants $line, .config has \"$(grep "^$sym=\|^# $sym is not set" "$BUILD/.config" || echo "$sym absent")\""
	done
}
# Builds, with a progress line every 250 steps; prints the seconds it took.
# $1 names what is built, for the error; $2, when given, is the number of
# steps above which this build's count is the flavour's full count.
build() {
	t0=$(date +%s)
	{ $KMAKE -j"$JOBS" CLIPPY=1 2>&1; echo "pmu-rs: make exited with $?"; } |
		tee "$log" | kbuild_progress "" "${2:-999999}"
	if ! grep -qx 'pmu-rs: make exited with 0' "$log"; then
		grep -E -m 20 'error|warning:' "$log" >&2 || tail -n 30 "$log" >&2
		die "$1 does not build (log: $log)"
	fi
	echo "$(($(date +%s) - t0))"
}
# One patch: apply, checkpatch, reconfigure if it touched Kconfig, build.
check_patch() {
	p=$1
	# The subject, unfolded.
	subj=$(awk '/^Subject: / { s = $0; sub(/^Subject: (\[PATCH[^]]*\] )?/, "", s)
		while ((getline l) > 0 && l ~ /^[ \t]/) s = s l; print s; exit }' "$p")
	name="$section/$(basename "$p") (\"$subj\")"
	am "$p" || { cat "$log" >&2; die "$name does not apply"; }
	# FILE_PATH_CHANGES ("does MAINTAINERS need updating?") on a patch
	# that adds files: the MAINTAINERS patch comes last; that every added
	# file has a maintainer is checked after it, below.
	cpout=$(checkpatch_patch "$tree" ",FILE_PATH_CHANGES" "$p")
	[ -z "$cpout" ] || { printf '%s' "$cpout" >&2; die "$name: checkpatch --strict complains"; }
	files=$(git -C "$tree" diff --name-only HEAD~1 HEAD)
	n=$((n + 1))
	# A patch of documentation, MAINTAINERS or kselftests only leaves the
	# kernel as it was (make docs and make build check those).
	if ! echo "$files" | grep -qv '^Documentation/\|^MAINTAINERS$\|^tools/testing/selftests/'; then
		say "series-check: [$n/$total] $section: $subj: checkpatch clean, changes nothing the kernel build reads"
		return
	fi
	if echo "$files" | grep -q 'Kconfig'; then
		configure
	fi
	t=$(build "$name" $cold)
	cold= built=1
	say "series-check: [$n/$total] $section: $subj: checkpatch clean, built in $t s"
}

# The order: the small sections first when the main one is checked from
# the base (going back to the base after one of them is cheap), else the
# main one first (going back to the base after it costs one rebuild of
# what its patches change, not one per small section).
order="$others $main"
first=$(patches_of "$main" | head -n 1)
if [ "${SERIES_CHECK_AGAIN:-0}" != 1 ] && passed "$(next_key "$env_key" "$first")" >/dev/null; then
	order="$main $others"
fi
# The base is not built on its own: it is upstream's, and the build of a
# section's first patch is the build of the base with that patch (going
# back to the base from the tree the build directory holds included).
cold=
if [ ! -f "$BUILD/vmlinux" ]; then
	cold=500
	say "series-check: $BUILD is empty: the first patch's build is the base's ($(cold_build_says))"
fi
for section in $order; do
	# The patches of the section that passed with the same ones before
	# them are not checked again.
	key=$env_key at=base skip=0
	for p in $(patches_of "$section"); do
		k=$(next_key "$key" "$p")
		c=$(passed "$k") || break
		key=$k at=$c skip=$((skip + 1))
	done
	count=$(patches_of "$section" | wc -l)
	if [ "$skip" = "$count" ] && [ "${SERIES_CHECK_AGAIN:-0}" != 1 ]; then
		n=$((n + count))
		say "series-check: $section: its $count patches passed before (refs/passed/$key)"
		[ "$section" != "$main" ] || main_key=$key
		continue
	fi
	[ "${SERIES_CHECK_AGAIN:-0}" != 1 ] || key=$env_key at=base skip=0
	goto "$at"
	configure
	built=
	if [ "$skip" -gt 0 ]; then
		n=$((n + skip))
		say "series-check: $section: its first $skip patches passed before; from the tree they left"
	fi
	i=0
	for p in $(patches_of "$section"); do
		i=$((i + 1))
		[ "$i" -gt "$skip" ] || continue
		key=$(next_key "$key" "$p")
		check_patch "$p"
		if [ "$i" = "$count" ]; then
			# The build directory must hold this tree's build: the
			# patches not built (documentation) leave the one before
			# them, if this run made it.
			if [ -z "$built" ]; then
				t=$(build "$section after its last patch")
				say "series-check: $section: built as its last patch left it, for the coverage check, in $t s"
			fi
			CC=clang-$LLVM_MAJOR sh "$REPO/harness/series-cover.sh" "$tree" "$BUILD" >&2 ||
				die "$section: the series kernel does not compile all the series changes: set what is missing in harness/series.config"
		fi
		git -C "$work" update-ref "refs/passed/$key" "$(git -C "$tree" rev-parse HEAD)"
	done
	[ "$section" != "$main" ] || main_key=$key
done
[ -z "${SERIES_DIR:-}" ] || { say "series-check: $n patches of $SERIES_DIR passed"; exit 0; }

goto "$(passed "$main_key")"
for section in $others; do
	for p in $(patches_of "$section"); do
		am "$p" || { cat "$log" >&2; die "$section/$(basename "$p") does not apply on top of $main"; }
	done
done

# The tree of the last patch is the one `make build` assembles: the files the
# series changes are the files tree.sh patched or copied, with the same
# content; every other file is the base's in both.
changed=$(git -C "$tree" diff --name-only base HEAD | sort)
manifest=$(sort "$SRC/.pmu-rs-manifest")
if [ "$changed" != "$manifest" ]; then
	printf '%s\n' "$changed" > "$BUILD/.pmu-rs-series-files"
	printf '%s\n' "$manifest" | diff -u - "$BUILD/.pmu-rs-series-files" | sed -n 's/^[-+][^-+]/&/p' >&2
	die "the series changes other files than make build's tree (- make build, + series); run make tree first?"
fi
for f in $changed; do
	cmp -s "$tree/$f" "$SRC/$f" || die "$f differs between the series and make build's tree ($SRC)"
done
say "series-check: after the last patch the tree is make build's ($(echo "$changed" | wc -l) files changed from the base)"

# Every file the series adds has a MAINTAINERS entry besides THE REST.
added=$(git -C "$tree" diff --name-only --diff-filter=A base HEAD)
entries=
for f in $added; do
	who=$(cd "$tree" && scripts/get_maintainer.pl --no-git --no-git-fallback -f "$f" |
		sed -n 's/.*(\(maintainer\|supporter\|odd fixer\):\(.*\))$/\2/p' |
		grep -v '^THE REST$' | sort -u | paste -s -d, -)
	[ -n "$who" ] || die "$f, added by the series, has no MAINTAINERS entry besides THE REST"
	entries="$entries$who
"
done
printf '%s' "$entries" | sort | uniq -c | awk '{ n = $1; $1 = ""; printf "  %d files:%s\n", n, $0 }' >&2
say "series-check: the $(echo "$added" | wc -l) files the series adds have maintainers (scripts/get_maintainer.pl)"

# Built in, as a kernel configured with them =y has them.
configure
"$tree/scripts/config" --file "$BUILD/.config" -e SAMPLE_RUST_PMU -e DRM_I915_PMU_RS
$KMAKE -s olddefconfig >> "$log" 2>&1
grep -q '^CONFIG_SAMPLE_RUST_PMU=y' "$BUILD/.config" && grep -q '^CONFIG_DRM_I915_PMU_RS=y' "$BUILD/.config" ||
	die "could not configure the sample and the driver =y"
t=$(build "the series with the sample and the driver =y")
for m in samples/rust/rust_pmu.ko drivers/gpu/drm/i915/pmu_rs/i915_pmu_rs.ko; do
	grep -qx "kernel/$m" "$BUILD/modules.builtin" || die "$m is not in modules.builtin: not built in"
done
say "series-check: sample and driver built in (=y) in $t s"
say "series-check: $n patches apply, pass checkpatch --strict and build one by one ($(($(date +%s) - start)) s)"
git -C "$work" update-ref "refs/passed/all-$all_key" "$(git -C "$tree" rev-parse HEAD)"
