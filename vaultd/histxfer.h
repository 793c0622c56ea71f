/*
 * Moving history between the office and a replica (docs/protocol.md): the
 * git objects of a range of commits, cut to the missions a user holds; a
 * quarantine where received objects wait until the chain they form is
 * verified; the move of a ref once it is. The only remote module that
 * includes git2.h.
 */
#ifndef EVAULT_HISTXFER_H
#define EVAULT_HISTXFER_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/audit.h"
#include "evault/common.h"

typedef struct evault_repo evault_repo;

/* Git object types on the wire (git's own numbers). */
enum { HISTX_COMMIT = 1, HISTX_TREE = 2, HISTX_BLOB = 3 };

typedef bool (*histx_mission_fn)(void *payload, const char *mid);
typedef int (*histx_emit_fn)(void *payload, int type, const void *data, size_t len);

/*
 * The objects a peer that has `have` (NULL: nothing) lacks to hold `head`:
 * each commit after have, and the trees and blobs it changed, except under
 * missions/<mid> when !held(mid); and for the commits up to have, the
 * subtrees of the missions newly(mid) says the peer is about to hold for
 * the first time. Newest first. head must descend from have.
 */
int histx_export(evault_repo *repo, const char *head_hex, const char *have_hex,
		 histx_mission_fn held, histx_mission_fn newly, void *mpayload, histx_emit_fn emit,
		 void *epayload);

/* The head commit of the history (hex), "" when it has none. */
int histx_ref(evault_repo *repo, const char *ref, char out[41]);

/* A quarantine: REPO/tmp/incoming-<pid>-*, reading through to audit.git.
 * Opening one removes those of processes that died (kill -9). */
typedef struct histx_q histx_q;
int histx_q_open(histx_q **out, evault_repo *repo);
/* Writes one object; its id (hex) in id_hex. Bounded by the caller. */
int histx_q_write(histx_q *q, int type, const void *data, size_t len, char id_hex[41]);
/* Is commit id_hex (in the quarantine or the repository) a commit? */
bool histx_q_is_commit(histx_q *q, const char *id_hex);
/*
 * audit verify's rules over the commits after since (NULL: from the root)
 * up to head, as the quarantine holds them; partial: the history of a
 * replica (missions not held are checked for scope only).
 */
int histx_q_verify(histx_q *q, const char *head_hex, const char *since_hex, const char *vault_hex,
		   bool partial, evault_verify_result *res);
/* The blob at path in commit id_hex's state, from the quarantine. */
int histx_q_read(histx_q *q, const char *id_hex, const char *path, evault_buf *out);
/* Object ids (32 bytes) named by .objs files the commits after since (NULL:
 * the root) up to head added, each given to cb once per commit. */
typedef int (*histx_object_fn)(void *payload, const uint8_t id[32]);
int histx_q_new_objects(histx_q *q, const char *head_hex, const char *since_hex,
			histx_object_fn cb, void *payload);
/* What a session may push: events of its user only; device events of its
 * own device only; for an auditor, device events only; for a revoked
 * device, its erasures only. */
typedef struct histx_push_rule {
	const char *user, *device;
	bool devices_only, erasures_only;
} histx_push_rule;
/* 0 when every commit after since up to head keeps rule r; 1 (with the
 * error set) when one does not. */
int histx_q_push_rules(histx_q *q, const char *head_hex, const char *since_hex,
		       const histx_push_rule *r);
/* Moves into audit.git the quarantine's objects that the commits after
 * since (NULL: the root) up to head name (anything else a peer sent stays
 * out), and makes them durable. */
int histx_q_adopt(histx_q *q, const char *head_hex, const char *since_hex);
void histx_q_free(histx_q *q);
void histx_q_tidy(evault_repo *repo);

/*
 * The commits after base up to tip, replayed on onto (like git's rebase):
 * each one's own changes to the state applied to the new parent's tree,
 * its message kept with Evault-Seq renumbered and "Evault-Replayed: <the
 * original commit time>" added, dated now, signed by id (their actor).
 * No ref moves; the new tip in out_hex. *count: the events replayed.
 */
typedef int (*histx_remove_fn)(void *ctx, const char *path);
/* Before each replayed event is written: msg is its message (renumbered),
 * orig_hex the event as recorded here, onto_hex the commit it now follows;
 * fix may rewrite msg and remove more paths of the state (remove(ctx, path):
 * nothing when the path is absent). */
typedef int (*histx_fix_fn)(void *payload, const char *orig_hex, const char *onto_hex,
			    evault_buf *msg, histx_remove_fn remove, void *ctx);
/* What fix returns for an event that must not be replayed: it is dropped
 * (not counted), and the next one follows the same commit. */
#define HISTX_DROP 1
int histx_replay(evault_repo *repo, const char *base_hex, const char *tip_hex,
		 const char *onto_hex, histx_fix_fn fix, void *payload, char out_hex[41],
		 uint64_t *count);
/* Object ids named by every .objs file under missions/<mid> in every
 * commit reachable from head (in this repository), each .objs file once. */
int histx_mission_objects(evault_repo *repo, const char *head_hex, const char *mid,
			  histx_object_fn cb, void *payload);
/* The author time of commit id_hex (when its event was first recorded), 0 if unknown. */
int64_t histx_author_time(evault_repo *repo, const char *id_hex);
/* The message of commit id_hex. */
int histx_message(evault_repo *repo, const char *id_hex, evault_buf *out);
/* Each commit after since up to head, newest first: its id and message. */
typedef int (*histx_commit_fn)(void *payload, const char *id_hex, const char *message);
int histx_each_commit(evault_repo *repo, const char *head_hex, const char *since_hex,
		      histx_commit_fn cb, void *payload);
/* The newest commit both a and b contain (hex), as the quarantine sees them. */
int histx_q_merge_base(histx_q *q, const char *a_hex, const char *b_hex, char out[41]);
/* Does a contain b (b is a or one of its ancestors), as the quarantine sees them? */
bool histx_q_contains(histx_q *q, const char *a_hex, const char *b_hex);

/*
 * Moves ref from old_hex ("" or NULL: must not exist) to new_hex by
 * compare-and-swap, with a reflog entry; durable when it returns.
 * EVAULT_ELOCKED when the ref was not at old_hex.
 */
int histx_move_ref(evault_repo *repo, const char *ref, const char *old_hex, const char *new_hex,
		   const char *why);

#endif
