/*
 * Devices (docs/deploy.md, "Devices and erasure"): every replica is a
 * device of its user, registered at clone by a signed event. The office
 * knows which missions each device holds; when a mission closes, or its
 * user loses it, or the device is revoked, the device erases its copies at
 * its next sync and signs a confirmation that the erasure certificate
 * lists.
 */
#ifndef EVAULT_DEVICE_H
#define EVAULT_DEVICE_H

#include "evault/common.h"
#include "evault/repo.h"

/* Every device: its user, status, contacts with this office, and per
 * mission held or erased (admins). */
int evault_device_list(evault_repo *repo, evault_buf *out);

/* A lost or stolen laptop (admins): a signed device.revoke. The office
 * refuses the device from then on, except to let it erase what it holds
 * and confirm it. */
int evault_device_revoke(evault_repo *repo, const char *name);

#endif
