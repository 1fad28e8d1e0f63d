/* SPDX-License-Identifier: MIT */
/*
 * ll_main.h - the main() of this directory's low-level test programs, built against
 * libfuse and umfs-fuse3 alike: libfuse's standard command line, a session of the
 * program's operations with signal handlers, and its loop until unmounted.
 * threads > 0: the multi-threaded loop with at most that many threads; 0: one thread.
 * *session (if given) is set before the mount, for operations that need it.
 * LOG_PREFIX=P in the environment: every fuse_log message goes through the program's
 * own log function (fuse_set_log_func), which writes "P<level>: " before it.
 */
#ifndef TESTS_FUSE3_LL_MAIN_H
#define TESTS_FUSE3_LL_MAIN_H

#if FUSE_USE_VERSION < 312
#error "ll_main.h takes the loop configuration of FUSE_USE_VERSION 312 and later"
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void prefixed_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s%d: ", getenv("LOG_PREFIX"), (int)level);
	vfprintf(stderr, fmt, ap);
}

static int ll_main(int argc, char *argv[], const struct fuse_lowlevel_ops *ops, size_t size,
		   unsigned threads, struct fuse_session **session)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_session *se;
	int rc = 1;

	if (getenv("LOG_PREFIX"))
		fuse_set_log_func(prefixed_log);
	if (fuse_parse_cmdline(&args, &opts) != 0)
		return 1;
	if (opts.show_help || !opts.mountpoint) {
		printf("usage: %s [options] <mountpoint>\n", argv[0]);
		fuse_cmdline_help();
		free(opts.mountpoint);
		fuse_opt_free_args(&args);
		return opts.show_help ? 0 : 1;
	}
	se = fuse_session_new(&args, ops, size, NULL);
	if (!se)
		goto out;
	if (session)
		*session = se;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_destroy;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	if (threads) {
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();

		fuse_loop_cfg_set_max_threads(cfg, threads);
		rc = fuse_session_loop_mt(se, cfg) ? 1 : 0;
		fuse_loop_cfg_destroy(cfg);
	} else {
		rc = fuse_session_loop(se) ? 1 : 0;
	}
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
out:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return rc;
}

#endif
