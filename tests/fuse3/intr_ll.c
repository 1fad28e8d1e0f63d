/* SPDX-License-Identifier: MIT */
/*
 * intr_ll.c - a low-level libfuse file system whose reads wait for an interrupt, the
 * way a network file system waits for its server: a read of "wait" registers a
 * function with fuse_req_interrupt_func() and sleeps until that function runs, then
 * answers EINTR. Built against both libfuse and umfs-fuse3 by tests/fuse3/meson.build,
 * for test_fuse3.py.
 *
 * "state" reads as "waiting W calls C fd F": W reads waiting now, C interrupt functions
 * called so far, F 1 if fuse_session_fd() is the /dev/fuse character device. A read nobody interrupts gives up after 20 s and answers "timeout"
 * so a library that never calls the function fails the test instead of hanging it.
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "ll_main.h"

#define WAIT_INO 2
#define STATE_INO 3

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int waiting, calls;
static struct fuse_session *session;

struct waiter {
	int interrupted;
};

static void stat_of(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = 1;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_size = 4096;
	}
}

static void il_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	if (parent != FUSE_ROOT_ID)
		e.ino = 0;
	else if (strcmp(name, "wait") == 0)
		e.ino = WAIT_INO;
	else if (strcmp(name, "state") == 0)
		e.ino = STATE_INO;
	if (!e.ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	stat_of(e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void il_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != WAIT_INO && ino != STATE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	stat_of(ino, &st);
	fuse_reply_attr(req, &st, 0);
}

static void il_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fi->direct_io = 1; /* every read comes here, none from the page cache */
	fuse_reply_open(req, fi);
}

/* Runs on the thread that got the kernel's INTERRUPT. */
static void on_interrupt(fuse_req_t req, void *data)
{
	struct waiter *w = data;

	(void)req;
	pthread_mutex_lock(&lock);
	w->interrupted = 1;
	calls++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void il_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct waiter w = { 0 };
	struct timespec until;
	char buf[64];
	int n;

	(void)fi;
	if (ino == STATE_INO) {
		struct stat st;
		int fd_ok = fstat(fuse_session_fd(session), &st) == 0 && S_ISCHR(st.st_mode);

		pthread_mutex_lock(&lock);
		n = snprintf(buf, sizeof(buf), "waiting %d calls %d fd %d\n", waiting, calls,
			     fd_ok);
		pthread_mutex_unlock(&lock);
		if (off > 0 || (size_t)n > size)
			n = 0;
		fuse_reply_buf(req, buf, (size_t)n);
		return;
	}
	pthread_mutex_lock(&lock);
	waiting++;
	pthread_mutex_unlock(&lock);
	fuse_req_interrupt_func(req, on_interrupt, &w);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&lock);
	while (!w.interrupted && pthread_cond_timedwait(&cond, &lock, &until) != ETIMEDOUT)
		;
	waiting--;
	pthread_mutex_unlock(&lock);
	/* Unregister before answering: w lives on this stack. */
	fuse_req_interrupt_func(req, NULL, NULL);
	if (w.interrupted)
		fuse_reply_err(req, EINTR);
	else
		fuse_reply_buf(req, "timeout\n", 8 < size ? 8 : size);
}

static void il_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino; (void)size; (void)off; (void)fi;
	fuse_reply_buf(req, NULL, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = il_lookup,
	.getattr = il_getattr,
	.open = il_open,
	.read = il_read,
	.readdir = il_readdir,
};

int main(int argc, char *argv[])
{
	/* Several threads: one waits in a read while another reads the INTERRUPT. */
	return ll_main(argc, argv, &ops, sizeof(ops), 4, &session);
}
