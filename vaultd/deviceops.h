/*
 * The operations on devices (device.h for the records): the events a
 * replica records about itself (device.add, device.hold, device.erased),
 * the admin's device.revoke and listing, and the erasures still owed, for
 * close, the certificate and retention.
 */
#ifndef EVAULT_DEVICEOPS_H
#define EVAULT_DEVICEOPS_H

#include "device.h"
#include "repo.h"

/* The acting user registers this replica as device name (device.add). */
int device_commit_add(evault_repo *repo, const char *name);
/* Device name takes mission mid's keys from now on (device.hold). */
int device_commit_hold(evault_repo *repo, const char *name, const char *mid);
/* Device name destroyed its copies of mid and its objects (device.erased);
 * reason: what device_erasure_due said; dropped: its events refused. */
int device_commit_erased(evault_repo *repo, const char *name, const char *mid,
			 const char *reason, uint64_t dropped);

/* An erasure a device owes: it holds mid, and must not any more. */
typedef struct device_owed {
	const device_rec *device;
	const device_hold *hold;
	const mission_rec *mission;
	const char *reason;
	int64_t since; /* when it became owed (0: not known, see lifecycle.md) */
} device_owed;
typedef int (*device_owed_cb)(const device_owed *o, void *payload);
/* Each erasure owed in st (mid NULL: of every mission). */
int device_owed_each(const state *st, const char *mid, device_owed_cb cb, void *payload);

#endif
