/* SPDX-License-Identifier: MIT */
/*
 * test_nodes.c - unit tests of the node table (lib/nodes.c), in both of its modes:
 * the table that numbers a file system's nodes and counts the kernel's references,
 * and the direct mode of umfs_config.direct_node_ids, where a node is its own id.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "nodes.h"

#include "check.h"

static int root, a, b; /* contexts: their addresses */
static uint64_t forgotten;

static void count_forget(void *fs, void *ctx, uint64_t handouts)
{
	(void)fs;
	(void)ctx;
	forgotten += handouts;
}

static void test_table(void)
{
	struct node_table t;
	uint64_t id_a, id_a2, id_b, gen, gen2, handouts = 0;

	CHECK(nodes_init(&t, &root, false) == 0);
	CHECK(nodes_ref(&t, &root, 0, &id_a, &gen) == 0 && id_a == NODE_ROOT_ID);
	CHECK(nodes_find(&t, &root) == NODE_ROOT_ID);
	CHECK(nodes_get(&t, NODE_ROOT_ID) == &root);
	/* the same context keeps its id while referenced; another gets another */
	CHECK(nodes_ref(&t, &a, 0, &id_a, &gen) == 0 && id_a > NODE_ROOT_ID);
	CHECK(nodes_ref(&t, &a, 0, &id_a2, &gen2) == 0 && id_a2 == id_a && gen2 == gen);
	CHECK(nodes_ref(&t, &b, 0, &id_b, &gen) == 0 && id_b != id_a && id_b > NODE_ROOT_ID);
	CHECK(nodes_get(&t, id_a) == &a && nodes_find(&t, &b) == id_b);
	CHECK(nodes_get(&t, 0) == NULL && nodes_get(&t, id_a + id_b + 1000) == NULL);
	/* forgotten only with its last reference, with every handout counted */
	CHECK(nodes_unref(&t, id_a, 1, &handouts) == NULL);
	CHECK(nodes_unref(&t, id_a, 1, &handouts) == &a && handouts == 2);
	CHECK(nodes_get(&t, id_a) == NULL && nodes_find(&t, &a) == 0);
	CHECK(nodes_unref(&t, id_a, 1, &handouts) == NULL); /* unknown now: ignored */
	/* a reused slot is a new generation */
	CHECK(nodes_ref(&t, &a, 0, &id_a2, &gen2) == 0);
	CHECK(id_a2 != id_a || gen2 != gen);
	forgotten = 0;
	nodes_destroy(&t, count_forget, NULL); /* a and b: one handout each */
	CHECK(forgotten == 2);
}

static void test_direct(void)
{
	struct node_table t;
	uint64_t id, gen = 99, handouts = 0;
	void *big = (void *)(uintptr_t)0x123400000001ULL;

	CHECK(nodes_init(&t, &root, true) == -EINVAL); /* the root must be id 1 */
	CHECK(nodes_init(&t, (void *)NODE_ROOT_ID, true) == 0);
	CHECK(nodes_ref(&t, big, 42, &id, &gen) == 0 && id == 0x123400000001ULL && gen == 42);
	CHECK(nodes_ref(&t, (void *)NODE_ROOT_ID, 0, &id, &gen) == 0 && id == NODE_ROOT_ID);
	CHECK(nodes_get(&t, 0x123400000001ULL) == big && nodes_get(&t, 77) == (void *)77);
	CHECK(nodes_get(&t, 0) == NULL && nodes_get(&t, NODE_ROOT_ID) == (void *)NODE_ROOT_ID);
	CHECK(nodes_find(&t, big) == 0x123400000001ULL);
	/* every unref goes through with the kernel's count; the root is never forgotten */
	CHECK(nodes_unref(&t, 0x123400000001ULL, 3, &handouts) == big && handouts == 3);
	CHECK(nodes_unref(&t, 0x123400000001ULL, 1, &handouts) == big && handouts == 1);
	CHECK(nodes_unref(&t, NODE_ROOT_ID, 1, &handouts) == NULL);
	forgotten = 0;
	nodes_destroy(&t, count_forget, NULL); /* nothing was counted */
	CHECK(forgotten == 0);
}

int main(void)
{
	test_table();
	test_direct();
	printf("nodes: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
