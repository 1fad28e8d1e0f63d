/* SPDX-License-Identifier: MIT */
/*
 * fuse_common.h (umfs-fuse3) - what libfuse 3's high- and low-level APIs share:
 * versions, open-file info, capabilities, data buffers, signal and daemon helpers.
 *
 * umfs-fuse3 accepts programs written for libfuse 3.0 to 3.14 (FUSE_USE_VERSION 30
 * to 314) and runs them on libumfs. Programs build from source against it
 * (pkg-config umfs-fuse3); it is not a drop-in libfuse3.so.
 */
#ifndef FUSE_COMMON_H_
#define FUSE_COMMON_H_

#include <stdint.h>
#include <sys/types.h>
#include "fuse_log.h"
#include "fuse_opt.h"

#if !defined(FUSE_USE_VERSION) || FUSE_USE_VERSION < 30
#error "umfs-fuse3 needs FUSE_USE_VERSION 30..314 defined before including its headers"
#endif

#define FUSE_MAJOR_VERSION 3
#define FUSE_MINOR_VERSION 14
#define FUSE_MAKE_VERSION(maj, min) ((maj) * 100 + (min))
#define FUSE_VERSION FUSE_MAKE_VERSION(FUSE_MAJOR_VERSION, FUSE_MINOR_VERSION)

/* This is umfs's libfuse layer (for programs that want to know). */
#define UMFS_FUSE3 1

#ifdef __cplusplus
extern "C" {
#endif

/* One open file or directory, as the program sees it. */
struct fuse_file_info {
	int flags;                     /* open(2) flags */
	unsigned int writepage : 1;    /* a write from the page cache */
	unsigned int direct_io : 1;    /* [out] bypass the page cache */
	unsigned int keep_cache : 1;   /* [out] keep cached data */
	unsigned int flush : 1;        /* release: a flush is asked for too */
	unsigned int nonseekable : 1;  /* [out] */
	unsigned int flock_release : 1; /* release: drop the flock of lock_owner */
	unsigned int cache_readdir : 1; /* [out] opendir: cache the listing */
	unsigned int noflush : 1;      /* [out] no flush on close */
	unsigned int padding : 24;
	unsigned int padding2 : 32;
	uint64_t fh;                   /* [out] the program's handle */
	uint64_t lock_owner;
	uint32_t poll_events;          /* poll: the events asked for */
};

/* Settings of the multi-threaded loop. */
#if FUSE_USE_VERSION < FUSE_MAKE_VERSION(3, 12)
struct fuse_loop_config_v1;
struct fuse_loop_config {
#else
struct fuse_loop_config_v1 {
#endif
	int clone_fd;                  /* a /dev/fuse descriptor per thread (umfs always) */
	unsigned int max_idle_threads; /* umfs: caps the worker count when nonzero */
};

/* Capabilities (fuse_conn_info.capable and .want). */
#define FUSE_CAP_ASYNC_READ (1 << 0)
#define FUSE_CAP_POSIX_LOCKS (1 << 1)
#define FUSE_CAP_ATOMIC_O_TRUNC (1 << 3)
#define FUSE_CAP_EXPORT_SUPPORT (1 << 4)
#define FUSE_CAP_DONT_MASK (1 << 6)
#define FUSE_CAP_SPLICE_WRITE (1 << 7)
#define FUSE_CAP_SPLICE_MOVE (1 << 8)
#define FUSE_CAP_SPLICE_READ (1 << 9)
#define FUSE_CAP_FLOCK_LOCKS (1 << 10)
#define FUSE_CAP_IOCTL_DIR (1 << 11)
#define FUSE_CAP_AUTO_INVAL_DATA (1 << 12)
#define FUSE_CAP_READDIRPLUS (1 << 13)
#define FUSE_CAP_READDIRPLUS_AUTO (1 << 14)
#define FUSE_CAP_ASYNC_DIO (1 << 15)
#define FUSE_CAP_WRITEBACK_CACHE (1 << 16)
#define FUSE_CAP_NO_OPEN_SUPPORT (1 << 17)
#define FUSE_CAP_PARALLEL_DIROPS (1 << 18)
#define FUSE_CAP_POSIX_ACL (1 << 19)
#define FUSE_CAP_HANDLE_KILLPRIV (1 << 20)
#define FUSE_CAP_CACHE_SYMLINKS (1 << 23)
#define FUSE_CAP_NO_OPENDIR_SUPPORT (1 << 24)
#define FUSE_CAP_EXPLICIT_INVAL_DATA (1 << 25)
#define FUSE_CAP_EXPIRE_ONLY (1 << 26)

/* ioctl flags */
#define FUSE_IOCTL_COMPAT (1 << 0)
#define FUSE_IOCTL_UNRESTRICTED (1 << 1)
#define FUSE_IOCTL_RETRY (1 << 2)
#define FUSE_IOCTL_DIR (1 << 4)
#define FUSE_IOCTL_MAX_IOV 256

/* The connection, as negotiated at INIT; the init callback may change `want`
 * (bits of `capable` only) and the limits: max_write and max_readahead only
 * downwards (libumfs's buffers are sized before the mount), max_background,
 * congestion_threshold and time_gran as it likes. */
struct fuse_conn_info {
	unsigned proto_major;
	unsigned proto_minor;
	unsigned max_write;
	unsigned max_read;
	unsigned max_readahead;
	unsigned capable;
	unsigned want;
	unsigned max_background;
	unsigned congestion_threshold;
	unsigned time_gran;
	unsigned reserved[22];
};

struct fuse_session;
struct fuse_pollhandle;
struct fuse_conn_info_opts;

/* Connection options from the command line (-o max_write=, writeback_cache, ...). */
struct fuse_conn_info_opts *fuse_parse_conn_info_opts(struct fuse_args *args);
void fuse_apply_conn_info_opts(struct fuse_conn_info_opts *opts, struct fuse_conn_info *conn);

/* Fork into the background unless foreground; chdir("/"), stdio to /dev/null. */
int fuse_daemonize(int foreground);
int fuse_version(void);
const char *fuse_pkgversion(void);
void fuse_pollhandle_destroy(struct fuse_pollhandle *ph);

/* ---- data buffers ---- */

enum fuse_buf_flags {
	FUSE_BUF_IS_FD = (1 << 1),     /* fd holds the data, not mem */
	FUSE_BUF_FD_SEEK = (1 << 2),   /* read/write at pos, not at the fd's offset */
	FUSE_BUF_FD_RETRY = (1 << 3),  /* retry short reads/writes until size or EOF */
};

enum fuse_buf_copy_flags {
	FUSE_BUF_NO_SPLICE = (1 << 1),
	FUSE_BUF_FORCE_SPLICE = (1 << 2),
	FUSE_BUF_SPLICE_MOVE = (1 << 3),
	FUSE_BUF_SPLICE_NONBLOCK = (1 << 4),
};

struct fuse_buf {
	size_t size;
	enum fuse_buf_flags flags;
	void *mem;
	int fd;
	off_t pos;
};

/* A list of buffers read or written in order; idx/off say where copying stands. */
struct fuse_bufvec {
	size_t count;
	size_t idx;
	size_t off;
	struct fuse_buf buf[1];
};

#define FUSE_BUFVEC_INIT(size__)                                                    \
	((struct fuse_bufvec){ .count = 1, .idx = 0, .off = 0,                      \
			       .buf = { { .size = (size__), .flags = (enum fuse_buf_flags)0, \
					  .mem = NULL, .fd = -1, .pos = 0 } } })

size_t fuse_buf_size(const struct fuse_bufvec *bufv);
/* Copy from src to dst (memory or descriptors); returns the count or -errno. */
ssize_t fuse_buf_copy(struct fuse_bufvec *dst, struct fuse_bufvec *src,
		      enum fuse_buf_copy_flags flags);

/* ---- signals ---- */

/* libumfs's loop handles SIGINT, SIGTERM and SIGHUP itself (it ends the session and
 * unmounts); these remember the session and ignore SIGPIPE, as libfuse does. */
int fuse_set_signal_handlers(struct fuse_session *se);
void fuse_remove_signal_handlers(struct fuse_session *se);

/* ---- loop configuration (3.12) ---- */
#if FUSE_USE_VERSION >= FUSE_MAKE_VERSION(3, 12)
struct fuse_loop_config *fuse_loop_cfg_create(void);
void fuse_loop_cfg_destroy(struct fuse_loop_config *config);
void fuse_loop_cfg_set_idle_threads(struct fuse_loop_config *config, unsigned int value);
void fuse_loop_cfg_set_max_threads(struct fuse_loop_config *config, unsigned int value);
void fuse_loop_cfg_set_clone_fd(struct fuse_loop_config *config, unsigned int value);
void fuse_loop_cfg_convert(struct fuse_loop_config *config, struct fuse_loop_config_v1 *v1);
#endif

#ifdef __cplusplus
}
#endif

#if defined(__GNUC__) && !defined(__cplusplus)
_Static_assert(sizeof(off_t) == 8, "umfs-fuse3 needs -D_FILE_OFFSET_BITS=64 (see pkg-config --cflags umfs-fuse3)");
#endif

#endif
