/*
 * A vault repository (docs/format.md): settings, encrypted objects, sealed keys
 * and the audit history, in one directory. Open it, then give it the acting
 * user's identity; the user is found by public key in the current state.
 */
#ifndef EVAULT_REPO_H
#define EVAULT_REPO_H

#include <stdint.h>

#include "evault/common.h"
#include "evault/identity.h"

typedef struct evault_repo evault_repo;

typedef struct evault_init_opts {
	unsigned version;
	uint32_t chunk_size; /* 0: 1 MiB */
	int zstd_level;      /* 0: 3 */
	/* this server's own settings, "key value" lines of evault.conf
	 * (objects rados:POOL, rados-user, ...: docs/format.md); NULL: local */
	const char *server_settings;
} evault_init_opts;
#define EVAULT_INIT_OPTS_VERSION 1
#define EVAULT_INIT_OPTS_INIT                                                                      \
	{                                                                                          \
		EVAULT_INIT_OPTS_VERSION, 0, 0, NULL                                               \
	}

/*
 * Creates a repository at path (absent or an empty directory) whose first
 * user is admin_name, an admin with admin's key; admin must be unlocked: it
 * signs the root commit. Returns the open repository acting as that admin.
 */
int evault_repo_init(evault_repo **out, const char *path, const evault_init_opts *opts,
		     evault_identity *admin, const char *admin_name);
int evault_repo_open(evault_repo **out, const char *path);
/*
 * Acts as the user whose key is id's (borrowed: id must outlive the
 * repository). EVAULT_EDENIED when no user of this vault has that key.
 */
int evault_repo_set_identity(evault_repo *repo, evault_identity *id);
/*
 * No state is acted on before it is verified: dir (created if absent, mode
 * 0700) keeps the last head this identity verified, outside the repository
 * (DIR/<vault id>). From now on every head the repository is read at is
 * checked first: the commits since the trusted head are verified with
 * audit verify's rules (the first time: all of them, from the root), and a
 * history that no longer contains the trusted head is refused; failures
 * are EVAULT_ERROR naming the commit and the rule. check: verify the head
 * now (false: at the next read; audit verify checks everything itself and
 * then records its head with evault_audit_verify).
 */
int evault_repo_trust(evault_repo *repo, const char *dir, bool check);
/* Borrowed; NULL before a successful evault_repo_set_identity. */
const char *evault_repo_actor(const evault_repo *repo);
evault_role evault_repo_actor_role(const evault_repo *repo);
const char *evault_repo_vault_id(const evault_repo *repo);
/* Where the objects are: "local" or "rados:POOL[/NAMESPACE]" (evault.conf). */
const char *evault_repo_objects(const evault_repo *repo);
uint32_t evault_repo_chunk_size(const evault_repo *repo);
/* Worker threads for chunk work (default: online cores). */
void evault_repo_set_workers(evault_repo *repo, size_t n);
void evault_repo_free(evault_repo *repo);

#endif
