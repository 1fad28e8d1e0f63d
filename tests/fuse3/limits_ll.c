/* SPDX-License-Identifier: MIT */
/*
 * limits_ll.c - a low-level libfuse file system that sets the limits of struct
 * fuse_conn_info in its init callback (max_write 64 KiB, max_readahead 64 KiB,
 * max_background 7, congestion_threshold 5, time_gran 1000) and shows what reached
 * it: "data" takes writes, "seen" reads as "largest write N" (bytes of the largest
 * write request so far) and then the background limits init found, "init
 * max_background B congestion_threshold C". With LIMITS_KEEP=1 in the environment
 * init changes nothing (the library's defaults go to the kernel). Built against both
 * libfuse and umfs-fuse3 by tests/fuse3/meson.build, for test_fuse3.py.
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_main.h"

#define DATA_INO 2
#define SEEN_INO 3

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static size_t largest;
static off_t data_size;
static unsigned init_background, init_congestion; /* what init was shown */

static void lm_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	init_background = conn->max_background;
	init_congestion = conn->congestion_threshold;
	if (getenv("LIMITS_KEEP"))
		return;
	conn->max_write = 64 * 1024;
	conn->max_readahead = 64 * 1024;
	conn->max_background = 7;
	conn->congestion_threshold = 5;
	conn->time_gran = 1000;
	/* every write comes through, in requests of at most max_write */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void stat_of(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = 1;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (ino == DATA_INO) {
		st->st_mode = S_IFREG | 0644;
		pthread_mutex_lock(&lock);
		st->st_size = data_size;
		pthread_mutex_unlock(&lock);
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_size = 4096;
	}
}

static void lm_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	if (parent == FUSE_ROOT_ID && strcmp(name, "data") == 0)
		e.ino = DATA_INO;
	else if (parent == FUSE_ROOT_ID && strcmp(name, "seen") == 0)
		e.ino = SEEN_INO;
	if (!e.ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	stat_of(e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void lm_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != DATA_INO && ino != SEEN_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	stat_of(ino, &st);
	fuse_reply_attr(req, &st, 0);
}

static void lm_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		       struct fuse_file_info *fi)
{
	if (ino == DATA_INO && (valid & FUSE_SET_ATTR_SIZE)) {
		pthread_mutex_lock(&lock);
		data_size = attr->st_size;
		pthread_mutex_unlock(&lock);
	}
	lm_getattr(req, ino, fi);
}

static void lm_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino == SEEN_INO)
		fi->direct_io = 1;
	fuse_reply_open(req, fi);
}

static void lm_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	char buf[128];
	int n;

	(void)fi;
	if (ino != SEEN_INO) {
		fuse_reply_buf(req, NULL, 0); /* data reads as zeros: not needed */
		return;
	}
	pthread_mutex_lock(&lock);
	n = snprintf(buf, sizeof(buf),
		     "largest write %zu\ninit max_background %u congestion_threshold %u\n",
		     largest, init_background, init_congestion);
	pthread_mutex_unlock(&lock);
	if (off > 0 || (size_t)n > size)
		n = 0;
	fuse_reply_buf(req, buf, (size_t)n);
}

static void lm_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)buf; (void)fi;
	if (ino != DATA_INO) {
		fuse_reply_err(req, EACCES);
		return;
	}
	pthread_mutex_lock(&lock);
	if (size > largest)
		largest = size;
	if (off + (off_t)size > data_size)
		data_size = off + (off_t)size;
	pthread_mutex_unlock(&lock);
	fuse_reply_write(req, size);
}

static void lm_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino; (void)size; (void)off; (void)fi;
	fuse_reply_buf(req, NULL, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.init = lm_init,
	.lookup = lm_lookup,
	.getattr = lm_getattr,
	.setattr = lm_setattr,
	.open = lm_open,
	.read = lm_read,
	.write = lm_write,
	.readdir = lm_readdir,
};

int main(int argc, char *argv[])
{
	return ll_main(argc, argv, &ops, sizeof(ops), 0, NULL);
}
