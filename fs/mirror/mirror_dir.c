/* SPDX-License-Identifier: MIT */
/*
 * mirror_dir.c - directory listings: opendir opens the source directory (as the
 * caller), readdir walks it with the source's own positions (telldir cookies), so a
 * listing resumed after changes behaves as it would on the source.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mirror_int.h"

struct mdir {
	DIR *dp;
	off_t pos; /* the next entry to give, as an offset readdir gets */
	/* An entry read from dp that did not fit in the last reply: given first next
	 * time, so that dp reads on and never seeks back (a seek throws away what
	 * readdir(3) read ahead and makes the source find its place again). */
	bool has_pending;
	struct dirent pending;
};

int mirror_opendir(umfs_req *req, void *node, int flags, struct umfs_open *out)
{
	struct mnode *n = node;
	char p[FD_PATH_MAX];
	struct mcred_saved cs;
	int fd, err = mcred_become(req, &cs);
	if (err)
		return err;
	fd = open(mfd_path(n->fd, p, sizeof p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	mcred_restore(req, &cs);
	if (err)
		return err;
	struct mdir *d = malloc(sizeof *d);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		err = -errno;
		close(fd);
		free(d);
		return err;
	}
	d->pos = 0;
	d->has_pending = false;
	out->fh = d;
	/* The kernel may keep the listing, and checks it against the directory's
	 * mtime before reusing it (auto_inval_data, mirror_init): a change made in
	 * SOURCE behind the mount shows once the attributes time out, as for files. */
	out->cache_dir = 1;
	out->keep_cache = 1;
	return 0;
}

static bool is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* Add one entry; for readdirplus with its node (a handout, undone when it did not
 * fit). Returns 0 added or 1 full. An entry removed from the source since it was
 * read is left out.
 *
 * An inode the kernel already holds is listed by name only (readdirplus allows an
 * entry without a node): the kernel has its attributes, or refreshes them after the
 * attribute timeout, or looks a new name of it up. Handing it out again costs an
 * open and a stat per entry for nothing. */
static int add_entry(umfs_req *req, struct mnode *dir, umfs_dirbuf *buf,
		     const struct dirent *de)
{
	struct mirror *m = MIR(req);
	struct stat st = { .st_ino = de->d_ino, .st_mode = (mode_t)DTTOIF(de->d_type) };
	struct umfs_entry e = { 0 };

	if (!umfs_dir_plus(buf) || is_dot_or_dotdot(de->d_name) ||
	    mnode_known(m, dir->dev, de->d_ino) || !msearch_caches(m, dir))
		return umfs_dir_add(buf, de->d_name, &st, NULL, de->d_off);
	int err = mnode_lookup(m, dir, de->d_name, &e);
	if (err == -ENOENT)
		return 0;
	if (err) {
		/* Names without attributes, as getdents gives them: a directory the
		 * caller may read but not search (no x bit) still lists. */
		return umfs_dir_add(buf, de->d_name, &st, NULL, de->d_off);
	}
	if (umfs_dir_add(buf, de->d_name, &e.attr, e.node, de->d_off) == 1) {
		mnode_put(m, e.node, 1);
		return 1;
	}
	return 0;
}

int mirror_readdir(umfs_req *req, void *node, void *fh, off_t off, umfs_dirbuf *buf)
{
	struct mdir *d = fh;
	struct mcred_saved cs;
	int err;

	if (off != d->pos) {
		if (off == 0)
			rewinddir(d->dp);
		else
			seekdir(d->dp, off);
		d->pos = off;
		d->has_pending = false;
	}
	err = mcred_become(req, &cs);
	if (err)
		return err;
	for (;;) {
		struct dirent *de = &d->pending;

		if (!d->has_pending) {
			errno = 0;
			de = readdir(d->dp);
			if (!de) {
				err = errno ? -errno : 0;
				break;
			}
		}
		err = add_entry(req, node, buf, de);
		if (err == 1) {
			/* Did not fit: give it first next time. */
			if (de != &d->pending) {
				/* Field by field: readdir(3)'s entry may be shorter
				 * than a struct dirent. */
				d->pending.d_ino = de->d_ino;
				d->pending.d_off = de->d_off;
				d->pending.d_type = de->d_type;
				strcpy(d->pending.d_name, de->d_name);
			}
			d->has_pending = true;
			err = 0;
			break;
		}
		if (err)
			break;
		d->has_pending = false;
		d->pos = de->d_off;
	}
	mcred_restore(req, &cs);
	return err;
}

int mirror_releasedir(umfs_req *req, void *node, void *fh)
{
	struct mdir *d = fh;
	closedir(d->dp);
	free(d);
	return 0;
}

int mirror_fsyncdir(umfs_req *req, void *node, void *fh, int datasync)
{
	struct mdir *d = fh;
	int fd = dirfd(d->dp);
	int rc = datasync ? fdatasync(fd) : fsync(fd);
	return rc < 0 ? -errno : 0;
}
