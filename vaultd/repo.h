/* The repository handle shared by engine modules (private). */
#ifndef EVAULT_REPO_PRIV_H
#define EVAULT_REPO_PRIV_H

#include <stdbool.h>

#include "backend.h"
#include "config.h"
#include "evault/repo.h"
#include "keystore.h"
#include "names.h"

struct state_db;

struct evault_repo {
	char *path;
	config cfg;
	struct state_db *db;
	backend *objects;
	keystore *keys;
	evault_identity *id; /* borrowed, may be NULL */
	char actor[EVAULT_USER_MAX + 1];
	evault_role role;
	bool have_actor;
	size_t nworkers;
	/* a laptop replica of an office vault (REPO/remote exists, docs/deploy.md):
	 * its history lacks the trees of missions its user holds no key for */
	bool replica;
	/* the last head verified by this identity (trust.h): */
	char *trust_file;  /* NULL: heads are not checked */
	char trusted[41];  /* "" before the first verification */
	bool trust_dirty;  /* trusted moved since trust_file was written */
	bool trust_checking; /* verification under way (it reads states too) */
};

/* A new repository's directories and empty history, at path (absent or an
 * empty directory), with opts' settings; init.c records its first state. */
int repo_create(evault_repo **out, const char *path, const evault_init_opts *opts);

/* The acting user: EVAULT_EDENIED when no identity or it is no user here. */
int repo_require_actor(evault_repo *repo);
/* The acting user, an admin: EVAULT_EDENIED "only an admin can <what>" otherwise. */
int repo_require_admin(evault_repo *repo, const char *what);

/* The trust file's first line. */
#define TRUST_MAGIC "evault-verified 1\n"
/* The trusted head (trust.h), kept on the handle: head was just committed
 * (state.c) or verified from the root (verify.c) by this process. */
void trust_made(evault_repo *repo, const char *head_hex);
/* Writes the trusted head to the trust file if it moved (repo free). */
void trust_save(evault_repo *repo);

/*
 * EVAULT_ELOCKED if evault.conf names another object store than the one
 * this handle opened (objects migrate switched meanwhile); checked under
 * the repository lock before anything is recorded.
 */
int repo_objects_unchanged(evault_repo *repo);

#endif
