/* SPDX-License-Identifier: MIT */
/*
 * access.h - who is asking (from the kernel, never from the client) and what they may
 * do: the rights a service grants, and the arguments a start may carry.
 */
#ifndef UMFS_LAUNCHER_ACCESS_H
#define UMFS_LAUNCHER_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "service.h"

#define IDENT_MAX_GROUPS 256

struct ident {
	pid_t pid;          /* 0 when not from a connection */
	uid_t uid;
	gid_t gid;
	unsigned ngroups;   /* supplementary groups */
	gid_t groups[IDENT_MAX_GROUPS];
	char name[64];      /* user name, or the uid in decimal */
};

/* The peer of a Unix socket: SO_PEERCRED and SO_PEERGROUPS. 0 or -errno. */
int ident_from_socket(int fd, struct ident *id);
/* A user by uid, with the groups of the group database (boot instances). */
int ident_from_uid(uid_t uid, struct ident *id);
/* Name of a uid, for messages (static buffer per call site is the caller's). */
void uid_name(uid_t uid, char *buf, size_t size);

/* The rights service s grants id (root has all). */
unsigned service_rights(const struct service *s, const struct ident *id);

/*
 * Check a start's arguments: the count the command line needs, no control
 * characters, and no leading '-' where the service does not expect an option.
 * Returns 0 or -EINVAL with the reason in err.
 */
int check_args(const struct service *s, unsigned argc, char *const argv[], char *err,
	       size_t errsize);

#endif
