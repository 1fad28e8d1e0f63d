/* SPDX-License-Identifier: MIT */
/*
 * fuzz_decode.c - libFuzzer target for codec_decode.
 *
 * Each input is one request as read from /dev/fuse. It is decoded under several
 * connection settings (before INIT, after it with and without SETXATTR_EXT, tiny name
 * and write limits), and whatever a successful decode hands out is touched in full
 * (names via strlen, write data, xattr values, forget items), so that ASan sees any
 * pointer or length that reaches past the input. The promises of codec.h are checked
 * too: names are non-empty, '/'-free and within limits, offsets fit in off_t, the
 * header is reported on every error once 40 bytes are there. A broken promise aborts.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Ilib \
 *         lib/codec.c tests/unit/fuzz_decode.c -o fuzz_decode
 *   ./fuzz_decode -max_total_time=60 corpus/ tests/unit/fuzz_corpus/
 * or tests/unit/run_fuzz.sh.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct codec_limits limits[] = {
	{ .proto_minor = 0, .max_write = 128 * 1024, .name_max = 255, .setxattr_ext = false },
	{ .proto_minor = 45, .max_write = 128 * 1024, .name_max = 255, .setxattr_ext = false },
	{ .proto_minor = 45, .max_write = 1024 * 1024, .name_max = 1024, .setxattr_ext = true },
	{ .proto_minor = 31, .max_write = 16, .name_max = 4, .setxattr_ext = true },
	{ .proto_minor = 45, .max_write = 0, .name_max = 0, .setxattr_ext = false },
};

#define NAME_PATH_MAX 4095  /* symlink targets */
#define XATTR_NAME_MAX 255
#define XATTR_SIZE_MAX 65536

static volatile unsigned char sink;

#define REQUIRE(cond)                                                                     \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "fuzz_decode.c:%d: broken promise: %s\n", __LINE__, \
				#cond);                                                   \
			abort();                                                          \
		}                                                                         \
	} while (0)

/* [p, p + n) lies within the input; every byte is read (ASan checks each). */
static void touch(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	const unsigned char *b = p;
	unsigned char acc = 0;

	REQUIRE(n == 0 || p != NULL);
	if (n) {
		REQUIRE(b >= buf && b <= buf + len && n <= (size_t)(buf + len - b));
		/* and within the body: after the 40-byte header */
		REQUIRE(b >= buf + sizeof(struct fuse_in_header));
	}
	for (size_t i = 0; i < n; i++)
		acc ^= b[i];
	sink = acc;
}

/* A NUL-terminated string in the input, 1..max bytes, optionally a path component. */
static size_t check_name(const char *s, size_t max, int component, const uint8_t *buf,
			 size_t len)
{
	size_t n;

	REQUIRE(s != NULL);
	n = strlen(s); /* ASan: the NUL must be inside the input */
	touch(s, n + 1, buf, len);
	REQUIRE(n >= 1 && n <= max);
	if (component)
		REQUIRE(strchr(s, '/') == NULL);

	/* a decoded name must make a directory entry that fits exactly */
	size_t need = FUSE_DIRENT_SIZE(n);
	unsigned char *d = malloc(need);
	REQUIRE(d != NULL);
	REQUIRE(codec_dirent(d, need, 1, 2, 8, s, n) == need);
	REQUIRE(codec_dirent(d, need - 1, 1, 2, 8, s, n) == 0);
	free(d);
	return n;
}

static void check_decoded(const struct request *rq, const struct codec_limits *lim,
			  const uint8_t *buf, size_t len)
{
	const size_t nm = lim->name_max;

	switch (rq->opcode) {
	case FUSE_LOOKUP:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
		check_name(rq->u.entry.name, nm, 1, buf, len);
		break;
	case FUSE_SYMLINK:
		check_name(rq->u.symlink.name, nm, 1, buf, len);
		check_name(rq->u.symlink.target, NAME_PATH_MAX, 0, buf, len);
		REQUIRE(rq->u.symlink.target > rq->u.symlink.name);
		break;
	case FUSE_MKNOD:
		check_name(rq->u.mknod.name, nm, 1, buf, len);
		break;
	case FUSE_MKDIR:
		check_name(rq->u.mkdir.name, nm, 1, buf, len);
		break;
	case FUSE_RENAME:
	case FUSE_RENAME2:
		check_name(rq->u.rename.name, nm, 1, buf, len);
		check_name(rq->u.rename.newname, nm, 1, buf, len);
		if (rq->opcode == FUSE_RENAME)
			REQUIRE(rq->u.rename.flags == 0);
		break;
	case FUSE_LINK:
		check_name(rq->u.link.newname, nm, 1, buf, len);
		break;
	case FUSE_CREATE:
		check_name(rq->u.create.name, nm, 1, buf, len);
		break;
	case FUSE_TMPFILE:
		REQUIRE(rq->u.create.name == NULL);
		break;
	case FUSE_WRITE:
		REQUIRE(rq->u.write.size <= lim->max_write);
		REQUIRE(rq->u.write.offset <= INT64_MAX);
		touch(rq->u.write.data, rq->u.write.size, buf, len);
		break;
	case FUSE_READ:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
		REQUIRE(rq->u.read.offset <= INT64_MAX);
		break;
	case FUSE_SETXATTR:
		check_name(rq->u.setxattr.name, XATTR_NAME_MAX, 0, buf, len);
		REQUIRE(rq->u.setxattr.size <= XATTR_SIZE_MAX);
		touch(rq->u.setxattr.value, rq->u.setxattr.size, buf, len);
		break;
	case FUSE_GETXATTR:
		check_name(rq->u.getxattr.name, XATTR_NAME_MAX, 0, buf, len);
		break;
	case FUSE_LISTXATTR:
		REQUIRE(rq->u.getxattr.name == NULL);
		break;
	case FUSE_REMOVEXATTR:
		check_name(rq->u.removexattr.name, XATTR_NAME_MAX, 0, buf, len);
		break;
	case FUSE_BATCH_FORGET: {
		const unsigned char *items = rq->u.batch_forget.items;
		size_t bytes = (size_t)rq->u.batch_forget.count * sizeof(struct fuse_forget_one);

		touch(items, bytes, buf, len);
		for (uint32_t i = 0; i < rq->u.batch_forget.count; i++) {
			struct fuse_forget_one one;
			memcpy(&one, items + i * sizeof(one), sizeof(one));
			sink ^= (unsigned char)(one.nodeid ^ one.nlookup);
		}
		break;
	}
	case FUSE_SETATTR:
		REQUIRE(rq->u.setattr.atimensec < 1000000000u);
		REQUIRE(rq->u.setattr.mtimensec < 1000000000u);
		REQUIRE(rq->u.setattr.ctimensec < 1000000000u);
		break;
	case FUSE_FALLOCATE:
		REQUIRE(rq->u.fallocate.offset <= INT64_MAX);
		REQUIRE(rq->u.fallocate.length <= INT64_MAX);
		break;
	case FUSE_COPY_FILE_RANGE:
	case FUSE_COPY_FILE_RANGE_64:
		REQUIRE(rq->u.copy_file_range.off_in <= INT64_MAX);
		REQUIRE(rq->u.copy_file_range.off_out <= INT64_MAX);
		break;
	case FUSE_INIT:
		if (!(rq->u.init.flags & FUSE_INIT_EXT))
			REQUIRE((rq->u.init.flags >> 32) == 0);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuse_in_header h;

	if (size >= sizeof(h))
		memcpy(&h, data, sizeof(h));
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		const struct codec_limits *lim = &limits[i];
		struct request rq;
		int rc;

		memset(&rq, 0xa5, sizeof(rq));
		rc = codec_decode(data, size, lim, &rq);
		REQUIRE(rc == 0 || rc == -EPROTO || rc == -EINVAL || rc == -ENAMETOOLONG ||
			rc == -ENOSYS || rc == -E2BIG);
		REQUIRE(codec_header_ok(size) == (size >= sizeof(h)));
		if (size < sizeof(h)) {
			REQUIRE(rc == -EPROTO);
			continue;
		}
		/* the header is reported, success or not, so that an error can be answered */
		REQUIRE(rq.opcode == h.opcode && rq.unique == h.unique && rq.nodeid == h.nodeid);
		REQUIRE(rq.uid == h.uid && rq.gid == h.gid && rq.pid == h.pid);
		(void)codec_no_reply(rq.opcode);
		REQUIRE(codec_opname(rq.opcode) != NULL);
		if (rc == -ENOSYS)
			REQUIRE(strcmp(codec_opname(rq.opcode), "UNKNOWN") == 0);
		if (rc != 0)
			continue;

		REQUIRE(h.len == size);
		REQUIRE((size_t)h.total_extlen * 8 <= size - sizeof(h));
		REQUIRE(strcmp(codec_opname(rq.opcode), "UNKNOWN") != 0);
		if (lim->proto_minor == 0)
			REQUIRE(rq.opcode == FUSE_INIT);
		check_decoded(&rq, lim, data, size);
	}

	/* the reply side's one numeric conversion, with arbitrary doubles (NaN, inf, ...) */
	if (size >= sizeof(double)) {
		double d;
		uint64_t sec;
		uint32_t nsec;

		memcpy(&d, data + size - sizeof(d), sizeof(d));
		codec_timeout(d, &sec, &nsec);
		REQUIRE(nsec < 1000000000u);
		if (!(d > 0))
			REQUIRE(sec == 0 && nsec == 0);
	}
	return 0;
}
