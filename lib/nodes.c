/* SPDX-License-Identifier: MIT */
/* nodes.c - the node table. See nodes.h. */
#include "nodes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Ids below this are reserved (0 is "no node", 1 the root). */
#define FIRST_ID 2

static uint64_t hash_ptr(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static struct node_shard *shard_of_ctx(struct node_table *t, const void *ctx, uint64_t *h)
{
	*h = hash_ptr(ctx);
	return &t->shard[*h % NODE_SHARDS];
}

static uint64_t slot_id(uint32_t shard, uint32_t index)
{
	return (uint64_t)index * NODE_SHARDS + shard + FIRST_ID;
}

int nodes_init(struct node_table *t, void *root, bool direct)
{
	if (direct && root != (void *)NODE_ROOT_ID)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->root = root;
	t->direct = direct;
	for (int i = 0; i < NODE_SHARDS; i++) {
		pthread_mutex_init(&t->shard[i].lock, NULL);
		t->shard[i].free_head = -1;
	}
	return 0;
}

void nodes_destroy(struct node_table *t, node_forget_fn *forget, void *fs)
{
	for (int i = 0; i < NODE_SHARDS; i++) {
		struct node_shard *sh = &t->shard[i];

		for (uint32_t j = 0; j < sh->nslots; j++)
			if (sh->slots[j].ctx && forget)
				forget(fs, sh->slots[j].ctx, sh->slots[j].handouts);
		free(sh->slots);
		free(sh->buckets);
		pthread_mutex_destroy(&sh->lock);
	}
	memset(t, 0, sizeof(*t));
}

/* Rebuild the hash chains with twice the buckets. Called with the shard locked. */
static int grow_buckets(struct node_shard *sh)
{
	uint32_t n = sh->nbuckets ? sh->nbuckets * 2 : 64;
	int32_t *b = malloc(n * sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		b[i] = -1;
	for (uint32_t j = 0; j < sh->nslots; j++) {
		struct node_slot *s = &sh->slots[j];

		if (!s->ctx)
			continue;
		uint32_t k = (uint32_t)((hash_ptr(s->ctx) / NODE_SHARDS) & (n - 1));
		s->next = b[k];
		b[k] = (int32_t)j;
	}
	free(sh->buckets);
	sh->buckets = b;
	sh->nbuckets = n;
	return 0;
}

static int32_t alloc_slot(struct node_shard *sh)
{
	if (sh->free_head >= 0) {
		int32_t i = sh->free_head;

		sh->free_head = sh->slots[i].next;
		sh->slots[i].gen++;
		return i;
	}
	if (sh->nslots == sh->cap) {
		uint32_t cap = sh->cap ? sh->cap * 2 : 64;
		struct node_slot *s;

		if (cap > INT32_MAX)
			return -1;
		s = realloc(sh->slots, cap * sizeof(*s));
		if (!s)
			return -1;
		sh->slots = s;
		sh->cap = cap;
	}
	sh->slots[sh->nslots].gen = 0;
	return (int32_t)sh->nslots++;
}

static uint32_t bucket_of(const struct node_shard *sh, uint64_t h)
{
	return (uint32_t)((h / NODE_SHARDS) & (sh->nbuckets - 1));
}

int nodes_ref(struct node_table *t, void *ctx, uint64_t fs_gen, uint64_t *id, uint64_t *gen)
{
	uint64_t h;
	struct node_shard *sh;
	int32_t i;

	if (ctx == t->root || t->direct) {
		*id = t->direct ? (uint64_t)(uintptr_t)ctx : NODE_ROOT_ID;
		*gen = t->direct ? fs_gen : 0;
		return 0;
	}
	sh = shard_of_ctx(t, ctx, &h);
	pthread_mutex_lock(&sh->lock);
	if (sh->nbuckets) {
		for (i = sh->buckets[bucket_of(sh, h)]; i >= 0; i = sh->slots[i].next) {
			if (sh->slots[i].ctx == ctx) {
				sh->slots[i].nlookup++;
				sh->slots[i].handouts++;
				goto found;
			}
		}
	}
	if (sh->count + 1 > sh->nbuckets && grow_buckets(sh) < 0)
		goto nomem;
	i = alloc_slot(sh);
	if (i < 0)
		goto nomem;
	sh->slots[i].ctx = ctx;
	sh->slots[i].nlookup = 1;
	sh->slots[i].handouts = 1;
	uint32_t k = bucket_of(sh, h);
	sh->slots[i].next = sh->buckets[k];
	sh->buckets[k] = i;
	sh->count++;
found:
	*id = slot_id((uint32_t)(sh - t->shard), (uint32_t)i);
	*gen = sh->slots[i].gen;
	pthread_mutex_unlock(&sh->lock);
	return 0;
nomem:
	pthread_mutex_unlock(&sh->lock);
	return -ENOMEM;
}

/* Shard and slot index of an id; false when the id cannot be one of ours. */
static bool split_id(uint64_t id, uint32_t *shard, uint32_t *index)
{
	if (id < FIRST_ID || (id - FIRST_ID) / NODE_SHARDS > INT32_MAX)
		return false;
	*shard = (uint32_t)((id - FIRST_ID) % NODE_SHARDS);
	*index = (uint32_t)((id - FIRST_ID) / NODE_SHARDS);
	return true;
}

static void unlink_from_chain(struct node_shard *sh, int32_t i)
{
	uint32_t k = bucket_of(sh, hash_ptr(sh->slots[i].ctx));
	int32_t *link = &sh->buckets[k];

	while (*link >= 0 && *link != i)
		link = &sh->slots[*link].next;
	if (*link == i)
		*link = sh->slots[i].next;
}

void *nodes_unref(struct node_table *t, uint64_t id, uint64_t n, uint64_t *handouts)
{
	uint32_t shard, index;
	struct node_shard *sh;
	struct node_slot *s;
	void *gone = NULL;

	if (t->direct) {
		*handouts = n;
		return id == NODE_ROOT_ID ? NULL : (void *)(uintptr_t)id;
	}
	if (!split_id(id, &shard, &index))
		return NULL;
	sh = &t->shard[shard];
	pthread_mutex_lock(&sh->lock);
	if (index >= sh->nslots || !sh->slots[index].ctx)
		goto out;
	s = &sh->slots[index];
	if (s->nlookup > n) {
		s->nlookup -= n;
		goto out;
	}
	gone = s->ctx;
	*handouts = s->handouts;
	unlink_from_chain(sh, (int32_t)index);
	s->ctx = NULL;
	s->nlookup = 0;
	s->next = sh->free_head;
	sh->free_head = (int32_t)index;
	sh->count--;
out:
	pthread_mutex_unlock(&sh->lock);
	return gone;
}

void *nodes_get(struct node_table *t, uint64_t id)
{
	uint32_t shard, index;
	struct node_shard *sh;
	void *ctx = NULL;

	if (id == NODE_ROOT_ID)
		return t->root;
	if (t->direct)
		return (void *)(uintptr_t)id; /* 0: none */
	if (!split_id(id, &shard, &index))
		return NULL;
	sh = &t->shard[shard];
	pthread_mutex_lock(&sh->lock);
	if (index < sh->nslots)
		ctx = sh->slots[index].ctx;
	pthread_mutex_unlock(&sh->lock);
	return ctx;
}

uint64_t nodes_find(struct node_table *t, void *ctx)
{
	uint64_t h, id = 0;
	struct node_shard *sh;

	if (ctx == t->root)
		return NODE_ROOT_ID;
	if (t->direct)
		return (uint64_t)(uintptr_t)ctx;
	sh = shard_of_ctx(t, ctx, &h);
	pthread_mutex_lock(&sh->lock);
	if (sh->nbuckets) {
		for (int32_t i = sh->buckets[bucket_of(sh, h)]; i >= 0; i = sh->slots[i].next)
			if (sh->slots[i].ctx == ctx) {
				id = slot_id((uint32_t)(sh - t->shard), (uint32_t)i);
				break;
			}
	}
	pthread_mutex_unlock(&sh->lock);
	return id;
}
