/* SPDX-License-Identifier: MIT */
/*
 * fuzz_launcher.c - libFuzzer target for umfsd's request decoder (launcher/proto.c),
 * and for umfsctl's reply decoder.
 *
 * Each input is one message as it follows the length field on umfsd's socket. What a
 * successful decode hands out is touched in full (every string via strlen, the
 * secret byte by byte), so ASan sees any pointer past the input, and the promises of
 * proto.h are checked: names valid, at most 8 arguments, the secret only with its
 * flag. A decoded request, encoded again, must give back exactly the input bytes
 * (the encoding is canonical), which checks the decoder read every field it should.
 * A broken promise aborts.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Ilib \
 *         launcher/proto.c tests/unit/fuzz_launcher.c -o fuzz_launcher
 * or tests/unit/run_fuzz_launcher.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../launcher/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void check(int ok)
{
	if (!ok)
		abort();
}

static void touch(const char *s, size_t max)
{
	size_t n = strlen(s);

	check(n >= 1 && n <= max);
	sink += n;
}

static void fuzz_request(const uint8_t *data, size_t size)
{
	struct request r;
	struct pbuf b;

	if (proto_decode_request(data, size, &r) < 0)
		return;
	check(r.version == PROTO_VERSION && r.type >= REQ_START && r.type <= REQ_MAX_);
	if (r.type != REQ_LIST) {
		check(proto_valid_name(r.service) && proto_valid_name(r.instance));
		touch(r.service, PROTO_MAX_NAME);
		touch(r.instance, PROTO_MAX_NAME);
	}
	if (r.type == REQ_START) {
		touch(r.cwd, PROTO_MAX_ARG);
		check(r.cwd[0] == '/');
		check(r.argc <= PROTO_MAX_ARGS);
		for (unsigned i = 0; i < r.argc; i++)
			touch(r.argv[i], PROTO_MAX_ARG);
		check(r.secret_len <= PROTO_MAX_SECRET);
		check(r.secret_len == 0 || (r.flags & START_SECRET));
		for (uint32_t i = 0; i < r.secret_len; i++)
			sink += r.secret[i];
	}
	pbuf_init(&b, PROTO_MAX_MESSAGE);
	check(proto_encode_request(&b, &r) == 0);
	check(b.len == size + 4 && memcmp(b.data + 4, data, size) == 0);
	pbuf_free(&b);
}

static void fuzz_reply(const uint8_t *data, size_t size)
{
	struct reply r;

	if (proto_decode_reply(data, size, &r) < 0)
		return;
	check(r.status <= 0);
	sink += strlen(r.message);
	for (unsigned i = 0; i < r.nrecords; i++)
		for (unsigned f = 0; f < r.records[i].nfields; f++) {
			touch(r.records[i].fields[f].key, 64);
			sink += strlen(r.records[i].fields[f].value);
		}
	reply_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > PROTO_MAX_MESSAGE)
		return 0;
	fuzz_request(data, size);
	fuzz_reply(data, size);
	return 0;
}
