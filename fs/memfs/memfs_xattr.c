/* SPDX-License-Identifier: MIT */
/*
 * memfs_xattr.c - extended attributes.
 *
 * Few nodes have xattrs, so they are kept out of struct mnode: one hash table, keyed
 * by node, maps a node to its list of name/value pairs. The node's NF_XATTR flag says
 * whether it has any, so the common case (none) never takes the table's mutex.
 * Names in the user., trusted. and security. namespaces are stored; others (system.,
 * which would be POSIX ACLs) are not supported.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "memfs_int.h"

#define XATTR_NAME_MAX_LEN 255

struct xattr {
	struct xattr *next;
	uint32_t value_size;
	uint16_t name_len;
	char data[]; /* name, NUL, value */
};

struct xattr_set {
	struct xattr_set *hnext;
	const struct mnode *owner;
	struct xattr *first;
};

static uint64_t xattr_cost(size_t name_len, size_t value_size)
{
	return sizeof(struct xattr) + name_len + 1 + value_size;
}

static int check_name(const char *name)
{
	static const char *const prefixes[] = { "user.", "trusted.", "security." };
	size_t len = strlen(name);
	if (len > XATTR_NAME_MAX_LEN)
		return -ERANGE;
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t plen = strlen(prefixes[i]);
		if (strncmp(name, prefixes[i], plen) == 0)
			return len > plen ? 0 : -EINVAL;
	}
	return -EOPNOTSUPP;
}

/* ---------------------------------------------------------------------------------- */
/* The table. Callers hold fs->xattr_lock.                                             */

static struct xattr_set **set_bucket(struct memfs *fs, const struct mnode *n)
{
	uint64_t h = (uint64_t)(uintptr_t)n * 0x9e3779b97f4a7c15ULL;
	return &fs->xattr_buckets[(h >> 32) & (fs->xattr_nbuckets - 1)];
}

static struct xattr_set *set_find(struct memfs *fs, const struct mnode *n)
{
	if (fs->xattr_nbuckets == 0)
		return NULL;
	for (struct xattr_set *s = *set_bucket(fs, n); s; s = s->hnext)
		if (s->owner == n)
			return s;
	return NULL;
}

static int table_grow(struct memfs *fs)
{
	size_t nb = fs->xattr_nbuckets ? fs->xattr_nbuckets * 2 : 16;
	struct xattr_set **old = fs->xattr_buckets;
	size_t old_nb = fs->xattr_nbuckets;

	struct xattr_set **b = calloc(nb, sizeof *b);
	if (!b)
		return -ENOMEM;
	fs->xattr_buckets = b;
	fs->xattr_nbuckets = nb;
	for (size_t i = 0; i < old_nb; i++) {
		struct xattr_set *s = old[i];
		while (s) {
			struct xattr_set *next = s->hnext;
			struct xattr_set **to = set_bucket(fs, s->owner);
			s->hnext = *to;
			*to = s;
			s = next;
		}
	}
	free(old);
	return 0;
}

/* The node's set, made if needed (and charged). */
static int set_get(struct memfs *fs, const struct mnode *n, struct xattr_set **out)
{
	if ((*out = set_find(fs, n)))
		return 0;
	if (fs->xattr_count + 1 > fs->xattr_nbuckets && table_grow(fs))
		return -ENOMEM;
	if (memfs_charge(fs, sizeof(struct xattr_set)))
		return -ENOSPC;
	struct xattr_set *s = calloc(1, sizeof *s);
	if (!s) {
		memfs_uncharge(fs, sizeof(struct xattr_set));
		return -ENOMEM;
	}
	struct xattr_set **b = set_bucket(fs, n);
	s->owner = n;
	s->hnext = *b;
	*b = s;
	fs->xattr_count++;
	*out = s;
	return 0;
}

static void set_free(struct memfs *fs, struct xattr_set *s)
{
	struct xattr_set **p = set_bucket(fs, s->owner);
	while (*p != s)
		p = &(*p)->hnext;
	*p = s->hnext;
	fs->xattr_count--;
	for (struct xattr *x = s->first, *next; x; x = next) {
		next = x->next;
		memfs_uncharge(fs, xattr_cost(x->name_len, x->value_size));
		free(x);
	}
	memfs_uncharge(fs, sizeof(struct xattr_set));
	free(s);
}

/* The link pointing at the pair called name (it points at NULL if there is none). */
static struct xattr **pair_link(struct xattr_set *s, const char *name)
{
	struct xattr **p = &s->first;
	while (*p && strcmp((*p)->data, name) != 0)
		p = &(*p)->next;
	return p;
}

/* ---------------------------------------------------------------------------------- */

int xattr_get(struct memfs *fs, const struct mnode *n, const char *name, void *buf,
	      size_t size)
{
	int r = check_name(name);
	if (r)
		return r;
	if (!(n->flags & NF_XATTR))
		return -ENODATA;

	pthread_mutex_lock(&fs->xattr_lock);
	struct xattr_set *s = set_find(fs, n);
	struct xattr *x = s ? *pair_link(s, name) : NULL;
	if (!x)
		r = -ENODATA;
	else if (size == 0)
		r = (int)x->value_size;
	else if (size < x->value_size)
		r = -ERANGE;
	else {
		memcpy(buf, x->data + x->name_len + 1, x->value_size);
		r = (int)x->value_size;
	}
	pthread_mutex_unlock(&fs->xattr_lock);
	return r;
}

/* Replace *link (NULL: append) with a new pair, charging only what it adds. */
static int put_pair(struct memfs *fs, struct xattr **link, const char *name,
		    const void *value, size_t size)
{
	size_t name_len = strlen(name);
	uint64_t new_cost = xattr_cost(name_len, size);
	uint64_t old_cost = *link ? xattr_cost((*link)->name_len, (*link)->value_size) : 0;
	if (new_cost > old_cost && memfs_charge(fs, new_cost - old_cost))
		return -ENOSPC;

	struct xattr *x = malloc(sizeof *x + name_len + 1 + size);
	if (!x) {
		if (new_cost > old_cost)
			memfs_uncharge(fs, new_cost - old_cost);
		return -ENOMEM;
	}
	x->value_size = (uint32_t)size;
	x->name_len = (uint16_t)name_len;
	memcpy(x->data, name, name_len + 1);
	if (size)
		memcpy(x->data + name_len + 1, value, size);

	struct xattr *old = *link;
	x->next = old ? old->next : NULL;
	*link = x;
	free(old);
	if (old_cost > new_cost)
		memfs_uncharge(fs, old_cost - new_cost);
	return 0;
}

int xattr_set(struct memfs *fs, struct mnode *n, const char *name, const void *value,
	      size_t size, int flags)
{
	int r = check_name(name);
	if (r)
		return r;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (size > MEMFS_XATTR_SIZE_MAX)
		return -E2BIG;

	pthread_mutex_lock(&fs->xattr_lock);
	struct xattr_set *s = set_find(fs, n);
	struct xattr **link = s ? pair_link(s, name) : NULL;
	bool exists = link && *link;
	if ((flags & XATTR_CREATE) && exists)
		r = -EEXIST;
	else if ((flags & XATTR_REPLACE) && !exists)
		r = -ENODATA;
	else if (!s && (r = set_get(fs, n, &s)) == 0)
		link = &s->first;
	if (r == 0) {
		r = put_pair(fs, link, name, value, size);
		if (r == 0)
			n->flags |= NF_XATTR;
		else if (!s->first)
			set_free(fs, s); /* made for this pair, which did not fit */
	}
	pthread_mutex_unlock(&fs->xattr_lock);
	return r;
}

int xattr_list(struct memfs *fs, const struct mnode *n, char *buf, size_t size)
{
	if (!(n->flags & NF_XATTR))
		return 0;
	pthread_mutex_lock(&fs->xattr_lock);
	struct xattr_set *s = set_find(fs, n);
	size_t total = 0;
	for (struct xattr *x = s ? s->first : NULL; x; x = x->next)
		total += x->name_len + 1U;
	int r = (int)total;
	if (size != 0 && size < total)
		r = -ERANGE;
	else if (size != 0 && s)
		for (struct xattr *x = s->first; x; x = x->next) {
			memcpy(buf, x->data, x->name_len + 1U);
			buf += x->name_len + 1U;
		}
	pthread_mutex_unlock(&fs->xattr_lock);
	return r;
}

int xattr_remove(struct memfs *fs, struct mnode *n, const char *name)
{
	int r = check_name(name);
	if (r)
		return r;
	if (!(n->flags & NF_XATTR))
		return -ENODATA;

	pthread_mutex_lock(&fs->xattr_lock);
	struct xattr_set *s = set_find(fs, n);
	struct xattr **link = s ? pair_link(s, name) : NULL;
	if (!link || !*link) {
		r = -ENODATA;
	} else {
		struct xattr *x = *link;
		*link = x->next;
		memfs_uncharge(fs, xattr_cost(x->name_len, x->value_size));
		free(x);
		if (!s->first) {
			set_free(fs, s);
			n->flags &= ~NF_XATTR;
		}
	}
	pthread_mutex_unlock(&fs->xattr_lock);
	return r;
}

void xattr_drop_all(struct memfs *fs, struct mnode *n)
{
	pthread_mutex_lock(&fs->xattr_lock);
	struct xattr_set *s = set_find(fs, n);
	if (s)
		set_free(fs, s);
	pthread_mutex_unlock(&fs->xattr_lock);
}

void xattr_table_free(struct memfs *fs)
{
	for (size_t i = 0; i < fs->xattr_nbuckets; i++)
		while (fs->xattr_buckets[i])
			set_free(fs, fs->xattr_buckets[i]);
	free(fs->xattr_buckets);
	fs->xattr_buckets = NULL;
	fs->xattr_nbuckets = 0;
}
