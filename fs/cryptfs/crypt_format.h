/* SPDX-License-Identifier: MIT */
/*
 * crypt_format.h - the cryptfs container format, version 1 (doc/cryptfs-format.md),
 * as pure functions: no files, no threads, no global state. Everything here is
 * unit-tested without a mount (fs/cryptfs/tests/test_crypt.c).
 *
 * A container is a header followed by one or more sealed blocks:
 *
 *   header  = magic "umfsCF" (6) | version u16 LE (=1) | key id (16) | file id (16)
 *   block i = nonce (12) | AES-256-GCM ciphertext of up to 4096 plaintext bytes | tag (16)
 *
 * Every block but the last holds exactly 4096 bytes of plaintext; the last holds
 * 0..4096 and there is always one (an empty file is a header and one empty block).
 * The associated data of block i is file id | i (u64 LE) | final (1 byte: 1 for the
 * last block, else 0): a block cannot move within a file or to another file, and
 * cutting the file short leaves a last block that was sealed as not final.
 * Each file has its own key, HMAC-SHA256(content key, "file" | file id), so random
 * 96-bit nonces are counted per file, not per vault.
 */
#ifndef UMFS_CRYPT_FORMAT_H
#define UMFS_CRYPT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CF_VERSION 1
#define CF_MAGIC "umfsCF"
#define CF_MAGIC_LEN 6
#define CF_ID_LEN 16
#define CF_HEADER_LEN (CF_MAGIC_LEN + 2 + CF_ID_LEN + CF_ID_LEN) /* 40 */
#define CF_BLOCK 4096
#define CF_NONCE 12
#define CF_TAG 16
#define CF_OVERHEAD (CF_NONCE + CF_TAG)          /* 28 */
#define CF_SEALED_MAX (CF_BLOCK + CF_OVERHEAD)   /* 4124: a full block on disk */
#define CF_KEY_LEN 32

struct cf_header {
	uint8_t key_id[CF_ID_LEN];
	uint8_t file_id[CF_ID_LEN];
};

/* Encode h into out[CF_HEADER_LEN]. */
void cf_header_encode(const struct cf_header *h, uint8_t *out);
/* Decode; -EINVAL when the magic or version is not ours (the bytes are not a
 * container of format 1). */
int cf_header_decode(const uint8_t *in, size_t len, struct cf_header *h);

/* Blocks in a container holding `size` plaintext bytes (at least one). */
uint64_t cf_blocks_of(uint64_t size);
/* Container size for a plaintext size. */
uint64_t cf_container_size(uint64_t size);
/* Plaintext size a container of `csize` bytes holds. Returns false when csize is not
 * the size of any well-formed container (then *size is what the whole blocks hold,
 * so reads find the damage where it is). */
bool cf_plain_size(uint64_t csize, uint64_t *size);
/* Offset of block i in the container. */
static inline uint64_t cf_block_offset(uint64_t i)
{
	return CF_HEADER_LEN + i * (uint64_t)CF_SEALED_MAX;
}

/* The key of one file: HMAC-SHA256(content_key, "file" | file_id). */
int cf_file_key(const uint8_t content_key[CF_KEY_LEN], const uint8_t file_id[CF_ID_LEN],
		uint8_t out[CF_KEY_LEN]);

/* A per-thread cipher context (OpenSSL's EVP_CIPHER_CTX), kept between blocks. */
struct cf_ctx;
struct cf_ctx *cf_ctx_new(void);
void cf_ctx_free(struct cf_ctx *c);

/*
 * Seal len (<= CF_BLOCK) plaintext bytes as block `index` of file `file_id`, with the
 * given nonce (CF_NONCE random bytes), into out (len + CF_OVERHEAD bytes). Returns 0
 * or -EIO (a library failure).
 */
int cf_seal(struct cf_ctx *c, const uint8_t key[CF_KEY_LEN], const uint8_t *file_id,
	    uint64_t index, bool final, const uint8_t nonce[CF_NONCE], const uint8_t *in,
	    size_t len, uint8_t *out);
/*
 * Open a sealed block of slen bytes (CF_OVERHEAD..CF_SEALED_MAX) into out
 * (slen - CF_OVERHEAD bytes). Returns the plaintext length, or -EBADMSG when it does
 * not authenticate as block `index` (final or not) of file_id, -EIO on a library
 * failure. On failure out holds no plaintext.
 */
int cf_open(struct cf_ctx *c, const uint8_t key[CF_KEY_LEN], const uint8_t *file_id,
	    uint64_t index, bool final, const uint8_t *in, size_t slen, uint8_t *out);

/* Random bytes from OpenSSL's DRBG (seeded by the kernel). Returns 0 or -EIO. */
int cf_random(void *buf, size_t len);

#endif
