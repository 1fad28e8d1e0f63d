/* SPDX-License-Identifier: MIT */
/*
 * wire.h - the FUSE kernel protocol, as umfs speaks it.
 *
 * This is the project's own description of the ABI of the kernel's fuse.ko, written from
 * the protocol's documentation. It is private: nothing in include/umfs/ exposes it.
 * Debian 12's <linux/fuse.h> stops at 7.38; the kernels umfs runs on go further, so the
 * project keeps its own definitions and negotiates at INIT what the running kernel has.
 *
 * Per-minor notes on what umfs relies on (older minors are the baseline, 7.31):
 *   7.32  fuse_attr.flags (SUBMOUNT)
 *   7.33  SETXATTR_EXT: fuse_setxattr_in grows setxattr_flags
 *   7.34  FUSE_SYNCFS
 *   7.35  FOPEN_NOFLUSH
 *   7.36  INIT_EXT: flags2 in init in/out; in_header.total_extlen; SECURITY_CTX
 *   7.37  FUSE_TMPFILE; FOPEN_PARALLEL_DIRECT_WRITES
 *   7.38  HAS_EXPIRE_ONLY; fuse_open_in.open_flags (OPEN_KILL_SUIDGID)
 *   7.39  FUSE_STATX; DIRECT_IO_ALLOW_MMAP
 *   7.40  FUSE_PASSTHROUGH, FOPEN_PASSTHROUGH, backing ids; NO_EXPORT_SUPPORT; HAS_RESEND
 *   7.41  ALLOW_IDMAP
 *   7.42  OVER_IO_URING
 *   7.43  REQUEST_TIMEOUT
 *   7.44  NOTIFY_INC_EPOCH
 *   7.45  FUSE_COPY_FILE_RANGE_64 (64-bit result)
 * All structures are little-endian host order and padded to 8 bytes.
 */
#ifndef UMFS_WIRE_H
#define UMFS_WIRE_H

#include <stdint.h>
#include <sys/ioctl.h>

#define FUSE_KERNEL_VERSION 7
#define FUSE_KERNEL_MINOR_VERSION 45
/* The oldest minor umfs accepts: 7.31 is Linux 5.10's era; anything older is refused. */
#define FUSE_MIN_MINOR_VERSION 31
#define FUSE_ROOT_ID 1

/* INIT flags (the low 32 bits in fuse_init_*.flags, the high 32 in flags2) */
#define FUSE_ASYNC_READ (1ULL << 0)
#define FUSE_POSIX_LOCKS (1ULL << 1)
#define FUSE_ATOMIC_O_TRUNC (1ULL << 3)
#define FUSE_EXPORT_SUPPORT (1ULL << 4)
#define FUSE_BIG_WRITES (1ULL << 5)
#define FUSE_DONT_MASK (1ULL << 6)
#define FUSE_SPLICE_WRITE (1ULL << 7)
#define FUSE_SPLICE_MOVE (1ULL << 8)
#define FUSE_SPLICE_READ (1ULL << 9)
#define FUSE_FLOCK_LOCKS (1ULL << 10)
#define FUSE_HAS_IOCTL_DIR (1ULL << 11)
#define FUSE_AUTO_INVAL_DATA (1ULL << 12)
#define FUSE_DO_READDIRPLUS (1ULL << 13)
#define FUSE_READDIRPLUS_AUTO (1ULL << 14)
#define FUSE_ASYNC_DIO (1ULL << 15)
#define FUSE_WRITEBACK_CACHE (1ULL << 16)
#define FUSE_NO_OPEN_SUPPORT (1ULL << 17)
#define FUSE_PARALLEL_DIROPS (1ULL << 18)
#define FUSE_HANDLE_KILLPRIV (1ULL << 19)
#define FUSE_POSIX_ACL (1ULL << 20)
#define FUSE_ABORT_ERROR (1ULL << 21)
#define FUSE_MAX_PAGES (1ULL << 22)
#define FUSE_CACHE_SYMLINKS (1ULL << 23)
#define FUSE_NO_OPENDIR_SUPPORT (1ULL << 24)
#define FUSE_EXPLICIT_INVAL_DATA (1ULL << 25)
#define FUSE_MAP_ALIGNMENT (1ULL << 26)
#define FUSE_SUBMOUNTS (1ULL << 27)
#define FUSE_HANDLE_KILLPRIV_V2 (1ULL << 28)
#define FUSE_SETXATTR_EXT (1ULL << 29)
#define FUSE_INIT_EXT (1ULL << 30)
#define FUSE_INIT_RESERVED (1ULL << 31)
#define FUSE_SECURITY_CTX (1ULL << 32)
#define FUSE_HAS_INODE_DAX (1ULL << 33)
#define FUSE_CREATE_SUPP_GROUP (1ULL << 34)
#define FUSE_HAS_EXPIRE_ONLY (1ULL << 35)
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#define FUSE_PASSTHROUGH (1ULL << 37)
#define FUSE_NO_EXPORT_SUPPORT (1ULL << 38)
#define FUSE_HAS_RESEND (1ULL << 39)
#define FUSE_ALLOW_IDMAP (1ULL << 40)
#define FUSE_OVER_IO_URING (1ULL << 41)
#define FUSE_REQUEST_TIMEOUT (1ULL << 42)

/* fuse_setattr_in.valid */
#define FATTR_MODE (1U << 0)
#define FATTR_UID (1U << 1)
#define FATTR_GID (1U << 2)
#define FATTR_SIZE (1U << 3)
#define FATTR_ATIME (1U << 4)
#define FATTR_MTIME (1U << 5)
#define FATTR_FH (1U << 6)
#define FATTR_ATIME_NOW (1U << 7)
#define FATTR_MTIME_NOW (1U << 8)
#define FATTR_LOCKOWNER (1U << 9)
#define FATTR_CTIME (1U << 10)
#define FATTR_KILL_SUIDGID (1U << 11)

/* fuse_open_out.open_flags */
#define FOPEN_DIRECT_IO (1U << 0)
#define FOPEN_KEEP_CACHE (1U << 1)
#define FOPEN_NONSEEKABLE (1U << 2)
#define FOPEN_CACHE_DIR (1U << 3)
#define FOPEN_STREAM (1U << 4)
#define FOPEN_NOFLUSH (1U << 5)
#define FOPEN_PARALLEL_DIRECT_WRITES (1U << 6)
#define FOPEN_PASSTHROUGH (1U << 7)

#define FUSE_RELEASE_FLUSH (1U << 0)
#define FUSE_RELEASE_FLOCK_UNLOCK (1U << 1)
#define FUSE_GETATTR_FH (1U << 0)
#define FUSE_LK_FLOCK (1U << 0)
#define FUSE_WRITE_CACHE (1U << 0)
#define FUSE_WRITE_LOCKOWNER (1U << 1)
#define FUSE_WRITE_KILL_SUIDGID (1U << 2)
#define FUSE_READ_LOCKOWNER (1U << 1)
#define FUSE_FSYNC_FDATASYNC (1U << 0)
#define FUSE_OPEN_KILL_SUIDGID (1U << 0)

enum fuse_opcode {
	FUSE_LOOKUP = 1,
	FUSE_FORGET = 2, /* no reply */
	FUSE_GETATTR = 3,
	FUSE_SETATTR = 4,
	FUSE_READLINK = 5,
	FUSE_SYMLINK = 6,
	FUSE_MKNOD = 8,
	FUSE_MKDIR = 9,
	FUSE_UNLINK = 10,
	FUSE_RMDIR = 11,
	FUSE_RENAME = 12,
	FUSE_LINK = 13,
	FUSE_OPEN = 14,
	FUSE_READ = 15,
	FUSE_WRITE = 16,
	FUSE_STATFS = 17,
	FUSE_RELEASE = 18,
	FUSE_FSYNC = 20,
	FUSE_SETXATTR = 21,
	FUSE_GETXATTR = 22,
	FUSE_LISTXATTR = 23,
	FUSE_REMOVEXATTR = 24,
	FUSE_FLUSH = 25,
	FUSE_INIT = 26,
	FUSE_OPENDIR = 27,
	FUSE_READDIR = 28,
	FUSE_RELEASEDIR = 29,
	FUSE_FSYNCDIR = 30,
	FUSE_GETLK = 31,
	FUSE_SETLK = 32,
	FUSE_SETLKW = 33,
	FUSE_ACCESS = 34,
	FUSE_CREATE = 35,
	FUSE_INTERRUPT = 36,
	FUSE_BMAP = 37,
	FUSE_DESTROY = 38,
	FUSE_IOCTL = 39,
	FUSE_POLL = 40,
	FUSE_NOTIFY_REPLY = 41,
	FUSE_BATCH_FORGET = 42, /* no reply */
	FUSE_FALLOCATE = 43,
	FUSE_READDIRPLUS = 44,
	FUSE_RENAME2 = 45,
	FUSE_LSEEK = 46,
	FUSE_COPY_FILE_RANGE = 47,
	FUSE_SETUPMAPPING = 48,
	FUSE_REMOVEMAPPING = 49,
	FUSE_SYNCFS = 50,
	FUSE_TMPFILE = 51,
	FUSE_STATX = 52,
	FUSE_COPY_FILE_RANGE_64 = 53,
	FUSE_OPCODE_LIMIT, /* one past the highest opcode umfs knows */
};

enum fuse_notify_code {
	FUSE_NOTIFY_POLL = 1,
	FUSE_NOTIFY_INVAL_INODE = 2,
	FUSE_NOTIFY_INVAL_ENTRY = 3,
	FUSE_NOTIFY_STORE = 4,
	FUSE_NOTIFY_RETRIEVE = 5,
	FUSE_NOTIFY_DELETE = 6,
};

/* Interrupt requests carry this bit in their unique id. */
#define FUSE_INT_REQ_BIT (1ULL << 0)
/* The kernel refuses a read buffer smaller than this. */
#define FUSE_MIN_READ_BUFFER 8192

struct fuse_attr {
	uint64_t ino, size, blocks, atime, mtime, ctime;
	uint32_t atimensec, mtimensec, ctimensec;
	uint32_t mode, nlink, uid, gid, rdev, blksize, flags;
};

struct fuse_sx_time {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};

struct fuse_statx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, spare0;
	uint64_t ino, size, blocks, attributes_mask;
	struct fuse_sx_time atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t spare2[14];
};

struct fuse_kstatfs {
	uint64_t blocks, bfree, bavail, files, ffree;
	uint32_t bsize, namelen, frsize, padding;
	uint32_t spare[6];
};

struct fuse_file_lock {
	uint64_t start, end;
	uint32_t type;
	uint32_t pid; /* tgid */
};

struct fuse_in_header {
	uint32_t len;
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen; /* length of extensions, in 8-byte units */
	uint16_t padding;
};

struct fuse_out_header {
	uint32_t len;
	int32_t error; /* 0 or -errno */
	uint64_t unique;
};

struct fuse_entry_out {
	uint64_t nodeid, generation;
	uint64_t entry_valid, attr_valid;
	uint32_t entry_valid_nsec, attr_valid_nsec;
	struct fuse_attr attr;
};

struct fuse_forget_in { uint64_t nlookup; };
struct fuse_forget_one { uint64_t nodeid, nlookup; };
struct fuse_batch_forget_in { uint32_t count, dummy; };
struct fuse_getattr_in { uint32_t getattr_flags, dummy; uint64_t fh; };

struct fuse_attr_out {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec, dummy;
	struct fuse_attr attr;
};

struct fuse_statx_in {
	uint32_t getattr_flags, reserved;
	uint64_t fh;
	uint32_t sx_flags, sx_mask;
};

struct fuse_statx_out {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec, flags;
	uint64_t spare[2];
	struct fuse_statx stat;
};

struct fuse_mknod_in { uint32_t mode, rdev, umask, padding; };
struct fuse_mkdir_in { uint32_t mode, umask; };
struct fuse_rename_in { uint64_t newdir; };
struct fuse_rename2_in { uint64_t newdir; uint32_t flags, padding; };
struct fuse_link_in { uint64_t oldnodeid; };

struct fuse_setattr_in {
	uint32_t valid, padding;
	uint64_t fh, size, lock_owner;
	uint64_t atime, mtime, ctime;
	uint32_t atimensec, mtimensec, ctimensec;
	uint32_t mode, unused4, uid, gid, unused5;
};

struct fuse_open_in { uint32_t flags, open_flags; };
struct fuse_create_in { uint32_t flags, mode, umask, open_flags; };
struct fuse_open_out { uint64_t fh; uint32_t open_flags; int32_t backing_id; };
struct fuse_release_in { uint64_t fh; uint32_t flags, release_flags; uint64_t lock_owner; };
struct fuse_flush_in { uint64_t fh; uint32_t unused, padding; uint64_t lock_owner; };

struct fuse_read_in {
	uint64_t fh, offset;
	uint32_t size, read_flags;
	uint64_t lock_owner;
	uint32_t flags, padding;
};

struct fuse_write_in {
	uint64_t fh, offset;
	uint32_t size, write_flags;
	uint64_t lock_owner;
	uint32_t flags, padding;
};

struct fuse_write_out { uint32_t size, padding; };
struct fuse_statfs_out { struct fuse_kstatfs st; };
struct fuse_fsync_in { uint64_t fh; uint32_t fsync_flags, padding; };

/* Before 7.33 (and without SETXATTR_EXT) the kernel sends only the first 8 bytes. */
#define FUSE_COMPAT_SETXATTR_IN_SIZE 8
struct fuse_setxattr_in { uint32_t size, flags, setxattr_flags, padding; };
struct fuse_getxattr_in { uint32_t size, padding; };
struct fuse_getxattr_out { uint32_t size, padding; };

struct fuse_lk_in {
	uint64_t fh, owner;
	struct fuse_file_lock lk;
	uint32_t lk_flags, padding;
};
struct fuse_lk_out { struct fuse_file_lock lk; };

struct fuse_access_in { uint32_t mask, padding; };

struct fuse_init_in {
	uint32_t major, minor, max_readahead, flags;
	uint32_t flags2; /* INIT_EXT */
	uint32_t unused[11];
};
/* What kernels before 7.36 send: major, minor, max_readahead, flags. */
#define FUSE_COMPAT_INIT_IN_SIZE 16

struct fuse_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2, max_stack_depth;
	uint16_t request_timeout;
	uint16_t unused[11];
};

struct fuse_interrupt_in { uint64_t unique; };

struct fuse_fallocate_in {
	uint64_t fh, offset, length;
	uint32_t mode, padding;
};

struct fuse_lseek_in { uint64_t fh, offset; uint32_t whence, padding; };
struct fuse_lseek_out { uint64_t offset; };

struct fuse_copy_file_range_in {
	uint64_t fh_in, off_in;
	uint64_t nodeid_out, fh_out, off_out;
	uint64_t len, flags;
};
struct fuse_copy_file_range_out { uint64_t bytes_copied; };

struct fuse_dirent {
	uint64_t ino, off;
	uint32_t namelen, type;
	char name[];
};
#define FUSE_DIRENT_ALIGN(x) (((x) + sizeof(uint64_t) - 1) & ~(sizeof(uint64_t) - 1))
#define FUSE_NAME_OFFSET offsetof(struct fuse_dirent, name)
#define FUSE_DIRENT_SIZE(namelen) FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + (namelen))
/* The longest name any kernel takes in an entry: PATH_MAX - 1 on newer kernels (6.18
 * here), 1024 on older ones, which refuse longer names themselves (EIO). */
#define FUSE_NAME_MAX 4095

struct fuse_direntplus {
	struct fuse_entry_out entry_out;
	struct fuse_dirent dirent;
};
#define FUSE_NAME_OFFSET_DIRENTPLUS offsetof(struct fuse_direntplus, dirent.name)
#define FUSE_DIRENTPLUS_SIZE(namelen) FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + (namelen))

/* Notifications: out_header.unique = 0, out_header.error = the notify code. */
struct fuse_notify_inval_inode_out { uint64_t ino; int64_t off, len; };
struct fuse_notify_inval_entry_out { uint64_t parent; uint32_t namelen, flags; };
struct fuse_notify_delete_out { uint64_t parent, child; uint32_t namelen, padding; };
struct fuse_notify_store_out { uint64_t nodeid, offset; uint32_t size, padding; };
#define FUSE_EXPIRE_ONLY (1U << 0)

/* IOCTL (7.16): restricted ioctls carry their in data after fuse_ioctl_in; the reply
 * is fuse_ioctl_out followed by out data. */
#define FUSE_IOCTL_COMPAT (1U << 0)
#define FUSE_IOCTL_UNRESTRICTED (1U << 1)
#define FUSE_IOCTL_RETRY (1U << 2)
#define FUSE_IOCTL_32BIT (1U << 3)
#define FUSE_IOCTL_DIR (1U << 4)
struct fuse_ioctl_in { uint64_t fh; uint32_t flags, cmd; uint64_t arg; uint32_t in_size, out_size; };
struct fuse_ioctl_out { int32_t result; uint32_t flags, in_iovs, out_iovs; };

/* POLL: with SCHEDULE_NOTIFY the kernel waits for a NOTIFY_POLL naming kh. */
#define FUSE_POLL_SCHEDULE_NOTIFY (1U << 0)
struct fuse_poll_in { uint64_t fh, kh; uint32_t flags, events; };
struct fuse_poll_out { uint32_t revents, padding; };
struct fuse_notify_poll_wakeup_out { uint64_t kh; };

/* RETRIEVE: the kernel answers with a NOTIFY_REPLY request whose unique is
 * notify_unique, carrying fuse_notify_retrieve_in and the data. */
struct fuse_notify_retrieve_out { uint64_t notify_unique, nodeid, offset; uint32_t size, padding; };
struct fuse_notify_retrieve_in { uint64_t dummy1, offset; uint32_t size, dummy2; uint64_t dummy3, dummy4; };

struct fuse_backing_map { int32_t fd; uint32_t flags; uint64_t padding; };

#define FUSE_DEV_IOC_MAGIC 229
#define FUSE_DEV_IOC_CLONE _IOR(FUSE_DEV_IOC_MAGIC, 0, uint32_t)
#define FUSE_DEV_IOC_BACKING_OPEN _IOW(FUSE_DEV_IOC_MAGIC, 1, struct fuse_backing_map)
#define FUSE_DEV_IOC_BACKING_CLOSE _IOW(FUSE_DEV_IOC_MAGIC, 2, uint32_t)

/* FUSE over io_uring (7.42). After INIT (which still comes through /dev/fuse) the
 * daemon registers ring entries with IORING_OP_URING_CMD on the /dev/fuse descriptor
 * (SQE128; struct fuse_uring_cmd_req in the SQE's command area). An entry is two
 * buffers: struct fuse_uring_req_header and a payload. A request arrives split: its
 * fuse_in_header in in_out, its first argument (the opcode's fixed struct, possibly
 * empty) in op_in, the rest in the payload (payload_sz bytes). A reply is the
 * fuse_out_header in in_out and everything after it in the payload. */
#define FUSE_URING_IN_OUT_HEADER_SZ 128
#define FUSE_URING_OP_IN_OUT_SZ 128
struct fuse_uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id; /* the request's unique, to echo in fuse_uring_cmd_req */
	uint32_t payload_sz; /* bytes valid in the payload, either way */
	uint32_t padding;
	uint64_t reserved;
};
struct fuse_uring_req_header {
	char in_out[FUSE_URING_IN_OUT_HEADER_SZ];
	char op_in[FUSE_URING_OP_IN_OUT_SZ];
	struct fuse_uring_ent_in_out ring_ent_in_out;
};
enum fuse_uring_cmd {
	FUSE_IO_URING_CMD_INVALID = 0,
	FUSE_IO_URING_CMD_REGISTER = 1,         /* iov[2] = header, payload; qid */
	FUSE_IO_URING_CMD_COMMIT_AND_FETCH = 2, /* commit_id, qid */
};
struct fuse_uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid; /* the queue: one per possible CPU */
	uint8_t padding[6];
};

#endif
