/* SPDX-License-Identifier: MIT */
/*
 * crypt_format.c - the container format, version 1: header, sizes, block sealing.
 * The cipher is OpenSSL's AES-256-GCM (measured on the target machine at about twice
 * the speed of libsodium's XChaCha20-Poly1305 on 4 KiB blocks: doc/cryptfs-format.md).
 */
#include "crypt_format.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define CF_AD_LEN (CF_ID_LEN + 8 + 1)

static void put_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void cf_header_encode(const struct cf_header *h, uint8_t *out)
{
	memcpy(out, CF_MAGIC, CF_MAGIC_LEN);
	out[CF_MAGIC_LEN] = CF_VERSION & 0xff;
	out[CF_MAGIC_LEN + 1] = CF_VERSION >> 8;
	memcpy(out + CF_MAGIC_LEN + 2, h->key_id, CF_ID_LEN);
	memcpy(out + CF_MAGIC_LEN + 2 + CF_ID_LEN, h->file_id, CF_ID_LEN);
}

int cf_header_decode(const uint8_t *in, size_t len, struct cf_header *h)
{
	if (len < CF_HEADER_LEN || memcmp(in, CF_MAGIC, CF_MAGIC_LEN) != 0)
		return -EINVAL;
	if ((in[CF_MAGIC_LEN] | in[CF_MAGIC_LEN + 1] << 8) != CF_VERSION)
		return -EINVAL;
	memcpy(h->key_id, in + CF_MAGIC_LEN + 2, CF_ID_LEN);
	memcpy(h->file_id, in + CF_MAGIC_LEN + 2 + CF_ID_LEN, CF_ID_LEN);
	return 0;
}

uint64_t cf_blocks_of(uint64_t size)
{
	return size == 0 ? 1 : (size + CF_BLOCK - 1) / CF_BLOCK;
}

uint64_t cf_container_size(uint64_t size)
{
	return CF_HEADER_LEN + cf_blocks_of(size) * CF_OVERHEAD + size;
}

bool cf_plain_size(uint64_t csize, uint64_t *size)
{
	if (csize < CF_HEADER_LEN + CF_OVERHEAD) {
		*size = 0;
		return false;
	}
	uint64_t payload = csize - CF_HEADER_LEN;
	uint64_t full = payload / CF_SEALED_MAX, rest = payload % CF_SEALED_MAX;
	if (rest == 0) {
		*size = full * CF_BLOCK;
		return true;
	}
	if (rest < CF_OVERHEAD) {
		*size = full * CF_BLOCK; /* a torn last block: reads of it fail */
		return false;
	}
	*size = full * CF_BLOCK + rest - CF_OVERHEAD;
	return true;
}

int cf_file_key(const uint8_t content_key[CF_KEY_LEN], const uint8_t file_id[CF_ID_LEN],
		uint8_t out[CF_KEY_LEN])
{
	uint8_t msg[4 + CF_ID_LEN];
	unsigned len = CF_KEY_LEN;

	memcpy(msg, "file", 4);
	memcpy(msg + 4, file_id, CF_ID_LEN);
	if (!HMAC(EVP_sha256(), content_key, CF_KEY_LEN, msg, sizeof msg, out, &len))
		return -EIO;
	return 0;
}

/* The context remembers the key and direction it was last set up for: the blocks of
 * one request share the file's key, and setting up AES-GCM for a key (its round keys
 * and GHASH table) costs about as much as sealing a block. */
struct cf_ctx {
	EVP_CIPHER_CTX *evp;
	int mode; /* 0 none, 1 encrypt, 2 decrypt */
	uint8_t key[CF_KEY_LEN];
};

struct cf_ctx *cf_ctx_new(void)
{
	struct cf_ctx *c = OPENSSL_zalloc(sizeof *c);
	if (!c)
		return NULL;
	c->evp = EVP_CIPHER_CTX_new();
	if (!c->evp) {
		OPENSSL_free(c);
		return NULL;
	}
	return c;
}

void cf_ctx_free(struct cf_ctx *c)
{
	if (!c)
		return;
	OPENSSL_cleanse(c->key, sizeof c->key);
	EVP_CIPHER_CTX_free(c->evp); /* cleanses the key schedule */
	OPENSSL_free(c);
}

/* Set c up for key and direction (once), then for this block's nonce. */
static int ctx_setup(struct cf_ctx *c, int mode, const uint8_t *key, const uint8_t *nonce)
{
	if (c->mode != mode || CRYPTO_memcmp(c->key, key, CF_KEY_LEN) != 0) {
		c->mode = 0;
		if ((mode == 1 ? EVP_EncryptInit_ex(c->evp, EVP_aes_256_gcm(), NULL, key, nonce)
			       : EVP_DecryptInit_ex(c->evp, EVP_aes_256_gcm(), NULL, key, nonce)) != 1)
			return -EIO;
		memcpy(c->key, key, CF_KEY_LEN);
		c->mode = mode;
		return 0;
	}
	return (mode == 1 ? EVP_EncryptInit_ex(c->evp, NULL, NULL, NULL, nonce)
			  : EVP_DecryptInit_ex(c->evp, NULL, NULL, NULL, nonce)) == 1 ? 0 : -EIO;
}

static void make_ad(uint8_t *ad, const uint8_t *file_id, uint64_t index, bool final)
{
	memcpy(ad, file_id, CF_ID_LEN);
	put_u64le(ad + CF_ID_LEN, index);
	ad[CF_ID_LEN + 8] = final ? 1 : 0;
}

int cf_seal(struct cf_ctx *c, const uint8_t key[CF_KEY_LEN], const uint8_t *file_id,
	    uint64_t index, bool final, const uint8_t nonce[CF_NONCE], const uint8_t *in,
	    size_t len, uint8_t *out)
{
	uint8_t ad[CF_AD_LEN];
	int n, m;

	if (len > CF_BLOCK)
		return -EINVAL;
	make_ad(ad, file_id, index, final);
	memcpy(out, nonce, CF_NONCE);
	if (ctx_setup(c, 1, key, nonce) != 0 ||
	    EVP_EncryptUpdate(c->evp, NULL, &n, ad, sizeof ad) != 1 ||
	    EVP_EncryptUpdate(c->evp, out + CF_NONCE, &n, in, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c->evp, out + CF_NONCE + n, &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_GET_TAG, CF_TAG, out + CF_NONCE + len) != 1)
		return -EIO;
	return 0;
}

int cf_open(struct cf_ctx *c, const uint8_t key[CF_KEY_LEN], const uint8_t *file_id,
	    uint64_t index, bool final, const uint8_t *in, size_t slen, uint8_t *out)
{
	uint8_t ad[CF_AD_LEN], tag[CF_TAG];
	size_t len;
	int n, m;

	if (slen < CF_OVERHEAD || slen > CF_SEALED_MAX)
		return -EBADMSG;
	len = slen - CF_OVERHEAD;
	make_ad(ad, file_id, index, final);
	memcpy(tag, in + CF_NONCE + len, CF_TAG);
	if (ctx_setup(c, 2, key, in) != 0 ||
	    EVP_DecryptUpdate(c->evp, NULL, &n, ad, sizeof ad) != 1 ||
	    EVP_DecryptUpdate(c->evp, out, &n, in + CF_NONCE, (int)len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_SET_TAG, CF_TAG, tag) != 1)
		return -EIO;
	if (EVP_DecryptFinal_ex(c->evp, out + n, &m) != 1) {
		/* Never hand out unauthenticated plaintext, even to our own caller. */
		OPENSSL_cleanse(out, len);
		return -EBADMSG;
	}
	return (int)len;
}

int cf_random(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}
