/* SPDX-License-Identifier: MIT */
/*
 * testfs - a file system for testing what memfs never needs: data that changes behind
 * the kernel's back (notifications), replies that come later from another thread
 * (deferred requests) and requests the kernel interrupts.
 *
 *   /counter     "N\n"; cached by the kernel for a day (keep_cache, long timeouts)
 *   /bump        writing anything increments N and tells the kernel (inval_inode)
 *   /slow        "slow\n", answered 20 ms later from a background thread
 *   /block       a read waits until the kernel interrupts it, then fails with EINTR
 *   /interrupts  how many interrupts /block has seen
 *   /toggle      writing anything makes /flag appear or vanish (inval_entry tells the
 *                kernel, which caches the name for a day otherwise)
 *   /flag        exists every other toggle
 *   /store       writing anything puts "stored!\n" (as long) into the kernel's cache of /cached
 *                (notify_store), whose own content is "fs data\n"
 *   /cached      "fs data\n", cached by the kernel for a day
 *   /gate        a read at offset 0 waits in its callback (on the worker, not
 *                deferred) until /bump is written, then reads "open\n": another
 *                worker must serve that write meanwhile
 *
 * Usage: testfs MOUNTPOINT [-d]   (foreground)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <umfs/umfs.h>

enum { ROOT, COUNTER, BUMP, SLOW, BLOCK, INTERRUPTS, TOGGLE, FLAG, STORE, CACHED, GATE, NNODES };

struct node {
	const char *name;
	mode_t mode;
};

static struct node nodes[NNODES] = {
	[ROOT] = { "/", S_IFDIR | 0755 },        [COUNTER] = { "counter", S_IFREG | 0444 },
	[BUMP] = { "bump", S_IFREG | 0222 },     [SLOW] = { "slow", S_IFREG | 0444 },
	[BLOCK] = { "block", S_IFREG | 0444 },   [INTERRUPTS] = { "interrupts", S_IFREG | 0444 },
	[TOGGLE] = { "toggle", S_IFREG | 0222 }, [FLAG] = { "flag", S_IFREG | 0444 },
	[STORE] = { "store", S_IFREG | 0222 },   [CACHED] = { "cached", S_IFREG | 0444 },
	[GATE] = { "gate", S_IFREG | 0444 },
};

static atomic_int counter;
static atomic_int interrupts;
static atomic_bool flag_present = true;
static umfs_session *session;

static int id_of(const void *node)
{
	return (int)((const struct node *)node - nodes);
}

/* The content of a file right now; returns its length. */
static int content(int id, char *buf, size_t size)
{
	switch (id) {
	case COUNTER: return snprintf(buf, size, "%d\n", atomic_load(&counter));
	case SLOW: return snprintf(buf, size, "slow\n");
	case INTERRUPTS: return snprintf(buf, size, "%d\n", atomic_load(&interrupts));
	case CACHED: return snprintf(buf, size, "fs data\n");
	case GATE: return snprintf(buf, size, "open\n");
	default: return 0;
	}
}

static void fill(int id, struct stat *st)
{
	char buf[64];

	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)id + 1;
	st->st_mode = nodes[id].mode;
	st->st_nlink = id == ROOT ? 2 : 1;
	/* /block claims one byte so the kernel asks for it. */
	st->st_size = id == BLOCK ? 1 : content(id, buf, sizeof(buf));
}

static int t_lookup(umfs_req *req, void *dir, const char *name, struct umfs_entry *out)
{
	for (int i = 1; i < NNODES; i++) {
		if (i == FLAG && !atomic_load(&flag_present))
			continue;
		if (strcmp(name, nodes[i].name) == 0) {
			out->node = &nodes[i];
			fill(i, &out->attr);
			out->entry_timeout = out->attr_timeout = 86400;
			return 0;
		}
	}
	return -ENOENT;
}

static int t_getattr(umfs_req *req, void *node, void *fh, struct umfs_attr *out)
{
	fill(id_of(node), &out->st);
	out->timeout = 86400;
	return 0;
}

static int t_open(umfs_req *req, void *node, int flags, struct umfs_open *out)
{
	int id = id_of(node);

	/* The counter's pages stay cached until the file system says otherwise. */
	out->keep_cache = id == COUNTER || id == CACHED;
	out->direct_io = id == SLOW || id == BLOCK || id == INTERRUPTS || id == GATE;
	return 0;
}

struct later {
	umfs_req *req;
	void *buf;
	size_t size;
	off_t off;
	int id;
};

/* Background thread: answer a deferred read. */
static void *answer_later(void *arg)
{
	struct later *l = arg;
	struct timespec ms20 = { 0, 20 * 1000 * 1000 }, ms5 = { 0, 5 * 1000 * 1000 };
	ssize_t rc = 0;

	if (l->id == SLOW) {
		char text[64];
		int n = content(SLOW, text, sizeof(text));

		nanosleep(&ms20, NULL);
		rc = l->off >= n ? 0 : n - l->off;
		if (rc > (ssize_t)l->size)
			rc = (ssize_t)l->size;
		memcpy(l->buf, text + (rc ? l->off : 0), (size_t)rc);
	} else { /* BLOCK: wait for the interrupt, at most a minute */
		for (int i = 0; i < 12000 && !umfs_req_interrupted(l->req); i++)
			nanosleep(&ms5, NULL);
		if (umfs_req_interrupted(l->req))
			atomic_fetch_add(&interrupts, 1);
		rc = -EINTR;
	}
	umfs_req_complete(l->req, rc);
	free(l);
	return NULL;
}

static int t_read(umfs_req *req, void *node, void *fh, void *buf, size_t size, off_t off)
{
	int id = id_of(node);
	char text[64];
	int n;

	if (id == SLOW || id == BLOCK) {
		struct later *l = malloc(sizeof(*l));
		pthread_t t;

		if (!l)
			return -ENOMEM;
		*l = (struct later){ req, buf, size, off, id };
		umfs_req_defer(req);
		if (pthread_create(&t, NULL, answer_later, l) != 0) {
			free(l);
			umfs_req_complete(req, -EAGAIN);
			return UMFS_DEFERRED;
		}
		pthread_detach(t);
		return UMFS_DEFERRED;
	}
	if (id == GATE && off == 0) { /* wait here, at most 20 s, for a write to /bump */
		struct timespec ms1 = { 0, 1000 * 1000 };
		int start = atomic_load(&counter);

		for (int i = 0; i < 20000 && atomic_load(&counter) == start; i++)
			nanosleep(&ms1, NULL);
		if (atomic_load(&counter) == start)
			return -ETIMEDOUT; /* nobody served the write */
	}
	n = content(id, text, sizeof(text));
	if (off >= n)
		return 0;
	n -= (int)off;
	if ((size_t)n > size)
		n = (int)size;
	memcpy(buf, text + off, (size_t)n);
	return n;
}

static int t_write(umfs_req *req, void *node, void *fh, const void *buf, size_t size,
		   off_t off, unsigned flags)
{
	int rc;

	switch (id_of(node)) {
	case BUMP:
		atomic_fetch_add(&counter, 1);
		/* Drop the cached pages and attributes of /counter: its size may change. */
		rc = umfs_notify_inval_inode(session, &nodes[COUNTER], 0, 0);
		break;
	case TOGGLE:
		atomic_store(&flag_present, !atomic_load(&flag_present));
		/* The kernel forgets what it knew of the name, either way. */
		rc = umfs_notify_inval_entry(session, &nodes[ROOT], nodes[FLAG].name);
		break;
	case STORE:
		rc = umfs_notify_store(session, &nodes[CACHED], 0, "stored!\n", 8);
		break;
	default:
		return -EACCES;
	}
	if (rc < 0 && rc != -ENOENT)
		return rc;
	return (int)size;
}

static int t_setattr(umfs_req *req, void *node, void *fh, const struct stat *in,
		     unsigned valid, struct umfs_attr *out)
{
	fill(id_of(node), &out->st); /* truncation of /bump on open(O_TRUNC) is a no-op */
	return 0;
}

static int t_readdir(umfs_req *req, void *node, void *fh, off_t off, umfs_dirbuf *buf)
{
	struct stat st;

	for (int i = (int)off; i < NNODES + 1; i++) {
		const char *name = i == 0 ? "." : i == 1 ? ".." : nodes[i - 1].name;

		if (i - 1 == FLAG && !atomic_load(&flag_present))
			continue;
		fill(i < 2 ? ROOT : i - 1, &st);
		if (umfs_dir_add(buf, name, &st, i < 2 ? NULL : &nodes[i - 1], i + 1))
			break;
	}
	return 0;
}

static const struct umfs_operations t_ops = {
	.version = UMFS_API_VERSION,
	.size = sizeof(struct umfs_operations),
	.lookup = t_lookup,
	.getattr = t_getattr,
	.setattr = t_setattr,
	.open = t_open,
	.read = t_read,
	.write = t_write,
	.readdir = t_readdir,
};

int main(int argc, char **argv)
{
	struct umfs_config cfg;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: testfs MOUNTPOINT [-d]\n");
		return 2;
	}
	umfs_config_init(&cfg);
	cfg.debug = argc > 2 && strcmp(argv[2], "-d") == 0;
	cfg.mount_options = "default_permissions,fsname=testfs,subtype=testfs";
	session = umfs_session_new(&t_ops, sizeof(t_ops), NULL, &nodes[ROOT], &cfg);
	if (!session)
		return 1;
	rc = umfs_mount(session, argv[1]);
	if (rc == 0)
		rc = umfs_session_loop(session);
	umfs_session_destroy(session);
	return rc == 0 ? 0 : 1;
}
