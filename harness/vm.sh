# shellcheck shell=sh
# The guest machine of every boot, `make check`'s and `make shell`'s alike
# (harness/boot.sh, harness/shell.sh); sourced after env.sh, never run.
#
# A q35 machine (PCI Express) with QEMU's `edu` device on a hot-pluggable
# PCIe root port (QEMU's default ACPI hotplug; native pciehp removal trips
# a lockdep report in 7.3.4's pciehp itself). QEMU listens for QMP on
# $RUN/qmp.sock; the guest sends QMP commands over a virtio-serial port
# that the broker (vm_broker) forwards (host_qmp in harness/guest/lib.sh),
# so tests in the guest can hot-unplug and replug the device.

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
accel_what="TCG, thread=${TCG_THREAD:-single}"
if [ "$kvm" = 1 ]; then
	[ -w /dev/kvm ] || die "KVM=1 but /dev/kvm is not usable"
	accel=
	tcg=
	accel_what=KVM
fi
# The CPUs: CPUS (default 4) in SOCKETS packages (default 2), of which the
# guest brings up 2 at boot (maxcpus=2). A package of two CPUs gives a PMU
# of package scope a cpumask CPU that can go offline with another CPU of
# the package left to take its events (the kselftest
# package_event_moves_with_its_cpu, which brings the second package's CPUs
# up for itself; x86 cannot offline CPU 0, the first of the other package).
# Four online vCPUs slowed a single-threaded TCG guest down by 1.6 times
# (guest a of make check, 487 to 796 s) and guest b beside it (579 to
# 872 s). Guest b of make check, the bench and perf-test boot 2 CPUs in one
# package (CPUS=2 SOCKETS=1).
cpus=${CPUS:-4}
sockets=${SOCKETS:-2}
# KASAN reports only its first finding per boot unless told otherwise; the
# kselftest cases that check the kernel log after themselves need all.
# log_buf_len: a ring buffer that holds the whole run (make stress wrapped
# the default 256 KiB), so that dmesg.txt starts at the boot (the report
# checks). tsc=reliable, with more than one package: the kernel marks the
# TSC of two packages unstable ("TSCs unsynchronized"), switches to the
# HPET (MMIO, slow under TCG) and local_clock() of two CPUs drifted 5 ms
# apart (perf core's event times); TCG's TSC is one clock for all vCPUs.
# shell_append is `make shell`'s.
params="no5lvl kasan_multi_shot log_buf_len=32M maxcpus=2"
[ "$sockets" = 1 ] || params="$params tsc=reliable"
shell_append="$params ${BOOT_APPEND:-}"
# rootflags: the root is the host's, exported read-only over 9p
# (virtme-ng's virtiofsd does not run here: --force-9p skips its tries),
# and virtme-ng mounts it with no page cache, so that every exec reads the
# binary and its libraries again through QEMU. The root does not change
# while a scripted guest runs: cache=loose (a later rootflags= wins) took
# make check's boot to its first script from 176 to 119 s and perf-live.sh
# from 900 to 390 s (the timing table of make check). Not for `make shell`,
# where files edited on the host while the guest runs must be seen fresh.
append="$params \
rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose ${BOOT_APPEND:-}"

# The QEMU options of the machine, for run directory $1; EXTRA_QEMU_OPTS
# adds to them (the bench's second edu device). QEMU's pid goes to
# $1/qemu.pid, for whoever must stop it (harness/mutants.sh).
vm_qemu_opts() {
	echo "$tcg -smp $cpus,sockets=$sockets -pidfile $1/qemu.pid -device pcie-root-port,id=pmu_rp0,bus=pcie.0,chassis=1,slot=1 \
-device edu,id=edu0,bus=pmu_rp0 \
-qmp unix:$1/qmp.sock,server=on,wait=off -device virtio-serial-pci,id=pmu_vser \
-chardev socket,id=pmu_host,path=$1/host.sock,server=on,wait=off \
-device virtserialport,chardev=pmu_host,name=pmu-rs.host ${EXTRA_QEMU_OPTS:-}"
}

# The QMP broker for run directory $1: the guest's virtio-serial port
# `pmu-rs.host` is a socket here; each line it sends is a QMP command for
# QEMU, answered on one line. Sets broker_pid.
vm_broker() {
	socat "UNIX-CONNECT:$1/host.sock,retry=600,interval=0.5" \
		EXEC:"sh $REPO/harness/qmp-broker.sh $1/qmp.sock" 2> "$1/broker.log" &
	broker_pid=$!
}
