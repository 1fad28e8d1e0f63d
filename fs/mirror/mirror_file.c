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

/* Access a backing file gives, and an open needs. */
#define ACC_READ 1u
#define ACC_WRITE 2u

static unsigned access_of(int flags)
{
	switch (flags & O_ACCMODE) {
	case O_RDONLY: return ACC_READ;
	case O_WRONLY: return ACC_WRITE;
	default: return ACC_READ | ACC_WRITE;
	}
}

/* Register a backing file for node n. The kernel wants every open of an inode that
 * has a backing file to use that same one, so it is opened read-write by this process
 * whenever the source allows (the caller's own open was already checked by the
 * source, as the caller) and any later open can share it. Where the source refuses
 * (a read-only file system, a program running from the file: ETXTBSY), it gives what
 * the caller's own open gives. own_fd serves as it is when it is read-write already
 * (see upgrade_to_rdwr). Returns the id, or -errno. */
static int backing_register(umfs_req *req, struct mnode *n, int own_fd, bool own_rdwr,
			    unsigned need, unsigned *gives)
{
	char p[FD_PATH_MAX];
	int fd, id;

	if (own_rdwr) {
		*gives = ACC_READ | ACC_WRITE;
		id = umfs_backing_open(umfs_req_session(req), own_fd);
		return id > 0 ? id : id < 0 ? id : -EIO;
	}
	fd = open(mfd_path(n->fd, p, sizeof p), O_RDWR | O_CLOEXEC);
	*gives = ACC_READ | ACC_WRITE;
	if (fd < 0) {
		fd = dup(own_fd);
		*gives = need;
	}
	if (fd < 0)
		return -errno;
	id = umfs_backing_open(umfs_req_session(req), fd);
	close(fd); /* the kernel holds the file now */
	if (id <= 0)
		return id < 0 ? id : -EIO;
	return id;
}

/* The backing file of a node for kernel passthrough: one per node, shared by all its
 * opens (the kernel refuses a second backing file for an inode that has one), taken by
 * the first open and dropped by the last. Returns the id (> 0) with a reference taken,
 * -EBUSY when the node's backing file does not give the access this open needs (see
 * backing_register: rare), or another -errno. */
static int backing_get(umfs_req *req, struct mnode *n, int own_fd, bool own_rdwr, int flags)
{
	struct mirror *m = MIR(req);
	unsigned need = access_of(flags), gives;
	int id;

	pthread_mutex_lock(&m->lock);
	if (n->backing_refs) {
		if (need & ~n->backing_access) {
			pthread_mutex_unlock(&m->lock);
			return -EBUSY;
		}
		n->backing_refs++;
		id = n->backing_id;
		pthread_mutex_unlock(&m->lock);
		return id;
	}
	pthread_mutex_unlock(&m->lock);

	id = backing_register(req, n, own_fd, own_rdwr, need, &gives);
	if (id < 0)
		return id;

	pthread_mutex_lock(&m->lock);
	if (n->backing_refs) {
		/* Another open registered one meanwhile: use that one if it serves. */
		int mine = id;
		if (need & ~n->backing_access) {
			id = -EBUSY;
		} else {
			n->backing_refs++;
			id = n->backing_id;
		}
		pthread_mutex_unlock(&m->lock);
		umfs_backing_close(umfs_req_session(req), mine);
		return id;
	}
	n->backing_id = id;
	n->backing_access = gives;
	n->backing_refs = 1;
	pthread_mutex_unlock(&m->lock);
	return id;
}

static void backing_put(umfs_req *req, struct mnode *n)
{
	struct mirror *m = MIR(req);
	int id = 0;

	pthread_mutex_lock(&m->lock);
	if (--n->backing_refs == 0) {
		id = n->backing_id;
		n->backing_id = 0;
	}
	pthread_mutex_unlock(&m->lock);
	if (id > 0)
		umfs_backing_close(umfs_req_session(req), id);
}

/* Wrap an open descriptor in a handle, backed by the kernel when passthrough is on.
 * rdwr: fd was opened read-write (upgrade_to_rdwr), whatever the caller asked. */
static int handle_of(umfs_req *req, struct mnode *n, int fd, bool rdwr, int flags,
		     struct umfs_open *out)
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
		int id = backing_get(req, n, fd, rdwr, flags);
		if (id > 0) {
			f->backed = true;
			out->backing_id = id;
		} else if (id == -EBUSY) {
			/* The kernel refuses an open without passthrough beside backed
			 * ones, and this one's access is not what the shared backing file
			 * gives: say so rather than fail later on I/O. */
			umfs_log(UMFS_LOG_WARNING, "mirror: ino %llu is open through a backing "
				 "file without %s access; open refused (--no-passthrough avoids it)",
				 (unsigned long long)n->ino,
				 access_of(flags) & ACC_WRITE ? "write" : "read");
			close(fd);
			free(f);
			return -EBUSY;
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
	    ((flags & O_TRUNC) || (f->backed && (access_of(flags) & ACC_WRITE))))
		mirror_drop_suidgid(req, n, f);
	out->fh = f;
	out->noflush = !MIR(req)->source_flushes;
	return 0;
}

/* With passthrough, a node's first open is made read-write where the caller asked
 * for less, so that the same descriptor can be the node's backing file: one open of
 * the source instead of two (backing_register). The kernel still holds the caller to
 * the access it asked for. Where read-write is refused (the caller may only read, a
 * read-only source, a running program), the caller's own flags are tried next. */
static bool upgrade_to_rdwr(umfs_req *req, struct mnode *n, int flags)
{
	struct mirror *m = MIR(req);
	bool first;

	if (!m->passthrough || n->type != S_IFREG || (flags & O_ACCMODE) == O_RDWR)
		return false;
	pthread_mutex_lock(&m->lock);
	first = n->backing_refs == 0;
	pthread_mutex_unlock(&m->lock);
	return first;
}

static int with_rdwr(int flags)
{
	return (flags & ~O_ACCMODE) | O_RDWR;
}

int mirror_open(umfs_req *req, void *node, int flags, struct umfs_open *out)
{
	struct mnode *n = node;
	char p[FD_PATH_MAX];
	struct mcred_saved cs;
	bool rdwr = (flags & O_ACCMODE) == O_RDWR;
	int fd = -1, err = mcred_become(req, &cs);
	if (err)
		return err;
	mfd_path(n->fd, p, sizeof p);
	if (upgrade_to_rdwr(req, n, flags)) {
		fd = open(p, with_rdwr(reopen_flags(flags)));
		rdwr = fd >= 0;
	}
	if (fd < 0)
		fd = open(p, reopen_flags(flags));
	err = fd < 0 ? -errno : 0;
	mcred_restore(req, &cs);
	if (err)
		return err;
	return handle_of(req, n, fd, rdwr, flags, out);
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

static int opened_entry(umfs_req *req, int fd, bool rdwr, int flags, struct umfs_entry *entry,
			struct umfs_open *out)
{
	int err = node_of_fd(MIR(req), fd, entry);
	if (err) {
		close(fd);
		return err;
	}
	err = handle_of(req, entry->node, fd, rdwr, flags, out);
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
	int base = reopen_flags(flags) | O_CREAT | O_NOFOLLOW | (flags & O_EXCL);
	/* A file this call creates opens read-write whatever its mode (see
	 * upgrade_to_rdwr); one that exists already may refuse it. */
	bool rdwr = MIR(req)->passthrough || (flags & O_ACCMODE) == O_RDWR;
	int fd, err = mcred_become(req, &cs);
	if (err)
		return err;
	fd = openat(d->fd, name, rdwr ? with_rdwr(base) : base, mode & 07777);
	if (fd < 0 && rdwr && (flags & O_ACCMODE) != O_RDWR && errno != EEXIST) {
		rdwr = false;
		fd = openat(d->fd, name, base, mode & 07777);
	}
	err = fd < 0 ? -errno : 0;
	mcred_restore(req, &cs);
	if (err)
		return err;
	err = opened_entry(req, fd, rdwr, flags, entry, out);
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
	return opened_entry(req, fd, (flags & O_ACCMODE) == O_RDWR, flags, entry, out);
}

int mirror_release(umfs_req *req, void *node, void *fh, int flags)
{
	struct mfile *f = fh;

	if (f->backed)
		backing_put(req, node);
	close(f->fd);
	free(f);
	return 0;
}
