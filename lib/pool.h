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
};

/* max_poll_us: the longest polling window; 0: never poll, every worker just reads. */
int pool_init(struct pool *p, unsigned max_poll_us);
/* Start the watcher (only when there is more than one worker). */
int pool_start_watcher(struct pool *p);
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
