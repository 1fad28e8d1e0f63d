/* SPDX-License-Identifier: MIT */
/*
 * ll_ops.c - the libumfs callbacks that run a libfuse low-level program: each turns
 * its arguments into the libfuse call, with a struct fuse_req that knows where the
 * reply goes (see ll_req.c). The program's fuse_ino_t is libumfs's node context.
 */
#include <errno.h>
#include <string.h>

#include "fuse3_int.h"

#define SE(ur) ((struct fuse_session *)umfs_req_fs(ur))
#define BEGIN(kind)                                          \
	struct fuse_req *r = req_begin(SE(ur), ur, kind);   \
	if (!r)                                              \
		return -ENOMEM

static struct fuse_file_info *fi_of(struct fuse_req *r, void *fh)
{
	r->fi.fh = (uint64_t)(uintptr_t)fh;
	return &r->fi;
}

/* ---- capabilities: libfuse's FUSE_CAP_* <-> the kernel's INIT bits ---- */
static const struct { unsigned cap; uint64_t kern; } capmap[] = {
	{ FUSE_CAP_ASYNC_READ, 1ULL << 0 },     { FUSE_CAP_POSIX_LOCKS, 1ULL << 1 },
	{ FUSE_CAP_ATOMIC_O_TRUNC, 1ULL << 3 }, { FUSE_CAP_EXPORT_SUPPORT, 1ULL << 4 },
	{ FUSE_CAP_DONT_MASK, 1ULL << 6 },      { FUSE_CAP_SPLICE_WRITE, 1ULL << 7 },
	{ FUSE_CAP_SPLICE_MOVE, 1ULL << 8 },    { FUSE_CAP_SPLICE_READ, 1ULL << 9 },
	{ FUSE_CAP_FLOCK_LOCKS, 1ULL << 10 },   { FUSE_CAP_IOCTL_DIR, 1ULL << 11 },
	{ FUSE_CAP_AUTO_INVAL_DATA, 1ULL << 12 }, { FUSE_CAP_READDIRPLUS, 1ULL << 13 },
	{ FUSE_CAP_READDIRPLUS_AUTO, 1ULL << 14 }, { FUSE_CAP_ASYNC_DIO, 1ULL << 15 },
	{ FUSE_CAP_WRITEBACK_CACHE, 1ULL << 16 }, { FUSE_CAP_PARALLEL_DIROPS, 1ULL << 18 },
	{ FUSE_CAP_HANDLE_KILLPRIV, 1ULL << 19 }, { FUSE_CAP_POSIX_ACL, 1ULL << 20 },
	{ FUSE_CAP_CACHE_SYMLINKS, 1ULL << 23 }, { FUSE_CAP_EXPLICIT_INVAL_DATA, 1ULL << 25 },
	{ FUSE_CAP_EXPIRE_ONLY, 1ULL << 35 },
};
#define NCAPS (sizeof(capmap) / sizeof(capmap[0]))

static unsigned caps_of(uint64_t kern)
{
	unsigned c = 0;

	for (size_t i = 0; i < NCAPS; i++)
		if (kern & capmap[i].kern)
			c |= capmap[i].cap;
	return c;
}

static void ll_init(void *fs, struct umfs_conn *conn)
{
	struct fuse_session *se = fs;
	struct fuse_conn_info *ci = &se->conn;
	struct fuse_conn_info shown;
	struct umfs_conn_limits lim;

	memset(ci, 0, sizeof(*ci));
	ci->proto_major = 7;
	ci->proto_minor = umfs_conn_proto_minor(conn);
	/* Open and opendir may always answer ENOSYS ("open without asking"). */
	ci->capable = caps_of(umfs_conn_offered(conn)) | FUSE_CAP_NO_OPEN_SUPPORT |
		      FUSE_CAP_NO_OPENDIR_SUPPORT;
	/* libfuse's defaults: splice and export are opt-in, readdirplus needs the op. */
	ci->want = caps_of(umfs_conn_wanted(conn)) & ~(FUSE_CAP_SPLICE_READ |
		   FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE | FUSE_CAP_EXPORT_SUPPORT);
	if (!se->op.readdirplus)
		ci->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
	/* libumfs's values; what the program changes goes to the kernel (libumfs lowers
	 * max_write and max_readahead only: its buffers are sized already). The
	 * background limits start at 0 as on libfuse: unless the program sets them, the
	 * kernel keeps its own (12 and 9), the values the program runs with on libfuse. */
	ci->max_write = se->cfg.max_write;
	ci->max_readahead = 128 * 1024;
	ci->max_background = 0;
	ci->congestion_threshold = 0;
	ci->time_gran = 1;
	shown = *ci;
	if (se->op.init)
		se->op.init(se->userdata, ci);
	for (size_t i = 0; i < NCAPS; i++) {
		if (ci->want & capmap[i].cap)
			umfs_conn_want(conn, capmap[i].kern);
		else
			umfs_conn_unwant(conn, capmap[i].kern);
	}
#define CHANGED(field) (ci->field != shown.field ? ci->field : 0)
	lim.max_write = CHANGED(max_write);
	lim.max_readahead = CHANGED(max_readahead);
	lim.max_background = ci->max_background ? ci->max_background : UMFS_LIMIT_KERNEL;
	lim.congestion_threshold = ci->congestion_threshold ? ci->congestion_threshold
							    : UMFS_LIMIT_KERNEL;
	lim.time_gran = CHANGED(time_gran);
#undef CHANGED
	umfs_conn_set_limits(conn, &lim);
}

static void ll_destroy(void *fs)
{
	struct fuse_session *se = fs;

	if (se->op.destroy)
		se->op.destroy(se->userdata);
}

static int ll_lookup(umfs_req *ur, void *dir, const char *name, struct umfs_entry *out)
{
	BEGIN(K_ENTRY);
	r->entry = out;
	r->se->op.lookup(r, node_ino(dir), name);
	return (int)req_end(r);
}

static void ll_forget(void *fs, void *node, uint64_t n)
{
	struct fuse_session *se = fs;
	struct fuse_req *r = req_begin(se, NULL, K_NONE);

	if (!r)
		return;
	if (se->op.forget) {
		se->op.forget(r, node_ino(node), n);
	} else {
		struct fuse_forget_data d = { node_ino(node), n };

		se->op.forget_multi(r, 1, &d);
	}
	req_end(r);
}

static int ll_getattr(umfs_req *ur, void *node, void *fh, struct umfs_attr *out)
{
	BEGIN(K_ATTR);
	r->attr = out;
	r->se->op.getattr(r, node_ino(node), fh ? fi_of(r, fh) : NULL);
	return (int)req_end(r);
}

static int ll_setattr(umfs_req *ur, void *node, void *fh, const struct stat *in, unsigned valid,
		      struct umfs_attr *out)
{
	BEGIN(K_ATTR);
	r->attr = out;
	r->st = *in;
	r->se->op.setattr(r, node_ino(node), &r->st, (int)valid, fh ? fi_of(r, fh) : NULL);
	return (int)req_end(r);
}

static int ll_readlink(umfs_req *ur, void *node, char *buf, size_t size)
{
	BEGIN(K_READLINK);
	r->buf = buf;
	r->size = size;
	r->se->op.readlink(r, node_ino(node));
	return (int)req_end(r);
}

static int ll_mknod(umfs_req *ur, void *dir, const char *name, mode_t mode, dev_t rdev,
		    struct umfs_entry *out)
{
	BEGIN(K_ENTRY);
	r->entry = out;
	r->se->op.mknod(r, node_ino(dir), name, mode, rdev);
	return (int)req_end(r);
}

static int ll_mkdir(umfs_req *ur, void *dir, const char *name, mode_t mode,
		    struct umfs_entry *out)
{
	BEGIN(K_ENTRY);
	r->entry = out;
	r->se->op.mkdir(r, node_ino(dir), name, mode);
	return (int)req_end(r);
}

static int ll_symlink(umfs_req *ur, void *dir, const char *name, const char *target,
		      struct umfs_entry *out)
{
	BEGIN(K_ENTRY);
	r->entry = out;
	r->se->op.symlink(r, target, node_ino(dir), name);
	return (int)req_end(r);
}

static int ll_link(umfs_req *ur, void *node, void *newdir, const char *newname,
		   struct umfs_entry *out)
{
	BEGIN(K_ENTRY);
	r->entry = out;
	r->se->op.link(r, node_ino(node), node_ino(newdir), newname);
	return (int)req_end(r);
}

static int ll_unlink(umfs_req *ur, void *dir, const char *name)
{
	BEGIN(K_STATUS);
	r->se->op.unlink(r, node_ino(dir), name);
	return (int)req_end(r);
}

static int ll_rmdir(umfs_req *ur, void *dir, const char *name)
{
	BEGIN(K_STATUS);
	r->se->op.rmdir(r, node_ino(dir), name);
	return (int)req_end(r);
}

static int ll_rename(umfs_req *ur, void *dir, const char *name, void *newdir,
		     const char *newname, unsigned flags)
{
	BEGIN(K_STATUS);
	r->se->op.rename(r, node_ino(dir), name, node_ino(newdir), newname, flags);
	return (int)req_end(r);
}

static int ll_open(umfs_req *ur, void *node, int flags, struct umfs_open *out)
{
	BEGIN(K_OPEN);
	r->open = out;
	r->fi.flags = flags;
	r->se->op.open(r, node_ino(node), &r->fi);
	return (int)req_end(r);
}

static int ll_create(umfs_req *ur, void *dir, const char *name, mode_t mode, int flags,
		     struct umfs_entry *entry, struct umfs_open *out)
{
	BEGIN(K_CREATE);
	r->entry = entry;
	r->open = out;
	r->fi.flags = flags;
	r->se->op.create(r, node_ino(dir), name, mode, &r->fi);
	return (int)req_end(r);
}

static int ll_read(umfs_req *ur, void *node, void *fh, void *buf, size_t size, off_t off)
{
	BEGIN(K_DATA);
	r->buf = buf;
	r->size = size;
	r->se->op.read(r, node_ino(node), size, off, fi_of(r, fh));
	return (int)req_end(r);
}

static int ll_write(umfs_req *ur, void *node, void *fh, const void *buf, size_t size,
		    off_t off, unsigned flags)
{
	BEGIN(K_COUNT);
	struct fuse_file_info *fi = fi_of(r, fh);

	fi->writepage = (flags & UMFS_WRITE_CACHE) != 0;
	if (r->se->op.write_buf) {
		struct fuse_bufvec *bv = (struct fuse_bufvec *)&r->st; /* room enough */

		_Static_assert(sizeof(struct fuse_bufvec) <= sizeof(struct stat), "bufvec room");
		*bv = FUSE_BUFVEC_INIT(size);
		bv->buf[0].mem = (void *)buf;
		r->se->op.write_buf(r, node_ino(node), bv, off, fi);
	} else {
		r->se->op.write(r, node_ino(node), buf, size, off, fi);
	}
	return (int)req_end(r);
}

static int ll_flush(umfs_req *ur, void *node, void *fh, uint64_t lock_owner)
{
	BEGIN(K_STATUS);
	struct fuse_file_info *fi = fi_of(r, fh);

	fi->flush = 1;
	fi->lock_owner = lock_owner;
	r->se->op.flush(r, node_ino(node), fi);
	return (int)req_end(r);
}

static int ll_release(umfs_req *ur, void *node, void *fh, int flags)
{
	BEGIN(K_STATUS);
	struct fuse_file_info *fi = fi_of(r, fh);

	fi->flags = flags;
	r->se->op.release(r, node_ino(node), fi);
	return (int)req_end(r);
}

static int ll_fsync(umfs_req *ur, void *node, void *fh, int datasync)
{
	BEGIN(K_STATUS);
	r->se->op.fsync(r, node_ino(node), datasync, fi_of(r, fh));
	return (int)req_end(r);
}

static int ll_opendir(umfs_req *ur, void *node, int flags, struct umfs_open *out)
{
	BEGIN(K_OPEN);
	r->open = out;
	r->fi.flags = flags;
	r->se->op.opendir(r, node_ino(node), &r->fi);
	return (int)req_end(r);
}

/* A program without opendir: libfuse answers it with success, so the kernel keeps
 * asking readdir each time (an ENOSYS would make it cache listings). */
static int ll_opendir_default(umfs_req *ur, void *node, int flags, struct umfs_open *out)
{
	(void)ur; (void)node; (void)flags;
	out->fh = NULL;
	return 0;
}

static int ll_readdir(umfs_req *ur, void *node, void *fh, off_t off, umfs_dirbuf *buf)
{
	size_t size = umfs_dir_space(buf);
	bool plus = umfs_dir_plus(buf) && SE(ur)->op.readdirplus;

	if (!plus && !SE(ur)->op.readdir)
		return -ENOSYS; /* a program with readdirplus only, as on libfuse */
	BEGIN(K_DIR);
	r->dir = buf;
	r->plus = plus;
	if (r->plus)
		r->se->op.readdirplus(r, node_ino(node), size, off, fi_of(r, fh));
	else
		r->se->op.readdir(r, node_ino(node), size, off, fi_of(r, fh));
	return (int)req_end(r);
}

static int ll_releasedir(umfs_req *ur, void *node, void *fh)
{
	BEGIN(K_STATUS);
	r->se->op.releasedir(r, node_ino(node), fi_of(r, fh));
	return (int)req_end(r);
}

static int ll_fsyncdir(umfs_req *ur, void *node, void *fh, int datasync)
{
	BEGIN(K_STATUS);
	r->se->op.fsyncdir(r, node_ino(node), datasync, fi_of(r, fh));
	return (int)req_end(r);
}

static int ll_statfs(umfs_req *ur, void *node, struct statvfs *out)
{
	BEGIN(K_STATFS);
	r->stvfs = out;
	r->se->op.statfs(r, node_ino(node));
	return (int)req_end(r);
}

static int ll_setxattr(umfs_req *ur, void *node, const char *name, const void *value,
		       size_t size, int flags)
{
	BEGIN(K_STATUS);
	r->se->op.setxattr(r, node_ino(node), name, value, size, flags);
	return (int)req_end(r);
}

static int ll_getxattr(umfs_req *ur, void *node, const char *name, void *buf, size_t size)
{
	BEGIN(K_XATTR);
	r->buf = buf;
	r->size = size;
	r->se->op.getxattr(r, node_ino(node), name, size);
	return (int)req_end(r);
}

static int ll_listxattr(umfs_req *ur, void *node, char *buf, size_t size)
{
	BEGIN(K_XATTR);
	r->buf = buf;
	r->size = size;
	r->se->op.listxattr(r, node_ino(node), size);
	return (int)req_end(r);
}

static int ll_removexattr(umfs_req *ur, void *node, const char *name)
{
	BEGIN(K_STATUS);
	r->se->op.removexattr(r, node_ino(node), name);
	return (int)req_end(r);
}

static int ll_access(umfs_req *ur, void *node, int mask)
{
	BEGIN(K_STATUS);
	r->se->op.access(r, node_ino(node), mask);
	return (int)req_end(r);
}

static int ll_getlk(umfs_req *ur, void *node, void *fh, uint64_t owner, struct flock *lk)
{
	BEGIN(K_LOCK);
	struct fuse_file_info *fi = fi_of(r, fh);

	fi->lock_owner = owner;
	r->lk = lk;
	r->se->op.getlk(r, node_ino(node), fi, lk);
	return (int)req_end(r);
}

static int ll_setlk(umfs_req *ur, void *node, void *fh, uint64_t owner, const struct flock *lk,
		    int wait)
{
	BEGIN(K_STATUS);
	struct fuse_file_info *fi = fi_of(r, fh);
	struct flock *l = (struct flock *)&r->st;

	_Static_assert(sizeof(struct flock) <= sizeof(struct stat), "flock room");
	fi->lock_owner = owner;
	*l = *lk;
	r->se->op.setlk(r, node_ino(node), fi, l, wait);
	return (int)req_end(r);
}

static int ll_flock(umfs_req *ur, void *node, void *fh, uint64_t owner, int op)
{
	BEGIN(K_STATUS);
	struct fuse_file_info *fi = fi_of(r, fh);

	fi->lock_owner = owner;
	r->se->op.flock(r, node_ino(node), fi, op);
	return (int)req_end(r);
}

static int ll_fallocate(umfs_req *ur, void *node, void *fh, int mode, off_t off, off_t len)
{
	BEGIN(K_STATUS);
	r->se->op.fallocate(r, node_ino(node), mode, off, len, fi_of(r, fh));
	return (int)req_end(r);
}

static ssize_t ll_copy_file_range(umfs_req *ur, void *node_in, void *fh_in, off_t off_in,
				  void *node_out, void *fh_out, off_t off_out, size_t len,
				  int flags)
{
	BEGIN(K_COUNT);
	r->fi_out.fh = (uint64_t)(uintptr_t)fh_out;
	r->se->op.copy_file_range(r, node_ino(node_in), off_in, fi_of(r, fh_in),
				  node_ino(node_out), off_out, &r->fi_out, len, flags);
	return req_end(r);
}

static int ll_lseek(umfs_req *ur, void *node, void *fh, off_t off, int whence, off_t *out)
{
	BEGIN(K_LSEEK);
	r->off_out = out;
	r->se->op.lseek(r, node_ino(node), off, whence, fi_of(r, fh));
	return (int)req_end(r);
}

static int ll_ioctl(umfs_req *ur, void *node, void *fh, unsigned int cmd, uint64_t arg,
		    unsigned flags, const void *in, size_t in_size, void *out, size_t out_size,
		    size_t *out_len)
{
	BEGIN(K_IOCTL);
	unsigned f = 0;

	if (flags & UMFS_IOCTL_COMPAT)
		f |= FUSE_IOCTL_COMPAT;
	if (flags & UMFS_IOCTL_DIR)
		f |= FUSE_IOCTL_DIR;
	r->buf = out;
	r->size = out_size;
	r->extra = out_len;
	r->se->op.ioctl(r, node_ino(node), (int)cmd, (void *)(uintptr_t)arg, fi_of(r, fh), f,
			in_size ? in : NULL, in_size, out_size);
	return (int)req_end(r);
}

static int ll_poll(umfs_req *ur, void *node, void *fh, unsigned events, umfs_pollhandle *ph,
		   unsigned *revents)
{
	BEGIN(K_POLL);
	struct fuse_file_info *fi = fi_of(r, fh);

	fi->poll_events = events;
	r->extra = revents;
	/* A fuse_pollhandle is libumfs's: the same object under libfuse's name. */
	r->se->op.poll(r, node_ino(node), fi, (struct fuse_pollhandle *)ph);
	return (int)req_end(r);
}

static void ll_retrieve_reply(void *fs, void *cookie, void *node, off_t off, const void *data,
			      size_t size)
{
	struct fuse_session *se = fs;
	struct fuse_req *r = req_begin(se, NULL, K_NONE);
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

	if (!r)
		return;
	bv.buf[0].mem = (void *)data;
	se->op.retrieve_reply(r, cookie, node_ino(node), off, &bv);
	req_end(r);
}

/* Only the operations the program has: a NULL one keeps libumfs's meaning (ENOSYS,
 * or the kernel's own handling, as libfuse's missing ones do). */
void ll_fill_uops(struct fuse_session *se)
{
	struct umfs_operations *u = &se->uops;
	const struct fuse_lowlevel_ops *o = &se->op;

	memset(u, 0, sizeof(*u));
	u->version = UMFS_API_VERSION;
	u->size = sizeof(*u);
	u->init = ll_init;
	u->destroy = ll_destroy;
#define SET(name) if (o->name) u->name = ll_##name
	SET(lookup); SET(getattr); SET(setattr); SET(readlink); SET(mknod); SET(mkdir);
	SET(symlink); SET(link); SET(unlink); SET(rmdir); SET(rename); SET(open);
	SET(create); SET(read); SET(flush); SET(release); SET(fsync); SET(opendir);
	if (o->readdir || o->readdirplus) /* READDIR and READDIRPLUS both come here */
		u->readdir = ll_readdir;
	SET(releasedir); SET(fsyncdir); SET(statfs); SET(setxattr);
	SET(getxattr); SET(listxattr); SET(removexattr); SET(access); SET(getlk);
	SET(setlk); SET(flock); SET(fallocate); SET(copy_file_range); SET(lseek);
	if (o->forget || o->forget_multi)
		u->forget = ll_forget;
	if (o->write || o->write_buf)
		u->write = ll_write;
	if (!o->opendir && (o->readdir || o->readdirplus))
		u->opendir = ll_opendir_default;
	SET(ioctl); SET(poll); SET(retrieve_reply);
#undef SET
}
