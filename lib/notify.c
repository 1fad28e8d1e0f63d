/* SPDX-License-Identifier: MIT */
/*
 * notify.c - messages the file system sends the kernel unasked: invalidate cached
 * data, attributes or names, announce a deletion, store data in the page cache; and
 * registering backing files for kernel passthrough.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "session.h"

/* A notification is an out header with unique 0 and the code in the error field. */
static int send_notify(umfs_session *s, int code, struct iovec *iov, int iovcnt)
{
	struct fuse_out_header h = { .error = code, .unique = 0 };
	size_t len = sizeof(h);
	ssize_t n;

	if (s->mnt.fd < 0 || !atomic_load(&s->initialized))
		return -ENOTCONN;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	for (int i = 1; i < iovcnt; i++)
		len += iov[i].iov_len;
	h.len = (uint32_t)len;
	n = writev(s->mnt.fd, iov, iovcnt);
	return n < 0 ? -errno : 0;
}

static uint64_t known_id(umfs_session *s, void *node)
{
	return node ? nodes_find(&s->nodes, node) : 0;
}

int umfs_notify_inval_inode(umfs_session *s, void *node, off_t off, off_t len)
{
	struct fuse_notify_inval_inode_out out = { .off = off, .len = len };
	struct iovec iov[2] = { { 0 }, { &out, sizeof(out) } };

	out.ino = known_id(s, node);
	if (!out.ino)
		return -ENOENT;
	return send_notify(s, FUSE_NOTIFY_INVAL_INODE, iov, 2);
}

int umfs_notify_inval_entry(umfs_session *s, void *dir, const char *name)
{
	struct fuse_notify_inval_entry_out out = { .namelen = (uint32_t)strlen(name) };
	struct iovec iov[3] = { { 0 }, { &out, sizeof(out) }, { (void *)name, out.namelen + 1 } };

	out.parent = known_id(s, dir);
	if (!out.parent)
		return -ENOENT;
	return send_notify(s, FUSE_NOTIFY_INVAL_ENTRY, iov, 3);
}

int umfs_notify_delete(umfs_session *s, void *dir, void *child, const char *name)
{
	struct fuse_notify_delete_out out = { .namelen = (uint32_t)strlen(name) };
	struct iovec iov[3] = { { 0 }, { &out, sizeof(out) }, { (void *)name, out.namelen + 1 } };

	out.parent = known_id(s, dir);
	out.child = known_id(s, child);
	if (!out.parent || !out.child)
		return -ENOENT;
	return send_notify(s, FUSE_NOTIFY_DELETE, iov, 3);
}

int umfs_notify_store(umfs_session *s, void *node, off_t off, const void *data, size_t size)
{
	struct fuse_notify_store_out out = { .offset = (uint64_t)off, .size = (uint32_t)size };
	struct iovec iov[3] = { { 0 }, { &out, sizeof(out) }, { (void *)data, size } };

	if (size > UINT32_MAX || off < 0)
		return -EINVAL;
	out.nodeid = known_id(s, node);
	if (!out.nodeid)
		return -ENOENT;
	return send_notify(s, FUSE_NOTIFY_STORE, iov, 3);
}

int umfs_notify_expire_entry(umfs_session *s, void *dir, const char *name)
{
	struct fuse_notify_inval_entry_out out = { .namelen = (uint32_t)strlen(name),
						   .flags = FUSE_EXPIRE_ONLY };
	struct iovec iov[3] = { { 0 }, { &out, sizeof(out) }, { (void *)name, out.namelen + 1 } };

	if (!(s->conn.offered & FUSE_HAS_EXPIRE_ONLY))
		return -ENOSYS;
	out.parent = known_id(s, dir);
	if (!out.parent)
		return -ENOENT;
	return send_notify(s, FUSE_NOTIFY_INVAL_ENTRY, iov, 3);
}

/* ---- poll ---- */

int umfs_notify_poll(umfs_pollhandle *ph)
{
	struct fuse_notify_poll_wakeup_out out = { .kh = ph->kh };
	struct iovec iov[2] = { { 0 }, { &out, sizeof(out) } };

	return send_notify(ph->s, FUSE_NOTIFY_POLL, iov, 2);
}

void umfs_pollhandle_destroy(umfs_pollhandle *ph)
{
	free(ph);
}

/* ---- retrieve ---- */

struct pending_retrieve {
	struct pending_retrieve *next;
	uint64_t unique;
	void *cookie;
};

int umfs_notify_retrieve(umfs_session *s, void *node, off_t off, size_t size, void *cookie)
{
	struct fuse_notify_retrieve_out out = { .offset = (uint64_t)off, .size = (uint32_t)size };
	struct iovec iov[2] = { { 0 }, { &out, sizeof(out) } };
	struct pending_retrieve *p;
	int rc;

	if (size > UINT32_MAX || off < 0)
		return -EINVAL;
	out.nodeid = known_id(s, node);
	if (!out.nodeid)
		return -ENOENT;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	/* Our own numbers, not the cookie: what the kernel echoes back is looked up,
	 * never trusted as a pointer. */
	pthread_mutex_lock(&s->retrieve_lock);
	p->unique = out.notify_unique = ++s->retrieve_seq;
	p->cookie = cookie;
	p->next = s->retrieves;
	s->retrieves = p;
	pthread_mutex_unlock(&s->retrieve_lock);
	rc = send_notify(s, FUSE_NOTIFY_RETRIEVE, iov, 2);
	if (rc < 0) {
		void *unused;

		notify_take_retrieve(s, out.notify_unique, &unused);
	}
	return rc;
}

bool notify_take_retrieve(umfs_session *s, uint64_t unique, void **cookie)
{
	struct pending_retrieve **pp, *p = NULL;

	pthread_mutex_lock(&s->retrieve_lock);
	for (pp = &s->retrieves; *pp; pp = &(*pp)->next) {
		if ((*pp)->unique == unique) {
			p = *pp;
			*pp = p->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->retrieve_lock);
	if (!p)
		return false;
	*cookie = p->cookie;
	free(p);
	return true;
}

void notify_free_retrieves(umfs_session *s)
{
	while (s->retrieves) {
		struct pending_retrieve *p = s->retrieves;

		s->retrieves = p->next;
		free(p);
	}
}

int umfs_backing_open(umfs_session *s, int fd)
{
	struct fuse_backing_map map = { .fd = fd };
	int id;

	if (!(s->conn.wanted & FUSE_PASSTHROUGH))
		return -EOPNOTSUPP;
	id = ioctl(s->mnt.fd, FUSE_DEV_IOC_BACKING_OPEN, &map);
	return id < 0 ? -errno : id;
}

int umfs_backing_close(umfs_session *s, int backing_id)
{
	uint32_t id = (uint32_t)backing_id;

	return ioctl(s->mnt.fd, FUSE_DEV_IOC_BACKING_CLOSE, &id) < 0 ? -errno : 0;
}
