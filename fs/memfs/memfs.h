/* SPDX-License-Identifier: MIT */
/*
 * memfs.h - an in-memory POSIX file system on the umfs native API.
 *
 * memfs is an object: make one with memfs_new(), hand memfs_operations, the memfs
 * itself (as the file system's `fs` pointer) and memfs_root() to umfs_session_new(),
 * and free it with memfs_free() after the session is gone:
 *
 *	struct memfs_options o = { .max_size = 1ULL << 30 };
 *	struct memfs *m = memfs_new(&o);
 *	umfs_session *s = umfs_session_new(&memfs_operations, sizeof memfs_operations,
 *					   m, memfs_root(m), &config);
 *	...
 *	umfs_session_destroy(s);
 *	memfs_free(m);
 *
 * Files are sparse (only written 4 KiB blocks take memory), directories are hash
 * tables with stable readdir offsets, and every POSIX object type is there: regular
 * files, directories, symlinks, hard links, fifos, sockets, device nodes, xattrs.
 *
 * Caching: by default every write(2) reaches memfs, so it fails with ENOSPC itself at
 * capacity and SEEK_DATA/SEEK_HOLE find the real holes. The writeback_cache option lets
 * the kernel gather small writes (several times faster for 4 KiB writes); then a full
 * memfs shows only at fsync or close, and SEEK_DATA/SEEK_HOLE see no hole but the one
 * at the end, as the kernel answers them itself.
 */
#ifndef UMFS_MEMFS_H
#define UMFS_MEMFS_H

#include <stdbool.h>
#include <stdint.h>
#include <umfs/umfs.h>

#ifdef __cplusplus
extern "C" {
#endif

struct memfs_options {
	/* Bytes of file data and metadata memfs may hold; 0 = unlimited. Writes, creates
	 * and xattrs beyond it fail with ENOSPC; the limit is never exceeded. */
	uint64_t max_size;
	/* Files, directories, symlinks and special files (the root counts); 0 = unlimited. */
	uint64_t max_nodes;
	/* Ask for the kernel's writeback cache (see "Caching" above). */
	bool writeback_cache;
};

struct memfs;

/* A new, empty file system (the root is a 0755 directory owned by the effective uid
 * and gid of the process). o may be NULL (no limits). Returns NULL with errno set. */
struct memfs *memfs_new(const struct memfs_options *o);

/* Free the file system and everything in it. Call it after the session that served
 * it has ended. A file that was removed while open, and whose release never came
 * (a lazy unmount with the file still open), is no longer reachable and is not freed.
 * NULL is ignored. */
void memfs_free(struct memfs *fs);

/* The root directory node, for umfs_session_new(). */
void *memfs_root(struct memfs *fs);

/* The callbacks. The `fs` pointer of the session must be the struct memfs. */
extern const struct umfs_operations memfs_operations;

/* What memfs holds now: bytes charged against max_size (data blocks, a fixed cost
 * per node and per directory entry, symlink targets, xattrs) and live nodes. Either
 * pointer may be NULL. */
void memfs_usage(struct memfs *fs, uint64_t *bytes, uint64_t *nodes);

/*
 * Parse a size such as "2G", "512M", "64k" or "1048576" (bytes). The suffixes k, m, g,
 * t, p, e (either case, optionally followed by "iB") are powers of 1024. Returns 0 and
 * sets *out, or -EINVAL for anything that is not a number with an optional suffix
 * (empty, sign, space, fraction, unknown suffix), or -ERANGE when it overflows 64 bits.
 */
int memfs_parse_size(const char *s, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
