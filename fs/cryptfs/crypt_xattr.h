/* SPDX-License-Identifier: MIT */
/*
 * crypt_xattr.h - extended attributes of a vault object, encrypted and bound to the
 * object's id (a file's file id, a directory's directory id): doc/cryptfs-format.md,
 * "Extended attributes". Pure functions, no files.
 *
 * An attribute `name` (the full name, "user.x") of the object with id I is stored
 * under the stored name S = base64url(HMAC-SHA256(name_mac, "xattr" | I | name))
 * (43 characters), and its record is
 *
 *     nonce (12) | AES-256-GCM(xattr key, nonce, len(name) u8 | name | value) | tag (16)
 *
 * with associated data "umfs-cryptfs xattr 1" | I | S: a record does not open under
 * another object's id or under another stored name, so records cannot be moved
 * between files, nor between names of one file.
 */
#ifndef UMFS_CRYPT_XATTR_H
#define UMFS_CRYPT_XATTR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypt_keys.h"

#define CX_STORED_LEN 43   /* base64url of 32 bytes, no padding */
#define CX_NAME_MAX 255    /* longest attribute name (Linux: XATTR_NAME_MAX) */
#define CX_VALUE_MAX 65536 /* largest value (Linux: XATTR_SIZE_MAX) */
#define CX_OVERHEAD (CF_NONCE + 1 + CF_TAG) /* record = this + name + value */
#define CX_RECORD_MAX (CX_OVERHEAD + CX_NAME_MAX + CX_VALUE_MAX)

/* The stored name of attribute name of object id, into out[CX_STORED_LEN + 1].
 * Returns 0, -ERANGE (name empty or too long) or -EIO. */
int cx_stored_name(const struct cf_keys *k, const uint8_t id[CF_ID_LEN], const char *name,
		   char *out);

/* Seal a record into out (CX_OVERHEAD + strlen(name) + vlen bytes); returns its
 * length or -EIO. */
ssize_t cx_seal(const struct cf_keys *k, const uint8_t id[CF_ID_LEN], const char *stored,
		const char *name, const void *value, size_t vlen, uint8_t *out);

/* Open a record of rlen bytes into plain (rlen bytes): on success *name points at the
 * NUL-terminated name inside name_out (CX_NAME_MAX + 1), *value at the value inside
 * plain, and the value's length is returned. -EBADMSG when it does not authenticate
 * as the record of stored name `stored` of object id; -EIO on a library failure. */
ssize_t cx_open(const struct cf_keys *k, const uint8_t id[CF_ID_LEN], const char *stored,
		const uint8_t *rec, size_t rlen, uint8_t *plain, char *name_out,
		const uint8_t **value);

#endif
