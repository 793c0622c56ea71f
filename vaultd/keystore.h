/*
 * The key store: where sealed class keys live (docs/format.md, keys/). It is the
 * only mutable secret material of a repository and never enters git. It sits
 * behind this small interface so that a backend that keeps the destroyable
 * root in hardware (a TPM 2.0, see docs/threat-model.md) can replace the
 * local directory without touching the rest of the engine.
 *
 * Entries are addressed by (mission, class, user) and hold one class key
 * sealed to that user's X25519 key. destroy overwrites, unlinks and syncs.
 */
#ifndef EVAULT_KEYSTORE_H
#define EVAULT_KEYSTORE_H

#include <stdbool.h>

#include "evault/common.h"

typedef struct keystore keystore;

typedef int (*keystore_list_cb)(const char *user, void *payload);

struct keystore_ops {
	int (*put)(keystore *ks, const char *mid, evault_class cls, const char *user,
		   const uint8_t *sealed, size_t len);
	/* EVAULT_ENOTFOUND when there is no such entry. */
	int (*get)(keystore *ks, const char *mid, evault_class cls, const char *user,
		   evault_buf *out);
	/* Idempotent: destroying a missing entry succeeds. */
	int (*destroy)(keystore *ks, const char *mid, evault_class cls, const char *user);
	int (*list)(keystore *ks, const char *mid, evault_class cls, keystore_list_cb cb,
		    void *payload);
	void (*free)(keystore *ks);
};

struct keystore {
	const struct keystore_ops *ops;
};

/* The local backend: REPO/keys/missions/<mid>/<class>/<user>.sealed */
int keystore_local_open(keystore **out, const char *repo_path);

#endif
