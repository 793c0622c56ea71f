/* Manifest encoding: see manifest.h. Big-endian integers, SSH-style strings. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "manifest.h"
#include "names.h"
#include "util.h"

#define MANIFEST_MAGIC "EVM3"
/* A manifest's plaintext is padded with zeros to a multiple of this: its
 * sealed size tells a file name's length only to within it. */
#define MANIFEST_PAD 256
#define HOLE_LEN 16 /* first u64, count u64 */

uint64_t manifest_chunk_count(uint64_t size, uint32_t chunk_size)
{
	return size / chunk_size + (size % chunk_size != 0);
}

size_t manifest_chunk_len(const manifest *m, uint64_t index)
{
	uint64_t start = index * m->chunk_size;
	if (start >= m->size)
		return 0;
	return m->size - start < m->chunk_size ? (size_t)(m->size - start) : m->chunk_size;
}

bool manifest_consistent(const manifest *m)
{
	if (m->chunk_size < EVAULT_CHUNK_MIN || m->chunk_size > EVAULT_CHUNK_MAX ||
	    m->size > EVAULT_FILE_MAX)
		return false;
	uint64_t n = manifest_chunk_count(m->size, m->chunk_size), holes = 0, end = 0;
	for (size_t i = 0; i < m->nholes; i++) {
		const manifest_hole *h = &m->holes[i];
		/* ascending, not adjacent (one run for consecutive holes), inside the file */
		if (h->count == 0 || h->first < end + (i > 0) || h->first > n ||
		    h->count > n - h->first)
			return false;
		end = h->first + h->count;
		holes += h->count;
	}
	return holes <= n && m->nobjs == n - holes;
}

int manifest_encode(evault_buf *out, const manifest *m)
{
	int rc;
	size_t ctl = strlen(m->content_type), start = out->size;
	if (!manifest_consistent(m) || m->nholes > UINT32_MAX || m->nobjs > UINT32_MAX)
		return evault_error_set(EVAULT_EINVAL, "inconsistent file manifest");
	if ((rc = evault_buf_put(out, MANIFEST_MAGIC, 4)) < 0 ||
	    (rc = evault_buf_put(out, &m->type, 1)) < 0 ||
	    (rc = buf_put_string(out, m->path, strlen(m->path))) < 0 ||
	    (rc = buf_put_u64(out, m->size)) < 0 || (rc = buf_put_u32(out, m->mode)) < 0 ||
	    (rc = buf_put_u64(out, (uint64_t)m->mtime)) < 0 ||
	    (rc = buf_put_u32(out, m->mtime_nsec)) < 0 ||
	    (rc = buf_put_u64(out, (uint64_t)m->added)) < 0 ||
	    (rc = buf_put_string(out, m->content_type, ctl)) < 0 ||
	    (rc = buf_put_u32(out, m->chunk_size)) < 0 ||
	    (rc = buf_put_u32(out, (uint32_t)m->nholes)) < 0)
		return rc;
	for (size_t i = 0; i < m->nholes; i++)
		if ((rc = buf_put_u64(out, m->holes[i].first)) < 0 ||
		    (rc = buf_put_u64(out, m->holes[i].count)) < 0)
			return rc;
	if ((rc = buf_put_u32(out, (uint32_t)m->nobjs)) < 0)
		return rc;
	for (size_t i = 0; i < m->nobjs; i++)
		if ((rc = evault_buf_put(out, m->objs[i], OBJECT_ID_LEN)) < 0)
			return rc;
	static const uint8_t zeros[MANIFEST_PAD];
	size_t used = (out->size - start) % MANIFEST_PAD;
	return used ? evault_buf_put(out, zeros, MANIFEST_PAD - used) : 0;
}

int manifest_decode(manifest *m, const void *data, size_t len)
{
	reader r;
	size_t plen, clen;
	memset(m, 0, sizeof(*m));
	reader_init(&r, data, len);
	const uint8_t *magic = reader_bytes(&r, 4);
	m->type = reader_u8(&r);
	const uint8_t *path = reader_string(&r, &plen);
	m->size = reader_u64(&r);
	m->mode = reader_u32(&r);
	m->mtime = (int64_t)reader_u64(&r);
	m->mtime_nsec = reader_u32(&r);
	m->added = (int64_t)reader_u64(&r);
	const uint8_t *ct = reader_string(&r, &clen);
	m->chunk_size = reader_u32(&r);
	uint32_t nholes = reader_u32(&r);
	/* bounded by the bytes there before anything is allocated */
	if (r.bad || memcmp(magic, MANIFEST_MAGIC, 4) != 0 || m->type != MANIFEST_TYPE_FILE ||
	    plen == 0 || plen > EVAULT_PATH_MAX || clen >= MANIFEST_CTYPE_MAX ||
	    m->chunk_size < EVAULT_CHUNK_MIN || m->chunk_size > EVAULT_CHUNK_MAX ||
	    m->size > EVAULT_FILE_MAX || m->mtime_nsec >= 1000000000u || (m->mode & ~07777u) ||
	    nholes > r.left / HOLE_LEN)
		goto bad;
	if (nholes && !(m->holes = calloc(nholes, sizeof(manifest_hole))))
		goto oom;
	m->nholes = nholes;
	for (size_t i = 0; i < nholes; i++) {
		m->holes[i].first = reader_u64(&r);
		m->holes[i].count = reader_u64(&r);
	}
	uint32_t nobjs = reader_u32(&r);
	if (r.bad || nobjs > r.left / OBJECT_ID_LEN)
		goto bad;
	m->nobjs = nobjs;
	const uint8_t *objs = reader_bytes(&r, m->nobjs * OBJECT_ID_LEN);
	/* then zeros to the next multiple of MANIFEST_PAD: one text per manifest */
	if (r.bad || len % MANIFEST_PAD || r.left >= MANIFEST_PAD || !manifest_consistent(m))
		goto bad;
	for (size_t i = 0; i < r.left; i++)
		if (r.p[i])
			goto bad;
	for (size_t i = 0; i < clen; i++) /* a MIME type: printable ASCII, never a NUL */
		if (ct[i] < 0x20 || ct[i] > 0x7e)
			goto bad;
	if (clen)
		memcpy(m->content_type, ct, clen);
	m->content_type[clen] = '\0';
	if (!(m->path = malloc(plen + 1)))
		goto oom;
	memcpy(m->path, path, plen);
	m->path[plen] = '\0';
	if (memchr(m->path, '\0', plen) || !file_path_valid(m->path))
		goto bad;
	if (m->nobjs && !(m->objs = malloc(m->nobjs * OBJECT_ID_LEN)))
		goto oom;
	if (m->nobjs)
		memcpy(m->objs, objs, m->nobjs * OBJECT_ID_LEN);
	return 0;
bad:
	manifest_clear(m);
	return evault_error_set(EVAULT_ECORRUPT, "malformed file manifest");
oom:
	manifest_clear(m);
	return error_oom();
}

void manifest_clear(manifest *m)
{
	if (!m)
		return;
	if (m->path) /* a decrypted file name is client data: wipe it */
		sodium_memzero(m->path, strlen(m->path));
	free(m->path);
	free(m->objs);
	free(m->holes);
	memset(m, 0, sizeof(*m));
}

void manifest_walk_init(manifest_walk *w)
{
	memset(w, 0, sizeof(*w));
}

bool manifest_walk_next(const manifest *m, manifest_walk *w, uint64_t *index, const uint8_t **id)
{
	if (w->next >= manifest_chunk_count(m->size, m->chunk_size))
		return false;
	*index = w->next++;
	while (w->hole < m->nholes && m->holes[w->hole].first + m->holes[w->hole].count <= *index)
		w->hole++;
	if (w->hole < m->nholes && m->holes[w->hole].first <= *index) {
		*id = NULL;
		return true;
	}
	if (w->obj >= m->nobjs) /* an inconsistent manifest: never encoded nor decoded */
		return false;
	*id = m->objs[w->obj++];
	return true;
}

bool manifest_walk_objs(const manifest *m, manifest_walk *w, uint64_t *index, const uint8_t **id)
{
	while (w->hole < m->nholes && m->holes[w->hole].first <= w->next) {
		const manifest_hole *h = &m->holes[w->hole];
		if (h->first + h->count > w->next)
			w->next = h->first + h->count;
		w->hole++;
	}
	if (w->obj >= m->nobjs)
		return false;
	*index = w->next++;
	*id = m->objs[w->obj++];
	return true;
}
