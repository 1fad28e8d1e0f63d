/* SPDX-License-Identifier: MIT */
/* crypt_cmd.h - `umfs crypt init|fsck|passwd` and the `crypt` mount kind. */
#ifndef UMFS_TOOLS_CRYPT_CMD_H
#define UMFS_TOOLS_CRYPT_CMD_H

#include "kinds.h"

/* `umfs crypt ...` (argv[0] is "crypt"); returns the exit status. */
int cmd_crypt(int argc, char **argv);

/* The create function of the `crypt` kind (kinds.c). */
int crypt_create_kind(const char *vault, const struct kind_args *a, struct umfs_config *cfg,
		      struct kind_instance *out);

#endif
