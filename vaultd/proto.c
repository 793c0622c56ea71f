/*
 * Framed messages over a pair of file descriptors (proto.h,
 * docs/protocol.md). Reads wait with poll(2) for at most the session's
 * timeout, so a silent peer ends the session instead of holding it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

#define RBUF_SIZE (256u << 10)
#define WBUF_FLUSH (256u << 10)

int proto_init(proto *p, int in, int out, int timeout_s)
{
	memset(p, 0, sizeof(*p));
	p->in = in;
	p->out = out;
	p->timeout_ms = (timeout_s > 0 ? timeout_s : PROTO_TIMEOUT_DEFAULT) * 1000;
	p->start = SIZE_MAX;
	if (!(p->rbuf = malloc(RBUF_SIZE)))
		return error_oom();
	/* every wait is bounded by the timeout, through poll(2) */
	int fl;
	if ((fl = fcntl(in, F_GETFL)) >= 0)
		(void)fcntl(in, F_SETFL, fl | O_NONBLOCK);
	if ((fl = fcntl(out, F_GETFL)) >= 0)
		(void)fcntl(out, F_SETFL, fl | O_NONBLOCK);
	return 0;
}

#define ABUF_ALIGN 4096u
#define ABUF_SIZE (PROTO_OBJECT_MAX + ABUF_ALIGN)

void *proto_aligned(proto *p, const void *data, size_t len, size_t *room)
{
	void *b = NULL;
	if (len > PROTO_OBJECT_MAX)
		return NULL;
	if (!p->abuf && posix_memalign(&b, ABUF_ALIGN, ABUF_SIZE) == 0)
		p->abuf = b;
	if (!p->abuf)
		return NULL;
	memcpy(p->abuf, data, len);
	*room = ABUF_SIZE;
	return p->abuf;
}

void proto_dispose(proto *p)
{
	free(p->abuf);
	p->abuf = NULL;
	free(p->rbuf);
	p->rbuf = NULL;
	evault_buf_dispose(&p->frame);
	evault_buf_dispose(&p->wbuf);
}

/* More input into rbuf; 0, 1 at end of input, <0 error or timeout. */
static int fill(proto *p)
{
	if (p->rpos > 0) {
		memmove(p->rbuf, p->rbuf + p->rpos, p->rlen - p->rpos);
		p->rlen -= p->rpos;
		p->rpos = 0;
	}
	for (;;) {
		struct pollfd pf = {.fd = p->in, .events = POLLIN};
		int n = poll(&pf, 1, p->timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_errno("cannot wait for the peer", NULL);
		if (n == 0)
			return evault_error_set(EVAULT_ERROR, "the peer said nothing for %d s",
						p->timeout_ms / 1000);
		ssize_t r = read(p->in, p->rbuf + p->rlen, RBUF_SIZE - p->rlen);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return error_errno("cannot read from the peer", NULL);
		if (r == 0)
			return 1;
		p->rlen += (size_t)r;
		p->bytes_in += (uint64_t)r;
		return 0;
	}
}

/* n bytes of input into dst. 0, or EVAULT_ECORRUPT when the input ends. */
static int take(proto *p, uint8_t *dst, size_t n)
{
	while (n > 0) {
		if (p->rpos == p->rlen) {
			int rc = fill(p);
			if (rc < 0)
				return rc;
			if (rc > 0)
				return evault_error_set(EVAULT_ECORRUPT,
							"the peer's message was cut short");
		}
		size_t k = p->rlen - p->rpos < n ? p->rlen - p->rpos : n;
		memcpy(dst, p->rbuf + p->rpos, k);
		p->rpos += k;
		dst += k;
		n -= k;
	}
	return 0;
}

int proto_read(proto *p, uint8_t *type, reader *body, size_t max)
{
	uint8_t hdr[4];
	int rc;
	if ((rc = proto_flush(p)) < 0)
		return rc;
	if (p->rpos == p->rlen) {
		if ((rc = fill(p)) < 0)
			return rc;
		if (rc > 0) {
			p->eof = true;
			return 1;
		}
	}
	if ((rc = take(p, hdr, 4)) < 0)
		return rc;
	uint32_t n = get_u32(hdr);
	if (max == 0 || max > PROTO_FRAME_MAX)
		max = PROTO_FRAME_MAX;
	if (n == 0 || n > max)
		return evault_error_set(EVAULT_ECORRUPT,
					"a message of %u bytes (at most %zu here): not this protocol",
					n, max);
	p->frame.size = 0;
	if (buf_reserve(&p->frame, n) < 0)
		return error_oom();
	if ((rc = take(p, (uint8_t *)p->frame.ptr, n)) < 0)
		return rc;
	p->frame.size = n;
	*type = (uint8_t)p->frame.ptr[0];
	reader_init(body, p->frame.ptr + 1, n - 1);
	return 0;
}

evault_buf *proto_begin(proto *p, uint8_t type)
{
	p->start = p->wbuf.size;
	uint8_t hdr[5] = {0, 0, 0, 0, type};
	if (evault_buf_put(&p->wbuf, hdr, sizeof(hdr)) < 0)
		p->start = SIZE_MAX;
	return &p->wbuf;
}

int proto_end(proto *p)
{
	if (p->start == SIZE_MAX || p->wbuf.size < p->start + 5)
		return error_oom();
	size_t n = p->wbuf.size - p->start - 4;
	if (n > PROTO_FRAME_MAX)
		return evault_error_set(EVAULT_EINVAL, "a message of %zu bytes is too long", n);
	put_u32((uint8_t *)p->wbuf.ptr + p->start, (uint32_t)n);
	p->start = SIZE_MAX;
	return p->wbuf.size >= WBUF_FLUSH ? proto_flush(p) : 0;
}

int proto_send(proto *p, uint8_t type, const void *body, size_t len)
{
	evault_buf *b = proto_begin(p, type);
	if (len && evault_buf_put(b, body, len) < 0)
		return error_oom();
	return proto_end(p);
}

int proto_flush(proto *p)
{
	if (!p->wbuf.size)
		return 0;
	const char *at = p->wbuf.ptr;
	size_t left = p->wbuf.size;
	while (left) {
		ssize_t n = write(p->out, at, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) { /* a peer that stops reading ends the session */
			struct pollfd pf = {.fd = p->out, .events = POLLOUT};
			int k = poll(&pf, 1, p->timeout_ms);
			if (k == 0)
				return evault_error_set(EVAULT_ERROR,
							"the peer read nothing for %d s",
							p->timeout_ms / 1000);
			if (k < 0 && errno != EINTR)
				return error_errno("cannot wait for the peer", NULL);
			continue;
		}
		if (n < 0) {
			p->broken = true;
			return error_errno("cannot write to the peer", NULL);
		}
		at += n;
		left -= (size_t)n;
		p->bytes_out += (uint64_t)n;
	}
	p->wbuf.size = 0;
	return 0;
}

int proto_send_error(proto *p, int code, const char *msg)
{
	evault_buf *b = proto_begin(p, MSG_ERROR);
	size_t len = strnlen(msg, 1024);
	if (buf_put_u32(b, (uint32_t)(code < 0 ? -code : code)) < 0 ||
	    buf_put_string(b, msg, len) < 0 || proto_end(p) < 0)
		return EVAULT_ERROR;
	return proto_flush(p);
}

int reader_cstring(reader *r, char *out, size_t outlen)
{
	size_t n;
	const uint8_t *s = reader_string(r, &n);
	if (!s || n >= outlen || memchr(s, 0, n))
		return evault_error_set(EVAULT_ECORRUPT, "a name in a message is not valid");
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}
