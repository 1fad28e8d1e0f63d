/* SPDX-License-Identifier: MIT */
/*
 * crypt_keys.h - the vault's keys and its config file (doc/cryptfs-format.md).
 *
 * The master key is 32 random bytes, stored only wrapped (AES-256-GCM) under a key
 * derived from the passphrase with Argon2id (libsodium). Unwrapped, it and the keys
 * derived from it live in one sodium_malloc() area: locked in memory (never swapped),
 * guarded, and wiped by cf_keys_free().
 */
#ifndef UMFS_CRYPT_KEYS_H
#define UMFS_CRYPT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "crypt_format.h"

#define CF_CONFIG_NAME "cryptfs.conf"
#define CF_TREE_NAME "tree"

struct cf_keys {
	uint8_t master[CF_KEY_LEN];
	uint8_t content[CF_KEY_LEN];  /* HMAC key of the per-file keys */
	uint8_t name_mac[CF_KEY_LEN]; /* synthetic IVs of names */
	uint8_t name_enc[CF_KEY_LEN]; /* AES-256-CTR of names */
	uint8_t xattr[CF_KEY_LEN];    /* AES-256-GCM of extended attributes */
	uint8_t key_id[CF_ID_LEN];
};

/* Argon2id cost. */
struct cf_kdf {
	unsigned long long ops;
	size_t mem;
};
/* The default: libsodium's "moderate" limits, or "interactive" with fast != 0. */
void cf_kdf_default(struct cf_kdf *k, int fast);

/* New keys from a random master key and a random key id. NULL on failure (errno). */
struct cf_keys *cf_keys_generate(void);
/* Keys from a given master key and key id (known-answer tests, config unlock). */
struct cf_keys *cf_keys_from(const uint8_t master[CF_KEY_LEN], const uint8_t key_id[CF_ID_LEN]);
/* Wipe and free. NULL is ignored. */
void cf_keys_free(struct cf_keys *k);

/*
 * Write a new config file at path (it must not exist: O_EXCL) holding k's master key
 * wrapped under pass. Returns 0 or a negative errno.
 */
int cf_config_write(const char *path, const struct cf_keys *k, const char *pass,
		    size_t passlen, const struct cf_kdf *kdf);
/*
 * Read the config file at path and unwrap its master key with pass. Returns 0 with
 * *out set, -EACCES for a wrong passphrase, -EINVAL for a damaged or unknown config
 * (a message is in err, which has at least 256 bytes), another -errno for I/O.
 */
int cf_config_unlock(const char *path, const char *pass, size_t passlen,
		     struct cf_keys **out, char *err);
/* Replace path atomically by a config with the same keys under a new passphrase. */
int cf_config_rewrap(const char *path, const struct cf_keys *k, const char *pass,
		     size_t passlen, const struct cf_kdf *kdf);

#endif
