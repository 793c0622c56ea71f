/*
 * The erasure record of a closed mission (missions/<mid>/CLOSE, clear text
 * in the state, docs/format.md), shared by close.c, which writes it, and
 * verify_close.c, which checks it. Only ids, fingerprints and counts: no
 * names.
 */
#ifndef EVAULT_CLOSE_H
#define EVAULT_CLOSE_H

#include <stdbool.h>
#include <stdint.h>

#include "chunk.h"
#include "layout.h"
#include "names.h"

#define CLOSE_CERT_PATH "erasure-certificate.txt"

typedef struct close_tally {
	char fp[CLASS_FP_HEX]; /* the erased class key's fingerprint */
	size_t files, objects;
	uint64_t bytes;
} close_tally;

typedef struct close_code {
	char fid[LAYOUT_FID_LEN + 1];
	char how[16]; /* rotated | reported | damaged (its manifest did not open) */
} close_code;

typedef struct close_kept {
	char fid[LAYOUT_FID_LEN + 1];
	char sha256[65];
	uint64_t size;
} close_kept;

/* A device that held the mission and had not synced since its last
 * change when an admin closed it anyway (mission close --force). */
typedef struct close_forced {
	char device[EVAULT_USER_MAX + 1];
	int64_t last_contact; /* 0: never */
} close_forced;

typedef struct close_rec {
	char mid[EVAULT_MID_MAX + 1];
	bool done; /* false: "pending", written by mission.closing */
	char by[EVAULT_USER_MAX + 1];
	int64_t started, closed, retain_until;
	close_tally work, codes;
	close_code *code;
	size_t ncode;
	size_t kept_files;
	uint64_t kept_bytes;
	close_kept *kept; /* done only */
	size_t nkept;
	char certificate[LAYOUT_FID_LEN + 1]; /* done only */
	close_forced *forced;
	size_t nforced;
} close_rec;

int close_parse(close_rec *out, const char *mid, const char *text, size_t len);
int close_format(evault_buf *out, const close_rec *r);
void close_rec_clear(close_rec *r);

/*
 * Expires a closed mission whose retention ended (retention.c decides
 * when): mission.expiring, every dossier key copy destroyed and its
 * objects deleted, mission.expire (dossier, marks and info leave the
 * state; the CLOSE record stays). Finishes an interrupted expiry.
 */
struct evault_repo;
int mission_expire(struct evault_repo *repo, const char *mid, bool dry_run, evault_buf *report);

/* A codes mark (the plaintext of marks/<fid>.enc, docs/format.md). */
#define CONTACT_MAX 200
typedef struct mark {
	char how[16];
	char contact[CONTACT_MAX + 1];
	char by[EVAULT_USER_MAX + 1];
	int64_t when;
	char path[EVAULT_PATH_MAX + 1]; /* the entry's name when it was marked */
} mark;
/* EVAULT_ECORRUPT unless data is exactly one mark. */
int mark_decode(mark *out, const void *data, size_t len);

#endif
