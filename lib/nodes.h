/* SPDX-License-Identifier: MIT */
/*
 * nodes.h - the node table: kernel node ids <-> the file system's node contexts, with
 * the kernel's lookup count per node. Sharded by context hash so that threads working
 * on different nodes rarely meet on a lock; there is no global lock.
 *
 * Ids: 1 is the root (never counted, never forgotten). Every other id names one slot
 * of one shard; a reused slot gets a new generation, so (id, generation) never repeats.
 *
 * A direct table (umfs_config.direct_node_ids) keeps nothing: a context is its own id,
 * as in libfuse's low-level API, whose programs count the kernel's references
 * themselves. The root context is then (void *)NODE_ROOT_ID, references are not
 * counted, and every unref hands the kernel's count straight back (as handouts).
 */
#ifndef UMFS_NODES_H
#define UMFS_NODES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define NODE_SHARDS 64
#define NODE_ROOT_ID 1

struct node_slot {
	void *ctx;        /* NULL: slot is free */
	uint64_t nlookup; /* the kernel's references */
	uint64_t handouts; /* references counted since the slot was taken */
	uint32_t gen;     /* bumped on every reuse */
	int32_t next;     /* hash chain (in use) or free list (free); -1 ends */
};

struct node_shard {
	pthread_mutex_t lock;
	struct node_slot *slots;
	uint32_t nslots, cap;
	int32_t free_head;
	int32_t *buckets; /* heads of hash chains, nbuckets a power of two */
	uint32_t nbuckets, count;
};

struct node_table {
	void *root;
	bool direct; /* contexts are ids: no table at all */
	struct node_shard shard[NODE_SHARDS];
};

/* direct: see above; root must then be (void *)NODE_ROOT_ID (-EINVAL otherwise). */
int nodes_init(struct node_table *t, void *root, bool direct);
typedef void node_forget_fn(void *fs, void *ctx, uint64_t handouts);
/* Free the table; forget() is called for every node still referenced. */
void nodes_destroy(struct node_table *t, node_forget_fn *forget, void *fs);

/* Count one more kernel reference to ctx. Returns 0 and its id and generation (in a
 * direct table: fs_gen, the file system's own), or -ENOMEM. */
int nodes_ref(struct node_table *t, void *ctx, uint64_t fs_gen, uint64_t *id, uint64_t *gen);
/* Drop n references of id. Returns the context when that was the last reference (the
 * caller then calls the file system's forget with *handouts), else NULL. Unknown ids
 * are ignored. */
void *nodes_unref(struct node_table *t, uint64_t id, uint64_t n, uint64_t *handouts);
/* The context of id, or NULL when the kernel names an id the table does not know. */
void *nodes_get(struct node_table *t, uint64_t id);
/* The id of ctx if the kernel holds it, else 0. */
uint64_t nodes_find(struct node_table *t, void *ctx);

#endif
