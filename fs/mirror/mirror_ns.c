/* SPDX-License-Identifier: MIT */
/*
 * mirror_ns.c - the name space: lookup, forget, creating, linking, removing and
 * renaming names, readlink. Every call is relative to a node's O_PATH descriptor and
 * never follows a final symlink.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mirror_int.h"

int mirror_lookup(umfs_req *req, void *dir, const char *name, struct umfs_entry *out)
{
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	err = mnode_lookup(MIR(req), dir, name, out);
	mcred_restore(req, &cs);
	if (err == -ENOENT && !msearch_caches(MIR(req), dir)) {
		/* No such name, not to be remembered: another caller may not search dir. */
		out->node = NULL;
		out->entry_timeout = 0;
		return 0;
	}
	return err;
}

void mirror_forget(void *fs, void *node, uint64_t nlookup)
{
	mnode_put(fs, node, nlookup);
}

/* After a successful create-like call: hand the new name's node out. If the name was
 * swapped in between by someone in the source, the entry shows what is there now,
 * which is what a lookup would show. */
static int entry_of(umfs_req *req, struct mnode *dir, const char *name, int err,
		    struct umfs_entry *out)
{
	if (err)
		return err;
	return mnode_lookup(MIR(req), dir, name, out);
}

int mirror_mknod(umfs_req *req, void *dir, const char *name, mode_t mode, dev_t rdev,
		 struct umfs_entry *out)
{
	struct mnode *d = dir;
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	err = mknodat(d->fd, name, mode, rdev) < 0 ? -errno : 0;
	err = entry_of(req, d, name, err, out);
	mcred_restore(req, &cs);
	return err;
}

int mirror_mkdir(umfs_req *req, void *dir, const char *name, mode_t mode,
		 struct umfs_entry *out)
{
	struct mnode *d = dir;
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	err = mkdirat(d->fd, name, mode) < 0 ? -errno : 0;
	err = entry_of(req, d, name, err, out);
	mcred_restore(req, &cs);
	return err;
}

int mirror_symlink(umfs_req *req, void *dir, const char *name, const char *target,
		   struct umfs_entry *out)
{
	struct mnode *d = dir;
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	err = symlinkat(target, d->fd, name) < 0 ? -errno : 0;
	err = entry_of(req, d, name, err, out);
	mcred_restore(req, &cs);
	return err;
}

int mirror_link(umfs_req *req, void *node, void *newdir, const char *newname,
		struct umfs_entry *out)
{
	struct mnode *n = node, *d = newdir;
	char p[FD_PATH_MAX];
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	/* linkat(fd, "", ..., AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH, which the
	 * caller may not have; following the /proc magic link names the same inode (a
	 * symlink node stays the symlink: the magic link is not followed further). */
	err = linkat(AT_FDCWD, mfd_path(n->fd, p, sizeof p), d->fd, newname,
		     AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
	err = entry_of(req, d, newname, err, out);
	mcred_restore(req, &cs);
	return err;
}

static int remove_name(umfs_req *req, struct mnode *d, const char *name, int flags)
{
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	err = unlinkat(d->fd, name, flags) < 0 ? -errno : 0;
	mcred_restore(req, &cs);
	return err;
}

int mirror_unlink(umfs_req *req, void *dir, const char *name)
{
	return remove_name(req, dir, name, 0);
}

int mirror_rmdir(umfs_req *req, void *dir, const char *name)
{
	return remove_name(req, dir, name, AT_REMOVEDIR);
}

int mirror_rename(umfs_req *req, void *dir, const char *name, void *newdir,
		  const char *newname, unsigned flags)
{
	struct mnode *d = dir, *nd = newdir;
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	err = renameat2(d->fd, name, nd->fd, newname, flags) < 0 ? -errno : 0;
	mcred_restore(req, &cs);
	return err;
}

int mirror_readlink(umfs_req *req, void *node, char *buf, size_t size)
{
	struct mnode *n = node;
	/* The target as stored: mirror never resolves it. */
	ssize_t len = readlinkat(n->fd, "", buf, size);
	return len < 0 ? -errno : (int)len;
}
