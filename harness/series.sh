#!/bin/sh
# `make series [O=dir] [V=n]`: the work as `git format-patch` series, one
# directory per "== name" section of `series`, made by git from a scratch
# repository of the pinned base: one commit per patch, with the patch's
# upstream hunks and the overlay files listed under it. The commit message
# is the patch file's; author and Signed-off-by are whoever runs this
# (`git config user.name`/`user.email`). patches/NAME.cover, when there is
# one, is the section's cover letter: subject line, blank line, text.
#
# The scratch repository stays in the cache ($CACHE/series/git): its base
# commit is the pristine tree committed with fixed metadata, so the
# base-commit line of every run names the same commit.
set -eu
. "$(dirname "$0")/env.sh"
. "$CACHE/base.used"

pristine=$CACHE/src/pristine-$USED_VERSION
work=$CACHE/series/git
out=${O:-$CACHE/series/out}
case $out in /*) ;; *) out=$REPO/$out ;; esac

problems=$(series_check_overlay) || { printf '%s\n' "$problems" >&2; die "series does not match the overlay"; }
name=$(git -C "$REPO" config user.name || true)
email=$(git -C "$REPO" config user.email || true)
[ -n "$name" ] && [ -n "$email" ] ||
	die "the patches are signed off as you: set git config user.name and user.email"

g() { git -C "$work" "$@"; }

# The base, once per base version: committing ~90k files takes a minute.
if [ "$(cat "$work/.git/pmu-rs-base" 2>/dev/null)" != "$USED_VERSION" ]; then
	say "series: committing the base $USED_VERSION to a scratch repository (once, a few minutes)"
	rm -rf "$work" "$work.tmp"
	mkdir -p "$(dirname "$work")"
	cp -a "$pristine" "$work.tmp"
	git -C "$work.tmp" init -q -b base
	git -C "$work.tmp" config core.autocrlf false
	git -C "$work.tmp" config gc.auto 0
	git -C "$work.tmp" add -A -f	# Debian's .gitignore ignores everything at the top
	GIT_AUTHOR_NAME=pmu-rs GIT_AUTHOR_EMAIL=pmu-rs GIT_COMMITTER_NAME=pmu-rs \
	GIT_COMMITTER_EMAIL=pmu-rs GIT_AUTHOR_DATE='2000-01-01T00:00:00+0000' \
	GIT_COMMITTER_DATE='2000-01-01T00:00:00+0000' \
		git -C "$work.tmp" commit -q -m "Linux $USED_VERSION (Debian linux-source)"
	echo "$USED_VERSION" > "$work.tmp/.git/pmu-rs-base"
	mv "$work.tmp" "$work"
fi
base=$(g rev-parse base)

# Reproducible commits: the dates of the repository's last commit.
GIT_AUTHOR_DATE=$(git -C "$REPO" log -1 --format=%cI)
GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
export GIT_AUTHOR_DATE GIT_COMMITTER_DATE

# Only the section directories are replaced, never $out itself (O=.).
mkdir -p "$out"
for d in $(series_sections); do rm -rf "${out:?}/$d"; done
section=
nr=0

# Writes the section's patches, once its commits are made.
finish() {
	[ -n "$section" ] || return 0
	dir=$out/$section
	cover=
	[ -f "$REPO/patches/$section.cover" ] && [ "$nr" -gt 1 ] && cover=--cover-letter
	g -c user.name="$name" -c user.email="$email" format-patch -q -s $cover ${V:+-v "$V"} --base="$base" -o "$dir" "$base..$section"
	if [ -n "$cover" ]; then
		c=$(ls "$dir"/*0000-cover-letter.patch)
		awk -v coverf="$REPO/patches/$section.cover" '
			BEGIN { while ((getline l < coverf) > 0) {
					if (!n++) subj = l
					else if (n > 2 || l != "") blurb = blurb l "\n" } }
			{ sub(/\*\*\* SUBJECT HERE \*\*\*/, subj) }
			/^\*\*\* BLURB HERE \*\*\*$/ { printf "%s", blurb; next }
			{ print }' "$c" > "$c.new"
		mv "$c.new" "$c"
	fi
	say "series $section: $nr patches in $dir"
	for f in "$dir"/*.patch; do
		stat=$(sed -n 's/^ [0-9]* files\{0,1\} changed, /&/p' "$f" | head -1)
		printf '  %-60s %s\n' "$(basename "$f")" "${stat:- (cover letter)}"
	done
}

# One commit per patch of `series`, a branch per section, each from the base.
while IFS= read -r line; do
	case $line in
	'== '*)
		finish
		section=${line#== }
		nr=0
		g checkout -q -f -B "$section" base
		g clean -q -fdx
		;;
	[0-9]*.patch)
		[ -n "$section" ] || die "series: $line is before the first == section"
		p=$REPO/patches/$line
		[ -f "$p" ] || die "series names patches/$line, which does not exist"
		head -1 "$p" | grep -q '^Subject: ' && grep -qx -- '---' "$p" ||
			die "patches/$line: want a Subject: line, the message, then --- and the diff"
		if grep -q '^+++ ' "$p"; then
			g apply --index "$p" || die "patches/$line does not apply in its place in the series"
		fi
		series_entries | awk -F '\t' -v p="$line" '$1 == p { print $2 }' |
		while read -r e; do
			overlay_files | awk -v e="$e" '$0 == e || (e ~ /\/$/ && index($0, e) == 1)'
		done | while read -r f; do
			mkdir -p "$work/$(dirname "$f")"
			cp "$REPO/$f" "$work/$f"
			g add -f "$f"
		done
		# The message: the Subject: line, then the text up to the diff.
		sed -n '1s/^Subject: //p' "$p" > "$work/.git/pmu-rs-msg"
		sed -n '2,/^---$/p' "$p" | sed '$d' >> "$work/.git/pmu-rs-msg"
		g -c user.name="$name" -c user.email="$email" commit -q --cleanup=whitespace -F .git/pmu-rs-msg ||
			die "patches/$line: nothing to commit"
		nr=$((nr + 1))
		;;
	esac
done < "$REPO/series"
finish
g checkout -q -f base
