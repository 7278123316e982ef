#!/bin/sh
# Prove that the kernel `make series-check` builds (harness/series.config)
# compiles everything the series changes: run in a tree ($1, a git tree
# whose HEAD is the last patch and whose ref `base` is the base) after it
# was built into $2 with its .config.
#
# - Every C, header and Rust file the series adds or changes is read by
#   the build: it is named in a Kbuild .cmd file of the build directory
#   (a source, or a dependency that fixdep or rustc recorded).
# - Every changed line of a C file or header is compiled in: the #if,
#   #ifdef and #elif branches around it whose conditions name a CONFIG_
#   symbol hold under the build's autoconf.h (the C preprocessor decides).
# - Every cfg(CONFIG_...) in a changed Rust line names a symbol set =y
#   (but inside not(); a cfg(any()) is not judged). A changed Rust line
#   inside an item whose unchanged cfg attribute is lines above is not
#   seen: the file is read, the item may be compiled out.
#
# What a part of the build other than this kernel covers is listed in
# `elsewhere` below, with where it is checked. Prints what is not covered,
# one line each, and fails if anything is.
set -eu
tree=$1 build=$2
CC=${CC:-clang-${LLVM_MAJOR:-19}}

# path (a shell pattern) and where it is checked instead.
elsewhere='
Documentation/*	make docs (Sphinx)
MAINTAINERS	series-check, get_maintainer.pl on every added file
tools/testing/selftests/*	make build (kselftest-install)
scripts/Makefile.kcsan	make kcsan (KCSAN flags)
scripts/Makefile.lib	make kcsan (KCSAN flags)
*Kconfig*	the fragment, every symbol of which must stick
*Makefile	the objects they add, each of which must be read
'
covered_elsewhere() {
	printf '%s' "$elsewhere" | while IFS='	' read -r pat why; do
		[ -n "$pat" ] || continue
		# shellcheck disable=SC2254
		case $1 in $pat) echo "$why"; return ;; esac
	done
}

bad=0
fail() { echo "  NOT COVERED  $*"; bad=1; }
files=$(git -C "$tree" diff --name-only --diff-filter=AM base HEAD)
cmds=$(mktemp)
trap 'rm -f "$cmds" "$cmds.c"' EXIT
find "$build" -name '.*.cmd' > "$cmds"
nf=0 nh=0 nr=0
for f in $files; do
	why=$(covered_elsewhere "$f")
	if [ -n "$why" ]; then
		echo "  elsewhere    $f: $why"
		continue
	fi
	case $f in *.c | *.h | *.rs) ;; *) fail "$f: not a C, header or Rust file"; continue ;; esac
	nf=$((nf + 1))
	[ -n "$(xargs -r grep -l -F -m1 -e "/$f" < "$cmds" 2>/dev/null | head -n 1)" ] ||
		{ fail "$f: no object of the build reads it"; continue; }

	case $f in
	*.c | *.h)
		# The new-side line numbers of the added lines.
		lines=$(git -C "$tree" diff -U0 base HEAD -- "$f" | awk '
			/^@@/ { split($3, a, ","); n = substr(a[1], 2); h = 1; next }
			!h { next }
			/^\+/ { print n++ }')
		# The #if conditions around each of them that name a CONFIG_
		# symbol, distinct; "line<TAB>condition".
		[ -n "$lines" ] || continue
		printf '%s\n' "$lines" | awk '
			function cond(   i, c, s) {
				s = ""
				for (i = 1; i <= d; i++) {
					c = "(" prior[i] ") && (" raw[i] ")"
					if (prior[i] raw[i] ~ /CONFIG_/) s = s (s == "" ? "" : " && ") c
				}
				return s
			}
			NR == FNR { want[$1] = 1; next }
			{ first = FNR; l = $0
			  while (l ~ /\\$/ && (getline more) > 0) l = substr(l, 1, length(l) - 1) " " more
			  sub(/\/\/.*/, "", l); gsub(/\/\*[^*]*\*\//, "", l)
			  # A changed line of code, not a conditional directive (whose
			  # own branch is not what it sits in).
			  hit = 0
			  if (l !~ /^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)([ \t(]|$)/)
				for (k = first; k <= FNR; k++) if (k in want) hit = k
			  if (hit) { c = cond(); if (c != "" && !(c in seen)) { seen[c] = 1; print hit "\t" c } } }
			l ~ /^[ \t]*#[ \t]*(if|ifdef|ifndef)[ \t(]/ {
				sub(/^[ \t]*#[ \t]*/, "", l); kw = l; sub(/[ \t(].*/, "", kw)
				e = substr(l, length(kw) + 1)
				if (kw == "ifdef") e = "defined(" e ")"
				else if (kw == "ifndef") e = "!defined(" e ")"
				d++; prior[d] = "1"; raw[d] = e; next }
			l ~ /^[ \t]*#[ \t]*elif[ \t(]/ {
				sub(/^[ \t]*#[ \t]*elif/, "", l)
				prior[d] = prior[d] " && !(" raw[d] ")"; raw[d] = l; next }
			l ~ /^[ \t]*#[ \t]*else/ { prior[d] = prior[d] " && !(" raw[d] ")"; raw[d] = "1"; next }
			l ~ /^[ \t]*#[ \t]*endif/ { d--; next }
		' - "$tree/$f" > "$cmds.c"
		while IFS='	' read -r n c; do
			nh=$((nh + 1))
			printf '#if %s\n#else\n#error not compiled\n#endif\n' "$c" |
				$CC -E -P -x c -D__KERNEL__ -I"$build/include" \
					-include "$tree/include/linux/kconfig.h" - > /dev/null 2>&1 &&
				echo "  compiled in  $f:$n and the changed lines under the same #if: $c" ||
				fail "$f:$n is compiled out: #if $c"
		done < "$cmds.c"
		;;
	*.rs)
		# The symbols a cfg() needs set: those inside not() are dropped,
		# and a cfg(any()) is not judged (one of its symbols would do).
		for sym in $(git -C "$tree" diff -U0 base HEAD -- "$f" | awk '/^@@/ { h = 1; next } h && /^\+/' |
				grep -o 'cfg(.*' | grep -v 'any(' | sed 's/not([^()]*)//g' |
				grep -o 'CONFIG_[A-Z0-9_]*' | sort -u); do
			nr=$((nr + 1))
			grep -qx "$sym=y" "$build/.config" || fail "$f: cfg($sym) code is compiled out ($sym is not =y)"
		done
		;;
	esac
done
echo "  checked: $nf files, $nh #if contexts and $nr Rust cfg symbols of their changed lines"
exit "$bad"
