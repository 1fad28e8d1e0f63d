/* SPDX-License-Identifier: MIT */
/*
 * cfs_xattr.c - extended attributes: user.* only, encrypted (crypt_xattr.h), shown to
 * allowed programs only.
 *
 * Where they live. Not on the vault's own files' xattrs: ext4 keeps all attributes
 * of a file in one 4 KiB block, and sealing adds 29 bytes plus the name, so a 64 KiB
 * value (which Linux allows) could not be stored on the file systems vaults usually
 * sit on. Each object with attributes has a directory VAULT/xattr/<hex id>/, one file
 * per attribute named by its stored name. The id is the object's own (a file's file
 * id from its header, a directory's id): the attributes follow the object through
 * renames and hard links, and are authenticated with that id (they cannot be moved
 * to another file).
 *
 * Who sees them. Values are content: a caller of the container view gets no list, no
 * values (ENODATA) and may not set or remove any (EACCES). The kernel does not cache
 * xattrs, so every call is judged by its caller.
 *
 * Other name spaces are refused with EOPNOTSUPP: system.posix_acl_* (ACLs could not be
 * enforced: the mount uses default_permissions without FUSE's POSIX ACL support, and
 * a stored but unenforced ACL would be a lie), security.* and trusted.*.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cfs_int.h"
#include "crypt_xattr.h"

#define STORE_NAME "xattr"
#define TMP_SUFFIX ".new"

static void hex_id(const uint8_t id[CF_ID_LEN], char out[2 * CF_ID_LEN + 1])
{
	for (int i = 0; i < CF_ID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

int cfs_file_id(struct cryptfs *c, int pfd, uint8_t id[CF_ID_LEN])
{
	char p[FD_PATH_MAX];
	uint8_t buf[CF_HEADER_LEN];
	struct cf_header h;
	int fd = open(cfd_path(pfd, p, sizeof p), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t r = pread(fd, buf, sizeof buf, 0);
	close(fd);
	if (r != (ssize_t)sizeof buf || cf_header_decode(buf, sizeof buf, &h) < 0 ||
	    memcmp(h.key_id, c->keys->key_id, CF_ID_LEN) != 0)
		return -EIO;
	memcpy(id, h.file_id, CF_ID_LEN);
	return 0;
}

int cfs_object_id(struct cryptfs *c, struct cnode *n, uint8_t id[CF_ID_LEN])
{
	if (n->type == S_IFDIR) {
		if (!n->has_dirid)
			return -EIO;
		memcpy(id, n->dirid, CF_ID_LEN);
		return 0;
	}
	if (n->type != S_IFREG)
		return -EPERM; /* the kernel allows user.* on files and directories only */
	int err = cfs_file_id(c, n->fd, id);
	if (err == -EIO)
		cfs_log_damage(n, "has no header of this vault: its attributes cannot be used",
			       UINT64_MAX);
	return err;
}

/* The object's attribute directory, O_PATH; create it when asked. -ENOENT: none. */
static int store_open(struct cryptfs *c, const uint8_t id[CF_ID_LEN], bool create)
{
	char hex[2 * CF_ID_LEN + 1], path[sizeof STORE_NAME + sizeof hex + 1];
	hex_id(id, hex);
	snprintf(path, sizeof path, STORE_NAME "/%s", hex);
	int fd = openat(c->vault_fd, path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd < 0 ? -errno : fd;
	if (mkdirat(c->vault_fd, STORE_NAME, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (mkdirat(c->vault_fd, path, 0700) < 0 && errno != EEXIST)
		return -errno;
	c->xattrs_used = true;
	fd = openat(c->vault_fd, path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void cfs_xattr_drop(struct cryptfs *c, const uint8_t id[CF_ID_LEN])
{
	int sfd = store_open(c, id, false);
	if (sfd < 0)
		return;
	int lfd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = lfd >= 0 ? fdopendir(lfd) : NULL;
	if (dp) {
		struct dirent *de;
		while ((de = readdir(dp)))
			if (de->d_name[0] != '.')
				unlinkat(sfd, de->d_name, 0);
		closedir(dp);
	} else if (lfd >= 0) {
		close(lfd);
	}
	close(sfd);
	char hex[2 * CF_ID_LEN + 1], path[sizeof STORE_NAME + sizeof hex + 1];
	hex_id(id, hex);
	snprintf(path, sizeof path, STORE_NAME "/%s", hex);
	unlinkat(c->vault_fd, path, AT_REMOVEDIR);
}

/* Read the record of one stored name and open it. Returns the value's length. */
static ssize_t record_read(struct cryptfs *c, struct cnode *n, int sfd,
			   const uint8_t id[CF_ID_LEN], const char *stored, uint8_t *plain,
			   char *name, const uint8_t **value)
{
	static __thread uint8_t rec[CX_RECORD_MAX + 1];
	int fd = openat(sfd, stored, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENODATA : -errno;
	ssize_t len = read(fd, rec, sizeof rec);
	close(fd);
	if (len < 0)
		return -errno;
	ssize_t v = cx_open(c->keys, id, stored, rec, (size_t)len, plain, name, value);
	if (v == -EBADMSG)
		cfs_log_damage(n, "an extended attribute does not authenticate", UINT64_MAX);
	return v;
}

/* user.* only; the caller must be allowed. */
static int check(umfs_req *req, const char *name, int refused)
{
	if (name && strncmp(name, "user.", 5) != 0)
		return -EOPNOTSUPP;
	if (cfs_view_of(CFS(req), umfs_req_caller(req)) != VIEW_PLAIN)
		return refused;
	return 0;
}

int cfs_setxattr(umfs_req *req, void *node, const char *name, const void *value, size_t size,
		 int flags)
{
	struct cryptfs *c = CFS(req);
	struct cnode *n = node;
	uint8_t id[CF_ID_LEN];
	char stored[CX_STORED_LEN + 1], tmp[CX_STORED_LEN + sizeof TMP_SUFFIX];
	int err = check(req, name, -EACCES);

	if (!err && size > CX_VALUE_MAX)
		err = -E2BIG;
	if (!err)
		err = cfs_object_id(c, n, id);
	if (!err)
		err = cx_stored_name(c->keys, id, name, stored);
	if (err)
		return err;
	uint8_t *rec = malloc(CX_OVERHEAD + strlen(name) + size);
	if (!rec)
		return -ENOMEM;
	ssize_t rlen = cx_seal(c->keys, id, stored, name, value, size, rec);
	pthread_rwlock_wrlock(cnode_lock(c, n));
	int sfd = rlen < 0 ? (int)rlen : store_open(c, id, true);
	err = sfd < 0 ? sfd : 0;
	if (!err) {
		bool exists = faccessat(sfd, stored, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		if ((flags & XATTR_CREATE) && exists)
			err = -EEXIST;
		else if ((flags & XATTR_REPLACE) && !exists)
			err = -ENODATA;
	}
	if (!err) {
		/* A new record replaces the old one whole, or not at all. */
		snprintf(tmp, sizeof tmp, "%s" TMP_SUFFIX, stored);
		int fd = openat(sfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			err = -errno;
		} else {
			ssize_t w = write(fd, rec, (size_t)rlen);
			err = w == rlen ? 0 : (w < 0 ? -errno : -ENOSPC);
			close(fd);
			if (!err && renameat(sfd, tmp, sfd, stored) < 0)
				err = -errno;
			if (err)
				unlinkat(sfd, tmp, 0);
		}
	}
	pthread_rwlock_unlock(cnode_lock(c, n));
	if (sfd >= 0)
		close(sfd);
	free(rec);
	return err;
}

/* The store of n's attributes and the stored name of attribute name, for reading
 * or removing it: the descriptor, or -ENODATA when there is none, or refused. */
static int existing_record(umfs_req *req, struct cnode *n, const char *name, int refused,
			   uint8_t id[CF_ID_LEN], char stored[CX_STORED_LEN + 1])
{
	struct cryptfs *c = CFS(req);
	int err = check(req, name, refused);

	if (!err)
		err = cfs_object_id(c, n, id);
	if (!err)
		err = cx_stored_name(c->keys, id, name, stored);
	if (err)
		return err == -EPERM ? -ENODATA : err;
	int sfd = store_open(c, id, false);
	return sfd == -ENOENT ? -ENODATA : sfd;
}

int cfs_getxattr(umfs_req *req, void *node, const char *name, void *buf, size_t size)
{
	struct cryptfs *c = CFS(req);
	struct cnode *n = node;
	uint8_t id[CF_ID_LEN];
	char stored[CX_STORED_LEN + 1], pname[CX_NAME_MAX + 1];
	const uint8_t *value;
	int sfd = existing_record(req, n, name, -ENODATA, id, stored);

	if (sfd < 0)
		return sfd;
	uint8_t *plain = malloc(CX_RECORD_MAX);
	if (!plain) {
		close(sfd);
		return -ENOMEM;
	}
	pthread_rwlock_rdlock(cnode_lock(c, n));
	ssize_t v = record_read(c, n, sfd, id, stored, plain, pname, &value);
	pthread_rwlock_unlock(cnode_lock(c, n));
	close(sfd);
	if (v >= 0 && strcmp(pname, name) != 0)
		v = -EIO; /* a hash collision of names would land here: never seen */
	if (v == -EBADMSG)
		v = -EIO;
	if (v >= 0 && size > 0) {
		if ((size_t)v > size)
			v = -ERANGE;
		else
			memcpy(buf, value, (size_t)v);
	}
	OPENSSL_cleanse(plain, CX_RECORD_MAX);
	free(plain);
	return (int)v;
}

int cfs_listxattr(umfs_req *req, void *node, char *buf, size_t size)
{
	struct cryptfs *c = CFS(req);
	struct cnode *n = node;
	uint8_t id[CF_ID_LEN];
	char pname[CX_NAME_MAX + 1];
	const uint8_t *value;
	size_t total = 0;
	int err = check(req, NULL, 1);

	if (err)
		return err == 1 ? 0 : err;
	err = cfs_object_id(c, n, id);
	if (err)
		return err == -EPERM ? 0 : err;
	int sfd = store_open(c, id, false);
	if (sfd < 0)
		return sfd == -ENOENT ? 0 : sfd;
	int lfd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = lfd >= 0 ? fdopendir(lfd) : NULL;
	uint8_t *plain = malloc(CX_RECORD_MAX);
	if (!dp || !plain) {
		err = lfd < 0 ? -errno : -ENOMEM;
		if (dp)
			closedir(dp);
		else if (lfd >= 0)
			close(lfd);
		free(plain);
		close(sfd);
		return err;
	}
	pthread_rwlock_rdlock(cnode_lock(c, n));
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (strlen(de->d_name) != CX_STORED_LEN)
			continue; /* ".", "..", a record being written */
		if (record_read(c, n, sfd, id, de->d_name, plain, pname, &value) < 0)
			continue; /* damaged: left out (and logged) */
		size_t l = strlen(pname) + 1;
		if (size > 0) {
			if (total + l > size) {
				err = -ERANGE;
				break;
			}
			memcpy(buf + total, pname, l);
		}
		total += l;
	}
	pthread_rwlock_unlock(cnode_lock(c, n));
	closedir(dp);
	close(sfd);
	OPENSSL_cleanse(plain, CX_RECORD_MAX);
	free(plain);
	return err ? err : (int)total;
}

int cfs_removexattr(umfs_req *req, void *node, const char *name)
{
	struct cryptfs *c = CFS(req);
	struct cnode *n = node;
	uint8_t id[CF_ID_LEN];
	char stored[CX_STORED_LEN + 1];
	int err, sfd = existing_record(req, n, name, -EACCES, id, stored);

	if (sfd < 0)
		return sfd;
	pthread_rwlock_wrlock(cnode_lock(c, n));
	err = unlinkat(sfd, stored, 0) < 0 ? (errno == ENOENT ? -ENODATA : -errno) : 0;
	pthread_rwlock_unlock(cnode_lock(c, n));
	close(sfd);
	return err;
}

int cfs_xattr_check(struct cryptfs *c, const uint8_t id[CF_ID_LEN])
{
	char pname[CX_NAME_MAX + 1];
	const uint8_t *value;
	int bad = 0;
	int sfd = store_open(c, id, false);
	if (sfd < 0)
		return 0;
	int lfd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = lfd >= 0 ? fdopendir(lfd) : NULL;
	uint8_t *plain = malloc(CX_RECORD_MAX);
	static __thread uint8_t rec[CX_RECORD_MAX + 1];
	struct dirent *de;
	while (dp && plain && (de = readdir(dp))) {
		if (strlen(de->d_name) != CX_STORED_LEN)
			continue;
		int fd = openat(sfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		ssize_t len = fd >= 0 ? read(fd, rec, sizeof rec) : -1;
		if (fd >= 0)
			close(fd);
		if (len < 0 || cx_open(c->keys, id, de->d_name, rec, (size_t)len, plain, pname,
				       &value) < 0)
			bad++;
	}
	if (dp)
		closedir(dp);
	else if (lfd >= 0)
		close(lfd);
	if (plain) {
		OPENSSL_cleanse(plain, CX_RECORD_MAX);
		free(plain);
	}
	close(sfd);
	return bad;
}
