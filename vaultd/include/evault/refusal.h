/*
 * The register of refused missions (docs/format.md, "Refusals"; the
 * charter: missions involving illegal surveillance of people, or beyond
 * the company's competence, are refused, and the refusals documented and
 * traced). A refusal is one signed mission.refuse event adding
 * refusals/<rid> to the state: who recorded it, when, its category in
 * clear; the client, details and reference sealed to each active admin's
 * key, so that no one else, ever, reads who the client was.
 */
#ifndef EVAULT_REFUSAL_H
#define EVAULT_REFUSAL_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/repo.h"

#define EVAULT_REFUSAL_RID_LEN 32 /* lowercase hex */
/* client, details and reference: 1 to this many bytes of UTF-8 without
 * control characters (details and reference may be absent: empty in the
 * sealed plaintext) */
#define EVAULT_REFUSAL_FIELD_MAX 256
#define EVAULT_REFUSAL_CATEGORY_MAX 31

/* A category of refusal: its name (the record's and the trailer's), and
 * what it means in English and in French. */
typedef struct evault_refusal_category {
	const char *name;
	const char *en;
	const char *fr;
} evault_refusal_category;

/* The fixed list of categories, in the order the documentation gives
 * them; *count set. Borrowed, static. */
const evault_refusal_category *evault_refusal_categories(size_t *count);
/* Is name one of the categories? */
bool evault_refusal_category_valid(const char *name);

typedef struct evault_refusal_opts {
	unsigned int version;
	const char *client;   /* required */
	const char *category; /* required: one of the categories */
	const char *details;  /* NULL: none */
	const char *ref;      /* NULL: none */
	const char *date;     /* "YYYY-MM-DD" the mission was refused (UTC); NULL: today */
} evault_refusal_opts;
#define EVAULT_REFUSAL_OPTS_VERSION 1
#define EVAULT_REFUSAL_OPTS_INIT                                                                   \
	{                                                                                          \
		EVAULT_REFUSAL_OPTS_VERSION, NULL, NULL, NULL, NULL, NULL                          \
	}

/*
 * Records a refused mission: one mission.refuse event. An active admin or
 * technician (EVAULT_EDENIED otherwise); the identity unlocked (it signs).
 * EVAULT_EINVAL for a field out of bounds, an unknown category or a bad
 * date (not a calendar day, or after today). rid receives the new
 * refusal's id.
 */
int evault_mission_refuse(evault_repo *repo, const evault_refusal_opts *opts,
			  char rid[EVAULT_REFUSAL_RID_LEN + 1]);

/* Whether the acting user read a refusal's sealed part. */
typedef enum evault_refusal_access {
	EVAULT_REFUSAL_OPENED,       /* client, details, ref decrypted */
	EVAULT_REFUSAL_OTHER_ADMINS, /* an admin to whom it was not sealed (became admin since) */
	EVAULT_REFUSAL_HIDDEN,       /* not an admin, or the identity is locked */
	EVAULT_REFUSAL_DAMAGED,      /* sealed to this admin, but the box does not open */
} evault_refusal_access;

/* One refusal of the register, as evault_refusals_each gives it. */
typedef struct evault_refusal {
	char rid[EVAULT_REFUSAL_RID_LEN + 1];
	int64_t time;  /* when it was recorded (unix seconds) */
	char date[11]; /* the day the mission was refused, YYYY-MM-DD (UTC) */
	char by[33];   /* the user who recorded it */
	char category[EVAULT_REFUSAL_CATEGORY_MAX + 1];
	size_t nsealed; /* how many admins it is sealed to */
	evault_refusal_access access;
	/* OPENED only (else NULL); details and ref NULL when none was given.
	 * Borrowed for the callback only, then wiped. */
	const char *client, *details, *ref;
} evault_refusal;

typedef int (*evault_refusal_cb)(const evault_refusal *r, void *payload);
/*
 * Calls cb with each refusal of the current state, oldest first: by the
 * day refused, then when recorded, then rid. Any active user; no network
 * (a replica lists what it has). An admin whose identity is unlocked gets
 * the sealed part of those sealed to them. A nonzero return from cb stops
 * the walk and is returned.
 */
int evault_refusals_each(evault_repo *repo, evault_refusal_cb cb, void *payload);

#endif
