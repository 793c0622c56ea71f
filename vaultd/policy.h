/*
 * The vault's policy (docs/lifecycle.md): the settings that decide what is
 * kept and what is destroyed. They are recorded in the signed state (the
 * POLICY record, written at init, changed only by an admin's signed
 * vault.policy event), never in evault.conf, which anyone who can write
 * the repository files can edit. Verify checks every retention date
 * against the policy in force when the mission closed.
 */
#ifndef EVAULT_POLICY_H
#define EVAULT_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/common.h"
#include "state.h"

#define POLICY_PATH "POLICY"

typedef struct policy {
	unsigned retention_years;    /* a closed mission's dossier is kept this long */
	bool close_requires_dossier; /* close refused while the dossier is empty */
	unsigned open_days_max;      /* retention reports missions open longer */
	unsigned device_erasure_days; /* retention reports erasures a device owes longer */
} policy;

void policy_defaults(policy *p);
/* Strict: every key once, known keys only, values in range (EVAULT_ECORRUPT). */
int policy_parse(policy *p, const char *text, size_t len);
int policy_format(evault_buf *out, const policy *p);
/* Sets key to value (EVAULT_EINVAL naming the rule when bad). */
int policy_set(policy *p, const char *key, const char *value);
/* The policy in force in st (EVAULT_ECORRUPT when its record is absent or bad). */
int policy_load(const state *st, policy *p);
/* When a dossier closed at closed is kept until (calendar years; 29 Feb -> 28 Feb). */
int64_t policy_retain_until(int64_t closed, unsigned years);

#endif
