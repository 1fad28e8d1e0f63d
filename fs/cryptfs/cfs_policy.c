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
 * What this check cannot see is documented in doc/cryptfs-format.md (threat model):
 * root, and anything that can write into an allowed program's memory without being
 * its tracer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

enum view cfs_view_of(const struct cryptfs *c, const struct umfs_caller *who)
{
	bool ok = false;

	if (who->pid <= 0)
		return VIEW_CONTAINER;
	for (size_t i = 0; i < c->pol.n_uids && !ok; i++)
		ok = c->uids[i] == who->uid;
	if (!ok)
		ok = exe_allowed(c, who->pid) || cgroup_allowed(c, who->pid);
	if (!ok || traced(who->pid))
		return VIEW_CONTAINER;
	return VIEW_PLAIN;
}
