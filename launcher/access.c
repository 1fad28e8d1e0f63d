/* SPDX-License-Identifier: MIT */
/*
 * access.c - caller identity and the rights of a service file's allow list.
 */
#include "access.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void uid_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%u", (unsigned)uid);
}

int ident_from_socket(int fd, struct ident *id)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	socklen_t glen = sizeof(id->groups);

	memset(id, 0, sizeof(*id));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	id->pid = cr.pid;
	id->uid = cr.uid;
	id->gid = cr.gid;
	/* The supplementary groups as the kernel saw them at connect(): never asked of
	 * the client, never looked up in a database the user may be racing. */
	uid_name(id->uid, id->name, sizeof(id->name));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, id->groups, &glen) == 0) {
		id->ngroups = glen / sizeof(gid_t);
	} else if (errno == ERANGE) {
		/* More than IDENT_MAX_GROUPS: the first ones of the group database. */
		struct passwd *pw = getpwuid(id->uid);
		int n = IDENT_MAX_GROUPS;

		if (pw && getgrouplist(pw->pw_name, id->gid, id->groups, &n) < 0)
			n = IDENT_MAX_GROUPS;
		id->ngroups = pw ? (unsigned)n : 0;
	} else {
		return -errno;
	}
	return 0;
}

int ident_from_uid(uid_t uid, struct ident *id)
{
	struct passwd *pw = getpwuid(uid);
	int n = IDENT_MAX_GROUPS;

	memset(id, 0, sizeof(*id));
	if (!pw)
		return -ENOENT;
	id->uid = uid;
	id->gid = pw->pw_gid;
	snprintf(id->name, sizeof(id->name), "%s", pw->pw_name);
	if (getgrouplist(pw->pw_name, pw->pw_gid, id->groups, &n) < 0)
		n = IDENT_MAX_GROUPS;
	id->ngroups = (unsigned)n;
	return 0;
}

static bool in_group(const struct ident *id, gid_t gid)
{
	if (id->gid == gid)
		return true;
	for (unsigned i = 0; i < id->ngroups; i++)
		if (id->groups[i] == gid)
			return true;
	return false;
}

unsigned service_rights(const struct service *s, const struct ident *id)
{
	unsigned rights = 0;

	if (id->uid == 0)
		return RIGHT_START | RIGHT_STOP | RIGHT_INFO;
	for (unsigned i = 0; i < s->nallow; i++) {
		const struct allow_entry *a = &s->allow[i];

		if (a->group ? in_group(id, (gid_t)a->id) : a->id == id->uid)
			rights |= a->rights;
	}
	return rights;
}

int check_args(const struct service *s, unsigned argc, char *const argv[], char *err,
	       size_t errsize)
{
	if (argc != s->nargs) {
		snprintf(err, errsize, "service %s takes %u argument%s after the instance name, not %u",
			 s->name, s->nargs, s->nargs == 1 ? "" : "s", argc);
		return -EINVAL;
	}
	for (unsigned i = 0; i < argc; i++) {
		unsigned n = i + 2; /* %N */

		for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++)
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(err, errsize, "argument %%%u contains a control character", n);
				return -EINVAL;
			}
		/* A leading '-' would be read as an option by the executable: only where the
		 * service file says this argument is one. */
		if (argv[i][0] == '-' && !(s->option_args & (1u << n))) {
			snprintf(err, errsize, "argument %%%u '%.64s' starts with '-' but service %s "
				 "does not take an option there", n, argv[i], s->name);
			return -EINVAL;
		}
	}
	return 0;
}
