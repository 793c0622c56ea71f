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

/*
 * The key an allowed-signers text (changed: NULs) gives name for the
 * signature by signer over a statement of time when, read as ssh-keygen -Y
 * verify reads it: a line's namespaces="..." must include evault-dossier,
 * its valid-after/valid-before hold at when, a cert-authority line is no
 * signer's key, an unknown option makes the line unusable. 0 and pk set, or
 * -1 with why (a static string) saying why no line would do.
 */
int dossier_signer_key(uint8_t pk[32], char *text, const char *name, const uint8_t signer[32],
		       int64_t when, const char **why);

/* The package's decoders on their own (the fuzz targets): statement.txt
 * (0 and its file count, or EVAULT_ECORRUPT) and SHA256SUMS (text changed;
 * 0 and its line count, or EVAULT_ECORRUPT). */
int dossier_statement_check(const char *text, size_t len, size_t *files);
int dossier_sums_check(char *text, size_t len, size_t *n);

/* Is s a recipient: 1 to EVAULT_RECIPIENT_MAX bytes of UTF-8, no control character? */
bool handover_recipient_valid(const char *s, size_t len);

/* The handovers of mission m in st, oldest first; the recipient of each when
 * the acting user holds the dossier key. */
int handover_list(evault_repo *repo, const state *st, const mission_rec *m,
		  evault_handover_view **out, size_t *n);

#endif
