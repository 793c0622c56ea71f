/*
 * An ordered parallel pipeline for chunk work: the calling thread produces
 * items (reads a file), worker threads transform them (compress, encrypt,
 * hash, store; or fetch, verify, decrypt) and the calling thread consumes
 * them in index order (records object ids; writes plaintext out). At most
 * nslots items are in flight, so memory is bounded by nslots buffers
 * whatever the file size.
 *
 * The first error stops production; items already in workers finish; the
 * error's code and message are handed back to the calling thread.
 */
#ifndef EVAULT_PIPELINE_H
#define EVAULT_PIPELINE_H

#include <stddef.h>

typedef struct pipeline_ops {
	/* Calling thread: fill slot for item index. 1 produced, 0 no more, <0 error. */
	int (*produce)(void *ctx, size_t index, void *slot);
	/* A worker thread, with its own worker state. 0 or <0 error. */
	int (*work)(void *ctx, size_t index, void *slot, void *worker);
	/* Calling thread, strictly in index order. 0 or <0 error. */
	int (*consume)(void *ctx, size_t index, void *slot);
} pipeline_ops;

int pipeline_run(const pipeline_ops *ops, void *ctx, void **slots, size_t nslots, void **workers,
		 size_t nworkers);

/* Worker threads for chunk work: EVAULT_THREADS if set, else the online
 * cores (1..64). */
size_t pipeline_default_workers(void);

#endif
