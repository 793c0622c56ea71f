/*
 * Refusal records (refusals/<rid> in the state; docs/format.md,
 * "Refusals"), private to the engine. A record is canonical: parsed, it
 * formats back to exactly the bytes read, or it is damaged.
 */
#ifndef EVAULT_REFUSAL_PRIV_H
#define EVAULT_REFUSAL_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

#include "evault/refusal.h"
#include "names.h"

#define REFUSAL_DIR "refusals"
#define REFUSAL_MAGIC "EVRF"
/* the sealed plaintext: "EVRF" || string client || string details || string ref,
 * then zeros to REFUSAL_PLAIN_SIZE: every box has one size, so none tells
 * how long the client's name is */
#define REFUSAL_PLAIN_SIZE (4 + 3 * (4 + EVAULT_REFUSAL_FIELD_MAX))
#define REFUSAL_BOX_MIN (crypto_box_SEALBYTES + REFUSAL_PLAIN_SIZE)
#define REFUSAL_BOX_MAX (crypto_box_SEALBYTES + REFUSAL_PLAIN_SIZE)
/* how long after the day a mission was refused it may still be recorded */
#define REFUSAL_LATE_DAYS 31
/* sealed lines a record may hold: one per active admin */
#define REFUSAL_SEALS_MAX 256
#define REFUSAL_TEXT_MAX (REFUSAL_SEALS_MAX * 1300 + 1024)

typedef struct refusal_seal {
	char admin[EVAULT_USER_MAX + 1];
	uint8_t box[REFUSAL_BOX_MAX];
	size_t len;
} refusal_seal;

typedef struct refusal_rec {
	char rid[EVAULT_REFUSAL_RID_LEN + 1];
	int64_t time;
	char date[11];
	char by[EVAULT_USER_MAX + 1];
	char category[EVAULT_REFUSAL_CATEGORY_MAX + 1];
	refusal_seal *seals; /* sorted by admin, distinct */
	size_t nseals;
} refusal_rec;

/*
 * Parses refusals/<name>: EVAULT_ECORRUPT unless name is a rid, the
 * record names it, every line is in place, the category is one of the
 * list, the date a calendar day, the sealed lines sorted by distinct
 * admins (at least one), every box of one length within the bounds.
 */
int refusal_parse(refusal_rec *out, const char *name, const char *text, size_t len);
int refusal_format(evault_buf *out, const refusal_rec *r);
void refusal_rec_clear(refusal_rec *r);

bool refusal_rid_valid(const char *s);
/* YYYY-MM-DD, a calendar day from 2000-01-01; *t: its 00:00 UTC. */
bool refusal_date_parse(const char *s, int64_t *t);
/* 1 to EVAULT_REFUSAL_FIELD_MAX bytes (min_len 0: may be empty) of UTF-8,
 * no control character */
bool refusal_field_valid(const char *s, size_t len, size_t min_len);

#endif
