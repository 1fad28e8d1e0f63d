/* SPDX-License-Identifier: MIT */
/*
 * ll_session.c - fuse_session_* over a libumfs session, and the low-level
 * notifications. The loop, its workers, signals and the unmount are libumfs's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse3_int.h"

enum { KEY_DEBUG, KEY_MOUNT, KEY_DROP };

static const struct fuse_opt session_opts[] = {
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	/* umfs unmounts on the way out of every loop already. */
	FUSE_OPT_KEY("auto_unmount", KEY_DROP),
	FUSE_OPT_END
};

static int session_opt(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct fuse_session *se = data;

	switch (key) {
	case KEY_DEBUG:
		se->cfg.debug = 1;
		return 0;
	case KEY_DROP:
		return 0;
	case FUSE_OPT_KEY_OPT:
		if (arg[0] == '-')
			break;
		if (strcmp(arg, "allow_root") == 0) {
			fuse_log(FUSE_LOG_ERR, "fuse: option allow_root is not supported by umfs-fuse3 (use allow_other)\n");
			return -1;
		}
		/* Everything else given with -o is a mount option; libumfs checks it. */
		return fuse_opt_add_opt(&se->mount_opts, arg) == 0 ? 0 : -1;
	default:
		break;
	}
	fuse_log(FUSE_LOG_ERR, "fuse: unknown option `%s'\n", arg);
	return -1;
}

struct fuse_session *fuse_session_new(struct fuse_args *args,
				      const struct fuse_lowlevel_ops *op, size_t op_size,
				      void *userdata)
{
	struct fuse_session *se;

	if (op_size > sizeof(struct fuse_lowlevel_ops)) {
		fuse_log(FUSE_LOG_ERR, "fuse: warning: library too old, some operations may not work\n");
		op_size = sizeof(struct fuse_lowlevel_ops);
	}
	if (args->argc == 0) {
		fuse_log(FUSE_LOG_ERR, "fuse: empty argv passed to fuse_session_new()\n");
		return NULL;
	}
	se = calloc(1, sizeof(*se));
	if (!se) {
		fuse_log(FUSE_LOG_ERR, "fuse: failed to allocate fuse object\n");
		return NULL;
	}
	memcpy(&se->op, op, op_size);
	se->userdata = userdata;
	umfs_config_init(&se->cfg);
	if (fuse_opt_parse(args, se, session_opts, session_opt) == -1)
		goto fail;
	if (args->argc > 1) {
		fuse_log(FUSE_LOG_ERR, "fuse: unknown option(s): `%s'\n", args->argv[1]);
		goto fail;
	}
	fuse3_route_library_log(se->cfg.debug);
	if (se->mount_opts && umfs_check_mount_options(se->mount_opts) < 0)
		goto fail;
	se->cfg.mount_options = se->mount_opts;
	/* libfuse mounts on a regular file as well (a file system whose root is one). */
	se->cfg.file_mountpoint = 1;
	/* libfuse's defaults: nothing cached beyond what the replies say. */
	se->cfg.entry_timeout = 0;
	se->cfg.attr_timeout = 0;
	/* The program's inode numbers are the kernel's node ids, and it counts the
	 * kernel's references itself (forget). */
	se->cfg.direct_node_ids = 1;
	ll_fill_uops(se);
	se->us = umfs_session_new(&se->uops, sizeof(se->uops), se, ino_node(FUSE_ROOT_ID),
				  &se->cfg);
	if (!se->us) {
		fuse_log(FUSE_LOG_ERR, "fuse: cannot create session: %s\n", strerror(errno));
		goto fail;
	}
	return se;
fail:
	free(se->mount_opts);
	free(se);
	return NULL;
}

int fuse_session_mount(struct fuse_session *se, const char *mountpoint)
{
	int rc;

	rc = umfs_mount(se->us, mountpoint);
	if (rc < 0)
		return -1;
	se->mounted = true;
	free(se->mountpoint);
	se->mountpoint = strdup(mountpoint);
	return 0;
}

static int run_loop(struct fuse_session *se)
{
	int rc = umfs_session_loop(se->us);

	atomic_store(&se->exited, true);
	se->mounted = false; /* libumfs unmounts on the way out */
	return rc;
}

int fuse_session_loop(struct fuse_session *se)
{
	umfs_session_set_workers(se->us, 1, 1);
	return run_loop(se);
}

/* libfuse's default for max_threads (FUSE_LOOP_MT_DEF_MAX_THREADS). */
#define DEFAULT_MAX_THREADS 10

/* libumfs starts one worker per CPU (at most max_threads) and adds workers while all
 * are busy in callbacks, up to max_threads, as libfuse's loop adds threads. Idle
 * workers stay: max_idle_threads is accepted and not needed. */
static int loop_mt(struct fuse_session *se, unsigned max_threads)
{
	if (!max_threads)
		max_threads = DEFAULT_MAX_THREADS;
	umfs_session_set_workers(se->us, 0, 0);
	umfs_session_set_max_threads(se->us, max_threads > 256 ? 256 : max_threads);
	return run_loop(se);
}

int fuse_session_loop_mt_31(struct fuse_session *se, int clone_fd);
int fuse_session_loop_mt_31(struct fuse_session *se, int clone_fd)
{
	(void)clone_fd; /* every worker reads a clone of its own anyway */
	return loop_mt(se, DEFAULT_MAX_THREADS);
}

int fuse_session_loop_mt_32(struct fuse_session *se, struct fuse_loop_config_v1 *config);
int fuse_session_loop_mt_32(struct fuse_session *se, struct fuse_loop_config_v1 *config)
{
	(void)config; /* clone_fd and max_idle_threads: see loop_mt */
	return loop_mt(se, DEFAULT_MAX_THREADS);
}

int fuse_session_loop_mt(struct fuse_session *se, struct fuse_loop_config *config)
{
	return loop_mt(se, config ? config->max_threads : DEFAULT_MAX_THREADS);
}

void fuse_session_exit(struct fuse_session *se)
{
	atomic_store(&se->exited, true);
	umfs_session_exit(se->us);
}

void fuse_session_reset(struct fuse_session *se)
{
	atomic_store(&se->exited, false);
}

int fuse_session_exited(struct fuse_session *se)
{
	return atomic_load(&se->exited);
}

void fuse_session_unmount(struct fuse_session *se)
{
	if (se->mounted && se->mountpoint)
		umfs_unmount(se->mountpoint, 0);
	se->mounted = false;
}

void fuse_session_destroy(struct fuse_session *se)
{
	if (!se)
		return;
	umfs_session_destroy(se->us);
	free(se->mount_opts);
	free(se->mountpoint);
	free(se);
}

/* The /dev/fuse descriptor, for programs that poll it or check it is open; libumfs
 * reads it, so reading it here would steal requests. -1 before the mount. */
int fuse_session_fd(struct fuse_session *se)
{
	return se->us ? umfs_session_fd(se->us) : -1;
}

/* ---- loop configuration ---- */

struct fuse_loop_config *fuse_loop_cfg_create(void)
{
	struct fuse_loop_config *c = calloc(1, sizeof(*c));

	if (c) {
		c->max_idle_threads = 10;
		c->max_threads = DEFAULT_MAX_THREADS;
	}
	return c;
}

void fuse_loop_cfg_destroy(struct fuse_loop_config *config)
{
	free(config);
}

void fuse_loop_cfg_set_idle_threads(struct fuse_loop_config *config, unsigned int value)
{
	config->max_idle_threads = value;
}

void fuse_loop_cfg_set_max_threads(struct fuse_loop_config *config, unsigned int value)
{
	config->max_threads = value;
}

void fuse_loop_cfg_set_clone_fd(struct fuse_loop_config *config, unsigned int value)
{
	config->clone_fd = (int)value;
}

void fuse_loop_cfg_convert(struct fuse_loop_config *config, struct fuse_loop_config_v1 *v1)
{
	config->clone_fd = v1->clone_fd;
	config->max_idle_threads = v1->max_idle_threads;
}

/* ---- notifications: libumfs's, named by the program's inode numbers ---- */

static int notify_rc(int rc)
{
	return rc;
}

int fuse_lowlevel_notify_inval_inode(struct fuse_session *se, fuse_ino_t ino, off_t off,
				     off_t len)
{
	return notify_rc(umfs_notify_inval_inode(se->us, ino_node(ino), off, len));
}

static int with_name(const char *name, size_t namelen, char *buf, size_t size)
{
	if (namelen == 0 || namelen >= size)
		return -EINVAL;
	memcpy(buf, name, namelen);
	buf[namelen] = '\0';
	return 0;
}

int fuse_lowlevel_notify_inval_entry(struct fuse_session *se, fuse_ino_t parent,
				     const char *name, size_t namelen)
{
	char n[1025];

	if (with_name(name, namelen, n, sizeof(n)) < 0)
		return -EINVAL;
	return notify_rc(umfs_notify_inval_entry(se->us, ino_node(parent), n));
}

int fuse_lowlevel_notify_expire_entry(struct fuse_session *se, fuse_ino_t parent,
				      const char *name, size_t namelen,
				      enum fuse_expire_flags flags)
{
	char n[1025];

	if (!(flags & FUSE_LL_EXPIRE_ONLY))
		return fuse_lowlevel_notify_inval_entry(se, parent, name, namelen);
	if (with_name(name, namelen, n, sizeof(n)) < 0)
		return -EINVAL;
	return umfs_notify_expire_entry(se->us, ino_node(parent), n);
}

int fuse_lowlevel_notify_delete(struct fuse_session *se, fuse_ino_t parent, fuse_ino_t child,
				const char *name, size_t namelen)
{
	char n[1025];

	if (with_name(name, namelen, n, sizeof(n)) < 0)
		return -EINVAL;
	return notify_rc(umfs_notify_delete(se->us, ino_node(parent), ino_node(child), n));
}

int fuse_lowlevel_notify_retrieve(struct fuse_session *se, fuse_ino_t ino, size_t size,
				  off_t offset, void *cookie)
{
	return umfs_notify_retrieve(se->us, ino_node(ino), offset, size, cookie);
}

int fuse_lowlevel_notify_store(struct fuse_session *se, fuse_ino_t ino, off_t offset,
			       struct fuse_bufvec *bufv, enum fuse_buf_copy_flags flags)
{
	size_t size = fuse_buf_size(bufv);
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
	ssize_t n;
	int rc;

	dst.buf[0].mem = malloc(size ? size : 1);
	if (!dst.buf[0].mem)
		return -ENOMEM;
	n = fuse_buf_copy(&dst, bufv, flags);
	rc = n < 0 ? (int)n
		   : umfs_notify_store(se->us, ino_node(ino), offset, dst.buf[0].mem, (size_t)n);
	free(dst.buf[0].mem);
	return notify_rc(rc);
}
