/* SPDX-License-Identifier: MIT */
/*
 * test_codec.c - unit tests for lib/codec.c, without a kernel and without a framework.
 *
 * Requests are built from the wire structs (header + body + names) into a malloc'd
 * buffer of exactly the request's size, so that a build with -fsanitize=address catches
 * any read past the end. Replies are compared byte for byte against arrays built here
 * independently, by writing little-endian integers at the offsets the protocol documents.
 *
 * Every failing check prints one line "file:line: FAIL [context]: what"; the last line is
 * "codec: N passed, N failed" and the exit status is nonzero if anything failed.
 *
 *   gcc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -fsanitize=address,undefined \
 *       -Iinclude -Ilib tests/unit/test_codec.c lib/codec.c -o /tmp/test_codec
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_NOATIME, O_TMPFILE */
#endif
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "codec.h"
#include "wire.h"

/* ------------------------------------------------------------------------------------ */
/* The wire ABI: sizes and offsets, checked against the field lists of the protocol.     */

#define SIZE_IS(type, n) _Static_assert(sizeof(struct type) == (n), #type " is " #n " bytes")
#define OFF_IS(type, f, n) \
	_Static_assert(offsetof(struct type, f) == (n), #type "." #f " is at " #n)

SIZE_IS(fuse_in_header, 40);
OFF_IS(fuse_in_header, len, 0);
OFF_IS(fuse_in_header, opcode, 4);
OFF_IS(fuse_in_header, unique, 8);
OFF_IS(fuse_in_header, nodeid, 16);
OFF_IS(fuse_in_header, uid, 24);
OFF_IS(fuse_in_header, gid, 28);
OFF_IS(fuse_in_header, pid, 32);
OFF_IS(fuse_in_header, total_extlen, 36);
OFF_IS(fuse_in_header, padding, 38);
SIZE_IS(fuse_out_header, 16);
OFF_IS(fuse_out_header, error, 4);
OFF_IS(fuse_out_header, unique, 8);
SIZE_IS(fuse_attr, 88);
OFF_IS(fuse_attr, atimensec, 48);
OFF_IS(fuse_attr, mode, 60);
OFF_IS(fuse_attr, rdev, 76);
OFF_IS(fuse_attr, flags, 84);
SIZE_IS(fuse_entry_out, 128);
OFF_IS(fuse_entry_out, entry_valid_nsec, 32);
OFF_IS(fuse_entry_out, attr, 40);
SIZE_IS(fuse_attr_out, 104);
OFF_IS(fuse_attr_out, attr, 16);
SIZE_IS(fuse_sx_time, 16);
SIZE_IS(fuse_statx, 256);
OFF_IS(fuse_statx, mode, 28);
OFF_IS(fuse_statx, ino, 32);
OFF_IS(fuse_statx, atime, 64);
OFF_IS(fuse_statx, mtime, 112);
OFF_IS(fuse_statx, rdev_major, 128);
OFF_IS(fuse_statx, spare2, 144);
SIZE_IS(fuse_statx_in, 24);
SIZE_IS(fuse_statx_out, 288); /* 8 + 4 + 4 + 2*8 + 256: not 280 */
OFF_IS(fuse_statx_out, stat, 32);
SIZE_IS(fuse_kstatfs, 80);
SIZE_IS(fuse_statfs_out, 80);
SIZE_IS(fuse_file_lock, 24);
SIZE_IS(fuse_forget_in, 8);
SIZE_IS(fuse_forget_one, 16);
SIZE_IS(fuse_batch_forget_in, 8);
SIZE_IS(fuse_getattr_in, 16);
SIZE_IS(fuse_mknod_in, 16);
SIZE_IS(fuse_mkdir_in, 8);
SIZE_IS(fuse_rename_in, 8);
SIZE_IS(fuse_rename2_in, 16);
SIZE_IS(fuse_link_in, 8);
SIZE_IS(fuse_setattr_in, 88);
OFF_IS(fuse_setattr_in, fh, 8);
OFF_IS(fuse_setattr_in, atime, 32);
OFF_IS(fuse_setattr_in, atimensec, 56);
OFF_IS(fuse_setattr_in, mode, 68);
OFF_IS(fuse_setattr_in, uid, 76);
OFF_IS(fuse_setattr_in, gid, 80);
SIZE_IS(fuse_open_in, 8);
SIZE_IS(fuse_create_in, 16);
SIZE_IS(fuse_open_out, 16);
SIZE_IS(fuse_release_in, 24);
SIZE_IS(fuse_flush_in, 24);
SIZE_IS(fuse_read_in, 40);
OFF_IS(fuse_read_in, size, 16);
OFF_IS(fuse_read_in, lock_owner, 24);
OFF_IS(fuse_read_in, flags, 32);
SIZE_IS(fuse_write_in, 40);
SIZE_IS(fuse_write_out, 8);
SIZE_IS(fuse_fsync_in, 16);
SIZE_IS(fuse_setxattr_in, 16);
SIZE_IS(fuse_getxattr_in, 8);
SIZE_IS(fuse_getxattr_out, 8);
SIZE_IS(fuse_lk_in, 48);
OFF_IS(fuse_lk_in, lk, 16);
OFF_IS(fuse_lk_in, lk_flags, 40);
SIZE_IS(fuse_lk_out, 24);
SIZE_IS(fuse_access_in, 8);
SIZE_IS(fuse_init_in, 64);
OFF_IS(fuse_init_in, flags2, 16);
SIZE_IS(fuse_init_out, 64);
OFF_IS(fuse_init_out, max_background, 16);
OFF_IS(fuse_init_out, max_write, 20);
OFF_IS(fuse_init_out, max_pages, 28);
OFF_IS(fuse_init_out, flags2, 32);
OFF_IS(fuse_init_out, max_stack_depth, 36);
OFF_IS(fuse_init_out, request_timeout, 40);
SIZE_IS(fuse_interrupt_in, 8);
SIZE_IS(fuse_fallocate_in, 32);
SIZE_IS(fuse_lseek_in, 24);
SIZE_IS(fuse_lseek_out, 8);
SIZE_IS(fuse_copy_file_range_in, 56);
SIZE_IS(fuse_copy_file_range_out, 8);
SIZE_IS(fuse_dirent, 24);
SIZE_IS(fuse_direntplus, 152);
SIZE_IS(fuse_notify_inval_inode_out, 24);
SIZE_IS(fuse_notify_inval_entry_out, 16);
SIZE_IS(fuse_notify_delete_out, 24);
SIZE_IS(fuse_notify_store_out, 24);
SIZE_IS(fuse_backing_map, 16);
_Static_assert(FUSE_NAME_OFFSET == 24, "dirent name at 24");
_Static_assert(FUSE_NAME_OFFSET_DIRENTPLUS == 152, "direntplus name at 152");
_Static_assert(FUSE_COMPAT_SETXATTR_IN_SIZE == 8, "compat setxattr_in is 8 bytes");
_Static_assert(FUSE_COMPAT_INIT_IN_SIZE == 16, "compat init_in is 16 bytes");

/* ------------------------------------------------------------------------------------ */
/* Checks                                                                                */

static unsigned passed, failed;
static char ctx[200]; /* what a loop is at, printed with failures */

static void setctx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void setctx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
}

static bool report(bool ok, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool report(bool ok, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		return true;
	}
	failed++;
	printf("%s:%d: FAIL", __FILE__, line);
	if (ctx[0])
		printf(" [%s]", ctx);
	printf(": ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return false;
}

static bool check_i(int line, long long got, long long want, const char *expr)
{
	return report(got == want, line, "%s == %lld, expected %lld", expr, got, want);
}

static bool check_u(int line, unsigned long long got, unsigned long long want, const char *expr)
{
	return report(got == want, line, "%s == %#llx, expected %#llx", expr, got, want);
}

static bool check_s(int line, const char *got, const char *want, const char *expr)
{
	bool ok = got && want ? strcmp(got, want) == 0 : got == want;

	return report(ok, line, "%s == \"%.60s\", expected \"%.60s\"", expr, got ? got : "(null)",
		      want ? want : "(null)");
}

static bool check_mem(int line, const void *got, const void *want, size_t n, const char *expr)
{
	const unsigned char *g = got, *w = want;

	for (size_t i = 0; i < n; i++)
		if (g[i] != w[i])
			return report(false, line, "%s: byte %zu is %#04x, expected %#04x", expr, i,
				      g[i], w[i]);
	return report(true, line, "%s", expr);
}

#define CHECK(e) report(!!(e), __LINE__, "%s", #e)
#define CHECK_I(got, want) check_i(__LINE__, (long long)(got), (long long)(want), #got)
#define CHECK_U(got, want) \
	check_u(__LINE__, (unsigned long long)(got), (unsigned long long)(want), #got)
#define CHECK_S(got, want) check_s(__LINE__, (got), (want), #got)
#define CHECK_MEM(got, want, n) check_mem(__LINE__, (got), (want), (n), #got)
/* In helpers that are given the caller's line. */
#define CHECK_I_AT(line, got, want) check_i(line, (long long)(got), (long long)(want), #got)
#define CHECK_AT(line, e) report(!!(e), line, "%s", #e)

/* ------------------------------------------------------------------------------------ */
/* Building and decoding requests                                                        */

/* A request body under construction. Large enough for a 64 KiB xattr value. */
struct body {
	size_t n;
	unsigned char b[70000];
};

static void b_reset(struct body *b)
{
	b->n = 0;
}

static void b_put(struct body *b, const void *p, size_t n)
{
	if (b->n + n > sizeof(b->b))
		abort();
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

/* A string with its NUL. */
static void b_str(struct body *b, const char *s)
{
	b_put(b, s, strlen(s) + 1);
}

/* Bytes without a NUL. */
static void b_raw(struct body *b, const char *s)
{
	b_put(b, s, strlen(s));
}

static void b_fill(struct body *b, int ch, size_t n)
{
	if (b->n + n > sizeof(b->b))
		abort();
	memset(b->b + b->n, ch, n);
	b->n += n;
}

/* The last decode. Its buffer lives until the next decode, as rq points into it. */
static struct {
	unsigned char *mem; /* what malloc returned */
	unsigned char *buf; /* the request (mem, or mem + 1 for the unaligned runs) */
	size_t len;
	struct fuse_in_header h; /* the header that was sent */
	struct request rq;
	int rc;
} D;

static uint64_t next_unique = 0x100;

static int decode_bytes(const void *bytes, size_t len, const struct codec_limits *lim,
			bool misalign)
{
	free(D.mem);
	/* Exactly len bytes after buf, so an overread hits the redzone. */
	D.mem = malloc(misalign + (len ? len : 1)); /* malloc(0) may return NULL */
	if (!D.mem)
		abort();
	D.buf = D.mem + misalign;
	D.len = len;
	memcpy(D.buf, bytes, len);
	memset(&D.rq, 0xa5, sizeof(D.rq)); /* the decoder must set what it reports */
	D.rc = codec_decode(D.buf, len, lim, &D.rq);
	return D.rc;
}

/* Header + body, the header's len being the real length plus len_delta. */
static int decode_ex(uint32_t opcode, const void *body, size_t bodylen, uint16_t extlen,
		     long long len_delta, const struct codec_limits *lim, bool misalign)
{
	static unsigned char tmp[sizeof(struct fuse_in_header) + sizeof(((struct body *)0)->b)];
	const uint64_t unique = next_unique += 2; /* a new one each time */
	struct fuse_in_header h = {
		.len = (uint32_t)(sizeof(h) + bodylen + len_delta),
		.opcode = opcode,
		.unique = unique,
		.nodeid = 0x0a0b0c0d00000000ULL + unique,
		.uid = 1001,
		.gid = 1002,
		.pid = 4242,
		.total_extlen = extlen,
		.padding = 0,
	};

	memcpy(tmp, &h, sizeof(h));
	memcpy(tmp + sizeof(h), body, bodylen);
	D.h = h;
	return decode_bytes(tmp, sizeof(h) + bodylen, lim, misalign);
}

static int decode(uint32_t opcode, const void *body, size_t bodylen,
		  const struct codec_limits *lim)
{
	return decode_ex(opcode, body, bodylen, 0, 0, lim, false);
}

static int decode_b(uint32_t opcode, const struct body *b, const struct codec_limits *lim)
{
	return decode(opcode, b->b, b->n, lim);
}

/* The request's header fields are reported whenever the header was complete. */
static void check_hdr_at(int line)
{
	CHECK_I_AT(line, D.rq.opcode, D.h.opcode);
	report(D.rq.unique == D.h.unique, line, "rq.unique == %#llx, expected %#llx",
	       (unsigned long long)D.rq.unique, (unsigned long long)D.h.unique);
	report(D.rq.nodeid == D.h.nodeid, line, "rq.nodeid == %#llx, expected %#llx",
	       (unsigned long long)D.rq.nodeid, (unsigned long long)D.h.nodeid);
	CHECK_I_AT(line, D.rq.uid, D.h.uid);
	CHECK_I_AT(line, D.rq.gid, D.h.gid);
	CHECK_I_AT(line, D.rq.pid, D.h.pid);
}
#define CHECK_HDR() check_hdr_at(__LINE__)

/* A pointer the decoder returned lies in the request body at byte off. */
#define CHECK_AT_BODY(p, off) \
	report((const unsigned char *)(p) == D.buf + sizeof(struct fuse_in_header) + (off), \
	       __LINE__, "%s points at body byte %zu", #p, (size_t)(off))

static bool union_is_zero(const struct request *rq)
{
	static const unsigned char zero[sizeof(rq->u)];

	return memcmp(&rq->u, zero, sizeof(rq->u)) == 0;
}

/*
 * Every strict prefix of the body shorter than upto gives -EPROTO (the header's len
 * always matching, so it is the body that is short), reports the header, and leaves
 * the body fields zero while the prefix is shorter than the fixed part.
 */
static void truncations_at(int line, uint32_t op, const struct body *b, size_t upto,
			   size_t fixed, const struct codec_limits *lim)
{
	for (size_t n = 0; n < upto; n++) {
		setctx("%s body truncated to %zu of %zu bytes", codec_opname(op), n, b->n);
		CHECK_I_AT(line, decode(op, b->b, n, lim), -EPROTO);
		check_hdr_at(line);
		if (n < fixed)
			CHECK_AT(line, union_is_zero(&D.rq));
	}
	setctx("%s", "");
}
#define TRUNCATIONS(op, b, fixed, lim) truncations_at(__LINE__, op, b, (b)->n, fixed, lim)

static const struct codec_limits LIM = {
	.proto_minor = 45, .max_write = 128 * 1024, .name_max = 255, .setxattr_ext = false
};
static const struct codec_limits LIM_EXT = {
	.proto_minor = 45, .max_write = 128 * 1024, .name_max = 255, .setxattr_ext = true
};
static const struct codec_limits LIM_PRE_INIT = {
	.proto_minor = 0, .max_write = 128 * 1024, .name_max = 255, .setxattr_ext = false
};

/* Which opcodes a well-formed-request test has covered. */
static bool covered[FUSE_OPCODE_LIMIT];

/* Decode a well-formed request: rc 0 and the header echoed. */
static bool ok_at(int line, uint32_t op, const struct body *b, const struct codec_limits *lim)
{
	setctx("%s well-formed", codec_opname(op));
	bool ok = CHECK_I_AT(line, decode_b(op, b, lim), 0);
	check_hdr_at(line);
	setctx("%s", "");
	if (op < FUSE_OPCODE_LIMIT)
		covered[op] = true;
	return ok;
}
#define DECODE_OK(op, b, lim) ok_at(__LINE__, op, b, lim)

/* ------------------------------------------------------------------------------------ */
/* Requests, opcode by opcode                                                            */

static void test_entry_ops(void)
{
	static struct body b;
	const uint32_t ops[] = { FUSE_LOOKUP, FUSE_UNLINK, FUSE_RMDIR };

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		b_reset(&b);
		b_str(&b, "hello.txt");
		if (DECODE_OK(ops[i], &b, &LIM)) {
			CHECK_S(D.rq.u.entry.name, "hello.txt");
			CHECK_AT_BODY(D.rq.u.entry.name, 0);
		}
		TRUNCATIONS(ops[i], &b, 0, &LIM);
	}
}

static void test_forget(void)
{
	static struct body b;
	struct fuse_forget_in in = { .nlookup = 0x0123456789abcdefULL };

	b_reset(&b);
	b_put(&b, &in, sizeof(in));
	if (DECODE_OK(FUSE_FORGET, &b, &LIM))
		CHECK_U(D.rq.u.forget.nlookup, 0x0123456789abcdefULL);
	TRUNCATIONS(FUSE_FORGET, &b, sizeof(in), &LIM);
}

static void test_batch_forget(void)
{
	static struct body b;
	struct fuse_batch_forget_in in = { .count = 3, .dummy = 0 };
	struct fuse_forget_one one[3] = {
		{ 10, 1 }, { 0x1111222233334444ULL, 0x5555666677778888ULL }, { 12, 3 },
	};

	b_reset(&b);
	b_put(&b, &in, sizeof(in));
	b_put(&b, one, sizeof(one));
	if (DECODE_OK(FUSE_BATCH_FORGET, &b, &LIM)) {
		CHECK_U(D.rq.u.batch_forget.count, 3);
		CHECK_AT_BODY(D.rq.u.batch_forget.items, sizeof(in));
		CHECK_MEM(D.rq.u.batch_forget.items, one, sizeof(one));
	}
	TRUNCATIONS(FUSE_BATCH_FORGET, &b, sizeof(in), &LIM);

	/* count 0, no items */
	b_reset(&b);
	in.count = 0;
	b_put(&b, &in, sizeof(in));
	CHECK_I(decode_b(FUSE_BATCH_FORGET, &b, &LIM), 0);
	CHECK_U(D.rq.u.batch_forget.count, 0);

	/* counts larger than the body, including ones whose byte size overflows 32 bits
	 * (0x10000000 * 16 == 2^32) or 64 bits were it computed in a wider signed type */
	const uint32_t bad[] = { 4, 5, 0x10000000u, 0x10000001u, 0x80000000u, UINT32_MAX };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setctx("BATCH_FORGET count %#x with 3 items", bad[i]);
		b_reset(&b);
		in.count = bad[i];
		b_put(&b, &in, sizeof(in));
		b_put(&b, one, sizeof(one));
		CHECK_I(decode_b(FUSE_BATCH_FORGET, &b, &LIM), -EPROTO);
		CHECK_HDR();
	}
	/* a partial trailing item does not make up a whole one */
	setctx("BATCH_FORGET count 4, 3.5 items");
	b_reset(&b);
	in.count = 4;
	b_put(&b, &in, sizeof(in));
	b_put(&b, one, sizeof(one));
	b_fill(&b, 0, 8);
	CHECK_I(decode_b(FUSE_BATCH_FORGET, &b, &LIM), -EPROTO);
	setctx("%s", "");
}

static void test_getattr(void)
{
	static struct body b;
	struct fuse_getattr_in in = { .getattr_flags = FUSE_GETATTR_FH, .dummy = 0x77,
				      .fh = 0xf00dfeedcafebeefULL };

	b_reset(&b);
	b_put(&b, &in, sizeof(in));
	if (DECODE_OK(FUSE_GETATTR, &b, &LIM)) {
		CHECK_U(D.rq.u.getattr.flags, FUSE_GETATTR_FH);
		CHECK_U(D.rq.u.getattr.fh, 0xf00dfeedcafebeefULL);
	}
	TRUNCATIONS(FUSE_GETATTR, &b, sizeof(in), &LIM);
}

static void test_setattr(void)
{
	static struct body b;
	const struct fuse_setattr_in good = {
		.valid = FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE | FATTR_ATIME |
			 FATTR_MTIME | FATTR_FH | FATTR_CTIME,
		.fh = 0x1111111111111111ULL,
		.size = 0x2222222222ULL,
		.lock_owner = 0x3333333333333333ULL,
		.atime = 1700000000,
		.mtime = 1700000001,
		.ctime = 1700000002,
		.atimensec = 0,
		.mtimensec = 999999999,
		.ctimensec = 123,
		.mode = 0100640,
		.uid = 1000,
		.gid = 1001,
	};
	struct fuse_setattr_in in = good;

	b_reset(&b);
	b_put(&b, &in, sizeof(in));
	if (DECODE_OK(FUSE_SETATTR, &b, &LIM)) {
		CHECK_U(D.rq.u.setattr.valid, good.valid);
		CHECK_U(D.rq.u.setattr.fh, good.fh);
		CHECK_U(D.rq.u.setattr.size, good.size);
		CHECK_U(D.rq.u.setattr.lock_owner, good.lock_owner);
		CHECK_U(D.rq.u.setattr.atime, good.atime);
		CHECK_U(D.rq.u.setattr.mtime, good.mtime);
		CHECK_U(D.rq.u.setattr.ctime, good.ctime);
		CHECK_U(D.rq.u.setattr.atimensec, good.atimensec);
		CHECK_U(D.rq.u.setattr.mtimensec, good.mtimensec);
		CHECK_U(D.rq.u.setattr.ctimensec, good.ctimensec);
		CHECK_U(D.rq.u.setattr.mode, good.mode);
		CHECK_U(D.rq.u.setattr.uid, good.uid);
		CHECK_U(D.rq.u.setattr.gid, good.gid);
	}
	TRUNCATIONS(FUSE_SETATTR, &b, sizeof(in), &LIM);

	/* nanoseconds must be below one second, each of the three */
	const uint32_t badns[] = { 1000000000u, 1000000001u, UINT32_MAX };
	for (size_t i = 0; i < sizeof(badns) / sizeof(badns[0]); i++) {
		for (int which = 0; which < 3; which++) {
			setctx("SETATTR nsec[%d] = %u", which, badns[i]);
			in = good;
			if (which == 0)
				in.atimensec = badns[i];
			else if (which == 1)
				in.mtimensec = badns[i];
			else
				in.ctimensec = badns[i];
			CHECK_I(decode(FUSE_SETATTR, &in, sizeof(in), &LIM), -EINVAL);
			CHECK_HDR();
		}
	}
	setctx("%s", "");
	in = good;
	in.atimensec = in.mtimensec = in.ctimensec = 999999999;
	CHECK_I(decode(FUSE_SETATTR, &in, sizeof(in), &LIM), 0);
}

static void test_symlink(void)
{
	static struct body b;
	static char big[4097];

	b_reset(&b);
	b_str(&b, "link");
	b_str(&b, "../some/target");
	if (DECODE_OK(FUSE_SYMLINK, &b, &LIM)) {
		CHECK_S(D.rq.u.symlink.name, "link");
		CHECK_S(D.rq.u.symlink.target, "../some/target");
		CHECK_AT_BODY(D.rq.u.symlink.name, 0);
		CHECK_AT_BODY(D.rq.u.symlink.target, 5);
	}
	TRUNCATIONS(FUSE_SYMLINK, &b, 0, &LIM);

	/* the target is a path: '/' allowed, at most 4095 bytes, not empty */
	b_reset(&b);
	b_str(&b, "l");
	b_str(&b, "/");
	CHECK_I(decode_b(FUSE_SYMLINK, &b, &LIM), 0);
	CHECK_S(D.rq.u.symlink.target, "/");

	memset(big, 'x', 4095);
	big[4095] = 0;
	b_reset(&b);
	b_str(&b, "l");
	b_str(&b, big);
	CHECK_I(decode_b(FUSE_SYMLINK, &b, &LIM), 0);
	CHECK_I(D.rq.u.symlink.target ? strlen(D.rq.u.symlink.target) : 0, 4095);

	memset(big, 'x', 4096);
	big[4096] = 0;
	b_reset(&b);
	b_str(&b, "l");
	b_str(&b, big);
	CHECK_I(decode_b(FUSE_SYMLINK, &b, &LIM), -ENAMETOOLONG);

	b_reset(&b);
	b_str(&b, "l");
	b_str(&b, "");
	CHECK_I(decode_b(FUSE_SYMLINK, &b, &LIM), -EINVAL);

	b_reset(&b);
	b_str(&b, "l");
	b_raw(&b, "target-without-nul");
	CHECK_I(decode_b(FUSE_SYMLINK, &b, &LIM), -EPROTO);
}

static void test_mknod_mkdir(void)
{
	static struct body b;
	struct fuse_mknod_in mn = { .mode = S_IFCHR | 0600, .rdev = 0x801, .umask = 022,
				    .padding = 0 };
	struct fuse_mkdir_in md = { .mode = 0755, .umask = 077 };

	b_reset(&b);
	b_put(&b, &mn, sizeof(mn));
	b_str(&b, "devnode");
	if (DECODE_OK(FUSE_MKNOD, &b, &LIM)) {
		CHECK_U(D.rq.u.mknod.mode, S_IFCHR | 0600);
		CHECK_U(D.rq.u.mknod.rdev, 0x801);
		CHECK_U(D.rq.u.mknod.umask, 022);
		CHECK_S(D.rq.u.mknod.name, "devnode");
		CHECK_AT_BODY(D.rq.u.mknod.name, sizeof(mn));
	}
	TRUNCATIONS(FUSE_MKNOD, &b, sizeof(mn), &LIM);

	b_reset(&b);
	b_put(&b, &md, sizeof(md));
	b_str(&b, "subdir");
	if (DECODE_OK(FUSE_MKDIR, &b, &LIM)) {
		CHECK_U(D.rq.u.mkdir.mode, 0755);
		CHECK_U(D.rq.u.mkdir.umask, 077);
		CHECK_S(D.rq.u.mkdir.name, "subdir");
		CHECK_AT_BODY(D.rq.u.mkdir.name, sizeof(md));
	}
	TRUNCATIONS(FUSE_MKDIR, &b, sizeof(md), &LIM);
}

static void test_rename_link(void)
{
	static struct body b;
	struct fuse_rename_in r = { .newdir = 0x4242424242ULL };
	struct fuse_rename2_in r2 = { .newdir = 0x4343434343ULL, .flags = 2 /*EXCHANGE*/,
				      .padding = 0 };
	struct fuse_link_in l = { .oldnodeid = 0x9999999999ULL };

	b_reset(&b);
	b_put(&b, &r, sizeof(r));
	b_str(&b, "old");
	b_str(&b, "new");
	if (DECODE_OK(FUSE_RENAME, &b, &LIM)) {
		CHECK_U(D.rq.u.rename.newdir, 0x4242424242ULL);
		CHECK_U(D.rq.u.rename.flags, 0);
		CHECK_S(D.rq.u.rename.name, "old");
		CHECK_S(D.rq.u.rename.newname, "new");
		CHECK_AT_BODY(D.rq.u.rename.name, sizeof(r));
		CHECK_AT_BODY(D.rq.u.rename.newname, sizeof(r) + 4);
	}
	TRUNCATIONS(FUSE_RENAME, &b, sizeof(r), &LIM);

	b_reset(&b);
	b_put(&b, &r2, sizeof(r2));
	b_str(&b, "a");
	b_str(&b, "bb");
	if (DECODE_OK(FUSE_RENAME2, &b, &LIM)) {
		CHECK_U(D.rq.u.rename.newdir, 0x4343434343ULL);
		CHECK_U(D.rq.u.rename.flags, 2);
		CHECK_S(D.rq.u.rename.name, "a");
		CHECK_S(D.rq.u.rename.newname, "bb");
	}
	TRUNCATIONS(FUSE_RENAME2, &b, sizeof(r2), &LIM);

	b_reset(&b);
	b_put(&b, &l, sizeof(l));
	b_str(&b, "hardlink");
	if (DECODE_OK(FUSE_LINK, &b, &LIM)) {
		CHECK_U(D.rq.u.link.oldnodeid, 0x9999999999ULL);
		CHECK_S(D.rq.u.link.newname, "hardlink");
		CHECK_AT_BODY(D.rq.u.link.newname, sizeof(l));
	}
	TRUNCATIONS(FUSE_LINK, &b, sizeof(l), &LIM);
}

static void test_open_create_tmpfile(void)
{
	static struct body b;
	struct fuse_open_in o = { .flags = O_RDWR | O_APPEND,
				  .open_flags = FUSE_OPEN_KILL_SUIDGID };
	struct fuse_create_in c = { .flags = O_WRONLY | O_CREAT | O_EXCL, .mode = 0100600,
				    .umask = 022, .open_flags = FUSE_OPEN_KILL_SUIDGID };
	const uint32_t open_ops[] = { FUSE_OPEN, FUSE_OPENDIR };

	for (size_t i = 0; i < 2; i++) {
		b_reset(&b);
		b_put(&b, &o, sizeof(o));
		if (DECODE_OK(open_ops[i], &b, &LIM)) {
			CHECK_U(D.rq.u.open.flags, O_RDWR | O_APPEND);
			CHECK_U(D.rq.u.open.open_flags, FUSE_OPEN_KILL_SUIDGID);
		}
		TRUNCATIONS(open_ops[i], &b, sizeof(o), &LIM);
	}

	b_reset(&b);
	b_put(&b, &c, sizeof(c));
	b_str(&b, "newfile");
	if (DECODE_OK(FUSE_CREATE, &b, &LIM)) {
		CHECK_U(D.rq.u.create.flags, O_WRONLY | O_CREAT | O_EXCL);
		CHECK_U(D.rq.u.create.mode, 0100600);
		CHECK_U(D.rq.u.create.umask, 022);
		CHECK_U(D.rq.u.create.open_flags, FUSE_OPEN_KILL_SUIDGID);
		CHECK_S(D.rq.u.create.name, "newfile");
		CHECK_AT_BODY(D.rq.u.create.name, sizeof(c));
	}
	TRUNCATIONS(FUSE_CREATE, &b, sizeof(c), &LIM);

	/* TMPFILE: the kernel sends fuse_create_in and the tmpfile dentry's name, "/". */
	c.flags = O_RDWR | O_TMPFILE;
	b_reset(&b);
	b_put(&b, &c, sizeof(c));
	b_str(&b, "/");
	if (DECODE_OK(FUSE_TMPFILE, &b, &LIM)) {
		CHECK_U(D.rq.u.create.flags, O_RDWR | O_TMPFILE);
		CHECK_U(D.rq.u.create.mode, 0100600);
		CHECK_U(D.rq.u.create.umask, 022);
		CHECK_U(D.rq.u.create.open_flags, FUSE_OPEN_KILL_SUIDGID);
		CHECK(D.rq.u.create.name == NULL);
	}
	truncations_at(__LINE__, FUSE_TMPFILE, &b, sizeof(c), sizeof(c), &LIM);
	/* and without the name */
	CHECK_I(decode(FUSE_TMPFILE, &c, sizeof(c), &LIM), 0);
}

static void test_read(void)
{
	static struct body b;
	const uint32_t ops[] = { FUSE_READ, FUSE_READDIR, FUSE_READDIRPLUS };
	struct fuse_read_in in = { .fh = 0xabcdef0123456789ULL, .offset = 0x7ffffffffffff000ULL,
				   .size = 131072, .read_flags = FUSE_READ_LOCKOWNER,
				   .lock_owner = 0x0badc0de0badc0deULL, .flags = O_RDONLY | O_NOATIME,
				   .padding = 0 };

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		b_reset(&b);
		b_put(&b, &in, sizeof(in));
		if (DECODE_OK(ops[i], &b, &LIM)) {
			CHECK_U(D.rq.u.read.fh, in.fh);
			CHECK_U(D.rq.u.read.offset, in.offset);
			CHECK_U(D.rq.u.read.size, 131072);
			CHECK_U(D.rq.u.read.read_flags, FUSE_READ_LOCKOWNER);
			CHECK_U(D.rq.u.read.lock_owner, in.lock_owner);
			CHECK_U(D.rq.u.read.flags, O_RDONLY | O_NOATIME);
		}
		TRUNCATIONS(ops[i], &b, sizeof(in), &LIM);

		struct fuse_read_in x = in;
		setctx("%s offset limits", codec_opname(ops[i]));
		x.offset = INT64_MAX;
		CHECK_I(decode(ops[i], &x, sizeof(x), &LIM), 0);
		x.offset = (uint64_t)INT64_MAX + 1;
		CHECK_I(decode(ops[i], &x, sizeof(x), &LIM), -EINVAL);
		CHECK_HDR();
		x.offset = UINT64_MAX;
		CHECK_I(decode(ops[i], &x, sizeof(x), &LIM), -EINVAL);
		setctx("%s", "");
	}
}

static void test_write(void)
{
	static struct body b;
	struct fuse_write_in in = { .fh = 0x1234, .offset = 4096, .size = 10,
				    .write_flags = FUSE_WRITE_LOCKOWNER | FUSE_WRITE_KILL_SUIDGID,
				    .lock_owner = 0xfeedULL, .flags = O_WRONLY, .padding = 0 };
	struct codec_limits lim = LIM;

	b_reset(&b);
	b_put(&b, &in, sizeof(in));
	b_raw(&b, "0123456789");
	if (DECODE_OK(FUSE_WRITE, &b, &LIM)) {
		CHECK_U(D.rq.u.write.fh, 0x1234);
		CHECK_U(D.rq.u.write.offset, 4096);
		CHECK_U(D.rq.u.write.size, 10);
		CHECK_U(D.rq.u.write.write_flags, FUSE_WRITE_LOCKOWNER | FUSE_WRITE_KILL_SUIDGID);
		CHECK_U(D.rq.u.write.lock_owner, 0xfeed);
		CHECK_U(D.rq.u.write.flags, O_WRONLY);
		CHECK_AT_BODY(D.rq.u.write.data, sizeof(in));
		CHECK_MEM(D.rq.u.write.data, "0123456789", 10);
	}
	TRUNCATIONS(FUSE_WRITE, &b, sizeof(in), &LIM);

	/* size against max_write: equal is fine, one more is EINVAL (even with the data) */
	lim.max_write = 10;
	CHECK_I(decode_b(FUSE_WRITE, &b, &lim), 0);
	lim.max_write = 9;
	CHECK_I(decode_b(FUSE_WRITE, &b, &lim), -EINVAL);
	CHECK_HDR();
	in.size = UINT32_MAX;
	CHECK_I(decode(FUSE_WRITE, &in, sizeof(in), &LIM), -EINVAL);

	/* data shorter than size */
	b_reset(&b);
	in.size = 10;
	b_put(&b, &in, sizeof(in));
	b_raw(&b, "012345678");
	CHECK_I(decode_b(FUSE_WRITE, &b, &LIM), -EPROTO);
	CHECK_HDR();
	/* no data at all */
	CHECK_I(decode(FUSE_WRITE, &in, sizeof(in), &LIM), -EPROTO);

	/* size 0 */
	in.size = 0;
	CHECK_I(decode(FUSE_WRITE, &in, sizeof(in), &LIM), 0);
	CHECK_U(D.rq.u.write.size, 0);

	/* offsets */
	in.offset = INT64_MAX;
	CHECK_I(decode(FUSE_WRITE, &in, sizeof(in), &LIM), 0);
	in.offset = (uint64_t)INT64_MAX + 1;
	CHECK_I(decode(FUSE_WRITE, &in, sizeof(in), &LIM), -EINVAL);
	in.offset = UINT64_MAX;
	CHECK_I(decode(FUSE_WRITE, &in, sizeof(in), &LIM), -EINVAL);

	/* a full max_write payload */
	static struct body big;
	in.offset = 0;
	in.size = 65536;
	b_reset(&big);
	b_put(&big, &in, sizeof(in));
	b_fill(&big, 'w', 65536);
	lim.max_write = 65536;
	CHECK_I(decode_b(FUSE_WRITE, &big, &lim), 0);
	CHECK_U(D.rq.u.write.size, 65536);
}

static void test_release_fsync_flush(void)
{
	static struct body b;
	struct fuse_release_in r = { .fh = 0x5151, .flags = O_RDWR,
				     .release_flags = FUSE_RELEASE_FLUSH | FUSE_RELEASE_FLOCK_UNLOCK,
				     .lock_owner = 0x7272727272ULL };
	struct fuse_fsync_in fs = { .fh = 0x6161, .fsync_flags = FUSE_FSYNC_FDATASYNC };
	struct fuse_flush_in fl = { .fh = 0x7171, .unused = 5, .padding = 6,
				    .lock_owner = 0x8282828282ULL };
	const uint32_t rel[] = { FUSE_RELEASE, FUSE_RELEASEDIR };
	const uint32_t syn[] = { FUSE_FSYNC, FUSE_FSYNCDIR };

	for (size_t i = 0; i < 2; i++) {
		b_reset(&b);
		b_put(&b, &r, sizeof(r));
		if (DECODE_OK(rel[i], &b, &LIM)) {
			CHECK_U(D.rq.u.release.fh, 0x5151);
			CHECK_U(D.rq.u.release.flags, O_RDWR);
			CHECK_U(D.rq.u.release.release_flags,
				FUSE_RELEASE_FLUSH | FUSE_RELEASE_FLOCK_UNLOCK);
			CHECK_U(D.rq.u.release.lock_owner, 0x7272727272ULL);
		}
		TRUNCATIONS(rel[i], &b, sizeof(r), &LIM);

		b_reset(&b);
		b_put(&b, &fs, sizeof(fs));
		if (DECODE_OK(syn[i], &b, &LIM)) {
			CHECK_U(D.rq.u.fsync.fh, 0x6161);
			CHECK_U(D.rq.u.fsync.fsync_flags, FUSE_FSYNC_FDATASYNC);
		}
		TRUNCATIONS(syn[i], &b, sizeof(fs), &LIM);
	}

	b_reset(&b);
	b_put(&b, &fl, sizeof(fl));
	if (DECODE_OK(FUSE_FLUSH, &b, &LIM)) {
		CHECK_U(D.rq.u.flush.fh, 0x7171);
		CHECK_U(D.rq.u.flush.lock_owner, 0x8282828282ULL);
	}
	TRUNCATIONS(FUSE_FLUSH, &b, sizeof(fl), &LIM);
}

static void test_xattr(void)
{
	static struct body b;
	struct fuse_setxattr_in sx = { .size = 5, .flags = 1 /* XATTR_CREATE */,
				       .setxattr_flags = 1, .padding = 0 };
	struct fuse_getxattr_in gx = { .size = 128, .padding = 0 };

	/* without SETXATTR_EXT: an 8-byte fuse_setxattr_in */
	b_reset(&b);
	b_put(&b, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE);
	b_str(&b, "user.test");
	b_raw(&b, "value");
	if (DECODE_OK(FUSE_SETXATTR, &b, &LIM)) {
		CHECK_S(D.rq.u.setxattr.name, "user.test");
		CHECK_AT_BODY(D.rq.u.setxattr.name, 8);
		CHECK_U(D.rq.u.setxattr.size, 5);
		CHECK_U(D.rq.u.setxattr.flags, 1);
		CHECK_AT_BODY(D.rq.u.setxattr.value, 8 + 10);
		CHECK_MEM(D.rq.u.setxattr.value, "value", 5);
	}
	TRUNCATIONS(FUSE_SETXATTR, &b, FUSE_COMPAT_SETXATTR_IN_SIZE, &LIM);

	/* with SETXATTR_EXT: 16 bytes */
	b_reset(&b);
	sx.flags = 2; /* XATTR_REPLACE */
	b_put(&b, &sx, sizeof(sx));
	b_str(&b, "user.test");
	b_raw(&b, "VALUE");
	if (DECODE_OK(FUSE_SETXATTR, &b, &LIM_EXT)) {
		CHECK_S(D.rq.u.setxattr.name, "user.test");
		CHECK_AT_BODY(D.rq.u.setxattr.name, 16);
		CHECK_U(D.rq.u.setxattr.size, 5);
		CHECK_U(D.rq.u.setxattr.flags, 2);
		CHECK_AT_BODY(D.rq.u.setxattr.value, 16 + 10);
		CHECK_MEM(D.rq.u.setxattr.value, "VALUE", 5);
	}
	TRUNCATIONS(FUSE_SETXATTR, &b, sizeof(sx), &LIM_EXT);
	/* the 16-byte form read as the 8-byte one, setxattr_flags 0: an empty name */
	sx.setxattr_flags = 0;
	memcpy(b.b, &sx, sizeof(sx));
	CHECK_I(decode_b(FUSE_SETXATTR, &b, &LIM), -EINVAL);

	/* an empty value */
	b_reset(&b);
	sx.size = 0;
	b_put(&b, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE);
	b_str(&b, "user.empty");
	CHECK_I(decode_b(FUSE_SETXATTR, &b, &LIM), 0);
	CHECK_U(D.rq.u.setxattr.size, 0);

	/* value shorter than size */
	b_reset(&b);
	sx.size = 6;
	b_put(&b, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE);
	b_str(&b, "user.test");
	b_raw(&b, "value");
	CHECK_I(decode_b(FUSE_SETXATTR, &b, &LIM), -EPROTO);

	/* the largest value xattr(7) allows, and one more (E2BIG, as setxattr(2) says) */
	static struct body big;
	b_reset(&big);
	sx.size = 65536;
	b_put(&big, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE);
	b_str(&big, "user.big");
	b_fill(&big, 'v', 65536);
	CHECK_I(decode_b(FUSE_SETXATTR, &big, &LIM), 0);
	CHECK_U(D.rq.u.setxattr.size, 65536);
	b_reset(&big);
	sx.size = 65537;
	b_put(&big, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE);
	b_str(&big, "user.big");
	b_fill(&big, 'v', 65537);
	CHECK_I(decode_b(FUSE_SETXATTR, &big, &LIM), -E2BIG);
	CHECK_HDR();
	sx.size = UINT32_MAX;
	memcpy(big.b, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE);
	CHECK_I(decode_b(FUSE_SETXATTR, &big, &LIM), -E2BIG);

	b_reset(&b);
	b_put(&b, &gx, sizeof(gx));
	b_str(&b, "trusted.overlay.opaque");
	if (DECODE_OK(FUSE_GETXATTR, &b, &LIM)) {
		CHECK_U(D.rq.u.getxattr.size, 128);
		CHECK_S(D.rq.u.getxattr.name, "trusted.overlay.opaque");
		CHECK_AT_BODY(D.rq.u.getxattr.name, sizeof(gx));
	}
	TRUNCATIONS(FUSE_GETXATTR, &b, sizeof(gx), &LIM);

	b_reset(&b);
	gx.size = 4096;
	b_put(&b, &gx, sizeof(gx));
	if (DECODE_OK(FUSE_LISTXATTR, &b, &LIM)) {
		CHECK_U(D.rq.u.getxattr.size, 4096);
		CHECK(D.rq.u.getxattr.name == NULL);
	}
	TRUNCATIONS(FUSE_LISTXATTR, &b, sizeof(gx), &LIM);

	b_reset(&b);
	b_str(&b, "security.selinux");
	if (DECODE_OK(FUSE_REMOVEXATTR, &b, &LIM)) {
		CHECK_S(D.rq.u.removexattr.name, "security.selinux");
		CHECK_AT_BODY(D.rq.u.removexattr.name, 0);
	}
	TRUNCATIONS(FUSE_REMOVEXATTR, &b, 0, &LIM);
}

static void test_init(void)
{
	static struct body b;
	struct fuse_init_in in;

	/* the 16-byte form of kernels before 7.36; INIT is accepted before INIT */
	memset(&in, 0, sizeof(in));
	in.major = 7;
	in.minor = 31;
	in.max_readahead = 131072;
	in.flags = (uint32_t)(FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS);
	b_reset(&b);
	b_put(&b, &in, FUSE_COMPAT_INIT_IN_SIZE);
	if (DECODE_OK(FUSE_INIT, &b, &LIM_PRE_INIT)) {
		CHECK_U(D.rq.u.init.major, 7);
		CHECK_U(D.rq.u.init.minor, 31);
		CHECK_U(D.rq.u.init.max_readahead, 131072);
		CHECK_U(D.rq.u.init.flags, FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS);
	}
	TRUNCATIONS(FUSE_INIT, &b, FUSE_COMPAT_INIT_IN_SIZE, &LIM_PRE_INIT);

	/* the 64-byte form: flags2 is the high half of the flags when INIT_EXT is set */
	memset(&in, 0, sizeof(in));
	in.major = 7;
	in.minor = 45;
	in.max_readahead = 65536;
	in.flags = (uint32_t)(FUSE_ASYNC_READ | FUSE_SETXATTR_EXT | FUSE_INIT_EXT);
	in.flags2 = (uint32_t)((FUSE_SECURITY_CTX | FUSE_PASSTHROUGH | FUSE_REQUEST_TIMEOUT) >> 32);
	for (int i = 0; i < 11; i++)
		in.unused[i] = 0xdeadbeef; /* ignored */
	b_reset(&b);
	b_put(&b, &in, sizeof(in));
	if (DECODE_OK(FUSE_INIT, &b, &LIM_PRE_INIT)) {
		CHECK_U(D.rq.u.init.major, 7);
		CHECK_U(D.rq.u.init.minor, 45);
		CHECK_U(D.rq.u.init.max_readahead, 65536);
		CHECK_U(D.rq.u.init.flags, FUSE_ASYNC_READ | FUSE_SETXATTR_EXT | FUSE_INIT_EXT |
						   FUSE_SECURITY_CTX | FUSE_PASSTHROUGH |
						   FUSE_REQUEST_TIMEOUT);
	}
	/* prefixes shorter than 16 bytes fail (above); the kernel sends exactly 16 (before
	 * 7.36) or 64 bytes, and anything in between is refused */
	for (size_t n = FUSE_COMPAT_INIT_IN_SIZE; n < sizeof(in); n++) {
		setctx("INIT body of %zu bytes", n);
		if (n == FUSE_COMPAT_INIT_IN_SIZE) {
			CHECK_I(decode(FUSE_INIT, &in, n, &LIM_PRE_INIT), 0);
			CHECK_U(D.rq.u.init.minor, 45);
			CHECK_U(D.rq.u.init.flags >> 32, 0);
		} else {
			CHECK_I(decode(FUSE_INIT, &in, n, &LIM_PRE_INIT), -EPROTO);
		}
	}
	setctx("%s", "");
	/* a longer body is fine too (the rest is ignored) */
	b_fill(&b, 0x5a, 16);
	CHECK_I(decode_b(FUSE_INIT, &b, &LIM_PRE_INIT), 0);
	CHECK_U(D.rq.u.init.flags >> 32, in.flags2);

	/* flags2 without INIT_EXT is not looked at */
	in.flags = (uint32_t)FUSE_ASYNC_READ;
	CHECK_I(decode(FUSE_INIT, &in, sizeof(in), &LIM_PRE_INIT), 0);
	CHECK_U(D.rq.u.init.flags, FUSE_ASYNC_READ);
	/* INIT_EXT in the 16-byte form: no flags2 to fold */
	in.flags = (uint32_t)(FUSE_ASYNC_READ | FUSE_INIT_EXT);
	CHECK_I(decode(FUSE_INIT, &in, FUSE_COMPAT_INIT_IN_SIZE, &LIM_PRE_INIT), 0);
	CHECK_U(D.rq.u.init.flags, FUSE_ASYNC_READ | FUSE_INIT_EXT);
	/* after INIT, INIT still decodes (what to answer is the session's business) */
	CHECK_I(decode(FUSE_INIT, &in, sizeof(in), &LIM), 0);
}

static void test_lk_access_interrupt(void)
{
	static struct body b;
	struct fuse_lk_in lk = { .fh = 0xa1a1, .owner = 0xb2b2b2b2b2ULL,
				 .lk = { .start = 100, .end = UINT64_MAX, .type = F_WRLCK,
					 .pid = 31337 },
				 .lk_flags = FUSE_LK_FLOCK, .padding = 0 };
	struct fuse_access_in ac = { .mask = R_OK | W_OK, .padding = 0 };
	struct fuse_interrupt_in it = { .unique = 0x1234567800000002ULL };
	const uint32_t ops[] = { FUSE_GETLK, FUSE_SETLK, FUSE_SETLKW };

	for (size_t i = 0; i < 3; i++) {
		b_reset(&b);
		b_put(&b, &lk, sizeof(lk));
		if (DECODE_OK(ops[i], &b, &LIM)) {
			CHECK_U(D.rq.u.lk.fh, 0xa1a1);
			CHECK_U(D.rq.u.lk.owner, 0xb2b2b2b2b2ULL);
			CHECK_U(D.rq.u.lk.lk.start, 100);
			CHECK_U(D.rq.u.lk.lk.end, UINT64_MAX);
			CHECK_U(D.rq.u.lk.lk.type, F_WRLCK);
			CHECK_U(D.rq.u.lk.lk.pid, 31337);
			CHECK_U(D.rq.u.lk.lk_flags, FUSE_LK_FLOCK);
		}
		TRUNCATIONS(ops[i], &b, sizeof(lk), &LIM);
	}

	b_reset(&b);
	b_put(&b, &ac, sizeof(ac));
	if (DECODE_OK(FUSE_ACCESS, &b, &LIM))
		CHECK_U(D.rq.u.access.mask, R_OK | W_OK);
	TRUNCATIONS(FUSE_ACCESS, &b, sizeof(ac), &LIM);

	b_reset(&b);
	b_put(&b, &it, sizeof(it));
	if (DECODE_OK(FUSE_INTERRUPT, &b, &LIM))
		CHECK_U(D.rq.u.interrupt.unique, 0x1234567800000002ULL);
	TRUNCATIONS(FUSE_INTERRUPT, &b, sizeof(it), &LIM);
}

static void test_fallocate_lseek_copy_statx(void)
{
	static struct body b;
	struct fuse_fallocate_in fa = { .fh = 0xc3c3, .offset = 1 << 20, .length = 1 << 30,
					.mode = 3 /* KEEP_SIZE|PUNCH_HOLE */, .padding = 0 };
	struct fuse_lseek_in ls = { .fh = 0xd4d4, .offset = 8192, .whence = SEEK_DATA,
				    .padding = 0 };
	struct fuse_copy_file_range_in cf = { .fh_in = 0x01, .off_in = 0x02,
					      .nodeid_out = 0x03, .fh_out = 0x04,
					      .off_out = 0x05, .len = 0xffffffffffULL,
					      .flags = 0x07 };
	struct fuse_statx_in st = { .getattr_flags = FUSE_GETATTR_FH, .reserved = 0,
				    .fh = 0xe5e5, .sx_flags = 0x2000 /* AT_STATX_FORCE_SYNC */,
				    .sx_mask = 0xfff };
	const uint32_t copy_ops[] = { FUSE_COPY_FILE_RANGE, FUSE_COPY_FILE_RANGE_64 };

	b_reset(&b);
	b_put(&b, &fa, sizeof(fa));
	if (DECODE_OK(FUSE_FALLOCATE, &b, &LIM)) {
		CHECK_U(D.rq.u.fallocate.fh, 0xc3c3);
		CHECK_U(D.rq.u.fallocate.offset, 1 << 20);
		CHECK_U(D.rq.u.fallocate.length, 1 << 30);
		CHECK_U(D.rq.u.fallocate.mode, 3);
	}
	TRUNCATIONS(FUSE_FALLOCATE, &b, sizeof(fa), &LIM);
	struct fuse_fallocate_in x = fa;
	x.offset = INT64_MAX;
	x.length = INT64_MAX;
	CHECK_I(decode(FUSE_FALLOCATE, &x, sizeof(x), &LIM), 0);
	x.offset = (uint64_t)INT64_MAX + 1;
	CHECK_I(decode(FUSE_FALLOCATE, &x, sizeof(x), &LIM), -EINVAL);
	CHECK_HDR();
	x = fa;
	x.length = (uint64_t)INT64_MAX + 1;
	CHECK_I(decode(FUSE_FALLOCATE, &x, sizeof(x), &LIM), -EINVAL);

	b_reset(&b);
	b_put(&b, &ls, sizeof(ls));
	if (DECODE_OK(FUSE_LSEEK, &b, &LIM)) {
		CHECK_U(D.rq.u.lseek.fh, 0xd4d4);
		CHECK_U(D.rq.u.lseek.offset, 8192);
		CHECK_U(D.rq.u.lseek.whence, SEEK_DATA);
	}
	TRUNCATIONS(FUSE_LSEEK, &b, sizeof(ls), &LIM);
	struct fuse_lseek_in y = ls;
	y.offset = INT64_MAX;
	CHECK_I(decode(FUSE_LSEEK, &y, sizeof(y), &LIM), 0);
	/* lseek(fd, -1, SEEK_DATA) is ordinary: decoded, and answered ENXIO later */
	y.offset = (uint64_t)INT64_MAX + 1;
	CHECK_I(decode(FUSE_LSEEK, &y, sizeof(y), &LIM), 0);

	for (size_t i = 0; i < 2; i++) {
		b_reset(&b);
		b_put(&b, &cf, sizeof(cf));
		if (DECODE_OK(copy_ops[i], &b, &LIM)) {
			CHECK_U(D.rq.u.copy_file_range.fh_in, 0x01);
			CHECK_U(D.rq.u.copy_file_range.off_in, 0x02);
			CHECK_U(D.rq.u.copy_file_range.nodeid_out, 0x03);
			CHECK_U(D.rq.u.copy_file_range.fh_out, 0x04);
			CHECK_U(D.rq.u.copy_file_range.off_out, 0x05);
			CHECK_U(D.rq.u.copy_file_range.len, 0xffffffffffULL);
			CHECK_U(D.rq.u.copy_file_range.flags, 0x07);
		}
		TRUNCATIONS(copy_ops[i], &b, sizeof(cf), &LIM);
		struct fuse_copy_file_range_in z = cf;
		setctx("%s offset limits", codec_opname(copy_ops[i]));
		z.off_in = z.off_out = INT64_MAX;
		CHECK_I(decode(copy_ops[i], &z, sizeof(z), &LIM), 0);
		z.off_in = (uint64_t)INT64_MAX + 1;
		CHECK_I(decode(copy_ops[i], &z, sizeof(z), &LIM), -EINVAL);
		z = cf;
		z.off_out = UINT64_MAX;
		CHECK_I(decode(copy_ops[i], &z, sizeof(z), &LIM), -EINVAL);
		CHECK_HDR();
		setctx("%s", "");
	}

	b_reset(&b);
	b_put(&b, &st, sizeof(st));
	if (DECODE_OK(FUSE_STATX, &b, &LIM)) {
		CHECK_U(D.rq.u.statx.fh, 0xe5e5);
		CHECK_U(D.rq.u.statx.getattr_flags, FUSE_GETATTR_FH);
		CHECK_U(D.rq.u.statx.sx_flags, 0x2000);
		CHECK_U(D.rq.u.statx.sx_mask, 0xfff);
	}
	TRUNCATIONS(FUSE_STATX, &b, sizeof(st), &LIM);
}

/* Opcodes whose body is not looked at: they decode with whatever body, even none. */
/* IOCTL carries exactly in_size bytes; POLL is fixed; NOTIFY_REPLY carries size bytes
 * (the kernel's answer to a retrieve notification). */
static void test_ioctl_poll_retrieve(void)
{
	static struct body b;
	struct fuse_ioctl_in io = { .fh = 0xf1, .flags = FUSE_IOCTL_DIR, .cmd = 0x80084501,
				    .arg = 0x7ffd1234, .in_size = 8, .out_size = 16 };
	struct fuse_poll_in po = { .fh = 0xf2, .kh = 0x1234567890ULL,
				   .flags = FUSE_POLL_SCHEDULE_NOTIFY, .events = 0x41 };
	struct fuse_notify_retrieve_in nr = { .offset = 4096, .size = 5 };

	b_reset(&b);
	b_put(&b, &io, sizeof(io));
	b_put(&b, "12345678", 8);
	if (DECODE_OK(FUSE_IOCTL, &b, &LIM)) {
		CHECK_U(D.rq.u.ioctl.fh, 0xf1);
		CHECK_U(D.rq.u.ioctl.flags, FUSE_IOCTL_DIR);
		CHECK_U(D.rq.u.ioctl.cmd, 0x80084501);
		CHECK_U(D.rq.u.ioctl.arg, 0x7ffd1234);
		CHECK_U(D.rq.u.ioctl.in_size, 8);
		CHECK_U(D.rq.u.ioctl.out_size, 16);
		CHECK_AT_BODY(D.rq.u.ioctl.in, sizeof(io));
	}
	TRUNCATIONS(FUSE_IOCTL, &b, sizeof(io), &LIM);
	/* in_size must match the data that follows, in both directions */
	b_fill(&b, 'x', 1);
	CHECK_I(decode_b(FUSE_IOCTL, &b, &LIM), -EPROTO);
	CHECK_HDR();
	struct fuse_ioctl_in big = io;
	big.in_size = 0xffffffff;
	b_reset(&b);
	b_put(&b, &big, sizeof(big));
	CHECK_I(decode_b(FUSE_IOCTL, &b, &LIM), -EPROTO);
	struct fuse_ioctl_in none = io;
	none.in_size = 0;
	b_reset(&b);
	b_put(&b, &none, sizeof(none));
	CHECK_I(decode_b(FUSE_IOCTL, &b, &LIM), 0);
	CHECK_U(D.rq.u.ioctl.in_size, 0);

	b_reset(&b);
	b_put(&b, &po, sizeof(po));
	if (DECODE_OK(FUSE_POLL, &b, &LIM)) {
		CHECK_U(D.rq.u.poll.fh, 0xf2);
		CHECK_U(D.rq.u.poll.kh, 0x1234567890ULL);
		CHECK_U(D.rq.u.poll.flags, FUSE_POLL_SCHEDULE_NOTIFY);
		CHECK_U(D.rq.u.poll.events, 0x41);
	}
	TRUNCATIONS(FUSE_POLL, &b, sizeof(po), &LIM);

	b_reset(&b);
	b_put(&b, &nr, sizeof(nr));
	b_put(&b, "hello", 5);
	if (DECODE_OK(FUSE_NOTIFY_REPLY, &b, &LIM)) {
		CHECK_U(D.rq.u.notify_reply.offset, 4096);
		CHECK_U(D.rq.u.notify_reply.size, 5);
		CHECK_AT_BODY(D.rq.u.notify_reply.data, sizeof(nr));
	}
	TRUNCATIONS(FUSE_NOTIFY_REPLY, &b, sizeof(nr), &LIM);
	/* a size beyond the data, an offset beyond off_t */
	struct fuse_notify_retrieve_in bad = nr;
	bad.size = 6;
	b_reset(&b);
	b_put(&b, &bad, sizeof(bad));
	b_put(&b, "hello", 5);
	CHECK_I(decode_b(FUSE_NOTIFY_REPLY, &b, &LIM), -EPROTO);
	bad = nr;
	bad.offset = (uint64_t)INT64_MAX + 1;
	b_reset(&b);
	b_put(&b, &bad, sizeof(bad));
	b_put(&b, "hello", 5);
	CHECK_I(decode_b(FUSE_NOTIFY_REPLY, &b, &LIM), -EPROTO);
}

static void test_bodyless(void)
{
	static struct body b;
	const uint32_t ops[] = { FUSE_READLINK, FUSE_STATFS, FUSE_BMAP, FUSE_DESTROY,
				 FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING, FUSE_SYNCFS };

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		b_reset(&b);
		DECODE_OK(ops[i], &b, &LIM);
		CHECK(union_is_zero(&D.rq));
		b_fill(&b, 0xee, 24);
		setctx("%s with a 24-byte body", codec_opname(ops[i]));
		CHECK_I(decode_b(ops[i], &b, &LIM), 0);
		setctx("%s", "");
	}
}

/* ------------------------------------------------------------------------------------ */
/* Names, for every opcode that carries one                                              */

struct name_case {
	uint32_t op;
	size_t fixed;  /* bytes of fixed-size struct before the names */
	int nnames;    /* names in the body */
	int idx;       /* which one is tested */
	bool component; /* a path component (name_max, no '/'), else an xattr name (255) */
};

static const struct name_case name_cases[] = {
	{ FUSE_LOOKUP, 0, 1, 0, true },
	{ FUSE_UNLINK, 0, 1, 0, true },
	{ FUSE_RMDIR, 0, 1, 0, true },
	{ FUSE_SYMLINK, 0, 2, 0, true }, /* the second string is the target */
	{ FUSE_MKNOD, sizeof(struct fuse_mknod_in), 1, 0, true },
	{ FUSE_MKDIR, sizeof(struct fuse_mkdir_in), 1, 0, true },
	{ FUSE_RENAME, sizeof(struct fuse_rename_in), 2, 0, true },
	{ FUSE_RENAME, sizeof(struct fuse_rename_in), 2, 1, true },
	{ FUSE_RENAME2, sizeof(struct fuse_rename2_in), 2, 0, true },
	{ FUSE_RENAME2, sizeof(struct fuse_rename2_in), 2, 1, true },
	{ FUSE_LINK, sizeof(struct fuse_link_in), 1, 0, true },
	{ FUSE_CREATE, sizeof(struct fuse_create_in), 1, 0, true },
	{ FUSE_SETXATTR, FUSE_COMPAT_SETXATTR_IN_SIZE, 1, 0, false },
	{ FUSE_GETXATTR, sizeof(struct fuse_getxattr_in), 1, 0, false },
	{ FUSE_REMOVEXATTR, 0, 1, 0, false },
};

static const char *name_of(const struct request *rq, uint32_t op, int idx)
{
	switch (op) {
	case FUSE_LOOKUP: case FUSE_UNLINK: case FUSE_RMDIR: return rq->u.entry.name;
	case FUSE_SYMLINK: return idx ? rq->u.symlink.target : rq->u.symlink.name;
	case FUSE_MKNOD: return rq->u.mknod.name;
	case FUSE_MKDIR: return rq->u.mkdir.name;
	case FUSE_RENAME: case FUSE_RENAME2: return idx ? rq->u.rename.newname : rq->u.rename.name;
	case FUSE_LINK: return rq->u.link.newname;
	case FUSE_CREATE: return rq->u.create.name;
	case FUSE_SETXATTR: return rq->u.setxattr.name;
	case FUSE_GETXATTR: return rq->u.getxattr.name;
	case FUSE_REMOVEXATTR: return rq->u.removexattr.name;
	}
	return NULL;
}

/* Body: the fixed part (zeros: a valid value for every case), then the names, the tested
 * one being `name` (with its NUL unless nul is false, in which case the body ends
 * right after it). */
static void name_body(struct body *b, const struct name_case *nc, const char *name, bool nul)
{
	const char *others[] = { "one", "two" }; /* within every name_max tested */

	b_reset(b);
	b_fill(b, 0, nc->fixed);
	for (int i = 0; i < nc->nnames; i++) {
		if (i != nc->idx) {
			b_str(b, others[i]);
			continue;
		}
		if (!nul) {
			b_raw(b, name);
			return;
		}
		b_str(b, name);
	}
}

static void name_expect_at(int line, const struct name_case *nc, const char *what,
			   const char *name, bool nul, const struct codec_limits *lim, int want)
{
	static struct body b;

	setctx("%s name %d: %s", codec_opname(nc->op), nc->idx, what);
	name_body(&b, nc, name, nul);
	if (CHECK_I_AT(line, decode_b(nc->op, &b, lim), want) && want == 0) {
		const char *got = name_of(&D.rq, nc->op, nc->idx);
		report(got && strcmp(got, name) == 0, line, "decoded name is the one sent");
	}
	check_hdr_at(line);
	setctx("%s", "");
}
#define NAME_EXPECT(nc, what, name, nul, lim, want) \
	name_expect_at(__LINE__, nc, what, name, nul, lim, want)

static void test_names(void)
{
	struct codec_limits lim = LIM;
	static char longname[300];

	lim.name_max = 100;
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *nc = &name_cases[i];
		size_t max = nc->component ? lim.name_max : 255;

		NAME_EXPECT(nc, "plain", "plain.name", true, &lim, 0);
		NAME_EXPECT(nc, "no NUL", "abc", false, &lim, -EPROTO);
		NAME_EXPECT(nc, "no bytes at all", "", false, &lim, -EPROTO);
		NAME_EXPECT(nc, "empty", "", true, &lim, -EINVAL);
		NAME_EXPECT(nc, "with '/'", "a/b", true, &lim, nc->component ? -EINVAL : 0);
		NAME_EXPECT(nc, "\"/\"", "/", true, &lim, nc->component ? -EINVAL : 0);
		NAME_EXPECT(nc, "trailing '/'", "dir/", true, &lim, nc->component ? -EINVAL : 0);
		NAME_EXPECT(nc, "\".\"", ".", true, &lim, 0); /* the kernel never sends it */

		memset(longname, 'n', max);
		longname[max] = 0;
		NAME_EXPECT(nc, "exactly the limit", longname, true, &lim, 0);
		memset(longname, 'n', max + 1);
		longname[max + 1] = 0;
		NAME_EXPECT(nc, "one over the limit", longname, true, &lim, -ENAMETOOLONG);
		NAME_EXPECT(nc, "over the limit, no NUL", longname, false, &lim, -EPROTO);
		if (!nc->component) {
			/* name_max is for path components, not xattr names */
			memset(longname, 'x', 200);
			longname[200] = 0;
			NAME_EXPECT(nc, "xattr name over name_max", longname, true, &lim, 0);
		} else {
			/* and a small name_max */
			struct codec_limits small = lim;
			small.name_max = 3;
			NAME_EXPECT(nc, "name_max 3, 3 bytes", "abc", true, &small, 0);
			NAME_EXPECT(nc, "name_max 3, 4 bytes", "abcd", true, &small, -ENAMETOOLONG);
		}
	}
}

/* ------------------------------------------------------------------------------------ */
/* Header-level rules                                                                    */

struct opname { uint32_t op; const char *name; bool no_reply; };

static const struct opname known_ops[] = {
	{ FUSE_LOOKUP, "LOOKUP", false },	  { FUSE_FORGET, "FORGET", true },
	{ FUSE_GETATTR, "GETATTR", false },	  { FUSE_SETATTR, "SETATTR", false },
	{ FUSE_READLINK, "READLINK", false },	  { FUSE_SYMLINK, "SYMLINK", false },
	{ FUSE_MKNOD, "MKNOD", false },		  { FUSE_MKDIR, "MKDIR", false },
	{ FUSE_UNLINK, "UNLINK", false },	  { FUSE_RMDIR, "RMDIR", false },
	{ FUSE_RENAME, "RENAME", false },	  { FUSE_LINK, "LINK", false },
	{ FUSE_OPEN, "OPEN", false },		  { FUSE_READ, "READ", false },
	{ FUSE_WRITE, "WRITE", false },		  { FUSE_STATFS, "STATFS", false },
	{ FUSE_RELEASE, "RELEASE", false },	  { FUSE_FSYNC, "FSYNC", false },
	{ FUSE_SETXATTR, "SETXATTR", false },	  { FUSE_GETXATTR, "GETXATTR", false },
	{ FUSE_LISTXATTR, "LISTXATTR", false },	  { FUSE_REMOVEXATTR, "REMOVEXATTR", false },
	{ FUSE_FLUSH, "FLUSH", false },		  { FUSE_INIT, "INIT", false },
	{ FUSE_OPENDIR, "OPENDIR", false },	  { FUSE_READDIR, "READDIR", false },
	{ FUSE_RELEASEDIR, "RELEASEDIR", false }, { FUSE_FSYNCDIR, "FSYNCDIR", false },
	{ FUSE_GETLK, "GETLK", false },		  { FUSE_SETLK, "SETLK", false },
	{ FUSE_SETLKW, "SETLKW", false },	  { FUSE_ACCESS, "ACCESS", false },
	{ FUSE_CREATE, "CREATE", false },	  { FUSE_INTERRUPT, "INTERRUPT", true },
	{ FUSE_BMAP, "BMAP", false },		  { FUSE_DESTROY, "DESTROY", false },
	{ FUSE_IOCTL, "IOCTL", false },		  { FUSE_POLL, "POLL", false },
	{ FUSE_NOTIFY_REPLY, "NOTIFY_REPLY", true }, { FUSE_BATCH_FORGET, "BATCH_FORGET", true },
	{ FUSE_FALLOCATE, "FALLOCATE", false },	  { FUSE_READDIRPLUS, "READDIRPLUS", false },
	{ FUSE_RENAME2, "RENAME2", false },	  { FUSE_LSEEK, "LSEEK", false },
	{ FUSE_COPY_FILE_RANGE, "COPY_FILE_RANGE", false },
	{ FUSE_SETUPMAPPING, "SETUPMAPPING", false },
	{ FUSE_REMOVEMAPPING, "REMOVEMAPPING", false },
	{ FUSE_SYNCFS, "SYNCFS", false },	  { FUSE_TMPFILE, "TMPFILE", false },
	{ FUSE_STATX, "STATX", false },
	{ FUSE_COPY_FILE_RANGE_64, "COPY_FILE_RANGE_64", false },
};
#define NKNOWN (sizeof(known_ops) / sizeof(known_ops[0]))

/* A well-formed body for any known opcode. */
static void canonical_body(uint32_t op, struct body *b)
{
	b_reset(b);
	switch (op) {
	case FUSE_LOOKUP: case FUSE_UNLINK: case FUSE_RMDIR: case FUSE_REMOVEXATTR:
		b_str(b, "name");
		break;
	case FUSE_SYMLINK:
		b_str(b, "name");
		b_str(b, "target");
		break;
	case FUSE_MKNOD: b_fill(b, 0, sizeof(struct fuse_mknod_in)); b_str(b, "name"); break;
	case FUSE_MKDIR: b_fill(b, 0, sizeof(struct fuse_mkdir_in)); b_str(b, "name"); break;
	case FUSE_LINK: b_fill(b, 0, sizeof(struct fuse_link_in)); b_str(b, "name"); break;
	case FUSE_CREATE: b_fill(b, 0, sizeof(struct fuse_create_in)); b_str(b, "name"); break;
	case FUSE_TMPFILE: b_fill(b, 0, sizeof(struct fuse_create_in)); b_str(b, "/"); break;
	case FUSE_RENAME:
	case FUSE_RENAME2:
		b_fill(b, 0, op == FUSE_RENAME ? sizeof(struct fuse_rename_in)
					       : sizeof(struct fuse_rename2_in));
		b_str(b, "old");
		b_str(b, "new");
		break;
	case FUSE_FORGET: b_fill(b, 1, sizeof(struct fuse_forget_in)); break;
	case FUSE_BATCH_FORGET: {
		struct fuse_batch_forget_in in = { .count = 1 };
		b_put(b, &in, sizeof(in));
		b_fill(b, 1, sizeof(struct fuse_forget_one));
		break;
	}
	case FUSE_GETATTR: b_fill(b, 0, sizeof(struct fuse_getattr_in)); break;
	case FUSE_SETATTR: b_fill(b, 0, sizeof(struct fuse_setattr_in)); break;
	case FUSE_OPEN: case FUSE_OPENDIR: b_fill(b, 0, sizeof(struct fuse_open_in)); break;
	case FUSE_READ: case FUSE_READDIR: case FUSE_READDIRPLUS:
		b_fill(b, 0, sizeof(struct fuse_read_in));
		break;
	case FUSE_WRITE: {
		struct fuse_write_in in = { .size = 4 };
		b_put(b, &in, sizeof(in));
		b_raw(b, "data");
		break;
	}
	case FUSE_RELEASE: case FUSE_RELEASEDIR: b_fill(b, 0, sizeof(struct fuse_release_in)); break;
	case FUSE_FSYNC: case FUSE_FSYNCDIR: b_fill(b, 0, sizeof(struct fuse_fsync_in)); break;
	case FUSE_FLUSH: b_fill(b, 0, sizeof(struct fuse_flush_in)); break;
	case FUSE_IOCTL: b_fill(b, 0, sizeof(struct fuse_ioctl_in)); break;
	case FUSE_POLL: b_fill(b, 0, sizeof(struct fuse_poll_in)); break;
	case FUSE_NOTIFY_REPLY: b_fill(b, 0, sizeof(struct fuse_notify_retrieve_in)); break;
	case FUSE_SETXATTR: {
		struct fuse_setxattr_in in = { .size = 2 };
		b_put(b, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
		b_str(b, "user.a");
		b_raw(b, "v1");
		break;
	}
	case FUSE_GETXATTR: b_fill(b, 0, sizeof(struct fuse_getxattr_in)); b_str(b, "user.a"); break;
	case FUSE_LISTXATTR: b_fill(b, 0, sizeof(struct fuse_getxattr_in)); break;
	case FUSE_INIT: {
		struct fuse_init_in in = { .major = 7, .minor = 45,
					   .flags = (uint32_t)FUSE_INIT_EXT, .flags2 = 1 };
		b_put(b, &in, sizeof(in));
		break;
	}
	case FUSE_GETLK: case FUSE_SETLK: case FUSE_SETLKW:
		b_fill(b, 0, sizeof(struct fuse_lk_in));
		break;
	case FUSE_ACCESS: b_fill(b, 0, sizeof(struct fuse_access_in)); break;
	case FUSE_INTERRUPT: b_fill(b, 0, sizeof(struct fuse_interrupt_in)); break;
	case FUSE_FALLOCATE: b_fill(b, 0, sizeof(struct fuse_fallocate_in)); break;
	case FUSE_LSEEK: b_fill(b, 0, sizeof(struct fuse_lseek_in)); break;
	case FUSE_COPY_FILE_RANGE: case FUSE_COPY_FILE_RANGE_64:
		b_fill(b, 0, sizeof(struct fuse_copy_file_range_in));
		break;
	case FUSE_STATX: b_fill(b, 0, sizeof(struct fuse_statx_in)); break;
	default: /* no body */
		break;
	}
}

static void test_opnames(void)
{
	bool known[FUSE_OPCODE_LIMIT + 1] = { false };

	for (size_t i = 0; i < NKNOWN; i++) {
		setctx("opcode %u", known_ops[i].op);
		CHECK_S(codec_opname(known_ops[i].op), known_ops[i].name);
		CHECK_I(codec_no_reply(known_ops[i].op), known_ops[i].no_reply);
		known[known_ops[i].op] = true;
	}
	/* everything else is unknown, including the gaps (0, 7, 19) and past the table */
	for (uint32_t op = 0; op < FUSE_OPCODE_LIMIT + 1; op++) {
		if (known[op])
			continue;
		setctx("opcode %u", op);
		CHECK_S(codec_opname(op), "UNKNOWN");
		CHECK(!codec_no_reply(op));
	}
	setctx("%s", "");
	CHECK_S(codec_opname(4096 /* CUSE_INIT */), "UNKNOWN");
	CHECK_S(codec_opname(UINT32_MAX), "UNKNOWN");
	CHECK(!codec_no_reply(UINT32_MAX));
}

static void test_header(void)
{
	static struct body b;

	/* a request shorter than the header: -EPROTO, and no reply is possible */
	canonical_body(FUSE_LOOKUP, &b);
	CHECK_I(decode_b(FUSE_LOOKUP, &b, &LIM), 0);
	static unsigned char full[64];
	size_t full_len = D.len;
	memcpy(full, D.buf, full_len);
	for (size_t n = 0; n < sizeof(struct fuse_in_header); n++) {
		setctx("request of %zu bytes", n);
		CHECK_I(decode_bytes(full, n, &LIM, false), -EPROTO);
		CHECK(!codec_header_ok(n));
	}
	setctx("%s", "");
	CHECK(codec_header_ok(sizeof(struct fuse_in_header)));
	CHECK(codec_header_ok(full_len));
	CHECK(codec_header_ok(1 << 20));

	/* header len != bytes read, both ways */
	const long long deltas[] = { -1, 1, -(long long)full_len, 8, 4096,
				     (long long)UINT32_MAX - (long long)full_len };
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		setctx("header len off by %lld", deltas[i]);
		CHECK_I(decode_ex(FUSE_LOOKUP, b.b, b.n, 0, deltas[i], &LIM, false), -EPROTO);
		CHECK_HDR();
	}
	/* the same for an opcode without a body, and for INIT before INIT */
	CHECK_I(decode_ex(FUSE_STATFS, "", 0, 0, 1, &LIM, false), -EPROTO);
	CHECK_HDR();
	canonical_body(FUSE_INIT, &b);
	CHECK_I(decode_ex(FUSE_INIT, b.b, b.n, 0, -1, &LIM_PRE_INIT, false), -EPROTO);
	CHECK_HDR();
	setctx("%s", "");

	/* unknown opcodes: -ENOSYS, with the header reported so ENOSYS can be answered */
	const uint32_t unknown[] = { 0, 7, 19, FUSE_OPCODE_LIMIT, 4096, 9999, 0x80000000u,
				     UINT32_MAX };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		setctx("opcode %u", unknown[i]);
		CHECK_I(decode(unknown[i], "", 0, &LIM), -ENOSYS);
		CHECK_HDR();
		CHECK_I(decode(unknown[i], "some body", 10, &LIM), -ENOSYS);
		CHECK_HDR();
	}
	setctx("%s", "");

	/* before INIT, nothing but INIT */
	for (size_t i = 0; i < NKNOWN; i++) {
		uint32_t op = known_ops[i].op;

		setctx("%s before INIT", known_ops[i].name);
		canonical_body(op, &b);
		CHECK_I(decode_b(op, &b, &LIM_PRE_INIT), op == FUSE_INIT ? 0 : -EPROTO);
		CHECK_HDR();
		/* and the canonical body is good after INIT */
		setctx("%s canonical body", known_ops[i].name);
		CHECK_I(decode_b(op, &b, &LIM), 0);
		/* at an odd address too (UBSan: no misaligned loads) */
		setctx("%s canonical body, misaligned", known_ops[i].name);
		CHECK_I(decode_ex(op, b.b, b.n, 0, 0, &LIM, true), 0);
		CHECK_HDR();
	}
	setctx("%s", "");
}

static void test_extensions(void)
{
	static struct body b;

	/* a known extension area after a valid body changes nothing */
	for (size_t i = 0; i < NKNOWN; i++) {
		uint32_t op = known_ops[i].op;
		const struct codec_limits *lim = op == FUSE_INIT ? &LIM_PRE_INIT : &LIM;

		canonical_body(op, &b);
		size_t body = b.n;
		b_fill(&b, 0xee, 16); /* no NUL in there */
		setctx("%s with 16 bytes of extensions", known_ops[i].name);
		CHECK_I(decode_ex(op, b.b, b.n, 2, 0, lim, false), 0);
		CHECK_HDR();
		/* announced extensions longer than what follows the header */
		setctx("%s with total_extlen past the end", known_ops[i].name);
		CHECK_I(decode_ex(op, b.b, b.n, (uint16_t)((b.n + 7) / 8 + 1), 0, lim, false),
			-EPROTO);
		CHECK_HDR();
		CHECK_I(decode_ex(op, b.b, b.n, UINT16_MAX, 0, lim, false), -EPROTO);
		/* extensions that eat into the body: the body is then short */
		if (body >= 8 && op != FUSE_INIT && op != FUSE_TMPFILE) {
			setctx("%s body shortened by total_extlen", known_ops[i].name);
			int rc = decode_ex(op, b.b, body, 1, 0, lim, false);
			CHECK(rc == -EPROTO || rc == -EINVAL);
		}
	}
	setctx("%s", "");

	/* a name whose only NUL is in the extension area is not terminated */
	b_reset(&b);
	b_raw(&b, "abcdefgh"); /* 8 bytes, no NUL */
	b_fill(&b, 0, 8);      /* extension area of zeros */
	CHECK_I(decode_ex(FUSE_LOOKUP, b.b, b.n, 1, 0, &LIM, false), -EPROTO);
	CHECK_HDR();
	CHECK_I(decode_ex(FUSE_LOOKUP, b.b, b.n, 0, 0, &LIM, false), 0);
	CHECK_S(D.rq.u.entry.name, "abcdefgh");

	/* WRITE data reaching into the extension area */
	struct fuse_write_in w = { .size = 16 };
	b_reset(&b);
	b_put(&b, &w, sizeof(w));
	b_fill(&b, 'd', 16);
	CHECK_I(decode_ex(FUSE_WRITE, b.b, b.n, 0, 0, &LIM, false), 0);
	CHECK_I(decode_ex(FUSE_WRITE, b.b, b.n, 1, 0, &LIM, false), -EPROTO);
	b_fill(&b, 'e', 8);
	CHECK_I(decode_ex(FUSE_WRITE, b.b, b.n, 1, 0, &LIM, false), 0);
	CHECK_AT_BODY(D.rq.u.write.data, sizeof(w));

	/* a body that is all extension */
	b_reset(&b);
	b_fill(&b, 0xee, 8);
	CHECK_I(decode_ex(FUSE_STATFS, b.b, b.n, 1, 0, &LIM, false), 0);
	CHECK_I(decode_ex(FUSE_STATFS, b.b, b.n, 2, 0, &LIM, false), -EPROTO);
}

/* ------------------------------------------------------------------------------------ */
/* Replies                                                                               */

static void le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The kernel's new_encode_dev / new_decode_dev, written out. */
static uint32_t kernel_encode_dev(unsigned maj, unsigned min)
{
	return (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12);
}

static void sample_stat(struct stat *st, mode_t mode)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = 0x1122334455667788ULL;
	st->st_size = 0x123456789aLL;
	st->st_blocks = 0x2468ace;
	st->st_atim.tv_sec = 1700000000;
	st->st_atim.tv_nsec = 123456789;
	st->st_mtim.tv_sec = -86400; /* before 1970 */
	st->st_mtim.tv_nsec = 987654321;
	st->st_ctim.tv_sec = 0x7fffffff01LL;
	st->st_ctim.tv_nsec = 5;
	st->st_mode = mode;
	st->st_nlink = 3;
	st->st_uid = 1000;
	st->st_gid = 100;
	st->st_rdev = makedev(8, 0x12345);
	st->st_blksize = 4096;
	st->st_dev = makedev(0, 42);
}

/* fuse_attr, 88 bytes at p, from the field list. */
static void expect_attr(unsigned char *p, const struct stat *st)
{
	memset(p, 0, 88);
	le64(p + 0, st->st_ino);
	le64(p + 8, (uint64_t)st->st_size);
	le64(p + 16, (uint64_t)st->st_blocks);
	le64(p + 24, (uint64_t)st->st_atim.tv_sec);
	le64(p + 32, (uint64_t)st->st_mtim.tv_sec);
	le64(p + 40, (uint64_t)st->st_ctim.tv_sec);
	le32(p + 48, (uint32_t)st->st_atim.tv_nsec);
	le32(p + 52, (uint32_t)st->st_mtim.tv_nsec);
	le32(p + 56, (uint32_t)st->st_ctim.tv_nsec);
	le32(p + 60, st->st_mode);
	le32(p + 64, (uint32_t)st->st_nlink);
	le32(p + 68, st->st_uid);
	le32(p + 72, st->st_gid);
	le32(p + 76, kernel_encode_dev(major(st->st_rdev), minor(st->st_rdev)));
	le32(p + 80, (uint32_t)st->st_blksize);
	le32(p + 84, 0); /* flags */
}

/* fuse_entry_out, 128 bytes. */
static void expect_entry(unsigned char *p, uint64_t nodeid, uint64_t gen, uint64_t esec,
			 uint32_t ensec, uint64_t asec, uint32_t ansec, const struct stat *st)
{
	memset(p, 0, 128);
	le64(p + 0, nodeid);
	le64(p + 8, gen);
	le64(p + 16, esec);
	le64(p + 24, asec);
	le32(p + 32, ensec);
	le32(p + 36, ansec);
	if (st)
		expect_attr(p + 40, st);
}

static void test_out_header(void)
{
	unsigned char got[16], want[16];

	memset(got, 0xa5, sizeof(got));
	codec_out_header(got, 0x0102030405060708ULL, -ENOENT, 16);
	le32(want + 0, 16);
	le32(want + 4, (uint32_t)-ENOENT);
	le64(want + 8, 0x0102030405060708ULL);
	CHECK_MEM(got, want, 16);

	codec_out_header(got, 3, 0, 0xfffffff0u);
	le32(want + 0, 0xfffffff0u);
	le32(want + 4, 0);
	le64(want + 8, 3);
	CHECK_MEM(got, want, 16);

	/* a notification: unique 0, error = notify code */
	codec_out_header(got, 0, FUSE_NOTIFY_INVAL_ENTRY, 40);
	le32(want + 0, 40);
	le32(want + 4, 3);
	le64(want + 8, 0);
	CHECK_MEM(got, want, 16);

	/* writes exactly 16 bytes, at an odd address too */
	unsigned char buf[20];
	memset(buf, 0xa5, sizeof(buf));
	codec_out_header(buf + 1, 0xffffffffffffffffULL, -EIO, 24);
	le32(want + 0, 24);
	le32(want + 4, (uint32_t)-EIO);
	le64(want + 8, UINT64_MAX);
	CHECK_MEM(buf + 1, want, 16);
	CHECK(buf[0] == 0xa5 && buf[17] == 0xa5);
}

static void test_attr_entry(void)
{
	struct stat st;
	unsigned char want[288];
	struct fuse_entry_out eo;
	struct fuse_attr_out ao;
	struct fuse_attr a;

	sample_stat(&st, S_IFREG | 0644);
	memset(&a, 0xa5, sizeof(a));
	codec_attr(&a, &st);
	expect_attr(want, &st);
	CHECK_MEM(&a, want, 88);

	memset(&ao, 0xa5, sizeof(ao));
	codec_attr_out(&ao, &st, 1.5);
	memset(want, 0, 104);
	le64(want + 0, 1);
	le32(want + 8, 500000000);
	le32(want + 12, 0); /* dummy */
	expect_attr(want + 16, &st);
	CHECK_MEM(&ao, want, 104);

	memset(&eo, 0xa5, sizeof(eo));
	codec_entry_out(&eo, 0xabcdef, 0x77, &st, 2.25, 0.5);
	expect_entry(want, 0xabcdef, 0x77, 2, 250000000, 0, 500000000, &st);
	CHECK_MEM(&eo, want, 128);

	/* a negative entry: no attributes, zero node id */
	memset(&eo, 0xa5, sizeof(eo));
	codec_entry_out(&eo, 0, 0, NULL, 10, 0);
	expect_entry(want, 0, 0, 10, 0, 0, 0, NULL);
	CHECK_MEM(&eo, want, 128);

	/* rdev: the kernel's new_encode_dev */
	st.st_rdev = makedev(8, 1);
	codec_attr(&a, &st);
	CHECK_U(a.rdev, 0x801);
	st.st_rdev = makedev(8, 0x12345);
	codec_attr(&a, &st);
	CHECK_U(a.rdev, 0x12300845);
	st.st_rdev = makedev(0xfff, 0xfffff);
	codec_attr(&a, &st);
	CHECK_U(a.rdev, 0xffffffff);
	st.st_rdev = makedev(259, 0xabcde);
	codec_attr(&a, &st);
	CHECK_U(a.rdev, 0xabc103de);
	st.st_rdev = 0;
	codec_attr(&a, &st);
	CHECK_U(a.rdev, 0);
	/* and it round-trips through new_decode_dev for every 12-bit major, 20-bit minor */
	unsigned bad = 0;
	for (unsigned maj = 0; maj < 4096; maj += 7)
		for (unsigned min = 0; min < (1u << 20); min += 4099) {
			st.st_rdev = makedev(maj, min);
			codec_attr(&a, &st);
			unsigned dmaj = (a.rdev & 0xfff00) >> 8;
			unsigned dmin = (a.rdev & 0xff) | ((a.rdev >> 12) & 0xfff00);
			bad += dmaj != maj || dmin != min;
		}
	CHECK_U(bad, 0);
}

static void test_statfs(void)
{
	struct statvfs sv;
	struct fuse_statfs_out out;
	unsigned char want[80];

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 1024;
	sv.f_blocks = 0x1000000001ULL;
	sv.f_bfree = 0x2000000002ULL;
	sv.f_bavail = 0x3000000003ULL;
	sv.f_files = 0x4000000004ULL;
	sv.f_ffree = 0x5000000005ULL;
	sv.f_favail = 77;
	sv.f_namemax = 255;
	memset(&out, 0xa5, sizeof(out));
	codec_statfs_out(&out, &sv);
	memset(want, 0, sizeof(want));
	le64(want + 0, 0x1000000001ULL);
	le64(want + 8, 0x2000000002ULL);
	le64(want + 16, 0x3000000003ULL);
	le64(want + 24, 0x4000000004ULL);
	le64(want + 32, 0x5000000005ULL);
	le32(want + 40, 4096);
	le32(want + 44, 255);
	le32(want + 48, 1024);
	/* padding @52 and spare[6] @56..80 are zero */
	CHECK_MEM(&out, want, 80);

	/* no fragment size: the block size */
	sv.f_frsize = 0;
	codec_statfs_out(&out, &sv);
	le32(want + 48, 4096);
	CHECK_MEM(&out, want, 80);
}

static void test_statx(void)
{
	struct stat st;
	struct fuse_statx_out out;
	unsigned char want[288];

	sample_stat(&st, S_IFBLK | 0660);
	memset(&out, 0xa5, sizeof(out));
	codec_statx_out(&out, &st, 3.75);
	memset(want, 0, sizeof(want));
	le64(want + 0, 3);	   /* attr_valid */
	le32(want + 8, 750000000); /* attr_valid_nsec */
	le32(want + 12, 0);	   /* flags */
	/* spare[2] @16 */
	unsigned char *s = want + 32;
	le32(s + 0, 0x7ff); /* mask: STATX_BASIC_STATS, no birth time */
	le32(s + 4, 4096);
	le64(s + 8, 0); /* attributes */
	le32(s + 16, 3);
	le32(s + 20, 1000);
	le32(s + 24, 100);
	le16(s + 28, S_IFBLK | 0660);
	le16(s + 30, 0);
	le64(s + 32, 0x1122334455667788ULL);
	le64(s + 40, 0x123456789aULL);
	le64(s + 48, 0x2468ace);
	le64(s + 56, 0); /* attributes_mask */
	le64(s + 64, 1700000000); /* atime */
	le32(s + 72, 123456789);
	/* btime @80 zero */
	le64(s + 96, 0x7fffffff01ULL); /* ctime */
	le32(s + 104, 5);
	le64(s + 112, (uint64_t)-86400); /* mtime */
	le32(s + 120, 987654321);
	le32(s + 128, 8);	/* rdev_major */
	le32(s + 132, 0x12345); /* rdev_minor */
	/* dev_major, dev_minor @136, spare2 @144..256: zero */
	CHECK_MEM(&out, want, 288);
}

static void test_dirent(void)
{
	unsigned char got[256], want[256];
	size_t n;

	/* "hello": 24 + 5 = 29, padded to 32 with zero bytes */
	memset(got, 0xa5, sizeof(got));
	n = codec_dirent(got, sizeof(got), 0x1234, 0x7777777777ULL, 8 /* DT_REG */, "hello", 5);
	CHECK_I(n, 32);
	memset(want, 0xa5, sizeof(want));
	memset(want, 0, 32);
	le64(want + 0, 0x1234);
	le64(want + 8, 0x7777777777ULL);
	le32(want + 16, 5);
	le32(want + 20, 8);
	memcpy(want + 24, "hello", 5);
	CHECK_MEM(got, want, sizeof(got)); /* nothing written past the entry */

	/* 8 bytes of name: no padding; the name need not be NUL-terminated */
	memset(got, 0xa5, sizeof(got));
	n = codec_dirent(got, 32, 1, 2, 4 /* DT_DIR */, "abcdefghXYZ", 8);
	CHECK_I(n, 32);
	memset(want, 0xa5, sizeof(want));
	le64(want + 0, 1);
	le64(want + 8, 2);
	le32(want + 16, 8);
	le32(want + 20, 4);
	memcpy(want + 24, "abcdefgh", 8);
	CHECK_MEM(got, want, sizeof(got));

	/* 9 bytes: 33 -> 40 */
	n = codec_dirent(got, sizeof(got), 1, 2, 4, "abcdefghi", 9);
	CHECK_I(n, 40);
	CHECK(got[33] == 0 && got[39] == 0 && got[40] == 0xa5);

	/* does not fit: 0, nothing written */
	memset(got, 0xa5, sizeof(got));
	memset(want, 0xa5, sizeof(want));
	CHECK_I(codec_dirent(got, 31, 1, 2, 8, "hello", 5), 0);
	CHECK_I(codec_dirent(got, 0, 1, 2, 8, "x", 1), 0);
	CHECK_MEM(got, want, sizeof(got));
	/* exactly fits */
	CHECK_I(codec_dirent(got, 32, 1, 2, 8, "hello", 5), 32);

	/* direntplus: entry_out (128) then the dirent at 128, name at 152 */
	struct stat st;
	struct fuse_entry_out eo;
	sample_stat(&st, S_IFDIR | 0755);
	codec_entry_out(&eo, 0x42, 0x9, &st, 1.0, 0.25);
	memset(got, 0xa5, sizeof(got));
	n = codec_direntplus(got, sizeof(got), &eo, 0x99, "subdir", 6);
	CHECK_I(n, 160); /* 152 + 6 = 158 -> 160 */
	memset(want, 0xa5, sizeof(want));
	expect_entry(want, 0x42, 0x9, 1, 0, 0, 250000000, &st);
	memset(want + 128, 0, 32);
	le64(want + 128, st.st_ino); /* the dirent's ino is the attr's, not the node id */
	le64(want + 136, 0x99);
	le32(want + 144, 6);
	le32(want + 148, 4); /* DT_DIR, from the mode */
	memcpy(want + 152, "subdir", 6);
	CHECK_MEM(got, want, sizeof(got));

	/* the dirent type follows the mode for each file type */
	const struct { mode_t mode; uint32_t dt; } types[] = {
		{ S_IFREG, 8 }, { S_IFDIR, 4 }, { S_IFLNK, 10 }, { S_IFCHR, 2 },
		{ S_IFBLK, 6 }, { S_IFIFO, 1 }, { S_IFSOCK, 12 },
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint32_t t;
		st.st_mode = types[i].mode | 0644;
		codec_entry_out(&eo, 2, 0, &st, 0, 0);
		CHECK_I(codec_direntplus(got, sizeof(got), &eo, 1, "n", 1), 160);
		memcpy(&t, got + 148, 4);
		CHECK_U(t, types[i].dt);
	}

	/* does not fit */
	memset(got, 0xa5, sizeof(got));
	memset(want, 0xa5, sizeof(want));
	CHECK_I(codec_direntplus(got, 159, &eo, 1, "subdir", 6), 0);
	CHECK_I(codec_direntplus(got, 100, &eo, 1, "x", 1), 0);
	CHECK_MEM(got, want, sizeof(got));
	CHECK_I(codec_direntplus(got, 160, &eo, 1, "subdir", 6), 160);
}

static void timeout_at(int line, double s, uint64_t wsec, uint32_t wnsec)
{
	uint64_t sec = 12345;
	uint32_t nsec = 12345;

	setctx("codec_timeout(%g)", s);
	codec_timeout(s, &sec, &nsec);
	report(sec == wsec && nsec == wnsec, line, "got %llu s %u ns, expected %llu s %u ns",
	       (unsigned long long)sec, nsec, (unsigned long long)wsec, wnsec);
	setctx("%s", "");
}
#define TIMEOUT(s, sec, nsec) timeout_at(__LINE__, s, sec, nsec)

static void test_timeout(void)
{
	const uint64_t max = UINT64_MAX / 1000000000;

	TIMEOUT(0.0, 0, 0);
	TIMEOUT(-0.0, 0, 0);
	TIMEOUT(-1.0, 0, 0);
	TIMEOUT(-1e300, 0, 0);
	TIMEOUT(-INFINITY, 0, 0);
	TIMEOUT(NAN, 0, 0);
	TIMEOUT(-NAN, 0, 0);
	TIMEOUT(1.5, 1, 500000000);
	TIMEOUT(0.25, 0, 250000000);
	TIMEOUT(1.0, 1, 0);
	TIMEOUT(86400.0, 86400, 0);
	TIMEOUT(1e-10, 0, 0); /* below a nanosecond */
	TIMEOUT(4294967296.5, 4294967296ULL, 500000000);
	TIMEOUT(1e10, 10000000000ULL, 0);
	TIMEOUT(18446744072.5, 18446744072ULL, 500000000);
	/* beyond UINT64_MAX nanoseconds (584 years) it is clamped: forever either way */
	TIMEOUT(18446744073.0, max, 0);
	TIMEOUT(1e12, max, 0);
	TIMEOUT(1e19, max, 0);
	TIMEOUT(1e300, max, 0);
	TIMEOUT(INFINITY, max, 0);

	/* whatever the value, nsec is below a second and the sum is within 2 ns */
	const double vals[] = { 0.1, 0.3, 0.999999999, 0.9999999999, 1.1, 2.3, 7.7,
				123456.789, 1e9 + 0.5, 18446744072.999 };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t sec;
		uint32_t nsec;
		setctx("codec_timeout(%.10g)", vals[i]);
		codec_timeout(vals[i], &sec, &nsec);
		CHECK(nsec < 1000000000u);
		double back = (double)sec + nsec / 1e9;
		CHECK(fabs(back - vals[i]) <= 2e-9 * (vals[i] > 1 ? vals[i] : 1));
	}
	setctx("%s", "");
}

/* ------------------------------------------------------------------------------------ */

static void test_coverage(void)
{
	/* every opcode codec.c knows had a well-formed request decoded above */
	for (uint32_t op = 0; op < FUSE_OPCODE_LIMIT; op++) {
		if (strcmp(codec_opname(op), "UNKNOWN") == 0)
			continue;
		setctx("opcode %u (%s)", op, codec_opname(op));
		report(covered[op], __LINE__, "a well-formed %s was tested", codec_opname(op));
	}
	setctx("%s", "");
}

int main(void)
{
	test_entry_ops();
	test_forget();
	test_batch_forget();
	test_getattr();
	test_setattr();
	test_symlink();
	test_mknod_mkdir();
	test_rename_link();
	test_open_create_tmpfile();
	test_read();
	test_write();
	test_release_fsync_flush();
	test_xattr();
	test_init();
	test_lk_access_interrupt();
	test_fallocate_lseek_copy_statx();
	test_ioctl_poll_retrieve();
	test_bodyless();
	test_names();
	test_opnames();
	test_header();
	test_extensions();
	test_out_header();
	test_attr_entry();
	test_statfs();
	test_statx();
	test_dirent();
	test_timeout();
	test_coverage();

	free(D.mem);
	printf("codec: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
