/* SPDX-License-Identifier: MIT */
/*
 * instance.c - one file system instance's life: mount on its behalf, start it as its
 * user with the connection as /dev/fd/3, clean up after its end, and keep a state
 * file so that a umfsd restarted after a crash finds it again.
 */
#include "instance.h"

#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#define CHILD_FUSE_FD 3
#define CHILD_FUSE_PATH "/dev/fd/3"
#define LOG_KEEP (1024 * 1024)

struct daemon_config dcfg = { "/run/umfs", "/var/log/umfs", "/sys/fs/fuse/connections" };

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *state_name(enum inst_state st)
{
	switch (st) {
	case ST_RUNNING: return "running";
	case ST_STOPPING: return "stopping";
	case ST_RESTARTING: return "restarting";
	case ST_EXITED: return "exited";
	case ST_FAILED: return "failed";
	}
	return "?";
}

int instance_serving(const struct instance *inst)
{
	char path[PATH_MAX + 64], buf[32];
	ssize_t n;
	int fd;

	/* fusectl names a connection by its device number (anonymous: major 0). The
	 * kernel's INIT counts as waiting until it is answered, so 0 waiting requests
	 * means the file system has answered it. */
	if (!inst->mounted || inst->mnt.major != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%u/waiting", dcfg.fusectl, inst->mnt.minor);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (atoi(buf) != 0)
		return 0;
	/* Nothing waits on a connection that ended either: a file system that died
	 * before answering INIT closed it, and the kernel dropped the INIT. So it serves
	 * only while its process lives (a zombie has ended), whether or not umfsd has
	 * seen the end yet. */
	return proc_starttime(inst->pid) != 0;
}

unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* After the command name (which may hold anything, up to the last ')'):
	 * state is field 3, starttime field 22. */
	p = strrchr(buf, ')');
	/* A zombie is an ended process, however it looks in /proc. */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	if (sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
			 "%*s %*s %*s %*s %llu", &t) != 1)
		return 0;
	return t;
}

char *log_path(const struct instance *inst)
{
	char *p;

	if (asprintf(&p, "%s/%s@%s.log", dcfg.log_dir, inst->svc->name, inst->name) < 0)
		return NULL;
	return p;
}

static char *state_path(const char *svc, const char *inst)
{
	char *p;

	if (asprintf(&p, "%s/instances/%s@%s", dcfg.state_dir, svc, inst) < 0)
		return NULL;
	return p;
}

/* ---- mount options ---- */

/* Substitute per comma-separated item, so that an argument cannot add an option. */
static char *mount_options(const struct instance *inst, char *err, size_t errsize)
{
	const char *t = inst->svc->mount_options;
	char *copy, *save = NULL, *out = NULL;
	size_t len = 0;

	if (!t)
		return strdup("");
	copy = strdup(t);
	if (!copy)
		return NULL;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *v = service_subst(item, inst->name, inst->argc, inst->argv);
		char *grown;

		if (!v || strchr(v, ',')) {
			if (v)
				snprintf(err, errsize, "an argument puts a ',' into mount option '%.100s'",
					 item);
			free(v);
			free(out);
			free(copy);
			return NULL;
		}
		grown = realloc(out, len + strlen(v) + 2);
		if (!grown) {
			free(v);
			free(out);
			free(copy);
			return NULL;
		}
		out = grown;
		len += (size_t)sprintf(out + len, "%s%s", len ? "," : "", v);
		free(v);
	}
	free(copy);
	return out ? out : strdup("");
}

static int mount_for(struct instance *inst, const char *cwd, int *fusefd, char *err,
		     size_t errsize)
{
	const char *mp = inst->argv[inst->svc->mount_arg - 2];
	char resolved[PATH_MAX], fsname[PROTO_MAX_NAME * 2 + 2];
	struct mount_request m = { .uid = inst->run_uid, .gid = inst->run_gid };
	char *opts;
	int rc, dirfd;

	/* Restarts resolve the recorded path again, still as the owner: permissions
	 * may have changed meanwhile. */
	rc = priv_open_mountpoint(&inst->owner, cwd, inst->mountpoint ? inst->mountpoint : mp,
				  &dirfd, resolved, sizeof(resolved), err, errsize);
	if (rc < 0)
		return rc;
	opts = mount_options(inst, err, errsize);
	if (!opts) {
		close(dirfd);
		return -EINVAL;
	}
	snprintf(fsname, sizeof(fsname), "%s:%s", inst->svc->name, inst->name);
	m.dirfd = dirfd;
	m.path = resolved;
	m.options = opts;
	m.fsname = fsname;
	m.subtype = inst->svc->name;
	rc = priv_mount(&m, fusefd, &inst->mnt, err, errsize);
	close(dirfd);
	free(opts);
	if (rc < 0)
		return rc;
	free(inst->mountpoint);
	inst->mountpoint = strdup(resolved);
	inst->mounted = true;
	if (!inst->mountpoint) {
		priv_unmount(resolved, &inst->mnt);
		inst->mounted = false;
		close(*fusefd);
		return -ENOMEM;
	}
	return 0;
}

/* ---- the child ---- */

static void child_fail(int errfd, int e)
{
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

/* Between fork and exec: descriptors into place, identity dropped, clean signals. */
static void child(struct instance *inst, char **argv, int in, int logfd, int fusefd, int errfd)
{
	struct passwd *pw = getpwuid(inst->run_uid);
	char home[PATH_MAX], user[64], env_s[128], env_i[128], env_h[PATH_MAX + 8],
		env_u[80], env_l[80];
	/* UMFS_NO_URING: over io_uring the kernel hands a request to the server at once,
	 * and a caller then waits for the answer unkillably; a file system its user has
	 * stopped (SIGSTOP) would then hold umfsd's children, and umfsd, for good. */
	char *envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin", env_h, env_u, env_l, env_s, env_i,
			 "UMFS_NO_URING=1", NULL };
	sigset_t none;
	int fds[3] = { in, logfd, fusefd };

	setsid(); /* its own process group: the job that a stop kills */
	/* And its own cgroup where there is one, which also holds what leaves the group. */
	if (inst->cgroup && cgroup_enter(inst->cgroup) < 0)
		child_fail(errfd, errno ? errno : EIO);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	/* Move everything above the target numbers first, so dup2s cannot collide. */
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0 && fds[i] < 10) {
			int h = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);

			if (h < 0)
				child_fail(errfd, errno);
			fds[i] = h;
		}
	}
	if (errfd < 10) {
		int h = fcntl(errfd, F_DUPFD_CLOEXEC, 10);

		if (h < 0)
			child_fail(errfd, errno);
		errfd = h;
	}
	if (dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0 ||
	    (fds[2] >= 0 && dup2(fds[2], CHILD_FUSE_FD) < 0))
		child_fail(errfd, errno);
	/* Nothing of umfsd's (sockets, other instances' logs) reaches the child. The
	 * error pipe is close-on-exec and goes at exec. */
	close_range(fds[2] >= 0 ? CHILD_FUSE_FD + 1 : CHILD_FUSE_FD, (unsigned)errfd - 1, 0);
	close_range((unsigned)errfd + 1, ~0U, 0);
	snprintf(home, sizeof(home), "%s", pw ? pw->pw_dir : "/");
	if (pw)
		snprintf(user, sizeof(user), "%s", pw->pw_name);
	else
		snprintf(user, sizeof(user), "%u", (unsigned)inst->run_uid);
	snprintf(env_h, sizeof(env_h), "HOME=%s", home);
	snprintf(env_u, sizeof(env_u), "USER=%s", user);
	snprintf(env_l, sizeof(env_l), "LOGNAME=%s", user);
	snprintf(env_s, sizeof(env_s), "UMFS_SERVICE=%s", inst->svc->name);
	snprintf(env_i, sizeof(env_i), "UMFS_INSTANCE=%s", inst->name);
	if (inst->run_uid != 0 || inst->svc->run_as != RUN_ROOT) {
		const gid_t *groups = inst->owner.groups;
		unsigned ngroups = inst->owner.ngroups;
		struct ident who;

		if (inst->svc->run_as == RUN_USER) {
			if (ident_from_uid(inst->run_uid, &who) < 0)
				child_fail(errfd, ENOENT);
			groups = who.groups;
			ngroups = who.ngroups;
		}
		if (setgroups(ngroups, groups) < 0 ||
		    setresgid(inst->run_gid, inst->run_gid, inst->run_gid) < 0 ||
		    setresuid(inst->run_uid, inst->run_uid, inst->run_uid) < 0)
			child_fail(errfd, EPERM);
	}
	if (chdir("/") < 0)
		child_fail(errfd, errno);
	execve(argv[0], argv, envp);
	child_fail(errfd, errno);
}

static int open_log(struct instance *inst)
{
	char *path = log_path(inst);
	char line[256];
	time_t t = time(NULL);
	struct tm tm;
	struct stat st;
	char *old;
	int fd;

	if (!path)
		return -1;
	/* Logs are kept to about LOG_KEEP: a bigger one becomes NAME.log.1 at a start. */
	if (lstat(path, &st) == 0 && st.st_size > LOG_KEEP && asprintf(&old, "%s.1", path) >= 0) {
		rename(path, old);
		free(old);
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	free(path);
	if (fd < 0)
		return -1;
	gmtime_r(&t, &tm);
	strftime(line, sizeof(line), "--- umfsd: starting at %Y-%m-%dT%H:%M:%SZ ---\n", &tm);
	if (write(fd, line, strlen(line)) < 0)
		syslog(LOG_WARNING, "writing the log of %s/%s: %m", inst->svc->name, inst->name);
	return fd;
}

/* stdin: the secret through a pipe (it fits in the pipe's buffer), or /dev/null. */
static int stdin_for(const void *secret, size_t len)
{
	int p[2];

	if (!secret)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if (len && write(p[1], secret, len) != (ssize_t)len) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	return p[0];
}

int instance_spawn(struct instance *inst, const char *cwd, const void *secret,
		   size_t secret_len, char *err, size_t errsize)
{
	const struct service *s = inst->svc;
	int fusefd = -1, in = -1, logfd = -1, ep[2] = { -1, -1 }, rc, e = 0;
	char **argv = NULL;
	ssize_t n;
	pid_t pid;

	switch (s->run_as) {
	case RUN_CALLER:
		inst->run_uid = inst->owner.uid;
		inst->run_gid = inst->owner.gid;
		break;
	case RUN_USER:
		inst->run_uid = s->run_uid;
		inst->run_gid = s->run_gid;
		break;
	case RUN_ROOT:
		inst->run_uid = 0;
		inst->run_gid = 0;
		break;
	}
	if (s->mount_arg && (rc = mount_for(inst, cwd, &fusefd, err, errsize)) < 0)
		return rc;
	rc = -ENOMEM;
	argv = service_argv(s, inst->name, inst->argc, inst->argv,
			    s->mount_arg ? CHILD_FUSE_PATH : NULL);
	if (!argv)
		goto fail;
	in = stdin_for(secret, secret_len);
	logfd = open_log(inst);
	if (in < 0 || logfd < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errsize, "cannot set up the instance's stdin, log or pipe: %s",
			 strerror(errno));
		goto fail;
	}
	if (!inst->cgroup)
		inst->cgroup = cgroup_create(s->name, inst->name);
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errsize, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child(inst, argv, in, logfd, fusefd, ep[1]);
	close(ep[1]);
	ep[1] = -1;
	/* EOF: exec happened. An errno: it did not. */
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(e)) {
		int st;

		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		rc = -e;
		snprintf(err, errsize, "cannot run %s: %s", s->executable, strerror(e));
		goto fail;
	}
	/* The child holds the connection now; umfsd must not, or the kernel would
	 * never see the connection close when the child dies. */
	if (fusefd >= 0)
		close(fusefd);
	close(ep[0]);
	close(in);
	close(logfd);
	argv_free(argv);
	inst->pid = pid;
	inst->starttime = proc_starttime(pid);
	inst->pidfd = -1;
	inst->adopted = false;
	inst->state = ST_RUNNING;
	inst->since = time(NULL);
	inst->started_ms = now_ms();
	inst->stop_requested = inst->killed = false;
	inst->had_secret = secret != NULL;
	if (state_write(inst) < 0)
		syslog(LOG_WARNING, "%s/%s: cannot write its state file: %m", s->name, inst->name);
	return 0;

fail:
	if (inst->cgroup && cgroup_remove(inst->cgroup)) {
		free(inst->cgroup);
		inst->cgroup = NULL;
	}
	if (rc == -ENOMEM && !err[0])
		snprintf(err, errsize, "out of memory");
	if (fusefd >= 0)
		close(fusefd);
	if (inst->mounted) {
		priv_unmount(inst->mountpoint, &inst->mnt);
		inst->mounted = false;
	}
	for (int i = 0; i < 2; i++)
		if (ep[i] >= 0)
			close(ep[i]);
	if (in >= 0)
		close(in);
	if (logfd >= 0)
		close(logfd);
	argv_free(argv);
	return rc;
}

void instance_kill_job(struct instance *inst)
{
	if (inst->cgroup)
		cgroup_kill(inst->cgroup);
	if (inst->pid > 0)
		kill(-inst->pid, SIGKILL);
}

bool instance_release_cgroup(struct instance *inst)
{
	if (inst->cgroup && !cgroup_remove(inst->cgroup))
		return false;
	free(inst->cgroup);
	inst->cgroup = NULL;
	return true;
}

void instance_signal(struct instance *inst, int sig)
{
	if (inst->pid <= 0)
		return;
	/* SIGKILL takes the whole job (its cgroup, its process group); SIGTERM asks the
	 * main process, which is the one that ends the file system cleanly. */
	if (sig == SIGKILL && inst->svc->job_control)
		instance_kill_job(inst);
	if (inst->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, inst->pidfd, sig, NULL, 0);
	else
		kill(inst->pid, sig);
}

void instance_ended(struct instance *inst, int wstatus)
{
	const struct service *s = inst->svc;

	/* Whatever of the job is left goes with it (it may hold the connection). */
	if (s->job_control)
		instance_kill_job(inst);
	if (inst->killed)
		snprintf(inst->ended, sizeof(inst->ended), "killed with SIGKILL after the %u ms "
			 "stop timeout", s->stop_timeout_ms);
	else if (wstatus == -1)
		snprintf(inst->ended, sizeof(inst->ended), "ended (status unknown: adopted after "
			 "a umfsd restart)");
	else if (WIFEXITED(wstatus))
		snprintf(inst->ended, sizeof(inst->ended), "exited with status %d",
			 WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(inst->ended, sizeof(inst->ended), "killed by signal %d (%s)",
			 WTERMSIG(wstatus), sigabbrev_np(WTERMSIG(wstatus)) ?
			 sigabbrev_np(WTERMSIG(wstatus)) : "?");
	if (inst->mounted) {
		if (!priv_unmount(inst->mountpoint, &inst->mnt)) {
			size_t n = strlen(inst->ended);

			syslog(LOG_ERR, "%s/%s: cannot unmount %s", s->name, inst->name,
			       inst->mountpoint);
			snprintf(inst->ended + n, sizeof(inst->ended) - n, "; its mount could not be "
				 "removed");
		}
		inst->mounted = false;
	}
	if (inst->pidfd >= 0) {
		close(inst->pidfd);
		inst->pidfd = -1;
	}
	state_remove(inst);
	inst->pid = 0;
}

void instance_free(struct instance *inst)
{
	for (unsigned i = 0; i < inst->argc; i++)
		free(inst->argv[i]);
	if (inst->pidfd >= 0)
		close(inst->pidfd);
	free(inst->mountpoint);
	free(inst->cgroup);
	free(inst);
}

/* ---- state files ----
 * One per live instance, "key value" lines (values have no newline: arguments with
 * control characters are refused at start). Written to a temporary name, renamed. */

int state_write(const struct instance *inst)
{
	char *path = state_path(inst->svc->name, inst->name), *tmp = NULL;
	FILE *f;
	int rc = 0;

	if (!path || asprintf(&tmp, "%s.tmp", path) < 0) {
		free(path);
		return -ENOMEM;
	}
	f = fopen(tmp, "we");
	if (!f) {
		rc = -errno;
		goto out;
	}
	fprintf(f, "service %s\ninstance %s\npid %d\nstarttime %llu\nsince %lld\n",
		inst->svc->name, inst->name, (int)inst->pid, inst->starttime,
		(long long)inst->since);
	fprintf(f, "owner %u %u\nrun %u %u\nrestarts %u\n", (unsigned)inst->owner.uid,
		(unsigned)inst->owner.gid, (unsigned)inst->run_uid, (unsigned)inst->run_gid,
		inst->restarts);
	fprintf(f, "groups");
	for (unsigned i = 0; i < inst->owner.ngroups; i++)
		fprintf(f, " %u", (unsigned)inst->owner.groups[i]);
	fprintf(f, "\n");
	if (inst->mounted)
		fprintf(f, "mount %u:%u %s\n", inst->mnt.major, inst->mnt.minor, inst->mountpoint);
	if (inst->cgroup)
		fprintf(f, "cgroup %s\n", inst->cgroup);
	for (unsigned i = 0; i < inst->argc; i++)
		fprintf(f, "arg %s\n", inst->argv[i]);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		rc = -errno;
out:
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

void state_remove(const struct instance *inst)
{
	char *path = state_path(inst->svc->name, inst->name);

	if (path)
		unlink(path);
	free(path);
}

static struct instance *state_read(const char *path, struct service *services)
{
	struct instance *inst = calloc(1, sizeof(*inst));
	char *line = NULL, svc[PROTO_MAX_NAME + 2] = "";
	size_t cap = 0;
	FILE *f = fopen(path, "re");
	bool ok = inst != NULL && f != NULL;
	ssize_t n;

	while (ok && (n = getline(&line, &cap, f)) > 0) {
		char *v = strchr(line, ' ');
		unsigned a, b;

		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (!v)
			continue;
		*v++ = '\0';
		if (!strcmp(line, "service"))
			snprintf(svc, sizeof(svc), "%s", v);
		else if (!strcmp(line, "instance"))
			snprintf(inst->name, sizeof(inst->name), "%s", v);
		else if (!strcmp(line, "pid"))
			inst->pid = atoi(v);
		else if (!strcmp(line, "starttime"))
			inst->starttime = strtoull(v, NULL, 10);
		else if (!strcmp(line, "since"))
			inst->since = (time_t)atoll(v);
		else if (!strcmp(line, "restarts"))
			inst->restarts = (unsigned)atoi(v);
		else if (!strcmp(line, "owner") && sscanf(v, "%u %u", &a, &b) == 2)
			inst->owner.uid = a, inst->owner.gid = b;
		else if (!strcmp(line, "run") && sscanf(v, "%u %u", &a, &b) == 2)
			inst->run_uid = a, inst->run_gid = b;
		else if (!strcmp(line, "groups")) {
			char *save = NULL;

			for (char *g = strtok_r(v, " ", &save); g && inst->owner.ngroups < IDENT_MAX_GROUPS;
			     g = strtok_r(NULL, " ", &save))
				inst->owner.groups[inst->owner.ngroups++] = (gid_t)strtoul(g, NULL, 10);
		} else if (!strcmp(line, "mount") && sscanf(v, "%u:%u", &a, &b) == 2 && strchr(v, ' ')) {
			inst->mnt.major = a;
			inst->mnt.minor = b;
			free(inst->mountpoint);
			inst->mountpoint = strdup(strchr(v, ' ') + 1);
			inst->mounted = inst->mountpoint != NULL;
		} else if (!strcmp(line, "cgroup") && v[0] == '/' && !strstr(v, "/../")) {
			free(inst->cgroup);
			inst->cgroup = strdup(v);
		} else if (!strcmp(line, "arg") && inst->argc < PROTO_MAX_ARGS) {
			inst->argv[inst->argc] = strdup(v);
			if (inst->argv[inst->argc])
				inst->argc++;
		}
	}
	free(line);
	if (f)
		fclose(f);
	if (!ok)
		goto bad;
	inst->svc = service_find(services, svc);
	inst->pidfd = -1;
	if (!inst->svc || !proto_valid_name(inst->name) || inst->pid <= 0)
		goto bad;
	uid_name(inst->owner.uid, inst->owner.name, sizeof(inst->owner.name));
	return inst;
bad:
	syslog(LOG_WARNING, "state file %s names no instance of a known service: removed", path);
	if (inst && inst->mounted && inst->mountpoint) {
		/* The service is gone; what it left mounted goes too. */
		if (inst->pid > 0 && proc_starttime(inst->pid) == inst->starttime &&
		    inst->starttime != 0)
			kill(-inst->pid, SIGKILL);
		priv_unmount(inst->mountpoint, &inst->mnt);
	}
	if (inst)
		instance_free(inst);
	unlink(path);
	return NULL;
}

void state_scan(struct service *services, void (*found)(struct instance *inst, bool alive))
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/instances", dcfg.state_dir);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX + 300];
		struct instance *inst;
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (len > 4 && !strcmp(e->d_name + len - 4, ".tmp")) {
			unlink(path);
			continue;
		}
		inst = state_read(path, services);
		if (!inst)
			continue;
		/* Alive: the same process (pid and start time), not a reused pid. */
		found(inst, inst->starttime != 0 && proc_starttime(inst->pid) == inst->starttime);
	}
	closedir(d);
}
