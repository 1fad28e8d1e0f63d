/* SPDX-License-Identifier: MIT */
/*
 * instance.h - running file system instances: starting one (mount, then the
 * process), noticing its end (unmount, record, maybe restart), and the state files
 * under the state directory that let a restarted umfsd find them again.
 */
#ifndef UMFS_LAUNCHER_INSTANCE_H
#define UMFS_LAUNCHER_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "access.h"
#include "priv.h"
#include "service.h"

enum inst_state {
	ST_RUNNING,
	ST_STOPPING,    /* SIGTERM sent, waiting for the end (then SIGKILL at the timeout) */
	ST_RESTARTING,  /* failed, waiting for the backoff to run out */
	ST_EXITED,      /* ended as asked, or cleanly */
	ST_FAILED,      /* ended on its own with an error, and stays down */
};

#define INST_MAX_WAITERS 32

/* A request whose reply waits: its connection (by id: it may close meanwhile). */
struct waiter {
	uint64_t conn;
	uint32_t request;
};

struct instance {
	struct service *svc;
	char name[PROTO_MAX_NAME + 1];
	enum inst_state state;
	pid_t pid;
	unsigned long long starttime;  /* /proc/PID/stat field 22, against pid reuse */
	int pidfd;                     /* adopted instances: readable at their end; else -1 */
	bool adopted;
	struct ident owner;            /* who started it (boot: the configured owner) */
	uid_t run_uid;
	gid_t run_gid;
	unsigned argc;
	char *argv[PROTO_MAX_ARGS];
	char *mountpoint;              /* resolved, NULL for a service without one */
	char *cgroup;                  /* its job's cgroup (cgroup.h), until removed; or NULL */
	struct mount_id mnt;
	bool mounted;
	time_t since;
	int64_t started_ms;
	unsigned restarts;             /* consecutive failed runs */
	int64_t restart_at_ms;
	int64_t stop_deadline_ms;
	bool stop_requested, killed, had_secret;
	bool starting;                 /* started, the file system not yet serving */
	struct waiter start_waiter;    /* the start request waiting for that */
	int64_t start_deadline_ms;
	char ended[160];               /* how the last run ended */
	unsigned nwaiters;
	struct waiter waiters[INST_MAX_WAITERS]; /* requests waiting for a stop to finish */
	struct instance *next;
};

struct daemon_config {
	const char *state_dir;
	const char *log_dir;
	const char *fusectl;    /* where FUSE connections are seen (priv_fusectl) */
};

extern struct daemon_config dcfg;

/* Monotonic milliseconds. */
int64_t now_ms(void);

/*
 * Start inst (fields svc, name, owner, argc/argv filled in): mount for it, run it.
 * cwd resolves a relative mount point. secret (may be NULL) goes to its stdin.
 * Returns 0 or -errno with err set.
 */
int instance_spawn(struct instance *inst, const char *cwd, const void *secret,
		   size_t secret_len, char *err, size_t errsize);

/* The process ended (wstatus from waitpid, or -1 when unknown: adopted). Kills what
 * is left of its job, unmounts, removes the state file, fills inst->ended. */
void instance_ended(struct instance *inst, int wstatus);

/* Send the stop signal; SIGKILL to the job at the deadline. */
void instance_signal(struct instance *inst, int sig);
/* SIGKILL to the whole job: its cgroup and its process group. */
void instance_kill_job(struct instance *inst);
/* Remove the cgroup of an ended instance; false while it still has processes. */
bool instance_release_cgroup(struct instance *inst);

void instance_free(struct instance *inst);

/* The state file: write (after start), remove (after the end). */
int state_write(const struct instance *inst);
void state_remove(const struct instance *inst);

/* Read every state file: callback per instance found (already filled, pidfd -1). */
void state_scan(struct service *services, void (*found)(struct instance *inst, bool alive));

const char *state_name(enum inst_state st);
/* Whether the instance's file system has answered the kernel's INIT and still runs:
 * -1 when that cannot be told (no fusectl at /sys/fs/fuse/connections), else 0 or 1. */
int instance_serving(const struct instance *inst);
unsigned long long proc_starttime(pid_t pid);
char *log_path(const struct instance *inst);

#endif
