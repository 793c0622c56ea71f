/*
 * The verifier's own header (docs/auditing.md): what the files
 * of audit verify share, never seen outside them. From the bottom up:
 *
 *   verify_state.c     a commit's state as the rules read it: records,
 *                      tree deltas, the rule a commit breaks
 *   verify_files.c     the rules of file events (file.add, file.commit, …)
 *   verify_missions.c  the rules of missions and their content
 *   verify_close.c     the rules of codes marks, close and expiry
 *   verify_devices.c   the rules of devices: registered, holding, erased, revoked
 *   verify_refusals.c  the rule of refused missions (mission.refuse)
 *   verify_rules.c     the table of actions and the check of one commit
 *                      against its parent
 *   verify_walk.c      the walk from the head back to the root, on threads
 *   verify.c           audit verify: the walk, then the repository's
 *                      tripwires (reflog, last verified head, keys, objects)
 *   checkpoint.c, trust.c, bundle.c, show.c: what is built on the verifier
 *
 * With state.c these are the audit module: the engine files that include
 * git2.h.
 */
#ifndef EVAULT_VERIFY_H
#define EVAULT_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <git2.h>

#include "evault/audit.h"
#include "layout.h"
#include "mission.h"
#include "names.h"
#include "policy.h"
#include "sshkey.h"
#include "user.h"

#define MAIN_REF "refs/heads/main"
/* Clocks of different machines disagree: a commit may be this much older
 * than its parent, or younger than the verifier's clock (seconds). */
#define TIME_TOLERANCE EVAULT_CLOCK_SKEW

/* Keys pinned by an allowed-signers file given to verify. */
typedef struct pinned {
	char name[EVAULT_USER_MAX + 1];
	uint8_t pk[SSH_ED25519_PK_LEN];
} pinned;

typedef struct verifier {
	git_repository *git;
	const pinned *pins; /* NULL: no pinning */
	size_t npins;
	const char *expected_vault; /* from evault.conf, or NULL for a bundle */
	/* a replica's history (repo.h): the trees of the missions it does not
	 * hold are absent, and their events are checked for scope only */
	bool partial;
	int64_t now; /* when verification started */
	evault_verify_result *res;
	bool failed;
	bool not_held; /* the commit checked was judged by its scope only */
	/* the commit being checked */
	const git_oid *id;
	char actor[EVAULT_USER_MAX + 1];
	char action[40];
	char mission[EVAULT_MID_MAX + 1];
	const char *message;
} verifier;

/* ---- verify_state.c ---- */

/* An EVAULT_ECORRUPT error naming what failed and libgit2's reason. */
int verify_git_fail(const char *what);
/* Records a rule broken by the commit being checked. Returns 1. */
int verify_bad(verifier *v, const char *fmt, ...) EVAULT_PRINTF(2, 3);

/* The blob at path in tree; EVAULT_ENOTFOUND if there is none. */
int blob_at(evault_buf *out, git_repository *git, git_tree *tree, const char *path);
/* users/<name> and missions/<mid>/MISSION of the state tree. */
int load_user(user_rec *u, git_repository *git, git_tree *tree, const char *name);
int load_mission(mission_rec *m, git_repository *git, git_tree *tree, const char *mid);
/* The policy in force in a state (verify: the parent's). */
int policy_at(policy *p, git_repository *git, git_tree *t);

/* One level of two trees compared: the entries that differ. */
typedef struct change {
	const git_tree_entry *old, *new; /* NULL: added / removed */
} change;

typedef struct delta {
	change c[8];
	size_t n;
	bool more; /* more than fit: never allowed by any rule */
} delta;

/* Differences between two trees' entries (either may be NULL: empty). */
void tree_delta(delta *d, const git_tree *a, const git_tree *b);
const char *change_name(const change *c);
/* The subtree an entry names; NULL if it is not a tree. */
git_tree *change_tree(git_repository *git, const git_tree_entry *e);
int commit_tree(git_tree **out, git_repository *git, git_commit *c);
bool is_blob(const git_tree_entry *e);
/* Exactly one top-level entry changed, and it is name (else verify_bad). */
int only_top(verifier *v, const delta *d, const char *name);
/* The entries changed are exactly those named (NULL-terminated). */
bool changes_exactly(const delta *d, const char *const *names);
/* Members and admins act on a mission's content (u: actor's record). */
bool may_write(const user_rec *u, const mission_rec *m, const char *actor);
/* In a partial history (v->partial): is missions/<v->mission> a directory of
 * state t whose tree is not here, a mission not held on this replica? */
bool mission_not_held(const verifier *v, git_tree *t);
/* Is the tree entry e a directory whose tree is absent from git's objects? */
bool tree_absent(git_repository *git, const git_tree_entry *e);

/*
 * One event being checked against its parent: what its action's rule
 * reads, gathered by the prologue all rules share (verify_rules.c) and
 * freed by it once the rule is done.
 */
typedef struct verify_event {
	verifier *v;
	git_commit *commit;
	git_tree *pt, *ct;     /* the state before (the parent's) and after */
	const user_rec *actor; /* the actor's record before */
	delta top;             /* top-level entries changed */
	/* an action IN_MISSION (verify_rules.c): missions/<mid> before (NULL: none)
	 * and after, and the entries changed in it */
	git_tree *pm, *cm;
	delta d;
	/* the MISSION records of the mission, read on first use */
	mission_rec rec[2];
	signed char loaded[2]; /* 0 not read, 1 valid, -1 not valid */
} verify_event;

enum { EVENT_BEFORE, EVENT_AFTER };

/* missions/<mid> alone changed, and is still there: fills ev->pm, cm and d.
 * 0, or 1 when the commit breaks that rule. */
int event_mission_change(verify_event *ev);
/* The event's MISSION record before or after; NULL if missing or not valid. */
const mission_rec *event_mission(verify_event *ev, int when);
/* Frees what the event read (the trees and records above). */
void event_clear(verify_event *ev);
/* When the event happened: first recorded (Evault-Replayed, an event
 * replayed by a replica), else its commit time. */
int64_t verify_event_time(verify_event *ev);

/* The fids of a class's live files (fid order is not promised). */
typedef struct fidlist {
	char (*fid)[LAYOUT_FID_LEN + 1];
	size_t n;
} fidlist;
/* The fids of class cls ("dossier", ...) under mission tree mission (NULL:
 * none); -1 if the class is not laid out as it must be. Free out->fid. */
int class_fids(fidlist *out, git_repository *git, git_tree *mission, const char *cls);

/* ---- the rules of actions, one function each (verify_rules.c's table) ---- */

/* 0 when the event keeps its action's rule, 1 (verify_bad) when not. */
typedef int (*verify_check)(verify_event *ev);

/* verify_missions.c */
int rule_mission_create(verify_event *ev);
int rule_membership(verify_event *ev); /* mission.grant, mission.revoke */
int rule_authorize_photos(verify_event *ev);
int rule_mission_due(verify_event *ev);
int rule_dossier_handover(verify_event *ev);
int rule_refused(verify_event *ev);
int rule_import(verify_event *ev);
/* verify_files.c */
int rule_file_event(verify_event *ev); /* file.add, file.replace, file.remove */
int rule_file_commit(verify_event *ev);
/* verify_close.c */
int rule_codes_mark(verify_event *ev);
int rule_closing(verify_event *ev);
int rule_close(verify_event *ev);
int rule_expiring(verify_event *ev);
int rule_expire(verify_event *ev);

/* verify_refusals.c */
int rule_mission_refuse(verify_event *ev);

/* verify_devices.c */
int rule_device_add(verify_event *ev);
int rule_device_revoke(verify_event *ev);
int rule_device_hold(verify_event *ev);
int rule_device_erased(verify_event *ev);

/* verify_files.c, for close's certificate: the class directory change c is
 * exactly the entries of add's fids added and rem's removed (both sorted
 * here) */
typedef char fid_t[LAYOUT_FID_LEN + 1];
bool class_change_ok(verifier *v, const change *c, fid_t *add, size_t nadd, fid_t *rem,
		     size_t nrem);

/* ---- verify_rules.c ---- */

/* Checks commit c against its parent (NULL: the root): invariants 1-6.
 * A broken rule is recorded in v (verify_bad). */
int verify_commit(verifier *v, git_commit *c, git_commit *parent);

/* ---- verify_walk.c ---- */

/*
 * Verifies head -> root (or -> since); fills res. 0 ran (res->ok says),
 * <0 could not run. A walk that reaches the root without meeting since
 * fails: the history no longer contains what was verified. partial: the
 * history of a replica (repo->replica), whose events of missions not held
 * there are checked for signature, role and scope only (res->not_held
 * counts them); false for the office and for bundles, where an absent
 * object is damage.
 */
int verify_chain(git_repository *git, const git_oid *head, const git_oid *since,
		 const char *expected_vault, bool partial, const pinned *pins, size_t npins,
		 evault_verify_result *res);
/* Is old head itself or one of its ancestors? */
bool descends_or_equal(git_repository *git, const git_oid *head, const git_oid *old);

/* ---- bundle.c ---- */

/* What is done with a bundle's history once it verified, before its
 * temporary copy is removed: head is its verified head. */
typedef int (*bundle_use_fn)(git_repository *git, const git_oid *head, void *payload);
/* evault_audit_verify_bundle, then use (when not NULL) if it verified. */
int bundle_verify_then(const char *path, const evault_verify_opts *opts, evault_verify_result *res,
		       bundle_use_fn use, void *payload);

/* ---- verify.c ---- */

/* audit verify of git's history; repo NULL for a bundle (no repository
 * checks). */
int verify_git(git_repository *git, evault_repo *repo, const evault_verify_opts *opts,
	       evault_verify_result *res);

/* ---- checkpoint.c ---- */

/* Checks a checkpoint against the history whose head is head. */
void checkpoint_check(git_repository *git, const git_oid *head, const char *text, size_t len,
		      evault_verify_result *res);

/* ---- show.c ---- */

/* May the reader see the events of mission mid (the rule of evault log)? */
bool audit_reader_sees(evault_repo *repo, const char *mid);

#endif
