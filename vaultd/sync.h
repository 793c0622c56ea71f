/*
 * What the two ends of a session share beyond the framing (proto.h): the
 * statement a replica signs to prove who it is (docs/protocol.md).
 */
#ifndef EVAULT_SYNC_H
#define EVAULT_SYNC_H

#include <stdint.h>

#include "evault/common.h"

/* The SSHSIG namespace of the session challenge: a signature made for it
 * is no commit signature, and no commit signature is one of these. */
#define SYNC_AUTH_NAMESPACE "evault-session@evault"

/* "evault-session 2\nvault <hex>\nnonce <hex>\nkey <fingerprint>\ndevice <name>\n" */
int sync_auth_message(evault_buf *out, const char *vault_hex, const uint8_t nonce[32],
		      const uint8_t pk[32], const char *device);

/* The device as the office sees it (WELCOME). */
enum sync_device_state {
	SYNC_DEVICE_ACTIVE = 0,  /* registered to this user */
	SYNC_DEVICE_NEW = 1,     /* not registered yet (a clone registers it) */
	SYNC_DEVICE_REVOKED = 2, /* revoked: it may only confirm its erasures */
};

#endif
