/* SPDX-License-Identifier: MIT */
/*
 * cfs_file.c - regular files: open/create (the view is decided here and kept by the
 * handle), plaintext I/O through crypt_file.c, container I/O as raw bytes, and the
 * staging of container writes (stored as they are when they form a valid container
 * of this vault: no double ciphering of a restored backup).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cfs_int.h"

static struct cfh *fh_of(struct cnode *n, void *fh)
{
	return n->type == S_IFREG ? fh : NULL;
}

/* Log damage found by plaintext I/O and turn it into the caller's EIO. */
static int damage(struct cnode *n, int err, uint64_t bad)
{
	if (err == -EIO)
		cfs_log_damage(n, "does not authenticate (damaged or tampered): read refused", bad);
	else if (err == -EBADMSG)
		cfs_log_damage(n, "is not a container of this vault", UINT64_MAX);
	return err == -EBADMSG ? -EIO : err;
}

/* Apply fn under the node's container lock (exclusive or shared) with f loaded. */
static int load_locked(struct cryptfs *c, struct cnode *n, int fd, bool excl, struct cf_file *f)
{
	pthread_rwlock_t *l = cnode_lock(c, n);
	if (excl)
		pthread_rwlock_wrlock(l);
	else
		pthread_rwlock_rdlock(l);
	int err = cf_file_load(c->keys, fd, f);
	if (err) {
		pthread_rwlock_unlock(l);
		return damage(n, err, UINT64_MAX);
	}
	return 0;
}

static void unlock(struct cryptfs *c, struct cnode *n, struct cf_file *f)
{
	cf_file_done(f);
	pthread_rwlock_unlock(cnode_lock(c, n));
}

/*
 * Growing a plaintext file from f->size to end seals every block of the gap (holes
 * are written out): refuse at once with ENOSPC when the vault's file system has not
 * the room, instead of writing until it is full (a write at an offset of 2^62 would
 * otherwise keep cryptfs busy for days).
 */
static int room_for(const struct cf_file *f, uint64_t end)
{
	struct statvfs sv;

	if (end <= f->size || fstatvfs(f->fd, &sv) < 0)
		return 0;
	uint64_t need = cf_container_size(end) - cf_container_size(f->size);
	uint64_t have = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return need > have ? -ENOSPC : 0;
}

static int plain_truncate(struct cryptfs *c, struct cnode *n, int fd, uint64_t size)
{
	struct cf_file f;
	uint64_t bad = 0;
	int err;

	if (size == 0) {
		/* Emptied: a new empty container whatever the old one held (so an
		 * allowed program can overwrite a damaged file); it keeps its file id
		 * when the header is sound, and with it its extended attributes. */
		pthread_rwlock_wrlock(cnode_lock(c, n));
		err = cf_file_empty(c->keys, fd, &f);
		pthread_rwlock_unlock(cnode_lock(c, n));
		cf_file_done(&f);
		return err;
	}
	err = load_locked(c, n, fd, true, &f);
	if (err)
		return err;
	err = room_for(&f, size);
	if (!err)
		err = cf_file_truncate(&f, size, &bad);
	unlock(c, n, &f);
	return err ? damage(n, err, bad) : 0;
}

/* Clear set-user-ID, and set-group-ID where Linux does (with the group's execute
 * bit, or for a writer outside the file's group since 6.2), as a write, truncate or
 * chown by a caller without CAP_FSETID does on a local file system. cryptfs writes
 * the vault as itself, so the vault's file system cannot do it for the caller. */
static void kill_privs(umfs_req *req, struct cnode *n)
{
	char p[FD_PATH_MAX];
	struct stat st;

	if (n->type != S_IFREG || fstatat(n->fd, "", &st, AT_EMPTY_PATH) < 0)
		return;
	mode_t m = st.st_mode & 07777;
	m &= ~(mode_t)S_ISUID;
	if ((m & S_ISGID) && ((m & S_IXGRP) || (umfs_req_caller(req)->uid != 0 &&
						!umfs_req_in_group(req, st.st_gid))))
		m &= ~(mode_t)S_ISGID;
	if (m != (st.st_mode & 07777) && chmod(cfd_path(n->fd, p, sizeof p), m) < 0)
		umfs_log(UMFS_LOG_WARNING, "cryptfs: '%s': cannot clear setuid/setgid: %s", n->name,
			 strerror(errno));
}

/* ---------------------------------------------------------------- container writes */

/* A staging file in the vault (same file system, never linked into the tree). */
static int stage_open(struct cryptfs *c)
{
	int fd = openat(c->vault_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd < 0 ? -errno : fd;
	/* No O_TMPFILE on the vault's file system: a named file in VAULT, unlinked at
	 * once (the name starts with '.', which no stored name does). */
	char name[64];
	snprintf(name, sizeof name, "/proc/self/fd/%d/.stage.XXXXXX", c->vault_fd);
	fd = mkostemp(name, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(name);
	return fd;
}

static int copy_all(int from, int to, uint64_t len)
{
	loff_t in = 0, out = 0;
	while ((uint64_t)in < len) {
		ssize_t n = copy_file_range(from, &in, to, &out, (size_t)(len - (uint64_t)in), 0);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
	}
	return 0;
}

static void count_problem(void *arg, uint64_t block, const char *what)
{
	(*(int *)arg)++;
}

/* Store a container writer's staged bytes in the container (under its lock). */
static int stage_commit(struct cryptfs *c, struct cnode *n, struct cfh *h)
{
	struct stat st;
	int problems = 0, err;

	if (!h->dirty)
		return 0;
	if (fstat(h->stage, &st) < 0)
		return -errno;
	err = cf_file_check(c->keys, h->stage, count_problem, &problems);
	if (err < 0)
		return err;
	pthread_rwlock_wrlock(cnode_lock(c, n));
	if (problems == 0) {
		/* A sound container of this vault: stored as it is. */
		if (ftruncate(h->fd, 0) < 0)
			err = -errno;
		else
			err = copy_all(h->stage, h->fd, (uint64_t)st.st_size);
	} else if (c->pol.refuse_foreign_writes) {
		err = -EACCES;
	} else {
		/* Anything else is plaintext: encrypt it like any write. */
		struct cf_file f;
		uint64_t bad = 0, off = 0;
		static __thread uint8_t buf[1 << 16];
		err = cf_file_empty(c->keys, h->fd, &f);
		while (!err && off < (uint64_t)st.st_size) {
			ssize_t r = pread(h->stage, buf, sizeof buf, (off_t)off);
			if (r <= 0) {
				err = r < 0 ? -errno : -EIO;
				break;
			}
			ssize_t w = cf_file_write(&f, buf, (size_t)r, off, &bad);
			if (w < 0)
				err = (int)w;
			off += (uint64_t)r;
		}
		cf_file_done(&f);
	}
	pthread_rwlock_unlock(cnode_lock(c, n));
	if (err == -EACCES)
		umfs_log(UMFS_LOG_WARNING, "cryptfs: '%s': write by a program that is not allowed "
			 "refused (not a container of this vault)", n->name);
	if (!err)
		h->dirty = false;
	return err;
}

/* ---------------------------------------------------------------- open / create */

static int handle_new(struct cryptfs *c, struct cnode *n, int fd, int flags, struct umfs_open *out)
{
	struct cfh *h = malloc(sizeof *h);
	int err = 0;

	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	h->fd = fd;
	h->view = n->view;
	h->stage = -1;
	h->dirty = false;
	if (n->view == VIEW_CONTAINER && (flags & O_ACCMODE) != O_RDONLY) {
		h->stage = stage_open(c);
		if (h->stage < 0) {
			err = h->stage;
		} else if (!(flags & O_TRUNC)) {
			/* Start from what the container holds (an append, a patch). */
			struct stat st;
			pthread_rwlock_rdlock(cnode_lock(c, n));
			err = fstat(fd, &st) < 0 ? -errno : copy_all(fd, h->stage, (uint64_t)st.st_size);
			pthread_rwlock_unlock(cnode_lock(c, n));
		} else {
			h->dirty = true; /* O_TRUNC: an empty file, stored at flush */
		}
	} else if (n->view == VIEW_PLAIN && (flags & O_TRUNC)) {
		err = plain_truncate(c, n, fd, 0);
	}
	if (err) {
		if (h->stage >= 0)
			close(h->stage);
		close(fd);
		free(h);
		return err;
	}
	out->fh = h;
	/* A container writer's bytes go to its staging file, not to the container
	 * node's page cache, where other readers of the container would see them
	 * before they are stored (and a refusal arrives as the writer's own errno). */
	out->direct_io = h->stage >= 0;
	/* Only a container writer has anything to do at close(2). */
	out->noflush = h->stage < 0;
	/* Each open starts from the file as it is, and plaintext and container bytes
	 * never meet in one page cache (two nodes, see cfs_int.h). */
	out->keep_cache = 0;
	return 0;
}

/* The container is read for a plaintext write too (partial blocks): read-write
 * whenever writing. */
static int container_flags(int flags)
{
	return ((flags & O_ACCMODE) == O_RDONLY ? O_RDONLY : O_RDWR) | O_CLOEXEC;
}

int cfs_open(umfs_req *req, void *node, int flags, struct umfs_open *out)
{
	struct cryptfs *c = CFS(req);
	struct cnode *n = node;
	char p[FD_PATH_MAX];

	if (n->type != S_IFREG)
		return -EINVAL; /* the kernel opens only regular files here */
	/* The view is decided now, for the life of the handle. The node of the other
	 * view (a name walked by another program within this same walk): ESTALE makes
	 * the kernel walk again and ask lookup, which gives this caller's node. */
	if (cfs_view_of(c, umfs_req_caller(req)) != n->view)
		return -ESTALE;
	int fd = open(cfd_path(n->fd, p, sizeof p), container_flags(flags));
	if (fd < 0)
		return -errno;
	/* The API does not pass FUSE_OPEN_KILL_SUIDGID: root stands in for CAP_FSETID. */
	if ((flags & O_TRUNC) && umfs_req_caller(req)->uid != 0)
		kill_privs(req, n);
	return handle_new(c, n, fd, flags, out);
}

int cfs_create(umfs_req *req, void *dir, const char *name, mode_t mode, int flags,
	       struct umfs_entry *entry, struct umfs_open *out)
{
	struct cryptfs *c = CFS(req);
	struct cnode *d = dir;
	char disk[CN_SHORT_MAX + 1], enc[CN_ENC_MAX + 1];
	bool hashed;
	int err = cfs_disk_name(c, d, name, disk, enc, &hashed), fd;

	if (err)
		return err;
	if (hashed && (err = cfs_write_sidecar(d->fd, disk, enc)) < 0)
		return err;
	fd = openat(d->fd, disk, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (fd < 0)
		return -errno;
	struct cf_file f;
	err = cf_file_init(c->keys, fd, &f);
	cf_file_done(&f);
	if (!err)
		cfs_give_to_caller(req, d, disk, S_IFREG | mode);
	enum view v = cfs_view_of(c, umfs_req_caller(req));
	if (!err)
		err = cfs_lookup_disk(c, d, disk, name, v, entry);
	if (err) {
		close(fd);
		unlinkat(d->fd, disk, 0);
		return err;
	}
	/* A container writer's staging starts empty; a new plaintext file is empty. */
	err = handle_new(c, entry->node, fd, v == VIEW_CONTAINER ? flags | O_TRUNC : flags & ~O_TRUNC,
			 out);
	if (err) {
		cnode_put(c, entry->node, 1);
		entry->node = NULL;
		unlinkat(d->fd, disk, 0);
	} else if (v == VIEW_CONTAINER) {
		((struct cfh *)out->fh)->dirty = false; /* already an empty container */
	}
	return err;
}

/* O_TMPFILE: an unnamed container in dir, in the caller's view (linkat gives it a
 * name later, through cfs_link). */
int cfs_tmpfile(umfs_req *req, void *dir, mode_t mode, int flags, struct umfs_entry *entry,
		struct umfs_open *out)
{
	struct cryptfs *c = CFS(req);
	struct cnode *d = dir, *n;
	struct cf_file f;
	char p[FD_PATH_MAX];
	struct stat st;
	int err, pfd;

	/* O_EXCL stays: it makes the file unlinkable, as the caller asked. */
	int fd = openat(d->fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC | (flags & O_EXCL), mode & 07777);
	if (fd < 0)
		return -errno;
	err = cf_file_init(c->keys, fd, &f);
	cf_file_done(&f);
	pfd = err ? -1 : open(cfd_path(fd, p, sizeof p), O_PATH | O_CLOEXEC);
	if (!err && (pfd < 0 || fstat(pfd, &st) < 0))
		err = -errno;
	if (err) {
		if (pfd >= 0)
			close(pfd);
		close(fd);
		return err;
	}
	if (geteuid() == 0) {
		const struct umfs_caller *who = umfs_req_caller(req);
		if ((who->uid || who->gid) && fchown(fd, who->uid, who->gid) == 0)
			fstat(pfd, &st);
	}
	err = cnode_get(c, pfd, &st, cfs_view_of(c, umfs_req_caller(req)), "(O_TMPFILE)", &n);
	if (err) {
		close(fd);
		return err;
	}
	entry->node = n;
	entry->attr = st;
	cfs_stat(c, n, NULL, &entry->attr);
	entry->attr_timeout = 0;
	err = handle_new(c, n, fd, n->view == VIEW_CONTAINER ? flags | O_TRUNC : flags & ~O_TRUNC, out);
	if (err) {
		cnode_put(c, n, 1);
		entry->node = NULL;
	} else if (n->view == VIEW_CONTAINER) {
		((struct cfh *)out->fh)->dirty = false; /* already an empty container */
	}
	return err;
}

int cfs_release(umfs_req *req, void *node, void *fh, int flags)
{
	struct cnode *n = node;
	struct cfh *h = fh;

	if (h->stage >= 0) {
		if (stage_commit(CFS(req), n, h) < 0)
			umfs_log(UMFS_LOG_WARNING, "cryptfs: '%s': staged container write lost at close",
				 n->name);
		close(h->stage);
	}
	close(h->fd);
	free(h);
	return 0;
}

int cfs_flush(umfs_req *req, void *node, void *fh, uint64_t lock_owner)
{
	struct cfh *h = fh;
	if (h->stage < 0)
		return 0;
	/* close(2) reports what became of a container write. */
	return stage_commit(CFS(req), node, h);
}

int cfs_fsync(umfs_req *req, void *node, void *fh, int datasync)
{
	struct cfh *h = fh;
	int err = h->stage >= 0 ? stage_commit(CFS(req), node, h) : 0;
	if (err)
		return err;
	return (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? -errno : 0;
}

/* ---------------------------------------------------------------- I/O */

int cfs_read(umfs_req *req, void *node, void *fh, void *buf, size_t size, off_t off)
{
	struct cryptfs *c = CFS(req);
	struct cnode *n = node;
	struct cfh *h = fh;

	if (h->view != VIEW_PLAIN) {
		ssize_t r = pread(h->stage >= 0 ? h->stage : h->fd, buf, size, off);
		return r < 0 ? -errno : (int)r;
	}
	struct cf_file f;
	uint64_t bad = 0;
	int err = load_locked(c, n, h->fd, false, &f);
	if (err)
		return err;
	ssize_t r = cf_file_read(&f, buf, size, (uint64_t)off, &bad);
	unlock(c, n, &f);
	return r < 0 ? damage(n, (int)r, bad) : (int)r;
}

/* The start of a container of this vault? (refuse_foreign_writes, early check) */
static bool looks_like_ours(struct cryptfs *c, const void *buf, size_t size)
{
	struct cf_header hd;
	return cf_header_decode(buf, size, &hd) == 0 &&
	       memcmp(hd.key_id, c->keys->key_id, CF_ID_LEN) == 0;
}

int cfs_write(umfs_req *req, void *node, void *fh, const void *buf, size_t size, off_t off,
	      unsigned flags)
{
	struct cryptfs *c = CFS(req);
	struct cnode *n = node;
	struct cfh *h = fh;

	if (flags & UMFS_WRITE_KILL_SUIDGID)
		kill_privs(req, n);
	if (h->view != VIEW_PLAIN) {
		if (h->stage < 0)
			return -EBADF;
		if (c->pol.refuse_foreign_writes && off == 0 && !looks_like_ours(c, buf, size))
			return -EACCES;
		ssize_t w = pwrite(h->stage, buf, size, off);
		if (w < 0)
			return -errno;
		h->dirty = true;
		return (int)w;
	}
	struct cf_file f;
	uint64_t bad = 0;
	int err = load_locked(c, n, h->fd, true, &f);
	if (err)
		return err;
	ssize_t w = room_for(&f, (uint64_t)off + size);
	if (!w)
		w = cf_file_write(&f, buf, size, (uint64_t)off, &bad);
	unlock(c, n, &f);
	return w < 0 ? damage(n, (int)w, bad) : (int)w;
}

/* ---------------------------------------------------------------- fallocate */

/* Seal zeros over [off, end) of f (end <= f->size unless extending). */
static int write_zeros(struct cf_file *f, uint64_t off, uint64_t end, uint64_t *bad)
{
	static const uint8_t zeros[1 << 16];
	while (off < end) {
		size_t n = end - off < sizeof zeros ? (size_t)(end - off) : sizeof zeros;
		ssize_t w = cf_file_write(f, zeros, n, off, bad);
		if (w < 0)
			return (int)w;
		off += n;
	}
	return 0;
}

/*
 * Plaintext view: mode 0 extends the file (sealed zero blocks, so the space is really
 * taken); KEEP_SIZE reserves room in the container for the range; PUNCH_HOLE and
 * ZERO_RANGE seal zeros over the range. A punched range therefore reads as zeros that
 * authenticate like any data (a hole an attacker could forge by zeroing bytes is what
 * the format rules out), but the space is not given back: see doc/cryptfs-format.md.
 * Container view: applied to the writer's staged bytes, like its writes.
 */
int cfs_fallocate(umfs_req *req, void *node, void *fh, int mode, off_t off, off_t len)
{
	struct cryptfs *c = CFS(req);
	struct cnode *n = node;
	struct cfh *h = fh;
	const int known = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;

	if (n->type != S_IFREG || !h)
		return -EBADF;
	if ((mode & ~known) || (mode & FALLOC_FL_PUNCH_HOLE && mode & FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if (h->view != VIEW_PLAIN) {
		if (h->stage < 0)
			return -EBADF;
		if (fallocate(h->stage, mode, off, len) < 0)
			return -errno;
		h->dirty = true;
		return 0;
	}
	struct cf_file f;
	uint64_t bad = 0, start = (uint64_t)off, end = (uint64_t)off + (uint64_t)len;
	int err = load_locked(c, n, h->fd, true, &f);
	if (err)
		return err;
	bool keep = mode & FALLOC_FL_KEEP_SIZE;
	uint64_t size = f.size;
	if (!keep)
		err = room_for(&f, end); /* nothing is written without the room */
	if (!err && (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))) {
		uint64_t zend = keep && end > size ? size : end;
		if (start < zend)
			err = write_zeros(&f, start, zend, &bad);
	} else if (!err && !keep && end > size) {
		err = cf_file_truncate(&f, end, &bad);
	} else if (!err && keep && end > size) {
		/* Room for the blocks past the end, as fallocate(2) promises; a vault
		 * file system that cannot reserve simply does not. */
		uint64_t from = cf_container_size(size), to = cf_container_size(end);
		if (fallocate(h->fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(to - from)) < 0 &&
		    errno != EOPNOTSUPP)
			err = -errno;
	}
	unlock(c, n, &f);
	return err ? damage(n, err, bad) : 0;
}

/* ---------------------------------------------------------------- attributes */

/*
 * A request on a file node without a handle, from a caller whose view is not the
 * node's: the kernel reached the node through a name cached by a caller of the other
 * view. ESTALE makes the path-based system calls (stat, access, open, exec, truncate,
 * chmod, utimes, ...) walk again with LOOKUP_REVAL, which asks cryptfs's lookup, which
 * gives this caller's node. An operation on an open file carries the handle and keeps
 * the handle's view.
 */
static int judge(umfs_req *req, struct cnode *n, struct cfh *h)
{
	if (n->view == VIEW_SHARED || h)
		return 0;
	return cfs_view_of(CFS(req), umfs_req_caller(req)) == n->view ? 0 : -ESTALE;
}

int cfs_getattr(umfs_req *req, void *node, void *fh, struct umfs_attr *out)
{
	struct cnode *n = node;
	struct cfh *h = fh_of(n, fh);
	int err = judge(req, n, h);
	if (err)
		return err;
	if (n->view != VIEW_SHARED)
		out->timeout = 0; /* never answered from the kernel's cache (judge) */
	return cfs_stat(CFS(req), n, h, &out->st);
}

static struct timespec time_of(unsigned valid, unsigned set, unsigned now, struct timespec v)
{
	if (valid & now)
		return (struct timespec){ .tv_nsec = UTIME_NOW };
	if (valid & set)
		return v;
	return (struct timespec){ .tv_nsec = UTIME_OMIT };
}

static int set_size(struct cryptfs *c, struct cnode *n, struct cfh *h, uint64_t size)
{
	char p[FD_PATH_MAX];
	int err, fd;

	if (n->type != S_IFREG)
		return -EINVAL;
	if (n->view == VIEW_CONTAINER) {
		if (h && h->stage >= 0) {
			if (ftruncate(h->stage, (off_t)size) < 0)
				return -errno;
			h->dirty = true;
			return 0;
		}
		/* A path truncate by a program that is not allowed: to zero makes an
		 * empty file; cutting a container anywhere else would only damage it. */
		if (size != 0)
			return -EACCES;
	}
	fd = h ? h->fd : open(cfd_path(n->fd, p, sizeof p), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (n->view == VIEW_CONTAINER) {
		struct cf_file f;
		pthread_rwlock_wrlock(cnode_lock(c, n));
		err = cf_file_empty(c->keys, fd, &f);
		pthread_rwlock_unlock(cnode_lock(c, n));
		cf_file_done(&f);
	} else {
		err = plain_truncate(c, n, fd, size);
	}
	if (!h)
		close(fd);
	return err;
}

int cfs_setattr(umfs_req *req, void *node, void *fh, const struct stat *in, unsigned valid,
		struct umfs_attr *out)
{
	struct cryptfs *c = CFS(req);
	struct cnode *n = node;
	struct cfh *h = fh_of(n, fh);
	char p[FD_PATH_MAX];
	int err = 0;

	/* Modes, owners and times are the same in both views; a size is not. */
	if (valid & UMFS_SET_SIZE) {
		err = judge(req, n, h);
		if (err)
			return err;
	}
	if (n->view != VIEW_SHARED)
		out->timeout = 0;
	if (valid & (UMFS_SET_UID | UMFS_SET_GID)) {
		uid_t uid = valid & UMFS_SET_UID ? in->st_uid : (uid_t)-1;
		gid_t gid = valid & UMFS_SET_GID ? in->st_gid : (gid_t)-1;
		if (fchownat(n->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (valid & UMFS_SET_MODE) {
		if (n->type == S_IFLNK)
			return -EOPNOTSUPP;
		if (fchmodat(AT_FDCWD, cfd_path(n->fd, p, sizeof p), in->st_mode & 07777, 0) < 0)
			return -errno;
	}
	if (valid & UMFS_SET_SIZE) {
		err = set_size(c, n, h, (uint64_t)in->st_size);
		if (err)
			return err;
	}
	/* The kernel asks for the kill (truncate without CAP_FSETID); a chown by a
	 * caller who is not root gets the POSIX chown rule. */
	if ((valid & UMFS_SET_KILL_SUIDGID) ||
	    ((valid & (UMFS_SET_UID | UMFS_SET_GID)) && umfs_req_caller(req)->uid != 0))
		kill_privs(req, n);
	if (valid & (UMFS_SET_ATIME | UMFS_SET_MTIME | UMFS_SET_ATIME_NOW | UMFS_SET_MTIME_NOW)) {
		struct timespec ts[2] = {
			time_of(valid, UMFS_SET_ATIME, UMFS_SET_ATIME_NOW, in->st_atim),
			time_of(valid, UMFS_SET_MTIME, UMFS_SET_MTIME_NOW, in->st_mtim),
		};
		int rc = n->type == S_IFLNK
				 ? utimensat(n->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)
				 : utimensat(AT_FDCWD, cfd_path(n->fd, p, sizeof p), ts, 0);
		if (rc < 0)
			return -errno;
	}
	err = cfs_stat(c, n, h, &out->st);
	return err;
}

int cfs_statfs(umfs_req *req, void *node, struct statvfs *out)
{
	return fstatvfs(CFS(req)->root->fd, out) < 0 ? -errno : 0;
}
