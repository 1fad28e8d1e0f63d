/* SPDX-License-Identifier: MIT */
/*
 * test_fuse_opt.c - umfs-fuse3's fuse_opt_parse against the template language of
 * fuse_opt.h: exact names, "name=%fmt", "-x " with the value in the same or the next
 * argument, keys, kept and discarded arguments, -o lists with escapes, errors.
 */
#define FUSE_USE_VERSION 31
#include <fuse_opt.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

struct conf {
	int flag, other, port, keyed;
	char *name;
	double t;
	char seen[256];
};

enum { KEY_HELLO = 7 };

static const struct fuse_opt opts[] = {
	{ "flag", offsetof(struct conf, flag), 1 },
	{ "noflag", offsetof(struct conf, flag), 0 },
	{ "-f", offsetof(struct conf, other), 42 },
	{ "-p %d", offsetof(struct conf, port), 0 },
	{ "port=%d", offsetof(struct conf, port), 0 },
	{ "name=%s", offsetof(struct conf, name), 0 },
	{ "--time=%lf", offsetof(struct conf, t), 0 },
	FUSE_OPT_KEY("hello", KEY_HELLO),
	FUSE_OPT_KEY("drop", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("keep", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_END
};

static int proc(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct conf *c = data;

	strncat(c->seen, arg, sizeof(c->seen) - strlen(c->seen) - 2);
	strcat(c->seen, key == FUSE_OPT_KEY_NONOPT ? "|N " : key == FUSE_OPT_KEY_OPT ? "|O " : "|K ");
	if (key == KEY_HELLO) {
		c->keyed++;
		return 0;
	}
	if (strcmp(arg, "bad") == 0)
		return -1;
	return 1; /* keep the rest */
}

static int parse(struct conf *c, struct fuse_args *a, int argc, const char **argv)
{
	memset(c, 0, sizeof(*c));
	a->argc = argc;
	a->argv = (char **)argv;
	a->allocated = 0;
	return fuse_opt_parse(a, c, opts, proc);
}

int main(void)
{
	struct conf c;
	struct fuse_args a;

	const char *v1[] = { "prog", "-o", "flag,port=8080,name=x\\,y,hello,drop,keep,unknown",
			     "-f", "mnt", "-p", "99", NULL };
	CHECK(parse(&c, &a, 7, v1) == 0);
	CHECK(c.flag == 1 && c.other == 42 && c.port == 99 && c.keyed == 1);
	CHECK(c.name && strcmp(c.name, "x,y") == 0);
	/* kept: argv[0], the -o list of what was kept, the non-option */
	CHECK(a.argc == 4);
	CHECK(a.argc == 4 && strcmp(a.argv[0], "prog") == 0 && strcmp(a.argv[1], "-o") == 0 &&
	      strcmp(a.argv[2], "keep,unknown") == 0 && strcmp(a.argv[3], "mnt") == 0);
	CHECK(strstr(c.seen, "unknown|O ") && strstr(c.seen, "mnt|N ") && !strstr(c.seen, "drop"));
	free(c.name);
	fuse_opt_free_args(&a);

	const char *v2[] = { "prog", "-p7", "--time=1.5", "-onoflag", "--", "-notopt", NULL };
	CHECK(parse(&c, &a, 6, v2) == 0);
	CHECK(c.port == 7 && c.t == 1.5 && c.flag == 0);
	CHECK(a.argc == 2 && strcmp(a.argv[1], "-notopt") == 0);
	fuse_opt_free_args(&a);

	/* errors: a bad value, a missing value, a refusal */
	const char *v3[] = { "prog", "-o", "port=abc", NULL };
	CHECK(parse(&c, &a, 3, v3) == -1);
	const char *v4[] = { "prog", "-p", NULL };
	CHECK(parse(&c, &a, 2, v4) == -1);
	const char *v5[] = { "prog", "bad", NULL };
	CHECK(parse(&c, &a, 2, v5) == -1);
	const char *v6[] = { "prog", "-o", NULL };
	CHECK(parse(&c, &a, 2, v6) == -1);

	/* the helpers */
	char *list = NULL;
	CHECK(fuse_opt_add_opt(&list, "a") == 0 && fuse_opt_add_opt_escaped(&list, "b,c\\d") == 0);
	CHECK(list && strcmp(list, "a,b\\,c\\\\d") == 0);
	free(list);
	CHECK(fuse_opt_match(opts, "port=1") && fuse_opt_match(opts, "flag") &&
	      !fuse_opt_match(opts, "flagx"));
	struct fuse_args b = FUSE_ARGS_INIT(0, NULL);
	CHECK(fuse_opt_add_arg(&b, "x") == 0 && fuse_opt_insert_arg(&b, 0, "w") == 0);
	CHECK(b.argc == 2 && strcmp(b.argv[0], "w") == 0 && strcmp(b.argv[1], "x") == 0 &&
	      b.argv[2] == NULL);
	fuse_opt_free_args(&b);

	printf("fuse_opt: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
