#!/bin/bash
# Self-test of the harness, run in the guest: the edu device is on a
# hot-pluggable PCIe port and the host's QMP broker can unplug and replug
# it. Prints KTAP through the kselftest helpers.
. "$(dirname "$0")/lib.sh"
. "$SRC/tools/testing/selftests/kselftest/ktap_helpers.sh"

ktap_print_header
ktap_set_plan 3

# The edu device must sit in a hotplug slot that pciehp manages.
dev=$(edu_devices)
slot=
for s in /sys/bus/pci/slots/*; do
	[ -n "$dev" ] && [ "$(cat "$s/address" 2>/dev/null)" = "${dev%.*}" ] && slot=$s
done
if [ "$(echo "$dev" | grep -c .)" = 1 ] && [ -n "$slot" ]; then
	ktap_test_pass "edu_on_hotplug_slot ($dev in slot ${slot##*/})"
else
	ktap_print_msg "edu devices: '$dev'; slots: $(cat /sys/bus/pci/slots/*/address 2>&1)"
	ktap_test_fail "edu_on_hotplug_slot"
fi

resp=$(host_qmp '{"execute":"device_del","arguments":{"id":"edu0"}}')
if echo "$resp" | grep -q '"return": {}' && wait_for '[ -z "$(edu_devices)" ]' 30; then
	ktap_test_pass "qmp_hot_unplug"
else
	ktap_print_msg "QMP said: $resp; edu devices now: $(edu_devices)"
	ktap_test_fail "qmp_hot_unplug"
fi

resp=$(host_qmp '{"execute":"device_add","arguments":{"driver":"edu","id":"edu0","bus":"pmu_rp0"}}')
if echo "$resp" | grep -q '"return": {}' && wait_for '[ -n "$(edu_devices)" ]' 30; then
	ktap_test_pass "qmp_hot_replug ($(edu_devices))"
else
	ktap_print_msg "QMP said: $resp; edu devices now: $(edu_devices)"
	ktap_test_fail "qmp_hot_replug"
fi

ktap_finished
