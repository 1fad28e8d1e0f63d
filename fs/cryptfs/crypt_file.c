/* SPDX-License-Identifier: MIT */
/*
 * crypt_file.c - plaintext reads, writes and truncates of one container.
 *
 * Work is done in chunks of CHUNK blocks: one pread or pwrite per chunk, with
 * per-thread buffers (a cipher context, the sealed chunk, one plaintext block) made
 * once per thread, so the I/O path allocates nothing.
 *
 * Order of writes, for a writer killed half-way: a write that extends the file
 * rewrites the old last block (no longer final) before the new blocks, and the new
 * last block comes last. Until the whole write is done the file has no correctly
 * placed final block, which cf_file_check() and reads report; never a shorter file
 * that authenticates.
 */
#include "crypt_file.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define CHUNK 64 /* blocks per pread/pwrite: 256 KiB of plaintext */

struct tls {
	struct cf_ctx *ctx;
	uint8_t sealed[CHUNK * CF_SEALED_MAX];
	uint8_t plain[CF_BLOCK];
	uint8_t nonces[CHUNK * CF_NONCE];
	/* The last file key this thread derived (HMAC costs as much as sealing a
	 * block; consecutive requests are mostly for one file). */
	bool kc_valid;
	uint8_t kc_vault[CF_ID_LEN], kc_id[CF_ID_LEN], kc_key[CF_KEY_LEN];
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p)
{
	struct tls *t = p;
	cf_ctx_free(t->ctx);
	OPENSSL_cleanse(t, sizeof *t);
	free(t);
}

static void tls_init(void)
{
	pthread_key_create(&tls_key, tls_free);
}

static struct tls *tls_get(void)
{
	pthread_once(&tls_once, tls_init);
	struct tls *t = pthread_getspecific(tls_key);
	if (t)
		return t;
	t = malloc(sizeof *t);
	if (!t)
		return NULL;
	t->kc_valid = false;
	t->ctx = cf_ctx_new();
	if (!t->ctx || pthread_setspecific(tls_key, t) != 0) {
		cf_ctx_free(t->ctx);
		free(t);
		return NULL;
	}
	return t;
}

static int pread_all(int fd, void *buf, size_t size, uint64_t off)
{
	size_t done = 0;
	while (done < size) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, size - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int)done;
}

static int pwrite_all(int fd, const void *buf, size_t size, uint64_t off)
{
	size_t done = 0;
	while (done < size) {
		ssize_t n = pwrite(fd, (const uint8_t *)buf + done, size - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

static int set_sizes(struct cf_file *f, uint64_t csize)
{
	f->csize = csize;
	f->well_formed = cf_plain_size(csize, &f->size);
	return 0;
}

int cf_file_load(const struct cf_keys *k, int fd, struct cf_file *f)
{
	uint8_t hdr[CF_HEADER_LEN];
	struct stat st;
	int n;

	f->fd = fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	n = pread_all(fd, hdr, sizeof hdr, 0);
	if (n < 0)
		return n;
	if (cf_header_decode(hdr, (size_t)n, &f->h) < 0 ||
	    CRYPTO_memcmp(f->h.key_id, k->key_id, CF_ID_LEN) != 0)
		return -EBADMSG;
	struct tls *t = tls_get();
	if (t && t->kc_valid && memcmp(t->kc_id, f->h.file_id, CF_ID_LEN) == 0 &&
	    memcmp(t->kc_vault, k->key_id, CF_ID_LEN) == 0) {
		memcpy(f->key, t->kc_key, CF_KEY_LEN);
	} else {
		if (cf_file_key(k->content, f->h.file_id, f->key))
			return -EIO;
		if (t) {
			memcpy(t->kc_vault, k->key_id, CF_ID_LEN);
			memcpy(t->kc_id, f->h.file_id, CF_ID_LEN);
			memcpy(t->kc_key, f->key, CF_KEY_LEN);
			t->kc_valid = true;
		}
	}
	return set_sizes(f, (uint64_t)st.st_size);
}

void cf_file_done(struct cf_file *f)
{
	OPENSSL_cleanse(f->key, sizeof f->key);
}

/* Length of block i's plaintext in a file of `size` bytes. */
static size_t block_len(uint64_t size, uint64_t i)
{
	uint64_t nb = cf_blocks_of(size);
	return i + 1 < nb ? CF_BLOCK : (size_t)(size - (nb - 1) * CF_BLOCK);
}

/* Make fd an empty container with file id `id`, or a fresh one (NULL). */
static int init_with(const struct cf_keys *k, int fd, const uint8_t *id, struct cf_file *f)
{
	struct tls *t = tls_get();
	uint8_t buf[CF_HEADER_LEN + CF_OVERHEAD], nonce[CF_NONCE];
	int err;

	if (!t)
		return -ENOMEM;
	f->fd = fd;
	memcpy(f->h.key_id, k->key_id, CF_ID_LEN);
	if (id)
		memcpy(f->h.file_id, id, CF_ID_LEN);
	if ((!id && cf_random(f->h.file_id, CF_ID_LEN)) || cf_random(nonce, sizeof nonce) ||
	    cf_file_key(k->content, f->h.file_id, f->key))
		return -EIO;
	cf_header_encode(&f->h, buf);
	err = cf_seal(t->ctx, f->key, f->h.file_id, 0, true, nonce, NULL, 0, buf + CF_HEADER_LEN);
	if (err)
		return err;
	if (ftruncate(fd, 0) < 0)
		return -errno;
	err = pwrite_all(fd, buf, sizeof buf, 0);
	if (err)
		return err;
	return set_sizes(f, sizeof buf);
}

int cf_file_init(const struct cf_keys *k, int fd, struct cf_file *f)
{
	return init_with(k, fd, NULL, f);
}

int cf_file_empty(const struct cf_keys *k, int fd, struct cf_file *f)
{
	uint8_t buf[CF_HEADER_LEN];
	struct cf_header h;
	ssize_t n = pread(fd, buf, sizeof buf, 0);
	bool ours = n == (ssize_t)sizeof buf && cf_header_decode(buf, sizeof buf, &h) == 0 &&
		    memcmp(h.key_id, k->key_id, CF_ID_LEN) == 0;
	return init_with(k, fd, ours ? h.file_id : NULL, f);
}

/* Decrypt block i of f (as it is now) into out; returns its length or -EIO. */
static int open_block(struct tls *t, struct cf_file *f, uint64_t i, uint8_t *out, uint64_t *bad)
{
	uint8_t sealed[CF_SEALED_MAX];
	size_t len = block_len(f->size, i) + CF_OVERHEAD;
	int n = pread_all(f->fd, sealed, len, cf_block_offset(i));
	if (n < 0)
		return n;
	bool final = i + 1 == cf_blocks_of(f->size);
	if ((size_t)n != len ||
	    cf_open(t->ctx, f->key, f->h.file_id, i, final, sealed, len, out) < 0) {
		*bad = i;
		return -EIO;
	}
	return (int)(len - CF_OVERHEAD);
}

ssize_t cf_file_read(struct cf_file *f, void *buf, size_t size, uint64_t off, uint64_t *bad)
{
	struct tls *t = tls_get();
	uint8_t *out = buf;
	uint64_t end, first, last, nb = cf_blocks_of(f->size);
	size_t done = 0;

	if (!t)
		return -ENOMEM;
	if (off >= f->size || size == 0) {
		/* Even at the end, an empty file's one block must be there and sound: a
		 * container cut down to its header does not read as an empty file. */
		if (f->size == 0 && (!f->well_formed || off == 0)) {
			int n = open_block(t, f, 0, t->plain, bad);
			return n < 0 ? n : 0;
		}
		return 0;
	}
	end = off + size < f->size ? off + size : f->size;
	first = off / CF_BLOCK;
	last = (end - 1) / CF_BLOCK;
	for (uint64_t c = first; c <= last; c += CHUNK) {
		uint64_t cl = c + CHUNK - 1 < last ? c + CHUNK - 1 : last;
		size_t span = (size_t)((cl - c) * CF_SEALED_MAX) + block_len(f->size, cl) + CF_OVERHEAD;
		int n = pread_all(f->fd, t->sealed, span, cf_block_offset(c));
		if (n < 0)
			return n;
		for (uint64_t i = c; i <= cl; i++) {
			size_t blen = block_len(f->size, i), pos = (size_t)((i - c) * CF_SEALED_MAX);
			uint64_t bstart = i * CF_BLOCK;
			uint64_t from = off > bstart ? off - bstart : 0;
			uint64_t to = end - bstart < blen ? end - bstart : blen;
			bool whole = from == 0 && to == blen;
			uint8_t *dst = whole ? out + done : t->plain;
			if ((size_t)n < pos + blen + CF_OVERHEAD ||
			    cf_open(t->ctx, f->key, f->h.file_id, i, i + 1 == nb, t->sealed + pos,
				    blen + CF_OVERHEAD, dst) < 0) {
				*bad = i;
				return -EIO;
			}
			if (!whole)
				memcpy(out + done, t->plain + from, (size_t)(to - from));
			done += (size_t)(to - from);
		}
	}
	return (ssize_t)done;
}

/*
 * Rewrite blocks [first, last] of a file that will hold new_size bytes: each block's
 * plaintext is its old content (blocks below old_size; edges only are read) with
 * data[dlen] at doff laid over it, zeros elsewhere. Then f describes the new size.
 */
static int rewrite(struct tls *t, struct cf_file *f, uint64_t first, uint64_t last,
		   uint64_t new_size, const uint8_t *data, uint64_t doff, size_t dlen, uint64_t *bad)
{
	uint64_t old_size = f->size, nb_new = cf_blocks_of(new_size);
	int err;

	for (uint64_t c = first; c <= last; c += CHUNK) {
		uint64_t cl = c + CHUNK - 1 < last ? c + CHUNK - 1 : last;
		size_t pos = 0;
		if (cf_random(t->nonces, (size_t)(cl - c + 1) * CF_NONCE))
			return -EIO;
		for (uint64_t i = c; i <= cl; i++) {
			uint64_t bstart = i * CF_BLOCK;
			size_t blen = block_len(new_size, i);
			/* Part of this block the new data covers: [from, to). */
			uint64_t from = doff > bstart ? doff - bstart : 0;
			uint64_t to = doff + dlen > bstart ? doff + dlen - bstart : 0;
			if (to > blen)
				to = blen;
			if (from > to)
				from = to;
			bool covered = from == 0 && to == blen;
			const uint8_t *src = t->plain;
			if (covered) {
				/* Whole block from the caller: sealed straight from there. */
				src = data + (bstart - doff);
			} else {
				memset(t->plain, 0, blen);
			}
			if (!covered && bstart < old_size) {
				int n = open_block(t, f, i, t->plain, bad);
				if (n < 0)
					return n;
				if ((size_t)n > blen)
					n = (int)blen; /* a truncate cutting this block */
				memset(t->plain + n, 0, blen - (size_t)n);
			}
			if (to > from && !covered)
				memcpy(t->plain + from, data + (bstart + from - doff), (size_t)(to - from));
			err = cf_seal(t->ctx, f->key, f->h.file_id, i, i + 1 == nb_new,
				      t->nonces + (i - c) * CF_NONCE, src, blen, t->sealed + pos);
			if (err)
				return err;
			pos += blen + CF_OVERHEAD;
		}
		err = pwrite_all(f->fd, t->sealed, pos, cf_block_offset(c));
		if (err)
			return err;
	}
	OPENSSL_cleanse(t->plain, sizeof t->plain);
	/* A shrink (cf_file_truncate) cuts the container after this. */
	return set_sizes(f, cf_container_size(new_size > old_size ? new_size : old_size));
}

ssize_t cf_file_write(struct cf_file *f, const void *buf, size_t size, uint64_t off,
		      uint64_t *bad)
{
	struct tls *t = tls_get();
	uint64_t old = f->size, end = off + size, first, last;
	int err;

	if (!t)
		return -ENOMEM;
	if (size == 0)
		return 0;
	if (end < off)
		return -EFBIG;
	first = off / CF_BLOCK;
	last = (end - 1) / CF_BLOCK;
	if (end > old) {
		/* The old last block loses its final mark (and is filled up with zeros),
		 * and a gap in between becomes sealed zero blocks. */
		uint64_t old_last = cf_blocks_of(old) - 1;
		if (old_last < first)
			first = old_last;
	}
	err = rewrite(t, f, first, last, end > old ? end : old, buf, off, size, bad);
	return err < 0 ? err : (ssize_t)size;
}

int cf_file_truncate(struct cf_file *f, uint64_t size, uint64_t *bad)
{
	struct tls *t = tls_get();
	uint64_t old = f->size;
	int err;

	if (!t)
		return -ENOMEM;
	if (size == old && f->well_formed)
		return 0;
	if (size > old) {
		uint64_t old_last = cf_blocks_of(old) - 1;
		return rewrite(t, f, old_last, cf_blocks_of(size) - 1, size, NULL, 0, 0, bad);
	}
	/* Shrink: reseal the new last block as final, then cut what follows. */
	uint64_t last = cf_blocks_of(size) - 1;
	err = rewrite(t, f, last, last, size, NULL, 0, 0, bad);
	if (err)
		return err;
	if (ftruncate(f->fd, (off_t)cf_container_size(size)) < 0)
		return -errno;
	return set_sizes(f, cf_container_size(size));
}

int cf_file_check(const struct cf_keys *k, int fd,
		  void (*report)(void *arg, uint64_t block, const char *what), void *arg)
{
	struct tls *t = tls_get();
	struct cf_file f;
	int err, problems = 0;

	if (!t)
		return -ENOMEM;
	err = cf_file_load(k, fd, &f);
	if (err == -EBADMSG) {
		report(arg, UINT64_MAX, "not a container of this vault (header)");
		return 1;
	}
	if (err)
		return err;
	if (!f.well_formed) {
		report(arg, UINT64_MAX, "size is not that of a whole container (torn last block)");
		problems++;
	}
	uint64_t nb = cf_blocks_of(f.size);
	for (uint64_t i = 0; i < nb; i++) {
		uint64_t bad = 0;
		if (open_block(t, &f, i, t->plain, &bad) < 0) {
			report(arg, i, i + 1 == nb ? "does not authenticate (as the last block)"
						   : "does not authenticate");
			problems++;
		}
	}
	OPENSSL_cleanse(t->plain, sizeof t->plain);
	cf_file_done(&f);
	return problems;
}
