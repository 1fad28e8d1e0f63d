/* SPDX-License-Identifier: MIT */
/*
 * memfs_node.c - the node lock, space accounting, node life cycle and attributes.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memfs_int.h"

/* ---------------------------------------------------------------------------------- */
/* The node lock.
 *
 * pthread_rwlock_t is 56 bytes; with a million nodes that is most of the memory an
 * empty file may take. This lock is one 32-bit word: a reader count and three flags.
 * It prefers writers (a waiting writer holds new readers back, so a stream of readers
 * cannot starve a writer), sleeps on a futex, and wakes every sleeper when it is
 * released while someone sleeps: waiters are rare, and simple beats clever here.    */

#define ML_WRITER 0x80000000U   /* held for writing */
#define ML_WWAIT 0x40000000U    /* a writer waits: new readers wait too */
#define ML_SLEEPERS 0x20000000U /* someone sleeps on the word: the releaser must wake */
#define ML_READERS 0x1fffffffU

static void futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
	/* Returns at once if the word changed; spurious wakeups just loop. */
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Sleep until the word is no longer v | bits (bits announce why we sleep). Returns the
 * word's current value. */
static uint32_t mlock_sleep(struct mlock *l, uint32_t v, uint32_t bits)
{
	uint32_t want = v | bits;
	if (want != v &&
	    !atomic_compare_exchange_weak_explicit(&l->v, &v, want, memory_order_relaxed,
						   memory_order_relaxed))
		return v; /* changed under us: try again */
	futex_wait(&l->v, want);
	return atomic_load_explicit(&l->v, memory_order_relaxed);
}

static void mlock_wake(struct mlock *l)
{
	if (atomic_fetch_and_explicit(&l->v, ~ML_SLEEPERS, memory_order_relaxed) & ML_SLEEPERS)
		futex_wake_all(&l->v);
}

void mlock_rd(struct mlock *l)
{
	uint32_t v = atomic_load_explicit(&l->v, memory_order_relaxed);
	for (;;) {
		if (!(v & (ML_WRITER | ML_WWAIT))) {
			if (atomic_compare_exchange_weak_explicit(&l->v, &v, v + 1,
								  memory_order_acquire,
								  memory_order_relaxed))
				return;
			continue;
		}
		v = mlock_sleep(l, v, ML_SLEEPERS);
	}
}

void mlock_rd_unlock(struct mlock *l)
{
	uint32_t v = atomic_fetch_sub_explicit(&l->v, 1, memory_order_release) - 1;
	if ((v & ML_READERS) == 0 && (v & ML_SLEEPERS))
		mlock_wake(l);
}

void mlock_wr(struct mlock *l)
{
	uint32_t v = atomic_load_explicit(&l->v, memory_order_relaxed);
	for (;;) {
		if (!(v & (ML_WRITER | ML_READERS))) {
			/* Taking the lock clears WWAIT; other waiting writers set it again
			 * when they wake up and find the lock taken. */
			uint32_t want = (v | ML_WRITER) & ~ML_WWAIT;
			if (atomic_compare_exchange_weak_explicit(&l->v, &v, want,
								  memory_order_acquire,
								  memory_order_relaxed))
				return;
			continue;
		}
		v = mlock_sleep(l, v, ML_WWAIT | ML_SLEEPERS);
	}
}

void mlock_wr_unlock(struct mlock *l)
{
	uint32_t v = atomic_fetch_and_explicit(&l->v, ~(ML_WRITER | ML_SLEEPERS),
					       memory_order_release);
	if (v & ML_SLEEPERS)
		futex_wake_all(&l->v);
}

/* ---------------------------------------------------------------------------------- */
/* Space accounting: a compare-and-swap loop, so that concurrent writers can never
 * together go past the limit.                                                         */

static int charge(_Atomic uint64_t *used, uint64_t max, uint64_t n)
{
	if (max == 0) {
		atomic_fetch_add_explicit(used, n, memory_order_relaxed);
		return 0;
	}
	uint64_t cur = atomic_load_explicit(used, memory_order_relaxed);
	do {
		if (n > max || cur > max - n)
			return -ENOSPC;
	} while (!atomic_compare_exchange_weak_explicit(used, &cur, cur + n,
							memory_order_relaxed,
							memory_order_relaxed));
	return 0;
}

int memfs_charge(struct memfs *fs, uint64_t n)
{
	return charge(&fs->bytes, fs->max_size, n);
}

void memfs_uncharge(struct memfs *fs, uint64_t n)
{
	atomic_fetch_sub_explicit(&fs->bytes, n, memory_order_relaxed);
}

/* ---------------------------------------------------------------------------------- */
/* Life cycle                                                                          */

_Static_assert(sizeof(struct mnode) <= 96, "struct mnode grew: mind the memory budget");

static uint64_t node_charge(const char *target)
{
	return MEMFS_NODE_COST + (target ? strlen(target) + 1 : 0);
}

int node_new(struct memfs *fs, mode_t mode, const char *target, struct mnode **out)
{
	int err = charge(&fs->nodes, fs->max_nodes, 1);
	if (err)
		return err;
	err = memfs_charge(fs, node_charge(target));
	if (err) {
		atomic_fetch_sub_explicit(&fs->nodes, 1, memory_order_relaxed);
		return err;
	}

	struct mnode *n = calloc(1, sizeof *n);
	if (!n)
		goto nomem;
	n->mode = (uint16_t)mode;
	n->nlink = 1;
	n->ino = atomic_fetch_add_explicit(&fs->next_ino, 1, memory_order_relaxed);
	if (S_ISDIR(mode)) {
		n->nlink = 2;
		n->u.dir = dir_new();
		if (!n->u.dir)
			goto nomem;
	} else if (S_ISLNK(mode)) {
		n->size = strlen(target);
		n->u.target = strdup(target);
		if (!n->u.target)
			goto nomem;
	}
	node_touch(n, TOUCH_A | TOUCH_M | TOUCH_C);
	*out = n;
	return 0;

nomem:
	free(n);
	memfs_uncharge(fs, node_charge(target));
	atomic_fetch_sub_explicit(&fs->nodes, 1, memory_order_relaxed);
	return -ENOMEM;
}

/* Free a node nobody references. Returns the parent directory, whose hold this node
 * had, or NULL. */
static struct mnode *node_destroy(struct memfs *fs, struct mnode *n)
{
	struct mnode *parent = NULL;
	uint64_t bytes = MEMFS_NODE_COST;

	switch (n->mode & S_IFMT) {
	case S_IFREG:
		data_free_all(fs, n);
		break;
	case S_IFDIR:
		parent = n->u.dir->parent;
		dir_free(n->u.dir);
		break;
	case S_IFLNK:
		bytes += n->size + 1;
		free(n->u.target);
		break;
	}
	if (n->flags & NF_XATTR)
		xattr_drop_all(fs, n);
	memfs_uncharge(fs, bytes);
	atomic_fetch_sub_explicit(&fs->nodes, 1, memory_order_relaxed);
	free(n);
	return parent;
}

void node_discard(struct memfs *fs, struct mnode *n)
{
	/* A directory that never became visible holds no parent. */
	if (node_is_dir(n))
		n->u.dir->parent = NULL;
	node_destroy(fs, n);
}

void node_put(struct memfs *fs, struct mnode *n)
{
	/* Iterative: freeing a directory drops its hold on the parent, which may be the
	 * last one too (a removed directory that was still open, for example). */
	while (n && atomic_fetch_sub_explicit(&n->refs, REF_HOLD, memory_order_acq_rel) ==
			    REF_HOLD)
		n = node_destroy(fs, n);
}

/* A count, not a flag: a handout racing with the forget of the node's previous
 * references is counted here before the library counts it, so the two never lose
 * each other. */
void node_forget(struct memfs *fs, struct mnode *n, uint64_t nlookup)
{
	uint64_t k = nlookup * REF_KERNEL;

	if (atomic_fetch_sub_explicit(&n->refs, k, memory_order_acq_rel) == k)
		node_put(fs, node_destroy(fs, n));
}

void node_put_final(struct memfs *fs, struct mnode *n)
{
	atomic_fetch_and_explicit(&n->refs, REF_KERNEL - 1, memory_order_relaxed);
	node_put(fs, n);
}

/* ---------------------------------------------------------------------------------- */
/* Attributes                                                                          */

void memfs_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

void node_set_time(struct mnode *n, int which, const struct timespec *ts)
{
	n->tsec[which] = ts->tv_sec;
	n->tnsec[which] = (uint32_t)ts->tv_nsec;
}

void node_touch(struct mnode *n, unsigned what)
{
	struct timespec now;
	memfs_now(&now);
	for (int t = T_ATIME; t <= T_CTIME; t++)
		if (what & (1U << t))
			node_set_time(n, t, &now);
}

static void get_time(const struct mnode *n, int which, struct timespec *ts)
{
	ts->tv_sec = n->tsec[which];
	ts->tv_nsec = n->tnsec[which];
}

/* What a directory shows as its size: like tmpfs, 20 bytes per entry with . and .. */
#define DIR_ENTRY_SIZE 20

void node_stat(const struct mnode *n, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	if (S_ISCHR(n->mode) || S_ISBLK(n->mode))
		st->st_rdev = n->u.rdev;
	if (node_is_dir(n))
		st->st_size = (off_t)(n->u.dir->count + 2) * DIR_ENTRY_SIZE;
	else if (node_is_reg(n) || S_ISLNK(n->mode))
		st->st_size = (off_t)n->size;
	st->st_blksize = MEMFS_BLOCK_SIZE;
	st->st_blocks = (blkcnt_t)n->nblocks * (MEMFS_BLOCK_SIZE / 512);
	get_time(n, T_ATIME, &st->st_atim);
	get_time(n, T_MTIME, &st->st_mtim);
	get_time(n, T_CTIME, &st->st_ctim);
}

void node_fill_entry(struct mnode *n, struct umfs_entry *out)
{
	out->node = n;
	node_stat(n, &out->attr);
	out->entry_timeout = MEMFS_TIMEOUT;
	out->attr_timeout = MEMFS_TIMEOUT;
}

void node_kill_privs(umfs_req *req, struct mnode *n)
{
	struct memfs *fs = umfs_req_fs(req);

	if (!node_is_reg(n))
		return;
	n->mode &= ~S_ISUID;
	/* Set-group-ID goes where the group may execute, and otherwise unless the
	 * writer belongs to the file's group (or is root), as Linux decides since 6.2. */
	if ((n->mode & S_ISGID) &&
	    ((n->mode & S_IXGRP) ||
	     (umfs_req_caller(req)->uid != 0 && !umfs_req_in_group(req, n->gid))))
		n->mode &= ~S_ISGID;
	if (n->flags & NF_XATTR)
		xattr_remove(fs, n, "security.capability");
}

/* ---------------------------------------------------------------------------------- */
/* Sizes on the command line                                                           */

int memfs_parse_size(const char *s, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;

	uint64_t v = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned digit = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return -ERANGE;
		v = v * 10 + digit;
	}

	static const char suffixes[] = "kmgtpe";
	unsigned shift = 0;
	if (*s) {
		/* *s is not NUL, so strchr cannot match the terminator. */
		const char *p = strchr(suffixes, *s | 0x20);
		if (!p)
			return -EINVAL;
		shift = 10 * (unsigned)(p - suffixes + 1);
		s++;
		if (strcmp(s, "iB") == 0)
			s += 2;
		if (*s)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}
