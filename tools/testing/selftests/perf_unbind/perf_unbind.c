// SPDX-License-Identifier: GPL-2.0
/*
 * perf events of a PMU whose device goes away: the i915-style Rust PMU
 * (drivers/gpu/drm/i915/pmu_rs) on QEMU's edu device, unbound and rebound
 * through sysfs while events are open and being read.
 *
 * The PMU (i915rs_*), its PCI device and the event configs are found in
 * sysfs; work is submitted through the driver's debugfs "submit" file.
 * Every test leaves the device bound.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/bpf.h>
#include <linux/perf_event.h>

#include "kselftest_harness.h"
#include "pmu_sysfs.h"

#define DRIVER_DIR	"/sys/bus/pci/drivers/i915_pmu_rs"
/* The C twin of the PMU, bench_modules/pmu_c_twin.ko: upstream's C pattern. */
#define TWIN_DIR	"/sys/bus/pci/drivers/pmu_c_twin"
#define DEBUGFS_DIR	"/sys/kernel/debug"
#define PMU_PREFIX	"i915rs_"
#define MAX_SAMPLE_RATE	"/proc/sys/kernel/perf_event_max_sample_rate"

/* One DMA unit on bcs0 takes 100 ms of QEMU virtual time (edu.c). */
#define DMA_UNIT_NS	100000000ULL
/* The governor keeps the GT between these frequencies (events.rs). */
#define MIN_MHZ		300ULL
#define MAX_MHZ		1200ULL

struct gt {
	char pmu[64];		/* i915rs_0000_01_00.0 */
	char bdf[32];		/* 0000:01:00.0 */
	int type;
	int cpu;		/* first CPU of the PMU's cpumask */
};

/* dir/<pmu>/file: the PMU's sysfs files (EVENT_SRC_DIR), the driver's debugfs ones. */
static int gt_path(const char *dir, const struct gt *gt, const char *file, char *path,
		   size_t len)
{
	return snprintf(path, len, "%s/%s/%s", dir, gt->pmu, file) >= (int)len ?
		-ENAMETOOLONG : 0;
}

/* Fills in type and cpu of the PMU called gt->pmu; -ENOENT while it is gone. */
static int gt_refresh(struct gt *gt)
{
	char path[PATH_MAX], buf[64];
	int ret;

	gt_path(EVENT_SRC_DIR, gt, "type", path, sizeof(path));
	ret = read_text(path, buf, sizeof(buf));
	if (ret)
		return ret;
	gt->type = atoi(buf);
	gt_path(EVENT_SRC_DIR, gt, "cpumask", path, sizeof(path));
	ret = read_text(path, buf, sizeof(buf));
	if (ret)
		return ret;
	gt->cpu = atoi(buf);
	return 0;
}

/* Finds the first i915rs PMU and the PCI device it belongs to. */
static int gt_find(struct gt *gt)
{
	int ret;

	memset(gt, 0, sizeof(*gt));
	ret = pmu_find(PMU_PREFIX, gt->pmu, sizeof(gt->pmu), gt->bdf, sizeof(gt->bdf));
	return ret ? ret : gt_refresh(gt);
}

/* The config of an event, from events/<name> ("config=0x..."). */
static int event_config(const struct gt *gt, const char *name, __u64 *config)
{
	char path[PATH_MAX], file[128], buf[64];
	int ret;

	snprintf(file, sizeof(file), "events/%s", name);
	gt_path(EVENT_SRC_DIR, gt, file, path, sizeof(path));
	ret = read_text(path, buf, sizeof(buf));
	if (ret)
		return ret;
	if (sscanf(buf, "config=%llx", (unsigned long long *)config) != 1)
		return -EINVAL;
	return 0;
}

static int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd)
{
	return syscall(__NR_perf_event_open, attr, pid, cpu, group_fd, 0);
}

static void attr_init(struct perf_event_attr *attr, const struct gt *gt, __u64 config)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->type = gt->type;
	attr->config = config;
}

/* Sets exclude bit number @bit (user, kernel, hv, idle, host, guest). */
static void set_exclude(struct perf_event_attr *attr, int bit)
{
	attr->exclude_user = bit == 0;
	attr->exclude_kernel = bit == 1;
	attr->exclude_hv = bit == 2;
	attr->exclude_idle = bit == 3;
	attr->exclude_host = bit == 4;
	attr->exclude_guest = bit == 5;
}

/* Opens the named event on the PMU's CPU; returns the fd or -errno. */
static int open_event(const struct gt *gt, const char *name, int group_fd, __u64 read_format)
{
	struct perf_event_attr attr;
	__u64 config;
	int fd, ret;

	ret = event_config(gt, name, &config);
	if (ret)
		return ret;
	attr_init(&attr, gt, config);
	attr.read_format = read_format;
	fd = perf_open(&attr, -1, gt->cpu, group_fd);
	return fd < 0 ? -errno : fd;
}

/* The count of a (non-group) event; aborts the test on a failed read. */
#define READ_COUNT(fd) ({						\
	__u64 __v = 0;							\
	ASSERT_EQ(sizeof(__v), read((fd), &__v, sizeof(__v)));		\
	__v;								\
})

static int gt_submit(const struct gt *gt, const char *job)
{
	char path[PATH_MAX];
	int ret = gt_path(DEBUGFS_DIR, gt, "submit", path, sizeof(path));

	return ret ? ret : write_text(path, job);
}

/* The jobs the engines have not completed; -errno if the GT is gone. */
static int gt_pending(const struct gt *gt)
{
	char path[PATH_MAX], buf[512];
	const char *p;
	int pending, ret;

	ret = gt_path(DEBUGFS_DIR, gt, "engines", path, sizeof(path));
	if (ret)
		return ret;
	if (read_text(path, buf, sizeof(buf)))
		return -ENODEV;
	pending = 0;
	for (p = buf; (p = strstr(p, "pending ")); p += 8)
		pending += atoi(p + 8);
	return pending;
}

/* Waits until every submitted job has completed. */
static int wait_idle(const struct gt *gt, int timeout_ms)
{
	for (int ms = 0; ms < timeout_ms; ms += 10) {
		int pending = gt_pending(gt);

		if (pending <= 0)
			return pending;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static bool pmu_present(const struct gt *gt)
{
	char path[PATH_MAX];

	gt_path(EVENT_SRC_DIR, gt, "type", path, sizeof(path));
	return !access(path, F_OK);
}

static int gt_unbind(struct gt *gt)
{
	int ret = write_text(DRIVER_DIR "/unbind", gt->bdf);

	if (ret)
		return ret;
	return pmu_present(gt) ? -EEXIST : 0;
}

/* Waits up to 5 s for the PMU to come back, with a new type. */
static int gt_wait_pmu(struct gt *gt)
{
	for (int i = 0; i < 500 && !pmu_present(gt); i++)
		usleep(10000);
	return gt_refresh(gt);
}

/* Binds the device and waits for its PMU. */
static int gt_bind(struct gt *gt)
{
	int ret = write_text(DRIVER_DIR "/bind", gt->bdf);

	return ret ? ret : gt_wait_pmu(gt);
}

/* Loads the driver, which binds the device, and waits for its PMU. */
static int gt_modprobe(struct gt *gt)
{
	return system("modprobe i915_pmu_rs") ? -EIO : gt_wait_pmu(gt);
}

/* What the kernel log must never say; see kernel_stays_healthy. */
static const char *const splats[] = {
	"BUG:", "WARNING:", "KASAN:", "UBSAN:", "Oops", "general protection",
	"possible circular locking", "possible recursive locking",
	"inconsistent lock state", "suspicious RCU usage", "invalid wait context",
	/* debug-objects: e.g. an object freed while still active. */
	"ODEBUG:",
	/* An interrupt the driver left behind at unbind. */
	"unexpected IRQ trap", "nobody cared", "No irq handler for vector",
};

/* /dev/kmsg, positioned after the last record: kmsg_splats() sees only new ones. */
static int kmsg_open_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Counts the records from fd on that contain a splat; logs the first few. */
static int kmsg_splats(struct __test_metadata *_metadata, int fd)
{
	char buf[8192];
	int found = 0;
	ssize_t n;

	/* One record per read; EAGAIN at the end, EPIPE if records were overwritten. */
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/*
		 * A KCSAN report is judged by `make kcsan` on the host, which
		 * sees its stacks: a race in code that is not ours is listed
		 * there, not failed here.
		 */
		if (strstr(buf, "BUG: KCSAN: "))
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(splats); i++) {
			if (strstr(buf, splats[i])) {
				if (found++ < 5)
					TH_LOG("%s", buf);
				break;
			}
		}
	}
	return found;
}

/* What a revoked event gives: EPOLLERR from poll(), ENODEV from ioctl(). */
static void expect_revoked(struct __test_metadata *_metadata, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_TRUE(p.revents & POLLERR);
	EXPECT_EQ(-1, ioctl(fd, PERF_EVENT_IOC_ENABLE, 0));
	EXPECT_EQ(ENODEV, errno);
}

/* Loads bench_modules/pmu_c_twin.ko, installed beside this program, with @params. */
static int twin_load(const char *params)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, ret;

	n = readlink("/proc/self/exe", path, sizeof(path) - 64);
	if (n < 0)
		return -errno;
	path[n] = '\0';
	strcpy(strrchr(path, '/') + 1, "bench_modules/pmu_c_twin.ko");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(__NR_finit_module, fd, params, 0) && errno != EEXIST ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * CLOCK_MONOTONIC in ns: the clock of the driver's busy and residency
 * times (ktime_get_mono_fast_ns()), so a time it counts between two reads
 * is bounded by the wall time between them.
 */
static __u64 now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* A software event on the PMU's CPU, in the group of group_fd (or a leader). */
static int open_sw_event(const struct gt *gt, __u64 config, int group_fd, __u64 read_format)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = config;
	attr.read_format = read_format;
	fd = perf_open(&attr, -1, gt->cpu, group_fd);
	return fd < 0 ? -errno : fd;
}

/*
 * A cpu-clock sampling every 10 us on @cpu, in the group of @group_fd (or a
 * leader): what throttles on every tick once perf_event_max_sample_rate is 1.
 */
static int open_sampling_clock(int cpu, int group_fd)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.sample_period = 10000;
	attr.sample_type = PERF_SAMPLE_IP;
	fd = perf_open(&attr, -1, cpu, group_fd);
	return fd < 0 ? -errno : fd;
}

/* Sleeps and wakes on the current CPU: context switches for its context. */
static void context_switch(int times)
{
	for (int i = 0; i < times; i++)
		usleep(200);
}

static unsigned long env_count(const char *name, unsigned long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : def;
}

static const char *const events[] = {
	"rcs0-busy", "rcs0-wait", "rcs0-sema", "bcs0-busy", "bcs0-wait", "bcs0-sema",
	"actual-frequency", "requested-frequency", "interrupts", "rc6-residency",
	"software-gt-awake-time",
};

enum { RCS_BUSY, RCS_WAIT, RCS_SEMA, BCS_BUSY, BCS_WAIT, BCS_SEMA, ACT_FREQ, REQ_FREQ,
	IRQS, RC6, AWAKE, NR_EVENTS };

/*
 * Timeouts: 120 s for a single scenario (a loaded TCG guest is slow), 1800 s
 * for the loops, whose counts the PERF_UNBIND_* knobs raise for `make
 * stress`. The runner's timeout in settings, 3600 s, bounds the whole run
 * and leaves room for the longest of them.
 */
FIXTURE(gt)
{
	struct gt gt;
	int offline_cpu;	/* a CPU a test took offline, or -1 */
	char old_rate[32];	/* perf_event_max_sample_rate a test changed, or "" */
	bool twin;		/* a test loaded the C twin and may have bound it */
};

static int cpu_set_online(int cpu, bool on)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	return write_text(path, on ? "1" : "0");
}

static bool cpu_can_go_offline(int cpu)
{
	char path[PATH_MAX], buf[8];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	return !read_text(path, buf, sizeof(buf)) && buf[0] == '1';
}

FIXTURE_SETUP(gt)
{
	memset(&self->gt, 0, sizeof(self->gt));
	self->offline_cpu = -1;
	if (geteuid())
		SKIP(return, "not root: unbind, bind and debugfs need root");
	if (access(DRIVER_DIR, F_OK))
		SKIP(return, "driver i915_pmu_rs not loaded (CONFIG_DRM_I915_PMU_RS, modprobe)");
	if (gt_find(&self->gt))
		SKIP(return, "no " PMU_PREFIX "* PMU: no edu device bound to i915_pmu_rs");
	ASSERT_EQ(0, wait_idle(&self->gt, 60000));
}

FIXTURE_TEARDOWN(gt)
{
	/* Always leave the CPUs online and the device bound, whatever the test did. */
	if (self->offline_cpu >= 0)
		cpu_set_online(self->offline_cpu, true);
	if (self->old_rate[0])
		write_text(MAX_SAMPLE_RATE, self->old_rate);
	if (self->twin) {
		write_text(TWIN_DIR "/unbind", self->gt.bdf);
		syscall(__NR_delete_module, "pmu_c_twin", O_NONBLOCK);
	}
	if (self->gt.bdf[0] && !pmu_present(&self->gt)) {
		/* A test that failed after rmmod left no driver to bind to. */
		if (access(DRIVER_DIR, F_OK))
			gt_modprobe(&self->gt);
		else
			gt_bind(&self->gt);
	}
}

/* Every event opens; the counts follow the submitted work and stay still when idle. */
TEST_F_TIMEOUT(gt, events_count_work, 120)
{
	__u64 before[NR_EVENTS], after[NR_EVENTS], idle[NR_EVENTS];
	__u64 t_before[2], t_after[2], t_idle[2], t_submit, t_done;
	int fd[NR_EVENTS];

	for (int i = 0; i < NR_EVENTS; i++) {
		fd[i] = open_event(&self->gt, events[i], -1, 0);
		ASSERT_LE(0, fd[i]) TH_LOG("%s: %s", events[i], strerror(-fd[i]));
	}
	/*
	 * Let the GT park after the work of the tests before (setup waited
	 * only until nothing is pending), so that every awake period and
	 * every frequency sample of this test lies between the two reads.
	 */
	usleep(100000);
	t_before[0] = now_ns();
	for (int i = 0; i < NR_EVENTS; i++)
		before[i] = READ_COUNT(fd[i]);
	t_before[1] = now_ns();
	/* Two rcs0 jobs (the second waits behind the first), then a bcs0 job on a semaphore. */
	t_submit = now_ns();
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 1000"));
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 500"));
	ASSERT_EQ(0, gt_submit(&self->gt, "bcs0 2 after rcs0"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	t_done = now_ns();
	usleep(100000);		/* the GT parks 20 ms after its last job */
	t_after[0] = now_ns();
	for (int i = 0; i < NR_EVENTS; i++)
		after[i] = READ_COUNT(fd[i]) - before[i];
	t_after[1] = now_ns();
	usleep(200000);
	t_idle[0] = now_ns();
	for (int i = 0; i < NR_EVENTS; i++)
		idle[i] = READ_COUNT(fd[i]) - before[i];
	t_idle[1] = now_ns();
	for (int i = 0; i < NR_EVENTS; i++)
		TH_LOG("%-24s work %12llu  +idle %12llu", events[i],
		       (unsigned long long)after[i], (unsigned long long)(idle[i] - after[i]));
	TH_LOG("submit to idle %llu ns, reads to reads %llu ns",
	       (unsigned long long)(t_done - t_submit),
	       (unsigned long long)(t_after[1] - t_before[0]));

	/* Every interrupt is one unit of work: 1500 factorials, 2 DMA transfers. */
	EXPECT_EQ(1502, after[IRQS]);
	/*
	 * A time counted between two reads is at most the wall time between
	 * them: every engine was busy only between the submission and the
	 * return of wait_idle().
	 */
	EXPECT_LT(0, after[RCS_BUSY]);
	EXPECT_GE(t_done - t_submit, after[RCS_BUSY]);
	EXPECT_GE(t_done - t_submit, after[BCS_BUSY]);
	/* The second rcs0 job was queued while the first ran: wait < busy. */
	EXPECT_LT(0, after[RCS_WAIT]);
	EXPECT_GT(after[RCS_BUSY], after[RCS_WAIT]);
	EXPECT_EQ(0, after[BCS_WAIT]);
	/* bcs0's job waited on a semaphore for rcs0's: about rcs0's busy time. */
	EXPECT_LT(0, after[BCS_SEMA]);
	EXPECT_GE(after[RCS_BUSY] + 50000000, after[BCS_SEMA]);
	/*
	 * As in i915, waiting on a semaphore is busy: bcs0 was busy for its
	 * semaphore wait and two DMA units, 200 ms of virtual time, within
	 * [95%, 125%]: the interrupt that ends a unit may come late in a
	 * loaded TCG guest, but never 25 ms late per unit (199.9 to 203.0 ms
	 * in 7 runs).
	 */
	EXPECT_LE(after[BCS_SEMA] + 2 * DMA_UNIT_NS * 95 / 100, after[BCS_BUSY]);
	EXPECT_GE(after[BCS_SEMA] + 2 * DMA_UNIT_NS * 125 / 100, after[BCS_BUSY]);
	EXPECT_EQ(0, after[RCS_SEMA]);
	/* Awake through rcs0's work, then bcs0's DMA units (its busy time past its semaphore). */
	EXPECT_LT(after[RCS_BUSY] + (after[BCS_BUSY] - after[BCS_SEMA]) / 2, after[AWAKE]);
	/*
	 * ... and no longer than from the submission to the read after the
	 * park. Awake and parked (rc6-residency) time add up to the wall
	 * time: between the last read of before[] and the first of after[]
	 * at least, between the first and the last at most.
	 */
	EXPECT_GE(t_after[0] - t_submit, after[AWAKE]);
	EXPECT_LE(t_after[0] - t_before[1], after[AWAKE] + after[RC6]);
	EXPECT_GE(t_after[1] - t_before[0], after[AWAKE] + after[RC6]);
	/*
	 * The frequencies are sampled over exactly the awake time, each
	 * sample between the governor's bounds, so in MHz times seconds they
	 * lie within [MIN_MHZ, MAX_MHZ] times the awake time, give or take
	 * the truncation of the two reads. The GT has no frequency of its own
	 * to differ from the requested one: the two are equal.
	 */
	EXPECT_LE(MIN_MHZ * after[AWAKE] / 1000000000, after[ACT_FREQ] + 2);
	EXPECT_GE(MAX_MHZ * after[AWAKE] / 1000000000 + 2, after[ACT_FREQ]);
	EXPECT_EQ(after[ACT_FREQ], after[REQ_FREQ]);

	/* Idle: no busy time, no interrupts, no awake time; parked time grows. */
	for (int i = RCS_BUSY; i <= BCS_SEMA; i++)
		EXPECT_EQ(after[i], idle[i]);
	EXPECT_EQ(after[IRQS], idle[IRQS]);
	EXPECT_EQ(after[AWAKE], idle[AWAKE]);
	EXPECT_LT(after[RC6] + 150000000, idle[RC6]);
	EXPECT_LE(t_idle[0] - t_after[1], idle[RC6] - after[RC6]);
	EXPECT_GE(t_idle[1] - t_after[0], idle[RC6] - after[RC6]);
	for (int i = 0; i < NR_EVENTS; i++)
		close(fd[i]);
}

/*
 * Unbind while a job runs and events are open: read() returns the final
 * count, which includes the time since the last read; then it is frozen,
 * poll() reports the revocation and ioctl() fails with ENODEV.
 */
TEST_F_TIMEOUT(gt, unbind_keeps_final_count, 120)
{
	__u64 v1, v2, v3, t0, t1, t2;
	int fd, irq;

	fd = open_event(&self->gt, "rcs0-busy", -1, 0);
	ASSERT_LE(0, fd);
	irq = open_event(&self->gt, "interrupts", -1, 0);
	ASSERT_LE(0, irq);
	/* About a second of work per job under TCG, less on a fast host: eight. */
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 10000"));
	usleep(100000);
	t0 = now_ns();
	v1 = READ_COUNT(fd);
	usleep(300000);
	ASSERT_LT(0, gt_pending(&self->gt));
	t1 = now_ns();
	ASSERT_EQ(0, gt_unbind(&self->gt));
	t2 = now_ns();
	v2 = READ_COUNT(fd);
	/*
	 * The engine was busy all along: the final fold counted the time
	 * since the read, at least the 300 ms before the unbind began and at
	 * most the time from the read to the unbind's return. A fold that
	 * counted that time twice gives about twice what the sleep gave,
	 * over the bound while the unbind takes less than the sleep.
	 */
	TH_LOG("before %llu, final %llu (+%llu ns), unbind took %llu ns",
	       (unsigned long long)v1, (unsigned long long)v2,
	       (unsigned long long)(v2 - v1), (unsigned long long)(t2 - t1));
	EXPECT_LE(v1 + 300000000, v2);
	EXPECT_GE(v1 + (t2 - t0), v2);
	EXPECT_LT(0, READ_COUNT(irq));
	usleep(50000);
	v3 = READ_COUNT(fd);
	EXPECT_EQ(v2, v3);
	expect_revoked(_metadata, fd);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, close(irq));
}

/*
 * Events that are not on the PMU at unbind get no final fold: one opened
 * disabled and never enabled reads 0, with no time enabled or running;
 * one enabled and disabled again keeps what it read when disabled. Parked
 * time (rc6-residency) grows all along, as an enabled event shows.
 */
TEST_F_TIMEOUT(gt, off_events_across_unbind, 120)
{
	__u64 fmt = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	__u64 never[3], was[3], v[3], config, on_before;
	struct perf_event_attr attr;
	int never_fd, was_fd, on;

	/* The GT parks 20 ms after its last job (setup waited only for none pending). */
	usleep(100000);
	ASSERT_EQ(0, event_config(&self->gt, "rc6-residency", &config));
	attr_init(&attr, &self->gt, config);
	attr.disabled = 1;
	attr.read_format = fmt;
	never_fd = perf_open(&attr, -1, self->gt.cpu, -1);
	ASSERT_LE(0, never_fd) TH_LOG("%s: %s", self->gt.pmu, strerror(errno));
	was_fd = perf_open(&attr, -1, self->gt.cpu, -1);
	ASSERT_LE(0, was_fd);
	on = open_event(&self->gt, "rc6-residency", -1, 0);
	ASSERT_LE(0, on);

	ASSERT_EQ(0, ioctl(was_fd, PERF_EVENT_IOC_ENABLE, 0));
	usleep(50000);
	ASSERT_EQ(0, ioctl(was_fd, PERF_EVENT_IOC_DISABLE, 0));
	ASSERT_EQ(sizeof(was), read(was_fd, was, sizeof(was)));
	on_before = READ_COUNT(on);
	usleep(100000);
	ASSERT_EQ(0, gt_unbind(&self->gt));

	ASSERT_EQ(sizeof(never), read(never_fd, never, sizeof(never)));
	EXPECT_EQ(0, never[0]) TH_LOG("never enabled: count %llu", (unsigned long long)never[0]);
	EXPECT_EQ(0, never[1]);
	EXPECT_EQ(0, never[2]);
	ASSERT_EQ(sizeof(v), read(was_fd, v, sizeof(v)));
	/* At least the 50 ms it was enabled (the GT was parked), and nothing since. */
	EXPECT_LT(40000000, was[0]);
	EXPECT_EQ(was[0], v[0]) TH_LOG("disabled at %llu, %llu after unbind",
				       (unsigned long long)was[0], (unsigned long long)v[0]);
	EXPECT_EQ(was[1], v[1]);
	EXPECT_EQ(was[2], v[2]);
	/* The enabled one counted the 100 ms before the unbind. */
	EXPECT_LT(on_before + 90000000, READ_COUNT(on));
	expect_revoked(_metadata, never_fd);
	close(never_fd);
	close(was_fd);
	close(on);
}

/* Rebind with the old fds open: the same PMU returns and counts; old fds stay frozen. */
TEST_F_TIMEOUT(gt, rebind_with_old_fds_open, 120)
{
	char name[64];
	__u64 frozen;
	int old, fd;

	snprintf(name, sizeof(name), "%s", self->gt.pmu);
	old = open_event(&self->gt, "interrupts", -1, 0);
	ASSERT_LE(0, old);
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 100"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	ASSERT_EQ(0, gt_unbind(&self->gt));
	frozen = READ_COUNT(old);
	EXPECT_EQ(100, frozen);
	ASSERT_EQ(0, gt_bind(&self->gt));
	ASSERT_EQ(0, gt_find(&self->gt));
	EXPECT_STREQ(name, self->gt.pmu);

	fd = open_event(&self->gt, "interrupts", -1, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 200"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	EXPECT_EQ(200, READ_COUNT(fd));
	EXPECT_EQ(frozen, READ_COUNT(old));
	close(fd);
	close(old);
}

/* Many unbind/rebind cycles, each with an event open, work and reads around it. */
TEST_F_TIMEOUT(gt, unbind_rebind_cycles, 1800)
{
	unsigned long cycles = env_count("PERF_UNBIND_CYCLES", 100);
	__u64 v, last = 0;
	int fd, prev = -1;

	for (unsigned long i = 0; i < cycles; i++) {
		fd = open_event(&self->gt, "interrupts", -1, 0);
		ASSERT_LE(0, fd) TH_LOG("cycle %lu: %s", i, strerror(-fd));
		ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 5"));
		ASSERT_EQ(0, wait_idle(&self->gt, 10000));
		EXPECT_EQ(5, READ_COUNT(fd));
		ASSERT_EQ(0, gt_unbind(&self->gt)) TH_LOG("cycle %lu", i);
		v = READ_COUNT(fd);
		EXPECT_EQ(5, v);
		if (prev >= 0) {
			EXPECT_EQ(last, READ_COUNT(prev));
			close(prev);
		}
		prev = fd;
		last = v;
		ASSERT_EQ(0, gt_bind(&self->gt)) TH_LOG("cycle %lu", i);
	}
	close(prev);
	TH_LOG("%lu cycles (PERF_UNBIND_CYCLES)", cycles);
}

struct reader {
	pthread_t thread;
	int fd;
	bool *stop;
	bool *unbound;		/* set once the unbind has returned */
	unsigned long reads, errors, backwards;
	unsigned long after;	/* reads begun once the unbind had returned */
	__u64 last;		/* the last count it read */
};

static void *reader_loop(void *arg)
{
	struct reader *r = arg;
	__u64 v;

	while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
		bool unbound = __atomic_load_n(r->unbound, __ATOMIC_ACQUIRE);

		if (read(r->fd, &v, sizeof(v)) != sizeof(v)) {
			r->errors++;
			continue;
		}
		if (v < r->last)
			r->backwards++;
		r->last = v;
		if (unbound)
			__atomic_add_fetch(&r->after, 1, __ATOMIC_RELEASE);
		r->reads++;
	}
	return NULL;
}

/*
 * Readers in tight loops on every CPU while the device is unbound, with
 * work running through the unbind, so that the counters move during the
 * race and during the final folds; then rebound. (perf core serialises
 * read() and the final fold on the event's context lock: the folds that
 * run concurrently, without it, are KUnit's.) Each reader ends on its
 * event's final count, and that count is exact: every event was opened
 * before the work and counted the same busy time and interrupts, up to
 * its final fold, as a witness event that nobody read until then. The
 * folds of one unbind all happen inside it, on one CPU and one clock:
 * their busy times differ by no more than the unbind took. (Interrupts
 * come in bursts, and a read begun before the unbind returned may run
 * after another event's final fold: no bound across events there.) A final
 * fold that is lost, or counted twice, is off by what the event counted
 * since its last read: the witness's whole count.
 */
TEST_F_TIMEOUT(gt, concurrent_readers_during_unbind, 1800)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN) > 8 ? sysconf(_SC_NPROCESSORS_ONLN) : 8;
	unsigned long cycles = env_count("PERF_UNBIND_READER_CYCLES", 10);
	static const char * const names[] = { "rcs0-busy", "interrupts" };
	bool stop, unbound;
	struct reader r[n];

	for (unsigned long c = 0; c < cycles; c++) {
		__u64 witness[2], lo, hi, t0, t1;
		int wfd[2], waited;

		for (int k = 0; k < 2; k++) {
			wfd[k] = open_event(&self->gt, names[k], -1, 0);
			ASSERT_LE(0, wfd[k]);
		}
		stop = false;
		unbound = false;
		for (long i = 0; i < n; i++) {
			r[i] = (struct reader){ .stop = &stop, .unbound = &unbound };
			r[i].fd = open_event(&self->gt, names[i % 2], -1, 0);
			ASSERT_LE(0, r[i].fd);
		}
		for (long i = 0; i < n; i++)
			ASSERT_EQ(0, pthread_create(&r[i].thread, NULL, reader_loop, &r[i]));
		ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 2000"));
		usleep(20000);
		/* The work runs through the unbind. */
		EXPECT_LT(0, gt_pending(&self->gt));
		t0 = now_ns();
		ASSERT_EQ(0, gt_unbind(&self->gt));
		t1 = now_ns();
		__atomic_store_n(&unbound, true, __ATOMIC_RELEASE);
		/* Until every reader has read the final count (at most 10 s). */
		for (waited = 0; waited < 1000; waited++) {
			long i;

			for (i = 0; i < n; i++)
				if (!__atomic_load_n(&r[i].after, __ATOMIC_ACQUIRE))
					break;
			if (i == n)
				break;
			usleep(10000);
		}
		__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
		for (int k = 0; k < 2; k++)
			witness[k] = READ_COUNT(wfd[k]);
		lo = witness[0];
		hi = witness[0];
		for (long i = 0; i < n; i++) {
			__u64 final;

			pthread_join(r[i].thread, NULL);
			EXPECT_EQ(0, r[i].errors);
			EXPECT_EQ(0, r[i].backwards);
			/* It read after the unbind too, and ended on the final count. */
			EXPECT_LT(0, r[i].after);
			final = READ_COUNT(r[i].fd);
			EXPECT_EQ(final, r[i].last);
			/* The busy times (names[0]) only: see above. */
			if (i % 2 == 0) {
				lo = final < lo ? final : lo;
				hi = final > hi ? final : hi;
			}
			close(r[i].fd);
		}
		EXPECT_LT(0, witness[0]);
		EXPECT_LT(0, witness[1]);
		EXPECT_LE(hi - lo, t1 - t0)
			TH_LOG("%s: final %llu..%llu, witness %llu, unbind %llu ns", names[0],
			       (unsigned long long)lo, (unsigned long long)hi,
			       (unsigned long long)witness[0], (unsigned long long)(t1 - t0));
		for (int k = 0; k < 2; k++)
			close(wfd[k]);
		ASSERT_EQ(0, gt_bind(&self->gt));
	}
}

/*
 * A group (leader and siblings, PERF_FORMAT_GROUP) across unbind. Revocation
 * splits the group (perf core detaches with DETACH_GROUP): afterwards every
 * member reads alone, with its final count.
 */
TEST_F_TIMEOUT(gt, group_across_unbind, 120)
{
	struct { __u64 nr, values[3]; } g;
	struct { __u64 nr, value; } one;
	int fd[3];

	fd[0] = open_event(&self->gt, "interrupts", -1, PERF_FORMAT_GROUP);
	ASSERT_LE(0, fd[0]);
	fd[1] = open_event(&self->gt, "rcs0-busy", fd[0], PERF_FORMAT_GROUP);
	ASSERT_LE(0, fd[1]);
	fd[2] = open_event(&self->gt, "software-gt-awake-time", fd[0], PERF_FORMAT_GROUP);
	ASSERT_LE(0, fd[2]);
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 300"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	usleep(100000);		/* the GT parks 20 ms after its last job */
	ASSERT_EQ(sizeof(g), read(fd[0], &g, sizeof(g)));
	EXPECT_EQ(3, g.nr);
	EXPECT_EQ(300, g.values[0]);
	EXPECT_LT(0, g.values[1]);
	EXPECT_LT(g.values[1], g.values[2]);
	ASSERT_EQ(0, gt_unbind(&self->gt));
	/* Idle and parked since the read: the final fold adds nothing. */
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(sizeof(one), read(fd[i], &one, sizeof(one)));
		EXPECT_EQ(1, one.nr);
		EXPECT_EQ(g.values[i], one.value) TH_LOG("%d", i);
	}
	ASSERT_EQ(sizeof(one), read(fd[0], &one, sizeof(one)));
	EXPECT_EQ(300, one.value);
	for (int i = 2; i >= 0; i--)
		EXPECT_EQ(0, close(fd[i]));
}

/*
 * An event whose user page is mapped: the mapping survives unbind and
 * stays readable (no SIGBUS), munmap works, and a new mmap of the revoked
 * event fails with ENODEV. The PMU has no self-monitoring (index 0): the
 * count comes from read().
 */
TEST_F_TIMEOUT(gt, mmap_across_unbind, 120)
{
	long page = sysconf(_SC_PAGESIZE);
	struct perf_event_mmap_page *pg;
	__u64 before, final;
	__u32 seq;
	void *again;
	int fd;

	fd = open_event(&self->gt, "rcs0-busy", -1, 0);
	ASSERT_LE(0, fd);
	pg = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, pg) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(0, pg->index);
	EXPECT_EQ(0, (int)pg->cap_user_rdpmc);
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 500"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	before = READ_COUNT(fd);
	EXPECT_LT(0, before);
	ASSERT_EQ(0, gt_unbind(&self->gt));
	/* Still mapped and readable after revocation. */
	seq = __atomic_load_n(&pg->lock, __ATOMIC_ACQUIRE);
	EXPECT_EQ(0, pg->index);
	EXPECT_LE(pg->time_running, pg->time_enabled) TH_LOG("lock %u", seq);
	final = READ_COUNT(fd);
	/* The engine was idle since the read: the final fold adds nothing. */
	EXPECT_EQ(before, final);
	EXPECT_EQ(0, munmap(pg, page));
	again = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, again);
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(final, READ_COUNT(fd));
	EXPECT_EQ(0, close(fd));
}

/*
 * A CPU goes offline and comes back with events open. If the CPU of the
 * PMU's cpumask can go offline, perf core moves the PMU's events to another
 * CPU and updates cpumask: the event keeps counting. On x86 the boot CPU
 * (the cpumask of a system-wide PMU) cannot go offline, so nothing migrates
 * here: another CPU is cycled while events are open on both, the event on
 * the cpumask CPU must count every interrupt and the other one stays
 * readable. The migration itself is pkg.package_event_moves_with_its_cpu
 * (the offline path, on a PMU of package scope) and the KUnit case
 * rust_perf.migrated_event_counts_on_its_new_cpu.
 */
TEST_F_TIMEOUT(gt, cpu_offline_with_events_open, 120)
{
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	int fd, other = -1, victim = -1;
	__u64 v0, v1, o0 = 0;

	for (int cpu = 0; cpu < ncpus && victim < 0; cpu++)
		if (cpu != self->gt.cpu && cpu_can_go_offline(cpu))
			victim = cpu;
	if (cpu_can_go_offline(self->gt.cpu))
		victim = self->gt.cpu;
	if (victim < 0)
		SKIP(return, "no CPU can go offline");
	if (victim == self->gt.cpu)
		TH_LOG("offlining the cpumask CPU %d: its events move", victim);
	else
		TH_LOG("cpumask CPU %d cannot go offline; offlining CPU %d, with an event on it",
		       self->gt.cpu, victim);

	fd = open_event(&self->gt, "interrupts", -1, 0);
	ASSERT_LE(0, fd);
	if (victim != self->gt.cpu) {
		struct perf_event_attr attr;
		__u64 config;

		ASSERT_EQ(0, event_config(&self->gt, "interrupts", &config));
		attr_init(&attr, &self->gt, config);
		other = perf_open(&attr, -1, victim, -1);
		ASSERT_LE(0, other) TH_LOG("event on CPU %d: %s", victim, strerror(errno));
	}
	v0 = READ_COUNT(fd);
	if (other >= 0)
		o0 = READ_COUNT(other);
	ASSERT_EQ(0, cpu_set_online(victim, false)) TH_LOG("offline CPU %d", victim);
	self->offline_cpu = victim;
	/* The cpumask never names an offline CPU. */
	ASSERT_EQ(0, gt_refresh(&self->gt));
	EXPECT_NE(victim, self->gt.cpu);
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 100"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	v1 = READ_COUNT(fd);
	EXPECT_EQ(v0 + 100, v1) TH_LOG("CPU %d offline", victim);
	/*
	 * The event on the CPU that went offline left its context with it
	 * (perf_event_exit_cpu_context()): it counts nothing more, not the
	 * work done while the CPU is offline nor after it comes back.
	 */
	if (other >= 0)
		EXPECT_EQ(o0, READ_COUNT(other));
	ASSERT_EQ(0, cpu_set_online(victim, true));
	self->offline_cpu = -1;
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 10"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	EXPECT_EQ(v1 + 10, READ_COUNT(fd));
	if (other >= 0) {
		EXPECT_EQ(o0, READ_COUNT(other));
		close(other);
	}
	close(fd);
}

/*
 * A process that holds the submit file open across unbind: its writes fail
 * with EIO (debugfs's proxy), nothing reaches the device, close works; after
 * rebind a fresh open submits again.
 */
TEST_F_TIMEOUT(gt, submit_fd_across_unbind, 120)
{
	char path[PATH_MAX];
	int fd;

	ASSERT_EQ(0, gt_path(DEBUGFS_DIR, &self->gt, "submit", path, sizeof(path)));
	fd = open(path, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(7, write(fd, "rcs0 5\n", 7));
	ASSERT_EQ(0, gt_unbind(&self->gt));
	EXPECT_EQ(-1, write(fd, "rcs0 5\n", 7));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(0, close(fd));
	ASSERT_EQ(0, gt_bind(&self->gt));
	EXPECT_EQ(0, gt_submit(&self->gt, "rcs0 5"));
	EXPECT_EQ(0, wait_idle(&self->gt, 10000));
}

/*
 * Events do not pin the module: rmmod succeeds with events open, bound or
 * not; the old fds keep their final counts; modprobe brings the PMU back.
 */
TEST_F_TIMEOUT(gt, rmmod_with_events_open, 120)
{
	__u64 final;
	int fd;

	fd = open_event(&self->gt, "interrupts", -1, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 50"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	ASSERT_EQ(0, syscall(__NR_delete_module, "i915_pmu_rs", O_NONBLOCK))
		TH_LOG("rmmod with an event open: %s", strerror(errno));
	EXPECT_FALSE(pmu_present(&self->gt));
	final = READ_COUNT(fd);
	EXPECT_EQ(50, final);
	ASSERT_EQ(0, gt_modprobe(&self->gt));
	EXPECT_EQ(final, READ_COUNT(fd));
	close(fd);
}

/*
 * The interval the mux cases write: longer than an unbind takes under TCG
 * (grace periods), so that the timer is still armed when the PMU is freed.
 */
#define MUX_MS		2000

/*
 * Writes MUX_MS to the perf_event_mux_interval_ms file at path, or MUX_MS + 1
 * if that is the PMU's (the same value returns before arming the timers);
 * the value it had in old.
 */
static int mux_write(const char *path, char *old, size_t len)
{
	char buf[16];
	int ret = read_text(path, old, len);

	if (ret)
		return ret;
	snprintf(buf, sizeof(buf), "%d", atoi(old) == MUX_MS ? MUX_MS + 1 : MUX_MS);
	return write_text(path, buf);
}

/*
 * A write to perf_event_mux_interval_ms (0644 on every PMU) arms the PMU's
 * multiplexing hrtimer on every online CPU, with events or without. Unbind
 * before it fires: the PMU's per-CPU contexts are freed with it, and none
 * may be freed with its timer armed (debug-objects: "ODEBUG: free active
 * ... object type: hrtimer"; without them the timer would fire in freed
 * memory, which KASAN reports). The wait covers the interval.
 */
TEST_F_TIMEOUT(gt, mux_interval_write_then_unbind, 120)
{
	char path[PATH_MAX], old[32], now[32];
	int kmsg;

	gt_path(EVENT_SRC_DIR, &self->gt, "perf_event_mux_interval_ms", path, sizeof(path));
	kmsg = kmsg_open_end();
	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, mux_write(path, old, sizeof(old)));
	ASSERT_EQ(0, gt_unbind(&self->gt));
	usleep((MUX_MS + 500) * 1000);
	EXPECT_EQ(0, kmsg_splats(_metadata, kmsg));
	close(kmsg);
	/* The PMU of the next bind is a new one, at the default interval. */
	ASSERT_EQ(0, gt_bind(&self->gt));
	ASSERT_EQ(0, gt_find(&self->gt));
	ASSERT_EQ(0, read_text(path, now, sizeof(now)));
	EXPECT_STREQ(old, now);
}

/*
 * The same against the C twin: perf core frees the per-CPU contexts of
 * every PMU it unregisters, and a C driver's unbind frees the armed timers
 * the same way. The device goes from i915_pmu_rs to the twin and back.
 */
TEST_F_TIMEOUT(gt, mux_interval_write_then_unbind_c_twin, 120)
{
	char pmu[64], bdf[32], path[PATH_MAX], old[32];
	int kmsg;

	ASSERT_EQ(0, twin_load("")) TH_LOG("loading pmu_c_twin.ko: %s", strerror(errno));
	self->twin = true;
	ASSERT_EQ(0, gt_unbind(&self->gt));
	ASSERT_EQ(0, write_text(TWIN_DIR "/bind", self->gt.bdf));
	ASSERT_EQ(0, pmu_find("i915c_", pmu, sizeof(pmu), bdf, sizeof(bdf)));
	EXPECT_STREQ(self->gt.bdf, bdf);
	snprintf(path, sizeof(path), EVENT_SRC_DIR "/%s/perf_event_mux_interval_ms", pmu);
	kmsg = kmsg_open_end();
	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, mux_write(path, old, sizeof(old)));
	ASSERT_EQ(0, write_text(TWIN_DIR "/unbind", self->gt.bdf));
	usleep((MUX_MS + 500) * 1000);
	EXPECT_EQ(0, kmsg_splats(_metadata, kmsg));
	close(kmsg);
	EXPECT_EQ(0, syscall(__NR_delete_module, "pmu_c_twin", O_NONBLOCK))
		TH_LOG("rmmod pmu_c_twin: %s", strerror(errno));
	self->twin = false;
	ASSERT_EQ(0, gt_bind(&self->gt));
	ASSERT_EQ(0, gt_find(&self->gt));
}

/*
 * rmmod while an event's user page is mapped. A PMU with an
 * event_unmapped callback makes perf_pmu_unregister() refuse with -EBUSY
 * while it has events, and the module's exit cannot wait: the PMU would
 * stay published with its sysfs tables and callbacks in the freed module.
 * kernel::perf has no mapping callbacks, so the module goes at once; the
 * mapping stays readable, munmap works, and the event keeps its count.
 */
TEST_F_TIMEOUT(gt, rmmod_with_event_mapped, 120)
{
	long page = sysconf(_SC_PAGESIZE);
	struct perf_event_mmap_page *pg;
	__u64 final;
	__u32 seq;
	int fd;

	fd = open_event(&self->gt, "interrupts", -1, 0);
	ASSERT_LE(0, fd);
	pg = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, pg) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 20"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	ASSERT_EQ(0, syscall(__NR_delete_module, "i915_pmu_rs", O_NONBLOCK))
		TH_LOG("rmmod with an event mapped: %s", strerror(errno));
	EXPECT_FALSE(pmu_present(&self->gt));
	/* The page is still mapped: reading it must not fault (SIGBUS). */
	seq = __atomic_load_n(&pg->lock, __ATOMIC_ACQUIRE);
	TH_LOG("user page lock %u after rmmod", seq);
	final = READ_COUNT(fd);
	EXPECT_EQ(20, final);
	EXPECT_EQ(0, munmap(pg, page));
	ASSERT_EQ(0, gt_modprobe(&self->gt));
	EXPECT_EQ(final, READ_COUNT(fd));
	EXPECT_EQ(0, close(fd));
}

/*
 * A process that holds events open and reads them until it is killed.
 * With a leader, the events form a group. Exits 1 on a failed read.
 */
static pid_t spawn_reader(const struct gt *gt, bool group)
{
	int fd[2], ready[2];
	char c = 0;
	pid_t pid;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid) {
		close(ready[1]);
		/* Returns once the reader has its events open. */
		if (pid > 0 && read(ready[0], &c, 1) != 1) {
			waitpid(pid, NULL, 0);
			pid = -1;
		}
		close(ready[0]);
		return pid;
	}
	close(ready[0]);
	fd[0] = open_event(gt, "interrupts", -1, group ? PERF_FORMAT_GROUP : 0);
	fd[1] = open_event(gt, "rcs0-busy", group ? fd[0] : -1, group ? PERF_FORMAT_GROUP : 0);
	if (fd[0] < 0 || fd[1] < 0)
		_exit(2);
	if (write(ready[1], &c, 1) != 1)
		_exit(3);
	for (;;) {
		__u64 buf[4];

		for (int i = 0; i < 2; i++)
			if (read(fd[i], buf, sizeof(buf)) <= 0)
				_exit(1);
		usleep(1000);
	}
}

/* Kills a reader; it must have been alive and reading until then. */
static bool reap_reader(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void sleep_ms_upto(unsigned int *seed, int ms)
{
	usleep(1000 * (rand_r(seed) % (ms + 1)));
}

/*
 * The unbind scenarios of the i915/xe PMU unbind fixes (Lucas De Marchi,
 * 2024): unbind with no perf; perf started before unbind and killed right
 * after it; killed after rebind; killed much later, after new work; a
 * group with a leader. Each looped PERF_UNBIND_STRESS times with random
 * sleeps (seed in the log).
 */
TEST_F_TIMEOUT(gt, unbind_stress_scenarios, 1800)
{
	unsigned long loops = env_count("PERF_UNBIND_STRESS", 5);
	unsigned int seed = time(NULL);
	pid_t pid;

	TH_LOG("%lu loops (PERF_UNBIND_STRESS), seed %u", loops, seed);
	for (unsigned long i = 0; i < loops; i++) {
		/* 1. no perf */
		ASSERT_EQ(0, gt_unbind(&self->gt));
		sleep_ms_upto(&seed, 20);
		ASSERT_EQ(0, gt_bind(&self->gt));

		/* 2. perf started before unbind, killed right after it */
		pid = spawn_reader(&self->gt, false);
		ASSERT_LT(0, pid);
		ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 200"));
		sleep_ms_upto(&seed, 50);
		ASSERT_EQ(0, gt_unbind(&self->gt));
		EXPECT_TRUE(reap_reader(pid)) TH_LOG("loop %lu: killed after unbind", i);
		ASSERT_EQ(0, gt_bind(&self->gt));

		/* 3. perf killed later: after rebind */
		pid = spawn_reader(&self->gt, false);
		ASSERT_LT(0, pid);
		sleep_ms_upto(&seed, 50);
		ASSERT_EQ(0, gt_unbind(&self->gt));
		sleep_ms_upto(&seed, 50);
		ASSERT_EQ(0, gt_bind(&self->gt));
		sleep_ms_upto(&seed, 50);
		EXPECT_TRUE(reap_reader(pid)) TH_LOG("loop %lu: killed after rebind", i);

		/* 4. perf killed much later: after new work on the rebound GT */
		pid = spawn_reader(&self->gt, false);
		ASSERT_LT(0, pid);
		ASSERT_EQ(0, gt_unbind(&self->gt));
		ASSERT_EQ(0, gt_bind(&self->gt));
		ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 100"));
		ASSERT_EQ(0, wait_idle(&self->gt, 30000));
		sleep_ms_upto(&seed, 200);
		EXPECT_TRUE(reap_reader(pid)) TH_LOG("loop %lu: killed much later", i);

		/* 5. a group with a leader */
		pid = spawn_reader(&self->gt, true);
		ASSERT_LT(0, pid);
		ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 200"));
		sleep_ms_upto(&seed, 50);
		ASSERT_EQ(0, gt_unbind(&self->gt));
		sleep_ms_upto(&seed, 20);
		EXPECT_TRUE(reap_reader(pid)) TH_LOG("loop %lu: group", i);
		ASSERT_EQ(0, gt_bind(&self->gt));
	}
}

/* An unprivileged user gets neither system-wide events nor the bind files. */
TEST_F_TIMEOUT(gt, unprivileged_refused, 120)
{
	char buf[16] = "2";
	int status;
	pid_t pid;

	read_text("/proc/sys/kernel/perf_event_paranoid", buf, sizeof(buf));
	if (atoi(buf) < 1)
		SKIP(return, "perf_event_paranoid < 1 lets everyone open system-wide events");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct perf_event_attr attr;
		__u64 config;

		if (event_config(&self->gt, "rcs0-busy", &config) || setgid(65534) ||
		    setuid(65534))
			_exit(10);
		attr_init(&attr, &self->gt, config);
		if (perf_open(&attr, -1, self->gt.cpu, -1) >= 0 || errno != EACCES)
			_exit(11);
		if (write_text(DRIVER_DIR "/unbind", self->gt.bdf) != -EACCES)
			_exit(12);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("10 setup, 11 perf_event_open, 12 unbind");
	EXPECT_TRUE(pmu_present(&self->gt));
}

/* What a counting PMU cannot do gets the errno i915 gives; the kernel stays healthy. */
TEST_F_TIMEOUT(gt, bad_input, 120)
{
	static const __u64 unknown[] = { 0x3, 0x2000, 0x100005 };
	struct perf_event_attr attr;
	char job[100];
	__u64 config;
	int fd;

	ASSERT_EQ(0, event_config(&self->gt, "rcs0-busy", &config));
	/* Configs this GT does not have: a sample kind, an engine, an "other" counter. */
	for (int i = 0; i < 3; i++) {
		attr_init(&attr, &self->gt, unknown[i]);
		EXPECT_EQ(-1, perf_open(&attr, -1, self->gt.cpu, -1));
		EXPECT_EQ(ENOENT, errno) TH_LOG("config %#llx", (unsigned long long)unknown[i]);
	}
	attr_init(&attr, &self->gt, config);
	attr.sample_period = 1000;
	EXPECT_EQ(-1, perf_open(&attr, -1, self->gt.cpu, -1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("sampling");

	attr_init(&attr, &self->gt, config);
	EXPECT_EQ(-1, perf_open(&attr, 0, -1, -1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("per-task, any CPU");
	EXPECT_EQ(-1, perf_open(&attr, 0, self->gt.cpu, -1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("per-task on a CPU");
	EXPECT_EQ(-1, perf_open(&attr, -1, -1, -1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("cpu -1");

	for (int bit = 0; bit < 6; bit++) {
		attr_init(&attr, &self->gt, config);
		set_exclude(&attr, bit);
		EXPECT_EQ(-1, perf_open(&attr, -1, self->gt.cpu, -1));
		EXPECT_EQ(EINVAL, errno) TH_LOG("exclude bit %d", bit);
	}

	attr_init(&attr, &self->gt, config);
	attr.size = 32;
	EXPECT_EQ(-1, perf_open(&attr, -1, self->gt.cpu, -1));
	EXPECT_EQ(E2BIG, errno) TH_LOG("attr size 32");

	EXPECT_EQ(-EINVAL, gt_submit(&self->gt, "vcs0 1"));
	EXPECT_EQ(-EINVAL, gt_submit(&self->gt, "rcs0 0"));
	EXPECT_EQ(-EINVAL, gt_submit(&self->gt, "rcs0 1 after rcs0"));
	EXPECT_EQ(-EINVAL, gt_submit(&self->gt, "\xff\xfe garbage \x01"));
	memset(job, '.', sizeof(job) - 1);
	job[sizeof(job) - 1] = '\0';
	memcpy(job, "rcs0 1 ", 7);
	EXPECT_EQ(-EINVAL, gt_submit(&self->gt, job));	/* longer than 64 bytes */

	/* Still healthy: a good event counts. */
	attr_init(&attr, &self->gt, config);
	fd = perf_open(&attr, -1, self->gt.cpu, -1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 10"));
	ASSERT_EQ(0, wait_idle(&self->gt, 10000));
	EXPECT_LT(0, READ_COUNT(fd));
	close(fd);
}

/*
 * The errnos of Documentation/rust/perf.rst's table that need a PMU gone:
 * the type of an unbound PMU is ENOENT (perf core finds no PMU for it), and
 * a revoked leader takes no sibling, of its PMU or a software one (ENODEV,
 * perf core, before it looks at the type).
 */
TEST_F_TIMEOUT(gt, errnos_of_an_unbound_pmu, 120)
{
	struct perf_event_attr attr;
	struct gt old = self->gt;
	__u64 config;
	int fd, sw;

	ASSERT_EQ(0, event_config(&self->gt, "rcs0-busy", &config));
	fd = open_event(&self->gt, "rcs0-busy", -1, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gt_unbind(&self->gt));
	attr_init(&attr, &old, config);
	EXPECT_EQ(-1, perf_open(&attr, -1, old.cpu, -1));
	EXPECT_EQ(ENOENT, errno) TH_LOG("the type of an unbound PMU");
	EXPECT_EQ(-1, perf_open(&attr, -1, old.cpu, fd));
	EXPECT_EQ(ENODEV, errno) TH_LOG("a sibling of the PMU's, revoked leader");
	sw = open_sw_event(&old, PERF_COUNT_SW_CPU_CLOCK, fd, 0);
	EXPECT_EQ(-ENODEV, sw) TH_LOG("a software sibling, revoked leader");
	if (sw >= 0)
		close(sw);
	EXPECT_EQ(0, close(fd));
}

/*
 * A software event in a group with an event of the PMU lives in the PMU's
 * event context (perf_event_open() puts software siblings of a hardware
 * group there, and moves a software group there when a hardware event
 * joins it). Unbind must revoke it with the group: before perf core
 * revoked it, it kept pointing at the unregistered PMU's context, and the
 * next context switch, read or close used freed memory.
 *
 * @sw_leader: the software event leads and the PMU's event joins it.
 * @close_sw_first: close order after the unbind.
 * @close_gt_before_unbind: close the PMU's event before the unbind, which
 *	leaves the software event alone in the PMU's context.
 */
static void sw_group_across_unbind(struct __test_metadata *_metadata, struct gt *gt,
				   bool sw_leader, bool close_sw_first,
				   bool close_gt_before_unbind)
{
	const __u64 rf = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED;
	struct { __u64 nr, enabled, values[2]; } g;
	struct { __u64 nr, enabled, value; } one;
	__u64 sw_final, hw_final = 0;
	int kmsg, hw, sw;

	kmsg = kmsg_open_end();
	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, pin_to_cpu(gt->cpu));
	if (sw_leader) {
		sw = open_sw_event(gt, PERF_COUNT_SW_CPU_CLOCK, -1, rf);
		ASSERT_LE(0, sw) TH_LOG("cpu-clock: %s", strerror(-sw));
		hw = open_event(gt, "interrupts", sw, rf);
		ASSERT_LE(0, hw) TH_LOG("interrupts in a software group: %s", strerror(-hw));
	} else {
		hw = open_event(gt, "interrupts", -1, rf);
		ASSERT_LE(0, hw);
		sw = open_sw_event(gt, PERF_COUNT_SW_CPU_CLOCK, hw, rf);
		ASSERT_LE(0, sw) TH_LOG("cpu-clock in the group: %s", strerror(-sw));
	}
	ASSERT_EQ(0, gt_submit(gt, "rcs0 20"));
	ASSERT_EQ(0, wait_idle(gt, 30000));
	context_switch(300);
	ASSERT_EQ(sizeof(g), read(sw_leader ? sw : hw, &g, sizeof(g)));
	ASSERT_EQ(2, g.nr);
	EXPECT_EQ(20, g.values[sw_leader ? 1 : 0]);
	EXPECT_LT(0, g.values[sw_leader ? 0 : 1]);
	if (close_gt_before_unbind) {
		EXPECT_EQ(0, close(hw));
		hw = -1;
		context_switch(100);
	}

	ASSERT_EQ(0, gt_unbind(gt));
	context_switch(300);
	/* Every member was revoked: each reads alone, with its final count. */
	ASSERT_EQ(sizeof(one), read(sw, &one, sizeof(one)));
	EXPECT_EQ(1, one.nr);
	sw_final = one.value;
	EXPECT_LE(g.values[sw_leader ? 0 : 1], sw_final);
	if (hw >= 0) {
		ASSERT_EQ(sizeof(one), read(hw, &one, sizeof(one)));
		EXPECT_EQ(1, one.nr);
		hw_final = one.value;
		EXPECT_EQ(20, hw_final);
	}
	context_switch(100);
	ASSERT_EQ(sizeof(one), read(sw, &one, sizeof(one)));
	EXPECT_EQ(sw_final, one.value) TH_LOG("the software event kept counting");
	expect_revoked(_metadata, sw);

	if (close_sw_first) {
		EXPECT_EQ(0, close(sw));
		context_switch(100);
	}
	if (hw >= 0) {
		ASSERT_EQ(sizeof(one), read(hw, &one, sizeof(one)));
		EXPECT_EQ(hw_final, one.value);
		EXPECT_EQ(0, close(hw));
		context_switch(100);
	}
	if (!close_sw_first)
		EXPECT_EQ(0, close(sw));
	context_switch(100);
	EXPECT_EQ(0, kmsg_splats(_metadata, kmsg));
	close(kmsg);
}

/* perf stat -a -e '{i915rs_.../interrupts/,cpu-clock}': close the PMU's event first. */
TEST_F_TIMEOUT(gt, sw_sibling_close_device_first, 120)
{
	sw_group_across_unbind(_metadata, &self->gt, false, false, false);
}

TEST_F_TIMEOUT(gt, sw_sibling_close_sw_first, 120)
{
	sw_group_across_unbind(_metadata, &self->gt, false, true, false);
}

/* '{cpu-clock,i915rs_.../interrupts/}': the software group moves into the PMU's context. */
TEST_F_TIMEOUT(gt, sw_leader_close_device_first, 120)
{
	sw_group_across_unbind(_metadata, &self->gt, true, false, false);
}

TEST_F_TIMEOUT(gt, sw_leader_close_sw_first, 120)
{
	sw_group_across_unbind(_metadata, &self->gt, true, true, false);
}

/* The PMU's leader closed before the unbind: its software sibling stays in the PMU's context. */
TEST_F_TIMEOUT(gt, sw_sibling_left_alone_in_device_context, 120)
{
	sw_group_across_unbind(_metadata, &self->gt, false, false, true);
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* A BPF_MAP_TYPE_PERF_EVENT_ARRAY with one entry per possible CPU, two at least. */
static int perf_event_array(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_PERF_EVENT_ARRAY;
	attr.key_size = sizeof(__u32);
	attr.value_size = sizeof(__u32);
	attr.max_entries = cpus > 2 ? cpus : 2;
	return sys_bpf(BPF_MAP_CREATE, &attr);
}

static int perf_event_array_set(int map, __u32 key, __u32 fd)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = map;
	attr.key = (unsigned long)&key;
	attr.value = (unsigned long)&fd;
	attr.flags = BPF_ANY;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &attr) ? -errno : 0;
}

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/*
 * A raw tracepoint program that reads entry @key of perf event array @map
 * with bpf_perf_event_read_value() and returns the counter's low 31 bits,
 * or the helper's (negative) error. It runs through BPF_PROG_TEST_RUN, so it
 * needs no tracepoint.
 */
static int load_reader_prog(int map, __u32 key)
{
	const struct bpf_insn insns[] = {
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, key),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -24),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 24),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_perf_event_read_value),
		/* if (r0 != 0) return r0; */
		INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 2, 0),
		/* r0 = value.counter & INT_MAX */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_0, BPF_REG_10, -24, 0),
		INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_0, 0, 0, INT_MAX),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	static char log[4096];
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	attr.insns = (unsigned long)insns;
	attr.insn_cnt = ARRAY_SIZE(insns);
	attr.license = (unsigned long)"GPL";
	attr.log_buf = (unsigned long)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0)
		fprintf(stderr, "# BPF_PROG_LOAD: %s\n%s", strerror(errno), log);
	return fd;
}

/* Runs the program on @cpu; its return value, or -errno of the run. */
static long long run_prog_on(int prog, int cpu)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = prog;
	attr.test.flags = BPF_F_TEST_RUN_ON_CPU;
	attr.test.cpu = cpu;
	if (sys_bpf(BPF_PROG_TEST_RUN, &attr))
		return -errno;
	return (int)attr.test.retval;
}

/*
 * A revoked event given to a perf event array: perf_event_fd_array_get_ptr()
 * reads it with perf_event_read_local(), which followed event->pmu, NULL
 * after revocation. The map takes the event (it refuses only EOPNOTSUPP),
 * and read() still gives the final count.
 */
TEST_F_TIMEOUT(gt, bpf_map_update_with_revoked_event, 120)
{
	int kmsg, map, fd;

	kmsg = kmsg_open_end();
	ASSERT_LE(0, kmsg);
	map = perf_event_array();
	if (map < 0)
		SKIP(return, "BPF_MAP_CREATE: %s (CONFIG_BPF_SYSCALL)", strerror(errno));
	fd = open_event(&self->gt, "interrupts", -1, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 10"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	ASSERT_EQ(0, pin_to_cpu(self->gt.cpu));
	ASSERT_EQ(0, gt_unbind(&self->gt));
	EXPECT_EQ(0, perf_event_array_set(map, self->gt.cpu, fd));
	EXPECT_EQ(10, READ_COUNT(fd));
	close(map);
	close(fd);
	EXPECT_EQ(0, kmsg_splats(_metadata, kmsg));
	close(kmsg);
}

/*
 * A BPF program reading events with bpf_perf_event_read_value() before and
 * after the unbind: an event of the PMU and a cpu-clock in its group, which
 * is revoked with it but keeps its own PMU. Before, the counts; after,
 * ENODEV for both, as for ioctl() and mmap() of a revoked event; read()
 * still gives the final count.
 */
TEST_F_TIMEOUT(gt, bpf_prog_reads_revoked_event, 120)
{
	int kmsg, map, hw, sw, prog_hw, prog_sw;

	kmsg = kmsg_open_end();
	ASSERT_LE(0, kmsg);
	map = perf_event_array();
	if (map < 0)
		SKIP(return, "BPF_MAP_CREATE: %s (CONFIG_BPF_SYSCALL)", strerror(errno));
	prog_hw = load_reader_prog(map, 0);
	ASSERT_LE(0, prog_hw);
	prog_sw = load_reader_prog(map, 1);
	ASSERT_LE(0, prog_sw);
	/* The programs run here, not in an IPI: a fault kills this test, not the kernel. */
	ASSERT_EQ(0, pin_to_cpu(self->gt.cpu));
	hw = open_event(&self->gt, "interrupts", -1, 0);
	ASSERT_LE(0, hw);
	sw = open_sw_event(&self->gt, PERF_COUNT_SW_CPU_CLOCK, hw, 0);
	ASSERT_LE(0, sw);
	ASSERT_EQ(0, perf_event_array_set(map, 0, hw));
	ASSERT_EQ(0, perf_event_array_set(map, 1, sw));
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 30"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	EXPECT_EQ(30, run_prog_on(prog_hw, self->gt.cpu));
	EXPECT_LE(0, run_prog_on(prog_sw, self->gt.cpu));
	ASSERT_EQ(0, gt_unbind(&self->gt));
	EXPECT_EQ(-ENODEV, run_prog_on(prog_hw, self->gt.cpu));
	EXPECT_EQ(-ENODEV, run_prog_on(prog_sw, self->gt.cpu));
	EXPECT_EQ(30, READ_COUNT(hw));
	close(prog_hw);
	close(prog_sw);
	close(map);
	close(sw);
	close(hw);
	EXPECT_EQ(0, kmsg_splats(_metadata, kmsg));
	close(kmsg);
}

/*
 * Counts the PERF_RECORD_THROTTLE and PERF_RECORD_UNTHROTTLE records in a
 * ring buffer and consumes them all.
 */
static void ring_throttles(struct perf_event_mmap_page *pg, size_t data_size,
			   int *throttles, int *unthrottles)
{
	const unsigned char *data = (const unsigned char *)pg + pg->data_offset;
	__u64 head = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
	__u64 tail = pg->data_tail;

	while (tail < head) {
		struct perf_event_header h;

		for (size_t i = 0; i < sizeof(h); i++)
			((unsigned char *)&h)[i] = data[(tail + i) % data_size];
		if (!h.size)
			break;
		*throttles += h.type == PERF_RECORD_THROTTLE;
		*unthrottles += h.type == PERF_RECORD_UNTHROTTLE;
		tail += h.size;
	}
	__atomic_store_n(&pg->data_tail, tail, __ATOMIC_RELEASE);
}

/*
 * perf record -e '{i915rs_.../interrupts/,cpu-clock}:S' with a 10 us period
 * and perf_event_max_sample_rate at 1: the software sibling's hrtimer
 * overflow throttles the whole group, which calls the device event's
 * ->stop() from the timer interrupt, without the context lock, and the
 * tick unthrottles it, which calls ->start() again. (A page-faults sibling
 * never throttles: perf_swevent_overflow() throttles only from an event's
 * second overflow in one call, which page faults, one at a time, never
 * have.) The leader's ring buffer gets the THROTTLE and UNTHROTTLE records
 * that show both happened; afterwards the device event must count work
 * again, keep it across unbind, and the kernel log must stay clean.
 */
TEST_F_TIMEOUT(gt, throttled_group_with_sw_sibling, 120)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t data_size = 8 * page, len = page + data_size;
	struct perf_event_mmap_page *pg;
	int kmsg, hw, sw, ret, throttles = 0, unthrottles = 0;
	struct timespec t0, t;
	__u64 before, after;

	kmsg = kmsg_open_end();
	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, pin_to_cpu(self->gt.cpu));
	ASSERT_EQ(0, read_text(MAX_SAMPLE_RATE, self->old_rate, sizeof(self->old_rate)));
	hw = open_event(&self->gt, "interrupts", -1, 0);
	ASSERT_LE(0, hw);
	sw = open_sampling_clock(self->gt.cpu, hw);
	ASSERT_LE(0, sw) TH_LOG("sampling cpu-clock in the group: %s", strerror(-sw));
	pg = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, hw, 0);
	ASSERT_NE(MAP_FAILED, pg) TH_LOG("mmap of the leader: %s", strerror(errno));

	ret = write_text(MAX_SAMPLE_RATE, "1");
	if (ret == -EINVAL) {
		self->old_rate[0] = '\0';
		SKIP(return, "perf_cpu_time_max_percent is 0 or 100: the rate is fixed");
	}
	ASSERT_EQ(0, ret);
	for (int round = 0; round < 50 && (throttles < 2 || unthrottles < 2); round++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < 20000000L);
		ring_throttles(pg, data_size, &throttles, &unthrottles);
		usleep(5000);
	}
	EXPECT_EQ(0, write_text(MAX_SAMPLE_RATE, self->old_rate));
	self->old_rate[0] = '\0';
	/*
	 * Stop sampling, so that nothing throttles the group any more, and
	 * stay busy (an idle CPU stops its tick) until the tick unthrottled
	 * it, for up to two seconds.
	 */
	EXPECT_EQ(0, close(sw));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		ring_throttles(pg, data_size, &throttles, &unthrottles);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (unthrottles < throttles && t.tv_sec - t0.tv_sec < 2);
	EXPECT_LT(0, throttles) TH_LOG("the group was never throttled");
	EXPECT_EQ(throttles, unthrottles) TH_LOG("%d throttles, %d unthrottles",
						 throttles, unthrottles);

	/* Unthrottled: the device event counts the work it sees. */
	before = READ_COUNT(hw);
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 5"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));
	after = READ_COUNT(hw);
	EXPECT_EQ(before + 5, after);
	ASSERT_EQ(0, gt_unbind(&self->gt));
	EXPECT_EQ(after, READ_COUNT(hw));
	expect_revoked(_metadata, hw);
	EXPECT_EQ(0, munmap(pg, len));
	EXPECT_EQ(0, close(hw));
	EXPECT_EQ(0, kmsg_splats(_metadata, kmsg));
	close(kmsg);
}

/*
 * What the tick's unthrottling costs a PMU without interrupts that has
 * nothing throttled: nothing. A sampling cpu-clock on the CPU, in a group
 * of its own, throttles on every tick (perf_event_max_sample_rate at 1), so
 * every tick runs perf_adjust_freq_unthr_context() with unthrottle set; an
 * idle counting event of the C twin (count_disables=1 counts its
 * pmu_disable() calls) shares the CPU's context. Its PMU context has no
 * throttled event, so the tick must not disable and enable its PMU (register
 * traffic on an uncore PMU) to find that out: without the mark of patch 0004
 * it did so on every tick (984 times in the second, 994 unthrottles).
 */
TEST_F_TIMEOUT(gt, unthrottle_leaves_unthrottled_no_irq_pmu_alone, 120)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t data_size = 8 * page, len = page + data_size;
	int ev, sw, ret, throttles = 0, unthrottles = 0;
	char path[PATH_MAX], buf[32];
	struct perf_event_mmap_page *pg;
	long before, after;
	struct timespec t0, t;
	struct gt twin;

	ASSERT_EQ(0, twin_load("count_disables=1"))
		TH_LOG("loading pmu_c_twin.ko: %s", strerror(errno));
	self->twin = true;
	ASSERT_EQ(0, gt_unbind(&self->gt));
	ASSERT_EQ(0, write_text(TWIN_DIR "/bind", self->gt.bdf));
	memset(&twin, 0, sizeof(twin));
	ASSERT_EQ(0, pmu_find("i915c_", twin.pmu, sizeof(twin.pmu), twin.bdf, sizeof(twin.bdf)));
	ASSERT_EQ(0, gt_refresh(&twin));
	ASSERT_EQ(0, gt_path(DEBUGFS_DIR, &twin, "pmu_disables", path, sizeof(path)));
	ASSERT_EQ(0, pin_to_cpu(twin.cpu));
	ASSERT_EQ(0, read_text(MAX_SAMPLE_RATE, self->old_rate, sizeof(self->old_rate)));
	ev = open_event(&twin, "interrupts", -1, 0);
	ASSERT_LE(0, ev) TH_LOG("the twin's interrupts: %s", strerror(-ev));
	sw = open_sampling_clock(twin.cpu, -1);
	ASSERT_LE(0, sw) TH_LOG("sampling cpu-clock: %s", strerror(-sw));
	pg = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, sw, 0);
	ASSERT_NE(MAP_FAILED, pg) TH_LOG("mmap of the cpu-clock: %s", strerror(errno));

	ret = write_text(MAX_SAMPLE_RATE, "1");
	if (ret == -EINVAL) {
		self->old_rate[0] = '\0';
		SKIP(return, "perf_cpu_time_max_percent is 0 or 100: the rate is fixed");
	}
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, read_text(path, buf, sizeof(buf)));
	before = atol(buf);
	/* Busy for a second (an idle CPU stops its tick), consuming the records. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		ring_throttles(pg, data_size, &throttles, &unthrottles);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < 1000000000L);
	ASSERT_EQ(0, read_text(path, buf, sizeof(buf)));
	after = atol(buf);
	EXPECT_EQ(0, write_text(MAX_SAMPLE_RATE, self->old_rate));
	self->old_rate[0] = '\0';
	ring_throttles(pg, data_size, &throttles, &unthrottles);
	TH_LOG("idle twin: %ld pmu_disable() in 1 s; cpu-clock: %d throttles, %d unthrottles",
	       after - before, throttles, unthrottles);
	EXPECT_LT(1, unthrottles) TH_LOG("the tick never unthrottled: nothing was measured");
	/*
	 * 0 on a quiet CPU; an event installed on it meanwhile reschedules
	 * the context, which disables every PMU context there once.
	 */
	EXPECT_LE((after - before) * 10, unthrottles);

	EXPECT_EQ(0, munmap(pg, len));
	EXPECT_EQ(0, close(sw));
	EXPECT_EQ(0, close(ev));
	ASSERT_EQ(0, write_text(TWIN_DIR "/unbind", self->gt.bdf));
	EXPECT_EQ(0, syscall(__NR_delete_module, "pmu_c_twin", O_NONBLOCK))
		TH_LOG("rmmod pmu_c_twin: %s", strerror(errno));
	self->twin = false;
	ASSERT_EQ(0, gt_bind(&self->gt));
	ASSERT_EQ(0, gt_find(&self->gt));
}

/*
 * Last (tests of a fixture run in the order they are defined): whatever
 * the tests above did, the kernel reported nothing. No
 * taint from a WARN, an oops or a bad page (KASAN), lockdep still on, and
 * no BUG, WARNING, KASAN, lockdep, Oops or stray interrupt line in the
 * kernel log.
 */
/*
 * The cases of i915's own PMU test (IGT tests/intel/perf_pmu.c) that apply
 * here, named after them.
 */

/*
 * IGT module-unload: a child holds a group of every event open while the
 * module is removed. Documentation/rust/i915-pmu-rs.rst says rmmod is
 * allowed with events open (open events do not pin the module): it
 * succeeds, the PMU is gone, the child still reads its events, and the
 * module loads again. Three passes.
 */
TEST_F_TIMEOUT(gt, module_unload, 300)
{
	for (int pass = 0; pass < 3; pass++) {
		int ready[2], go[2], status;
		char c = 0;
		pid_t pid;

		ASSERT_EQ(0, pipe(ready));
		ASSERT_EQ(0, pipe(go));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			int fd[NR_EVENTS];
			__u64 buf[2 + NR_EVENTS];

			close(ready[0]);
			close(go[1]);
			for (int i = 0; i < NR_EVENTS; i++) {
				fd[i] = open_event(&self->gt, events[i], i ? fd[0] : -1,
						   PERF_FORMAT_GROUP);
				if (fd[i] < 0)
					_exit(2);
			}
			if (read(fd[0], buf, sizeof(buf)) != (1 + NR_EVENTS) * 8)
				_exit(3);
			if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
				_exit(4);
			/* Revoked: each event reads alone, with its final count. */
			for (int i = 0; i < NR_EVENTS; i++)
				if (read(fd[i], buf, sizeof(buf)) != 2 * 8 || buf[0] != 1)
					_exit(5);
			_exit(0);
		}
		close(ready[1]);
		close(go[0]);
		ASSERT_EQ(1, read(ready[0], &c, 1)) TH_LOG("pass %d: child failed to open", pass);
		ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 20"));
		ASSERT_EQ(0, wait_idle(&self->gt, 30000));
		EXPECT_EQ(0, syscall(__NR_delete_module, "i915_pmu_rs", O_NONBLOCK))
			TH_LOG("pass %d: rmmod with a group open: %s", pass, strerror(errno));
		EXPECT_FALSE(pmu_present(&self->gt));
		ASSERT_EQ(1, write(go[1], &c, 1));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("pass %d: child status %#x", pass, status);
		close(ready[0]);
		close(go[1]);
		ASSERT_EQ(0, gt_modprobe(&self->gt));
	}
}

/*
 * IGT faulting-read: read() into pages that are not faulted in yet, so
 * perf's read path takes a page fault while it copies the count out (an
 * anonymous page and a shmem page, a single event and a group). Lockdep and
 * the rest of the kernel log must stay quiet.
 */
TEST_F_TIMEOUT(gt, faulting_read, 120)
{
	long page = sysconf(_SC_PAGESIZE);
	int kmsg, leader, sibling, memfd;
	char *anon, *shm;

	kmsg = kmsg_open_end();
	ASSERT_LE(0, kmsg);
	leader = open_event(&self->gt, "interrupts", -1, PERF_FORMAT_GROUP);
	ASSERT_LE(0, leader);
	sibling = open_event(&self->gt, "rcs0-busy", leader, PERF_FORMAT_GROUP);
	ASSERT_LE(0, sibling);
	memfd = memfd_create("perf_unbind", 0);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, 2 * page));
	anon = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	shm = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, shm);
	ASSERT_EQ(0, gt_submit(&self->gt, "rcs0 30"));
	ASSERT_EQ(0, wait_idle(&self->gt, 30000));

	/* Neither mapping has been touched: each read() faults its page in. */
	EXPECT_EQ(3 * 8, read(leader, anon, 3 * 8));
	EXPECT_EQ(2, ((__u64 *)anon)[0]);
	EXPECT_EQ(30, ((__u64 *)anon)[1]);
	EXPECT_EQ(3 * 8, read(leader, shm, 3 * 8));
	EXPECT_EQ(30, ((__u64 *)shm)[1]);
	close(sibling);
	close(leader);
	leader = open_event(&self->gt, "rcs0-busy", -1, 0);
	ASSERT_LE(0, leader);
	EXPECT_EQ(8, read(leader, anon + page, 8));
	EXPECT_EQ(8, read(leader, shm + page, 8));
	close(leader);
	munmap(anon, 2 * page);
	munmap(shm, 2 * page);
	close(memfd);
	EXPECT_EQ(0, kmsg_splats(_metadata, kmsg));
	close(kmsg);
}

/* Submits work to both engines until killed; errors (a full queue, unbind) are fine. */
static pid_t spawn_flood(const struct gt *gt)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	/* Gone with the test, however it ends. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		gt_submit(gt, "rcs0 200");
		gt_submit(gt, "bcs0 1 after rcs0");
		usleep(1000);
	}
}

/*
 * IGT enable-race: engine-busy events opened, enabled, disabled and closed
 * in a tight loop for PERF_UNBIND_ENABLE_RACE_S seconds (10) while both
 * engines are flooded with work; then the device is unbound under the
 * flood with events open, which read their final counts.
 */
TEST_F_TIMEOUT(gt, enable_race, 300)
{
	unsigned long secs = env_count("PERF_UNBIND_ENABLE_RACE_S", 10);
	const char *const busy[] = { "rcs0-busy", "bcs0-busy" };
	unsigned long opens = 0;
	time_t end;
	int kmsg, fd[2];
	__u64 v;
	pid_t flood;

	kmsg = kmsg_open_end();
	ASSERT_LE(0, kmsg);
	flood = spawn_flood(&self->gt);
	ASSERT_LT(0, flood);
	end = time(NULL) + secs;
	while (time(NULL) < end) {
		int e = open_event(&self->gt, busy[opens++ & 1], -1, 0);

		ASSERT_LE(0, e) TH_LOG("open %lu: %s", opens, strerror(-e));
		EXPECT_EQ(0, ioctl(e, PERF_EVENT_IOC_DISABLE, 0));
		EXPECT_EQ(0, ioctl(e, PERF_EVENT_IOC_ENABLE, 0));
		EXPECT_EQ(8, read(e, &v, 8));
		close(e);
	}
	TH_LOG("%lu opens in %lu s", opens, secs);
	for (int i = 0; i < 2; i++) {
		fd[i] = open_event(&self->gt, busy[i], -1, 0);
		ASSERT_LE(0, fd[i]);
	}
	usleep(200000);
	ASSERT_EQ(0, gt_unbind(&self->gt));
	kill(flood, SIGKILL);
	waitpid(flood, NULL, 0);
	for (int i = 0; i < 2; i++) {
		__u64 final = READ_COUNT(fd[i]);

		EXPECT_LT(0, final) TH_LOG("%s", busy[i]);
		EXPECT_EQ(final, READ_COUNT(fd[i]));
		expect_revoked(_metadata, fd[i]);
		close(fd[i]);
	}
	ASSERT_EQ(0, gt_bind(&self->gt));
	ASSERT_EQ(0, wait_idle(&self->gt, 60000));
	EXPECT_EQ(0, kmsg_splats(_metadata, kmsg));
	close(kmsg);
}

/*
 * IGT invalid-init, as i915 answers it: a sampling event, a per-task event
 * and an event on no particular CPU are EINVAL.
 */
TEST_F_TIMEOUT(gt, invalid_init, 120)
{
	struct perf_event_attr attr;
	__u64 config;

	ASSERT_EQ(0, event_config(&self->gt, "rcs0-busy", &config));
	attr_init(&attr, &self->gt, config);
	attr.sample_period = 100;
	EXPECT_EQ(-1, perf_open(&attr, -1, self->gt.cpu, -1));
	EXPECT_EQ(EINVAL, errno);
	attr_init(&attr, &self->gt, config);
	EXPECT_EQ(-1, perf_open(&attr, 0, self->gt.cpu, -1));
	EXPECT_EQ(EINVAL, errno);
	attr_init(&attr, &self->gt, config);
	EXPECT_EQ(-1, perf_open(&attr, -1, -1, -1));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * A PMU of package scope across CPU hotplug: the sample rust_pmu loaded
 * with package=1 (samples/rust/rust_pmu.rs), whose "clock" event counts the
 * nanoseconds it runs. Perf core's cpumask names one CPU of each package;
 * when that CPU goes offline, perf_event_clear_cpumask() moves the PMU's
 * events on it to another CPU of the package (perf_pmu_migrate_context())
 * and the cpumask names that one; with no CPU of the package left, the
 * events are taken off for good. The guest of `make check` that runs these
 * has two packages of two CPUs (QEMU's -smp 4,sockets=2, harness/vm.sh).
 */
#define SAMPLE_PMU	EVENT_SRC_DIR "/rust_pmu"
#define SAMPLE_CLOCK	1	/* rust_pmu's events/clock: event=1 */
#define MAX_CPUS	64

FIXTURE(pkg)
{
	int type;
	__u64 offline;		/* CPUs a test took offline */
	__u64 brought_up;	/* CPUs the fixture brought online */
	bool loaded;		/* rust_pmu is loaded by the fixture */
	__u64 pkg_cpus[MAX_CPUS];	/* the CPUs of each package */
	int victim, heir;	/* the cpumask CPU of a package of two, the other */
	int other;		/* the cpumask CPU of another package */
};

/* Parses a cpulist ("0,2-3") into a mask of CPUs below MAX_CPUS; -EINVAL. */
static int cpulist_parse(const char *s, __u64 *mask)
{
	unsigned long a, b;
	char *end;

	*mask = 0;
	while (*s && *s != '\n') {
		a = strtoul(s, &end, 10);
		if (end == s)
			return -EINVAL;
		b = a;
		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		if (b < a || b >= MAX_CPUS)
			return -EINVAL;
		for (; a <= b; a++)
			*mask |= 1ULL << a;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* The CPUs of rust_pmu's cpumask file; -errno. */
static int sample_cpumask(__u64 *mask)
{
	char buf[256];
	int ret = read_text(SAMPLE_PMU "/cpumask", buf, sizeof(buf));

	return ret ? ret : cpulist_parse(buf, mask);
}

/* The package of an online CPU (its topology directory goes when it is offline); -1. */
static int cpu_package(int cpu)
{
	char path[PATH_MAX], buf[32];

	snprintf(path, sizeof(path),
		 "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
	return read_text(path, buf, sizeof(buf)) ? -1 : atoi(buf);
}

/* The online CPUs of each package: pkg_cpus[package]. */
static void packages(__u64 pkg_cpus[MAX_CPUS])
{
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);

	memset(pkg_cpus, 0, MAX_CPUS * sizeof(*pkg_cpus));
	for (int cpu = 0; cpu < ncpus && cpu < MAX_CPUS; cpu++) {
		int p = cpu_package(cpu);

		if (p >= 0 && p < MAX_CPUS)
			pkg_cpus[p] |= 1ULL << cpu;
	}
}

/* Takes @cpu offline or online, and keeps track in *offline. */
static int pkg_online(__u64 *offline, int cpu, bool on)
{
	int ret = cpu_set_online(cpu, on);

	if (!ret && on)
		*offline &= ~(1ULL << cpu);
	else if (!ret)
		*offline |= 1ULL << cpu;
	return ret;
}

/* count, time enabled and time running of a clock event */
struct clock_read {
	__u64 value, enabled, running;
};

static int open_clock(int type, int cpu)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = type,
		.config = SAMPLE_CLOCK,
		.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING,
	};
	int fd = perf_open(&attr, -1, cpu, -1);

	return fd < 0 ? -errno : fd;
}

/*
 * A clock event counts the time perf core has it running, no more, no
 * less: at its add, perf core starts the running time and the event reads
 * the clock; at each read, perf core brings the time up to date and the
 * event folds the clock, both within microseconds of each other. The read
 * runs on the reader's CPU if it is in the event's package
 * (PERF_EV_CAP_READ_SCOPE), so the times come from two CPUs' local_clock():
 * the TSC, which the guests take as reliable (harness/vm.sh); with the TSC
 * marked unstable, they drifted 5 ms apart. perf core accounts a move
 * within microseconds (the context time is brought up to date before the
 * del's fold and frozen around the add), yet once across a move the count
 * grew 1.8 ms more than the running time (make check, 2026-12-06): the
 * event's clock and the running time's are not the same clock (the
 * monotonic clock against local_clock(), and a reader on another CPU of
 * the package brings the time up to date with its own local_clock()).
 * CLOCK_SLACK_NS bounds the difference, DELTA_SLACK_NS its change between
 * two reads. A fold lost or doubled when the event moves or its PMU goes
 * is UNREAD_NS off; an add that kept a stale reading, the time the event
 * was off during the move (44 ms in that run).
 */
#define CLOCK_SLACK_NS	10000000ULL
#define DELTA_SLACK_NS	5000000ULL
/* Time a clock event counts unread before it moves or its PMU goes. */
#define UNREAD_NS	300000000ULL

static void read_clock(struct __test_metadata *_metadata, int fd, struct clock_read *r)
{
	ASSERT_EQ(sizeof(*r), read(fd, r, sizeof(*r)));
	EXPECT_GE(r->value + CLOCK_SLACK_NS, r->running)
		TH_LOG("count %llu for %llu ns running", (unsigned long long)r->value,
		       (unsigned long long)r->running);
	EXPECT_LE(r->value, r->running + CLOCK_SLACK_NS)
		TH_LOG("count %llu for %llu ns running", (unsigned long long)r->value,
		       (unsigned long long)r->running);
}

/* From @a to @b the count grew with the running time, and by at least @min. */
static void expect_counted(struct __test_metadata *_metadata, const struct clock_read *a,
			   const struct clock_read *b, __u64 min)
{
	__u64 counted = b->value - a->value, ran = b->running - a->running;

	EXPECT_LE(counted, ran + DELTA_SLACK_NS)
		TH_LOG("%llu ns counted for %llu ns running", (unsigned long long)counted,
		       (unsigned long long)ran);
	EXPECT_LE(ran, counted + DELTA_SLACK_NS)
		TH_LOG("%llu ns counted for %llu ns running", (unsigned long long)counted,
		       (unsigned long long)ran);
	EXPECT_LE(min, counted);
}

/* @wait_us later, the event still reads the count and running time of @at. */
static void expect_stopped(struct __test_metadata *_metadata, int fd,
			   const struct clock_read *at, unsigned int wait_us)
{
	struct clock_read r;

	usleep(wait_us);
	read_clock(_metadata, fd, &r);
	EXPECT_EQ(at->value, r.value);
	EXPECT_EQ(at->running, r.running);
}

/* The cpumask CPU of the package of @cpu, or -1 if the cpumask has none. */
static int cpumask_cpu_of(struct __test_metadata *_metadata, const __u64 *pkg_cpus, int cpu)
{
	__u64 mask = 0, in;

	EXPECT_EQ(0, sample_cpumask(&mask));
	for (int p = 0; p < MAX_CPUS; p++) {
		if (!(pkg_cpus[p] & (1ULL << cpu)))
			continue;
		in = mask & pkg_cpus[p];
		EXPECT_GE(1, __builtin_popcountll(in)) TH_LOG("cpumask %#llx", mask);
		return in ? __builtin_ctzll(in) : -1;
	}
	return -1;
}

/*
 * What the fixture changed, undone: CPUs a test took offline back, the
 * module it loaded gone, the CPUs it brought up down again. Teardown runs
 * it, and so does setup before it skips or fails (kselftest_harness runs
 * no teardown after a setup that did not finish).
 */
static void pkg_undo(__u64 *offline, bool *loaded, __u64 *brought_up)
{
	for (int cpu = 0; cpu < MAX_CPUS; cpu++)
		if (*offline & (1ULL << cpu))
			cpu_set_online(cpu, true);
	*offline = 0;
	if (*loaded)
		syscall(__NR_delete_module, "rust_pmu", O_NONBLOCK);
	*loaded = false;
	for (int cpu = 0; cpu < MAX_CPUS; cpu++)
		if (*brought_up & (1ULL << cpu))
			cpu_set_online(cpu, false);
	*brought_up = 0;
}

FIXTURE_SETUP(pkg)
{
	int p0 = cpu_package(0), pv = -1;
	__u64 mask, c;
	char buf[32];

	self->offline = 0;
	self->brought_up = 0;
	self->loaded = false;
	self->victim = -1;
	self->heir = -1;
	self->other = -1;
	if (geteuid())
		SKIP(return, "not root: modprobe and CPU hotplug need root");
	if (!access(SAMPLE_PMU, F_OK))
		SKIP(return, "rust_pmu is loaded already (not with package=1)");
	/*
	 * The guests boot with maxcpus=2 (harness/vm.sh): the CPUs of the
	 * second package come up here, and go down again after the test.
	 */
	for (int cpu = 1; cpu < sysconf(_SC_NPROCESSORS_CONF) && cpu < MAX_CPUS; cpu++) {
		char path[PATH_MAX], on[8];

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
		if (read_text(path, on, sizeof(on)) || on[0] != '0')
			continue;
		if (cpu_set_online(cpu, true)) {
			pkg_undo(&self->offline, &self->loaded, &self->brought_up);
			ASSERT_TRUE(0) TH_LOG("online CPU %d", cpu);
		}
		self->brought_up |= 1ULL << cpu;
	}
	/* From the topology alone: a package of two online CPUs beside CPU 0's. */
	packages(self->pkg_cpus);
	for (int p = 0; p < MAX_CPUS && pv < 0; p++)
		if (p != p0 && __builtin_popcountll(self->pkg_cpus[p]) >= 2)
			pv = p;
	if (p0 < 0 || pv < 0) {
		pkg_undo(&self->offline, &self->loaded, &self->brought_up);
		SKIP(return, "no package of two CPUs beside CPU 0's (-smp 4,sockets=2)");
	}
	if (system("modprobe rust_pmu package=1")) {
		pkg_undo(&self->offline, &self->loaded, &self->brought_up);
		ASSERT_TRUE(0) TH_LOG("modprobe rust_pmu package=1 (CONFIG_SAMPLE_RUST_PMU)");
	}
	self->loaded = true;
	if (read_text(SAMPLE_PMU "/type", buf, sizeof(buf)) || sample_cpumask(&mask)) {
		pkg_undo(&self->offline, &self->loaded, &self->brought_up);
		ASSERT_TRUE(0) TH_LOG("no type or cpumask file in " SAMPLE_PMU);
	}
	self->type = atoi(buf);

	/* The cpumask names one CPU of each package, and no other. */
	for (int p = 0; p < MAX_CPUS; p++) {
		if (!self->pkg_cpus[p] || __builtin_popcountll(mask & self->pkg_cpus[p]) == 1)
			continue;
		pkg_undo(&self->offline, &self->loaded, &self->brought_up);
		ASSERT_TRUE(0) TH_LOG("cpumask %#llx, package %d: CPUs %#llx, not one of them",
				      (unsigned long long)mask, p,
				      (unsigned long long)self->pkg_cpus[p]);
	}
	self->other = __builtin_ctzll(mask & self->pkg_cpus[p0]);
	c = mask & self->pkg_cpus[pv];
	self->victim = __builtin_ctzll(c);
	self->heir = __builtin_ctzll(self->pkg_cpus[pv] & ~c);
	TH_LOG("cpumask %#llx: CPU %d goes offline, CPU %d takes its events, CPU %d's stay",
	       (unsigned long long)mask, self->victim, self->heir, self->other);
}

FIXTURE_TEARDOWN(pkg)
{
	pkg_undo(&self->offline, &self->loaded, &self->brought_up);
}

/*
 * The events of the cpumask CPU of a package that goes offline move to the
 * other CPU of the package, and the cpumask names that one from then on,
 * also once the first is back; the second CPU going offline moves them
 * back. Their counts go on without a gap or a doubled fold, 300 ms of
 * progress that only the move folds included, and the events of the other
 * package do not move. Then the module goes with the twice moved event
 * open: its final count is folded on its CPU, unread progress included.
 */
TEST_F_TIMEOUT(pkg, package_event_moves_with_its_cpu, 120)
{
	struct clock_read r0, r1, r2, r3, r4, c0, c1, f;
	int victim = self->victim, heir = self->heir, fd, ctl;
	__u64 t0, t1, w0, w1;

	fd = open_clock(self->type, victim);
	ASSERT_LE(0, fd) TH_LOG("clock on CPU %d: %s", victim, strerror(-fd));
	ctl = open_clock(self->type, self->other);
	ASSERT_LE(0, ctl) TH_LOG("clock on CPU %d: %s", self->other, strerror(-ctl));
	usleep(200000);
	w0 = now_ns();
	read_clock(_metadata, fd, &r0);
	read_clock(_metadata, ctl, &c0);
	EXPECT_LE(150000000ULL, r0.value);
	/* Progress nobody reads: only the event's del on CPU @victim folds it. */
	usleep(UNREAD_NS / 1000);

	t0 = now_ns();
	ASSERT_EQ(0, pkg_online(&self->offline, victim, false)) TH_LOG("offline CPU %d", victim);
	t1 = now_ns();
	EXPECT_EQ(heir, cpumask_cpu_of(_metadata, self->pkg_cpus, heir));
	EXPECT_EQ(self->other, cpumask_cpu_of(_metadata, self->pkg_cpus, self->other));
	usleep(200000);
	/* Counting on CPU @heir since the move, and what it counted on @victim kept. */
	read_clock(_metadata, fd, &r1);
	w1 = now_ns();
	TH_LOG("offline took %llu ms; the event ran %llu ms of the %llu ms between the reads",
	       (unsigned long long)(t1 - t0) / 1000000,
	       (unsigned long long)(r1.running - r0.running) / 1000000,
	       (unsigned long long)(w1 - w0) / 1000000);
	/* It ran before the offline and after it, at least. */
	expect_counted(_metadata, &r0, &r1, UNREAD_NS + 200000000ULL);
	/* Off while it moved, and neither time grew then. */
	EXPECT_EQ(r1.enabled, r1.running);

	ASSERT_EQ(0, pkg_online(&self->offline, victim, true)) TH_LOG("online CPU %d", victim);
	/* The package has a cpumask CPU: the one that came back is not it. */
	EXPECT_EQ(heir, cpumask_cpu_of(_metadata, self->pkg_cpus, victim));
	usleep(100000);
	read_clock(_metadata, fd, &r2);
	expect_counted(_metadata, &r1, &r2, 100000000ULL);
	usleep(UNREAD_NS / 1000);

	/* Back to CPU @victim, with what it counted unread on @heir. */
	ASSERT_EQ(0, pkg_online(&self->offline, heir, false)) TH_LOG("offline CPU %d", heir);
	EXPECT_EQ(victim, cpumask_cpu_of(_metadata, self->pkg_cpus, victim));
	read_clock(_metadata, fd, &r3);
	expect_counted(_metadata, &r2, &r3, UNREAD_NS);
	EXPECT_EQ(r3.enabled, r3.running);
	ASSERT_EQ(0, pkg_online(&self->offline, heir, true)) TH_LOG("online CPU %d", heir);
	EXPECT_EQ(victim, cpumask_cpu_of(_metadata, self->pkg_cpus, heir));

	/* The other package's event stayed where it was, running all along. */
	read_clock(_metadata, ctl, &c1);
	expect_counted(_metadata, &c0, &c1, 2 * UNREAD_NS + 300000000ULL);
	EXPECT_EQ(c1.enabled, c1.running);

	/*
	 * The module goes with both events open: perf core takes them off
	 * their CPUs through del, which folds the final counts, unread
	 * progress included, as it stops their running time.
	 */
	read_clock(_metadata, fd, &r4);
	usleep(UNREAD_NS / 1000);
	ASSERT_EQ(0, syscall(__NR_delete_module, "rust_pmu", O_NONBLOCK))
		TH_LOG("rmmod rust_pmu with events open: %s", strerror(errno));
	self->loaded = false;
	EXPECT_NE(0, access(SAMPLE_PMU, F_OK));
	read_clock(_metadata, fd, &f);
	expect_counted(_metadata, &r4, &f, UNREAD_NS);
	read_clock(_metadata, ctl, &c0);
	expect_counted(_metadata, &c1, &c0, UNREAD_NS);
	expect_stopped(_metadata, fd, &f, 50000);
	expect_revoked(_metadata, fd);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, close(ctl));
}

/*
 * With no CPU of its package left, an event is taken off for good: its
 * count and times stop where its last CPU went (the del there folds), and
 * it stays off once the CPUs are back, while the package gets a cpumask CPU
 * again and a new event there counts. The module then goes with the event
 * that is in no context: its count stays.
 */
TEST_F_TIMEOUT(pkg, package_event_without_a_cpu_left, 120)
{
	int victim = self->victim, heir = self->heir, fd, fresh;
	struct clock_read r0, r1, r2, n0, n1;

	fd = open_clock(self->type, victim);
	ASSERT_LE(0, fd) TH_LOG("clock on CPU %d: %s", victim, strerror(-fd));
	usleep(200000);
	read_clock(_metadata, fd, &r0);
	usleep(UNREAD_NS / 1000);
	ASSERT_EQ(0, pkg_online(&self->offline, victim, false)) TH_LOG("offline CPU %d", victim);
	ASSERT_EQ(0, pkg_online(&self->offline, heir, false)) TH_LOG("offline CPU %d", heir);
	/* No CPU of the package in the cpumask; the other package's is still there. */
	EXPECT_EQ(self->other, cpumask_cpu_of(_metadata, self->pkg_cpus, self->other));
	read_clock(_metadata, fd, &r1);
	expect_counted(_metadata, &r0, &r1, UNREAD_NS);
	expect_stopped(_metadata, fd, &r1, 200000);

	ASSERT_EQ(0, pkg_online(&self->offline, heir, true)) TH_LOG("online CPU %d", heir);
	ASSERT_EQ(0, pkg_online(&self->offline, victim, true)) TH_LOG("online CPU %d", victim);
	/* The first CPU back is the package's cpumask CPU. */
	EXPECT_EQ(heir, cpumask_cpu_of(_metadata, self->pkg_cpus, victim));
	expect_stopped(_metadata, fd, &r1, 100000);
	fresh = open_clock(self->type, heir);
	ASSERT_LE(0, fresh) TH_LOG("clock on CPU %d: %s", heir, strerror(-fresh));
	read_clock(_metadata, fresh, &n0);
	usleep(100000);
	read_clock(_metadata, fresh, &n1);
	expect_counted(_metadata, &n0, &n1, 100000000ULL);

	ASSERT_EQ(0, syscall(__NR_delete_module, "rust_pmu", O_NONBLOCK))
		TH_LOG("rmmod rust_pmu with events open: %s", strerror(errno));
	self->loaded = false;
	read_clock(_metadata, fd, &r2);
	EXPECT_EQ(r1.value, r2.value);
	expect_revoked(_metadata, fd);
	read_clock(_metadata, fresh, &n0);
	expect_counted(_metadata, &n1, &n0, 0);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, close(fresh));
}

/* rmmod rust_pmu, then modprobe it again with package=1: its new type. */
static int reload_package_pmu(struct __test_metadata *_metadata, bool *loaded)
{
	char buf[32];

	if (syscall(__NR_delete_module, "rust_pmu", O_NONBLOCK)) {
		TH_LOG("rmmod rust_pmu: %s", strerror(errno));
		return -1;
	}
	*loaded = false;
	if (system("modprobe rust_pmu package=1"))
		return -1;
	*loaded = true;
	return read_text(SAMPLE_PMU "/type", buf, sizeof(buf)) ? -1 : atoi(buf);
}

/*
 * A package PMU registered while CPUs of a package are offline: perf core
 * keeps the scope's cpumask through CPU hotplug, not per PMU, so the new
 * PMU's cpumask names the package's CPU that is online, an event cannot
 * open on the offline one (ENODEV), and an event on the cpumask CPU
 * counts and moves once that CPU goes in turn. Registered with the whole
 * package offline, the cpumask has none of its CPUs and an open there
 * fails; the first CPU back joins the cpumask and counts.
 */
TEST_F_TIMEOUT(pkg, package_pmu_loaded_with_a_cpu_offline, 120)
{
	int victim = self->victim, heir = self->heir, type, fd;
	struct clock_read r0, r1;

	ASSERT_EQ(0, pkg_online(&self->offline, victim, false)) TH_LOG("offline CPU %d", victim);
	type = reload_package_pmu(_metadata, &self->loaded);
	ASSERT_LE(0, type) TH_LOG("modprobe rust_pmu package=1 with CPU %d offline", victim);
	EXPECT_EQ(heir, cpumask_cpu_of(_metadata, self->pkg_cpus, heir));
	EXPECT_EQ(self->other, cpumask_cpu_of(_metadata, self->pkg_cpus, self->other));
	EXPECT_EQ(-ENODEV, open_clock(type, victim));
	fd = open_clock(type, heir);
	ASSERT_LE(0, fd) TH_LOG("clock on CPU %d: %s", heir, strerror(-fd));
	usleep(100000);
	read_clock(_metadata, fd, &r0);
	usleep(UNREAD_NS / 1000);
	/* Back, the first CPU does not take the cpumask; then the heir goes. */
	ASSERT_EQ(0, pkg_online(&self->offline, victim, true)) TH_LOG("online CPU %d", victim);
	EXPECT_EQ(heir, cpumask_cpu_of(_metadata, self->pkg_cpus, heir));
	ASSERT_EQ(0, pkg_online(&self->offline, heir, false)) TH_LOG("offline CPU %d", heir);
	EXPECT_EQ(victim, cpumask_cpu_of(_metadata, self->pkg_cpus, victim));
	read_clock(_metadata, fd, &r1);
	expect_counted(_metadata, &r0, &r1, UNREAD_NS);
	EXPECT_EQ(0, close(fd));

	/* The whole package offline at the registration. */
	ASSERT_EQ(0, pkg_online(&self->offline, victim, false)) TH_LOG("offline CPU %d", victim);
	type = reload_package_pmu(_metadata, &self->loaded);
	ASSERT_LE(0, type) TH_LOG("modprobe rust_pmu package=1 with CPUs %d and %d offline",
				  victim, heir);
	EXPECT_EQ(-1, cpumask_cpu_of(_metadata, self->pkg_cpus, heir));
	EXPECT_EQ(self->other, cpumask_cpu_of(_metadata, self->pkg_cpus, self->other));
	EXPECT_EQ(-ENODEV, open_clock(type, heir));
	ASSERT_EQ(0, pkg_online(&self->offline, heir, true)) TH_LOG("online CPU %d", heir);
	EXPECT_EQ(heir, cpumask_cpu_of(_metadata, self->pkg_cpus, heir));
	fd = open_clock(type, heir);
	ASSERT_LE(0, fd) TH_LOG("clock on CPU %d: %s", heir, strerror(-fd));
	read_clock(_metadata, fd, &r0);
	usleep(100000);
	read_clock(_metadata, fd, &r1);
	expect_counted(_metadata, &r0, &r1, 100000000ULL);
	EXPECT_EQ(0, close(fd));
}

TEST_F_TIMEOUT(gt, kernel_stays_healthy, 120)
{
	/* TAINT_BAD_PAGE, TAINT_DIE, TAINT_WARN, TAINT_SOFTLOCKUP */
	const unsigned long bad_taint = 1 << 5 | 1 << 7 | 1 << 9 | 1 << 14;
	char buf[8192];
	int fd;

	if (geteuid())
		SKIP(return, "not root: /dev/kmsg");
	ASSERT_EQ(0, read_text("/proc/sys/kernel/tainted", buf, sizeof(buf)));
	EXPECT_EQ(0, strtoul(buf, NULL, 10) & bad_taint) TH_LOG("tainted %s", buf);
	if (!read_text("/proc/lockdep_stats", buf, sizeof(buf)) && strstr(buf, "debug_locks:"))
		EXPECT_EQ(1, atoi(strstr(buf, "debug_locks:") + 12)) TH_LOG("lockdep turned off");

	/* The whole log, from its first record. */
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, kmsg_splats(_metadata, fd));
	close(fd);
}

TEST_HARNESS_MAIN
