#!/bin/sh
# Boot the built kernel under virtme-ng and run a guest script in it.
#
#   harness/boot.sh GUEST_SCRIPT [ARGS...]
#
# The guest is a q35 machine (PCI Express) with 2 vCPUs and QEMU's `edu`
# device on a hot-pluggable PCIe root port (QEMU's default ACPI hotplug;
# native pciehp removal trips a lockdep report in 7.3.4's pciehp itself).
# QEMU listens for QMP on $RUN/qmp.sock; the guest sends QMP commands over
# a virtio-serial port that the broker below forwards (host_qmp in
# harness/guest/lib.sh), so tests in the guest can hot-unplug and replug
# the device.
# KVM is used where the host has real KVM, TCG otherwise (below); KVM=0/1
# forces it. EXTRA_QEMU_OPTS adds QEMU options
# (the bench's second edu device), BOOT_APPEND kernel parameters (the
# bench's tsc=reliable), GUEST a name for the progress lines when two
# guests boot side by side (harness/run.sh). Prints the guest's progress lines;
# the whole console goes to $RUN/console.log.
set -eu
. "$(dirname "$0")/env.sh"

[ -f "$BUILD/arch/x86/boot/bzImage" ] || die "no kernel in $BUILD; run 'make build'"
guest=$1
shift

RUN=${RUN:-$RUNS/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RUN"
ln -sfn "$RUN" "$RUNS/latest"
# Keep the last 10 runs.
ls -1d "$RUNS"/2* 2>/dev/null | head -n -10 | xargs -r rm -rf

# Under TCG both vCPUs run on one host thread (TCG_THREAD=single). With one
# thread per vCPU (TCG_THREAD=multi, faster), QEMU 7.2 sometimes runs stale
# code after the guest kernel patched its own text: "Oops: int3" at a static
# key being flipped, e.g. perf_sched_events in finish_task_switch() when a
# perf run ends (seen twice in check). harness/guest/tcg-text-poke.sh
# reproduces it: flipping sched_schedstats while both vCPUs context-switch
# oopsed a multi-threaded guest within its first 500 flips; single-threaded
# it ran 3000 flips clean. `make bench` uses multi for its scaling measure.
# The accelerator: KVM where the host has real KVM (kvm_intel or kvm_amd
# loaded, the CPU's vmx or svm flag, /dev/kvm usable), TCG otherwise.
# KVM=1 or KVM=0 forces it. Some cloud machines' /dev/kvm is PVM (kvm_pvm,
# nested), which boots only guests built for it: an unmodified kernel hangs
# after "Decompressing Linux", so PVM counts as no KVM.
kvm=${KVM:-auto}
if [ "$kvm" = auto ]; then
	if [ -d /sys/module/kvm_pvm ]; then
		kvm=0 why="/dev/kvm is PVM (kvm_pvm), which boots only PVM guests"
	elif [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
		kvm=0 why="no kvm_intel or kvm_amd module"
	elif ! grep -qw -e vmx -e svm /proc/cpuinfo; then
		kvm=0 why="no vmx or svm CPU flag"
	elif [ ! -w /dev/kvm ]; then
		kvm=0 why="/dev/kvm is not usable"
	else
		kvm=1 why="$(ls -d /sys/module/kvm_intel /sys/module/kvm_amd 2>/dev/null |
			sed 's|.*/||' | head -n 1) and /dev/kvm"
	fi
else
	why="KVM=$kvm"
fi
accel=--disable-kvm
tcg="-accel tcg,thread=${TCG_THREAD:-single}"
if [ "$kvm" = 1 ]; then
	[ -w /dev/kvm ] || die "KVM=1 but /dev/kvm is not usable"
	accel=
	tcg=
fi
timeout=${BOOT_TIMEOUT:-1800}
# KASAN reports only its first finding per boot unless told otherwise; the
# kselftest cases that check the kernel log after themselves need all.
# log_buf_len: a ring buffer that holds the whole run (make stress wrapped
# the default 256 KiB), so that dmesg.txt starts at the boot (the report
# checks).
# rootflags: the root is the host's, exported read-only over 9p
# (virtme-ng's virtiofsd does not run here: --force-9p skips its tries),
# and virtme-ng mounts it with no page cache, so that every exec reads the
# binary and its libraries again through QEMU. The root does not change
# while the guest runs: cache=loose (a later rootflags= wins) took make
# check's boot to its first script from 176 to 119 s and perf-live.sh from
# 900 to 390 s (the timing table of make check).
append="no5lvl kasan_multi_shot log_buf_len=32M \
rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose ${BOOT_APPEND:-}"

# QMP broker: the guest's virtio-serial port `pmu-rs.host` is a socket
# here; each line it sends is a QMP command for QEMU, answered on one line.
socat "UNIX-CONNECT:$RUN/host.sock,retry=600,interval=0.5" \
	EXEC:"sh $REPO/harness/qmp-broker.sh $RUN/qmp.sock" 2> "$RUN/broker.log" &
broker_pid=$!
trap 'kill $broker_pid 2>/dev/null || true' EXIT

say "${GUEST:+[$GUEST] }booting the $FLAVOUR kernel ($( [ -n "$accel" ] && echo "TCG, thread=${TCG_THREAD:-single}" || echo KVM): $why), timeout ${timeout}s; console: $RUN/console.log"
date +%s > "$RUN/boot.start"
set +e
timeout -k 10 "$timeout" vng --run "$BUILD" --verbose --disable-microvm --force-9p $accel \
	--cpus "${CPUS:-2}" --memory "${MEMORY:-3G}" --append "$append" \
	--rwdir "$RUN" --cwd "$REPO" \
	--qemu-opts="$tcg -device pcie-root-port,id=pmu_rp0,bus=pcie.0,chassis=1,slot=1 \
-device edu,id=edu0,bus=pmu_rp0 \
-qmp unix:$RUN/qmp.sock,server=on,wait=off -device virtio-serial-pci,id=pmu_vser \
-chardev socket,id=pmu_host,path=$RUN/host.sock,server=on,wait=off \
-device virtserialport,chardev=pmu_host,name=pmu-rs.host ${EXTRA_QEMU_OPTS:-}" \
	--exec "sh $REPO/harness/guest/$guest $RUN $BUILD $*" < /dev/null 2>&1 |
	tee "$RUN/console.log" | sed -u -n "s/^.*pmu-rs-guest: /${GUEST:+[$GUEST] }/p"
set -e
date +%s > "$RUN/boot.end"
if [ ! -f "$RUN/guest.done" ]; then
	echo "---- ${GUEST:+[$GUEST] }the guest did not finish; last 40 console lines ($RUN/console.log):" >&2
	tail -n 40 "$RUN/console.log" >&2
	die "guest boot or run failed or timed out after ${timeout}s"
fi
