/*
 * Auditing (docs/auditing.md): verify the whole history without trusting the
 * writer, checkpoints that prove later histories still contain earlier
 * ones, self-verifying export bundles, one event shown in full.
 */
#ifndef EVAULT_AUDIT_H
#define EVAULT_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/repo.h"

typedef struct evault_verify_opts {
	unsigned version;
	bool objects;           /* also: every object a live file needs exists, intact */
	const char *checkpoint; /* a checkpoint's text to check against, or NULL */
	size_t checkpoint_len;
	/* allowed-signers text obtained out of band, or NULL: every commit must
	 * be signed by its actor's key as listed there */
	const char *signers;
	size_t signers_len;
} evault_verify_opts;
#define EVAULT_VERIFY_OPTS_VERSION 1
/* clang-format off */
#define EVAULT_VERIFY_OPTS_INIT {EVAULT_VERIFY_OPTS_VERSION, false, NULL, 0, NULL, 0}
/* clang-format on */

typedef struct evault_verify_result {
	bool ok;
	char vault_id[33];
	char head[41];
	uint64_t seq;    /* of the head */
	uint64_t events; /* commits checked */
	int64_t first_time, last_time;
	uint64_t objects; /* objects checked with opts.objects */
	size_t closing;   /* missions whose close or expiry is under way (re-run it) */
	/* when !ok: the first (oldest) bad commit and the rule it breaks */
	char bad_commit[41];
	char reason[512];
	/* on a replica: events of missions it does not hold (their trees stayed
	 * at the office), checked for signature, role and scope only */
	uint64_t not_held;
	/* on a replica: key copies of missions this device must erase and has
	 * not yet (its next sync does, then confirms) */
	size_t erasing;
} evault_verify_result;

/*
 * Replays the history from the root (docs/auditing.md lists every rule).
 * Returns 0 when verification ran (result->ok says how it ended), or a
 * negative code when it could not run (unreadable input). A repository
 * that verifies records its head (REPO/audit-verified) so that a later
 * verify notices a history that no longer contains it.
 */
int evault_audit_verify(evault_repo *repo, const evault_verify_opts *opts,
			evault_verify_result *result);
/* The same on an exported bundle (a directory made by evault_audit_export,
 * or its history.bundle), without a repository or any key. */
int evault_audit_verify_bundle(const char *path, const evault_verify_opts *opts,
			       evault_verify_result *result);

/* A checkpoint (C2SP signed note) of the head, signed by the acting user. */
int evault_audit_checkpoint(evault_repo *repo, evault_buf *out);

/*
 * Writes an export directory: history.bundle (a git bundle of the whole
 * history), allowed_signers, README.txt; with mission, mission-log.txt
 * with that mission's events. The directory must not exist.
 */
int evault_audit_export(evault_repo *repo, const char *dir, const char *mission);

/* One event, readable: which is a sequence number or a commit id (prefix). */
int evault_audit_show(evault_repo *repo, const char *which, evault_buf *out);

#endif
