/* SPDX-License-Identifier: MIT */
/*
 * service.h - service files (/etc/umfs/services.d/NAME.conf, umfs-service(5)): what
 * a service runs, as whom, who may do what with it, and its boot instances.
 */
#ifndef UMFS_LAUNCHER_SERVICE_H
#define UMFS_LAUNCHER_SERVICE_H

#include <stdbool.h>
#include <sys/types.h>

#include "proto.h"

enum right { RIGHT_START = 1, RIGHT_STOP = 2, RIGHT_INFO = 4 };

enum run_as { RUN_CALLER, RUN_USER, RUN_ROOT };

#define SERVICE_MAX_TOKENS 64
#define SERVICE_MAX_ALLOW 64
#define SERVICE_MAX_BOOT 16

struct allow_entry {
	bool group;     /* @name */
	unsigned id;    /* uid or gid */
	unsigned rights;
};

struct boot_instance {
	char name[PROTO_MAX_NAME + 1];
	uid_t owner;
	unsigned argc;
	char *argv[PROTO_MAX_ARGS];
};

struct service {
	char name[PROTO_MAX_NAME + 1];
	char *path;                     /* the file, for messages */
	char *executable;
	unsigned ntokens;               /* command-line, split on blanks, %N not yet substituted */
	char *tokens[SERVICE_MAX_TOKENS];
	unsigned nargs;                 /* arguments a start must give: highest %N used, minus 1 */
	enum run_as run_as;
	uid_t run_uid;                  /* RUN_USER */
	gid_t run_gid;
	unsigned nallow;
	struct allow_entry allow[SERVICE_MAX_ALLOW];
	bool job_control;               /* stop kills the whole process group */
	unsigned stop_timeout_ms;
	bool restart_on_failure;
	unsigned mount_arg;             /* %N that is the mount point (umfsd mounts it); 0: none */
	unsigned option_args;           /* bit N: %N may start with '-' */
	char *mount_options;            /* template, %N substituted */
	unsigned nboot;
	struct boot_instance boot[SERVICE_MAX_BOOT];
	struct service *next;
};

/*
 * Load every *.conf in dir. A file with an error is reported (path:line: why) through
 * report and skipped; the others load. Returns the list (possibly empty) or NULL with
 * errno when dir cannot be read.
 */
struct service *services_load(const char *dir, void (*report)(const char *msg), int *nerrors);
struct service *service_parse_file(const char *path, const char *name, char *err, size_t errsize);
void services_free(struct service *list);
struct service *service_find(struct service *list, const char *name);

/*
 * Build the argv of an instance: the executable's command line with %1 = instance,
 * %2.. = args, %% = '%'. The mount point argument (if any) becomes mount_sub when that
 * is not NULL (umfsd's "/dev/fd/N"). Each token is one argv element, never split
 * again. Returns a NULL-terminated malloc'd array (free with argv_free) or NULL.
 */
char **service_argv(const struct service *s, const char *instance, unsigned argc,
		    char *const args[], const char *mount_sub);
/* Substitute into one template string the same way (malloc'd, or NULL). */
char *service_subst(const char *tmpl, const char *instance, unsigned argc, char *const args[]);
void argv_free(char **argv);

#endif
