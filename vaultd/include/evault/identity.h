/*
 * A user's identity: one Ed25519 key pair (it signs history commits; its
 * X25519 form opens the class keys sealed to the user). The secret half is
 * stored passphrase-protected (Argon2id + XChaCha20-Poly1305) in a file
 * that lives with the user, by default ~/.config/evault/identity.
 */
#ifndef EVAULT_IDENTITY_H
#define EVAULT_IDENTITY_H

#include <stdbool.h>

#include "evault/common.h"

typedef struct evault_identity evault_identity;

/* Argon2id cost of a new identity (libsodium's named limits). */
typedef enum evault_kdf_level {
	EVAULT_KDF_INTERACTIVE = 0, /* default: ~64 MiB, a fraction of a second */
	EVAULT_KDF_MODERATE = 1,    /* ~256 MiB */
	EVAULT_KDF_SENSITIVE = 2,   /* ~1 GiB, seconds */
} evault_kdf_level;

/*
 * Creates a new identity file at path (mode 0600, created with O_EXCL; an
 * existing file is EVAULT_EEXISTS) and returns it unlocked. A passphrase
 * shorter than EVAULT_PASSPHRASE_MIN bytes is EVAULT_EINVAL.
 */
#define EVAULT_PASSPHRASE_MIN 1
int evault_identity_create(evault_identity **out, const char *path, const char *name,
			   const char *pass, size_t passlen, evault_kdf_level level);
/* Reads an identity file; only its public part is usable until unlocked. */
int evault_identity_load(evault_identity **out, const char *path);
/* Decrypts the secret key; a wrong passphrase is EVAULT_EAUTH. */
int evault_identity_unlock(evault_identity *id, const char *pass,
			   size_t passlen) EVAULT_WARN_UNUSED;
bool evault_identity_unlocked(const evault_identity *id);
/* Borrowed strings, valid until evault_identity_free. */
const char *evault_identity_name(const evault_identity *id);
const char *evault_identity_fingerprint(const evault_identity *id);
/* Appends "ssh-ed25519 AAAA... name". */
int evault_identity_public_line(evault_buf *out, const evault_identity *id);
/* Wipes the secret key. NULL is a no-op. */
void evault_identity_free(evault_identity *id);

#endif
