/* SPDX-License-Identifier: MIT */
/*
 * codec.h - FUSE requests from bytes, replies to bytes. Pure functions: no threads, no
 * sessions, no file system. Everything the kernel sends is checked here: a request
 * that decodes is one whose lengths, names and sizes are all within bounds.
 */
#ifndef UMFS_CODEC_H
#define UMFS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "wire.h"

/* What the decoder needs to know about the connection. */
struct codec_limits {
	uint32_t proto_minor; /* negotiated minor; 0 before INIT */
	uint32_t max_write;   /* largest WRITE payload accepted */
	uint32_t name_max;    /* longest name accepted (ENAMETOOLONG beyond) */
	bool setxattr_ext;    /* SETXATTR_EXT negotiated: fuse_setxattr_in is 16 bytes */
};

/* INIT's arguments; flags holds flags2 in its high half (INIT_EXT). */
struct init_args {
	uint32_t major, minor, max_readahead;
	uint64_t flags;
};

/* A decoded request. Pointers point into the buffer given to codec_decode. */
struct request {
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t uid, gid, pid;
	union {
		struct { const char *name; } entry; /* LOOKUP, UNLINK, RMDIR */
		struct { uint64_t nlookup; } forget;
		struct { uint32_t count; const unsigned char *items; } batch_forget;
		struct { uint32_t flags; uint64_t fh; } getattr;
		struct fuse_setattr_in setattr;
		struct { const char *name, *target; } symlink;
		struct { const char *name; uint32_t mode, rdev, umask; } mknod;
		struct { const char *name; uint32_t mode, umask; } mkdir;
		struct { uint64_t newdir; uint32_t flags; const char *name, *newname; } rename;
		struct { uint64_t oldnodeid; const char *newname; } link;
		struct { uint32_t flags, open_flags; } open;
		struct { const char *name; uint32_t flags, mode, umask, open_flags; } create;
		struct { uint64_t fh, offset, lock_owner; uint32_t size, read_flags, flags; } read;
		struct {
			uint64_t fh, offset, lock_owner;
			uint32_t size, write_flags, flags;
			const void *data;
		} write;
		struct { uint64_t fh, lock_owner; uint32_t flags, release_flags; } release;
		struct { uint64_t fh; uint32_t fsync_flags; } fsync;
		struct { uint64_t fh, lock_owner; } flush;
		struct { const char *name; const void *value; uint32_t size, flags; } setxattr;
		struct { const char *name; uint32_t size; } getxattr; /* name NULL: LISTXATTR */
		struct { const char *name; } removexattr;
		struct init_args init;
		struct { uint64_t fh, owner; struct fuse_file_lock lk; uint32_t lk_flags; } lk;
		struct { uint32_t mask; } access;
		struct { uint64_t unique; } interrupt;
		struct { uint64_t fh, offset, length; uint32_t mode; } fallocate;
		struct { uint64_t fh, offset; uint32_t whence; } lseek;
		struct fuse_copy_file_range_in copy_file_range;
		struct { uint64_t fh; uint32_t getattr_flags, sx_flags, sx_mask; } statx;
		struct {
			uint64_t fh, arg;
			uint32_t flags, cmd, in_size, out_size;
			const void *in;
		} ioctl;
		struct { uint64_t fh, kh; uint32_t flags, events; } poll;
		struct { uint64_t offset; uint32_t size; const void *data; } notify_reply;
	} u;
};

/*
 * Decode one request of len bytes. Returns 0, or a negative errno saying why the
 * request is malformed: -EPROTO (lengths do not add up), -EINVAL (a bad value),
 * -ENAMETOOLONG, -ENOSYS (an opcode umfs does not know). On error, rq->unique and
 * rq->opcode are valid whenever the header was complete (len >= 40): the caller can
 * answer with the error; a request too short for a header cannot be answered.
 */
int codec_decode(const void *buf, size_t len, const struct codec_limits *lim,
		 struct request *rq);

/* Whether the header of a failed decode was readable (so an error reply can go back). */
bool codec_header_ok(size_t len);

/* The opcode's name for traces ("LOOKUP"), or "UNKNOWN". */
const char *codec_opname(uint32_t opcode);
/* Whether the kernel expects no reply to this opcode (FORGET, BATCH_FORGET). */
bool codec_no_reply(uint32_t opcode);

/* ---- replies ---- */

/* Write the out header for a reply of total length len (header included). */
void codec_out_header(void *buf, uint64_t unique, int error, uint32_t len);

/* Seconds (>= 0, may be fractional) into the kernel's seconds + nanoseconds. */
void codec_timeout(double seconds, uint64_t *sec, uint32_t *nsec);

void codec_attr(struct fuse_attr *out, const struct stat *st);
void codec_entry_out(struct fuse_entry_out *out, uint64_t nodeid, uint64_t generation,
		     const struct stat *st, double entry_timeout, double attr_timeout);
void codec_attr_out(struct fuse_attr_out *out, const struct stat *st, double timeout);
void codec_statx_out(struct fuse_statx_out *out, const struct stat *st, double timeout);
void codec_statfs_out(struct fuse_statfs_out *out, const struct statvfs *st);

/* Append one directory entry at buf (space bytes free). Returns the bytes used, or 0
 * when it does not fit. */
size_t codec_dirent(void *buf, size_t space, uint64_t ino, uint64_t next_off,
		    uint32_t type, const char *name, size_t namelen);
size_t codec_direntplus(void *buf, size_t space, const struct fuse_entry_out *entry,
			uint64_t next_off, const char *name, size_t namelen);

#endif
