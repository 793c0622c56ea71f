/*
 * The dossier's handover to the client (docs/lifecycle.md, "The dossier's
 * handover"): the live files of a mission's dossier class written to a
 * directory with their SHA-256 list and a statement signed by the admin who
 * hands them over, recorded as one signed event; and the check of such a
 * directory, which needs no vault, identity or passphrase.
 */
#ifndef EVAULT_DOSSIER_H
#define EVAULT_DOSSIER_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/repo.h"

/* The recipient: 1 to this many bytes of UTF-8, no control character. */
#define EVAULT_RECIPIENT_MAX 256

typedef struct evault_handover_result {
	unsigned n; /* the handover's number in the mission (1, 2, ...) */
	size_t files;
	uint64_t bytes;
} evault_handover_result;

/*
 * Admin only; the mission open or closed. dir must not exist, or be an
 * empty directory. The package is built beside it (dir.tmp-XXXXXX), the
 * dossier.handover event recorded, then the package renamed into place;
 * on a failure before the event nothing is left. EVAULT_EREFUSED when the
 * dossier is empty.
 */
int evault_dossier_handover(evault_repo *repo, const char *mid, const char *to, const char *dir,
			    evault_handover_result *out);

typedef struct evault_dossier_check {
	char mid[65];
	char by[33];
	char to[EVAULT_RECIPIENT_MAX + 1];
	int64_t time;
	unsigned handover;
	size_t files;
	uint64_t bytes;
	char key[64];     /* the signer's key, "SHA256:..." */
	bool own_signers; /* the key came from the package's own allowed_signers */
} evault_dossier_check;

/*
 * Checks a handed-over dossier at dir (docs/auditing.md, "Checking a
 * handed-over dossier"). signers: an allowed-signers file to take the
 * admin's key from (the company's), or NULL for the package's own, which
 * proves only that the package is whole (own_signers says so). The
 * statement and its signature are checked first, then SHA256SUMS against
 * the statement, then the files, read no further than the statement's
 * byte count. 0: it verifies. EVAULT_ECORRUPT or EVAULT_EAUTH: it does not (the message names
 * the file and what failed). Any other error: dir or signers could not be
 * read.
 */
int evault_dossier_verify(const char *dir, const char *signers, evault_dossier_check *out);

#endif
