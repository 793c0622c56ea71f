/*
 * A git pack read as hostile input before libgit2 indexes it (audit verify
 * of a bundle, later what replicas receive): every object's header and
 * zlib stream is walked once, streaming, in bounded memory, and the pack is
 * refused (EVAULT_ECORRUPT, saying which bound) when it has more objects
 * than its size allows, an object or a delta's result larger than
 * max_object, an offset-delta chain deeper than max_depth, or when all its
 * objects together would expand to more than max_total bytes. Indexing a
 * pack that passes costs at most those bounds.
 */
#ifndef EVAULT_PACKSCAN_H
#define EVAULT_PACKSCAN_H

#include <stdint.h>

#include "evault/common.h"

typedef struct packscan_limits {
	uint64_t max_object; /* bytes of one object (a delta: of its result) */
	uint64_t max_total;  /* bytes of all objects expanded */
	uint32_t max_depth;  /* offset-delta chain length */
} packscan_limits;

typedef struct packscan_stats {
	uint64_t objects, deltas, ref_deltas;
	uint64_t expanded; /* bytes of all objects, deltas applied */
	uint32_t depth;    /* the deepest offset-delta chain */
	uint64_t pack_len; /* bytes read, trailer included */
} packscan_stats;

/* Reads the pack from fd's current position to its end. */
int packscan_fd(int fd, const packscan_limits *lim, packscan_stats *out);

#endif
