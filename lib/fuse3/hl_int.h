/* SPDX-License-Identifier: MIT */
/*
 * hl_int.h - the high-level layer's private types: the tree of names the kernel
 * knows (struct node), and struct fuse.
 */
#ifndef UMFS_FUSE3_HL_INT_H
#define UMFS_FUSE3_HL_INT_H

#include "fuse3_int.h"
#include "fuse.h"

/* One name the kernel holds (its fuse_ino_t is the node's address; the root is
 * FUSE_ROOT_ID). */
struct node {
	struct node *hnext;   /* chain of the (parent, name) hash */
	struct node *parent;  /* NULL for the root, and once removed from the tree */
	char *name;
	uint64_t nlookup;     /* the kernel's references */
	uint64_t ino;         /* its creation number: what programs see without use_ino,
			       * and the generation the kernel gets */
	int refs;             /* children and open handles that keep it */
	int open_count;
	bool hidden;          /* renamed to .fuse_hidden* while still open */
	int treelock;         /* holds (hl_tree.c): > 0 operations on paths through it,
			       * -1 held alone by a rename, unlink or rmdir */
	int wwait;            /* operations waiting to hold it alone */
};

struct fuse {
	struct fuse_session *se;
	struct fuse_operations op;
	void *user_data;
	struct fuse_config conf;
	pthread_mutex_t lock; /* the tree */
	pthread_cond_t tree_cond; /* a hold was released (tree_waiters > 0 wait) */
	unsigned tree_waiters;
	struct node root;
	struct node **buckets;
	size_t nbuckets, count;
	uint64_t next_ino;
	unsigned hidectr;
};

/* hl_tree.c (all take f->lock themselves) */
int tree_init(struct fuse *f);
void tree_destroy(struct fuse *f);
struct node *tree_node(struct fuse *f, fuse_ino_t ino);
/* Path of a node, or of name in a node (name may be NULL); malloc'ed. -errno. */
int tree_path(struct fuse *f, fuse_ino_t ino, const char *name, char **path);
/* Find or add (parent, name) and count one kernel reference. NULL: -ENOMEM. */
struct node *tree_ref(struct fuse *f, fuse_ino_t parent, const char *name);
struct node *tree_find(struct fuse *f, fuse_ino_t parent, const char *name);
void tree_forget(struct fuse *f, fuse_ino_t ino, uint64_t n);
void tree_remove(struct fuse *f, fuse_ino_t parent, const char *name);
int tree_rename(struct fuse *f, fuse_ino_t p1, const char *n1, fuse_ino_t p2, const char *n2,
		bool exchange);
void tree_open(struct fuse *f, struct node *n, int delta);
/* A hidden name for (parent, name) when it is open: renamed by the program's rename
 * to ".fuse_hiddenXXXXXXXX". Returns 1 if hidden, 0 if not open, -errno. */
int tree_hide(struct fuse *f, fuse_ino_t parent, const char *name);

/* Build the path of (ino1, name1) (name1 may be NULL) and, if ino2 is not 0, of
 * (ino2, name2), and hold them against renames until tree_release() (see hl_tree.c);
 * excl: also hold the named nodes alone (rename, unlink, rmdir). Waits while others
 * hold them. One hold per thread at a time. 0 or -errno (-ESTALE, -ENOMEM). */
int tree_hold(struct fuse *f, fuse_ino_t ino1, const char *name1, char **path1,
	      fuse_ino_t ino2, const char *name2, char **path2, bool excl);
/* Release this thread's hold, if any. */
void tree_release(void);

static inline fuse_ino_t node_id(struct fuse *f, struct node *n)
{
	return n == &f->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

#endif
