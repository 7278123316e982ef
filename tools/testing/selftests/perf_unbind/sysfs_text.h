/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whole-file reads and writes of sysfs and debugfs attributes, shared by
 * perf_unbind and perf_unbind_bench.
 */
#ifndef PERF_UNBIND_SYSFS_TEXT_H
#define PERF_UNBIND_SYSFS_TEXT_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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

#endif /* PERF_UNBIND_SYSFS_TEXT_H */
