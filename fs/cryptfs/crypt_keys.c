/* SPDX-License-Identifier: MIT */
/*
 * crypt_keys.c - master key generation, key derivation and the config file.
 *
 * The config file is text, one "name value" per line, in this order:
 *
 *   umfs-cryptfs 1
 *   kdf argon2id
 *   ops N
 *   mem N
 *   salt HEX(16)
 *   key-id HEX(16)
 *   wrapped HEX(12 nonce | 32 ciphertext | 16 tag)
 *
 * Every line before "wrapped" is the associated data of the wrapping, so no cost
 * parameter or key id can be changed without the unwrap failing.
 */
#include "crypt_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#define SALT_LEN 16
#define WRAP_LEN (CF_NONCE + CF_KEY_LEN + CF_TAG)

void cf_kdf_default(struct cf_kdf *k, int fast)
{
	k->ops = fast ? crypto_pwhash_OPSLIMIT_INTERACTIVE : crypto_pwhash_OPSLIMIT_MODERATE;
	k->mem = fast ? crypto_pwhash_MEMLIMIT_INTERACTIVE : crypto_pwhash_MEMLIMIT_MODERATE;
}

static int derive(const uint8_t master[CF_KEY_LEN], const char *label, uint8_t out[CF_KEY_LEN])
{
	unsigned len = CF_KEY_LEN;
	char msg[64];
	int n = snprintf(msg, sizeof msg, "umfs-cryptfs 1 %s", label);
	return HMAC(EVP_sha256(), master, CF_KEY_LEN, (const uint8_t *)msg, (size_t)n, out, &len)
		       ? 0 : -EIO;
}

static struct cf_keys *keys_alloc(void)
{
	if (sodium_init() < 0) {
		errno = EIO;
		return NULL;
	}
	struct cf_keys *k = sodium_malloc(sizeof *k);
	if (!k) {
		errno = ENOMEM;
		return NULL;
	}
	sodium_memzero(k, sizeof *k);
	return k;
}

/* The subkeys, from k->master. */
static int keys_derive(struct cf_keys *k)
{
	if (derive(k->master, "content", k->content) || derive(k->master, "name-mac", k->name_mac) ||
	    derive(k->master, "name-enc", k->name_enc) || derive(k->master, "xattr", k->xattr))
		return -EIO;
	return 0;
}

struct cf_keys *cf_keys_generate(void)
{
	struct cf_keys *k = keys_alloc();
	if (!k)
		return NULL;
	randombytes_buf(k->master, sizeof k->master);
	randombytes_buf(k->key_id, sizeof k->key_id);
	if (keys_derive(k)) {
		cf_keys_free(k);
		errno = EIO;
		return NULL;
	}
	return k;
}

struct cf_keys *cf_keys_from(const uint8_t master[CF_KEY_LEN], const uint8_t key_id[CF_ID_LEN])
{
	struct cf_keys *k = keys_alloc();
	if (!k)
		return NULL;
	memcpy(k->master, master, CF_KEY_LEN);
	memcpy(k->key_id, key_id, CF_ID_LEN);
	if (keys_derive(k)) {
		cf_keys_free(k);
		errno = EIO;
		return NULL;
	}
	return k;
}

void cf_keys_free(struct cf_keys *k)
{
	if (k)
		sodium_free(k); /* wipes, unlocks and unmaps */
}

static void hex(char *out, const uint8_t *in, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

static int unhex(uint8_t *out, size_t n, const char *in)
{
	size_t got;
	if (strlen(in) != 2 * n || sodium_hex2bin(out, n, in, 2 * n, NULL, &got, NULL) != 0 ||
	    got != n)
		return -EINVAL;
	return 0;
}

static int kek_of(uint8_t kek[CF_KEY_LEN], const char *pass, size_t passlen,
		  const uint8_t salt[SALT_LEN], const struct cf_kdf *kdf)
{
	_Static_assert(SALT_LEN == crypto_pwhash_SALTBYTES, "Argon2id salt size");
	if (crypto_pwhash(kek, CF_KEY_LEN, pass, passlen, salt, kdf->ops, kdf->mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM; /* libsodium's only failure: not enough memory */
	return 0;
}

/* AES-256-GCM of the master key under kek, with the config text before "wrapped" as AD. */
static int wrap(const uint8_t *kek, const uint8_t *master, const char *ad, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, m, ok;

	if (!c)
		return -ENOMEM;
	randombytes_buf(out, CF_NONCE);
	ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, kek, out) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, (const uint8_t *)ad, (int)strlen(ad)) == 1 &&
	     EVP_EncryptUpdate(c, out + CF_NONCE, &n, master, CF_KEY_LEN) == 1 &&
	     EVP_EncryptFinal_ex(c, out + CF_NONCE + n, &m) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CF_TAG, out + CF_NONCE + CF_KEY_LEN) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EIO;
}

static int unwrap(const uint8_t *kek, const uint8_t *in, const char *ad, uint8_t *master)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t tag[CF_TAG];
	int n, m, ok;

	if (!c)
		return -ENOMEM;
	memcpy(tag, in + CF_NONCE + CF_KEY_LEN, CF_TAG);
	ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, kek, in) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &n, (const uint8_t *)ad, (int)strlen(ad)) == 1 &&
	     EVP_DecryptUpdate(c, master, &n, in + CF_NONCE, CF_KEY_LEN) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CF_TAG, tag) == 1;
	ok = ok && EVP_DecryptFinal_ex(c, master + n, &m) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		sodium_memzero(master, CF_KEY_LEN);
	return ok ? 0 : -EACCES;
}

/* The config text up to "wrapped", which is also the AD. */
static void config_head(char *out, size_t size, const struct cf_kdf *kdf,
			const uint8_t salt[SALT_LEN], const uint8_t key_id[CF_ID_LEN])
{
	char s[2 * SALT_LEN + 1], id[2 * CF_ID_LEN + 1];
	hex(s, salt, SALT_LEN);
	hex(id, key_id, CF_ID_LEN);
	snprintf(out, size, "umfs-cryptfs 1\nkdf argon2id\nops %llu\nmem %zu\nsalt %s\nkey-id %s\n",
		 kdf->ops, kdf->mem, s, id);
}

/* Build the whole config text for k under pass. */
static int config_text(char *out, size_t size, const struct cf_keys *k, const char *pass,
		       size_t passlen, const struct cf_kdf *kdf)
{
	uint8_t salt[SALT_LEN], wrapped[WRAP_LEN];
	uint8_t *kek = sodium_malloc(CF_KEY_LEN);
	char w[2 * WRAP_LEN + 1];
	int err;

	if (!kek)
		return -ENOMEM;
	randombytes_buf(salt, sizeof salt);
	config_head(out, size, kdf, salt, k->key_id);
	err = kek_of(kek, pass, passlen, salt, kdf);
	if (!err)
		err = wrap(kek, k->master, out, wrapped);
	sodium_free(kek);
	if (err)
		return err;
	hex(w, wrapped, WRAP_LEN);
	size_t n = strlen(out);
	snprintf(out + n, size - n, "wrapped %s\n", w);
	return 0;
}

static int write_all(int fd, const char *s)
{
	size_t len = strlen(s), done = 0;
	while (done < len) {
		ssize_t n = write(fd, s + done, len - done);
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

int cf_config_write(const char *path, const struct cf_keys *k, const char *pass,
		    size_t passlen, const struct cf_kdf *kdf)
{
	char text[1024];
	int err = config_text(text, sizeof text, k, pass, passlen, kdf);
	if (err)
		return err;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, text);
	if (close(fd) < 0 && !err)
		err = -errno;
	if (err)
		unlink(path);
	return err;
}

int cf_config_rewrap(const char *path, const struct cf_keys *k, const char *pass,
		     size_t passlen, const struct cf_kdf *kdf)
{
	char text[1024], tmp[4096];
	int err = config_text(text, sizeof text, k, pass, passlen, kdf);
	if (err)
		return err;
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.new", path) >= sizeof tmp)
		return -ENAMETOOLONG;
	unlink(tmp); /* a leftover of an interrupted passwd */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, text);
	if (close(fd) < 0 && !err)
		err = -errno;
	/* rename is atomic: the old config stays whole until the new one is complete. */
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* Read "name value\n" expecting name; value into val (size vsize). */
static int expect_line(FILE *f, const char *name, char *val, size_t vsize, char *err)
{
	char line[512];
	size_t n = strlen(name);
	if (!fgets(line, sizeof line, f) || strncmp(line, name, n) != 0 || line[n] != ' ') {
		snprintf(err, 256, "expected '%s' line", name);
		return -EINVAL;
	}
	char *v = line + n + 1;
	v[strcspn(v, "\n")] = '\0';
	if (strlen(v) + 1 > vsize) {
		snprintf(err, 256, "'%s' value too long", name);
		return -EINVAL;
	}
	strcpy(val, v);
	return 0;
}

int cf_config_unlock(const char *path, const char *pass, size_t passlen,
		     struct cf_keys **out, char *err)
{
	char version[16], kdfname[32], ops[32], mem[32], salt_hex[64], id_hex[64], wrap_hex[256];
	uint8_t salt[SALT_LEN], key_id[CF_ID_LEN], wrapped[WRAP_LEN];
	struct cf_kdf kdf;
	char head[512], *end;
	int rc;

	*out = NULL;
	err[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, 256, "%s", strerror(errno));
		return rc;
	}
	rc = expect_line(f, "umfs-cryptfs", version, sizeof version, err);
	if (!rc && strcmp(version, "1") != 0) {
		snprintf(err, 256, "unknown config version '%s' (this umfs reads version 1)", version);
		rc = -EINVAL;
	}
	if (!rc)
		rc = expect_line(f, "kdf", kdfname, sizeof kdfname, err);
	if (!rc && strcmp(kdfname, "argon2id") != 0) {
		snprintf(err, 256, "unknown kdf '%s'", kdfname);
		rc = -EINVAL;
	}
	if (!rc)
		rc = expect_line(f, "ops", ops, sizeof ops, err);
	if (!rc)
		rc = expect_line(f, "mem", mem, sizeof mem, err);
	if (!rc)
		rc = expect_line(f, "salt", salt_hex, sizeof salt_hex, err);
	if (!rc)
		rc = expect_line(f, "key-id", id_hex, sizeof id_hex, err);
	if (!rc)
		rc = expect_line(f, "wrapped", wrap_hex, sizeof wrap_hex, err);
	fclose(f);
	if (rc)
		return rc;
	errno = 0;
	kdf.ops = strtoull(ops, &end, 10);
	if (errno || *end || kdf.ops < crypto_pwhash_OPSLIMIT_MIN || kdf.ops > 64) {
		snprintf(err, 256, "bad ops '%s'", ops);
		return -EINVAL;
	}
	unsigned long long m = strtoull(mem, &end, 10);
	if (errno || *end || m < crypto_pwhash_MEMLIMIT_MIN || m > (4ULL << 30)) {
		snprintf(err, 256, "bad mem '%s'", mem);
		return -EINVAL;
	}
	kdf.mem = (size_t)m;
	if (unhex(salt, SALT_LEN, salt_hex) || unhex(key_id, CF_ID_LEN, id_hex) ||
	    unhex(wrapped, WRAP_LEN, wrap_hex)) {
		snprintf(err, 256, "bad hex value");
		return -EINVAL;
	}
	config_head(head, sizeof head, &kdf, salt, key_id);

	struct cf_keys *k = keys_alloc();
	uint8_t *kek = sodium_malloc(CF_KEY_LEN);
	if (!k || !kek) {
		cf_keys_free(k);
		if (kek)
			sodium_free(kek);
		return -ENOMEM;
	}
	rc = kek_of(kek, pass, passlen, salt, &kdf);
	if (!rc)
		rc = unwrap(kek, wrapped, head, k->master);
	sodium_free(kek);
	if (rc == -EACCES)
		snprintf(err, 256, "wrong passphrase (or a damaged config file)");
	if (!rc) {
		memcpy(k->key_id, key_id, CF_ID_LEN);
		rc = keys_derive(k);
	}
	if (rc) {
		cf_keys_free(k);
		return rc;
	}
	*out = k;
	return 0;
}
