/* SPDX-License-Identifier: MIT */
/*
 * mirror_node.c - the node table: one node per source inode, counted handouts.
 *
 * Keyed by (st_dev, st_ino). A node's O_PATH descriptor pins its inode, so the inode
 * number cannot be reused by the source while the node exists: a key match is always
 * the same object (a hard link, or a second lookup).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mirror_int.h"

#define MIN_BUCKETS 256

static size_t slot_of(const struct mirror *m, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t)dev;
	return (size_t)(h ^ (h >> 29)) & (m->nbuckets - 1);
}

int mtab_init(struct mirror *m)
{
	m->nbuckets = MIN_BUCKETS;
	m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
	if (!m->buckets)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->expired, NULL);
	return 0;
}

void mtab_free(struct mirror *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct mnode *n = m->buckets[i];
		while (n) {
			struct mnode *next = n->next;
			close(n->fd);
			free(n);
			n = next;
		}
	}
	free(m->buckets);
	pthread_cond_destroy(&m->expired);
	pthread_mutex_destroy(&m->lock);
}

/* Double the buckets when the table is full on average (under the lock). A failed
 * allocation only leaves chains longer. */
static void table_grow(struct mirror *m)
{
	size_t nb = m->nbuckets * 2;
	struct mnode **b = calloc(nb, sizeof *b);
	if (!b)
		return;
	struct mnode **old = m->buckets;
	size_t onb = m->nbuckets;
	m->buckets = b;
	m->nbuckets = nb;
	for (size_t i = 0; i < onb; i++) {
		struct mnode *n = old[i];
		while (n) {
			struct mnode *next = n->next;
			size_t s = slot_of(m, n->dev, n->ino);
			n->next = b[s];
			b[s] = n;
			n = next;
		}
	}
	free(old);
}

/* The node of (dev, ino), or NULL; under the table lock. */
static struct mnode *find_locked(struct mirror *m, dev_t dev, ino_t ino)
{
	struct mnode *n = m->buckets[slot_of(m, dev, ino)];

	while (n && (n->ino != ino || n->dev != dev))
		n = n->next;
	return n;
}

bool mnode_known(struct mirror *m, dev_t dev, ino_t ino)
{
	bool known;

	pthread_mutex_lock(&m->lock);
	known = find_locked(m, dev, ino) != NULL;
	pthread_mutex_unlock(&m->lock);
	return known;
}

int mnode_get(struct mirror *m, int fd, const struct stat *st, struct mnode **out)
{
	struct mnode *fresh, *n;

	pthread_mutex_lock(&m->lock);
	n = find_locked(m, st->st_dev, st->st_ino);
	if (n) {
		n->nlookup++;
		pthread_mutex_unlock(&m->lock);
		close(fd); /* the node keeps its own descriptor */
		*out = n;
		return 0;
	}
	fresh = malloc(sizeof *fresh);
	if (!fresh) {
		pthread_mutex_unlock(&m->lock);
		close(fd);
		return -ENOMEM;
	}
	fresh->fd = fd;
	fresh->dev = st->st_dev;
	fresh->ino = st->st_ino;
	fresh->type = st->st_mode & S_IFMT;
	fresh->nlookup = 1;
	fresh->backing_id = 0;
	fresh->backing_refs = 0;
	fresh->backing_kept = false;
	size_t s = slot_of(m, st->st_dev, st->st_ino);
	fresh->next = m->buckets[s];
	m->buckets[s] = fresh;
	if (++m->count > m->nbuckets)
		table_grow(m);
	pthread_mutex_unlock(&m->lock);
	*out = fresh;
	return 0;
}

void mnode_hold(struct mirror *m, struct mnode *n)
{
	pthread_mutex_lock(&m->lock);
	n->nlookup++;
	pthread_mutex_unlock(&m->lock);
}

void mnode_put(struct mirror *m, struct mnode *n, uint64_t count)
{
	pthread_mutex_lock(&m->lock);
	if (n->nlookup < count) {
		/* More forgotten than handed out: a bug somewhere; keep the node. */
		umfs_log(UMFS_LOG_ERR, "mirror: forget of %llu > %llu handouts (ino %llu)",
			 (unsigned long long)count, (unsigned long long)n->nlookup,
			 (unsigned long long)n->ino);
		n->nlookup = 0;
	} else {
		n->nlookup -= count;
	}
	if (n->nlookup > 0 || n == m->root) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	struct mnode **p = &m->buckets[slot_of(m, n->dev, n->ino)];
	while (*p && *p != n)
		p = &(*p)->next;
	if (*p)
		*p = n->next;
	m->count--;
	pthread_mutex_unlock(&m->lock);
	mbacking_forget(m, n);
	close(n->fd);
	free(n);
}

const char *mfd_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
	return buf;
}

int mnode_lookup(struct mirror *m, struct mnode *dir, const char *name, struct umfs_entry *e)
{
	struct stat st;
	struct mnode *n;
	int fd, err;

	/* ".." of the root is the root: the mount shows nothing above SOURCE. The kernel
	 * resolves ".." itself; only an exported mount would ask. */
	if (strcmp(name, ".") == 0 || (dir == m->root && strcmp(name, "..") == 0))
		fd = open(mfd_path(dir->fd, (char[FD_PATH_MAX]){ 0 }, FD_PATH_MAX),
			  O_PATH | O_CLOEXEC);
	else
		fd = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	err = mnode_get(m, fd, &st, &n);
	if (err)
		return err;
	e->node = n;
	e->attr = st;
	msearch_limit(m, dir, e);
	return 0;
}
