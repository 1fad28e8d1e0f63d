/* SPDX-License-Identifier: MIT */
/*
 * umfsd - the umfs launcher service: starts, stops and supervises file system
 * instances for callers that a service file's allow list permits.
 *
 * One thread, one poll loop: the listening socket, client connections, a signalfd
 * (SIGCHLD, SIGTERM, SIGINT, SIGHUP) and a pidfd per adopted instance. Every request
 * gets one reply; a stop's reply waits until the instance is gone and unmounted.
 * This file: start-up (adoption, boot instances), connections, the loop and main;
 * requests.c answers requests, supervise.c follows instances (see daemon.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon.h"

struct service *services;
struct instance *instances;
struct conn *conns;
static unsigned nconns;
static uint64_t next_conn_id = 1;
static int listen_fd = -1, sig_fd = -1;
bool shutting_down;
static bool own_socket;
static const char *socket_path = "/run/umfs/launcher.sock";
static const char *services_dir = "/etc/umfs/services.d";

static bool log_journal; /* under systemd: stderr, with sd-daemon priority prefixes */

/* Decisions and events: syslog, or the journal through stderr under systemd (and
 * both syslog and stderr with --stderr, through openlog's LOG_PERROR). */
void dlog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_journal) {
		fprintf(stderr, "<%d>", prio);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(prio, fmt, ap);
	}
	va_end(ap);
}

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
	for (struct conn **p = &conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	close(c->fd);
	explicit_bzero(c->buf, c->have);
	free(c->buf);
	free(c);
	nconns--;
}

static void accept_one(void)
{
	struct timeval tv = { .tv_sec = 2 };
	struct conn *c;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (nconns >= MAX_CONNS) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->buf = malloc(PROTO_MAX_MESSAGE + 4);
	if (!c || !c->buf || ident_from_socket(fd, &c->who) < 0) {
		if (c)
			free(c->buf);
		free(c);
		close(fd);
		return;
	}
	/* Replies are written whole: a client that does not read gets dropped. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->fd = fd;
	c->id = next_conn_id++;
	c->next = conns;
	conns = c;
	nconns++;
}

static void conn_process(struct conn *c);

static void conn_read(struct conn *c)
{
	ssize_t n = recv(c->fd, c->buf + c->have, PROTO_MAX_MESSAGE + 4 - c->have, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->closing = true;
		return;
	}
	c->have += (size_t)n;
	conn_process(c);
}

/* Serve the complete requests buffered, one at a time: a request whose reply waits
 * (a stop, a start) holds the ones behind it until it is answered. */
static void conn_process(struct conn *c)
{
	while (!c->closing && !c->waiting && c->have >= 4) {
		uint32_t len = proto_get_length(c->buf);

		if (len > PROTO_MAX_MESSAGE || len < PROTO_HEADER) {
			dlog(LOG_NOTICE, "%s (uid %u): request of %u bytes refused: closing",
			     c->who.name, (unsigned)c->who.uid, len);
			reply_error(c, 0, len > PROTO_MAX_MESSAGE ? -EMSGSIZE : -EPROTO,
				    len > PROTO_MAX_MESSAGE ? "request too large" : "request too short");
			c->closing = true;
			return;
		}
		if (c->have < 4 + (size_t)len)
			return;
		if (!handle_message(c, c->buf + 4, len)) {
			c->closing = true;
			return;
		}
		explicit_bzero(c->buf, 4 + len);
		memmove(c->buf, c->buf + 4 + len, c->have - 4 - len);
		c->have -= 4 + len;
	}
}

/* ---- start-up ---- */

static void report_service_error(const char *msg)
{
	dlog(LOG_ERR, "%s", msg);
}

static void adopt(struct instance *inst, bool alive)
{
	if (alive) {
		inst->pidfd = (int)syscall(SYS_pidfd_open, inst->pid, 0);
		if (inst->pidfd >= 0) {
			inst->adopted = true;
			inst->state = ST_RUNNING;
			inst->started_ms = now_ms();
			inst->next = instances;
			instances = inst;
			dlog(LOG_INFO, "adopted %s/%s, pid %d", inst->svc->name, inst->name,
			     (int)inst->pid);
			return;
		}
	}
	/* Dead (or gone in between): clean up after it. */
	instance_ended(inst, -1);
	snprintf(inst->ended, sizeof(inst->ended), "ended while umfsd was not running");
	inst->state = ST_EXITED;
	inst->next = instances;
	instances = inst;
	dlog(LOG_INFO, "%s/%s ended while umfsd was not running: cleaned up", inst->svc->name,
	     inst->name);
}

static void start_boot_instances(void)
{
	for (struct service *s = services; s; s = s->next) {
		for (unsigned b = 0; b < s->nboot; b++) {
			struct boot_instance *bi = &s->boot[b];
			struct instance *inst = find_instance(s->name, bi->name);
			char err[768] = "";

			if (inst && active(inst))
				continue;
			if (inst) {
				unlink_instance(inst);
				instance_free(inst);
			}
			inst = calloc(1, sizeof(*inst));
			if (!inst)
				return;
			inst->svc = s;
			inst->pidfd = -1;
			snprintf(inst->name, sizeof(inst->name), "%s", bi->name);
			if (ident_from_uid(bi->owner, &inst->owner) < 0) {
				free(inst);
				continue;
			}
			for (unsigned i = 0; i < bi->argc; i++)
				if ((inst->argv[i] = strdup(bi->argv[i])))
					inst->argc = i + 1;
			/* Boot instances pass the same checks as a request from their owner. */
			if (check_args(s, inst->argc, inst->argv, err, sizeof(err)) < 0 ||
			    instance_spawn(inst, "/", NULL, 0, err, sizeof(err)) < 0) {
				dlog(LOG_ERR, "boot instance %s/%s: %s", s->name, bi->name, err);
				snprintf(inst->ended, sizeof(inst->ended), "boot start failed: %.130s", err);
				inst->state = ST_FAILED;
			} else {
				dlog(LOG_INFO, "boot instance %s/%s started, pid %d", s->name, bi->name,
				     (int)inst->pid);
			}
			inst->next = instances;
			instances = inst;
		}
	}
}

static int make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int listen_socket(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *lp = getenv("LISTEN_PID"), *lf = getenv("LISTEN_FDS");
	int fd;

	/* systemd socket activation: our socket is descriptor 3. */
	if (lp && lf && atoi(lp) == (int)getpid() && atoi(lf) >= 1) {
		fcntl(3, F_SETFD, FD_CLOEXEC);
		fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		return 3;
	}
	if (strlen(socket_path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "umfsd: socket path too long: %s\n", socket_path);
		return -1;
	}
	strcpy(a.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlink(socket_path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(socket_path, 0666) < 0 ||
	    listen(fd, 128) < 0) {
		fprintf(stderr, "umfsd: %s: %s\n", socket_path, strerror(errno));
		close(fd);
		return -1;
	}
	own_socket = true;
	return fd;
}

/* ---- the loop ---- */

static void on_signal(void)
{
	struct signalfd_siginfo si;

	while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap();
		} else if (si.ssi_signo == SIGHUP) {
			dlog(LOG_NOTICE, "SIGHUP: service files are read at start; restart umfsd to "
			     "reload them (running instances are adopted)");
		} else if (!shutting_down) {
			dlog(LOG_NOTICE, "%s: stopping every instance", strsignal((int)si.ssi_signo));
			shutting_down = true;
			for (struct instance *i = instances; i; i = i->next) {
				if (i->state == ST_RESTARTING)
					i->state = ST_EXITED;
				else if (i->state == ST_RUNNING)
					begin_stop(i);
			}
		}
	}
	reap();
}

static bool any_running(void)
{
	for (struct instance *i = instances; i; i = i->next)
		if (i->state == ST_RUNNING || i->state == ST_STOPPING)
			return true;
	return false;
}

static void loop(void)
{
	struct pollfd *p = calloc(MAX_CONNS + 1024, sizeof(*p));
	struct conn **pc = calloc(MAX_CONNS + 1024, sizeof(*pc));
	struct instance **pi = calloc(MAX_CONNS + 1024, sizeof(*pi));

	if (!p || !pc || !pi) {
		dlog(LOG_ERR, "out of memory");
		exit(1);
	}
	while (!(shutting_down && !any_running())) {
		unsigned n = 0;
		int rc;

		p[n] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		pc[n] = NULL, pi[n++] = NULL;
		if (!shutting_down) {
			p[n] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
			pc[n] = NULL, pi[n++] = NULL;
		}
		for (struct conn *c = conns; c && n < MAX_CONNS + 512; c = c->next) {
			p[n] = (struct pollfd){ .fd = c->fd, .events = c->waiting ? 0 : POLLIN };
			pc[n] = c, pi[n++] = NULL;
		}
		for (struct instance *i = instances; i && n < MAX_CONNS + 1000; i = i->next)
			if (i->pidfd >= 0 && (i->state == ST_RUNNING || i->state == ST_STOPPING)) {
				p[n] = (struct pollfd){ .fd = i->pidfd, .events = POLLIN };
				pc[n] = NULL, pi[n++] = i;
			}
		rc = poll(p, n, next_timeout());
		if (rc < 0 && errno != EINTR) {
			dlog(LOG_ERR, "poll: %m");
			break;
		}
		for (unsigned k = 0; rc > 0 && k < n; k++) {
			if (!p[k].revents)
				continue;
			if (p[k].fd == sig_fd && !pc[k] && !pi[k])
				on_signal();
			else if (p[k].fd == listen_fd && !pc[k] && !pi[k])
				accept_one();
			else if (pi[k])
				on_end(pi[k], -1);
			else if (pc[k] && (p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				pc[k]->waiting ? (void)(pc[k]->closing = true) : conn_read(pc[k]);
		}
		run_timers();
		for (struct conn *c = conns, *next; c; c = next) {
			next = c->next;
			if (!c->closing && !c->waiting && c->have >= 4)
				conn_process(c); /* what came in behind an answered wait */
			if (c->closing)
				conn_close(c);
		}
	}
	free(p);
	free(pc);
	free(pi);
}

static const char usage_text[] =
	"Usage: umfsd [options]\n"
	"\n"
	"The umfs launcher service: starts, stops and supervises file system instances\n"
	"described by service files, for the callers their allow lists name.\n"
	"\n"
	"  -s, --socket PATH      control socket (default /run/umfs/launcher.sock)\n"
	"  -c, --services DIR     service files (default /etc/umfs/services.d)\n"
	"  -S, --state-dir DIR    state of running instances (default /run/umfs)\n"
	"  -l, --log-dir DIR      instance logs (default /var/log/umfs)\n"
	"  -e, --stderr           also log to stderr (under systemd: stderr only anyway)\n"
	"  -h, --help             this help\n"
	"  -V, --version          the version\n"
	"\n"
	"umfsd stays in the foreground; SIGTERM or SIGINT stops every instance, then umfsd.\n"
	"Exit status: 0 after a clean stop, 1 failure, 2 usage.\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "services", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "log-dir", required_argument, NULL, 'l' },
		{ "stderr", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char inst_dir[PATH_MAX];
	int opt, log_opts = LOG_PID, nerr, lock_fd;
	sigset_t mask;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "s:c:S:l:ehV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': socket_path = optarg; break;
		case 'c': services_dir = optarg; break;
		case 'S': dcfg.state_dir = optarg; break;
		case 'l': dcfg.log_dir = optarg; break;
		case 'e': log_opts |= LOG_PERROR; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("umfsd %s, protocol %d\n", UMFS_VERSION, PROTO_VERSION); return 0;
		default:
			fprintf(stderr, "umfsd: unknown option or missing value '%s' (see umfsd --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "umfsd: unexpected argument '%s' (see umfsd --help)\n", argv[optind]);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "umfsd: must run as root (it mounts for its instances)\n");
		return 1;
	}
	log_journal = getenv("JOURNAL_STREAM") != NULL && !(log_opts & LOG_PERROR);
	openlog("umfsd", log_opts, LOG_DAEMON);
	umask(022);
	snprintf(inst_dir, sizeof(inst_dir), "%s/instances", dcfg.state_dir);
	if (make_dir(dcfg.state_dir, 0755) < 0 || make_dir(inst_dir, 0700) < 0 ||
	    make_dir(dcfg.log_dir, 0750) < 0) {
		fprintf(stderr, "umfsd: cannot create %s, %s or %s: %s\n", dcfg.state_dir, inst_dir,
			dcfg.log_dir, strerror(errno));
		return 1;
	}
	/* One umfsd per state directory: a second one would steal the socket and
	 * "clean up" instances the first still supervises. */
	snprintf(inst_dir, sizeof(inst_dir), "%s/umfsd.lock", dcfg.state_dir);
	lock_fd = open(inst_dir, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "umfsd: %s: %s\n", inst_dir, errno == EWOULDBLOCK ?
			"another umfsd is running with this state directory" : strerror(errno));
		return 1;
	}
	services = services_load(services_dir, report_service_error, &nerr);
	if (!services && errno) {
		fprintf(stderr, "umfsd: %s: %s\n", services_dir, strerror(errno));
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	listen_fd = listen_socket();
	if (sig_fd < 0 || listen_fd < 0)
		return 1;
	{
		unsigned ns = 0;

		for (struct service *s = services; s; s = s->next)
			ns++;
		dlog(LOG_INFO, "listening on %s; %u service%s loaded from %s, %d with errors",
		     own_socket ? socket_path : "the socket systemd passed", ns, ns == 1 ? "" : "s",
		     services_dir, nerr);
	}
	{
		char ctl[PATH_MAX];

		snprintf(ctl, sizeof(ctl), "%s/fusectl", dcfg.state_dir);
		dcfg.fusectl = priv_fusectl(ctl);
	}
	if (!cgroup_init())
		dlog(LOG_INFO, "no writable cgroup v2 hierarchy: an instance's job is its process "
		     "group");
	state_scan(services, adopt);
	start_boot_instances();
	loop();
	if (listen_fd >= 0)
		close(listen_fd);
	if (own_socket)
		unlink(socket_path);
	priv_fusectl_release();
	while (conns)
		conn_close(conns);
	while (instances) {
		struct instance *i = instances;

		instances = i->next;
		instance_free(i);
	}
	services_free(services);
	dlog(LOG_INFO, "stopped");
	return 0;
}
