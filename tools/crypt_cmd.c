/* SPDX-License-Identifier: MIT */
/*
 * crypt_cmd.c - `umfs crypt init|fsck|passwd VAULT` and `umfs mount crypt VAULT MP`.
 *
 * The passphrase comes from --passfile FILE, else from the terminal (not echoed),
 * else from standard input when it is not a terminal (how umfsd hands a secret over).
 * It is kept in locked memory (sodium_malloc) and wiped after use.
 *
 * Exit status: 0 ok, 1 failure (fsck: problems found), 2 usage, 7 wrong passphrase.
 */
#include "crypt_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "crypt_name.h"
#include "cryptfs.h"

#define PASS_MAX 1024
#define EXIT_WRONG_PASS 7

struct secret {
	char *s; /* sodium_malloc, PASS_MAX + 1 */
	size_t len;
};

static void secret_free(struct secret *p)
{
	if (p->s)
		sodium_free(p->s);
	p->s = NULL;
}

/* One line (without its newline) from fd into p. */
static int read_line(int fd, struct secret *p)
{
	p->len = 0;
	for (;;) {
		char ch;
		ssize_t n = read(fd, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 || ch == '\n')
			break;
		if (p->len == PASS_MAX)
			return -E2BIG;
		p->s[p->len++] = ch;
	}
	p->s[p->len] = '\0';
	return 0;
}

static void say_tty(int fd, const char *s)
{
	ssize_t n = write(fd, s, strlen(s));
	(void)n; /* a prompt that cannot be shown is not fatal */
}

static int prompt_tty(const char *prompt, struct secret *p)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	struct termios old, quiet;
	int err;

	if (fd < 0)
		return -errno;
	say_tty(fd, prompt);
	bool echo_off = tcgetattr(fd, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	err = read_line(fd, p);
	if (echo_off)
		tcsetattr(fd, TCSAFLUSH, &old);
	say_tty(fd, "\n");
	close(fd);
	return err;
}

/* Get a passphrase: file, terminal or stdin. confirm: ask twice on a terminal. */
static int get_pass(const char *file, const char *prompt, bool confirm, struct secret *p)
{
	int err;

	if (sodium_init() < 0)
		return -EIO;
	p->s = sodium_malloc(PASS_MAX + 1);
	if (!p->s)
		return -ENOMEM;
	if (file) {
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			fprintf(stderr, "umfs: crypt: cannot read passphrase file '%s': %s\n", file,
				strerror(errno));
			return err;
		}
		err = read_line(fd, p);
		close(fd);
	} else if (isatty(0)) {
		err = prompt_tty(prompt, p);
		if (!err && confirm) {
			struct secret again = { sodium_malloc(PASS_MAX + 1), 0 };
			if (!again.s)
				return -ENOMEM;
			err = prompt_tty("Repeat: ", &again);
			if (!err && (again.len != p->len || sodium_memcmp(again.s, p->s, p->len) != 0)) {
				fprintf(stderr, "umfs: crypt: the passphrases differ\n");
				err = -EINVAL;
			}
			secret_free(&again);
		}
	} else {
		err = read_line(0, p);
	}
	if (!err && p->len == 0) {
		fprintf(stderr, "umfs: crypt: empty passphrase\n");
		err = -EINVAL;
	}
	if (err == -E2BIG)
		fprintf(stderr, "umfs: crypt: passphrase longer than %d bytes\n", PASS_MAX);
	return err;
}

/* Unlock VAULT's keys. Returns 0 or an exit status (message printed). */
static int unlock(const char *vault, const char *passfile, struct cf_keys **k)
{
	char path[PATH_MAX], err[256];
	struct secret p = { 0 };
	int rc;

	snprintf(path, sizeof path, "%s/%s", vault, CF_CONFIG_NAME);
	if (access(path, F_OK) < 0) {
		fprintf(stderr, "umfs: crypt: '%s' is not a vault (no %s): %s\n", vault,
			CF_CONFIG_NAME, strerror(errno));
		return 1;
	}
	rc = get_pass(passfile, "Passphrase: ", false, &p);
	if (rc) {
		secret_free(&p);
		return rc == -EINVAL ? 2 : 1;
	}
	rc = cf_config_unlock(path, p.s, p.len, k, err);
	secret_free(&p);
	if (rc == -EACCES) {
		fprintf(stderr, "umfs: crypt: %s: wrong passphrase\n", vault);
		return EXIT_WRONG_PASS;
	}
	if (rc) {
		fprintf(stderr, "umfs: crypt: %s: %s\n", path, err[0] ? err : strerror(-rc));
		return 1;
	}
	return 0;
}

static const char crypt_usage[] =
	"Usage: umfs crypt init [--passfile FILE] [--fast-kdf] VAULT\n"
	"       umfs crypt fsck [--passfile FILE] VAULT\n"
	"       umfs crypt passwd [--passfile FILE] [--new-passfile FILE] VAULT\n"
	"       umfs mount crypt VAULT MOUNTPOINT --allow PROGRAM ... [options]\n"
	"\n"
	"Encrypted vaults: plaintext for allowed programs, the encrypted container for\n"
	"every other program (see umfs-crypt(1)).\n"
	"\n"
	"  init     make VAULT (an empty or new directory) a vault with a new random key\n"
	"  fsck     check every container, name and link in VAULT; change nothing\n"
	"  passwd   wrap VAULT's key under a new passphrase\n"
	"\n"
	"  --passfile FILE       read the passphrase from FILE (first line); default: the\n"
	"                        terminal, or standard input when it is not a terminal\n"
	"  --new-passfile FILE   passwd: the new passphrase\n"
	"  --fast-kdf            init: cheaper Argon2id (64 MiB, 2 passes), for tests\n"
	"\n"
	"Exit status: 0 ok, 1 failure (fsck: problems found), 2 usage, 7 wrong passphrase.\n";

static int crypt_init(const char *vault, const char *passfile, bool fast)
{
	char path[PATH_MAX];
	struct stat st;
	struct secret p = { 0 };
	struct cf_kdf kdf;
	int rc;

	snprintf(path, sizeof path, "%s/%s", vault, CF_CONFIG_NAME);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "umfs: crypt: '%s' is already a vault\n", vault);
		return 1;
	}
	rc = get_pass(passfile, "New passphrase: ", true, &p);
	if (rc) {
		secret_free(&p);
		return rc == -EINVAL ? 2 : 1;
	}
	if (mkdir(vault, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "umfs: crypt: cannot create '%s': %s\n", vault, strerror(errno));
		secret_free(&p);
		return 1;
	}
	if (stat(vault, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "umfs: crypt: '%s' is not a directory\n", vault);
		secret_free(&p);
		return 1;
	}
	struct cf_keys *k = cf_keys_generate();
	cf_kdf_default(&kdf, fast);
	rc = k ? cryptfs_init_tree(vault) : -ENOMEM;
	if (rc)
		fprintf(stderr, "umfs: crypt: cannot make the tree in '%s': %s\n", vault, strerror(-rc));
	if (!rc) {
		rc = cf_config_write(path, k, p.s, p.len, &kdf);
		if (rc)
			fprintf(stderr, "umfs: crypt: cannot write '%s': %s\n", path, strerror(-rc));
	}
	secret_free(&p);
	cf_keys_free(k);
	if (rc)
		return 1;
	printf("umfs: crypt: vault ready in %s\n", vault);
	return 0;
}

static int crypt_fsck(const char *vault, const char *passfile)
{
	struct cf_keys *k;
	int rc = unlock(vault, passfile, &k);
	if (rc)
		return rc;
	rc = cryptfs_fsck(vault, k, stdout);
	cf_keys_free(k);
	if (rc < 0) {
		fprintf(stderr, "umfs: crypt: fsck of '%s': %s\n", vault, strerror(-rc));
		return 1;
	}
	printf("%d problem%s found\n", rc, rc == 1 ? "" : "s");
	return rc ? 1 : 0;
}

static int crypt_passwd(const char *vault, const char *passfile, const char *newfile, bool fast)
{
	char path[PATH_MAX];
	struct secret p = { 0 };
	struct cf_keys *k;
	struct cf_kdf kdf;
	int rc = unlock(vault, passfile, &k);

	if (rc)
		return rc;
	rc = get_pass(newfile, "New passphrase: ", true, &p);
	if (!rc) {
		snprintf(path, sizeof path, "%s/%s", vault, CF_CONFIG_NAME);
		cf_kdf_default(&kdf, fast);
		rc = cf_config_rewrap(path, k, p.s, p.len, &kdf);
		if (rc)
			fprintf(stderr, "umfs: crypt: cannot rewrite '%s': %s\n", path, strerror(-rc));
	}
	secret_free(&p);
	cf_keys_free(k);
	if (rc)
		return rc == -EINVAL ? 2 : 1;
	printf("umfs: crypt: passphrase of %s changed\n", vault);
	return 0;
}

int cmd_crypt(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passfile", required_argument, NULL, 'p' },
		{ "new-passfile", required_argument, NULL, 'n' },
		{ "fast-kdf", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *passfile = NULL, *newfile = NULL, *sub;
	bool fast = false;
	int c;

	if (argc < 2) {
		fprintf(stderr, "umfs: crypt: missing command (init, fsck, passwd; see umfs crypt --help)\n");
		return 2;
	}
	sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(crypt_usage, stdout);
		return 0;
	}
	argc--;
	argv++;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': passfile = optarg; break;
		case 'n': newfile = optarg; break;
		case 'F': fast = true; break;
		case 'h': fputs(crypt_usage, stdout); return 0;
		default:
			fprintf(stderr, "umfs: crypt: unknown option or missing value '%s' (see umfs crypt --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "umfs: crypt %s: expected one VAULT (see umfs crypt --help)\n", sub);
		return 2;
	}
	const char *vault = argv[optind];
	if (newfile && strcmp(sub, "passwd") != 0) {
		fprintf(stderr, "umfs: crypt %s does not take --new-passfile\n", sub);
		return 2;
	}
	if (fast && strcmp(sub, "init") != 0 && strcmp(sub, "passwd") != 0) {
		fprintf(stderr, "umfs: crypt %s does not take --fast-kdf\n", sub);
		return 2;
	}
	if (!strcmp(sub, "init"))
		return crypt_init(vault, passfile, fast);
	if (!strcmp(sub, "fsck"))
		return crypt_fsck(vault, passfile);
	if (!strcmp(sub, "passwd"))
		return crypt_passwd(vault, passfile, newfile, fast);
	fprintf(stderr, "umfs: crypt: unknown command '%s' (init, fsck, passwd)\n", sub);
	return 2;
}

/* ---------------------------------------------------------------- the mount kind */

static void crypt_destroy(void *fs)
{
	cryptfs_free(fs);
}

/* The mount point must not be in the vault (the mount would see itself). */
static int check_paths(const char *vault, const char *mountpoint)
{
	char v[PATH_MAX], m[PATH_MAX];
	if (!realpath(vault, v)) {
		fprintf(stderr, "umfs: crypt: VAULT '%s': %s\n", vault, strerror(errno));
		return -EINVAL;
	}
	if (!mountpoint || !realpath(mountpoint, m))
		return 0;
	size_t n = strlen(v);
	if (strncmp(v, m, n) == 0 && (m[n] == '\0' || m[n] == '/' || v[n - 1] == '/')) {
		fprintf(stderr, "umfs: crypt: MOUNTPOINT '%s' is inside VAULT '%s'\n", m, v);
		return -EINVAL;
	}
	return 0;
}

int crypt_create_kind(const char *vault, const struct kind_args *a, struct umfs_config *cfg,
		      struct kind_instance *out)
{
	struct cryptfs_exe exes[KIND_MAX_LIST];
	uid_t uids[KIND_MAX_LIST];
	struct cryptfs_options o = { 0 };
	struct cf_keys *k;
	int err = check_paths(vault, a->mountpoint), rc;

	if (err)
		return err;
	if (!a->n_allow && !a->n_allow_uid && !a->n_allow_cgroup)
		fprintf(stderr, "umfs: crypt: no --allow, --allow-uid or --allow-cgroup: every "
				"program sees only the encrypted containers\n");
	for (size_t i = 0; i < a->n_allow; i++) {
		int e = cryptfs_exe_from_path(a->allow[i], &exes[i]);
		if (e < 0) {
			fprintf(stderr, "umfs: crypt: --allow '%s': %s\n", a->allow[i],
				e == -EINVAL ? "not a regular file" : strerror(-e));
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < a->n_allow_uid; i++) {
		char *end;
		errno = 0;
		unsigned long u = strtoul(a->allow_uid[i], &end, 10);
		if (errno || *end || end == a->allow_uid[i] || a->allow_uid[i][0] == '-' ||
		    u >= UINT32_MAX) {
			fprintf(stderr, "umfs: crypt: bad --allow-uid '%s'\n", a->allow_uid[i]);
			return -EINVAL;
		}
		uids[i] = (uid_t)u;
	}
	for (size_t i = 0; i < a->n_allow_cgroup; i++) {
		if (a->allow_cgroup[i][0] != '/') {
			fprintf(stderr, "umfs: crypt: --allow-cgroup '%s' must start with '/'\n",
				a->allow_cgroup[i]);
			return -EINVAL;
		}
	}
	o.exes = exes;
	o.n_exes = a->n_allow;
	o.uids = uids;
	o.n_uids = a->n_allow_uid;
	o.cgroups = a->allow_cgroup;
	o.n_cgroups = a->n_allow_cgroup;
	o.refuse_foreign_writes = a->refuse_foreign_writes;

	rc = unlock(vault, a->passfile, &k);
	if (rc)
		return rc == 2 ? -EINVAL : (rc == EXIT_WRONG_PASS ? -EACCES : -EIO);
	struct cryptfs *c = cryptfs_new(vault, k, &o);
	if (!c) {
		fprintf(stderr, "umfs: crypt: cannot open the tree of '%s': %s\n", vault,
			errno == EIO ? "no directory id (damaged vault)" : strerror(errno));
		return -EIO;
	}
	/* Names may be cached, and the attributes of what both views share
	 * (directories, symlinks); regular files' attributes never are: they set an
	 * attribute timeout of 0 themselves (cfs_int.h, "Views"). */
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 0;
	cfg->name_max = CN_PLAIN_MAX;
	out->ops = &cryptfs_operations;
	out->fs = c;
	out->root = cryptfs_root(c);
	out->destroy = crypt_destroy;
	return 0;
}
