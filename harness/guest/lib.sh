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
	n=$(date +%s%N)
	echo "$1" > "$RUN/host/$n.tmp"
	mv "$RUN/host/$n.tmp" "$RUN/host/$n.req"
	i=0
	while [ ! -f "$RUN/host/$n.resp" ]; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "host did not answer QMP request $n" >&2; return 1; }
		sleep 0.1
	done
	cat "$RUN/host/$n.resp"
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
