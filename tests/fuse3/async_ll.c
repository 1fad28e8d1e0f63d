/* SPDX-License-Identifier: MIT */
/*
 * async_ll.c - a low-level libfuse file system that answers lookups, getattrs,
 * readdirs and reads from other threads, after the callback has returned: the way
 * asynchronous libfuse programs work. Built against both libfuse and umfs-fuse3 by
 * tests/fuse3/meson.build, for test_fuse3.py.
 *
 * One file, "slow", holding N bytes of a pattern (N = -o size=N, default 100000).
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILE_INO 2

static size_t file_size = 100000;

struct job {
	fuse_req_t req;
	int op;            /* 'l' lookup, 'a' getattr, 'd' readdir, 'r' read */
	fuse_ino_t ino;
	char name[256];
	size_t size;
	off_t off;
};

static void stat_of(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)file_size;
	}
}

static void do_job(struct job *j)
{
	struct fuse_entry_param e;
	struct stat st;

	switch (j->op) {
	case 'l':
		if (j->ino != FUSE_ROOT_ID || strcmp(j->name, "slow") != 0) {
			fuse_reply_err(j->req, ENOENT);
			break;
		}
		memset(&e, 0, sizeof(e));
		e.ino = FILE_INO;
		e.attr_timeout = e.entry_timeout = 1.0;
		stat_of(FILE_INO, &e.attr);
		fuse_reply_entry(j->req, &e);
		break;
	case 'a':
		stat_of(j->ino, &st);
		fuse_reply_attr(j->req, &st, 1.0);
		break;
	case 'd': {
		char buf[4096];
		size_t n = 0;
		const char *names[] = { ".", "..", "slow" };
		fuse_ino_t inos[] = { FUSE_ROOT_ID, FUSE_ROOT_ID, FILE_INO };

		for (off_t i = j->off; i < 3; i++) {
			size_t len;

			stat_of(inos[i], &st);
			len = fuse_add_direntry(j->req, buf + n, sizeof(buf) - n, names[i], &st, i + 1);
			if (len > sizeof(buf) - n || n + len > j->size)
				break;
			n += len;
		}
		fuse_reply_buf(j->req, buf, n);
		break;
	}
	case 'r': {
		size_t n = j->off >= (off_t)file_size ? 0 : file_size - (size_t)j->off;
		char *b;

		if (n > j->size)
			n = j->size;
		b = malloc(n ? n : 1);
		if (!b) {
			fuse_reply_err(j->req, ENOMEM);
			break;
		}
		for (size_t i = 0; i < n; i++)
			b[i] = (char)('a' + (j->off + (off_t)i) % 26);
		fuse_reply_buf(j->req, b, n);
		free(b);
		break;
	}
	}
	free(j);
}

/* Answer from a thread of its own, a little later. */
static void *worker(void *arg)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	do_job(arg);
	return NULL;
}

static void later(fuse_req_t req, int op, fuse_ino_t ino, const char *name, size_t size,
		  off_t off)
{
	struct job *j = calloc(1, sizeof(*j));
	pthread_t t;

	if (!j) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	j->req = req;
	j->op = op;
	j->ino = ino;
	j->size = size;
	j->off = off;
	if (name)
		snprintf(j->name, sizeof(j->name), "%s", name);
	if (pthread_create(&t, NULL, worker, j) != 0) {
		do_job(j);
		return;
	}
	pthread_detach(t);
}

static void a_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	later(req, 'l', parent, name, 0, 0);
}

static void a_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	later(req, 'a', ino, NULL, 0, 0);
}

static void a_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	later(req, 'd', ino, NULL, size, off);
}

static void a_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	later(req, 'r', ino, NULL, size, off);
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = a_lookup,
	.getattr = a_getattr,
	.readdir = a_readdir,
	.read = a_read,
};

struct options {
	unsigned long size;
};

static const struct fuse_opt opts[] = {
	{ "size=%lu", offsetof(struct options, size), 0 },
	FUSE_OPT_END
};

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts co;
	struct options o = { 100000 };
	struct fuse_session *se;
	int ret = 1;

	if (fuse_parse_cmdline(&args, &co) != 0)
		return 1;
	if (fuse_opt_parse(&args, &o, opts, NULL) == -1 || !co.mountpoint) {
		fprintf(stderr, "usage: %s [-f] [-o size=N] MOUNTPOINT\n", argv[0]);
		goto out;
	}
	file_size = o.size;
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		goto out;
	if (fuse_session_mount(se, co.mountpoint) == 0) {
		fuse_daemonize(co.foreground);
		struct fuse_loop_config lc = { .clone_fd = co.clone_fd,
					       .max_idle_threads = co.max_idle_threads };

		ret = co.singlethread ? fuse_session_loop(se) : fuse_session_loop_mt(se, &lc);
		fuse_session_unmount(se);
	}
	fuse_session_destroy(se);
out:
	free(co.mountpoint);
	fuse_opt_free_args(&args);
	return ret ? 1 : 0;
}
