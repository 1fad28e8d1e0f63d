/* SPDX-License-Identifier: MIT */
/*
 * mirror_search.c - search permission on directories, when the kernel does not check.
 *
 * Acting as each caller, mirror leaves permission checks to the source: every
 * operation reaches the source as the caller, so its answer is the source's own. Such
 * a mount goes without default_permissions, and the kernel then stops asking for the
 * attributes of a directory after each change in it (one round trip of the three a
 * create costs).
 *
 * One check is no operation: walking a path through names the kernel has cached
 * needs search (x) permission on every directory along it, and without
 * default_permissions the kernel does not check that. So mirror lets the kernel cache
 * a name (or its absence) only in a directory that every user may search: mode a+x
 * and no access ACL (an ACL may deny one user what the mode allows). In any other
 * directory every walk asks mirror, which looks the name up as the caller.
 *
 * What a directory allows is asked of the source at most once a second. A change made
 * through the mount forgets the answer at once and expires the names the kernel may
 * hold in that directory; a change made in SOURCE behind the mount is seen within a
 * second, plus the entry timeout of names cached before it (the same window as the
 * kernel's own attribute cache with default_permissions).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "mirror_int.h"

#define RECHECK_NS 1000000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Every user may search the directory: all three x bits and no access ACL. Any error
 * counts as "not everyone" (the cautious answer: names are then looked up each time). */
static bool source_open_to_all(const struct mnode *dir)
{
	struct stat st;
	char p[FD_PATH_MAX];

	if (fstatat(dir->fd, "", &st, AT_EMPTY_PATH) < 0 || (st.st_mode & 0111) != 0111)
		return false;
	/* The f*xattr calls refuse O_PATH descriptors (as in mirror_xattr.c). */
	if (getxattr(mfd_path(dir->fd, p, sizeof p), "system.posix_acl_access", NULL, 0) >= 0)
		return false;
	return errno == ENODATA || errno == EOPNOTSUPP;
}

bool msearch_caches(struct mirror *m, struct mnode *dir)
{
	if (!m->guard_search)
		return true;
	/* The answer and when to ask again, in one word so that threads never see a
	 * new time with an old answer: (time to ask again << 1) | open. */
	uint64_t now = now_ns();
	uint64_t word = __atomic_load_n(&dir->search_state, __ATOMIC_RELAXED);
	if (now < word >> 1)
		return word & 1;
	bool open = source_open_to_all(dir);
	__atomic_store_n(&dir->search_state, ((now + RECHECK_NS) << 1) | open, __ATOMIC_RELAXED);
	return open;
}

void msearch_limit(struct mirror *m, struct mnode *dir, struct umfs_entry *e)
{
	if (!msearch_caches(m, dir))
		e->entry_timeout = 0;
}

/* The names to expire in one directory, done on a thread of their own: the kernel
 * holds the directory's lock until the change that made it private has its reply,
 * and expiring a name takes the same lock (a reply over io_uring goes out only when
 * the callback has returned). */
struct expiry {
	umfs_session *s;
	struct mirror *m;
	struct mnode *dir;  /* held (one handout) until done */
	char *names;        /* NUL-separated, end at names + len */
	size_t len;
};

static void *expire_names(void *arg)
{
	struct expiry *x = arg;

	for (char *p = x->names; p < x->names + x->len; p += strlen(p) + 1)
		if (umfs_notify_expire_entry(x->s, x->dir, p) == -ENOSYS)
			umfs_notify_inval_entry(x->s, x->dir, p);
	mnode_put(x->m, x->dir, 1);
	pthread_mutex_lock(&x->m->lock);
	if (--x->m->expiring == 0)
		pthread_cond_broadcast(&x->m->expired);
	pthread_mutex_unlock(&x->m->lock);
	free(x->names);
	free(x);
	return NULL;
}

/* Every name in the source directory (the kernel may hold any of them). */
static int list_names(struct mnode *dir, struct expiry *x)
{
	char p[FD_PATH_MAX];
	int fd = open(mfd_path(dir->fd, p, sizeof p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;
	size_t cap = 0;

	if (!d) {
		int err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name) + 1;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (x->len + n > cap) {
			cap = cap ? 2 * cap + n : 4096;
			char *grown = realloc(x->names, cap);
			if (!grown) {
				closedir(d);
				return -ENOMEM;
			}
			x->names = grown;
		}
		memcpy(x->names + x->len, de->d_name, n);
		x->len += n;
	}
	closedir(d);
	return 0;
}

int msearch_changed(umfs_req *req, struct mnode *dir, int result)
{
	struct mirror *m = MIR(req);
	struct expiry *x;
	pthread_attr_t attr;
	pthread_t t;
	int err;

	if (result < 0 || !m->guard_search || dir->type != S_IFDIR)
		return result;
	__atomic_store_n(&dir->search_state, 0, __ATOMIC_RELAXED);
	if (msearch_caches(m, dir))
		return result;
	x = calloc(1, sizeof *x);
	err = x ? list_names(dir, x) : -ENOMEM;
	if (!err && x->len > 0) {
		x->s = umfs_req_session(req);
		x->m = m;
		x->dir = dir;
		mnode_hold(m, dir);
		pthread_mutex_lock(&m->lock);
		m->expiring++;
		pthread_mutex_unlock(&m->lock);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = -pthread_create(&t, &attr, expire_names, x);
		pthread_attr_destroy(&attr);
		if (!err)
			return result;
		x->len = 0;
		expire_names(x); /* expires nothing: gives back the hold, frees x */
		x = NULL;
	}
	if (err)
		umfs_log(UMFS_LOG_WARNING, "mirror: names in a directory made private stay "
			 "cached for up to the entry timeout: %s", strerror(-err));
	if (x)
		free(x->names);
	free(x);
	return result;
}

void msearch_wait(struct mirror *m)
{
	pthread_mutex_lock(&m->lock);
	while (m->expiring)
		pthread_cond_wait(&m->expired, &m->lock);
	pthread_mutex_unlock(&m->lock);
}
