/* SPDX-License-Identifier: MIT */
/* codec.c - decode FUSE requests, encode replies. See codec.h. */
#include "codec.h"

#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "cursor.h"

/* A symlink target is at most one page in the kernel (PATH_MAX with its NUL). */
#define TARGET_MAX 4095
/* Extended attribute names are at most 255 bytes, values at most 64 KiB (xattr(7)). */
#define XATTR_NAME_MAX_LEN 255
#define XATTR_VALUE_MAX 65536

struct opinfo {
	const char *name;
	/* Decode the body after the header; NULL = the opcode has no body to check. */
	int (*decode)(struct cursor *c, const struct codec_limits *lim, struct request *rq);
	bool no_reply;
};

/* A path component: non-empty, NUL-terminated, no '/', at most name_max bytes. */
static int get_name(struct cursor *c, const struct codec_limits *lim, const char **out)
{
	int rc = cursor_string(c, lim->name_max, out);

	if (rc == 0 && strchr(*out, '/'))
		return -EINVAL;
	return rc;
}

static int dec_entry(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	return get_name(c, lim, &rq->u.entry.name);
}

static int dec_forget(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_forget_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.forget.nlookup = in.nlookup;
	return 0;
}

static int dec_batch_forget(struct cursor *c, const struct codec_limits *lim,
			    struct request *rq)
{
	struct fuse_batch_forget_in in;
	const void *items;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	if (in.count > cursor_left(c) / sizeof(struct fuse_forget_one))
		return -EPROTO;
	rc = cursor_take(c, in.count * sizeof(struct fuse_forget_one), &items);
	if (rc)
		return rc;
	rq->u.batch_forget.count = in.count;
	rq->u.batch_forget.items = items;
	return 0;
}

static int dec_getattr(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_getattr_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.getattr.flags = in.getattr_flags;
	rq->u.getattr.fh = in.fh;
	return 0;
}

static int dec_setattr(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	int rc = cursor_get(c, &rq->u.setattr, sizeof(rq->u.setattr));

	if (rc == 0 && (rq->u.setattr.atimensec >= 1000000000 ||
			rq->u.setattr.mtimensec >= 1000000000 ||
			rq->u.setattr.ctimensec >= 1000000000))
		return -EINVAL;
	return rc;
}

static int dec_symlink(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	int rc = get_name(c, lim, &rq->u.symlink.name);

	return rc ? rc : cursor_string(c, TARGET_MAX, &rq->u.symlink.target);
}

static int dec_mknod(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_mknod_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.mknod.mode = in.mode;
	rq->u.mknod.rdev = in.rdev;
	rq->u.mknod.umask = in.umask;
	return get_name(c, lim, &rq->u.mknod.name);
}

static int dec_mkdir(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_mkdir_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.mkdir.mode = in.mode;
	rq->u.mkdir.umask = in.umask;
	return get_name(c, lim, &rq->u.mkdir.name);
}

static int rename_names(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	int rc = get_name(c, lim, &rq->u.rename.name);

	return rc ? rc : get_name(c, lim, &rq->u.rename.newname);
}

static int dec_rename(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_rename_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.rename.newdir = in.newdir;
	rq->u.rename.flags = 0;
	return rename_names(c, lim, rq);
}

static int dec_rename2(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_rename2_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.rename.newdir = in.newdir;
	rq->u.rename.flags = in.flags;
	return rename_names(c, lim, rq);
}

static int dec_link(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_link_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.link.oldnodeid = in.oldnodeid;
	return get_name(c, lim, &rq->u.link.newname);
}

static int dec_open(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_open_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.open.flags = in.flags;
	rq->u.open.open_flags = in.open_flags;
	return 0;
}

static int create_args(struct cursor *c, struct request *rq)
{
	struct fuse_create_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.create.flags = in.flags;
	rq->u.create.mode = in.mode;
	rq->u.create.umask = in.umask;
	rq->u.create.open_flags = in.open_flags;
	rq->u.create.name = NULL;
	return 0;
}

static int dec_create(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	int rc = create_args(c, rq);

	return rc ? rc : get_name(c, lim, &rq->u.create.name);
}

static int dec_tmpfile(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	return create_args(c, rq);
}

static int dec_read(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_read_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	if (in.offset > INT64_MAX)
		return -EINVAL;
	rq->u.read.fh = in.fh;
	rq->u.read.offset = in.offset;
	rq->u.read.size = in.size;
	rq->u.read.read_flags = in.read_flags;
	rq->u.read.lock_owner = in.lock_owner;
	rq->u.read.flags = in.flags;
	return 0;
}

static int dec_write(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_write_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	if (in.size > lim->max_write || in.offset > INT64_MAX)
		return -EINVAL;
	rq->u.write.fh = in.fh;
	rq->u.write.offset = in.offset;
	rq->u.write.size = in.size;
	rq->u.write.write_flags = in.write_flags;
	rq->u.write.lock_owner = in.lock_owner;
	rq->u.write.flags = in.flags;
	return cursor_take(c, in.size, &rq->u.write.data);
}

static int dec_release(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_release_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.release.fh = in.fh;
	rq->u.release.flags = in.flags;
	rq->u.release.release_flags = in.release_flags;
	rq->u.release.lock_owner = in.lock_owner;
	return 0;
}

static int dec_fsync(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_fsync_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.fsync.fh = in.fh;
	rq->u.fsync.fsync_flags = in.fsync_flags;
	return 0;
}

static int dec_flush(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_flush_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.flush.fh = in.fh;
	rq->u.flush.lock_owner = in.lock_owner;
	return 0;
}

static int dec_setxattr(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_setxattr_in in = { 0 };
	size_t insize = lim->setxattr_ext ? sizeof(in) : FUSE_COMPAT_SETXATTR_IN_SIZE;
	int rc = cursor_get(c, &in, insize);

	if (rc)
		return rc;
	if (in.size > XATTR_VALUE_MAX)
		return -E2BIG;
	rq->u.setxattr.size = in.size;
	rq->u.setxattr.flags = in.flags;
	rc = cursor_string(c, XATTR_NAME_MAX_LEN, &rq->u.setxattr.name);
	return rc ? rc : cursor_take(c, in.size, &rq->u.setxattr.value);
}

static int dec_getxattr(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_getxattr_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.getxattr.size = in.size;
	return cursor_string(c, XATTR_NAME_MAX_LEN, &rq->u.getxattr.name);
}

static int dec_listxattr(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_getxattr_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.getxattr.size = in.size;
	rq->u.getxattr.name = NULL;
	return 0;
}

static int dec_removexattr(struct cursor *c, const struct codec_limits *lim,
			   struct request *rq)
{
	return cursor_string(c, XATTR_NAME_MAX_LEN, &rq->u.removexattr.name);
}

static int dec_init(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_init_in in = { 0 };
	/* Kernels before 7.36 send the 16-byte form; take what is there. */
	size_t n = cursor_left(c) < sizeof(in) ? cursor_left(c) : sizeof(in);
	int rc;

	/* The kernel sends one of the two forms, never something in between. */
	if (n != FUSE_COMPAT_INIT_IN_SIZE && n != sizeof(in))
		return -EPROTO;
	rc = cursor_get(c, &in, n);
	rq->u.init.major = in.major;
	rq->u.init.minor = in.minor;
	rq->u.init.max_readahead = in.max_readahead;
	rq->u.init.flags = in.flags;
	if (in.flags & FUSE_INIT_EXT)
		rq->u.init.flags |= (uint64_t)in.flags2 << 32;
	return rc;
}

static int dec_lk(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_lk_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.lk.fh = in.fh;
	rq->u.lk.owner = in.owner;
	rq->u.lk.lk = in.lk;
	rq->u.lk.lk_flags = in.lk_flags;
	return 0;
}

static int dec_access(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_access_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.access.mask = in.mask;
	return 0;
}

static int dec_interrupt(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_interrupt_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.interrupt.unique = in.unique;
	return 0;
}

static int dec_fallocate(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_fallocate_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	if (in.offset > INT64_MAX || in.length > INT64_MAX)
		return -EINVAL;
	rq->u.fallocate.fh = in.fh;
	rq->u.fallocate.offset = in.offset;
	rq->u.fallocate.length = in.length;
	rq->u.fallocate.mode = in.mode;
	return 0;
}

static int dec_lseek(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_lseek_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	/* A negative offset is an ordinary request (lseek(fd, -1, SEEK_DATA)): the
	 * dispatcher answers it as file systems do. */
	rq->u.lseek.fh = in.fh;
	rq->u.lseek.offset = in.offset;
	rq->u.lseek.whence = in.whence;
	return 0;
}

static int dec_copy_file_range(struct cursor *c, const struct codec_limits *lim,
			       struct request *rq)
{
	struct fuse_copy_file_range_in *in = &rq->u.copy_file_range;
	int rc = cursor_get(c, in, sizeof(*in));

	if (rc == 0 && (in->off_in > INT64_MAX || in->off_out > INT64_MAX))
		return -EINVAL;
	return rc;
}

static int dec_statx(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_statx_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.statx.fh = in.fh;
	rq->u.statx.getattr_flags = in.getattr_flags;
	rq->u.statx.sx_flags = in.sx_flags;
	rq->u.statx.sx_mask = in.sx_mask;
	return 0;
}

static int dec_ioctl(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_ioctl_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	/* The in data follows, exactly in_size bytes of it. */
	if (in.in_size != cursor_left(c))
		return -EPROTO;
	rc = cursor_take(c, in.in_size, &rq->u.ioctl.in);
	if (rc)
		return rc;
	rq->u.ioctl.fh = in.fh;
	rq->u.ioctl.arg = in.arg;
	rq->u.ioctl.flags = in.flags;
	rq->u.ioctl.cmd = in.cmd;
	rq->u.ioctl.in_size = in.in_size;
	rq->u.ioctl.out_size = in.out_size;
	return 0;
}

static int dec_poll(struct cursor *c, const struct codec_limits *lim, struct request *rq)
{
	struct fuse_poll_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	rq->u.poll.fh = in.fh;
	rq->u.poll.kh = in.kh;
	rq->u.poll.flags = in.flags;
	rq->u.poll.events = in.events;
	return 0;
}

static int dec_notify_reply(struct cursor *c, const struct codec_limits *lim,
			    struct request *rq)
{
	struct fuse_notify_retrieve_in in;
	int rc = cursor_get(c, &in, sizeof(in));

	if (rc)
		return rc;
	if (in.size > cursor_left(c) || in.offset > INT64_MAX)
		return -EPROTO;
	rq->u.notify_reply.offset = in.offset;
	rq->u.notify_reply.size = in.size;
	return cursor_take(c, in.size, &rq->u.notify_reply.data);
}

/* The opcode table: name and decoder per opcode, indexed by opcode. */
static const struct opinfo opinfo[FUSE_OPCODE_LIMIT] = {
	[FUSE_LOOKUP] = { "LOOKUP", dec_entry, false },
	[FUSE_FORGET] = { "FORGET", dec_forget, true },
	[FUSE_GETATTR] = { "GETATTR", dec_getattr, false },
	[FUSE_SETATTR] = { "SETATTR", dec_setattr, false },
	[FUSE_READLINK] = { "READLINK", NULL, false },
	[FUSE_SYMLINK] = { "SYMLINK", dec_symlink, false },
	[FUSE_MKNOD] = { "MKNOD", dec_mknod, false },
	[FUSE_MKDIR] = { "MKDIR", dec_mkdir, false },
	[FUSE_UNLINK] = { "UNLINK", dec_entry, false },
	[FUSE_RMDIR] = { "RMDIR", dec_entry, false },
	[FUSE_RENAME] = { "RENAME", dec_rename, false },
	[FUSE_LINK] = { "LINK", dec_link, false },
	[FUSE_OPEN] = { "OPEN", dec_open, false },
	[FUSE_READ] = { "READ", dec_read, false },
	[FUSE_WRITE] = { "WRITE", dec_write, false },
	[FUSE_STATFS] = { "STATFS", NULL, false },
	[FUSE_RELEASE] = { "RELEASE", dec_release, false },
	[FUSE_FSYNC] = { "FSYNC", dec_fsync, false },
	[FUSE_SETXATTR] = { "SETXATTR", dec_setxattr, false },
	[FUSE_GETXATTR] = { "GETXATTR", dec_getxattr, false },
	[FUSE_LISTXATTR] = { "LISTXATTR", dec_listxattr, false },
	[FUSE_REMOVEXATTR] = { "REMOVEXATTR", dec_removexattr, false },
	[FUSE_FLUSH] = { "FLUSH", dec_flush, false },
	[FUSE_INIT] = { "INIT", dec_init, false },
	[FUSE_OPENDIR] = { "OPENDIR", dec_open, false },
	[FUSE_READDIR] = { "READDIR", dec_read, false },
	[FUSE_RELEASEDIR] = { "RELEASEDIR", dec_release, false },
	[FUSE_FSYNCDIR] = { "FSYNCDIR", dec_fsync, false },
	[FUSE_GETLK] = { "GETLK", dec_lk, false },
	[FUSE_SETLK] = { "SETLK", dec_lk, false },
	[FUSE_SETLKW] = { "SETLKW", dec_lk, false },
	[FUSE_ACCESS] = { "ACCESS", dec_access, false },
	[FUSE_CREATE] = { "CREATE", dec_create, false },
	[FUSE_INTERRUPT] = { "INTERRUPT", dec_interrupt, true },
	[FUSE_BMAP] = { "BMAP", NULL, false },
	[FUSE_DESTROY] = { "DESTROY", NULL, false },
	[FUSE_IOCTL] = { "IOCTL", dec_ioctl, false },
	[FUSE_POLL] = { "POLL", dec_poll, false },
	[FUSE_NOTIFY_REPLY] = { "NOTIFY_REPLY", dec_notify_reply, true },
	[FUSE_BATCH_FORGET] = { "BATCH_FORGET", dec_batch_forget, true },
	[FUSE_FALLOCATE] = { "FALLOCATE", dec_fallocate, false },
	[FUSE_READDIRPLUS] = { "READDIRPLUS", dec_read, false },
	[FUSE_RENAME2] = { "RENAME2", dec_rename2, false },
	[FUSE_LSEEK] = { "LSEEK", dec_lseek, false },
	[FUSE_COPY_FILE_RANGE] = { "COPY_FILE_RANGE", dec_copy_file_range, false },
	[FUSE_SETUPMAPPING] = { "SETUPMAPPING", NULL, false },
	[FUSE_REMOVEMAPPING] = { "REMOVEMAPPING", NULL, false },
	[FUSE_SYNCFS] = { "SYNCFS", NULL, false },
	[FUSE_TMPFILE] = { "TMPFILE", dec_tmpfile, false },
	[FUSE_STATX] = { "STATX", dec_statx, false },
	[FUSE_COPY_FILE_RANGE_64] = { "COPY_FILE_RANGE_64", dec_copy_file_range, false },
};

static const struct opinfo *lookup_op(uint32_t opcode)
{
	if (opcode >= FUSE_OPCODE_LIMIT || !opinfo[opcode].name)
		return NULL;
	return &opinfo[opcode];
}

const char *codec_opname(uint32_t opcode)
{
	const struct opinfo *op = lookup_op(opcode);

	return op ? op->name : "UNKNOWN";
}

bool codec_no_reply(uint32_t opcode)
{
	const struct opinfo *op = lookup_op(opcode);

	return op && op->no_reply;
}

bool codec_header_ok(size_t len)
{
	return len >= sizeof(struct fuse_in_header);
}

int codec_decode(const void *buf, size_t len, const struct codec_limits *lim,
		 struct request *rq)
{
	struct fuse_in_header h;
	struct cursor c;
	const struct opinfo *op;
	size_t extlen;

	memset(rq, 0, sizeof(*rq));
	cursor_init(&c, buf, len);
	if (cursor_get(&c, &h, sizeof(h)))
		return -EPROTO;
	rq->opcode = h.opcode;
	rq->unique = h.unique;
	rq->nodeid = h.nodeid;
	rq->uid = h.uid;
	rq->gid = h.gid;
	rq->pid = h.pid;

	/* The header's length must be the bytes actually read: no more, no less. */
	if (h.len != len)
		return -EPROTO;
	/* Extensions (security context, supplementary groups) trail the body; umfs does
	 * not ask for them, but a body must still leave room for what is announced. */
	extlen = (size_t)h.total_extlen * 8;
	if (extlen > cursor_left(&c))
		return -EPROTO;
	c.end -= extlen;

	op = lookup_op(h.opcode);
	if (!op)
		return -ENOSYS;
	if (h.opcode != FUSE_INIT && lim->proto_minor == 0)
		return -EPROTO; /* nothing but INIT before INIT */
	return op->decode ? op->decode(&c, lim, rq) : 0;
}

/* ---- replies ---- */

void codec_out_header(void *buf, uint64_t unique, int error, uint32_t len)
{
	struct fuse_out_header h = { .len = len, .error = error, .unique = unique };

	memcpy(buf, &h, sizeof(h));
}

void codec_timeout(double seconds, uint64_t *sec, uint32_t *nsec)
{
	if (!(seconds > 0)) { /* also NaN */
		*sec = 0;
		*nsec = 0;
	} else if (seconds >= 18446744073.0) {
		*sec = UINT64_MAX / 1000000000;
		*nsec = 0;
	} else {
		*sec = (uint64_t)seconds;
		*nsec = (uint32_t)((seconds - (double)*sec) * 1e9);
		if (*nsec >= 1000000000)
			*nsec = 999999999;
	}
}

void codec_attr(struct fuse_attr *out, const struct stat *st)
{
	memset(out, 0, sizeof(*out));
	out->ino = st->st_ino;
	out->size = (uint64_t)st->st_size;
	out->blocks = (uint64_t)st->st_blocks;
	out->atime = (uint64_t)st->st_atim.tv_sec;
	out->mtime = (uint64_t)st->st_mtim.tv_sec;
	out->ctime = (uint64_t)st->st_ctim.tv_sec;
	out->atimensec = (uint32_t)st->st_atim.tv_nsec;
	out->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	out->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	out->mode = st->st_mode;
	out->nlink = (uint32_t)st->st_nlink;
	out->uid = st->st_uid;
	out->gid = st->st_gid;
	/* The kernel's rdev encoding is new_encode_dev: minor low 8 bits, major 12, rest. */
	out->rdev = (uint32_t)((minor(st->st_rdev) & 0xff) | (major(st->st_rdev) << 8) |
			       ((minor(st->st_rdev) & ~0xffu) << 12));
	out->blksize = (uint32_t)st->st_blksize;
}

void codec_entry_out(struct fuse_entry_out *out, uint64_t nodeid, uint64_t generation,
		     const struct stat *st, double entry_timeout, double attr_timeout)
{
	memset(out, 0, sizeof(*out));
	out->nodeid = nodeid;
	out->generation = generation;
	codec_timeout(entry_timeout, &out->entry_valid, &out->entry_valid_nsec);
	codec_timeout(attr_timeout, &out->attr_valid, &out->attr_valid_nsec);
	if (st)
		codec_attr(&out->attr, st);
}

void codec_attr_out(struct fuse_attr_out *out, const struct stat *st, double timeout)
{
	memset(out, 0, sizeof(*out));
	codec_timeout(timeout, &out->attr_valid, &out->attr_valid_nsec);
	codec_attr(&out->attr, st);
}

static void sx_time(struct fuse_sx_time *t, const struct timespec *ts)
{
	t->tv_sec = ts->tv_sec;
	t->tv_nsec = (uint32_t)ts->tv_nsec;
	t->reserved = 0;
}

void codec_statx_out(struct fuse_statx_out *out, const struct stat *st, double timeout)
{
	struct fuse_statx *sx = &out->stat;

	memset(out, 0, sizeof(*out));
	codec_timeout(timeout, &out->attr_valid, &out->attr_valid_nsec);
	/* What struct stat can say: the basic statx fields, no birth time. */
	sx->mask = 0x7ff; /* STATX_BASIC_STATS */
	sx->blksize = (uint32_t)st->st_blksize;
	sx->nlink = (uint32_t)st->st_nlink;
	sx->uid = st->st_uid;
	sx->gid = st->st_gid;
	sx->mode = (uint16_t)st->st_mode;
	sx->ino = st->st_ino;
	sx->size = (uint64_t)st->st_size;
	sx->blocks = (uint64_t)st->st_blocks;
	sx_time(&sx->atime, &st->st_atim);
	sx_time(&sx->ctime, &st->st_ctim);
	sx_time(&sx->mtime, &st->st_mtim);
	sx->rdev_major = major(st->st_rdev);
	sx->rdev_minor = minor(st->st_rdev);
}

void codec_statfs_out(struct fuse_statfs_out *out, const struct statvfs *st)
{
	memset(out, 0, sizeof(*out));
	out->st.blocks = st->f_blocks;
	out->st.bfree = st->f_bfree;
	out->st.bavail = st->f_bavail;
	out->st.files = st->f_files;
	out->st.ffree = st->f_ffree;
	out->st.bsize = (uint32_t)st->f_bsize;
	out->st.namelen = (uint32_t)st->f_namemax;
	out->st.frsize = (uint32_t)(st->f_frsize ? st->f_frsize : st->f_bsize);
}

size_t codec_dirent(void *buf, size_t space, uint64_t ino, uint64_t next_off,
		    uint32_t type, const char *name, size_t namelen)
{
	size_t size = FUSE_DIRENT_SIZE(namelen);
	struct fuse_dirent d = { .ino = ino, .off = next_off, .namelen = (uint32_t)namelen,
				 .type = type };
	unsigned char *p = buf;

	if (size > space)
		return 0;
	memcpy(p, &d, FUSE_NAME_OFFSET);
	memcpy(p + FUSE_NAME_OFFSET, name, namelen);
	memset(p + FUSE_NAME_OFFSET + namelen, 0, size - FUSE_NAME_OFFSET - namelen);
	return size;
}

size_t codec_direntplus(void *buf, size_t space, const struct fuse_entry_out *entry,
			uint64_t next_off, const char *name, size_t namelen)
{
	size_t size = FUSE_DIRENTPLUS_SIZE(namelen);
	unsigned char *p = buf;

	if (size > space)
		return 0;
	memcpy(p, entry, sizeof(*entry));
	codec_dirent(p + sizeof(*entry), space - sizeof(*entry), entry->attr.ino, next_off,
		     (entry->attr.mode & S_IFMT) >> 12, name, namelen);
	return size;
}
