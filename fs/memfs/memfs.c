/* SPDX-License-Identifier: MIT */
/*
 * memfs.c - the memfs object, attributes, file I/O, xattrs, and the callback table.
 *
 * Where things are:
 *   memfs_int.h    data structures, lifetime rules and the lock order
 *   memfs_node.c   node lock, space accounting, node life cycle, stat
 *   memfs_ns.c     lookup, create/mkdir/..., unlink/rmdir, link, rename, readdir
 *   memfs_dir.c    directory tables (hash by name, readdir order by cookie)
 *   memfs_data.c   sparse file contents (a tree of 4 KiB blocks)
 *   memfs_xattr.c  extended attributes
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memfs_int.h"

static struct memfs *FS(umfs_req *req)
{
	return umfs_req_fs(req);
}

/* ---------------------------------------------------------------------------------- */
/* The object                                                                          */

struct memfs *memfs_new(const struct memfs_options *o)
{
	/* The counters are cache-line aligned: allocate the struct so too. */
	size_t size = (sizeof(struct memfs) + 63) / 64 * 64;
	struct memfs *fs = aligned_alloc(64, size);
	if (!fs)
		return NULL;
	memset(fs, 0, size);
	if (o) {
		fs->max_size = o->max_size;
		fs->want_writeback_cache = o->writeback_cache;
		fs->max_nodes = o->max_nodes;
	}
	atomic_init(&fs->bytes, 0);
	atomic_init(&fs->nodes, 0);
	atomic_init(&fs->next_ino, 1);
	pthread_mutex_init(&fs->rename_lock, NULL);
	pthread_mutex_init(&fs->xattr_lock, NULL);

	struct mnode *root;
	int err = node_new(fs, S_IFDIR | 0755, NULL, &root);
	if (err) {
		pthread_mutex_destroy(&fs->rename_lock);
		pthread_mutex_destroy(&fs->xattr_lock);
		free(fs);
		errno = -err;
		return NULL;
	}
	root->uid = geteuid();
	root->gid = getegid();
	atomic_store(&root->refs, REF_HOLD); /* the session's, for good */
	fs->root = root;
	return fs;
}

/* Take the whole tree down without recursion (it may be deep): empty a directory
 * entry by entry, descend into subdirectories that have entries, and drop each
 * directory on the way back up. Children hold their parents, so `up` stays valid. */
static void tree_teardown(struct memfs *fs)
{
	struct mnode *cur = fs->root;
	while (cur) {
		struct dentry *e = dir_any(cur->u.dir);
		if (e) {
			struct mnode *child = e->node;
			dir_remove(cur->u.dir, e);
			free(e);
			memfs_uncharge(fs, MEMFS_DENTRY_COST);
			if (node_is_dir(child) && child->u.dir->count)
				cur = child; /* its link's hold is dropped on the way up */
			else
				node_put_final(fs, child);
			continue;
		}
		struct mnode *up = cur->u.dir->parent;
		node_put_final(fs, cur);
		cur = up;
	}
}

void memfs_free(struct memfs *fs)
{
	if (!fs)
		return;
	tree_teardown(fs);
	xattr_table_free(fs);
	pthread_mutex_destroy(&fs->rename_lock);
	pthread_mutex_destroy(&fs->xattr_lock);
	free(fs);
}

void *memfs_root(struct memfs *fs)
{
	return fs->root;
}

void memfs_usage(struct memfs *fs, uint64_t *bytes, uint64_t *nodes)
{
	if (bytes)
		*bytes = atomic_load_explicit(&fs->bytes, memory_order_relaxed);
	if (nodes)
		*nodes = atomic_load_explicit(&fs->nodes, memory_order_relaxed);
}

/* ---------------------------------------------------------------------------------- */
/* Session                                                                             */

static void memfs_init(void *fsp, struct umfs_conn *conn)
{
	struct memfs *fs = fsp;
	/* memfs is the only writer and every change goes through the kernel, so the
	 * kernel may cache names, attributes and data for long. memfs implements the
	 * suid/sgid rules (KILLPRIV_V2, which also lets the kernel skip a getxattr of
	 * security.capability per write). Readdirplus always: listings are nearly always
	 * followed by stats, and attributes cost memfs nothing. Cached data needs no
	 * invalidation on mtime changes: nothing changes behind the kernel's back. */
	umfs_conn_want(conn, UMFS_CAP_READDIRPLUS | UMFS_CAP_PARALLEL_DIROPS |
				     UMFS_CAP_HANDLE_KILLPRIV_V2 | UMFS_CAP_CACHE_SYMLINKS |
				     UMFS_CAP_ASYNC_READ |
				     UMFS_CAP_BIG_WRITES);
	umfs_conn_unwant(conn, UMFS_CAP_READDIRPLUS_AUTO | UMFS_CAP_AUTO_INVAL_DATA);
	/* The writeback cache makes small writes several times faster, but write(2)
	 * then returns before memfs has seen the data: running out of space would show
	 * only at fsync or close, which many programs never check. So only on request. */
	if (fs->want_writeback_cache)
		umfs_conn_want(conn, UMFS_CAP_WRITEBACK_CACHE);
	else
		umfs_conn_unwant(conn, UMFS_CAP_WRITEBACK_CACHE);
	fs->writeback_cache = (umfs_conn_wanted(conn) & UMFS_CAP_WRITEBACK_CACHE) != 0;
}

static void memfs_forget(void *fs, void *node, uint64_t nlookup)
{
	node_forget(fs, node, nlookup);
}

/* ---------------------------------------------------------------------------------- */
/* Attributes                                                                          */

static int memfs_getattr(umfs_req *req, void *node, void *fh, struct umfs_attr *out)
{
	struct mnode *n = node;
	mlock_rd(&n->lock);
	node_stat(n, &out->st);
	mlock_rd_unlock(&n->lock);
	out->timeout = MEMFS_TIMEOUT;
	return 0;
}

static bool valid_time(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

static int check_setattr(const struct mnode *n, const struct stat *in, unsigned valid)
{
	if (valid & UMFS_SET_SIZE) {
		if (node_is_dir(n))
			return -EISDIR;
		if (!node_is_reg(n))
			return -EINVAL;
		if (in->st_size < 0)
			return -EINVAL;
	}
	if (((valid & UMFS_SET_ATIME) && !(valid & UMFS_SET_ATIME_NOW) &&
	     !valid_time(&in->st_atim)) ||
	    ((valid & UMFS_SET_MTIME) && !(valid & UMFS_SET_MTIME_NOW) &&
	     !valid_time(&in->st_mtim)) ||
	    ((valid & UMFS_SET_CTIME) && !valid_time(&in->st_ctim)))
		return -EINVAL;
	return 0;
}

static void set_times(struct mnode *n, const struct stat *in, unsigned valid)
{
	struct timespec now;
	memfs_now(&now);
	if (valid & UMFS_SET_ATIME_NOW)
		node_set_time(n, T_ATIME, &now);
	else if (valid & UMFS_SET_ATIME)
		node_set_time(n, T_ATIME, &in->st_atim);
	if (valid & UMFS_SET_MTIME_NOW)
		node_set_time(n, T_MTIME, &now);
	else if (valid & UMFS_SET_MTIME)
		node_set_time(n, T_MTIME, &in->st_mtim);
	/* Any change is a status change; with the writeback cache the kernel says when. */
	node_set_time(n, T_CTIME, (valid & UMFS_SET_CTIME) ? &in->st_ctim : &now);
}

static int memfs_setattr(umfs_req *req, void *node, void *fh, const struct stat *in,
			 unsigned valid, struct umfs_attr *out)
{
	struct memfs *fs = FS(req);
	struct mnode *n = node;
	int err = check_setattr(n, in, valid);
	if (err)
		return err;

	mlock_wr(&n->lock);
	if (valid & UMFS_SET_SIZE) {
		data_truncate(fs, n, (uint64_t)in->st_size);
		node_touch(n, TOUCH_M);
	}
	if (valid & UMFS_SET_MODE)
		n->mode = (n->mode & S_IFMT) | (in->st_mode & 07777);
	if (valid & UMFS_SET_UID)
		n->uid = in->st_uid;
	if (valid & UMFS_SET_GID)
		n->gid = in->st_gid;
	/* The kernel asks for the kill (chown, or truncate without CAP_FSETID); a direct
	 * caller of the API who is not root gets the POSIX chown rule. */
	if ((valid & UMFS_SET_KILL_SUIDGID) ||
	    ((valid & (UMFS_SET_UID | UMFS_SET_GID)) && umfs_req_caller(req)->uid != 0))
		node_kill_privs(req, n);
	set_times(n, in, valid);
	node_stat(n, &out->st);
	mlock_wr_unlock(&n->lock);
	out->timeout = MEMFS_TIMEOUT;
	return 0;
}

static int memfs_readlink(umfs_req *req, void *node, char *buf, size_t size)
{
	struct mnode *n = node;
	if (!S_ISLNK(n->mode))
		return -EINVAL;
	/* A symlink's target never changes: no lock needed. */
	size_t len = n->size < size ? n->size : size;
	memcpy(buf, n->u.target, len);
	return (int)len;
}

static uint64_t physical_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
	if (pages <= 0 || page <= 0)
		return UINT64_C(1) << 40;
	return (uint64_t)pages * (uint64_t)page;
}

static int memfs_statfs(umfs_req *req, void *node, struct statvfs *out)
{
	struct memfs *fs = FS(req);
	uint64_t bytes, nodes;
	memfs_usage(fs, &bytes, &nodes);

	/* Without a limit, memory is the limit. */
	uint64_t capacity = fs->max_size ? fs->max_size : physical_memory();
	uint64_t blocks = capacity / MEMFS_BLOCK_SIZE;
	uint64_t used = (bytes + MEMFS_BLOCK_SIZE - 1) / MEMFS_BLOCK_SIZE;
	uint64_t files = fs->max_nodes ? fs->max_nodes : UINT64_C(1) << 32;

	memset(out, 0, sizeof *out);
	out->f_bsize = MEMFS_BLOCK_SIZE;
	out->f_frsize = MEMFS_BLOCK_SIZE;
	out->f_blocks = blocks;
	out->f_bfree = out->f_bavail = blocks > used ? blocks - used : 0;
	out->f_files = files;
	out->f_ffree = out->f_favail = files > nodes ? files - nodes : 0;
	out->f_namemax = MEMFS_NAME_MAX;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Files                                                                               */

int memfs_open_node(umfs_req *req, struct mnode *n, int flags, struct umfs_open *out)
{
	if (node_is_dir(n))
		return -EISDIR;
	if (!node_is_reg(n))
		return -EINVAL; /* the kernel opens special files itself */
	if (flags & O_TRUNC) {
		mlock_wr(&n->lock);
		data_truncate(umfs_req_fs(req), n, 0);
		node_touch(n, TOUCH_M | TOUCH_C);
		/* The API does not pass FUSE_OPEN_KILL_SUIDGID: root stands in for
		 * CAP_FSETID. */
		if (umfs_req_caller(req)->uid != 0)
			node_kill_privs(req, n);
		mlock_wr_unlock(&n->lock);
	}
	out->fh = NULL;
	out->keep_cache = 1; /* memfs is the only writer: cached pages stay right */
	return 0;
}


static int check_regular(const struct mnode *n)
{
	if (node_is_dir(n))
		return -EISDIR;
	return node_is_reg(n) ? 0 : -EINVAL;
}

/* A read or write of size bytes at off: on a regular file, from a real offset, and
 * no more than a count can say. */
static int check_io(const struct mnode *n, off_t off, size_t *size)
{
	int err = check_regular(n);
	if (err)
		return err;
	if (off < 0)
		return -EINVAL;
	if (*size > INT_MAX)
		*size = INT_MAX;
	return 0;
}

static int memfs_read(umfs_req *req, void *node, void *fh, void *buf, size_t size,
		      off_t off)
{
	struct mnode *n = node;
	int err = check_io(n, off, &size);
	if (err)
		return err;
	mlock_rd(&n->lock);
	ssize_t r = data_read(n, buf, size, (uint64_t)off);
	mlock_rd_unlock(&n->lock);
	return (int)r;
}

static int memfs_write(umfs_req *req, void *node, void *fh, const void *buf, size_t size,
		       off_t off, unsigned flags)
{
	struct mnode *n = node;
	int err = check_io(n, off, &size);
	if (err)
		return err;
	mlock_wr(&n->lock);
	if (flags & UMFS_WRITE_KILL_SUIDGID)
		node_kill_privs(req, n);
	uint32_t blocks_before = n->nblocks;
	ssize_t r = data_write(FS(req), n, buf, size, (uint64_t)off);
	if (r > 0)
		node_touch(n, TOUCH_M | TOUCH_C);
	bool allocated = n->nblocks != blocks_before;
	mlock_wr_unlock(&n->lock);

	/* With the writeback cache the kernel keeps the st_blocks it had before the data
	 * came, until the file is closed: have it ask again. Attributes only, which takes
	 * no page lock, so it is safe from within this write. */
	if (allocated && FS(req)->writeback_cache)
		umfs_notify_inval_inode(umfs_req_session(req), n, -1, 0);
	return (int)r;
}

static int memfs_fallocate(umfs_req *req, void *node, void *fh, int mode, off_t off,
			   off_t len)
{
	struct memfs *fs = FS(req);
	struct mnode *n = node;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if (node_is_dir(n))
		return -EISDIR;
	if (!node_is_reg(n))
		return -ENODEV;
	bool punch = mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
	if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE && !punch)
		return -EOPNOTSUPP;

	int err = 0;
	mlock_wr(&n->lock);
	if (punch) {
		data_punch(fs, n, (uint64_t)off, (uint64_t)len);
	} else {
		err = data_allocate(fs, n, (uint64_t)off, (uint64_t)len);
		if (!err && mode == 0 && (uint64_t)(off + len) > n->size)
			n->size = (uint64_t)(off + len);
	}
	if (!err)
		node_touch(n, TOUCH_M | TOUCH_C);
	mlock_wr_unlock(&n->lock);
	return err;
}

static int memfs_lseek(umfs_req *req, void *node, void *fh, off_t off, int whence,
		       off_t *out)
{
	struct mnode *n = node;
	/* With the writeback cache, data the kernel has not written back yet is not
	 * here, and the kernel does not write it back before asking: memfs would call
	 * fresh data a hole, and cp(1) would copy zeros. ENOSYS makes the kernel answer
	 * by itself from then on: all data up to its size, then the hole at the end,
	 * which POSIX allows and is always safe. Without the cache (memfs with a size
	 * limit, or called directly), memfs knows and answers exactly. */
	if (FS(req)->writeback_cache)
		return -ENOSYS;
	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	int err = check_regular(n);
	if (err)
		return err;
	if (off < 0)
		return -ENXIO;
	uint64_t pos;
	mlock_rd(&n->lock);
	err = data_seek(n, (uint64_t)off, whence, &pos);
	mlock_rd_unlock(&n->lock);
	if (!err)
		*out = (off_t)pos;
	return err;
}

static bool ranges_overlap(uint64_t a, uint64_t b, uint64_t len)
{
	return a < b ? b - a < len : a - b < len;
}

static ssize_t memfs_copy_file_range(umfs_req *req, void *node_in, void *fh_in,
				     off_t off_in, void *node_out, void *fh_out,
				     off_t off_out, size_t len, int flags)
{
	struct memfs *fs = FS(req);
	struct mnode *in = node_in, *out = node_out;
	int err;
	if (flags)
		return -EINVAL;
	if ((err = check_regular(in)) || (err = check_regular(out)))
		return err;
	if (off_in < 0 || off_out < 0)
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;

	/* Both are files: address order (memfs_int.h); in is only read. */
	if (in == out) {
		mlock_wr(&out->lock);
	} else if ((uintptr_t)in < (uintptr_t)out) {
		mlock_rd(&in->lock);
		mlock_wr(&out->lock);
	} else {
		mlock_wr(&out->lock);
		mlock_rd(&in->lock);
	}

	uint64_t avail = (uint64_t)off_in < in->size ? in->size - (uint64_t)off_in : 0;
	uint64_t count = len < avail ? len : avail;
	ssize_t r;
	if (in == out && ranges_overlap((uint64_t)off_in, (uint64_t)off_out, count)) {
		r = -EINVAL;
	} else {
		r = data_copy(fs, in, (uint64_t)off_in, out, (uint64_t)off_out, count);
		if (r > 0) {
			node_touch(out, TOUCH_M | TOUCH_C);
			if (umfs_req_caller(req)->uid != 0)
				node_kill_privs(req, out);
		}
	}

	if (in != out)
		mlock_rd_unlock(&in->lock);
	mlock_wr_unlock(&out->lock);
	return r;
}

/* ---------------------------------------------------------------------------------- */
/* Extended attributes                                                                 */

static int memfs_setxattr(umfs_req *req, void *node, const char *name, const void *value,
			  size_t size, int flags)
{
	struct mnode *n = node;
	mlock_wr(&n->lock);
	int r = xattr_set(FS(req), n, name, value, size, flags);
	if (r == 0)
		node_touch(n, TOUCH_C);
	mlock_wr_unlock(&n->lock);
	return r;
}

static int memfs_getxattr(umfs_req *req, void *node, const char *name, void *buf,
			  size_t size)
{
	struct mnode *n = node;
	mlock_rd(&n->lock);
	int r = xattr_get(FS(req), n, name, buf, size);
	mlock_rd_unlock(&n->lock);
	return r;
}

static int memfs_listxattr(umfs_req *req, void *node, char *buf, size_t size)
{
	struct mnode *n = node;
	mlock_rd(&n->lock);
	int r = xattr_list(FS(req), n, buf, size);
	mlock_rd_unlock(&n->lock);
	return r;
}

static int memfs_removexattr(umfs_req *req, void *node, const char *name)
{
	struct mnode *n = node;
	mlock_wr(&n->lock);
	int r = xattr_remove(FS(req), n, name);
	if (r == 0)
		node_touch(n, TOUCH_C);
	mlock_wr_unlock(&n->lock);
	return r;
}

/* ---------------------------------------------------------------------------------- */

/*
 * Left NULL on purpose:
 *  - flush, fsync, fsyncdir, syncfs: there is nothing to make durable. The kernel
 *    still writes its dirty pages back to memfs first, then takes ENOSYS as "no need
 *    to ask again".
 *  - access: the session mounts with default_permissions; the kernel checks.
 *  - getlk, setlk, flock: the kernel keeps locks itself, right for a local fs.
 */
const struct umfs_operations memfs_operations = {
	.version = UMFS_API_VERSION,
	.size = sizeof(struct umfs_operations),
	.init = memfs_init,
	.lookup = memfs_lookup,
	.forget = memfs_forget,
	.getattr = memfs_getattr,
	.setattr = memfs_setattr,
	.readlink = memfs_readlink,
	.mknod = memfs_mknod,
	.mkdir = memfs_mkdir,
	.symlink = memfs_symlink,
	.link = memfs_link,
	.unlink = memfs_unlink,
	.rmdir = memfs_rmdir,
	.rename = memfs_rename,
	.create = memfs_create,
	.tmpfile = memfs_tmpfile,
	.read = memfs_read,
	.write = memfs_write,
	.readdir = memfs_readdir,
	.statfs = memfs_statfs,
	.setxattr = memfs_setxattr,
	.getxattr = memfs_getxattr,
	.listxattr = memfs_listxattr,
	.removexattr = memfs_removexattr,
	.fallocate = memfs_fallocate,
	.copy_file_range = memfs_copy_file_range,
	.lseek = memfs_lseek,
};
