/* SPDX-License-Identifier: MIT */
/*
 * cryptfs.c - the cryptfs object, INIT negotiation, the callback table, and the
 * vault-level helpers `umfs crypt` uses (init of the tree, fsck).
 *
 * Where things are:
 *   cfs_int.h     nodes, views, handles, locks (read this first)
 *   cfs_node.c    node table (dev, ino, view) -> node; container locks; directory ids
 *   cfs_policy.c  which view a caller gets
 *   cfs_ns.c      lookup, create-like calls, unlink/rmdir/rename, symlinks
 *   cfs_file.c    open/create/read/write/flush/release, attributes
 *   cfs_dir.c     listings
 *   crypt_*.c     the format itself (no file system code)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cfs_int.h"

static int copy_policy(struct cryptfs *c, const struct cryptfs_options *o)
{
	if (!o)
		return 0;
	c->pol = *o;
	c->exes = calloc(o->n_exes + 1, sizeof *c->exes);
	c->uids = calloc(o->n_uids + 1, sizeof *c->uids);
	c->cgroups = calloc(o->n_cgroups + 1, sizeof *c->cgroups);
	if (!c->exes || !c->uids || !c->cgroups)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_exes; i++) {
		c->exes[i] = o->exes[i];
		c->exes[i].path = NULL;
	}
	memcpy(c->uids, o->uids, o->n_uids * sizeof *c->uids);
	for (size_t i = 0; i < o->n_cgroups; i++)
		if (!(c->cgroups[i] = strdup(o->cgroups[i])))
			return -ENOMEM;
	c->pol.exes = c->exes;
	c->pol.uids = c->uids;
	c->pol.cgroups = (const char *const *)c->cgroups;
	return 0;
}

struct cryptfs *cryptfs_new(const char *vault, struct cf_keys *k, const struct cryptfs_options *o)
{
	struct cryptfs *c = calloc(1, sizeof *c);
	struct stat st;
	int err, tfd = -1;

	if (!c) {
		cf_keys_free(k);
		errno = ENOMEM;
		return NULL;
	}
	c->keys = k;
	c->vault_fd = -1;
	cfs_vcache_init(c);
	err = copy_policy(c, o);
	if (!err)
		err = ctab_init(c);
	if (!err) {
		c->vault_fd = open(vault, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (c->vault_fd < 0)
			err = -errno;
	}
	if (!err) {
		tfd = openat(c->vault_fd, CF_TREE_NAME, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (tfd < 0 || fstat(tfd, &st) < 0)
			err = -errno;
	}
	if (!err) {
		err = cnode_get(c, tfd, &st, VIEW_SHARED, "/", &c->root);
		tfd = -1;
	}
	if (!err && !c->root->has_dirid)
		err = -EIO;
	if (!err)
		c->xattrs_used = faccessat(c->vault_fd, "xattr", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	if (!err)
		c->links_used = faccessat(c->vault_fd, "links", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	if (err) {
		if (tfd >= 0)
			close(tfd);
		cryptfs_free(c);
		errno = -err;
		return NULL;
	}
	umask(0); /* modes arrive with the caller's umask applied */
	return c;
}

void cryptfs_free(struct cryptfs *c)
{
	if (!c)
		return;
	ctab_free(c);
	cfs_vcache_free(c);
	if (c->vault_fd >= 0)
		close(c->vault_fd);
	if (c->cgroups)
		for (size_t i = 0; i < c->pol.n_cgroups; i++)
			free(c->cgroups[i]);
	free(c->cgroups);
	free(c->exes);
	free(c->uids);
	cf_keys_free(c->keys);
	free(c);
}

void *cryptfs_root(struct cryptfs *c)
{
	return c->root;
}

static void cfs_init(void *fs, struct umfs_conn *conn)
{
	/* Memory locks are not inherited across fork(2), and `umfs mount` forks into
	 * the background after unlocking the keys: lock them again in the process
	 * that serves (a no-op when it did not fork). */
	if (sodium_mlock(((struct cryptfs *)fs)->keys, sizeof(struct cf_keys)) != 0)
		umfs_log(UMFS_LOG_WARNING, "cryptfs: cannot lock the keys in memory (RLIMIT_MEMLOCK?)");
	/* The kernel must not own sizes or gather writes (the writeback cache): every
	 * write is sealed when it happens. Readdirplus would hand out file nodes
	 * without asking whose view they are. */
	/* Setuid and setgid are cleared here, by Linux's rules (cfs_file.c): the kernel
	 * says when (KILLPRIV_V2), the vault is written as cryptfs itself. */
	umfs_conn_want(conn, UMFS_CAP_HANDLE_KILLPRIV_V2);
	umfs_conn_unwant(conn, UMFS_CAP_WRITEBACK_CACHE | UMFS_CAP_READDIRPLUS |
				       UMFS_CAP_READDIRPLUS_AUTO);
	/* With file attributes never cached (cfs_int.h, "Views"), auto_inval_data would
	 * send a GETATTR before every read(2) (measured: 1 MiB reads about a third
	 * slower). Each open starts with an empty page cache (no keep_cache), writes
	 * through either handle of a view go through its one page cache, and a change
	 * of size still drops the pages: what is lost is only a same-size change made
	 * through the other view while a reader keeps the file open (doc/cryptfs-format.md). */
	umfs_conn_unwant(conn, UMFS_CAP_AUTO_INVAL_DATA);
	umfs_log(UMFS_LOG_INFO, "cryptfs: %zu allowed programs, %zu uids, %zu cgroups%s",
		 ((struct cryptfs *)fs)->pol.n_exes, ((struct cryptfs *)fs)->pol.n_uids,
		 ((struct cryptfs *)fs)->pol.n_cgroups,
		 ((struct cryptfs *)fs)->pol.refuse_foreign_writes ? "; foreign writes refused" : "");
}

const struct umfs_operations cryptfs_operations = {
	.version = UMFS_API_VERSION,
	.size = sizeof(struct umfs_operations),
	.init = cfs_init,
	.lookup = cfs_lookup,
	.forget = cfs_forget,
	.getattr = cfs_getattr,
	.setattr = cfs_setattr,
	.readlink = cfs_readlink,
	.mknod = cfs_mknod,
	.mkdir = cfs_mkdir,
	.symlink = cfs_symlink,
	.link = cfs_link,
	.unlink = cfs_unlink,
	.rmdir = cfs_rmdir,
	.rename = cfs_rename,
	.open = cfs_open,
	.create = cfs_create,
	.tmpfile = cfs_tmpfile,
	.read = cfs_read,
	.write = cfs_write,
	.flush = cfs_flush,
	.release = cfs_release,
	.fsync = cfs_fsync,
	.opendir = cfs_opendir,
	.readdir = cfs_readdir,
	.releasedir = cfs_releasedir,
	.statfs = cfs_statfs,
	.setxattr = cfs_setxattr,
	.getxattr = cfs_getxattr,
	.listxattr = cfs_listxattr,
	.removexattr = cfs_removexattr,
	.fallocate = cfs_fallocate,
};

int cryptfs_init_tree(const char *vault)
{
	uint8_t id[CF_ID_LEN];
	int vfd = open(vault, O_PATH | O_DIRECTORY | O_CLOEXEC), err = 0;
	if (vfd < 0)
		return -errno;
	if (mkdirat(vfd, CF_TREE_NAME, 0700) < 0) {
		err = -errno;
		close(vfd);
		return err;
	}
	int tfd = openat(vfd, CF_TREE_NAME, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	err = tfd < 0 ? -errno : dirid_create(tfd, id);
	if (tfd >= 0)
		close(tfd);
	close(vfd);
	return err;
}

/* ---------------------------------------------------------------- fsck */

struct fsck {
	struct cryptfs c; /* only keys and vault_fd are used */
	FILE *out;
	int problems;
	char vpath[8192]; /* in the vault */
	char ppath[8192]; /* in the mount */
	uint64_t block_base;
};

static void say(struct fsck *f, const char *what)
{
	fprintf(f->out, "%s (%s): %s\n", f->vpath, f->ppath[0] ? f->ppath : "/", what);
	f->problems++;
}

static void block_report(void *arg, uint64_t block, const char *what)
{
	struct fsck *f = arg;
	char msg[256];
	if (block == UINT64_MAX)
		snprintf(msg, sizeof msg, "%s", what);
	else
		snprintf(msg, sizeof msg, "block %llu %s", (unsigned long long)block, what);
	say(f, msg);
}

static void check_dir(struct fsck *f, int dfd, int depth)
{
	uint8_t id[CF_ID_LEN];
	char name[CN_PLAIN_MAX + 1];

	if (dirid_read(dfd, id) < 0) {
		say(f, "directory has no " DIRID_NAME " (its names cannot be read)");
		return;
	}
	if (depth > 256) {
		say(f, "directories nested too deep");
		return;
	}
	for (int n = cfs_xattr_check(&f->c, id); n > 0; n--)
		say(f, "extended attribute does not authenticate");
	int lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = lfd >= 0 ? fdopendir(lfd) : NULL;
	if (!dp) {
		if (lfd >= 0)
			close(lfd);
		say(f, "cannot list the directory");
		return;
	}
	size_t vlen = strlen(f->vpath), plen = strlen(f->ppath);
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, DIRID_NAME))
			continue;
		snprintf(f->vpath + vlen, sizeof f->vpath - vlen, "/%s", de->d_name);
		int rc = cfs_plain_name(&f->c, dfd, id, de->d_name, name);
		if (rc == -ENOENT) {
			if (de->d_name[0] == '~') {
				/* A sidecar: its hashed name must exist. */
				char main_name[CN_SHORT_MAX + 1];
				snprintf(main_name, sizeof main_name, "%.*s",
					 (int)(strlen(de->d_name) - strlen(CN_SIDECAR_SUFFIX)), de->d_name);
				struct stat st;
				if (fstatat(dfd, main_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
					f->ppath[plen] = '\0';
					say(f, "long-name sidecar without its file (harmless)");
				}
			} else {
				f->ppath[plen] = '\0';
				say(f, "unexpected file in the vault");
			}
			continue;
		}
		if (rc < 0) {
			f->ppath[plen] = '\0';
			say(f, "name does not authenticate in this directory (hidden in the mount)");
			snprintf(f->ppath + plen, sizeof f->ppath - plen, "/?");
		} else {
			snprintf(f->ppath + plen, sizeof f->ppath - plen, "/%s", name);
		}
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int cfd = openat(dfd, de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0) {
				check_dir(f, cfd, depth + 1);
				close(cfd);
			}
		} else if (S_ISREG(st.st_mode)) {
			int ffd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (ffd < 0) {
				say(f, "cannot open");
				continue;
			}
			if (cf_file_check(f->c.keys, ffd, block_report, f) < 0)
				say(f, "cannot read");
			uint8_t fid[CF_HEADER_LEN];
			struct cf_header h;
			if (pread(ffd, fid, sizeof fid, 0) == (ssize_t)sizeof fid &&
			    cf_header_decode(fid, sizeof fid, &h) == 0)
				for (int n = cfs_xattr_check(&f->c, h.file_id); n > 0; n--)
					say(f, "extended attribute does not authenticate");
			close(ffd);
		} else if (S_ISLNK(st.st_mode)) {
			char enc[4096], plain[CN_LONG_LINK_MAX + 1];
			static const uint8_t zero[CF_ID_LEN];
			ssize_t n = readlinkat(dfd, de->d_name, enc, sizeof enc - 1);
			enc[n > 0 ? n : 0] = '\0';
			int lrc = n <= 0 ? -EBADMSG
				 : cfs_is_long_link(enc) ? cfs_long_link_load(&f->c, enc, plain)
				 : cn_link_decrypt(f->c.keys, zero, enc, plain);
			if (lrc < 0)
				say(f, "symlink target does not authenticate");
		}
		f->ppath[plen] = '\0';
	}
	f->vpath[vlen] = '\0';
	f->ppath[plen] = '\0';
	closedir(dp);
}

int cryptfs_fsck(const char *vault, const struct cf_keys *k, void *out)
{
	struct fsck *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->c.keys = (struct cf_keys *)k;
	f->out = out;
	snprintf(f->vpath, sizeof f->vpath, "%s", CF_TREE_NAME);
	int vfd = open(vault, O_PATH | O_DIRECTORY | O_CLOEXEC);
	f->c.vault_fd = vfd; /* long symlink targets */
	int tfd = vfd < 0 ? -1 : openat(vfd, CF_TREE_NAME, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;
	if (tfd < 0) {
		rc = -errno;
	} else {
		check_dir(f, tfd, 0);
		rc = f->problems;
	}
	if (tfd >= 0)
		close(tfd);
	if (vfd >= 0)
		close(vfd);
	free(f);
	return rc;
}
