#!/bin/sh
# Build the Rust documentation section with Sphinx (`make htmldocs
# SPHINXDIRS=rust`); a Sphinx warning or error in one of our pages fails.
set -eu
. "$(dirname "$0")/env.sh"

log=$BUILD/.pmu-rs-htmldocs.log
say "htmldocs (SPHINXDIRS=rust)"
make -C "$SRC" O="$BUILD" SPHINXDIRS=rust htmldocs > "$log" 2>&1 ||
	{ tail -n 30 "$log" >&2; die "make htmldocs failed"; }
ours=$(overlay_files -name '*.rst')
hits=$(grep -E 'WARNING|ERROR' "$log" | grep -F "$ours" || true)
if [ -n "$hits" ]; then
	echo "$hits" >&2
	die "Sphinx warnings in our pages"
fi
phase_done docs
echo "  OK    htmldocs: $(echo "$ours" | wc -l) pages of ours without warnings ($(grep -c 'WARNING' "$log" || true) upstream warnings ignored)"
