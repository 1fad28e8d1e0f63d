/* SPDX-License-Identifier: MIT */
/*
 * test_launcher.c - unit tests of the launcher's pure parts: the control protocol
 * (launcher/proto.c) and service files (launcher/service.c). No daemon, no kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../launcher/proto.h"
#include "../../launcher/service.h"

#include "check.h"

static void encode(struct pbuf *b, const struct request *r)
{
	pbuf_init(b, PROTO_MAX_MESSAGE);
	CHECK(proto_encode_request(b, r) == 0);
	CHECK(proto_get_length(b->data) == b->len - 4);
}

static void test_start_roundtrip(void)
{
	const unsigned char secret[] = "pw\n";
	struct request r = { .version = 1, .type = REQ_START, .id = 42, .service = "ram",
			     .instance = "scratch", .cwd = "/home/a", .argc = 2,
			     .argv = { "/home/a/mnt", "x y" }, .flags = START_SECRET,
			     .secret = secret, .secret_len = 3 };
	struct request d;
	struct pbuf b;

	encode(&b, &r);
	CHECK(proto_decode_request(b.data + 4, b.len - 4, &d) == 0);
	CHECK(d.id == 42 && d.type == REQ_START && !strcmp(d.service, "ram") &&
	      !strcmp(d.instance, "scratch") && !strcmp(d.cwd, "/home/a") && d.argc == 2 &&
	      !strcmp(d.argv[1], "x y") && d.secret_len == 3 && !memcmp(d.secret, "pw\n", 3));
	/* Every truncation is an error, never a read past the end. */
	for (size_t n = 0; n < b.len - 4; n++) {
		unsigned char *copy = malloc(n ? n : 1);

		memcpy(copy, b.data + 4, n);
		CHECK(proto_decode_request(copy, n, &d) < 0);
		free(copy);
	}
	pbuf_free(&b);
}

static void test_bad_requests(void)
{
	struct request r = { .version = 1, .type = REQ_STOP, .id = 1, .service = "ram",
			     .instance = "../x" };
	struct request d;
	struct pbuf b;

	encode(&b, &r);
	CHECK(proto_decode_request(b.data + 4, b.len - 4, &d) == -EINVAL);
	pbuf_free(&b);

	r.instance = "ok";
	encode(&b, &r);
	b.data[4] = 2; /* the version field */
	CHECK(proto_decode_request(b.data + 4, b.len - 4, &d) == -EPROTONOSUPPORT);
	CHECK(d.id == 1); /* an error reply can still name the request */
	pbuf_free(&b);

	r.type = 77;
	encode(&b, &r);
	CHECK(proto_decode_request(b.data + 4, b.len - 4, &d) == -EBADMSG);
	pbuf_free(&b);

	/* A secret without its flag, a relative cwd, too many arguments. */
	{
		struct request s = { .version = 1, .type = REQ_START, .service = "a", .instance = "b",
				     .cwd = "/", .secret = (const unsigned char *)"x",
				     .secret_len = 1 };

		encode(&b, &s);
		CHECK(proto_decode_request(b.data + 4, b.len - 4, &d) == -EINVAL);
		pbuf_free(&b);
		s.secret_len = 0;
		s.cwd = "rel";
		encode(&b, &s);
		CHECK(proto_decode_request(b.data + 4, b.len - 4, &d) == -EINVAL);
		pbuf_free(&b);
		s.cwd = "/";
		s.argc = 8;
		for (int i = 0; i < 8; i++)
			s.argv[i] = "a";
		encode(&b, &s);
		b.data[4 + 8 + 2 + 2 + 2] = 9; /* the argc byte */
		CHECK(proto_decode_request(b.data + 4, b.len - 4, &d) == -E2BIG);
		pbuf_free(&b);
	}
	CHECK(!proto_valid_name("") && !proto_valid_name(".x") && !proto_valid_name("-x") &&
	      !proto_valid_name("a/b") && !proto_valid_name("a b") && proto_valid_name("ram:1"));
}

static void test_reply_roundtrip(void)
{
	struct pbuf b;
	struct reply r;

	pbuf_init(&b, PROTO_MAX_REPLY);
	reply_begin(&b, 9, 0, "hello", 2);
	reply_record(&b, 1);
	reply_field(&b, "service", "ram");
	reply_record(&b, 0);
	CHECK(pbuf_end(&b) == 0);
	CHECK(proto_decode_reply(b.data + 4, b.len - 4, &r) == 0);
	CHECK(r.id == 9 && r.status == 0 && !strcmp(r.message, "hello") && r.nrecords == 2 &&
	      r.records[0].nfields == 1 && !strcmp(r.records[0].fields[0].value, "ram"));
	reply_free(&r);
	/* A record count larger than the bytes could hold is refused before allocating. */
	b.data[4 + 8 + 4 + 4 + 5 + 1] = 0xff;
	CHECK(proto_decode_reply(b.data + 4, b.len - 4, &r) < 0);
	pbuf_free(&b);
}

static struct service *parse(const char *text, char *err, size_t errsize)
{
	char path[] = "/tmp/umfs-test-svc-XXXXXX";
	int fd = mkstemp(path);
	struct service *s;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	s = service_parse_file(path, "ram", err, errsize);
	if (!s) { /* keep only "line: message" of "path:line: message" */
		char *colon = strstr(err, path);

		if (colon)
			memmove(err, colon + strlen(path) + 1, strlen(colon + strlen(path) + 1) + 1);
	}
	unlink(path);
	return s;
}

static void test_service_file(void)
{
	char err[512];
	struct service *s = parse("# a comment\n[service]\n"
				  "executable = /usr/bin/umfs\n"
				  "command-line = mount memfs %2 -f --fsname ram:%1 100%% %3\n"
				  "run-as = caller   # inline comment\n"
				  "allow = @root:start,stop root:info\n"
				  "stop-timeout = 500ms\nrestart = on-failure\noptions = %3\n"
				  "[instance boot]\nowner = root\nargs = /mnt -x\n", err, sizeof(err));
	char *args[] = { "/home/a/m", "-d" };
	char **argv;

	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK(s->nargs == 2 && s->mount_arg == 2 && s->stop_timeout_ms == 500 &&
	      s->restart_on_failure && s->run_as == RUN_CALLER && s->nallow == 2 &&
	      s->allow[0].group && s->allow[0].rights == (RIGHT_START | RIGHT_STOP) &&
	      s->option_args == 1u << 3 && s->nboot == 1 && s->boot[0].argc == 2);
	argv = service_argv(s, "inst", 2, args, "/dev/fd/3");
	CHECK(argv && !strcmp(argv[0], "/usr/bin/umfs") && !strcmp(argv[3], "/dev/fd/3") &&
	      !strcmp(argv[6], "ram:inst") && !strcmp(argv[7], "100%") && !strcmp(argv[8], "-d") &&
	      argv[9] == NULL);
	argv_free(argv);
	services_free(s);

	/* Errors name the line. */
	CHECK(!parse("[service]\nexecutable = /bin/true\nfoo = 1\n", err, sizeof(err)));
	CHECK(!strcmp(err, "3: unknown key 'foo'"));
	CHECK(!parse("[service]\nexecutable = /bin/true\ncommand-line = %2\nrun-as = caller\n"
		     "allow = nosuchuser-zz:start\n", err, sizeof(err)));
	CHECK(!strcmp(err, "5: unknown user 'nosuchuser-zz'"));
	CHECK(!parse("[service]\nexecutable = /bin/true\ncommand-line = %x\n", err, sizeof(err)));
	CHECK(strncmp(err, "3: '%' must be followed", 23) == 0);
	CHECK(!parse("[service]\nexecutable = /bin/true\ncommand-line = %2\n", err, sizeof(err)));
	CHECK(strstr(err, "no run-as") != NULL);
	CHECK(!parse("[service]\nexecutable = /bin/true\ncommand-line = %2\nrun-as = root\n"
		     "stop-timeout = 10y\n", err, sizeof(err)));
	CHECK(!strncmp(err, "5: bad duration", 15));
	CHECK(!parse("[service\n", err, sizeof(err)));
	CHECK(!strncmp(err, "1: bad section", 14));
}

int main(void)
{
	test_start_roundtrip();
	test_bad_requests();
	test_reply_roundtrip();
	test_service_file();
	printf("launcher: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
