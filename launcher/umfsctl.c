/* SPDX-License-Identifier: MIT */
/*
 * umfsctl - ask umfsd to start, stop, list and describe file system instances.
 *
 * Exit status: 0 ok, 1 umfsd refused or failed (its reason on stderr), 2 usage,
 * 3 umfsd cannot be reached, 4 permission denied.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

enum { EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_PERM };

static const char usage_text[] =
	"Usage: umfsctl [--socket PATH] COMMAND ...\n"
	"\n"
	"  start [--secret] SERVICE INSTANCE [ARG...]   start an instance (%1 = INSTANCE,\n"
	"                                   %2.. = ARGs); --secret: stdin goes to its stdin\n"
	"  stop SERVICE INSTANCE            stop it; returns once it is gone and unmounted\n"
	"  list [--json]                    the instances you may see\n"
	"  info [--json] SERVICE INSTANCE   one instance\n"
	"  log [-n BYTES] SERVICE INSTANCE  the tail of its log (its stderr)\n"
	"\n"
	"  -s, --socket PATH   umfsd's socket (default $UMFS_LAUNCHER_SOCKET or\n"
	"                      /run/umfs/launcher.sock)\n"
	"  -h, --help          this help;  -V, --version  the version\n"
	"\n"
	"Exit status: 0 ok, 1 refused or failed, 2 usage, 3 umfsd unreachable,\n"
	"4 permission denied.\n";

static const char *socket_path;

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "umfsctl: ");
	fprintf(stderr, msg, arg);
	fprintf(stderr, " (see umfsctl --help)\n");
	return EXIT_USAGE;
}

static int connect_umfsd(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(socket_path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "umfsctl: socket path too long\n");
		return -1;
	}
	strcpy(a.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "umfsctl: cannot reach umfsd at %s: %s\n", socket_path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int read_full(int fd, void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Send one request, read its reply into *raw (malloc) and decode it. */
static int transact(struct request *r, struct reply *rep, unsigned char **raw)
{
	struct pbuf b;
	unsigned char len[4];
	uint32_t n;
	int fd, rc;

	*raw = NULL;
	r->version = PROTO_VERSION;
	r->id = 1;
	pbuf_init(&b, PROTO_MAX_MESSAGE);
	if (proto_encode_request(&b, r) < 0) {
		pbuf_free(&b);
		fprintf(stderr, "umfsctl: request too large\n");
		return EXIT_USAGE;
	}
	fd = connect_umfsd();
	if (fd < 0) {
		explicit_bzero(b.data, b.len);
		pbuf_free(&b);
		return EXIT_UNREACHABLE;
	}
	rc = send(fd, b.data, b.len, MSG_NOSIGNAL) == (ssize_t)b.len ? 0 : -1;
	explicit_bzero(b.data, b.len);
	pbuf_free(&b);
	if (rc == 0)
		rc = read_full(fd, len, 4);
	n = rc == 0 ? proto_get_length(len) : 0;
	if (rc == 0 && (n > PROTO_MAX_REPLY || !(*raw = malloc(n ? n : 1))))
		rc = -1;
	if (rc == 0)
		rc = read_full(fd, *raw, n);
	close(fd);
	if (rc < 0 || proto_decode_reply(*raw, n, rep) < 0) {
		fprintf(stderr, "umfsctl: no valid reply from umfsd\n");
		free(*raw);
		*raw = NULL;
		return EXIT_UNREACHABLE;
	}
	if (rep->status < 0) {
		fprintf(stderr, "umfsctl: %s\n", rep->message[0] ? rep->message : strerror(-rep->status));
		rc = rep->status == -EACCES || rep->status == -EPERM ? EXIT_PERM : EXIT_FAIL;
		reply_free(rep);
		free(*raw);
		*raw = NULL;
		return rc;
	}
	return EXIT_OK;
}

static const char *field(const struct reply_record_v *rec, const char *key)
{
	for (unsigned i = 0; i < rec->nfields; i++)
		if (!strcmp(rec->fields[i].key, key))
			return rec->fields[i].value;
	return "-";
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch == '\n')
			printf("\\n");
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static bool is_number_field(const char *key, const char *v)
{
	if (strcmp(key, "pid") && strcmp(key, "restarts"))
		return false;
	for (; *v; v++)
		if (*v < '0' || *v > '9')
			return false;
	return true;
}

static void json_record(const struct reply_record_v *rec)
{
	printf("{");
	for (unsigned i = 0; i < rec->nfields; i++) {
		const char *v = rec->fields[i].value;

		printf("%s", i ? ", " : "");
		json_string(rec->fields[i].key);
		printf(": ");
		if (is_number_field(rec->fields[i].key, v))
			printf("%s", v);
		else if (!strcmp(v, "-"))
			printf("null");
		else
			json_string(v);
	}
	printf("}");
}

static void print_table(const struct reply *rep)
{
	printf("%-12s %-16s %-8s %-10s %-10s %-20s %s\n", "SERVICE", "INSTANCE", "PID", "STATE",
	       "OWNER", "SINCE", "MOUNTPOINT");
	for (unsigned i = 0; i < rep->nrecords; i++) {
		const struct reply_record_v *r = &rep->records[i];

		printf("%-12s %-16s %-8s %-10s %-10s %-20s %s\n", field(r, "service"),
		       field(r, "instance"), field(r, "pid"), field(r, "state"), field(r, "owner"),
		       field(r, "since"), field(r, "mountpoint"));
	}
}

/* Options of a subcommand: --json, --secret, -n N. */
struct sub_opts {
	bool json, secret;
	unsigned long max;
};

static int parse_sub(int argc, char **argv, struct sub_opts *o, const char *allowed)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "secret", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	/* '+': stop at the first positional argument, so instance arguments that look
	 * like options (where a service takes them) pass through untouched. */
	while ((c = getopt_long(argc, argv, "+n:h", longopts, NULL)) != -1) {
		char *end;

		if (c == 'h') {
			fputs(usage_text, stdout);
			exit(EXIT_OK);
		}
		if (c == '?' || !strchr(allowed, c))
			return usage_error("%s: unknown option or missing value", argv[0]);
		if (c == 'j')
			o->json = true;
		else if (c == 'S')
			o->secret = true;
		else if (c == 'n') {
			o->max = strtoul(optarg, &end, 10);
			if (*end || !o->max)
				return usage_error("bad byte count '%s'", optarg);
		}
	}
	return -1;
}

static int read_secret(unsigned char *buf, uint32_t *len)
{
	size_t n = 0;
	ssize_t r;

	while ((r = read(0, buf + n, PROTO_MAX_SECRET + 1 - n)) > 0 || (r < 0 && errno == EINTR))
		if (r > 0 && (n += (size_t)r) > PROTO_MAX_SECRET)
			break;
	if (n > PROTO_MAX_SECRET) {
		fprintf(stderr, "umfsctl: the secret on stdin is longer than %d bytes\n",
			PROTO_MAX_SECRET);
		return EXIT_USAGE;
	}
	*len = (uint32_t)n;
	return EXIT_OK;
}

static int cmd(int argc, char **argv)
{
	struct request r = { 0 };
	struct sub_opts o = { 0 };
	struct reply rep;
	unsigned char *raw, secret[PROTO_MAX_SECRET + 1];
	char cwd[PATH_MAX];
	const char *name = argv[0];
	int rc;

	if (!strcmp(name, "start")) {
		if ((rc = parse_sub(argc, argv, &o, "S")) >= 0)
			return rc;
		if (argc - optind < 2)
			return usage_error("%s", "start: expected SERVICE INSTANCE [ARG...]");
		if (argc - optind - 2 > PROTO_MAX_ARGS)
			return usage_error("%s", "start: at most 8 arguments (%2..%9)");
		r.type = REQ_START;
		r.service = argv[optind];
		r.instance = argv[optind + 1];
		r.argc = (unsigned)(argc - optind - 2);
		for (unsigned i = 0; i < r.argc; i++)
			r.argv[i] = argv[optind + 2 + i];
		if (!getcwd(cwd, sizeof(cwd)))
			strcpy(cwd, "/");
		r.cwd = cwd;
		if (o.secret) {
			if ((rc = read_secret(secret, &r.secret_len)))
				return rc;
			r.flags = START_SECRET;
			r.secret = secret;
		}
	} else if (!strcmp(name, "stop") || !strcmp(name, "info") || !strcmp(name, "log")) {
		if ((rc = parse_sub(argc, argv, &o, !strcmp(name, "info") ? "j" :
					 !strcmp(name, "log") ? "n" : "")) >= 0)
			return rc;
		if (argc - optind != 2)
			return usage_error("%s: expected SERVICE INSTANCE", name);
		r.type = !strcmp(name, "stop") ? REQ_STOP : !strcmp(name, "info") ? REQ_INFO : REQ_LOG;
		r.service = argv[optind];
		r.instance = argv[optind + 1];
		r.max_bytes = o.max > PROTO_MAX_REPLY / 2 ? PROTO_MAX_REPLY / 2 : (uint32_t)o.max;
	} else if (!strcmp(name, "list")) {
		if ((rc = parse_sub(argc, argv, &o, "j")) >= 0)
			return rc;
		if (argc != optind)
			return usage_error("%s", "list takes no arguments");
		r.type = REQ_LIST;
	} else {
		return usage_error("unknown command '%s'", name);
	}
	if ((r.service && !proto_valid_name(r.service)) || (r.instance && !proto_valid_name(r.instance)))
		return usage_error("%s", "a SERVICE or INSTANCE name may use A-Z a-z 0-9 _ . : + - "
				   "(64 at most, not starting with '.' or '-')");
	for (unsigned i = 0; i < r.argc; i++)
		if (!r.argv[i][0])
			return usage_error("%s", "an empty argument");
	rc = transact(&r, &rep, &raw);
	explicit_bzero(secret, sizeof(secret));
	if (rc)
		return rc;
	if (rep.message[0])
		printf("%s\n", rep.message);
	if (r.type == REQ_LIST && o.json) {
		printf("[");
		for (unsigned i = 0; i < rep.nrecords; i++) {
			printf("%s", i ? ",\n " : "");
			json_record(&rep.records[i]);
		}
		printf("]\n");
	} else if (r.type == REQ_LIST) {
		print_table(&rep);
	} else if (r.type == REQ_INFO && rep.nrecords == 1) {
		if (o.json) {
			json_record(&rep.records[0]);
			printf("\n");
		} else {
			for (unsigned i = 0; i < rep.records[0].nfields; i++)
				printf("%-11s %s\n", rep.records[0].fields[i].key,
				       rep.records[0].fields[i].value);
		}
	} else if (r.type == REQ_LOG && rep.nrecords == 1) {
		fputs(field(&rep.records[0], "log"), stdout);
	}
	reply_free(&rep);
	free(raw);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	socket_path = getenv("UMFS_LAUNCHER_SOCKET");
	if (!socket_path || !*socket_path)
		socket_path = "/run/umfs/launcher.sock";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's': socket_path = optarg; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		case 'V': printf("umfsctl %s, protocol %d\n", UMFS_VERSION, PROTO_VERSION); return 0;
		default: return usage_error("unknown option or missing value '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("%s", "missing COMMAND");
	return cmd(argc - optind, argv + optind);
}
