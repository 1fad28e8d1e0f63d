/* SPDX-License-Identifier: MIT */
/* crypt_name.c - deterministic, authenticated encryption of names (crypt_name.h). */
#include "crypt_name.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#define IV_LEN 16

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64u_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int val_of(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

int b64u_decode(const char *in, size_t n, uint8_t *out, size_t outsize)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int v = val_of(in[i]);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsize)
				return -EINVAL;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* The unused low bits must be zero: one stored form per name. */
	if (acc & ((1u << bits) - 1))
		return -EINVAL;
	return (int)o;
}

/* Per-thread HMAC and AES-CTR contexts, keyed once for the vault they were last used
 * with: setting them up costs more than using them (names are short). */
struct name_tls {
	uint8_t owner[CF_ID_LEN]; /* key id of the vault the contexts are keyed for */
	bool keyed;
	EVP_MAC_CTX *mac;
	EVP_CIPHER_CTX *ctr;
};

static pthread_key_t name_key;
static pthread_once_t name_once = PTHREAD_ONCE_INIT;

static void name_tls_free(void *p)
{
	struct name_tls *t = p;
	EVP_MAC_CTX_free(t->mac);   /* both cleanse their keys */
	EVP_CIPHER_CTX_free(t->ctr);
	free(t);
}

static void name_tls_init(void)
{
	pthread_key_create(&name_key, name_tls_free);
}

static struct name_tls *name_tls(const struct cf_keys *k)
{
	pthread_once(&name_once, name_tls_init);
	struct name_tls *t = pthread_getspecific(name_key);
	if (!t) {
		EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
		t = calloc(1, sizeof *t);
		if (t) {
			t->mac = m ? EVP_MAC_CTX_new(m) : NULL;
			t->ctr = EVP_CIPHER_CTX_new();
		}
		EVP_MAC_free(m); /* the context keeps its own reference */
		if (!t || !t->mac || !t->ctr || pthread_setspecific(name_key, t) != 0) {
			if (t)
				name_tls_free(t);
			return NULL;
		}
	}
	if (!t->keyed || memcmp(t->owner, k->key_id, CF_ID_LEN) != 0) {
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
			OSSL_PARAM_construct_end(),
		};
		t->keyed = false;
		if (EVP_MAC_init(t->mac, k->name_mac, CF_KEY_LEN, params) != 1 ||
		    EVP_EncryptInit_ex(t->ctr, EVP_aes_256_ctr(), NULL, k->name_enc, NULL) != 1)
			return NULL;
		memcpy(t->owner, k->key_id, CF_ID_LEN);
		t->keyed = true;
	}
	return t;
}

/* HMAC-SHA256(name_mac, domain | dir id | s). */
static int mac(const struct cf_keys *k, const char *domain, const uint8_t *dirid, const char *s,
	       size_t len, uint8_t out[32])
{
	struct name_tls *t = name_tls(k);
	size_t olen = 0;

	if (!t)
		return -EIO;
	/* A NULL key starts over with the key already set. */
	if (EVP_MAC_init(t->mac, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(t->mac, (const uint8_t *)domain, strlen(domain)) != 1 ||
	    EVP_MAC_update(t->mac, dirid, CF_ID_LEN) != 1 ||
	    EVP_MAC_update(t->mac, (const uint8_t *)s, len) != 1 ||
	    EVP_MAC_final(t->mac, out, &olen, 32) != 1 || olen != 32)
		return -EIO;
	return 0;
}

int cn_mac(const struct cf_keys *k, const char *domain, const uint8_t id[CF_ID_LEN], const char *s,
	   size_t len, uint8_t out[32])
{
	return mac(k, domain, id, s, len, out);
}

/* AES-256-CTR(name_enc, iv) of n bytes. */
static int ctr(const struct cf_keys *k, const uint8_t iv[IV_LEN], const uint8_t *in, size_t n,
	       uint8_t *out)
{
	struct name_tls *t = name_tls(k);
	int l1 = 0, l2 = 0;

	if (!t)
		return -EIO;
	if (EVP_EncryptInit_ex(t->ctr, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(t->ctr, out, &l1, in, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(t->ctr, out + l1, &l2) != 1)
		return -EIO;
	return 0;
}

/* iv | ctr(s), base64url, into out. */
static int seal_str(const struct cf_keys *k, const char *domain, const uint8_t *dirid,
		    const char *s, size_t len, char *out)
{
	uint8_t blob[IV_LEN + 4096], full[32];
	int err = mac(k, domain, dirid, s, len, full);
	if (err)
		return err;
	memcpy(blob, full, IV_LEN);
	err = ctr(k, blob, (const uint8_t *)s, len, blob + IV_LEN);
	if (err)
		return err;
	return (int)b64u_encode(blob, IV_LEN + len, out);
}

static int open_str(const struct cf_keys *k, const char *domain, const uint8_t *dirid,
		    const char *enc, char *out, size_t outmax)
{
	uint8_t blob[IV_LEN + 4096], full[32];
	int n = b64u_decode(enc, strlen(enc), blob, sizeof blob);
	if (n < IV_LEN + 1 || (size_t)(n - IV_LEN) > outmax)
		return -EBADMSG;
	size_t len = (size_t)n - IV_LEN;
	if (ctr(k, blob, blob + IV_LEN, len, (uint8_t *)out))
		return -EIO;
	out[len] = '\0';
	if (memchr(out, '\0', len) || mac(k, domain, dirid, out, len, full) ||
	    CRYPTO_memcmp(full, blob, IV_LEN) != 0) {
		OPENSSL_cleanse(out, len);
		out[0] = '\0';
		return -EBADMSG;
	}
	return (int)len;
}

int cn_encrypt(const struct cf_keys *k, const uint8_t dirid[CF_ID_LEN], const char *name,
	       char *enc, char *disk, bool *hashed)
{
	size_t len = strlen(name);
	uint8_t h[32];
	int n, err;

	if (len == 0 || len > CN_PLAIN_MAX)
		return -ENAMETOOLONG;
	n = seal_str(k, "name", dirid, name, len, enc);
	if (n < 0)
		return n;
	*hashed = n > CN_SHORT_MAX;
	if (!*hashed)
		return 0;
	err = mac(k, "long", dirid, name, len, h);
	if (err)
		return err;
	disk[0] = '~';
	b64u_encode(h, sizeof h, disk + 1);
	return 0;
}

int cn_decrypt(const struct cf_keys *k, const uint8_t dirid[CF_ID_LEN], const char *enc,
	       char *out)
{
	return open_str(k, "name", dirid, enc, out, CN_PLAIN_MAX);
}

bool cn_is_hashed(const char *disk)
{
	return disk[0] == '~' && strlen(disk) == 44;
}

int cn_link_encrypt(const struct cf_keys *k, const uint8_t dirid[CF_ID_LEN],
		    const char *target, char *out)
{
	size_t len = strlen(target);
	if (len == 0 || len > CN_LINK_MAX)
		return -ENAMETOOLONG;
	int n = seal_str(k, "link", dirid, target, len, out);
	return n < 0 ? n : 0;
}

int cn_link_decrypt(const struct cf_keys *k, const uint8_t dirid[CF_ID_LEN], const char *enc,
		    char *out)
{
	return open_str(k, "link", dirid, enc, out, CN_LINK_MAX);
}

int cn_long_link_encrypt(const struct cf_keys *k, const uint8_t id[CF_ID_LEN], const char *target,
			 char *out)
{
	size_t len = strlen(target);
	if (len == 0 || len > CN_LONG_LINK_MAX)
		return -ENAMETOOLONG;
	int n = seal_str(k, "long-link", id, target, len, out);
	return n < 0 ? n : 0;
}

int cn_long_link_decrypt(const struct cf_keys *k, const uint8_t id[CF_ID_LEN], const char *enc,
			 char *out)
{
	return open_str(k, "long-link", id, enc, out, CN_LONG_LINK_MAX);
}
