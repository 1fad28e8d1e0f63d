/* SPDX-License-Identifier: MIT */
/*
 * cfs_int.h - cryptfs internals: nodes, views, handles, locks.
 *
 * Views. A regular file of the vault is shown as two kernel inodes (two nodes): the
 * plaintext view and the container view. The kernel keeps one page cache and one
 * size per inode, so two inodes keep the two kinds of bytes apart by construction.
 * Which one a path walk reaches is decided per caller at lookup. Names are cached by
 * the kernel (the entry timeout), the attributes of file nodes never (attribute
 * timeout 0): every stat, permission check (default_permissions), open, and path
 * truncate of a file node without a handle reaches cryptfs, which judges the caller
 * (cfs_file.c, judge()); a caller of the other view gets ESTALE, and the kernel walks
 * again with LOOKUP_REVAL, which sends a lookup that gives the caller's own node (the
 * kernel drops the cached name that led to the other one). An open handle keeps its
 * view. Modes, owners and times are one in both views and need no judging.
 * Directories, symlinks and special files have one node (VIEW_SHARED): names and
 * link targets are shown in plaintext to everyone.
 */
#ifndef UMFS_CFS_INT_H
#define UMFS_CFS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "crypt_file.h"
#include "crypt_name.h"
#include "cryptfs.h"

enum view { VIEW_SHARED = 0, VIEW_PLAIN = 1, VIEW_CONTAINER = 2 };

struct cnode {
	int fd;             /* O_PATH | O_NOFOLLOW of the object in the vault */
	dev_t dev;
	ino_t ino;
	mode_t type;
	enum view view;
	uint64_t nlookup;
	uint8_t dirid[CF_ID_LEN]; /* directories: the id their names are encrypted with */
	bool has_dirid;
	char name[64];      /* plaintext name at the first lookup, for log lines */
	struct cnode *next;
};

/* An open regular file. */
struct cfh {
	int fd;            /* the container, opened by this process */
	enum view view;
	/* Container view, opened for writing: the bytes written go to a staging file,
	 * stored at flush as they are when they form a valid container of this vault,
	 * else encrypted as plaintext (or refused: refuse_foreign_writes). */
	int stage;         /* -1 when none */
	bool dirty;
};

#define LOCK_STRIPES 128

/* A thread's verdicts from /proc, remembered for a short while (cfs_policy.c). */
#define VCACHE_SLOTS 256
#define VCACHE_TTL_NS 50000000ull /* 50 ms */
struct vslot {
	pid_t tid;
	int pidfd;      /* that thread, so a reused id is never taken for it; -1: empty */
	uint64_t until; /* CLOCK_MONOTONIC ns */
	bool traced, in_cgroup;
};

struct cryptfs {
	struct cf_keys *keys;
	int vault_fd;      /* VAULT itself (staging files live there) */
	struct cnode *root;
	struct cryptfs_options pol; /* copies */
	struct cryptfs_exe *exes;
	uid_t *uids;
	char **cgroups;

	pthread_mutex_t lock; /* the node table */
	struct cnode **buckets;
	size_t nbuckets;
	size_t count;

	/* Writers of one container exclude each other and its readers, whichever view
	 * they come through: a lock per (dev, ino), striped. */
	pthread_rwlock_t stripes[LOCK_STRIPES];

	/* VAULT/xattr has (or had, since the mount started) attributes: removing the last
	 * name of an object must remove its attributes too (cfs_xattr.c). */
	bool xattrs_used;
	/* VAULT/links holds long symlink targets (cfs_links.c): the same for them. */
	bool links_used;

	pthread_mutex_t vlock;
	struct vslot vcache[VCACHE_SLOTS];
};

static inline struct cryptfs *CFS(umfs_req *req)
{
	return umfs_req_fs(req);
}

/* cfs_node.c */
int ctab_init(struct cryptfs *c);
void ctab_free(struct cryptfs *c);
/* Take ownership of fd and return its node for view v with one more handout. */
int cnode_get(struct cryptfs *c, int fd, const struct stat *st, enum view v, const char *name,
	      struct cnode **out);
void cnode_put(struct cryptfs *c, struct cnode *n, uint64_t count);
pthread_rwlock_t *cnode_lock(struct cryptfs *c, const struct cnode *n);
const char *cfd_path(int fd, char *buf, size_t size);
#define FD_PATH_MAX 32
/* Read a directory's id from its DIRID_NAME file (dfd: O_PATH or open directory). */
int dirid_read(int dfd, uint8_t id[CF_ID_LEN]);
/* Create DIRID_NAME with a fresh id in directory dfd. */
int dirid_create(int dfd, uint8_t id[CF_ID_LEN]);

/* cfs_policy.c: the view a caller gets. */
enum view cfs_view_of(struct cryptfs *c, const struct umfs_caller *who);
void cfs_vcache_init(struct cryptfs *c);
void cfs_vcache_free(struct cryptfs *c);

/* cfs_ns.c */
/* The on-disk name of name in dir (hashed: a long name with a sidecar, enc holds its
 * content). disk: CN_SHORT_MAX + 1 bytes, enc: CN_ENC_MAX + 1. */
int cfs_disk_name(struct cryptfs *c, struct cnode *dir, const char *name, char *disk, char *enc,
		  bool *hashed);
int cfs_write_sidecar(int dfd, const char *disk, const char *enc);
/* A mount run by root: give a new object to its caller (uid, and gid unless the
 * directory is setgid), as a local file system would. mode: the requested mode, put
 * back when the change of owner dropped setuid/setgid. */
void cfs_give_to_caller(umfs_req *req, struct cnode *dir, const char *disk, mode_t mode);
void cfs_remove_sidecar(int dfd, const char *disk);
/* Fill e with the node of on-disk name disk in dir, for view v (regular files). */
int cfs_lookup_disk(struct cryptfs *c, struct cnode *dir, const char *disk, const char *name,
		    enum view v, struct umfs_entry *e);
/* Attributes of a node as its view shows them. */
int cfs_stat(struct cryptfs *c, struct cnode *n, struct cfh *h, struct stat *st);
void cfs_log_damage(struct cnode *n, const char *what, uint64_t block);

int cfs_lookup(umfs_req *req, void *dir, const char *name, struct umfs_entry *out);
void cfs_forget(void *fs, void *node, uint64_t nlookup);
int cfs_mknod(umfs_req *req, void *dir, const char *name, mode_t mode, dev_t rdev,
	      struct umfs_entry *out);
int cfs_mkdir(umfs_req *req, void *dir, const char *name, mode_t mode, struct umfs_entry *out);
int cfs_symlink(umfs_req *req, void *dir, const char *name, const char *target,
		struct umfs_entry *out);
int cfs_link(umfs_req *req, void *node, void *newdir, const char *newname,
	     struct umfs_entry *out);
int cfs_unlink(umfs_req *req, void *dir, const char *name);
int cfs_rmdir(umfs_req *req, void *dir, const char *name);
int cfs_rename(umfs_req *req, void *dir, const char *name, void *newdir, const char *newname,
	       unsigned flags);
int cfs_readlink(umfs_req *req, void *node, char *buf, size_t size);

/* cfs_file.c */
int cfs_getattr(umfs_req *req, void *node, void *fh, struct umfs_attr *out);
int cfs_setattr(umfs_req *req, void *node, void *fh, const struct stat *in, unsigned valid,
		struct umfs_attr *out);
int cfs_open(umfs_req *req, void *node, int flags, struct umfs_open *out);
int cfs_create(umfs_req *req, void *dir, const char *name, mode_t mode, int flags,
	       struct umfs_entry *entry, struct umfs_open *out);
int cfs_tmpfile(umfs_req *req, void *dir, mode_t mode, int flags, struct umfs_entry *entry,
		struct umfs_open *out);
int cfs_read(umfs_req *req, void *node, void *fh, void *buf, size_t size, off_t off);
int cfs_write(umfs_req *req, void *node, void *fh, const void *buf, size_t size, off_t off,
	      unsigned flags);
int cfs_flush(umfs_req *req, void *node, void *fh, uint64_t lock_owner);
int cfs_release(umfs_req *req, void *node, void *fh, int flags);
int cfs_fsync(umfs_req *req, void *node, void *fh, int datasync);
int cfs_statfs(umfs_req *req, void *node, struct statvfs *out);
int cfs_fallocate(umfs_req *req, void *node, void *fh, int mode, off_t off, off_t len);

/* cfs_xattr.c */
/* The file id in the header of the container pfd (O_PATH); -EIO when not ours. */
int cfs_file_id(struct cryptfs *c, int pfd, uint8_t id[CF_ID_LEN]);
/* The id attributes of n are bound to (file id, directory id); -EPERM: other types. */
int cfs_object_id(struct cryptfs *c, struct cnode *n, uint8_t id[CF_ID_LEN]);
/* Remove every attribute of the object with id (its last name is gone). */
void cfs_xattr_drop(struct cryptfs *c, const uint8_t id[CF_ID_LEN]);
/* fsck: the count of attribute records of id that do not authenticate. */
int cfs_xattr_check(struct cryptfs *c, const uint8_t id[CF_ID_LEN]);
int cfs_setxattr(umfs_req *req, void *node, const char *name, const void *value, size_t size,
		 int flags);
int cfs_getxattr(umfs_req *req, void *node, const char *name, void *buf, size_t size);
int cfs_listxattr(umfs_req *req, void *node, char *buf, size_t size);
int cfs_removexattr(umfs_req *req, void *node, const char *name);

/* cfs_links.c: long symlink targets. A vault symlink's stored target of this length
 * ("~" + 32 hex digits; no base64url form has it) names a record in VAULT/links. */
#define CFS_LONG_LINK_LEN 33
bool cfs_is_long_link(const char *stored);
/* Store a long target; stored gets the vault symlink's target (CFS_LONG_LINK_LEN + 1). */
int cfs_long_link_store(struct cryptfs *c, const char *target, char *stored);
/* The target (into plain, CN_LONG_LINK_MAX + 1); its length or -EBADMSG. */
int cfs_long_link_load(struct cryptfs *c, const char *stored, char *plain);
/* The target's length, from its record's size (0 when missing). */
off_t cfs_long_link_size(struct cryptfs *c, const char *stored);
void cfs_long_link_drop(struct cryptfs *c, const char *stored);

/* cfs_dir.c */
int cfs_opendir(umfs_req *req, void *node, int flags, struct umfs_open *out);
int cfs_readdir(umfs_req *req, void *node, void *fh, off_t off, umfs_dirbuf *buf);
int cfs_releasedir(umfs_req *req, void *node, void *fh);
/* Decrypt on-disk name disk of directory (fd dfd, id dirid) into out
 * (CN_PLAIN_MAX + 1). Returns 0, or -EBADMSG for a name that is not ours (hidden),
 * -ENOENT for names that are not entries (the dir id file, sidecars). */
int cfs_plain_name(struct cryptfs *c, int dfd, const uint8_t dirid[CF_ID_LEN], const char *disk,
		   char *out);

#endif
