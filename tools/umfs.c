/* SPDX-License-Identifier: MIT */
/*
 * umfs - mount and unmount umfs file systems.
 *
 *   umfs mount KIND [SOURCE] MOUNTPOINT [options]
 *   umfs unmount [--lazy] MOUNTPOINT
 *
 * Exit status: 0 ok, 1 failure, 2 usage, 3 mount point missing, 4 mount point not a
 * directory, 5 already mounted, 6 no /dev/fuse, 7 permission denied.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <umfs/umfs.h>

#include "kinds.h"
#include "crypt_cmd.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_NO_MOUNTPOINT = 3,
	EXIT_NOT_DIR = 4,
	EXIT_MOUNTED = 5,
	EXIT_NO_FUSE = 6,
	EXIT_PERM = 7,
};

static const char usage_text[] =
	"Usage: umfs mount KIND [SOURCE] MOUNTPOINT [options]\n"
	"       umfs unmount [--lazy] MOUNTPOINT\n"
	"       umfs crypt init|fsck|passwd VAULT (see umfs crypt --help)\n"
	"       umfs --help | --version\n"
	"\n"
	"Mount a user-mode file system through the kernel's FUSE driver.\n"
	"\n"
	"Kinds:\n"
	"%s"
	"\n"
	"Mount options:\n"
	"  -f, --foreground        stay in the foreground (default: run as a daemon)\n"
	"  -d, --debug             trace every request and reply on stderr (implies -f)\n"
	"  -s, --single-threaded   serve requests on one thread\n"
	"  -t, --threads N         worker threads (default: one per CPU)\n"
	"      --max-threads N     up to N workers while all wait in callbacks (for a\n"
	"                          disk, a network; default: --threads, a fixed pool)\n"
	"      --no-uring          serve through /dev/fuse even where the kernel offers\n"
	"                          FUSE-over-io_uring (fuse.enable_uring=Y)\n"
	"      --poll-us N         after a reply, keep reading for up to N microseconds\n"
	"                          before sleeping (default 50; 0: never, saves CPU)\n"
	"      --fsname NAME       the name mount tables show (same as -o fsname=NAME)\n"
	"  -o OPT[,OPT...]         mount options: allow_other, noallow_other,\n"
	"                          default_permissions, nodefault_permissions, ro, rw,\n"
	"                          suid, dev, noexec, noatime, sync, dirsync,\n"
	"                          fsname=NAME, subtype=NAME, max_read=N\n"
	"                          (as root the defaults are allow_other and\n"
	"                          default_permissions: everyone may use the file system\n"
	"                          under the usual permission checks, as on tmpfs; a\n"
	"                          mirror acting as each caller leaves the checks to\n"
	"                          SOURCE, without default_permissions)\n"
	"  --attr-timeout SECS     how long the kernel may keep attributes (sizes, times,\n"
	"  --entry-timeout SECS    modes), names, and the absence of a name before asking\n"
	"  --negative-timeout SECS again (defaults per kind: memfs caches for a day, as it\n"
	"                          alone changes its files; mirror 1 s, so changes made\n"
	"                          in SOURCE behind the mount are seen within 1 s)\n"
	"%s"
	"\n"
	"Unmount options:\n"
	"  -z, --lazy              detach now even if files are open\n"
	"\n"
	"Exit status: 0 ok, 1 failure, 2 usage error, 3 mount point missing,\n"
	"4 mount point not a directory, 5 already mounted, 6 no /dev/fuse,\n"
	"7 permission denied.\n";

static void usage(FILE *f)
{
	char kinds[2048], opts[2048];

	kind_describe_all(kinds, sizeof(kinds), opts, sizeof(opts));
	fprintf(f, usage_text, kinds, opts);
}

enum { OPT_ATTR_TIMEOUT = 2000, OPT_ENTRY_TIMEOUT, OPT_NEGATIVE_TIMEOUT, OPT_NO_URING, OPT_POLL_US,
       OPT_MAX_THREADS };

/* The cache timeouts given on the command line; negative: keep the kind's default. */
struct timeouts {
	double attr, entry, negative;
};

/* One line on stderr, exit status 2. */
static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "umfs: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see umfs --help)\n");
	return EXIT_USAGE;
}

/* getopt's view of what went wrong, named, in one line. */
static int bad_option(char **argv)
{
	const char *arg = argv[optind - 1];

	/* getopt sets optopt to the option that lacks its value (short or long). */
	if (optopt == 't' || optopt == 'o' || optopt == 'F' || optopt == OPT_MAX_SIZE ||
	    optopt == OPT_MAX_NODES || optopt == OPT_ATTR_TIMEOUT || optopt == OPT_ENTRY_TIMEOUT ||
	    optopt == OPT_NEGATIVE_TIMEOUT || optopt == OPT_ALLOW || optopt == OPT_ALLOW_UID ||
	    optopt == OPT_ALLOW_CGROUP || optopt == OPT_PASSFILE)
		return usage_error("option '%s' needs a value", arg);
	return usage_error("unknown option '%s'", arg);
}

/* A timeout in seconds: 0 up to a year, fractions allowed. */
static int parse_timeout(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !(*out >= 0 && *out <= 366 * 86400.0)) {
		usage_error("bad timeout '%s' (seconds, e.g. 1 or 0.5)", s);
		return -1;
	}
	return 0;
}

/* --threads and --max-threads: 1 to 1024. */
static int parse_thread_count(const char *s, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n == 0 || n > 1024) {
		usage_error("bad thread count '%s'", s);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

static void apply_timeouts(const struct timeouts *t, struct umfs_config *cfg)
{
	if (t->attr >= 0)
		cfg->attr_timeout = t->attr;
	if (t->entry >= 0)
		cfg->entry_timeout = t->entry;
	if (t->negative >= 0)
		cfg->negative_timeout = t->negative;
}

static int exit_code_for(int err)
{
	switch (err) {
	case -ENOENT: return EXIT_NO_MOUNTPOINT;
	case -ENOTDIR: return EXIT_NOT_DIR;
	case -EBUSY: return EXIT_MOUNTED;
	case -ENODEV: return EXIT_NO_FUSE;
	case -EPERM: case -EACCES: return EXIT_PERM;
	case -EINVAL: return EXIT_USAGE;
	default: return EXIT_FAIL;
	}
}

/* Options common to every kind, then the defaults, then what the user gave (last wins). */
static char *mount_options(const char *kind, const char *user, const char *fsname,
			   bool fs_checks_permissions)
{
	const char *defaults = geteuid() != 0		? "default_permissions"
			       : fs_checks_permissions ? "allow_other"
						       : "allow_other,default_permissions";
	size_t n = strlen(defaults) + 2 * strlen(kind) + (user ? strlen(user) : 0) +
		   (fsname ? strlen(fsname) : 0) + 48;
	char *s = malloc(n);

	/* --fsname NAME is -o fsname=NAME, after -o so that it wins. */
	if (s)
		snprintf(s, n, "%s,fsname=%s,subtype=%s%s%s%s%s", defaults, kind, kind,
			 user ? "," : "", user ? user : "", fsname ? ",fsname=" : "",
			 fsname ? fsname : "");
	return s;
}

/* Leave the terminal: the parent returns once the mount is live, which it already is. */
static int daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	setsid();
	if (chdir("/") < 0)
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	openlog("umfs", LOG_PID, LOG_DAEMON);
	umfs_set_log(umfs_log_syslog, NULL);
	return 0;
}

static int cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "single-threaded", no_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "attr-timeout", required_argument, NULL, OPT_ATTR_TIMEOUT },
		{ "entry-timeout", required_argument, NULL, OPT_ENTRY_TIMEOUT },
		{ "negative-timeout", required_argument, NULL, OPT_NEGATIVE_TIMEOUT },
		{ "fsname", required_argument, NULL, 'F' },
		{ "no-uring", no_argument, NULL, OPT_NO_URING },
		{ "poll-us", required_argument, NULL, OPT_POLL_US },
		{ "max-threads", required_argument, NULL, OPT_MAX_THREADS },
		KIND_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct umfs_config cfg;
	struct kind_args kargs = { 0 };
	struct timeouts timeouts = { -1, -1, -1 };
	const struct fs_kind *kind;
	const char *user_opts = NULL, *mountpoint, *source = NULL, *fsname = NULL;
	bool foreground = false;
	struct kind_instance inst;
	umfs_session *s;
	char *opts, *end;
	int c, rc;

	umfs_config_init(&cfg);
	opterr = 0; /* errors are reported here, in one line */
	/* '+' is not used: options may follow the positional arguments, as users type them. */
	while ((c = getopt_long(argc, argv, "fdst:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': foreground = true; break;
		case 'd': cfg.debug = 1; foreground = true; break;
		case 's': cfg.single_threaded = 1; break;
		case 't':
			if (parse_thread_count(optarg, &cfg.threads) < 0)
				return EXIT_USAGE;
			break;
		case OPT_MAX_THREADS:
			if (parse_thread_count(optarg, &cfg.max_threads) < 0)
				return EXIT_USAGE;
			break;
		case 'o': user_opts = optarg; break;
		case OPT_ATTR_TIMEOUT:
			if (parse_timeout(optarg, &timeouts.attr) < 0)
				return EXIT_USAGE;
			break;
		case OPT_ENTRY_TIMEOUT:
			if (parse_timeout(optarg, &timeouts.entry) < 0)
				return EXIT_USAGE;
			break;
		case OPT_NEGATIVE_TIMEOUT:
			if (parse_timeout(optarg, &timeouts.negative) < 0)
				return EXIT_USAGE;
			break;
		case 'F': fsname = optarg; break;
		case OPT_NO_URING: cfg.no_uring = 1; break;
		case OPT_POLL_US:
			errno = 0;
			cfg.poll_us = (int)strtol(optarg, &end, 10);
			if (errno || *end || !*optarg || cfg.poll_us < 0 || cfg.poll_us > 100000)
				return usage_error("bad polling time '%s' (0 to 100000 microseconds)",
						   optarg);
			if (cfg.poll_us == 0)
				cfg.poll_us = -1; /* never */
			break;
		case 'h': usage(stdout); return EXIT_OK;
		case '?': return bad_option(argv);
		default:
			if (kind_parse_option(c, optarg, &kargs) < 0)
				return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("%s", "mount: missing KIND");
	kind = kind_find(argv[optind]);
	if (!kind)
		return usage_error("unknown file system kind '%s'", argv[optind]);
	optind++;
	if (kind->needs_source) {
		if (argc - optind != 2)
			return usage_error("mount %s: expected SOURCE and MOUNTPOINT", kind->name);
		source = argv[optind++];
	} else if (argc - optind != 1) {
		return usage_error("mount %s: expected one MOUNTPOINT", kind->name);
	}
	mountpoint = argv[optind];
	kargs.mountpoint = mountpoint;
	if (kind_check_args(kind, &kargs) < 0)
		return EXIT_USAGE;

	opts = mount_options(kind->name, user_opts, fsname,
			     kind->checks_permissions && kind->checks_permissions(&kargs));
	if (!opts)
		return EXIT_FAIL;
	if (umfs_check_mount_options(opts) < 0) {
		free(opts);
		return EXIT_USAGE;
	}
	cfg.mount_options = opts;
	rc = kind->create(source, &kargs, &cfg, &inst);
	if (rc < 0) {
		free(opts);
		/* -EACCES: refused credentials (crypt: a wrong passphrase). */
		return rc == -EINVAL ? EXIT_USAGE : rc == -EACCES ? EXIT_PERM : EXIT_FAIL;
	}
	apply_timeouts(&timeouts, &cfg);
	s = umfs_session_new(inst.ops, sizeof(*inst.ops), inst.fs, inst.root, &cfg);
	if (!s) {
		fprintf(stderr, "umfs: cannot create session: %s\n", strerror(errno));
		inst.destroy(inst.fs);
		free(opts);
		return EXIT_FAIL;
	}
	rc = umfs_mount(s, mountpoint);
	if (rc == 0 && !foreground)
		rc = daemonize();
	if (rc == 0)
		rc = umfs_session_loop(s);
	umfs_session_destroy(s);
	inst.destroy(inst.fs);
	free(opts);
	if (rc == -ECONNABORTED)
		return EXIT_FAIL;
	return rc < 0 ? exit_code_for(rc) : EXIT_OK;
}

static int cmd_unmount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lazy", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, lazy = 0, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "zh", longopts, NULL)) != -1) {
		switch (c) {
		case 'z': lazy = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return bad_option(argv);
		}
	}
	if (argc - optind != 1)
		return usage_error("%s", "unmount: expected one MOUNTPOINT");
	rc = umfs_unmount(argv[optind], lazy);
	if (rc == -EPERM || rc == -EACCES)
		return EXIT_PERM;
	return rc < 0 ? EXIT_FAIL : EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("%s", "missing command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("umfs %s (FUSE protocol up to 7.45)\n", UMFS_VERSION_STRING);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "mount") == 0)
		return cmd_mount(argc - 1, argv + 1);
	if (strcmp(argv[1], "unmount") == 0 || strcmp(argv[1], "umount") == 0)
		return cmd_unmount(argc - 1, argv + 1);
	if (strcmp(argv[1], "crypt") == 0)
		return cmd_crypt(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", argv[1]);
}
