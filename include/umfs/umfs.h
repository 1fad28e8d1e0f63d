/* SPDX-License-Identifier: MIT */
/*
 * umfs.h - the native API of libumfs, the user-mode file system library.
 *
 * A file system is a table of callbacks (struct umfs_operations) on *nodes*. A node is
 * whatever the file system wants it to be (an inode struct, an O_PATH fd, a remote
 * handle); the library sees it as an opaque `void *` and owns everything the kernel
 * sees: node ids, lookup counts, generations and file handles.
 *
 * Conventions, everywhere in this header:
 *  - A callback returns 0 (or a count, where stated) on success and a negative errno
 *    on failure. Any other negative value, or a count larger than asked for, is a bug
 *    in the file system: it is logged and the caller gets EIO. Never a positive errno.
 *  - A callback left NULL is answered with ENOSYS; for the operations where the kernel
 *    remembers that (most of them), it then stops sending them. Without open (or
 *    opendir) the kernel opens without asking and keeps cached data (or listings):
 *    right for a file system that needs no per-open state and is the only writer of
 *    its data. Exceptions, where a missing callback simply succeeds: release,
 *    releasedir and statfs (4 KiB blocks, no counts).
 *  - Out-parameters are marked [out]. The library fills them with defaults before the
 *    call (timeouts from struct umfs_config, zeroed attributes), so a callback sets
 *    only what it knows.
 *  - Names are NUL-terminated, never empty, never contain '/', and are at most
 *    umfs_config.name_max bytes: the library checks this before the call.
 *  - A callback may run on any worker thread, and several run at once unless the
 *    session is single-threaded.
 *
 * The lookup count invariant (the one rule a node-based file system must get right):
 * every successful lookup, mknod, mkdir, symlink, link, create and tmpfile, and every
 * readdirplus entry added with a node, hands the node to the kernel once. The library
 * counts these handouts per node and, when the kernel has dropped them all (or at
 * unmount), calls forget(node, n) with the number of handouts that this forget ends.
 * A file system that frees nodes counts its handouts too and frees a node only when
 * its own count is back to zero: a handout on one thread may race with the forget of
 * earlier handouts on another, and the counts keep them apart. Returning the same
 * `void *` again for the same object (a hard link, a second lookup) gives the kernel
 * the same inode.
 */
#ifndef UMFS_UMFS_H
#define UMFS_UMFS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <fcntl.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UMFS_VERSION_MAJOR 0
#define UMFS_VERSION_MINOR 1
#define UMFS_VERSION_PATCH 0
#define UMFS_VERSION_STRING "0.1.0"

/* Version of struct umfs_operations and struct umfs_config. Both only grow at the end. */
#define UMFS_API_VERSION 1

/* A callback returns this when it will answer later with umfs_req_complete(). */
#define UMFS_DEFERRED (-0x10000)

typedef struct umfs_session umfs_session;
typedef struct umfs_req umfs_req;

/* ---------------------------------------------------------------------------------- */
/* Who is asking: the kernel's word for the calling thread, on every request.          */

struct umfs_caller {
	uid_t uid;    /* fsuid of the caller */
	gid_t gid;    /* fsgid of the caller */
	pid_t pid;    /* thread id of the caller; 0 for kernel-internal work (writeback) */
	mode_t umask; /* the caller's umask, for create/mkdir/mknod/tmpfile; else 0 */
};

/* ---------------------------------------------------------------------------------- */
/* What callbacks fill in.                                                             */

/* A node handed to the kernel (lookup, mkdir, create, ...). */
struct umfs_entry {
	void *node;           /* [out] the file system's node; NULL = negative entry */
	struct stat attr;     /* [out] attributes; st_ino is shown to programs as is */
	double entry_timeout; /* [out] seconds the kernel may cache the name */
	double attr_timeout;  /* [out] seconds the kernel may cache the attributes */
	/* [out] the node's generation, with umfs_config.direct_node_ids only (else
	 * libumfs numbers the nodes itself and ignores this field) */
	uint64_t generation;
};

/* Attributes of a node (getattr, setattr). */
struct umfs_attr {
	struct stat st;      /* [out] */
	double timeout;      /* [out] seconds the kernel may cache them */
};

/* An open file or directory. */
struct umfs_open {
	void *fh;                    /* [out] the file system's handle, passed back on I/O */
	unsigned direct_io : 1;      /* [out] bypass the page cache for this open */
	unsigned keep_cache : 1;     /* [out] keep cached data from earlier opens */
	unsigned nonseekable : 1;    /* [out] */
	unsigned cache_dir : 1;      /* [out] (opendir) the kernel may cache readdir output */
	unsigned noflush : 1;        /* [out] no flush on close when not needed */
	unsigned parallel_direct_writes : 1; /* [out] */
	int backing_id;              /* [out] from umfs_backing_open(): kernel passthrough */
};

/* Which attributes setattr changes (a bit set in `valid`). */
#define UMFS_SET_MODE (1U << 0)
#define UMFS_SET_UID (1U << 1)
#define UMFS_SET_GID (1U << 2)
#define UMFS_SET_SIZE (1U << 3)
#define UMFS_SET_ATIME (1U << 4)
#define UMFS_SET_MTIME (1U << 5)
#define UMFS_SET_ATIME_NOW (1U << 7)
#define UMFS_SET_MTIME_NOW (1U << 8)
#define UMFS_SET_CTIME (1U << 10)
#define UMFS_SET_KILL_SUIDGID (1U << 11)

/* write() flags */
#define UMFS_WRITE_CACHE (1U << 0)        /* delayed write from the page cache */
#define UMFS_WRITE_KILL_SUIDGID (1U << 2) /* clear setuid/setgid (handle_killpriv) */

/* rename() flags are the kernel's RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT. */

/* A directory listing in progress: see umfs_dir_add(). */
typedef struct umfs_dirbuf umfs_dirbuf;

/* ioctl() flags */
#define UMFS_IOCTL_COMPAT (1U << 0) /* a 32-bit caller on a 64-bit kernel */
#define UMFS_IOCTL_DIR (1U << 4)    /* on a directory */

/* A caller waiting in poll(2) for an open file: see the poll callback. */
typedef struct umfs_pollhandle umfs_pollhandle;

/* ---------------------------------------------------------------------------------- */
/* The operations a file system implements. Unused ones stay NULL.                     */

struct umfs_conn; /* see umfs_conn_* below */

struct umfs_operations {
	uint32_t version; /* UMFS_API_VERSION */
	uint32_t size;    /* sizeof(struct umfs_operations) */

	/* Once, after INIT negotiation and before any other request. May adjust the
	 * capabilities the session asks for (umfs_conn_*). */
	void (*init)(void *fs, struct umfs_conn *conn);
	/* Once, at the end of the session (unmount), after the last request. */
	void (*destroy)(void *fs);

	/* Find name in dir. Returning 0 with out->node NULL is a negative entry: the
	 * kernel caches "no such name" for out->entry_timeout (like -ENOENT with
	 * umfs_config.negative_timeout). */
	int (*lookup)(umfs_req *req, void *dir, const char *name, struct umfs_entry *out);
	/* The kernel dropped nlookup handouts of the node, and holds no other: see the
	 * invariant above. Must not call umfs_notify_*. */
	void (*forget)(void *fs, void *node, uint64_t nlookup);

	/* fh is the handle when the kernel names one (fstat), else NULL. */
	int (*getattr)(umfs_req *req, void *node, void *fh, struct umfs_attr *out);
	/* Change the attributes named in `valid` (UMFS_SET_*) to those in `in`;
	 * answer with all attributes after the change. */
	int (*setattr)(umfs_req *req, void *node, void *fh, const struct stat *in,
		       unsigned valid, struct umfs_attr *out);
	/* Copy the target into buf (size bytes at most, no NUL needed); return its length. */
	int (*readlink)(umfs_req *req, void *node, char *buf, size_t size);

	/* mode holds the file type and permission bits, with the caller's umask already
	 * applied by the kernel (the umask is still in umfs_req_caller() for ACLs). */
	int (*mknod)(umfs_req *req, void *dir, const char *name, mode_t mode, dev_t rdev,
		     struct umfs_entry *out);
	int (*mkdir)(umfs_req *req, void *dir, const char *name, mode_t mode,
		     struct umfs_entry *out);
	int (*symlink)(umfs_req *req, void *dir, const char *name, const char *target,
		       struct umfs_entry *out);
	int (*link)(umfs_req *req, void *node, void *newdir, const char *newname,
		    struct umfs_entry *out);
	int (*unlink)(umfs_req *req, void *dir, const char *name);
	int (*rmdir)(umfs_req *req, void *dir, const char *name);
	int (*rename)(umfs_req *req, void *dir, const char *name, void *newdir,
		      const char *newname, unsigned flags);

	/* flags are open(2)'s; O_CREAT and O_EXCL never reach open. O_TRUNC does, and
	 * open must truncate (the session asks the kernel for atomic O_TRUNC when open is
	 * implemented). With the writeback cache, O_WRONLY may arrive as O_RDWR and
	 * O_APPEND is cleared. */
	int (*open)(umfs_req *req, void *node, int flags, struct umfs_open *out);
	int (*create)(umfs_req *req, void *dir, const char *name, mode_t mode, int flags,
		      struct umfs_entry *entry, struct umfs_open *out);
	/* An unnamed file in dir (O_TMPFILE). */
	int (*tmpfile)(umfs_req *req, void *dir, mode_t mode, int flags,
		       struct umfs_entry *entry, struct umfs_open *out);
	/* Read up to size bytes at off into buf; return the count (0 at end of file). */
	int (*read)(umfs_req *req, void *node, void *fh, void *buf, size_t size, off_t off);
	/* Write size bytes from buf at off; return the count written. flags: UMFS_WRITE_*. */
	int (*write)(umfs_req *req, void *node, void *fh, const void *buf, size_t size,
		     off_t off, unsigned flags);
	/* Each close(2) of a descriptor (and its dups) sends flush. */
	int (*flush)(umfs_req *req, void *node, void *fh, uint64_t lock_owner);
	/* The last reference to the open file is gone. The result is not seen by anyone. */
	int (*release)(umfs_req *req, void *node, void *fh, int flags);
	int (*fsync)(umfs_req *req, void *node, void *fh, int datasync);

	int (*opendir)(umfs_req *req, void *node, int flags, struct umfs_open *out);
	/* List entries from position off (0 = start, else an offset this callback gave
	 * to umfs_dir_add). Add entries until umfs_dir_add() says the buffer is full,
	 * then return 0; return 0 with nothing added at the end of the directory. */
	int (*readdir)(umfs_req *req, void *node, void *fh, off_t off, umfs_dirbuf *buf);
	int (*releasedir)(umfs_req *req, void *node, void *fh);
	int (*fsyncdir)(umfs_req *req, void *node, void *fh, int datasync);

	int (*statfs)(umfs_req *req, void *node, struct statvfs *out);

	/* flags: XATTR_CREATE, XATTR_REPLACE. */
	int (*setxattr)(umfs_req *req, void *node, const char *name, const void *value,
			size_t size, int flags);
	/* size 0: return the value's size. Else copy it into buf; -ERANGE if too small. */
	int (*getxattr)(umfs_req *req, void *node, const char *name, void *buf, size_t size);
	/* NUL-separated names; size 0 and -ERANGE as for getxattr. */
	int (*listxattr)(umfs_req *req, void *node, char *buf, size_t size);
	int (*removexattr)(umfs_req *req, void *node, const char *name);

	/* Only called without default_permissions. mask: R_OK, W_OK, X_OK or F_OK. */
	int (*access)(umfs_req *req, void *node, int mask);

	/* File locks. Left NULL, the kernel keeps POSIX and flock locks itself, which is
	 * right for a file system that only this host sees (memfs does so). */
	int (*getlk)(umfs_req *req, void *node, void *fh, uint64_t owner, struct flock *lk);
	int (*setlk)(umfs_req *req, void *node, void *fh, uint64_t owner,
		     const struct flock *lk, int wait);
	int (*flock)(umfs_req *req, void *node, void *fh, uint64_t owner, int op);

	/* mode: 0 or FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, ... as fallocate(2). */
	int (*fallocate)(umfs_req *req, void *node, void *fh, int mode, off_t off, off_t len);
	/* Return the count copied. */
	ssize_t (*copy_file_range)(umfs_req *req, void *node_in, void *fh_in, off_t off_in,
				   void *node_out, void *fh_out, off_t off_out, size_t len,
				   int flags);
	/* SEEK_DATA and SEEK_HOLE (the kernel handles SEEK_SET/CUR/END itself). */
	int (*lseek)(umfs_req *req, void *node, void *fh, off_t off, int whence,
		     off_t *out);
	int (*syncfs)(umfs_req *req, void *node);

	/* ioctl(2) on an open file or (UMFS_IOCTL_DIR) directory. cmd is the caller's;
	 * arg is the caller's argument as a number (its pointer value: never follow it).
	 * The kernel copies the command's data (_IOC_SIZE(cmd) bytes) both ways: `in`
	 * holds in_size bytes for _IOW commands; for _IOR ones copy up to out_size bytes
	 * into `out` and set *out_len. Return the ioctl's result (>= 0) or -errno;
	 * -ENOTTY for a command the file system does not know. */
	int (*ioctl)(umfs_req *req, void *node, void *fh, unsigned int cmd, uint64_t arg,
		     unsigned flags, const void *in, size_t in_size, void *out, size_t out_size,
		     size_t *out_len);
	/* poll(2), select(2), epoll on an open file: set *revents to the events of
	 * `events` (POLLIN, POLLOUT, ...) ready now. When ph is not NULL the caller will
	 * wait: the callback owns ph, and calls umfs_notify_poll(ph) once the readiness
	 * may have changed, then umfs_pollhandle_destroy(ph) (or only the latter, when it
	 * no longer cares). Left NULL, files are always ready. */
	int (*poll)(umfs_req *req, void *node, void *fh, unsigned events, umfs_pollhandle *ph,
		    unsigned *revents);
	/* The data umfs_notify_retrieve() asked for: size bytes of node's page cache at
	 * off (fewer than asked where the kernel had none). node is NULL when the kernel
	 * forgot it meanwhile. Runs on a worker; like forget, no umfs_req. */
	void (*retrieve_reply)(void *fs, void *cookie, void *node, off_t off, const void *data,
			       size_t size);
};

/* ---------------------------------------------------------------------------------- */
/* Requests.                                                                           */

/* The file system's own pointer, as given to umfs_session_new(). */
void *umfs_req_fs(umfs_req *req);
const struct umfs_caller *umfs_req_caller(umfs_req *req);
/* Nonzero once the kernel asked to interrupt this request (the caller got a signal).
 * A callback that waits may give up and return -EINTR. */
int umfs_req_interrupted(umfs_req *req);
/* Supplementary groups of the caller, read from /proc (the kernel sends only fsgid).
 * Returns the count (at most max) or a negative errno. */
int umfs_req_groups(umfs_req *req, gid_t *groups, int max);
/* 1 if gid is the caller's group or one of its supplementary groups (the kernel's
 * in_group_p, e.g. for whether a write clears S_ISGID), else 0. */
int umfs_req_in_group(umfs_req *req, gid_t gid);

/*
 * Asynchronous replies. A callback that cannot answer now calls umfs_req_defer(),
 * returns UMFS_DEFERRED, and later (from any thread) fills the same out-parameters
 * and calls umfs_req_complete() with what it would have returned. The out-parameters
 * and buffers given to the callback stay valid until then. Every deferred request
 * must be completed exactly once. Completed on the callback's own thread before the
 * callback returns, the reply may leave only when it returns (over io_uring it
 * does): never wait there for something the reply unblocks.
 */
void umfs_req_defer(umfs_req *req);
void umfs_req_complete(umfs_req *req, ssize_t result);

/*
 * Add one entry to a directory listing. next_off is the offset at which to resume
 * after this entry (the value readdir gets next time). st needs at least st_ino and
 * the type bits of st_mode. For readdirplus (umfs_dir_plus() is nonzero) give the
 * node and full attributes, and the kernel gets the entry as if looked up (the
 * lookup count rule applies); node may be NULL for "." and "..".
 * Returns 0 when added, 1 when the buffer is full (the entry was not added).
 */
int umfs_dir_add(umfs_dirbuf *buf, const char *name, const struct stat *st, void *node,
		 off_t next_off);
int umfs_dir_plus(const umfs_dirbuf *buf);
/* As umfs_dir_add, with the entry's own timeouts (e->node, e->attr, e->entry_timeout,
 * e->attr_timeout) instead of the session's defaults, for readdirplus. */
int umfs_dir_add_entry(umfs_dirbuf *buf, const char *name, const struct umfs_entry *e,
		       off_t next_off);
/* Bytes the kernel asked for that are still free in the listing (for layers, such as
 * umfs-fuse3, whose file systems size their own replies). */
size_t umfs_dir_space(const umfs_dirbuf *buf);
/* For layers whose file systems lay out plain (not readdirplus) entries themselves,
 * as libfuse's fuse_add_direntry() does: append the len bytes at dirents, entries in
 * the kernel's struct fuse_dirent layout (linux/fuse.h: ino, off of the next entry,
 * namelen, type, the name, zeros to a multiple of 8 bytes), in one copy. Returns 0
 * when all were added, 1 when the buffer filled (the entries that fit were added),
 * -EINVAL for a readdirplus listing, -EIO when an entry's name is empty or longer
 * than 4095 bytes: then nothing is added. An entry cut off at len ends the entries;
 * the kernel itself refuses a name holding '/' or longer than it takes (1024 bytes
 * on older kernels), failing the listing with EIO, as on libfuse. */
int umfs_dir_add_dirents(umfs_dirbuf *buf, const void *dirents, size_t len);
/* The same for readdirplus entries, in a session with umfs_config.direct_node_ids
 * only (the entries name nodes by their ids): entries in the kernel's struct
 * fuse_direntplus layout (struct fuse_entry_out, then a struct fuse_dirent), as
 * umfs_direntplus() writes them. Returns as umfs_dir_add_dirents, and -EINVAL for a
 * plain listing or a session that counts nodes; the nodes of whole entries that did
 * not fit go back to the file system through forget (the kernel never saw them). */
int umfs_dir_add_direntplus(umfs_dirbuf *buf, const void *entries, size_t len);
/* Lay out one readdirplus entry for umfs_dir_add_direntplus() at dst, if it fits in
 * room: e->node as its node id (direct_node_ids), e->generation, e->attr and the
 * timeouts. Returns the entry's size, whether it fit or not (dst may then be NULL). */
size_t umfs_direntplus(void *dst, size_t room, const char *name, const struct umfs_entry *e,
		       off_t next_off);

/* ---------------------------------------------------------------------------------- */
/* Capabilities, negotiated at INIT (call these from the init callback).               */

/* UMFS_CAP_*: what the kernel offers and the file system may want. */
#define UMFS_CAP_ASYNC_READ (1ULL << 0)
#define UMFS_CAP_ATOMIC_O_TRUNC (1ULL << 3)
#define UMFS_CAP_BIG_WRITES (1ULL << 5)
#define UMFS_CAP_SPLICE (1ULL << 7)
#define UMFS_CAP_AUTO_INVAL_DATA (1ULL << 12)
#define UMFS_CAP_READDIRPLUS (1ULL << 13)
#define UMFS_CAP_READDIRPLUS_AUTO (1ULL << 14)
#define UMFS_CAP_ASYNC_DIO (1ULL << 15)
#define UMFS_CAP_WRITEBACK_CACHE (1ULL << 16)
#define UMFS_CAP_PARALLEL_DIROPS (1ULL << 18)
#define UMFS_CAP_HANDLE_KILLPRIV (1ULL << 19)
#define UMFS_CAP_POSIX_ACL (1ULL << 20)
#define UMFS_CAP_CACHE_SYMLINKS (1ULL << 23)
#define UMFS_CAP_EXPLICIT_INVAL_DATA (1ULL << 25)
#define UMFS_CAP_HANDLE_KILLPRIV_V2 (1ULL << 28)
#define UMFS_CAP_EXPIRE_ONLY (1ULL << 35)
#define UMFS_CAP_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#define UMFS_CAP_PASSTHROUGH (1ULL << 37)

uint64_t umfs_conn_offered(const struct umfs_conn *conn);
uint64_t umfs_conn_wanted(const struct umfs_conn *conn);
/* Ask for (or drop) capabilities; bits the kernel does not offer are ignored. */
void umfs_conn_want(struct umfs_conn *conn, uint64_t caps);
void umfs_conn_unwant(struct umfs_conn *conn, uint64_t caps);
/* The negotiated protocol minor (7.x). */
unsigned umfs_conn_proto_minor(const struct umfs_conn *conn);

/* ---------------------------------------------------------------------------------- */
/* Sessions: mount, serve, unmount.                                                    */

enum umfs_log_level { UMFS_LOG_ERR = 3, UMFS_LOG_WARNING = 4, UMFS_LOG_INFO = 6, UMFS_LOG_DEBUG = 7 };
/* The library never prints by itself: it calls this (default: stderr). */
typedef void (*umfs_log_fn)(enum umfs_log_level level, const char *msg, void *arg);
void umfs_set_log(umfs_log_fn fn, void *arg);
/* Log through the hook; for file systems and tools that want one voice. */
void umfs_log(enum umfs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Ready-made hook: syslog(3), for daemons. */
void umfs_log_syslog(enum umfs_log_level level, const char *msg, void *arg);

struct umfs_config {
	uint32_t version; /* UMFS_API_VERSION */
	uint32_t size;    /* sizeof(struct umfs_config) */
	/* Mount options, as for mount.fuse3 -o: "allow_other,default_permissions,ro,..."
	 * (fsname=, subtype=, max_read=, and the generic ro, nosuid, nodev, noexec,
	 * noatime, ...). NULL: none. */
	const char *mount_options;
	unsigned threads;       /* worker threads; 0 = one per CPU */
	int single_threaded;    /* serve requests one at a time, on one worker thread */
	int debug;              /* log a trace line per request and reply */
	double entry_timeout;   /* default for umfs_entry.entry_timeout (1.0) */
	double attr_timeout;    /* default for attribute timeouts (1.0) */
	double negative_timeout; /* cache ENOENT lookups this long (0 = do not) */
	unsigned max_write;     /* largest write request (bytes); 0 = 1 MiB */
	unsigned name_max;      /* longest name; 0 = 255 */
	uint64_t want;          /* UMFS_CAP_* to ask for beyond the defaults */
	uint64_t unwant;        /* UMFS_CAP_* not to ask for */
	int file_mountpoint;    /* the root is a regular file: a regular file may be the
				 * mount point (else -ENOTDIR) */
	/* Serve requests through /dev/fuse only, even where the kernel offers
	 * FUSE-over-io_uring (module parameter fuse.enable_uring=Y). */
	int no_uring;
	/* Busy polling: after a reply, a worker keeps reading for up to this many
	 * microseconds before it sleeps, which saves the kernel a wake-up when the
	 * next request comes that soon (the window adapts to the traffic).
	 * 0 = the default (50, or UMFS_POLL_US from the environment); < 0 = never. */
	int poll_us;
	/* The file system's node contexts are the kernel's node ids, as in libfuse's
	 * low-level API (umfs-fuse3 uses this): libumfs keeps no node table, the root
	 * context must be (void *)1, entries carry the file system's generation, and
	 * forget is called for every FORGET with the kernel's count (nothing is counted
	 * for the file system, nor forgotten when the session ends). */
	int direct_node_ids;
	/* Up to this many workers, as libfuse's multi-threaded loop (its max_threads):
	 * when every one of the `threads` workers has waited in a callback (for a disk
	 * or a network, say) for 2 ms, a reserve worker, started on demand, takes one
	 * request (pool.c). Reserves stay until the session ends. 0 = `threads`: a fixed
	 * pool. Not with single_threaded, not during a stream of large writes, nor for
	 * the io_uring transport, whose rings are fixed. */
	unsigned max_threads;
};
/* Fill c with the defaults. */
void umfs_config_init(struct umfs_config *c);

/*
 * Create a session for the file system `ops`, whose own state is `fs` and whose root
 * node is `root` (never forgotten). Returns NULL with errno set.
 */
umfs_session *umfs_session_new(const struct umfs_operations *ops, size_t ops_size,
			       void *fs, void *root, const struct umfs_config *config);

/*
 * Mount on `mountpoint`. As root (CAP_SYS_ADMIN) with mount(2), else through
 * fusermount3. Returns 0 or a negative errno, after logging the reason:
 * -ENOENT mountpoint missing, -ENOTDIR not a directory, -EBUSY already mounted,
 * -ENODEV no /dev/fuse, -EPERM/-EACCES not allowed, -EINVAL bad mount option.
 * On success SIGINT, SIGTERM and SIGHUP stay blocked in the calling thread until the
 * session ends, so a stop asked for before umfs_session_loop() runs is not lost (it
 * is served as soon as the loop starts); the previous mask comes back at the end.
 * A mountpoint of the form "/dev/fd/N" (the libfuse convention) names descriptor N,
 * an open /dev/fuse that a launcher (umfsd) has already mounted: the session serves
 * it as it is, ignores the mount options and leaves unmounting to the mounter;
 * -EINVAL if N is not a number, -EBADF if it is not an open /dev/fuse.
 */
int umfs_mount(umfs_session *s, const char *mountpoint);

/*
 * Serve requests until the file system is unmounted, a signal (SIGINT, SIGTERM,
 * SIGHUP) asks to stop, or the kernel aborts the connection. Unmounts on the way out.
 * Returns 0 on a clean end, a negative errno otherwise. Installs the signal handling
 * it needs for the duration of the call.
 */
int umfs_session_loop(umfs_session *s);

/* Change the worker threads (as umfs_config.threads and .single_threaded) between
 * umfs_session_new() and umfs_session_loop(); for layers that learn the loop's kind
 * only after mounting (libfuse's fuse_session_loop vs fuse_session_loop_mt). */
void umfs_session_set_workers(umfs_session *s, unsigned threads, int single_threaded);
/* Change umfs_config.max_threads, likewise. */
void umfs_session_set_max_threads(umfs_session *s, unsigned max_threads);

/* Ask a running loop to stop (async-signal-safe). It unmounts and returns. */
void umfs_session_exit(umfs_session *s);

/* Unmount (if mounted) and free the session. */
void umfs_session_destroy(umfs_session *s);

/* Unmount whatever is mounted at mountpoint (for the `umfs unmount` command).
 * lazy: detach even if busy. Returns 0 or a negative errno. */
int umfs_unmount(const char *mountpoint, int lazy);

/* Check a mount option string (as for umfs_config.mount_options) without mounting.
 * Returns 0 or -EINVAL after logging which option is unknown or bad. */
int umfs_check_mount_options(const char *options);

/* ---------------------------------------------------------------------------------- */
/* Notifications: for file systems whose data changes behind the kernel's back.        */
/* Each returns 0, -ENOENT when the kernel does not know the node/name, or another     */
/* negative errno. They may be called from any thread, but not while a callback for    */
/* the same directory is running on that thread (the kernel may be waiting for it).     */

int umfs_notify_inval_inode(umfs_session *s, void *node, off_t off, off_t len);
int umfs_notify_inval_entry(umfs_session *s, void *dir, const char *name);
int umfs_notify_delete(umfs_session *s, void *dir, void *child, const char *name);
int umfs_notify_store(umfs_session *s, void *node, off_t off, const void *data,
		      size_t size);

/* Like umfs_notify_inval_entry, but the name only times out: the kernel keeps it for
 * programs that use it (a cwd) and asks again on the next lookup. -ENOSYS on kernels
 * without FUSE_EXPIRE_ONLY (before 6.2). */
int umfs_notify_expire_entry(umfs_session *s, void *dir, const char *name);
/* Wake the caller poll() told to wait (see the poll callback). */
int umfs_notify_poll(umfs_pollhandle *ph);
void umfs_pollhandle_destroy(umfs_pollhandle *ph);
/* Ask the kernel for up to size bytes of node's cached data at off; they come to the
 * retrieve_reply callback with cookie. Returns 0 or -errno (-ENOENT: the kernel does
 * not know the node). */
int umfs_notify_retrieve(umfs_session *s, void *node, off_t off, size_t size, void *cookie);

/* The session of a request, for notifications from callbacks' helpers. */
umfs_session *umfs_req_session(umfs_req *req);

/* Kernel passthrough (Linux 6.9+): register an open fd whose I/O the kernel does
 * directly; put the id in umfs_open.backing_id. Returns the id or a negative errno. */
int umfs_backing_open(umfs_session *s, int fd);
int umfs_backing_close(umfs_session *s, int backing_id);

/* ---------------------------------------------------------------------------------- */
/* For layers over libumfs (umfs-fuse3): what libfuse's API exposes beyond ours.       */

/* The session's /dev/fuse descriptor once mounted (the first worker's), else -1. The
 * session reads and closes it; callers may only poll or fstat it. */
int umfs_session_fd(umfs_session *s);

typedef void (*umfs_interrupt_fn)(umfs_req *req, void *arg);
/* Have fn(req, arg) called once when the kernel interrupts req: at once, on this
 * thread, if it already has; else later, on the worker that reads the INTERRUPT (fn
 * must not block). A new registration replaces the previous one; fn NULL cancels. A
 * registration must be cancelled before req is completed (or its callback returns):
 * the cancel waits for a call of fn running on another thread. Returns 0 or -ENOMEM. */
int umfs_req_on_interrupt(umfs_req *req, umfs_interrupt_fn fn, void *arg);

/* Limits the kernel is given at INIT, from the init callback (libfuse's struct
 * fuse_conn_info). 0 keeps the session's choice. max_write (bytes) and
 * max_readahead can only go below the session's (umfs_config.max_write, and what the
 * kernel offered); max_background (background requests, e.g. readahead and async
 * I/O, default 64), congestion_threshold (default 48) and time_gran (timestamp
 * granularity in ns, a power of 10 up to 1000000000, default 1) are as given.
 * UMFS_LIMIT_KERNEL as max_background or congestion_threshold gives the kernel no
 * value, so it keeps its own (12 and 9 on Linux 6), as libfuse does by default. */
#define UMFS_LIMIT_KERNEL (~0u)
struct umfs_conn_limits {
	unsigned max_write;
	unsigned max_readahead;
	unsigned max_background;
	unsigned congestion_threshold;
	unsigned time_gran;
};
void umfs_conn_set_limits(struct umfs_conn *conn, const struct umfs_conn_limits *limits);

#ifdef __cplusplus
}
#endif
#endif
