/*
 * The audit repository (docs/auditing.md): history and current state in
 * REPO/audit.git, a bare git repository with one linear branch,
 * refs/heads/main. Every commit's tree is the whole state; every commit is
 * one event, signed by its actor (SSHSIG in the gpgsig header).
 *
 * A state is a read-only view of the head, or, when begun for writing, a
 * transaction: it holds the repository lock (REPO/lock), collects edits,
 * and state_commit writes one signed commit and moves the ref by
 * compare-and-swap. Reads see the head the state was begun on.
 *
 * This is the only engine module that includes git2.h.
 */
#ifndef EVAULT_STATE_H
#define EVAULT_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/common.h"

typedef struct evault_repo evault_repo;

/* Machines' clocks differ by at most this (seconds): an event may be dated
 * this much before its parent, or after the clock of whoever reads it. */
#define EVAULT_CLOCK_SKEW 300
typedef struct state_db state_db;
typedef struct state state;

int state_global_init(void);
void state_global_shutdown(void);
int state_db_create(const char *gitdir);
/* The libgit2 repository, for the other half of the audit module (verify.h). */
struct git_repository *state_db_git(state_db *db);
int state_db_open(state_db **out, const char *gitdir);
void state_db_free(state_db *db);

/*
 * write: take the repository lock (waits up to 30 s, then EVAULT_ELOCKED),
 * and refuse (EVAULT_EDENIED) when the process is not the owner of the
 * repository's directory: one account owns every file of a repository.
 */
int state_begin(state **out, evault_repo *repo, bool write);
/* The lock, for a dry run that changes nothing: any account. */
int state_begin_dry(state **out, evault_repo *repo);
void state_end(state *st);
bool state_is_empty(const state *st);
uint64_t state_seq(const state *st); /* seq of the head (0 for the root) */
const char *state_head_hex(const state *st);

/* Contents of a file of the head tree; EVAULT_ENOTFOUND if absent. */
int state_read(const state *st, const char *path, evault_buf *out);
typedef int (*state_list_cb)(const char *name, bool is_dir, void *payload);
/* Entries of a directory of the head tree; a missing directory lists nothing. */
int state_list(const state *st, const char *dir, state_list_cb cb, void *payload);
bool state_exists(const state *st, const char *path);
/* The git id (40 hex) of the entry at path, "" when absent ("" path: the root). */
int state_entry_id(const state *st, const char *path, char out[41]);

int state_put(state *st, const char *path, const void *data, size_t len);
int state_remove(state *st, const char *path);

typedef struct state_event {
	const char *actor;    /* defaults to the repository's acting user */
	const char *action;   /* e.g. "mission.create" */
	const char *mission;  /* or NULL */
	const char *summary;  /* one line, no client data */
	const char *trailers; /* extra "Key: value\n" lines, or NULL */
} state_event;
int state_commit(state *st, const state_event *ev);
/* Test fixtures that build long histories turn off the flushes of every
 * commit (with git's own, GIT_OPT_ENABLE_FSYNC_GITDIR). evault itself
 * never calls this: every event it records is durable when it returns. */
void state_fixture_unsynced(void);

/* History, newest first. */
typedef struct state_commit_info {
	const char *id_hex;
	int64_t time;
	const char *message;
	bool signed_ok; /* signature verifies with the actor's current key */
	bool has_signature;
} state_commit_info;
typedef int (*state_walk_cb)(const state_commit_info *c, void *payload);
int state_walk(evault_repo *repo, state_walk_cb cb, void *payload);

/* The git id (40 hex) of the entry at path in the state of commit id_hex,
 * "" when absent (or the commit is not in the history). */
int state_entry_id_at(evault_repo *repo, const char *id_hex, const char *path, char out[41]);
/* The blob at path in the state of commit id_hex (parent: of its parent). */
int state_read_at(evault_repo *repo, const char *id_hex, bool parent, const char *path,
		  evault_buf *out);

/* Value of trailer key in a commit message ("Key: value"); 0 or ENOTFOUND. */
int trailer_get(char *out, size_t outlen, const char *message, const char *key);

#endif
