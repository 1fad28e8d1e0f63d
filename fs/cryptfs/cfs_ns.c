/* SPDX-License-Identifier: MIT */
/*
 * cfs_ns.c - the name space: names are encrypted with their directory's id
 * (crypt_name.h) and every call is relative to a node's O_PATH descriptor.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfs_int.h"

/* Symlink targets are encrypted under one vault-wide context (not the directory's
 * id): a symlink keeps its target when it is renamed to another directory. */
static const uint8_t link_ctx[CF_ID_LEN];

void cfs_log_damage(struct cnode *n, const char *what, uint64_t block)
{
	char p[FD_PATH_MAX], where[4096];
	ssize_t len = readlink(cfd_path(n->fd, p, sizeof p), where, sizeof where - 1);
	where[len > 0 ? len : 0] = '\0';
	if (block == UINT64_MAX)
		umfs_log(UMFS_LOG_ERR, "cryptfs: '%s' (%s): %s", n->name, where, what);
	else
		umfs_log(UMFS_LOG_ERR, "cryptfs: '%s' (%s): block %llu %s", n->name, where,
			 (unsigned long long)block, what);
}

int cfs_disk_name(struct cryptfs *c, struct cnode *dir, const char *name, char *disk, char *enc,
		  bool *hashed)
{
	if (!dir->has_dirid) {
		cfs_log_damage(dir, "directory has no " DIRID_NAME ": its names cannot be used",
			       UINT64_MAX);
		return -EIO;
	}
	int err = cn_encrypt(c->keys, dir->dirid, name, enc, disk, hashed);
	if (err)
		return err;
	if (!*hashed)
		strcpy(disk, enc);
	return 0;
}

int cfs_write_sidecar(int dfd, const char *disk, const char *enc)
{
	char side[CN_SHORT_MAX + 8];
	snprintf(side, sizeof side, "%s" CN_SIDECAR_SUFFIX, disk);
	int fd = openat(dfd, side, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	size_t len = strlen(enc);
	ssize_t n = write(fd, enc, len);
	int err = n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
	close(fd);
	return err;
}

void cfs_give_to_caller(umfs_req *req, struct cnode *dir, const char *disk, mode_t mode)
{
	const struct umfs_caller *who = umfs_req_caller(req);
	struct stat dst;

	if (geteuid() != 0 || (who->uid == 0 && who->gid == 0))
		return;
	gid_t gid = who->gid;
	if (fstatat(dir->fd, "", &dst, AT_EMPTY_PATH) == 0 && (dst.st_mode & S_ISGID))
		gid = (gid_t)-1; /* the directory's group, as the vault gave it */
	if (fchownat(dir->fd, disk, who->uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		umfs_log(UMFS_LOG_WARNING, "cryptfs: cannot give a new file to uid %u: %s",
			 (unsigned)who->uid, strerror(errno));
		return;
	}
	if (S_ISREG(mode) && (mode & (S_ISUID | S_ISGID))) {
		char p[FD_PATH_MAX];
		int fd = openat(dir->fd, disk, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			if (chmod(cfd_path(fd, p, sizeof p), mode & 07777) < 0)
				umfs_log(UMFS_LOG_WARNING, "cryptfs: cannot restore a mode: %s",
					 strerror(errno));
			close(fd);
		}
	}
}

void cfs_remove_sidecar(int dfd, const char *disk)
{
	char side[CN_SHORT_MAX + 8];
	snprintf(side, sizeof side, "%s" CN_SIDECAR_SUFFIX, disk);
	unlinkat(dfd, side, 0);
}

int cfs_stat(struct cryptfs *c, struct cnode *n, struct cfh *h, struct stat *st)
{
	int rc = h ? fstat(h->fd, st) : fstatat(n->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	if (rc < 0)
		return -errno;
	if (n->type == S_IFLNK && st->st_size == CFS_LONG_LINK_LEN) {
		char stored[CFS_LONG_LINK_LEN + 2];
		ssize_t l = readlinkat(n->fd, "", stored, sizeof stored - 1);
		stored[l > 0 ? l : 0] = '\0';
		st->st_size = cfs_long_link_size(c, stored);
	} else if (n->type == S_IFLNK && st->st_size > 0) {
		/* The stored target is base64url(16-byte iv | target): its length gives
		 * the target's without reading it. */
		off_t raw = st->st_size * 3 / 4;
		st->st_size = raw > 16 ? raw - 16 : 0;
	} else if (n->view == VIEW_PLAIN) {
		uint64_t size;
		cf_plain_size((uint64_t)st->st_size, &size);
		st->st_size = (off_t)size;
	} else if (n->view == VIEW_CONTAINER && h && h->stage >= 0) {
		struct stat s2;
		if (fstat(h->stage, &s2) == 0)
			st->st_size = s2.st_size; /* what this writer has written so far */
	}
	return 0;
}

/* The view a lookup of a regular file hands out: forced >= 0, or the caller's. */
int cfs_lookup_disk(struct cryptfs *c, struct cnode *dir, const char *disk, const char *name,
		    enum view v, struct umfs_entry *e)
{
	struct stat st;
	struct cnode *n;
	int fd = openat(dir->fd, disk, O_PATH | O_NOFOLLOW | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	err = cnode_get(c, fd, &st, S_ISREG(st.st_mode) ? v : VIEW_SHARED, name, &n);
	if (err)
		return err;
	e->node = n;
	e->attr = st;
	if (S_ISLNK(st.st_mode))
		cfs_stat(c, n, NULL, &e->attr); /* the plaintext target's length */
	if (S_ISREG(st.st_mode)) {
		cfs_stat(c, n, NULL, &e->attr);
		/* The name may be cached (a path walk then sends nothing), its
		 * attributes never: every stat, permission check and open of a file
		 * node reaches cryptfs, which judges the caller there and answers a
		 * caller of the other view with ESTALE (cfs_int.h, "Views"). */
		e->attr_timeout = 0;
	}
	return 0;
}

static int lookup_as_caller(umfs_req *req, struct cnode *dir, const char *disk, const char *name,
			    struct umfs_entry *e)
{
	return cfs_lookup_disk(CFS(req), dir, disk, name, cfs_view_of(CFS(req), umfs_req_caller(req)),
			       e);
}

int cfs_lookup(umfs_req *req, void *dir, const char *name, struct umfs_entry *out)
{
	char disk[CN_SHORT_MAX + 1], enc[CN_ENC_MAX + 1];
	bool hashed;
	int err;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -ENOENT; /* the kernel resolves these itself; nothing exports this */
	err = cfs_disk_name(CFS(req), dir, name, disk, enc, &hashed);
	if (err)
		return err;
	return lookup_as_caller(req, dir, disk, name, out);
}

void cfs_forget(void *fs, void *node, uint64_t nlookup)
{
	cnode_put(fs, node, nlookup);
}

/* A new, empty container named disk in dir. */
static int create_container(struct cryptfs *c, struct cnode *dir, const char *disk, mode_t mode,
			    int *fd_out)
{
	struct cf_file f;
	int fd = openat(dir->fd, disk, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (fd < 0)
		return -errno;
	int err = cf_file_init(c->keys, fd, &f);
	cf_file_done(&f);
	if (err) {
		close(fd);
		unlinkat(dir->fd, disk, 0);
		return err;
	}
	*fd_out = fd;
	return 0;
}

/* Prepare a new name: its on-disk form, and a long name's sidecar. */
static int new_name(struct cryptfs *c, struct cnode *dir, const char *name, char *disk, bool *hashed)
{
	char enc[CN_ENC_MAX + 1];
	int err = cfs_disk_name(c, dir, name, disk, enc, hashed);
	if (!err && *hashed)
		err = cfs_write_sidecar(dir->fd, disk, enc);
	return err;
}

int cfs_mknod(umfs_req *req, void *dir, const char *name, mode_t mode, dev_t rdev,
	      struct umfs_entry *out)
{
	struct cryptfs *c = CFS(req);
	struct cnode *d = dir;
	char disk[CN_SHORT_MAX + 1];
	bool hashed;
	int err = new_name(c, d, name, disk, &hashed), fd = -1;

	if (err)
		return err;
	if (S_ISREG(mode)) {
		err = create_container(c, d, disk, mode, &fd);
		if (!err)
			close(fd);
	} else {
		err = mknodat(d->fd, disk, mode, rdev) < 0 ? -errno : 0;
	}
	if (err)
		return err;
	cfs_give_to_caller(req, d, disk, mode);
	return lookup_as_caller(req, d, disk, name, out);
}

int cfs_mkdir(umfs_req *req, void *dir, const char *name, mode_t mode, struct umfs_entry *out)
{
	struct cryptfs *c = CFS(req);
	struct cnode *d = dir;
	char disk[CN_SHORT_MAX + 1];
	uint8_t id[CF_ID_LEN];
	bool hashed;
	int err = new_name(c, d, name, disk, &hashed);

	if (err)
		return err;
	/* Writable by this process until its id file is in. */
	if (mkdirat(d->fd, disk, (mode & 07777) | 0700) < 0)
		return -errno;
	int cfd = openat(d->fd, disk, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	err = cfd < 0 ? -errno : dirid_create(cfd, id);
	if (!err && (mode & 07777) != ((mode & 07777) | 0700) && fchmod(cfd, mode & 07777) < 0)
		err = -errno;
	if (cfd >= 0)
		close(cfd);
	if (err) {
		if (cfd >= 0) {
			int x = openat(d->fd, disk, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (x >= 0) {
				unlinkat(x, DIRID_NAME, 0);
				close(x);
			}
		}
		unlinkat(d->fd, disk, AT_REMOVEDIR);
		return err;
	}
	cfs_give_to_caller(req, d, disk, S_IFDIR | mode);
	return lookup_as_caller(req, d, disk, name, out);
}

int cfs_symlink(umfs_req *req, void *dir, const char *name, const char *target,
		struct umfs_entry *out)
{
	struct cryptfs *c = CFS(req);
	struct cnode *d = dir;
	char disk[CN_SHORT_MAX + 1], enc[4096];
	bool hashed, is_long = strlen(target) > CN_LINK_MAX;
	int err = is_long ? cfs_long_link_store(c, target, enc)
			  : cn_link_encrypt(c->keys, link_ctx, target, enc);

	if (err)
		return err;
	err = new_name(c, d, name, disk, &hashed);
	if (!err && symlinkat(enc, d->fd, disk) < 0)
		err = -errno;
	if (err) {
		if (is_long)
			cfs_long_link_drop(c, enc);
		return err;
	}
	cfs_give_to_caller(req, d, disk, S_IFLNK | 0777);
	return lookup_as_caller(req, d, disk, name, out);
}

int cfs_readlink(umfs_req *req, void *node, char *buf, size_t size)
{
	struct cnode *n = node;
	char enc[4096], plain[CN_LONG_LINK_MAX + 1];
	ssize_t len = readlinkat(n->fd, "", enc, sizeof enc - 1);
	if (len < 0)
		return -errno;
	enc[len] = '\0';
	int pl = cfs_is_long_link(enc) ? cfs_long_link_load(CFS(req), enc, plain)
				       : cn_link_decrypt(CFS(req)->keys, link_ctx, enc, plain);
	if (pl < 0) {
		cfs_log_damage(n, "symlink target does not authenticate", UINT64_MAX);
		return -EIO;
	}
	if ((size_t)pl > size)
		pl = (int)size;
	memcpy(buf, plain, (size_t)pl);
	return pl;
}

int cfs_link(umfs_req *req, void *node, void *newdir, const char *newname,
	     struct umfs_entry *out)
{
	struct cryptfs *c = CFS(req);
	struct cnode *n = node, *d = newdir;
	char disk[CN_SHORT_MAX + 1], p[FD_PATH_MAX];
	bool hashed;
	int err = new_name(c, d, newname, disk, &hashed);

	if (err)
		return err;
	if (linkat(AT_FDCWD, cfd_path(n->fd, p, sizeof p), d->fd, disk, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	/* The view of the node the kernel linked: a link keeps its caller's view. */
	return cfs_lookup_disk(c, d, disk, newname, n->view == VIEW_SHARED ? VIEW_CONTAINER : n->view,
			       out);
}

/* What goes with an object when its last name does: a file's attributes, a long
 * symlink's target record. Looked at only when the vault has any of them. */
struct last_name {
	bool drop_xattrs;
	uint8_t id[CF_ID_LEN];
	char stored[CFS_LONG_LINK_LEN + 2]; /* a long symlink's stored target, or "" */
};

static void last_name_check(struct cryptfs *c, int dfd, const char *disk, struct last_name *ln)
{
	struct stat st;

	ln->drop_xattrs = false;
	ln->stored[0] = '\0';
	if (!c->xattrs_used && !c->links_used)
		return;
	int fd = openat(dfd, disk, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_nlink == 1) {
		ln->drop_xattrs = S_ISREG(st.st_mode) && c->xattrs_used &&
				  cfs_file_id(c, fd, ln->id) == 0;
		if (S_ISLNK(st.st_mode) && st.st_size == CFS_LONG_LINK_LEN) {
			ssize_t l = readlinkat(fd, "", ln->stored, sizeof ln->stored - 1);
			ln->stored[l > 0 ? l : 0] = '\0';
		}
	}
	close(fd);
}

/* The name is gone (unlink, or a rename over it succeeded). */
static void last_name_gone(struct cryptfs *c, const struct last_name *ln)
{
	if (ln->drop_xattrs)
		cfs_xattr_drop(c, ln->id);
	if (ln->stored[0])
		cfs_long_link_drop(c, ln->stored);
}

int cfs_unlink(umfs_req *req, void *dir, const char *name)
{
	struct cnode *d = dir;
	char disk[CN_SHORT_MAX + 1], enc[CN_ENC_MAX + 1];
	bool hashed;
	int err = cfs_disk_name(CFS(req), d, name, disk, enc, &hashed);

	if (err)
		return err;
	struct last_name ln;
	last_name_check(CFS(req), d->fd, disk, &ln);
	if (unlinkat(d->fd, disk, 0) < 0)
		return -errno;
	if (hashed)
		cfs_remove_sidecar(d->fd, disk);
	last_name_gone(CFS(req), &ln);
	return 0;
}

/* Only the id file left? */
static int dir_is_empty(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return -ENOMEM;
	}
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(dp))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, DIRID_NAME)) {
			rc = -ENOTEMPTY;
			break;
		}
	}
	closedir(dp);
	return rc;
}

/* Put a directory's id file back (an rmdir or rename that failed after taking it). */
static void dirid_restore(int dfd, const uint8_t id[CF_ID_LEN])
{
	int fd = openat(dfd, DIRID_NAME, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0 || write(fd, id, CF_ID_LEN) != CF_ID_LEN)
		umfs_log(UMFS_LOG_ERR, "cryptfs: cannot restore a directory id");
	if (fd >= 0)
		close(fd);
}

int cfs_rmdir(umfs_req *req, void *dir, const char *name)
{
	struct cnode *d = dir;
	char disk[CN_SHORT_MAX + 1], enc[CN_ENC_MAX + 1];
	uint8_t id[CF_ID_LEN];
	bool hashed, had_id;
	int err = cfs_disk_name(CFS(req), d, name, disk, enc, &hashed);

	if (err)
		return err;
	int cfd = openat(d->fd, disk, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	err = dir_is_empty(cfd);
	had_id = dirid_read(cfd, id) == 0;
	if (!err && had_id && unlinkat(cfd, DIRID_NAME, 0) < 0)
		err = -errno;
	if (!err && unlinkat(d->fd, disk, AT_REMOVEDIR) < 0) {
		err = -errno;
		/* Still there (a name came in meanwhile): give its id back. */
		if (had_id)
			dirid_restore(cfd, id);
	}
	close(cfd);
	if (!err && hashed)
		cfs_remove_sidecar(d->fd, disk);
	if (!err && had_id && CFS(req)->xattrs_used)
		cfs_xattr_drop(CFS(req), id);
	return err;
}

int cfs_rename(umfs_req *req, void *dir, const char *name, void *newdir, const char *newname,
	       unsigned flags)
{
	struct cryptfs *c = CFS(req);
	struct cnode *d = dir, *nd = newdir;
	char disk[CN_SHORT_MAX + 1], ndisk[CN_SHORT_MAX + 1], enc[CN_ENC_MAX + 1];
	bool hashed, nhashed;
	int err = cfs_disk_name(c, d, name, disk, enc, &hashed);

	if (err)
		return err;
	err = new_name(c, nd, newname, ndisk, &nhashed);
	if (err)
		return err;
	/* An empty directory as the target holds its id file, which the vault's
	 * rename(2) would count as an entry: take it out, and back if it fails. */
	uint8_t id[CF_ID_LEN];
	int tfd = -1;
	if (!(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE))) {
		tfd = openat(nd->fd, ndisk, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (tfd >= 0 && (dir_is_empty(tfd) != 0 || dirid_read(tfd, id) != 0 ||
				 unlinkat(tfd, DIRID_NAME, 0) < 0)) {
			close(tfd);
			tfd = -1;
		}
	}
	struct last_name ln = { .drop_xattrs = false };
	if (!(flags & RENAME_EXCHANGE))
		last_name_check(c, nd->fd, ndisk, &ln);
	if (renameat2(d->fd, disk, nd->fd, ndisk, flags) < 0) {
		err = -errno;
		if (tfd >= 0)
			dirid_restore(tfd, id);
	}
	if (tfd >= 0)
		close(tfd);
	if (err)
		return err;
	if (tfd >= 0 && c->xattrs_used)
		cfs_xattr_drop(c, id); /* the empty directory replaced */
	/* The file moved in may carry the same file id as the one it replaced (a copy
	 * of that container stored back): then the attributes are its own. */
	if (ln.drop_xattrs || ln.stored[0]) {
		struct stat st;
		int fd = openat(nd->fd, ndisk, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		uint8_t mid[CF_ID_LEN];
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    cfs_file_id(c, fd, mid) == 0 && memcmp(mid, ln.id, CF_ID_LEN) == 0)
			ln.drop_xattrs = false;
		if (fd >= 0)
			close(fd);
		last_name_gone(c, &ln);
	}
	if (hashed && !(flags & RENAME_EXCHANGE) && (d != nd || strcmp(disk, ndisk) != 0))
		cfs_remove_sidecar(d->fd, disk);
	return 0;
}
