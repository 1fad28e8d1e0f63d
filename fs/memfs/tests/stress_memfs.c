/* SPDX-License-Identifier: MIT */
/*
 * stress_memfs.c - many threads doing random namespace and data operations on a
 * small tree, so that they collide; then the tree's invariants are checked, and after
 * removing everything the space accounting must be back to the root's alone.
 * Build it with -fsanitize=thread to look for races.
 *
 * A tiny "kernel" keeps the nodes memfs handed out (with a count, as the library
 * does) and forgets some at random. Handouts run under a shared lock and forgets under
 * an exclusive one, so that a forget never races the handout of the same node.
 *
 * usage: stress_memfs [ITERATIONS [THREADS [MAX_SIZE]]]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memfs_int.h"
#include "stub.h"

#ifndef RENAME_EXCHANGE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

static const struct umfs_operations *O = &memfs_operations;
static struct memfs *fs;
static int problems;

/* ---- the kernel's references ---- */

#define KSIZE 65536 /* open addressing; far more than the test makes */
static void *known[KSIZE];
static uint64_t handouts[KSIZE]; /* references handed out per known node */
static pthread_rwlock_t forget_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(void *n)
{
	return ((uintptr_t)n >> 4) % KSIZE;
}

static void kernel_ref(void *n)
{
	pthread_mutex_lock(&known_lock);
	size_t h = slot_of(n);
	while (known[h] && known[h] != n)
		h = (h + 1) % KSIZE;
	known[h] = n;
	handouts[h]++;
	pthread_mutex_unlock(&known_lock);
}

/* Remove slot h, keeping the probe chains after it intact. */
static void known_remove(size_t h)
{
	known[h] = NULL;
	handouts[h] = 0;
	for (size_t j = (h + 1) % KSIZE; known[j]; j = (j + 1) % KSIZE) {
		void *m = known[j];
		uint64_t c = handouts[j];
		known[j] = NULL;
		handouts[j] = 0;
		size_t k = slot_of(m);
		while (known[k])
			k = (k + 1) % KSIZE;
		known[k] = m;
		handouts[k] = c;
	}
}

/* A node the kernel knows (of the wanted kind: 1 dir, 0 not a dir, -1 any). The caller
 * holds forget_lock shared, which keeps it alive. */
static void *known_node(unsigned *seed, int want_dir)
{
	for (int tries = 0; tries < 50; tries++) {
		pthread_mutex_lock(&known_lock);
		size_t h = (size_t)rand_r(seed) % KSIZE;
		for (int k = 0; k < 256 && !known[h]; k++)
			h = (h + 1) % KSIZE;
		void *n = known[h];
		pthread_mutex_unlock(&known_lock);
		if (n && (want_dir < 0 || node_is_dir(n) == want_dir))
			return n;
	}
	return want_dir == 1 ? memfs_root(fs) : NULL;
}

static void forget_some(unsigned *seed)
{
	pthread_rwlock_wrlock(&forget_lock);
	for (int i = 0; i < 64; i++) {
		size_t h = (size_t)rand_r(seed) % KSIZE;
		void *n = known[h];
		if (n) {
			uint64_t c = handouts[h];
			known_remove(h);
			O->forget(fs, n, c);
		}
	}
	pthread_rwlock_unlock(&forget_lock);
}

/* ---- the workers ---- */

static int iterations = 20000;

static void pick_name(unsigned *seed, char *buf)
{
	sprintf(buf, "n%d", rand_r(seed) % 12);
}

static bool is_file(void *n)
{
	return n && S_ISREG(N(n)->mode);
}

static void data_ops(umfs_req *r, unsigned *seed, char *buf, size_t size)
{
	void *f = known_node(seed, 0), *g = known_node(seed, 0);
	struct umfs_attr a;
	off_t pos;
	if (!is_file(f))
		return;
	switch (rand_r(seed) % 3) {
	case 0:
		if (rand_r(seed) % 8 == 0) { /* open(O_TRUNC): the kernel truncates by setattr */
			struct stat zero = { .st_size = 0 };
			O->setattr(r, f, NULL, &zero, UMFS_SET_SIZE, &a);
		}
		O->write(r, f, NULL, buf, (size_t)rand_r(seed) % size, rand_r(seed) % (1 << 22), 0);
		O->read(r, f, NULL, buf, size, rand_r(seed) % 100000);
		break;
	case 1: {
		struct stat in = { .st_size = rand_r(seed) % 50000 };
		O->setattr(r, f, NULL, &in, UMFS_SET_SIZE, &a);
		O->fallocate(r, f, NULL, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     rand_r(seed) % 30000, 1 + rand_r(seed) % 30000);
		O->fallocate(r, f, NULL, FALLOC_FL_KEEP_SIZE, rand_r(seed) % 30000,
			     1 + rand_r(seed) % 30000);
		O->lseek(r, f, NULL, rand_r(seed) % 30000, SEEK_HOLE, &pos);
		break;
	}
	case 2:
		if (is_file(g))
			O->copy_file_range(r, f, NULL, rand_r(seed) % 10000, g, NULL,
					   rand_r(seed) % 10000, (size_t)rand_r(seed) % 20000, 0);
		break;
	}
}

static void one_op(umfs_req *r, unsigned *seed, char *buf, size_t size)
{
	void *d = known_node(seed, 1), *d2 = known_node(seed, 1), *n;
	struct umfs_entry e;
	struct umfs_open o;
	struct umfs_attr a;
	char name[16], name2[16];
	pick_name(seed, name);
	pick_name(seed, name2);

	switch (rand_r(seed) % 19) {
	case 0:
	case 1:
		if (!O->create(r, d, name, 0644, O_CREAT | O_RDWR, &e, &o)) {
			kernel_ref(e.node);
			O->write(r, e.node, NULL, buf, (size_t)rand_r(seed) % size,
				 rand_r(seed) % 100000, 0);
		}
		break;
	case 2:
		if (!O->mkdir(r, d, name, 0755, &e))
			kernel_ref(e.node);
		break;
	case 3:
		O->unlink(r, d, name);
		break;
	case 4:
		O->rmdir(r, d, name);
		break;
	case 5:
		O->rename(r, d, name, d2, name2, 0);
		break;
	case 6:
		O->rename(r, d, name, d2, name2, RENAME_EXCHANGE);
		break;
	case 7:
		O->rename(r, d, name, d2, name2, RENAME_NOREPLACE);
		break;
	case 8:
		if (!O->lookup(r, d, name, &e))
			kernel_ref(e.node);
		break;
	case 9: {
		static __thread umfs_dirbuf b;
		b.plus = rand_r(seed) & 1;
		b.n = 0;
		b.cap = 5 + rand_r(seed) % 10;
		O->readdir(r, d, NULL, rand_r(seed) % 4 ? 0 : rand_r(seed) % 20, &b);
		break;
	}
	case 10:
	case 11:
		data_ops(r, seed, buf, size);
		break;
	case 12:
		n = known_node(seed, 0);
		if (n && !O->link(r, n, d, name, &e))
			kernel_ref(e.node);
		break;
	case 13:
		if ((n = known_node(seed, -1))) {
			O->getattr(r, n, NULL, &a);
			O->setxattr(r, n, "user.x", "abc", 3, 0);
			O->listxattr(r, n, buf, size);
			O->removexattr(r, n, "user.x");
		}
		break;
	case 14:
		if (!O->symlink(r, d, name, "some/target", &e))
			kernel_ref(e.node);
		break;
	case 15:
		if (!O->tmpfile(r, d, 0600, O_RDWR, &e, &o)) {
			kernel_ref(n = e.node);
			if ((rand_r(seed) & 1) && !O->link(r, n, d, name, &e))
				kernel_ref(e.node);
		}
		break;
	case 16:
		if (!O->mknod(r, d, name, S_IFIFO | 0644, 0, &e))
			kernel_ref(e.node);
		break;
	default:
		O->getattr(r, d, NULL, &a);
		break;
	}
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 7919 + 1;
	umfs_req r = { .fs = fs };
	static __thread char buf[20000];
	memset(buf, 'w', sizeof buf);
	for (int i = 0; i < iterations; i++) {
		if (rand_r(&seed) % 20 == 0) {
			forget_some(&seed);
			continue;
		}
		pthread_rwlock_rdlock(&forget_lock);
		one_op(&r, &seed, buf, sizeof buf);
		pthread_rwlock_unlock(&forget_lock);
	}
	return NULL;
}

/* ---- checks ---- */

static void check_tree(struct mnode *dir)
{
	struct mdir *d = dir->u.dir;
	uint32_t subdirs = 0, live = 0;
	uint64_t last_cookie = 0;
	for (uint32_t i = 0; i < d->nslots; i++) {
		struct dentry *e = dir_slot(d, i);
		if (!e)
			continue;
		live++;
		if (e->cookie <= last_cookie) {
			printf("directory %llu: cookies out of order\n",
			       (unsigned long long)dir->ino);
			problems++;
		}
		last_cookie = e->cookie;
		if (node_is_dir(e->node)) {
			subdirs++;
			if (e->node->u.dir->parent != dir) {
				printf("directory %s: wrong parent\n", e->name);
				problems++;
			}
			check_tree(e->node);
		}
	}
	if (live != d->count) {
		printf("directory %llu: %u entries, counted %u\n", (unsigned long long)dir->ino,
		       live, d->count);
		problems++;
	}
	if (dir->nlink != 2 + subdirs) {
		printf("directory %llu: nlink %u, want %u\n", (unsigned long long)dir->ino,
		       dir->nlink, 2 + subdirs);
		problems++;
	}
}

/* Remove everything through the callbacks. */
static void remove_tree(umfs_req *r, struct mnode *dir)
{
	struct dentry *e;
	char name[MEMFS_NAME_MAX + 1];
	while ((e = dir_any(dir->u.dir))) {
		struct mnode *n = e->node;
		strcpy(name, e->name);
		int rc;
		if (node_is_dir(n)) {
			remove_tree(r, n);
			rc = O->rmdir(r, dir, name);
		} else {
			rc = O->unlink(r, dir, name);
		}
		if (rc) {
			printf("removing %s: %s\n", name, strerror(-rc));
			problems++;
			return;
		}
	}
}

int main(int argc, char **argv)
{
	int nthreads = 8;
	struct memfs_options opt = { 0 };
	if (argc > 1)
		iterations = atoi(argv[1]);
	if (argc > 2)
		nthreads = atoi(argv[2]);
	if (argc > 3 && memfs_parse_size(argv[3], &opt.max_size)) {
		fprintf(stderr, "bad size %s\n", argv[3]);
		return 2;
	}
	if (nthreads < 1 || nthreads > 64)
		nthreads = 8;
	fs = memfs_new(&opt);
	stub_on_plus_node = kernel_ref;

	pthread_t t[64];
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);

	check_tree(memfs_root(fs));
	uint64_t bytes, nodes;
	memfs_usage(fs, &bytes, &nodes);
	printf("after %d x %d operations: %llu bytes, %llu nodes\n", nthreads, iterations,
	       (unsigned long long)bytes, (unsigned long long)nodes);
	if (opt.max_size && bytes > opt.max_size) {
		printf("over the limit\n");
		problems++;
	}

	for (size_t h = 0; h < KSIZE; h++)
		if (known[h])
			O->forget(fs, known[h], handouts[h]);
	umfs_req r = { .fs = fs };
	remove_tree(&r, memfs_root(fs));
	memfs_usage(fs, &bytes, &nodes);
	if (bytes != MEMFS_NODE_COST || nodes != 1) {
		printf("after removing everything: %llu bytes, %llu nodes (want %d, 1)\n",
		       (unsigned long long)bytes, (unsigned long long)nodes, MEMFS_NODE_COST);
		problems++;
	}
	memfs_free(fs);
	printf("%d passed, %d failed\n", problems ? 0 : 1, problems ? 1 : 0);
	return problems != 0;
}
