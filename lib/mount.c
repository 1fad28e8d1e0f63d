/* SPDX-License-Identifier: MIT */
/*
 * mount.c - mount options, mount(2), fusermount3, unmount.
 *
 * Privileged callers (euid 0) mount with mount(2) directly. Everyone else goes through
 * the setuid helper fusermount3, as libfuse does: it checks the caller may mount there,
 * mounts, and hands back the connected /dev/fuse descriptor over a socket named in the
 * _FUSE_COMMFD environment variable.
 */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "session.h"

#define FUSERMOUNT "fusermount3"

/* ---- options ---- */

struct flag_opt {
	const char *name;
	unsigned long set, clear;
};

/* Generic mount options, as mount(8) names them. */
static const struct flag_opt flag_opts[] = {
	{ "ro", MS_RDONLY, 0 },          { "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },      { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },        { "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },      { "exec", 0, MS_NOEXEC },
	{ "noatime", MS_NOATIME, 0 },    { "atime", 0, MS_NOATIME },
	{ "nodiratime", MS_NODIRATIME, 0 }, { "diratime", 0, MS_NODIRATIME },
	{ "relatime", MS_RELATIME, 0 },  { "norelatime", 0, MS_RELATIME },
	{ "strictatime", MS_STRICTATIME, 0 },
	{ "sync", MS_SYNCHRONOUS, 0 },   { "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },    { "lazytime", MS_LAZYTIME, 0 },
};

static int parse_uint(const char *opt, const char *val, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || end == val || *end || v == 0 || v > UINT_MAX) {
		umfs_log(UMFS_LOG_ERR, "bad value in mount option '%s'", opt);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int copy_value(const char *opt, const char *val, char *dst, size_t size)
{
	if (!*val || strlen(val) >= size || strchr(val, ',')) {
		umfs_log(UMFS_LOG_ERR, "bad value in mount option '%s'", opt);
		return -EINVAL;
	}
	strcpy(dst, val);
	return 0;
}

static int parse_one(char *opt, struct mount_opts *o)
{
	char *eq = strchr(opt, '=');
	const char *val = eq ? eq + 1 : NULL;

	if (eq)
		*eq = '\0';
	for (size_t i = 0; !val && i < sizeof(flag_opts) / sizeof(flag_opts[0]); i++) {
		if (strcmp(opt, flag_opts[i].name) == 0) {
			o->flags = (o->flags | flag_opts[i].set) & ~flag_opts[i].clear;
			return 0;
		}
	}
	if (!val && strcmp(opt, "allow_other") == 0) {
		o->allow_other = o->explicit_allow_other = true;
		o->no_allow_other = false;
	} else if (!val && strcmp(opt, "noallow_other") == 0) {
		o->allow_other = o->explicit_allow_other = false;
		o->no_allow_other = true;
	} else if (!val && strcmp(opt, "default_permissions") == 0) {
		o->default_permissions = o->explicit_default_permissions = true;
		o->no_default_permissions = false;
	} else if (!val && strcmp(opt, "nodefault_permissions") == 0) {
		o->default_permissions = o->explicit_default_permissions = false;
		o->no_default_permissions = true;
	} else if (val && strcmp(opt, "max_read") == 0) {
		return parse_uint("max_read", val, &o->max_read);
	} else if (val && strcmp(opt, "blksize") == 0) {
		return parse_uint("blksize", val, &o->blksize);
	} else if (val && strcmp(opt, "fsname") == 0) {
		return copy_value("fsname", val, o->fsname, sizeof(o->fsname));
	} else if (val && strcmp(opt, "subtype") == 0) {
		return copy_value("subtype", val, o->subtype, sizeof(o->subtype));
	} else {
		if (eq)
			*eq = '=';
		umfs_log(UMFS_LOG_ERR, "unknown mount option '%s'", opt);
		return -EINVAL;
	}
	return 0;
}

/* The options in the form fusermount3 and mount(8) read back. */
static char *canonical_options(const struct mount_opts *o)
{
	char buf[1024];
	size_t n = 0;

	buf[0] = '\0';
#define ADD(...) n += (size_t)snprintf(buf + n, n < sizeof(buf) ? sizeof(buf) - n : 0, __VA_ARGS__)
	ADD("%s", o->flags & MS_RDONLY ? "ro" : "rw");
	ADD(o->flags & MS_NOSUID ? ",nosuid" : ",suid");
	ADD(o->flags & MS_NODEV ? ",nodev" : ",dev");
	if (o->flags & MS_NOEXEC)
		ADD(",noexec");
	if (o->flags & MS_NOATIME)
		ADD(",noatime");
	if (o->flags & MS_NODIRATIME)
		ADD(",nodiratime");
	if (o->flags & MS_SYNCHRONOUS)
		ADD(",sync");
	if (o->flags & MS_DIRSYNC)
		ADD(",dirsync");
	if (o->allow_other)
		ADD(",allow_other");
	if (o->default_permissions)
		ADD(",default_permissions");
	if (o->max_read)
		ADD(",max_read=%u", o->max_read);
	if (o->blksize)
		ADD(",blksize=%u", o->blksize);
	if (o->fsname[0])
		ADD(",fsname=%s", o->fsname);
	if (o->subtype[0])
		ADD(",subtype=%s", o->subtype);
#undef ADD
	return n < sizeof(buf) ? strdup(buf) : NULL;
}

int mount_parse_options(const char *options, struct mount_opts *o)
{
	char *copy, *save = NULL;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	/* Like mount.fuse3: no setuid programs or device files unless asked for. */
	o->flags = MS_NOSUID | MS_NODEV;
	if (options) {
		copy = strdup(options);
		if (!copy)
			return -ENOMEM;
		for (char *opt = strtok_r(copy, ",", &save); opt && !rc;
		     opt = strtok_r(NULL, ",", &save))
			rc = parse_one(opt, o);
		free(copy);
	}
	if (rc == 0) {
		o->fusermount_opts = canonical_options(o);
		if (!o->fusermount_opts)
			rc = -ENOMEM;
	}
	return rc;
}

void mount_opts_free(struct mount_opts *o)
{
	free(o->fusermount_opts);
	o->fusermount_opts = NULL;
}

int umfs_check_mount_options(const char *options)
{
	struct mount_opts o;
	int rc = mount_parse_options(options, &o);

	mount_opts_free(&o);
	return rc;
}

/* ---- mount points ---- */

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

bool mount_is_fuse_mountpoint(const char *abs_path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX], type[256];
		char *sep = strstr(line, " - ");

		/* id parent major:minor root mountpoint options ... - fstype source ... */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%255s", type) != 1)
			continue;
		unescape(mp);
		found = strcmp(mp, abs_path) == 0 &&
			(strncmp(type, "fuse", 4) == 0 || strcmp(type, "fuseblk") == 0);
	}
	free(line);
	fclose(f);
	return found;
}

/* An absolute path without resolving the last component (it may be a dead mount). */
static char *absolute_path(const char *path)
{
	char *slash, *dir, *res = realpath(path, NULL);
	char buf[PATH_MAX];

	if (res)
		return res;
	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(buf, sizeof(buf)))
		return NULL;
	dir = malloc(strlen(buf) + strlen(path) + 2);
	if (!dir)
		return NULL;
	sprintf(dir, "%s/%s", buf, path);
	slash = dir + strlen(dir) - 1;
	while (slash > dir && *slash == '/')
		*slash-- = '\0';
	return dir;
}

int mount_check_point(const char *mountpoint, bool allow_file)
{
	struct stat st;
	char *abs;
	bool busy;

	if (stat(mountpoint, &st) < 0) {
		int e = errno;

		if (e == ENOTCONN) {
			umfs_log(UMFS_LOG_ERR,
				"%s: a FUSE file system is still mounted there but its process is gone; "
				"run 'umfs unmount %s' first", mountpoint, mountpoint);
			return -EBUSY;
		}
		if (e == ENOENT)
			umfs_log(UMFS_LOG_ERR, "%s: mount point does not exist", mountpoint);
		else
			umfs_log(UMFS_LOG_ERR, "%s: %s", mountpoint, strerror(e));
		return -e;
	}
	/* A regular file may be the mount point of a file system whose root is a file
	 * (umfs_config.file_mountpoint; libfuse's null example); rootmode= tells the
	 * kernel which. */
	if (!S_ISDIR(st.st_mode) && !(allow_file && S_ISREG(st.st_mode))) {
		umfs_log(UMFS_LOG_ERR, "%s: mount point is not a directory", mountpoint);
		return -ENOTDIR;
	}
	abs = absolute_path(mountpoint);
	busy = abs && mount_is_fuse_mountpoint(abs);
	free(abs);
	if (busy) {
		umfs_log(UMFS_LOG_ERR, "%s: a FUSE file system is already mounted there", mountpoint);
		return -EBUSY;
	}
	return 0;
}

/* ---- mounting ---- */

static int open_dev_fuse(void)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENXIO || errno == ENODEV) {
		umfs_log(UMFS_LOG_ERR, "/dev/fuse is missing: load the fuse module (modprobe fuse)");
		return -ENODEV;
	}
	umfs_log(UMFS_LOG_ERR, "cannot open /dev/fuse: %s", strerror(errno));
	return -errno;
}

static int mount_direct(const char *mp, const struct mount_opts *o, int *fdp)
{
	char data[512], type[80];
	struct stat st;
	int fd, n;

	if (stat(mp, &st) < 0)
		return -errno;
	fd = open_dev_fuse();
	if (fd < 0)
		return fd;
	n = snprintf(data, sizeof(data), "fd=%d,rootmode=%o,user_id=%u,group_id=%u%s%s", fd,
		     st.st_mode & S_IFMT, getuid(), getgid(),
		     o->allow_other ? ",allow_other" : "",
		     o->default_permissions ? ",default_permissions" : "");
	if (o->max_read)
		n += snprintf(data + n, sizeof(data) - (size_t)n, ",max_read=%u", o->max_read);
	snprintf(type, sizeof(type), o->subtype[0] ? "fuse.%s" : "fuse", o->subtype);
	if (mount(o->fsname[0] ? o->fsname : "umfs", mp, type, o->flags, data) < 0) {
		int e = errno;

		umfs_log(UMFS_LOG_ERR, "mount %s: %s", mp, strerror(e));
		close(fd);
		return -e;
	}
	*fdp = fd;
	return 0;
}

/* Receive the descriptor fusermount3 sends back. */
static int receive_fd(int sock)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	ssize_t n;
	int fd;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -EIO;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EIO;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

/* Run fusermount3; its own complaint (stderr) comes back in err, one line. */
static int run_fusermount(char *const argv[], int commfd, char *err, size_t errsize)
{
	int status, pipefd[2];
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		char env[32];

		dup2(pipefd[1], STDERR_FILENO);
		if (commfd >= 0) {
			/* The helper finds its end of the socket by number. */
			fcntl(commfd, F_SETFD, 0);
			snprintf(env, sizeof(env), "%d", commfd);
			setenv("_FUSE_COMMFD", env, 1);
		}
		execvp(FUSERMOUNT, argv);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], err + got, errsize - 1 - got)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			got += (size_t)n;
	close(pipefd[0]);
	err[got] = '\0';
	for (char *p = err; *p; p++) /* one line: fold newlines */
		if (*p == '\n')
			*p = p[1] ? ' ' : '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	/* 127: the helper could not be run at all. Otherwise it refused, and said why. */
	return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOEXEC : -EPERM;
}

static int mount_fusermount(const char *mp, const struct mount_opts *o, int *fdp)
{
	int sv[2], rc, fd;
	char *argv[] = { FUSERMOUNT, "-o", o->fusermount_opts, "--", (char *)mp, NULL };
	char err[512];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	rc = run_fusermount(argv, sv[1], err, sizeof(err));
	close(sv[1]);
	if (rc < 0) {
		close(sv[0]);
		if (rc == -ENOEXEC)
			umfs_log(UMFS_LOG_ERR, "%s is not installed (Debian package fuse3)", FUSERMOUNT);
		else
			umfs_log(UMFS_LOG_ERR, "cannot mount %s: %s", mp,
				err[0] ? err : FUSERMOUNT " refused");
		return rc;
	}
	fd = receive_fd(sv[0]);
	close(sv[0]);
	if (fd < 0) {
		umfs_log(UMFS_LOG_ERR, "%s sent no descriptor", FUSERMOUNT);
		return fd;
	}
	*fdp = fd;
	return 0;
}

int mount_fuse(const char *mountpoint, const struct mount_opts *o, struct mount_state *st)
{
	int rc, fd = -1;
	char *abs;

	rc = mount_check_point(mountpoint, o->file_mountpoint);
	if (rc < 0)
		return rc;
	abs = absolute_path(mountpoint);
	if (!abs)
		return -ENOMEM;
	if (access("/dev/fuse", F_OK) < 0) {
		umfs_log(UMFS_LOG_ERR, "/dev/fuse is missing: load the fuse module (modprobe fuse)");
		free(abs);
		return -ENODEV;
	}
	st->by_fusermount = geteuid() != 0;
	rc = st->by_fusermount ? mount_fusermount(abs, o, &fd) : mount_direct(abs, o, &fd);
	if (rc < 0) {
		free(abs);
		return rc;
	}
	free(st->mountpoint);
	st->mountpoint = abs;
	st->fd = fd;
	st->mounted = true;
	return 0;
}

static int unmount_abs(const char *mp, bool by_fusermount, bool lazy, bool quiet)
{
	char err[512];
	int rc;

	if (by_fusermount) {
		char *argv[8];
		int n = 0;

		argv[n++] = FUSERMOUNT;
		argv[n++] = "-u";
		if (lazy)
			argv[n++] = "-z";
		if (quiet)
			argv[n++] = "-q";
		argv[n++] = "--";
		argv[n++] = (char *)mp;
		argv[n] = NULL;
		rc = run_fusermount(argv, -1, err, sizeof(err));
		if (rc == -ENOEXEC && !quiet)
			umfs_log(UMFS_LOG_ERR, "%s is not installed (Debian package fuse3)", FUSERMOUNT);
		else if (rc < 0 && !quiet && err[0])
			umfs_log(UMFS_LOG_ERR, "%s", err);
		return rc;
	}
	if (umount2(mp, lazy ? MNT_DETACH : 0) < 0)
		return -errno;
	return 0;
}

void mount_detach(struct mount_state *st)
{
	if (st->mounted) {
		int rc = unmount_abs(st->mountpoint, st->by_fusermount, true, true);

		/* EINVAL: someone unmounted it already, which is how many sessions end. */
		if (rc < 0 && rc != -EINVAL && rc != -ENOENT && rc != -EPERM)
			umfs_log(UMFS_LOG_WARNING, "unmounting %s: %s", st->mountpoint, strerror(-rc));
		st->mounted = false;
	}
}

void mount_release(struct mount_state *st)
{
	mount_detach(st);
	if (st->fd >= 0) {
		close(st->fd);
		st->fd = -1;
	}
}

int mount_unmount_path(const char *mountpoint, bool lazy)
{
	char *abs = absolute_path(mountpoint);
	int rc;

	if (!abs)
		return -ENOMEM;
	if (!mount_is_fuse_mountpoint(abs)) {
		umfs_log(UMFS_LOG_ERR, "%s: not a FUSE mount point", mountpoint);
		free(abs);
		return -EINVAL;
	}
	rc = unmount_abs(abs, geteuid() != 0, lazy, false);
	/* fusermount3 has already said why it failed; umount2 needs words. */
	if (rc == -EBUSY && geteuid() == 0)
		umfs_log(UMFS_LOG_ERR, "%s: busy (files are open there); use --lazy to detach it now",
			mountpoint);
	else if (rc < 0 && geteuid() == 0)
		umfs_log(UMFS_LOG_ERR, "unmount %s: %s", mountpoint, strerror(-rc));
	free(abs);
	return rc;
}

int umfs_unmount(const char *mountpoint, int lazy)
{
	return mount_unmount_path(mountpoint, lazy != 0);
}

/*
 * "/dev/fd/N": the libfuse convention for a connection that someone else (a launcher
 * such as umfsd, which mounts for unprivileged file systems) already mounted and
 * handed over as descriptor N. The session serves it as it is; mounting and
 * unmounting are the mounter's business, so the mount options are not used.
 */
#define DEV_FD_PREFIX "/dev/fd/"

static bool is_dev_fd(const char *mountpoint)
{
	return strncmp(mountpoint, DEV_FD_PREFIX, strlen(DEV_FD_PREFIX)) == 0;
}

static int use_mounted_fd(const char *mountpoint, struct mount_state *st)
{
	const char *digits = mountpoint + strlen(DEV_FD_PREFIX);
	struct stat sb;
	char *end;
	long n;

	errno = 0;
	n = strtol(digits, &end, 10);
	if (errno || end == digits || *end || *digits < '0' || *digits > '9' || n < 0 ||
	    n > INT_MAX) {
		umfs_log(UMFS_LOG_ERR, "%s: not a descriptor number", mountpoint);
		return -EINVAL;
	}
	/* It must be an open /dev/fuse (character device 10:229), nothing else. */
	if (fstat((int)n, &sb) < 0 || !S_ISCHR(sb.st_mode) || major(sb.st_rdev) != 10 ||
	    minor(sb.st_rdev) != 229) {
		umfs_log(UMFS_LOG_ERR, "%s: not an open /dev/fuse connection", mountpoint);
		return -EBADF;
	}
	fcntl((int)n, F_SETFD, FD_CLOEXEC);
	free(st->mountpoint);
	st->mountpoint = strdup(mountpoint);
	if (!st->mountpoint)
		return -ENOMEM;
	st->fd = (int)n;
	st->by_fusermount = false;
	st->mounted = false; /* not ours to unmount */
	return 0;
}

int umfs_mount(umfs_session *s, const char *mountpoint)
{
	struct mount_opts o;
	int rc = mount_parse_options(s->cfg.mount_options, &o);

	o.file_mountpoint = s->cfg.file_mountpoint;

	if (rc == 0 && is_dev_fd(mountpoint)) {
		mount_opts_free(&o);
		session_hold_signals(s);
		rc = use_mounted_fd(mountpoint, &s->mnt);
		if (rc < 0)
			session_release_signals(s);
		return rc;
	}

	/* From the moment the mount exists, a stop request must find it served or
	 * unmounted, never kill the process under a live mount: hold the stop signals
	 * until umfs_session_loop() takes them. */
	session_hold_signals(s);
	if (rc == 0)
		rc = mount_fuse(mountpoint, &o, &s->mnt);
	if (rc < 0)
		session_release_signals(s);
	mount_opts_free(&o);
	return rc;
}
