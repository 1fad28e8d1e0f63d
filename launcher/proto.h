/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the umfsd control protocol, version 1 (doc/umfsd-protocol.md).
 *
 * A message is a 4-byte little-endian length (of what follows), then a header:
 * u16 version, u16 type, u32 request id, then the body. Requests carry
 * NUL-terminated strings and little-endian integers; a reply carries a status
 * (0 or -errno), a message and a list of records of key/value fields. Decoding is
 * pure (no I/O) and goes through lib/cursor.h only, so it can be fuzzed alone.
 */
#ifndef UMFS_LAUNCHER_PROTO_H
#define UMFS_LAUNCHER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1
#define PROTO_MAX_MESSAGE (64 * 1024)     /* a request, length field excluded */
#define PROTO_MAX_REPLY (1024 * 1024)     /* a reply, length field excluded */
#define PROTO_MAX_ARGS 8                  /* %2..%9 */
#define PROTO_MAX_NAME 64                 /* service and instance names */
#define PROTO_MAX_ARG 4095                /* one argument, one path */
#define PROTO_MAX_SECRET 4096
#define PROTO_HEADER 8                    /* version, type, id */

enum proto_type {
	REQ_START = 1,
	REQ_STOP = 2,
	REQ_INFO = 3,
	REQ_LIST = 4,
	REQ_LOG = 5,
	REQ_MAX_ = 5,
	REPLY = 0x100,
};

#define START_SECRET 0x1u /* the request carries a secret for the child's stdin */

struct request {
	uint16_t version, type;
	uint32_t id;
	const char *service, *instance; /* START, STOP, INFO, LOG */
	const char *cwd;                /* START: where relative paths are resolved */
	unsigned argc;                  /* START: %2.. */
	const char *argv[PROTO_MAX_ARGS];
	uint32_t flags;                 /* START_* */
	const unsigned char *secret;    /* START with START_SECRET; points into the input */
	uint32_t secret_len;
	uint32_t max_bytes;             /* LOG: how much of the tail */
};

/* A service or instance name: [A-Za-z0-9_.:+-], 1..64 bytes, not starting with '.' or '-'. */
bool proto_valid_name(const char *s);

/*
 * Decode one request: buf holds what follows the length field (len bytes). Returns 0,
 * or -EPROTONOSUPPORT (other version), -EBADMSG (unknown type), -EPROTO (truncated or
 * trailing bytes), -EINVAL (a bad name or value), -ENAMETOOLONG. Strings point into buf.
 * r->id and r->type are set whenever the header is there, so an error reply can name it.
 */
int proto_decode_request(const void *buf, size_t len, struct request *r);

/* A growing message being encoded. Any failure (memory, size) sticks in err. */
struct pbuf {
	unsigned char *data;
	size_t len, cap, max;
	int err;
};

void pbuf_init(struct pbuf *b, size_t max);
void pbuf_free(struct pbuf *b);
void pbuf_u8(struct pbuf *b, uint8_t v);
void pbuf_u16(struct pbuf *b, uint16_t v);
void pbuf_u32(struct pbuf *b, uint32_t v);
void pbuf_bytes(struct pbuf *b, const void *p, size_t n);
void pbuf_string(struct pbuf *b, const char *s);               /* NUL-terminated */
void pbuf_value(struct pbuf *b, const void *p, uint32_t n);    /* u32 length, bytes, NUL */
/* Start a message (room for the length), and finish it (fill the length in). */
void pbuf_begin(struct pbuf *b, uint16_t type, uint32_t id);
int pbuf_end(struct pbuf *b);

/* Requests, as umfsctl sends them. */
int proto_encode_request(struct pbuf *b, const struct request *r);

/*
 * A reply: status, message, then records. The server builds it with
 * reply_begin (which says how many records follow), then for each record reply_record(nfields) followed by that many
 * reply_field calls, then pbuf_end.
 */
void reply_begin(struct pbuf *b, uint32_t id, int32_t status, const char *message,
		 uint32_t nrecords);
void reply_record(struct pbuf *b, uint16_t nfields);
void reply_field(struct pbuf *b, const char *key, const char *value);

struct reply_field_v {
	const char *key, *value;
};
struct reply_record_v {
	unsigned nfields;
	struct reply_field_v *fields;
};
struct reply {
	uint32_t id;
	int32_t status;
	const char *message;
	unsigned nrecords;
	struct reply_record_v *records; /* malloc'd, with the fields; reply_free */
};

/* Decode a reply (what follows the length field). Strings point into buf. */
int proto_decode_reply(const void *buf, size_t len, struct reply *r);
void reply_free(struct reply *r);

/* Little-endian length prefix of a message. */
uint32_t proto_get_length(const unsigned char p[4]);

#endif
