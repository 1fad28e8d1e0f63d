/* SPDX-License-Identifier: MIT */
/*
 * memfs_ns.c - the namespace: lookup, making and removing names, rename, readdir.
 *
 * Every operation here follows the lock order of memfs_int.h (directory, then the
 * nodes in it) and drops references only after unlocking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memfs_int.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static struct memfs *FS(umfs_req *req)
{
	return umfs_req_fs(req);
}

static int name_length(const char *name, size_t *len)
{
	*len = strlen(name);
	return *len > MEMFS_NAME_MAX ? -ENAMETOOLONG : 0;
}

/* The checks every operation on a name in dir starts with. */
static int name_in_dir(const struct mnode *dir, const char *name, size_t *len)
{
	int err = name_length(name, len);
	if (err)
		return err;
	return node_is_dir(dir) ? 0 : -ENOTDIR;
}

/* A removed directory keeps its node while referenced, but takes no new names. */
static bool dir_is_live(const struct mnode *dir)
{
	return dir->nlink != 0;
}

/* Owner of a node that the caller makes in dir: the caller's uid; the caller's gid, or
 * dir's when dir is set-group-ID (and then a new directory is set-group-ID as well).
 * The caller holds dir's lock. */
static void set_owner(struct mnode *n, const struct mnode *dir, const struct umfs_caller *c)
{
	n->uid = c->uid;
	n->gid = c->gid;
	if (dir->mode & S_ISGID) {
		n->gid = dir->gid;
		if (node_is_dir(n))
			n->mode |= S_ISGID;
	}
}

/* ---------------------------------------------------------------------------------- */
/* Lookup                                                                              */

/* "." and ".." never come from the kernel (the VFS resolves them), but a direct caller
 * of the API gets the answer it would expect. */
static int lookup_dot(struct mnode *dir, bool dotdot, struct umfs_entry *out)
{
	struct mnode *n = dir;
	mlock_rd(&dir->lock);
	if (dotdot && dir->u.dir->parent)
		n = dir->u.dir->parent;
	/* dir's hold on its parent keeps the parent alive until we have marked it. */
	node_mark_kernel(n);
	mlock_rd_unlock(&dir->lock);

	mlock_rd(&n->lock);
	node_fill_entry(n, out);
	mlock_rd_unlock(&n->lock);
	return 0;
}

int memfs_lookup(umfs_req *req, void *dirp, const char *name, struct umfs_entry *out)
{
	struct mnode *dir = dirp;
	size_t len;
	int err = name_in_dir(dir, name, &len);
	if (err)
		return err;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return lookup_dot(dir, name[1] == '.', out);

	mlock_rd(&dir->lock);
	struct dentry *e = dir_find(dir->u.dir, name, len);
	if (e) {
		mlock_rd(&e->node->lock);
		node_fill_entry(e->node, out);
		mlock_rd_unlock(&e->node->lock);
		node_mark_kernel(e->node);
	}
	mlock_rd_unlock(&dir->lock);
	/* The kernel may cache the miss as long as the session's negative_timeout says:
	 * every name memfs makes is made through the kernel, which drops the miss. */
	return e ? 0 : -ENOENT;
}

/* ---------------------------------------------------------------------------------- */
/* Making names                                                                        */

/* Can dir take the new name? The caller holds dir's lock for writing. */
static int check_new_name(struct mnode *dir, const char *name, size_t len)
{
	if (!dir_is_live(dir))
		return -ENOENT;
	if (dir_find(dir->u.dir, name, len))
		return -EEXIST;
	return dir_reserve(dir->u.dir);
}

/*
 * Make a node of `mode` called name in dir for the caller: linked, held by its link,
 * known to the kernel, and described in *out.
 */
static int make_node(umfs_req *req, struct mnode *dir, const char *name, mode_t mode,
		     dev_t rdev, const char *target, struct umfs_entry *out)
{
	struct memfs *fs = FS(req);
	size_t len;
	int err = name_in_dir(dir, name, &len);
	if (err)
		return err;

	/* Allocate before locking: the directory stays locked only to link. */
	struct mnode *n;
	if ((err = node_new(fs, mode, target, &n)))
		return err;
	if (S_ISCHR(mode) || S_ISBLK(mode))
		n->u.rdev = rdev;
	struct dentry *e = dentry_new(name, len, n);
	if (!e || memfs_charge(fs, MEMFS_DENTRY_COST)) {
		err = e ? -ENOSPC : -ENOMEM;
		free(e);
		node_discard(fs, n);
		return err;
	}

	mlock_wr(&dir->lock);
	err = check_new_name(dir, name, len);
	if (!err && node_is_dir(n) && dir->nlink >= MEMFS_LINK_MAX)
		err = -EMLINK;
	if (!err) {
		set_owner(n, dir, umfs_req_caller(req));
		atomic_store_explicit(&n->refs, REF_KERNEL + REF_HOLD,
				      memory_order_relaxed);
		if (node_is_dir(n)) {
			n->u.dir->parent = dir;
			node_hold(dir);
			dir->nlink++;
		}
		dir_insert(dir->u.dir, e);
		node_touch(dir, TOUCH_M | TOUCH_C);
		node_fill_entry(n, out);
	}
	mlock_wr_unlock(&dir->lock);

	if (err) {
		free(e);
		memfs_uncharge(fs, MEMFS_DENTRY_COST);
		node_discard(fs, n);
	}
	return err;
}

int memfs_mknod(umfs_req *req, void *dir, const char *name, mode_t mode, dev_t rdev,
		struct umfs_entry *out)
{
	switch (mode & S_IFMT) {
	case 0:
		mode |= S_IFREG; /* as mknod(2) */
		break;
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		break;
	default:
		return -EINVAL;
	}
	return make_node(req, dir, name, (mode & S_IFMT) | (mode & 07777), rdev, NULL,
			 out);
}

int memfs_mkdir(umfs_req *req, void *dir, const char *name, mode_t mode,
		struct umfs_entry *out)
{
	return make_node(req, dir, name, S_IFDIR | (mode & 07777), 0, NULL, out);
}

int memfs_symlink(umfs_req *req, void *dir, const char *name, const char *target,
		  struct umfs_entry *out)
{
	size_t len = strlen(target);
	if (len == 0)
		return -ENOENT;
	if (len > MEMFS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	return make_node(req, dir, name, S_IFLNK | 0777, 0, target, out);
}

/* Open the regular file called name in dir (create of a name that exists). */
static int open_existing(umfs_req *req, struct mnode *dir, const char *name, int flags,
			 struct umfs_entry *entry, struct umfs_open *out)
{
	struct memfs *fs = FS(req);
	mlock_rd(&dir->lock);
	struct dentry *e = dir_find(dir->u.dir, name, strlen(name));
	struct mnode *n = e ? e->node : NULL;
	int err = !n ? -ENOENT : node_is_dir(n) ? -EISDIR : !node_is_reg(n) ? -EEXIST : 0;
	if (!err)
		node_hold(n); /* keeps it while dir is unlocked */
	mlock_rd_unlock(&dir->lock);
	if (err)
		return err;

	err = memfs_open_node(req, n, flags, out);
	if (!err) {
		mlock_rd(&n->lock);
		node_fill_entry(n, entry);
		mlock_rd_unlock(&n->lock);
		node_mark_kernel(n);
	}
	node_put(fs, n);
	return err;
}

int memfs_create(umfs_req *req, void *dirp, const char *name, mode_t mode, int flags,
		 struct umfs_entry *entry, struct umfs_open *out)
{
	struct mnode *dir = dirp;
	mode = S_IFREG | (mode & 07777);
	for (;;) {
		int err = make_node(req, dir, name, mode, 0, NULL, entry);
		if (err == 0) {
			out->fh = NULL;
			out->keep_cache = 1;
			return 0;
		}
		if (err != -EEXIST || (flags & O_EXCL))
			return err;
		/* The kernel creates under the directory's lock after its own lookup, so
		 * only a direct caller of the API gets here: the name exists, and open(2)
		 * without O_EXCL opens it. If it goes away meanwhile, try again. */
		err = open_existing(req, dir, name, flags, entry, out);
		if (err != -ENOENT)
			return err;
	}
}

int memfs_tmpfile(umfs_req *req, void *dirp, mode_t mode, int flags,
		  struct umfs_entry *entry, struct umfs_open *out)
{
	struct memfs *fs = FS(req);
	struct mnode *dir = dirp, *n;
	if (!node_is_dir(dir))
		return -ENOTDIR;
	int err = node_new(fs, S_IFREG | (mode & 07777), NULL, &n);
	if (err)
		return err;

	mlock_rd(&dir->lock);
	if (!dir_is_live(dir))
		err = -ENOENT;
	else
		set_owner(n, dir, umfs_req_caller(req));
	mlock_rd_unlock(&dir->lock);
	if (err) {
		node_discard(fs, n);
		return err;
	}

	/* Nameless until linked: held only by the kernel, which keeps the inode while
	 * the file is open. */
	n->nlink = 0;
	n->flags |= NF_TMPFILE;
	atomic_store_explicit(&n->refs, REF_KERNEL, memory_order_relaxed);
	node_fill_entry(n, entry);
	out->fh = NULL;
	out->keep_cache = 1;
	return 0;
}

int memfs_link(umfs_req *req, void *nodep, void *newdirp, const char *newname,
	       struct umfs_entry *out)
{
	struct memfs *fs = FS(req);
	struct mnode *n = nodep, *dir = newdirp;
	size_t len;
	int err = name_length(newname, &len);
	if (err)
		return err;
	if (node_is_dir(n))
		return -EPERM;
	if (!node_is_dir(dir))
		return -ENOTDIR;
	struct dentry *e = dentry_new(newname, len, n);
	if (!e)
		return -ENOMEM;
	if (memfs_charge(fs, MEMFS_DENTRY_COST)) {
		free(e);
		return -ENOSPC;
	}

	mlock_wr(&dir->lock);
	mlock_wr(&n->lock);
	err = check_new_name(dir, newname, len);
	if (!err && n->nlink == 0 && !(n->flags & NF_TMPFILE))
		err = -ENOENT; /* removed meanwhile */
	if (!err && n->nlink >= MEMFS_LINK_MAX)
		err = -EMLINK;
	if (!err) {
		node_hold(n);
		n->nlink++;
		n->flags &= ~NF_TMPFILE;
		dir_insert(dir->u.dir, e);
		node_touch(n, TOUCH_C);
		node_touch(dir, TOUCH_M | TOUCH_C);
		node_fill_entry(n, out);
		node_mark_kernel(n);
	}
	mlock_wr_unlock(&n->lock);
	mlock_wr_unlock(&dir->lock);
	if (err) {
		free(e);
		memfs_uncharge(fs, MEMFS_DENTRY_COST);
	}
	return err;
}

/* ---------------------------------------------------------------------------------- */
/* Removing names                                                                      */

/* Drop a node's name: the caller holds the locks of its directory and of the node. */
static void unlink_node(struct mnode *dir, struct mnode *n)
{
	if (node_is_dir(n)) {
		n->nlink = 0; /* removed: takes no new names */
		dir->nlink--;
	} else {
		n->nlink--;
	}
	node_touch(n, TOUCH_C);
	node_touch(dir, TOUCH_M | TOUCH_C);
}

static int remove_name(umfs_req *req, struct mnode *dir, const char *name, bool rmdir)
{
	struct memfs *fs = FS(req);
	size_t len;
	int err = name_in_dir(dir, name, &len);
	if (err)
		return err;

	mlock_wr(&dir->lock);
	struct dentry *e = dir_find(dir->u.dir, name, len);
	struct mnode *n = e ? e->node : NULL;
	if (!n) {
		mlock_wr_unlock(&dir->lock);
		return -ENOENT;
	}
	mlock_wr(&n->lock);
	if (rmdir && !node_is_dir(n))
		err = -ENOTDIR;
	else if (rmdir && n->u.dir->count)
		err = -ENOTEMPTY;
	else if (!rmdir && node_is_dir(n))
		err = -EISDIR;
	if (!err) {
		dir_remove(dir->u.dir, e);
		unlink_node(dir, n);
	}
	mlock_wr_unlock(&n->lock);
	mlock_wr_unlock(&dir->lock);
	if (err)
		return err;
	free(e);
	memfs_uncharge(fs, MEMFS_DENTRY_COST);
	node_put(fs, n);
	return 0;
}

int memfs_unlink(umfs_req *req, void *dir, const char *name)
{
	return remove_name(req, dir, name, false);
}

int memfs_rmdir(umfs_req *req, void *dir, const char *name)
{
	return remove_name(req, dir, name, true);
}

/* ---------------------------------------------------------------------------------- */
/* Rename                                                                              */

/* Is a the directory d or one of its ancestors? The caller holds fs->rename_lock. */
static bool is_ancestor_or_self(const struct mnode *a, const struct mnode *d)
{
	for (; d; d = d->u.dir->parent)
		if (d == a)
			return true;
	return false;
}

static void lock_two(struct mnode *first, struct mnode *second)
{
	mlock_wr(&first->lock);
	if (second && second != first)
		mlock_wr(&second->lock);
}

static void unlock_two(struct mnode *a, struct mnode *b)
{
	if (b && b != a)
		mlock_wr_unlock(&b->lock);
	mlock_wr_unlock(&a->lock);
}

/* Lock two nodes that are not ancestors of one another, in address order. */
static void lock_unrelated(struct mnode *a, struct mnode *b)
{
	if (b && (uintptr_t)b < (uintptr_t)a)
		lock_two(b, a);
	else
		lock_two(a, b);
}

/* Two directories of a cross-directory rename: ancestor first, else address order. */
static void lock_dirs(struct mnode *od, struct mnode *nd)
{
	if (is_ancestor_or_self(od, nd))
		lock_two(od, nd);
	else if (is_ancestor_or_self(nd, od))
		lock_two(nd, od);
	else
		lock_unrelated(od, nd);
}

struct rename {
	struct mnode *od, *nd; /* the directories */
	const char *oname, *nname;
	size_t olen, nlen;
	unsigned flags;
	bool cross;
	struct dentry *fresh;   /* the entry for nname, if the move needs a new one */
	/* Cleanup after unlocking: */
	struct dentry *dropped; /* an entry taken out */
	struct mnode *put[3];   /* holds to drop */
	int nput;
	bool uncharge_entry;
};

/* A directory moves from `from` to `to`. Locks of both are held. */
static void reparent(struct rename *r, struct mnode *d, struct mnode *from, struct mnode *to)
{
	d->u.dir->parent = to;
	from->nlink--;
	to->nlink++;
	node_hold(to);
	r->put[r->nput++] = from;
}

/* The checks rename(2) makes, in the order Linux makes them. */
static int rename_check(struct rename *r, struct mnode *s, struct mnode *t)
{
	bool exchange = r->flags & RENAME_EXCHANGE;
	if (exchange && !t)
		return -ENOENT;
	if ((r->flags & RENAME_NOREPLACE) && t)
		return -EEXIST;
	if (s == t) /* one name, or two names of one file: rename(2) does nothing */
		return 0;
	if (r->cross) {
		/* A directory cannot move into itself; a directory that contains the
		 * source's directory cannot be replaced. */
		if (node_is_dir(s) && is_ancestor_or_self(s, r->nd))
			return -EINVAL;
		if (t && node_is_dir(t) && is_ancestor_or_self(t, r->od))
			return exchange ? -EINVAL : -ENOTEMPTY;
	}
	if (t && !exchange) {
		if (node_is_dir(s) && !node_is_dir(t))
			return -ENOTDIR;
		if (!node_is_dir(s) && node_is_dir(t))
			return -EISDIR;
		if (node_is_dir(t) && t->u.dir->count)
			return -ENOTEMPTY;
	}
	if (r->cross && node_is_dir(s) && !(t && node_is_dir(t)) &&
	    r->nd->nlink >= MEMFS_LINK_MAX)
		return -EMLINK;
	if (!t)
		return dir_reserve(r->nd->u.dir);
	return 0;
}

static void rename_move(struct rename *r, struct dentry *se, struct dentry *de,
			struct mnode *s, struct mnode *t)
{
	if (t) { /* the target's entry now names the source */
		de->node = s;
		unlink_node(r->nd, t);
		r->put[r->nput++] = t;
		r->uncharge_entry = true;
	} else {
		r->fresh->node = s;
		dir_insert(r->nd->u.dir, r->fresh);
		r->fresh = NULL;
	}
	dir_remove(r->od->u.dir, se);
	r->dropped = se;
	if (r->cross && node_is_dir(s))
		reparent(r, s, r->od, r->nd);
}

static void rename_exchange(struct rename *r, struct dentry *se, struct dentry *de,
			    struct mnode *s, struct mnode *t)
{
	se->node = t;
	de->node = s;
	if (r->cross && node_is_dir(s))
		reparent(r, s, r->od, r->nd);
	if (r->cross && node_is_dir(t))
		reparent(r, t, r->nd, r->od);
	node_touch(t, TOUCH_C);
}

/* The directories are locked. */
static int rename_locked(struct rename *r)
{
	if (!dir_is_live(r->od) || !dir_is_live(r->nd))
		return -ENOENT;
	struct dentry *se = dir_find(r->od->u.dir, r->oname, r->olen);
	if (!se)
		return -ENOENT;
	struct dentry *de = dir_find(r->nd->u.dir, r->nname, r->nlen);
	struct mnode *s = se->node, *t = de ? de->node : NULL;

	int err = rename_check(r, s, t);
	if (err || s == t)
		return err;

	/* s and t are children of the locked directories and, after the checks above,
	 * neither is an ancestor of the other. */
	lock_unrelated(s, t);
	if (r->flags & RENAME_EXCHANGE)
		rename_exchange(r, se, de, s, t);
	else
		rename_move(r, se, de, s, t);
	node_touch(s, TOUCH_C);
	node_touch(r->od, TOUCH_M | TOUCH_C);
	if (r->cross)
		node_touch(r->nd, TOUCH_M | TOUCH_C);
	unlock_two(s, t);
	return 0;
}

int memfs_rename(umfs_req *req, void *dirp, const char *name, void *newdirp,
		 const char *newname, unsigned flags)
{
	struct memfs *fs = FS(req);
	struct rename r = { .od = dirp, .nd = newdirp, .oname = name, .nname = newname,
			    .flags = flags };
	int err;
	if ((err = name_length(name, &r.olen)) || (err = name_length(newname, &r.nlen)))
		return err;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL; /* RENAME_WHITEOUT is not supported */
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if (!node_is_dir(r.od) || !node_is_dir(r.nd))
		return -ENOTDIR;
	if (!(flags & RENAME_EXCHANGE) && !(r.fresh = dentry_new(newname, r.nlen, NULL)))
		return -ENOMEM;

	r.cross = r.od != r.nd;
	if (r.cross) {
		pthread_mutex_lock(&fs->rename_lock);
		lock_dirs(r.od, r.nd);
	} else {
		mlock_wr(&r.od->lock);
	}
	err = rename_locked(&r);
	if (r.cross) {
		unlock_two(r.od, r.nd);
		pthread_mutex_unlock(&fs->rename_lock);
	} else {
		mlock_wr_unlock(&r.od->lock);
	}

	free(r.fresh);
	free(r.dropped);
	if (r.uncharge_entry)
		memfs_uncharge(fs, MEMFS_DENTRY_COST);
	for (int i = 0; i < r.nput; i++)
		node_put(fs, r.put[i]);
	return err;
}

/* ---------------------------------------------------------------------------------- */
/* Directory listing                                                                   */

/* Add "." or ".." (offsets 1 and 2); for readdirplus without a node, as the API says. */
static int add_dot(umfs_dirbuf *buf, const char *name, const struct mnode *n, off_t next)
{
	struct stat st = { .st_ino = n->ino, .st_mode = S_IFDIR };
	return umfs_dir_add(buf, name, &st, NULL, next);
}

int memfs_readdir(umfs_req *req, void *node, void *fh, off_t off, umfs_dirbuf *buf)
{
	struct mnode *dir = node;
	if (!node_is_dir(dir))
		return -ENOTDIR;
	if (off < 0)
		return -EINVAL;
	bool plus = umfs_dir_plus(buf) != 0;

	mlock_rd(&dir->lock);
	struct mdir *d = dir->u.dir;
	if (off < 1 && add_dot(buf, ".", dir, 1))
		goto full;
	if (off < 2 && add_dot(buf, "..", d->parent ? d->parent : dir, 2))
		goto full;
	for (uint32_t i = dir_slot_after(d, (uint64_t)off); i < d->nslots; i++) {
		struct dentry *e = dir_slot(d, i);
		if (!e)
			continue;
		struct stat st;
		mlock_rd(&e->node->lock);
		node_stat(e->node, &st);
		mlock_rd_unlock(&e->node->lock);
		if (umfs_dir_add(buf, e->name, &st, plus ? e->node : NULL, (off_t)e->cookie))
			break;
		/* Only now does the library count the entry as a lookup. */
		if (plus)
			node_mark_kernel(e->node);
	}
full:
	mlock_rd_unlock(&dir->lock);
	return 0;
}
