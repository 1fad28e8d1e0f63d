/* SPDX-License-Identifier: MIT */
/*
 * session.h - the library's private view of a session, its workers and requests.
 * Not installed; file systems see only include/umfs/umfs.h.
 */
#ifndef UMFS_SESSION_H
#define UMFS_SESSION_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "umfs/umfs.h"
#include "codec.h"
#include "mount.h"
#include "nodes.h"
#include "pool.h"

struct umfs_conn {
	uint32_t proto_minor;
	uint64_t offered; /* FUSE_* init flags the kernel sent */
	uint64_t wanted;  /* what the session will answer with */
	struct umfs_conn_limits limits; /* umfs_conn_set_limits(); 0: the session's own */
};

struct umfs_dirbuf {
	unsigned char *pos; /* where the next entry goes */
	size_t space;       /* bytes left */
	bool plus;          /* READDIRPLUS: entries carry nodes and attributes */
	int error;          /* why an entry could not be added, when not for space */
	umfs_req *req;
};

/* The out-parameters of one request: exactly one member is used per opcode. */
union req_out {
	struct { struct umfs_entry entry; struct umfs_open open; } created;
	struct umfs_attr attr;
	struct umfs_open open;
	struct statvfs statfs;
	struct flock lk;
	off_t offset;
	size_t ioctl_len;  /* IOCTL: bytes of out data */
	unsigned revents;  /* POLL */
};

struct umfs_req {
	umfs_session *s;
	struct request rq;
	struct umfs_caller caller;
	void *node; /* the context of rq.nodeid, resolved before the callback */
	union req_out out;
	umfs_dirbuf dir;
	/* Turns the callback's result into the reply. */
	void (*finish)(umfs_req *req, ssize_t result);
	bool deferred;
	struct timespec start; /* for -d traces */
	/* The buffers this request lives in (see struct reqbuf in session.c). */
	struct reqbuf *rb;
	int fd;              /* where the reply goes */
	unsigned char *out_buf; /* reply buffer: header room, then payload */
	size_t out_size;
	struct uring_ent *ent; /* the io_uring entry it came in (uring.c); NULL: /dev/fuse */
};

struct umfs_session {
	const struct umfs_operations *ops;
	struct umfs_operations ops_copy; /* ops padded to the library's size */
	void *fs;
	struct umfs_config cfg;
	struct node_table nodes;
	void *nodes_root;
	struct codec_limits limits;
	struct umfs_conn conn;
	struct mount_state mnt;

	atomic_bool initialized; /* INIT answered */
	atomic_bool exiting;
	int exit_error;          /* why the loop ended, as -errno (0: unmounted) */
	atomic_int live_workers;

	/* Interrupted request ids (a small ring; interrupts are rare). */
	pthread_mutex_t intr_lock;
	uint64_t intr[64];
	unsigned intr_next;

	int wake_fd;             /* eventfd: a worker ended, or exit was asked */
	/* The caller's signal mask, from before SIGINT/SIGTERM/SIGHUP were blocked. */
	sigset_t saved_mask;
	bool mask_saved;
	struct worker *workers;  /* room for max_workers */
	unsigned nworkers;       /* started so far (grow_lock) */
	unsigned first_workers;  /* the regular ones; the others are reserves (pool.c) */
	unsigned max_workers;    /* the pool grows up to this many (umfs_config.max_threads) */
	pthread_mutex_t grow_lock; /* starting a worker, against stopping them all */
	struct pool pool;        /* who reads /dev/fuse next (pool.c) */
	bool pool_ready;
	size_t in_size, out_size; /* per-request buffer sizes */
	/* Retrieve notifications waiting for the kernel's NOTIFY_REPLY (notify.c). */
	pthread_mutex_t retrieve_lock;
	struct pending_retrieve *retrieves;
	uint64_t retrieve_seq;
	struct uring_pool *uring; /* the io_uring transport, when in use (uring.c) */
};

struct umfs_pollhandle {
	umfs_session *s;
	uint64_t kh;
};

/* dispatch.c */
void dispatch(umfs_req *req);
/* Send a reply: header + len bytes already placed after the header room. Returns 0
 * or the write's -errno (-ENOENT: the kernel no longer waits for this request). */
int reply_send(umfs_req *req, int error, size_t len);
void reply_error(umfs_req *req, int error);
/* Trace a request that gets no reply (FORGET, INTERRUPT). */
void req_trace_noreply(umfs_req *req);
/* notify.c */
/* The cookie of a retrieve the kernel answered (and forget it); false if unknown. */
bool notify_take_retrieve(umfs_session *s, uint64_t unique, void **cookie);
void notify_free_retrieves(umfs_session *s);
/* session.c */
void session_note_interrupt(umfs_session *s, uint64_t unique);
void session_init_reply(umfs_req *req);
/* Decode and serve the request in buf (len bytes), whichever transport brought it. */
void session_serve(umfs_req *req, const unsigned char *buf, size_t len);
/* Hold SIGINT, SIGTERM and SIGHUP from now until the session ends (or
 * session_release_signals), so a stop asked for right after mounting is not lost. */
void session_hold_signals(umfs_session *s);
void session_release_signals(umfs_session *s);
/* layer.c: call the watch umfs_req_on_interrupt() set on request `unique`, if any. */
void session_interrupted(umfs_session *s, uint64_t unique);
/* layer.c: lower the INIT reply's limits to what the init callback asked for. */
struct fuse_init_out;
void session_apply_limits(umfs_session *s, struct fuse_init_out *out);
/* log.c */
void log_enable_debug(bool on);

#endif
