# shellcheck shell=sh
# Common settings for the harness scripts; sourced, never run.

REPO=$(cd "$(dirname "$0")/.." && pwd)
PMU_RS_CACHE=${PMU_RS_CACHE:-$HOME/.cache/pmu-rs}
CACHE=$PMU_RS_CACHE
FLAVOUR=${FLAVOUR:-test}		# kernel flavour, one build dir each
SRC=$CACHE/src/linux			# assembled tree: pristine + patches + overlay
# The nocore flavour is the test kernel without the series' perf core
# patches (perf-core-*), the base of `make perf-test`: a tree of its own.
if [ "$FLAVOUR" = nocore ]; then SRC=$CACHE/src/linux-nocore; fi
BUILD=$CACHE/build/$FLAVOUR
TOOLS=$CACHE/tools
VENV=$CACHE/venv
RUNS=${PMU_RS_RUNS:-$CACHE/runs}	# run directories of the boots

# What in a kernel log (a KCSAN report's stacks, a kmemleak backtrace) names
# pmu-rs code: its modules, the kernel crate's perf module, the kselftest.
OURS='pmu_rs|rust_pmu|perf_unbind|6kernel4perf|i915_pmu_rs'

# Kernel messages that fail a run (harness/report.sh, harness/mutants.sh).
# DMA-API: only its reports; it also says hello at boot.
SPLAT='BUG:|WARNING:|Oops|general protection fault|Kernel panic|KASAN:|UBSAN:|kernel BUG|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|rcu_sched self-detected|detected stall|invalid wait context|Call Trace:|unexpected IRQ trap|nobody cared|No irq handler for vector|rcu: INFO:|detected expedited stalls|soft lockup|hard LOCKUP|list_(add|del) corruption|kmemleak: Kernel memory leak detector disabled|DMA-API: (.*device driver|debugging out of memory)|ODEBUG: '

# The overlay: repository directories that hold files at their kernel paths.
OVERLAY_DIRS="Documentation drivers include kernel rust samples tools"

PATH=$VENV/bin:$TOOLS/bin:$PATH
export PATH

# Clang and LLVM of the flavour. The test kernel is built with clang 19. The
# bench kernel is built with clang 22, the LLVM that Debian's rustc 1.96 is
# built on, so that CONFIG_RUST_INLINE_HELPERS (harness/bench.config) can
# inline the C helpers into Rust code: that takes one LLVM for both.
case $FLAVOUR in
bench) LLVM_MAJOR=22 ;;
*) LLVM_MAJOR=19 ;;
esac

# Kbuild variables for every make invocation on a tree ($1) into $BUILD.
kmake_for() {
	echo "make -C $1 O=$BUILD LLVM=-$LLVM_MAJOR RUSTC=/usr/bin/rustc \
RUSTDOC=/usr/bin/rustdoc RUSTFMT=/usr/bin/rustfmt \
CLIPPY_DRIVER=/usr/bin/clippy-driver BINDGEN=$TOOLS/bin/bindgen \
LIBCLANG_PATH=/usr/lib/llvm-$LLVM_MAJOR/lib"
}
KMAKE=$(kmake_for "$SRC")
JOBS=${JOBS:-$(nproc)}

# A cold build of the flavour as measured on the 2-CPU CI machine
# (harness/build-steps): "STEPS SECONDS DATE", or nothing.
cold_build() { awk -v f="$FLAVOUR" '$1 == f { print $2, $3, $4 }' "$REPO/harness/build-steps"; }
# What a cold build of the flavour takes, for a banner.
cold_build_says() {
	set -- $(cold_build)
	if [ $# = 3 ]; then echo "cold: $1 steps, $(($2 / 60)) min on 2 CPUs (measured $3)"
	else echo "cold: not measured"; fi
}
# Kbuild's output on stdin -> a progress line every 250 steps on stderr,
# against the step count of the last full build of the flavour in
# $BUILD/.pmu-rs-steps$1 (one of more than $2 steps), else of
# harness/build-steps; errors as they come; the count at the end.
kbuild_progress() {
	full=$(cat "$BUILD/.pmu-rs-steps$1" 2>/dev/null || cold_build | cut -d' ' -f1)
	awk -v full="${full:-0}" -v min="$2" -v steps="$BUILD/.pmu-rs-steps$1" '
	/^  [A-Z]/ { n++; last = $0 }
	n && n % 250 == 0 && last != shown {
		of = full > n ? sprintf(" of ~%d (%d%%)", full, 100 * n / full) : ""
		printf "  ... %d steps%s, at:%s\n", n, of, substr(last, 2); shown = last; fflush() }
	/: error[: ]|^error(\[E[0-9]+\])?:|\*\*\* \[/ { print; fflush(); failed = 1 }
	END { if (n > 250) printf "  %d build steps\n", n; if (n > min && !failed) print n > steps }' >&2
}

# Where the time goes: a host step ends with `phase_done NAME`, which
# appends "NAME SECONDS" to a log that the next boot takes into its run
# directory (harness/run.sh), for its report's timing table.
PHASES=${PMU_RS_PHASES:-$CACHE/phases.host}
PHASE_START=$(date +%s)
phase_done() {
	n=$1
	[ "$FLAVOUR" = test ] || n="$n ($FLAVOUR)"
	echo "$n $(($(date +%s) - PHASE_START))" >> "$PHASES"
}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[1;33mWARNING: %s\033[0m\n' "$*" >&2; }
die() { printf '\033[1;31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# The overlay's files (relative paths), sorted; extra args filter `find`.
overlay_files() {
	(cd "$REPO" && for d in $OVERLAY_DIRS; do
		if [ -d "$d" ]; then find "$d" -type f ! -name '*~' ! -name '.*.sw?' "$@"; fi
	done | sort)
}

# `series`: the patches in order, and "patch<TAB>overlay path" per entry.
# The nocore flavour leaves out the perf core patches.
series_patches() {
	sed -n 's/^\([0-9][0-9]*-[^[:space:]]*\.patch\)[[:space:]]*$/\1/p' "$REPO/series" |
		if [ "$FLAVOUR" = nocore ]; then grep -v '^[0-9]*-perf-core-'; else cat; fi
}
series_entries() {
	awk '/^[0-9]+-[^[:space:]]*\.patch[[:space:]]*$/ { p = $1; next }
		/^[[:space:]]+[^#[:space:]]/ { print p "\t" $1 }' "$REPO/series"
}
# Every overlay file in exactly one patch of `series`, every entry naming
# overlay files: prints the problems, one per line, and fails if any.
series_check_overlay() {
	{ series_entries; echo "--"; overlay_files; } | awk -F '\t' '
		$0 == "--" { files = 1; next }
		!files { if ($1 == "") { print "series: " $2 " is listed before any patch"; bad = 1 }
			ent[++n] = $2; pat[n] = $1; next }
		{ hits = 0
		  for (i = 1; i <= n; i++) {
			e = ent[i]
			if ($0 == e || (e ~ /\/$/ && substr($0, 1, length(e)) == e)) {
				hits++; used[i] = 1; who = who " " pat[i]
			}
		  }
		  if (hits == 0) { print "overlay file " $0 " is in no patch: list it under one in series"; bad = 1 }
		  if (hits > 1) { print "overlay file " $0 " is in more than one patch:" who; bad = 1 }
		  who = "" }
		END { for (i = 1; i <= n; i++) if (!used[i]) {
			print "series: " ent[i] " (under " pat[i] ") names no overlay file"; bad = 1 }
		      exit bad }'
}

# The Kconfig fragment of the flavour: harness/pmu-rs.config, and for the
# other flavours harness/$FLAVOUR.config on top, which replaces every symbol
# of the first that starts with one of its own (CONFIG_KASAN also drops
# CONFIG_KASAN_INLINE); for the series check's allnoconfig kernel,
# harness/series.config alone. Prints the path of the fragment.
flavour_fragment() {
	case $FLAVOUR in test | nocore) echo "$REPO/harness/pmu-rs.config"; return ;; esac
	[ "$FLAVOUR" = series ] && { echo "$REPO/harness/series.config"; return; }
	top=$REPO/harness/$FLAVOUR.config
	[ -f "$top" ] || die "no Kconfig fragment $top for FLAVOUR=$FLAVOUR"
	mkdir -p "$BUILD"
	syms=$(grep -o 'CONFIG_[A-Z0-9_]*' "$top" | sort -u)
	{ grep -v -F "$syms" "$REPO/harness/pmu-rs.config"; cat "$top"; } > "$BUILD/.pmu-rs-fragment"
	echo "$BUILD/.pmu-rs-fragment"
}

# checkpatch.pl --strict on a patch, run in tree $1, options $2, patch $3;
# prints what it reports. The base is a tarball, not a git tree: checkpatch
# cannot look up the commits that Fixes: tags name (UNKNOWN_COMMIT_ID), and
# a Fixes: tag quotes the upstream subject as it is, spelling included.
# checkpatch.pl exits 1 on what it reports; any other failure (a crash,
# on stderr) is reported with its exit status.
checkpatch_patch() {
	# In a git tree checkpatch also runs scripts/spdxcheck.py, with the
	# system's python3, /usr/bin/python3 (python3-ply, python3-git).
	{ (cd "$1" && PATH=/usr/bin:$PATH scripts/checkpatch.pl --strict --quiet --no-summary --show-types \
		--ignore "UNKNOWN_COMMIT_ID$2" "$3" 2>&1); printf '\ncheckpatch.pl exited with %s\n' $?; } | awk '
		BEGIN { RS = ""; ORS = "\n\n" }
		/^checkpatch\.pl exited with [01]$/ { next }
		/^WARNING:TYPO_SPELLING:/ && /\nFixes: [0-9a-f]+ \("/ { next }
		{ print }'
}

# A patch file's text less what follows the repository's last commit (the
# commit id and date of its "From " and "Date:" lines): what the content
# key of a checked patch hashes.
patch_text() { sed -E '/^From [0-9a-f]{40} /d; /^Date: /d' "$@"; }

# Where git has no identity (a CI runner), sign off as "series-check" in
# this script's git commands only: nothing that `make series` writes.
git_identity_fallback() {
	git -C "$REPO" config user.email >/dev/null && return
	export GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0=user.name GIT_CONFIG_VALUE_0=series-check \
		GIT_CONFIG_KEY_1=user.email GIT_CONFIG_VALUE_1=series-check
}

# The "== name" sections of `series`, in order.
series_sections() { sed -n 's/^== //p' "$REPO/series"; }
