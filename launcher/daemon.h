/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - what the parts of umfsd share: the instance table, client
 * connections, replies and the supervision steps.
 *
 *   umfsd.c      start-up, the poll loop, connections, signals
 *   requests.c   one handler per request type, and the replies
 *   supervise.c  what happens when an instance ends, stops, restarts, or is due
 */
#ifndef UMFS_LAUNCHER_DAEMON_H
#define UMFS_LAUNCHER_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "cgroup.h"
#include "instance.h"
#include "proto.h"
#include "service.h"

#define MAX_CONNS 512
#define RESTART_MAX 10          /* consecutive failures before giving up */
#define RESTART_BASE_MS 500
#define RESTART_CAP_MS 30000
#define STABLE_MS 60000         /* a run this long resets the failure count */
#define LOG_TAIL_DEFAULT 16384
#define LOG_TAIL_MAX (256 * 1024)
#define START_WAIT_MS 30000     /* a start's reply waits this long for the file system */
#define START_POLL_MS 10

struct conn {
	int fd;
	uint64_t id;
	struct ident who;
	unsigned char *buf;
	size_t have;
	bool waiting;   /* a reply waits (a stop, a start): nothing more is read meanwhile */
	bool closing;
	struct conn *next;
};

extern struct service *services;
extern struct instance *instances;
extern bool shutting_down;

/* Logging of decisions and events (syslog, or the journal). */
void dlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Replies (requests.c). */
struct conn *conn_by_id(uint64_t id);
void send_reply(struct conn *c, struct pbuf *b);
void reply_error(struct conn *c, uint32_t id, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void reply_ok(struct conn *c, uint32_t id, const char *msg);
/* One complete message; false when the connection must close. */
bool handle_message(struct conn *c, const unsigned char *msg, size_t len);
/* Answer the start of an instance that now serves (or took too long to). */
void started(struct instance *inst, bool serving);

/* The instance table and supervision (supervise.c). */
struct instance *find_instance(const char *svc, const char *name);
void unlink_instance(struct instance *inst);
bool active(const struct instance *i);
void on_end(struct instance *inst, int wstatus);
void begin_stop(struct instance *inst);
void reap(void);
int next_timeout(void);
void run_timers(void);

/* Connections (umfsd.c). */
extern struct conn *conns;

#endif
