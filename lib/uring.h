/* SPDX-License-Identifier: MIT */
/*
 * uring.h - the FUSE-over-io_uring transport (see uring.c). Private to the library.
 */
#ifndef UMFS_URING_H
#define UMFS_URING_H

#include <stdbool.h>
#include <stddef.h>

#include "umfs/umfs.h"

struct uring_pool;
struct uring_ent;

/* Whether this build has the transport (liburing was found at build time). */
bool uring_built(void);

/*
 * Start serving through io_uring, after INIT was answered with FUSE_OVER_IO_URING:
 * one thread per ring, rings spread over the kernel's queues (one queue per possible
 * CPU). Waits until every ring has registered its entries. Returns 0, or a negative
 * errno (logged by the caller) with nothing left running: requests then keep coming
 * through /dev/fuse.
 */
int uring_start(umfs_session *s);
/* Stop the threads and close the rings (the session is ending). Entries whose
 * deferred replies are still to come are freed when the last of them completes. */
void uring_stop(umfs_session *s);

/* Send the reply that reply_send() built in req->out_buf (header + len bytes). */
int uring_reply(umfs_req *req, size_t len);
/* A request of an entry was deferred / its deferred reply was made. */
void uring_hold(struct uring_ent *e);
void uring_release(struct uring_ent *e);

#endif
