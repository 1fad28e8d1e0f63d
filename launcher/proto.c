/* SPDX-License-Identifier: MIT */
/*
 * proto.c - encoding and decoding of umfsd control messages (doc/umfsd-protocol.md).
 * Decoders read only through the bounds-checked cursor; nothing here does I/O.
 */
#include "proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"

/* ---- decoding ---- */

static int get_u16(struct cursor *c, uint16_t *v)
{
	unsigned char b[2];
	int rc = cursor_get(c, b, 2);

	if (rc == 0)
		*v = (uint16_t)(b[0] | b[1] << 8);
	return rc;
}

static int get_u32(struct cursor *c, uint32_t *v)
{
	unsigned char b[4];
	int rc = cursor_get(c, b, 4);

	if (rc == 0)
		*v = proto_get_length(b);
	return rc;
}

uint32_t proto_get_length(const unsigned char p[4])
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool proto_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PROTO_MAX_NAME || s[0] == '.' || s[0] == '-')
		return false;
	for (; *s; s++) {
		char ch = *s;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("_.:+-", ch)))
			return false;
	}
	return true;
}

static int get_name(struct cursor *c, const char **out)
{
	int rc = cursor_string(c, PROTO_MAX_NAME, out);

	if (rc == 0 && !proto_valid_name(*out))
		rc = -EINVAL;
	return rc;
}

static int decode_start(struct cursor *c, struct request *r)
{
	uint8_t argc;
	int rc;

	if ((rc = get_name(c, &r->service)) || (rc = get_name(c, &r->instance)) ||
	    (rc = cursor_string(c, PROTO_MAX_ARG, &r->cwd)))
		return rc;
	if (r->cwd[0] != '/')
		return -EINVAL;
	if ((rc = cursor_get(c, &argc, 1)))
		return rc;
	if (argc > PROTO_MAX_ARGS)
		return -E2BIG;
	r->argc = argc;
	for (unsigned i = 0; i < argc; i++)
		if ((rc = cursor_string(c, PROTO_MAX_ARG, &r->argv[i])))
			return rc;
	if ((rc = get_u32(c, &r->flags)) || (rc = get_u32(c, &r->secret_len)))
		return rc;
	if (r->flags & ~START_SECRET)
		return -EINVAL;
	if (r->secret_len > PROTO_MAX_SECRET || (r->secret_len && !(r->flags & START_SECRET)))
		return -EINVAL;
	return cursor_take(c, r->secret_len, (const void **)&r->secret);
}

int proto_decode_request(const void *buf, size_t len, struct request *r)
{
	struct cursor c;
	int rc;

	memset(r, 0, sizeof(*r));
	cursor_init(&c, buf, len);
	if ((rc = get_u16(&c, &r->version)) || (rc = get_u16(&c, &r->type)) ||
	    (rc = get_u32(&c, &r->id)))
		return rc;
	if (r->version != PROTO_VERSION)
		return -EPROTONOSUPPORT;
	switch (r->type) {
	case REQ_START:
		rc = decode_start(&c, r);
		break;
	case REQ_STOP:
	case REQ_INFO:
		if ((rc = get_name(&c, &r->service)) == 0)
			rc = get_name(&c, &r->instance);
		break;
	case REQ_LOG:
		if ((rc = get_name(&c, &r->service)) == 0 && (rc = get_name(&c, &r->instance)) == 0)
			rc = get_u32(&c, &r->max_bytes);
		break;
	case REQ_LIST:
		break;
	default:
		return -EBADMSG;
	}
	/* A request is exactly its fields: trailing bytes mean the sender is confused. */
	if (rc == 0 && cursor_left(&c))
		rc = -EPROTO;
	return rc;
}

/* A length-prefixed value: u32 n, n bytes without NUL, then a NUL. */
static int get_value(struct cursor *c, const char **out)
{
	const void *p;
	uint32_t n;
	unsigned char nul;
	int rc;

	if ((rc = get_u32(c, &n)) || (rc = cursor_take(c, n, &p)) || (rc = cursor_get(c, &nul, 1)))
		return rc;
	if (nul != 0 || memchr(p, '\0', n))
		return -EPROTO;
	*out = p;
	return 0;
}

int proto_decode_reply(const void *buf, size_t len, struct reply *r)
{
	struct cursor c;
	uint16_t version, type;
	uint32_t status, nrec;
	int rc;

	memset(r, 0, sizeof(*r));
	cursor_init(&c, buf, len);
	if ((rc = get_u16(&c, &version)) || (rc = get_u16(&c, &type)) || (rc = get_u32(&c, &r->id)))
		return rc;
	if (version != PROTO_VERSION)
		return -EPROTONOSUPPORT;
	if (type != REPLY)
		return -EBADMSG;
	if ((rc = get_u32(&c, &status)) || (rc = get_value(&c, &r->message)) ||
	    (rc = get_u32(&c, &nrec)))
		return rc;
	r->status = (int32_t)status;
	if (r->status > 0 || r->status < -4095)
		return -EPROTO;
	/* Each record takes at least 2 bytes: a count beyond that is a lie. */
	if (nrec > cursor_left(&c) / 2)
		return -EPROTO;
	r->records = calloc(nrec ? nrec : 1, sizeof(*r->records));
	if (!r->records)
		return -ENOMEM;
	r->nrecords = nrec;
	for (uint32_t i = 0; i < nrec; i++) {
		struct reply_record_v *rec = &r->records[i];
		uint16_t nf;

		if ((rc = get_u16(&c, &nf)))
			goto fail;
		/* Each field takes at least 7 bytes (a 1-byte key, an empty value). */
		if (nf > cursor_left(&c) / 7) {
			rc = -EPROTO;
			goto fail;
		}
		rec->fields = calloc(nf ? nf : 1, sizeof(*rec->fields));
		if (!rec->fields) {
			rc = -ENOMEM;
			goto fail;
		}
		rec->nfields = nf;
		for (unsigned f = 0; f < nf; f++)
			if ((rc = cursor_string(&c, 64, &rec->fields[f].key)) ||
			    (rc = get_value(&c, &rec->fields[f].value)))
				goto fail;
	}
	if (cursor_left(&c) == 0)
		return 0;
	rc = -EPROTO;
fail:
	reply_free(r);
	return rc;
}

void reply_free(struct reply *r)
{
	for (unsigned i = 0; r->records && i < r->nrecords; i++)
		free(r->records[i].fields);
	free(r->records);
	r->records = NULL;
	r->nrecords = 0;
}

/* ---- encoding ---- */

void pbuf_init(struct pbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max + 4;
}

void pbuf_free(struct pbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void pbuf_bytes(struct pbuf *b, const void *p, size_t n)
{
	if (b->err)
		return;
	if (n > b->max - b->len) {
		b->err = -EMSGSIZE;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *d;

		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			b->err = -ENOMEM;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

void pbuf_u8(struct pbuf *b, uint8_t v)
{
	pbuf_bytes(b, &v, 1);
}

void pbuf_u16(struct pbuf *b, uint16_t v)
{
	unsigned char p[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	pbuf_bytes(b, p, 2);
}

void pbuf_u32(struct pbuf *b, uint32_t v)
{
	unsigned char p[4] = { (unsigned char)v, (unsigned char)(v >> 8),
			       (unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	pbuf_bytes(b, p, 4);
}

void pbuf_string(struct pbuf *b, const char *s)
{
	pbuf_bytes(b, s, strlen(s) + 1);
}

void pbuf_value(struct pbuf *b, const void *p, uint32_t n)
{
	pbuf_u32(b, n);
	pbuf_bytes(b, p, n);
	pbuf_u8(b, 0);
}

void pbuf_begin(struct pbuf *b, uint16_t type, uint32_t id)
{
	pbuf_u32(b, 0); /* the length, filled in by pbuf_end */
	pbuf_u16(b, PROTO_VERSION);
	pbuf_u16(b, type);
	pbuf_u32(b, id);
}

int pbuf_end(struct pbuf *b)
{
	uint32_t n = (uint32_t)(b->len - 4);

	if (b->err)
		return b->err;
	b->data[0] = (unsigned char)n;
	b->data[1] = (unsigned char)(n >> 8);
	b->data[2] = (unsigned char)(n >> 16);
	b->data[3] = (unsigned char)(n >> 24);
	return 0;
}

int proto_encode_request(struct pbuf *b, const struct request *r)
{
	pbuf_begin(b, r->type, r->id);
	switch (r->type) {
	case REQ_START:
		pbuf_string(b, r->service);
		pbuf_string(b, r->instance);
		pbuf_string(b, r->cwd);
		pbuf_u8(b, (uint8_t)r->argc);
		for (unsigned i = 0; i < r->argc; i++)
			pbuf_string(b, r->argv[i]);
		pbuf_u32(b, r->flags);
		pbuf_u32(b, r->secret_len);
		pbuf_bytes(b, r->secret, r->secret_len);
		break;
	case REQ_STOP:
	case REQ_INFO:
		pbuf_string(b, r->service);
		pbuf_string(b, r->instance);
		break;
	case REQ_LOG:
		pbuf_string(b, r->service);
		pbuf_string(b, r->instance);
		pbuf_u32(b, r->max_bytes);
		break;
	default:
		break;
	}
	return pbuf_end(b);
}

void reply_begin(struct pbuf *b, uint32_t id, int32_t status, const char *message,
		 uint32_t nrecords)
{
	pbuf_begin(b, REPLY, id);
	pbuf_u32(b, (uint32_t)status);
	pbuf_value(b, message, (uint32_t)strlen(message));
	pbuf_u32(b, nrecords);
}

void reply_record(struct pbuf *b, uint16_t nfields)
{
	pbuf_u16(b, nfields);
}

void reply_field(struct pbuf *b, const char *key, const char *value)
{
	pbuf_string(b, key);
	pbuf_value(b, value, (uint32_t)strlen(value));
}
