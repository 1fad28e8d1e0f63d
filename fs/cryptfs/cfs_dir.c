/* SPDX-License-Identifier: MIT */
/*
 * cfs_dir.c - listings: the vault directory's entries with their names decrypted.
 * Entries that are not names of this directory (the id file, long-name sidecars,
 * anything put there behind the mount that does not authenticate) are left out.
 * Positions are the vault directory's own (telldir cookies), as in mirror.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfs_int.h"

struct cdir {
	DIR *dp;
	off_t pos;
};

int cfs_plain_name(struct cryptfs *c, int dfd, const uint8_t dirid[CF_ID_LEN], const char *disk,
		   char *out)
{
	char enc[CN_ENC_MAX + 1], check_enc[CN_ENC_MAX + 1], check_disk[CN_SHORT_MAX + 1];
	bool hashed;

	if (disk[0] == '.')
		return -ENOENT;
	if (disk[0] != '~')
		return cn_decrypt(c->keys, dirid, disk, out) < 0 ? -EBADMSG : 0;
	if (!cn_is_hashed(disk))
		return -ENOENT; /* a sidecar */
	char side[CN_SHORT_MAX + 8];
	strcpy(side, disk);
	strcat(side, CN_SIDECAR_SUFFIX);
	int fd = openat(dfd, side, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -EBADMSG;
	ssize_t n = read(fd, enc, sizeof enc - 1);
	close(fd);
	if (n <= 0)
		return -EBADMSG;
	enc[n] = '\0';
	if (cn_decrypt(c->keys, dirid, enc, out) < 0)
		return -EBADMSG;
	/* The sidecar must belong to this hashed name (not one copied from another). */
	if (cn_encrypt(c->keys, dirid, out, check_enc, check_disk, &hashed) < 0 || !hashed ||
	    strcmp(check_disk, disk) != 0)
		return -EBADMSG;
	return 0;
}

int cfs_opendir(umfs_req *req, void *node, int flags, struct umfs_open *out)
{
	struct cnode *n = node;
	char p[FD_PATH_MAX];
	int fd = open(cfd_path(n->fd, p, sizeof p), O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	struct cdir *d = malloc(sizeof *d);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		err = -errno;
		close(fd);
		free(d);
		return err;
	}
	d->pos = 0;
	out->fh = d;
	return 0;
}

int cfs_readdir(umfs_req *req, void *node, void *fh, off_t off, umfs_dirbuf *buf)
{
	struct cryptfs *c = CFS(req);
	struct cnode *n = node;
	struct cdir *d = fh;
	char name[CN_PLAIN_MAX + 1];

	if (off != d->pos) {
		if (off == 0)
			rewinddir(d->dp);
		else
			seekdir(d->dp, off);
		d->pos = off;
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d->dp);
		if (!de)
			return errno ? -errno : 0;
		const char *shown = de->d_name;
		if (strcmp(shown, ".") != 0 && strcmp(shown, "..") != 0) {
			if (!n->has_dirid ||
			    cfs_plain_name(c, dirfd(d->dp), n->dirid, de->d_name, name) < 0) {
				d->pos = de->d_off;
				continue;
			}
			shown = name;
		}
		struct stat st = { .st_ino = de->d_ino, .st_mode = (mode_t)DTTOIF(de->d_type) };
		if (umfs_dir_add(buf, shown, &st, NULL, de->d_off) == 1) {
			seekdir(d->dp, d->pos); /* did not fit: again next time */
			return 0;
		}
		d->pos = de->d_off;
	}
}

int cfs_releasedir(umfs_req *req, void *node, void *fh)
{
	struct cdir *d = fh;
	closedir(d->dp);
	free(d);
	return 0;
}
