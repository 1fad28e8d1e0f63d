/*
 * umfsbench - file system micro-benchmarks, run in one directory.
 *
 * The scenarios follow the ones the WinFsp and Dokany benchmarks use (create,
 * open, overwrite, list, delete, cached and uncached I/O), recast for POSIX calls.
 * Every scenario repeats a "pass" (one round of work, e.g. creating --files
 * files) until at least --iterations passes and --min-time seconds of measured
 * time have been reached; only the measured part of each pass is timed
 * (CLOCK_MONOTONIC), its set-up and clean-up are not.
 *
 * Output: one line per scenario on stdout,
 *     NAME OPS OPS_PER_SEC SECONDS [MIB_PER_SEC]
 * with comment lines starting with '#'. A scenario that fails prints
 *     NAME FAIL
 * (the reason goes to stderr) and the next scenario runs.
 *
 * Only libc. Build: cc -std=gnu11 -O2 -Wall -Wextra umfsbench.c -o umfsbench
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)
#define SMALL_WRITE 1024          /* bytes written by open-overwrite */
#define RAND_READS_PER_PASS 8192  /* preads per rand-read pass */
#define MAX_SCENARIOS 64

struct bench {
	const char *dir;          /* the directory under test */
	char root[PATH_MAX];      /* our private work directory inside it */
	int rootfd;
	long files;               /* N */
	long long file_size;      /* size of the large file for I/O scenarios */
	long iterations;          /* minimum passes */
	double min_time;          /* minimum measured seconds */
	int drop_caches;
	int verbose;
	int keep;
	const char *workdir;      /* --workdir NAME, or NULL for umfsbench.PID */

	int setfd;                /* dir "set" with N existing files, or -1 */
	int set_ready;
	int big_ready;            /* "big.dat" exists with file_size bytes */
	char *buf;                /* 1 MiB I/O buffer, page aligned */
	uint64_t rng;
	unsigned batch;           /* makes create/delete names unique per pass */
};

/* A failed step inside a scenario: report and abandon the scenario. */
static char fail_msg[512];

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(fail_msg) && e)
		snprintf(fail_msg + n, sizeof(fail_msg) - (size_t)n, ": %s", strerror(e));
	return -1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rnd(struct bench *b)
{
	/* xorshift64*: fixed seed, so every target sees the same sequence */
	uint64_t x = b->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	b->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void set_name(char *out, size_t len, long i)
{
	snprintf(out, len, "f%07ld", i);
}

static volatile sig_atomic_t stop_requested;

/* Has the scenario done enough passes? (Or were we asked to stop?) */
static int enough(const struct bench *b, long passes, double measured)
{
	if (stop_requested && passes > 0)
		return 1;
	return passes >= b->iterations && measured >= b->min_time;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- caches ------------------------------------------------------------------ */

static int warned_drop;

/* sync; echo 3 > /proc/sys/vm/drop_caches (root only; warn once otherwise) */
static void drop_all_caches(struct bench *b)
{
	if (!b->drop_caches)
		return;
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "3\n", 2) != 2) {
		if (!warned_drop)
			fprintf(stderr, "umfsbench: cannot drop caches (%s); reads may be cached\n",
				strerror(errno));
		warned_drop = 1;
	}
	if (fd >= 0)
		close(fd);
}

/* Drop the clean page cache of one file: cheap, between read passes. */
static void drop_file_cache(struct bench *b, int fd)
{
	if (b->drop_caches)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

/* ---- fixtures ------------------------------------------------------------------ */

/* Directory "set" with N empty files f0000000.., created once. */
static int need_set(struct bench *b)
{
	char name[32];

	struct stat st;

	if (b->set_ready)
		return 0;
	if (mkdirat(b->rootfd, "set", 0755) < 0 && errno != EEXIST)
		return failf("mkdir set");
	b->setfd = openat(b->rootfd, "set", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->setfd < 0)
		return failf("open set");
	/* Left by an earlier run with the same --workdir and --files? Then reuse it. */
	set_name(name, sizeof(name), b->files - 1);
	if (fstatat(b->setfd, name, &st, 0) == 0) {
		set_name(name, sizeof(name), b->files);
		if (fstatat(b->setfd, name, &st, 0) < 0 && errno == ENOENT) {
			b->set_ready = 1;
			return 0;
		}
	}
	for (long i = 0; i < b->files; i++) {
		set_name(name, sizeof(name), i);
		int fd = openat(b->setfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			return failf("create set/%s", name);
		close(fd);
	}
	b->set_ready = 1;
	return 0;
}

/* "big.dat": file_size bytes of a pattern, written in 1 MiB pieces and fsync'ed. */
static int need_big(struct bench *b)
{
	struct stat st;

	if (b->big_ready)
		return 0;
	if (fstatat(b->rootfd, "big.dat", &st, 0) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == b->file_size) {
		b->big_ready = 1; /* written and fsync'ed by an earlier run (--workdir) */
		return 0;
	}
	int fd = openat(b->rootfd, "big.dat", O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return failf("create big.dat");
	for (long long off = 0; off < b->file_size; off += 1 << 20) {
		size_t n = (size_t)(b->file_size - off < (1 << 20) ? b->file_size - off : (1 << 20));
		if (write_all(fd, b->buf, n) < 0) {
			close(fd);
			return failf("write big.dat");
		}
	}
	if (fsync(fd) < 0 && errno != EINVAL && errno != ENOSYS) {
		close(fd);
		return failf("fsync big.dat");
	}
	if (close(fd) < 0)
		return failf("close big.dat");
	b->big_ready = 1;
	return 0;
}

/* Unlink dir/<prefix><i> for i < n, ignoring what is missing (clean-up only). */
static void unlink_batch(int dfd, const char *prefix, long n)
{
	char name[48];
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%07ld", prefix, i);
		unlinkat(dfd, name, 0);
	}
}

static int open_subdir(struct bench *b, const char *name)
{
	if (mkdirat(b->rootfd, name, 0755) < 0 && errno != EEXIST)
		return failf("mkdir %s", name);
	int fd = openat(b->rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return failf("open %s", name);
	return fd;
}

/* ---- scenarios ----------------------------------------------------------------- */

struct result {
	long long ops;
	double seconds;
	long long bytes; /* 0 for metadata scenarios */
};

/* create: open(O_CREAT|O_EXCL) + close of N new names per pass. */
static int sc_create(struct bench *b, struct result *r)
{
	char prefix[24], name[48];
	int dfd = open_subdir(b, "create");
	if (dfd < 0)
		return -1;
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		snprintf(prefix, sizeof(prefix), "c%u_", b->batch++);
		double t0 = now();
		for (long i = 0; i < b->files; i++) {
			snprintf(name, sizeof(name), "%s%07ld", prefix, i);
			int fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0) {
				failf("create %s", name);
				unlink_batch(dfd, prefix, i);
				close(dfd);
				return -1;
			}
			close(fd);
		}
		r->seconds += now() - t0;
		r->ops += b->files;
		passes++;
		unlink_batch(dfd, prefix, b->files);
	}
	close(dfd);
	return 0;
}

/* getattr: stat of the N existing files, in order. */
static int sc_getattr(struct bench *b, struct result *r)
{
	char name[32];
	struct stat st;
	if (need_set(b) < 0)
		return -1;
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		double t0 = now();
		for (long i = 0; i < b->files; i++) {
			set_name(name, sizeof(name), i);
			if (fstatat(b->setfd, name, &st, 0) < 0)
				return failf("stat set/%s", name);
		}
		r->seconds += now() - t0;
		r->ops += b->files;
		passes++;
	}
	return 0;
}

/* getattr-miss: stat of N names that do not exist, in the populated directory. */
static int sc_getattr_miss(struct bench *b, struct result *r)
{
	char name[32];
	struct stat st;
	if (need_set(b) < 0)
		return -1;
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		double t0 = now();
		for (long i = 0; i < b->files; i++) {
			snprintf(name, sizeof(name), "missing%07ld", i);
			if (fstatat(b->setfd, name, &st, 0) == 0 || errno != ENOENT) {
				if (errno == 0)
					errno = EEXIST;
				return failf("stat set/%s should fail with ENOENT", name);
			}
		}
		r->seconds += now() - t0;
		r->ops += b->files;
		passes++;
	}
	return 0;
}

/* list: opendir + readdir to the end + closedir of the N-file directory.
 * One op is one whole listing. */
static int sc_list(struct bench *b, struct result *r)
{
	if (need_set(b) < 0)
		return -1;
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		double t0 = now();
		int fd = openat(b->rootfd, "set", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return failf("open set");
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return failf("fdopendir set");
		}
		long n = 0;
		struct dirent *de;
		errno = 0;
		while ((de = readdir(d)) != NULL)
			n++;
		int e = errno;
		closedir(d);
		r->seconds += now() - t0;
		if (e) {
			errno = e;
			return failf("readdir set");
		}
		if (n < b->files) {
			errno = 0;
			return failf("readdir set: %ld entries, expected at least %ld", n, b->files);
		}
		r->ops++;
		passes++;
	}
	return 0;
}

/* open-close: open(O_RDONLY) + close of random existing files, N per pass. */
static int sc_open_close(struct bench *b, struct result *r)
{
	char name[32];
	if (need_set(b) < 0)
		return -1;
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		double t0 = now();
		for (long i = 0; i < b->files; i++) {
			set_name(name, sizeof(name), (long)(rnd(b) % (uint64_t)b->files));
			int fd = openat(b->setfd, name, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return failf("open set/%s", name);
			close(fd);
		}
		r->seconds += now() - t0;
		r->ops += b->files;
		passes++;
	}
	return 0;
}

/* open-overwrite: open(O_WRONLY|O_TRUNC) + write 1 KiB + close, N per pass. */
static int sc_open_overwrite(struct bench *b, struct result *r)
{
	char name[32];
	if (need_set(b) < 0)
		return -1;
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		double t0 = now();
		for (long i = 0; i < b->files; i++) {
			set_name(name, sizeof(name), i);
			int fd = openat(b->setfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC);
			if (fd < 0)
				return failf("open O_TRUNC set/%s", name);
			if (write_all(fd, b->buf, SMALL_WRITE) < 0) {
				close(fd);
				return failf("write set/%s", name);
			}
			if (close(fd) < 0)
				return failf("close set/%s", name);
		}
		r->seconds += now() - t0;
		r->ops += b->files;
		passes++;
	}
	return 0;
}

/* setattr: chmod + utimensat on each of the N files; each call is one op. */
static int sc_setattr(struct bench *b, struct result *r)
{
	char name[32];
	if (need_set(b) < 0)
		return -1;
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		mode_t mode = (passes & 1) ? 0644 : 0600;
		struct timespec ts[2] = {
			{ .tv_sec = 1000000000 + passes, .tv_nsec = 0 },
			{ .tv_sec = 1000000000 + passes, .tv_nsec = 0 },
		};
		double t0 = now();
		for (long i = 0; i < b->files; i++) {
			set_name(name, sizeof(name), i);
			if (fchmodat(b->setfd, name, mode, 0) < 0)
				return failf("chmod set/%s", name);
			if (utimensat(b->setfd, name, ts, 0) < 0)
				return failf("utimensat set/%s", name);
		}
		r->seconds += now() - t0;
		r->ops += 2 * b->files;
		passes++;
	}
	/* leave the files readable for later scenarios */
	for (long i = 0; i < b->files; i++) {
		set_name(name, sizeof(name), i);
		fchmodat(b->setfd, name, 0644, 0);
	}
	return 0;
}

/* delete: unlink of N files (created, untimed, before each pass). */
static int sc_delete(struct bench *b, struct result *r)
{
	char prefix[24], name[48];
	int dfd = open_subdir(b, "delete");
	if (dfd < 0)
		return -1;
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		snprintf(prefix, sizeof(prefix), "d%u_", b->batch++);
		for (long i = 0; i < b->files; i++) {
			snprintf(name, sizeof(name), "%s%07ld", prefix, i);
			int fd = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0) {
				failf("create %s", name);
				unlink_batch(dfd, prefix, i);
				close(dfd);
				return -1;
			}
			close(fd);
		}
		double t0 = now();
		for (long i = 0; i < b->files; i++) {
			snprintf(name, sizeof(name), "%s%07ld", prefix, i);
			if (unlinkat(dfd, name, 0) < 0) {
				failf("unlink %s", name);
				unlink_batch(dfd, prefix, b->files);
				close(dfd);
				return -1;
			}
		}
		r->seconds += now() - t0;
		r->ops += b->files;
		passes++;
	}
	close(dfd);
	return 0;
}

/* mkdir-rmdir: mkdir + rmdir of one name; the pair is one op, N per pass. */
static int sc_mkdir_rmdir(struct bench *b, struct result *r)
{
	char name[32];
	int dfd = open_subdir(b, "dirs");
	if (dfd < 0)
		return -1;
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		double t0 = now();
		for (long i = 0; i < b->files; i++) {
			snprintf(name, sizeof(name), "d%07ld", i);
			if (mkdirat(dfd, name, 0755) < 0) {
				failf("mkdir %s", name);
				close(dfd);
				return -1;
			}
			if (unlinkat(dfd, name, AT_REMOVEDIR) < 0) {
				failf("rmdir %s", name);
				close(dfd);
				return -1;
			}
		}
		r->seconds += now() - t0;
		r->ops += b->files;
		passes++;
	}
	close(dfd);
	return 0;
}

/* One pass of seq-write-BS: create seqw.dat, write file_size bytes in BS writes, fsync,
 * close, and remove it (the removal is not part of the pass, so it is not timed; a
 * pass that failed removes it too). Counts the writes in *ops; returns the seconds the
 * pass took, or -1. */
static double seq_write_pass(struct bench *b, size_t bs, long long *ops)
{
	double t0 = now(), seconds = -1;
	int fd = openat(b->rootfd, "seqw.dat", O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return failf("create seqw.dat");
	long long done = 0;
	while (done < b->file_size) {
		size_t n = b->file_size - done < (long long)bs ? (size_t)(b->file_size - done) : bs;
		if (write_all(fd, b->buf, n) < 0) {
			failf("write seqw.dat");
			goto out;
		}
		done += (long long)n;
		(*ops)++;
	}
	if (fsync(fd) < 0 && errno != EINVAL && errno != ENOSYS) {
		failf("fsync seqw.dat");
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		failf("close seqw.dat");
		goto out;
	}
	fd = -1;
	seconds = now() - t0;
out:
	if (fd >= 0)
		close(fd);
	unlinkat(b->rootfd, "seqw.dat", 0);
	return seconds;
}

/* seq-write-BS: passes of seq_write_pass, after one that is not measured. The first
 * pass on a mount that has not written for a while is slower than the next (probably
 * the kernel's dirty throttling: each mount may dirty a share of the page cache in
 * proportion to how much it wrote back lately). Without the warm-up, a target's result
 * depended on how long ago it had last written (bench/README.md). */
static int seq_write(struct bench *b, struct result *r, size_t bs)
{
	long long warmup_ops = 0;
	if (b->verbose)
		fprintf(stderr, "umfsbench: one unmeasured pass first\n");
	if (seq_write_pass(b, bs, &warmup_ops) < 0)
		return -1;
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		double seconds = seq_write_pass(b, bs, &r->ops);
		if (seconds < 0)
			return -1;
		r->seconds += seconds;
		r->bytes += b->file_size;
		passes++;
	}
	return 0;
}

static int sc_seq_write_4k(struct bench *b, struct result *r) { return seq_write(b, r, 4096); }
static int sc_seq_write_1m(struct bench *b, struct result *r) { return seq_write(b, r, 1 << 20); }

/* seq-read-BS: read big.dat from start to end in BS reads. */
static int seq_read(struct bench *b, struct result *r, size_t bs)
{
	if (need_big(b) < 0)
		return -1;
	drop_all_caches(b);
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		int fd = openat(b->rootfd, "big.dat", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return failf("open big.dat");
		drop_file_cache(b, fd);
		close(fd);
		double t0 = now();
		fd = openat(b->rootfd, "big.dat", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return failf("open big.dat");
		long long done = 0;
		for (;;) {
			ssize_t n = read(fd, b->buf, bs);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				close(fd);
				return failf("read big.dat");
			}
			if (n == 0)
				break;
			done += n;
			r->ops++;
		}
		close(fd);
		r->seconds += now() - t0;
		if (done != b->file_size) {
			errno = 0;
			return failf("read big.dat: %lld bytes, expected %lld", done, b->file_size);
		}
		r->bytes += done;
		passes++;
	}
	return 0;
}

static int sc_seq_read_4k(struct bench *b, struct result *r) { return seq_read(b, r, 4096); }
static int sc_seq_read_1m(struct bench *b, struct result *r) { return seq_read(b, r, 1 << 20); }

/* rand-read-4k: pread of 4 KiB at random aligned offsets of big.dat, with
 * POSIX_FADV_RANDOM (no readahead); the file's cache is dropped between passes. */
static int sc_rand_read_4k(struct bench *b, struct result *r)
{
	if (need_big(b) < 0)
		return -1;
	long long pages = b->file_size / 4096;
	if (pages < 1) {
		errno = 0;
		return failf("--file-size must be at least 4096 for rand-read-4k");
	}
	drop_all_caches(b);
	int fd = openat(b->rootfd, "big.dat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return failf("open big.dat");
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	long passes = 0;
	while (!enough(b, passes, r->seconds)) {
		drop_file_cache(b, fd);
		double t0 = now();
		for (int i = 0; i < RAND_READS_PER_PASS; i++) {
			off_t off = (off_t)(rnd(b) % (uint64_t)pages) * 4096;
			ssize_t n = pread(fd, b->buf, 4096, off);
			if (n != 4096) {
				if (n >= 0)
					errno = EIO;
				close(fd);
				return failf("pread big.dat at %lld", (long long)off);
			}
		}
		r->seconds += now() - t0;
		r->ops += RAND_READS_PER_PASS;
		r->bytes += (long long)RAND_READS_PER_PASS * 4096;
		passes++;
	}
	close(fd);
	return 0;
}

struct scenario {
	const char *name;
	int (*run)(struct bench *b, struct result *r);
	int io;
	const char *help;
};

static const struct scenario scenarios[] = {
	{ "create", sc_create, 0, "open(O_CREAT|O_EXCL)+close of N new files" },
	{ "getattr", sc_getattr, 0, "stat of N existing files" },
	{ "getattr-miss", sc_getattr_miss, 0, "stat of N missing names (ENOENT)" },
	{ "list", sc_list, 0, "opendir+readdir+closedir of a directory of N files (op = listing)" },
	{ "open-close", sc_open_close, 0, "open(O_RDONLY)+close of random existing files" },
	{ "open-overwrite", sc_open_overwrite, 0, "open(O_WRONLY|O_TRUNC)+write 1 KiB+close" },
	{ "setattr", sc_setattr, 0, "chmod and utimensat (op = one call)" },
	{ "delete", sc_delete, 0, "unlink of N files" },
	{ "mkdir-rmdir", sc_mkdir_rmdir, 0, "mkdir+rmdir (op = the pair)" },
	{ "seq-write-4k", sc_seq_write_4k, 1, "write a --file-size file in 4 KiB writes, fsync (after one unmeasured pass)" },
	{ "seq-write-1m", sc_seq_write_1m, 1, "write a --file-size file in 1 MiB writes, fsync (after one unmeasured pass)" },
	{ "seq-read-4k", sc_seq_read_4k, 1, "read a --file-size file in 4 KiB reads" },
	{ "seq-read-1m", sc_seq_read_1m, 1, "read a --file-size file in 1 MiB reads" },
	{ "rand-read-4k", sc_rand_read_4k, 1, "pread 4 KiB at random offsets of a --file-size file" },
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

/* ---- main ---------------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void remove_tree(const char *path)
{
	if (path[0])
		nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [OPTIONS] DIR\n"
		"\n"
		"Run file system micro-benchmarks inside DIR (in a private subdirectory that is\n"
		"removed at the end). One line per scenario on stdout:\n"
		"    SCENARIO OPS OPS_PER_SEC SECONDS [MIB_PER_SEC]\n"
		"('#' lines are comments; 'SCENARIO FAIL' when it failed, reason on stderr).\n"
		"\n"
		"options:\n"
		"  --files N          files per pass of the metadata scenarios (default 5000)\n"
		"  --file-size BYTES  size of the I/O scenarios' file; K, M, G suffixes (default 256M)\n"
		"  --iterations N     at least N passes per scenario (default 1)\n"
		"  --min-time SEC     repeat passes until SEC seconds were measured (default 1.0;\n"
		"                     0 = exactly --iterations passes)\n"
		"  --drop-caches      before each read scenario: sync; echo 3 > /proc/sys/vm/drop_caches\n"
		"                     (root only), and drop the file's cache before each read pass\n"
		"  -S, --scenario NAME\n"
		"                     run NAME (repeatable; default: all, in the order below)\n"
		"  --keep             do not remove the work directory at the end\n"
		"  --workdir NAME     work in DIR/NAME instead of DIR/umfsbench.PID: created if\n"
		"                     missing, never removed, and the files that scenarios share\n"
		"                     (the N-file directory, the large file) are reused by later\n"
		"                     runs with the same --files and --file-size\n"
		"  --list             print the scenario names, one a line, and exit\n"
		"  -v, --verbose      progress on stderr\n"
		"  -h, --help         this text\n"
		"\n"
		"scenarios:\n",
		argv0);
	for (size_t i = 0; i < NSCEN; i++)
		fprintf(f, "  %-15s %s\n", scenarios[i].name, scenarios[i].help);
}

static long long parse_size(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	long long mul = 1;
	switch (*end) {
	case 'k': case 'K': mul = 1LL << 10; end++; break;
	case 'm': case 'M': mul = 1LL << 20; end++; break;
	case 'g': case 'G': mul = 1LL << 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return -1;
	if (v > LLONG_MAX / mul)
		return -1;
	return v * mul;
}

/* First signal: finish the current pass, skip the rest, clean up. Second: die. */
static void on_signal(int sig)
{
	if (stop_requested)
		_exit(128 + sig);
	stop_requested = 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "files", required_argument, NULL, 'n' },
		{ "file-size", required_argument, NULL, 's' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "min-time", required_argument, NULL, 't' },
		{ "drop-caches", no_argument, NULL, 'd' },
		{ "scenario", required_argument, NULL, 'S' },
		{ "keep", no_argument, NULL, 'k' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "list", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = {
		.files = 5000,
		.file_size = 256LL << 20,
		.iterations = 1,
		.min_time = 1.0,
		.setfd = -1,
		.rootfd = -1,
		.rng = 0x9E3779B97F4A7C15ULL,
	};
	const struct scenario *chosen[MAX_SCENARIOS];
	size_t nchosen = 0;
	int opt;
	char *end;

	while ((opt = getopt_long(argc, argv, "S:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			errno = 0;
			b.files = strtol(optarg, &end, 10);
			if (errno || *end || b.files < 1 || b.files > 9999999) {
				fprintf(stderr, "umfsbench: bad --files '%s' (1..9999999)\n", optarg);
				return 2;
			}
			break;
		case 's':
			b.file_size = parse_size(optarg);
			if (b.file_size < 4096) {
				fprintf(stderr, "umfsbench: bad --file-size '%s' (at least 4096)\n", optarg);
				return 2;
			}
			break;
		case 'i':
			errno = 0;
			b.iterations = strtol(optarg, &end, 10);
			if (errno || *end || b.iterations < 1) {
				fprintf(stderr, "umfsbench: bad --iterations '%s'\n", optarg);
				return 2;
			}
			break;
		case 't':
			errno = 0;
			b.min_time = strtod(optarg, &end);
			if (errno || *end || !(b.min_time >= 0) || b.min_time > 3600) {
				fprintf(stderr, "umfsbench: bad --min-time '%s'\n", optarg);
				return 2;
			}
			break;
		case 'd':
			b.drop_caches = 1;
			break;
		case 'S': {
			size_t i;
			for (i = 0; i < NSCEN; i++)
				if (strcmp(optarg, scenarios[i].name) == 0)
					break;
			if (i == NSCEN) {
				fprintf(stderr, "umfsbench: unknown scenario '%s' (see --help)\n", optarg);
				return 2;
			}
			if (nchosen == MAX_SCENARIOS) {
				fprintf(stderr, "umfsbench: too many --scenario\n");
				return 2;
			}
			chosen[nchosen++] = &scenarios[i];
			break;
		}
		case 'k':
			b.keep = 1;
			break;
		case 'w':
			if (!optarg[0] || strchr(optarg, '/') || strcmp(optarg, ".") == 0 ||
			    strcmp(optarg, "..") == 0 || strlen(optarg) > NAME_MAX) {
				fprintf(stderr, "umfsbench: bad --workdir '%s' (a plain name)\n", optarg);
				return 2;
			}
			b.workdir = optarg;
			b.keep = 1;
			break;
		case 'l':
			for (size_t i = 0; i < NSCEN; i++)
				printf("%s\n", scenarios[i].name);
			return 0;
		case 'v':
			b.verbose = 1;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			fprintf(stderr, "try '%s --help'\n", argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: %s [OPTIONS] DIR (try --help)\n", argv[0]);
		return 2;
	}
	b.dir = argv[optind];
	if (nchosen == 0)
		for (size_t i = 0; i < NSCEN; i++)
			chosen[nchosen++] = &scenarios[i];

	struct stat st;
	if (stat(b.dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "umfsbench: %s: not a directory\n", b.dir);
		return 2;
	}
	int n;
	if (b.workdir)
		n = snprintf(b.root, sizeof(b.root), "%s/%s", b.dir, b.workdir);
	else
		n = snprintf(b.root, sizeof(b.root), "%s/umfsbench.%ld", b.dir, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(b.root)) {
		fprintf(stderr, "umfsbench: path too long\n");
		return 2;
	}
	if (mkdir(b.root, 0755) < 0 && !(b.workdir && errno == EEXIST)) {
		fprintf(stderr, "umfsbench: mkdir %s: %s\n", b.root, strerror(errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	b.rootfd = open(b.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b.rootfd < 0) {
		fprintf(stderr, "umfsbench: open %s: %s\n", b.root, strerror(errno));
		return 1;
	}
	if (posix_memalign((void **)&b.buf, 4096, 1 << 20) != 0) {
		fprintf(stderr, "umfsbench: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < (1 << 20); i++)
		b.buf[i] = (char)('a' + (i * 7 + i / 4096) % 26);

	printf("# umfsbench dir=%s files=%ld file_size=%lld iterations=%ld min_time=%.2f drop_caches=%d\n",
	       b.dir, b.files, b.file_size, b.iterations, b.min_time, b.drop_caches);
	printf("# scenario ops ops_per_sec seconds [MiB_per_sec]\n");
	fflush(stdout);

	int failures = 0;
	for (size_t i = 0; i < nchosen && !stop_requested; i++) {
		const struct scenario *sc = chosen[i];
		struct result r = { 0, 0.0, 0 };
		if (b.verbose)
			fprintf(stderr, "umfsbench: %s...\n", sc->name);
		errno = 0;
		fail_msg[0] = 0;
		if (sc->run(&b, &r) < 0) {
			fprintf(stderr, "umfsbench: %s: %s\n", sc->name, fail_msg);
			printf("%s FAIL\n", sc->name);
			failures++;
		} else {
			double secs = r.seconds > 0 ? r.seconds : 1e-9;
			printf("%s %lld %.1f %.4f", sc->name, r.ops, (double)r.ops / secs, r.seconds);
			if (sc->io)
				printf(" %.1f", (double)r.bytes / MIB / secs);
			printf("\n");
		}
		fflush(stdout);
	}

	if (b.setfd >= 0)
		close(b.setfd);
	close(b.rootfd);
	free(b.buf);
	if (!b.keep)
		remove_tree(b.root);
	if (stop_requested)
		return 130;
	return failures ? 1 : 0;
}
