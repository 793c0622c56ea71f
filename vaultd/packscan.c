/* Bounds on a hostile git pack, checked while streaming it: see packscan.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "packscan.h"
#include "util.h"

enum { T_COMMIT = 1, T_TREE = 2, T_BLOB = 3, T_TAG = 4, T_OFS_DELTA = 6, T_REF_DELTA = 7 };

typedef struct rd {
	int fd;
	uint8_t buf[65536];
	size_t pos, len;
	uint64_t off; /* offset in the pack of buf[pos] */
} rd;

static int bad(const char *why)
{
	return evault_error_set(EVAULT_ECORRUPT, "the bundle's pack is refused: %s", why);
}

/* At least one byte available (0), or the end (1). */
static int fill(rd *r)
{
	if (r->pos < r->len)
		return 0;
	ssize_t n;
	do
		n = read(r->fd, r->buf, sizeof(r->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_errno("cannot read the bundle", NULL);
	r->pos = 0;
	r->len = (size_t)n;
	return n == 0 ? 1 : 0;
}

static int byte(rd *r, uint8_t *b)
{
	int rc = fill(r);
	if (rc)
		return rc < 0 ? rc : bad("it ends inside an object");
	*b = r->buf[r->pos++];
	r->off++;
	return 0;
}

static int skip(rd *r, size_t n)
{
	uint8_t b;
	for (int rc; n--;)
		if ((rc = byte(r, &b)) < 0)
			return rc;
	return 0;
}

/* A delta's leading size: little-endian base-128, at most 64 bits. */
static int delta_size(const uint8_t *p, size_t n, size_t *used, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0, i = 0; i < n; i++, shift += 7) {
		if (shift > 63)
			return -1;
		v |= (uint64_t)(p[i] & 0x7f) << shift;
		if (!(p[i] & 0x80)) {
			*used = i + 1;
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* The zlib stream of one object: exactly size bytes once inflated. For a
 * delta, *result gets the size it declares for what it produces. */
static int inflate_entry(rd *r, z_stream *z, uint64_t size, bool delta, uint64_t *result)
{
	uint8_t out[16384], head[32];
	size_t nhead = 0;
	uint64_t got = 0;
	int zr = inflateReset(z);
	if (zr != Z_OK)
		return bad("zlib could not start");
	for (;;) {
		int rc = fill(r);
		if (rc)
			return rc < 0 ? rc : bad("it ends inside an object's data");
		z->next_in = r->buf + r->pos;
		z->avail_in = (uInt)(r->len - r->pos);
		z->next_out = out;
		z->avail_out = sizeof(out);
		zr = inflate(z, Z_NO_FLUSH);
		size_t used = (r->len - r->pos) - z->avail_in, made = sizeof(out) - z->avail_out;
		r->pos += used;
		r->off += used;
		if (delta && nhead < sizeof(head)) {
			size_t k = made < sizeof(head) - nhead ? made : sizeof(head) - nhead;
			memcpy(head + nhead, out, k);
			nhead += k;
		}
		got += made;
		if (got > size)
			return bad("an object inflates to more than it declares");
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return bad("an object's data is not a zlib stream");
		if (zr == Z_BUF_ERROR && used == 0 && made == 0)
			return bad("an object's data is not a zlib stream");
	}
	if (got != size)
		return bad("an object inflates to less than it declares");
	*result = size;
	if (delta) {
		size_t u1, u2;
		uint64_t base;
		if (delta_size(head, nhead, &u1, &base) < 0 ||
		    delta_size(head + u1, nhead - u1, &u2, result) < 0)
			return bad("a delta's sizes are not readable");
	}
	return 0;
}

typedef struct seen { /* where each object starts, and its offset-delta depth */
	uint64_t *off;
	uint32_t *depth;
	size_t n, a;
} seen;

static int seen_add(seen *s, uint64_t off, uint32_t depth)
{
	if (s->n == s->a) {
		size_t na = s->a ? s->a * 2 : 1024;
		uint64_t *o = realloc(s->off, na * sizeof(*o));
		if (!o)
			return error_oom();
		s->off = o;
		uint32_t *d = realloc(s->depth, na * sizeof(*d));
		if (!d)
			return error_oom();
		s->depth = d;
		s->a = na;
	}
	s->off[s->n] = off;
	s->depth[s->n++] = depth;
	return 0;
}

/* The depth of the object starting at off (offsets ascend), or -1. */
static int64_t seen_depth(const seen *s, uint64_t off)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->off[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->off[lo] == off ? (int64_t)s->depth[lo] : -1;
}

int packscan_fd(int fd, const packscan_limits *lim, packscan_stats *st)
{
	rd *r = calloc(1, sizeof(*r));
	seen s = {0};
	z_stream z;
	bool zon = false;
	int rc = 0;
	memset(st, 0, sizeof(*st));
	memset(&z, 0, sizeof(z));
	if (!r)
		return error_oom();
	r->fd = fd;
	if (inflateInit(&z) != Z_OK) {
		rc = bad("zlib could not start");
		goto done;
	}
	zon = true;
	uint8_t h[12];
	for (size_t i = 0; i < sizeof(h); i++)
		if ((rc = byte(r, &h[i])) < 0)
			goto done;
	uint32_t ver = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
	uint32_t count = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
	if (memcmp(h, "PACK", 4) != 0 || (ver != 2 && ver != 3)) {
		rc = bad("it is not a git pack");
		goto done;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint64_t start = r->off, size, result;
		uint8_t b;
		if ((rc = byte(r, &b)) < 0)
			goto done;
		int type = (b >> 4) & 7;
		size = b & 15;
		for (unsigned shift = 4; b & 0x80; shift += 7) {
			if (shift > 60) {
				rc = bad("an object's size is not readable");
				goto done;
			}
			if ((rc = byte(r, &b)) < 0)
				goto done;
			size |= (uint64_t)(b & 0x7f) << shift;
		}
		uint32_t depth = 0;
		if (type == T_OFS_DELTA) {
			if ((rc = byte(r, &b)) < 0)
				goto done;
			uint64_t back = b & 0x7f;
			while (b & 0x80) {
				if (back > (UINT64_MAX >> 8)) {
					rc = bad("a delta's base offset is not readable");
					goto done;
				}
				if ((rc = byte(r, &b)) < 0)
					goto done;
				back = ((back + 1) << 7) | (b & 0x7f);
			}
			int64_t bd = back && back <= start - 12 ? seen_depth(&s, start - back) : -1;
			if (bd < 0) {
				rc = bad("a delta's base is not an object of the pack before it");
				goto done;
			}
			if ((depth = (uint32_t)bd + 1) > lim->max_depth) {
				rc = bad("a chain of deltas is deeper than allowed");
				goto done;
			}
		} else if (type == T_REF_DELTA) {
			if ((rc = skip(r, 20)) < 0)
				goto done;
			st->ref_deltas++;
			depth = 1;
		} else if (type != T_COMMIT && type != T_TREE && type != T_BLOB && type != T_TAG) {
			rc = bad("an object of an unknown type");
			goto done;
		}
		if (size > lim->max_object) {
			rc = bad("an object is larger than allowed");
			goto done;
		}
		bool delta = type == T_OFS_DELTA || type == T_REF_DELTA;
		if ((rc = inflate_entry(r, &z, size, delta, &result)) < 0)
			goto done;
		if (result > lim->max_object) {
			rc = bad("a delta would produce an object larger than allowed");
			goto done;
		}
		st->deltas += delta;
		if (result > lim->max_total - st->expanded) {
			rc = bad("its objects would expand to more than allowed for its size");
			goto done;
		}
		st->expanded += result;
		if (depth > st->depth)
			st->depth = depth;
		if ((rc = seen_add(&s, start, depth)) < 0)
			goto done;
		st->objects++;
	}
	if ((rc = skip(r, 20)) < 0) /* the pack's checksum (libgit2 checks it) */
		goto done;
	if (fill(r) == 0) {
		rc = bad("it has bytes after its end");
		goto done;
	}
	st->pack_len = r->off;
done:
	if (zon)
		inflateEnd(&z);
	free(s.off);
	free(s.depth);
	free(r);
	return rc;
}
