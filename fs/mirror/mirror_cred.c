/* SPDX-License-Identifier: MIT */
/*
 * mirror_cred.c - impersonation: each operation runs with the caller's fsuid, fsgid
 * and supplementary groups, so the source enforces its own permissions and new files
 * belong to the caller.
 *
 * Only per-thread credential calls are used: the raw SYS_setfsuid, SYS_setfsgid and
 * SYS_setgroups syscalls. glibc's setgroups() (like setuid()) changes every thread of
 * the process, which would leak one caller's groups into other workers' operations.
 * The fsuid switch also drops the file capabilities (CAP_DAC_OVERRIDE, CAP_CHOWN,
 * CAP_FOWNER, ...) from this thread, and switching back to 0 gives them back.
 *
 * Cost: a system call costs about 2 microseconds on the machines this is measured on,
 * so an impersonated operation takes three to switch and three to switch back, and
 * reads the caller's groups from /proc only when this thread has not read them for the
 * same process and identity within the last second (see groups_of).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mirror_int.h"

#define MAX_GROUPS 256
#define GROUPS_FRESH_NS 1000000000LL /* how long a thread reuses groups it read */

/* The groups this thread read last, and for whom. */
struct groups_cache {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	long long read_ns; /* 0: nothing cached */
	int n;
	gid_t groups[MAX_GROUPS];
};
static __thread struct groups_cache cached;

static long long coarse_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* vDSO: no system call */
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* setfsuid/setfsgid cannot report failure directly: a second call with -1 (invalid,
 * changes nothing) reads back what is in effect. */
static bool fsuid_works(uid_t uid)
{
	syscall(SYS_setfsuid, uid);
	return (uid_t)syscall(SYS_setfsuid, (uid_t)-1) == uid;
}

static bool fsgid_works(gid_t gid)
{
	syscall(SYS_setfsgid, gid);
	return (gid_t)syscall(SYS_setfsgid, (gid_t)-1) == gid;
}

int mcred_init(struct mirror *m)
{
	int n = getgroups(0, NULL);
	if (n < 0)
		return -errno;
	m->own_groups = calloc((size_t)n + 1, sizeof(gid_t));
	if (!m->own_groups)
		return -ENOMEM;
	n = getgroups(n, m->own_groups);
	if (n < 0)
		return -errno;
	m->n_own_groups = n;
	m->own_uid = geteuid();
	m->own_gid = getegid();
	if (!m->impersonate)
		return 0;
	/* Switching is checked once, here, not on every operation: a process that may
	 * set its fsuid and fsgid at all may set them to any value. Without that right
	 * every operation would run with this process's rights instead of the
	 * caller's, so refuse to start. */
	bool ok = fsgid_works(65534) && fsuid_works(65534);
	bool back = fsuid_works(m->own_uid) && fsgid_works(m->own_gid);
	if (!back)
		abort(); /* cannot happen: the rights to switch are the rights to switch back */
	if (!ok) {
		umfs_log(UMFS_LOG_ERR, "mirror: cannot act as other users (needs CAP_SETUID "
			 "and CAP_SETGID); --no-impersonate acts as this process");
		return -EPERM;
	}
	return 0;
}

/* The caller's supplementary groups: what this thread read last when it is the same
 * process (pid), with the same uid and gid, read less than a second ago; else read
 * from /proc. A process that changes its own groups (setgroups needs CAP_SETGID) may
 * be served with its old ones for up to that second, as the kernel's caches may serve
 * old attributes for the attribute timeout. */
static int groups_of(umfs_req *req, const struct umfs_caller *c, const gid_t **out)
{
	long long now = coarse_now_ns();
	int n;

	if (cached.read_ns && cached.pid == c->pid && cached.uid == c->uid &&
	    cached.gid == c->gid && now - cached.read_ns < GROUPS_FRESH_NS) {
		*out = cached.groups;
		return cached.n;
	}
	cached.read_ns = 0;
	n = umfs_req_groups(req, cached.groups, MAX_GROUPS);
	if (n < 0) {
		/* The caller is gone or its groups are unreadable: its primary group only,
		 * never more rights than it had. Not cached. */
		cached.groups[0] = c->gid;
		*out = cached.groups;
		return 1;
	}
	cached.pid = c->pid;
	cached.uid = c->uid;
	cached.gid = c->gid;
	cached.n = n;
	cached.read_ns = now;
	*out = cached.groups;
	return n;
}

int mcred_become(umfs_req *req, struct mcred_saved *s)
{
	struct mirror *m = MIR(req);
	const struct umfs_caller *c = umfs_req_caller(req);
	const gid_t *groups;
	int n;

	s->switched = false;
	if (!m->impersonate || (c->uid == 0 && c->gid == 0))
		return 0;
	n = groups_of(req, c, &groups);
	/* Groups and gid first: after the fsuid switch nothing more may be changed
	 * with root's file rights. The fsuid/fsgid switches cannot fail (mcred_init). */
	if (syscall(SYS_setgroups, (size_t)n, groups) < 0)
		return -errno;
	s->switched = true;
	syscall(SYS_setfsgid, c->gid);
	syscall(SYS_setfsuid, c->uid);
	return 0;
}

void mcred_restore(umfs_req *req, struct mcred_saved *s)
{
	struct mirror *m = MIR(req);

	if (!s->switched)
		return;
	syscall(SYS_setfsuid, m->own_uid);
	syscall(SYS_setfsgid, m->own_gid);
	syscall(SYS_setgroups, (size_t)m->n_own_groups, m->own_groups);
	s->switched = false;
}
