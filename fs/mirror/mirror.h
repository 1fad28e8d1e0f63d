/* SPDX-License-Identifier: MIT */
/*
 * mirror.h - a real directory (SOURCE) shown through umfs, on the native API only.
 *
 * mirror is an object, used like memfs:
 *
 *	struct mirror_options o = { .impersonate = geteuid() == 0 };
 *	struct mirror *m = mirror_new("/srv/data", &o);
 *	umfs_session *s = umfs_session_new(&mirror_operations, sizeof mirror_operations,
 *					   m, mirror_root(m), &config);
 *	...
 *	umfs_session_destroy(s);
 *	mirror_free(m);
 *
 * Every node holds an O_PATH descriptor of its source object and every operation is
 * done relative to such descriptors (*at() calls, /proc/self/fd/N to reopen), never by
 * resolving a path from SOURCE again: a rename or a swapped symlink in the source
 * cannot redirect an operation, and nothing outside SOURCE is reachable through the
 * mount (symlinks are returned as stored and never followed by mirror).
 *
 * Inode numbers, owners, modes, timestamps, xattrs (POSIX ACLs included) and errors
 * are the source's. The same source inode is always the same node, so hard links stay
 * hard links.
 *
 * Changes made behind the mount: mirror asks for no caching beyond the session's
 * timeouts (set them to about 1 s) and for the kernel's auto_inval_data, so a file
 * changed in SOURCE is seen once its attributes expire; file data cached by the
 * kernel is dropped at each open. Longer timeouts are faster and staler.
 */
#ifndef UMFS_MIRROR_H
#define UMFS_MIRROR_H

#include <stdbool.h>
#include <umfs/umfs.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mirror_options {
	/* Run each operation with the caller's fsuid, fsgid and supplementary groups
	 * (needs root: CAP_SETUID and CAP_SETGID). Without it every operation runs with
	 * the credentials of this process. */
	bool impersonate;
	/* Back open files by their source file in the kernel (FUSE passthrough, Linux
	 * 6.9+, needs root) when the kernel offers it; else the normal read/write path. */
	bool passthrough;
	/* The mount has default_permissions: the kernel checks permissions before
	 * asking. Without it, an impersonating mirror leaves every check to the source
	 * and keeps the kernel from caching names where a search check is due. */
	bool default_permissions;
};

struct mirror;

/* Open SOURCE (a directory) and make a mirror of it. o may be NULL (no
 * impersonation, no passthrough). Returns NULL with errno set (ENOTDIR, ENOENT,
 * EACCES, ENOMEM, ...). Sets the process umask to 0: modes arrive from the kernel
 * with the caller's umask already applied. */
struct mirror *mirror_new(const char *source, const struct mirror_options *o);

/* Close every descriptor and free the mirror, after its session has ended. NULL is
 * ignored. */
void mirror_free(struct mirror *m);

/* The root node (SOURCE itself), for umfs_session_new(). */
void *mirror_root(struct mirror *m);

/* The callbacks. The `fs` pointer of the session must be the struct mirror. */
extern const struct umfs_operations mirror_operations;

#ifdef __cplusplus
}
#endif
#endif
