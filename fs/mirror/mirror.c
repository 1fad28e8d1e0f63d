/* SPDX-License-Identifier: MIT */
/*
 * mirror.c - the mirror object, INIT negotiation and the callback table.
 *
 * Where things are:
 *   mirror_int.h    nodes, handles, the lifetime rule
 *   mirror_node.c   node table (dev, ino) -> node, handout counts
 *   mirror_cred.c   impersonation of the caller, per thread
 *   mirror_ns.c     lookup, forget, mknod/mkdir/symlink/link, unlink/rmdir, rename
 *   mirror_attr.c   getattr, setattr, statfs, syncfs, access
 *   mirror_file.c   open, create, tmpfile, release
 *   mirror_backing.c  backing files of kernel passthrough
 *   mirror_io.c     read, write, flush, fsync, fallocate, copy_file_range, lseek
 *   mirror_dir.c    opendir, readdir(plus), releasedir, fsyncdir
 *   mirror_xattr.c  extended attributes and ACLs
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "mirror_int.h"

/* File systems where close(2) itself can fail with a write error (they write back at
 * close): NFS, SMB/CIFS, FUSE, Ceph. Unknown ones count as local. */
static bool source_reports_at_close(int fd)
{
	static const long remote[] = { 0x6969, 0xFE534D42, 0xFF534D42, 0x65735546, 0x00c36400 };
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return true; /* when unsure, keep the flush */
	for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
		if ((long)sf.f_type == remote[i])
			return true;
	return false;
}

struct mirror *mirror_new(const char *source, const struct mirror_options *o)
{
	struct mirror *m = calloc(1, sizeof *m);
	struct stat st;
	int fd, err;

	if (!m)
		return NULL;
	if (o) {
		m->impersonate = o->impersonate;
		m->passthrough_wanted = o->passthrough;
		m->guard_search = o->impersonate && !o->default_permissions;
	}
	fd = open(source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = errno;
		goto fail_fd;
	}
	m->source_flushes = source_reports_at_close(fd);
	mbacking_init(m);
	err = -mtab_init(m);
	if (err)
		goto fail_fd;
	err = -mcred_init(m);
	if (err)
		goto fail_table;
	err = -mnode_get(m, fd, &st, &m->root);
	fd = -1; /* owned by the node now, or closed */
	if (err)
		goto fail_table;
	/* Modes arrive with the caller's umask applied; this process's own must not
	 * take a second bite. */
	umask(0);
	return m;

fail_table:
	mtab_free(m);
	free(m->own_groups);
fail_fd:
	if (fd >= 0)
		close(fd);
	free(m);
	errno = err;
	return NULL;
}

void mirror_free(struct mirror *m)
{
	if (!m)
		return;
	msearch_wait(m);
	mtab_free(m);
	free(m->own_groups);
	free(m);
}

void *mirror_root(struct mirror *m)
{
	return m->root;
}

/* The session ends: threads that expire names use it, so they finish first. */
static void mirror_destroy_session(void *fs)
{
	msearch_wait(fs);
}

static void mirror_init(void *fs, struct umfs_conn *conn)
{
	struct mirror *m = fs;

	/* Other programs write to SOURCE behind the mount: drop cached data when the
	 * attributes show a new mtime or size. No writeback cache, for the same reason:
	 * the kernel would own mtime and size. */
	umfs_conn_want(conn, UMFS_CAP_AUTO_INVAL_DATA);
	/* Clearing setuid/setgid/capabilities on write and truncate is mirror's job
	 * (mirror_drop_suidgid; the source drops security.capability itself). Without
	 * this the kernel asks GETXATTR security.capability before every write: a
	 * round trip that cost 1 MiB writes 40% of their speed. With it, the kernel
	 * marks an inode S_NOSEC once it has seen no privileges on it. */
	umfs_conn_want(conn, UMFS_CAP_HANDLE_KILLPRIV_V2);
	umfs_conn_unwant(conn, UMFS_CAP_WRITEBACK_CACHE);
	if (m->passthrough_wanted && (umfs_conn_offered(conn) & UMFS_CAP_PASSTHROUGH) &&
	    geteuid() == 0) {
		umfs_conn_want(conn, UMFS_CAP_PASSTHROUGH);
		m->passthrough = (umfs_conn_wanted(conn) & UMFS_CAP_PASSTHROUGH) != 0;
	}
	umfs_log(UMFS_LOG_INFO, "mirror: %s; %s",
		 m->passthrough ? "kernel passthrough I/O"
				: m->passthrough_wanted ? "read/write I/O (kernel passthrough not available)"
							: "read/write I/O (passthrough off)",
		 m->impersonate ? "acting as each caller" : "acting as this process");
}

const struct umfs_operations mirror_operations = {
	.version = UMFS_API_VERSION,
	.size = sizeof(struct umfs_operations),
	.init = mirror_init,
	.destroy = mirror_destroy_session,
	.lookup = mirror_lookup,
	.forget = mirror_forget,
	.getattr = mirror_getattr,
	.setattr = mirror_setattr,
	.readlink = mirror_readlink,
	.mknod = mirror_mknod,
	.mkdir = mirror_mkdir,
	.symlink = mirror_symlink,
	.link = mirror_link,
	.unlink = mirror_unlink,
	.rmdir = mirror_rmdir,
	.rename = mirror_rename,
	.open = mirror_open,
	.create = mirror_create,
	.tmpfile = mirror_tmpfile,
	.read = mirror_read,
	.write = mirror_write,
	.flush = mirror_flush,
	.release = mirror_release,
	.fsync = mirror_fsync,
	.opendir = mirror_opendir,
	.readdir = mirror_readdir,
	.releasedir = mirror_releasedir,
	.fsyncdir = mirror_fsyncdir,
	.statfs = mirror_statfs,
	.setxattr = mirror_setxattr,
	.getxattr = mirror_getxattr,
	.listxattr = mirror_listxattr,
	.removexattr = mirror_removexattr,
	.fallocate = mirror_fallocate,
	.copy_file_range = mirror_copy_file_range,
	.lseek = mirror_lseek,
	.syncfs = mirror_syncfs,
	.access = mirror_access,
};
