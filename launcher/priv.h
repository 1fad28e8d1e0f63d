/* SPDX-License-Identifier: MIT */
/*
 * priv.h - the only things umfsd does with its privilege, as a fixed table:
 *
 *   priv_open_mountpoint  resolve a mount point as the caller, check it as fusermount3
 *                         would (owner or write access, no foreign sticky directory)
 *   priv_mount            mount /dev/fuse there for the instance's user
 *   priv_unmount          lazily unmount what umfsd mounted, and only that
 *
 * Everything else (file system code) runs in the instance's process, as its user,
 * on the descriptor priv_mount returns.
 */
#ifndef UMFS_LAUNCHER_PRIV_H
#define UMFS_LAUNCHER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "access.h"

/* The identity of one mount: its device number, as mountinfo shows it. */
struct mount_id {
	unsigned major, minor;
};

/*
 * Resolve path (relative to cwd) as `as` would, in a child that has dropped to its
 * ids, and check that `as` could mount there itself. On success *dirfd is an O_PATH
 * descriptor of the directory and resolved its absolute path. -errno with err set.
 */
int priv_open_mountpoint(const struct ident *as, const char *cwd, const char *path, int *dirfd,
			 char *resolved, size_t rsize, char *err, size_t errsize);

struct mount_request {
	int dirfd;               /* from priv_open_mountpoint */
	const char *path;        /* its resolved path, to find the mount afterwards */
	const char *options;     /* comma list (umfs-service(5) mount-options), may be NULL */
	const char *fsname, *subtype;
	uid_t uid;               /* the instance's user: the mount's user_id/group_id */
	gid_t gid;
};

/* Mount a fresh /dev/fuse connection; *fusefd is it (close-on-exec). -errno, err set. */
int priv_mount(const struct mount_request *m, int *fusefd, struct mount_id *id, char *err,
	       size_t errsize);

/* Lazily unmount path if the mount on top of it is still `id`. Returns true when no
 * mount of ours is left there. */
bool priv_unmount(const char *path, const struct mount_id *id);

/* Whether the top mount at path is `id`. */
bool priv_is_mounted(const char *path, const struct mount_id *id);

/*
 * fusectl (the kernel's view of FUSE connections) mounted where umfsd alone decides
 * about it, dir (in its state directory): it is one file system wherever mounted,
 * and a copy of umfsd's own cannot be unmounted under it by someone tidying
 * /sys/fs/fuse/connections. Returns the directory to read, dir or, failing that,
 * /sys/fs/fuse/connections. priv_fusectl_release unmounts umfsd's copy.
 */
const char *priv_fusectl(const char *dir);
void priv_fusectl_release(void);

#endif
