/* SPDX-License-Identifier: MIT */
/*
 * cgroup.h - an instance's job as a cgroup v2 of its own, where the system has the
 * unified hierarchy: what a stop kills is then every process the instance ever
 * started, including those that left its process group (setsid). Without cgroup v2
 * the job is the process group, and these functions do nothing.
 */
#ifndef UMFS_LAUNCHER_CGROUP_H
#define UMFS_LAUNCHER_CGROUP_H

#include <stdbool.h>

/* Find the cgroup v2 hierarchy and umfsd's own place in it. false: none (or not
 * writable); jobs are process groups then. */
bool cgroup_init(void);

/* A new, empty cgroup for one run of an instance (malloc'd path), or NULL. */
char *cgroup_create(const char *service, const char *instance);

/* In the child, before exec and while still root: move there. 0 or -errno. */
int cgroup_enter(const char *path);

/* SIGKILL every process in it (cgroup.kill, or one by one on older kernels). */
void cgroup_kill(const char *path);

/* Remove it; false while processes are still leaving it. */
bool cgroup_remove(const char *path);

#endif
