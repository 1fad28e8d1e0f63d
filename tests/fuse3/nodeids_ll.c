/* SPDX-License-Identifier: MIT */
/*
 * nodeids_ll.c - a low-level libfuse file system whose inode numbers and generations
 * are its own, for test_fuse3.py, built against both libfuse and umfs-fuse3 by
 * tests/fuse3/meson.build. On libfuse, a program's fuse_entry_param.ino and
 * .generation are the kernel's node id and generation, which reach programs in file
 * handles (name_to_handle_at), and the program counts the kernel's references itself.
 *   f<i>  (i < FILES): a file whose inode is BASE + i (above 2^32) and generation
 *         GEN + i, handed out by lookup and by readdirplus alike
 * The root's size is the number of references the kernel holds to the files:
 * lookups and readdirplus entries handed out, less the counts forget took back.
 * With NODEIDS_OVERFILL=1 in the environment there are 1000 files, and a listing's
 * reply holds twice the bytes the kernel asked for (a program's bug): libfuse's
 * kernel refuses such a reply; umfs-fuse3 sends the entries that fit and gives the
 * others back through forget.
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_main.h"

#define FILES 50
#define OVERFILL_FILES 1000
#define BASE 0x123400000000ULL
#define GEN 7000

static atomic_llong held; /* the kernel's references to the files */
static int files = FILES;
static bool overfill;

static void nl_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* every listing is a readdirplus */
}

static int file_of(fuse_ino_t ino)
{
	return ino >= BASE && ino < BASE + (fuse_ino_t)files ? (int)(ino - BASE) : -1;
}

static void stat_of(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		st->st_size = (off_t)atomic_load(&held);
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
	}
}

/* The entry of file i, one more reference handed out. */
static void entry_of(int i, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = BASE + (fuse_ino_t)i;
	e->generation = GEN + (uint64_t)i;
	stat_of(e->ino, &e->attr);
	e->attr_timeout = 60;
	e->entry_timeout = 60;
	atomic_fetch_add(&held, 1);
}

static void nl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int i;
	char end;

	if (parent != FUSE_ROOT_ID || sscanf(name, "f%d%c", &i, &end) != 1 || i < 0 ||
	    i >= files) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	entry_of(i, &e);
	fuse_reply_entry(req, &e);
}

static void nl_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	if (file_of(ino) >= 0)
		atomic_fetch_sub(&held, (long long)nlookup);
	else if (ino != FUSE_ROOT_ID)
		fprintf(stderr, "nodeids_ll: forget of unknown inode %#llx\n",
			(unsigned long long)ino);
	fuse_reply_none(req);
}

static void nl_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && file_of(ino) < 0) {
		fprintf(stderr, "nodeids_ll: getattr of unknown inode %#llx\n",
			(unsigned long long)ino);
		fuse_reply_err(req, ESTALE);
		return;
	}
	stat_of(ino, &st);
	fuse_reply_attr(req, &st, ino == FUSE_ROOT_ID ? 0 : 60);
}

/* Offsets: 1 + the index of the next entry. */
static void nl_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	size_t room = overfill ? 2 * size : size;
	char *buf = malloc(room);
	size_t used = 0;

	(void)fi;
	if (ino != FUSE_ROOT_ID) {
		free(buf);
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (int i = (int)off; i < files; i++) {
		struct fuse_entry_param e;
		char name[16];
		size_t len;

		snprintf(name, sizeof(name), "f%d", i);
		memset(&e, 0, sizeof(e)); /* sized first: a reference only for what fits */
		len = fuse_add_direntry_plus(req, NULL, 0, name, &e, 0);
		if (used + len > room)
			break;
		entry_of(i, &e);
		used += fuse_add_direntry_plus(req, buf + used, room - used, name, &e, i + 1);
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static const struct fuse_lowlevel_ops ops = {
	.init = nl_init,
	.lookup = nl_lookup,
	.forget = nl_forget,
	.getattr = nl_getattr,
	.readdirplus = nl_readdirplus,
};

int main(int argc, char *argv[])
{
	const char *o = getenv("NODEIDS_OVERFILL");

	overfill = o && strcmp(o, "1") == 0;
	if (overfill)
		files = OVERFILL_FILES;
	return ll_main(argc, argv, &ops, sizeof(ops), 2, NULL);
}
