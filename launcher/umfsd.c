/* SPDX-License-Identifier: MIT */
/*
 * umfsd - the umfs launcher service: starts, stops and supervises file system
 * instances for callers that a service file's allow list permits.
 *
 * One thread, one poll loop: the listening socket, client connections, a signalfd
 * (SIGCHLD, SIGTERM, SIGINT, SIGHUP) and a pidfd per adopted instance. Every request
 * gets one reply; a stop's reply waits until the instance is gone and unmounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

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
	bool waiting;   /* a stop is in progress for it: no further reading */
	bool closing;
	struct conn *next;
};

static struct service *services;
static struct instance *instances;
static struct conn *conns;
static unsigned nconns;
static uint64_t next_conn_id = 1;
static int listen_fd = -1, sig_fd = -1;
static bool shutting_down, own_socket;
static const char *socket_path = "/run/umfs/launcher.sock";
static const char *services_dir = "/etc/umfs/services.d";

static void dlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool log_journal; /* under systemd: stderr, with sd-daemon priority prefixes */

/* Decisions and events: syslog, or the journal through stderr under systemd (and
 * both syslog and stderr with --stderr, through openlog's LOG_PERROR). */
static void dlog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_journal) {
		fprintf(stderr, "<%d>", prio);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(prio, fmt, ap);
	}
	va_end(ap);
}

/* ---- replies ---- */

static struct conn *conn_by_id(uint64_t id)
{
	for (struct conn *c = conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void send_all(struct conn *c, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			c->closing = true; /* gone, or not reading within the send timeout */
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void send_reply(struct conn *c, struct pbuf *b)
{
	if (pbuf_end(b) < 0) {
		struct pbuf e;

		pbuf_init(&e, 4096);
		reply_begin(&e, 0, -EMSGSIZE, "reply too large", 0);
		if (pbuf_end(&e) == 0)
			send_all(c, e.data, e.len);
		pbuf_free(&e);
	} else {
		send_all(c, b->data, b->len);
	}
	pbuf_free(b);
}

static void reply_error(struct conn *c, uint32_t id, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void reply_error(struct conn *c, uint32_t id, int err, const char *fmt, ...)
{
	char msg[1024];
	struct pbuf b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pbuf_init(&b, PROTO_MAX_REPLY);
	reply_begin(&b, id, err, msg, 0);
	send_reply(c, &b);
}

static void reply_ok(struct conn *c, uint32_t id, const char *msg)
{
	struct pbuf b;

	pbuf_init(&b, PROTO_MAX_REPLY);
	reply_begin(&b, id, 0, msg, 0);
	send_reply(c, &b);
}

/* ---- instances ---- */

static struct instance *find_instance(const char *svc, const char *name)
{
	for (struct instance *i = instances; i; i = i->next)
		if (!strcmp(i->svc->name, svc) && !strcmp(i->name, name))
			return i;
	return NULL;
}

static void unlink_instance(struct instance *inst)
{
	for (struct instance **p = &instances; *p; p = &(*p)->next)
		if (*p == inst) {
			*p = inst->next;
			return;
		}
}

static bool active(const struct instance *i)
{
	return i->state == ST_RUNNING || i->state == ST_STOPPING || i->state == ST_RESTARTING;
}

/* Replies to everyone waiting for this instance's stop. */
static void answer_waiters(struct instance *inst)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "stopped %s/%s: %s", inst->svc->name, inst->name,
		 inst->ended[0] ? inst->ended : "was not running");
	for (unsigned i = 0; i < inst->nwaiters; i++) {
		struct waiter w = inst->waiters[i];
		struct conn *c = conn_by_id(w.conn);

		if (c) {
			reply_ok(c, w.request, msg);
			c->waiting = false;
		}
	}
	inst->nwaiters = 0;
}

static void try_restart(struct instance *inst);

/* An instance's process is gone (wstatus -1: unknown). */
static void on_end(struct instance *inst, int wstatus)
{
	bool failed = wstatus != -1 && !(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
	int64_t ran = now_ms() - inst->started_ms;

	instance_ended(inst, wstatus);
	dlog(failed && !inst->stop_requested ? LOG_WARNING : LOG_INFO, "%s/%s %s", inst->svc->name,
	     inst->name, inst->ended);
	if (inst->starting) {
		/* It never served: the start failed, and is not retried in a loop. */
		struct conn *c = conn_by_id(inst->start_waiter.conn);

		inst->starting = false;
		if (c) {
			reply_error(c, inst->start_waiter.request, -ECHILD,
				    "%s/%s %s before serving (see: umfsctl log %s %s)",
				    inst->svc->name, inst->name, inst->ended, inst->svc->name,
				    inst->name);
			c->waiting = false;
		}
		inst->state = inst->stop_requested ? ST_EXITED : ST_FAILED;
		answer_waiters(inst);
		return;
	}
	if (inst->stop_requested || shutting_down) {
		inst->state = ST_EXITED;
		answer_waiters(inst);
		return;
	}
	if (!failed) {
		inst->state = ST_EXITED;
		return;
	}
	if (ran >= STABLE_MS)
		inst->restarts = 0;
	/* A secret is never kept, so an instance that needed one cannot come back alone. */
	if (inst->svc->restart_on_failure && !inst->had_secret && inst->restarts < RESTART_MAX) {
		int64_t delay = (int64_t)RESTART_BASE_MS << (inst->restarts < 6 ? inst->restarts : 6);

		if (delay > RESTART_CAP_MS)
			delay = RESTART_CAP_MS;
		inst->state = ST_RESTARTING;
		inst->restart_at_ms = now_ms() + delay;
		dlog(LOG_INFO, "%s/%s: restarting in %lld ms (restart %u)", inst->svc->name,
		     inst->name, (long long)delay, inst->restarts + 1);
	} else {
		inst->state = ST_FAILED;
	}
}

static void try_restart(struct instance *inst)
{
	char err[512] = "";

	inst->restarts++;
	if (instance_spawn(inst, "/", NULL, 0, err, sizeof(err)) == 0) {
		dlog(LOG_INFO, "%s/%s restarted, pid %d", inst->svc->name, inst->name, (int)inst->pid);
		return;
	}
	dlog(LOG_ERR, "%s/%s: restart failed: %s", inst->svc->name, inst->name, err);
	snprintf(inst->ended, sizeof(inst->ended), "restart failed: %.140s", err);
	inst->state = ST_FAILED;
}

static void begin_stop(struct instance *inst)
{
	inst->stop_requested = true;
	if (inst->state == ST_RUNNING) {
		inst->state = ST_STOPPING;
		inst->stop_deadline_ms = now_ms() + inst->svc->stop_timeout_ms;
		instance_signal(inst, SIGTERM);
	}
}

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (struct instance *i = instances; i; i = i->next)
			if (i->pid == pid && !i->adopted && (i->state == ST_RUNNING ||
							     i->state == ST_STOPPING)) {
				on_end(i, status);
				break;
			}
	}
}

/* ---- requests ---- */

static bool may(const struct instance *inst, const struct ident *who, unsigned right)
{
	return who->uid == 0 || inst->owner.uid == who->uid ||
	       (service_rights(inst->svc, who) & right);
}

static void handle_start(struct conn *c, const struct request *r)
{
	struct service *s = service_find(services, r->service);
	struct instance *inst;
	char err[768] = "", msg[768];
	int rc;

	if (!s) {
		reply_error(c, r->id, -ENOENT, "no service '%s'", r->service);
		return;
	}
	if (!(service_rights(s, &c->who) & RIGHT_START)) {
		dlog(LOG_NOTICE, "refused: %s (uid %u) start %s/%s: no start right", c->who.name,
		     (unsigned)c->who.uid, s->name, r->instance);
		reply_error(c, r->id, -EACCES, "you may not start service %s", s->name);
		return;
	}
	if (shutting_down) {
		reply_error(c, r->id, -ESHUTDOWN, "umfsd is shutting down");
		return;
	}
	inst = find_instance(s->name, r->instance);
	if (inst && active(inst)) {
		reply_error(c, r->id, -EEXIST, "%s/%s is already %s", s->name, r->instance,
			    state_name(inst->state));
		return;
	}
	if (check_args(s, r->argc, (char *const *)r->argv, err, sizeof(err)) < 0) {
		dlog(LOG_NOTICE, "refused: %s (uid %u) start %s/%s: %s", c->who.name,
		     (unsigned)c->who.uid, s->name, r->instance, err);
		reply_error(c, r->id, -EINVAL, "%s", err);
		return;
	}
	if (inst) {
		unlink_instance(inst);
		instance_free(inst);
	}
	inst = calloc(1, sizeof(*inst));
	if (!inst) {
		reply_error(c, r->id, -ENOMEM, "out of memory");
		return;
	}
	inst->svc = s;
	inst->pidfd = -1;
	snprintf(inst->name, sizeof(inst->name), "%s", r->instance);
	inst->owner = c->who;
	for (unsigned i = 0; i < r->argc; i++) {
		inst->argv[i] = strdup(r->argv[i]);
		if (!inst->argv[i]) {
			instance_free(inst);
			reply_error(c, r->id, -ENOMEM, "out of memory");
			return;
		}
		inst->argc = i + 1;
	}
	rc = instance_spawn(inst, r->cwd, (r->flags & START_SECRET) ? r->secret : NULL,
			    r->secret_len, err, sizeof(err));
	if (rc < 0) {
		dlog(LOG_NOTICE, "refused: %s (uid %u) start %s/%s: %s", c->who.name,
		     (unsigned)c->who.uid, s->name, inst->name, err);
		reply_error(c, r->id, rc, "%s", err);
		instance_free(inst);
		return;
	}
	inst->next = instances;
	instances = inst;
	dlog(LOG_INFO, "%s (uid %u) started %s/%s: pid %d%s%s", c->who.name, (unsigned)c->who.uid,
	     s->name, inst->name, (int)inst->pid, inst->mountpoint ? " on " : "",
	     inst->mountpoint ? inst->mountpoint : "");
	/* The reply waits until the file system serves (or ends), where that can be told. */
	if (instance_serving(inst) == 0) {
		inst->starting = true;
		inst->start_waiter = (struct waiter){ c->id, r->id };
		inst->start_deadline_ms = now_ms() + START_WAIT_MS;
		c->waiting = true;
		return;
	}
	snprintf(msg, sizeof(msg), "started %s/%s, pid %d%s%.400s", s->name, inst->name,
		 (int)inst->pid, inst->mountpoint ? ", on " : "",
		 inst->mountpoint ? inst->mountpoint : "");
	reply_ok(c, r->id, msg);
}

/* A starting instance serves now, or has taken too long to: answer its start. */
static void started(struct instance *inst, bool serving)
{
	struct conn *c = conn_by_id(inst->start_waiter.conn);
	char msg[768];

	inst->starting = false;
	snprintf(msg, sizeof(msg), "started %s/%s, pid %d, on %.400s%s", inst->svc->name,
		 inst->name, (int)inst->pid, inst->mountpoint,
		 serving ? "" : " (not serving yet)");
	if (c) {
		reply_ok(c, inst->start_waiter.request, msg);
		c->waiting = false;
	}
}

/* Look the instance up and check a right; replies and returns NULL when refused. */
static struct instance *lookup_for(struct conn *c, const struct request *r, unsigned right,
				   const char *what)
{
	struct instance *inst = find_instance(r->service, r->instance);

	if (!inst || !may(inst, &c->who, right)) {
		/* Not allowed to see it is reported as not there: no probing of names. */
		if (inst)
			dlog(LOG_NOTICE, "refused: %s (uid %u) %s %s/%s: no %s right", c->who.name,
			     (unsigned)c->who.uid, what, r->service, r->instance, what);
		if (inst && may(inst, &c->who, RIGHT_INFO))
			reply_error(c, r->id, -EACCES, "you may not %s %s/%s", what, r->service,
				    r->instance);
		else
			reply_error(c, r->id, -ENOENT, "no instance %s/%s", r->service, r->instance);
		return NULL;
	}
	return inst;
}

static void handle_stop(struct conn *c, const struct request *r)
{
	struct instance *inst = lookup_for(c, r, RIGHT_STOP, "stop");

	if (!inst)
		return;
	dlog(LOG_INFO, "%s (uid %u) stop %s/%s", c->who.name, (unsigned)c->who.uid,
	     inst->svc->name, inst->name);
	if (inst->state == ST_RESTARTING) {
		inst->state = ST_EXITED;
		inst->stop_requested = true;
		reply_ok(c, r->id, "stopped: it was waiting to restart");
		return;
	}
	if (!active(inst)) {
		reply_error(c, r->id, -ESRCH, "%s/%s is not running (it %s)", inst->svc->name,
			    inst->name, inst->ended[0] ? inst->ended : "ended");
		return;
	}
	if (inst->nwaiters == INST_MAX_WAITERS) {
		reply_error(c, r->id, -EBUSY, "too many stops waiting on %s/%s", inst->svc->name,
			    inst->name);
		return;
	}
	inst->waiters[inst->nwaiters++] = (struct waiter){ c->id, r->id };
	c->waiting = true;
	begin_stop(inst);
}

static void fmt_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_record(struct pbuf *b, const struct instance *i)
{
	char pid[32], since[64], restarts[32], run[64];

	snprintf(pid, sizeof(pid), "%d", (int)i->pid);
	fmt_time(i->since, since, sizeof(since));
	snprintf(restarts, sizeof(restarts), "%u", i->restarts);
	uid_name(i->run_uid, run, sizeof(run));
	reply_record(b, 11);
	reply_field(b, "service", i->svc->name);
	reply_field(b, "instance", i->name);
	reply_field(b, "state", i->starting ? "starting" : state_name(i->state));
	reply_field(b, "pid", i->pid > 0 ? pid : "-");
	reply_field(b, "mountpoint", i->mountpoint ? i->mountpoint : "-");
	reply_field(b, "owner", i->owner.name);
	reply_field(b, "run-as", run);
	reply_field(b, "since", since);
	reply_field(b, "restarts", restarts);
	reply_field(b, "ended", i->ended[0] ? i->ended : "-");
	reply_field(b, "job", i->cgroup ? i->cgroup : i->pid > 0 ? "process group" : "-");
}

static void handle_info(struct conn *c, const struct request *r)
{
	struct instance *inst = lookup_for(c, r, RIGHT_INFO, "info");
	struct pbuf b;

	if (!inst)
		return;
	pbuf_init(&b, PROTO_MAX_REPLY);
	reply_begin(&b, r->id, 0, "", 1);
	add_record(&b, inst);
	send_reply(c, &b);
}

static void handle_list(struct conn *c, const struct request *r)
{
	unsigned n = 0;
	struct pbuf b;

	for (struct instance *i = instances; i; i = i->next)
		n += may(i, &c->who, RIGHT_INFO);
	pbuf_init(&b, PROTO_MAX_REPLY);
	reply_begin(&b, r->id, 0, "", n);
	for (struct instance *i = instances; i; i = i->next)
		if (may(i, &c->who, RIGHT_INFO))
			add_record(&b, i);
	send_reply(c, &b);
}

static void handle_log(struct conn *c, const struct request *r)
{
	struct instance *inst = lookup_for(c, r, RIGHT_INFO, "info");
	uint32_t max = r->max_bytes ? r->max_bytes : LOG_TAIL_DEFAULT;
	char *path, *text;
	struct stat st;
	struct pbuf b;
	ssize_t n = 0;
	int fd;

	if (!inst)
		return;
	if (max > LOG_TAIL_MAX)
		max = LOG_TAIL_MAX;
	path = log_path(inst);
	fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	free(path);
	if (fd < 0) {
		reply_error(c, r->id, -ENOENT, "%s/%s has no log", inst->svc->name, inst->name);
		return;
	}
	text = malloc(max + 1);
	if (text && fstat(fd, &st) == 0) {
		off_t from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;

		n = pread(fd, text, max, from);
	}
	close(fd);
	if (!text || n < 0) {
		free(text);
		reply_error(c, r->id, -EIO, "cannot read the log of %s/%s", inst->svc->name,
			    inst->name);
		return;
	}
	for (ssize_t k = 0; k < n; k++) /* values are text */
		if (text[k] == '\0')
			text[k] = ' ';
	text[n] = '\0';
	pbuf_init(&b, PROTO_MAX_REPLY);
	reply_begin(&b, r->id, 0, "", 1);
	reply_record(&b, 1);
	reply_field(&b, "log", text);
	free(text);
	send_reply(c, &b);
}

static const char *decode_error(int rc)
{
	switch (rc) {
	case -EPROTONOSUPPORT: return "unsupported protocol version (this umfsd speaks 1)";
	case -EBADMSG: return "unknown request type";
	case -EINVAL: return "bad value in request (a name may use A-Z a-z 0-9 _ . : + -)";
	case -ENAMETOOLONG: return "a string in the request is too long";
	case -E2BIG: return "too many arguments";
	default: return "malformed request";
	}
}

/* One complete message in c->buf. Returns false when the connection must close. */
static bool handle_message(struct conn *c, const unsigned char *msg, size_t len)
{
	struct request r;
	int rc = proto_decode_request(msg, len, &r);

	if (rc < 0) {
		dlog(LOG_NOTICE, "%s (uid %u, pid %d): %s: closing the connection", c->who.name,
		     (unsigned)c->who.uid, (int)c->who.pid, decode_error(rc));
		reply_error(c, r.id, rc, "%s", decode_error(rc));
		return false;
	}
	switch (r.type) {
	case REQ_START: handle_start(c, &r); break;
	case REQ_STOP: handle_stop(c, &r); break;
	case REQ_INFO: handle_info(c, &r); break;
	case REQ_LIST: handle_list(c, &r); break;
	case REQ_LOG: handle_log(c, &r); break;
	}
	/* The secret was copied into a pipe; do not leave it in our buffer. */
	if (r.secret_len)
		explicit_bzero((void *)r.secret, r.secret_len);
	return true;
}

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
	for (struct conn **p = &conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	close(c->fd);
	explicit_bzero(c->buf, c->have);
	free(c->buf);
	free(c);
	nconns--;
}

static void accept_one(void)
{
	struct timeval tv = { .tv_sec = 2 };
	struct conn *c;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (nconns >= MAX_CONNS) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->buf = malloc(PROTO_MAX_MESSAGE + 4);
	if (!c || !c->buf || ident_from_socket(fd, &c->who) < 0) {
		if (c)
			free(c->buf);
		free(c);
		close(fd);
		return;
	}
	/* Replies are written whole: a client that does not read gets dropped. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->fd = fd;
	c->id = next_conn_id++;
	c->next = conns;
	conns = c;
	nconns++;
}

static void conn_process(struct conn *c);

static void conn_read(struct conn *c)
{
	ssize_t n = recv(c->fd, c->buf + c->have, PROTO_MAX_MESSAGE + 4 - c->have, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->closing = true;
		return;
	}
	c->have += (size_t)n;
	conn_process(c);
}

/* Serve the complete requests buffered, one at a time: a request whose reply waits
 * (a stop, a start) holds the ones behind it until it is answered. */
static void conn_process(struct conn *c)
{
	while (!c->closing && !c->waiting && c->have >= 4) {
		uint32_t len = proto_get_length(c->buf);

		if (len > PROTO_MAX_MESSAGE || len < PROTO_HEADER) {
			dlog(LOG_NOTICE, "%s (uid %u): request of %u bytes refused: closing",
			     c->who.name, (unsigned)c->who.uid, len);
			reply_error(c, 0, len > PROTO_MAX_MESSAGE ? -EMSGSIZE : -EPROTO,
				    len > PROTO_MAX_MESSAGE ? "request too large" : "request too short");
			c->closing = true;
			return;
		}
		if (c->have < 4 + (size_t)len)
			return;
		if (!handle_message(c, c->buf + 4, len)) {
			c->closing = true;
			return;
		}
		explicit_bzero(c->buf, 4 + len);
		memmove(c->buf, c->buf + 4 + len, c->have - 4 - len);
		c->have -= 4 + len;
	}
}

/* ---- start-up ---- */

static void report_service_error(const char *msg)
{
	dlog(LOG_ERR, "%s", msg);
}

static void adopt(struct instance *inst, bool alive)
{
	if (alive) {
		inst->pidfd = (int)syscall(SYS_pidfd_open, inst->pid, 0);
		if (inst->pidfd >= 0) {
			inst->adopted = true;
			inst->state = ST_RUNNING;
			inst->started_ms = now_ms();
			inst->next = instances;
			instances = inst;
			dlog(LOG_INFO, "adopted %s/%s, pid %d", inst->svc->name, inst->name,
			     (int)inst->pid);
			return;
		}
	}
	/* Dead (or gone in between): clean up after it. */
	instance_ended(inst, -1);
	snprintf(inst->ended, sizeof(inst->ended), "ended while umfsd was not running");
	inst->state = ST_EXITED;
	inst->next = instances;
	instances = inst;
	dlog(LOG_INFO, "%s/%s ended while umfsd was not running: cleaned up", inst->svc->name,
	     inst->name);
}

static void start_boot_instances(void)
{
	for (struct service *s = services; s; s = s->next) {
		for (unsigned b = 0; b < s->nboot; b++) {
			struct boot_instance *bi = &s->boot[b];
			struct instance *inst = find_instance(s->name, bi->name);
			char err[768] = "";

			if (inst && active(inst))
				continue;
			if (inst) {
				unlink_instance(inst);
				instance_free(inst);
			}
			inst = calloc(1, sizeof(*inst));
			if (!inst)
				return;
			inst->svc = s;
			inst->pidfd = -1;
			snprintf(inst->name, sizeof(inst->name), "%s", bi->name);
			if (ident_from_uid(bi->owner, &inst->owner) < 0) {
				free(inst);
				continue;
			}
			for (unsigned i = 0; i < bi->argc; i++)
				if ((inst->argv[i] = strdup(bi->argv[i])))
					inst->argc = i + 1;
			/* Boot instances pass the same checks as a request from their owner. */
			if (check_args(s, inst->argc, inst->argv, err, sizeof(err)) < 0 ||
			    instance_spawn(inst, "/", NULL, 0, err, sizeof(err)) < 0) {
				dlog(LOG_ERR, "boot instance %s/%s: %s", s->name, bi->name, err);
				snprintf(inst->ended, sizeof(inst->ended), "boot start failed: %.130s", err);
				inst->state = ST_FAILED;
			} else {
				dlog(LOG_INFO, "boot instance %s/%s started, pid %d", s->name, bi->name,
				     (int)inst->pid);
			}
			inst->next = instances;
			instances = inst;
		}
	}
}

static int make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int listen_socket(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *lp = getenv("LISTEN_PID"), *lf = getenv("LISTEN_FDS");
	int fd;

	/* systemd socket activation: our socket is descriptor 3. */
	if (lp && lf && atoi(lp) == (int)getpid() && atoi(lf) >= 1) {
		fcntl(3, F_SETFD, FD_CLOEXEC);
		fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		return 3;
	}
	if (strlen(socket_path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "umfsd: socket path too long: %s\n", socket_path);
		return -1;
	}
	strcpy(a.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlink(socket_path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(socket_path, 0666) < 0 ||
	    listen(fd, 128) < 0) {
		fprintf(stderr, "umfsd: %s: %s\n", socket_path, strerror(errno));
		close(fd);
		return -1;
	}
	own_socket = true;
	return fd;
}

/* ---- the loop ---- */

static int next_timeout(void)
{
	int64_t now = now_ms(), t = -1;

	for (struct instance *i = instances; i; i = i->next) {
		int64_t at = i->state == ST_STOPPING && !i->killed ? i->stop_deadline_ms :
			     i->state == ST_RESTARTING ? i->restart_at_ms : -1;

		if (i->starting || (i->cgroup && !active(i)) ||
		    (i->cgroup && i->state == ST_RESTARTING))
			at = now + START_POLL_MS;

		if (at >= 0 && (t < 0 || at < t))
			t = at;
	}
	if (t < 0)
		return -1;
	return t <= now ? 0 : (int)(t - now > 60000 ? 60000 : t - now);
}

static void run_timers(void)
{
	int64_t now = now_ms();

	for (struct instance *i = instances; i; i = i->next) {
		if (i->starting && i->state == ST_RUNNING) {
			int serving = instance_serving(i);

			if (serving != 0 || now >= i->start_deadline_ms)
				started(i, serving != 0);
		}
		if (i->state == ST_STOPPING && !i->killed && now >= i->stop_deadline_ms) {
			dlog(LOG_WARNING, "%s/%s did not stop within %u ms: killing it", i->svc->name,
			     i->name, i->svc->stop_timeout_ms);
			i->killed = true;
			/* The job goes whatever job-control says: a stop must end. */
			instance_kill_job(i);
			instance_signal(i, SIGKILL);
		} else if (i->state == ST_RESTARTING && now >= i->restart_at_ms) {
			try_restart(i);
		}
		/* An ended run's cgroup goes once its last process has left it. */
		if (i->cgroup && (i->state == ST_EXITED || i->state == ST_FAILED ||
				  i->state == ST_RESTARTING) && !instance_release_cgroup(i))
			dlog(LOG_DEBUG, "%s/%s: its cgroup is not empty yet", i->svc->name, i->name);
	}
}

static void on_signal(void)
{
	struct signalfd_siginfo si;

	while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap();
		} else if (si.ssi_signo == SIGHUP) {
			dlog(LOG_NOTICE, "SIGHUP: service files are read at start; restart umfsd to "
			     "reload them (running instances are adopted)");
		} else if (!shutting_down) {
			dlog(LOG_NOTICE, "%s: stopping every instance", strsignal((int)si.ssi_signo));
			shutting_down = true;
			for (struct instance *i = instances; i; i = i->next) {
				if (i->state == ST_RESTARTING)
					i->state = ST_EXITED;
				else if (i->state == ST_RUNNING)
					begin_stop(i);
			}
		}
	}
	reap();
}

static bool any_running(void)
{
	for (struct instance *i = instances; i; i = i->next)
		if (i->state == ST_RUNNING || i->state == ST_STOPPING)
			return true;
	return false;
}

static void loop(void)
{
	struct pollfd *p = calloc(MAX_CONNS + 1024, sizeof(*p));
	struct conn **pc = calloc(MAX_CONNS + 1024, sizeof(*pc));
	struct instance **pi = calloc(MAX_CONNS + 1024, sizeof(*pi));

	if (!p || !pc || !pi) {
		dlog(LOG_ERR, "out of memory");
		exit(1);
	}
	while (!(shutting_down && !any_running())) {
		unsigned n = 0;
		int rc;

		p[n] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		pc[n] = NULL, pi[n++] = NULL;
		if (!shutting_down) {
			p[n] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
			pc[n] = NULL, pi[n++] = NULL;
		}
		for (struct conn *c = conns; c && n < MAX_CONNS + 512; c = c->next) {
			p[n] = (struct pollfd){ .fd = c->fd, .events = c->waiting ? 0 : POLLIN };
			pc[n] = c, pi[n++] = NULL;
		}
		for (struct instance *i = instances; i && n < MAX_CONNS + 1000; i = i->next)
			if (i->pidfd >= 0 && (i->state == ST_RUNNING || i->state == ST_STOPPING)) {
				p[n] = (struct pollfd){ .fd = i->pidfd, .events = POLLIN };
				pc[n] = NULL, pi[n++] = i;
			}
		rc = poll(p, n, next_timeout());
		if (rc < 0 && errno != EINTR) {
			dlog(LOG_ERR, "poll: %m");
			break;
		}
		for (unsigned k = 0; rc > 0 && k < n; k++) {
			if (!p[k].revents)
				continue;
			if (p[k].fd == sig_fd && !pc[k] && !pi[k])
				on_signal();
			else if (p[k].fd == listen_fd && !pc[k] && !pi[k])
				accept_one();
			else if (pi[k])
				on_end(pi[k], -1);
			else if (pc[k] && (p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				pc[k]->waiting ? (void)(pc[k]->closing = true) : conn_read(pc[k]);
		}
		run_timers();
		for (struct conn *c = conns, *next; c; c = next) {
			next = c->next;
			if (!c->closing && !c->waiting && c->have >= 4)
				conn_process(c); /* what came in behind an answered wait */
			if (c->closing)
				conn_close(c);
		}
	}
	free(p);
	free(pc);
	free(pi);
}

static const char usage_text[] =
	"Usage: umfsd [options]\n"
	"\n"
	"The umfs launcher service: starts, stops and supervises file system instances\n"
	"described by service files, for the callers their allow lists name.\n"
	"\n"
	"  -s, --socket PATH      control socket (default /run/umfs/launcher.sock)\n"
	"  -c, --services DIR     service files (default /etc/umfs/services.d)\n"
	"  -S, --state-dir DIR    state of running instances (default /run/umfs)\n"
	"  -l, --log-dir DIR      instance logs (default /var/log/umfs)\n"
	"  -e, --stderr           also log to stderr (under systemd: stderr only anyway)\n"
	"  -h, --help             this help\n"
	"  -V, --version          the version\n"
	"\n"
	"umfsd stays in the foreground; SIGTERM or SIGINT stops every instance, then umfsd.\n"
	"Exit status: 0 after a clean stop, 1 failure, 2 usage.\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "services", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "log-dir", required_argument, NULL, 'l' },
		{ "stderr", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char inst_dir[PATH_MAX];
	int opt, log_opts = LOG_PID, nerr, lock_fd;
	sigset_t mask;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "s:c:S:l:ehV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': socket_path = optarg; break;
		case 'c': services_dir = optarg; break;
		case 'S': dcfg.state_dir = optarg; break;
		case 'l': dcfg.log_dir = optarg; break;
		case 'e': log_opts |= LOG_PERROR; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("umfsd %s, protocol %d\n", UMFS_VERSION, PROTO_VERSION); return 0;
		default:
			fprintf(stderr, "umfsd: unknown option or missing value '%s' (see umfsd --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "umfsd: unexpected argument '%s' (see umfsd --help)\n", argv[optind]);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "umfsd: must run as root (it mounts for its instances)\n");
		return 1;
	}
	log_journal = getenv("JOURNAL_STREAM") != NULL && !(log_opts & LOG_PERROR);
	openlog("umfsd", log_opts, LOG_DAEMON);
	umask(022);
	snprintf(inst_dir, sizeof(inst_dir), "%s/instances", dcfg.state_dir);
	if (make_dir(dcfg.state_dir, 0755) < 0 || make_dir(inst_dir, 0700) < 0 ||
	    make_dir(dcfg.log_dir, 0750) < 0) {
		fprintf(stderr, "umfsd: cannot create %s, %s or %s: %s\n", dcfg.state_dir, inst_dir,
			dcfg.log_dir, strerror(errno));
		return 1;
	}
	/* One umfsd per state directory: a second one would steal the socket and
	 * "clean up" instances the first still supervises. */
	snprintf(inst_dir, sizeof(inst_dir), "%s/umfsd.lock", dcfg.state_dir);
	lock_fd = open(inst_dir, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "umfsd: %s: %s\n", inst_dir, errno == EWOULDBLOCK ?
			"another umfsd is running with this state directory" : strerror(errno));
		return 1;
	}
	services = services_load(services_dir, report_service_error, &nerr);
	if (!services && errno) {
		fprintf(stderr, "umfsd: %s: %s\n", services_dir, strerror(errno));
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	listen_fd = listen_socket();
	if (sig_fd < 0 || listen_fd < 0)
		return 1;
	{
		unsigned ns = 0;

		for (struct service *s = services; s; s = s->next)
			ns++;
		dlog(LOG_INFO, "listening on %s; %u service%s loaded from %s, %d with errors",
		     own_socket ? socket_path : "the socket systemd passed", ns, ns == 1 ? "" : "s",
		     services_dir, nerr);
	}
	if (!cgroup_init())
		dlog(LOG_INFO, "no writable cgroup v2 hierarchy: an instance's job is its process "
		     "group");
	state_scan(services, adopt);
	start_boot_instances();
	loop();
	if (listen_fd >= 0)
		close(listen_fd);
	if (own_socket)
		unlink(socket_path);
	while (conns)
		conn_close(conns);
	while (instances) {
		struct instance *i = instances;

		instances = i->next;
		instance_free(i);
	}
	services_free(services);
	dlog(LOG_INFO, "stopped");
	return 0;
}
