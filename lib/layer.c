/* SPDX-License-Identifier: MIT */
/*
 * layer.c - what layers over libumfs need beyond the file system API (umfs-fuse3's
 * fuse_session_fd, fuse_req_interrupt_func, the limits in fuse_conn_info): the
 * connection's descriptor, a call when the kernel interrupts a request that waits,
 * and the limits the file system gives the kernel at INIT.
 *
 * Interrupt watches are rare (only requests that wait register one) and short-lived,
 * so they sit in one list under one lock, shared by every session, off the hot path.
 */
#include <errno.h>
#include <stdlib.h>

#include "session.h"
#include "wire.h"

int umfs_session_fd(umfs_session *s)
{
	return s->mnt.mounted ? s->mnt.fd : -1;
}

struct watch {
	struct watch *next;
	umfs_req *req;
	umfs_session *s;
	uint64_t unique;
	umfs_interrupt_fn fn;
	void *arg;
	bool running;       /* fn is being called, by `runner` */
	pthread_t runner;
	bool cancelled;     /* cancelled by fn itself while running: free after */
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_done = PTHREAD_COND_INITIALIZER;
static struct watch *watches;

static void unlink_watch(struct watch *w)
{
	struct watch **pp = &watches;

	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
}

/* Call w's function outside the lock, then drop w. Called and returns locked. */
static void fire(struct watch *w)
{
	w->running = true;
	w->runner = pthread_self();
	pthread_mutex_unlock(&watch_lock);
	w->fn(w->req, w->arg);
	pthread_mutex_lock(&watch_lock);
	unlink_watch(w);
	free(w);
	pthread_cond_broadcast(&watch_done);
}

/* Drop req's watch, waiting for a call of it running on another thread. Locked. */
static void cancel_locked(umfs_req *req)
{
	for (;;) {
		struct watch *w = watches;

		while (w && (w->req != req || w->cancelled))
			w = w->next;
		if (!w)
			return;
		if (!w->running) {
			unlink_watch(w);
			free(w);
			return;
		}
		if (pthread_equal(w->runner, pthread_self())) {
			/* fn answers its own request: fire() frees w when fn returns. */
			w->cancelled = true;
			return;
		}
		pthread_cond_wait(&watch_done, &watch_lock);
	}
}

int umfs_req_on_interrupt(umfs_req *req, umfs_interrupt_fn fn, void *arg)
{
	struct watch *w = NULL;

	if (fn) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->req = req;
		w->s = req->s;
		w->unique = req->rq.unique;
		w->fn = fn;
		w->arg = arg;
	}
	pthread_mutex_lock(&watch_lock);
	cancel_locked(req);
	if (w) {
		w->next = watches;
		watches = w;
	}
	pthread_mutex_unlock(&watch_lock);
	/* An INTERRUPT noted before w was in the list found no watch: call fn now. Either
	 * this check or session_interrupted() sees it, and whichever takes w first calls. */
	if (w && umfs_req_interrupted(req)) {
		pthread_mutex_lock(&watch_lock);
		for (struct watch *x = watches; x; x = x->next)
			if (x == w && x->req == req && !x->running && !x->cancelled) {
				fire(w);
				break;
			}
		pthread_mutex_unlock(&watch_lock);
	}
	return 0;
}

void session_interrupted(umfs_session *s, uint64_t unique)
{
	pthread_mutex_lock(&watch_lock);
	for (struct watch *w = watches; w; w = w->next)
		if (w->s == s && w->unique == unique && !w->running && !w->cancelled) {
			fire(w);
			break;
		}
	pthread_mutex_unlock(&watch_lock);
}

/* ---- INIT limits ---- */

void umfs_conn_set_limits(struct umfs_conn *conn, const struct umfs_conn_limits *limits)
{
	conn->limits = *limits;
}

/* A background limit as INIT carries it: 16 bits, 0 for the kernel's own. */
static uint16_t background_limit(unsigned v)
{
	if (v == UMFS_LIMIT_KERNEL)
		return 0;
	return (uint16_t)(v > 65535 ? 65535 : v);
}

void session_apply_limits(umfs_session *s, struct fuse_init_out *out)
{
	const struct umfs_conn_limits *l = &s->conn.limits;
	unsigned g = 1;

	/* Smaller writes and readahead fit the buffers sized for larger ones. */
	if (l->max_write && l->max_write < out->max_write)
		out->max_write = l->max_write < 4096 ? 4096 : l->max_write;
	if (l->max_readahead && l->max_readahead < out->max_readahead)
		out->max_readahead = l->max_readahead;
	if (l->max_background)
		out->max_background = background_limit(l->max_background);
	if (l->congestion_threshold)
		out->congestion_threshold = background_limit(l->congestion_threshold);
	/* The kernel wants a power of 10 (ns) up to a second; else it uses 1 ns. */
	while (g < l->time_gran && g < 1000000000)
		g *= 10;
	if (l->time_gran && g == l->time_gran)
		out->time_gran = g;
}
