/* SPDX-License-Identifier: MIT */
/*
 * mirror_backing.c - the backing files of kernel passthrough.
 *
 * For each open of the mount that a reply backs, the kernel opens a file of its own:
 * on the registered file's path, with the flags of that open and the credentials of
 * the process that registered it (fs/fuse/passthrough.c). The registered descriptor
 * only names the inode; its access mode does not matter. The kernel wants every
 * backed open of an inode to use one and the same registration.
 *
 * Kernels that accept an O_PATH descriptor for registration (6.18 here does; the
 * first ones with passthrough, 6.9, do not) get the node's own descriptor, registered
 * at the node's first open and kept until the kernel forgets the node: later opens
 * cost no registration. Measured: the two ioctls of a registration per open took
 * open+close of a cached file from 30k/s to 22k/s. Keeping it holds nothing the node
 * does not hold already (the same open file, no write access: a program built on the
 * mount can be run from SOURCE at once).
 * Other kernels get the descriptor of the open itself, shared by the node's opens
 * while any is open and closed by the last release.
 *
 * Registration runs after mcred_restore, with this process's credentials: the kernel
 * does the backed I/O with them, so whether a write clears setuid bits is mirror's
 * decision (mirror_drop_suidgid), not the credentials'.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mirror_int.h"

void mbacking_init(struct mirror *m)
{
	/* For tests of the other kernels' way on a kernel that has both. */
	const char *e = getenv("UMFS_MIRROR_BACKING");
	m->backing_by_path = !(e && strcmp(e, "per-open") == 0);
}

/* Registers the node's O_PATH descriptor. Returns the id, 0 when this kernel refuses
 * O_PATH descriptors (and from then on registers per open), or -errno. */
static int register_node(struct mirror *m, umfs_session *s, struct mnode *n)
{
	int id = umfs_backing_open(s, n->fd);

	if (id != -EBADF && id != -EOPNOTSUPP)
		return id;
	pthread_mutex_lock(&m->lock);
	bool first = m->backing_by_path;
	m->backing_by_path = false;
	pthread_mutex_unlock(&m->lock);
	if (first)
		umfs_log(UMFS_LOG_INFO, "mirror: this kernel registers no O_PATH backing "
			 "files (%s); each open registers its own", strerror(-id));
	return 0;
}

int mbacking_get(umfs_req *req, struct mnode *n, int fd)
{
	struct mirror *m = MIR(req);
	umfs_session *s = umfs_req_session(req);
	bool by_path, kept = false;
	int id = 0;

	pthread_mutex_lock(&m->lock);
	if (n->backing_id > 0) {
		n->backing_refs++;
		id = n->backing_id;
		pthread_mutex_unlock(&m->lock);
		return id;
	}
	m->session = s; /* forget, which closes kept ones, has no request */
	by_path = m->backing_by_path;
	pthread_mutex_unlock(&m->lock);

	if (by_path) {
		id = register_node(m, s, n);
		kept = id > 0;
	}
	if (id == 0)
		id = umfs_backing_open(s, fd);
	if (id <= 0)
		return id < 0 ? id : -EIO;

	pthread_mutex_lock(&m->lock);
	if (n->backing_id > 0) {
		/* Another open of the node registered meanwhile: share that one. */
		int mine = id;
		n->backing_refs++;
		id = n->backing_id;
		pthread_mutex_unlock(&m->lock);
		umfs_backing_close(s, mine);
		return id;
	}
	n->backing_id = id;
	n->backing_kept = kept;
	n->backing_refs = 1;
	pthread_mutex_unlock(&m->lock);
	return id;
}

void mbacking_put(umfs_req *req, struct mnode *n)
{
	struct mirror *m = MIR(req);
	int id = 0;

	pthread_mutex_lock(&m->lock);
	if (--n->backing_refs == 0 && !n->backing_kept) {
		id = n->backing_id;
		n->backing_id = 0;
	}
	pthread_mutex_unlock(&m->lock);
	if (id > 0)
		umfs_backing_close(umfs_req_session(req), id);
}

void mbacking_forget(struct mirror *m, struct mnode *n)
{
	if (n->backing_id > 0 && m->session)
		umfs_backing_close(m->session, n->backing_id);
}
