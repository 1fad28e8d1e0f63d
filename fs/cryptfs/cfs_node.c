/* SPDX-License-Identifier: MIT */
/*
 * cfs_node.c - the node table: one node per (vault inode, view), counted handouts;
 * the striped container locks; directory ids.
 *
 * A node's O_PATH descriptor pins its inode, so (dev, ino) cannot be reused while the
 * node exists (as in mirror). The two views of one file are two nodes with the same
 * (dev, ino) and different views: two inodes for the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfs_int.h"

#define MIN_BUCKETS 256

static size_t slot_of(const struct cryptfs *c, dev_t dev, ino_t ino, enum view v)
{
	uint64_t h = ((uint64_t)ino * 4 + (uint64_t)v) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)dev;
	return (size_t)(h ^ (h >> 29)) & (c->nbuckets - 1);
}

int ctab_init(struct cryptfs *c)
{
	c->nbuckets = MIN_BUCKETS;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (!c->buckets)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	for (int i = 0; i < LOCK_STRIPES; i++)
		pthread_rwlock_init(&c->stripes[i], NULL);
	return 0;
}

void ctab_free(struct cryptfs *c)
{
	if (!c->buckets)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct cnode *n = c->buckets[i];
		while (n) {
			struct cnode *next = n->next;
			close(n->fd);
			free(n);
			n = next;
		}
	}
	free(c->buckets);
	c->buckets = NULL;
	pthread_mutex_destroy(&c->lock);
	for (int i = 0; i < LOCK_STRIPES; i++)
		pthread_rwlock_destroy(&c->stripes[i]);
}

pthread_rwlock_t *cnode_lock(struct cryptfs *c, const struct cnode *n)
{
	uint64_t h = (uint64_t)n->ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t)n->dev;
	return &c->stripes[(h >> 32) % LOCK_STRIPES];
}

static void table_grow(struct cryptfs *c)
{
	size_t nb = c->nbuckets * 2, onb = c->nbuckets;
	struct cnode **b = calloc(nb, sizeof *b), **old = c->buckets;
	if (!b)
		return;
	c->buckets = b;
	c->nbuckets = nb;
	for (size_t i = 0; i < onb; i++) {
		struct cnode *n = old[i];
		while (n) {
			struct cnode *next = n->next;
			size_t s = slot_of(c, n->dev, n->ino, n->view);
			n->next = b[s];
			b[s] = n;
			n = next;
		}
	}
	free(old);
}

int dirid_read(int dfd, uint8_t id[CF_ID_LEN])
{
	int fd = openat(dfd, DIRID_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, id, CF_ID_LEN);
	close(fd);
	return n == CF_ID_LEN ? 0 : -EIO;
}

int dirid_create(int dfd, uint8_t id[CF_ID_LEN])
{
	if (cf_random(id, CF_ID_LEN))
		return -EIO;
	int fd = openat(dfd, DIRID_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, id, CF_ID_LEN);
	int err = n == CF_ID_LEN ? 0 : (n < 0 ? -errno : -EIO);
	close(fd);
	return err;
}

int cnode_get(struct cryptfs *c, int fd, const struct stat *st, enum view v, const char *name,
	      struct cnode **out)
{
	struct cnode *fresh;
	uint8_t id[CF_ID_LEN];
	bool has_id = false;

	pthread_mutex_lock(&c->lock);
	size_t s = slot_of(c, st->st_dev, st->st_ino, v);
	for (struct cnode *n = c->buckets[s]; n; n = n->next) {
		if (n->dev == st->st_dev && n->ino == st->st_ino && n->view == v) {
			n->nlookup++;
			pthread_mutex_unlock(&c->lock);
			close(fd);
			*out = n;
			return 0;
		}
	}
	pthread_mutex_unlock(&c->lock);

	/* A new directory node: its names need its id. A directory without one (made
	 * behind the mount, or damaged) is shown, but names in it cannot be used. */
	if (S_ISDIR(st->st_mode))
		has_id = dirid_read(fd, id) == 0;

	fresh = calloc(1, sizeof *fresh);
	if (!fresh) {
		close(fd);
		return -ENOMEM;
	}
	fresh->fd = fd;
	fresh->dev = st->st_dev;
	fresh->ino = st->st_ino;
	fresh->type = st->st_mode & S_IFMT;
	fresh->view = v;
	fresh->nlookup = 1;
	fresh->has_dirid = has_id;
	if (has_id)
		memcpy(fresh->dirid, id, CF_ID_LEN);
	snprintf(fresh->name, sizeof fresh->name, "%s", name ? name : "/");

	pthread_mutex_lock(&c->lock);
	s = slot_of(c, st->st_dev, st->st_ino, v);
	for (struct cnode *n = c->buckets[s]; n; n = n->next) {
		if (n->dev == st->st_dev && n->ino == st->st_ino && n->view == v) {
			/* Made by another thread meanwhile: use that one. */
			n->nlookup++;
			pthread_mutex_unlock(&c->lock);
			close(fd);
			free(fresh);
			*out = n;
			return 0;
		}
	}
	fresh->next = c->buckets[s];
	c->buckets[s] = fresh;
	if (++c->count > c->nbuckets)
		table_grow(c);
	pthread_mutex_unlock(&c->lock);
	*out = fresh;
	return 0;
}

void cnode_put(struct cryptfs *c, struct cnode *n, uint64_t count)
{
	pthread_mutex_lock(&c->lock);
	n->nlookup = n->nlookup < count ? 0 : n->nlookup - count;
	if (n->nlookup > 0 || n == c->root) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	struct cnode **p = &c->buckets[slot_of(c, n->dev, n->ino, n->view)];
	while (*p && *p != n)
		p = &(*p)->next;
	if (*p)
		*p = n->next;
	c->count--;
	pthread_mutex_unlock(&c->lock);
	close(n->fd);
	free(n);
}

const char *cfd_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
	return buf;
}
