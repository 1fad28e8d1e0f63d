/* SPDX-License-Identifier: MIT */
/*
 * memfs_dir.c - directory tables.
 *
 * A directory is a hash table of entries (chained, at most one entry per bucket on
 * average) for lookup by name, plus an array of the same entries in the order they
 * were added, for readdir. Each entry gets a cookie from a per-directory counter that
 * only grows; readdir hands the cookie to the kernel as the offset to resume from,
 * and resumes at the first entry whose cookie is greater. Removing an entry leaves a
 * tombstone carrying its cookie, so the array stays sorted and binary search finds the
 * resume point however the directory changed in between. Tombstones are squeezed out
 * when they take most of the array.
 *
 * The caller holds the directory's lock (memfs_int.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "memfs_int.h"

#define MIN_BUCKETS 8
#define MIN_SLOTS 8
#define MAX_ENTRIES (1U << 30)

static bool slot_is_tombstone(uint64_t slot)
{
	return slot & 1;
}

static uint64_t slot_cookie(uint64_t slot)
{
	if (slot_is_tombstone(slot))
		return slot >> 1;
	return ((const struct dentry *)(uintptr_t)slot)->cookie;
}

/* FNV-1a: short names, cheap, good enough spread for chaining. */
static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261U;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619U;
	}
	return h;
}

static struct dentry **bucket_of(const struct mdir *d, const char *name, size_t len)
{
	return &d->buckets[name_hash(name, len) & (d->nbuckets - 1)];
}

struct mdir *dir_new(void)
{
	struct mdir *d = calloc(1, sizeof *d);
	if (d)
		d->next_cookie = DIR_FIRST_COOKIE;
	return d;
}

void dir_free(struct mdir *d)
{
	for (uint32_t i = 0; i < d->nslots; i++)
		if (!slot_is_tombstone(d->slots[i]))
			free((struct dentry *)(uintptr_t)d->slots[i]);
	free(d->buckets);
	free(d->slots);
	free(d);
}

struct dentry *dentry_new(const char *name, size_t len, struct mnode *node)
{
	struct dentry *e = malloc(offsetof(struct dentry, name) + len + 1);
	if (!e)
		return NULL;
	e->hnext = NULL;
	e->node = node;
	e->cookie = 0;
	e->namelen = (uint8_t)len;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	return e;
}

struct dentry *dir_find(const struct mdir *d, const char *name, size_t len)
{
	if (d->nbuckets == 0)
		return NULL;
	for (struct dentry *e = *bucket_of(d, name, len); e; e = e->hnext)
		if (e->namelen == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

static int grow_buckets(struct mdir *d)
{
	uint32_t nb = d->nbuckets ? d->nbuckets * 2 : MIN_BUCKETS;
	struct dentry **old = d->buckets;
	uint32_t old_nb = d->nbuckets;

	d->buckets = calloc(nb, sizeof *d->buckets);
	if (!d->buckets) {
		d->buckets = old;
		return -ENOMEM;
	}
	d->nbuckets = nb;
	for (uint32_t i = 0; i < old_nb; i++) {
		struct dentry *e = old[i];
		while (e) {
			struct dentry *next = e->hnext;
			struct dentry **b = bucket_of(d, e->name, e->namelen);
			e->hnext = *b;
			*b = e;
			e = next;
		}
	}
	free(old);
	return 0;
}

/* Drop the tombstones, keeping the order. */
static void compact_slots(struct mdir *d)
{
	uint32_t j = 0;
	for (uint32_t i = 0; i < d->nslots; i++)
		if (!slot_is_tombstone(d->slots[i]))
			d->slots[j++] = d->slots[i];
	d->nslots = j;
}

static int make_slot_room(struct mdir *d)
{
	if (d->nslots < d->slots_cap)
		return 0;
	if (d->nslots - d->count >= d->nslots / 2 && d->nslots > 0) {
		compact_slots(d);
		return 0;
	}
	uint32_t cap = d->slots_cap ? d->slots_cap * 2 : MIN_SLOTS;
	uint64_t *slots = realloc(d->slots, cap * sizeof *slots);
	if (!slots)
		return -ENOMEM;
	d->slots = slots;
	d->slots_cap = cap;
	return 0;
}

int dir_reserve(struct mdir *d)
{
	if (d->count >= MAX_ENTRIES)
		return -ENOSPC;
	if (d->count + 1 > d->nbuckets) {
		int err = grow_buckets(d);
		if (err)
			return err;
	}
	return make_slot_room(d);
}

void dir_insert(struct mdir *d, struct dentry *e)
{
	struct dentry **b = bucket_of(d, e->name, e->namelen);
	e->cookie = d->next_cookie++;
	e->hnext = *b;
	*b = e;
	d->slots[d->nslots++] = (uint64_t)(uintptr_t)e;
	d->count++;
}

uint32_t dir_slot_after(const struct mdir *d, uint64_t off)
{
	uint32_t lo = 0, hi = d->nslots;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (slot_cookie(d->slots[mid]) <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct dentry *dir_slot(const struct mdir *d, uint32_t i)
{
	if (slot_is_tombstone(d->slots[i]))
		return NULL;
	return (struct dentry *)(uintptr_t)d->slots[i];
}

static void unhash(struct mdir *d, struct dentry *e)
{
	struct dentry **p = bucket_of(d, e->name, e->namelen);
	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
}

/* Give back the memory of a table that emptied or mostly emptied. */
static void shrink(struct mdir *d)
{
	if (d->count == 0) {
		d->nslots = 0;
		if (d->nbuckets > MIN_BUCKETS) {
			free(d->buckets);
			d->buckets = NULL;
			d->nbuckets = 0;
		}
		if (d->slots_cap > MIN_SLOTS) {
			free(d->slots);
			d->slots = NULL;
			d->slots_cap = 0;
		}
		return;
	}
	if (d->nslots >= 64 && d->count < d->nslots / 4) {
		compact_slots(d);
		uint32_t cap = d->nslots * 2;
		uint64_t *slots = realloc(d->slots, cap * sizeof *slots);
		if (slots) { /* if not, keeping the bigger array is fine */
			d->slots = slots;
			d->slots_cap = cap;
		}
	}
}

void dir_remove(struct mdir *d, struct dentry *e)
{
	unhash(d, e);
	uint32_t i = dir_slot_after(d, e->cookie - 1);
	d->slots[i] = e->cookie << 1 | 1;
	/* Tombstones at the end carry no information: later cookies are all bigger. */
	while (d->nslots > 0 && slot_is_tombstone(d->slots[d->nslots - 1]))
		d->nslots--;
	d->count--;
	shrink(d);
}

struct dentry *dir_any(const struct mdir *d)
{
	/* The last slot is never a tombstone (dir_remove trims them). */
	if (d->nslots == 0)
		return NULL;
	return dir_slot(d, d->nslots - 1);
}
