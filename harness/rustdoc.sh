#!/bin/sh
# `make rustdoc` for the kernel crates; a rustdoc warning in our files fails.
set -eu
. "$(dirname "$0")/env.sh"

log=$BUILD/.pmu-rs-rustdoc.log
# `make rustdoc` documents every crate again each time (about a minute
# warm). What it reads: the crates' sources under rust/, the bindings the
# build generated, the kernel's config, rustdoc itself and its flags (the
# Makefiles that make them, the target and cfg files the build generated,
# our make command line). When none of these changed since a run that
# passed, its log stands (RUSTDOC_AGAIN=1 runs it anyway).
stamp=$BUILD/.pmu-rs-rustdoc.stamp
inputs=$( { /usr/bin/rustdoc --version; echo "$KMAKE"
	(cd "$SRC" && { find rust -type f \( -name '*.rs' -o -name Makefile \)
		find scripts -maxdepth 1 -name 'Makefile*'
		echo Makefile; echo arch/x86/Makefile; } | sort | xargs -r sha256sum)
	(cd "$BUILD" && { find rust -type f -name '*.rs'
		echo .config; echo scripts/target.json; echo include/generated/rustc_cfg; } |
		sort | xargs -r sha256sum); } | sha256sum)
if [ "${RUSTDOC_AGAIN:-0}" != 1 ] && [ -f "$log" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ]; then
	say "rustdoc: its inputs are those of the last run that passed; its log stands"
else
	say "rustdoc"
	rm -f "$stamp"
	$KMAKE -j"$JOBS" CLIPPY=1 rustdoc > "$log" 2>&1 || { tail -n 30 "$log" >&2; die "make rustdoc failed"; }
fi
ours=$(overlay_files -name '*.rs')
hits=$(grep -E '^ *--> ' "$log" | sed -E 's/^ *--> //; s/:[0-9]+.*//; s|^'"$SRC"'/||' |
	sort -u | grep -xF "$ours" || true)
if [ -n "$hits" ]; then
	grep -B3 -A10 -F "$hits" "$log" >&2 || true
	die "rustdoc warnings in our code: $(echo $hits)"
fi
echo "$inputs" > "$stamp"
phase_done rustdoc
echo "  OK    rustdoc ($(grep -c '^ *--> ' "$log" || true) upstream warnings ignored)"
