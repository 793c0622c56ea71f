/*
 * OpenSSH formats for Ed25519 keys: the public key line
 * ("ssh-ed25519 AAAA... comment"), its SHA256 fingerprint, and SSHSIG
 * signatures (OpenSSH PROTOCOL.sshsig) in their armoured form, which is
 * what git's gpg.format=ssh stores in a commit's gpgsig header.
 */
#ifndef EVAULT_SSHKEY_H
#define EVAULT_SSHKEY_H

#include <stdint.h>

#include "evault/common.h"

#define SSH_ED25519_PK_LEN 32
#define SSH_ED25519_SK_LEN 64
#define SSH_FINGERPRINT_LEN 51 /* "SHA256:" + 43 base64 chars + NUL */

int sshkey_format_public(evault_buf *out, const uint8_t pk[SSH_ED25519_PK_LEN],
			 const char *comment);
/* Parses "ssh-ed25519 BASE64 [comment]"; anything else is EVAULT_EINVAL. */
int sshkey_parse_public(uint8_t pk[SSH_ED25519_PK_LEN], const char *line) EVAULT_WARN_UNUSED;
void sshkey_fingerprint(char out[SSH_FINGERPRINT_LEN], const uint8_t pk[SSH_ED25519_PK_LEN]);

/*
 * Signs msg in namespace ns with SHA-512 as the message hash. The armour is
 * appended to out WITHOUT a final newline (git's gpgsig header form).
 */
int sshsig_sign(evault_buf *out, const uint8_t sk[SSH_ED25519_SK_LEN], const char *ns,
		const void *msg, size_t msglen);
/*
 * Verifies an armoured SSHSIG over msg in namespace ns. On success the
 * signer's public key is stored in signer. A malformed signature is
 * EVAULT_ECORRUPT, a signature that does not verify EVAULT_EAUTH.
 */
int sshsig_verify(uint8_t signer[SSH_ED25519_PK_LEN], const char *armour, size_t armourlen,
		  const char *ns, const void *msg, size_t msglen) EVAULT_WARN_UNUSED;

#endif
