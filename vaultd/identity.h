/* Engine-internal access to an unlocked identity's keys. */
#ifndef EVAULT_IDENTITY_PRIV_H
#define EVAULT_IDENTITY_PRIV_H

#include "evault/identity.h"
#include "secret.h"
#include "sshkey.h"

const uint8_t *identity_public_key(const evault_identity *id);
/* Signs msg (SSHSIG, namespace ns); the identity must be unlocked. */
int identity_sign(evault_buf *out, const evault_identity *id, const char *ns, const void *msg,
		  size_t len);
/* A plain Ed25519 signature (C2SP signed notes); the identity must be unlocked. */
int identity_sign_raw(uint8_t sig[64], const evault_identity *id, const void *msg, size_t len);
/* Opens a crypto_box_seal'ed message addressed to this identity. */
int identity_open_sealed(secret **out, const evault_identity *id, const uint8_t *sealed,
			 size_t len) EVAULT_WARN_UNUSED;
/* Seals data to an Ed25519 public key (converted to X25519). */
int seal_to_public(evault_buf *out, const uint8_t pk[SSH_ED25519_PK_LEN], const uint8_t *data,
		   size_t len);

#endif
