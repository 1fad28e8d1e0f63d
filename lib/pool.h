/* SPDX-License-Identifier: MIT */
/*
 * pool.h - which worker reads /dev/fuse next, and how it waits (pool.c).
 */
#ifndef UMFS_POOL_H
#define UMFS_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The longest polling window, unless configured (umfs_config.poll_us). */
#define POOL_DEFAULT_POLL_US 50

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t turn;  /* parked workers wait here for their turn to read */
	pthread_cond_t tick;  /* the watcher waits here */
	unsigned readers;     /* workers reading now: polling, or asleep in read(2) */
	unsigned sleepers;    /* of those, asleep in read(2) */
	unsigned parked;      /* workers waiting for their turn */
	struct seat *seats;   /* every worker's seat */
	/* Reserve workers (pool.c): how many wait for a turn, the turns given them and
	 * not yet taken, where they wait; whether another reserve may be started and how
	 * (pool_set_growth). */
	unsigned reserves_waiting;
	unsigned reserve_turns;
	pthread_cond_t reserve_turn;
	bool can_grow;
	void (*grow)(void *arg);
	void *grow_arg;
	bool watcher_idle;    /* the watcher waits without a timeout */
	bool stopping;
	atomic_uint_least64_t taken; /* requests read so far (for the watcher) */
	atomic_uint window_us;       /* how long a reader polls before it sleeps now */
	atomic_uint max_window_us;   /* 0: never poll, every worker just reads */
	atomic_bool streaming;       /* the last request taken was part of a stream */
	pthread_t watcher;
	bool watcher_started;
};

/* A worker's place in the pool: its two descriptors of the connection. */
struct seat {
	int fd;      /* blocking reads */
	int poll_fd; /* O_NONBLOCK reads, a clone of the same connection; -1: none */
	bool reserve; /* a reserve worker: reads only when given a turn (pool.c) */
	/* For the watcher: the worker thread's CPU clock, its reading at the start of a
	 * tick, and the next seat of the pool. */
	clockid_t cpu_clock;
	uint64_t cpu_at;
	struct seat *next;
};

/* max_poll_us: the longest polling window; 0: never poll, every worker just reads. */
int pool_init(struct pool *p, unsigned max_poll_us);
/* Start the watcher (only when there is more than one worker, or may be). */
int pool_start_watcher(struct pool *p);
/* Let the watcher call grow(arg) when every worker waits in a callback and no reserve
 * worker is there to take a turn; grow then starts one (pool_add_worker) or not. */
void pool_set_growth(struct pool *p, void (*grow)(void *arg), void *arg);
/* The worker `thread` joins the pool in `seat` (seat->reserve set as it should be);
 * more: another reserve may be started after it. */
void pool_add_worker(struct pool *p, struct seat *seat, pthread_t thread, bool more);
/* Stop polling for good (the io_uring transport took over): every worker reads. */
void pool_stop_polling(struct pool *p);
/* Say whether the request just read is part of a stream (a large write, a
 * directory listing). While they come, nobody polls and every worker reads. */
void pool_note_request(struct pool *p, bool stream);
/* Wake every parked worker and the watcher, and wait for the watcher to end. */
void pool_stop(struct pool *p);
void pool_destroy(struct pool *p);

/*
 * Wait for this worker's turn, then for the next request, into buf, polling first
 * if may_poll and the pool polls at all. Called with cancellation disabled; only
 * the sleep in read(2) may be cancelled. Returns the
 * length and the descriptor it came from (the reply must go there), 0 when the
 * session ends (*exiting), or -1 with errno set.
 */
ssize_t pool_read(struct pool *p, const struct seat *seat, const atomic_bool *exiting,
		  bool may_poll, void *buf, size_t size, int *from);

#endif
