/*
 * The operations on users (docs/format.md §users/<name>): add, disable,
 * list. Adding an admin also seals every mission's keys to the new admin,
 * since admins hold all mission keys (docs/lifecycle.md); disabling a user first
 * revokes them from each open mission that lists them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evault/mission.h"
#include "mission.h"
#include "repo.h"
#include "user.h"
#include "util.h"

typedef struct reseal_ctx {
	evault_repo *repo;
	state *st;
	const user_rec *to;
} reseal_ctx;

static int reseal_mission(const char *mid, bool is_dir, void *p)
{
	reseal_ctx *c = p;
	mission_rec m;
	int rc = mission_load(c->st, mid, &m);
	if (rc < 0)
		return rc;
	rc = mission_seal_to(c->repo, &m, c->to, MISSION_SEAL_ALL);
	mission_rec_clear(&m);
	return rc;
}

typedef struct forget_ctx {
	evault_repo *repo;
	const char *user;
	int rc; /* the first failure */
} forget_ctx;

/* Destroys every copy of the mission's keys sealed to c->user; every one
 * is tried, the first failure is kept in c->rc. */
static int forget_mission(const char *mid, bool is_dir, void *p)
{
	forget_ctx *c = p;
	(void)is_dir;
	for (int k = 0; k < EVAULT_CLASS_COUNT; k++) {
		int e = c->repo->keys->ops->destroy(c->repo->keys, mid, (evault_class)k, c->user);
		if (c->rc == 0)
			c->rc = e;
	}
	return 0;
}

int evault_user_add(evault_repo *repo, const char *name, evault_role role, const char *pubkey_line)
{
	state *st = NULL;
	user_rec u, existing;
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT,
		   tr = EVAULT_BUF_INIT;
	char fp[SSH_FINGERPRINT_LEN];
	bool resealing = false; /* copies sealed to the new user from here on */
	int rc;

	memset(&u, 0, sizeof(u));
	if ((rc = repo_require_actor(repo)) < 0 || (rc = check_user_name(name)) < 0 ||
	    (rc = repo_require_admin(repo, "add users")) < 0)
		return rc;
	if ((rc = sshkey_parse_public(u.pk, pubkey_line)) < 0)
		return rc;
	snprintf(u.name, sizeof(u.name), "%s", name);
	u.role = role;
	snprintf(u.status, sizeof(u.status), "active");
	if ((rc = sshkey_format_public(&text, u.pk, name)) < 0)
		goto done;
	snprintf(u.key_line, sizeof(u.key_line), "%s", text.ptr);
	text.size = 0;
	if ((rc = state_begin(&st, repo, true)) < 0)
		goto done;
	if (user_load(st, name, &existing) == 0) {
		rc = evault_error_set(EVAULT_EEXISTS, "user %s already exists", name);
		goto done;
	}
	/* One key, one user: the actor is found by key. */
	key_owner_ctx owner = {u.pk, ""};
	if ((rc = users_each(st, find_key_owner, &owner)) < 0)
		goto done;
	if (owner.name[0]) {
		rc = evault_error_set(EVAULT_EEXISTS, "that key already belongs to user %s",
				      owner.name);
		goto done;
	}
	if ((rc = user_format(&text, &u)) < 0 ||
	    (rc = evault_buf_printf(&path, "users/%s", name)) < 0 ||
	    (rc = state_put(st, path.ptr, text.ptr, text.size)) < 0)
		goto done;
	if (role == EVAULT_ROLE_ADMIN) {
		reseal_ctx c = {repo, st, &u};
		resealing = true;
		if ((rc = state_list(st, "missions", reseal_mission, &c)) < 0)
			goto done;
	}
	sshkey_fingerprint(fp, u.pk);
	if ((rc = evault_buf_printf(&sum, "Add user %s (%s)", name, evault_role_name(role))) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-User: %s\nEvault-Role: %s\nEvault-Key: %s\n", name,
				    evault_role_name(role), fp)) < 0)
		goto done;
	state_event ev = {NULL, "user.add", NULL, sum.ptr, tr.ptr};
	rc = state_commit(st, &ev);
done:
	if (rc < 0 && resealing) {
		/* no key copy for a user the history does not know */
		forget_ctx f = {repo, name, 0};
		state_list(st, "missions", forget_mission, &f);
	}
	state_end(st);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

typedef struct listed_ctx {
	const state *st;
	const char *user;
	char (*mids)[EVAULT_MID_MAX + 1];
	size_t n;
} listed_ctx;

/* The open missions that list the user: each is revoked first. */
static int collect_listed(const char *mid, bool is_dir, void *p)
{
	listed_ctx *c = p;
	mission_rec m;
	(void)is_dir;
	if (mission_load(c->st, mid, &m) < 0) {
		evault_error_clear();
		return 0;
	}
	bool listed = strcmp(m.status, "open") == 0 &&
		      (mission_is_member(&m, c->user) || mission_is_auditor(&m, c->user));
	mission_rec_clear(&m);
	if (!listed)
		return 0;
	void *nm = realloc(c->mids, (c->n + 1) * sizeof(*c->mids));
	if (!nm)
		return error_oom();
	c->mids = nm;
	snprintf(c->mids[c->n++], sizeof(*c->mids), "%s", mid);
	return 0;
}

int evault_user_disable(evault_repo *repo, const char *name)
{
	state *st = NULL;
	user_rec u;
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT,
		   tr = EVAULT_BUF_INIT;
	int rc;
	if ((rc = repo_require_actor(repo)) < 0 || (rc = check_user_name(name)) < 0 ||
	    (rc = repo_require_admin(repo, "disable users")) < 0)
		return rc;
	if (strcmp(name, repo->actor) == 0)
		return evault_error_set(EVAULT_EINVAL,
					"%s cannot disable themselves: another admin does it", name);
	/* First, a signed revoke from each open mission that lists them: each
	 * turns over the keys they held, as any revoke does. */
	listed_ctx lc = {NULL, name, NULL, 0};
	if ((rc = state_begin(&st, repo, false)) < 0 || (rc = user_load(st, name, &u)) < 0)
		goto done;
	if (strcmp(u.status, "active") != 0) {
		rc = evault_error_set(EVAULT_EEXISTS, "user %s is already %s", name, u.status);
		goto done;
	}
	lc.st = st;
	rc = state_list(st, "missions", collect_listed, &lc);
	state_end(st);
	st = NULL;
	for (size_t i = 0; i < lc.n && rc == 0; i++)
		rc = evault_mission_revoke(repo, lc.mids[i], name);
	free(lc.mids);
	if (rc < 0)
		goto done;
	if ((rc = state_begin(&st, repo, true)) < 0 || (rc = user_load(st, name, &u)) < 0)
		goto done;
	if (strcmp(u.status, "active") != 0) {
		rc = evault_error_set(EVAULT_EEXISTS, "user %s is already %s", name, u.status);
		goto done;
	}
	/* not oneself: the actor, an active admin, remains */
	forget_ctx c = {repo, name, 0};
	/* Every key copy goes first: the event records what is already true. */
	if ((rc = state_list(st, "missions", forget_mission, &c)) < 0 || (rc = c.rc) < 0)
		goto done;
	snprintf(u.status, sizeof(u.status), "disabled");
	if ((rc = user_format(&text, &u)) < 0 ||
	    (rc = evault_buf_printf(&path, "users/%s", name)) < 0 ||
	    (rc = state_put(st, path.ptr, text.ptr, text.size)) < 0 ||
	    (rc = evault_buf_printf(&sum, "Disable user %s", name)) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-User: %s\n", name)) < 0)
		goto done;
	state_event ev = {NULL, "user.disable", NULL, sum.ptr, tr.ptr};
	rc = state_commit(st, &ev);
done:
	state_end(st);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

typedef struct list_ctx {
	evault_user_cb cb;
	void *payload;
} list_ctx;

static int list_one(const user_rec *u, void *p)
{
	list_ctx *c = p;
	char fp[SSH_FINGERPRINT_LEN];
	sshkey_fingerprint(fp, u->pk);
	evault_user_info info = {u->name, u->role, u->status, u->key_line, fp};
	return c->cb(&info, c->payload);
}

int evault_user_list(evault_repo *repo, evault_user_cb cb, void *payload)
{
	state *st = NULL;
	list_ctx c = {cb, payload};
	int rc = state_begin(&st, repo, false);
	if (rc == 0)
		rc = users_each(st, list_one, &c);
	state_end(st);
	return rc;
}
