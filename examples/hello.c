/* SPDX-License-Identifier: MIT */
/*
 * hello.c - the smallest complete file system on the umfs native API: a read-only
 * root directory holding one file, "hello", whose content is a greeting.
 *
 *   build/examples/hello /mnt/hello          (Ctrl-C or `umfs unmount /mnt/hello` to stop)
 *   cat /mnt/hello/hello
 *
 * Nodes are whatever the file system wants: here, pointers to two static structs.
 * Every callback returns 0 or a negative errno (or a byte count where it reads).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <umfs/umfs.h>

struct node {
	const char *name;
	mode_t mode;
	ino_t ino;
};

static const char greeting[] = "Hello from umfs!\n";
static struct node root = { "/", S_IFDIR | 0555, 1 };
static struct node file = { "hello", S_IFREG | 0444, 2 };

static void fill_attr(const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
	st->st_size = S_ISDIR(n->mode) ? 0 : (off_t)strlen(greeting);
	st->st_blksize = 4096;
}

/* Find a name in a directory; the library counts the reference it hands the kernel. */
static int hello_lookup(umfs_req *req, void *dir, const char *name, struct umfs_entry *out)
{
	if (dir != &root || strcmp(name, file.name) != 0)
		return -ENOENT;
	out->node = &file;
	fill_attr(&file, &out->attr);
	return 0;
}

static int hello_getattr(umfs_req *req, void *node, void *fh, struct umfs_attr *out)
{
	fill_attr(node, &out->st);
	return 0;
}

/* Read-only: refuse any open for writing. */
static int hello_open(umfs_req *req, void *node, int flags, struct umfs_open *out)
{
	if ((flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	out->keep_cache = 1; /* the content never changes */
	return 0;
}

/* Return the number of bytes read; 0 at the end of the file. */
static int hello_read(umfs_req *req, void *node, void *fh, void *buf, size_t size, off_t off)
{
	size_t len = strlen(greeting);

	if (node != &file)
		return -EISDIR;
	if ((size_t)off >= len)
		return 0;
	if (size > len - (size_t)off)
		size = len - (size_t)off;
	memcpy(buf, greeting + off, size);
	return (int)size;
}

/* Entries are numbered 1, 2, 3: off is the number of the last one already listed. */
static int hello_readdir(umfs_req *req, void *node, void *fh, off_t off, umfs_dirbuf *buf)
{
	struct stat st;
	const struct node *entries[] = { &root, &root, &file };
	const char *names[] = { ".", "..", file.name };

	for (off_t i = off; i < 3; i++) {
		fill_attr(entries[i], &st);
		/* "." and ".." carry no node; the file does (counted for readdirplus). */
		if (umfs_dir_add(buf, names[i], &st, i == 2 ? (void *)&file : NULL, i + 1))
			break; /* the reply buffer is full; the kernel asks again from here */
	}
	return 0;
}

static const struct umfs_operations hello_ops = {
	.version = UMFS_API_VERSION,
	.size = sizeof(struct umfs_operations),
	.lookup = hello_lookup,
	.getattr = hello_getattr,
	.open = hello_open,
	.read = hello_read,
	.readdir = hello_readdir,
};

int main(int argc, char **argv)
{
	struct umfs_config cfg;
	umfs_session *s;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s MOUNTPOINT\n", argv[0]);
		return 2;
	}
	umfs_config_init(&cfg);
	cfg.mount_options = "ro,default_permissions,fsname=hello,subtype=hello";
	s = umfs_session_new(&hello_ops, sizeof(hello_ops), NULL, &root, &cfg);
	if (!s)
		return 1;
	rc = umfs_mount(s, argv[1]);
	if (rc == 0)
		rc = umfs_session_loop(s); /* serves until unmounted or interrupted */
	umfs_session_destroy(s);
	return rc == 0 ? 0 : 1;
}
