/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What perf_unbind and perf_unbind_bench share: whole-file reads and writes
 * of sysfs and debugfs attributes, and finding a PMU and its PCI device.
 */
#ifndef PERF_UNBIND_PMU_SYSFS_H
#define PERF_UNBIND_PMU_SYSFS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EVENT_SRC_DIR	"/sys/bus/event_source/devices"

/* Reads the file at path into buf, NUL-terminated; 0 or -errno. */
static inline int read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* Writes s to the file at path in one write(); 0 or -errno of the write. */
static inline int write_text(const char *path, const char *s)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Finds the first PMU whose name starts with prefix and the PCI device it
 * belongs to (its sysfs directory sits under the device's:
 * .../0000:01:00.0/i915rs_0000_01_00.0). Returns 0, -ENOENT if there is no
 * such PMU, or -errno.
 */
static inline int pmu_find(const char *prefix, char *pmu, size_t pmu_len, char *bdf,
			   size_t bdf_len)
{
	char path[PATH_MAX], target[PATH_MAX];
	struct dirent *d;
	ssize_t n;
	DIR *dir;

	pmu[0] = '\0';
	dir = opendir(EVENT_SRC_DIR);
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (!strncmp(d->d_name, prefix, strlen(prefix))) {
			snprintf(pmu, pmu_len, "%s", d->d_name);
			break;
		}
	}
	closedir(dir);
	if (!pmu[0])
		return -ENOENT;
	snprintf(path, sizeof(path), EVENT_SRC_DIR "/%s", pmu);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	*strrchr(target, '/') = '\0';
	snprintf(bdf, bdf_len, "%s", strrchr(target, '/') + 1);
	return 0;
}

#endif /* PERF_UNBIND_PMU_SYSFS_H */
