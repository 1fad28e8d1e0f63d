/* SPDX-License-Identifier: MIT */
/*
 * mirror_xattr.c - extended attributes, POSIX ACLs (system.posix_acl_*) included,
 * passed to and from the source as they are.
 *
 * The f*xattr calls refuse O_PATH descriptors, so these go through /proc/self/fd/N:
 * the magic link lands on the node's own inode (a symlink node stays the symlink; the
 * jump is not followed further), never on a path re-resolved in SOURCE.
 */
#include <errno.h>
#include <string.h>
#include <sys/xattr.h>

#include "mirror_int.h"

/* A directory's access ACL decides who may search it, as its mode does. */
static int acl_changed(umfs_req *req, struct mnode *n, const char *name, int err)
{
	if (strcmp(name, "system.posix_acl_access") != 0)
		return err;
	return msearch_changed(req, n, err);
}

int mirror_setxattr(umfs_req *req, void *node, const char *name, const void *value,
		    size_t size, int flags)
{
	struct mnode *n = node;
	char p[FD_PATH_MAX];
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	err = setxattr(mfd_path(n->fd, p, sizeof p), name, value, size, flags) < 0 ? -errno : 0;
	mcred_restore(req, &cs);
	return acl_changed(req, n, name, err);
}

int mirror_getxattr(umfs_req *req, void *node, const char *name, void *buf, size_t size)
{
	struct mnode *n = node;
	char p[FD_PATH_MAX];
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	ssize_t len = getxattr(mfd_path(n->fd, p, sizeof p), name, buf, size);
	err = len < 0 ? -errno : (int)len;
	mcred_restore(req, &cs);
	return err;
}

int mirror_listxattr(umfs_req *req, void *node, char *buf, size_t size)
{
	struct mnode *n = node;
	char p[FD_PATH_MAX];
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	ssize_t len = listxattr(mfd_path(n->fd, p, sizeof p), buf, size);
	err = len < 0 ? -errno : (int)len;
	mcred_restore(req, &cs);
	return err;
}

int mirror_removexattr(umfs_req *req, void *node, const char *name)
{
	struct mnode *n = node;
	char p[FD_PATH_MAX];
	struct mcred_saved cs;
	int err = mcred_become(req, &cs);
	if (err)
		return err;
	err = removexattr(mfd_path(n->fd, p, sizeof p), name) < 0 ? -errno : 0;
	mcred_restore(req, &cs);
	return acl_changed(req, n, name, err);
}
