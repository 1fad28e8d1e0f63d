/* SPDX-License-Identifier: MIT */
/*
 * supervise.c - the instance table over time: an end (reaped, or seen through an
 * adopted instance's pidfd) is cleaned up, recorded, answered to those waiting, and
 * maybe restarted with backoff; stops escalate to SIGKILL at their deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon.h"

static void try_restart(struct instance *inst);

struct instance *find_instance(const char *svc, const char *name)
{
	for (struct instance *i = instances; i; i = i->next)
		if (!strcmp(i->svc->name, svc) && !strcmp(i->name, name))
			return i;
	return NULL;
}

void unlink_instance(struct instance *inst)
{
	for (struct instance **p = &instances; *p; p = &(*p)->next)
		if (*p == inst) {
			*p = inst->next;
			return;
		}
}

bool active(const struct instance *i)
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

/* An instance's process is gone (wstatus -1: unknown). */
void on_end(struct instance *inst, int wstatus)
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

void begin_stop(struct instance *inst)
{
	inst->stop_requested = true;
	if (inst->state == ST_RUNNING) {
		inst->state = ST_STOPPING;
		inst->stop_deadline_ms = now_ms() + inst->svc->stop_timeout_ms;
		instance_signal(inst, SIGTERM);
	}
}

void reap(void)
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

int next_timeout(void)
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

void run_timers(void)
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

