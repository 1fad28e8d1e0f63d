/* SPDX-License-Identifier: MIT */
/*
 * requests.c - umfsd's requests: one handler per type, each checking the caller's
 * right first, and the replies (exactly one per request; a stop's and a start's may
 * come later, from supervise.c, when the instance has ended or serves).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

/* ---- replies ---- */

struct conn *conn_by_id(uint64_t id)
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

void send_reply(struct conn *c, struct pbuf *b)
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

void reply_error(struct conn *c, uint32_t id, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void reply_error(struct conn *c, uint32_t id, int err, const char *fmt, ...)
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

void reply_ok(struct conn *c, uint32_t id, const char *msg)
{
	struct pbuf b;

	pbuf_init(&b, PROTO_MAX_REPLY);
	reply_begin(&b, id, 0, msg, 0);
	send_reply(c, &b);
}


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
void started(struct instance *inst, bool serving)
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
bool handle_message(struct conn *c, const unsigned char *msg, size_t len)
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

