#!/bin/sh
# `make series-check`: prove the series that `make series` writes. In a
# scratch tree of the pinned base, `git am` each patch in turn, run
# `checkpatch.pl --strict` on it and build (CLIPPY=1, incremental: the cost
# is what the patch changed). After the last patch the tree must be the one
# `make build` assembles, and it must also build with the sample and the
# driver built in (=y).
#
# Each section of `series` is sent against the base, so each is checked on
# the base: the small ones first (a reset after them is cheap), the main
# one last; then the others are applied on top of it for the comparison
# with `make build`'s tree, which has them all.
#
# The kernel is the test kernel's configuration without its debugging
# options (harness/series.config, FLAVOUR=series), in its own build
# directory. Not covered here: the kselftests (`make build` builds them)
# and the KCSAN-only code of the kcsan-rust patch (`make kcsan` builds it).
set -eu
FLAVOUR=series
. "$(dirname "$0")/env.sh"

work=$CACHE/series/git
tree=$CACHE/series/check
out=$CACHE/series/check-out	# not `make series`'s directory: see below
log=$BUILD/.pmu-rs-series-check.log
start=$(date +%s)

# The series is signed off as whoever runs this; on a machine with no git
# identity (a CI runner), as "series-check", in this check's own directory
# only: nothing that `make series` writes.
if ! git -C "$REPO" config user.email >/dev/null; then
	export GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0=user.name GIT_CONFIG_VALUE_0=series-check \
		GIT_CONFIG_KEY_1=user.email GIT_CONFIG_VALUE_1=series-check
fi
mkdir -p "$CACHE/series"
say "series-check: make series into $out"
O=$out sh "$REPO/harness/series.sh" > "$CACHE/series/series.log" 2>&1 ||
	{ cat "$CACHE/series/series.log" >&2; die "make series failed"; }
cat "$CACHE/series/series.log" >&2

# The scratch tree: a worktree of the series repository, reset to the base.
# A reset touches only the files the last run changed.
if ! git -C "$tree" rev-parse -q --verify base >/dev/null 2>&1; then
	rm -rf "$tree"
	git -C "$work" worktree prune
	git -C "$work" worktree add -q --detach "$tree" base
fi
reset() {
	git -C "$tree" am --abort >/dev/null 2>&1 || true
	git -C "$tree" checkout -q -f --detach base
	git -C "$tree" clean -q -fdx
}
am() {
	git -C "$tree" -c user.name=series-check -c user.email=series-check \
		am -q "$1" > "$log" 2>&1
}

# The configuration: pmu-rs.config with series.config on top, merged again
# after every patch that touches a Kconfig file (new symbols get their
# fragment's value once they exist).
frag=$(flavour_fragment)
KMAKE=$(kmake_for "$tree")
configure() {
	if [ ! -f "$BUILD/.config" ]; then
		(cd "$tree" && vng --kconfig O="$BUILD" LLVM=-$LLVM_MAJOR) > "$log" 2>&1 ||
			{ tail -n 30 "$log" >&2; die "vng --kconfig failed"; }
	fi
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" \
		"$frag" > "$log" 2>&1
	$KMAKE -s olddefconfig >> "$log" 2>&1
}
# Builds; prints the seconds it took. $1 names what is built, for the error.
build() {
	t0=$(date +%s)
	if ! $KMAKE -j"$JOBS" CLIPPY=1 > "$log" 2>&1; then
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
	if git -C "$tree" diff --name-only HEAD~1 HEAD | grep -q 'Kconfig'; then
		configure
	fi
	t=$(build "$name")
	n=$((n + 1))
	say "series-check: [$n/$total] $section: $subj: checkpatch clean, built in $t s"
}
patches_of() {
	for p in "$out/$1"/*.patch; do
		case $p in *0000-cover-letter.patch) ;; *) echo "$p" ;; esac
	done
}

sections=$(series_sections)
main=$(echo "$sections" | head -1)
others=$(echo "$sections" | tail -n +2)
total=$(series_patches | wc -l)
n=0

reset
configure
[ -f "$BUILD/vmlinux" ] || say "series-check: first build of the base in $BUILD (cold: ~15 min)"
t=$(build "the base")
say "series-check: the base built in $t s"
for section in $others $main; do
	if [ "$section" != "$(echo "$others" | head -1)" ]; then
		reset
		configure
	fi
	for p in $(patches_of "$section"); do
		check_patch "$p"
	done
done
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
