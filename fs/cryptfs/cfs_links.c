/* SPDX-License-Identifier: MIT */
/*
 * cfs_links.c - symlink targets longer than a vault symlink can hold.
 *
 * A target of up to CN_LINK_MAX bytes is stored, encrypted, as the vault symlink's own
 * target. A longer one (up to PATH_MAX - 1, as on other file systems) has an encrypted
 * stored form longer than any file system takes in a symlink, so it goes to a record
 * VAULT/links/<hex id> under a fresh random id, and the vault symlink holds
 * "~<hex id>". The record is sealed with its id as context: it cannot be given to
 * another long symlink. The record goes when the symlink's last name does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfs_int.h"

#define LINKS_NAME "links"

static void record_path(const uint8_t id[CF_ID_LEN], char *out, size_t size)
{
	int n = snprintf(out, size, LINKS_NAME "/");
	for (int i = 0; i < CF_ID_LEN && (size_t)n + 2 < size; i++)
		n += snprintf(out + n, size - (size_t)n, "%02x", id[i]);
}

/* The record id in a stored target "~<hex>"; false if it is not one. */
static bool id_of(const char *stored, uint8_t id[CF_ID_LEN])
{
	if (!cfs_is_long_link(stored))
		return false;
	for (int i = 0; i < CF_ID_LEN; i++) {
		unsigned v;
		if (sscanf(stored + 1 + 2 * i, "%2x", &v) != 1)
			return false;
		id[i] = (uint8_t)v;
	}
	return true;
}

bool cfs_is_long_link(const char *stored)
{
	return stored[0] == '~' && strlen(stored) == CFS_LONG_LINK_LEN;
}

int cfs_long_link_store(struct cryptfs *c, const char *target, char *stored)
{
	uint8_t id[CF_ID_LEN];
	char path[64];
	char *enc = malloc(CN_LONG_LINK_ENC);
	int err = enc ? 0 : -ENOMEM;

	if (!err && cf_random(id, sizeof id))
		err = -EIO;
	if (!err)
		err = cn_long_link_encrypt(c->keys, id, target, enc);
	if (!err && mkdirat(c->vault_fd, LINKS_NAME, 0700) < 0 && errno != EEXIST)
		err = -errno;
	if (!err) {
		c->links_used = true;
		record_path(id, path, sizeof path);
		int fd = openat(c->vault_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				0600);
		if (fd < 0) {
			err = -errno;
		} else {
			size_t len = strlen(enc);
			ssize_t w = write(fd, enc, len);
			err = w == (ssize_t)len ? 0 : (w < 0 ? -errno : -ENOSPC);
			close(fd);
			if (err)
				unlinkat(c->vault_fd, path, 0);
		}
	}
	free(enc);
	if (err)
		return err;
	stored[0] = '~';
	for (int i = 0; i < CF_ID_LEN; i++)
		snprintf(stored + 1 + 2 * i, 3, "%02x", id[i]);
	return 0;
}

int cfs_long_link_load(struct cryptfs *c, const char *stored, char *plain)
{
	uint8_t id[CF_ID_LEN];
	char path[64];

	if (!id_of(stored, id))
		return -EBADMSG;
	record_path(id, path, sizeof path);
	int fd = openat(c->vault_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EBADMSG : -errno;
	char *enc = malloc(CN_LONG_LINK_ENC);
	ssize_t n = enc ? read(fd, enc, CN_LONG_LINK_ENC - 1) : -1;
	int err = n < 0 ? (enc ? -errno : -ENOMEM) : 0;
	close(fd);
	if (!err) {
		enc[n] = '\0';
		err = cn_long_link_decrypt(c->keys, id, enc, plain);
	}
	free(enc);
	return err;
}

off_t cfs_long_link_size(struct cryptfs *c, const char *stored)
{
	uint8_t id[CF_ID_LEN];
	char path[64];
	struct stat st;

	if (!id_of(stored, id))
		return 0;
	record_path(id, path, sizeof path);
	if (fstatat(c->vault_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	/* base64url(16-byte iv | target) */
	off_t raw = st.st_size * 3 / 4;
	return raw > 16 ? raw - 16 : 0;
}

void cfs_long_link_drop(struct cryptfs *c, const char *stored)
{
	uint8_t id[CF_ID_LEN];
	char path[64];

	if (!id_of(stored, id))
		return;
	record_path(id, path, sizeof path);
	unlinkat(c->vault_fd, path, 0);
}
