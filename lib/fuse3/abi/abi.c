/* SPDX-License-Identifier: MIT */
/*
 * abi.c - what makes libumfs-fuse3 a libfuse3.so.3 for programs built against libfuse:
 * the names libfuse exports under several symbol versions (an old signature kept for
 * old binaries, the current one for new ones) bound to the right implementation.
 * Only in the libfuse3.so.3 build (lib/fuse3/abi/meson.build).
 */
#include "../fuse3_int.h"
#include "../hl_int.h"

/* The implementations (helper.c, ll_session.c, hl_main.c) under their own names. */
int fuse_parse_cmdline_30(struct fuse_args *args, struct fuse_cmdline_opts *opts);
int fuse_parse_cmdline_312(struct fuse_args *args, struct fuse_cmdline_opts *opts);
int fuse_session_loop_mt_31(struct fuse_session *se, int clone_fd);
int fuse_session_loop_mt_32(struct fuse_session *se, struct fuse_loop_config_v1 *config);
int fuse_loop_mt_31(struct fuse *f, int clone_fd);
int fuse_loop_mt_32(struct fuse *f, struct fuse_loop_config_v1 *config);
struct fuse *fuse_new_30(struct fuse_args *args, const struct fuse_operations *op,
			 size_t op_size, void *user_data);
struct fuse *fuse_new_31(struct fuse_args *args, const struct fuse_operations *op,
			 size_t op_size, void *user_data);

#define BIND(impl, name, version) __asm__(".symver " #impl ", " #name "@" version)

/* fuse_new: 3.0's and 3.1's (the same call on umfs). */
struct fuse *abi_fuse_new_30(struct fuse_args *args, const struct fuse_operations *op,
			     size_t op_size, void *user_data);
struct fuse *abi_fuse_new_30(struct fuse_args *args, const struct fuse_operations *op,
			     size_t op_size, void *user_data)
{
	return fuse_new_30(args, op, op_size, user_data);
}
BIND(abi_fuse_new_30, fuse_new, "FUSE_3.0");

struct fuse *abi_fuse_new_31(struct fuse_args *args, const struct fuse_operations *op,
			     size_t op_size, void *user_data);
struct fuse *abi_fuse_new_31(struct fuse_args *args, const struct fuse_operations *op,
			     size_t op_size, void *user_data)
{
	return fuse_new(args, op, op_size, user_data);
}
BIND(abi_fuse_new_31, fuse_new, "@FUSE_3.1");

/* fuse_parse_cmdline: 3.0's struct is shorter than 3.12's. */
int abi_parse_cmdline_30(struct fuse_args *args, struct fuse_cmdline_opts *opts);
int abi_parse_cmdline_30(struct fuse_args *args, struct fuse_cmdline_opts *opts)
{
	return fuse_parse_cmdline_30(args, opts);
}
BIND(abi_parse_cmdline_30, fuse_parse_cmdline, "FUSE_3.0");

int abi_parse_cmdline_312(struct fuse_args *args, struct fuse_cmdline_opts *opts);
int abi_parse_cmdline_312(struct fuse_args *args, struct fuse_cmdline_opts *opts)
{
	return fuse_parse_cmdline_312(args, opts);
}
BIND(abi_parse_cmdline_312, fuse_parse_cmdline, "@FUSE_3.12");

/* The multi-threaded loops: clone_fd (3.0), the v1 config (3.2), the opaque config
 * (3.12). */
int abi_session_loop_mt_31(struct fuse_session *se, int clone_fd);
int abi_session_loop_mt_31(struct fuse_session *se, int clone_fd)
{
	return fuse_session_loop_mt_31(se, clone_fd);
}
BIND(abi_session_loop_mt_31, fuse_session_loop_mt, "FUSE_3.0");

int abi_session_loop_mt_32(struct fuse_session *se, struct fuse_loop_config_v1 *c);
int abi_session_loop_mt_32(struct fuse_session *se, struct fuse_loop_config_v1 *c)
{
	return fuse_session_loop_mt_32(se, c);
}
BIND(abi_session_loop_mt_32, fuse_session_loop_mt, "FUSE_3.2");

/* fuse_session_loop_mt and fuse_loop_mt below are the plain implementations, renamed
 * for this build by meson (-D), so that the exported names are only the versioned. */
int fuse_session_loop_mt_312(struct fuse_session *se, struct fuse_loop_config *c);
int fuse_session_loop_mt_312(struct fuse_session *se, struct fuse_loop_config *c)
{
	return fuse_session_loop_mt(se, c);
}

int abi_session_loop_mt_312(struct fuse_session *se, struct fuse_loop_config *c);
int abi_session_loop_mt_312(struct fuse_session *se, struct fuse_loop_config *c)
{
	return fuse_session_loop_mt(se, c);
}
BIND(abi_session_loop_mt_312, fuse_session_loop_mt, "@FUSE_3.12");

int abi_loop_mt_31(struct fuse *f, int clone_fd);
int abi_loop_mt_31(struct fuse *f, int clone_fd)
{
	return fuse_loop_mt_31(f, clone_fd);
}
BIND(abi_loop_mt_31, fuse_loop_mt, "FUSE_3.0");

int abi_loop_mt_32(struct fuse *f, struct fuse_loop_config_v1 *c);
int abi_loop_mt_32(struct fuse *f, struct fuse_loop_config_v1 *c)
{
	return fuse_loop_mt_32(f, c);
}
BIND(abi_loop_mt_32, fuse_loop_mt, "FUSE_3.2");

int fuse_loop_mt_312(struct fuse *f, struct fuse_loop_config *c);
int fuse_loop_mt_312(struct fuse *f, struct fuse_loop_config *c)
{
	return fuse_loop_mt(f, c);
}

int abi_loop_mt_312(struct fuse *f, struct fuse_loop_config *c);
int abi_loop_mt_312(struct fuse *f, struct fuse_loop_config *c)
{
	return fuse_loop_mt(f, c);
}
BIND(abi_loop_mt_312, fuse_loop_mt, "@FUSE_3.12");

/* ---- what a binary may link against but umfs cannot do: present, and failing
 * with the reason (the source-level headers refuse these at build time) ---- */
#include <errno.h>
#include <stddef.h>

int fuse_session_receive_buf(struct fuse_session *se, struct fuse_buf *buf)
{
	fuse_log(FUSE_LOG_ERR, "fuse: fuse_session_receive_buf: libumfs owns the /dev/fuse loop "
		 "(use fuse_session_loop)\n");
	return -ENOSYS;
}

void fuse_session_process_buf(struct fuse_session *se, const struct fuse_buf *buf)
{
	fuse_log(FUSE_LOG_ERR, "fuse: fuse_session_process_buf: not available on umfs\n");
}

int fuse_session_custom_io(struct fuse_session *se, const struct fuse_custom_io *io, int fd)
{
	fuse_log(FUSE_LOG_ERR, "fuse: custom I/O is not available on umfs\n");
	return -ENOSYS;
}

/* CUSE is out of umfs's scope. */
static void no_cuse(void)
{
	fuse_log(FUSE_LOG_ERR, "cuse: character devices (CUSE) are not available on umfs\n");
}

void *cuse_lowlevel_new(void *args, const void *ci, const void *clop, void *userdata);
void *cuse_lowlevel_new(void *args, const void *ci, const void *clop, void *userdata)
{
	no_cuse();
	return NULL;
}

void *cuse_lowlevel_setup(int argc, char *argv[], const void *ci, const void *clop,
			  int *multithreaded, void *userdata);
void *cuse_lowlevel_setup(int argc, char *argv[], const void *ci, const void *clop,
			  int *multithreaded, void *userdata)
{
	no_cuse();
	return NULL;
}

void cuse_lowlevel_teardown(struct fuse_session *se);
void cuse_lowlevel_teardown(struct fuse_session *se)
{
}

int cuse_lowlevel_main(int argc, char *argv[], const void *ci, const void *clop,
		       void *userdata);
int cuse_lowlevel_main(int argc, char *argv[], const void *ci, const void *clop,
		       void *userdata)
{
	no_cuse();
	return 1;
}

