/*
 * evault.conf: the repository's settings, a small "key value" text file.
 * Parsed strictly (it is untrusted input): unknown keys, duplicates, bad
 * numbers are EVAULT_ECORRUPT; a format newer than this build is
 * EVAULT_EFORMAT. The same text is recorded as VAULT in the root commit.
 */
#ifndef EVAULT_CONFIG_H
#define EVAULT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/common.h"

/* 2: manifests record holes; 3: padded, with an object count; 4: SHA-256
 * object names, HMAC-SHA-256 nonces (docs/format.md) */
#define EVAULT_FORMAT 4
#define EVAULT_VAULT_ID_LEN 16
#define EVAULT_CHUNK_MIN (64u * 1024)
#define EVAULT_CHUNK_MAX (16u * 1024 * 1024)
#define EVAULT_CHUNK_DEFAULT (1024u * 1024)

typedef struct config {
	unsigned format;
	uint8_t vault_id[EVAULT_VAULT_ID_LEN];
	char vault_id_hex[EVAULT_VAULT_ID_LEN * 2 + 1];
	uint32_t chunk_size;
	int zstd_level;
	unsigned scrub_per_mille;    /* share of objects retention re-hashes */
	unsigned gc_grace_minutes;   /* unreferenced objects younger than this are kept */
} config;

void config_defaults(config *c);
int config_parse(config *c, const char *text, size_t len);
int config_format(evault_buf *out, const config *c);

#endif
