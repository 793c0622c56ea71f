/*
 * A file's manifest (DESIGN §4, docs/format.md §Manifest): its path inside
 * the class, type, size, mode, times, content type and ordered chunk list.
 * Stored encrypted in the history as missions/<mid>/<class>/<fid>.enc.
 * The decoder is strict: it is fed authenticated bytes, but a bug or a
 * future format must still not be misread.
 */
#ifndef EVAULT_MANIFEST_H
#define EVAULT_MANIFEST_H

#include <stdint.h>

#include "backend.h"
#include "evault/common.h"

#define MANIFEST_VERSION 1
#define MANIFEST_TYPE_FILE 1
#define MANIFEST_CTYPE_MAX 64

typedef struct manifest {
	uint8_t type;
	char *path;
	uint64_t size;
	uint32_t mode;
	int64_t mtime;
	uint32_t mtime_nsec;
	int64_t added; /* when this version entered the vault */
	char content_type[MANIFEST_CTYPE_MAX];
	uint32_t chunk_size;
	size_t nchunks;
	uint8_t (*chunks)[OBJECT_ID_LEN];
} manifest;

int manifest_encode(evault_buf *out, const manifest *m);
int manifest_decode(manifest *m, const void *data, size_t len);
void manifest_clear(manifest *m);
/* Number of chunks a file of size bytes has. */
size_t manifest_chunk_count(uint64_t size, uint32_t chunk_size);

#endif
