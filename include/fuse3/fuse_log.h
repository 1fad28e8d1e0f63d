/* SPDX-License-Identifier: MIT */
/*
 * fuse_log.h (umfs-fuse3) - logging for programs written against libfuse 3. The
 * messages go through libumfs's log hook unless the program installs its own.
 */
#ifndef FUSE_LOG_H_
#define FUSE_LOG_H_

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* syslog(3)'s levels, in its order. */
enum fuse_log_level {
	FUSE_LOG_EMERG,
	FUSE_LOG_ALERT,
	FUSE_LOG_CRIT,
	FUSE_LOG_ERR,
	FUSE_LOG_WARNING,
	FUSE_LOG_NOTICE,
	FUSE_LOG_INFO,
	FUSE_LOG_DEBUG
};

/* A program's own sink for the library's messages (and its own fuse_log calls). */
typedef void (*fuse_log_func_t)(enum fuse_log_level level, const char *fmt, va_list ap);

/* Install func; NULL restores the default (libumfs's hook, stderr unless changed). */
void fuse_set_log_func(fuse_log_func_t func);
void fuse_log(enum fuse_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
