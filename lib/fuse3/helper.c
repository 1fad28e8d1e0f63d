/* SPDX-License-Identifier: MIT */
/*
 * helper.c - the standard command line (fuse_parse_cmdline), help and version
 * texts, fuse_daemonize, signal helpers, logging, data buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse3_int.h"

/* ---- command line ---- */

#define CMD(t, field, v) { t, offsetof(struct fuse_cmdline_opts, field), v }

static const struct fuse_opt cmdline_opts[] = {
	CMD("-h", show_help, 1),
	CMD("--help", show_help, 1),
	CMD("-V", show_version, 1),
	CMD("--version", show_version, 1),
	CMD("-d", debug, 1),
	CMD("debug", debug, 1),
	CMD("-d", foreground, 1),
	CMD("debug", foreground, 1),
	/* -d and debug also reach fuse_session_new, which turns on tracing */
	FUSE_OPT_KEY("-d", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_KEY("debug", FUSE_OPT_KEY_KEEP),
	CMD("-f", foreground, 1),
	CMD("-s", singlethread, 1),
	CMD("fsname=", nodefault_subtype, 1),
	FUSE_OPT_KEY("fsname=", FUSE_OPT_KEY_KEEP),
	CMD("subtype=", nodefault_subtype, 1),
	FUSE_OPT_KEY("subtype=", FUSE_OPT_KEY_KEEP),
	CMD("clone_fd", clone_fd, 1),
	CMD("max_idle_threads=%u", max_idle_threads, 0),
	CMD("max_threads=%u", max_threads, 0),
	FUSE_OPT_END
};

static int cmdline_proc(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct fuse_cmdline_opts *o = data;

	if (key != FUSE_OPT_KEY_NONOPT)
		return 1; /* options for fuse_session_new and the program */
	if (!o->mountpoint) {
		char real[4096];

		/* libfuse resolves the mount point now, before fuse_daemonize's chdir. */
		if (!realpath(arg, real)) {
			fuse_log(FUSE_LOG_ERR, "fuse: bad mount point `%s': %s\n", arg, strerror(errno));
			return -1;
		}
		o->mountpoint = strdup(real);
		return o->mountpoint ? 0 : -1;
	}
	fuse_log(FUSE_LOG_ERR, "fuse: invalid argument `%s'\n", arg);
	return -1;
}

/* One implementation for the three names (3.0's, 3.12's and the current one). */
int fuse_parse_cmdline_30(struct fuse_args *args, struct fuse_cmdline_opts *opts);
int fuse_parse_cmdline_312(struct fuse_args *args, struct fuse_cmdline_opts *opts);

int fuse_parse_cmdline(struct fuse_args *args, struct fuse_cmdline_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->max_idle_threads = 10;
	opts->max_threads = 10;
	if (fuse_opt_parse(args, opts, cmdline_opts, cmdline_proc) == -1)
		return -1;
	/* Without fsname= or subtype=, the program's name is the subtype, as libfuse
	 * does; unless the program asked otherwise. */
	if (!opts->nodefault_subtype && args->argc > 0 && args->argv[0]) {
		const char *base = strrchr(args->argv[0], '/');
		char *o;

		base = base ? base + 1 : args->argv[0];
		if (*base && strlen(base) < 200 && !strchr(base, ',')) {
			o = malloc(strlen(base) + 16);
			if (!o)
				return -1;
			sprintf(o, "-osubtype=%s", base);
			if (fuse_opt_add_arg(args, o) == -1) {
				free(o);
				return -1;
			}
			free(o);
		}
	}
	return 0;
}

/* libfuse 3.0's struct fuse_cmdline_opts ends before max_threads: fill only that much
 * (for programs built against it, through libfuse3.so.3's old symbol versions). */
int fuse_parse_cmdline_30(struct fuse_args *args, struct fuse_cmdline_opts *opts)
{
	struct fuse_cmdline_opts full;
	int rc = fuse_parse_cmdline(args, &full);

	memcpy(opts, &full, offsetof(struct fuse_cmdline_opts, max_threads));
	return rc;
}

int fuse_parse_cmdline_312(struct fuse_args *args, struct fuse_cmdline_opts *opts)
{
	return fuse_parse_cmdline(args, opts);
}

void fuse_cmdline_help(void)
{
	printf("    -h   --help            print help\n"
	       "    -V   --version         print version\n"
	       "    -d   -o debug          enable debug output (implies -f)\n"
	       "    -f                     foreground operation\n"
	       "    -s                     disable multi-threaded operation\n"
	       "    -o clone_fd            use separate fuse device fd for each thread\n"
	       "                           (umfs: always on where the kernel can)\n"
	       "    -o max_idle_threads    accepted; umfs keeps the workers it started\n"
	       "    -o max_threads=N       at most N workers (default 10); umfs starts one per\n"
	       "                           CPU and adds one while all are busy in callbacks\n");
}

void fuse_lowlevel_help(void)
{
	printf("    -o allow_other         allow access by all users\n"
	       "    -o default_permissions let the kernel check permissions\n"
	       "    -o fsname=NAME         file system name shown by mount\n"
	       "    -o subtype=NAME        file system type fuse.NAME\n"
	       "    -o max_read=N          largest read request\n"
	       "    -o ro,nosuid,nodev,noexec,noatime,... the generic mount options\n");
}

void fuse_lowlevel_version(void)
{
	printf("using FUSE kernel interface version 7.%u (umfs-fuse3 on libumfs %s)\n", 38,
	       UMFS_VERSION_STRING);
}

int fuse_version(void)
{
	return FUSE_VERSION;
}

const char *fuse_pkgversion(void)
{
	return "3.14.0-umfs" UMFS_VERSION_STRING;
}

int fuse_daemonize(int foreground)
{
	int fd, waiter[2];
	char done = 0;

	if (foreground)
		return 0;
	if (pipe(waiter) < 0) {
		perror("fuse_daemonize: pipe");
		return -1;
	}
	switch (fork()) {
	case -1:
		perror("fuse_daemonize: fork");
		return -1;
	case 0:
		break;
	default:
		/* The parent returns once the child is set up, so the mount is usable
		 * when the command that started it ends. */
		if (read(waiter[0], &done, 1) < 0)
			done = 0;
		_exit(0);
	}
	if (setsid() == -1) {
		perror("fuse_daemonize: setsid");
		return -1;
	}
	if (chdir("/") < 0)
		perror("fuse_daemonize: chdir");
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (write(waiter[1], &done, 1) < 0)
		perror("fuse_daemonize: write");
	close(waiter[0]);
	close(waiter[1]);
	return 0;
}

/* ---- signals: the loop is libumfs's, which handles INT/TERM/HUP itself ---- */

int fuse_set_signal_handlers(struct fuse_session *se)
{
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void fuse_remove_signal_handlers(struct fuse_session *se)
{
}

/* ---- logging ---- */

static fuse_log_func_t log_func;

void fuse_set_log_func(fuse_log_func_t func)
{
	log_func = func;
}

void fuse_log(enum fuse_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_func)
		log_func(level, fmt, ap);
	else
		vfprintf(stderr, fmt, ap); /* libfuse's default: every level, as written */
	va_end(ap);
}

/* libumfs's own messages, as a libfuse program's: through the program's log function
 * if it set one, else to stderr. Its notes (which transport, polling) only with -d:
 * libfuse prints nothing on a normal start, and a program's users and scripts may
 * rely on that. */
static bool library_notes;

static void library_log(enum umfs_log_level level, const char *msg, void *arg)
{
	(void)arg;
	if (level == UMFS_LOG_INFO && !library_notes)
		return;
	fuse_log(level == UMFS_LOG_ERR       ? FUSE_LOG_ERR
		 : level == UMFS_LOG_WARNING ? FUSE_LOG_WARNING
		 : level == UMFS_LOG_INFO    ? FUSE_LOG_INFO
					     : FUSE_LOG_DEBUG,
		 "umfs: %s\n", msg);
}

void fuse3_route_library_log(bool debug)
{
	if (debug)
		library_notes = true;
	umfs_set_log(library_log, NULL);
}

/* ---- data buffers ---- */

size_t fuse_buf_size(const struct fuse_bufvec *bufv)
{
	size_t total = 0;

	for (size_t i = 0; i < bufv->count; i++)
		total += bufv->buf[i].size;
	return total;
}

/* Copy up to len bytes from one buffer to another at the given offsets. */
static ssize_t copy_one(const struct fuse_buf *dst, size_t doff, const struct fuse_buf *src,
			size_t soff, size_t len)
{
	int dfd = dst->flags & FUSE_BUF_IS_FD, sfd = src->flags & FUSE_BUF_IS_FD;
	size_t done = 0;

	if (!dfd && !sfd) {
		memmove((char *)dst->mem + doff, (char *)src->mem + soff, len);
		return (ssize_t)len;
	}
	if (sfd && !dfd) {
		while (done < len) {
			ssize_t n = src->flags & FUSE_BUF_FD_SEEK
					    ? pread(src->fd, (char *)dst->mem + doff + done, len - done,
						    src->pos + (off_t)(soff + done))
					    : read(src->fd, (char *)dst->mem + doff + done, len - done);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return done ? (ssize_t)done : -errno;
			}
			if (n == 0)
				break;
			done += (size_t)n;
			if (!(src->flags & FUSE_BUF_FD_RETRY))
				break;
		}
		return (ssize_t)done;
	}
	if (!sfd && dfd) {
		while (done < len) {
			ssize_t n = dst->flags & FUSE_BUF_FD_SEEK
					    ? pwrite(dst->fd, (char *)src->mem + soff + done, len - done,
						     dst->pos + (off_t)(doff + done))
					    : write(dst->fd, (char *)src->mem + soff + done, len - done);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return done ? (ssize_t)done : -errno;
			}
			done += (size_t)n;
			if (!(dst->flags & FUSE_BUF_FD_RETRY))
				break;
		}
		return (ssize_t)done;
	}
	/* fd to fd: through a bounce buffer */
	char tmp[65536];

	while (done < len) {
		size_t chunk = len - done < sizeof(tmp) ? len - done : sizeof(tmp);
		struct fuse_buf m = { .size = chunk, .mem = tmp };
		ssize_t r = copy_one(&m, 0, src, soff + done, chunk);

		if (r <= 0)
			return done ? (ssize_t)done : r;
		ssize_t w = copy_one(dst, doff + done, &m, 0, (size_t)r);
		if (w < 0)
			return done ? (ssize_t)done : w;
		done += (size_t)w;
		if ((size_t)w < chunk)
			break;
	}
	return (ssize_t)done;
}

ssize_t fuse_buf_copy(struct fuse_bufvec *dstv, struct fuse_bufvec *srcv,
		      enum fuse_buf_copy_flags flags)
{
	size_t total = 0;

	if (dstv == srcv)
		return (ssize_t)fuse_buf_size(dstv);
	while (srcv->idx < srcv->count && dstv->idx < dstv->count) {
		const struct fuse_buf *s = &srcv->buf[srcv->idx];
		const struct fuse_buf *d = &dstv->buf[dstv->idx];
		size_t slen = s->size - srcv->off, dlen = d->size - dstv->off;
		size_t len = slen < dlen ? slen : dlen;
		ssize_t n = copy_one(d, dstv->off, s, srcv->off, len);

		if (n < 0)
			return total ? (ssize_t)total : n;
		total += (size_t)n;
		srcv->off += (size_t)n;
		dstv->off += (size_t)n;
		if (srcv->off == s->size) {
			srcv->idx++;
			srcv->off = 0;
		}
		if (dstv->off == d->size) {
			dstv->idx++;
			dstv->off = 0;
		}
		if ((size_t)n < len)
			break; /* end of file or a short write */
	}
	return (ssize_t)total;
}
