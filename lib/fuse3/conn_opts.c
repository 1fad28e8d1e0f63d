/* SPDX-License-Identifier: MIT */
/*
 * conn_opts.c - fuse_parse_conn_info_opts / fuse_apply_conn_info_opts: connection
 * settings from the command line (-o max_write=N, writeback_cache, ...), for programs
 * that let their users tune what the init callback asks for.
 */
#include <stddef.h>
#include <stdlib.h>

#include "fuse3_int.h"

struct fuse_conn_info_opts {
	unsigned max_write, max_readahead, max_background, congestion_threshold, time_gran;
	unsigned set, unset; /* FUSE_CAP_* to add to and take from want */
	int given_max_write, given_readahead, given_background, given_congestion, given_gran;
	int async_read, sync_read, atomic_o_trunc, no_flock, no_posix_lock, no_lock;
	int splice_write, no_splice_write, splice_move, no_splice_move, splice_read,
	    no_splice_read, auto_inval, no_auto_inval, rdp_no, rdp_yes, rdp_auto,
	    async_dio, no_async_dio, writeback, no_writeback;
};

#define O(t, f, v) { t, offsetof(struct fuse_conn_info_opts, f), v }

static const struct fuse_opt conn_opts[] = {
	O("max_write=%u", max_write, 0), O("max_write=", given_max_write, 1),
	O("max_readahead=%u", max_readahead, 0), O("max_readahead=", given_readahead, 1),
	O("max_background=%u", max_background, 0), O("max_background=", given_background, 1),
	O("congestion_threshold=%u", congestion_threshold, 0),
	O("congestion_threshold=", given_congestion, 1),
	O("time_gran=%u", time_gran, 0), O("time_gran=", given_gran, 1),
	O("async_read", async_read, 1), O("sync_read", sync_read, 1),
	O("atomic_o_trunc", atomic_o_trunc, 1),
	O("no_remote_lock", no_lock, 1), O("no_remote_flock", no_flock, 1),
	O("no_remote_posix_lock", no_posix_lock, 1),
	O("splice_write", splice_write, 1), O("no_splice_write", no_splice_write, 1),
	O("splice_move", splice_move, 1), O("no_splice_move", no_splice_move, 1),
	O("splice_read", splice_read, 1), O("no_splice_read", no_splice_read, 1),
	O("auto_inval_data", auto_inval, 1), O("no_auto_inval_data", no_auto_inval, 1),
	O("readdirplus=no", rdp_no, 1), O("readdirplus=yes", rdp_yes, 1),
	O("readdirplus=auto", rdp_auto, 1),
	O("async_dio", async_dio, 1), O("no_async_dio", no_async_dio, 1),
	O("writeback_cache", writeback, 1), O("no_writeback_cache", no_writeback, 1),
	FUSE_OPT_END
};

struct fuse_conn_info_opts *fuse_parse_conn_info_opts(struct fuse_args *args)
{
	struct fuse_conn_info_opts *o = calloc(1, sizeof(*o));

	if (!o) {
		fuse_log(FUSE_LOG_ERR, "fuse: out of memory\n");
		return NULL;
	}
	if (fuse_opt_parse(args, o, conn_opts, NULL) == -1) {
		free(o);
		return NULL;
	}
	return o;
}

static void flip(struct fuse_conn_info *c, int on, int off, unsigned cap)
{
	if (on)
		c->want |= cap;
	if (off)
		c->want &= ~cap;
}

void fuse_apply_conn_info_opts(struct fuse_conn_info_opts *o, struct fuse_conn_info *c)
{
	if (o->given_max_write)
		c->max_write = o->max_write;
	if (o->given_readahead)
		c->max_readahead = o->max_readahead;
	if (o->given_background)
		c->max_background = o->max_background;
	if (o->given_congestion)
		c->congestion_threshold = o->congestion_threshold;
	if (o->given_gran)
		c->time_gran = o->time_gran;
	flip(c, o->async_read, o->sync_read, FUSE_CAP_ASYNC_READ);
	flip(c, o->atomic_o_trunc, 0, FUSE_CAP_ATOMIC_O_TRUNC);
	flip(c, 0, o->no_lock || o->no_flock, FUSE_CAP_FLOCK_LOCKS);
	flip(c, 0, o->no_lock || o->no_posix_lock, FUSE_CAP_POSIX_LOCKS);
	flip(c, o->splice_write, o->no_splice_write, FUSE_CAP_SPLICE_WRITE);
	flip(c, o->splice_move, o->no_splice_move, FUSE_CAP_SPLICE_MOVE);
	flip(c, o->splice_read, o->no_splice_read, FUSE_CAP_SPLICE_READ);
	flip(c, o->auto_inval, o->no_auto_inval, FUSE_CAP_AUTO_INVAL_DATA);
	flip(c, o->async_dio, o->no_async_dio, FUSE_CAP_ASYNC_DIO);
	flip(c, o->writeback, o->no_writeback, FUSE_CAP_WRITEBACK_CACHE);
	if (o->rdp_no)
		c->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
	if (o->rdp_yes) {
		c->want |= FUSE_CAP_READDIRPLUS;
		c->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	}
	if (o->rdp_auto)
		c->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
	/* Only what the kernel offers can be had. */
	c->want &= c->capable;
}
