/*
 * The vault's policy (docs/lifecycle.md): how long closed missions'
 * dossiers are kept, whether close needs a dossier, when an open mission
 * is overdue. Recorded in the signed history; only admins change it.
 */
#ifndef EVAULT_POLICY_PUB_H
#define EVAULT_POLICY_PUB_H

#include "evault/common.h"
#include "evault/repo.h"

/* "key value" lines of the policy in force. */
int evault_policy_show(evault_repo *repo, evault_buf *out);
/* Records one change (admin only): retention-years 1..100,
 * close-requires-dossier yes|no, open-days-max 1..36500,
 * device-erasure-days 1..3650. */
int evault_policy_set(evault_repo *repo, const char *key, const char *value);

#endif
