/* SPDX-License-Identifier: MIT */
/*
 * uring.c - FUSE over io_uring: where request bytes come from and where replies go
 * when the kernel offers it (fuse.enable_uring=Y, protocol 7.42).
 *
 * The kernel keeps one queue of requests per possible CPU and puts a request on the
 * queue of the CPU that issued it. The daemon lends each queue "entries": a header
 * buffer and a payload buffer registered with an IORING_OP_URING_CMD on /dev/fuse.
 * A completion on an entry means a request sits in its buffers; one URING_CMD then
 * both commits the reply and asks for the next request, so a request costs one
 * io_uring_enter instead of a read and a write on /dev/fuse.
 *
 * Here each ring belongs to one thread and holds one entry (RING_ENTRIES) of one
 * queue: while a callback runs, no other request waits behind it on this thread, as
 * with a /dev/fuse worker. Several rings serve each queue, and their threads run on
 * the queue's CPU, where the woken thread finds the caches the caller just left.
 *
 * Only the ring's thread submits to it (IORING_SETUP_SINGLE_ISSUER). A reply made on
 * another thread (a deferred request) is put on the ring's list under a lock and the
 * thread is woken through an eventfd that the ring always has a read pending on; the
 * same eventfd wakes it at the end of the session.
 *
 * Requests arrive split (wire.h): the in header, the opcode's fixed struct and the
 * rest. They are put back together in front of the payload, in room kept there, so
 * the codec sees the same bytes as from /dev/fuse and write data is never copied.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "session.h"
#include "uring.h"

#ifdef HAVE_LIBURING

#include <liburing.h>

#define OUT_HDR sizeof(struct fuse_out_header)
#define IN_HDR sizeof(struct fuse_in_header)
/* Room before the payload to put the in header and the opcode's struct back. */
#define HEAD_ROOM (IN_HDR + FUSE_URING_OP_IN_OUT_SZ)
/* Entries per ring: one, so a slow callback delays no other request (see above). */
#define RING_ENTRIES 1
/* Rings (threads) per queue at least: two callers on one CPU, one waiting for the
 * other (a lock), must not wait for each other's turn. */
#define MIN_RINGS_PER_QUEUE 2

enum ent_state { ENT_IDLE, ENT_REGISTERING, ENT_FETCHING, ENT_SERVING, ENT_DEAD };

struct uring_ent {
	struct uring_ring *ring;
	struct fuse_uring_req_header hdr;
	struct iovec iov[2];
	unsigned char *buf;      /* HEAD_ROOM bytes, then the payload */
	unsigned char *out;      /* reply buffer (header, then payload) */
	enum ent_state state;
	uint64_t commit_id;      /* of the request being served */
	bool answered;
	struct uring_ent *next;  /* on a commit list */
	umfs_req req;
};

struct uring_ring {
	struct uring_pool *pool;
	struct io_uring ring;
	bool ring_ok;
	pthread_t thread;
	bool started;
	pthread_t self;          /* set by the thread itself, for queue_commit */
	unsigned qid;
	int efd;
	uint64_t efd_buf;
	bool efd_armed;
	struct uring_ent ents[RING_ENTRIES];
	unsigned live;           /* entries not dead */
	struct uring_ent *local; /* replies made on this thread, to commit */
	pthread_mutex_t lock;
	struct uring_ent *remote; /* replies made on other threads */
};

struct uring_pool {
	umfs_session *s;
	int fd;                  /* /dev/fuse */
	size_t payload_size;
	unsigned nqueues, nrings;
	struct uring_ring *rings;
	/* The session's reference, plus one per deferred request still to answer. */
	atomic_int refs;
	/* Rings done setting up, and the first error among them. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned set_up;
	int error;
	atomic_bool stopping;    /* the rings' threads are to end */
};

bool uring_built(void)
{
	return true;
}

static unsigned char *payload_of(struct uring_ent *e)
{
	return e->buf + HEAD_ROOM;
}

/* The kernel's queue count: one per possible CPU ("0-7" in /sys). */
static unsigned possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	unsigned n = 0;
	char line[256];

	if (f) {
		if (fgets(line, sizeof(line), f)) {
			/* The highest number in the list, plus one. */
			for (char *p = line; *p;) {
				char *end;
				unsigned long v;

				if (*p < '0' || *p > '9') {
					p++; /* '-', ',' or the newline */
					continue;
				}
				v = strtoul(p, &end, 10);
				if (v < 65536 && v + 1 > n)
					n = (unsigned)v + 1;
				p = end;
			}
		}
		fclose(f);
	}
	if (!n) {
		long c = sysconf(_SC_NPROCESSORS_CONF);

		n = c > 0 ? (unsigned)c : 1;
	}
	return n;
}

static bool stopping(struct uring_ring *r)
{
	return atomic_load(&r->pool->stopping) || atomic_load(&r->pool->s->exiting);
}

/* ---- submissions (on the ring's thread only) ---- */

static struct io_uring_sqe *get_sqe(struct uring_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe) {
		/* Never expected: the queue has room for every entry and the eventfd. */
		io_uring_submit(&r->ring);
		sqe = io_uring_get_sqe(&r->ring);
	}
	return sqe;
}

static void prep_cmd(struct uring_ring *r, struct uring_ent *e, uint32_t op)
{
	struct io_uring_sqe *sqe = get_sqe(r);
	struct fuse_uring_cmd_req cmd = { .commit_id = e->commit_id, .qid = (uint16_t)r->qid };

	if (!sqe)
		return;
	memset(sqe, 0, 2 * sizeof(*sqe)); /* SQE128: the command area is the second half */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = r->pool->fd;
	sqe->cmd_op = op;
	if (op == FUSE_IO_URING_CMD_REGISTER) {
		sqe->addr = (uint64_t)(uintptr_t)e->iov;
		sqe->len = 2;
		e->state = ENT_REGISTERING;
	} else {
		e->state = ENT_FETCHING;
	}
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
	io_uring_sqe_set_data(sqe, e);
}

static void arm_eventfd(struct uring_ring *r)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return;
	io_uring_prep_read(sqe, r->efd, &r->efd_buf, sizeof(r->efd_buf), 0);
	io_uring_sqe_set_data(sqe, NULL);
	r->efd_armed = true;
}

/* Turn the replies made since the last submission into COMMIT_AND_FETCH commands. */
static void flush_commits(struct uring_ring *r)
{
	while (r->local) {
		struct uring_ent *e = r->local;

		r->local = e->next;
		prep_cmd(r, e, FUSE_IO_URING_CMD_COMMIT_AND_FETCH);
	}
}

/* ---- replies (any thread) ---- */

static void queue_commit(struct uring_ent *e)
{
	struct uring_ring *r = e->ring;
	uint64_t one = 1;

	if (pthread_equal(pthread_self(), r->self)) {
		e->next = r->local;
		r->local = e;
		return;
	}
	pthread_mutex_lock(&r->lock);
	e->next = r->remote;
	r->remote = e;
	pthread_mutex_unlock(&r->lock);
	if (write(r->efd, &one, sizeof(one)) < 0)
		umfs_log(UMFS_LOG_ERR, "io_uring: waking a ring: %s", strerror(errno));
}

int uring_reply(umfs_req *req, size_t len)
{
	struct uring_ent *e = req->ent;

	if (e->answered)
		return -EINVAL; /* one reply per request */
	e->answered = true;
	memcpy(e->hdr.in_out, req->out_buf, OUT_HDR);
	/* READ builds its reply in the payload itself (serve_ent); others are copied. */
	if (len && req->out_buf + OUT_HDR != payload_of(e))
		memcpy(payload_of(e), req->out_buf + OUT_HDR, len);
	e->hdr.ring_ent_in_out.payload_sz = (uint32_t)len;
	queue_commit(e);
	return 0;
}

/* ---- the pool's life ---- */

static void rings_free(struct uring_pool *p)
{
	for (unsigned i = 0; i < p->nrings; i++) {
		struct uring_ring *r = &p->rings[i];

		for (unsigned j = 0; j < RING_ENTRIES; j++) {
			free(r->ents[j].buf);
			free(r->ents[j].out);
		}
		if (r->efd >= 0)
			close(r->efd);
		pthread_mutex_destroy(&r->lock);
	}
	free(p->rings);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}

void uring_hold(struct uring_ent *e)
{
	atomic_fetch_add(&e->ring->pool->refs, 1);
}

void uring_release(struct uring_ent *e)
{
	struct uring_pool *p = e->ring->pool;

	if (atomic_fetch_sub(&p->refs, 1) == 1)
		rings_free(p);
}

/* ---- serving ---- */

/* Answer a request that cannot be served, so its entry comes back. */
static void answer_error(struct uring_ent *e, uint64_t unique, int error)
{
	struct fuse_out_header oh = { .len = OUT_HDR, .error = error, .unique = unique };

	e->answered = true;
	memcpy(e->hdr.in_out, &oh, sizeof(oh));
	e->hdr.ring_ent_in_out.payload_sz = 0;
	queue_commit(e);
}

static void serve_ent(struct uring_ent *e)
{
	struct uring_pool *p = e->ring->pool;
	umfs_req *req = &e->req;
	struct fuse_in_header ih;
	uint32_t psz = e->hdr.ring_ent_in_out.payload_sz;
	size_t opsz;
	unsigned char *start;

	memcpy(&ih, e->hdr.in_out, sizeof(ih));
	e->commit_id = e->hdr.ring_ent_in_out.commit_id;
	e->answered = false;
	e->state = ENT_SERVING;
	/* The in header's len counts all three parts; the split must add up. */
	if (psz > p->payload_size || ih.len < IN_HDR + (size_t)psz ||
	    ih.len - IN_HDR - psz > FUSE_URING_OP_IN_OUT_SZ) {
		umfs_log(UMFS_LOG_ERR, "io_uring: request of %u bytes with a payload of %u: "
			 "answering EIO", ih.len, psz);
		answer_error(e, e->commit_id, -EIO);
		return;
	}
	opsz = ih.len - IN_HDR - psz;
	start = payload_of(e) - opsz - IN_HDR;
	memcpy(start, &ih, IN_HDR);
	memcpy(start + IN_HDR, e->hdr.op_in, opsz);

	req->s = p->s;
	req->rb = NULL;
	req->fd = -1;
	req->ent = e;
	req->out_size = p->s->out_size;
	/* A read's data goes straight into the payload: nothing of the request is
	 * still needed there once decoded (its fields are copied out). */
	req->out_buf = ih.opcode == FUSE_READ && psz == 0 ? payload_of(e) - OUT_HDR : e->out;
	session_serve(req, start, ih.len);
	if (!req->deferred && !e->answered)
		answer_error(e, e->commit_id, -EIO); /* no reply was made: give the entry back */
}

/* One completion: a request (res 0), a failed command, or the eventfd. */
static void complete(struct uring_ring *r, struct uring_ent *e, int res)
{
	if (!e) {
		struct uring_ent *list;

		r->efd_armed = false;
		pthread_mutex_lock(&r->lock);
		list = r->remote;
		r->remote = NULL;
		pthread_mutex_unlock(&r->lock);
		while (list) {
			struct uring_ent *next = list->next;

			list->next = r->local;
			r->local = list;
			list = next;
		}
		if (res < 0 && res != -EINTR && res != -EAGAIN && res != -ECANCELED) {
			/* Never expected; re-arming would only fail again. */
			umfs_log(UMFS_LOG_ERR, "io_uring: reading the ring's eventfd: %s",
				 strerror(-res));
			return;
		}
		if (!stopping(r))
			arm_eventfd(r);
		return;
	}
	if (res == 0) {
		serve_ent(e);
		return;
	}
	if (res == -ENOENT && e->state == ENT_FETCHING && !stopping(r)) {
		/* The kernel no longer knew the request (it gave up on it): the reply is
		 * lost and so is the entry's place; lend the buffers again. */
		prep_cmd(r, e, FUSE_IO_URING_CMD_REGISTER);
		return;
	}
	/* ENOTCONN, ECONNABORTED, ECANCELED: the connection or the ring is going away. */
	if (res != -ENOTCONN && res != -ECONNABORTED && res != -ECANCELED &&
	    !stopping(r))
		umfs_log(UMFS_LOG_ERR, "io_uring: %s: %s",
			 e->state == ENT_REGISTERING ? "registering an entry" : "committing a reply",
			 strerror(-res));
	e->state = ENT_DEAD;
	r->live--;
}

static void ring_loop(struct uring_ring *r)
{
	while (!stopping(r)) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int rc;

		flush_commits(r);
		rc = io_uring_submit_and_wait(&r->ring, 1);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			umfs_log(UMFS_LOG_ERR, "io_uring: waiting for requests: %s", strerror(-rc));
			break;
		}
		io_uring_for_each_cqe(&r->ring, head, cqe) {
			seen++;
			complete(r, io_uring_cqe_get_data(cqe), cqe->res);
		}
		io_uring_cq_advance(&r->ring, seen);
		/* No entry left and none coming back: only the end of the session remains,
		 * which the eventfd brings. */
		if (!r->live && !r->efd_armed)
			break;
	}
}

/* Set up the ring and lend the kernel its entries. Returns 0 or a negative errno. */
static int ring_setup(struct uring_ring *r)
{
	struct io_uring_params params;
	unsigned depth = 2 * RING_ENTRIES + 2;
	struct io_uring_cqe *cqe;
	int rc;

	/* Replies and fetches are submitted by this thread only, and the kernel's work
	 * for them runs when this thread waits: no interrupting it in a callback. */
	memset(&params, 0, sizeof(params));
	params.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER |
		       IORING_SETUP_DEFER_TASKRUN;
	rc = io_uring_queue_init_params(depth, &r->ring, &params);
	if (rc == -EINVAL) {
		memset(&params, 0, sizeof(params));
		params.flags = IORING_SETUP_SQE128;
		rc = io_uring_queue_init_params(depth, &r->ring, &params);
	}
	if (rc < 0)
		return rc;
	r->ring_ok = true;
	for (unsigned j = 0; j < RING_ENTRIES; j++) {
		prep_cmd(r, &r->ents[j], FUSE_IO_URING_CMD_REGISTER);
		r->live++;
	}
	arm_eventfd(r);
	rc = io_uring_submit(&r->ring);
	if (rc < 0)
		return rc;
	/* A refused registration completes at once; an accepted one only when a
	 * request comes. */
	while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
		struct uring_ent *e = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&r->ring, cqe);
		if (e && res < 0)
			return res;
		complete(r, e, res);
	}
	return 0;
}

/* Run near the queue's CPU; a CPU this process may not use is not an error. */
static void pin(unsigned cpu)
{
	cpu_set_t set;

	if (cpu >= CPU_SETSIZE)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *ring_main(void *arg)
{
	struct uring_ring *r = arg;
	struct uring_pool *p = r->pool;
	int rc;

	r->self = pthread_self();
	pin(r->qid);
	rc = ring_setup(r);
	pthread_mutex_lock(&p->lock);
	if (rc < 0 && !p->error)
		p->error = rc;
	p->set_up++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (rc == 0)
		ring_loop(r);
	/* Closing the ring cancels what the kernel still holds of it. */
	if (r->ring_ok)
		io_uring_queue_exit(&r->ring);
	r->ring_ok = false;
	return NULL;
}

static unsigned rings_per_queue(umfs_session *s, unsigned nqueues)
{
	unsigned workers = s->cfg.threads;
	long n;

	if (!workers) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		workers = n > 0 ? (unsigned)n : 1;
	}
	workers = (workers + nqueues - 1) / nqueues;
	return workers < MIN_RINGS_PER_QUEUE ? MIN_RINGS_PER_QUEUE : workers;
}

static struct uring_pool *rings_new(umfs_session *s)
{
	struct uring_pool *p = calloc(1, sizeof(*p));
	unsigned per;

	if (!p)
		return NULL;
	p->s = s;
	p->fd = s->mnt.fd;
	p->payload_size = s->in_size;
	p->nqueues = possible_cpus();
	per = rings_per_queue(s, p->nqueues);
	p->nrings = p->nqueues * per;
	atomic_store(&p->refs, 1);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->rings = calloc(p->nrings, sizeof(*p->rings));
	if (!p->rings) {
		p->nrings = 0;
		rings_free(p);
		return NULL;
	}
	for (unsigned i = 0; i < p->nrings; i++) {
		struct uring_ring *r = &p->rings[i];

		r->pool = p;
		r->qid = i % p->nqueues;
		pthread_mutex_init(&r->lock, NULL);
		r->efd = eventfd(0, EFD_CLOEXEC);
		if (r->efd < 0)
			goto fail;
		for (unsigned j = 0; j < RING_ENTRIES; j++) {
			struct uring_ent *e = &r->ents[j];

			e->ring = r;
			e->buf = malloc(HEAD_ROOM + p->payload_size);
			e->out = malloc(s->out_size);
			if (!e->buf || !e->out)
				goto fail;
			e->iov[0].iov_base = &e->hdr;
			e->iov[0].iov_len = sizeof(e->hdr);
			e->iov[1].iov_base = payload_of(e);
			e->iov[1].iov_len = p->payload_size;
		}
	}
	return p;
fail:
	rings_free(p);
	return NULL;
}

/* Wake every ring's thread and wait for it; the rings close as their threads end. */
static void rings_stop(struct uring_pool *p)
{
	uint64_t one = 1;

	atomic_store(&p->stopping, true);
	for (unsigned i = 0; i < p->nrings; i++)
		if (p->rings[i].started && write(p->rings[i].efd, &one, sizeof(one)) < 0)
			umfs_log(UMFS_LOG_ERR, "io_uring: waking a ring: %s", strerror(errno));
	for (unsigned i = 0; i < p->nrings; i++)
		if (p->rings[i].started)
			pthread_join(p->rings[i].thread, NULL);
}

int uring_start(umfs_session *s)
{
	struct uring_pool *p = rings_new(s);
	unsigned started = 0;
	int rc = 0;

	if (!p)
		return -ENOMEM;
	for (unsigned i = 0; i < p->nrings; i++) {
		if (pthread_create(&p->rings[i].thread, NULL, ring_main, &p->rings[i]) != 0) {
			rc = -EAGAIN;
			break;
		}
		p->rings[i].started = true;
		started++;
	}
	pthread_mutex_lock(&p->lock);
	while (p->set_up < started)
		pthread_cond_wait(&p->cond, &p->lock);
	if (!rc)
		rc = p->error;
	pthread_mutex_unlock(&p->lock);
	if (rc < 0) {
		/* At the first refusal the kernel gives up io_uring for this connection and
		 * keeps using /dev/fuse; the rings that did register are closed. */
		rings_stop(p);
		uring_release(p->rings[0].ents);
		return rc;
	}
	s->uring = p;
	umfs_log(UMFS_LOG_INFO, "transport: io_uring (%u queues, %u rings of %u entry each)",
		 p->nqueues, p->nrings, RING_ENTRIES);
	return 0;
}

void uring_stop(umfs_session *s)
{
	struct uring_pool *p = s->uring;

	if (!p)
		return;
	s->uring = NULL;
	rings_stop(p);
	uring_release(p->rings[0].ents);
}

#else /* !HAVE_LIBURING */

bool uring_built(void)
{
	return false;
}

int uring_start(umfs_session *s)
{
	return -ENOSYS;
}

void uring_stop(umfs_session *s)
{
}

int uring_reply(umfs_req *req, size_t len)
{
	return -ENOSYS;
}

void uring_hold(struct uring_ent *e)
{
}

void uring_release(struct uring_ent *e)
{
}

#endif
