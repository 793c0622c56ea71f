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

#define CONFIG_OBJECTS_MAX 160
#define CONFIG_PATH_MAX 200
#define CONFIG_NAME_MAX 64
#define CONFIG_RADOS_TIMEOUT_DEFAULT 30

typedef struct config {
	unsigned format;
	uint8_t vault_id[EVAULT_VAULT_ID_LEN];
	char vault_id_hex[EVAULT_VAULT_ID_LEN * 2 + 1];
	uint32_t chunk_size;
	int zstd_level;
	unsigned scrub_per_mille;    /* share of objects retention re-hashes */
	unsigned gc_grace_minutes;   /* unreferenced objects younger than this are kept */
	/*
	 * Where this server keeps the objects: local settings of evault.conf,
	 * never part of the VAULT record (a replica keeps its own objects).
	 * objects: "local" (REPO/objects) or "rados:POOL[/NAMESPACE]" (a
	 * Ceph pool; the namespace defaults to the vault id).
	 */
	char objects[CONFIG_OBJECTS_MAX + 1];
	char rados_conf[CONFIG_PATH_MAX + 1];    /* ceph.conf; "" the usual places */
	char rados_user[CONFIG_NAME_MAX + 1];    /* client id (client.<id>); "" admin */
	char rados_keyring[CONFIG_PATH_MAX + 1]; /* "" as ceph.conf says */
	unsigned rados_timeout;                  /* seconds, every cluster operation */
} config;

void config_defaults(config *c);
int config_parse(config *c, const char *text, size_t len);
/* The vault's settings, as the VAULT record holds them. */
int config_format(evault_buf *out, const config *c);
/* Appends this server's own settings (objects, rados-*) that differ from the defaults. */
int config_format_local(evault_buf *out, const config *c);
/*
 * Parses an objects location ("local", "rados:POOL[/NAMESPACE]") into
 * canonical form; pool and namespace: 1 to 100 of [A-Za-z0-9._-], not
 * starting with '.'. EVAULT_EINVAL otherwise.
 */
int config_objects_check(const char *spec);
bool config_objects_rados(const config *c);
/*
 * Sets this server's own settings from "key value" lines (objects,
 * rados-conf, rados-user, rados-keyring, rados-timeout), each checked as
 * evault.conf's are; c is unchanged on error (EVAULT_EINVAL).
 */
int config_apply_local(config *c, const char *lines);

#endif
