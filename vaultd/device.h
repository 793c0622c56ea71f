/*
 * Devices (docs/deploy.md, "Devices"): each replica is a device of its
 * user, named at clone. The state records the device (devices/<name>) and,
 * per mission, that the device holds it and, later, that it erased it
 * (missions/<mid>/devices/<name>). The office also keeps, outside the
 * history, when each device last synced (REPO/contacts/<name>): operational
 * data, never a proof.
 */
#ifndef EVAULT_DEVICE_PRIV_H
#define EVAULT_DEVICE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/device.h"
#include "mission.h"
#include "names.h"
#include "state.h"
#include "user.h"

#define DEVICE_NAME_MAX EVAULT_USER_MAX

/* devices/<name> */
typedef struct device_rec {
	char name[DEVICE_NAME_MAX + 1];
	char user[EVAULT_USER_MAX + 1];
	bool revoked;
	char revoked_by[EVAULT_USER_MAX + 1]; /* revoked only */
	int64_t revoked_at;
} device_rec;

/* missions/<mid>/devices/<name> */
typedef struct device_hold {
	char name[DEVICE_NAME_MAX + 1];
	char user[EVAULT_USER_MAX + 1];
	bool erased;
	int64_t held;        /* when the device took the mission's keys */
	int64_t erased_at;   /* erased only: when it confirmed */
	char reason[16];     /* erased only: closed | revoked | device-revoked */
	uint64_t dropped;    /* erased only: its events the history refused */
} device_hold;

bool device_name_valid(const char *name);
/*
 * Must the device erase the mission it holds (h not erased), and why:
 * "device-revoked" (d was revoked), "closed" (m is no longer open),
 * "revoked" (its user u holds no role on m any more, or is disabled);
 * NULL while it may keep it. u NULL: the user is gone.
 */
const char *device_erasure_due(const device_rec *d, const mission_rec *m, const user_rec *u);
bool device_reason_valid(const char *reason);

int device_parse(device_rec *out, const char *name, const char *text, size_t len);
int device_format(evault_buf *out, const device_rec *d);
/* EVAULT_ENOTFOUND "no such device" when absent. */
int device_load(const state *st, const char *name, device_rec *out);
typedef int (*device_each_cb)(const device_rec *d, void *payload);
int devices_each(const state *st, device_each_cb cb, void *payload);

int hold_parse(device_hold *out, const char *name, const char *text, size_t len);
int hold_format(evault_buf *out, const device_hold *h);
/* EVAULT_ENOTFOUND when the device never held the mission. */
int hold_load(const state *st, const char *mid, const char *name, device_hold *out);
/* Every device that held mid (missions/<mid>/devices/), by name. */
typedef int (*hold_each_cb)(const device_hold *h, void *payload);
int holds_each(const state *st, const char *mid, hold_each_cb cb, void *payload);
int hold_path(evault_buf *out, const char *mid, const char *name);

/* The office's own note of each device's last sync: REPO/contacts/<name>. */
typedef struct device_contact {
	int64_t first, last; /* unix seconds */
	char head[41];       /* the office's head the device had then ("" unknown) */
	uint64_t seq;        /* its Evault-Seq */
} device_contact;
/* EVAULT_ENOTFOUND when the device never synced with this office. */
int contact_read(const char *repo_path, const char *name, device_contact *out);
/* Records a sync now; head NULL: a session that fetched no history. */
int contact_note(const char *repo_path, const char *name, const char *head, uint64_t seq);

#endif
