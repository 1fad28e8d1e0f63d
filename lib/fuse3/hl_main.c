/* SPDX-License-Identifier: MIT */
/*
 * hl_main.c - struct fuse's life: fuse_new (with the high-level options),
 * fuse_mount, the loops, fuse_main, fuse_invalidate_path, and fuse_fs_* for
 * stacking programs.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl_int.h"

void hl_fill_ll_ops(struct fuse *f, struct fuse_lowlevel_ops *o);

#define CONF(t, field, v) { t, offsetof(struct fuse_config, field), v }

static const struct fuse_opt hl_opts[] = {
	CONF("debug", debug, 1),
	CONF("-d", debug, 1),
	FUSE_OPT_KEY("debug", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_KEY("-d", FUSE_OPT_KEY_KEEP),
	CONF("-h", show_help, 1),
	CONF("--help", show_help, 1),
	CONF("hard_remove", hard_remove, 1),
	CONF("use_ino", use_ino, 1),
	CONF("readdir_ino", readdir_ino, 1),
	CONF("direct_io", direct_io, 1),
	CONF("kernel_cache", kernel_cache, 1),
	CONF("auto_cache", auto_cache, 1),
	CONF("noauto_cache", auto_cache, 0),
	CONF("no_rofd_flush", no_rofd_flush, 1),
	CONF("umask=", set_mode, 1),
	CONF("umask=%o", umask, 0),
	CONF("uid=", set_uid, 1),
	CONF("uid=%d", uid, 0),
	CONF("gid=", set_gid, 1),
	CONF("gid=%d", gid, 0),
	CONF("entry_timeout=%lf", entry_timeout, 0),
	CONF("attr_timeout=%lf", attr_timeout, 0),
	CONF("ac_attr_timeout=%lf", ac_attr_timeout, 0),
	CONF("ac_attr_timeout=", ac_attr_timeout_set, 1),
	CONF("negative_timeout=%lf", negative_timeout, 0),
	CONF("noforget", remember, -1),
	CONF("remember=%u", remember, 0),
	CONF("modules=%s", modules, 0),
	CONF("intr", intr, 1),
	CONF("intr_signal=%d", intr_signal, 0),
	CONF("nullpath_ok", nullpath_ok, 1),
	FUSE_OPT_END
};

void fuse_lib_help(struct fuse_args *args)
{
	printf("    -o hard_remove         immediate removal (don't hide files)\n"
	       "    -o use_ino             let filesystem set inode numbers\n"
	       "    -o readdir_ino         try to fill in d_ino in readdir\n"
	       "    -o direct_io           use direct I/O\n"
	       "    -o kernel_cache        cache files in kernel\n"
	       "    -o [no]auto_cache      accepted (umfs: no automatic invalidation)\n"
	       "    -o umask=M             set file permissions (octal)\n"
	       "    -o uid=N               set file owner\n"
	       "    -o gid=N               set file group\n"
	       "    -o entry_timeout=T     cache timeout for names (1.0s)\n"
	       "    -o negative_timeout=T  cache timeout for deleted names (0.0s)\n"
	       "    -o attr_timeout=T      cache timeout for attributes (1.0s)\n"
	       "    -o ac_attr_timeout=T   accepted\n"
	       "    -o noforget            accepted (umfs forgets as the kernel does)\n"
	       "    -o remember=T          accepted\n"
	       "    -o intr                accepted (umfs: fuse_interrupted() reports)\n"
	       "    -o intr_signal=NUM     accepted\n"
	       "    -o nullpath_ok         accepted (paths are always given)\n");
	fuse_lowlevel_help();
}

static struct fuse *new_common(struct fuse_args *args, const struct fuse_operations *op,
			       size_t op_size, void *user_data)
{
	struct fuse *f;
	struct fuse_lowlevel_ops llop;

	if (op_size > sizeof(struct fuse_operations)) {
		fuse_log(FUSE_LOG_ERR, "fuse: warning: library too old, some operations may not work\n");
		op_size = sizeof(struct fuse_operations);
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		fuse_log(FUSE_LOG_ERR, "fuse: failed to allocate fuse object\n");
		return NULL;
	}
	memcpy(&f->op, op, op_size);
	f->user_data = user_data;
	f->conf.entry_timeout = 1.0;
	f->conf.attr_timeout = 1.0;
	f->conf.intr_signal = SIGUSR1;
	if (fuse_opt_parse(args, &f->conf, hl_opts, NULL) == -1)
		goto fail;
	if (f->conf.modules) {
		fuse_log(FUSE_LOG_ERR, "fuse: modules (-o modules=%s) are not supported by umfs-fuse3\n",
			 f->conf.modules);
		goto fail;
	}
	if (f->conf.show_help) {
		fuse_lib_help(args);
		goto fail;
	}
	if (tree_init(f) < 0)
		goto fail;
	hl_fill_ll_ops(f, &llop);
	f->se = fuse_session_new(args, &llop, sizeof(llop), f);
	if (!f->se) {
		tree_destroy(f);
		goto fail;
	}
	f->se->hl = f;
	return f;
fail:
	free(f->conf.modules);
	free(f);
	return NULL;
}

struct fuse *fuse_new(struct fuse_args *args, const struct fuse_operations *op, size_t op_size,
		      void *user_data)
{
	return new_common(args, op, op_size, user_data);
}

struct fuse *fuse_new_30(struct fuse_args *args, const struct fuse_operations *op,
			 size_t op_size, void *user_data);
struct fuse *fuse_new_30(struct fuse_args *args, const struct fuse_operations *op,
			 size_t op_size, void *user_data)
{
	return new_common(args, op, op_size, user_data);
}

/* libfuse 3.1's name for fuse_new, for programs that were built against it. */
struct fuse *fuse_new_31(struct fuse_args *args, const struct fuse_operations *op,
			 size_t op_size, void *user_data);
struct fuse *fuse_new_31(struct fuse_args *args, const struct fuse_operations *op,
			 size_t op_size, void *user_data)
{
	return new_common(args, op, op_size, user_data);
}

int fuse_mount(struct fuse *f, const char *mountpoint)
{
	return fuse_session_mount(f->se, mountpoint);
}

void fuse_unmount(struct fuse *f)
{
	fuse_session_unmount(f->se);
}

void fuse_destroy(struct fuse *f)
{
	if (!f)
		return;
	fuse_session_destroy(f->se);
	tree_destroy(f);
	free(f->conf.modules);
	free(f);
}

int fuse_loop(struct fuse *f)
{
	return fuse_session_loop(f->se);
}

int fuse_loop_mt_31(struct fuse *f, int clone_fd);
int fuse_loop_mt_31(struct fuse *f, int clone_fd)
{
	return fuse_session_loop_mt(f->se, NULL);
}

int fuse_loop_mt_32(struct fuse *f, struct fuse_loop_config_v1 *config);
int fuse_loop_mt_32(struct fuse *f, struct fuse_loop_config_v1 *config)
{
	return fuse_session_loop_mt(f->se, NULL);
}

int fuse_loop_mt(struct fuse *f, struct fuse_loop_config *config)
{
	return fuse_session_loop_mt(f->se, config);
}

void fuse_exit(struct fuse *f)
{
	fuse_session_exit(f->se);
}

struct fuse_session *fuse_get_session(struct fuse *f)
{
	return f->se;
}

int fuse_invalidate_path(struct fuse *f, const char *path)
{
	/* Walk the names the kernel knows; a name it does not know is not cached. */
	char *copy = strdup(path), *save = NULL, *part;
	fuse_ino_t parent = FUSE_ROOT_ID, ino = FUSE_ROOT_ID;
	const char *last = NULL;
	int rc;

	if (!copy)
		return -ENOMEM;
	for (part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		struct node *n = tree_find(f, ino, part);

		if (!n) {
			free(copy);
			return -ENOENT;
		}
		parent = ino;
		ino = node_id(f, n);
		last = part;
	}
	rc = fuse_lowlevel_notify_inval_inode(f->se, ino, 0, 0);
	if (last) {
		int e = fuse_lowlevel_notify_inval_entry(f->se, parent, last, strlen(last));

		if (rc == 0)
			rc = e;
	}
	free(copy);
	return rc;
}

int fuse_main_real(int argc, char *argv[], const struct fuse_operations *op, size_t op_size,
		   void *user_data)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse *f;
	int res = 1;

	if (fuse_parse_cmdline(&args, &opts) != 0) {
		fuse_opt_free_args(&args);
		return 2;
	}
	if (opts.show_version) {
		printf("FUSE library version %s\n", fuse_pkgversion());
		fuse_lowlevel_version();
		res = 0;
		goto out1;
	}
	if (opts.show_help) {
		if (args.argv[0] && args.argv[0][0])
			printf("usage: %s [options] <mountpoint>\n\n", args.argv[0]);
		printf("FUSE options:\n");
		fuse_cmdline_help();
		/* fuse_new prints the rest (and the program's own options, if its
		 * option parsing saw --help) */
		fuse_lib_help(&args);
		res = 0;
		goto out1;
	}
	if (!opts.mountpoint) {
		fuse_log(FUSE_LOG_ERR, "error: no mountpoint specified\n");
		res = 2;
		goto out1;
	}
	f = fuse_new(&args, op, op_size, user_data);
	if (!f)
		goto out1;
	if (fuse_mount(f, opts.mountpoint) != 0)
		goto out2;
	if (fuse_daemonize(opts.foreground) != 0)
		goto out3;
	if (fuse_set_signal_handlers(f->se) != 0)
		goto out3;
	if (opts.singlethread) {
		res = fuse_loop(f);
	} else {
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();

		if (cfg) {
			fuse_loop_cfg_set_max_threads(cfg, opts.max_threads);
			res = fuse_loop_mt(f, cfg);
			fuse_loop_cfg_destroy(cfg);
		} else {
			res = -ENOMEM;
		}
	}
	res = res ? 1 : 0;
	fuse_remove_signal_handlers(f->se);
out3:
	fuse_unmount(f);
out2:
	fuse_destroy(f);
out1:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return res;
}

/* ---- fuse_fs_*: a file system object whose operations a stacking program calls ---- */

struct fuse_fs {
	struct fuse_operations op;
	void *user_data;
};

struct fuse_fs *fuse_fs_new(const struct fuse_operations *op, size_t op_size, void *user_data)
{
	struct fuse_fs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	memcpy(&fs->op, op, op_size < sizeof(fs->op) ? op_size : sizeof(fs->op));
	fs->user_data = user_data;
	return fs;
}

/* Call op with the stacked file system's private data in the context. */
#define FS_CALL(name, ...)                                              \
	do {                                                            \
		struct fuse_context *c_ = fuse_get_context();           \
		void *saved_ = c_->private_data;                        \
		int r_;                                                 \
		if (!fs->op.name)                                       \
			return -ENOSYS;                                 \
		c_->private_data = fs->user_data;                       \
		r_ = fs->op.name(__VA_ARGS__);                          \
		c_->private_data = saved_;                              \
		return r_;                                              \
	} while (0)

int fuse_fs_getattr(struct fuse_fs *fs, const char *path, struct stat *buf,
		    struct fuse_file_info *fi) { FS_CALL(getattr, path, buf, fi); }
int fuse_fs_rename(struct fuse_fs *fs, const char *o, const char *n, unsigned int flags)
{ FS_CALL(rename, o, n, flags); }
int fuse_fs_unlink(struct fuse_fs *fs, const char *path) { FS_CALL(unlink, path); }
int fuse_fs_rmdir(struct fuse_fs *fs, const char *path) { FS_CALL(rmdir, path); }
int fuse_fs_symlink(struct fuse_fs *fs, const char *l, const char *path)
{ FS_CALL(symlink, l, path); }
int fuse_fs_link(struct fuse_fs *fs, const char *o, const char *n) { FS_CALL(link, o, n); }
int fuse_fs_release(struct fuse_fs *fs, const char *path, struct fuse_file_info *fi)
{
	if (!fs->op.release)
		return 0;
	FS_CALL(release, path, fi);
}
int fuse_fs_open(struct fuse_fs *fs, const char *path, struct fuse_file_info *fi)
{
	if (!fs->op.open)
		return 0;
	FS_CALL(open, path, fi);
}
int fuse_fs_read(struct fuse_fs *fs, const char *path, char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi) { FS_CALL(read, path, buf, size, off, fi); }
int fuse_fs_write(struct fuse_fs *fs, const char *path, const char *buf, size_t size,
		  off_t off, struct fuse_file_info *fi) { FS_CALL(write, path, buf, size, off, fi); }
int fuse_fs_fsync(struct fuse_fs *fs, const char *path, int d, struct fuse_file_info *fi)
{ FS_CALL(fsync, path, d, fi); }
int fuse_fs_flush(struct fuse_fs *fs, const char *path, struct fuse_file_info *fi)
{ FS_CALL(flush, path, fi); }
int fuse_fs_statfs(struct fuse_fs *fs, const char *path, struct statvfs *buf)
{ FS_CALL(statfs, path, buf); }
int fuse_fs_opendir(struct fuse_fs *fs, const char *path, struct fuse_file_info *fi)
{
	if (!fs->op.opendir)
		return 0;
	FS_CALL(opendir, path, fi);
}
int fuse_fs_readdir(struct fuse_fs *fs, const char *path, void *buf, fuse_fill_dir_t filler,
		    off_t off, struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{ FS_CALL(readdir, path, buf, filler, off, fi, flags); }
int fuse_fs_releasedir(struct fuse_fs *fs, const char *path, struct fuse_file_info *fi)
{
	if (!fs->op.releasedir)
		return 0;
	FS_CALL(releasedir, path, fi);
}
int fuse_fs_fsyncdir(struct fuse_fs *fs, const char *path, int datasync,
		     struct fuse_file_info *fi) { FS_CALL(fsyncdir, path, datasync, fi); }
int fuse_fs_create(struct fuse_fs *fs, const char *path, mode_t mode, struct fuse_file_info *fi)
{ FS_CALL(create, path, mode, fi); }
int fuse_fs_chmod(struct fuse_fs *fs, const char *path, mode_t mode, struct fuse_file_info *fi)
{ FS_CALL(chmod, path, mode, fi); }
int fuse_fs_chown(struct fuse_fs *fs, const char *path, uid_t uid, gid_t gid,
		  struct fuse_file_info *fi) { FS_CALL(chown, path, uid, gid, fi); }
int fuse_fs_truncate(struct fuse_fs *fs, const char *path, off_t size, struct fuse_file_info *fi)
{ FS_CALL(truncate, path, size, fi); }
int fuse_fs_utimens(struct fuse_fs *fs, const char *path, const struct timespec tv[2],
		    struct fuse_file_info *fi) { FS_CALL(utimens, path, tv, fi); }
int fuse_fs_access(struct fuse_fs *fs, const char *path, int mask) { FS_CALL(access, path, mask); }
int fuse_fs_readlink(struct fuse_fs *fs, const char *path, char *buf, size_t len)
{ FS_CALL(readlink, path, buf, len); }
int fuse_fs_mknod(struct fuse_fs *fs, const char *path, mode_t mode, dev_t rdev)
{ FS_CALL(mknod, path, mode, rdev); }
int fuse_fs_mkdir(struct fuse_fs *fs, const char *path, mode_t mode) { FS_CALL(mkdir, path, mode); }
int fuse_fs_setxattr(struct fuse_fs *fs, const char *path, const char *name, const char *value,
		     size_t size, int flags) { FS_CALL(setxattr, path, name, value, size, flags); }
int fuse_fs_getxattr(struct fuse_fs *fs, const char *path, const char *name, char *value,
		     size_t size) { FS_CALL(getxattr, path, name, value, size); }
int fuse_fs_listxattr(struct fuse_fs *fs, const char *path, char *list, size_t size)
{ FS_CALL(listxattr, path, list, size); }
int fuse_fs_removexattr(struct fuse_fs *fs, const char *path, const char *name)
{ FS_CALL(removexattr, path, name); }

void fuse_fs_init(struct fuse_fs *fs, struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	if (fs->op.init)
		fs->user_data = fs->op.init(conn, cfg);
}

void fuse_fs_destroy(struct fuse_fs *fs)
{
	if (fs->op.destroy)
		fs->op.destroy(fs->user_data);
	free(fs);
}

int fuse_fs_read_buf(struct fuse_fs *fs, const char *path, struct fuse_bufvec **bufp,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	if (!fs->op.read_buf && fs->op.read) {
		/* read into a buffer of our own, handed over as a one-piece bufvec */
		struct fuse_bufvec *bv = malloc(sizeof(*bv));
		char *mem = malloc(size ? size : 1);
		int rc;

		if (!bv || !mem) {
			free(bv);
			free(mem);
			return -ENOMEM;
		}
		rc = fuse_fs_read(fs, path, mem, size, off, fi);
		if (rc < 0) {
			free(bv);
			free(mem);
			return rc;
		}
		*bv = FUSE_BUFVEC_INIT((size_t)rc);
		bv->buf[0].mem = mem;
		*bufp = bv;
		return 0;
	}
	FS_CALL(read_buf, path, bufp, size, off, fi);
}
int fuse_fs_write_buf(struct fuse_fs *fs, const char *path, struct fuse_bufvec *buf, off_t off,
		      struct fuse_file_info *fi)
{
	if (!fs->op.write_buf && fs->op.write) {
		size_t size = fuse_buf_size(buf);
		struct fuse_bufvec mem = FUSE_BUFVEC_INIT(size);
		int rc;

		mem.buf[0].mem = malloc(size ? size : 1);
		if (!mem.buf[0].mem)
			return -ENOMEM;
		rc = (int)fuse_buf_copy(&mem, buf, 0);
		if (rc >= 0)
			rc = fuse_fs_write(fs, path, mem.buf[0].mem, (size_t)rc, off, fi);
		free(mem.buf[0].mem);
		return rc;
	}
	FS_CALL(write_buf, path, buf, off, fi);
}
int fuse_fs_lock(struct fuse_fs *fs, const char *path, struct fuse_file_info *fi, int cmd,
		 struct flock *lock) { FS_CALL(lock, path, fi, cmd, lock); }
int fuse_fs_flock(struct fuse_fs *fs, const char *path, struct fuse_file_info *fi, int op)
{ FS_CALL(flock, path, fi, op); }
int fuse_fs_bmap(struct fuse_fs *fs, const char *path, size_t blocksize, uint64_t *idx)
{ FS_CALL(bmap, path, blocksize, idx); }
int fuse_fs_ioctl(struct fuse_fs *fs, const char *path, unsigned int cmd, void *arg,
		  struct fuse_file_info *fi, unsigned int flags, void *data)
{ FS_CALL(ioctl, path, cmd, arg, fi, flags, data); }
int fuse_fs_poll(struct fuse_fs *fs, const char *path, struct fuse_file_info *fi,
		 struct fuse_pollhandle *ph, unsigned *reventsp)
{ FS_CALL(poll, path, fi, ph, reventsp); }
int fuse_fs_fallocate(struct fuse_fs *fs, const char *path, int mode, off_t offset,
		      off_t length, struct fuse_file_info *fi)
{ FS_CALL(fallocate, path, mode, offset, length, fi); }

/* The calls that return a count or an offset wider than int. */
#define FS_CALL_WIDE(type, name, ...)                                   \
	do {                                                            \
		struct fuse_context *c_ = fuse_get_context();           \
		void *saved_ = c_->private_data;                        \
		type r_;                                                \
		if (!fs->op.name)                                       \
			return -ENOSYS;                                 \
		c_->private_data = fs->user_data;                       \
		r_ = fs->op.name(__VA_ARGS__);                          \
		c_->private_data = saved_;                              \
		return r_;                                              \
	} while (0)

ssize_t fuse_fs_copy_file_range(struct fuse_fs *fs, const char *path_in,
				struct fuse_file_info *fi_in, off_t off_in, const char *path_out,
				struct fuse_file_info *fi_out, off_t off_out, size_t len,
				int flags)
{ FS_CALL_WIDE(ssize_t, copy_file_range, path_in, fi_in, off_in, path_out, fi_out, off_out,
	       len, flags); }
off_t fuse_fs_lseek(struct fuse_fs *fs, const char *path, off_t off, int whence,
		    struct fuse_file_info *fi)
{ FS_CALL_WIDE(off_t, lseek, path, off, whence, fi); }

int fuse_start_cleanup_thread(struct fuse *fuse)
{
	return 0;
}

void fuse_stop_cleanup_thread(struct fuse *fuse)
{
}

int fuse_clean_cache(struct fuse *fuse)
{
	return 3600; /* seconds until the next cleaning would be due */
}

int fuse_open_channel(const char *mountpoint, const char *options)
{
	fuse_log(FUSE_LOG_ERR, "fuse: fuse_open_channel is not available on umfs (mount with a session)\n");
	return -1;
}

