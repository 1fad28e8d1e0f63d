/* SPDX-License-Identifier: MIT */
/*
 * mirror_io.c - I/O on open handles: read, write, flush, fsync, fallocate,
 * copy_file_range, lseek. The handle's descriptor was opened as the caller, so these
 * need no impersonation: like a process's own descriptor, it keeps the rights it was
 * opened with.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "mirror_int.h"

static int fd_of(void *fh)
{
	return ((struct mfile *)fh)->fd;
}

int mirror_read(umfs_req *req, void *node, void *fh, void *buf, size_t size, off_t off)
{
	ssize_t n = pread(fd_of(fh), buf, size, off);
	return n < 0 ? -errno : (int)n;
}

int mirror_write(umfs_req *req, void *node, void *fh, const void *buf, size_t size,
		 off_t off, unsigned flags)
{
	/* The writer lacks CAP_FSETID (the kernel says so); this process has it. */
	if (flags & UMFS_WRITE_KILL_SUIDGID)
		mirror_drop_suidgid(req, node, fh);
	ssize_t n = pwrite(fd_of(fh), buf, size, off);
	return n < 0 ? -errno : (int)n;
}

int mirror_flush(umfs_req *req, void *node, void *fh, uint64_t lock_owner)
{
	/* Closing a duplicate is what close(2) on the source would do for its file
	 * system (NFS writes back and reports errors at close), while the handle stays
	 * open until release. */
	int fd = dup(fd_of(fh));
	if (fd < 0)
		return -errno;
	return close(fd) < 0 ? -errno : 0;
}

int mirror_fsync(umfs_req *req, void *node, void *fh, int datasync)
{
	int rc = datasync ? fdatasync(fd_of(fh)) : fsync(fd_of(fh));
	return rc < 0 ? -errno : 0;
}

int mirror_fallocate(umfs_req *req, void *node, void *fh, int mode, off_t off, off_t len)
{
	return fallocate(fd_of(fh), mode, off, len) < 0 ? -errno : 0;
}

ssize_t mirror_copy_file_range(umfs_req *req, void *node_in, void *fh_in, off_t off_in,
			       void *node_out, void *fh_out, off_t off_out, size_t len,
			       int flags)
{
	loff_t in = off_in, outo = off_out;
	ssize_t n = copy_file_range(fd_of(fh_in), &in, fd_of(fh_out), &outo, len,
				    (unsigned)flags);
	return n < 0 ? -errno : n;
}

int mirror_lseek(umfs_req *req, void *node, void *fh, off_t off, int whence, off_t *out)
{
	off_t r = lseek(fd_of(fh), off, whence);
	if (r < 0)
		return -errno;
	*out = r;
	return 0;
}
