/*
 * The last head an identity verified (docs/auditing.md), kept
 * outside the repository, in a directory next to the identity file that a
 * writer of the repository cannot reach: DIR/<vault id>. Once a repository
 * has a trust file, every state the engine reads is first checked: the
 * commits between the trusted head and the current one are verified with
 * audit verify's rules (the first time, from the root), and a history that
 * no longer contains the trusted head is refused. Nothing is acted on
 * before that. Implemented in trust.c (it uses the verifier, verify.h).
 *
 * One repository handle is used by one thread at a time (the mount calls
 * the engine under its index lock).
 */
#ifndef EVAULT_TRUST_H
#define EVAULT_TRUST_H

#include <stdbool.h>

typedef struct evault_repo evault_repo;

/* state.c, at every head it loads: 0 when head is verified (now or before). */
int trust_check(evault_repo *repo, const char *head_hex);
/* trust_made and trust_save, which only keep the handle's trusted head,
 * are the handle's own (repo.h). */

#endif
