/* Users of a vault: name, role, status and public key, kept in the state. */
#ifndef EVAULT_USER_H
#define EVAULT_USER_H

#include "evault/repo.h"

typedef struct evault_user_info {
	const char *name;
	evault_role role;
	const char *status;      /* "active" */
	const char *key_line;    /* ssh-ed25519 AAAA... name */
	const char *fingerprint; /* SHA256:... */
} evault_user_info;

/* Admin only. pubkey_line: "ssh-ed25519 AAAA... [comment]". */
int evault_user_add(evault_repo *repo, const char *name, evault_role role, const char *pubkey_line);
/*
 * Disables a user (admin): every copy of every mission key sealed to them
 * is destroyed, then a signed user.disable event sets their status to
 * disabled. From then on their identity opens nothing, and verify refuses
 * any event they sign. Not oneself (EVAULT_EINVAL: so an active admin
 * always remains); a user already disabled is EVAULT_EEXISTS.
 */
int evault_user_disable(evault_repo *repo, const char *name);
typedef int (*evault_user_cb)(const evault_user_info *user, void *payload);
/* Sorted by name. A non-zero return from cb stops the walk and is returned. */
int evault_user_list(evault_repo *repo, evault_user_cb cb, void *payload);

#endif
