/*
 * The object backend: where encrypted objects live. Objects are immutable
 * and named by the SHA-256 of their bytes, so a backend only stores and
 * returns bytes by name; it never sees keys or plaintext. The local
 * directory is the first backend; another (a Ceph RADOS pool) implements
 * the same operations.
 *
 * Invariants of every backend:
 *  1. put and publish are atomic: an object has its name only once all its
 *     bytes are durable, so a crash leaves the whole object or no object.
 *  2. put or stage of a name that exists with the right size is a no-op
 *     (dedup).
 *  3. after sync returns, every object put or published before it is
 *     durable under its name.
 *  4. get returns the stored bytes; checking them against the name is the
 *     caller's job (chunk_open does it), so a backend cannot lie silently.
 */
#ifndef EVAULT_BACKEND_H
#define EVAULT_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/common.h"

#define OBJECT_ID_LEN 32
#define BACKEND_ALIGN 4096
#define OBJECT_HEX_LEN 64

typedef struct backend backend;
typedef struct backend_staged backend_staged;
typedef int (*backend_list_cb)(const uint8_t id[OBJECT_ID_LEN], void *payload);

struct backend_ops {
	int (*put)(backend *b, const uint8_t id[OBJECT_ID_LEN], const void *data, size_t len);
	/* Replaces out's contents. EVAULT_ENOTFOUND if absent. */
	int (*get)(backend *b, const uint8_t id[OBJECT_ID_LEN], evault_buf *out, size_t max);
	/* 1 present, 0 absent, <0 error */
	int (*exists)(backend *b, const uint8_t id[OBJECT_ID_LEN]);
	/* Stored size and last write (or dedup) time; EVAULT_ENOTFOUND if absent. */
	int (*stat)(backend *b, const uint8_t id[OBJECT_ID_LEN], uint64_t *size, int64_t *mtime);
	int (*del)(backend *b, const uint8_t id[OBJECT_ID_LEN]);
	int (*list)(backend *b, backend_list_cb cb, void *payload);
	/*
	 * Bulk writes: stage writes an object without naming it (*out is NULL
	 * when the object exists already); publish makes a batch durable with
	 * one flush, then names each object, and releases the batch; discard
	 * releases a batch without naming anything. room is how many bytes
	 * the caller owns at data (>= len): when data is BACKEND_ALIGN-aligned
	 * and room reaches len rounded up to BACKEND_ALIGN, the backend may
	 * write directly from it (direct I/O), overwriting the bytes after len.
	 */
	int (*stage)(backend *b, const uint8_t id[OBJECT_ID_LEN], void *data, size_t len,
		     size_t room, backend_staged **out);
	int (*publish)(backend *b, backend_staged **staged, size_t n);
	void (*discard)(backend *b, backend_staged **staged, size_t n);
	int (*sync)(backend *b);
	/* Removes staging leftovers (of crashed writers) last written before older_than. */
	int (*tidy)(backend *b, int64_t older_than, bool dry_run, size_t *removed);
	void (*free)(backend *b);
};

struct backend {
	const struct backend_ops *ops;
};

/* REPO/objects/ab/<64 hex>, staging in REPO/tmp/. */
int backend_local_open(backend **out, const char *repo_path);

struct config;
/*
 * Where cfg->objects says: the local directory, or a Ceph pool
 * (backend_rados.c). A location this build has no backend for is
 * EVAULT_EFORMAT, naming it.
 */
int backend_open(backend **out, const char *repo_path, const struct config *cfg);
/* Is the rados backend built in? */
bool backend_have_rados(void);
#ifdef EVAULT_HAVE_RADOS
int backend_rados_open(backend **out, const char *repo_path, const struct config *cfg);
#endif

void object_id_hex(char out[OBJECT_HEX_LEN + 1], const uint8_t id[OBJECT_ID_LEN]);

#endif
