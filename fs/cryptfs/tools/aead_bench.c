/* SPDX-License-Identifier: MIT */
/*
 * aead_bench.c - seal 4 KiB blocks with OpenSSL AES-256-GCM and libsodium
 * XChaCha20-Poly1305 on one core, to choose cryptfs's block cipher by measurement.
 * Usage: aead_bench [MiB]   (default 512 MiB per cipher)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#define BLOCK 4096

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
	size_t blocks = mib * 256;
	static unsigned char in[BLOCK], out[BLOCK + 64], key[32], nonce[24], ad[25];
	unsigned char tag[16];
	int len;

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(in, sizeof in);
	randombytes_buf(key, sizeof key);

	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	double t = now();
	for (size_t i = 0; i < blocks; i++) {
		memcpy(nonce, &i, sizeof i);
		EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce);
		EVP_EncryptUpdate(ctx, NULL, &len, ad, sizeof ad);
		EVP_EncryptUpdate(ctx, out, &len, in, BLOCK);
		EVP_EncryptFinal_ex(ctx, out + len, &len);
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
	}
	double gcm = (double)blocks * BLOCK / (now() - t) / 1e9;
	EVP_CIPHER_CTX_free(ctx);

	t = now();
	for (size_t i = 0; i < blocks; i++) {
		unsigned long long clen;
		memcpy(nonce, &i, sizeof i);
		crypto_aead_xchacha20poly1305_ietf_encrypt(out, &clen, in, BLOCK, ad, sizeof ad,
							   NULL, nonce, key);
	}
	double xc = (double)blocks * BLOCK / (now() - t) / 1e9;
	printf("4 KiB blocks, %zu MiB each, one core (key set per block for GCM)\n", mib);
	printf("OpenSSL AES-256-GCM               %.2f GB/s\n", gcm);
	printf("libsodium XChaCha20-Poly1305      %.2f GB/s\n", xc);
	return 0;
}
