/* SPDX-License-Identifier: MIT */
/*
 * mirror_file.c - open, create, tmpfile and release: every open of the mount is a real
 * open of the source file, so the source checks the access mode (as the caller) and
 * each handle has its own descriptor (offsets of O_APPEND, locks and leases of the
 * source behave as they would there).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mirror_int.h"

/* open(2) flags the kernel passes that must not reach the reopen: O_CREAT/O_EXCL were
 * handled by the kernel's lookup, O_NOFOLLOW would refuse the /proc magic link, and
 * O_DIRECT would demand aligned buffers the session does not promise. */
static int reopen_flags(int flags)
{
	return (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_DIRECT)) | O_CLOEXEC;
}

/* Wrap an open descriptor in a handle, backed by the kernel when passthrough is on. */
static int handle_of(umfs_req *req, struct mnode *n, int fd, int flags, struct umfs_open *out)
{
	struct mirror *m = MIR(req);
	struct mfile *f = malloc(sizeof *f);

	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	f->fd = fd;
	f->backed = false;
	if (m->passthrough && n->type == S_IFREG) {
		int id = mbacking_get(req, n, fd);
		if (id > 0) {
			f->backed = true;
			out->backing_id = id;
		} else {
			umfs_log(UMFS_LOG_WARNING, "mirror: no passthrough for ino %llu: %s",
				 (unsigned long long)n->ino, strerror(-id));
		}
	}
	/* HANDLE_KILLPRIV_V2 (mirror_init) leaves clearing setuid/setgid to mirror. A
	 * backed file's writes never reach mirror, and the kernel writes to the backing
	 * file with this process's rights, which keep the bits: so they are cleared when
	 * a caller other than root opens it for writing, before any write can happen
	 * (earlier than a local file system would, at the first write). An O_TRUNC open
	 * clears them too, as truncate(2) does. */
	if (umfs_req_caller(req)->uid != 0 &&
	    ((flags & O_TRUNC) || (f->backed && (flags & O_ACCMODE) != O_RDONLY)))
		mirror_drop_suidgid(req, n, f);
	out->fh = f;
	out->noflush = !MIR(req)->source_flushes;
	return 0;
}

int mirror_open(umfs_req *req, void *node, int flags, struct umfs_open *out)
{
	struct mnode *n = node;
	char p[FD_PATH_MAX];
	struct mcred_saved cs;
	int fd, err = mcred_become(req, &cs);
	if (err)
		return err;
	fd = open(mfd_path(n->fd, p, sizeof p), reopen_flags(flags));
	err = fd < 0 ? -errno : 0;
	mcred_restore(req, &cs);
	if (err)
		return err;
	return handle_of(req, n, fd, flags, out);
}

/* The node of an open descriptor, without looking its name up again (the name may
 * already be another file's, or none for O_TMPFILE). */
static int node_of_fd(struct mirror *m, int fd, struct umfs_entry *entry)
{
	char p[FD_PATH_MAX];
	int pfd = open(mfd_path(fd, p, sizeof p), O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(fd, &entry->attr) < 0) {
		int err = -errno;
		close(pfd);
		return err;
	}
	struct mnode *n;
	int err = mnode_get(m, pfd, &entry->attr, &n);
	if (err)
		return err;
	entry->node = n;
	return 0;
}

static int opened_entry(umfs_req *req, int fd, int flags, struct umfs_entry *entry,
			struct umfs_open *out)
{
	int err = node_of_fd(MIR(req), fd, entry);
	if (err) {
		close(fd);
		return err;
	}
	err = handle_of(req, entry->node, fd, flags, out);
	if (err) {
		mnode_put(MIR(req), entry->node, 1);
		entry->node = NULL;
	}
	return err;
}

int mirror_create(umfs_req *req, void *dir, const char *name, mode_t mode, int flags,
		  struct umfs_entry *entry, struct umfs_open *out)
{
	struct mnode *d = dir;
	struct mcred_saved cs;
	int fd, err = mcred_become(req, &cs);
	if (err)
		return err;
	fd = openat(d->fd, name, reopen_flags(flags) | O_CREAT | O_NOFOLLOW | (flags & O_EXCL),
		    mode & 07777);
	err = fd < 0 ? -errno : 0;
	mcred_restore(req, &cs);
	if (err)
		return err;
	err = opened_entry(req, fd, flags, entry, out);
	if (!err)
		msearch_limit(MIR(req), d, entry);
	return err;
}

int mirror_tmpfile(umfs_req *req, void *dir, mode_t mode, int flags,
		   struct umfs_entry *entry, struct umfs_open *out)
{
	struct mnode *d = dir;
	struct mcred_saved cs;
	int fd, err = mcred_become(req, &cs);
	if (err)
		return err;
	/* O_EXCL stays: it makes the file unlinkable, as the caller asked. */
	fd = openat(d->fd, ".", (reopen_flags(flags) & ~O_TMPFILE) | O_TMPFILE | (flags & O_EXCL),
		    mode & 07777);
	err = fd < 0 ? -errno : 0;
	mcred_restore(req, &cs);
	if (err)
		return err;
	return opened_entry(req, fd, flags, entry, out);
}

int mirror_release(umfs_req *req, void *node, void *fh, int flags)
{
	struct mfile *f = fh;

	if (f->backed)
		mbacking_put(req, node);
	close(f->fd);
	free(f);
	return 0;
}
