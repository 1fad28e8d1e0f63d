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
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mirror_int.h"

#define MAX_GROUPS 256

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
	return 0;
}

static void set_groups(int n, const gid_t *g)
{
	syscall(SYS_setgroups, (size_t)n, g);
}

/* setfsuid/setfsgid return the previous id and cannot report failure directly: a
 * second call with -1 (invalid, changes nothing) reads back what is in effect. */
static bool set_fsuid(uid_t uid)
{
	syscall(SYS_setfsuid, uid);
	return (uid_t)syscall(SYS_setfsuid, (uid_t)-1) == uid;
}

static bool set_fsgid(gid_t gid)
{
	syscall(SYS_setfsgid, gid);
	return (gid_t)syscall(SYS_setfsgid, (gid_t)-1) == gid;
}

int mcred_become(umfs_req *req, struct mcred_saved *s)
{
	struct mirror *m = MIR(req);
	const struct umfs_caller *c = umfs_req_caller(req);
	gid_t groups[MAX_GROUPS];
	int n;

	s->switched = false;
	if (!m->impersonate || (c->uid == 0 && c->gid == 0))
		return 0;
	n = umfs_req_groups(req, groups, MAX_GROUPS);
	if (n < 0) {
		/* The caller is gone or its groups are unreadable: its primary group only,
		 * never more rights than it had. */
		groups[0] = c->gid;
		n = 1;
	}
	/* Groups and gid first: after the fsuid switch nothing more may be changed
	 * with root's file rights. */
	if (syscall(SYS_setgroups, (size_t)n, groups) < 0)
		return -errno;
	s->switched = true;
	if (!set_fsgid(c->gid) || !set_fsuid(c->uid)) {
		mcred_restore(req, s);
		return -EPERM;
	}
	return 0;
}

void mcred_restore(umfs_req *req, struct mcred_saved *s)
{
	struct mirror *m = MIR(req);

	if (!s->switched)
		return;
	set_fsuid(geteuid());
	set_fsgid(getegid());
	set_groups(m->n_own_groups, m->own_groups);
	s->switched = false;
}
