/* Manifest encoding: see manifest.h. Big-endian integers, SSH-style strings. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "manifest.h"
#include "names.h"
#include "util.h"

#define MANIFEST_MAGIC "EVM1"

size_t manifest_chunk_count(uint64_t size, uint32_t chunk_size)
{
	return (size_t)((size + chunk_size - 1) / chunk_size);
}

int manifest_encode(evault_buf *out, const manifest *m)
{
	int rc;
	size_t ctl = strlen(m->content_type);
	if ((rc = evault_buf_put(out, MANIFEST_MAGIC, 4)) < 0 ||
	    (rc = evault_buf_put(out, &m->type, 1)) < 0 ||
	    (rc = buf_put_string(out, m->path, strlen(m->path))) < 0 ||
	    (rc = buf_put_u64(out, m->size)) < 0 || (rc = buf_put_u32(out, m->mode)) < 0 ||
	    (rc = buf_put_u64(out, (uint64_t)m->mtime)) < 0 ||
	    (rc = buf_put_u32(out, m->mtime_nsec)) < 0 ||
	    (rc = buf_put_u64(out, (uint64_t)m->added)) < 0 ||
	    (rc = buf_put_string(out, m->content_type, ctl)) < 0 ||
	    (rc = buf_put_u32(out, m->chunk_size)) < 0 ||
	    (rc = buf_put_u64(out, (uint64_t)m->nchunks)) < 0)
		return rc;
	for (size_t i = 0; i < m->nchunks; i++)
		if ((rc = evault_buf_put(out, m->chunks[i], OBJECT_ID_LEN)) < 0)
			return rc;
	return 0;
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
	uint64_t n = reader_u64(&r);
	if (r.bad || memcmp(magic, MANIFEST_MAGIC, 4) != 0 || m->type != MANIFEST_TYPE_FILE ||
	    plen == 0 || plen > EVAULT_PATH_MAX || clen >= MANIFEST_CTYPE_MAX ||
	    m->chunk_size == 0 || m->mtime_nsec >= 1000000000u || (m->mode & ~07777u) ||
	    n != manifest_chunk_count(m->size, m->chunk_size) || r.left != n * OBJECT_ID_LEN)
		goto bad;
	if (clen)
		memcpy(m->content_type, ct, clen);
	m->content_type[clen] = '\0';
	if (!(m->path = malloc(plen + 1)))
		return error_oom();
	memcpy(m->path, path, plen);
	m->path[plen] = '\0';
	if (!file_path_valid(m->path))
		goto bad;
	m->nchunks = (size_t)n;
	if (n && !(m->chunks = malloc(n * OBJECT_ID_LEN)))
		return error_oom();
	if (n)
		memcpy(m->chunks, r.p, n * OBJECT_ID_LEN);
	return 0;
bad:
	manifest_clear(m);
	return evault_error_set(EVAULT_ECORRUPT, "malformed file manifest");
}

void manifest_clear(manifest *m)
{
	if (!m)
		return;
	if (m->path) /* a decrypted file name is client data: wipe it */
		sodium_memzero(m->path, strlen(m->path));
	free(m->path);
	free(m->chunks);
	memset(m, 0, sizeof(*m));
}
