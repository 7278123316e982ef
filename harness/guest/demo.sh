#!/bin/sh
# The showcase, run inside the guest by `make demo`. Until the pmu-rs
# driver lands it shows what is real today: the kernel's PMUs, the edu
# device waiting for a driver, and `perf stat` counting on a software PMU.
set -u
. "$(dirname "$0")/lib.sh"

say() { sed 's/^/pmu-rs-guest: /'; }
fail=0

log "kernel $(uname -r) booted under QEMU"
log ""
log "PMUs registered with perf (/sys/bus/event_source/devices):"
for d in /sys/bus/event_source/devices/*; do
	printf '  %-12s type %s\n' "${d##*/}" "$(cat "$d/type")"
done | say
log ""
log "QEMU's edu device, which the pmu-rs driver will bind to:"
lspci -nn -d 1234:11e8 | sed 's/^/  /' | say
[ -n "$(lspci -d 1234:11e8)" ] || { log "  MISSING"; fail=1; }
log ""
log "perf stat -a -e cpu-clock,context-switches,page-faults -- sleep 1"
perf stat -a -x, -e cpu-clock,context-switches,page-faults -- sleep 1 \
	2> "$RUN/demo-perf.csv" > /dev/null
awk -F, '$3 != "" { printf "  %-20s %s %s\n", $3, $1, $2 }' "$RUN/demo-perf.csv" | say
clock=$(awk -F, '$3 == "cpu-clock" { print int($1) }' "$RUN/demo-perf.csv")
log ""
if [ "$fail" = 0 ] && [ "${clock:-0}" -gt 0 ]; then
	log "VERDICT: PASS (perf counts in the test kernel; edu device present)"
else
	log "VERDICT: FAIL (cpu-clock '${clock:-}'; see $RUN)"
fi
touch "$RUN/guest.done"
