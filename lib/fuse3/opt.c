/* SPDX-License-Identifier: MIT */
/*
 * opt.c - fuse_opt_parse and the argument-vector helpers (see fuse_opt.h for the
 * template language). Written for umfs-fuse3.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse3_int.h"

struct parser {
	void *data;
	const struct fuse_opt *opts;
	fuse_opt_proc_t proc;
	int argc;
	char **argv;
	int i;                 /* next argument */
	struct fuse_args out;
	char *opts_list;       /* kept -o options, joined */
	int nonopt_pos;        /* where "--" sits in out, to append non-options after */
};

static void opt_err(const char *what)
{
	fuse_log(FUSE_LOG_ERR, "fuse: %s\n", what);
}

int fuse_opt_add_arg(struct fuse_args *args, const char *arg)
{
	return fuse_opt_insert_arg(args, args->argc, arg);
}

int fuse_opt_insert_arg(struct fuse_args *args, int pos, const char *arg)
{
	char **nv;
	char *copy;

	if (pos < 0 || pos > args->argc)
		return -1;
	copy = strdup(arg);
	if (!copy) {
		opt_err("memory allocation failed");
		return -1;
	}
	if (!args->allocated) {
		/* An allocated vector owns its strings: copy the caller's. */
		nv = calloc((size_t)args->argc + 2, sizeof(char *));
		if (!nv) {
			free(copy);
			opt_err("memory allocation failed");
			return -1;
		}
		for (int i = 0; i < args->argc; i++) {
			nv[i] = strdup(args->argv[i]);
			if (!nv[i]) {
				while (i--)
					free(nv[i]);
				free(nv);
				free(copy);
				opt_err("memory allocation failed");
				return -1;
			}
		}
		args->argv = nv;
		args->allocated = 1;
	} else {
		nv = realloc(args->argv, ((size_t)args->argc + 2) * sizeof(char *));
		if (!nv) {
			free(copy);
			opt_err("memory allocation failed");
			return -1;
		}
		args->argv = nv;
	}
	memmove(&args->argv[pos + 1], &args->argv[pos], (size_t)(args->argc - pos) * sizeof(char *));
	args->argv[pos] = copy;
	args->argc++;
	args->argv[args->argc] = NULL;
	return 0;
}

void fuse_opt_free_args(struct fuse_args *args)
{
	if (args && args->allocated) {
		for (int i = 0; i < args->argc; i++)
			free(args->argv[i]);
		free(args->argv);
	}
	if (args) {
		args->argc = 0;
		args->argv = NULL;
		args->allocated = 0;
	}
}

static int add_opt_common(char **opts, const char *opt, int esc)
{
	size_t old = *opts ? strlen(*opts) : 0;
	size_t need = old + 1 + 2 * strlen(opt) + 1;
	char *n = realloc(*opts, need);
	char *d;

	if (!n) {
		opt_err("memory allocation failed");
		return -1;
	}
	d = n + old;
	if (old)
		*d++ = ',';
	for (const char *s = opt; *s; s++) {
		if (esc && (*s == ',' || *s == '\\'))
			*d++ = '\\';
		*d++ = *s;
	}
	*d = '\0';
	*opts = n;
	return 0;
}

int fuse_opt_add_opt(char **opts, const char *opt)
{
	return add_opt_common(opts, opt, 0);
}

int fuse_opt_add_opt_escaped(char **opts, const char *opt)
{
	return add_opt_common(opts, opt, 1);
}

/* Does templ match arg? *sep gets where the value starts in arg for "name=" and
 * "-x " templates (the length of the name part), or -1 for an exact template. */
static int match_templ(const char *t, const char *arg, int *sep)
{
	const char *eq = strchr(t, '=');
	const char *sp = strchr(t, ' ');

	*sep = -1;
	if (eq && (!sp || eq < sp)) {
		*sep = (int)(eq - t) + 1;
		return strncmp(t, arg, (size_t)*sep) == 0;
	}
	if (sp) {
		*sep = (int)(sp - t);
		return strncmp(t, arg, (size_t)*sep) == 0;
	}
	return strcmp(t, arg) == 0;
}

static const struct fuse_opt *find_opt(const struct fuse_opt *o, const char *arg, int *sep)
{
	for (; o && o->templ; o++)
		if (match_templ(o->templ, arg, sep))
			return o;
	return NULL;
}

int fuse_opt_match(const struct fuse_opt opts[], const char *opt)
{
	int sep;

	return find_opt(opts, opt, &sep) != NULL;
}

static int call_proc(struct parser *p, const char *arg, int key, int iso)
{
	if (key == FUSE_OPT_KEY_DISCARD)
		return 0;
	if (key != FUSE_OPT_KEY_KEEP && p->proc) {
		int rc = p->proc(p->data, arg, key, &p->out);

		if (rc == -1 || rc == 0)
			return rc;
		if (rc != 1) {
			opt_err("processing function returned an invalid value");
			return -1;
		}
	}
	if (iso)
		return fuse_opt_add_opt(&p->opts_list, arg);
	return fuse_opt_add_arg(&p->out, arg);
}

/* Store a "%fmt" value. */
static int scan_value(const char *fmt, const char *val, void *var)
{
	if (strcmp(fmt, "%s") == 0) {
		char *c = strdup(val);

		if (!c) {
			opt_err("memory allocation failed");
			return -1;
		}
		free(*(char **)var);
		*(char **)var = c;
		return 0;
	}
	if (sscanf(val, fmt, var) != 1) {
		fuse_log(FUSE_LOG_ERR, "fuse: invalid parameter in option `%s'\n", val);
		return -1;
	}
	return 0;
}

static int apply(struct parser *p, const struct fuse_opt *o, const char *arg, int sep,
		 const char *val, int iso)
{
	if (o->offset == -1U)
		return call_proc(p, arg, o->value, iso);
	void *var = (char *)p->data + o->offset;
	const char *fmt = "";

	if (sep >= 0)
		fmt = o->templ + sep + (o->templ[sep] == ' ' ? 1 : 0);
	if (fmt[0] == '%')
		return scan_value(fmt, val, var);
	*(int *)var = o->value;
	return 0;
}

/* One option (from -o or a dashed argument); every matching template applies. */
static int process_opt(struct parser *p, const char *arg, int iso)
{
	const struct fuse_opt *o;
	int sep, matched = 0;

	for (o = p->opts; o && o->templ; o++) {
		if (!match_templ(o->templ, arg, &sep))
			continue;
		matched = 1;
		if (sep >= 0 && o->templ[sep] == ' ' && arg[sep] == '\0' && !iso) {
			/* "-x value": the value is the next argument */
			if (p->i >= p->argc) {
				fuse_log(FUSE_LOG_ERR, "fuse: missing argument after `%s'\n", arg);
				return -1;
			}
			const char *next = p->argv[p->i++];
			char *joined = malloc(strlen(arg) + strlen(next) + 1);
			int rc;

			if (!joined)
				return -1;
			strcpy(joined, arg);
			strcat(joined, next);
			rc = apply(p, o, joined, sep, next, iso);
			free(joined);
			if (rc == -1)
				return -1;
			continue;
		}
		if (apply(p, o, arg, sep, sep >= 0 ? arg + sep : NULL, iso) == -1)
			return -1;
	}
	if (!matched)
		return call_proc(p, arg, FUSE_OPT_KEY_OPT, iso);
	return 0;
}

/* A -o list: split at unescaped commas, drop the escapes, process each. */
static int process_opt_list(struct parser *p, const char *list)
{
	char *one = malloc(strlen(list) + 1);
	size_t n = 0;
	int rc = 0;

	if (!one)
		return -1;
	for (const char *s = list;; s++) {
		if (*s == '\\' && s[1]) {
			one[n++] = *++s;
		} else if (*s == ',' || *s == '\0') {
			one[n] = '\0';
			rc = process_opt(p, one, 1);
			n = 0;
			if (rc || *s == '\0')
				break;
		} else {
			one[n++] = *s;
		}
	}
	free(one);
	return rc;
}

static int process_arg(struct parser *p, const char *arg)
{
	if (strcmp(arg, "--") == 0) {
		/* the rest are non-options */
		while (p->i < p->argc)
			if (call_proc(p, p->argv[p->i++], FUSE_OPT_KEY_NONOPT, 0) == -1)
				return -1;
		return 0;
	}
	if (arg[0] == '-' && arg[1] == 'o' && !find_opt(p->opts, arg, &(int){ 0 })) {
		const char *list = arg + 2;

		if (!*list) {
			if (p->i >= p->argc) {
				opt_err("missing argument after `-o'");
				return -1;
			}
			list = p->argv[p->i++];
		}
		return process_opt_list(p, list);
	}
	if (arg[0] == '-' && arg[1])
		return process_opt(p, arg, 0);
	return call_proc(p, arg, FUSE_OPT_KEY_NONOPT, 0);
}

int fuse_opt_parse(struct fuse_args *args, void *data, const struct fuse_opt opts[],
		   fuse_opt_proc_t proc)
{
	struct parser p;
	int rc = 0;

	if (!args || !args->argv || !args->argc)
		return 0;
	memset(&p, 0, sizeof(p));
	p.data = data;
	p.opts = opts;
	p.proc = proc;
	p.argc = args->argc;
	p.argv = args->argv;
	if (fuse_opt_add_arg(&p.out, args->argv[0]) == -1)
		return -1;
	for (p.i = 1; p.i < p.argc && rc == 0;)
		rc = process_arg(&p, p.argv[p.i++]);
	if (rc == 0 && p.opts_list) {
		/* kept -o options go right after argv[0], as one "-o" "a,b" pair */
		if (fuse_opt_insert_arg(&p.out, 1, "-o") == -1 ||
		    fuse_opt_insert_arg(&p.out, 2, p.opts_list) == -1)
			rc = -1;
	}
	free(p.opts_list);
	if (rc) {
		fuse_opt_free_args(&p.out);
		return -1;
	}
	fuse_opt_free_args(args);
	*args = p.out;
	return 0;
}
