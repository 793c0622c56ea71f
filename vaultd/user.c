/*
 * User records (docs/format.md §users/<name>) and the acting user. A user
 * record is text:
 *   name bob / role technician / status active / key ssh-ed25519 AAAA... bob
 * The acting user is the user whose key is the identity's (one key, one
 * user). The operations on users (add, disable, list) are userops.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "repo.h"
#include "user.h"
#include "util.h"

int user_parse(user_rec *out, const char *name, const char *text, size_t len)
{
	char role[32];
	memset(out, 0, sizeof(*out));
	if (!user_name_valid(name) ||
	    text_get(out->name, sizeof(out->name), text, len, "name") < 0 ||
	    strcmp(out->name, name) != 0 || text_get(role, sizeof(role), text, len, "role") < 0 ||
	    evault_role_parse(&out->role, role) < 0 ||
	    text_get(out->status, sizeof(out->status), text, len, "status") < 0 ||
	    text_get(out->key_line, sizeof(out->key_line), text, len, "key") < 0 ||
	    sshkey_parse_public(out->pk, out->key_line) < 0)
		return evault_error_set(EVAULT_ECORRUPT, "user record %.40s is damaged", name);
	return 0;
}

int user_load(const state *st, const char *name, user_rec *out)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc;
	memset(out, 0, sizeof(*out));
	if (!user_name_valid(name))
		return evault_error_set(EVAULT_ENOTFOUND, "no such user: %.40s", name);
	if ((rc = evault_buf_printf(&path, "users/%s", name)) < 0)
		return rc;
	if ((rc = state_read(st, path.ptr, &text)) < 0) {
		if (rc == EVAULT_ENOTFOUND)
			evault_error_set(rc, "no such user: %s", name);
	} else {
		rc = user_parse(out, name, text.ptr, text.size);
	}
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

int user_format(evault_buf *out, const user_rec *u)
{
	return evault_buf_printf(out, "name %s\nrole %s\nstatus %s\nkey %s\n", u->name,
				 evault_role_name(u->role), u->status, u->key_line);
}

typedef struct each_ctx {
	const state *st;
	user_each_cb cb;
	void *payload;
} each_ctx;

static int each_entry(const char *name, bool is_dir, void *p)
{
	each_ctx *c = p;
	user_rec u;
	if (is_dir)
		return evault_error_set(EVAULT_ECORRUPT, "unexpected directory users/%s", name);
	int rc = user_load(c->st, name, &u);
	return rc < 0 ? rc : c->cb(&u, c->payload);
}

int users_each(const state *st, user_each_cb cb, void *payload)
{
	each_ctx c = {st, cb, payload};
	return state_list(st, "users", each_entry, &c);
}

int find_key_owner(const user_rec *u, void *p)
{
	key_owner_ctx *c = p;
	if (memcmp(u->pk, c->pk, SSH_ED25519_PK_LEN) == 0)
		snprintf(c->name, sizeof(c->name), "%s", u->name);
	return 0;
}

int evault_repo_set_identity(evault_repo *repo, evault_identity *id)
{
	state *st = NULL;
	key_owner_ctx owner = {identity_public_key(id), ""};
	user_rec u;
	int rc = state_begin(&st, repo, false);
	if (rc < 0)
		return rc;
	if ((rc = users_each(st, find_key_owner, &owner)) < 0)
		goto done;
	if (!owner.name[0]) {
		rc =
		    evault_error_set(EVAULT_EDENIED, "identity %s (%s) is not a user of this vault",
				     evault_identity_name(id), evault_identity_fingerprint(id));
		goto done;
	}
	if ((rc = user_load(st, owner.name, &u)) < 0)
		goto done;
	if (strcmp(u.status, "active") != 0) {
		rc = evault_error_set(EVAULT_EDENIED, "user %s is %s", u.name, u.status);
		goto done;
	}
	repo->id = id;
	snprintf(repo->actor, sizeof(repo->actor), "%s", u.name);
	repo->role = u.role;
	repo->have_actor = true;
done:
	state_end(st);
	return rc;
}
