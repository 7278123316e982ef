#!/bin/sh
# `make rustdoc` for the kernel crates; a rustdoc warning in our files fails.
set -eu
. "$(dirname "$0")/env.sh"

log=$BUILD/.pmu-rs-rustdoc.log
say "rustdoc"
$KMAKE -j"$JOBS" CLIPPY=1 rustdoc > "$log" 2>&1 || { tail -n 30 "$log" >&2; die "make rustdoc failed"; }
ours=$(overlay_files -name '*.rs')
hits=$(grep -E '^ *--> ' "$log" | sed -E 's/^ *--> //; s/:[0-9]+.*//; s|^'"$SRC"'/||' |
	sort -u | grep -xF "$ours" || true)
if [ -n "$hits" ]; then
	grep -B3 -A10 -F "$hits" "$log" >&2 || true
	die "rustdoc warnings in our code: $(echo $hits)"
fi
phase_done rustdoc
echo "  OK    rustdoc ($(grep -c '^ *--> ' "$log" || true) upstream warnings ignored)"
