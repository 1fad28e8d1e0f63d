/* SPDX-License-Identifier: MIT */
/*
 * fuse_opt.h (umfs-fuse3) - the option parser of libfuse 3.
 *
 * A program describes its options as a table of struct fuse_opt ending in
 * FUSE_OPT_END. fuse_opt_parse() walks argv: "-o a,b=c" lists and plain arguments
 * alike are matched against the templates:
 *   "name"        matches exactly;
 *   "name="       or "-x " (ends in '=' or ' '): a name with a value, in the same
 *                 argument ("name=val", "-xval") or, for the ' ' form, the next one;
 *   "name=%fmt"   a value scanned with sscanf's %fmt (%s gets a strdup'ed copy).
 * A match stores `value` (or the scanned value) at `offset` in `data`, or, when
 * offset is -1U (FUSE_OPT_KEY), calls the processing function with `value` as key.
 * Unmatched options and non-options go to the processing function with keys
 * FUSE_OPT_KEY_OPT / FUSE_OPT_KEY_NONOPT; it returns -1 (error), 0 (discard) or 1
 * (keep in outargs). Without a function, every unmatched argument is kept.
 */
#ifndef FUSE_OPT_H_
#define FUSE_OPT_H_

#ifdef __cplusplus
extern "C" {
#endif

struct fuse_opt {
	const char *templ;    /* what to match (see above) */
	unsigned long offset; /* where to store in data; -1U: call the function */
	int value;            /* stored value, or the key given to the function */
};

#define FUSE_OPT_KEY(templ, key) { templ, -1U, key }
#define FUSE_OPT_END { NULL, 0, 0 }

/* An argument vector; allocated == 1 when the library owns argv (and its strings). */
struct fuse_args {
	int argc;
	char **argv;
	int allocated;
};

#define FUSE_ARGS_INIT(argc, argv) { argc, argv, 0 }

/* Keys given to the processing function for what no template matched. */
#define FUSE_OPT_KEY_OPT -1     /* an option (from -o or starting with '-') */
#define FUSE_OPT_KEY_NONOPT -2  /* anything else */
/* Keys a template may use to keep or drop its match without calling the function. */
#define FUSE_OPT_KEY_KEEP -3
#define FUSE_OPT_KEY_DISCARD -4

typedef int (*fuse_opt_proc_t)(void *data, const char *arg, int key,
			       struct fuse_args *outargs);

/* Parse args (replaced by what is kept). Returns 0, or -1 after an error message. */
int fuse_opt_parse(struct fuse_args *args, void *data, const struct fuse_opt opts[],
		   fuse_opt_proc_t proc);
/* Append "opt" to a comma-separated list *opts (escaping ',' and '\'). 0 or -1. */
int fuse_opt_add_opt(char **opts, const char *opt);
int fuse_opt_add_opt_escaped(char **opts, const char *opt);
int fuse_opt_add_arg(struct fuse_args *args, const char *arg);
int fuse_opt_insert_arg(struct fuse_args *args, int pos, const char *arg);
void fuse_opt_free_args(struct fuse_args *args);
/* 1 when opt matches a template of opts. */
int fuse_opt_match(const struct fuse_opt opts[], const char *opt);

#ifdef __cplusplus
}
#endif
#endif
