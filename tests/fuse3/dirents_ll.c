/* SPDX-License-Identifier: MIT */
/*
 * dirents_ll.c - a low-level libfuse file system of directories whose listings
 * exercise the readdir reply (fuse_add_direntry, fuse_reply_buf), for test_fuse3.py,
 * built against both libfuse and umfs-fuse3 by tests/fuse3/meson.build:
 *   many/   3000 entries "e<i>-" padded with 'x' to 1 + i % 40 more characters,
 *           served a reply at a time from the kernel's offset
 *   long/   a name of 5000 characters (longer than any kernel takes), then "a"
 *   slash/  "b/c", then "a"
 *   cut/    "a", then an entry cut off in the middle of its name
 * (A bad entry comes first: after a good one, the kernel would hand the good one to
 * getdents and the error to nobody, as it asks for the rest from the bad one on.)
 * Directories are listed with plain READDIR (no readdirplus): the point is the
 * entries' layout, which a program lays out itself.
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_main.h"

#define MANY 3000

static const char *const dirs[] = { "many", "long", "slash", "cut" };
#define NDIRS (sizeof(dirs) / sizeof(dirs[0]))
/* inode of dirs[i] = i + 2 */

static void dl_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
}

static void stat_of(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
	if (ino > 1 + NDIRS) { /* an entry of many/: a file */
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
	}
}

static void dl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	for (size_t i = 0; parent == FUSE_ROOT_ID && i < NDIRS; i++)
		if (strcmp(name, dirs[i]) == 0)
			e.ino = i + 2;
	if (!e.ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	stat_of(e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void dl_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino > 1 + NDIRS) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	stat_of(ino, &st);
	fuse_reply_attr(req, &st, 1.0);
}

static void many_name(char *name, size_t size, long i)
{
	int n = snprintf(name, size, "e%ld-", i);

	memset(name + n, 'x', (size_t)(1 + i % 40));
	name[n + 1 + i % 40] = '\0';
}

/* Entries from index off on, as many as fit in size. */
static void list_many(fuse_req_t req, size_t size, off_t off)
{
	char *buf = calloc(1, size), name[64];
	size_t used = 0;
	struct stat st;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (long i = off; i < MANY; i++) {
		size_t len;

		many_name(name, sizeof(name), i);
		stat_of(2 + NDIRS + (fuse_ino_t)i, &st);
		len = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

/* Entries named first and second, the reply cut to keep bytes if keep > 0. */
static void list_two(fuse_req_t req, size_t size, off_t off, const char *first,
		     const char *second, size_t keep)
{
	char buf[8192];
	size_t used;
	struct stat st;

	if (off > 0) { /* the kernel asks again after the entries it took */
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	stat_of(100, &st);
	st.st_mode = S_IFREG | 0444;
	used = fuse_add_direntry(req, buf, sizeof(buf), first, &st, 1);
	used += fuse_add_direntry(req, buf + used, sizeof(buf) - used, second, &st, 2);
	if (keep)
		used = keep;
	fuse_reply_buf(req, buf, used < size ? used : size);
}

static void dl_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	char longname[5001];

	(void)fi;
	switch (ino) {
	case FUSE_ROOT_ID:
		fuse_reply_buf(req, NULL, 0); /* the tests list subdirectories only */
		break;
	case 2:
		list_many(req, size, off);
		break;
	case 3:
		memset(longname, 'n', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		list_two(req, size, off, longname, "a", 0);
		break;
	case 4:
		list_two(req, size, off, "b/c", "a", 0);
		break;
	case 5: /* "a" takes 32 bytes; the second entry's header and part of its name */
		list_two(req, size, off, "a", "cutoff-name", 32 + 24 + 3);
		break;
	default:
		fuse_reply_err(req, ENOTDIR);
	}
}

static const struct fuse_lowlevel_ops dl_ops = {
	.init = dl_init,
	.lookup = dl_lookup,
	.getattr = dl_getattr,
	.readdir = dl_readdir,
};

int main(int argc, char *argv[])
{
	return ll_main(argc, argv, &dl_ops, sizeof(dl_ops), 0, NULL);
}
