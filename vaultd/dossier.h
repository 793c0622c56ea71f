/*
 * The handover record (missions/<mid>/handovers/<n>, docs/format.md), shared
 * by dossier.c, which writes it, and verify_missions.c, which checks it;
 * and the handovers of a mission as mission show lists them.
 */
#ifndef EVAULT_DOSSIER_PRIV_H
#define EVAULT_DOSSIER_PRIV_H

#include <stdint.h>

#include "evault/dossier.h"
#include "evault/mission.h"
#include "layout.h"
#include "mission.h"
#include "state.h"

/* At most this many files in one handover (and lines in SHA256SUMS). */
#define HANDOVER_FILES_MAX 100000

typedef struct handover_file {
	char fid[LAYOUT_FID_LEN + 1];
	char sha256[65];
	uint64_t size;
} handover_file;

typedef struct handover_rec {
	unsigned n;
	char by[EVAULT_USER_MAX + 1];
	int64_t time;
	char manifest[65];    /* SHA-256 of SHA256SUMS */
	char statement[65];   /* SHA-256 of statement.txt */
	handover_file *files; /* sorted by fid, each once */
	size_t nfiles;
} handover_rec;

/* EVAULT_ECORRUPT unless text is exactly handover record n (canonical). */
int handover_parse(handover_rec *out, unsigned n, const char *text, size_t len);
int handover_format(evault_buf *out, const handover_rec *r);
void handover_rec_clear(handover_rec *r);

/* Is s a recipient: 1 to EVAULT_RECIPIENT_MAX bytes of UTF-8, no control character? */
bool handover_recipient_valid(const char *s, size_t len);

/* The handovers of mission m in st, oldest first; the recipient of each when
 * the acting user holds the dossier key. */
int handover_list(evault_repo *repo, const state *st, const mission_rec *m,
		  evault_handover_view **out, size_t *n);

#endif
