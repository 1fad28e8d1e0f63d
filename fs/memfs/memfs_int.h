/* SPDX-License-Identifier: MIT */
/*
 * memfs_int.h - memfs internals shared by its source files.
 *
 * Objects
 * -------
 * struct mnode is one inode (88 bytes: a million empty files must fit in a few hundred
 * MiB). The kernel sees the mnode pointer as the umfs node. Its `u` member depends on
 * the type: the root of the block tree of a regular file (memfs_data.c), the table of
 * a directory (memfs_dir.c), the target of a symlink, or the device number.
 * Extended attributes live outside the node, in a table keyed by node (memfs_xattr.c):
 * few nodes have any, and NF_XATTR says which.
 *
 * Lifetime
 * --------
 * A node lives while any of these hold it: a directory entry names it (one hold per
 * link; a directory has exactly one), a subdirectory (a directory holds its parent, so
 * walking up the `..` chain is always safe), or the kernel (one count per handout,
 * dropped by forget). Open files need no hold of their own: the kernel keeps an open
 * file's inode, so its forget comes only after the last close. That is why memfs has
 * no open or release: the kernel opens without asking (zero-message open), keeping
 * cached pages and listings, as memfs is the only writer. All of that is one atomic
 * word, `refs`; whoever takes it to zero frees the node. References are dropped only
 * after every lock is released.
 *
 * Locks, always taken in this order
 * ---------------------------------
 *  1. fs->rename_lock (mutex): cross-directory renames only. It freezes the shape of
 *     the tree: a directory's parent pointer changes only under it.
 *  2. directory locks: an ancestor before its descendants. Two unrelated directories
 *     are locked in address order, and only while holding rename_lock.
 *  3. locks of non-directories, in address order (they have no descendants).
 *  4. fs->xattr_lock (mutex), taken with the node's lock held, never the other way.
 * Node locks are the small reader/writer lock below (4 bytes, writer-preferring,
 * futex based). They are not recursive: no code path takes one node's lock twice.
 * A node's lock guards every mutable field except `refs` (atomic); a directory's parent
 * pointer is written with both rename_lock and the directory's lock held.
 */
#ifndef UMFS_MEMFS_INT_H
#define UMFS_MEMFS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <umfs/umfs.h>
#include "memfs.h"

/* Callbacks implement the fixed signatures of struct umfs_operations and many ignore
 * some arguments (the file handle, most often). The project builds with
 * -Wno-unused-parameter; say the same here for builds outside meson. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

/* Nothing changes behind the kernel's back, so it may cache everything for long. */
#define MEMFS_TIMEOUT 86400.0

#define MEMFS_BLOCK_SHIFT 12
#define MEMFS_BLOCK_SIZE (1U << MEMFS_BLOCK_SHIFT)

/* What one node and one directory entry are charged against max_size: roughly the
 * memory they take (struct mnode plus malloc overhead; a dentry with a short name plus
 * its hash bucket and readdir slot). A dentry has a fixed cost so that rename never
 * needs more space than it frees. */
#define MEMFS_NODE_COST 128
#define MEMFS_DENTRY_COST 64

#define MEMFS_NAME_MAX 255
#define MEMFS_SYMLINK_MAX 4095 /* PATH_MAX - 1, as Linux */
#define MEMFS_LINK_MAX (1U << 30)
#define MEMFS_XATTR_SIZE_MAX 65536

/* ---------------------------------------------------------------------------------- */
/* Reader/writer lock                                                                   */

struct mlock {
	_Atomic uint32_t v;
};

void mlock_rd(struct mlock *l);
void mlock_rd_unlock(struct mlock *l);
void mlock_wr(struct mlock *l);
void mlock_wr_unlock(struct mlock *l);

/* ---------------------------------------------------------------------------------- */
/* Nodes                                                                               */

enum { T_ATIME, T_MTIME, T_CTIME };
#define TOUCH_A (1U << T_ATIME)
#define TOUCH_M (1U << T_MTIME)
#define TOUCH_C (1U << T_CTIME)

#define NF_TMPFILE 0x01 /* made by tmpfile, never linked: link() may still name it */
#define NF_XATTR 0x02   /* has entries in the xattr table */

/* refs counts holds in its low half and the kernel's references in its high half. */
#define REF_HOLD 1ULL                 /* one link or child directory */
#define REF_KERNEL (1ULL << 32)       /* one reference handed to the kernel */

struct mdir;
struct xattr_set;

struct mnode {
	struct mlock lock;
	uint16_t mode;    /* file type and permission bits */
	uint8_t flags;    /* NF_* */
	uint8_t height;   /* regular files: height of the block tree */
	_Atomic uint64_t refs; /* REF_HOLD per hold + REF_KERNEL per kernel reference */
	uint32_t nlink;   /* as stat shows it; a directory: 2 + subdirectories, 0 once removed */
	uint32_t uid, gid;
	uint32_t nblocks; /* regular files: data blocks allocated */
	uint32_t tnsec[3]; /* T_ATIME, T_MTIME, T_CTIME */
	int64_t tsec[3];
	uint64_t ino;
	uint64_t size;    /* regular files: length; symlinks: target length */
	union {
		void *blocks;      /* S_IFREG: root of the block tree */
		struct mdir *dir;  /* S_IFDIR */
		char *target;      /* S_IFLNK: NUL-terminated */
		uint64_t rdev;     /* S_IFCHR, S_IFBLK */
	} u;
};

struct memfs {
	uint64_t max_size, max_nodes;
	struct mnode *root;
	/* The kernel caches writes (set at init): see memfs_lseek. */
	bool writeback_cache;
	bool want_writeback_cache; /* memfs_options.writeback_cache */
	pthread_mutex_t rename_lock;
	/* Extended attributes of all nodes (memfs_xattr.c). */
	pthread_mutex_t xattr_lock;
	struct xattr_set **xattr_buckets;
	size_t xattr_nbuckets, xattr_count;
	/* Written by many threads: each on its own cache line. */
	_Alignas(64) _Atomic uint64_t bytes;
	_Alignas(64) _Atomic uint64_t nodes;
	_Alignas(64) _Atomic uint64_t next_ino;
};

static inline struct mnode *N(void *node)
{
	return node;
}

static inline bool node_is_dir(const struct mnode *n)
{
	return S_ISDIR(n->mode);
}

static inline bool node_is_reg(const struct mnode *n)
{
	return S_ISREG(n->mode);
}

/* Charge n bytes against max_size: -ENOSPC, all or nothing. */
int memfs_charge(struct memfs *fs, uint64_t n);
void memfs_uncharge(struct memfs *fs, uint64_t n);

/* A new node of `mode` owned by `owner` with its charges paid, no references and all
 * times now. A directory gets its table (parent NULL), a symlink a copy of target.
 * Returns 0 or -ENOSPC / -ENOMEM. */
int node_new(struct memfs *fs, mode_t mode, const char *target, struct mnode **out);
/* Undo node_new for a node that never became visible. */
void node_discard(struct memfs *fs, struct mnode *n);

static inline void node_hold(struct mnode *n)
{
	atomic_fetch_add_explicit(&n->refs, REF_HOLD, memory_order_relaxed);
}

static inline void node_mark_kernel(struct mnode *n)
{
	atomic_fetch_add_explicit(&n->refs, REF_KERNEL, memory_order_relaxed);
}

/* Drop one hold; frees the node (and perhaps its ancestors) when it was the last. */
void node_put(struct memfs *fs, struct mnode *n);
/* Drop nlookup of the kernel's references. */
void node_forget(struct memfs *fs, struct mnode *n, uint64_t nlookup);
/* Drop every reference of a node during memfs_free. */
void node_put_final(struct memfs *fs, struct mnode *n);

void memfs_now(struct timespec *ts);
void node_set_time(struct mnode *n, int which, const struct timespec *ts);
/* Set the times named by a TOUCH_* mask to now. */
void node_touch(struct mnode *n, unsigned what);
void node_stat(const struct mnode *n, struct stat *st);
/* Fill an entry for the kernel; the caller counts a REF_KERNEL for it. */
void node_fill_entry(struct mnode *n, struct umfs_entry *out);
/* Clear set-user-ID, and set-group-ID when group execute is on (what Linux does on
 * write, truncate and chown by a caller without CAP_FSETID), and file capabilities. */
void node_kill_privs(umfs_req *req, struct mnode *n);

/* ---------------------------------------------------------------------------------- */
/* Directories (memfs_dir.c)                                                           */

struct dentry {
	struct dentry *hnext; /* hash chain */
	struct mnode *node;
	uint64_t cookie;      /* readdir offset of the entry after this one; never reused */
	uint8_t namelen;
	char name[];          /* NUL-terminated */
};

struct mdir {
	struct mnode *parent;   /* NULL for the root */
	struct dentry **buckets;
	uint32_t nbuckets;      /* 0 or a power of two */
	uint32_t count;         /* live entries */
	/* The entries in cookie order, for readdir: a dentry pointer, or a tombstone
	 * (cookie << 1 | 1) where one was removed, so that binary search still works. */
	uint64_t *slots;
	uint32_t nslots, slots_cap;
	uint64_t next_cookie;
};

/* The first cookie of an entry; 1 and 2 are the offsets after "." and "..". */
#define DIR_FIRST_COOKIE 3

struct mdir *dir_new(void);
/* Free the table (and any entries left: only memfs_free leaves some). */
void dir_free(struct mdir *d);
struct dentry *dentry_new(const char *name, size_t len, struct mnode *node);
struct dentry *dir_find(const struct mdir *d, const char *name, size_t len);
/* Make room for one more entry: 0 or -ENOMEM. After it dir_insert cannot fail. */
int dir_reserve(struct mdir *d);
void dir_insert(struct mdir *d, struct dentry *e);
/* Take e out of the table (the caller frees it). */
void dir_remove(struct mdir *d, struct dentry *e);
/* Any one entry, for tearing a tree down; NULL when empty. */
struct dentry *dir_any(const struct mdir *d);
/* Index of the first slot whose cookie is greater than off. */
uint32_t dir_slot_after(const struct mdir *d, uint64_t off);
/* The entry in slot i, or NULL for a tombstone. */
struct dentry *dir_slot(const struct mdir *d, uint32_t i);

/* ---------------------------------------------------------------------------------- */
/* Regular file data (memfs_data.c). The caller holds the node's lock: shared for
 * reading and seeking, exclusive for the rest.                                          */

ssize_t data_read(const struct mnode *n, void *buf, size_t size, uint64_t off);
ssize_t data_write(struct memfs *fs, struct mnode *n, const void *buf, size_t size,
		   uint64_t off);
/* Set the length; shrinking frees the blocks beyond it (and zeroes the tail). */
void data_truncate(struct memfs *fs, struct mnode *n, uint64_t size);
/* Allocate zeroed blocks for [off, off + len): all or -ENOSPC for the data blocks. */
int data_allocate(struct memfs *fs, struct mnode *n, uint64_t off, uint64_t len);
/* Make [off, off + len) a hole, freeing whole blocks and zeroing partial ones. */
void data_punch(struct memfs *fs, struct mnode *n, uint64_t off, uint64_t len);
/* SEEK_DATA / SEEK_HOLE from off: 0 and *out, or -ENXIO. */
int data_seek(const struct mnode *n, uint64_t off, int whence, uint64_t *out);
/* Copy len bytes of in at off_in to out at off_out (clipped at the end of in), keeping
 * holes holes. in and out may be the same node if the ranges do not overlap. */
ssize_t data_copy(struct memfs *fs, const struct mnode *in, uint64_t off_in,
		  struct mnode *out, uint64_t off_out, size_t len);
/* Free all blocks (node destruction). */
void data_free_all(struct memfs *fs, struct mnode *n);

/* ---------------------------------------------------------------------------------- */
/* Extended attributes (memfs_xattr.c). The caller holds the node's lock: exclusive for
 * set and remove, shared for get and list.                                            */

int xattr_get(struct memfs *fs, const struct mnode *n, const char *name, void *buf,
	      size_t size);
int xattr_set(struct memfs *fs, struct mnode *n, const char *name, const void *value,
	      size_t size, int flags);
int xattr_list(struct memfs *fs, const struct mnode *n, char *buf, size_t size);
int xattr_remove(struct memfs *fs, struct mnode *n, const char *name);
/* Drop all of the node's xattrs (its destruction); no node lock needed. */
void xattr_drop_all(struct memfs *fs, struct mnode *n);
void xattr_table_free(struct memfs *fs);

/* ---------------------------------------------------------------------------------- */
/* Callbacks, gathered into memfs_operations by memfs.c.                               */

int memfs_lookup(umfs_req *req, void *dir, const char *name, struct umfs_entry *out);
int memfs_mknod(umfs_req *req, void *dir, const char *name, mode_t mode, dev_t rdev,
		struct umfs_entry *out);
int memfs_mkdir(umfs_req *req, void *dir, const char *name, mode_t mode,
		struct umfs_entry *out);
int memfs_symlink(umfs_req *req, void *dir, const char *name, const char *target,
		  struct umfs_entry *out);
int memfs_link(umfs_req *req, void *node, void *newdir, const char *newname,
	       struct umfs_entry *out);
int memfs_unlink(umfs_req *req, void *dir, const char *name);
int memfs_rmdir(umfs_req *req, void *dir, const char *name);
int memfs_rename(umfs_req *req, void *dir, const char *name, void *newdir,
		 const char *newname, unsigned flags);
int memfs_create(umfs_req *req, void *dir, const char *name, mode_t mode, int flags,
		 struct umfs_entry *entry, struct umfs_open *out);
int memfs_tmpfile(umfs_req *req, void *dir, mode_t mode, int flags,
		  struct umfs_entry *entry, struct umfs_open *out);
int memfs_readdir(umfs_req *req, void *node, void *fh, off_t off, umfs_dirbuf *buf);

/* Open an existing regular file (open, and create of a name that exists). */
int memfs_open_node(umfs_req *req, struct mnode *n, int flags, struct umfs_open *out);

#endif
