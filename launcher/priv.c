/* SPDX-License-Identifier: MIT */
/*
 * priv.c - umfsd's privileged operations (see priv.h for the table).
 *
 * The mount point is resolved by a child that has become the caller (uid, gid,
 * groups), so every path component is looked up with the caller's rights, and the
 * directory comes back as an O_PATH descriptor over SCM_RIGHTS: umfsd mounts on
 * that very directory (/proc/self/fd/N), so a symlink swapped in afterwards cannot
 * redirect the mount.
 */
#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RESOLVE_TIMEOUT_MS 5000 /* a path through a hung FUSE mount must not hang umfsd */

static bool top_mount_type(const char *path, struct mount_id *id, bool *fuse);

static int send_fd_err(int sock, int fd, int err)
{
	struct iovec iov = { .iov_base = &err, .iov_len = sizeof(err) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int recv_fd_err(int sock, int *fd)
{
	int err = EIO;
	struct iovec iov = { .iov_base = &err, .iov_len = sizeof(err) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);

	*fd = -1;
	if (n != sizeof(err))
		return -EIO;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (err == 0 && *fd < 0)
		return -EIO;
	if (err != 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return -err;
}

/* In the child, as the caller: the checks fusermount3 makes. Returns an errno. */
static int check_as_caller(const struct ident *as, const char *cwd, const char *path, int *fdp)
{
	char proc[64];
	struct stat st;
	int fd;

	if (setgroups(as->ngroups, as->groups) < 0 || setresgid(as->gid, as->gid, as->gid) < 0 ||
	    setresuid(as->uid, as->uid, as->uid) < 0)
		return EPERM;
	if (path[0] != '/' && chdir(cwd) < 0)
		return errno;
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) < 0)
		return errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	/* Owner, or write access (fusermount3's rule); never someone else's sticky dir. */
	if (st.st_uid != as->uid && (access(proc, W_OK) < 0 || (st.st_mode & S_ISVTX)))
		return EACCES;
	*fdp = fd;
	return 0;
}

int priv_open_mountpoint(const struct ident *as, const char *cwd, const char *path, int *dirfd,
			 char *resolved, size_t rsize, char *err, size_t errsize)
{
	int sv[2], rc, status, fd = -1;
	struct pollfd p;
	char proc[64];
	ssize_t n;
	pid_t pid;

	*dirfd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (pid == 0) {
		int e;

		close(sv[0]);
		e = check_as_caller(as, cwd, path, &fd);
		send_fd_err(sv[1], fd, e);
		_exit(0);
	}
	close(sv[1]);
	p = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	rc = poll(&p, 1, RESOLVE_TIMEOUT_MS);
	if (rc <= 0) {
		kill(pid, SIGKILL);
		rc = -ETIMEDOUT;
	} else {
		rc = recv_fd_err(sv[0], &fd);
	}
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == -ETIMEDOUT) {
		snprintf(err, errsize, "mount point '%.200s' did not resolve in time", path);
		return rc;
	}
	if (rc < 0) {
		if (rc == -EACCES)
			snprintf(err, errsize, "mount point '%.200s': you may not mount there (you must "
				 "own it or have write access, and it must not be a sticky directory "
				 "you do not own)", path);
		else
			snprintf(err, errsize, "mount point '%.200s': %s", path, strerror(-rc));
		return rc;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, resolved, rsize - 1);
	if (n <= 0 || (size_t)n >= rsize - 1 || resolved[0] != '/') {
		close(fd);
		snprintf(err, errsize, "mount point '%.200s': cannot name it", path);
		return -ENAMETOOLONG;
	}
	resolved[n] = '\0';
	/* A FUSE file system there already (live or dead) would be hidden under ours,
	 * and ours would stand in the way of its unmount: as libumfs, refuse. */
	{
		struct mount_id id;
		bool fuse = false;

		if (top_mount_type(resolved, &id, &fuse) && fuse) {
			close(fd);
			snprintf(err, errsize, "mount point '%.200s': a FUSE file system is already "
				 "mounted there", path);
			return -EBUSY;
		}
	}
	*dirfd = fd;
	return 0;
}

/* ---- mountinfo ---- */

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

/* The device and file system type of the top mount at path (the last one listed
 * there). */
static bool top_mount_info(const char *path, struct mount_id *id, char *type, size_t tsize)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX], t[64] = "";
		char *sep = strstr(line, " - ");
		unsigned maj, min;

		if (sscanf(line, "%*s %*s %u:%u %*s %4095s", &maj, &min, mp) != 3)
			continue;
		if (sep)
			sscanf(sep + 3, "%63s", t);
		unescape(mp);
		if (strcmp(mp, path) == 0) {
			id->major = maj;
			id->minor = min;
			snprintf(type, tsize, "%s", t);
			found = true;
		}
	}
	free(line);
	fclose(f);
	return found;
}

/* The same, and whether it is a FUSE file system. */
static bool top_mount_type(const char *path, struct mount_id *id, bool *fuse)
{
	char type[64];

	if (!top_mount_info(path, id, type, sizeof(type)))
		return false;
	*fuse = strncmp(type, "fuse", 4) == 0;
	return true;
}

static bool top_mount(const char *path, struct mount_id *id)
{
	bool fuse;

	return top_mount_type(path, id, &fuse);
}

bool priv_is_mounted(const char *path, const struct mount_id *id)
{
	struct mount_id top;

	return top_mount(path, &top) && top.major == id->major && top.minor == id->minor;
}

/*
 * umount2 walks the path, and a path may cross a FUSE mount whose server its user
 * has stopped (SIGSTOP): the walk would wait for it forever. So the walk happens in
 * a child that umfsd gives up on (and kills) after RESOLVE_TIMEOUT_MS.
 */
static int umount_bounded(const char *path)
{
	int p[2], e = ETIMEDOUT, status;
	struct pollfd pfd;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		/* Lazy: a dead connection's mount may still be busy. UMOUNT_NOFOLLOW: the
		 * path is the one we mounted on; a symlink there now is not ours to follow. */
		int r = umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL ? errno : 0;

		if (write(p[1], &r, sizeof(r)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	if (poll(&pfd, 1, RESOLVE_TIMEOUT_MS) > 0 && read(p[0], &e, sizeof(e)) != sizeof(e))
		e = EIO;
	if (e == ETIMEDOUT)
		kill(pid, SIGKILL);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return -e;
}

bool priv_unmount(const char *path, const struct mount_id *id)
{
	if (!priv_is_mounted(path, id))
		return true;
	if (umount_bounded(path) < 0)
		return false;
	return !priv_is_mounted(path, id);
}

/* ---- mounting ---- */

struct kopts {
	unsigned long flags;
	bool allow_other, default_permissions;
	unsigned max_read;
	char fsname[256], subtype[64];
};

/* The mount options a service may set; nosuid and nodev are always on. */
static int parse_kopts(const char *options, struct kopts *o, char *err, size_t errsize)
{
	char buf[1024], *save = NULL;

	if (!options)
		return 0;
	if (strlen(options) >= sizeof(buf)) {
		snprintf(err, errsize, "mount options too long");
		return -EINVAL;
	}
	strcpy(buf, options);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "ro")) o->flags |= MS_RDONLY;
		else if (!strcmp(t, "rw")) o->flags &= ~(unsigned long)MS_RDONLY;
		else if (!strcmp(t, "noexec")) o->flags |= MS_NOEXEC;
		else if (!strcmp(t, "noatime")) o->flags |= MS_NOATIME;
		else if (!strcmp(t, "sync")) o->flags |= MS_SYNCHRONOUS;
		else if (!strcmp(t, "dirsync")) o->flags |= MS_DIRSYNC;
		else if (!strcmp(t, "allow_other")) o->allow_other = true;
		else if (!strcmp(t, "default_permissions")) o->default_permissions = true;
		else if (!strcmp(t, "nodefault_permissions")) o->default_permissions = false;
		else if (!strncmp(t, "fsname=", 7) && t[7] && strlen(t + 7) < sizeof(o->fsname))
			strcpy(o->fsname, t + 7);
		else if (!strncmp(t, "subtype=", 8) && t[8] && strlen(t + 8) < sizeof(o->subtype) &&
			 !strpbrk(t + 8, "/ "))
			strcpy(o->subtype, t + 8);
		else if (!strncmp(t, "max_read=", 9) && sscanf(t + 9, "%u", &o->max_read) == 1)
			;
		else {
			snprintf(err, errsize, "mount option '%.100s' is not one umfsd sets", t);
			return -EINVAL;
		}
	}
	return 0;
}

int priv_mount(const struct mount_request *m, int *fusefd, struct mount_id *id, char *err,
	       size_t errsize)
{
	struct kopts o = { .flags = MS_NOSUID | MS_NODEV, .default_permissions = true };
	char target[64], data[512], type[80];
	int fd, rc;

	snprintf(o.fsname, sizeof(o.fsname), "%s", m->fsname);
	snprintf(o.subtype, sizeof(o.subtype), "%s", m->subtype);
	if ((rc = parse_kopts(m->options, &o, err, errsize)))
		return rc;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errsize, "cannot open /dev/fuse: %s", strerror(errno));
		return rc;
	}
	/* rootmode: a directory (the check opened it with O_DIRECTORY). No stat here: on
	 * a FUSE file system that would be a request its server may never answer. */
	snprintf(data, sizeof(data), "fd=%d,rootmode=%o,user_id=%u,group_id=%u%s%s", fd,
		 (unsigned)S_IFDIR, (unsigned)m->uid, (unsigned)m->gid,
		 o.allow_other ? ",allow_other" : "",
		 o.default_permissions ? ",default_permissions" : "");
	if (o.max_read) {
		size_t n = strlen(data);

		snprintf(data + n, sizeof(data) - n, ",max_read=%u", o.max_read);
	}
	snprintf(type, sizeof(type), "fuse.%s", o.subtype);
	snprintf(target, sizeof(target), "/proc/self/fd/%d", m->dirfd);
	if (mount(o.fsname, target, type, o.flags, data) < 0) {
		rc = -errno;
		snprintf(err, errsize, "mount on %.200s: %s", m->path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!top_mount(m->path, id)) {
		/* Mounted, but not where the path says (renamed meanwhile): do not keep it. */
		umount2(target, MNT_DETACH);
		close(fd);
		snprintf(err, errsize, "mount on %.200s: the directory moved away", m->path);
		return -ESTALE;
	}
	*fusefd = fd;
	return 0;
}

/* ---- fusectl ---- */

static char fusectl_dir[PATH_MAX];
static bool fusectl_ours;

const char *priv_fusectl(const char *dir)
{
	struct mount_id id;
	char type[64];

	if (strlen(dir) >= sizeof(fusectl_dir) || (mkdir(dir, 0700) < 0 && errno != EEXIST))
		return "/sys/fs/fuse/connections";
	strcpy(fusectl_dir, dir);
	/* Already there (left by a umfsd that was killed): use it as it is. */
	if (!(top_mount_info(dir, &id, type, sizeof(type)) && !strcmp(type, "fusectl")) &&
	    mount("fusectl", dir, "fusectl", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return "/sys/fs/fuse/connections";
	fusectl_ours = true;
	return fusectl_dir;
}

void priv_fusectl_release(void)
{
	if (fusectl_ours)
		umount2(fusectl_dir, MNT_DETACH | UMOUNT_NOFOLLOW);
	fusectl_ours = false;
}
