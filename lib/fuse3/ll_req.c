/* SPDX-License-Identifier: MIT */
/*
 * ll_req.c - libfuse requests over libumfs requests, and every fuse_reply_*.
 *
 * A libfuse program answers with fuse_reply_* whenever it likes: inside the callback
 * or later from another thread. The libumfs callback learns which after the program's
 * callback returns: answered already -> return the result; not yet -> defer the
 * libumfs request, and the reply completes it. A lock per request orders the two.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fuse3_int.h"

/* One spare request per thread: most requests are answered inside the callback, so
 * the same memory serves them all without malloc. The key's value is the address of
 * the thread's slot, set once, so that the spare goes with its thread. */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static __thread struct fuse_req *spare;
static __thread bool spare_keyed;

static void free_spare(void *slot)
{
	struct fuse_req **sp = slot;

	free(*sp);
	*sp = NULL;
}

static void make_key(void)
{
	pthread_key_create(&spare_key, free_spare);
}

struct fuse_req *req_begin(struct fuse_session *se, umfs_req *ur, enum req_kind kind)
{
	struct fuse_req *r = spare;

	if (r) {
		spare = NULL;
	} else {
		r = malloc(sizeof(*r));
		if (!r)
			return NULL;
	}
	/* Everything but the scratch stat, which is always written before it is read. */
	memset(r, 0, offsetof(struct fuse_req, st));
	r->se = se;
	r->ur = ur;
	r->kind = kind;
	atomic_init(&r->state, RS_IN_CALL);
	if (ur) {
		const struct umfs_caller *c = umfs_req_caller(ur);

		r->ctx.uid = c->uid;
		r->ctx.gid = c->gid;
		r->ctx.pid = c->pid;
		r->ctx.umask = c->umask;
	}
	return r;
}

static void req_free(struct fuse_req *r)
{
	if (spare) {
		free(r);
		return;
	}
	if (!spare_keyed) {
		pthread_once(&spare_once, make_key);
		pthread_setspecific(spare_key, &spare);
		spare_keyed = true;
	}
	spare = r;
}

ssize_t req_end(struct fuse_req *r)
{
	enum req_state st = RS_IN_CALL;
	ssize_t rc;

	if (atomic_load_explicit(&r->state, memory_order_acquire) == RS_REPLIED) {
		rc = r->result;
		req_free(r);
		return rc;
	}
	/* Not answered yet: the program will reply later, from any thread. libumfs must
	 * know before the reply can complete the request. */
	if (r->ur)
		umfs_req_defer(r->ur);
	if (atomic_compare_exchange_strong_explicit(&r->state, &st, RS_DEFERRED,
						    memory_order_acq_rel, memory_order_acquire))
		return UMFS_DEFERRED;
	/* The reply came just now: complete the deferred request here. */
	umfs_req *ur = r->ur;

	rc = r->result;
	req_free(r);
	if (!ur)
		return rc;
	umfs_req_complete(ur, rc);
	return UMFS_DEFERRED;
}

int req_done(struct fuse_req *r, ssize_t result)
{
	enum req_state st = RS_IN_CALL;

	/* No interrupt function may run once the request is answered. */
	if (r->intr_watched && r->ur)
		umfs_req_on_interrupt(r->ur, NULL, NULL);
	r->result = result;
	if (atomic_compare_exchange_strong_explicit(&r->state, &st, RS_REPLIED,
						    memory_order_acq_rel, memory_order_acquire))
		return 0; /* the callback's return answers */
	if (r->ur)
		umfs_req_complete(r->ur, result);
	free(r); /* not the spare: another thread may own this one's */
	return 0;
}

/* ---- replies ---- */

int fuse_reply_err(fuse_req_t req, int err)
{
	if (err < 0 || err > 4095)
		err = EIO;
	return req_done(req, -(ssize_t)err);
}

void fuse_reply_none(fuse_req_t req)
{
	req_done(req, 0);
}

static void put_entry(struct umfs_entry *out, const struct fuse_entry_param *e)
{
	out->node = ino_node(e->ino);
	out->attr = e->attr;
	out->entry_timeout = e->entry_timeout;
	out->attr_timeout = e->attr_timeout;
	out->generation = e->generation;
}

int fuse_reply_entry(fuse_req_t req, const struct fuse_entry_param *e)
{
	if (req->kind != K_ENTRY)
		return fuse_reply_err(req, EIO);
	put_entry(req->entry, e);
	return req_done(req, 0);
}

static void put_open(struct umfs_open *o, const struct fuse_file_info *fi)
{
	o->fh = (void *)(uintptr_t)fi->fh;
	o->direct_io = fi->direct_io;
	o->keep_cache = fi->keep_cache;
	o->nonseekable = fi->nonseekable;
	o->cache_dir = fi->cache_readdir;
	o->noflush = fi->noflush;
}

int fuse_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
		      const struct fuse_file_info *fi)
{
	if (req->kind != K_CREATE)
		return fuse_reply_err(req, EIO);
	put_entry(req->entry, e);
	put_open(req->open, fi);
	return req_done(req, 0);
}

int fuse_reply_attr(fuse_req_t req, const struct stat *attr, double attr_timeout)
{
	if (req->kind != K_ATTR)
		return fuse_reply_err(req, EIO);
	req->attr->st = *attr;
	req->attr->timeout = attr_timeout;
	return req_done(req, 0);
}

int fuse_reply_readlink(fuse_req_t req, const char *link)
{
	size_t n = strlen(link);

	if (req->kind != K_READLINK)
		return fuse_reply_err(req, EIO);
	if (n > req->size)
		n = req->size;
	memcpy(req->buf, link, n);
	return req_done(req, (ssize_t)n);
}

int fuse_reply_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	if (req->kind != K_OPEN)
		return fuse_reply_err(req, EIO);
	put_open(req->open, fi);
	return req_done(req, 0);
}

int fuse_reply_write(fuse_req_t req, size_t count)
{
	if (req->kind != K_COUNT)
		return fuse_reply_err(req, EIO);
	return req_done(req, (ssize_t)count);
}

int fuse_reply_statfs(fuse_req_t req, const struct statvfs *stbuf)
{
	if (req->kind != K_STATFS)
		return fuse_reply_err(req, EIO);
	*req->stvfs = *stbuf;
	return req_done(req, 0);
}

int fuse_reply_xattr(fuse_req_t req, size_t count)
{
	if (req->kind != K_XATTR)
		return fuse_reply_err(req, EIO);
	return req_done(req, (ssize_t)count);
}

int fuse_reply_lock(fuse_req_t req, const struct flock *lock)
{
	if (req->kind != K_LOCK)
		return fuse_reply_err(req, EIO);
	*req->lk = *lock;
	return req_done(req, 0);
}

int fuse_reply_bmap(fuse_req_t req, uint64_t idx)
{
	/* umfs mounts are never fuseblk, so the kernel never asks. */
	return fuse_reply_err(req, ENOSYS);
}

int fuse_reply_lseek(fuse_req_t req, off_t off)
{
	if (req->kind != K_LSEEK)
		return fuse_reply_err(req, EIO);
	*req->off_out = off;
	return req_done(req, 0);
}

/* ---- directory entries ----
 * Entries are laid out as the kernel's, as on libfuse, so that the reply hands the
 * program's buffer to libumfs in one copy (umfs_dir_add_dirents,
 * umfs_dir_add_direntplus): re-encoding each entry made the library 7% of a listing
 * server's time (libfuse: 2%). A plain entry is a struct fuse_dirent (ino, off of the
 * next entry, namelen, type, the name, zeros to a multiple of 8 bytes); a readdirplus
 * entry a struct fuse_entry_out before it, whose node id is the program's inode
 * number (the session's direct_node_ids). Fields are written with memcpy: the
 * program's buffer need not be aligned. */
struct dirent_hdr {  /* struct fuse_dirent */
	uint64_t ino;
	uint64_t off;
	uint32_t namelen;
	uint32_t type;       /* st_mode >> 12 */
};

#define KERNEL_DIRENT sizeof(struct dirent_hdr) /* struct fuse_dirent without the name */

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

size_t fuse_add_direntry(fuse_req_t req, char *buf, size_t bufsize, const char *name,
			 const struct stat *stbuf, off_t off)
{
	size_t namelen = strlen(name);
	size_t len = align8(KERNEL_DIRENT + namelen);
	struct dirent_hdr h;

	(void)req;
	if (!buf || len > bufsize)
		return len; /* sizing only: stbuf may be NULL */
	/* memcpy, not an inlined copy: once a name's length was known to be bounded, gcc
	 * inlined this copy as `rep movs`, which cost 15 ns an entry here. */
	memcpy(buf + KERNEL_DIRENT, name, namelen);
	memset(buf + KERNEL_DIRENT + namelen, 0, len - KERNEL_DIRENT - namelen);
	/* A name too long for any kernel is refused at the reply (umfs_dir_add_dirents). */
	h = (struct dirent_hdr){ .ino = stbuf->st_ino, .off = (uint64_t)off,
				 .namelen = (uint32_t)namelen, .type = stbuf->st_mode >> 12 };
	memcpy(buf, &h, sizeof(h));
	return len;
}

size_t fuse_add_direntry_plus(fuse_req_t req, char *buf, size_t bufsize, const char *name,
			      const struct fuse_entry_param *e, off_t off)
{
	struct umfs_entry ue;

	(void)req;
	if (!buf)
		return umfs_direntplus(NULL, 0, name, NULL, off); /* sizing only: e may be NULL */
	put_entry(&ue, e);
	return umfs_direntplus(buf, bufsize, name, &ue, off);
}

static int reply_dir(fuse_req_t req, const char *buf, size_t size)
{
	int rc = req->plus ? umfs_dir_add_direntplus(req->dir, buf, size)
			   : umfs_dir_add_dirents(req->dir, buf, size);

	return rc < 0 ? fuse_reply_err(req, EIO) : req_done(req, 0);
}

/* Copy a reply's bytes into the libumfs buffer of a read, readlink, xattr, ioctl. */
static int reply_bytes(fuse_req_t req, const char *buf, size_t size)
{
	if (size > req->size)
		return fuse_reply_err(req, ERANGE);
	if (size)
		memcpy(req->buf, buf, size);
	return req_done(req, (ssize_t)size);
}

int fuse_reply_buf(fuse_req_t req, const char *buf, size_t size)
{
	switch (req->kind) {
	case K_DIR:
		return reply_dir(req, buf, size);
	case K_DATA: case K_READLINK: case K_XATTR:
		return reply_bytes(req, buf, size);
	default:
		return fuse_reply_err(req, EIO);
	}
}

int fuse_reply_iov(fuse_req_t req, const struct iovec *iov, int count)
{
	size_t total = 0;
	char *b;
	int rc;

	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	b = malloc(total ? total : 1);
	if (!b)
		return fuse_reply_err(req, ENOMEM);
	total = 0;
	for (int i = 0; i < count; i++) {
		memcpy(b + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	rc = fuse_reply_buf(req, b, total);
	free(b);
	return rc;
}

int fuse_reply_data(fuse_req_t req, struct fuse_bufvec *bufv, enum fuse_buf_copy_flags flags)
{
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(req->size);
	ssize_t n;

	if (req->kind != K_DATA && req->kind != K_XATTR && req->kind != K_READLINK)
		return fuse_reply_err(req, EIO);
	dst.buf[0].mem = req->buf;
	n = fuse_buf_copy(&dst, bufv, flags);
	if (n < 0)
		return fuse_reply_err(req, (int)-n);
	return req_done(req, n);
}

/* ---- ioctl and poll ---- */

int fuse_reply_ioctl(fuse_req_t req, int result, const void *buf, size_t size)
{
	if (req->kind != K_IOCTL)
		return fuse_reply_err(req, EIO);
	if (result < 0)
		return fuse_reply_err(req, -result);
	if (size > req->size)
		size = req->size;
	if (size)
		memcpy(req->buf, buf, size);
	*(size_t *)req->extra = size;
	return req_done(req, result);
}

int fuse_reply_ioctl_iov(fuse_req_t req, int result, const struct iovec *iov, int count)
{
	size_t total = 0;
	char *b;
	int rc;

	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	b = malloc(total ? total : 1);
	if (!b)
		return fuse_reply_err(req, ENOMEM);
	total = 0;
	for (int i = 0; i < count; i++) {
		memcpy(b + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	rc = fuse_reply_ioctl(req, result, b, total);
	free(b);
	return rc;
}

int fuse_reply_ioctl_retry(fuse_req_t req, const struct iovec *in_iov, size_t in_count,
			   const struct iovec *out_iov, size_t out_count)
{
	/* Retries are for unrestricted ioctls, which only CUSE devices get. */
	fuse_log(FUSE_LOG_ERR, "fuse: fuse_reply_ioctl_retry: unrestricted ioctls are CUSE's, not available on umfs\n");
	return fuse_reply_err(req, ENOSYS);
}

int fuse_reply_poll(fuse_req_t req, unsigned revents)
{
	if (req->kind != K_POLL)
		return fuse_reply_err(req, EIO);
	*(unsigned *)req->extra = revents;
	return req_done(req, 0);
}

int fuse_lowlevel_notify_poll(struct fuse_pollhandle *ph)
{
	return umfs_notify_poll((umfs_pollhandle *)ph);
}

void fuse_pollhandle_destroy(struct fuse_pollhandle *ph)
{
	if (ph)
		umfs_pollhandle_destroy((umfs_pollhandle *)ph);
}

/* ---- request information ---- */

void *fuse_req_userdata(fuse_req_t req)
{
	return req->se->userdata;
}

const struct fuse_ctx *fuse_req_ctx(fuse_req_t req)
{
	return &req->ctx;
}

int fuse_req_getgroups(fuse_req_t req, int size, gid_t list[])
{
	if (!req->ur)
		return -ENOSYS;
	return umfs_req_groups(req->ur, list, size);
}

static void call_interrupt_func(umfs_req *ur, void *arg)
{
	struct fuse_req *r = arg;

	(void)ur;
	r->intr_func(r, r->intr_data);
}

void fuse_req_interrupt_func(fuse_req_t req, fuse_interrupt_func_t func, void *data)
{
	if (!req->ur)
		return;
	/* Cancel first (it waits for a call in progress), then change what is called. */
	if (req->intr_watched)
		umfs_req_on_interrupt(req->ur, NULL, NULL);
	req->intr_func = func;
	req->intr_data = data;
	req->intr_watched = func != NULL;
	if (func && umfs_req_on_interrupt(req->ur, call_interrupt_func, req) < 0) {
		/* No memory for the watch: an interrupt that came already still counts. */
		req->intr_watched = false;
		if (umfs_req_interrupted(req->ur))
			func(req, data);
	}
}

int fuse_req_interrupted(fuse_req_t req)
{
	return req->ur ? umfs_req_interrupted(req->ur) : 0;
}
