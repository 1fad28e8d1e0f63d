/* SPDX-License-Identifier: MIT */
/* kinds.c - the table of file systems `umfs mount` knows. */
#include "kinds.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memfs.h"
#include "mirror.h"
#include "crypt_cmd.h"

#define ACCEPTS(opt) (1u << ((opt) - OPT_MAX_SIZE))

static void memfs_destroy(void *fs)
{
	memfs_free(fs);
}

static int parse_count(const char *what, const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-') {
		fprintf(stderr, "umfs: bad %s '%s'\n", what, s);
		return -EINVAL;
	}
	return 0;
}

static int memfs_create(const char *source, const struct kind_args *a,
			struct umfs_config *cfg, struct kind_instance *out)
{
	struct memfs_options o = { 0 };
	struct memfs *m;

	if (a->max_size && memfs_parse_size(a->max_size, &o.max_size) < 0) {
		fprintf(stderr, "umfs: bad --max-size '%s' (use bytes or 64k, 512M, 2G)\n",
			a->max_size);
		return -EINVAL;
	}
	if (a->max_nodes && parse_count("--max-nodes", a->max_nodes, &o.max_nodes) < 0)
		return -EINVAL;
	o.writeback_cache = a->writeback_cache;
	/* memfs data lives in 4 KiB blocks from malloc. Handing freed memory back to the
	 * kernel and faulting it in again on the next write costs more than the copy
	 * itself (measured: 1 MiB writes 2.4x faster), so this process keeps what it
	 * freed, up to 1 GiB, and grows its heaps in large steps. */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_TOP_PAD, 64 << 20);
	m = memfs_new(&o);
	if (!m) {
		fprintf(stderr, "umfs: cannot create memfs: %s\n", strerror(errno));
		return -ENOMEM;
	}
	/* memfs is the only writer of its data: the kernel may cache names, attributes
	 * and misses for as long as it likes. */
	cfg->entry_timeout = 86400;
	cfg->attr_timeout = 86400;
	cfg->negative_timeout = 86400;
	out->ops = &memfs_operations;
	out->fs = m;
	out->root = memfs_root(m);
	out->destroy = memfs_destroy;
	return 0;
}

static void mirror_destroy(void *fs)
{
	mirror_free(fs);
}

/* SOURCE must be a directory that neither is nor contains the mount point: a mount
 * inside its own source would see itself (each lookup there re-entering the mount). */
static int mirror_check_paths(const char *source, const char *mountpoint)
{
	char src[PATH_MAX], mnt[PATH_MAX];
	struct stat st;
	size_t n;

	if (!realpath(source, src) || stat(src, &st) < 0) {
		fprintf(stderr, "umfs: mirror: SOURCE '%s': %s\n", source, strerror(errno));
		return -EINVAL;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "umfs: mirror: SOURCE '%s' is not a directory\n", source);
		return -EINVAL;
	}
	if (!mountpoint || !realpath(mountpoint, mnt))
		return 0; /* umfs_mount() reports a missing mount point with its own code */
	n = strlen(src);
	if (strcmp(src, mnt) == 0) {
		fprintf(stderr, "umfs: mirror: SOURCE and MOUNTPOINT are the same directory '%s'\n",
			src);
		return -EINVAL;
	}
	if (strncmp(src, mnt, n) == 0 && (src[n - 1] == '/' || mnt[n] == '/')) {
		fprintf(stderr, "umfs: mirror: MOUNTPOINT '%s' is inside SOURCE '%s'\n", mnt, src);
		return -EINVAL;
	}
	return 0;
}

/* Only root can take on callers' identities; an ordinary user's mount acts as that
 * user, which is what the source would let them do anyway. */
static bool mirror_impersonates(const struct kind_args *a)
{
	return geteuid() == 0 && !a->no_impersonate;
}

/* Whether the mount options (the last of default_permissions and
 * nodefault_permissions wins) ask the kernel to check permissions. */
static bool has_default_permissions(const char *options)
{
	bool on = false;
	const char *p = options;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		if (n == 19 && strncmp(p, "default_permissions", n) == 0)
			on = true;
		else if (n == 21 && strncmp(p, "nodefault_permissions", n) == 0)
			on = false;
		p += n + (p[n] == ',');
	}
	return on;
}

static int mirror_create_kind(const char *source, const struct kind_args *a,
			      struct umfs_config *cfg, struct kind_instance *out)
{
	struct mirror_options o = {
		.impersonate = mirror_impersonates(a),
		.passthrough = !a->no_passthrough,
		.default_permissions = has_default_permissions(cfg->mount_options),
	};
	struct mirror *m;
	int err = mirror_check_paths(source, a->mountpoint);

	if (err)
		return err;
	m = mirror_new(source, &o);
	if (!m && errno == EPERM)
		return -EPERM; /* no right to impersonate: mirror_new said so */
	if (!m) {
		fprintf(stderr, "umfs: mirror: cannot open SOURCE '%s': %s\n", source,
			strerror(errno));
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	}
	/* Other programs change SOURCE behind the mount: everything the kernel caches,
	 * a name's absence too, is asked again after 1 s (see umfs(1), "mirror"). */
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 1.0;
	out->ops = &mirror_operations;
	out->fs = m;
	out->root = mirror_root(m);
	out->destroy = mirror_destroy;
	return 0;
}

static const struct fs_kind kinds[] = {
	{
		.name = "memfs",
		.summary = "a POSIX file system in memory (like tmpfs)",
		.options_help = "  --max-size SIZE         memfs: capacity, e.g. 512M, 2G (default: unlimited)\n"
				"  --max-nodes N           memfs: most files, directories and links\n"
				"  --writeback-cache       memfs: let the kernel gather small writes (faster;\n"
				"                          a full memfs then shows only at fsync or close)\n",
		.needs_source = false,
		.accepts = ACCEPTS(OPT_MAX_SIZE) | ACCEPTS(OPT_MAX_NODES) |
			   ACCEPTS(OPT_WRITEBACK_CACHE),
		.create = memfs_create,
	},
	{
		.name = "mirror",
		.summary = "a real directory, acting with each caller's credentials",
		.options_help = "  --no-impersonate        mirror: act as this process, not as each caller\n"
				"  --no-passthrough        mirror: no kernel passthrough of file I/O\n",
		.needs_source = true,
		.accepts = ACCEPTS(OPT_NO_IMPERSONATE) | ACCEPTS(OPT_NO_PASSTHROUGH),
		.create = mirror_create_kind,
		/* Acting as each caller, the source checks every operation as it would
		 * the caller's own; the kernel's checks would only repeat them, at the
		 * price of a GETATTR of a directory after each change in it. */
		.checks_permissions = mirror_impersonates,
	},
	{
		.name = "crypt",
		.summary = "an encrypted vault (umfs crypt init): plaintext only for allowed programs",
		.options_help = "  --allow PROGRAM         crypt: this executable sees plaintext (repeatable)\n"
				"  --allow-uid UID         crypt: programs of this user see plaintext\n"
				"  --allow-cgroup PATH     crypt: programs in this cgroup (v2) see plaintext\n"
				"  --refuse-foreign-writes crypt: others may only store valid containers\n"
				"  --passfile FILE         crypt: passphrase from FILE (default: terminal/stdin)\n",
		.needs_source = true,
		.accepts = ACCEPTS(OPT_ALLOW) | ACCEPTS(OPT_ALLOW_UID) | ACCEPTS(OPT_ALLOW_CGROUP) |
			   ACCEPTS(OPT_REFUSE_FOREIGN) | ACCEPTS(OPT_PASSFILE),
		.create = crypt_create_kind,
	},
};

const struct fs_kind *kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

static int list_add(const char **list, size_t *n, const char *what, const char *arg)
{
	if (*n == KIND_MAX_LIST) {
		fprintf(stderr, "umfs: more than %d %s options\n", KIND_MAX_LIST, what);
		return -EINVAL;
	}
	list[(*n)++] = arg;
	return 0;
}

int kind_parse_option(int code, const char *arg, struct kind_args *a)
{
	switch (code) {
	case OPT_MAX_SIZE: a->max_size = arg; return 0;
	case OPT_MAX_NODES: a->max_nodes = arg; return 0;
	case OPT_WRITEBACK_CACHE: a->writeback_cache = true; return 0;
	case OPT_NO_IMPERSONATE: a->no_impersonate = true; return 0;
	case OPT_NO_PASSTHROUGH: a->no_passthrough = true; return 0;
	case OPT_ALLOW: return list_add(a->allow, &a->n_allow, "--allow", arg);
	case OPT_ALLOW_UID: return list_add(a->allow_uid, &a->n_allow_uid, "--allow-uid", arg);
	case OPT_ALLOW_CGROUP:
		return list_add(a->allow_cgroup, &a->n_allow_cgroup, "--allow-cgroup", arg);
	case OPT_REFUSE_FOREIGN: a->refuse_foreign_writes = true; return 0;
	case OPT_PASSFILE: a->passfile = arg; return 0;
	default:
		fprintf(stderr, "umfs: unknown option\n");
		return -EINVAL;
	}
}

int kind_check_args(const struct fs_kind *k, const struct kind_args *a)
{
	if (a->max_size && !(k->accepts & ACCEPTS(OPT_MAX_SIZE))) {
		fprintf(stderr, "umfs: %s does not take --max-size\n", k->name);
		return -EINVAL;
	}
	if (a->max_nodes && !(k->accepts & ACCEPTS(OPT_MAX_NODES))) {
		fprintf(stderr, "umfs: %s does not take --max-nodes\n", k->name);
		return -EINVAL;
	}
	if (a->writeback_cache && !(k->accepts & ACCEPTS(OPT_WRITEBACK_CACHE))) {
		fprintf(stderr, "umfs: %s does not take --writeback-cache\n", k->name);
		return -EINVAL;
	}
	if (a->no_impersonate && !(k->accepts & ACCEPTS(OPT_NO_IMPERSONATE))) {
		fprintf(stderr, "umfs: %s does not take --no-impersonate\n", k->name);
		return -EINVAL;
	}
	if (a->no_passthrough && !(k->accepts & ACCEPTS(OPT_NO_PASSTHROUGH))) {
		fprintf(stderr, "umfs: %s does not take --no-passthrough\n", k->name);
		return -EINVAL;
	}
	if ((a->n_allow || a->n_allow_uid || a->n_allow_cgroup || a->refuse_foreign_writes ||
	     a->passfile) && !(k->accepts & ACCEPTS(OPT_ALLOW))) {
		fprintf(stderr, "umfs: %s does not take --allow*, --refuse-foreign-writes or --passfile\n",
			k->name);
		return -EINVAL;
	}
	return 0;
}

void kind_describe_all(char *kinds_out, size_t ksize, char *opts, size_t osize)
{
	size_t kn = 0, on = 0;

	kinds_out[0] = opts[0] = '\0';
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (kn < ksize)
			kn += (size_t)snprintf(kinds_out + kn, ksize - kn, "  %-22s  %s%s\n",
					       kinds[i].name, kinds[i].summary,
					       kinds[i].needs_source ? " (needs SOURCE)" : "");
		if (on < osize)
			on += (size_t)snprintf(opts + on, osize - on, "%s", kinds[i].options_help);
	}
}
