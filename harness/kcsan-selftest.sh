#!/bin/sh
# Self-test of the KCSAN verdict (harness/kcsan.awk), run by `make lint`:
# a report that names our code fails, one inside perf core alone is a
# note, and the lines outside the reports reach the splat check.
set -eu
. "$(dirname "$0")/env.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pmu-rs-kcsan.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/dmesg" <<'LOG'
[   10.000001] ==================================================================
[   10.000002] BUG: KCSAN: data-race in _RNvMs_NtNtCs1a2b3c_6kernel4perf3pmuNtB4_9PmuObject6revoke / perf_event_read_local
[   10.000003] 
[   10.000004] write to 0xffff888004a1c0b8 of 8 bytes by task 251 on cpu 0:
[   10.000005]  _RNvMs_NtNtCs1a2b3c_6kernel4perf3pmuNtB4_9PmuObject6revoke+0x4a/0x90
[   10.000006]  _RNvXs0_NtCs9f8e7d_11i915_pmu_rs3pmuNtB5_3GtNtNtCs1a2b3c_6kernel4perf2Op4stop+0x1c/0x40 [i915_pmu_rs]
[   10.000007] 
[   10.000008] read to 0xffff888004a1c0b8 of 8 bytes by task 250 on cpu 1:
[   10.000009]  perf_event_read_local+0x12b/0x3a0
[   10.000010]  bpf_perf_event_read_value+0x5e/0xb0
[   10.000011] 
[   10.000012] Reported by Kernel Concurrency Sanitizer on:
[   10.000013] CPU: 1 UID: 0 PID: 250 Comm: perf_unbind Not tainted 7.3.4 #1
[   10.000014] ==================================================================
[   11.000001] ==================================================================
[   11.000002] BUG: KCSAN: data-race in perf_event_update_userpage / perf_mmap_fault
[   11.000003] 
[   11.000004] read to 0xffff888005f00010 of 8 bytes by task 260 on cpu 0:
[   11.000005]  perf_mmap_fault+0x44/0x120
[   11.000006] 
[   11.000007] value changed: 0x0000000000000001 -> 0x0000000000000002
[   11.000008] 
[   11.000009] Reported by Kernel Concurrency Sanitizer on:
[   11.000010] CPU: 0 UID: 0 PID: 260 Comm: perf Not tainted 7.3.4 #1
[   11.000011] ==================================================================
[   12.000001] BUG: KCSAN: data-race in perf_event_update_userpage+0x10/0x200
[   12.000002] 
[   12.000003] race at unknown origin, with read to 0xffff888005f00010 of 8 bytes by task 261 on cpu 1:
[   12.000004] Reported by Kernel Concurrency Sanitizer on:
[   12.000005] ==================================================================
[   13.000001] WARNING: kernel/events/core.c:1234 at perf_event_exit_event+0x1/0x2
LOG
awk -v ours="$OURS" -v rest="$tmp/rest" -f "$REPO/harness/kcsan.awk" "$tmp/dmesg" > "$tmp/out"
cat > "$tmp/want" <<'OUT'
C fail kcsan: data-race in _RNvMs_NtNtCs1a2b3c_6kernel4perf3pmuNtB4_9PmuObject6revoke / perf_event_read_local (1x), in our code
C note kcsan: data-race in perf_event_update_userpage / perf_mmap_fault (1x), not ours
C note kcsan: data-race in perf_event_update_userpage (1x), not ours
OUT
fail=0
cmp -s "$tmp/want" "$tmp/out" || { diff -u "$tmp/want" "$tmp/out" >&2 || true; fail=1; }
# The splat check still sees the WARNING after the reports, and nothing of them.
[ "$(grep -c 'WARNING:' "$tmp/rest")" = 1 ] || fail=1
! grep -q 'KCSAN\|kernel4perf\|perf_mmap_fault' "$tmp/rest" || fail=1
[ "$fail" = 0 ] || die "harness/kcsan.awk: wrong verdict on the self-test log"
echo "  OK    KCSAN verdict self-test (harness/kcsan.awk)"
