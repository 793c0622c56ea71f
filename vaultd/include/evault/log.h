/* The history as users read it, and the files auditors need for stock git. */
#ifndef EVAULT_LOG_H
#define EVAULT_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/repo.h"

typedef struct evault_event {
	uint64_t seq;
	int64_t time;
	const char *commit;
	const char *actor;
	const char *action;
	const char *mission; /* "" if none */
	const char *summary;
	bool signed_ok; /* signature verifies with the actor's key */
	const char *file; /* with names: the decrypted path of a file event (file.commit:
			     each, ", " between, a removed one marked "-"), else "" */
} evault_event;

typedef int (*evault_event_cb)(const evault_event *ev, void *payload);
/*
 * Newest first. mission (may be NULL) filters on one mission. Events of
 * missions the acting user holds no key for are skipped unless the user is
 * an admin or auditor.
 */
int evault_log_walk(evault_repo *repo, const char *mission, evault_event_cb cb, void *payload);
/*
 * The same, and for file events in classes the acting user holds a key
 * for (members; granted auditors for the dossier), the file's decrypted
 * path in ev->file. The identity must be unlocked.
 */
int evault_log_walk_names(evault_repo *repo, const char *mission, evault_event_cb cb,
			  void *payload);

/* "name namespaces="git" ssh-ed25519 AAAA..." lines for git's
 * gpg.ssh.allowedSignersFile, one per user ever added. */
int evault_audit_allowed_signers(evault_repo *repo, evault_buf *out);

#endif
