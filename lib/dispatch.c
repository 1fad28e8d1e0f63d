/* SPDX-License-Identifier: MIT */
/*
 * dispatch.c - the API layer: turns decoded requests into file system callbacks and
 * their results into replies. The only place that calls the file system.
 *
 * Each opcode has a handler that calls the callback and a finish function that
 * encodes the reply. A callback that defers (UMFS_DEFERRED) has its finish called
 * later by umfs_req_complete(); otherwise the handler calls it at once.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "session.h"
#include "uring.h"

#define OUT_HDR sizeof(struct fuse_out_header)
/* Largest magnitude an errno can have; anything beyond is a file system bug. */
#define ERRNO_MAX 4095

static void *payload(umfs_req *req)
{
	return req->out_buf + OUT_HDR;
}

static size_t payload_space(umfs_req *req)
{
	return req->out_size - OUT_HDR;
}

static const struct umfs_operations *ops(umfs_req *req)
{
	return req->s->ops;
}

/* ---- trace lines (-d) ---- */

static void trace_args(const umfs_req *req, char *buf, size_t size)
{
	const struct request *rq = &req->rq;

	buf[0] = '\0';
	switch (rq->opcode) {
	case FUSE_LOOKUP: case FUSE_UNLINK: case FUSE_RMDIR:
		snprintf(buf, size, " name=%s", rq->u.entry.name);
		break;
	case FUSE_MKDIR:
		snprintf(buf, size, " name=%s mode=%o", rq->u.mkdir.name, rq->u.mkdir.mode);
		break;
	case FUSE_MKNOD:
		snprintf(buf, size, " name=%s mode=%o", rq->u.mknod.name, rq->u.mknod.mode);
		break;
	case FUSE_CREATE:
		snprintf(buf, size, " name=%s mode=%o flags=%#x", rq->u.create.name,
			 rq->u.create.mode, rq->u.create.flags);
		break;
	case FUSE_SYMLINK:
		snprintf(buf, size, " name=%s", rq->u.symlink.name);
		break;
	case FUSE_RENAME: case FUSE_RENAME2:
		snprintf(buf, size, " name=%s newdir=%llu newname=%s flags=%#x", rq->u.rename.name,
			 (unsigned long long)rq->u.rename.newdir, rq->u.rename.newname,
			 rq->u.rename.flags);
		break;
	case FUSE_READ: case FUSE_READDIR: case FUSE_READDIRPLUS:
		snprintf(buf, size, " off=%llu size=%u", (unsigned long long)rq->u.read.offset,
			 rq->u.read.size);
		break;
	case FUSE_WRITE:
		snprintf(buf, size, " off=%llu size=%u", (unsigned long long)rq->u.write.offset,
			 rq->u.write.size);
		break;
	case FUSE_OPEN: case FUSE_OPENDIR:
		snprintf(buf, size, " flags=%#x", rq->u.open.flags);
		break;
	case FUSE_SETATTR:
		snprintf(buf, size, " valid=%#x", rq->u.setattr.valid);
		break;
	case FUSE_FORGET:
		snprintf(buf, size, " nlookup=%llu", (unsigned long long)rq->u.forget.nlookup);
		break;
	case FUSE_GETXATTR: case FUSE_SETXATTR: case FUSE_REMOVEXATTR:
		snprintf(buf, size, " name=%s", rq->u.getxattr.name ? rq->u.getxattr.name : "");
		break;
	default:
		break;
	}
}

static void trace(const umfs_req *req, long result)
{
	struct timespec now;
	char args[600];

	clock_gettime(CLOCK_MONOTONIC, &now);
	long us = (now.tv_sec - req->start.tv_sec) * 1000000L +
		  (now.tv_nsec - req->start.tv_nsec) / 1000;
	trace_args(req, args, sizeof(args));
	umfs_log(UMFS_LOG_DEBUG, "unique %llu %s node %llu%s pid %u -> %ld%s%s (%ld us)",
		(unsigned long long)req->rq.unique, codec_opname(req->rq.opcode),
		(unsigned long long)req->rq.nodeid, args, req->rq.pid, result,
		result < 0 ? " " : "", result < 0 ? strerror((int)-result) : "", us);
}

void req_trace_noreply(umfs_req *req)
{
	if (req->s->cfg.debug)
		trace(req, 0);
}

/* ---- sending ---- */

/* Returns 0 or the negative errno of the write. ENOENT: the kernel no longer waits
 * for this request (it was interrupted or the connection aborted). */
int reply_send(umfs_req *req, int error, size_t len)
{
	uint32_t total = (uint32_t)(OUT_HDR + len);
	ssize_t n;

	codec_out_header(req->out_buf, req->rq.unique, error, total);
	if (req->s->cfg.debug)
		trace(req, error ? error : (long)len);
	if (req->ent)
		return uring_reply(req, len); /* it came through io_uring: it goes back there */
	do
		n = write(req->fd, req->out_buf, total);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		if (e != ENOENT && e != ENODEV)
			umfs_log(UMFS_LOG_ERR, "reply to %s failed: %s", codec_opname(req->rq.opcode),
				strerror(e));
		return -e;
	}
	return 0;
}

void reply_error(umfs_req *req, int error)
{
	reply_send(req, error, 0);
}

/* Put a small reply struct after the header and send it. */
static int reply_struct(umfs_req *req, const void *data, size_t len)
{
	memcpy(payload(req), data, len);
	return reply_send(req, 0, len);
}

/* A file system result that breaks the convention: log it, the caller gets EIO. */
static ssize_t bad_result(umfs_req *req, ssize_t rc)
{
	umfs_log(UMFS_LOG_ERR, "file system bug: %s returned %zd; answering EIO",
		codec_opname(req->rq.opcode), rc);
	return -EIO;
}

/* Check a status result (0 or -errno). */
static ssize_t status_ok(umfs_req *req, ssize_t rc)
{
	if (rc > 0 || rc < -ERRNO_MAX)
		return bad_result(req, rc);
	return rc;
}

/* Run the callback's result: finish now, or later when deferred. */
static void conclude(umfs_req *req, ssize_t rc)
{
	if (rc == UMFS_DEFERRED) {
		if (req->deferred)
			return;
		rc = bad_result(req, rc); /* deferred without umfs_req_defer() */
	}
	req->finish(req, rc);
}

/* ---- finish functions: result -> reply ---- */

static void finish_status(umfs_req *req, ssize_t rc)
{
	reply_error(req, (int)status_ok(req, rc));
}

/* Give the kernel a node: count the reference and encode the entry. */
static int make_entry(umfs_req *req, const struct umfs_entry *e, struct fuse_entry_out *out,
		      uint64_t *id)
{
	uint64_t gen;
	int rc = nodes_ref(&req->s->nodes, e->node, e->generation, id, &gen);

	if (rc < 0) {
		/* The file system counted a handout the kernel will never get. */
		if (ops(req)->forget)
			ops(req)->forget(req->s->fs, e->node, 1);
		return rc;
	}
	codec_entry_out(out, *id, gen, &e->attr, e->entry_timeout, e->attr_timeout);
	return 0;
}

/* The kernel did not take the node we counted for it (the request was interrupted):
 * give the reference back. */
static void undo_entry(umfs_req *req, uint64_t id)
{
	uint64_t handouts;
	void *gone = nodes_unref(&req->s->nodes, id, 1, &handouts);

	if (gone && ops(req)->forget)
		ops(req)->forget(req->s->fs, gone, handouts);
}

static void finish_entry(umfs_req *req, ssize_t rc)
{
	struct umfs_entry *e = &req->out.created.entry;
	struct fuse_entry_out out;
	uint64_t id;

	rc = status_ok(req, rc);
	if (rc == -ENOENT && req->rq.opcode == FUSE_LOOKUP && req->s->cfg.negative_timeout > 0) {
		/* A negative entry: the kernel caches the miss. */
		codec_entry_out(&out, 0, 0, NULL, req->s->cfg.negative_timeout, 0);
		reply_struct(req, &out, sizeof(out));
		return;
	}
	if (rc == 0 && !e->node && req->rq.opcode == FUSE_LOOKUP) {
		/* The file system's own negative entry, cached for its entry_timeout. */
		codec_entry_out(&out, 0, 0, NULL, e->entry_timeout, 0);
		reply_struct(req, &out, sizeof(out));
		return;
	}
	if (rc == 0 && !e->node)
		rc = bad_result(req, 0);
	if (rc == 0)
		rc = make_entry(req, e, &out, &id);
	if (rc < 0) {
		reply_error(req, (int)rc);
		return;
	}
	if (reply_struct(req, &out, sizeof(out)) == -ENOENT)
		undo_entry(req, id);
}

static void finish_attr(umfs_req *req, ssize_t rc)
{
	struct fuse_attr_out out;

	rc = status_ok(req, rc);
	if (rc < 0) {
		reply_error(req, (int)rc);
		return;
	}
	codec_attr_out(&out, &req->out.attr.st, req->out.attr.timeout);
	reply_struct(req, &out, sizeof(out));
}

static void finish_statx(umfs_req *req, ssize_t rc)
{
	struct fuse_statx_out out;

	rc = status_ok(req, rc);
	if (rc < 0) {
		reply_error(req, (int)rc);
		return;
	}
	codec_statx_out(&out, &req->out.attr.st, req->out.attr.timeout);
	reply_struct(req, &out, sizeof(out));
}

static void open_out(struct fuse_open_out *out, const struct umfs_open *o)
{
	memset(out, 0, sizeof(*out));
	out->fh = (uint64_t)(uintptr_t)o->fh;
	out->open_flags = (o->direct_io ? FOPEN_DIRECT_IO : 0) |
			  (o->keep_cache ? FOPEN_KEEP_CACHE : 0) |
			  (o->nonseekable ? FOPEN_NONSEEKABLE : 0) |
			  (o->cache_dir ? FOPEN_CACHE_DIR : 0) |
			  (o->noflush ? FOPEN_NOFLUSH : 0) |
			  (o->parallel_direct_writes ? FOPEN_PARALLEL_DIRECT_WRITES : 0);
	if (o->backing_id > 0) {
		out->open_flags |= FOPEN_PASSTHROUGH;
		out->backing_id = o->backing_id;
	}
}

static void release_unanswered(umfs_req *req, void *node, const struct umfs_open *o,
			       bool dir);

static void finish_open(umfs_req *req, ssize_t rc)
{
	struct fuse_open_out out;

	rc = status_ok(req, rc);
	if (rc < 0) {
		reply_error(req, (int)rc);
		return;
	}
	open_out(&out, &req->out.open);
	if (reply_struct(req, &out, sizeof(out)) == -ENOENT)
		release_unanswered(req, req->node, &req->out.open,
				   req->rq.opcode == FUSE_OPENDIR);
}

/* CREATE and TMPFILE: an entry followed by an open. */
static void finish_create(umfs_req *req, ssize_t rc)
{
	unsigned char both[sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out)];
	struct fuse_entry_out entry;
	struct fuse_open_out open;
	uint64_t id;

	rc = status_ok(req, rc);
	if (rc == 0 && !req->out.created.entry.node)
		rc = bad_result(req, 0);
	if (rc == 0)
		rc = make_entry(req, &req->out.created.entry, &entry, &id);
	if (rc < 0) {
		reply_error(req, (int)rc);
		return;
	}
	open_out(&open, &req->out.created.open);
	memcpy(both, &entry, sizeof(entry));
	memcpy(both + sizeof(entry), &open, sizeof(open));
	if (reply_struct(req, both, sizeof(both)) == -ENOENT) {
		release_unanswered(req, req->out.created.entry.node, &req->out.created.open,
				   false);
		undo_entry(req, id);
	}
}

/* Results that are byte counts of data placed in the reply buffer, at most `max`. */
static size_t readlink_max(umfs_req *req)
{
	return payload_space(req) < PATH_MAX ? payload_space(req) : PATH_MAX;
}

static void finish_data(umfs_req *req, ssize_t rc)
{
	size_t max = req->rq.opcode == FUSE_READLINK ? readlink_max(req) : req->rq.u.read.size;

	if (rc > (ssize_t)max || rc < -ERRNO_MAX)
		rc = bad_result(req, rc);
	if (rc < 0)
		reply_error(req, (int)rc);
	else
		reply_send(req, 0, (size_t)rc);
}

static void finish_xattr(umfs_req *req, ssize_t rc)
{
	uint32_t size = req->rq.u.getxattr.size;

	if (rc < -ERRNO_MAX || (size && rc > (ssize_t)size) || rc > (ssize_t)UINT32_MAX)
		rc = bad_result(req, rc);
	if (rc < 0) {
		reply_error(req, (int)rc);
	} else if (size == 0) {
		struct fuse_getxattr_out out = { .size = (uint32_t)rc };

		reply_struct(req, &out, sizeof(out));
	} else {
		reply_send(req, 0, (size_t)rc);
	}
}

static void finish_write(umfs_req *req, ssize_t rc)
{
	if (rc > (ssize_t)req->rq.u.write.size || rc < -ERRNO_MAX)
		rc = bad_result(req, rc);
	if (rc < 0) {
		reply_error(req, (int)rc);
	} else {
		struct fuse_write_out out = { .size = (uint32_t)rc };

		reply_struct(req, &out, sizeof(out));
	}
}

static void finish_statfs(umfs_req *req, ssize_t rc)
{
	struct fuse_statfs_out out;

	rc = status_ok(req, rc);
	if (rc < 0) {
		reply_error(req, (int)rc);
		return;
	}
	codec_statfs_out(&out, &req->out.statfs);
	reply_struct(req, &out, sizeof(out));
}

static void finish_getlk(umfs_req *req, ssize_t rc)
{
	const struct flock *lk = &req->out.lk;
	struct fuse_lk_out out = { 0 };

	rc = status_ok(req, rc);
	if (rc < 0) {
		reply_error(req, (int)rc);
		return;
	}
	out.lk.type = (uint32_t)lk->l_type;
	if (lk->l_type != F_UNLCK) {
		out.lk.start = (uint64_t)lk->l_start;
		out.lk.end = lk->l_len ? (uint64_t)(lk->l_start + lk->l_len - 1) : (uint64_t)INT64_MAX;
		out.lk.pid = (uint32_t)lk->l_pid;
	}
	reply_struct(req, &out, sizeof(out));
}

static void finish_lseek(umfs_req *req, ssize_t rc)
{
	struct fuse_lseek_out out = { .offset = (uint64_t)req->out.offset };

	rc = status_ok(req, rc);
	if (rc < 0)
		reply_error(req, (int)rc);
	else
		reply_struct(req, &out, sizeof(out));
}

static void finish_copy(umfs_req *req, ssize_t rc)
{
	if (rc > (ssize_t)req->rq.u.copy_file_range.len || rc < -ERRNO_MAX)
		rc = bad_result(req, rc);
	if (rc < 0) {
		reply_error(req, (int)rc);
	} else if (req->rq.opcode == FUSE_COPY_FILE_RANGE_64) {
		struct fuse_copy_file_range_out out = { .bytes_copied = (uint64_t)rc };

		reply_struct(req, &out, sizeof(out));
	} else {
		struct fuse_write_out out = { .size = (uint32_t)rc };

		reply_struct(req, &out, sizeof(out));
	}
}

/* ---- helpers for handlers ---- */

static void *fh_of(uint64_t fh)
{
	return (void *)(uintptr_t)fh;
}

/* The entry out-parameter, with the session's default timeouts. */
static struct umfs_entry *entry_out(umfs_req *req)
{
	struct umfs_entry *e = &req->out.created.entry;

	memset(e, 0, sizeof(*e));
	e->entry_timeout = req->s->cfg.entry_timeout;
	e->attr_timeout = req->s->cfg.attr_timeout;
	return e;
}

static struct umfs_attr *attr_out(umfs_req *req)
{
	memset(&req->out.attr, 0, sizeof(req->out.attr));
	req->out.attr.timeout = req->s->cfg.attr_timeout;
	return &req->out.attr;
}

static struct umfs_open *open_param(struct umfs_open *o)
{
	memset(o, 0, sizeof(*o));
	return o;
}

/* The kernel's device encoding (new_encode_dev) to dev_t. */
static dev_t decode_dev(uint32_t d)
{
	return makedev((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00));
}

/* A node id from the request body (LINK, RENAME, COPY_FILE_RANGE). NULL: stale. */
static void *other_node(umfs_req *req, uint64_t id)
{
	return nodes_get(&req->s->nodes, id);
}

/* An open the kernel never saw (its request was interrupted): release it. */
static void release_unanswered(umfs_req *req, void *node, const struct umfs_open *o,
			       bool dir)
{
	if (dir && ops(req)->releasedir)
		ops(req)->releasedir(req, node, o->fh);
	else if (!dir && ops(req)->release)
		ops(req)->release(req, node, o->fh, 0);
}

/* ---- handlers ---- */

typedef void handler_fn(umfs_req *req);

#define NEED(op)                                                                           \
	do {                                                                               \
		if (!ops(req)->op) {                                                       \
			reply_error(req, -ENOSYS);                                        \
			return;                                                            \
		}                                                                          \
	} while (0)

static void do_lookup(umfs_req *req)
{
	NEED(lookup);
	req->finish = finish_entry;
	conclude(req, ops(req)->lookup(req, req->node, req->rq.u.entry.name, entry_out(req)));
}

static void forget_one(umfs_session *s, uint64_t id, uint64_t n)
{
	uint64_t handouts;
	void *gone = nodes_unref(&s->nodes, id, n, &handouts);

	if (gone && s->ops->forget)
		s->ops->forget(s->fs, gone, handouts);
}

static void do_forget(umfs_req *req)
{
	forget_one(req->s, req->rq.nodeid, req->rq.u.forget.nlookup);
	req_trace_noreply(req);
}

static void do_batch_forget(umfs_req *req)
{
	const unsigned char *p = req->rq.u.batch_forget.items;

	for (uint32_t i = 0; i < req->rq.u.batch_forget.count; i++) {
		struct fuse_forget_one one;

		memcpy(&one, p + i * sizeof(one), sizeof(one));
		forget_one(req->s, one.nodeid, one.nlookup);
	}
	req_trace_noreply(req);
}

static void do_getattr(umfs_req *req)
{
	void *fh = req->rq.u.getattr.flags & FUSE_GETATTR_FH ? fh_of(req->rq.u.getattr.fh) : NULL;

	NEED(getattr);
	req->finish = finish_attr;
	conclude(req, ops(req)->getattr(req, req->node, fh, attr_out(req)));
}

static void do_statx(umfs_req *req)
{
	void *fh = req->rq.u.statx.getattr_flags & FUSE_GETATTR_FH ? fh_of(req->rq.u.statx.fh)
								  : NULL;

	NEED(getattr);
	req->finish = finish_statx;
	conclude(req, ops(req)->getattr(req, req->node, fh, attr_out(req)));
}

static void do_setattr(umfs_req *req)
{
	const struct fuse_setattr_in *in = &req->rq.u.setattr;
	struct stat st;
	unsigned valid = in->valid & (UMFS_SET_MODE | UMFS_SET_UID | UMFS_SET_GID |
				      UMFS_SET_SIZE | UMFS_SET_ATIME | UMFS_SET_MTIME |
				      UMFS_SET_ATIME_NOW | UMFS_SET_MTIME_NOW |
				      UMFS_SET_CTIME | UMFS_SET_KILL_SUIDGID);

	NEED(setattr);
	memset(&st, 0, sizeof(st));
	st.st_mode = in->mode;
	st.st_uid = in->uid;
	st.st_gid = in->gid;
	st.st_size = (off_t)in->size;
	st.st_atim.tv_sec = (time_t)in->atime;
	st.st_atim.tv_nsec = in->atimensec;
	st.st_mtim.tv_sec = (time_t)in->mtime;
	st.st_mtim.tv_nsec = in->mtimensec;
	st.st_ctim.tv_sec = (time_t)in->ctime;
	st.st_ctim.tv_nsec = in->ctimensec;
	if ((valid & UMFS_SET_SIZE) && in->size > INT64_MAX) {
		reply_error(req, -EFBIG);
		return;
	}
	req->finish = finish_attr;
	conclude(req, ops(req)->setattr(req, req->node,
					in->valid & FATTR_FH ? fh_of(in->fh) : NULL, &st, valid,
					attr_out(req)));
}

static void do_readlink(umfs_req *req)
{
	NEED(readlink);
	req->finish = finish_data;
	conclude(req, ops(req)->readlink(req, req->node, payload(req), readlink_max(req)));
}

static void do_symlink(umfs_req *req)
{
	NEED(symlink);
	req->finish = finish_entry;
	conclude(req, ops(req)->symlink(req, req->node, req->rq.u.symlink.name,
					req->rq.u.symlink.target, entry_out(req)));
}

static void do_mknod(umfs_req *req)
{
	NEED(mknod);
	req->caller.umask = req->rq.u.mknod.umask;
	req->finish = finish_entry;
	conclude(req, ops(req)->mknod(req, req->node, req->rq.u.mknod.name, req->rq.u.mknod.mode,
				      decode_dev(req->rq.u.mknod.rdev), entry_out(req)));
}

static void do_mkdir(umfs_req *req)
{
	NEED(mkdir);
	req->caller.umask = req->rq.u.mkdir.umask;
	req->finish = finish_entry;
	conclude(req, ops(req)->mkdir(req, req->node, req->rq.u.mkdir.name,
				      (req->rq.u.mkdir.mode & 07777) | S_IFDIR, entry_out(req)));
}

static void do_unlink(umfs_req *req)
{
	NEED(unlink);
	req->finish = finish_status;
	conclude(req, ops(req)->unlink(req, req->node, req->rq.u.entry.name));
}

static void do_rmdir(umfs_req *req)
{
	NEED(rmdir);
	req->finish = finish_status;
	conclude(req, ops(req)->rmdir(req, req->node, req->rq.u.entry.name));
}

static void do_rename(umfs_req *req)
{
	void *newdir = other_node(req, req->rq.u.rename.newdir);

	NEED(rename);
	if (!newdir) {
		reply_error(req, -ESTALE);
		return;
	}
	req->finish = finish_status;
	conclude(req, ops(req)->rename(req, req->node, req->rq.u.rename.name, newdir,
				       req->rq.u.rename.newname, req->rq.u.rename.flags));
}

static void do_link(umfs_req *req)
{
	void *old = other_node(req, req->rq.u.link.oldnodeid);

	NEED(link);
	if (!old) {
		reply_error(req, -ESTALE);
		return;
	}
	req->finish = finish_entry;
	/* For LINK the request's node is the new parent; the linked node is in the body. */
	conclude(req, ops(req)->link(req, old, req->node, req->rq.u.link.newname,
				     entry_out(req)));
}

/* Without an open callback, ENOSYS tells the kernel to open without asking from now
 * on (zero-message open, keeping cached pages): no OPEN, FLUSH or RELEASE round trips. */
static void do_open(umfs_req *req)
{
	NEED(open);
	req->finish = finish_open;
	conclude(req, ops(req)->open(req, req->node, (int)req->rq.u.open.flags,
				     open_param(&req->out.open)));
}

static void do_create(umfs_req *req)
{
	NEED(create);
	req->caller.umask = req->rq.u.create.umask;
	req->finish = finish_create;
	conclude(req, ops(req)->create(req, req->node, req->rq.u.create.name,
				       req->rq.u.create.mode, (int)req->rq.u.create.flags,
				       entry_out(req), open_param(&req->out.created.open)));
}

static void do_tmpfile(umfs_req *req)
{
	NEED(tmpfile);
	req->caller.umask = req->rq.u.create.umask;
	req->finish = finish_create;
	conclude(req, ops(req)->tmpfile(req, req->node, req->rq.u.create.mode,
					(int)req->rq.u.create.flags, entry_out(req),
					open_param(&req->out.created.open)));
}

static void do_read(umfs_req *req)
{
	size_t size = req->rq.u.read.size;

	NEED(read);
	if (size > payload_space(req))
		size = req->rq.u.read.size = (uint32_t)payload_space(req);
	req->finish = finish_data;
	conclude(req, ops(req)->read(req, req->node, fh_of(req->rq.u.read.fh), payload(req), size,
				     (off_t)req->rq.u.read.offset));
}

static void do_write(umfs_req *req)
{
	NEED(write);
	req->finish = finish_write;
	conclude(req, ops(req)->write(req, req->node, fh_of(req->rq.u.write.fh),
				      req->rq.u.write.data, req->rq.u.write.size,
				      (off_t)req->rq.u.write.offset,
				      req->rq.u.write.write_flags &
					      (UMFS_WRITE_CACHE | UMFS_WRITE_KILL_SUIDGID)));
}

static void do_statfs(umfs_req *req)
{
	req->finish = finish_statfs;
	memset(&req->out.statfs, 0, sizeof(req->out.statfs));
	if (!ops(req)->statfs) { /* like libfuse: a statfs that says "no limits known" */
		req->out.statfs.f_bsize = 4096;
		req->out.statfs.f_namemax = req->s->limits.name_max;
		req->finish(req, 0);
		return;
	}
	conclude(req, ops(req)->statfs(req, req->node, &req->out.statfs));
}

/* flock(2) locks arrive as SETLK(W) with FUSE_LK_FLOCK. */
static int flock_op(const struct request *rq)
{
	int op = rq->u.lk.lk.type == F_RDLCK ? LOCK_SH : rq->u.lk.lk.type == F_WRLCK ? LOCK_EX
										   : LOCK_UN;

	return rq->opcode == FUSE_SETLK && op != LOCK_UN ? op | LOCK_NB : op;
}

static void kernel_to_flock(const struct fuse_file_lock *in, struct flock *lk)
{
	memset(lk, 0, sizeof(*lk));
	lk->l_type = (short)in->type;
	lk->l_whence = SEEK_SET;
	lk->l_start = (off_t)in->start;
	lk->l_len = in->end >= (uint64_t)INT64_MAX ? 0 : (off_t)(in->end - in->start + 1);
	lk->l_pid = (pid_t)in->pid;
}

static void do_getlk(umfs_req *req)
{
	NEED(getlk);
	kernel_to_flock(&req->rq.u.lk.lk, &req->out.lk);
	req->finish = finish_getlk;
	conclude(req, ops(req)->getlk(req, req->node, fh_of(req->rq.u.lk.fh), req->rq.u.lk.owner,
				      &req->out.lk));
}

static void do_setlk(umfs_req *req)
{
	req->finish = finish_status;
	if (req->rq.u.lk.lk_flags & FUSE_LK_FLOCK) {
		NEED(flock);
		conclude(req, ops(req)->flock(req, req->node, fh_of(req->rq.u.lk.fh),
					      req->rq.u.lk.owner, flock_op(&req->rq)));
		return;
	}
	NEED(setlk);
	kernel_to_flock(&req->rq.u.lk.lk, &req->out.lk);
	conclude(req, ops(req)->setlk(req, req->node, fh_of(req->rq.u.lk.fh), req->rq.u.lk.owner,
				      &req->out.lk, req->rq.opcode == FUSE_SETLKW));
}

static void do_release(umfs_req *req)
{
	void *fh = fh_of(req->rq.u.release.fh);

	if ((req->rq.u.release.release_flags & FUSE_RELEASE_FLOCK_UNLOCK) && ops(req)->flock)
		ops(req)->flock(req, req->node, fh, req->rq.u.release.lock_owner, LOCK_UN);
	req->finish = finish_status;
	if (!ops(req)->release) {
		req->finish(req, 0);
		return;
	}
	conclude(req, ops(req)->release(req, req->node, fh, (int)req->rq.u.release.flags));
}

static void do_fsync(umfs_req *req)
{
	NEED(fsync);
	req->finish = finish_status;
	conclude(req, ops(req)->fsync(req, req->node, fh_of(req->rq.u.fsync.fh),
				      req->rq.u.fsync.fsync_flags & FUSE_FSYNC_FDATASYNC));
}

static void do_flush(umfs_req *req)
{
	NEED(flush);
	req->finish = finish_status;
	conclude(req, ops(req)->flush(req, req->node, fh_of(req->rq.u.flush.fh),
				      req->rq.u.flush.lock_owner));
}

static void do_setxattr(umfs_req *req)
{
	NEED(setxattr);
	req->finish = finish_status;
	conclude(req, ops(req)->setxattr(req, req->node, req->rq.u.setxattr.name,
					 req->rq.u.setxattr.value, req->rq.u.setxattr.size,
					 (int)req->rq.u.setxattr.flags));
}

static void do_getxattr(umfs_req *req)
{
	size_t size = req->rq.u.getxattr.size;

	NEED(getxattr);
	if (size > payload_space(req))
		size = req->rq.u.getxattr.size = (uint32_t)payload_space(req);
	req->finish = finish_xattr;
	conclude(req, ops(req)->getxattr(req, req->node, req->rq.u.getxattr.name,
					 size ? payload(req) : NULL, size));
}

static void do_listxattr(umfs_req *req)
{
	size_t size = req->rq.u.getxattr.size;

	NEED(listxattr);
	if (size > payload_space(req))
		size = req->rq.u.getxattr.size = (uint32_t)payload_space(req);
	req->finish = finish_xattr;
	conclude(req, ops(req)->listxattr(req, req->node, size ? payload(req) : NULL, size));
}

static void do_removexattr(umfs_req *req)
{
	NEED(removexattr);
	req->finish = finish_status;
	conclude(req, ops(req)->removexattr(req, req->node, req->rq.u.removexattr.name));
}

static void do_opendir(umfs_req *req)
{
	NEED(opendir); /* as for open: the kernel then caches listings without asking */
	req->finish = finish_open;
	conclude(req, ops(req)->opendir(req, req->node, (int)req->rq.u.open.flags,
					open_param(&req->out.open)));
}

/* READDIRPLUS entries from p to end already counted a reference for the kernel; when
 * the kernel does not get them after all, give each back. */
static void undo_direntplus(umfs_req *req, const unsigned char *p, const unsigned char *end)
{
	while (p < end) {
		struct fuse_direntplus d;

		memcpy(&d, p, sizeof(d));
		if (d.entry_out.nodeid)
			undo_entry(req, d.entry_out.nodeid);
		p += FUSE_DIRENTPLUS_SIZE(d.dirent.namelen);
	}
}

static void finish_readdir(umfs_req *req, ssize_t rc)
{
	rc = status_ok(req, rc);
	/* An empty listing would read as the end of the directory: say what went wrong. */
	if (rc == 0 && req->dir.error && req->dir.pos == (unsigned char *)payload(req))
		rc = req->dir.error;
	if (rc < 0) {
		if (req->dir.plus)
			undo_direntplus(req, payload(req), req->dir.pos);
		reply_error(req, (int)rc);
	} else if (reply_send(req, 0, (size_t)(req->dir.pos - (unsigned char *)payload(req))) ==
			   -ENOENT &&
		   req->dir.plus) {
		undo_direntplus(req, payload(req), req->dir.pos);
	}
}

static void do_readdir(umfs_req *req)
{
	size_t size = req->rq.u.read.size;

	NEED(readdir);
	if (size > payload_space(req))
		size = payload_space(req);
	req->dir.pos = payload(req);
	req->dir.space = size;
	req->dir.plus = req->rq.opcode == FUSE_READDIRPLUS;
	req->dir.error = 0;
	req->dir.req = req;
	req->finish = finish_readdir;
	conclude(req, ops(req)->readdir(req, req->node, fh_of(req->rq.u.read.fh),
					(off_t)req->rq.u.read.offset, &req->dir));
}

static void do_releasedir(umfs_req *req)
{
	req->finish = finish_status;
	if (!ops(req)->releasedir) {
		req->finish(req, 0);
		return;
	}
	conclude(req, ops(req)->releasedir(req, req->node, fh_of(req->rq.u.release.fh)));
}

static void do_fsyncdir(umfs_req *req)
{
	NEED(fsyncdir);
	req->finish = finish_status;
	conclude(req, ops(req)->fsyncdir(req, req->node, fh_of(req->rq.u.fsync.fh),
					 req->rq.u.fsync.fsync_flags & FUSE_FSYNC_FDATASYNC));
}

static void do_access(umfs_req *req)
{
	NEED(access);
	req->finish = finish_status;
	conclude(req, ops(req)->access(req, req->node, (int)req->rq.u.access.mask));
}

static void do_interrupt(umfs_req *req)
{
	session_note_interrupt(req->s, req->rq.u.interrupt.unique);
	session_interrupted(req->s, req->rq.u.interrupt.unique);
	req_trace_noreply(req);
}

static void do_destroy(umfs_req *req)
{
	/* The session calls ops->destroy once, when the loop ends; here only answer. */
	reply_error(req, 0);
}

static void do_fallocate(umfs_req *req)
{
	NEED(fallocate);
	req->finish = finish_status;
	conclude(req, ops(req)->fallocate(req, req->node, fh_of(req->rq.u.fallocate.fh),
					  (int)req->rq.u.fallocate.mode,
					  (off_t)req->rq.u.fallocate.offset,
					  (off_t)req->rq.u.fallocate.length));
}

static void do_lseek(umfs_req *req)
{
	NEED(lseek);
	if (req->rq.u.lseek.offset > INT64_MAX) { /* before the start: no data, no hole */
		reply_error(req, -ENXIO);
		return;
	}
	req->out.offset = 0;
	req->finish = finish_lseek;
	conclude(req, ops(req)->lseek(req, req->node, fh_of(req->rq.u.lseek.fh),
				      (off_t)req->rq.u.lseek.offset, (int)req->rq.u.lseek.whence,
				      &req->out.offset));
}

static void do_copy_file_range(umfs_req *req)
{
	struct fuse_copy_file_range_in *in = &req->rq.u.copy_file_range;
	void *node_out = other_node(req, in->nodeid_out);

	NEED(copy_file_range);
	if (!node_out) {
		reply_error(req, -ESTALE);
		return;
	}
	/* The old opcode answers in 32 bits: never claim more than it can say. */
	if (req->rq.opcode == FUSE_COPY_FILE_RANGE && in->len > UINT32_MAX - 4095)
		in->len = UINT32_MAX - 4095;
	if (in->len > SSIZE_MAX)
		in->len = SSIZE_MAX;
	req->finish = finish_copy;
	conclude(req, ops(req)->copy_file_range(req, req->node, fh_of(in->fh_in),
						(off_t)in->off_in, node_out, fh_of(in->fh_out),
						(off_t)in->off_out, (size_t)in->len,
						(int)in->flags));
}

static void do_syncfs(umfs_req *req)
{
	NEED(syncfs);
	req->finish = finish_status;
	conclude(req, ops(req)->syncfs(req, req->node));
}

static void do_init(umfs_req *req)
{
	session_init_reply(req);
}

/* Opcodes that carry no node to resolve (or whose node may be gone). */
static void finish_ioctl(umfs_req *req, ssize_t rc)
{
	struct fuse_ioctl_out out = { 0 };
	size_t len = req->out.ioctl_len;

	if (rc < -ERRNO_MAX || rc > INT32_MAX || len > req->rq.u.ioctl.out_size)
		rc = bad_result(req, rc);
	if (rc < 0) {
		reply_error(req, (int)rc);
		return;
	}
	out.result = (int32_t)rc;
	memcpy(payload(req), &out, sizeof(out));
	reply_send(req, 0, sizeof(out) + len);
}

static void do_ioctl(umfs_req *req)
{
	const struct request *rq = &req->rq;
	unsigned flags = 0;

	NEED(ioctl);
	/* Unrestricted ioctls (with retries) are CUSE's; a FUSE mount never sends them. */
	if (rq->u.ioctl.flags & FUSE_IOCTL_UNRESTRICTED) {
		reply_error(req, -ENOSYS);
		return;
	}
	if (rq->u.ioctl.out_size > payload_space(req) - sizeof(struct fuse_ioctl_out)) {
		reply_error(req, -EINVAL);
		return;
	}
	if (rq->u.ioctl.flags & FUSE_IOCTL_COMPAT)
		flags |= UMFS_IOCTL_COMPAT;
	if (rq->u.ioctl.flags & FUSE_IOCTL_DIR)
		flags |= UMFS_IOCTL_DIR;
	req->out.ioctl_len = 0;
	req->finish = finish_ioctl;
	conclude(req, ops(req)->ioctl(req, req->node, fh_of(rq->u.ioctl.fh), rq->u.ioctl.cmd,
				      rq->u.ioctl.arg, flags, rq->u.ioctl.in, rq->u.ioctl.in_size,
				      (char *)payload(req) + sizeof(struct fuse_ioctl_out),
				      rq->u.ioctl.out_size, &req->out.ioctl_len));
}

static void finish_poll(umfs_req *req, ssize_t rc)
{
	struct fuse_poll_out out = { .revents = req->out.revents };

	rc = status_ok(req, rc);
	if (rc < 0)
		reply_error(req, (int)rc);
	else
		reply_struct(req, &out, sizeof(out));
}

static void do_poll(umfs_req *req)
{
	umfs_pollhandle *ph = NULL;

	NEED(poll);
	if (req->rq.u.poll.flags & FUSE_POLL_SCHEDULE_NOTIFY) {
		ph = malloc(sizeof(*ph));
		if (!ph) {
			reply_error(req, -ENOMEM);
			return;
		}
		ph->s = req->s;
		ph->kh = req->rq.u.poll.kh;
	}
	req->out.revents = 0;
	req->finish = finish_poll;
	conclude(req, ops(req)->poll(req, req->node, fh_of(req->rq.u.poll.fh),
				     req->rq.u.poll.events, ph, &req->out.revents));
}

/* The kernel's answer to umfs_notify_retrieve(): no reply goes back. */
static void do_notify_reply(umfs_req *req)
{
	void *cookie, *node;

	req_trace_noreply(req);
	if (!notify_take_retrieve(req->s, req->rq.unique, &cookie)) {
		umfs_log(UMFS_LOG_WARNING, "NOTIFY_REPLY for a retrieve never asked (%llu)",
			(unsigned long long)req->rq.unique);
		return;
	}
	node = nodes_get(&req->s->nodes, req->rq.nodeid);
	if (ops(req)->retrieve_reply)
		ops(req)->retrieve_reply(req->s->fs, cookie, node,
					 (off_t)req->rq.u.notify_reply.offset,
					 req->rq.u.notify_reply.data, req->rq.u.notify_reply.size);
}

static bool takes_node(uint32_t opcode)
{
	switch (opcode) {
	case FUSE_INIT: case FUSE_FORGET: case FUSE_BATCH_FORGET: case FUSE_INTERRUPT:
	case FUSE_DESTROY: case FUSE_NOTIFY_REPLY:
		return false;
	default:
		return true;
	}
}

static handler_fn *const handlers[FUSE_OPCODE_LIMIT] = {
	[FUSE_LOOKUP] = do_lookup,
	[FUSE_FORGET] = do_forget,
	[FUSE_GETATTR] = do_getattr,
	[FUSE_SETATTR] = do_setattr,
	[FUSE_READLINK] = do_readlink,
	[FUSE_SYMLINK] = do_symlink,
	[FUSE_MKNOD] = do_mknod,
	[FUSE_MKDIR] = do_mkdir,
	[FUSE_UNLINK] = do_unlink,
	[FUSE_RMDIR] = do_rmdir,
	[FUSE_RENAME] = do_rename,
	[FUSE_LINK] = do_link,
	[FUSE_OPEN] = do_open,
	[FUSE_READ] = do_read,
	[FUSE_WRITE] = do_write,
	[FUSE_STATFS] = do_statfs,
	[FUSE_RELEASE] = do_release,
	[FUSE_FSYNC] = do_fsync,
	[FUSE_SETXATTR] = do_setxattr,
	[FUSE_GETXATTR] = do_getxattr,
	[FUSE_LISTXATTR] = do_listxattr,
	[FUSE_REMOVEXATTR] = do_removexattr,
	[FUSE_FLUSH] = do_flush,
	[FUSE_INIT] = do_init,
	[FUSE_OPENDIR] = do_opendir,
	[FUSE_READDIR] = do_readdir,
	[FUSE_RELEASEDIR] = do_releasedir,
	[FUSE_FSYNCDIR] = do_fsyncdir,
	[FUSE_GETLK] = do_getlk,
	[FUSE_SETLK] = do_setlk,
	[FUSE_SETLKW] = do_setlk,
	[FUSE_ACCESS] = do_access,
	[FUSE_CREATE] = do_create,
	[FUSE_INTERRUPT] = do_interrupt,
	[FUSE_DESTROY] = do_destroy,
	[FUSE_BATCH_FORGET] = do_batch_forget,
	[FUSE_FALLOCATE] = do_fallocate,
	[FUSE_READDIRPLUS] = do_readdir,
	[FUSE_RENAME2] = do_rename,
	[FUSE_LSEEK] = do_lseek,
	[FUSE_COPY_FILE_RANGE] = do_copy_file_range,
	[FUSE_SYNCFS] = do_syncfs,
	[FUSE_TMPFILE] = do_tmpfile,
	[FUSE_STATX] = do_statx,
	[FUSE_COPY_FILE_RANGE_64] = do_copy_file_range,
	[FUSE_IOCTL] = do_ioctl,
	[FUSE_POLL] = do_poll,
	[FUSE_NOTIFY_REPLY] = do_notify_reply,
};

void dispatch(umfs_req *req)
{
	uint32_t opcode = req->rq.opcode;
	handler_fn *h = opcode < FUSE_OPCODE_LIMIT ? handlers[opcode] : NULL;

	if (!h) {
		/* Known to the protocol but not served (IOCTL, POLL, BMAP, ...). */
		reply_error(req, -ENOSYS);
		return;
	}
	if (opcode != FUSE_INIT && !atomic_load(&req->s->initialized)) {
		reply_error(req, -EPROTO);
		return;
	}
	if (takes_node(opcode)) {
		req->node = nodes_get(&req->s->nodes, req->rq.nodeid);
		if (!req->node) {
			umfs_log(UMFS_LOG_DEBUG, "%s on unknown node %llu", codec_opname(opcode),
				(unsigned long long)req->rq.nodeid);
			reply_error(req, -ESTALE);
			return;
		}
	}
	h(req);
}

/* ---- public request API ---- */

void *umfs_req_fs(umfs_req *req)
{
	return req->s->fs;
}

const struct umfs_caller *umfs_req_caller(umfs_req *req)
{
	return &req->caller;
}

umfs_session *umfs_req_session(umfs_req *req)
{
	return req->s;
}

int umfs_dir_plus(const umfs_dirbuf *buf)
{
	return buf->plus;
}

size_t umfs_dir_space(const umfs_dirbuf *buf)
{
	return buf->space;
}

static int dir_add(umfs_dirbuf *buf, const char *name, const struct stat *st, void *node,
		   uint64_t generation, off_t next_off, double entry_timeout,
		   double attr_timeout);

int umfs_dir_add(umfs_dirbuf *buf, const char *name, const struct stat *st, void *node,
		 off_t next_off)
{
	const struct umfs_config *c = &buf->req->s->cfg;

	return dir_add(buf, name, st, node, 0, next_off, c->entry_timeout, c->attr_timeout);
}

/* How many of the len bytes at p are whole entries as the kernel parses a reply
 * (fs/fuse/readdir.c), in *whole, and how many of those fit in space, in *fits.
 * -EIO for an empty name or one longer than the kernel takes. name_off: where an
 * entry's struct fuse_dirent begins. The kernel also refuses a name holding '/':
 * that reply fails there, so it is not looked for here. */
static int whole_entries(const unsigned char *p, size_t len, size_t space, size_t dirent_off,
			 size_t *whole, size_t *fits)
{
	*whole = *fits = 0;
	while (len - *whole >= dirent_off + FUSE_NAME_OFFSET) {
		struct fuse_dirent d;
		size_t size;

		memcpy(&d, p + *whole + dirent_off, FUSE_NAME_OFFSET);
		if (d.namelen == 0 || d.namelen > FUSE_NAME_MAX)
			return -EIO;
		size = FUSE_DIRENT_ALIGN(dirent_off + FUSE_NAME_OFFSET + d.namelen);
		if (size > len - *whole)
			break; /* cut off: the entries before it are the listing */
		*whole += size;
		if (*whole <= space)
			*fits = *whole;
	}
	return 0;
}

/* Append the first fits bytes of entries laid out by a layer, in one copy. */
static void append_entries(umfs_dirbuf *buf, const void *entries, size_t fits)
{
	if (fits) /* entries may be NULL when len is 0 (fuse_reply_buf(req, NULL, 0)) */
		memcpy(buf->pos, entries, fits);
	buf->pos += fits;
	buf->space -= fits;
}

int umfs_dir_add_dirents(umfs_dirbuf *buf, const void *dirents, size_t len)
{
	size_t whole, fits;

	if (buf->plus)
		return -EINVAL;
	if (whole_entries(dirents, len, buf->space, 0, &whole, &fits) < 0)
		return -EIO;
	append_entries(buf, dirents, fits);
	return fits < whole;
}

int umfs_dir_add_direntplus(umfs_dirbuf *buf, const void *entries, size_t len)
{
	size_t whole, fits;

	if (!buf->plus || !buf->req->s->nodes.direct)
		return -EINVAL;
	if (whole_entries(entries, len, buf->space, sizeof(struct fuse_entry_out), &whole,
			  &fits) < 0)
		return -EIO;
	append_entries(buf, entries, fits);
	/* The kernel never gets the entries that did not fit. */
	undo_direntplus(buf->req, (const unsigned char *)entries + fits,
			(const unsigned char *)entries + whole);
	return fits < whole;
}

size_t umfs_direntplus(void *dst, size_t room, const char *name, const struct umfs_entry *e,
		       off_t next_off)
{
	size_t namelen = strlen(name);
	struct fuse_entry_out out;

	if (!dst || FUSE_DIRENTPLUS_SIZE(namelen) > room)
		return FUSE_DIRENTPLUS_SIZE(namelen);
	if (e->node)
		codec_entry_out(&out, (uint64_t)(uintptr_t)e->node, e->generation, &e->attr,
				e->entry_timeout, e->attr_timeout);
	else /* no node ("." or ".."): the kernel lists the name only */
		codec_entry_out(&out, 0, 0, &e->attr, 0, 0);
	return codec_direntplus(dst, room, &out, (uint64_t)next_off, name, namelen);
}

int umfs_dir_add_entry(umfs_dirbuf *buf, const char *name, const struct umfs_entry *e,
		       off_t next_off)
{
	return dir_add(buf, name, &e->attr, e->node, e->generation, next_off, e->entry_timeout,
		       e->attr_timeout);
}

static int dir_add(umfs_dirbuf *buf, const char *name, const struct stat *st, void *node,
		   uint64_t generation, off_t next_off, double entry_timeout,
		   double attr_timeout)
{
	size_t namelen = strlen(name);
	size_t used;

	if (!buf->plus) {
		used = codec_dirent(buf->pos, buf->space, st->st_ino, (uint64_t)next_off,
				    (st->st_mode & S_IFMT) >> 12, name, namelen);
	} else {
		struct fuse_entry_out e;
		uint64_t id = 0, gen = 0;
		umfs_session *s = buf->req->s;

		if (FUSE_DIRENTPLUS_SIZE(namelen) > buf->space)
			return 1;
		/* Count the reference only once the entry is sure to fit. */
		if (node && nodes_ref(&s->nodes, node, generation, &id, &gen) < 0) {
			buf->error = -ENOMEM;
			return 1;
		}
		if (node)
			codec_entry_out(&e, id, gen, st, entry_timeout, attr_timeout);
		else
			codec_entry_out(&e, 0, 0, st, 0, 0);
		used = codec_direntplus(buf->pos, buf->space, &e, (uint64_t)next_off, name,
					namelen);
	}
	if (!used)
		return 1;
	buf->pos += used;
	buf->space -= used;
	return 0;
}
