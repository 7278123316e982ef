#!/bin/sh
# Assemble the kernel tree: pristine base -> patches in `series` -> the
# repository's overlay directories. The result is staged first; only files
# whose content differs are copied into the tree, so Kbuild rebuilds only
# what changed. A file that left the overlay (or a patch) is deleted from the
# tree or restored from the pristine base.
set -eu
. "$(dirname "$0")/env.sh"
. "$CACHE/base.used"

pristine=$CACHE/src/pristine-$USED_VERSION
manifest=$SRC/.pmu-rs-manifest

if [ "$(cat "$SRC/.pmu-rs-base" 2>/dev/null)" != "$USED_VERSION" ]; then
	say "creating the $([ "$FLAVOUR" = nocore ] && echo "nocore ")work tree from $USED_VERSION (clean build follows)"
	# The builds of the tree: the nocore flavour's alone has its own.
	if [ "$FLAVOUR" = nocore ]; then rm -rf "$SRC" "$SRC.tmp" "$BUILD"
	else rm -rf "$SRC" "$SRC.tmp" "$CACHE/build"; fi
	cp -a "$pristine" "$SRC.tmp"
	echo "$USED_VERSION" > "$SRC.tmp/.pmu-rs-base"
	mv "$SRC.tmp" "$SRC"
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/pmu-rs-stage.XXXXXX")
trap 'rm -rf "$stage" "$stage.overlay"' EXIT

# 0. Every overlay file belongs to one patch of the series (`make series`).
problems=$(series_check_overlay) || { printf '%s\n' "$problems" >&2; die "series does not match the overlay"; }

# 1. The patch series, applied to copies of just the files it touches.
patches=$(series_patches)
for p in $patches; do
	[ -f "$REPO/patches/$p" ] || die "series names patches/$p, which does not exist"
	sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$REPO/patches/$p"
done | sort -u | while read -r f; do
	[ -f "$pristine/$f" ] || continue
	mkdir -p "$stage/$(dirname "$f")"
	cp "$pristine/$f" "$stage/$f"
done
for p in $patches; do
	patch -p1 -s -F0 -N --no-backup-if-mismatch -r - -d "$stage" \
		< "$REPO/patches/$p" > "$stage.log" 2>&1 ||
		{ cat "$stage.log" >&2; rm -f "$stage.log"; die "patches/$p does not apply to $USED_VERSION"; }
done
rm -f "$stage.log"

# 2. The overlay: new files at their kernel paths.
overlay_files > "$stage.overlay"
cd "$REPO"
while read -r f; do
	[ -e "$pristine/$f" ] &&
		die "overlay file $f shadows an upstream file; change it with a patch instead"
	[ -e "$stage/$f" ] && die "overlay file $f is also created by a patch"
	mkdir -p "$stage/$(dirname "$f")"
	cp "$f" "$stage/$f"
done < "$stage.overlay"
rm -f "$stage.overlay"

# 3. Sync the stage into the tree, touching only what changed.
(cd "$stage" && find . -type f | sed 's|^\./||' | sort) > "$manifest.new"
while read -r f; do
	if ! cmp -s "$stage/$f" "$SRC/$f"; then
		mkdir -p "$SRC/$(dirname "$f")"
		cp "$stage/$f" "$SRC/$f"
		echo "  UPDATE  $f" >&2
	fi
done < "$manifest.new"
touch "$manifest"
sort "$manifest" | comm -23 - "$manifest.new" | while read -r f; do
	if [ -f "$pristine/$f" ]; then
		cp "$pristine/$f" "$SRC/$f"
		echo "  RESTORE $f" >&2
	else
		rm -f "$SRC/$f"
		echo "  REMOVE  $f" >&2
	fi
done
mv "$manifest.new" "$manifest"
phase_done tree
say "tree${SRC#"$CACHE/src/linux"}: $USED_VERSION + $(echo "$patches" | grep -c . || true) patches + overlay ($(wc -l < "$manifest") files)"
