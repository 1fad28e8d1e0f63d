/* SPDX-License-Identifier: MIT */
/*
 * cfs_policy.c - which view a caller gets.
 *
 * The caller is the thread the kernel names in the request (pid = thread id); its
 * executable, tracer and cgroup are read from /proc/<tid>, which exists for every
 * thread even though /proc lists only processes. Anything unreadable gives the
 * container view: a refusal never shows plaintext. Pid 0 (work the kernel does on
 * its own, such as writeback) gets the container view too.
 *
 * The parts read from /proc/<tid>/status and /proc/<tid>/cgroup (the dearest: the
 * kernel formats the whole file) are remembered per thread for VCACHE_TTL_NS, held
 * by a pidfd of that very thread: a thread id reused by another thread is never
 * given the verdict of the old one. The executable is checked at every request (an
 * execve keeps the thread id). See doc/cryptfs-format.md, "Threat model".
 *
 * What this check cannot see is documented in doc/cryptfs-format.md (threat model):
 * root, and anything that can write into an allowed program's memory without being
 * its tracer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cfs_int.h"

/* Read /proc/<pid>/<what> into buf (NUL-terminated); -1 on failure. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t size)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/%s", (int)pid, what);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Traced (ptrace, a debugger, strace): its tracer could read the plaintext out of
 * it. Unknown counts as traced. */
static bool traced(pid_t pid)
{
	char buf[4096];
	if (read_proc(pid, "status", buf, sizeof buf) < 0)
		return true;
	const char *t = strstr(buf, "\nTracerPid:");
	if (!t)
		return true;
	return atoi(t + 11) != 0;
}

static int sha256_fd(int fd, unsigned char out[32])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned char buf[65536];
	unsigned len = 32;
	ssize_t n;
	int ok = m && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1;

	while (ok && (n = read(fd, buf, sizeof buf)) > 0)
		ok = EVP_DigestUpdate(m, buf, (size_t)n) == 1;
	ok = ok && n == 0 && EVP_DigestFinal_ex(m, out, &len) == 1;
	EVP_MD_CTX_free(m);
	return ok ? 0 : -EIO;
}

int cryptfs_exe_from_path(const char *path, struct cryptfs_exe *e)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	errno = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = errno ? -errno : -EINVAL;
		close(fd);
		return err;
	}
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->ctime = st.st_ctim;
	e->path = path;
	err = sha256_fd(fd, e->sha256);
	close(fd);
	return err;
}

static bool exe_allowed(const struct cryptfs *c, pid_t pid)
{
	char p[64];
	struct stat st;

	if (!c->pol.n_exes)
		return false;
	snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
	if (stat(p, &st) < 0)
		return false;
	for (size_t i = 0; i < c->pol.n_exes; i++) {
		const struct cryptfs_exe *e = &c->exes[i];
		if (e->dev != st.st_dev || e->ino != st.st_ino)
			continue;
		if (e->ctime.tv_sec == st.st_ctim.tv_sec && e->ctime.tv_nsec == st.st_ctim.tv_nsec)
			return true;
		/* Changed since the mount started (chmod, touch, or new content): still
		 * allowed only with the same content. */
		unsigned char d[32];
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		bool same = fd >= 0 && sha256_fd(fd, d) == 0 && memcmp(d, e->sha256, 32) == 0;
		if (fd >= 0)
			close(fd);
		if (!same)
			umfs_log(UMFS_LOG_WARNING, "cryptfs: an allowed program was changed since the "
				 "mount started (ino %llu): not allowed",
				 (unsigned long long)st.st_ino);
		return same;
	}
	return false;
}

static bool cgroup_allowed(const struct cryptfs *c, pid_t pid)
{
	char buf[4096];

	if (!c->pol.n_cgroups || read_proc(pid, "cgroup", buf, sizeof buf) < 0)
		return false;
	/* cgroup v2: the line "0::/path". */
	char *l = strstr(buf, "0::");
	if (!l || (l != buf && l[-1] != '\n'))
		return false;
	l += 3;
	l[strcspn(l, "\n")] = '\0';
	for (size_t i = 0; i < c->pol.n_cgroups; i++) {
		const char *g = c->cgroups[i];
		size_t n = strlen(g);
		if (strncmp(l, g, n) == 0 && (l[n] == '\0' || l[n] == '/' || (n && g[n - 1] == '/')))
			return true;
	}
	return false;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The thread behind pidfd has not exited (so its id is still its own). */
static bool alive(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	return poll(&p, 1, 0) == 0;
}

void cfs_vcache_init(struct cryptfs *c)
{
	pthread_mutex_init(&c->vlock, NULL);
	for (int i = 0; i < VCACHE_SLOTS; i++)
		c->vcache[i] = (struct vslot){ .tid = 0, .pidfd = -1 };
}

void cfs_vcache_free(struct cryptfs *c)
{
	for (int i = 0; i < VCACHE_SLOTS; i++)
		if (c->vcache[i].pidfd >= 0)
			close(c->vcache[i].pidfd);
	pthread_mutex_destroy(&c->vlock);
}

/* Traced? In an allowed cgroup? From the cache, or read from /proc and remembered. */
static void proc_verdict(struct cryptfs *c, pid_t tid, bool *is_traced, bool *in_cgroup)
{
	struct vslot *s = &c->vcache[(unsigned)tid % VCACHE_SLOTS];
	uint64_t now = now_ns();

	pthread_mutex_lock(&c->vlock);
	if (s->tid == tid && s->pidfd >= 0 && now < s->until && alive(s->pidfd)) {
		*is_traced = s->traced;
		*in_cgroup = s->in_cgroup;
		pthread_mutex_unlock(&c->vlock);
		return;
	}
	pthread_mutex_unlock(&c->vlock);

	/* The pidfd first: whatever /proc says next is about the thread it holds, as
	 * long as that thread is still alive after the reads. */
	int fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	*is_traced = traced(tid);
	*in_cgroup = cgroup_allowed(c, tid);
	if (fd < 0)
		return;
	if (!alive(fd)) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&c->vlock);
	int old = s->pidfd;
	*s = (struct vslot){ .tid = tid, .pidfd = fd, .until = now + VCACHE_TTL_NS,
			     .traced = *is_traced, .in_cgroup = *in_cgroup };
	pthread_mutex_unlock(&c->vlock);
	if (old >= 0)
		close(old);
}

enum view cfs_view_of(struct cryptfs *c, const struct umfs_caller *who)
{
	bool ok = false, is_traced, in_cgroup;

	if (who->pid <= 0)
		return VIEW_CONTAINER;
	for (size_t i = 0; i < c->pol.n_uids && !ok; i++)
		ok = c->uids[i] == who->uid;
	if (!ok)
		ok = exe_allowed(c, who->pid);
	if (!ok && !c->pol.n_cgroups)
		return VIEW_CONTAINER;
	proc_verdict(c, who->pid, &is_traced, &in_cgroup);
	if (!(ok || in_cgroup) || is_traced)
		return VIEW_CONTAINER;
	return VIEW_PLAIN;
}
