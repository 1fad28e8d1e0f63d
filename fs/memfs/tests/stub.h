/* SPDX-License-Identifier: MIT */
/*
 * stub.h - a stand-in for the few libumfs functions memfs calls, so that tests drive
 * memfs's callbacks directly, without a session or a mount.
 */
#ifndef MEMFS_TEST_STUB_H
#define MEMFS_TEST_STUB_H

#include <umfs/umfs.h>

/* A request: the file system and who asks. */
struct umfs_req {
	void *fs;
	struct umfs_caller caller;
};

struct stub_dirent {
	char name[256];
	ino_t ino;
	mode_t mode;
	void *node;
	off_t next_off;
};

/* A listing: up to `cap` entries (at most STUB_DIR_MAX) are collected in ents[]. */
#define STUB_DIR_MAX 64
struct umfs_dirbuf {
	int plus;
	int cap, n;
	struct stub_dirent ents[STUB_DIR_MAX];
};

/* Called for each readdirplus entry that carries a node, as the library counts it. */
extern void (*stub_on_plus_node)(void *node);

#endif
