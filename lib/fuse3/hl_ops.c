/* SPDX-License-Identifier: MIT */
/*
 * hl_ops.c - the low-level operations that run a path-based program: each builds
 * the path(s) from the tree (hl_tree.c), calls the program's operation with the
 * caller's context set, and answers.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl_int.h"

static __thread struct fuse_context cur_ctx;
static __thread fuse_req_t cur_req;

struct fuse_context *fuse_get_context(void)
{
	return &cur_ctx;
}

int fuse_interrupted(void)
{
	return cur_req ? fuse_req_interrupted(cur_req) : 0;
}

int fuse_getgroups(int size, gid_t list[])
{
	return cur_req ? fuse_req_getgroups(cur_req, size, list) : -EPERM;
}

/* Set the thread's context for the program's operation. */
static struct fuse *enter(fuse_req_t req)
{
	struct fuse *f = fuse_req_userdata(req);
	const struct fuse_ctx *c = fuse_req_ctx(req);

	cur_req = req;
	cur_ctx.fuse = f;
	cur_ctx.uid = c->uid;
	cur_ctx.gid = c->gid;
	cur_ctx.pid = c->pid;
	cur_ctx.umask = c->umask;
	cur_ctx.private_data = f->user_data;
	return f;
}

/* Before answering: the paths the operation used may change from now on. */
static void leave(void)
{
	tree_release();
	cur_req = NULL;
}

#define PATH_OR_REPLY(f, ino, name, p)                          \
	do {                                                    \
		int e_ = tree_hold(f, ino, name, &(p), 0, NULL, NULL, false); \
		if (e_ < 0) {                                   \
			leave();                                \
			fuse_reply_err(req, -e_);               \
			return;                                 \
		}                                               \
	} while (0)

static void reply_status(fuse_req_t req, int rc)
{
	leave();
	fuse_reply_err(req, rc < 0 ? -rc : 0);
}

/* The program's attributes, with the library's settings applied. */
static void fix_attr(struct fuse *f, struct node *n, struct stat *st)
{
	if (!f->conf.use_ino)
		st->st_ino = n ? n->ino : st->st_ino;
	/* A file parked under a hidden name has no name left, as far as programs know. */
	if (n && n->hidden && st->st_nlink > 0)
		st->st_nlink--;
	if (f->conf.set_mode)
		st->st_mode = (st->st_mode & S_IFMT) | (0777 & ~f->conf.umask);
	if (f->conf.set_uid)
		st->st_uid = f->conf.uid;
	if (f->conf.set_gid)
		st->st_gid = f->conf.gid;
}

static int do_getattr(struct fuse *f, const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	memset(st, 0, sizeof(*st));
	if (!f->op.getattr)
		return -ENOSYS;
	return f->op.getattr(path, st, fi);
}

/* After a successful lookup-like operation: stat the path, add the name. */
static int make_entry(struct fuse *f, fuse_ino_t parent, const char *name, const char *path,
		      struct fuse_entry_param *e, struct fuse_file_info *fi)
{
	struct node *n;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = do_getattr(f, path, &e->attr, fi);
	if (rc < 0)
		return rc;
	n = tree_ref(f, parent, name);
	if (!n)
		return -ENOMEM;
	fix_attr(f, n, &e->attr);
	e->ino = node_id(f, n);
	/* The id is the node's address, which a later node may get again: its creation
	 * number tells them apart (the kernel takes the pair as the file's identity). */
	e->generation = n->ino;
	e->entry_timeout = f->conf.entry_timeout;
	e->attr_timeout = f->conf.attr_timeout;
	return 0;
}

static void hl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse *f = enter(req);
	struct fuse_entry_param e;
	char *path;
	int rc;

	PATH_OR_REPLY(f, parent, name, path);
	rc = make_entry(f, parent, name, path, &e, NULL);
	free(path);
	leave();
	if (rc == -ENOENT && f->conf.negative_timeout > 0) {
		memset(&e, 0, sizeof(e));
		e.entry_timeout = f->conf.negative_timeout;
		fuse_reply_entry(req, &e);
	} else if (rc < 0) {
		fuse_reply_err(req, -rc);
	} else {
		fuse_reply_entry(req, &e);
	}
}

static void hl_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fuse *f = fuse_req_userdata(req);

	tree_forget(f, ino, nlookup);
	fuse_reply_none(req);
}

static struct fuse_file_info *fi_or_null(struct fuse_file_info *fi)
{
	return fi;
}

static void hl_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fuse *f = enter(req);
	struct stat st;
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = do_getattr(f, path, &st, fi_or_null(fi));
	free(path);
	leave();
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else {
		fix_attr(f, tree_node(f, ino), &st);
		fuse_reply_attr(req, &st, f->conf.attr_timeout);
	}
}

static void hl_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		       struct fuse_file_info *fi)
{
	struct fuse *f = enter(req);
	struct stat st;
	char *path;
	int rc = 0;

	PATH_OR_REPLY(f, ino, NULL, path);
	if (valid & FUSE_SET_ATTR_MODE)
		rc = f->op.chmod ? f->op.chmod(path, attr->st_mode, fi) : -ENOSYS;
	if (!rc && (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		rc = f->op.chown ? f->op.chown(path,
					       valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1,
					       valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1, fi)
				 : -ENOSYS;
	if (!rc && (valid & FUSE_SET_ATTR_SIZE))
		rc = f->op.truncate ? f->op.truncate(path, attr->st_size, fi) : -ENOSYS;
	if (!rc && (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		struct timespec tv[2];

		tv[0].tv_sec = tv[1].tv_sec = 0;
		tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		rc = f->op.utimens ? f->op.utimens(path, tv, fi) : -ENOSYS;
	}
	if (!rc)
		rc = do_getattr(f, path, &st, fi);
	free(path);
	leave();
	if (rc < 0) {
		fuse_reply_err(req, -rc);
	} else {
		fix_attr(f, tree_node(f, ino), &st);
		fuse_reply_attr(req, &st, f->conf.attr_timeout);
	}
}

static void hl_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse *f = enter(req);
	char buf[PATH_MAX + 1];
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	buf[0] = '\0';
	rc = f->op.readlink ? f->op.readlink(path, buf, sizeof(buf)) : -ENOSYS;
	free(path);
	leave();
	buf[PATH_MAX] = '\0';
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_readlink(req, buf);
}

/* Answer a creating operation: the new name as an entry. */
static void reply_new(fuse_req_t req, struct fuse *f, fuse_ino_t parent, const char *name,
		      char *path, int rc)
{
	struct fuse_entry_param e;

	if (rc == 0)
		rc = make_entry(f, parent, name, path, &e, NULL);
	free(path);
	leave();
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

static void hl_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, parent, name, path);
	if (S_ISREG(mode) && f->op.create && !f->op.mknod) {
		struct fuse_file_info fi;

		memset(&fi, 0, sizeof(fi));
		fi.flags = O_CREAT | O_EXCL | O_WRONLY;
		rc = f->op.create(path, mode, &fi);
		if (rc == 0 && f->op.release)
			f->op.release(path, &fi);
	} else {
		rc = f->op.mknod ? f->op.mknod(path, mode, rdev) : -ENOSYS;
	}
	reply_new(req, f, parent, name, path, rc);
}

static void hl_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fuse *f = enter(req);
	char *path;

	PATH_OR_REPLY(f, parent, name, path);
	reply_new(req, f, parent, name, path, f->op.mkdir ? f->op.mkdir(path, mode) : -ENOSYS);
}

static void hl_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct fuse *f = enter(req);
	char *path;

	PATH_OR_REPLY(f, parent, name, path);
	reply_new(req, f, parent, name, path,
		  f->op.symlink ? f->op.symlink(link, path) : -ENOSYS);
}

static void hl_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct fuse *f = enter(req);
	char *from, *to;
	int rc;

	rc = tree_hold(f, ino, NULL, &from, newparent, newname, &to, false);
	if (rc < 0) {
		reply_status(req, rc);
		return;
	}
	rc = f->op.link ? f->op.link(from, to) : -ENOSYS;
	free(from);
	reply_new(req, f, newparent, newname, to, rc);
}

/* An open file losing its name: rename it to a hidden name instead (libfuse's way
 * to keep it readable until the last close). 1: hidden; 0: not open; -errno. */
static int hide(struct fuse *f, fuse_ino_t parent, const char *name, const char *path)
{
	struct node *n = tree_find(f, parent, name);
	char hname[64], *hpath = NULL;
	struct stat st;
	int rc = -EBUSY;

	if (!n || n->open_count == 0 || f->conf.hard_remove || !f->op.rename)
		return 0;
	for (int tries = 0; tries < 10; tries++) {
		pthread_mutex_lock(&f->lock);
		snprintf(hname, sizeof(hname), ".fuse_hidden%08x%08x", (unsigned)n->ino,
			 ++f->hidectr);
		pthread_mutex_unlock(&f->lock);
		free(hpath);
		if (tree_path(f, parent, hname, &hpath) < 0)
			return -ENOMEM;
		if (tree_find(f, parent, hname) || do_getattr(f, hpath, &st, NULL) == 0)
			continue;
		rc = f->op.rename(path, hpath, 0);
		if (rc == 0) {
			rc = tree_rename(f, parent, name, parent, hname, false);
			n->hidden = true;
			rc = rc < 0 ? rc : 1;
		}
		break;
	}
	free(hpath);
	return rc;
}

static void hl_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	rc = tree_hold(f, parent, name, &path, 0, NULL, NULL, true);
	if (rc < 0) {
		reply_status(req, rc);
		return;
	}
	rc = hide(f, parent, name, path);
	if (rc == 0) {
		rc = f->op.unlink ? f->op.unlink(path) : -ENOSYS;
		if (rc == 0)
			tree_remove(f, parent, name);
	} else if (rc == 1) {
		rc = 0;
	}
	free(path);
	reply_status(req, rc);
}

static void hl_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	rc = tree_hold(f, parent, name, &path, 0, NULL, NULL, true);
	if (rc < 0) {
		reply_status(req, rc);
		return;
	}
	rc = f->op.rmdir ? f->op.rmdir(path) : -ENOSYS;
	if (rc == 0)
		tree_remove(f, parent, name);
	free(path);
	reply_status(req, rc);
}

static void hl_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fuse *f = enter(req);
	char *from, *to;
	int rc;

	/* The source and the target alone, their directories' paths held. */
	rc = tree_hold(f, parent, name, &from, newparent, newname, &to, true);
	if (rc < 0) {
		reply_status(req, rc);
		return;
	}
	rc = 0;
	/* A target still open keeps its data under a hidden name (not with NOREPLACE,
	 * where an existing target is an error, nor EXCHANGE, where it keeps a name). */
	if (!(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)))
		rc = hide(f, newparent, newname, to);
	if (rc >= 0) {
		rc = f->op.rename ? f->op.rename(from, to, flags) : -ENOSYS;
		if (rc == 0)
			rc = tree_rename(f, parent, name, newparent, newname,
					 (flags & RENAME_EXCHANGE) != 0);
	}
	free(from);
	free(to);
	reply_status(req, rc);
}

/* Open files keep the high-level program's own file info; the kernel's handle is
 * the program's fh as is. */
static void opened(struct fuse *f, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (f->conf.direct_io)
		fi->direct_io = 1;
	if (f->conf.kernel_cache)
		fi->keep_cache = 1;
	tree_open(f, tree_node(f, ino), 1);
}

static void hl_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = f->op.open ? f->op.open(path, fi) : 0;
	free(path);
	leave();
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	opened(f, ino, fi);
	fuse_reply_open(req, fi);
}

static void hl_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fuse *f = enter(req);
	struct fuse_entry_param e;
	char *path;
	int rc;

	PATH_OR_REPLY(f, parent, name, path);
	rc = f->op.create ? f->op.create(path, mode, fi) : -ENOSYS;
	if (rc == 0) {
		rc = make_entry(f, parent, name, path, &e, fi);
		if (rc < 0 && f->op.release)
			f->op.release(path, fi);
	}
	free(path);
	leave();
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	opened(f, e.ino, fi);
	fuse_reply_create(req, &e, fi);
}

static void hl_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	if (f->op.read_buf) {
		struct fuse_bufvec *bv = NULL;

		rc = f->op.read_buf(path, &bv, size, off, fi);
		free(path);
		leave();
		if (rc < 0)
			fuse_reply_err(req, -rc);
		else
			fuse_reply_data(req, bv, FUSE_BUF_NO_SPLICE);
		if (bv) {
			for (size_t i = 0; i < bv->count; i++)
				if (!(bv->buf[i].flags & FUSE_BUF_IS_FD))
					free(bv->buf[i].mem);
			free(bv);
		}
		return;
	}
	char *buf = malloc(size ? size : 1);

	if (!buf) {
		free(path);
		reply_status(req, -ENOMEM);
		return;
	}
	rc = f->op.read ? f->op.read(path, buf, size, off, fi) : -ENOSYS;
	free(path);
	leave();
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, (size_t)rc > size ? size : (size_t)rc);
	free(buf);
}

static void hl_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *bufv, off_t off,
			 struct fuse_file_info *fi)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	if (f->op.write_buf) {
		rc = f->op.write_buf(path, bufv, off, fi);
	} else if (f->op.write) {
		size_t size = fuse_buf_size(bufv);

		if (bufv->count == 1 && !(bufv->buf[0].flags & FUSE_BUF_IS_FD)) {
			rc = f->op.write(path, bufv->buf[0].mem, size, off, fi);
		} else {
			struct fuse_bufvec mem = FUSE_BUFVEC_INIT(size);

			mem.buf[0].mem = malloc(size ? size : 1);
			rc = mem.buf[0].mem ? (int)fuse_buf_copy(&mem, bufv, 0) : -ENOMEM;
			if (rc >= 0)
				rc = f->op.write(path, mem.buf[0].mem, (size_t)rc, off, fi);
			free(mem.buf[0].mem);
		}
	} else {
		rc = -ENOSYS;
	}
	free(path);
	leave();
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, (size_t)rc);
}

static void hl_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = f->op.flush ? f->op.flush(path, fi) : -ENOSYS;
	if (f->op.lock) {
		/* Closing a descriptor drops the closing process's POSIX locks. */
		struct flock lk;

		memset(&lk, 0, sizeof(lk));
		lk.l_type = F_UNLCK;
		lk.l_whence = SEEK_SET;
		f->op.lock(path, fi, F_SETLK, &lk);
		if (rc == -ENOSYS)
			rc = 0;
	}
	free(path);
	reply_status(req, rc);
}

static void hl_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fuse *f = enter(req);
	struct node *n = tree_node(f, ino);
	char *path = NULL;
	bool unlink_hidden;

	if (tree_hold(f, ino, NULL, &path, 0, NULL, NULL, false) < 0)
		path = NULL;
	if (f->op.release)
		f->op.release(path ? path : "", fi);
	pthread_mutex_lock(&f->lock);
	unlink_hidden = n->hidden && n->open_count == 1;
	pthread_mutex_unlock(&f->lock);
	if (unlink_hidden && path && f->op.unlink) {
		f->op.unlink(path);
		pthread_mutex_lock(&f->lock);
		n->hidden = false;
		pthread_mutex_unlock(&f->lock);
		if (n->parent) {
			const char *slash = strrchr(path, '/');

			tree_remove(f, node_id(f, n->parent), slash + 1);
		}
	}
	tree_open(f, n, -1);
	free(path);
	reply_status(req, 0);
}

static void hl_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = f->op.fsync ? f->op.fsync(path, datasync, fi) : -ENOSYS;
	free(path);
	reply_status(req, rc);
}

static void hl_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse *f = enter(req);
	struct statvfs st;
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	memset(&st, 0, sizeof(st));
	if (f->op.statfs) {
		rc = f->op.statfs(path, &st);
	} else {
		st.f_namemax = 255;
		st.f_bsize = 512;
		rc = 0;
	}
	free(path);
	leave();
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_statfs(req, &st);
}

static void hl_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = f->op.setxattr ? f->op.setxattr(path, name, value, size, flags) : -ENOSYS;
	free(path);
	reply_status(req, rc);
}

/* getxattr and listxattr: size 0 asks for the size. */
static void reply_xattr(fuse_req_t req, int rc, const char *buf, size_t size)
{
	leave();
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)rc);
	else
		fuse_reply_buf(req, buf, (size_t)rc > size ? size : (size_t)rc);
}

static void hl_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fuse *f = enter(req);
	char *path, *buf = NULL;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	if (size && !(buf = malloc(size))) {
		free(path);
		reply_status(req, -ENOMEM);
		return;
	}
	rc = f->op.getxattr ? f->op.getxattr(path, name, buf, size) : -ENOSYS;
	free(path);
	reply_xattr(req, rc, buf, size);
	free(buf);
}

static void hl_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fuse *f = enter(req);
	char *path, *buf = NULL;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	if (size && !(buf = malloc(size))) {
		free(path);
		reply_status(req, -ENOMEM);
		return;
	}
	rc = f->op.listxattr ? f->op.listxattr(path, buf, size) : -ENOSYS;
	free(path);
	reply_xattr(req, rc, buf, size);
	free(buf);
}

static void hl_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = f->op.removexattr ? f->op.removexattr(path, name) : -ENOSYS;
	free(path);
	reply_status(req, rc);
}

static void hl_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = f->op.access ? f->op.access(path, mask) : -ENOSYS;
	free(path);
	reply_status(req, rc);
}

static void hl_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     struct flock *lock)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = f->op.lock ? f->op.lock(path, fi, F_GETLK, lock) : -ENOSYS;
	free(path);
	leave();
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_lock(req, lock);
}

static void hl_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     struct flock *lock, int sleep)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = f->op.lock ? f->op.lock(path, fi, sleep ? F_SETLKW : F_SETLK, lock) : -ENOSYS;
	free(path);
	reply_status(req, rc);
}

static void hl_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = f->op.flock ? f->op.flock(path, fi, op) : -ENOSYS;
	free(path);
	reply_status(req, rc);
}

static void hl_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	struct fuse *f = enter(req);
	char *path;
	int rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = f->op.fallocate ? f->op.fallocate(path, mode, off, len, fi) : -ENOSYS;
	free(path);
	reply_status(req, rc);
}

static void hl_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			       struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len, int flags)
{
	struct fuse *f = enter(req);
	char *pin, *pout;
	ssize_t rc;

	rc = tree_hold(f, ino_in, NULL, &pin, ino_out, NULL, &pout, false);
	if (rc < 0) {
		reply_status(req, (int)rc);
		return;
	}
	rc = f->op.copy_file_range ? f->op.copy_file_range(pin, fi_in, off_in, pout, fi_out,
							   off_out, len, flags)
				   : -ENOSYS;
	free(pin);
	free(pout);
	leave();
	if (rc < 0)
		fuse_reply_err(req, (int)-rc);
	else
		fuse_reply_write(req, (size_t)rc);
}

static void hl_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct fuse *f = enter(req);
	char *path;
	off_t rc;

	PATH_OR_REPLY(f, ino, NULL, path);
	rc = f->op.lseek ? f->op.lseek(path, off, whence, fi) : -ENOSYS;
	free(path);
	leave();
	if (rc < 0)
		fuse_reply_err(req, (int)-rc);
	else
		fuse_reply_lseek(req, rc);
}

/* ---- directories (hl_dir.c does the listings) ---- */
void hl_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void hl_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void hl_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void hl_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void hl_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void hl_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
	      struct fuse_file_info *fi, unsigned flags, const void *in_buf, size_t in_bufsz,
	      size_t out_bufsz);
void hl_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	     struct fuse_pollhandle *ph);
struct fuse *hl_enter(fuse_req_t req);
void hl_leave(void);

struct fuse *hl_enter(fuse_req_t req)
{
	return enter(req);
}

void hl_leave(void)
{
	leave();
}

static void hl_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fuse *f = userdata;

	cur_ctx.fuse = f;
	cur_ctx.private_data = f->user_data;
	cur_ctx.uid = getuid();
	cur_ctx.gid = getgid();
	cur_ctx.pid = getpid();
	if (f->op.write_buf || f->op.write)
		conn->want |= conn->capable & FUSE_CAP_ASYNC_READ;
	if (f->op.init)
		f->user_data = f->op.init(conn, &f->conf);
	/* POSIX and flock locks go to the program only when it implements them. */
	if (!f->op.lock)
		conn->want &= ~FUSE_CAP_POSIX_LOCKS;
	if (!f->op.flock)
		conn->want &= ~FUSE_CAP_FLOCK_LOCKS;
	/* A node's id is its address (hl_tree.c): the kernel must never send one back
	 * from a file handle after the node is gone, which it does only for an exported
	 * file system. (This layer has no lookup of "." and ".." for export either.) */
	conn->want &= ~FUSE_CAP_EXPORT_SUPPORT;
}

static void hl_destroy(void *userdata)
{
	struct fuse *f = userdata;

	cur_ctx.fuse = f;
	cur_ctx.private_data = f->user_data;
	if (f->op.destroy)
		f->op.destroy(f->user_data);
}

void hl_fill_ll_ops(struct fuse *f, struct fuse_lowlevel_ops *o);
void hl_fill_ll_ops(struct fuse *f, struct fuse_lowlevel_ops *o)
{
	memset(o, 0, sizeof(*o));
	o->init = hl_init;
	o->destroy = hl_destroy;
	o->lookup = hl_lookup;
	o->forget = hl_forget;
	o->getattr = hl_getattr;
	o->setattr = hl_setattr;
	o->readlink = hl_readlink;
	o->mknod = hl_mknod;
	o->mkdir = hl_mkdir;
	o->symlink = hl_symlink;
	o->link = hl_link;
	o->unlink = hl_unlink;
	o->rmdir = hl_rmdir;
	o->rename = hl_rename;
	o->open = hl_open;
	o->create = f->op.create ? hl_create : NULL;
	o->read = hl_read;
	o->write_buf = hl_write_buf;
	o->flush = hl_flush;
	o->release = hl_release;
	o->fsync = hl_fsync;
	o->opendir = hl_opendir;
	o->readdir = hl_readdir;
	o->readdirplus = hl_readdirplus;
	o->releasedir = hl_releasedir;
	o->fsyncdir = hl_fsyncdir;
	o->statfs = hl_statfs;
	o->setxattr = f->op.setxattr ? hl_setxattr : NULL;
	o->getxattr = f->op.getxattr ? hl_getxattr : NULL;
	o->listxattr = f->op.listxattr ? hl_listxattr : NULL;
	o->removexattr = f->op.removexattr ? hl_removexattr : NULL;
	o->access = f->op.access ? hl_access : NULL;
	o->getlk = f->op.lock ? hl_getlk : NULL;
	o->setlk = f->op.lock ? hl_setlk : NULL;
	o->flock = f->op.flock ? hl_flock : NULL;
	o->fallocate = f->op.fallocate ? hl_fallocate : NULL;
	o->copy_file_range = f->op.copy_file_range ? hl_copy_file_range : NULL;
	o->lseek = f->op.lseek ? hl_lseek : NULL;
	o->ioctl = f->op.ioctl ? (void *)hl_ioctl : NULL;
	o->poll = f->op.poll ? hl_poll : NULL;
}

/* ---- ioctl and poll ---- */
uint64_t hl_dir_fh(struct fuse_file_info *fi);

void hl_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
	      struct fuse_file_info *fi, unsigned flags, const void *in_buf, size_t in_bufsz,
	      size_t out_bufsz)
{
	struct fuse *f = enter(req);
	struct fuse_file_info ufi = *fi;
	size_t size = in_bufsz > out_bufsz ? in_bufsz : out_bufsz;
	char *path, *data = NULL;
	int rc;

	if (flags & FUSE_IOCTL_DIR)
		ufi.fh = hl_dir_fh(fi);
	PATH_OR_REPLY(f, ino, NULL, path);
	/* The program reads its in data from, and writes its out data to, one buffer. */
	if (size && !(data = calloc(1, size))) {
		free(path);
		reply_status(req, -ENOMEM);
		return;
	}
	if (in_bufsz)
		memcpy(data, in_buf, in_bufsz);
	rc = f->op.ioctl(path, (int)cmd, arg, &ufi, flags, data);
	free(path);
	leave();
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_ioctl(req, rc, data, out_bufsz);
	free(data);
}

void hl_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	     struct fuse_pollhandle *ph)
{
	struct fuse *f = enter(req);
	unsigned revents = 0;
	char *path;
	int rc;

	if (tree_hold(f, ino, NULL, &path, 0, NULL, NULL, false) < 0) {
		fuse_pollhandle_destroy(ph);
		reply_status(req, -ESTALE);
		return;
	}
	rc = f->op.poll(path, fi, ph, &revents);
	free(path);
	leave();
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_poll(req, revents);
}

int fuse_notify_poll(struct fuse_pollhandle *ph)
{
	return fuse_lowlevel_notify_poll(ph);
}
