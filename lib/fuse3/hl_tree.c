/* SPDX-License-Identifier: MIT */
/*
 * hl_tree.c - the names the kernel knows, for building paths: each node has its
 * parent and name; a hash on (parent, name) finds children. One lock guards it all;
 * it is held only while the tree is read or changed, never across the program's
 * operations. Holds (at the end) keep the paths an operation uses from changing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl_int.h"

static size_t hash_of(const struct node *parent, const char *name, size_t nb)
{
	uint64_t h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ULL;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return (size_t)(h % nb);
}

int tree_init(struct fuse *f)
{
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->tree_cond, NULL);
	memset(&f->root, 0, sizeof(f->root));
	f->root.ino = FUSE_ROOT_ID;
	f->root.nlookup = 1;
	f->root.refs = 1;
	f->next_ino = FUSE_ROOT_ID + 1;
	f->nbuckets = 1024;
	f->buckets = calloc(f->nbuckets, sizeof(*f->buckets));
	return f->buckets ? 0 : -ENOMEM;
}

static void unhash(struct fuse *f, struct node *n)
{
	if (!n->parent)
		return;
	struct node **pp = &f->buckets[hash_of(n->parent, n->name, f->nbuckets)];

	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	n->hnext = NULL;
	f->count--;
}

static void hash_in(struct fuse *f, struct node *n)
{
	size_t k = hash_of(n->parent, n->name, f->nbuckets);

	n->hnext = f->buckets[k];
	f->buckets[k] = n;
	f->count++;
}

static void grow(struct fuse *f)
{
	size_t nb = f->nbuckets * 2;
	struct node **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < f->nbuckets; i++) {
		struct node *n = f->buckets[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			size_t k = hash_of(n->parent, n->name, nb);

			n->hnext = b[k];
			b[k] = n;
		}
	}
	free(f->buckets);
	f->buckets = b;
	f->nbuckets = nb;
}

/* Drop one reference; a node nobody holds leaves the tree and frees its parent's. */
static void unref(struct fuse *f, struct node *n)
{
	while (n && n != &f->root && --n->refs == 0) {
		struct node *parent = n->parent;

		unhash(f, n);
		free(n->name);
		free(n);
		n = parent;
	}
}

void tree_destroy(struct fuse *f)
{
	for (size_t i = 0; i < f->nbuckets; i++) {
		struct node *n = f->buckets[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			free(n->name);
			free(n);
		}
	}
	free(f->buckets);
	f->buckets = NULL;
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->tree_cond);
}

struct node *tree_node(struct fuse *f, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &f->root : (struct node *)(uintptr_t)ino;
}

static struct node *find_locked(struct fuse *f, struct node *parent, const char *name)
{
	struct node *n = f->buckets[hash_of(parent, name, f->nbuckets)];

	for (; n; n = n->hnext)
		if (n->parent == parent && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

struct node *tree_find(struct fuse *f, fuse_ino_t parent, const char *name)
{
	struct node *n;

	pthread_mutex_lock(&f->lock);
	n = find_locked(f, tree_node(f, parent), name);
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* Path of ino (and name in it) into *path (malloc'ed); f->lock held. -errno. */
static int path_locked(struct fuse *f, fuse_ino_t ino, const char *name, char **path)
{
	size_t len, cap = 256;
	char *buf;
	struct node *n;

	/* Built backwards from the end of a buffer that grows as needed. */
	for (;;) {
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		size_t pos = cap - 1;
		bool fits = true;

		buf[pos] = '\0';
#define PREPEND(s)                                              \
	do {                                                    \
		size_t l_ = strlen(s);                          \
		if (l_ + 1 > pos) { fits = false; break; }      \
		pos -= l_;                                      \
		memcpy(buf + pos, s, l_);                       \
		buf[--pos] = '/';                               \
	} while (0)
		if (name)
			PREPEND(name);
		for (n = tree_node(f, ino); fits && n != &f->root; n = n->parent) {
			if (!n->parent) {
				/* removed from the tree: the kernel's inode is stale */
				free(buf);
				return -ESTALE;
			}
			PREPEND(n->name);
		}
#undef PREPEND
		if (!fits) {
			free(buf);
			cap *= 4;
			continue;
		}
		if (pos == cap - 1)
			buf[--pos] = '/';
		len = cap - 1 - pos;
		memmove(buf, buf + pos, len + 1);
		break;
	}
	*path = buf;
	return 0;
}

int tree_path(struct fuse *f, fuse_ino_t ino, const char *name, char **path)
{
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = path_locked(f, ino, name, path);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

struct node *tree_ref(struct fuse *f, fuse_ino_t parent, const char *name)
{
	struct node *p, *n;

	pthread_mutex_lock(&f->lock);
	p = tree_node(f, parent);
	n = find_locked(f, p, name);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (n)
			n->name = strdup(name);
		if (!n || !n->name) {
			free(n);
			pthread_mutex_unlock(&f->lock);
			return NULL;
		}
		n->parent = p;
		n->ino = f->next_ino++;
		n->refs = 1; /* the kernel's, while nlookup > 0 */
		p->refs++;
		if (f->count + 1 > f->nbuckets)
			grow(f);
		hash_in(f, n);
	} else if (n->nlookup == 0) {
		n->refs++;
	}
	n->nlookup++;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void tree_forget(struct fuse *f, fuse_ino_t ino, uint64_t count)
{
	struct node *n = tree_node(f, ino);

	if (n == &f->root)
		return;
	pthread_mutex_lock(&f->lock);
	if (count >= n->nlookup) {
		n->nlookup = 0;
		unref(f, n);
	} else {
		n->nlookup -= count;
	}
	pthread_mutex_unlock(&f->lock);
}

/* Take n out of the name hash (its name is gone); it lives on while referenced. */
static void detach(struct fuse *f, struct node *n)
{
	struct node *parent = n->parent;

	unhash(f, n);
	n->parent = NULL;
	unref(f, parent);
}

/* As detach, for a node already out of the hash. */
static void detach_unhashed(struct fuse *f, struct node *n)
{
	struct node *parent = n->parent;

	n->parent = NULL;
	unref(f, parent);
}

void tree_remove(struct fuse *f, fuse_ino_t parent, const char *name)
{
	struct node *n;

	pthread_mutex_lock(&f->lock);
	n = find_locked(f, tree_node(f, parent), name);
	if (n)
		detach(f, n);
	pthread_mutex_unlock(&f->lock);
}

/* Give n the name (np, nn); n is out of the hash when called. */
static int rename_to(struct fuse *f, struct node *n, struct node *np, const char *nn)
{
	char *copy = strdup(nn);

	if (!copy)
		return -ENOMEM;
	np->refs++;
	unref(f, n->parent);
	n->parent = np;
	free(n->name);
	n->name = copy;
	hash_in(f, n);
	return 0;
}

int tree_rename(struct fuse *f, fuse_ino_t p1, const char *n1, fuse_ino_t p2, const char *n2,
		bool exchange)
{
	struct node *a, *b, *np1, *np2;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	np1 = tree_node(f, p1);
	np2 = tree_node(f, p2);
	a = find_locked(f, np1, n1);
	b = find_locked(f, np2, n2);
	if (a == b)
		goto out;
	if (a)
		unhash(f, a);
	if (b && exchange) {
		unhash(f, b);
		rc = rename_to(f, b, np1, n1);
		if (rc < 0)
			detach_unhashed(f, b);
	} else if (b) {
		detach(f, b);
	}
	if (a && rename_to(f, a, np2, n2) < 0) {
		detach_unhashed(f, a);
		rc = -ENOMEM;
	}
out:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void tree_open(struct fuse *f, struct node *n, int delta)
{
	pthread_mutex_lock(&f->lock);
	n->open_count += delta;
	if (delta > 0)
		n->refs++;
	pthread_mutex_unlock(&f->lock);
	if (delta < 0) {
		pthread_mutex_lock(&f->lock);
		unref(f, n);
		pthread_mutex_unlock(&f->lock);
	}
}

/* ---- holds: libfuse's tree locks ----
 * An operation holds the nodes of the path(s) it built until it answers, so that no
 * name on them changes meanwhile: a rename, unlink or rmdir also holds the node(s)
 * it moves or removes alone, and waits while anyone holds them (an operation on the
 * node or below it); operations on a path through a node held alone wait for it.
 * Everything an operation holds is taken at once or not at all, so nothing is held
 * while waiting and waits cannot deadlock. A writer waiting for a node keeps new
 * plain readers of it out, so a stream of operations below a directory cannot starve
 * its rename. The hold of the operation running on a thread is kept per thread. */
struct hold {
	struct fuse *f;
	struct node *chain[2]; /* held from here up to the root (each node once per chain) */
	struct node *above[2]; /* their parents then: the operation may unlink chain[i] */
	struct node *alone[2]; /* held alone */
};

static __thread struct hold cur_hold;

static bool on_chain(struct fuse *f, const struct node *x, struct node *n)
{
	for (; n && n != &f->root; n = n->parent)
		if (n == x)
			return true;
	return false;
}

/* Can the chain from n up be held? A writer (excl) passes other writers' waits. */
static bool chain_free(struct fuse *f, struct node *n, bool excl)
{
	for (; n && n != &f->root; n = n->parent)
		if (n->treelock < 0 || (!excl && n->wwait))
			return false;
	return true;
}

static void chain_add(struct fuse *f, struct node *n, int d)
{
	for (; n && n != &f->root; n = n->parent)
		n->treelock += d;
}

int tree_hold(struct fuse *f, fuse_ino_t ino1, const char *name1, char **path1,
	      fuse_ino_t ino2, const char *name2, char **path2, bool excl)
{
	struct hold h = { .f = f };
	int rc;

	/* One hold per operation: a second would wait for ourselves. */
	if (cur_hold.f)
		tree_release();
	pthread_mutex_lock(&f->lock);
	for (;;) {
		rc = path_locked(f, ino1, name1, path1);
		if (rc < 0)
			break;
		if (ino2) {
			rc = path_locked(f, ino2, name2, path2);
			if (rc < 0) {
				free(*path1);
				break;
			}
		}
		h.chain[0] = tree_node(f, ino1);
		h.chain[1] = ino2 ? tree_node(f, ino2) : NULL;
		h.alone[0] = excl && name1 ? find_locked(f, h.chain[0], name1) : NULL;
		h.alone[1] = excl && ino2 && name2 ? find_locked(f, h.chain[1], name2) : NULL;
		if (h.alone[1] == h.alone[0])
			h.alone[1] = NULL;
		for (int i = 0; i < 2; i++) /* never wait for ourselves */
			if (h.alone[i] && (on_chain(f, h.alone[i], h.chain[0]) ||
					   on_chain(f, h.alone[i], h.chain[1])))
				h.alone[i] = NULL;
		bool busy = !chain_free(f, h.chain[0], excl) || !chain_free(f, h.chain[1], excl);

		for (int i = 0; i < 2; i++)
			if (h.alone[i] && h.alone[i]->treelock != 0)
				busy = true;
		if (!busy)
			break;
		free(*path1);
		if (ino2)
			free(*path2);
		/* Wait for a release; the nodes waited for stay allocated meanwhile. */
		for (int i = 0; i < 2; i++)
			if (h.alone[i]) {
				h.alone[i]->wwait++;
				h.alone[i]->refs++;
			}
		f->tree_waiters++;
		pthread_cond_wait(&f->tree_cond, &f->lock);
		f->tree_waiters--;
		for (int i = 0; i < 2; i++)
			if (h.alone[i]) {
				h.alone[i]->wwait--;
				unref(f, h.alone[i]);
			}
	}
	if (rc == 0) {
		for (int i = 0; i < 2; i++) {
			chain_add(f, h.chain[i], 1);
			if (h.chain[i] && h.chain[i] != &f->root) {
				h.above[i] = h.chain[i]->parent;
				h.chain[i]->refs++; /* kept until the release */
			}
			if (h.alone[i]) {
				h.alone[i]->treelock = -1;
				h.alone[i]->refs++; /* it may leave the tree before the release */
			}
		}
		cur_hold = h;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void tree_release(void)
{
	struct hold h = cur_hold;
	struct fuse *f = h.f;

	if (!f)
		return;
	memset(&cur_hold, 0, sizeof(cur_hold));
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < 2; i++) {
		if (h.chain[i] && h.chain[i] != &f->root) {
			h.chain[i]->treelock--;
			chain_add(f, h.above[i], -1);
			unref(f, h.chain[i]);
		}
		if (h.alone[i]) {
			h.alone[i]->treelock = 0;
			unref(f, h.alone[i]);
		}
	}
	if (f->tree_waiters)
		pthread_cond_broadcast(&f->tree_cond);
	pthread_mutex_unlock(&f->lock);
}
