/* SPDX-License-Identifier: MIT */
/*
 * mirror_attr.c - getattr, setattr (chmod, chown, truncate, utimens) and statfs.
 *
 * An O_PATH descriptor cannot be used by fchmod, ftruncate or futimens: those go
 * through /proc/self/fd/N (which names the node's inode, not a path in SOURCE), or
 * through the open file when the kernel names one.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mirror_int.h"

static int stat_node(struct mnode *n, struct mfile *f, struct stat *st)
{
	int rc = f ? fstat(f->fd, st) : fstatat(n->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	return rc < 0 ? -errno : 0;
}

/* The kernel names the open handle for fstat/fchmod/ftruncate/futimens, for a
 * directory too (then it is a directory handle of mirror_dir.c): only a regular
 * file's handle is a struct mfile, and the node's own descriptor serves the rest. */
static struct mfile *file_of(struct mnode *n, void *fh)
{
	return n->type == S_IFREG ? fh : NULL;
}

int mirror_getattr(umfs_req *req, void *node, void *fh, struct umfs_attr *out)
{
	return stat_node(node, file_of(node, fh), &out->st);
}

static struct timespec time_of(unsigned valid, unsigned set, unsigned now,
			       struct timespec value)
{
	if (valid & now)
		return (struct timespec){ .tv_nsec = UTIME_NOW };
	if (valid & set)
		return value;
	return (struct timespec){ .tv_nsec = UTIME_OMIT };
}

static int set_times(struct mnode *n, struct mfile *f, const struct stat *in, unsigned valid)
{
	struct timespec ts[2] = {
		time_of(valid, UMFS_SET_ATIME, UMFS_SET_ATIME_NOW, in->st_atim),
		time_of(valid, UMFS_SET_MTIME, UMFS_SET_MTIME_NOW, in->st_mtim),
	};
	char p[FD_PATH_MAX];
	int rc;

	if (f)
		return futimens(f->fd, ts) < 0 ? -errno : 0;
	/* The O_PATH descriptor itself (Linux 5.8 and later), else through /proc. */
	rc = utimensat(n->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	if (rc < 0 && errno == EINVAL && n->type != S_IFLNK)
		rc = utimensat(AT_FDCWD, mfd_path(n->fd, p, sizeof p), ts, 0);
	return rc < 0 ? -errno : 0;
}

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* chmod of a node without an open handle: fchmodat2 on the O_PATH descriptor itself
 * (Linux 6.6 and later), else through /proc, a path walk more. */
static int chmod_node(struct mnode *n, mode_t mode)
{
	char p[FD_PATH_MAX];

	if (syscall(SYS_fchmodat2, n->fd, "", mode, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -errno;
	return fchmodat(AT_FDCWD, mfd_path(n->fd, p, sizeof p), mode, 0) < 0 ? -errno : 0;
}

static int apply(struct mnode *n, struct mfile *f, const struct stat *in, unsigned valid)
{
	char p[FD_PATH_MAX];
	int rc;

	if (valid & (UMFS_SET_UID | UMFS_SET_GID)) {
		uid_t uid = valid & UMFS_SET_UID ? in->st_uid : (uid_t)-1;
		gid_t gid = valid & UMFS_SET_GID ? in->st_gid : (gid_t)-1;
		if (fchownat(n->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (valid & UMFS_SET_MODE) {
		if (n->type == S_IFLNK)
			return -EOPNOTSUPP; /* as lchmod: symlinks have no mode of their own */
		rc = f ? (fchmod(f->fd, in->st_mode & 07777) < 0 ? -errno : 0)
		       : chmod_node(n, in->st_mode & 07777);
		if (rc < 0)
			return rc;
	}
	if (valid & UMFS_SET_SIZE) {
		rc = f ? ftruncate(f->fd, in->st_size)
		       : truncate(mfd_path(n->fd, p, sizeof p), in->st_size);
		if (rc < 0)
			return -errno;
	}
	if (valid & (UMFS_SET_ATIME | UMFS_SET_MTIME | UMFS_SET_ATIME_NOW | UMFS_SET_MTIME_NOW))
		return set_times(n, f, in, valid);
	return 0;
}

void mirror_drop_suidgid(umfs_req *req, struct mnode *n, struct mfile *f)
{
	struct stat st;
	mode_t mode;

	if (stat_node(n, f, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	mode = st.st_mode & 07777;
	if (!(mode & (S_ISUID | S_ISGID)))
		return;
	mode &= ~(mode_t)S_ISUID;
	/* Set-group-ID goes where the group may execute, and otherwise unless the
	 * writer belongs to the file's group (or is root), as Linux decides since 6.2. */
	if ((mode & S_ISGID) &&
	    ((mode & S_IXGRP) ||
	     (umfs_req_caller(req)->uid != 0 && !umfs_req_in_group(req, st.st_gid))))
		mode &= ~(mode_t)S_ISGID;
	if (mode == (st.st_mode & 07777))
		return;
	/* With this process's rights: the caller may write the file, not chmod it.
	 * A failure (a non-root daemon's source refuses) leaves it to the source, whose
	 * own write by that unprivileged daemon clears the bits anyway. */
	if (f)
		(void)fchmod(f->fd, mode);
	else
		(void)chmod_node(n, mode);
}

/* Without HANDLE_KILLPRIV_V2 (older kernels) the kernel clears setuid/setgid after a write by sending a chmod as the writer,
 * whom the source would refuse (only the owner may chmod); on a local file system the
 * kernel does it with its own privilege. So a chmod that only drops S_ISUID/S_ISGID,
 * asked by a caller who may write the file (and whose write would drop them anyway),
 * is done with this process's credentials. Called as the caller. */
static bool is_kill_priv(struct mnode *n, const struct stat *in, unsigned valid)
{
	struct stat st;
	char p[FD_PATH_MAX];

	if ((valid & ~(UMFS_SET_MODE | UMFS_SET_KILL_SUIDGID | UMFS_SET_CTIME)) ||
	    !(valid & UMFS_SET_MODE) || n->type != S_IFREG)
		return false;
	if (fstatat(n->fd, "", &st, AT_EMPTY_PATH) < 0)
		return false;
	mode_t old = st.st_mode & 07777, new = in->st_mode & 07777;
	if (new == old || (new & ~old) || ((old & ~new) & ~(mode_t)(S_ISUID | S_ISGID)))
		return false;
	return faccessat(AT_FDCWD, mfd_path(n->fd, p, sizeof p), W_OK, AT_EACCESS) == 0;
}

int mirror_setattr(umfs_req *req, void *node, void *fh, const struct stat *in,
		   unsigned valid, struct umfs_attr *out)
{
	struct mcred_saved cs;
	int err;

	fh = file_of(node, fh);
	err = mcred_become(req, &cs);
	if (err)
		return err;
	if (cs.switched && is_kill_priv(node, in, valid))
		mcred_restore(req, &cs); /* no-op below once restored */
	err = apply(node, fh, in, valid);
	mcred_restore(req, &cs);
	if (err)
		return err;
	/* A truncate (or chown) by a caller without CAP_FSETID: the source cleared the
	 * bits already when it acted as that caller, not when it acted as root. */
	if (valid & UMFS_SET_KILL_SUIDGID)
		mirror_drop_suidgid(req, node, fh);
	err = stat_node(node, fh, &out->st);
	if (valid & (UMFS_SET_MODE | UMFS_SET_UID | UMFS_SET_GID))
		return msearch_changed(req, node, err);
	return err;
}

int mirror_statfs(umfs_req *req, void *node, struct statvfs *out)
{
	struct mnode *n = node;
	return fstatvfs(n->fd, out) < 0 ? -errno : 0;
}

int mirror_syncfs(umfs_req *req, void *node)
{
	struct mnode *n = node;
	char p[FD_PATH_MAX];
	/* syncfs refuses O_PATH descriptors: a real one of the same directory. */
	int fd = open(mfd_path(n->fd, p, sizeof p), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = syncfs(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Only asked without default_permissions: the source's answer, for the caller. */
int mirror_access(umfs_req *req, void *node, int mask)
{
	struct mnode *n = node;
	char p[FD_PATH_MAX];
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	if (n->type == S_IFLNK)
		err = 0; /* access(2) follows links; the kernel never asks about one */
	else
		err = faccessat(AT_FDCWD, mfd_path(n->fd, p, sizeof p), mask, AT_EACCESS) < 0
			      ? -errno : 0;
	mcred_restore(req, &cs);
	return err;
}
