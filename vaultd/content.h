/*
 * The charter's content rules (docs/mount.md): what a file is, told from its
 * bytes (libmagic), never from its name; whether a mission may store it;
 * refusal events; the client's written photo authorisation.
 */
#ifndef EVAULT_CONTENT_H
#define EVAULT_CONTENT_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"
#include "mission.h"

typedef enum content_kind {
	CONTENT_OTHER = 0,
	CONTENT_IMAGE = 1,
	CONTENT_VIDEO = 2,
	CONTENT_AUDIO = 3,
} content_kind;

/* Bytes looked at: the start of the file. */
#define CONTENT_SNIFF_MAX (64u * 1024)

/* Classifies the first bytes of a file; mime gets the MIME type found. */
content_kind content_classify(const void *data, size_t len, char mime[MANIFEST_CTYPE_MAX]);

/*
 * 0 when mission m may store content of this kind, else EVAULT_EREFUSED
 * with the one-line reason (audio: never; image/video: until the mission
 * records the client's written authorisation).
 */
int content_check(const mission_rec *m, content_kind kind, const char *mime);

/* Refusals of one mission, counted by MIME type, recorded as one event. */
typedef struct content_tally {
	char mime[8][MANIFEST_CTYPE_MAX];
	size_t count[8];
	size_t ntypes, total;
	int64_t first, last; /* when the first and the last were refused */
} content_tally;
void content_tally_add(content_tally *t, const char *mime);
/* One signed content.refused event for mid (no state change). */
int content_record_refusals(evault_repo *repo, const char *mid, const content_tally *t);

#endif
