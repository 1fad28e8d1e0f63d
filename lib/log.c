/* SPDX-License-Identifier: MIT */
/* log.c - the library's one voice: everything goes through a hook (stderr by default). */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "session.h"

static void log_stderr(enum umfs_log_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	fprintf(stderr, "umfs: %s\n", msg);
}

static umfs_log_fn log_fn = log_stderr;
static void *log_arg;
/* Debug lines (request traces) only when a session asked for them (-d). */
static bool log_debug;

void log_enable_debug(bool on)
{
	log_debug = on;
}

void umfs_set_log(umfs_log_fn fn, void *arg)
{
	log_fn = fn ? fn : log_stderr;
	log_arg = arg;
}

void umfs_log_syslog(enum umfs_log_level level, const char *msg, void *arg)
{
	(void)arg;
	syslog((int)level, "%s", msg);
}

void umfs_log(enum umfs_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level >= UMFS_LOG_DEBUG && !log_debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg, log_arg);
}
