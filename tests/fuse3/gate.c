/* SPDX-License-Identifier: MIT */
/*
 * gate.c - a high-level libfuse file system whose reads block, the way a network
 * file system's do, run by fuse_main with the standard command line. Built against
 * both libfuse and umfs-fuse3 by tests/fuse3/meson.build, for test_fuse3.py: how
 * many callbacks the library lets run at once.
 *
 * Files "0" to "15" of 4 KiB: a read waits until GATE reads (environment, default 8)
 * are in the file system at once, or GATE_DEADLINE seconds (default 10) have passed,
 * then returns the file's name.
 * "peak" (direct I/O) holds the largest number of reads that were in at once.
 */
#define FUSE_USE_VERSION 314
#include <fuse.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NFILES 16
#define FILE_SIZE 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t opened = PTHREAD_COND_INITIALIZER;
static unsigned gate = 8, deadline_s = 10, inside, peak;

/* The file number of "/N", or -1. */
static int file_number(const char *path)
{
	char *end;
	long n;

	if (path[0] != '/' || path[1] < '0' || path[1] > '9')
		return -1;
	n = strtol(path + 1, &end, 10);
	return *end == '\0' && n < NFILES ? (int)n : -1;
}

static int gate_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (strcmp(path, "/peak") == 0 || file_number(path) >= 0) {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = FILE_SIZE;
	} else {
		return -ENOENT;
	}
	return 0;
}

static int gate_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/peak") == 0)
		fi->direct_io = 1;
	else if (file_number(path) < 0)
		return -ENOENT;
	return (fi->flags & O_ACCMODE) == O_RDONLY ? 0 : -EACCES;
}

/* Wait until `gate` reads are inside, or the deadline. */
static void pass_gate(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += deadline_s;
	pthread_mutex_lock(&lock);
	if (++inside > peak)
		peak = inside;
	if (inside >= gate)
		pthread_cond_broadcast(&opened);
	while (inside < gate && peak < gate &&
	       pthread_cond_timedwait(&opened, &lock, &until) == 0)
		;
	inside--;
	pthread_mutex_unlock(&lock);
}

static int gate_read(const char *path, char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	char text[FILE_SIZE];
	size_t len;

	(void)fi;
	memset(text, 0, sizeof(text));
	if (strcmp(path, "/peak") == 0) {
		pthread_mutex_lock(&lock);
		snprintf(text, sizeof(text), "%u\n", peak);
		pthread_mutex_unlock(&lock);
		len = strlen(text);
	} else {
		pass_gate();
		snprintf(text, sizeof(text), "%s\n", path + 1);
		len = FILE_SIZE;
	}
	if (off >= (off_t)len)
		return 0;
	if (size > len - (size_t)off)
		size = len - (size_t)off;
	memcpy(buf, text + off, size);
	return (int)size;
}

static int gate_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
			struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	char name[8];

	(void)off, (void)fi, (void)flags;
	if (strcmp(path, "/") != 0)
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "peak", NULL, 0, 0);
	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "%d", i);
		fill(buf, name, NULL, 0, 0);
	}
	return 0;
}

static const struct fuse_operations gate_ops = {
	.getattr = gate_getattr,
	.open = gate_open,
	.read = gate_read,
	.readdir = gate_readdir,
};

int main(int argc, char *argv[])
{
	const char *g = getenv("GATE"), *d = getenv("GATE_DEADLINE");

	if (g && atoi(g) > 0)
		gate = (unsigned)atoi(g);
	if (d && atoi(d) > 0)
		deadline_s = (unsigned)atoi(d);
	return fuse_main(argc, argv, &gate_ops, NULL);
}
