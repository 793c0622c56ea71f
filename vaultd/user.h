/* User records of the state (users/<name>), private to the engine. */
#ifndef EVAULT_USER_PRIV_H
#define EVAULT_USER_PRIV_H

#include "evault/user.h"
#include "names.h"
#include "sshkey.h"
#include "state.h"

typedef struct user_rec {
	char name[EVAULT_USER_MAX + 1];
	evault_role role;
	char status[16];
	uint8_t pk[SSH_ED25519_PK_LEN];
	char key_line[256];
} user_rec;

/* Parses the record of user name; EVAULT_ECORRUPT if it is not one. */
int user_parse(user_rec *out, const char *name, const char *text, size_t len);
/* EVAULT_ENOTFOUND if there is no such user; EVAULT_ECORRUPT if unreadable. */
int user_load(const state *st, const char *name, user_rec *out);
int user_format(evault_buf *out, const user_rec *u);
typedef int (*user_each_cb)(const user_rec *u, void *payload);
int users_each(const state *st, user_each_cb cb, void *payload);

/* users_each callback: sets name to the user whose key is pk, if any. */
typedef struct key_owner_ctx {
	const uint8_t *pk;
	char name[EVAULT_USER_MAX + 1];
} key_owner_ctx;
int find_key_owner(const user_rec *u, void *payload);

#endif
