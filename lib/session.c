/* SPDX-License-Identifier: MIT */
/*
 * session.c - a session's life: INIT negotiation, the worker pool, requests and their
 * buffers, interrupts, deferred replies, signals and the end of the session.
 *
 * Each worker owns a cloned /dev/fuse descriptor and one preallocated request buffer
 * (input bytes, decoded request, out-parameters, reply bytes). A request is served
 * entirely in that buffer: no allocation and no shared lock on the way. Only a
 * deferred request takes its buffer along; the worker then gets a fresh one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "session.h"
#include "uring.h"

/* Room before a write's payload: the in header, the write header, and slack. */
#define IN_HEADROOM 4096
/* Setxattr values (64 KiB) plus names must always fit, whatever max_write is. */
#define IN_MIN (128 * 1024)

struct reqbuf {
	struct umfs_req req;
	/* Two owners while a deferred callback is still running on its worker: the worker
	 * and the completion. Whoever lets go last frees the buffer. */
	atomic_int owners;
	unsigned char *in;
	unsigned char *out;
};

struct worker {
	umfs_session *s;
	pthread_t thread;
	bool started;
	struct seat seat; /* its descriptors of the connection (pool.h) */
	int from;         /* the one the request in hand came from: its reply goes there */
	bool served_large; /* the last request was a large read or write */
	struct reqbuf *rb;
};

/* ---- configuration ---- */

void umfs_config_init(struct umfs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->version = UMFS_API_VERSION;
	c->size = sizeof(*c);
	c->entry_timeout = 1.0;
	c->attr_timeout = 1.0;
	c->max_write = 1024 * 1024;
	c->name_max = 255;
}

/* ---- request buffers ---- */

static void reqbuf_free(struct reqbuf *rb);

static struct reqbuf *reqbuf_new(umfs_session *s)
{
	struct reqbuf *rb = calloc(1, sizeof(*rb));

	if (!rb)
		return NULL;
	rb->in = malloc(s->in_size);
	rb->out = malloc(s->out_size);
	if (!rb->in || !rb->out) {
		reqbuf_free(rb);
		return NULL;
	}
	return rb;
}

static void reqbuf_free(struct reqbuf *rb)
{
	if (!rb)
		return;
	free(rb->in);
	free(rb->out);
	free(rb);
}

/* ---- deferred replies ---- */

void umfs_req_defer(umfs_req *req)
{
	if (!req->deferred && req->ent) {
		/* An io_uring entry stays with its request until the reply commits it. */
		req->deferred = true;
		uring_hold(req->ent);
	} else if (!req->deferred) {
		req->deferred = true;
		atomic_store(&req->rb->owners, 2);
	}
}

void umfs_req_complete(umfs_req *req, ssize_t result)
{
	struct reqbuf *rb = req->rb;

	if (result == UMFS_DEFERRED)
		result = -EIO;
	if (req->ent) {
		/* The reply hands the entry back: req may be reused once finish returns. */
		struct uring_ent *ent = req->ent;

		req->finish(req, result);
		uring_release(ent);
		return;
	}
	req->finish(req, result);
	if (atomic_fetch_sub(&rb->owners, 1) == 1)
		reqbuf_free(rb);
}

/* ---- interrupts ---- */

void session_note_interrupt(umfs_session *s, uint64_t unique)
{
	pthread_mutex_lock(&s->intr_lock);
	s->intr[s->intr_next++ % (sizeof(s->intr) / sizeof(s->intr[0]))] = unique;
	pthread_mutex_unlock(&s->intr_lock);
}

int umfs_req_interrupted(umfs_req *req)
{
	umfs_session *s = req->s;
	int found = 0;

	pthread_mutex_lock(&s->intr_lock);
	for (size_t i = 0; i < sizeof(s->intr) / sizeof(s->intr[0]); i++)
		if (s->intr[i] == req->rq.unique)
			found = 1;
	pthread_mutex_unlock(&s->intr_lock);
	return found;
}

int umfs_req_groups(umfs_req *req, gid_t *groups, int max)
{
	char path[64], line[4096];
	FILE *f;
	int n = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%u/status", (unsigned)req->caller.pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 7, *end;

		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (n = 0;; n++) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p || n >= max)
				break;
			groups[n] = (gid_t)g;
			p = end;
		}
		break;
	}
	fclose(f);
	return n;
}

int umfs_req_in_group(umfs_req *req, gid_t gid)
{
	gid_t groups[256];
	int n;

	if (req->caller.gid == gid)
		return 1;
	n = umfs_req_groups(req, groups, (int)(sizeof(groups) / sizeof(groups[0])));
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* ---- INIT ---- */

/* What every session asks for when the kernel offers it. */
static uint64_t default_wants(const struct umfs_operations *o)
{
	uint64_t w = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_MAX_PAGES |
		     FUSE_PARALLEL_DIROPS | FUSE_ASYNC_DIO | FUSE_AUTO_INVAL_DATA |
		     FUSE_ABORT_ERROR | FUSE_INIT_EXT | FUSE_DIRECT_IO_ALLOW_MMAP;

	if (o->readdir)
		w |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
	/* O_TRUNC goes to open, which must then truncate; without an open the kernel
	 * truncates through setattr first. */
	if (o->open)
		w |= FUSE_ATOMIC_O_TRUNC;
	if (o->getlk && o->setlk)
		w |= FUSE_POSIX_LOCKS;
	if (o->flock)
		w |= FUSE_FLOCK_LOCKS;
	if (o->ioctl)
		w |= FUSE_HAS_IOCTL_DIR;
	return w;
}

uint64_t umfs_conn_offered(const struct umfs_conn *conn)
{
	return conn->offered;
}

uint64_t umfs_conn_wanted(const struct umfs_conn *conn)
{
	return conn->wanted;
}

void umfs_conn_want(struct umfs_conn *conn, uint64_t caps)
{
	conn->wanted |= caps & conn->offered;
}

void umfs_conn_unwant(struct umfs_conn *conn, uint64_t caps)
{
	conn->wanted &= ~caps;
}

unsigned umfs_conn_proto_minor(const struct umfs_conn *conn)
{
	return conn->proto_minor;
}

/* End the session from inside, saying why (0: unmounted). */
static void end_session(umfs_session *s, int error)
{
	if (!s->exit_error)
		s->exit_error = error;
	umfs_session_exit(s);
}

/* Whether to ask for FUSE-over-io_uring; if not, why (for the log). */
static bool want_uring(umfs_session *s, const char **why)
{
	const char *env_off = getenv("UMFS_NO_URING");

	s->conn.wanted &= ~FUSE_OVER_IO_URING; /* only this function asks for it */
	if (s->cfg.no_uring)
		*why = "turned off";
	else if (env_off && *env_off)
		*why = "turned off by UMFS_NO_URING";
	else if (s->cfg.single_threaded)
		*why = "not used by a single-threaded session";
	else if (!uring_built())
		*why = "not built in (no liburing)";
	else if (!(s->conn.offered & FUSE_OVER_IO_URING))
		*why = "not offered by the kernel: fuse.enable_uring is N or the kernel is older";
	else
		return true;
	return false;
}

void session_init_reply(umfs_req *req)
{
	umfs_session *s = req->s;
	const struct init_args *in = &req->rq.u.init;
	struct fuse_init_out out;
	unsigned pages;
	const char *why = NULL;
	bool uring;
	int rc;

	memset(&out, 0, sizeof(out));
	out.major = FUSE_KERNEL_VERSION;
	out.minor = FUSE_KERNEL_MINOR_VERSION;
	if (in->major > FUSE_KERNEL_VERSION) {
		/* The kernel will retry with our major version. */
		memcpy(req->out_buf + sizeof(struct fuse_out_header), &out, sizeof(out));
		reply_send(req, 0, sizeof(out));
		return;
	}
	if (in->major < FUSE_KERNEL_VERSION || in->minor < FUSE_MIN_MINOR_VERSION) {
		umfs_log(UMFS_LOG_ERR, "kernel FUSE protocol %u.%u is too old (umfs needs 7.%u)",
			in->major, in->minor, FUSE_MIN_MINOR_VERSION);
		reply_error(req, -EPROTO);
		end_session(s, -EPROTO);
		return;
	}
	if (atomic_load(&s->initialized)) {
		reply_error(req, -EPROTO);
		return;
	}

	s->conn.proto_minor = in->minor < FUSE_KERNEL_MINOR_VERSION ? in->minor
								    : FUSE_KERNEL_MINOR_VERSION;
	s->conn.offered = in->flags;
	s->conn.wanted = default_wants(s->ops) & s->conn.offered;
	umfs_conn_want(&s->conn, s->cfg.want);
	umfs_conn_unwant(&s->conn, s->cfg.unwant);
	if (s->ops->init)
		s->ops->init(s->fs, &s->conn);
	/* Without open, O_TRUNC must come as a setattr: no open will see it. */
	if (!s->ops->open)
		s->conn.wanted &= ~FUSE_ATOMIC_O_TRUNC;
	/* The kernel refuses passthrough opens under the writeback cache. */
	if (s->conn.wanted & FUSE_PASSTHROUGH)
		s->conn.wanted &= ~FUSE_WRITEBACK_CACHE;

	uring = want_uring(s, &why);
	if (uring)
		s->conn.wanted |= FUSE_OVER_IO_URING;

	pages = (s->cfg.max_write + 4095) / 4096;
	out.flags = (uint32_t)s->conn.wanted;
	out.flags2 = (uint32_t)(s->conn.wanted >> 32);
	if (!(s->conn.offered & FUSE_INIT_EXT))
		out.flags2 = 0;
	out.max_readahead = in->max_readahead;
	out.max_write = s->cfg.max_write;
	out.max_pages = (uint16_t)(s->conn.wanted & FUSE_MAX_PAGES ? pages : 32);
	if (!(s->conn.wanted & FUSE_MAX_PAGES) && out.max_write > 32 * 4096)
		out.max_write = 32 * 4096;
	out.time_gran = 1;
	out.max_background = 64;
	out.congestion_threshold = 48;
	if (s->conn.wanted & FUSE_PASSTHROUGH)
		out.max_stack_depth = 1;

	session_apply_limits(s, &out);
	s->limits.proto_minor = s->conn.proto_minor;
	s->limits.max_write = out.max_write;
	atomic_store(&s->initialized, true);
	memcpy(req->out_buf + sizeof(struct fuse_out_header), &out, sizeof(out));
	rc = reply_send(req, 0, sizeof(out));
	/* The kernel takes ring entries only once it has our INIT reply. */
	if (uring && rc == 0 && (rc = uring_start(s)) < 0)
		umfs_log(UMFS_LOG_WARNING, "transport: /dev/fuse (io_uring could not start: %s)",
			 strerror(-rc));
	else if (uring)
		pool_stop_polling(&s->pool); /* requests come through the rings now */
	else
		umfs_log(UMFS_LOG_INFO, "transport: /dev/fuse (io_uring %s), busy polling %s", why,
			 atomic_load(&s->pool.max_window_us) ? "on" : "off");
	umfs_log(UMFS_LOG_DEBUG, "INIT: kernel 7.%u, using 7.%u, flags %#llx, max_write %u",
		in->minor, s->conn.proto_minor, (unsigned long long)s->conn.wanted, out.max_write);
}

/* ---- workers ---- */

static void serve_one(struct worker *w, size_t len)
{
	umfs_req *req = &w->rb->req;

	req->s = w->s;
	req->rb = w->rb;
	req->fd = w->from;
	req->ent = NULL;
	req->out_buf = w->rb->out;
	req->out_size = w->s->out_size;
	atomic_store(&w->rb->owners, 1);
	session_serve(req, w->rb->in, len);
}

void session_serve(umfs_req *req, const unsigned char *buf, size_t len)
{
	umfs_session *s = req->s;
	int rc;

	req->deferred = false;
	req->node = NULL;
	if (s->cfg.debug)
		clock_gettime(CLOCK_MONOTONIC, &req->start);

	rc = codec_decode(buf, len, &s->limits, &req->rq);
	if (rc < 0) {
		if (!codec_header_ok(len)) {
			umfs_log(UMFS_LOG_ERR, "dropped a request of %zu bytes: too short", len);
			return;
		}
		if (rc != -ENOSYS)
			umfs_log(UMFS_LOG_WARNING, "malformed %s request (unique %llu): %s",
				codec_opname(req->rq.opcode), (unsigned long long)req->rq.unique,
				strerror(-rc));
		if (!codec_no_reply(req->rq.opcode))
			reply_error(req, rc);
		return;
	}
	req->caller.uid = req->rq.uid;
	req->caller.gid = req->rq.gid;
	req->caller.pid = (pid_t)req->rq.pid;
	req->caller.umask = 0;
	dispatch(req);
}

/* The request went away with its reply still to come: give the worker a new buffer. */
static int detach_deferred(struct worker *w)
{
	struct reqbuf *old = w->rb, *fresh = reqbuf_new(w->s);

	if (!fresh) {
		/* Keep serving with the old buffer once the deferred request is done. */
		umfs_log(UMFS_LOG_ERR, "out of memory for a request buffer");
		return -ENOMEM;
	}
	w->rb = fresh;
	if (atomic_fetch_sub(&old->owners, 1) == 1)
		reqbuf_free(old); /* already completed while the callback ran */
	return 0;
}

/* The next request (pool.c says who reads and how it waits). Returns the length,
 * -1 with errno set, or 0 when the session ends. */
static ssize_t next_request(struct worker *w)
{
	umfs_session *s = w->s;

	if (atomic_load(&s->exiting))
		return 0;
	return pool_read(&s->pool, &w->seat, &s->exiting, !w->served_large, w->rb->in,
			 s->in_size, &w->from);
}

static int start_worker(umfs_session *s, unsigned i);

/* Every worker has been waiting in a callback (a disk, a network) for a while: start
 * one more, up to max_workers, so that other requests do not wait for them, as
 * libfuse's loop does (pool.c calls this from its watcher). */
static void grow(void *arg)
{
	umfs_session *s = arg;
	int rc;

	pthread_mutex_lock(&s->grow_lock);
	if (s->nworkers < s->max_workers && !atomic_load(&s->exiting)) {
		rc = start_worker(s, s->nworkers);
		if (rc == 0) {
			s->nworkers++;
		} else {
			umfs_log(UMFS_LOG_WARNING, "starting worker %u: %s; keeping %u",
				s->nworkers + 1, strerror(-rc), s->nworkers);
			s->max_workers = s->nworkers;
		}
	}
	pthread_mutex_unlock(&s->grow_lock);
}

/* A large read or write: its callback takes a while (copying, ciphering), and the
 * next request of such a stream is not worth polling for (pool.c). */
static bool takes_a_while(const unsigned char *buf, size_t len)
{
	const struct fuse_in_header *h = (const void *)buf;
	enum { LARGE = 64 * 1024 };

	if (len < sizeof(*h))
		return false;
	if (h->opcode == FUSE_WRITE)
		return len >= LARGE;
	if (h->opcode == FUSE_READ && len >= sizeof(*h) + sizeof(struct fuse_read_in))
		return ((const struct fuse_read_in *)(h + 1))->size >= LARGE;
	return false;
}

/* A large write or a directory listing: requests that the kernel sends one after
 * another without a program waiting on each (writeback), or whose replies the
 * program digests a buffer at a time (getdents). They are served best with every
 * worker reading and nobody polling (pool.c). large: takes_a_while(buf, len). */
static bool is_stream(const unsigned char *buf, size_t len, bool large)
{
	unsigned op;

	if (len < sizeof(struct fuse_in_header))
		return false;
	op = ((const struct fuse_in_header *)buf)->opcode;
	return op == FUSE_READDIR || op == FUSE_READDIRPLUS || (op == FUSE_WRITE && large);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	umfs_session *s = w->s;

	/* Only the wait for a request may be cancelled (next_request). */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	while (!atomic_load(&s->exiting)) {
		ssize_t n = next_request(w);

		if (n == 0)
			break;
		if (n < 0) {
			int e = errno;

			if (atomic_load(&s->exiting))
				break; /* the session is ending anyway */
			if (e == EINTR || e == ENOENT)
				continue; /* ENOENT: the request was interrupted before we read it */
			if (e == ENODEV) {
				end_session(s, 0); /* unmounted */
			} else if (e == ECONNABORTED) {
				umfs_log(UMFS_LOG_ERR, "the kernel aborted the connection");
				end_session(s, -ECONNABORTED);
			} else {
				umfs_log(UMFS_LOG_ERR, "reading /dev/fuse: %s", strerror(e));
				end_session(s, -e);
			}
			break;
		}
		w->served_large = takes_a_while(w->rb->in, (size_t)n);
		pool_note_request(&s->pool, is_stream(w->rb->in, (size_t)n, w->served_large));
		serve_one(w, (size_t)n);
		if (w->rb->req.deferred && detach_deferred(w) < 0) {
			end_session(s, -ENOMEM);
			break;
		}
	}
	return NULL;
}

/* Another descriptor of the connection (FUSE_DEV_IOC_CLONE): each worker reads its
 * own, so reads don't contend, plus a non-blocking one to poll (pool.c). */
static int clone_fd(int master, int flags)
{
	uint32_t m = (uint32_t)master;
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC | flags);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, FUSE_DEV_IOC_CLONE, &m) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static unsigned worker_count(const struct umfs_config *c)
{
	long n;

	if (c->single_threaded)
		return 1;
	if (c->threads)
		return c->threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return c->max_threads && (unsigned)n > c->max_threads ? c->max_threads : (unsigned)n;
}

void umfs_session_set_workers(umfs_session *s, unsigned threads, int single_threaded)
{
	s->cfg.threads = threads;
	s->cfg.single_threaded = single_threaded;
}

void umfs_session_set_max_threads(umfs_session *s, unsigned max_threads)
{
	s->cfg.max_threads = max_threads;
}

/* The longest polling window (pool.c): the configuration's, else UMFS_POLL_US's. */
static unsigned poll_window_us(const struct umfs_config *c)
{
	const char *env = getenv("UMFS_POLL_US");
	long us = c->poll_us;

	if (us == 0 && env && *env) {
		us = strtol(env, NULL, 10);
		if (us <= 0)
			us = -1; /* UMFS_POLL_US=0: never */
	}
	if (us == 0)
		us = POOL_DEFAULT_POLL_US;
	if (us > 100000)
		us = 100000; /* a tenth of a second: beyond that it is just a busy loop */
	return us > 0 ? (unsigned)us : 0;
}

/* Worker i's descriptors: its own clone of the connection (worker 0 reads the
 * mount's), and a non-blocking one to poll if poll. */
static void open_seat(umfs_session *s, unsigned i, bool poll)
{
	struct seat *seat = &s->workers[i].seat;

	seat->fd = i == 0 ? s->mnt.fd : clone_fd(s->mnt.fd, 0);
	if (seat->fd < 0) {
		/* An old kernel without cloning: share the one descriptor. */
		umfs_log(UMFS_LOG_DEBUG, "FUSE_DEV_IOC_CLONE: %s; sharing the descriptor",
			strerror(-seat->fd));
		seat->fd = s->mnt.fd;
	}
	seat->poll_fd = poll ? clone_fd(s->mnt.fd, O_NONBLOCK) : -1;
}

static void close_seat(umfs_session *s, struct seat *seat)
{
	if (seat->fd >= 0 && seat->fd != s->mnt.fd)
		close(seat->fd);
	if (seat->poll_fd >= 0)
		close(seat->poll_fd);
	*seat = (struct seat){ .fd = -1, .poll_fd = -1 };
}

/* Start worker i, whose seat is open unless it joins a running pool. */
static int start_worker(umfs_session *s, unsigned i)
{
	struct worker *w = &s->workers[i];

	w->s = s;
	w->seat.reserve = i >= s->first_workers;
	if (w->seat.fd < 0)
		open_seat(s, i, atomic_load(&s->pool.max_window_us) != 0);
	w->rb = reqbuf_new(s);
	if (!w->rb || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		int rc = w->rb ? -EAGAIN : -ENOMEM;

		reqbuf_free(w->rb);
		w->rb = NULL;
		close_seat(s, &w->seat);
		return rc;
	}
	w->started = true;
	pool_add_worker(&s->pool, &w->seat, w->thread, i + 1 < s->max_workers);
	return 0;
}

static int start_workers(umfs_session *s)
{
	unsigned window = poll_window_us(&s->cfg), first = worker_count(&s->cfg);
	unsigned most = s->cfg.single_threaded || s->cfg.max_threads < first ? first
									   : s->cfg.max_threads;
	int rc = 0;

	s->workers = calloc(most, sizeof(*s->workers));
	if (!s->workers)
		return -ENOMEM;
	s->max_workers = most;
	s->first_workers = first;
	for (unsigned i = 0; i < most; i++) /* nothing to close yet */
		s->workers[i].seat = (struct seat){ .fd = -1, .poll_fd = -1 };
	if (fcntl(s->mnt.fd, F_SETFL, fcntl(s->mnt.fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return -errno;
	for (unsigned i = 0; i < first; i++) {
		open_seat(s, i, window != 0);
		if (s->workers[i].seat.poll_fd < 0)
			window = 0; /* one worker that cannot poll: nobody polls */
	}
	rc = pool_init(&s->pool, window);
	if (rc < 0)
		return rc;
	s->pool_ready = true;
	umfs_log(UMFS_LOG_DEBUG, "%u workers (up to %u), busy polling up to %u us", first,
		 s->max_workers, window);
	if (s->max_workers > first)
		pool_set_growth(&s->pool, grow, s);
	if (((window && s->max_workers > 1) || s->max_workers > first) &&
	    (rc = pool_start_watcher(&s->pool)) < 0)
		return rc;
	pthread_mutex_lock(&s->grow_lock);
	while (rc == 0 && s->nworkers < first)
		if ((rc = start_worker(s, s->nworkers)) == 0)
			s->nworkers++;
	pthread_mutex_unlock(&s->grow_lock);
	return rc;
}

/* A worker blocked waiting for a request is cancelled there; one in a callback
 * finishes it, then sees the session end (next_request). */
static void stop_workers(umfs_session *s)
{
	unsigned n;

	umfs_session_exit(s);
	if (s->pool_ready)
		pool_stop(&s->pool); /* wakes the parked workers */
	/* Nobody starts a worker from now on (grow checks exiting). */
	pthread_mutex_lock(&s->grow_lock);
	n = s->max_workers;
	pthread_mutex_unlock(&s->grow_lock);
	for (unsigned i = 0; i < n; i++)
		if (s->workers[i].started)
			pthread_cancel(s->workers[i].thread);
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &s->workers[i];

		if (w->started)
			pthread_join(w->thread, NULL);
		close_seat(s, &w->seat);
		reqbuf_free(w->rb);
	}
	if (s->pool_ready)
		pool_destroy(&s->pool);
	s->pool_ready = false;
	/* After the workers: the one that answered INIT may have been starting it. */
	uring_stop(s);
	free(s->workers);
	s->workers = NULL;
	s->nworkers = 0;
	s->max_workers = 0;
}

/* ---- the session ---- */

umfs_session *umfs_session_new(const struct umfs_operations *ops, size_t ops_size, void *fs,
			       void *root, const struct umfs_config *config)
{
	umfs_session *s;
	struct umfs_config defaults;
	int rc;

	if (!ops || ops_size < offsetof(struct umfs_operations, lookup) || !root) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	/* An older (smaller) table is padded with NULLs: those operations are absent. */
	memcpy(&s->ops_copy, ops,
	       ops_size < sizeof(s->ops_copy) ? ops_size : sizeof(s->ops_copy));
	s->ops = &s->ops_copy;
	s->fs = fs;
	umfs_config_init(&defaults);
	s->cfg = defaults;
	if (config)
		memcpy(&s->cfg, config,
		       config->size && config->size < sizeof(s->cfg) ? config->size : sizeof(s->cfg));
	if (s->cfg.max_write < 4096)
		s->cfg.max_write = defaults.max_write;
	if (s->cfg.max_write > 16 * 1024 * 1024)
		s->cfg.max_write = 16 * 1024 * 1024;
	if (!s->cfg.name_max || s->cfg.name_max > 1024)
		s->cfg.name_max = defaults.name_max;
	if (s->cfg.debug)
		log_enable_debug(true);
	s->limits.max_write = s->cfg.max_write;
	s->limits.name_max = s->cfg.name_max;
	s->in_size = s->cfg.max_write + IN_HEADROOM;
	if (s->in_size < IN_MIN)
		s->in_size = IN_MIN;
	s->out_size = sizeof(struct fuse_out_header) + s->cfg.max_write;
	s->mnt.fd = -1;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->nodes_root = root;
	rc = s->wake_fd < 0 ? -errno : nodes_init(&s->nodes, root, s->cfg.direct_node_ids);
	if (rc < 0) {
		int e = -rc;

		if (s->wake_fd >= 0)
			close(s->wake_fd);
		free(s);
		errno = e;
		return NULL;
	}
	pthread_mutex_init(&s->intr_lock, NULL);
	pthread_mutex_init(&s->retrieve_lock, NULL);
	pthread_mutex_init(&s->grow_lock, NULL);
	return s;
}

void umfs_session_exit(umfs_session *s)
{
	uint64_t one = 1;

	atomic_store(&s->exiting, true);
	if (write(s->wake_fd, &one, sizeof(one)) < 0) {
		/* nothing more to do from a signal handler */
	}
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

void session_hold_signals(umfs_session *s)
{
	sigset_t set;

	if (s->mask_saved)
		return;
	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, &s->saved_mask);
	s->mask_saved = true;
}

void session_release_signals(umfs_session *s)
{
	if (s->mask_saved) {
		pthread_sigmask(SIG_SETMASK, &s->saved_mask, NULL);
		s->mask_saved = false;
	}
}

/* The stop signals, held (blocked) before the workers start, so that they inherit
 * the mask and only this thread sees them, through a signalfd. */
static int signal_fd(umfs_session *s)
{
	sigset_t set;

	session_hold_signals(s);
	stop_signals(&set);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Wait until a signal arrives, a worker ends the session, or umfs_session_exit(). */
static void wait_for_end(umfs_session *s, int sfd)
{
	struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
			       { .fd = s->wake_fd, .events = POLLIN } };

	while (!atomic_load(&s->exiting)) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				umfs_log(UMFS_LOG_INFO, "%s: unmounting %s", strsignal((int)si.ssi_signo),
					s->mnt.mountpoint ? s->mnt.mountpoint : "");
			break;
		}
		if (p[1].revents & POLLIN)
			break;
	}
	atomic_store(&s->exiting, true);
}

int umfs_session_loop(umfs_session *s)
{
	int sfd, rc;

	if (s->mnt.fd < 0) {
		umfs_log(UMFS_LOG_ERR, "umfs_session_loop: not mounted");
		return -EINVAL;
	}
	sfd = signal_fd(s);
	if (sfd < 0) {
		rc = -errno;
		mount_release(&s->mnt);
		session_release_signals(s);
		return rc;
	}
	rc = start_workers(s);
	if (rc < 0)
		umfs_log(UMFS_LOG_ERR, "starting workers: %s", strerror(-rc));
	else
		wait_for_end(s, sfd);

	/* Unmount first, so no new request comes; then stop the workers, and only then
	 * close the connection they read from. */
	mount_detach(&s->mnt);
	stop_workers(s);
	mount_release(&s->mnt);
	close(sfd);
	session_release_signals(s);
	/* The kernel is gone: it holds no node any more, so every node is forgotten
	 * before the file system is told the session ended. */
	nodes_destroy(&s->nodes, s->ops->forget, s->fs);
	nodes_init(&s->nodes, s->nodes_root, s->cfg.direct_node_ids);
	if (s->ops->destroy)
		s->ops->destroy(s->fs);
	return rc < 0 ? rc : s->exit_error;
}

void umfs_session_destroy(umfs_session *s)
{
	if (!s)
		return;
	mount_release(&s->mnt);
	session_release_signals(s);
	nodes_destroy(&s->nodes, s->ops->forget, s->fs);
	close(s->wake_fd);
	pthread_mutex_destroy(&s->intr_lock);
	notify_free_retrieves(s);
	pthread_mutex_destroy(&s->retrieve_lock);
	pthread_mutex_destroy(&s->grow_lock);
	free(s->mnt.mountpoint);
	free(s);
}
