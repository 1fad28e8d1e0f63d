/* SPDX-License-Identifier: MIT */
/*
 * test_crypt.c - the container format without a mount: known answers (computed by
 * tests/kat_gen.py with an independent implementation), round trips, and tampering
 * (a flipped bit, swapped blocks, blocks from another file, a cut file) rejected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "crypt_file.h"
#include "crypt_format.h"
#include "crypt_keys.h"
#include "crypt_name.h"
#include "crypt_xattr.h"

#include "../../../tests/unit/check.h"

static void tohex(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

static uint8_t master[32], key_id[16], file_id[16], dirid[16], nonce[12];

static void setup_vectors(void)
{
	for (int i = 0; i < 32; i++)
		master[i] = (uint8_t)i;
	for (int i = 0; i < 16; i++) {
		key_id[i] = (uint8_t)(0x40 + i);
		file_id[i] = (uint8_t)(0x80 + i);
		dirid[i] = (uint8_t)(0xa0 + i);
	}
	for (int i = 0; i < 12; i++)
		nonce[i] = (uint8_t)(0xc0 + i);
}

static void test_known_answers(struct cf_keys *k, struct cf_ctx *c)
{
	struct cf_header h;
	uint8_t hdr[CF_HEADER_LEN], fkey[32], block[CF_BLOCK], sealed[CF_SEALED_MAX], dig[32];
	char hex[2 * CF_SEALED_MAX + 1], enc[CN_ENC_MAX + 1], disk[CN_SHORT_MAX + 1];
	bool hashed;

	memcpy(h.key_id, key_id, 16);
	memcpy(h.file_id, file_id, 16);
	cf_header_encode(&h, hdr);
	tohex(hdr, sizeof hdr, hex);
	CHECK(strcmp(hex, "756d667343460100404142434445464748494a4b4c4d4e4f"
			  "808182838485868788898a8b8c8d8e8f") == 0);
	CHECK(cf_file_key(k->content, file_id, fkey) == 0);
	tohex(fkey, 32, hex);
	CHECK(strcmp(hex, "168f577406c16e120e5aafb3a5e63ae97466fa407f1febb92459a1db31348f81") == 0);

	for (int i = 0; i < CF_BLOCK; i++)
		block[i] = (uint8_t)(i * 7);
	CHECK(cf_seal(c, fkey, file_id, 0, false, nonce, block, CF_BLOCK, sealed) == 0);
	SHA256(sealed, CF_SEALED_MAX, dig);
	tohex(dig, 32, hex);
	CHECK(strcmp(hex, "09394a24c2b5195255eb04c440238c5d0c1124050110b33589a7d9a59bb4f47e") == 0);

	CHECK(cf_seal(c, fkey, file_id, 3, true, nonce, (const uint8_t *)"hello", 5, sealed) == 0);
	tohex(sealed, 5 + CF_OVERHEAD, hex);
	CHECK(strcmp(hex, "c0c1c2c3c4c5c6c7c8c9cacba0f73890424259408fc0534b2c157e388043032ebf") == 0);
	CHECK(cf_seal(c, fkey, file_id, 0, true, nonce, NULL, 0, sealed) == 0);
	tohex(sealed, CF_OVERHEAD, hex);
	CHECK(strcmp(hex, "c0c1c2c3c4c5c6c7c8c9cacbf39102c272cf907e298370357f45b9e9") == 0);

	CHECK(cn_encrypt(k, dirid, "plan.txt", enc, disk, &hashed) == 0 && !hashed);
	CHECK(strcmp(enc, "ze-fUjsiI6KuiVwrzFfalF5jOUzYNrPN") == 0);
	CHECK(cn_link_encrypt(k, dirid, "../a/b", hex) == 0);
	CHECK(strcmp(hex, "iaLibrcNKaESyC4Cewk_j-xvDMhn2A") == 0);
	char longname[201];
	memset(longname, 'x', 200);
	longname[200] = '\0';
	CHECK(cn_encrypt(k, dirid, longname, enc, disk, &hashed) == 0 && hashed);
	CHECK(strcmp(disk, "~20VpHjxVK8ZMRIu1zx5AIZRrhKlIPwWzYwyU5JTYxpk") == 0);
	CHECK(cn_is_hashed(disk));
}

static void test_block_tamper(struct cf_keys *k, struct cf_ctx *c)
{
	uint8_t fkey[32], block[CF_BLOCK], sealed[CF_SEALED_MAX], out[CF_BLOCK], other[16];
	memset(block, 'a', sizeof block);
	cf_file_key(k->content, file_id, fkey);
	CHECK(cf_seal(c, fkey, file_id, 5, false, nonce, block, CF_BLOCK, sealed) == 0);
	CHECK(cf_open(c, fkey, file_id, 5, false, sealed, CF_SEALED_MAX, out) == CF_BLOCK);
	CHECK(memcmp(out, block, CF_BLOCK) == 0);
	/* Another place, another finality, another file, a flipped bit, a cut block. */
	CHECK(cf_open(c, fkey, file_id, 6, false, sealed, CF_SEALED_MAX, out) == -EBADMSG);
	CHECK(cf_open(c, fkey, file_id, 5, true, sealed, CF_SEALED_MAX, out) == -EBADMSG);
	memcpy(other, file_id, 16);
	other[0] ^= 1;
	CHECK(cf_open(c, fkey, other, 5, false, sealed, CF_SEALED_MAX, out) == -EBADMSG);
	for (size_t bit = 0; bit < CF_SEALED_MAX * 8; bit += 997) {
		sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK(cf_open(c, fkey, file_id, 5, false, sealed, CF_SEALED_MAX, out) == -EBADMSG);
		sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK(cf_open(c, fkey, file_id, 5, false, sealed, CF_SEALED_MAX - 1, out) == -EBADMSG);
	CHECK(cf_open(c, fkey, file_id, 5, false, sealed, 10, out) == -EBADMSG);
}

static void test_sizes(void)
{
	uint64_t s;
	for (uint64_t n = 0; n < 5 * CF_BLOCK + 3; n += (n < 9000 ? 1 : 397)) {
		uint64_t cs = cf_container_size(n);
		CHECK(cf_plain_size(cs, &s) && s == n);
	}
	CHECK(cf_container_size(0) == CF_HEADER_LEN + CF_OVERHEAD);
	CHECK(cf_container_size(CF_BLOCK) == CF_HEADER_LEN + CF_SEALED_MAX);
	CHECK(!cf_plain_size(CF_HEADER_LEN, &s));
	CHECK(!cf_plain_size(CF_HEADER_LEN + CF_SEALED_MAX + 5, &s));
	CHECK(!cf_plain_size(3, &s));
}

static void test_names(struct cf_keys *k)
{
	char enc[CN_ENC_MAX + 1], disk[CN_SHORT_MAX + 1], out[CN_PLAIN_MAX + 1], lt[4096];
	uint8_t other[16];
	bool hashed;
	const char *names[] = { "a", "plan.txt", "with space", "\xc3\xa9t\xc3\xa9", "x.y.z~" };

	memcpy(other, dirid, 16);
	other[15] ^= 0x80;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		CHECK(cn_encrypt(k, dirid, names[i], enc, disk, &hashed) == 0 && !hashed);
		CHECK(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
		      strlen(enc));
		CHECK(cn_decrypt(k, dirid, enc, out) == (int)strlen(names[i]) &&
		      strcmp(out, names[i]) == 0);
		CHECK(cn_decrypt(k, other, enc, out) == -EBADMSG);
		enc[3] = enc[3] == 'A' ? 'B' : 'A';
		CHECK(cn_decrypt(k, dirid, enc, out) == -EBADMSG);
	}
	char n255[256];
	memset(n255, 'q', 255);
	n255[255] = '\0';
	CHECK(cn_encrypt(k, dirid, n255, enc, disk, &hashed) == 0 && hashed);
	CHECK(cn_decrypt(k, dirid, enc, out) == 255 && strcmp(out, n255) == 0);
	char n256[257];
	memset(n256, 'q', 256);
	n256[256] = '\0';
	CHECK(cn_encrypt(k, dirid, n256, enc, disk, &hashed) == -ENAMETOOLONG);
	CHECK(cn_decrypt(k, dirid, DIRID_NAME, out) == -EBADMSG);
	CHECK(cn_decrypt(k, dirid, "", out) == -EBADMSG);
	CHECK(cn_link_encrypt(k, dirid, "/etc/passwd", enc) == 0);
	CHECK(cn_link_decrypt(k, dirid, enc, lt) == 11 && strcmp(lt, "/etc/passwd") == 0);
	CHECK(cn_decrypt(k, dirid, enc, out) == -EBADMSG); /* a link target is not a name */
	uint8_t raw[8];
	CHECK(b64u_decode("AB", 2, raw, sizeof raw) == -EINVAL); /* non-canonical tail bits */
	CHECK(b64u_decode("AQ", 2, raw, sizeof raw) == 1 && raw[0] == 1);
	CHECK(b64u_decode("A", 1, raw, sizeof raw) == -EINVAL);
	CHECK(b64u_decode("A=", 2, raw, sizeof raw) == -EINVAL);
}

/* A scratch container file with a model of its plaintext. */
static char tmpdir[64];

static int scratch(const char *name)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", tmpdir, name);
	return open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

static void count_report(void *arg, uint64_t block, const char *what)
{
	(*(int *)arg)++;
}

static int check_count(struct cf_keys *k, int fd)
{
	int n = 0;
	int rc = cf_file_check(k, fd, count_report, &n);
	return rc < 0 ? rc : n;
}

static void test_file_model(struct cf_keys *k)
{
	enum { MAX = 70000 };
	static uint8_t model[MAX], buf[MAX];
	uint64_t msize = 0, bad;
	struct cf_file f;
	int fd = scratch("model");
	unsigned seed = 12345;

	CHECK(fd >= 0 && cf_file_init(k, fd, &f) == 0);
	CHECK(f.size == 0 && cf_file_read(&f, buf, 10, 0, &bad) == 0);
	memset(model, 0, sizeof model);
	for (int op = 0; op < 3000; op++) {
		unsigned r = (unsigned)rand_r(&seed);
		uint64_t off = (uint64_t)rand_r(&seed) % (MAX / 2);
		size_t len = (size_t)rand_r(&seed) % (r % 4 == 0 ? 20000 : 5000);
		if (r % 7 == 0) {
			uint64_t ns = (uint64_t)rand_r(&seed) % MAX;
			CHECK(cf_file_truncate(&f, ns, &bad) == 0);
			if (ns > msize)
				memset(model + msize, 0, ns - msize);
			msize = ns;
		} else if (r % 2 == 0) {
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)rand_r(&seed);
			CHECK(cf_file_write(&f, buf, len, off, &bad) == (ssize_t)len);
			if (off > msize)
				memset(model + msize, 0, off - msize);
			memcpy(model + off, buf, len);
			if (off + len > msize)
				msize = off + len;
		} else {
			/* A fresh load each time: the state is the file's, not the struct's. */
			struct cf_file g;
			CHECK(cf_file_load(k, fd, &g) == 0 && g.size == msize && g.well_formed);
			ssize_t n = cf_file_read(&g, buf, len, off, &bad);
			size_t want = off >= msize ? 0 : (off + len > msize ? msize - off : len);
			CHECK(n == (ssize_t)want && memcmp(buf, model + off, want) == 0);
		}
	}
	CHECK(check_count(k, fd) == 0);
	close(fd);
}

/* Build a three-block file; return its fd. */
static int three_blocks(struct cf_keys *k, const char *name, uint8_t fill)
{
	static uint8_t data[3 * CF_BLOCK - 100];
	struct cf_file f;
	uint64_t bad;
	int fd = scratch(name);
	memset(data, fill, sizeof data);
	if (fd < 0 || cf_file_init(k, fd, &f) < 0 ||
	    cf_file_write(&f, data, sizeof data, 0, &bad) != (ssize_t)sizeof data)
		return -1;
	return fd;
}

static ssize_t read_all(struct cf_keys *k, int fd, uint64_t *bad)
{
	static uint8_t buf[4 * CF_BLOCK];
	struct cf_file f;
	int err = cf_file_load(k, fd, &f);
	if (err)
		return err;
	return cf_file_read(&f, buf, sizeof buf, 0, bad);
}

static void test_file_tamper(struct cf_keys *k)
{
	uint8_t a[CF_SEALED_MAX], b[CF_SEALED_MAX];
	uint64_t bad = 99;
	int fd = three_blocks(k, "t1", 'x'), fd2 = three_blocks(k, "t2", 'y');

	CHECK(fd >= 0 && fd2 >= 0);
	CHECK(read_all(k, fd, &bad) == 3 * CF_BLOCK - 100 && check_count(k, fd) == 0);

	/* Flip a bit in block 1. */
	CHECK(pread(fd, a, 1, (off_t)cf_block_offset(1) + 50) == 1);
	a[0] ^= 4;
	CHECK(pwrite(fd, a, 1, (off_t)cf_block_offset(1) + 50) == 1);
	CHECK(read_all(k, fd, &bad) == -EIO && bad == 1 && check_count(k, fd) == 1);
	a[0] ^= 4;
	CHECK(pwrite(fd, a, 1, (off_t)cf_block_offset(1) + 50) == 1);
	CHECK(check_count(k, fd) == 0);

	/* Swap blocks 0 and 1 (both full). */
	CHECK(pread(fd, a, CF_SEALED_MAX, (off_t)cf_block_offset(0)) == CF_SEALED_MAX);
	CHECK(pread(fd, b, CF_SEALED_MAX, (off_t)cf_block_offset(1)) == CF_SEALED_MAX);
	CHECK(pwrite(fd, b, CF_SEALED_MAX, (off_t)cf_block_offset(0)) == CF_SEALED_MAX);
	CHECK(pwrite(fd, a, CF_SEALED_MAX, (off_t)cf_block_offset(1)) == CF_SEALED_MAX);
	CHECK(read_all(k, fd, &bad) == -EIO && bad == 0 && check_count(k, fd) == 2);
	CHECK(pwrite(fd, a, CF_SEALED_MAX, (off_t)cf_block_offset(0)) == CF_SEALED_MAX);
	CHECK(pwrite(fd, b, CF_SEALED_MAX, (off_t)cf_block_offset(1)) == CF_SEALED_MAX);

	/* Block 1 of the other file, at the same place. */
	CHECK(pread(fd2, b, CF_SEALED_MAX, (off_t)cf_block_offset(1)) == CF_SEALED_MAX);
	CHECK(pwrite(fd, b, CF_SEALED_MAX, (off_t)cf_block_offset(1)) == CF_SEALED_MAX);
	CHECK(read_all(k, fd, &bad) == -EIO && bad == 1 && check_count(k, fd) == 1);
	/* Start again from a fresh file. */
	close(fd);
	fd = three_blocks(k, "t1", 'x');

	/* Cut the last block off: the new last block was not sealed as final. */
	CHECK(ftruncate(fd, (off_t)cf_block_offset(2)) == 0);
	CHECK(read_all(k, fd, &bad) == -EIO && bad == 1 && check_count(k, fd) >= 1);
	/* Cut to the header: not an empty file. */
	CHECK(ftruncate(fd, CF_HEADER_LEN) == 0);
	CHECK(read_all(k, fd, &bad) == -EIO && check_count(k, fd) >= 1);
	/* A torn last block. */
	close(fd);
	fd = three_blocks(k, "t1", 'x');
	CHECK(ftruncate(fd, (off_t)cf_block_offset(2) + 10) == 0);
	CHECK(read_all(k, fd, &bad) == -EIO && check_count(k, fd) >= 1);

	/* Another vault's key id: not a container of this vault. */
	struct cf_keys *other = cf_keys_generate();
	CHECK(other != NULL);
	CHECK(read_all(other, fd2, &bad) == -EBADMSG && check_count(other, fd2) == 1);
	cf_keys_free(other);
	close(fd);
	close(fd2);
}

static void test_config(void)
{
	char path[128], err[256];
	struct cf_kdf kdf = { .ops = 1, .mem = 8192 * 1024 };
	struct cf_keys *k = cf_keys_generate(), *u = NULL;

	snprintf(path, sizeof path, "%s/cryptfs.conf", tmpdir);
	CHECK(k && cf_config_write(path, k, "secret", 6, &kdf) == 0);
	CHECK(cf_config_write(path, k, "secret", 6, &kdf) == -EEXIST);
	CHECK(cf_config_unlock(path, "secret", 6, &u, err) == 0 && u);
	CHECK(u && memcmp(u->master, k->master, 32) == 0 && memcmp(u->key_id, k->key_id, 16) == 0);
	cf_keys_free(u);
	CHECK(cf_config_unlock(path, "secreT", 6, &u, err) == -EACCES && !u);
	CHECK(strstr(err, "wrong passphrase") != NULL);
	CHECK(cf_config_rewrap(path, k, "new one", 7, &kdf) == 0);
	CHECK(cf_config_unlock(path, "secret", 6, &u, err) == -EACCES);
	CHECK(cf_config_unlock(path, "new one", 7, &u, err) == 0 && u);
	cf_keys_free(u);

	/* A changed cost parameter breaks the wrap (it is associated data). */
	FILE *f = fopen(path, "r+");
	char text[1024];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	char *p = strstr(text, "ops 1");
	CHECK(p != NULL);
	if (p) {
		p[4] = '2';
		rewind(f);
		fwrite(text, 1, n, f);
	}
	fclose(f);
	CHECK(cf_config_unlock(path, "new one", 7, &u, err) == -EACCES);
	CHECK(cf_config_unlock("/nonexistent/x", "a", 1, &u, err) == -ENOENT);
	f = fopen(path, "w");
	fputs("garbage\n", f);
	fclose(f);
	CHECK(cf_config_unlock(path, "a", 1, &u, err) == -EINVAL);
	cf_keys_free(k);
}

/* Extended attribute records: round trip; another object's id, another stored name,
 * a flipped bit or a cut record do not open. */
static void test_xattrs(struct cf_keys *k)
{
	static uint8_t rec[CX_RECORD_MAX], plain[CX_RECORD_MAX], value[CX_VALUE_MAX];
	char s1[CX_STORED_LEN + 1], s2[CX_STORED_LEN + 1], s3[CX_STORED_LEN + 1];
	char name[CX_NAME_MAX + 1];
	const uint8_t *v;

	for (size_t i = 0; i < sizeof value; i++)
		value[i] = (uint8_t)(i * 7);
	CHECK(cx_stored_name(k, file_id, "user.tag", s1) == 0 && strlen(s1) == CX_STORED_LEN);
	CHECK(cx_stored_name(k, dirid, "user.tag", s2) == 0 && strcmp(s1, s2) != 0);
	CHECK(cx_stored_name(k, file_id, "user.tah", s3) == 0 && strcmp(s1, s3) != 0);
	CHECK(cx_stored_name(k, file_id, "user.tag", s2) == 0 && strcmp(s1, s2) == 0);
	CHECK(cx_stored_name(k, file_id, "", s2) == -ERANGE);

	ssize_t n = cx_seal(k, file_id, s1, "user.tag", value, sizeof value, rec);
	CHECK(n == (ssize_t)(CX_OVERHEAD + 8 + sizeof value));
	CHECK(cx_open(k, file_id, s1, rec, (size_t)n, plain, name, &v) == (ssize_t)sizeof value &&
	      strcmp(name, "user.tag") == 0 && memcmp(v, value, sizeof value) == 0);
	CHECK(cx_open(k, dirid, s1, rec, (size_t)n, plain, name, &v) == -EBADMSG);
	CHECK(cx_open(k, file_id, s3, rec, (size_t)n, plain, name, &v) == -EBADMSG);
	CHECK(cx_open(k, file_id, s1, rec, (size_t)n - 1, plain, name, &v) == -EBADMSG);
	rec[CF_NONCE + 3] ^= 1;
	CHECK(cx_open(k, file_id, s1, rec, (size_t)n, plain, name, &v) == -EBADMSG);
	/* An empty value. */
	n = cx_seal(k, file_id, s1, "user.tag", NULL, 0, rec);
	CHECK(n == CX_OVERHEAD + 8 && cx_open(k, file_id, s1, rec, (size_t)n, plain, name, &v) == 0);
}

/* Long symlink targets: up to 4095 bytes, bound to their record's id. */
static void test_long_links(struct cf_keys *k)
{
	static char target[CN_LONG_LINK_MAX + 2], enc[CN_LONG_LINK_ENC], out[CN_LONG_LINK_MAX + 1];
	memset(target, 'p', CN_LONG_LINK_MAX);
	target[CN_LONG_LINK_MAX] = '\0';
	CHECK(cn_long_link_encrypt(k, file_id, target, enc) == 0);
	CHECK(cn_long_link_decrypt(k, file_id, enc, out) == CN_LONG_LINK_MAX &&
	      strcmp(out, target) == 0);
	CHECK(cn_long_link_decrypt(k, dirid, enc, out) == -EBADMSG);
	CHECK(cn_link_decrypt(k, file_id, enc, out) == -EBADMSG); /* another domain */
	target[CN_LONG_LINK_MAX] = 'p';
	target[CN_LONG_LINK_MAX + 1] = '\0';
	CHECK(cn_long_link_encrypt(k, file_id, target, enc) == -ENAMETOOLONG);
}

int main(void)
{
	struct cf_keys *k;
	struct cf_ctx *c = cf_ctx_new();

	setup_vectors();
	k = cf_keys_from(master, key_id);
	if (!k || !c) {
		fprintf(stderr, "cannot set up keys\n");
		return 1;
	}
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_crypt.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_known_answers(k, c);
	test_block_tamper(k, c);
	test_sizes();
	test_names(k);
	test_file_model(k);
	test_file_tamper(k);
	test_config();
	test_xattrs(k);
	test_long_links(k);
	cf_ctx_free(c);
	cf_keys_free(k);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	printf("crypt: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
