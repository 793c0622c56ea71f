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

/* "evault-session 1\nvault <hex>\nnonce <hex>\nkey <fingerprint>\n" */
int sync_auth_message(evault_buf *out, const char *vault_hex, const uint8_t nonce[32],
		      const uint8_t pk[32]);

#endif
