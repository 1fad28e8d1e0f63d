/* SPDX-License-Identifier: MIT */
/*
 * fuse3_int.h - umfs-fuse3's private types: a libfuse session over a libumfs session,
 * and a libfuse request over a libumfs request.
 */
#ifndef UMFS_FUSE3_INT_H
#define UMFS_FUSE3_INT_H

#define FUSE_USE_VERSION 314
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "fuse_lowlevel.h"
#include "umfs/umfs.h"

struct fuse_loop_config {
	int clone_fd;
	unsigned int max_idle_threads;
	unsigned int max_threads;
};

struct fuse_session {
	struct fuse_lowlevel_ops op;
	void *userdata;
	umfs_session *us;
	struct umfs_operations uops;
	struct umfs_config cfg;
	char *mount_opts;    /* -o options for the kernel mount */
	char *mountpoint;
	atomic_bool exited;
	bool mounted;
	struct fuse_conn_info conn;
	/* Set by the high-level layer: the struct fuse on top of this session. */
	void *hl;
};

/* What the reply to a request fills in. */
enum req_kind {
	K_NONE, K_STATUS, K_ENTRY, K_CREATE, K_ATTR, K_READLINK, K_OPEN, K_DATA, K_COUNT,
	K_DIR, K_STATFS, K_XATTR, K_LOCK, K_LSEEK, K_IOCTL, K_POLL,
};

/* IN_CALL -> REPLIED (answered inside the callback) or IN_CALL -> DEFERRED (the
 * callback returned first; the reply completes the libumfs request). */
enum req_state { RS_IN_CALL, RS_REPLIED, RS_DEFERRED };

struct fuse_req {
	struct fuse_session *se;
	umfs_req *ur;           /* NULL for forget */
	enum req_kind kind;
	struct fuse_ctx ctx;
	_Atomic enum req_state state; /* orders the reply and the callback's return */
	ssize_t result;
	/* The libumfs out-parameters of this request (per kind). */
	struct umfs_entry *entry;
	struct umfs_open *open;
	struct umfs_attr *attr;
	void *buf;             /* K_DATA, K_READLINK, K_XATTR, K_IOCTL */
	size_t size;
	umfs_dirbuf *dir;
	bool plus;
	struct statvfs *stvfs;
	struct flock *lk;
	off_t *off_out;
	void *extra;           /* K_IOCTL/K_POLL: their native out struct */
	struct fuse_file_info fi, fi_out;
	/* fuse_req_interrupt_func: the program's function, watched by libumfs. */
	fuse_interrupt_func_t intr_func;
	void *intr_data;
	bool intr_watched;
	/* Scratch for a copy of the request's arguments (not cleared: always written
	 * before use), last. */
	struct stat st;
};

/* ll_req.c */
struct fuse_req *req_begin(struct fuse_session *se, umfs_req *ur, enum req_kind kind);
ssize_t req_end(struct fuse_req *r);
/* Answer r with result (0, a count or -errno). */
int req_done(struct fuse_req *r, ssize_t result);

/* ll_ops.c */
void ll_fill_uops(struct fuse_session *se);

/* opt helpers */
int fuse3_split_mount_opts(struct fuse_args *args, struct fuse_session *se);
/* libumfs's messages go where the program's fuse_log goes; its notes only with
 * debug (-d) (helper.c). */
void fuse3_route_library_log(bool debug);

static inline void *ino_node(fuse_ino_t ino)
{
	return (void *)(uintptr_t)ino;
}

static inline fuse_ino_t node_ino(void *node)
{
	return (fuse_ino_t)(uintptr_t)node;
}

#endif
