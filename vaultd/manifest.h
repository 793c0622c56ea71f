/*
 * A file's manifest (docs/format.md §Manifest): its path inside
 * the class, type, size, mode, times, content type and chunk list. The
 * chunk list names one object per stored chunk, in file order, and runs of
 * holes: chunks never written, which read as zeros and cost nothing, so a
 * sparse file of any size has a small manifest.
 * Stored encrypted in the history as missions/<mid>/<class>/<fid>.enc.
 * The decoder is strict: it is fed authenticated bytes, but a bug or a
 * future format must still not be misread.
 */
#ifndef EVAULT_MANIFEST_H
#define EVAULT_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "evault/common.h"

#define MANIFEST_VERSION 2
#define MANIFEST_TYPE_FILE 1
#define MANIFEST_CTYPE_MAX 64

/* chunks first .. first + count - 1 are holes */
typedef struct manifest_hole {
	uint64_t first, count;
} manifest_hole;

typedef struct manifest {
	uint8_t type;
	char *path;
	uint64_t size; /* at most EVAULT_FILE_MAX */
	uint32_t mode;
	int64_t mtime;
	uint32_t mtime_nsec;
	int64_t added; /* when this version entered the vault */
	char content_type[MANIFEST_CTYPE_MAX];
	uint32_t chunk_size;
	/* The file's chunks (ceil(size / chunk_size)) are the holes' and the
	 * objects': holes ascending, never adjacent, inside the file; objects
	 * in file order for the chunks that are not holes. */
	size_t nholes;
	manifest_hole *holes;
	size_t nobjs;
	uint8_t (*objs)[OBJECT_ID_LEN];
} manifest;

int manifest_encode(evault_buf *out, const manifest *m);
int manifest_decode(manifest *m, const void *data, size_t len);
void manifest_clear(manifest *m);
/* Number of chunks a file of size bytes has. */
uint64_t manifest_chunk_count(uint64_t size, uint32_t chunk_size);
/* Bytes of chunk index of m (the last one may be short). */
size_t manifest_chunk_len(const manifest *m, uint64_t index);
/* Do m's holes and objects tile its chunks exactly (what encode and decode require)? */
bool manifest_consistent(const manifest *m);

/* Walks m's chunks in order: after manifest_walk_init, each call gives the
 * next chunk's index and its object (NULL for a hole); false at the end. */
typedef struct manifest_walk {
	uint64_t next;
	size_t obj, hole;
} manifest_walk;
void manifest_walk_init(manifest_walk *w);
bool manifest_walk_next(const manifest *m, manifest_walk *w, uint64_t *index, const uint8_t **id);
/* Like manifest_walk_next, stepping over holes: only stored chunks. */
bool manifest_walk_objs(const manifest *m, manifest_walk *w, uint64_t *index, const uint8_t **id);

#endif
