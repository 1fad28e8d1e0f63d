/* SPDX-License-Identifier: MIT */
/*
 * crypt_file.h - plaintext I/O on a container held in an open file descriptor: the
 * part of cryptfs that turns reads, writes and truncates of plaintext into sealed
 * blocks (crypt_format.h). No locking here: the caller serializes writers of one
 * container (and readers against them).
 *
 * Errors: -EIO when a block does not authenticate (*bad names the block; the caller
 * logs it), -EBADMSG when the file is not a container of this vault at all (wrong
 * magic, version or key id), other -errno from the file.
 */
#ifndef UMFS_CRYPT_FILE_H
#define UMFS_CRYPT_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypt_format.h"
#include "crypt_keys.h"

struct cf_file {
	int fd;
	struct cf_header h;
	uint8_t key[CF_KEY_LEN]; /* the file's own key */
	uint64_t csize;          /* container size */
	uint64_t size;           /* plaintext size */
	bool well_formed;        /* csize is the size of some container */
};

/* Read the header and size of the container in fd. */
int cf_file_load(const struct cf_keys *k, int fd, struct cf_file *f);
/* Make fd an empty container with a fresh file id (whatever it held before). */
int cf_file_init(const struct cf_keys *k, int fd, struct cf_file *f);
/* Empty the container in fd, keeping its file id when its header is one of this
 * vault (the file's extended attributes are bound to that id), else a fresh one. */
int cf_file_empty(const struct cf_keys *k, int fd, struct cf_file *f);
/* Wipe the file key. */
void cf_file_done(struct cf_file *f);

/* Read up to size plaintext bytes at off. Returns the count (0 at the end). */
ssize_t cf_file_read(struct cf_file *f, void *buf, size_t size, uint64_t off, uint64_t *bad);
/* Write size bytes at off (a gap after the end is filled with sealed zero blocks).
 * Returns size or a negative errno; f->size/csize follow. */
ssize_t cf_file_write(struct cf_file *f, const void *buf, size_t size, uint64_t off,
		      uint64_t *bad);
/* Set the plaintext size. */
int cf_file_truncate(struct cf_file *f, uint64_t size, uint64_t *bad);

/*
 * Check every block of the container in fd. report(arg, block, what) is called for
 * each problem (block is UINT64_MAX for the header or the file as a whole). Returns
 * the count of problems (0: the file is a sound container of this vault) or a
 * negative errno when the file cannot be read.
 */
int cf_file_check(const struct cf_keys *k, int fd,
		  void (*report)(void *arg, uint64_t block, const char *what), void *arg);

#endif
