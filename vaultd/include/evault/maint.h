/*
 * Upkeep for sysadmins (docs/lifecycle.md): gc, fsck and the retention run that a
 * timer starts. gc and fsck need no key and no identity; retention signs
 * its events, so it runs as an admin.
 */
#ifndef EVAULT_MAINT_H
#define EVAULT_MAINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evault/repo.h"

/* One line of a report (no newline). */
typedef void (*evault_line_cb)(const char *line, void *payload);

typedef struct evault_gc_result {
	size_t stored;     /* objects in the store */
	size_t referenced; /* distinct objects live files name */
	size_t collected;  /* unreferenced objects deleted (or, dry run, to delete) */
	uint64_t collected_bytes;
	size_t young; /* unreferenced but within the grace period: kept */
	size_t tmp_removed;
	/* the history (audit.git): loose objects packed (or, dry run, to pack),
	 * and the packs it holds afterwards */
	size_t history_loose;
	size_t history_packs;
} evault_gc_result;

/*
 * Deletes objects no live file names, once older than the grace period
 * (gc-grace-minutes), and staging leftovers, then packs the history's
 * loose objects; holds the repository lock so that no put commits
 * meanwhile (a put checks its objects under it).
 */
int evault_gc(evault_repo *repo, bool dry_run, evault_gc_result *out);

typedef struct evault_fsck_result {
	size_t stored, referenced, checked; /* checked: re-hashed (full) */
	size_t missing, corrupt, unreferenced, under_way;
	size_t at_office; /* a replica: named by a live file, not fetched yet */
} evault_fsck_result;

/*
 * Keyless check of the store against the state: every object a live file
 * names exists; with full, every stored object hashes to its name. Each
 * problem is reported as a line. Returns 0 when it ran (problems counted
 * in out), negative when it could not.
 */
int evault_fsck(evault_repo *repo, bool full, evault_line_cb cb, void *payload,
		evault_fsck_result *out);

typedef struct evault_fsck_keys_result {
	size_t missions, classes, files; /* read with the identity's keys */
	size_t damaged;                  /* entries whose manifest does not open */
	size_t objs_mismatch;            /* .objs lists that are not their manifest's objects */
} evault_fsck_keys_result;

/*
 * With the acting user's keys: every manifest of every class the user
 * holds a key for is opened and decoded, and each file's .objs list (what
 * gc keeps) is compared with the objects its manifest names. Each damaged
 * entry and each mismatch is reported as a line. Returns 0 when it ran.
 */
int evault_fsck_keys(evault_repo *repo, evault_line_cb cb, void *payload,
		     evault_fsck_keys_result *out);

typedef struct evault_retention_opts {
	bool dry_run;
	int64_t now; /* 0: the clock; another date only with dry_run */
} evault_retention_opts;

typedef struct evault_retention_result {
	size_t missions;
	size_t overdue;  /* open longer than open-days-max: needs a person */
	size_t expired;  /* dossiers whose retention ended, expired (or to expire) */
	size_t finished; /* interrupted closes or expiries finished */
	size_t scrubbed, corrupt;
	size_t devices_late; /* erasures a device owes longer than device-erasure-days */
	evault_gc_result gc;
	bool attention; /* something needs a person (exit 1) */
} evault_retention_result;

/*
 * Admin only. Reports overdue open missions, finishes interrupted closes and
 * expiries, expires dossiers past their retention date, collects garbage,
 * re-hashes a sample of objects (scrub-per-mille), then records the run as
 * one retention.run event. Idempotent; with dry_run nothing changes.
 */
int evault_retention_run(evault_repo *repo, const evault_retention_opts *opts, evault_line_cb cb,
			 void *payload, evault_retention_result *out);

typedef struct evault_migrate_result {
	char from[161], to[161]; /* objects locations, as evault.conf writes them */
	size_t listed;   /* objects listed in the current store (both passes) */
	size_t copied;   /* copied to the target and proven there */
	size_t present;  /* in the target already (an earlier run) and proven there */
	size_t unproven; /* damaged at the source, or not reading back intact */
	uint64_t bytes;  /* of the proven objects */
	bool switched;   /* evault.conf names the target now */
	size_t removed;  /* copies removed from the old store */
} evault_migrate_result;

/*
 * Moves the vault's objects to the store that settings name ("key value"
 * lines of evault.conf: objects, rados-*): every object copied and proven
 * by its hash in the target, the switch recorded as a signed
 * objects.migrate event and then made in evault.conf, the old copies
 * removed (unless keep_source). Admin only, not on a replica. Resumable:
 * a run after an interruption proves what is there and copies the rest.
 * EVAULT_ELOCKED while a mount is live; EVAULT_ECORRUPT when an object
 * could not be proven (nothing switched).
 */
int evault_objects_migrate(evault_repo *repo, const char *settings, bool keep_source,
			   evault_line_cb cb, void *payload, evault_migrate_result *out);

#endif
