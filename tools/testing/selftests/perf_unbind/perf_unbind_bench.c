// SPDX-License-Identifier: GPL-2.0
/*
 * perf_unbind_bench: the Rust PMU of i915_pmu_rs against its C twin
 * (bench_modules/pmu_c_twin.ko, upstream's C pattern), measured in the same
 * boot and interleaved so that machine noise hits both alike.
 *
 * Needs two edu devices: one bound to i915_pmu_rs (PMU i915rs_*), one to
 * pmu_c_twin (PMU i915c_*). Prints a table and writes the figures as
 * "key value" lines to the file given as argv[1] (default: stdout only).
 *
 *   read      read() latency of one event fd, median and p99 (ns)
 *   unbind    time of the write() to the driver's unbind file with N open
 *             events, N = 1, 100, 1000, 10000 (median of 11, 5 for 10000; us)
 *   scaling   reads per second with 1, 2, 4 and 8 reader threads, each
 *             reading an event on the CPU it runs on
 *   memory    slab bytes per open event
 *
 * PERF_UNBIND_BENCH, a comma-separated list of those names, runs only them.
 * The main thread runs on CPU 0, where the events count, so that the cost
 * of cross-CPU calls does not depend on where the scheduler put it.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/perf_event.h>

#include "pmu_sysfs.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The event every measure reads: i915's config of rc6-residency. */
#define RC6_RESIDENCY	0x100003

struct side {
	const char *label;	/* "rust" or "c" */
	const char *prefix;	/* PMU name prefix */
	const char *driver;	/* PCI driver name */
	char pmu[64];
	char bdf[32];
	int type;
};

static struct side sides[2] = {
	{ "rust", "i915rs_", "i915_pmu_rs" },
	{ "c", "i915c_", "pmu_c_twin" },
};

static FILE *out;

static void die(const char *what)
{
	fprintf(stderr, "perf_unbind_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int read_int(const char *path)
{
	char buf[32];

	return read_text(path, buf, sizeof(buf)) ? -1 : atoi(buf);
}

/* Finds the side's PMU and PCI device; false if it has none. */
static bool side_find(struct side *s)
{
	char path[PATH_MAX];
	int ret;

	ret = pmu_find(s->prefix, s->pmu, sizeof(s->pmu), s->bdf, sizeof(s->bdf));
	if (ret == -ENOENT)
		return false;
	if (ret) {
		errno = -ret;
		die("finding the PMU");
	}
	snprintf(path, sizeof(path), EVENT_SRC_DIR "/%s/type", s->pmu);
	s->type = read_int(path);
	return s->type > 0;
}

static int open_event(const struct side *s, __u64 config, int cpu)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = s->type,
		.config = config,
	};

	return syscall(__NR_perf_event_open, &attr, -1, cpu, -1, 0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *key, const char *side, double v)
{
	if (out)
		fprintf(out, "%s.%s %.1f\n", key, side, v);
}

/* 1. read() latency: ROUNDS rounds of BATCH reads per side, alternating. */
static void bench_read(void)
{
	enum { ROUNDS = 20, BATCH = 5000, N = ROUNDS * BATCH };
	static double lat[2][N];
	double med[2], p99[2];
	int fd[2];
	__u64 v;

	for (int s = 0; s < 2; s++) {
		fd[s] = open_event(&sides[s], RC6_RESIDENCY, 0);
		if (fd[s] < 0)
			die("open rc6-residency");
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < 2; k++) {
			int s = (r + k) % 2;	/* alternate which side goes first */

			for (int i = 0; i < BATCH; i++) {
				double t0 = now_ns();

				if (read(fd[s], &v, sizeof(v)) != sizeof(v))
					die("read");
				lat[s][r * BATCH + i] = now_ns() - t0;
			}
		}
	}
	for (int s = 0; s < 2; s++) {
		qsort(lat[s], N, sizeof(double), cmp_double);
		med[s] = lat[s][N / 2];
		p99[s] = lat[s][N * 99 / 100];
		close(fd[s]);
		report("read_median_ns", sides[s].label, med[s]);
		report("read_p99_ns", sides[s].label, p99[s]);
	}
	printf("%-34s %12.0f %12.0f %8.3f\n", "read() median, ns (2x100000 reads)", med[0], med[1],
	       med[0] / med[1]);
	printf("%-34s %12.0f %12.0f %8.3f\n", "read() p99, ns", p99[0], p99[1], p99[0] / p99[1]);
}

static int driver_write(const struct side *s, const char *file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/%s", s->driver, file);
	return write_text(path, s->bdf);
}

static void rebind(struct side *s)
{
	if (driver_write(s, "bind"))
		die("bind");
	for (int i = 0; i < 1000 && !side_find(s); i++)
		usleep(10000);
	if (!side_find(s))
		die("PMU did not come back");
}

/* The time of the unbind write with n events open (us); the events are closed after. */
static double unbind_once(struct side *s, int n, int *fds)
{
	double t0, t1;

	for (int i = 0; i < n; i++) {
		fds[i] = open_event(s, RC6_RESIDENCY, 0);
		if (fds[i] < 0)
			die("open event for unbind");
	}
	t0 = now_ns();
	if (driver_write(s, "unbind"))
		die("unbind");
	t1 = now_ns();
	for (int i = 0; i < n; i++)
		close(fds[i]);
	rebind(s);
	return (t1 - t0) / 1000;
}

/*
 * 2. unbind latency with N open events: the median of a number of unbinds per side,
 * the sides alternating. One unbind takes 10-40 ms, of which the RCU grace periods
 * vary by milliseconds under TCG: a median of 3 moved the ratio by 0.3 between runs.
 * With 10000 events, one cycle takes about a minute under TCG (perf core reschedules
 * every event of the PMU on each open: ctx_resched()), hence fewer runs there.
 */
static void bench_unbind(void)
{
	static const struct {
		int n, reps;
	} sizes[] = { { 1, 11 }, { 100, 11 }, { 1000, 11 }, { 10000, 5 } };
	static int fds[10000];
	double t[2][11];	/* the most reps in sizes[] */

	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		int n = sizes[k].n, reps = sizes[k].reps;
		char key[64], label[64];
		double med[2];

		for (int rep = 0; rep < reps; rep++)
			for (int j = 0; j < 2; j++) {
				int s = (rep + j) % 2;

				t[s][rep] = unbind_once(&sides[s], n, fds);
			}
		for (int s = 0; s < 2; s++) {
			qsort(t[s], reps, sizeof(double), cmp_double);
			med[s] = t[s][reps / 2];
		}
		snprintf(key, sizeof(key), "unbind_us_n%d", n);
		report(key, "rust", med[0]);
		report(key, "c", med[1]);
		/* bench.sh takes the revoke column's groups from these. */
		snprintf(key, sizeof(key), "unbind_reps_n%d", n);
		report(key, "rust", reps);
		snprintf(label, sizeof(label), "unbind, %5d events, us (%d runs)", n, reps);
		printf("%-34s %12.0f %12.0f %8.3f\n", label, med[0], med[1], med[0] / med[1]);
	}
}

struct reader {
	pthread_t thread;
	int cpu;	/* the reader runs there */
	int fd;
	bool *stop;
	unsigned long reads;
	char pad[64];	/* readers' counters on separate cache lines */
};

static void *reader_loop(void *arg)
{
	struct reader *r = arg;
	cpu_set_t set;
	__u64 v;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity for a reader");
	while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED))
		if (read(r->fd, &v, sizeof(v)) == sizeof(v))
			r->reads++;
	return NULL;
}

/*
 * Reads per second of nthreads readers, each on its own fd, for 1 s. Reader
 * i runs on CPU i modulo the online CPUs and reads an event opened on that
 * CPU. (Events opened on one CPU share that CPU's perf context, and perf
 * core's read() takes the context's mutex and raw lock, perf_read() and
 * __perf_event_read(): readers of those serialise whatever the PMU does.)
 */
static double throughput(const struct side *s, int nthreads)
{
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct reader r[8];
	bool stop = false;
	unsigned long total = 0;
	double t0, t1;

	for (int i = 0; i < nthreads; i++) {
		r[i] = (struct reader){ .stop = &stop, .cpu = i % ncpus };
		r[i].fd = open_event(s, RC6_RESIDENCY, r[i].cpu);
		if (r[i].fd < 0)
			die("open event for a reader");
	}
	t0 = now_ns();
	for (int i = 0; i < nthreads; i++)
		pthread_create(&r[i].thread, NULL, reader_loop, &r[i]);
	usleep(1000000);
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < nthreads; i++) {
		pthread_join(r[i].thread, NULL);
		total += r[i].reads;
		close(r[i].fd);
	}
	t1 = now_ns();
	return total / ((t1 - t0) / 1e9);
}

/* 3. read throughput with 1, 2, 4, 8 readers. */
static void bench_scaling(void)
{
	double one[2] = { 0, 0 };

	for (int n = 1; n <= 8; n *= 2) {
		double v[2];
		char key[64];

		for (int j = 0; j < 2; j++) {
			int s = (n + j) % 2;

			v[s] = throughput(&sides[s], n);
		}
		if (n == 1) {
			one[0] = v[0];
			one[1] = v[1];
		}
		snprintf(key, sizeof(key), "reads_per_s_t%d", n);
		report(key, "rust", v[0]);
		report(key, "c", v[1]);
		printf("reads/s, %d reader(s) (x%.2f, x%.2f)  %10.0f %12.0f %8.3f\n", n,
		       v[0] / one[0], v[1] / one[1], v[0], v[1], v[0] / v[1]);
	}
}

static long slab_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* 4. slab bytes per open event, from Slab in /proc/meminfo around 10000 opens. */
static void bench_memory(void)
{
	enum { N = 10000 };
	static int fds[N];
	double per[2];

	for (int s = 0; s < 2; s++) {
		long before, after;

		sync();
		usleep(200000);
		before = slab_kb();
		for (int i = 0; i < N; i++) {
			fds[i] = open_event(&sides[s], RC6_RESIDENCY, 0);
			if (fds[i] < 0)
				die("open for memory");
		}
		after = slab_kb();
		for (int i = 0; i < N; i++)
			close(fds[i]);
		per[s] = (after - before) * 1024.0 / N;
		report("slab_bytes_per_event", sides[s].label, per[s]);
	}
	printf("%-34s %12.0f %12.0f %8.3f\n", "slab bytes per open event", per[0], per[1],
	       per[0] / per[1]);
}

/* Whether the measure is selected by PERF_UNBIND_BENCH (all by default). */
static bool selected(const char *name)
{
	const char *list = getenv("PERF_UNBIND_BENCH");
	size_t len = strlen(name);

	if (!list || !*list)
		return true;
	for (const char *p = list; p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 20000, 20000 };
	cpu_set_t cpu0;

	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("RLIMIT_NOFILE");
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (sched_setaffinity(0, sizeof(cpu0), &cpu0))
		die("sched_setaffinity");
	for (int s = 0; s < 2; s++)
		if (!side_find(&sides[s])) {
			fprintf(stderr, "perf_unbind_bench: no %s* PMU (driver %s bound?)\n",
				sides[s].prefix, sides[s].driver);
			return 4;	/* KSFT_SKIP */
		}
	if (argc > 1) {
		out = fopen(argv[1], "w");
		if (!out)
			die(argv[1]);
	}
	printf("PMUs: rust %s on %s, c %s on %s; %ld online CPUs\n", sides[0].pmu, sides[0].bdf,
	       sides[1].pmu, sides[1].bdf, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-34s %12s %12s %8s\n", "measure", "Rust", "C twin", "Rust/C");
	if (selected("read"))
		bench_read();
	if (selected("unbind"))
		bench_unbind();
	if (selected("scaling"))
		bench_scaling();
	if (selected("memory"))
		bench_memory();
	if (out)
		fclose(out);
	return 0;
}
