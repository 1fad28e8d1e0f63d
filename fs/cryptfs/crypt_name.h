/* SPDX-License-Identifier: MIT */
/*
 * crypt_name.h - file names and symlink targets, encrypted deterministically per
 * directory (doc/cryptfs-format.md, "Names").
 *
 * A directory has a random 16-byte id (stored in its DIRID_NAME file). A name n in
 * it is stored as base64url(iv | AES-256-CTR(name_enc, iv, n)) with
 * iv = HMAC-SHA256(name_mac, dir id | n)[0..16): the same name in the same directory
 * always gives the same stored name (so lookups need no listing), the same name in
 * two directories gives two unrelated ones, and a stored name that was not made with
 * this vault's keys for this directory is rejected (the iv is checked on decryption:
 * a synthetic-IV construction).
 *
 * Names whose stored form would be longer than CN_SHORT_MAX are stored as
 * "~" + base64url(HMAC(name_mac, "long" | dir id | n)) and the full stored form is
 * kept in a sidecar file of that name + ".name". Neither '~' nor '.' is in the
 * base64url alphabet, so the hashed names, the sidecars and DIRID_NAME never collide
 * with a short stored name.
 */
#ifndef UMFS_CRYPT_NAME_H
#define UMFS_CRYPT_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypt_keys.h"

#define DIRID_NAME ".cryptfs-dirid"
#define CN_SHORT_MAX 255      /* longest stored name the vault's file system takes */
#define CN_PLAIN_MAX 255      /* longest plaintext name */
#define CN_ENC_MAX 400        /* longest stored form (a long name's sidecar content) */
#define CN_SIDECAR_SUFFIX ".name"

/*
 * The stored form of name in directory dirid, into enc (CN_ENC_MAX + 1 bytes). If it
 * fits CN_SHORT_MAX, *hashed is false and enc is the on-disk name. Otherwise *hashed
 * is true, disk (CN_SHORT_MAX + 1 bytes) gets the hashed on-disk name and enc is the
 * sidecar's content. Returns 0, -ENAMETOOLONG, or -EIO.
 */
int cn_encrypt(const struct cf_keys *k, const uint8_t dirid[CF_ID_LEN], const char *name,
	       char *enc, char *disk, bool *hashed);
/* The name of a stored form (NUL-terminated, into out[CN_PLAIN_MAX + 1]).
 * Returns the length or -EBADMSG (not a name of this directory under these keys). */
int cn_decrypt(const struct cf_keys *k, const uint8_t dirid[CF_ID_LEN], const char *enc,
	       char *out);
/* True when an on-disk name is a hashed long name (not its sidecar). */
bool cn_is_hashed(const char *disk);

/* Symlink targets, the same way with the directory's id (at most 3000 bytes, so the
 * stored form fits a symlink of any file system). out: 4096 bytes. */
#define CN_LINK_MAX 3000
int cn_link_encrypt(const struct cf_keys *k, const uint8_t dirid[CF_ID_LEN],
		    const char *target, char *out);
/* Returns the target's length (NUL-terminated in out, 4096 bytes) or -EBADMSG. */
int cn_link_decrypt(const struct cf_keys *k, const uint8_t dirid[CF_ID_LEN], const char *enc,
		    char *out);

/* Longer targets (up to PATH_MAX - 1): the same with domain "long-link" and the
 * random id of the record that holds them (cfs_ns.c) as context. out: CN_LONG_LINK_ENC
 * bytes. The stored form of a long target is too long for a symlink, which holds
 * "~" + the record's id in hex instead (33 bytes, a length no base64url form has). */
#define CN_LONG_LINK_MAX 4095
#define CN_LONG_LINK_ENC 5500
int cn_long_link_encrypt(const struct cf_keys *k, const uint8_t id[CF_ID_LEN], const char *target,
			 char *out);
/* Returns the length (NUL-terminated in out, CN_LONG_LINK_MAX + 1 bytes) or -EBADMSG. */
int cn_long_link_decrypt(const struct cf_keys *k, const uint8_t id[CF_ID_LEN], const char *enc,
			 char *out);

/* HMAC-SHA256(name_mac, domain | id | s[0..len)): the synthetic IVs and hashed names,
 * and the stored names of extended attributes (crypt_xattr.h, domain "xattr"). */
int cn_mac(const struct cf_keys *k, const char *domain, const uint8_t id[CF_ID_LEN], const char *s,
	   size_t len, uint8_t out[32]);

/* base64url without padding. Encode returns the length written (plus a NUL); decode
 * returns the byte count or -EINVAL. */
size_t b64u_encode(const uint8_t *in, size_t n, char *out);
int b64u_decode(const char *in, size_t n, uint8_t *out, size_t outsize);

#endif
