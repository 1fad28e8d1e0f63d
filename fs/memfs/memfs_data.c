/* SPDX-License-Identifier: MIT */
/*
 * memfs_data.c - sparse file contents.
 *
 * A regular file is a tree of 4 KiB data blocks, like a page table: interior nodes
 * hold 512 pointers, and the tree is just tall enough for the highest block. Height 0
 * means the root is the data block 0 itself, so a small file costs one block and no
 * table. Absent blocks are holes and read as zeros; only written (or fallocated)
 * blocks take memory. Interior nodes and data blocks are both charged against
 * max_size.
 *
 * Invariant: bytes of an allocated block beyond the file's size are zero (truncate and
 * punch zero what they cut), so growing a file never exposes old data.
 *
 * The caller holds the node's lock (memfs_int.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memfs_int.h"

#define FANOUT_SHIFT 9
#define FANOUT (1U << FANOUT_SHIFT)
#define INTERIOR_SIZE (FANOUT * sizeof(void *))
#define BS MEMFS_BLOCK_SIZE
#define NONE UINT64_MAX
/* Files end before 2^63 bytes (off_t), so block indexes stay below 2^51. */
#define MAX_FILE_SIZE ((uint64_t)INT64_MAX)
#define MAX_HEIGHT 6 /* 512^6 blocks > 2^51 */

/* Blocks covered by a subtree of this height. */
static uint64_t span(unsigned height)
{
	return (uint64_t)1 << (FANOUT_SHIFT * height);
}

static unsigned child_index(uint64_t idx, unsigned height)
{
	return (idx >> (FANOUT_SHIFT * (height - 1))) & (FANOUT - 1);
}

static char *block_lookup(const struct mnode *n, uint64_t idx)
{
	if (idx >= span(n->height))
		return NULL;
	void *p = n->u.blocks;
	for (unsigned h = n->height; h > 0 && p; h--)
		p = ((void **)p)[child_index(idx, h)];
	return p;
}

static void **interior_new(struct memfs *fs)
{
	if (memfs_charge(fs, INTERIOR_SIZE))
		return NULL;
	void **t = calloc(FANOUT, sizeof(void *));
	if (!t)
		memfs_uncharge(fs, INTERIOR_SIZE);
	return t;
}

static void interior_free(struct memfs *fs, void **t)
{
	free(t);
	memfs_uncharge(fs, INTERIOR_SIZE);
}

/* Make the tree tall enough for block idx. */
static int tree_grow(struct memfs *fs, struct mnode *n, uint64_t idx)
{
	while (idx >= span(n->height)) {
		if (n->u.blocks) {
			void **top = interior_new(fs);
			if (!top)
				return -ENOSPC;
			top[0] = n->u.blocks;
			n->u.blocks = top;
		}
		n->height++;
	}
	return 0;
}

/*
 * Find block idx, allocating it and the tables above it if absent. charged: its bytes
 * were charged already. Returns 1 for a new block (contents undefined: the caller
 * fills or zeroes it), 0 for an existing one, or -ENOSPC / -EFBIG.
 */
static int block_get(struct memfs *fs, struct mnode *n, uint64_t idx, bool charged,
		     char **out)
{
	int err = tree_grow(fs, n, idx);
	if (err)
		return err;
	void **slot = &n->u.blocks;
	for (unsigned h = n->height; h > 0; h--) {
		if (!*slot && !(*slot = interior_new(fs)))
			return -ENOSPC;
		slot = &((void **)*slot)[child_index(idx, h)];
	}
	if (*slot) {
		*out = *slot;
		return 0;
	}
	if (n->nblocks == UINT32_MAX)
		return -EFBIG;
	if (!charged && memfs_charge(fs, BS))
		return -ENOSPC;
	if (!(*slot = malloc(BS))) {
		if (!charged)
			memfs_uncharge(fs, BS);
		return -ENOSPC;
	}
	n->nblocks++;
	*out = *slot;
	return 1;
}

/* Zero what a partial write leaves untouched in a new block. */
static void zero_around(char *blk, size_t from, size_t to)
{
	memset(blk, 0, from);
	memset(blk + to, 0, BS - to);
}

/* ---------------------------------------------------------------------------------- */
/* Walking the tree over a range of block indexes. first and last are relative to the
 * subtree and inclusive.                                                              */

/* Free the blocks first..last of subtree *pp of height h; free tables that empty. */
static void subtree_free(struct memfs *fs, struct mnode *n, void **pp, unsigned h,
			 uint64_t first, uint64_t last)
{
	void *p = *pp;
	if (!p)
		return;
	if (h == 0) {
		free(p);
		*pp = NULL;
		n->nblocks--;
		memfs_uncharge(fs, BS);
		return;
	}
	void **t = p;
	uint64_t cs = span(h - 1);
	unsigned lo = (unsigned)(first / cs), hi = (unsigned)(last / cs);
	for (unsigned i = lo; i <= hi; i++)
		subtree_free(fs, n, &t[i], h - 1, i == lo ? first % cs : 0,
			     i == hi ? last % cs : cs - 1);
	for (unsigned i = 0; i < FANOUT; i++)
		if (t[i])
			return;
	interior_free(fs, t);
	*pp = NULL;
}

/* Free blocks first..last of the file (last may be past the tree). */
static void free_blocks(struct memfs *fs, struct mnode *n, uint64_t first, uint64_t last)
{
	uint64_t end = span(n->height);
	if (first > last || first >= end)
		return;
	if (last >= end)
		last = end - 1;
	subtree_free(fs, n, &n->u.blocks, n->height, first, last);
	if (!n->u.blocks)
		n->height = 0;
}

static uint64_t subtree_count(const void *p, unsigned h, uint64_t first, uint64_t last)
{
	if (!p)
		return 0;
	if (h == 0)
		return 1;
	void *const *t = p;
	uint64_t cs = span(h - 1), count = 0;
	unsigned lo = (unsigned)(first / cs), hi = (unsigned)(last / cs);
	for (unsigned i = lo; i <= hi; i++)
		count += subtree_count(t[i], h - 1, i == lo ? first % cs : 0,
				       i == hi ? last % cs : cs - 1);
	return count;
}

/* Blocks allocated among first..last. */
static uint64_t count_blocks(const struct mnode *n, uint64_t first, uint64_t last)
{
	uint64_t end = span(n->height);
	if (first >= end)
		return 0;
	if (last >= end)
		last = end - 1;
	return subtree_count(n->u.blocks, n->height, first, last);
}

/* The first block index >= idx (relative) of subtree p that is allocated (want_data)
 * or a hole (!want_data), or NONE. */
static uint64_t subtree_find(const void *p, unsigned h, uint64_t idx, bool want_data)
{
	if (!p)
		return want_data ? NONE : idx;
	if (h == 0)
		return want_data ? idx : NONE;
	void *const *t = p;
	uint64_t cs = span(h - 1);
	for (unsigned i = (unsigned)(idx / cs); i < FANOUT; i++) {
		uint64_t base = (uint64_t)i * cs;
		uint64_t from = idx > base ? idx - base : 0;
		uint64_t r = subtree_find(t[i], h - 1, from, want_data);
		if (r != NONE)
			return base + r;
	}
	return NONE;
}

/* The first block index >= idx that is allocated (want_data) or a hole; NONE when no
 * block at or after idx is allocated and want_data. */
static uint64_t find_block(const struct mnode *n, uint64_t idx, bool want_data)
{
	uint64_t end = span(n->height);
	if (idx >= end)
		return want_data ? NONE : idx;
	uint64_t r = subtree_find(n->u.blocks, n->height, idx, want_data);
	if (r == NONE && !want_data)
		return end; /* the tree is full from idx on: the hole starts after it */
	return r;
}

/* ---------------------------------------------------------------------------------- */

ssize_t data_read(const struct mnode *n, void *buf, size_t size, uint64_t off)
{
	if (off >= n->size)
		return 0;
	if (size > n->size - off)
		size = n->size - off;
	for (size_t done = 0; done < size;) {
		uint64_t pos = off + done;
		size_t boff = pos % BS, chunk = BS - boff;
		if (chunk > size - done)
			chunk = size - done;
		const char *blk = block_lookup(n, pos / BS);
		if (blk)
			memcpy((char *)buf + done, blk + boff, chunk);
		else
			memset((char *)buf + done, 0, chunk);
		done += chunk;
	}
	return (ssize_t)size;
}

ssize_t data_write(struct memfs *fs, struct mnode *n, const void *buf, size_t size,
		   uint64_t off)
{
	if (off > MAX_FILE_SIZE || size > MAX_FILE_SIZE - off)
		return -EFBIG;
	size_t done = 0;
	while (done < size) {
		uint64_t pos = off + done;
		size_t boff = pos % BS, chunk = BS - boff;
		if (chunk > size - done)
			chunk = size - done;
		char *blk;
		int r = block_get(fs, n, pos / BS, false, &blk);
		if (r < 0) {
			if (done == 0)
				return r;
			break; /* a short write: what fit is written */
		}
		if (r == 1)
			zero_around(blk, boff, boff + chunk);
		memcpy(blk + boff, (const char *)buf + done, chunk);
		done += chunk;
	}
	if (off + done > n->size)
		n->size = off + done;
	return (ssize_t)done;
}

/* Zero [from, to) where it lies in allocated blocks; holes are zero already. */
static void zero_range(struct mnode *n, uint64_t from, uint64_t to)
{
	while (from < to) {
		uint64_t boff = from % BS, chunk = BS - boff;
		if (chunk > to - from)
			chunk = to - from;
		char *blk = block_lookup(n, from / BS);
		if (blk)
			memset(blk + boff, 0, chunk);
		from += chunk;
	}
}

void data_truncate(struct memfs *fs, struct mnode *n, uint64_t size)
{
	/* Also when the size stays: blocks fallocated past the end go, as on tmpfs. */
	if (size <= n->size) {
		uint64_t first_beyond = size / BS + (size % BS != 0);
		free_blocks(fs, n, first_beyond, NONE);
		if (size % BS)
			zero_range(n, size, (size / BS + 1) * BS);
	}
	n->size = size;
}

void data_punch(struct memfs *fs, struct mnode *n, uint64_t off, uint64_t len)
{
	uint64_t end = len > MAX_FILE_SIZE - off ? MAX_FILE_SIZE : off + len;
	uint64_t first_full = off / BS + (off % BS != 0); /* first block wholly inside */
	uint64_t end_full = end / BS;                       /* one past the last one */
	if (first_full >= end_full) { /* within one block, or two partial ones */
		zero_range(n, off, end);
		return;
	}
	free_blocks(fs, n, first_full, end_full - 1);
	zero_range(n, off, first_full * BS);
	zero_range(n, end_full * BS, end);
}

int data_allocate(struct memfs *fs, struct mnode *n, uint64_t off, uint64_t len)
{
	if (off > MAX_FILE_SIZE || len > MAX_FILE_SIZE - off)
		return -EFBIG;
	uint64_t first = off / BS, last = (off + len - 1) / BS;
	uint64_t missing = last - first + 1 - count_blocks(n, first, last);
	if (missing > UINT32_MAX - n->nblocks)
		return -EFBIG;
	/* Charge every missing block first: either the whole range fits or nothing
	 * changes. (Tables above the blocks are charged as they come.) */
	if (memfs_charge(fs, missing * BS))
		return -ENOSPC;
	for (uint64_t idx = first; missing > 0; idx++) {
		idx = find_block(n, idx, false);
		char *blk;
		int r = block_get(fs, n, idx, true, &blk);
		if (r < 0) {
			memfs_uncharge(fs, missing * BS);
			return r;
		}
		memset(blk, 0, BS);
		missing--;
	}
	return 0;
}

int data_seek(const struct mnode *n, uint64_t off, int whence, uint64_t *out)
{
	if (off >= n->size)
		return -ENXIO;
	uint64_t last_block = (n->size - 1) / BS;
	uint64_t idx = find_block(n, off / BS, whence == SEEK_DATA);
	if (whence == SEEK_DATA) {
		if (idx == NONE || idx > last_block)
			return -ENXIO;
	} else if (idx > last_block) {
		*out = n->size; /* the hole every file has at its end */
		return 0;
	}
	uint64_t pos = idx * BS;
	*out = pos > off ? pos : off;
	return 0;
}

ssize_t data_copy(struct memfs *fs, const struct mnode *in, uint64_t off_in,
		  struct mnode *out, uint64_t off_out, size_t len)
{
	if (off_in >= in->size)
		return 0;
	if (len > in->size - off_in)
		len = in->size - off_in;
	if (off_out > MAX_FILE_SIZE || len > MAX_FILE_SIZE - off_out)
		return -EFBIG;

	size_t done = 0;
	int err = 0;
	while (done < len) {
		uint64_t ip = off_in + done, op = off_out + done;
		const char *src = block_lookup(in, ip / BS);
		if (!src) {
			/* A hole in the source: punch the same span in the target. */
			uint64_t next = find_block(in, ip / BS, true);
			uint64_t hole_end = next == NONE ? NONE : next * BS;
			size_t chunk = hole_end - ip < len - done ? hole_end - ip : len - done;
			data_punch(fs, out, op, chunk);
			done += chunk;
			continue;
		}
		size_t chunk = BS - ip % BS;
		if (chunk > BS - op % BS)
			chunk = BS - op % BS;
		if (chunk > len - done)
			chunk = len - done;
		char *dst;
		int r = block_get(fs, out, op / BS, false, &dst);
		if (r < 0) {
			err = r;
			break;
		}
		if (r == 1)
			zero_around(dst, op % BS, op % BS + chunk);
		memmove(dst + op % BS, src + ip % BS, chunk);
		done += chunk;
	}
	if (done == 0 && err)
		return err;
	if (off_out + done > out->size)
		out->size = off_out + done;
	return (ssize_t)done;
}

void data_free_all(struct memfs *fs, struct mnode *n)
{
	free_blocks(fs, n, 0, NONE);
}
