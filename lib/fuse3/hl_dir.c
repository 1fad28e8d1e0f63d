/* SPDX-License-Identifier: MIT */
/*
 * hl_dir.c - directory listings for path-based programs. A program's filler either
 * gives offsets (the listing streams: each readdir call asks the program to resume
 * at the kernel's offset) or gives 0 (the library reads the whole listing at the
 * first call and serves it in pieces, numbering the entries itself).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hl_int.h"

struct fuse *hl_enter(fuse_req_t req);
void hl_leave(void);
void hl_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void hl_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void hl_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void hl_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void hl_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

#define UNKNOWN_INO 0xffffffffULL

struct dent {
	char *name;
	struct stat st;
	bool plus;
};

struct dirh {
	pthread_mutex_t lock;
	uint64_t fh;          /* the program's handle */
	struct dent *ents;    /* the whole listing, when the program gives no offsets */
	size_t n, cap;
	bool filled;
	/* the reply being built, while the program's readdir runs */
	struct fuse *f;
	fuse_ino_t ino;
	fuse_req_t req;
	char *buf;
	size_t size, len;
	bool plus, streamed, full;
	int error;
};

static void drop_ents(struct dirh *dh)
{
	for (size_t i = 0; i < dh->n; i++)
		free(dh->ents[i].name);
	free(dh->ents);
	dh->ents = NULL;
	dh->n = dh->cap = 0;
	dh->filled = false;
}

static bool is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* Add one entry to the reply; 1 when it does not fit. */
static int add_entry(struct dirh *dh, const char *name, const struct stat *given, bool plus,
		     off_t off)
{
	struct fuse *f = dh->f;
	struct stat st;
	size_t room = dh->size - dh->len, need;

	if (given)
		st = *given;
	else
		memset(&st, 0, sizeof(st));
	if (!dh->plus) {
		if (!f->conf.use_ino) {
			struct node *n = is_dot(name) ? NULL : tree_find(f, dh->ino, name);

			st.st_ino = n ? n->ino : UNKNOWN_INO;
		}
		need = fuse_add_direntry(dh->req, dh->buf + dh->len, room, name, &st, off);
		if (need > room)
			return 1;
		dh->len += need;
		return 0;
	}
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr = st;
	need = fuse_add_direntry_plus(dh->req, NULL, 0, name, &e, off);
	if (need > room)
		return 1;
	if (plus && !is_dot(name)) {
		/* Full attributes: the entry counts as a lookup. */
		struct node *n = tree_ref(f, dh->ino, name);

		if (n) {
			e.ino = node_id(f, n);
			e.generation = n->ino; /* as hl_ops.c's entries */
			if (!f->conf.use_ino)
				e.attr.st_ino = n->ino;
			e.entry_timeout = f->conf.entry_timeout;
			e.attr_timeout = f->conf.attr_timeout;
		}
	} else if (!f->conf.use_ino) {
		struct node *n = is_dot(name) ? NULL : tree_find(f, dh->ino, name);

		e.attr.st_ino = n ? n->ino : UNKNOWN_INO;
	}
	fuse_add_direntry_plus(dh->req, dh->buf + dh->len, room, name, &e, off);
	dh->len += need;
	return 0;
}

static int filler(void *buf, const char *name, const struct stat *st, off_t off,
		  enum fuse_fill_dir_flags flags)
{
	struct dirh *dh = buf;
	bool plus = (flags & FUSE_FILL_DIR_PLUS) && st;

	if (off) {
		dh->streamed = true;
		if (dh->full)
			return 1;
		if (add_entry(dh, name, st, plus, off)) {
			dh->full = true;
			return 1;
		}
		return 0;
	}
	if (dh->n == dh->cap) {
		size_t cap = dh->cap ? dh->cap * 2 : 64;
		struct dent *e = realloc(dh->ents, cap * sizeof(*e));

		if (!e) {
			dh->error = -ENOMEM;
			return 1;
		}
		dh->ents = e;
		dh->cap = cap;
	}
	struct dent *d = &dh->ents[dh->n];

	d->name = strdup(name);
	if (!d->name) {
		dh->error = -ENOMEM;
		return 1;
	}
	if (st)
		d->st = *st;
	else
		memset(&d->st, 0, sizeof(d->st));
	d->plus = plus;
	dh->n++;
	return 0;
}

static struct dirh *dirh_of(struct fuse_file_info *fi)
{
	return (struct dirh *)(uintptr_t)fi->fh;
}

/* The program's own handle of an open directory (for ioctl on it). */
uint64_t hl_dir_fh(struct fuse_file_info *fi);
uint64_t hl_dir_fh(struct fuse_file_info *fi)
{
	return dirh_of(fi)->fh;
}

void hl_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fuse *f = hl_enter(req);
	struct fuse_file_info ufi = *fi;
	struct dirh *dh = calloc(1, sizeof(*dh));
	char *path;
	int rc;

	if (!dh) {
		hl_leave();
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = tree_hold(f, ino, NULL, &path, 0, NULL, NULL, false);
	if (rc == 0) {
		rc = f->op.opendir ? f->op.opendir(path, &ufi) : 0;
		free(path);
	}
	hl_leave();
	if (rc < 0) {
		free(dh);
		fuse_reply_err(req, -rc);
		return;
	}
	pthread_mutex_init(&dh->lock, NULL);
	dh->fh = ufi.fh;
	fi->fh = (uint64_t)(uintptr_t)dh;
	fi->cache_readdir = ufi.cache_readdir;
	fi->keep_cache = ufi.keep_cache;
	fuse_reply_open(req, fi);
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi, bool plus)
{
	struct fuse *f = hl_enter(req);
	struct dirh *dh = dirh_of(fi);
	struct fuse_file_info ufi = *fi;
	int rc = 0;

	pthread_mutex_lock(&dh->lock);
	dh->f = f;
	dh->ino = ino;
	dh->req = req;
	dh->size = size;
	dh->len = 0;
	dh->plus = plus;
	dh->streamed = dh->full = false;
	dh->error = 0;
	dh->buf = malloc(size ? size : 1);
	if (!dh->buf) {
		rc = -ENOMEM;
		goto out;
	}
	if (off == 0)
		drop_ents(dh);
	if (!dh->filled) {
		char *path;

		rc = tree_hold(f, ino, NULL, &path, 0, NULL, NULL, false);
		if (rc < 0)
			goto out;
		ufi.fh = dh->fh;
		rc = f->op.readdir ? f->op.readdir(path, dh, filler, off, &ufi,
						   plus ? FUSE_READDIR_PLUS : 0)
				   : -ENOSYS;
		free(path);
		if (!rc && dh->error)
			rc = dh->error;
		if (rc < 0 || dh->streamed) {
			drop_ents(dh);
			goto out;
		}
		dh->filled = true;
	}
	/* Serve the stored listing from entry number off. */
	for (size_t i = (size_t)off; i < dh->n; i++)
		if (add_entry(dh, dh->ents[i].name, &dh->ents[i].st, dh->ents[i].plus,
			      (off_t)(i + 1)))
			break;
out:
	hl_leave();
	if (rc < 0 && dh->len == 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, dh->buf, dh->len);
	free(dh->buf);
	dh->buf = NULL;
	pthread_mutex_unlock(&dh->lock);
}

void hl_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, false);
}

void hl_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, true);
}

void hl_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fuse *f = hl_enter(req);
	struct dirh *dh = dirh_of(fi);
	struct fuse_file_info ufi = *fi;
	char *path = NULL;

	ufi.fh = dh->fh;
	if (f->op.releasedir) {
		if (tree_hold(f, ino, NULL, &path, 0, NULL, NULL, false) < 0)
			path = NULL;
		f->op.releasedir(path ? path : "", &ufi);
		free(path);
	}
	hl_leave();
	drop_ents(dh);
	pthread_mutex_destroy(&dh->lock);
	free(dh);
	fuse_reply_err(req, 0);
}

void hl_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fuse *f = hl_enter(req);
	struct fuse_file_info ufi = *fi;
	char *path;
	int rc;

	ufi.fh = dirh_of(fi)->fh;
	rc = tree_hold(f, ino, NULL, &path, 0, NULL, NULL, false);
	if (rc == 0) {
		rc = f->op.fsyncdir ? f->op.fsyncdir(path, datasync, &ufi) : -ENOSYS;
		free(path);
	}
	hl_leave();
	fuse_reply_err(req, rc < 0 ? -rc : 0);
}
