#!/bin/sh
# Reproducer for the QEMU TCG problem that harness/boot.sh works around:
#
#   TCG_THREAD=multi sh harness/boot.sh tcg-text-poke.sh    # Oops: int3
#   TCG_THREAD=single sh harness/boot.sh tcg-text-poke.sh   # clean
#
# Flips the sched_schedstats static key (kernel text patched through INT3)
# N times (default 3000) while both vCPUs context-switch, then reports
# whether the kernel oopsed.
set -u
. "$(dirname "$0")/lib.sh"

n=${3:-3000}
log "flipping sched_schedstats $n times on $(nproc) vCPUs"
(while :; do :; done) &
spin=$!
(while :; do /bin/true; done) &
forks=$!
start=$(date +%s)
i=0
while [ "$i" -lt "$n" ]; do
	echo 1 > /proc/sys/kernel/sched_schedstats
	echo 0 > /proc/sys/kernel/sched_schedstats
	i=$((i + 1))
	[ $((i % 500)) -eq 0 ] && log "$i flips in $(($(date +%s) - start)) s"
done
kill "$spin" "$forks"
log "done: $i flips in $(($(date +%s) - start)) s, $(dmesg | grep -c 'Oops') oopses"
touch "$RUN/guest.done"
