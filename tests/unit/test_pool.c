/* SPDX-License-Identifier: MIT */
/*
 * test_pool.c - unit tests of the worker pool's state (lib/pool.c) that need no
 * kernel: when a stream of requests (large writes, listings) begins and ends.
 */
#include <stdbool.h>
#include <stdio.h>

#include "pool.h"

#include "check.h"

static bool streaming(struct pool *p)
{
	return atomic_load(&p->streaming);
}

static void others(struct pool *p, unsigned n)
{
	while (n--)
		pool_note_request(p, false);
}

/* A stream begins with its first request and ends after POOL_STREAM_CALM others in
 * a row; a stream request among them starts the count again. */
static void test_stream_ends_after_calm(void)
{
	struct pool p;

	CHECK(pool_init(&p, POOL_DEFAULT_POLL_US) == 0);
	CHECK(!streaming(&p));
	others(&p, 3);
	CHECK(!streaming(&p));
	pool_note_request(&p, true);
	CHECK(streaming(&p));
	/* a listing's RELEASEDIR, GETATTR and OPENDIR before the next listing */
	others(&p, 3);
	CHECK(streaming(&p));
	pool_note_request(&p, true);
	others(&p, POOL_STREAM_CALM - 1);
	CHECK(streaming(&p));
	others(&p, 1);
	CHECK(!streaming(&p));
	pool_note_request(&p, true);
	CHECK(streaming(&p));
	pool_stop(&p);
	pool_destroy(&p);
}

/* Without polling every worker reads anyway: there is no stream to track. */
static void test_no_streams_without_polling(void)
{
	struct pool p;

	CHECK(pool_init(&p, 0) == 0);
	pool_note_request(&p, true);
	CHECK(!streaming(&p));
	pool_stop(&p);
	pool_destroy(&p);
}

int main(void)
{
	test_stream_ends_after_calm();
	test_no_streams_without_polling();
	printf("pool: %u passed, %u failed\n", passed, failed);
	return failed != 0;
}
