/* SPDX-License-Identifier: MIT */
/* stub.c - see stub.h. */
#include <errno.h>
#include <string.h>

#include "stub.h"

void (*stub_on_plus_node)(void *node);

void *umfs_req_fs(umfs_req *req)
{
	return req->fs;
}

const struct umfs_caller *umfs_req_caller(umfs_req *req)
{
	return &req->caller;
}

/* The stub's caller has no supplementary groups. */
int umfs_req_in_group(umfs_req *req, gid_t gid)
{
	return req->caller.gid == gid;
}

int umfs_dir_plus(const umfs_dirbuf *buf)
{
	return buf->plus;
}

int umfs_dir_add(umfs_dirbuf *buf, const char *name, const struct stat *st, void *node,
		 off_t next_off)
{
	if (buf->n >= buf->cap || buf->n >= STUB_DIR_MAX)
		return 1;
	struct stub_dirent *d = &buf->ents[buf->n++];
	strncpy(d->name, name, sizeof d->name - 1);
	d->name[sizeof d->name - 1] = '\0';
	d->ino = st->st_ino;
	d->mode = st->st_mode;
	d->node = node;
	d->next_off = next_off;
	if (buf->plus && node && stub_on_plus_node)
		stub_on_plus_node(node);
	return 0;
}

/* A kernel that offers everything. */
uint64_t umfs_conn_offered(const struct umfs_conn *conn)
{
	(void)conn;
	return ~UINT64_C(0);
}

static uint64_t wanted;

uint64_t umfs_conn_wanted(const struct umfs_conn *conn)
{
	(void)conn;
	return wanted;
}

void umfs_conn_want(struct umfs_conn *conn, uint64_t caps)
{
	(void)conn;
	wanted |= caps;
}

void umfs_conn_unwant(struct umfs_conn *conn, uint64_t caps)
{
	(void)conn;
	wanted &= ~caps;
}

/* No kernel: notifications have no one to go to. */
umfs_session *umfs_req_session(umfs_req *req)
{
	(void)req;
	return NULL;
}

int umfs_notify_inval_inode(umfs_session *s, void *node, off_t off, off_t len)
{
	(void)s;
	(void)node;
	(void)off;
	(void)len;
	return -ENOENT;
}
