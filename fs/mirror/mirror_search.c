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

int msearch_changed(umfs_req *req, struct mnode *dir, int result)
{
	struct mirror *m = MIR(req);
	umfs_session *s = umfs_req_session(req);

	if (result < 0 || !m->guard_search || dir->type != S_IFDIR)
		return result;
	__atomic_store_n(&dir->search_state, 0, __ATOMIC_RELAXED);
	if (msearch_caches(m, dir))
		return result;
	/* Answer first: the kernel holds the directory's lock until it has the reply,
	 * and expiring a name in it takes the same lock. */
	umfs_req_defer(req);
	umfs_req_complete(req, result);

	char p[FD_PATH_MAX];
	int fd = open(mfd_path(dir->fd, p, sizeof p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		umfs_log(UMFS_LOG_WARNING, "mirror: cannot list a directory made private to "
			 "expire its cached names: %s", strerror(errno));
		return UMFS_DEFERRED;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (umfs_notify_expire_entry(s, dir, de->d_name) == -ENOSYS)
			umfs_notify_inval_entry(s, dir, de->d_name);
	}
	closedir(d);
	return UMFS_DEFERRED;
}
