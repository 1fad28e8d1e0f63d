/* SPDX-License-Identifier: MIT */
/*
 * cgroup.c - one cgroup v2 per instance run, under umfsd's own cgroup (so under
 * systemd, with Delegate=yes, inside umfsd.service's): <own>/umfs/<svc>@<inst>.<n>.
 * No controller is enabled: the cgroup only groups the processes, so that a stop
 * can find and kill them all.
 */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[PATH_MAX]; /* <cgroup2 mount><own cgroup>/umfs, "" when unavailable */
static unsigned serial;

/* The cgroup2 mount point, from mountinfo. */
static bool find_mount(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX], type[64];
		char *sep = strstr(line, " - ");

		if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
		    sscanf(sep + 3, "%63s", type) == 1 && !strcmp(type, "cgroup2") &&
		    !strchr(mp, '\\') && strlen(mp) < size) {
			strcpy(out, mp);
			found = true;
		}
	}
	free(line);
	fclose(f);
	return found;
}

/* umfsd's own cgroup in the unified hierarchy: the "0::" line. */
static bool own_cgroup(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	ssize_t n;

	if (!f)
		return false;
	while (!found && (n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, "0::", 3) == 0 && (size_t)n - 3 < size) {
			if (line[n - 1] == '\n')
				line[n - 1] = '\0';
			strcpy(out, line + 3);
			found = true;
		}
	}
	free(line);
	fclose(f);
	return found;
}

bool cgroup_init(void)
{
	char mnt[PATH_MAX], own[PATH_MAX], probe[PATH_MAX + 64];

	base[0] = '\0';
	if (!find_mount(mnt, sizeof(mnt)) || !own_cgroup(own, sizeof(own)))
		return false;
	if ((size_t)snprintf(base, sizeof(base), "%s%s%s/umfs", mnt, strcmp(own, "/") ? own : "",
			     "") >= sizeof(base) ||
	    (mkdir(base, 0755) < 0 && errno != EEXIST)) {
		base[0] = '\0';
		return false;
	}
	/* Only a cgroup whose processes can be killed as one is worth it (Linux 5.14). */
	snprintf(probe, sizeof(probe), "%s/cgroup.procs", base);
	if (access(probe, W_OK) < 0) {
		base[0] = '\0';
		return false;
	}
	return true;
}

char *cgroup_create(const char *service, const char *instance)
{
	char *path;

	if (!base[0])
		return NULL;
	if (asprintf(&path, "%s/%s@%s.%d.%u", base, service, instance, (int)getpid(),
		     ++serial) < 0)
		return NULL;
	if (mkdir(path, 0755) < 0) {
		free(path);
		return NULL;
	}
	return path;
}

static int write_file(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX + 32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -errno;
}

int cgroup_enter(const char *path)
{
	return write_file(path, "cgroup.procs", "0");
}

void cgroup_kill(const char *path)
{
	char procs[PATH_MAX + 32];
	FILE *f;
	int pid;

	if (write_file(path, "cgroup.kill", "1") == 0)
		return;
	/* Older kernels: one by one (a process forking meanwhile may survive). */
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	f = fopen(procs, "re");
	if (!f)
		return;
	while (fscanf(f, "%d", &pid) == 1)
		kill(pid, SIGKILL);
	fclose(f);
}

bool cgroup_remove(const char *path)
{
	return rmdir(path) == 0 || errno == ENOENT;
}
