/* SPDX-License-Identifier: MIT */
/*
 * cursor.h - bounds-checked reading of a byte buffer. Every getter either succeeds
 * and advances, or fails and leaves the cursor where it was; nothing past `end` is
 * ever read. Decoders use only these, never pointer arithmetic on raw bytes.
 */
#ifndef UMFS_CURSOR_H
#define UMFS_CURSOR_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

struct cursor {
	const unsigned char *pos;
	const unsigned char *end;
};

static inline void cursor_init(struct cursor *c, const void *buf, size_t len)
{
	c->pos = buf;
	c->end = c->pos + len;
}

static inline size_t cursor_left(const struct cursor *c)
{
	return (size_t)(c->end - c->pos);
}

/* Copy the next n bytes into out (which may be unaligned-safe storage). */
static inline int cursor_get(struct cursor *c, void *out, size_t n)
{
	if (cursor_left(c) < n)
		return -EPROTO;
	memcpy(out, c->pos, n);
	c->pos += n;
	return 0;
}

/* Point at the next n bytes without copying. */
static inline int cursor_take(struct cursor *c, size_t n, const void **out)
{
	if (cursor_left(c) < n)
		return -EPROTO;
	*out = c->pos;
	c->pos += n;
	return 0;
}

/* A NUL-terminated, non-empty string of at most max bytes (NUL excluded). */
static inline int cursor_string(struct cursor *c, size_t max, const char **out)
{
	const unsigned char *nul = memchr(c->pos, '\0', cursor_left(c));

	if (!nul)
		return -EPROTO;
	if (nul == c->pos)
		return -EINVAL;
	if ((size_t)(nul - c->pos) > max)
		return -ENAMETOOLONG;
	*out = (const char *)c->pos;
	c->pos = nul + 1;
	return 0;
}

#endif
