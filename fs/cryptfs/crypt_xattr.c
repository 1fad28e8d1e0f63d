/* SPDX-License-Identifier: MIT */
/*
 * crypt_xattr.c - stored names and sealed records of extended attributes
 * (crypt_xattr.h). One EVP context per call: attributes are rare next to file data,
 * and this keeps the code free of per-thread state.
 */
#include "crypt_xattr.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypt_name.h"

#define AD_LABEL "umfs-cryptfs xattr 1"

int cx_stored_name(const struct cf_keys *k, const uint8_t id[CF_ID_LEN], const char *name,
		   char *out)
{
	uint8_t h[32];
	size_t len = strlen(name);

	if (len == 0 || len > CX_NAME_MAX)
		return -ERANGE;
	if (cn_mac(k, "xattr", id, name, len, h))
		return -EIO;
	b64u_encode(h, sizeof h, out);
	return 0;
}

/* Associated data: label | id | stored name. */
static int add_ad(EVP_CIPHER_CTX *c, const uint8_t id[CF_ID_LEN], const char *stored, bool enc)
{
	int n;
	int (*upd)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int) =
		enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;
	return upd(c, NULL, &n, (const uint8_t *)AD_LABEL, (int)strlen(AD_LABEL)) == 1 &&
	       upd(c, NULL, &n, id, CF_ID_LEN) == 1 &&
	       upd(c, NULL, &n, (const uint8_t *)stored, (int)strlen(stored)) == 1;
}

ssize_t cx_seal(const struct cf_keys *k, const uint8_t id[CF_ID_LEN], const char *stored,
		const char *name, const void *value, size_t vlen, uint8_t *out)
{
	size_t nlen = strlen(name);
	uint8_t head[1 + CX_NAME_MAX];
	int n1 = 0, n2 = 0, n3 = 0;

	if (nlen == 0 || nlen > CX_NAME_MAX || vlen > CX_VALUE_MAX)
		return -EIO;
	head[0] = (uint8_t)nlen;
	memcpy(head + 1, name, nlen);
	if (cf_random(out, CF_NONCE))
		return -EIO;
	uint8_t *ct = out + CF_NONCE;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	bool ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->xattr, out) == 1 &&
		  add_ad(c, id, stored, true) &&
		  EVP_EncryptUpdate(c, ct, &n1, head, (int)(1 + nlen)) == 1 &&
		  (vlen == 0 || EVP_EncryptUpdate(c, ct + n1, &n2, value, (int)vlen) == 1) &&
		  EVP_EncryptFinal_ex(c, ct + n1 + n2, &n3) == 1 &&
		  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CF_TAG, ct + 1 + nlen + vlen) == 1;
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(head, sizeof head);
	return ok ? (ssize_t)(CX_OVERHEAD + nlen + vlen) : -EIO;
}

ssize_t cx_open(const struct cf_keys *k, const uint8_t id[CF_ID_LEN], const char *stored,
		const uint8_t *rec, size_t rlen, uint8_t *plain, char *name_out,
		const uint8_t **value)
{
	int n1 = 0, n2 = 0;

	if (rlen < CX_OVERHEAD + 1 || rlen > CX_RECORD_MAX)
		return -EBADMSG;
	size_t clen = rlen - CF_NONCE - CF_TAG;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c)
		return -EIO;
	bool ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->xattr, rec) == 1 &&
		  add_ad(c, id, stored, false) &&
		  EVP_DecryptUpdate(c, plain, &n1, rec + CF_NONCE, (int)clen) == 1 &&
		  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CF_TAG,
				      (void *)(rec + CF_NONCE + clen)) == 1 &&
		  EVP_DecryptFinal_ex(c, plain + n1, &n2) == 1;
	EVP_CIPHER_CTX_free(c);
	size_t nlen = ok ? plain[0] : 0;
	if (!ok || nlen == 0 || 1 + nlen > clen || memchr(plain + 1, '\0', nlen)) {
		OPENSSL_cleanse(plain, clen);
		return -EBADMSG;
	}
	memcpy(name_out, plain + 1, nlen);
	name_out[nlen] = '\0';
	*value = plain + 1 + nlen;
	return (ssize_t)(clen - 1 - nlen);
}
