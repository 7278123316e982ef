# shellcheck shell=sh
# Helpers for the scripts that run inside the guest; sourced.

RUN=$1
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$2
SRC=$(readlink -f "$BUILD/source")

# A progress line for the person watching the host side.
log() { echo "pmu-rs-guest: $*"; }

# Ask the host to send one QMP command (JSON) to QEMU; prints the replies.
host_qmp() {
	for p in /sys/class/virtio-ports/*; do
		[ "$(cat "$p/name" 2>/dev/null)" = pmu-rs.host ] && port=/dev/${p##*/}
	done
	[ -n "${port:-}" ] || { echo "no pmu-rs.host virtio-serial port" >&2; return 1; }
	exec 9<> "$port"
	echo "$1" >&9
	IFS= read -r reply <&9
	exec 9>&-
	echo "$reply"
}

# Wait up to $2 seconds for the shell condition $1 to hold.
wait_for() {
	i=0
	while ! eval "$1"; do
		i=$((i + 1))
		[ $i -le $(($2 * 10)) ] || return 1
		sleep 0.1
	done
}

mount_debugfs() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
}

# The PCI addresses of QEMU edu devices (1234:11e8). Shell builtins only:
# wait_for polls it, and a fork per sysfs file costs seconds under TCG.
edu_devices() {
	for d in /sys/bus/pci/devices/*; do
		read -r v < "$d/vendor" && read -r i < "$d/device" &&
			[ "$v" = 0x1234 ] && [ "$i" = 0x11e8 ] && echo "${d##*/}"
	done 2>/dev/null
}

# Loads i915_pmu_rs, waits for it to bind to the first edu device and sets
# dev (its PCI address), pmu (its PMU's name), sysfs, dbg (its debugfs
# directory) and drv (the driver's sysfs directory).
i915rs_setup() {
	mount_debugfs
	modprobe i915_pmu_rs
	wait_for '[ -n "$(edu_devices)" ] && [ -e "/sys/bus/pci/devices/$(edu_devices | head -n 1)/driver" ]' 30
	dev=$(edu_devices | head -n 1)
	pmu=i915rs_$(echo "$dev" | tr : _)
	sysfs=/sys/bus/event_source/devices/$pmu
	dbg=/sys/kernel/debug/$pmu
	drv=/sys/bus/pci/drivers/i915_pmu_rs
}

# A field of i915_pmu_rs's `engines` debugfs file ($dbg, from i915rs_setup):
# engine_field rcs0 pending, or engine_field gt interrupts.
engine_field() {
	awk -v e="$1" -v k="$2" '$1 == e { for (i = 2; i < NF; i++) if ($i == k) print $(i + 1) }' \
		"$dbg/engines"
}

# How many lines of perf's CSV output $2 are for event $1.
lines() { n=$(grep -c "/$1/" "$2" 2>/dev/null); echo "${n:-0}"; }

# Stops the perf running in the background as PID $1 with Ctrl-C (SIGINT)
# and waits for it; sets $rc to its exit status. True if perf exited
# cleanly: 0, or 130 for the SIGINT.
perf_stop() {
	kill -INT "$1" 2>/dev/null
	wait "$1"
	rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 130 ]
}

# The sum of event $1's counts in lines $3+1..$4 of perf's CSV output $2
# ("<not counted>" counts as 0).
csv_sum() {
	grep "/$1/" "$2" | sed -n "$(($3 + 1)),$4p" |
		awk -F, '$2 ~ /^[0-9]+$/ { s += $2 } END { printf "%.0f\n", s }'
}
