/* SPDX-License-Identifier: MIT */
/*
 * mount.h - getting a connected /dev/fuse descriptor onto a mount point and off again:
 * mount(2) when privileged, fusermount3 otherwise.
 */
#ifndef UMFS_MOUNT_H
#define UMFS_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

/* Mount options split into what mount(2) takes as flags and what fuse.ko parses. */
struct mount_opts {
	unsigned long flags;     /* MS_* */
	bool allow_other, default_permissions, auto_unmount;
	unsigned max_read;       /* 0: not given */
	unsigned blksize;        /* 0: not given */
	char fsname[256];
	char subtype[64];
	bool explicit_default_permissions, explicit_allow_other; /* given by the user */
	bool no_default_permissions, no_allow_other;             /* -o no... */
	char *fusermount_opts;   /* the options as fusermount3 wants them (malloc) */
	bool file_mountpoint;    /* a regular file may be the mount point (config) */
};

struct mount_state {
	char *mountpoint; /* absolute (malloc) */
	int fd;           /* the connection, -1 when not mounted */
	bool by_fusermount;
	bool mounted;
};

/* Parse "opt,opt=value,..." into o. Returns 0 or -EINVAL (logged, naming the option). */
int mount_parse_options(const char *options, struct mount_opts *o);
void mount_opts_free(struct mount_opts *o);

/* Check that mountpoint can be mounted on; returns 0 or a negative errno (logged). */
int mount_check_point(const char *mountpoint, bool allow_file);

/* Mount: fills st (fd, absolute mount point). Returns 0 or a negative errno (logged). */
int mount_fuse(const char *mountpoint, const struct mount_opts *o, struct mount_state *st);
/* Unmount (lazily: detach even when busy), keeping the connection open. */
void mount_detach(struct mount_state *st);
/* Unmount and close the connection. */
void mount_release(struct mount_state *st);

/* Unmount a mount point by path: umount2 when privileged, fusermount3 -u otherwise. */
int mount_unmount_path(const char *mountpoint, bool lazy);

/* Whether path is the mount point of a FUSE mount (from /proc/self/mountinfo). */
bool mount_is_fuse_mountpoint(const char *abs_path);

#endif
