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

# nap SECONDS: sleep. Under TCG with KASAN a fork and exec of sleep can
# take longer than the 0.1 s naps of wait_for; bash waits in its read
# builtin instead, with a timeout, on a FIFO that nobody writes to (fd 8,
# opened once).
if [ -n "${BASH_VERSION:-}" ] && mkfifo "/tmp/pmu-rs-nap.$$" 2>/dev/null; then
	exec 8<> "/tmp/pmu-rs-nap.$$"
	rm -f "/tmp/pmu-rs-nap.$$"
	nap() { read -r -t "$1" -u 8 _ || :; }
else
	nap() { sleep "$1"; }
fi

# Wait up to $2 seconds for the shell condition $1 to hold.
wait_for() {
	i=0
	while ! eval "$1"; do
		i=$((i + 1))
		[ $i -le $(($2 * 10)) ] || return 1
		nap 0.1
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

first_edu() { for d in $(edu_devices); do echo "$d"; return; done; }

# Loads i915_pmu_rs, waits for it to bind to the first edu device and sets
# dev (its PCI address), pmu (its PMU's name), sysfs, dbg (its debugfs
# directory) and drv (the driver's sysfs directory).
i915rs_setup() {
	mount_debugfs
	modprobe i915_pmu_rs
	wait_for '[ -n "$(first_edu)" ] && [ -e "/sys/bus/pci/devices/$(first_edu)/driver" ]' 30
	dev=$(first_edu)
	pmu=i915rs_$(echo "$dev" | tr : _)
	sysfs=/sys/bus/event_source/devices/$pmu
	dbg=/sys/kernel/debug/$pmu
	drv=/sys/bus/pci/drivers/i915_pmu_rs
}

# A field of i915_pmu_rs's `engines` debugfs file ($dbg, from i915rs_setup):
# engine_field rcs0 pending, or engine_field gt interrupts.
# Shell builtins only (wait_for polls it), as are lines and csv_sum.
engine_field() {
	local name rest
	while read -r name rest; do
		[ "$name" = "$1" ] || continue
		rest=" $rest "
		case $rest in *" $2 "*) rest=${rest#*" $2 "}; echo "${rest%% *}" ;; esac
	done < "$dbg/engines"
}

# How many lines of perf's CSV output $2 are for event $1.
lines() {
	local n=0 l
	[ -r "$2" ] || { echo 0; return; }
	while IFS= read -r l; do
		case $l in *"/$1/"*) n=$((n + 1)) ;; esac
	done < "$2"
	echo "$n"
}

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
	local n=0 s=0 l
	[ -r "$2" ] || { echo 0; return; }
	while IFS= read -r l; do
		case $l in *"/$1/"*) n=$((n + 1)) ;; *) continue ;; esac
		[ "$n" -gt "$3" ] && [ "$n" -le "$4" ] || continue
		# "TIME,COUNT,UNIT,EVENT,...": the count.
		l=${l#*,}
		l=${l%%,*}
		case $l in '' | *[!0-9]*) ;; *) s=$((s + l)) ;; esac
	done < "$2"
	echo "$s"
}
