/* SPDX-License-Identifier: MIT */
/*
 * cryptfs.h - a vault of encrypted containers shown through umfs, with a view per
 * caller: programs the policy allows see plaintext, every other one sees the
 * encrypted container (doc/cryptfs-format.md, "Per-process views").
 *
 *	struct cf_keys *k;   (from cf_config_unlock(); the cryptfs owns it then)
 *	struct cryptfs *c = cryptfs_new("/home/me/.vault", k, &opts);
 *	umfs_session *s = umfs_session_new(&cryptfs_operations, sizeof cryptfs_operations,
 *					   c, cryptfs_root(c), &config);
 *	...
 *	umfs_session_destroy(s);
 *	cryptfs_free(c);     (wipes the keys)
 *
 * Like mirror, every node holds an O_PATH descriptor of its object in the vault and
 * every operation is relative to such descriptors: nothing outside the vault's tree
 * is reachable, and no path is resolved twice.
 */
#ifndef UMFS_CRYPTFS_H
#define UMFS_CRYPTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <umfs/umfs.h>

#include "crypt_keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An allowed program: the file an --allow PATH named when the mount started, by
 * device and inode, with its change time and SHA-256 then: a file changed in place
 * since (a new ctime) is allowed only while its content still has that digest. */
struct cryptfs_exe {
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
	unsigned char sha256[32];
	const char *path; /* for messages */
};

/* Fill e from the executable at path (following symlinks). 0 or a negative errno. */
int cryptfs_exe_from_path(const char *path, struct cryptfs_exe *e);

struct cryptfs_options {
	const struct cryptfs_exe *exes;
	size_t n_exes;
	const uid_t *uids;
	size_t n_uids;
	const char *const *cgroups; /* cgroup v2 paths, e.g. /user.slice/app.scope */
	size_t n_cgroups;
	/* A caller that is not allowed may only store valid containers of this vault
	 * (restoring a backup); any other write is refused with EACCES instead of
	 * being encrypted. */
	bool refuse_foreign_writes;
};

struct cryptfs;

/* Open VAULT (its tree directory) with unlocked keys k, which the cryptfs takes over
 * (also on failure). The options are copied. NULL with errno set on failure. */
struct cryptfs *cryptfs_new(const char *vault, struct cf_keys *k,
			    const struct cryptfs_options *o);
void cryptfs_free(struct cryptfs *c);
void *cryptfs_root(struct cryptfs *c);

extern const struct umfs_operations cryptfs_operations;

/* Prepare an empty VAULT directory: its tree with a root directory id. */
int cryptfs_init_tree(const char *vault);

/*
 * Check every container and name under VAULT's tree with keys k. Each problem is
 * printed on out as "PATH: what" (PATH in the vault, with the plaintext name when it
 * decrypts). Returns the number of problems, or a negative errno.
 */
int cryptfs_fsck(const char *vault, const struct cf_keys *k, void *out /* FILE * */);

#ifdef __cplusplus
}
#endif
#endif
