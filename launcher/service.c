/* SPDX-License-Identifier: MIT */
/*
 * service.c - reading service files. The format is a small INI dialect: [service]
 * and [instance NAME] sections, `key = value` lines, comments from '#' or ';' at
 * the start of a line or after a blank. Every error names path:line; a file with an
 * error is not loaded at all, so a half-understood access list never applies.
 */
#include "service.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct parse {
	struct service *s;
	const char *path;
	unsigned line;
	char *err;
	size_t errsize;
	struct boot_instance *boot; /* the [instance] section being read, or NULL */
	bool have_exe, have_cmd, have_run_as, have_mount_arg;
};

static int fail(struct parse *p, const char *fmt, const char *arg)
{
	/* Line 0: a fault of the whole file (a key missing), which has no line. */
	int n = p->line ? snprintf(p->err, p->errsize, "%s:%u: ", p->path, p->line)
			: snprintf(p->err, p->errsize, "%s: ", p->path);

	if (n > 0 && (size_t)n < p->errsize)
		snprintf(p->err + n, p->errsize - (size_t)n, fmt, arg);
	return -EINVAL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Cut a comment: '#' or ';' at the start or after a blank (so "a#b" stays a value). */
static void cut_comment(char *s)
{
	for (char *q = s; *q; q++)
		if ((*q == '#' || *q == ';') && (q == s || isspace((unsigned char)q[-1]))) {
			*q = '\0';
			return;
		}
}

/* "%N" -> N (1..9), else 0. */
static unsigned arg_ref(const char *s)
{
	return s[0] == '%' && s[1] >= '1' && s[1] <= '9' && s[2] == '\0' ? (unsigned)(s[1] - '0') : 0;
}

/* The highest %N in a template, checking that every '%' is %N or %%. */
static int scan_refs(struct parse *p, const char *t, unsigned *highest)
{
	for (; *t; t++) {
		if (*t != '%')
			continue;
		if (t[1] == '%') {
			t++;
		} else if (t[1] >= '1' && t[1] <= '9') {
			if ((unsigned)(t[1] - '0') > *highest)
				*highest = (unsigned)(t[1] - '0');
			t++;
		} else {
			return fail(p, "'%%' must be followed by a digit 1-9 or '%%' in '%s'", t);
		}
	}
	return 0;
}

static int parse_user(struct parse *p, const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(name);

	if (!pw)
		return fail(p, "unknown user '%s'", name);
	*uid = pw->pw_uid;
	if (gid)
		*gid = pw->pw_gid;
	return 0;
}

static int parse_rights(struct parse *p, char *list, unsigned *rights)
{
	char *save = NULL;

	*rights = 0;
	for (char *r = strtok_r(list, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
		if (strcmp(r, "start") == 0)
			*rights |= RIGHT_START;
		else if (strcmp(r, "stop") == 0)
			*rights |= RIGHT_STOP;
		else if (strcmp(r, "info") == 0)
			*rights |= RIGHT_INFO;
		else if (strcmp(r, "all") == 0)
			*rights |= RIGHT_START | RIGHT_STOP | RIGHT_INFO;
		else
			return fail(p, "unknown right '%s' (start, stop, info, all)", r);
	}
	return *rights ? 0 : fail(p, "%s", "an allow entry names no right");
}

/* allow = who:rights who:rights ...   who = user | @group */
static int parse_allow(struct parse *p, char *v)
{
	char *save = NULL;

	for (char *e = strtok_r(v, " \t", &save); e; e = strtok_r(NULL, " \t", &save)) {
		char *colon = strchr(e, ':');
		struct allow_entry *a;
		int rc;

		if (!colon || colon == e)
			return fail(p, "allow entry '%s' is not WHO:RIGHTS", e);
		if (p->s->nallow == SERVICE_MAX_ALLOW)
			return fail(p, "%s", "too many allow entries");
		a = &p->s->allow[p->s->nallow++];
		*colon = '\0';
		if ((rc = parse_rights(p, colon + 1, &a->rights)))
			return rc;
		if (e[0] == '@') {
			struct group *g = getgrnam(e + 1);

			if (!g)
				return fail(p, "unknown group '%s'", e + 1);
			a->group = true;
			a->id = g->gr_gid;
		} else {
			uid_t uid = 0;

			if ((rc = parse_user(p, e, &uid, NULL)))
				return rc;
			a->id = uid;
		}
	}
	return 0;
}

static int parse_bool(struct parse *p, const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return fail(p, "'%s' is not yes or no", v);
	return 0;
}

/* 10s, 500ms, 2m, or a plain number of seconds; at most one hour. */
static int parse_duration(struct parse *p, const char *v, unsigned *ms)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || !isdigit((unsigned char)v[0]))
		return fail(p, "bad duration '%s'", v);
	if (!strcmp(end, "ms"))
		;
	else if (!*end || !strcmp(end, "s"))
		n *= 1000;
	else if (!strcmp(end, "m"))
		n *= 60000;
	else
		return fail(p, "bad duration '%s' (use 500ms, 10s or 2m)", v);
	if (n > 3600000)
		return fail(p, "duration '%s' is over an hour", v);
	*ms = (unsigned)n;
	return 0;
}

static int split_args(struct parse *p, char *v, char **out, unsigned max, unsigned *n)
{
	char *save = NULL;

	*n = 0;
	for (char *t = strtok_r(v, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (*n == max)
			return fail(p, "more than %s words", max == PROTO_MAX_ARGS ? "8" : "64");
		out[*n] = strdup(t);
		if (!out[(*n)++])
			return -ENOMEM;
	}
	return 0;
}

static int service_key(struct parse *p, const char *k, char *v)
{
	struct service *s = p->s;
	unsigned n;
	int rc;

	if (!strcmp(k, "executable")) {
		if (v[0] != '/')
			return fail(p, "executable '%s' is not an absolute path", v);
		free(s->executable);
		s->executable = strdup(v);
		p->have_exe = true;
	} else if (!strcmp(k, "command-line")) {
		for (unsigned i = 0; i < s->ntokens; i++)
			free(s->tokens[i]);
		if ((rc = split_args(p, v, s->tokens, SERVICE_MAX_TOKENS, &s->ntokens)))
			return rc;
		s->nargs = 0;
		for (unsigned i = 0; i < s->ntokens; i++) {
			unsigned hi = 0;

			if ((rc = scan_refs(p, s->tokens[i], &hi)))
				return rc;
			if (hi > s->nargs + 1)
				s->nargs = hi - 1;
		}
		p->have_cmd = true;
	} else if (!strcmp(k, "run-as")) {
		p->have_run_as = true;
		if (!strcmp(v, "caller")) {
			s->run_as = RUN_CALLER;
		} else if (!strcmp(v, "root")) {
			s->run_as = RUN_ROOT;
		} else {
			if ((rc = parse_user(p, v, &s->run_uid, &s->run_gid)))
				return rc;
			/* root is only ever run as by saying `root`, never through an alias. */
			if (s->run_uid == 0)
				return fail(p, "run-as '%s' is root: write 'run-as = root'", v);
			s->run_as = RUN_USER;
		}
	} else if (!strcmp(k, "allow")) {
		return parse_allow(p, v);
	} else if (!strcmp(k, "job-control")) {
		return parse_bool(p, v, &s->job_control);
	} else if (!strcmp(k, "stop-timeout")) {
		return parse_duration(p, v, &s->stop_timeout_ms);
	} else if (!strcmp(k, "restart")) {
		if (!strcmp(v, "on-failure"))
			s->restart_on_failure = true;
		else if (!strcmp(v, "no"))
			s->restart_on_failure = false;
		else
			return fail(p, "restart '%s' is not 'no' or 'on-failure'", v);
	} else if (!strcmp(k, "mount-point")) {
		p->have_mount_arg = true;
		if (!strcmp(v, "none"))
			s->mount_arg = 0;
		else if ((n = arg_ref(v)) >= 2)
			s->mount_arg = n;
		else
			return fail(p, "mount-point '%s' is not one of %%2..%%9 or none", v);
	} else if (!strcmp(k, "options")) {
		char *save = NULL;

		s->option_args = 0;
		for (char *t = strtok_r(v, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
			if ((n = arg_ref(t)) < 2)
				return fail(p, "options: '%s' is not one of %%2..%%9", t);
			s->option_args |= 1u << n;
		}
	} else if (!strcmp(k, "mount-options")) {
		unsigned hi = 0;

		if ((rc = scan_refs(p, v, &hi)))
			return rc;
		free(s->mount_options);
		s->mount_options = strdup(v);
	} else {
		return fail(p, "unknown key '%s'", k);
	}
	return 0;
}

static int instance_key(struct parse *p, const char *k, char *v)
{
	if (!strcmp(k, "owner"))
		return parse_user(p, v, &p->boot->owner, NULL);
	if (!strcmp(k, "args")) {
		for (unsigned i = 0; i < p->boot->argc; i++)
			free(p->boot->argv[i]);
		return split_args(p, v, p->boot->argv, PROTO_MAX_ARGS, &p->boot->argc);
	}
	return fail(p, "unknown key '%s' in an [instance] section", k);
}

static int section(struct parse *p, char *h)
{
	char *end = strchr(h, ']');
	char *name;

	if (!end || trim(end + 1)[0])
		return fail(p, "bad section header '%s'", h);
	*end = '\0';
	h = trim(h + 1);
	if (!strcmp(h, "service")) {
		p->boot = NULL;
		return 0;
	}
	if (strncmp(h, "instance", 8) || !isspace((unsigned char)h[8]))
		return fail(p, "unknown section '[%s]' ([service] or [instance NAME])", h);
	name = trim(h + 8);
	if (!proto_valid_name(name))
		return fail(p, "bad instance name '%s'", name);
	for (unsigned i = 0; i < p->s->nboot; i++)
		if (!strcmp(p->s->boot[i].name, name))
			return fail(p, "instance '%s' appears twice", name);
	if (p->s->nboot == SERVICE_MAX_BOOT)
		return fail(p, "%s", "too many [instance] sections");
	p->boot = &p->s->boot[p->s->nboot++];
	snprintf(p->boot->name, sizeof(p->boot->name), "%s", name);
	p->boot->owner = (uid_t)-1;
	return 0;
}

static int parse_line(struct parse *p, char *line)
{
	char *eq, *k, *v;

	cut_comment(line);
	line = trim(line);
	if (!*line)
		return 0;
	if (*line == '[')
		return section(p, line);
	eq = strchr(line, '=');
	if (!eq)
		return fail(p, "'%s' is not KEY = VALUE", line);
	*eq = '\0';
	k = trim(line);
	v = trim(eq + 1);
	if (!*v)
		return fail(p, "'%s' has no value", k);
	return p->boot ? instance_key(p, k, v) : service_key(p, k, v);
}

/* What must hold once the whole file is read. */
static int check_service(struct parse *p)
{
	struct service *s = p->s;

	p->line = 0;
	if (!p->have_exe)
		return fail(p, "%s", "no executable");
	if (!p->have_cmd)
		return fail(p, "%s", "no command-line");
	if (!p->have_run_as)
		return fail(p, "%s", "no run-as (caller, a user name, or root)");
	if (!p->have_mount_arg && s->nargs >= 1)
		s->mount_arg = 2; /* the documented default: %2 is the mount point */
	if (s->mount_arg && s->mount_arg - 1 > s->nargs)
		return fail(p, "%s", "mount-point names an argument the command line does not use");
	for (unsigned i = 0; i < s->nboot; i++) {
		if (s->boot[i].owner == (uid_t)-1)
			return fail(p, "instance '%s' has no owner", s->boot[i].name);
		if (s->boot[i].argc != s->nargs)
			return fail(p, "instance '%s' has the wrong number of args", s->boot[i].name);
	}
	return 0;
}

static void service_free(struct service *s)
{
	free(s->path);
	free(s->executable);
	free(s->mount_options);
	for (unsigned i = 0; i < s->ntokens; i++)
		free(s->tokens[i]);
	for (unsigned i = 0; i < s->nboot; i++)
		for (unsigned j = 0; j < s->boot[i].argc; j++)
			free(s->boot[i].argv[j]);
	free(s);
}

struct service *service_parse_file(const char *path, const char *name, char *err, size_t errsize)
{
	struct parse p = { .path = path, .err = err, .errsize = errsize };
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!f) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return NULL;
	}
	p.s = calloc(1, sizeof(*p.s));
	if (!p.s) {
		fclose(f);
		snprintf(err, errsize, "%s: out of memory", path);
		return NULL;
	}
	snprintf(p.s->name, sizeof(p.s->name), "%s", name);
	p.s->path = strdup(path);
	p.s->stop_timeout_ms = 10000;
	p.s->job_control = true;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		p.line++;
		if (strlen(line) > 4096)
			rc = fail(&p, "%s", "line too long");
		else
			rc = parse_line(&p, line);
	}
	free(line);
	fclose(f);
	if (rc == 0)
		rc = check_service(&p);
	if (rc == 0 && !p.s->path)
		rc = -ENOMEM;
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(err, errsize, "%s: out of memory", path);
		service_free(p.s);
		return NULL;
	}
	return p.s;
}

struct service *services_load(const char *dir, void (*report)(const char *msg), int *nerrors)
{
	struct service *list = NULL, **tail = &list;
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	*nerrors = 0;
	if (n < 0)
		return NULL;
	for (int i = 0; i < n; i++) {
		const char *fn = names[i]->d_name;
		size_t len = strlen(fn);
		char path[PATH_MAX], name[PROTO_MAX_NAME + 1], err[PATH_MAX + 512];
		struct service *s;

		if (len > 5 && !strcmp(fn + len - 5, ".conf") && fn[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, fn);
			if (len - 5 > PROTO_MAX_NAME) {
				snprintf(err, sizeof(err), "%s: service name too long", path);
				report(err);
				++*nerrors;
				free(names[i]);
				continue;
			}
			memcpy(name, fn, len - 5);
			name[len - 5] = '\0';
			if (!proto_valid_name(name)) {
				snprintf(err, sizeof(err), "%s: '%s' is not a valid service name", path, name);
				report(err);
				++*nerrors;
			} else if ((s = service_parse_file(path, name, err, sizeof(err)))) {
				*tail = s;
				tail = &s->next;
			} else {
				report(err);
				++*nerrors;
			}
		}
		free(names[i]);
	}
	free(names);
	if (!list)
		errno = 0;
	return list;
}

void services_free(struct service *list)
{
	while (list) {
		struct service *next = list->next;

		service_free(list);
		list = next;
	}
}

struct service *service_find(struct service *list, const char *name)
{
	for (; list; list = list->next)
		if (!strcmp(list->name, name))
			return list;
	return NULL;
}

char *service_subst(const char *t, const char *instance, unsigned argc, char *const args[])
{
	size_t n = 1;
	char *out, *o;

	for (const char *q = t; *q; q++) {
		if (q[0] == '%' && q[1] == '1')
			n += strlen(instance), q++;
		else if (q[0] == '%' && q[1] >= '2' && q[1] <= '9')
			n += (unsigned)(q[1] - '2') < argc ? strlen(args[q[1] - '2']) : 0, q++;
		else
			n++;
	}
	out = o = malloc(n);
	if (!out)
		return NULL;
	for (const char *q = t; *q; q++) {
		const char *v = NULL;

		if (q[0] == '%' && q[1] == '1')
			v = instance;
		else if (q[0] == '%' && q[1] >= '2' && q[1] <= '9')
			v = (unsigned)(q[1] - '2') < argc ? args[q[1] - '2'] : "";
		else if (q[0] == '%' && q[1] == '%')
			q++;
		if (v) {
			o = stpcpy(o, v);
			q++;
		} else {
			*o++ = *q;
		}
	}
	*o = '\0';
	return out;
}

char **service_argv(const struct service *s, const char *instance, unsigned argc,
		    char *const args[], const char *mount_sub)
{
	char **argv = calloc(s->ntokens + 2, sizeof(*argv));
	char *sub[PROTO_MAX_ARGS];

	if (!argv)
		return NULL;
	/* argv[0] is the executable; command-line is what follows it, as on WinFsp. */
	argv[0] = strdup(s->executable);
	if (!argv[0]) {
		free(argv);
		return NULL;
	}
	for (unsigned i = 0; i < argc && i < PROTO_MAX_ARGS; i++)
		sub[i] = args[i];
	/* The mount point reaches the child as the descriptor umfsd mounted. */
	if (mount_sub && s->mount_arg >= 2 && s->mount_arg - 2 < argc)
		sub[s->mount_arg - 2] = (char *)mount_sub;
	for (unsigned i = 0; i < s->ntokens; i++) {
		argv[i + 1] = service_subst(s->tokens[i], instance, argc, sub);
		if (!argv[i + 1]) {
			argv_free(argv);
			return NULL;
		}
	}
	return argv;
}

void argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}
