/* SPDX-License-Identifier: MIT */
/*
 * mirror_int.h - mirror's internals: nodes, open handles, credentials.
 *
 * Lifetime of a node: it is created by the first handout (lookup, create, ...,
 * readdirplus) of a source inode, found again by (st_dev, st_ino) for every later
 * handout of the same inode, and freed (its O_PATH descriptor closed) when forget
 * brings its handout count back to zero. The count and the table are guarded by one
 * mutex (the table is small work next to the syscalls around it). The root is never
 * freed before mirror_free().
 */
#ifndef UMFS_MIRROR_INT_H
#define UMFS_MIRROR_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mirror.h"

struct mnode {
	int fd;             /* O_PATH | O_NOFOLLOW descriptor of the source object */
	dev_t dev;          /* with ino: the key in the node table */
	ino_t ino;
	mode_t type;        /* S_IFMT bits, fixed for the life of the inode */
	uint64_t nlookup;   /* handouts to the kernel not yet forgotten */
	/* Kernel passthrough (mirror_backing.c), under the table lock: the node's
	 * backing id (0: none), how many open handles use it, and whether it stays
	 * registered until forget. */
	int backing_id;
	unsigned backing_refs;
	bool backing_kept;
	/* Directories: whether every user may search it, and until when that holds
	 * (mirror_search.c). */
	uint64_t search_state;
	struct mnode *next; /* hash chain */
};

/* An open file (fh of open/create/tmpfile). */
struct mfile {
	int fd;
	bool backed; /* holds a reference to its node's backing id */
};

struct mirror {
	struct mnode *root;
	bool impersonate;
	bool passthrough;      /* asked for, and the kernel offers it (set at init) */
	bool passthrough_wanted;
	/* The source reports errors at close (NFS, SMB, FUSE): pass each close on as a
	 * flush. A local source does not, and then the kernel need not ask. */
	bool source_flushes;
	/* Impersonating without default_permissions: the kernel does not check search
	 * permission along cached names (mirror_search.c). */
	bool guard_search;
	/* Register nodes' O_PATH descriptors as backing files (mirror_backing.c);
	 * cleared, under lock, when the kernel refuses them. */
	bool backing_by_path;
	umfs_session *session; /* set by the first registration, for forget */
	unsigned expiring;       /* threads expiring names (mirror_search.c), under lock */
	pthread_cond_t expired;  /* signalled when expiring drops to 0 */

	pthread_mutex_t lock;  /* the table and every nlookup */
	struct mnode **buckets;
	size_t nbuckets;       /* a power of two */
	size_t count;

	/* The supplementary groups of this process, put back after impersonating. */
	gid_t *own_groups;
	int n_own_groups;
	uid_t own_uid;         /* this process's euid and egid, put back likewise */
	gid_t own_gid;
};

static inline struct mirror *MIR(umfs_req *req)
{
	return umfs_req_fs(req);
}

/* mirror_node.c: the node table. */
int mtab_init(struct mirror *m);
void mtab_free(struct mirror *m);
/* Take ownership of fd (O_PATH of a source object whose attributes are st) and give
 * back its node with one more handout, or a negative errno (fd is closed then). */
int mnode_get(struct mirror *m, int fd, const struct stat *st, struct mnode **out);
/* Whether a node of (dev, ino) exists, i.e. the kernel holds that inode. */
bool mnode_known(struct mirror *m, dev_t dev, ino_t ino);
/* One more handout of n, held by mirror itself (given back with mnode_put). */
void mnode_hold(struct mirror *m, struct mnode *n);
/* Undo n handouts (forget, or a handout that did not reach the kernel). */
void mnode_put(struct mirror *m, struct mnode *n, uint64_t count);
/* Look name up in dir (O_PATH, never following a final symlink) and fill e (node,
 * attributes) with a new handout. */
int mnode_lookup(struct mirror *m, struct mnode *dir, const char *name, struct umfs_entry *e);
/* Path naming a descriptor through /proc/self/fd, for calls that have no *at() or
 * fd form usable with O_PATH. buf: at least 32 bytes. */
const char *mfd_path(int fd, char *buf, size_t size);
#define FD_PATH_MAX 32

/* mirror_backing.c: kernel passthrough. */
void mbacking_init(struct mirror *m);
/* The backing id for an open of n whose own descriptor is fd, with a reference that
 * mbacking_put gives back; or -errno (the open then goes without passthrough). */
int mbacking_get(umfs_req *req, struct mnode *n, int fd);
void mbacking_put(umfs_req *req, struct mnode *n);
/* n is being freed: close its kept registration. */
void mbacking_forget(struct mirror *m, struct mnode *n);

/* mirror_attr.c: clear S_ISUID, and S_ISGID where group-executable, as a write or
 * truncate by a caller without CAP_FSETID must (see mirror_init: HANDLE_KILLPRIV_V2
 * makes this mirror's job). f: an open handle of n, or NULL. */
void mirror_drop_suidgid(umfs_req *req, struct mnode *n, struct mfile *f);

/* mirror_search.c: whether the kernel may cache names in dir (every user may search
 * it, or the kernel checks itself). */
bool msearch_caches(struct mirror *m, struct mnode *dir);
/* Cache e's name not at all in a directory where msearch_caches() is false. */
void msearch_limit(struct mirror *m, struct mnode *dir, struct umfs_entry *e);
/* After a change of dir's mode, owner or ACL that ended with result: forget what it
 * allows and, if not everyone may search it now, expire the names the kernel holds
 * in it (once the change has its reply). Returns result. */
int msearch_changed(umfs_req *req, struct mnode *dir, int result);
/* Wait until no names are being expired (the session's end). */
void msearch_wait(struct mirror *m);

/* mirror_cred.c: act as the caller for the duration of one callback. */
struct mcred_saved {
	bool switched;
};
/* Takes the caller's fsuid/fsgid/groups on this thread (when impersonating and the
 * caller is not root). Returns 0 or a negative errno (then nothing changed). */
int mcred_become(umfs_req *req, struct mcred_saved *s);
/* Back to this process's own credentials. */
void mcred_restore(umfs_req *req, struct mcred_saved *s);
/* Read this process's groups (at mirror_new). */
int mcred_init(struct mirror *m);

/* The callbacks, by file. */
/* mirror_ns.c */
int mirror_lookup(umfs_req *req, void *dir, const char *name, struct umfs_entry *out);
void mirror_forget(void *fs, void *node, uint64_t nlookup);
int mirror_mknod(umfs_req *req, void *dir, const char *name, mode_t mode, dev_t rdev,
		 struct umfs_entry *out);
int mirror_mkdir(umfs_req *req, void *dir, const char *name, mode_t mode,
		 struct umfs_entry *out);
int mirror_symlink(umfs_req *req, void *dir, const char *name, const char *target,
		   struct umfs_entry *out);
int mirror_link(umfs_req *req, void *node, void *newdir, const char *newname,
		struct umfs_entry *out);
int mirror_unlink(umfs_req *req, void *dir, const char *name);
int mirror_rmdir(umfs_req *req, void *dir, const char *name);
int mirror_rename(umfs_req *req, void *dir, const char *name, void *newdir,
		  const char *newname, unsigned flags);
int mirror_readlink(umfs_req *req, void *node, char *buf, size_t size);
/* mirror_attr.c (and syncfs, access) */
int mirror_getattr(umfs_req *req, void *node, void *fh, struct umfs_attr *out);
int mirror_setattr(umfs_req *req, void *node, void *fh, const struct stat *in,
		   unsigned valid, struct umfs_attr *out);
int mirror_statfs(umfs_req *req, void *node, struct statvfs *out);
int mirror_syncfs(umfs_req *req, void *node);
int mirror_access(umfs_req *req, void *node, int mask);
/* mirror_file.c */
int mirror_open(umfs_req *req, void *node, int flags, struct umfs_open *out);
int mirror_create(umfs_req *req, void *dir, const char *name, mode_t mode, int flags,
		  struct umfs_entry *entry, struct umfs_open *out);
int mirror_tmpfile(umfs_req *req, void *dir, mode_t mode, int flags,
		   struct umfs_entry *entry, struct umfs_open *out);
int mirror_release(umfs_req *req, void *node, void *fh, int flags);
/* mirror_io.c */
int mirror_read(umfs_req *req, void *node, void *fh, void *buf, size_t size, off_t off);
int mirror_write(umfs_req *req, void *node, void *fh, const void *buf, size_t size,
		 off_t off, unsigned flags);
int mirror_flush(umfs_req *req, void *node, void *fh, uint64_t lock_owner);
int mirror_fsync(umfs_req *req, void *node, void *fh, int datasync);
int mirror_fallocate(umfs_req *req, void *node, void *fh, int mode, off_t off, off_t len);
ssize_t mirror_copy_file_range(umfs_req *req, void *node_in, void *fh_in, off_t off_in,
			       void *node_out, void *fh_out, off_t off_out, size_t len,
			       int flags);
int mirror_lseek(umfs_req *req, void *node, void *fh, off_t off, int whence, off_t *out);
/* mirror_dir.c */
int mirror_opendir(umfs_req *req, void *node, int flags, struct umfs_open *out);
int mirror_readdir(umfs_req *req, void *node, void *fh, off_t off, umfs_dirbuf *buf);
int mirror_releasedir(umfs_req *req, void *node, void *fh);
int mirror_fsyncdir(umfs_req *req, void *node, void *fh, int datasync);
/* mirror_xattr.c */
int mirror_setxattr(umfs_req *req, void *node, const char *name, const void *value,
		    size_t size, int flags);
int mirror_getxattr(umfs_req *req, void *node, const char *name, void *buf, size_t size);
int mirror_listxattr(umfs_req *req, void *node, char *buf, size_t size);
int mirror_removexattr(umfs_req *req, void *node, const char *name);

#endif
