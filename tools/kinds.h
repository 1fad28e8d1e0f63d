/* SPDX-License-Identifier: MIT */
/*
 * kinds.h - the file systems the `umfs` command can mount, and their own options.
 * Adding a kind: one entry in kinds.c with its create function.
 */
#ifndef UMFS_TOOLS_KINDS_H
#define UMFS_TOOLS_KINDS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <umfs/umfs.h>

/* Option codes above any single character. */
enum { OPT_MAX_SIZE = 1000, OPT_MAX_NODES, OPT_WRITEBACK_CACHE, OPT_NO_IMPERSONATE,
       OPT_NO_PASSTHROUGH,
       /* crypt */
       OPT_ALLOW, OPT_ALLOW_UID, OPT_ALLOW_CGROUP, OPT_REFUSE_FOREIGN, OPT_PASSFILE };

/* Most --allow, --allow-uid or --allow-cgroup options of one mount (each). */
#define KIND_MAX_LIST 64

#define KIND_LONG_OPTIONS                                                                  \
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },                             \
	{ "max-nodes", required_argument, NULL, OPT_MAX_NODES },                           \
	{ "writeback-cache", no_argument, NULL, OPT_WRITEBACK_CACHE },                     \
	{ "no-impersonate", no_argument, NULL, OPT_NO_IMPERSONATE },                       \
	{ "no-passthrough", no_argument, NULL, OPT_NO_PASSTHROUGH },                       \
	{ "allow", required_argument, NULL, OPT_ALLOW },                                   \
	{ "allow-uid", required_argument, NULL, OPT_ALLOW_UID },                           \
	{ "allow-cgroup", required_argument, NULL, OPT_ALLOW_CGROUP },                     \
	{ "refuse-foreign-writes", no_argument, NULL, OPT_REFUSE_FOREIGN },                \
	{ "passfile", required_argument, NULL, OPT_PASSFILE }

/* Kind-specific options as given on the command line (NULL: not given). */
struct kind_args {
	const char *max_size;
	const char *max_nodes;
	bool writeback_cache;
	bool no_impersonate;
	bool no_passthrough;
	/* Not an option: the mount point, for kinds that check it against SOURCE. */
	const char *mountpoint;
	/* crypt */
	const char *allow[KIND_MAX_LIST];
	size_t n_allow;
	const char *allow_uid[KIND_MAX_LIST];
	size_t n_allow_uid;
	const char *allow_cgroup[KIND_MAX_LIST];
	size_t n_allow_cgroup;
	bool refuse_foreign_writes;
	const char *passfile;
};

/* A created file system, ready for umfs_session_new(). */
struct kind_instance {
	const struct umfs_operations *ops;
	void *fs;
	void *root;
	void (*destroy)(void *fs);
};

struct fs_kind {
	const char *name;
	const char *summary;
	const char *options_help; /* lines for --help, or "" */
	bool needs_source;
	/* Which kind_args this kind accepts (a bit per OPT_* - OPT_MAX_SIZE). */
	unsigned accepts;
	/* Create the file system; may adjust cfg (timeouts). Returns 0 or -errno (logged). */
	int (*create)(const char *source, const struct kind_args *a, struct umfs_config *cfg,
		      struct kind_instance *out);
	/* Optional: true when the file system itself enforces each caller's permissions
	 * (mirror acting as each caller), so that the mount needs no default_permissions. */
	bool (*checks_permissions)(const struct kind_args *a);
};

const struct fs_kind *kind_find(const char *name);
/* Record a kind-specific option; -EINVAL (with a message) for an unknown one. */
int kind_parse_option(int code, const char *arg, struct kind_args *a);
/* Refuse options the chosen kind does not take. */
int kind_check_args(const struct fs_kind *k, const struct kind_args *a);
/* Text for --help: a line per kind, and each kind's options. */
void kind_describe_all(char *kinds, size_t ksize, char *opts, size_t osize);

#endif
