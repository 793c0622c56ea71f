/* Mission records (missions/<mid>/MISSION) and class-key access, private. */
#ifndef EVAULT_MISSION_PRIV_H
#define EVAULT_MISSION_PRIV_H

#include <stdbool.h>

#include "chunk.h"
#include "evault/mission.h"
#include "secret.h"
#include "state.h"
#include "user.h"

/* A calendar date, YYYY-MM-DD (the dossier's due date). */
#define MISSION_DATE_LEN 10
/* A real calendar date from 2000-01-01 to 2999-12-31, written YYYY-MM-DD. */
bool mission_date_valid(const char *s);

typedef struct mission_rec {
	char mid[EVAULT_MID_MAX + 1];
	char status[16];
	int64_t created;
	char created_by[EVAULT_USER_MAX + 1];
	int64_t closed;                         /* 0 while open */
	int64_t retain_until;                   /* 0 while open: when the dossier expires */
	char dossier_due[MISSION_DATE_LEN + 1]; /* YYYY-MM-DD, "" when none */
	/* each class's key generations, oldest first (a revoke adds one) */
	char fps[EVAULT_CLASS_COUNT][CLASS_GENS_MAX][CLASS_FP_HEX];
	size_t ngen[EVAULT_CLASS_COUNT];
	bool photo_authorised;
	char **members;
	size_t nmembers;
	char **auditors;
	size_t nauditors;
} mission_rec;

/* The fingerprint of a class's newest key generation. */
const char *mission_fp(const mission_rec *m, evault_class cls);

/* Parses the MISSION record of mid; EVAULT_ECORRUPT if it is not one. */
int mission_parse(mission_rec *out, const char *mid, const char *text, size_t len);
/* EVAULT_ENOTFOUND "no such mission" when absent. */
int mission_load(const state *st, const char *mid, mission_rec *out);
int mission_format(evault_buf *out, const mission_rec *m);
/* The git id (40 hex) of mid's MISSION record in st: it changes whenever
 * the record does ("" when absent). */
int mission_record_id(const state *st, const char *mid, char out[41]);
void mission_rec_clear(mission_rec *m);
/* Adds user to the record's members or auditors (kept sorted); removes from both. */
int mission_add_member(mission_rec *m, const char *user);
int mission_add_auditor(mission_rec *m, const char *user);
void mission_remove_person(mission_rec *m, const char *user);
bool mission_is_member(const mission_rec *m, const char *user);
bool mission_is_auditor(const mission_rec *m, const char *user);

/* EVAULT_EREADONLY unless the acting user may change files of mission m:
 * it is open, and they are an admin or one of its members. */
int mission_check_writable(evault_repo *repo, const mission_rec *m);

/* The one error for "absent" and "not yours": it must not tell them apart. */
int mission_hidden(const char *mid);
/* Does the acting user hold a key copy of this mission? */
bool mission_visible(evault_repo *repo, const char *mid);
/* 1 visible, 0 not, < 0 when a key copy exists but cannot be read (its error). */
int mission_visible_rc(evault_repo *repo, const char *mid);
/*
 * Loads a mission the acting user can see; a mission that does not exist
 * and one the user holds no key for give the same mission_hidden error.
 */
int mission_load_visible(evault_repo *repo, const state *st, const char *mid, mission_rec *out);

/* The acting user's copy of a class key, checked against the record. */
int mission_open_key(evault_repo *repo, const mission_rec *m, evault_class cls, secret **out);
int mission_class_keys(evault_repo *repo, const mission_rec *m, evault_class cls, class_keys **out);

/* Seals one class key (all its generations) to user to, in the key store. */
int mission_seal_key(evault_repo *repo, const char *mid, evault_class cls, const secret *key,
		     const user_rec *to);
enum mission_seal_scope { MISSION_SEAL_ALL, MISSION_SEAL_DOSSIER };
/* Seals the acting user's copies of the mission's class keys to another user. */
int mission_seal_to(evault_repo *repo, const mission_rec *m, const user_rec *to,
		    enum mission_seal_scope scope);

#endif
