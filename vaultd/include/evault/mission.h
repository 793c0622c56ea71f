/*
 * Missions (docs/lifecycle.md): compartments with three classes of content, each
 * under its own key, sealed to the members who may read it. A mission the
 * caller holds no key for is reported as not found, exactly like a mission
 * that does not exist.
 */
#ifndef EVAULT_MISSION_H
#define EVAULT_MISSION_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/repo.h"

typedef struct evault_mission_info {
	const char *client; /* encrypted: never in clear on disk or in history */
	const char *site;
	const char *description;
	/* in clear, in the MISSION record: when the as-built dossier is due to
	 * the client, YYYY-MM-DD, or NULL (docs/lifecycle.md, "The dossier's
	 * handover") */
	const char *dossier_due;
} evault_mission_info;

/* Admin only. Members must be technicians or admins. */
int evault_mission_create(evault_repo *repo, const char *mid, const evault_mission_info *info,
			  const char *const *members, size_t nmembers);

/* One handover of the dossier to the client (evault_dossier_handover). */
typedef struct evault_handover_view {
	unsigned n;
	int64_t time;
	char by[33];
	size_t files;
	char *to; /* the recipient: NULL unless the reader holds the dossier key */
} evault_handover_view;

typedef struct evault_mission_view {
	char mid[65];
	char status[16];
	int64_t created;
	char created_by[33];
	char **members;
	size_t nmembers;
	char **auditors;
	size_t nauditors;
	bool photo_authorised;
	char dossier_due[11];            /* YYYY-MM-DD, "" when none */
	evault_handover_view *handovers; /* oldest first */
	size_t nhandovers;
	bool has_info; /* client/site/description decrypted (caller holds the dossier key) */
	char *client, *site, *description;
	size_t files[3]; /* per class, when the caller holds that class's key */
	bool readable[3];
} evault_mission_view;

typedef int (*evault_mission_cb)(const char *mid, const char *status, void *payload);
/* Missions visible to the acting user (admins see all), sorted. */
int evault_mission_list(evault_repo *repo, evault_mission_cb cb, void *payload);
int evault_mission_show(evault_repo *repo, const char *mid, evault_mission_view **out);
void evault_mission_view_free(evault_mission_view *v);
/* Admin only. Technicians and admins become members (all classes); auditors
 * get the dossier, read-only. */
int evault_mission_grant(evault_repo *repo, const char *mid, const char *user);
/* Admin only. The user's key copies are destroyed. */
int evault_mission_revoke(evault_repo *repo, const char *mid, const char *user);
/*
 * Admin only. Sets (or changes) the date the as-built dossier is due to the
 * client, YYYY-MM-DD: one mission.due event. The mission is open, closing
 * or closed (EVAULT_EREADONLY once it expires); EVAULT_EEXISTS when it is
 * due on that date already.
 */
int evault_mission_set_due(evault_repo *repo, const char *mid, const char *date);

/*
 * Marks an entry of the codes class as rotated (reported_to NULL) or as
 * reported to a client contact (kept encrypted under the dossier key, so
 * the archive keeps it). Members and admins, open missions.
 */
int evault_codes_mark(evault_repo *repo, const char *vpath, const char *reported_to);

/*
 * Admin only. Writes to report what close keeps and erases; with dry_run
 * that is all. EVAULT_EREFUSED (the reasons in report) while a codes entry
 * is unmarked or the dossier is empty. A close interrupted at any point is
 * finished by calling this again.
 */
/* force: close even while a device holding the mission has not synced since
 * it last changed (what it sends later is refused; the record says so). */
int evault_mission_close(evault_repo *repo, const char *mid, bool dry_run, bool force,
			 evault_buf *report);

/* The erasure certificate of a closed mission, French and English. */
int evault_mission_certificate(evault_repo *repo, const char *mid, evault_buf *out);

/*
 * Records the client's prior written authorisation to take photos and
 * videos (charter CHR-GOV-001 §02): who gave it, its reference, its scope.
 * Members and admins, open missions, once per mission. The details are
 * encrypted under the dossier key (they survive close); the MISSION record
 * says only "photo-authorisation yes". Until then image and video content
 * is refused (EVAULT_EREFUSED); audio content always is.
 */
int evault_mission_authorize_photos(evault_repo *repo, const char *mid, const char *by,
				    const char *ref, const char *scope);
/* The recorded authorisation as "key: value" lines (dossier key holders). */
int evault_mission_photo_authorisation(evault_repo *repo, const char *mid, evault_buf *out);

#endif
