/* SPDX-License-Identifier: MIT */
/*
 * test_memfs.c - memfs driven through its callbacks, without a mount: files, sparse
 * data, directories and readdir offsets, rename rules, links, tmpfiles, xattrs,
 * ownership rules, fallocate, copy_file_range, limits, size parsing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "memfs.h"
#include "stub.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

static int failed_checks;

#define CHECK(c)                                                                        \
	do {                                                                            \
		if (!(c)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
			failed_checks++;                                                \
		}                                                                       \
	} while (0)

#define EQ(a, b)                                                                        \
	do {                                                                            \
		long long a_ = (long long)(a), b_ = (long long)(b);                     \
		if (a_ != b_) {                                                         \
			fprintf(stderr, "%s:%d: %s is %lld, want %lld\n", __FILE__, __LINE__, \
				#a, a_, b_);                                            \
			failed_checks++;                                                \
		}                                                                       \
	} while (0)

static const struct umfs_operations *O = &memfs_operations;
static struct memfs *fs;
static umfs_req R;
static void *root;

/* ---- helpers: what a kernel would do ---- */

static void *lookup(void *dir, const char *name)
{
	struct umfs_entry e = { 0 };
	return O->lookup(&R, dir, name, &e) == 0 ? e.node : NULL;
}

static struct stat stat_of(void *n)
{
	struct umfs_attr a = { 0 };
	O->getattr(&R, n, NULL, &a);
	return a.st;
}

static void *make_file(void *dir, const char *name, mode_t mode)
{
	struct umfs_entry e = { 0 };
	struct umfs_open o = { 0 };
	if (O->create(&R, dir, name, mode, O_RDWR | O_CREAT | O_EXCL, &e, &o))
		return NULL;
	return e.node;
}

static void *make_dir(void *dir, const char *name)
{
	struct umfs_entry e = { 0 };
	return O->mkdir(&R, dir, name, 0755, &e) ? NULL : e.node;
}

static int write_str(void *n, const char *s, off_t off)
{
	return O->write(&R, n, NULL, s, strlen(s), off, 0);
}

static int set_size(void *n, off_t size)
{
	struct stat in = { .st_size = size };
	struct umfs_attr a;
	return O->setattr(&R, n, NULL, &in, UMFS_SET_SIZE, &a);
}

/* ---- tests ---- */

static void test_file_data(void)
{
	void *f = make_file(root, "a", 0644);
	CHECK(f);
	EQ(O->create(&R, root, "a", 0644, O_CREAT | O_EXCL | O_RDWR, &(struct umfs_entry){ 0 },
		     &(struct umfs_open){ 0 }),
	   -EEXIST);
	EQ(write_str(f, "hello", 0), 5);
	char buf[100] = { 0 };
	EQ(O->read(&R, f, NULL, buf, sizeof buf, 0), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);

	/* Sparse: a write 1 GiB away takes one more block; the hole reads as zeros. */
	EQ(write_str(f, "X", 1 << 30), 1);
	struct stat st = stat_of(f);
	EQ(st.st_size, (1 << 30) + 1);
	EQ(st.st_blocks, 16);
	memset(buf, 'z', sizeof buf);
	EQ(O->read(&R, f, NULL, buf, 10, 4096 * 100), 10);
	CHECK(buf[0] == 0 && buf[9] == 0);

	off_t pos;
	EQ(O->lseek(&R, f, NULL, 0, SEEK_HOLE, &pos), 0);
	EQ(pos, 4096);
	EQ(O->lseek(&R, f, NULL, 4096, SEEK_DATA, &pos), 0);
	EQ(pos, 1 << 30);
	EQ(O->lseek(&R, f, NULL, 3, SEEK_DATA, &pos), 0);
	EQ(pos, 3);
	EQ(O->lseek(&R, f, NULL, (1 << 30) + 1, SEEK_DATA, &pos), -ENXIO);
	EQ(O->lseek(&R, f, NULL, 1 << 30, SEEK_HOLE, &pos), 0);
	EQ(pos, (1 << 30) + 1);

	/* Shrinking zeroes the cut tail, so growing again shows zeros. */
	EQ(set_size(f, 3), 0);
	EQ(stat_of(f).st_blocks, 8);
	EQ(set_size(f, 10), 0);
	memset(buf, 'z', sizeof buf);
	EQ(O->read(&R, f, NULL, buf, 100, 0), 10);
	CHECK(memcmp(buf, "hel\0\0\0\0\0\0\0", 10) == 0);

	/* The largest offsets. */
	EQ(O->write(&R, f, NULL, "y", 1, INT64_MAX - 1, 0), 1);
	EQ(O->write(&R, f, NULL, "yy", 2, INT64_MAX - 1, 0), -EFBIG);
	EQ(O->lseek(&R, f, NULL, 4096, SEEK_DATA, &pos), 0);
	EQ(pos, (INT64_MAX - 1) / 4096 * 4096);
	EQ(set_size(f, 0), 0);
	EQ(stat_of(f).st_blocks, 0);

	/* O_TRUNC on create of an existing name (a direct API caller; the kernel
	 * truncates an open(O_TRUNC) with setattr, as memfs has no open). */
	struct umfs_open o = { 0 };
	struct umfs_entry again;
	EQ(write_str(f, "data", 0), 4);
	EQ(O->create(&R, root, "a", 0644, O_WRONLY | O_TRUNC, &again, &o), 0);
	CHECK(again.node == f && o.keep_cache);
	EQ(stat_of(f).st_size, 0);
	O->forget(fs, f, 1); /* the create handed it out once more */

	EQ(O->unlink(&R, root, "a"), 0);
	EQ(O->unlink(&R, root, "a"), -ENOENT);
	CHECK(lookup(root, "a") == NULL);
	O->forget(fs, f, 1);
}

static int list(void *dir, off_t off, int plus, int cap, umfs_dirbuf *b)
{
	memset(b, 0, sizeof *b);
	b->plus = plus;
	b->cap = cap;
	O->readdir(&R, dir, NULL, off, b);
	return b->n;
}

static void test_readdir(void)
{
	void *d = make_dir(root, "rd");
	static umfs_dirbuf b;
	EQ(list(d, 0, 0, 64, &b), 2);
	CHECK(!strcmp(b.ents[0].name, ".") && !strcmp(b.ents[1].name, ".."));
	EQ(b.ents[1].ino, stat_of(root).st_ino);

	char name[32];
	void *nodes[110];
	for (int i = 0; i < 100; i++) {
		sprintf(name, "f%03d", i);
		CHECK((nodes[i] = make_file(d, name, 0600)));
	}
	/* List some, then remove and add entries: every entry that stays is listed
	 * exactly once, whatever happens between the calls. */
	int seen[110] = { 0 };
	int n = list(d, 0, 0, 12, &b);
	off_t off = b.ents[n - 1].next_off;
	for (int i = 2; i < n; i++)
		seen[atoi(b.ents[i].name + 1)]++;
	for (int i = 50; i < 60; i++) {
		sprintf(name, "f%03d", i);
		EQ(O->unlink(&R, d, name), 0);
	}
	for (int i = 100; i < 110; i++) {
		sprintf(name, "f%03d", i);
		CHECK((nodes[i] = make_file(d, name, 0600)));
	}
	/* Each entry a readdirplus listing adds with its node is one more handout. */
	uint64_t handouts[110];
	for (int i = 0; i < 110; i++)
		handouts[i] = 1;
	while ((n = list(d, off, 1, 7, &b)) > 0) {
		for (int i = 0; i < n; i++) {
			seen[atoi(b.ents[i].name + 1)]++;
			handouts[atoi(b.ents[i].name + 1)]++;
			CHECK(b.ents[i].node == nodes[atoi(b.ents[i].name + 1)]);
		}
		off = b.ents[n - 1].next_off;
	}
	for (int i = 0; i < 110; i++)
		EQ(seen[i], i >= 50 && i < 60 ? 0 : 1);

	EQ(O->rmdir(&R, root, "rd"), -ENOTEMPTY);
	for (int i = 0; i < 110; i++) {
		sprintf(name, "f%03d", i);
		EQ(O->unlink(&R, d, name), i >= 50 && i < 60 ? -ENOENT : 0);
	}
	EQ(list(d, 0, 0, 64, &b), 2);
	for (int i = 0; i < 110; i++)
		O->forget(fs, nodes[i], handouts[i]);
	uint64_t bytes, count;
	memfs_usage(fs, &bytes, &count);
	EQ(count, 2);

	EQ(O->unlink(&R, root, "rd"), -EISDIR);
	EQ(O->rmdir(&R, root, "rd"), 0);
	struct umfs_entry e;
	EQ(O->mkdir(&R, d, "x", 0755, &e), -ENOENT); /* removed: takes no names */
	EQ(stat_of(d).st_nlink, 0);
	EQ(stat_of(root).st_nlink, 2);
	O->forget(fs, d, 1);
	memfs_usage(fs, &bytes, &count);
	EQ(count, 1);
}

static void test_rename(void)
{
	void *a = make_dir(root, "A"), *b = make_dir(a, "B"), *c = make_dir(b, "C");
	void *f = make_file(a, "f", 0644), *g = make_file(root, "g", 0644);
	struct umfs_entry e;

	EQ(O->rename(&R, root, "A", c, "A2", 0), -EINVAL); /* into its own subtree */
	EQ(O->rename(&R, root, "A", a, "A2", 0), -EINVAL);
	EQ(O->rename(&R, b, "C", root, "A", 0), -ENOTEMPTY); /* over an ancestor */
	EQ(O->rename(&R, b, "C", root, "A", RENAME_EXCHANGE), -EINVAL);
	EQ(O->rename(&R, root, "g", a, "B", 0), -EISDIR);
	EQ(O->rename(&R, a, "B", root, "g", 0), -ENOTDIR);
	EQ(O->rename(&R, root, "g", a, "f", RENAME_NOREPLACE), -EEXIST);
	EQ(O->rename(&R, root, "nope", a, "f", 0), -ENOENT);
	EQ(O->rename(&R, root, "g", a, "nope", RENAME_EXCHANGE), -ENOENT);
	EQ(O->rename(&R, root, "g", a, "x", RENAME_EXCHANGE | RENAME_NOREPLACE), -EINVAL);
	EQ(O->rename(&R, root, "g", a, "x", 1 << 2 /* RENAME_WHITEOUT */), -EINVAL);
	EQ(O->rename(&R, root, "A", root, "A", 0), 0);

	/* Exchange a file and a directory across directories. */
	EQ(stat_of(a).st_nlink, 3);
	EQ(O->rename(&R, root, "g", a, "B", RENAME_EXCHANGE), 0);
	CHECK(lookup(root, "g") == b);
	CHECK(lookup(a, "B") == g);
	EQ(stat_of(a).st_nlink, 2);
	EQ(stat_of(root).st_nlink, 4);
	EQ(O->lookup(&R, b, "..", &e), 0);
	CHECK(e.node == root);

	/* A directory over an empty one. */
	void *empty = make_dir(a, "E");
	EQ(O->rename(&R, b, "C", a, "E", 0), 0);
	CHECK(lookup(a, "E") == c);
	EQ(stat_of(empty).st_nlink, 0);
	EQ(stat_of(b).st_nlink, 2);
	EQ(stat_of(a).st_nlink, 3);
	O->forget(fs, empty, 1);

	/* A file over a file: the old target loses its name. */
	struct stat before = stat_of(f);
	usleep(2000);
	EQ(O->rename(&R, a, "f", a, "B", 0), 0);
	EQ(stat_of(g).st_nlink, 0);
	CHECK(lookup(a, "f") == NULL);
	CHECK(lookup(a, "B") == f);
	CHECK(stat_of(f).st_ctim.tv_sec * 1000000000LL + stat_of(f).st_ctim.tv_nsec >
	      before.st_ctim.tv_sec * 1000000000LL + before.st_ctim.tv_nsec);
	O->forget(fs, g, 2); /* made, and looked up once */

	/* Two names of one file: rename does nothing. */
	EQ(O->link(&R, f, root, "f2", &e), 0);
	EQ(stat_of(f).st_nlink, 2);
	EQ(O->rename(&R, a, "B", root, "f2", 0), 0);
	CHECK(lookup(a, "B") == f);
	CHECK(lookup(root, "f2") == f);
	EQ(O->link(&R, a, root, "dirlink", &e), -EPERM);
	EQ(O->link(&R, f, root, "f2", &e), -EEXIST);
}

static void test_tmpfile(void)
{
	struct umfs_entry e;
	struct umfs_open o;
	EQ(O->tmpfile(&R, root, 0600, O_RDWR, &e, &o), 0);
	void *t = e.node;
	EQ(stat_of(t).st_nlink, 0);
	EQ(write_str(t, "tmp", 0), 3);
	EQ(O->link(&R, t, root, "linked", &e), 0);
	EQ(stat_of(t).st_nlink, 1);
	EQ(O->unlink(&R, root, "linked"), 0);
	EQ(O->link(&R, t, root, "again", &e), -ENOENT); /* removed, not a tmpfile any more */
	O->forget(fs, t, 2); /* tmpfile and link each hand it out */
}

static void test_xattr(void)
{
	void *f = make_file(root, "x", 0644);
	char buf[64];
	EQ(O->getxattr(&R, f, "user.a", buf, sizeof buf), -ENODATA);
	EQ(O->setxattr(&R, f, "user.a", "1", 1, XATTR_REPLACE), -ENODATA);
	EQ(O->setxattr(&R, f, "user.a", "1", 1, XATTR_CREATE), 0);
	EQ(O->setxattr(&R, f, "user.a", "22", 2, XATTR_CREATE), -EEXIST);
	EQ(O->setxattr(&R, f, "user.a", "22", 2, XATTR_REPLACE), 0);
	EQ(O->setxattr(&R, f, "trusted.b", "", 0, 0), 0);
	EQ(O->setxattr(&R, f, "system.posix_acl_access", "", 0, 0), -EOPNOTSUPP);
	EQ(O->setxattr(&R, f, "user.", "", 0, 0), -EINVAL);
	EQ(O->getxattr(&R, f, "user.a", NULL, 0), 2);
	EQ(O->getxattr(&R, f, "user.a", buf, 1), -ERANGE);
	EQ(O->getxattr(&R, f, "user.a", buf, 2), 2);
	CHECK(!memcmp(buf, "22", 2));
	EQ(O->getxattr(&R, f, "trusted.b", buf, 10), 0);
	EQ(O->listxattr(&R, f, NULL, 0), 17);
	EQ(O->listxattr(&R, f, buf, 5), -ERANGE);
	EQ(O->listxattr(&R, f, buf, 64), 17);
	CHECK(!memcmp(buf, "user.a\0trusted.b\0", 17));
	EQ(O->removexattr(&R, f, "user.a"), 0);
	EQ(O->removexattr(&R, f, "user.a"), -ENODATA);
	EQ(O->removexattr(&R, f, "trusted.b"), 0);
	EQ(O->listxattr(&R, f, buf, 64), 0);
}

static void test_ownership(void)
{
	void *f = make_file(root, "p", 0644);
	struct stat in = { .st_mode = 06755 };
	struct umfs_attr a;
	char buf[8];

	/* A write that asks for it clears set-ID bits and file capabilities. */
	EQ(O->setxattr(&R, f, "security.capability", "c", 1, 0), 0);
	EQ(O->setattr(&R, f, NULL, &in, UMFS_SET_MODE, &a), 0);
	EQ(a.st.st_mode & 07777, 06755);
	EQ(O->write(&R, f, NULL, "k", 1, 0, UMFS_WRITE_KILL_SUIDGID), 1);
	EQ(stat_of(f).st_mode & 07777, 0755);
	EQ(O->getxattr(&R, f, "security.capability", buf, sizeof buf), -ENODATA);

	/* Set-group-ID without group execute is not a privilege: it stays. */
	in.st_mode = 02745;
	EQ(O->setattr(&R, f, NULL, &in, UMFS_SET_MODE, &a), 0);
	in.st_uid = 5;
	EQ(O->setattr(&R, f, NULL, &in, UMFS_SET_UID | UMFS_SET_KILL_SUIDGID, &a), 0);
	EQ(a.st.st_mode & 07777, 02745);
	EQ(a.st.st_uid, 5);

	/* chown by someone other than root clears set-user-ID. */
	in.st_mode = 04755;
	EQ(O->setattr(&R, f, NULL, &in, UMFS_SET_MODE, &a), 0);
	R.caller.uid = 5;
	in.st_gid = 5;
	EQ(O->setattr(&R, f, NULL, &in, UMFS_SET_GID, &a), 0);
	EQ(a.st.st_mode & 07777, 0755);
	R.caller.uid = 0;

	/* A set-group-ID directory gives its group, and to directories its bit. */
	void *d = make_dir(root, "sg");
	in.st_mode = 02775;
	in.st_gid = 77;
	EQ(O->setattr(&R, d, NULL, &in, UMFS_SET_MODE | UMFS_SET_GID, &a), 0);
	R.caller.uid = 1000;
	R.caller.gid = 1000;
	void *sub = make_dir(d, "sub"), *sf = make_file(d, "file", 0644);
	R.caller.uid = R.caller.gid = 0;
	EQ(stat_of(sub).st_gid, 77);
	EQ(stat_of(sub).st_mode & 07777, 02755);
	EQ(stat_of(sf).st_gid, 77);
	EQ(stat_of(sf).st_uid, 1000);
	EQ(stat_of(sf).st_mode & 07777, 0644);

	/* Times: explicit, now, and ctime on any change. */
	struct stat t = { .st_atim = { 1, 2 }, .st_mtim = { -3, 4 } };
	EQ(O->setattr(&R, f, NULL, &t, UMFS_SET_ATIME | UMFS_SET_MTIME, &a), 0);
	EQ(a.st.st_atim.tv_sec, 1);
	EQ(a.st.st_atim.tv_nsec, 2);
	EQ(a.st.st_mtim.tv_sec, -3);
	EQ(a.st.st_mtim.tv_nsec, 4);
	CHECK(a.st.st_ctim.tv_sec > 1000000000);
	EQ(O->setattr(&R, f, NULL, &t, UMFS_SET_MTIME | UMFS_SET_MTIME_NOW, &a), 0);
	CHECK(a.st.st_mtim.tv_sec > 1000000000);
	t.st_atim.tv_nsec = 1000000000;
	EQ(O->setattr(&R, f, NULL, &t, UMFS_SET_ATIME, &a), -EINVAL);
}

static void test_special_files(void)
{
	struct umfs_entry e;
	char buf[64];
	EQ(O->mknod(&R, root, "fifo", S_IFIFO | 0600, 0, &e), 0);
	EQ(e.attr.st_mode, S_IFIFO | 0600);
	EQ(O->mknod(&R, root, "chr", S_IFCHR | 0600, makedev(1, 3), &e), 0);
	EQ(e.attr.st_rdev, makedev(1, 3));
	EQ(O->mknod(&R, root, "dir", S_IFDIR | 0600, 0, &e), -EINVAL);
	EQ(O->symlink(&R, root, "sl", "target/path", &e), 0);
	EQ(e.attr.st_size, 11);
	EQ(O->readlink(&R, e.node, buf, sizeof buf), 11);
	CHECK(!memcmp(buf, "target/path", 11));
	EQ(O->readlink(&R, e.node, buf, 3), 3);
	EQ(O->readlink(&R, root, buf, 3), -EINVAL);
	struct statvfs sv;
	EQ(O->statfs(&R, root, &sv), 0);
	EQ(sv.f_namemax, 255);
	EQ(sv.f_bsize, 4096);
}

static void test_fallocate_copy(void)
{
	void *f = make_file(root, "fa", 0644);
	off_t pos;
	EQ(O->fallocate(&R, f, NULL, FALLOC_FL_KEEP_SIZE, 0, 3 * 4096), 0);
	EQ(stat_of(f).st_size, 0);
	EQ(stat_of(f).st_blocks, 24);
	EQ(O->lseek(&R, f, NULL, 0, SEEK_DATA, &pos), -ENXIO);
	EQ(O->fallocate(&R, f, NULL, 0, 4096, 4096 * 4), 0);
	EQ(stat_of(f).st_size, 5 * 4096);
	EQ(stat_of(f).st_blocks, 40);
	EQ(O->fallocate(&R, f, NULL, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 4096 * 2),
	   0);
	EQ(stat_of(f).st_blocks, 32);
	EQ(O->fallocate(&R, f, NULL, FALLOC_FL_PUNCH_HOLE, 0, 1), -EOPNOTSUPP);
	EQ(O->fallocate(&R, f, NULL, FALLOC_FL_COLLAPSE_RANGE, 0, 4096), -EOPNOTSUPP);
	EQ(O->fallocate(&R, f, NULL, 0, 0, 0), -EINVAL);
	EQ(O->lseek(&R, f, NULL, 0, SEEK_HOLE, &pos), 0);
	EQ(pos, 4096);
	EQ(O->lseek(&R, f, NULL, 4096, SEEK_DATA, &pos), 0);
	EQ(pos, 8192);

	/* copy_file_range keeps holes holes. */
	void *g = make_file(root, "fb", 0644);
	static char big[10000];
	memset(big, 'q', sizeof big);
	EQ(O->write(&R, f, NULL, big, 10, 0, 0), 10);
	EQ(O->write(&R, g, NULL, big, sizeof big, 0, 0), sizeof big);
	EQ(O->copy_file_range(&R, f, NULL, 0, g, NULL, 1, 100000, 0), 5 * 4096);
	EQ(stat_of(g).st_size, 5 * 4096 + 1);
	static char buf[5 * 4096 + 1];
	EQ(O->read(&R, g, NULL, buf, sizeof buf, 0), sizeof buf);
	CHECK(buf[0] == 'q' && buf[1] == 'q' && buf[10] == 'q' && buf[11] == 0);
	CHECK(buf[4096] == 0 && buf[9999] == 0);
	EQ(O->copy_file_range(&R, g, NULL, 0, g, NULL, 10, 100, 0), -EINVAL); /* overlap */
	EQ(O->copy_file_range(&R, g, NULL, 0, g, NULL, 4096 * 10, 100, 0), 100);
	EQ(O->copy_file_range(&R, g, NULL, 1 << 20, g, NULL, 0, 100, 0), 0);
}

static void test_limits(void)
{
	struct memfs_options opt = { .max_size = 1 << 20, .max_nodes = 10 };
	struct memfs *small = memfs_new(&opt);
	umfs_req r = { .fs = small };
	void *rt = memfs_root(small);
	struct umfs_entry e;
	struct umfs_open o;
	char name[16];
	int made = 0;
	for (int i = 0; i < 20; i++) {
		sprintf(name, "n%d", i);
		int rc = O->create(&r, rt, name, 0644, O_CREAT | O_RDWR, &e, &o);
		if (rc == 0) {
			made++;
		} else {
			EQ(rc, -ENOSPC);
		}
	}
	EQ(made, 9); /* and the root */

	static char data[1 << 20];
	EQ(O->lookup(&r, rt, "n0", &e), 0);
	int w = O->write(&r, e.node, NULL, data, sizeof data, 0, 0);
	CHECK(w > 0 && w < (1 << 20)); /* short: what fit */
	uint64_t bytes, nodes;
	memfs_usage(small, &bytes, &nodes);
	CHECK(bytes <= (1 << 20));
	EQ(nodes, 10);
	EQ(O->write(&r, e.node, NULL, data, 4096, 1 << 20, 0), -ENOSPC);
	EQ(O->fallocate(&r, e.node, NULL, 0, 0, 1 << 21), -ENOSPC);
	EQ(O->setxattr(&r, e.node, "user.big", data, 65536, 0), -ENOSPC);

	struct statvfs sv;
	O->statfs(&r, rt, &sv);
	EQ(sv.f_blocks, 256);
	CHECK(sv.f_bfree <= 1);
	EQ(sv.f_files, 10);
	EQ(sv.f_ffree, 0);

	/* Space comes back. */
	struct stat in = { .st_size = 0 };
	struct umfs_attr a;
	EQ(O->setattr(&r, e.node, NULL, &in, UMFS_SET_SIZE, &a), 0);
	memfs_usage(small, &bytes, NULL);
	CHECK(bytes < 4096);
	memfs_free(small);
}

static void test_lseek_with_writeback_cache(void)
{
	/* The kernel does not write cached data back before SEEK_DATA: memfs must not
	 * answer then. */
	struct memfs_options wb = { .writeback_cache = true };
	struct memfs *m = memfs_new(&wb);
	umfs_req r = { .fs = m };
	memfs_operations.init(m, NULL);
	off_t pos;
	EQ(O->lseek(&r, memfs_root(m), NULL, 0, SEEK_DATA, &pos), -ENOSYS);
	memfs_free(m);

	/* Without the cache (the default) memfs answers. */
	struct memfs_options opt = { .max_size = 1 << 20 };
	m = memfs_new(&opt);
	r.fs = m;
	memfs_operations.init(m, NULL);
	struct umfs_entry e;
	struct umfs_open o;
	EQ(O->create(&r, memfs_root(m), "f", 0644, O_CREAT | O_RDWR, &e, &o), 0);
	EQ(O->write(&r, e.node, NULL, "x", 1, 8192, 0), 1);
	EQ(O->lseek(&r, e.node, NULL, 0, SEEK_DATA, &pos), 0);
	EQ(pos, 8192);
	memfs_free(m);
}

static void test_parse_size(void)
{
	uint64_t v;
	EQ(memfs_parse_size("2G", &v), 0);
	EQ(v, 2ULL << 30);
	EQ(memfs_parse_size("512M", &v), 0);
	EQ(v, 512ULL << 20);
	EQ(memfs_parse_size("64k", &v), 0);
	EQ(v, 64ULL << 10);
	EQ(memfs_parse_size("1GiB", &v), 0);
	EQ(v, 1ULL << 30);
	EQ(memfs_parse_size("123", &v), 0);
	EQ(v, 123);
	EQ(memfs_parse_size("0", &v), 0);
	EQ(v, 0);
	EQ(memfs_parse_size("", &v), -EINVAL);
	EQ(memfs_parse_size("-1", &v), -EINVAL);
	EQ(memfs_parse_size("+1", &v), -EINVAL);
	EQ(memfs_parse_size("1x", &v), -EINVAL);
	EQ(memfs_parse_size("1 G", &v), -EINVAL);
	EQ(memfs_parse_size(" 1G", &v), -EINVAL);
	EQ(memfs_parse_size("1GB", &v), -EINVAL);
	EQ(memfs_parse_size("1.5G", &v), -EINVAL);
	EQ(memfs_parse_size("G", &v), -EINVAL);
	EQ(memfs_parse_size("16E", &v), -ERANGE);
	EQ(memfs_parse_size("15E", &v), 0);
	EQ(memfs_parse_size("18446744073709551615", &v), 0);
	EQ(v, UINT64_MAX);
	EQ(memfs_parse_size("18446744073709551616", &v), -ERANGE);
}

/* ---- runner ---- */

struct test {
	const char *name;
	void (*fn)(void);
	bool own_fs; /* makes its own memfs */
};

static const struct test tests[] = {
	{ "file_data", test_file_data, false },
	{ "readdir", test_readdir, false },
	{ "rename", test_rename, false },
	{ "tmpfile", test_tmpfile, false },
	{ "xattr", test_xattr, false },
	{ "ownership", test_ownership, false },
	{ "special_files", test_special_files, false },
	{ "fallocate_copy", test_fallocate_copy, false },
	{ "limits", test_limits, true },
	{ "lseek_with_writeback_cache", test_lseek_with_writeback_cache, true },
	{ "parse_size", test_parse_size, true },
};

int main(void)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		int before = failed_checks;
		if (!tests[i].own_fs) {
			fs = memfs_new(NULL);
			R = (umfs_req){ .fs = fs };
			root = memfs_root(fs);
		}
		tests[i].fn();
		if (!tests[i].own_fs)
			memfs_free(fs);
		bool ok = failed_checks == before;
		printf("%s %s\n", ok ? "ok  " : "FAIL", tests[i].name);
		ok ? passed++ : failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
