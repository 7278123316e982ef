#!/bin/sh
# Configure the kernel: the `vng --kconfig` base, then harness/pmu-rs.config
# merged with the kernel's own merge_config.sh, then olddefconfig. Every
# symbol of the fragment must keep its value; otherwise this fails loudly.
# Reconfigures only when the fragment or the base changed.
set -eu
. "$(dirname "$0")/env.sh"

# The fragment of the flavour (flavour_fragment in env.sh).
frag=$(flavour_fragment)
stamp=$BUILD/.pmu-rs-config
want=$( (cat "$frag" "$SRC/.pmu-rs-base"; echo "$FLAVOUR") | sha256sum | cut -d' ' -f1)
if [ -f "$BUILD/.config" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
	exit 0
fi

say "configuring the $FLAVOUR kernel"
mkdir -p "$BUILD"
(cd "$SRC" && vng --kconfig O="$BUILD" LLVM=-$LLVM_MAJOR > "$BUILD/.pmu-rs-config.log" 2>&1) ||
	{ tail -n 30 "$BUILD/.pmu-rs-config.log" >&2; die "vng --kconfig failed"; }
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" "$frag" \
	>> "$BUILD/.pmu-rs-config.log" 2>&1
$KMAKE -s olddefconfig >> "$BUILD/.pmu-rs-config.log" 2>&1

bad=0
while read -r line; do
	case "$line" in
	"# CONFIG_"*" is not set")
		sym=${line#\# }; sym=${sym%% *}
		grep -q "^$sym=" "$BUILD/.config" || continue ;;
	CONFIG_*=*)
		sym=${line%%=*}
		grep -qxF "$line" "$BUILD/.config" && continue ;;
	*) continue ;;
	esac
	got=$(grep "^$sym=\|^# $sym is not set" "$BUILD/.config" || echo "$sym absent")
	printf 'ERROR: fragment wants "%s", .config has "%s"\n' "$line" "$got" >&2
	bad=1
done < "$frag"
[ "$bad" = 0 ] || die "Kconfig fragment did not stick (unmet dependencies?)"
echo "$want" > "$stamp"
phase_done config
say "config: $(grep -c '=' "$BUILD/.config") symbols set, fragment verified"
