/* SPDX-License-Identifier: MIT */
/*
 * pool.c - which worker reads /dev/fuse next, and how it waits.
 *
 * A request's round trip is mostly wake-ups: the request wakes a server thread asleep
 * in read(2), the reply wakes the caller. On a small virtual machine (this project's
 * have 2 CPUs) waking a sleeping thread costs as much as all the work of a simple
 * request. So the worker that just replied goes on reading without sleeping
 * (non-blocking reads on a second descriptor of the connection) for a short window,
 * and so takes a synchronous caller's next request before the kernel has anybody to
 * wake. That pays only if no other worker sleeps in read(2), for the kernel would wake
 * that one for every request; so one worker reads at a time and the others wait in
 * the pool (parked). A watcher thread gives the turn to a parked worker when the
 * reader has held a request for a whole tick (a slow callback, or one that waits for
 * another request), so a slow request holds up the others for a tick at most; and,
 * when every worker waits in a callback, lets a reserve worker take a request (watch).
 * A worker that served a large read or write does not poll: such streams are bound
 * by CPU, not by wake-ups. While the last request taken was part of a stream (a
 * large write, a directory listing: session.c), nobody polls and every worker
 * reads, so the writes that writeback queues are served side by side. Measured
 * with libfuse's passthrough_ll built on umfs (medians of 4 to 6 runs side by side):
 * 1 MiB writes through the writeback cache 1.47 GB/s with one reader at a time,
 * 1.61 so, 1.66 without polling at all; listings of 5,000 files, alternated with
 * libfuse's build in one process, 0.88-0.92x libfuse's speed with one reader at a
 * time, 0.91-1.00x so. The watcher must rest meanwhile, or waking it costs most of
 * the gain. Large reads keep one reader at a time:
 * readahead measured 2.50 GB/s so, 2.36 with every worker reading.
 *
 * The window adapts, as KVM's halt polling does: it widens when a request came soon
 * after the window closed, and narrows when none came for a whole longest window, so
 * an idle worker soon sleeps at once. A closed window (requests further apart than
 * the longest window) also ends parking: the parked workers are woken and every
 * worker sleeps in read(2), as libfuse's threads do, and the watcher rests, having
 * nobody to give a turn to; a request that comes soon after its predecessor opens
 * the window again. Before, a worker stayed parked and kept the watcher ticking: a
 * request every 5 ms cost 10 context switches instead of 2 (test_mount.py,
 * test_sparse_requests_wake_only_the_readers). With polling off (umfs_config.poll_us < 0,
 * UMFS_POLL_US=0, the io_uring transport, or a kernel without FUSE_DEV_IOC_CLONE),
 * every worker sleeps in read(2) and the kernel wakes one per request.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"

#define TICK_NS (500 * 1000ULL) /* the watcher's period while requests come */
#define QUIET_TICKS 100         /* ticks without a request before the watcher rests */
#define MIN_WINDOW_US 5         /* the first step when a window widens from none */
#define STUCK_TICKS 4           /* ticks every worker waits before a reserve reads */

static uint64_t clock_ns(clockid_t c)
{
	struct timespec t;

	if (clock_gettime(c, &t) != 0)
		return 0;
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* Nobody reads or waits for a turn, and a reserve worker could (the pool's lock).
 * Not while streaming: large writes keep every worker busy (and waiting for each
 * other's lock on the file) all the time, and watching them cost 4% of their speed. */
static bool all_in_callbacks(const struct pool *p)
{
	return p->readers == 0 && p->parked == 0 && (p->reserves_waiting || p->can_grow) &&
	       !atomic_load(&p->streaming);
}

/* A reserve worker takes the next request: a waiting one, else one that grow()
 * starts (the pool's lock, released meanwhile). */
static void give_reserve_turn(struct pool *p)
{
	p->reserve_turns++;
	if (p->reserves_waiting) {
		pthread_cond_signal(&p->reserve_turn);
	} else {
		p->can_grow = false; /* until the new worker joins (pool_add_worker) */
		pthread_mutex_unlock(&p->lock);
		p->grow(p->grow_arg);
		pthread_mutex_lock(&p->lock);
	}
}

/* The workers' CPU time since the last call (the pool's lock). */
static uint64_t workers_cpu_ns(struct pool *p)
{
	uint64_t used = 0;

	for (struct seat *seat = p->seats; seat; seat = seat->next) {
		uint64_t t = clock_ns(seat->cpu_clock);

		used += t - seat->cpu_at;
		seat->cpu_at = t;
	}
	return used;
}

int pool_init(struct pool *p, unsigned max_poll_us)
{
	pthread_condattr_t attr;
	int rc;

	memset(p, 0, sizeof(*p));
	atomic_init(&p->taken, 0);
	atomic_init(&p->max_window_us, max_poll_us);
	atomic_init(&p->window_us, max_poll_us);
	rc = pthread_condattr_init(&attr);
	if (rc == 0)
		rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&p->tick, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0)
		return -rc;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->turn, NULL);
	pthread_cond_init(&p->reserve_turn, NULL);
	return 0;
}

/* Give the turn to a parked worker whenever the requests in hand have been held for
 * a tick with nobody reading. Once no request came for QUIET_TICKS and the reader
 * sleeps in read(2), rest without a timeout: the reader wakes the watcher when a
 * request comes (only then, so a busy file system pays no wake-up for it). Rest too
 * while streaming, and whenever nobody is parked (a worker that parks wakes it).
 *
 * Reserve workers: when every worker is in a callback, nobody has taken a request for
 * STUCK_TICKS, and together they were on a CPU for less than half of that time, the
 * callbacks wait (for a disk, a network) rather than compute, and requests may be
 * waiting behind them: one reserve worker gets a turn to take a request, and if none
 * is free, grow() starts one (up to the pool's limit). A reserve goes back to waiting
 * after each request, so in a pool whose callbacks do not wait only the regular
 * workers read (waking the one that has slept longest among many costs caches: with
 * ten workers reading, listings were 9% slower). So the watcher also watches while
 * every worker is in a callback and a reserve is free or may be started, except while
 * streaming (all_in_callbacks). With a one-tick wait, 1 MiB writes through the
 * writeback cache (workers waiting for each other's lock on the file, off the CPU)
 * started reserves that only queued on that lock. */
static void *watch(void *arg)
{
	struct pool *p = arg;
	unsigned quiet = 0, stuck_ticks = 0;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		uint64_t seen, until;
		struct timespec ts;
		bool held, stuck = all_in_callbacks(p);

		if (!stuck &&
		    (!atomic_load(&p->max_window_us) || atomic_load(&p->streaming) || !p->parked ||
		     (quiet >= QUIET_TICKS && p->readers && p->sleepers == p->readers))) {
			p->watcher_idle = true;
			pthread_cond_wait(&p->tick, &p->lock);
			p->watcher_idle = false;
			quiet = 0;
			stuck_ticks = 0;
			continue;
		}
		seen = atomic_load(&p->taken);
		held = p->readers == 0;
		if (!stuck)
			stuck_ticks = 0;
		else if (stuck_ticks == 0)
			workers_cpu_ns(p); /* the CPU time of the stuck ticks starts now */
		until = now_ns() + TICK_NS;
		ts.tv_sec = (time_t)(until / 1000000000ULL);
		ts.tv_nsec = (long)(until % 1000000000ULL);
		pthread_cond_timedwait(&p->tick, &p->lock, &ts);
		quiet = atomic_load(&p->taken) == seen ? quiet + 1 : 0;
		if (!held || p->stopping || p->readers || atomic_load(&p->taken) != seen) {
			stuck_ticks = 0;
			continue;
		}
		if (p->parked) {
			pthread_cond_signal(&p->turn);
		} else if (!stuck || !all_in_callbacks(p)) {
			stuck_ticks = 0;
		} else if (++stuck_ticks == STUCK_TICKS) {
			stuck_ticks = 0;
			if (workers_cpu_ns(p) < STUCK_TICKS * TICK_NS / 2)
				give_reserve_turn(p);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int pool_start_watcher(struct pool *p)
{
	int rc = pthread_create(&p->watcher, NULL, watch, p);

	if (rc != 0)
		return -rc;
	p->watcher_started = true;
	return 0;
}

void pool_set_growth(struct pool *p, void (*grow)(void *arg), void *arg)
{
	pthread_mutex_lock(&p->lock);
	p->grow = grow;
	p->grow_arg = arg;
	pthread_mutex_unlock(&p->lock);
}

void pool_add_worker(struct pool *p, struct seat *seat, pthread_t thread, bool more)
{
	if (pthread_getcpuclockid(thread, &seat->cpu_clock) != 0)
		seat->cpu_clock = CLOCK_MONOTONIC; /* counts as computing: never grows for it */
	pthread_mutex_lock(&p->lock);
	seat->cpu_at = clock_ns(seat->cpu_clock);
	seat->next = p->seats;
	p->seats = seat;
	p->can_grow = more && p->grow;
	pthread_mutex_unlock(&p->lock);
}

void pool_stop_polling(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->max_window_us, 0);
	pthread_cond_broadcast(&p->turn);
	pthread_mutex_unlock(&p->lock);
}

void pool_note_request(struct pool *p, bool stream)
{
	bool wake_parked, wake_watcher;

	if (atomic_load(&p->streaming) == stream || !atomic_load(&p->max_window_us))
		return;
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->streaming, stream);
	wake_parked = stream && p->parked;            /* every worker reads now */
	wake_watcher = !stream && p->watcher_idle;    /* it rests while streaming */
	pthread_mutex_unlock(&p->lock);
	/* Woken after the unlock, see pool_read. */
	if (wake_parked)
		pthread_cond_broadcast(&p->turn);
	if (wake_watcher)
		pthread_cond_signal(&p->tick);
}

void pool_stop(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->turn);
	pthread_cond_broadcast(&p->reserve_turn);
	pthread_cond_broadcast(&p->tick);
	pthread_mutex_unlock(&p->lock);
	if (p->watcher_started)
		pthread_join(p->watcher, NULL);
	p->watcher_started = false;
}

void pool_destroy(struct pool *p)
{
	pthread_cond_destroy(&p->turn);
	pthread_cond_destroy(&p->reserve_turn);
	pthread_cond_destroy(&p->tick);
	pthread_mutex_destroy(&p->lock);
}

/* Wait until nobody else reads (when polling, which streams turn off). Returns false
 * when the pool stops. */
static bool take_turn(struct pool *p, const struct seat *seat, bool *polling)
{
	pthread_mutex_lock(&p->lock);
	if (seat->reserve) {
		/* Back from a request: whoever parked behind this one reads now. */
		if (p->parked && p->readers == 0)
			pthread_cond_signal(&p->turn);
		while (!p->reserve_turns && !p->stopping) {
			p->reserves_waiting++;
			pthread_cond_wait(&p->reserve_turn, &p->lock);
			p->reserves_waiting--;
		}
		if (p->stopping) {
			pthread_mutex_unlock(&p->lock);
			return false;
		}
		p->reserve_turns--;
		*polling = false;
		p->readers++;
		pthread_mutex_unlock(&p->lock);
		return true;
	}
	for (;;) {
		*polling = atomic_load(&p->max_window_us) && seat->poll_fd >= 0 &&
			   !atomic_load(&p->streaming);
		if (p->stopping) {
			pthread_mutex_unlock(&p->lock);
			return false;
		}
		/* A closed window (sparse requests: adapt) means the reader sleeps in
		 * read(2) at once: then sleep beside it rather than park, as libfuse's
		 * threads do, and nobody needs the watcher. */
		if (!*polling || p->readers == 0 || atomic_load(&p->window_us) == 0)
			break;
		p->parked++;
		if (p->watcher_idle)
			pthread_cond_signal(&p->tick); /* it rests while nobody is parked */
		pthread_cond_wait(&p->turn, &p->lock);
		p->parked--;
	}
	p->readers++;
	pthread_mutex_unlock(&p->lock);
	return true;
}

/* Non-blocking reads until a request comes or the window closes (-1, EAGAIN). */
static ssize_t poll_window(const struct seat *seat, const atomic_bool *exiting, void *buf,
			   size_t size, uint64_t end)
{
	do {
		ssize_t n = read(seat->poll_fd, buf, size);

		if (n >= 0 || errno != EAGAIN)
			return n;
		if (atomic_load(exiting))
			return 0;
	} while (now_ns() < end);
	errno = EAGAIN;
	return -1;
}

/* The next window: wider when the request came within a longest window of the
 * start, narrower when it took longer. True when it has just closed. */
static bool adapt(struct pool *p, unsigned window, uint64_t waited_ns)
{
	unsigned max = atomic_load(&p->max_window_us), next;

	if (waited_ns <= (uint64_t)max * 1000)
		next = window ? window * 2 : MIN_WINDOW_US;
	else
		next = window / 2 < MIN_WINDOW_US ? 0 : window / 2;
	atomic_store(&p->window_us, next < max ? next : max);
	return window && !next;
}

/* Sleep in read(2), the only place a worker may be cancelled (stop_workers). */
static ssize_t sleep_read(int fd, void *buf, size_t size)
{
	ssize_t n;
	int old;

	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
	n = read(fd, buf, size);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	return n;
}

ssize_t pool_read(struct pool *p, const struct seat *seat, const atomic_bool *exiting,
		  bool may_poll, void *buf, size_t size, int *from)
{
	for (;;) {
		unsigned window = 0;
		uint64_t start = 0;
		bool polling, wake_watcher = false, closed = false, wake_parked = false;
		ssize_t n;
		int e;

		if (!take_turn(p, seat, &polling))
			return 0;
		n = -1;
		errno = EAGAIN;
		*from = seat->poll_fd;
		if (polling && may_poll) {
			window = atomic_load(&p->window_us);
			start = now_ns();
			if (window)
				n = poll_window(seat, exiting, buf, size,
						start + (uint64_t)window * 1000);
		}
		if (n < 0 && errno == EAGAIN) {
			pthread_mutex_lock(&p->lock);
			if (polling && window && p->readers > 1) {
				/* The watcher added a reader meanwhile: one sleeper is enough. */
				p->readers--;
				pthread_mutex_unlock(&p->lock);
				continue;
			}
			p->sleepers++;
			pthread_mutex_unlock(&p->lock);
			*from = seat->fd;
			n = sleep_read(seat->fd, buf, size);
			e = errno;
			if (polling && may_poll && n > 0)
				closed = adapt(p, window, now_ns() - start);
			pthread_mutex_lock(&p->lock);
			p->sleepers--;
			/* Nobody polls now: the parked workers sleep in read(2) too (take_turn). */
			wake_parked = closed && p->parked;
			/* A request in hand: watch it, if a parked worker may need the turn.
			 * Nobody parks while nobody polls (--poll-us 0), and waking the
			 * watcher for nothing cost 3 futex calls a request there. */
			wake_watcher = p->watcher_idle && !atomic_load(&p->streaming) && p->parked;
		} else {
			e = errno;
			pthread_mutex_lock(&p->lock);
		}
		p->readers--;
		if (n > 0 && p->watcher_idle && all_in_callbacks(p))
			wake_watcher = true; /* watch whether they all wait */
		pthread_mutex_unlock(&p->lock);
		/* After the unlock: the woken watcher often runs at once on this CPU, and
		 * with the lock still held it would only block on it and switch back
		 * (perf sched_switch: 3 switches a wake-up instead of 1). */
		if (wake_watcher)
			pthread_cond_signal(&p->tick);
		if (wake_parked)
			pthread_cond_broadcast(&p->turn);
		if (n > 0)
			atomic_fetch_add(&p->taken, 1);
		errno = e;
		return n;
	}
}
