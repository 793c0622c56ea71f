/*
 * The mission operations users see (docs/lifecycle.md): create, list, show, grant
 * and revoke. Each reads and changes the records (mission.c, user.c) in
 * one state transaction and records one signed event.
 *
 * Key copies are written before the commit that records them and destroyed
 * before the commit that records their removal, so the history never says
 * a user holds a key that does not exist, and a failed commit leaves at
 * worst an orphan copy for a user the history already trusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "dossier.h"
#include "layout.h"
#include "mission.h"
#include "repo.h"
#include "util.h"

typedef struct recipients {
	user_rec *users;
	size_t n;
} recipients;

static int recipients_add(recipients *r, const user_rec *u)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->users[i].name, u->name) == 0)
			return 0;
	user_rec *n = realloc(r->users, (r->n + 1) * sizeof(*n));
	if (!n)
		return error_oom();
	r->users = n;
	r->users[r->n++] = *u;
	return 0;
}

static int add_admin(const user_rec *u, void *p)
{
	if (u->role != EVAULT_ROLE_ADMIN || strcmp(u->status, "active") != 0)
		return 0;
	return recipients_add(p, u);
}

static int encode_info(evault_buf *out, const evault_mission_info *info)
{
	const char *f[3] = {info ? info->client : NULL, info ? info->site : NULL,
			    info ? info->description : NULL};
	int rc = evault_buf_put(out, "EVI1", 4);
	for (int i = 0; i < 3 && rc == 0; i++)
		rc = buf_put_string(out, f[i] ? f[i] : "", f[i] ? strlen(f[i]) : 0);
	return rc;
}

static void destroy_copies(evault_repo *repo, const char *mid, const recipients *r)
{
	for (size_t i = 0; i < r->n; i++)
		for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
			repo->keys->ops->destroy(repo->keys, mid, (evault_class)c,
						 r->users[i].name);
}

int evault_mission_create(evault_repo *repo, const char *mid, const evault_mission_info *info,
			  const char *const *members, size_t nmembers)
{
	state *st = NULL;
	mission_rec m;
	recipients r = {NULL, 0};
	secret *keys[EVAULT_CLASS_COUNT] = {NULL};
	class_keys *dk = NULL;
	evault_buf text = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT,
		   sum = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	bool wrote_keys = false;
	int rc;

	memset(&m, 0, sizeof(m));
	if ((rc = repo_require_admin(repo, "create missions")) < 0 ||
	    (rc = check_mission_id(mid)) < 0)
		return rc;
	if (info && info->dossier_due && !mission_date_valid(info->dossier_due))
		return evault_error_set(EVAULT_EINVAL,
					"the dossier's due date must be a date YYYY-MM-DD from "
					"2000-01-01 to 2999-12-31");
	if (info && info->dossier_due)
		memcpy(m.dossier_due, info->dossier_due, MISSION_DATE_LEN + 1);
	if ((rc = state_begin(&st, repo, true)) < 0)
		goto done;
	path.size = 0;
	if ((rc = evault_buf_printf(&path, "missions/%s", mid)) < 0)
		goto done;
	if (state_exists(st, path.ptr)) {
		rc = evault_error_set(EVAULT_EEXISTS, "mission %s already exists", mid);
		goto done;
	}
	snprintf(m.mid, sizeof(m.mid), "%s", mid);
	snprintf(m.status, sizeof(m.status), "open");
	snprintf(m.created_by, sizeof(m.created_by), "%s", repo->actor);
	m.created = (int64_t)time(NULL);
	if ((rc = users_each(st, add_admin, &r)) < 0)
		goto done;
	for (size_t i = 0; i < nmembers; i++) {
		user_rec u;
		if ((rc = user_load(st, members[i], &u)) < 0)
			goto done;
		if (u.role == EVAULT_ROLE_AUDITOR) {
			rc = evault_error_set(EVAULT_EINVAL,
					      "%s is an auditor: auditors are granted, not members",
					      u.name);
			goto done;
		}
		if (mission_is_member(&m, u.name))
			continue;
		if ((rc = mission_add_member(&m, u.name)) < 0 || (rc = recipients_add(&r, &u)) < 0)
			goto done;
	}
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
		if (!(keys[c] = secret_random(CLASS_KEY_LEN))) {
			rc = EVAULT_ERROR;
			goto done;
		}
		class_key_fingerprint(m.fps[c][0], keys[c]);
		m.ngen[c] = 1;
	}
	wrote_keys = true;
	for (size_t i = 0; i < r.n; i++)
		for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
			if ((rc = mission_seal_key(repo, mid, (evault_class)c, keys[c],
						   &r.users[i])) < 0)
				goto done;
	if ((rc = class_keys_new(&dk, keys[EVAULT_CLASS_DOSSIER], repo->cfg.vault_id, mid,
				 EVAULT_CLASS_DOSSIER)) < 0 ||
	    (rc = encode_info(&text, info)) < 0 ||
	    (rc = blob_seal(&enc, dk, OBJ_KIND_INFO, "info", text.ptr, text.size)) < 0)
		goto done;
	path.size = 0;
	if ((rc = evault_buf_printf(&path, "missions/%s/info.enc", mid)) < 0 ||
	    (rc = state_put(st, path.ptr, enc.ptr, enc.size)) < 0)
		goto done;
	text.size = 0;
	path.size = 0;
	if ((rc = mission_format(&text, &m)) < 0 ||
	    (rc = evault_buf_printf(&path, "missions/%s/MISSION", mid)) < 0 ||
	    (rc = state_put(st, path.ptr, text.ptr, text.size)) < 0)
		goto done;
	if ((rc = evault_buf_printf(&sum, "Create mission %s", mid)) < 0 ||
	    (rc = evault_buf_printf(&tr,
				    "Evault-Members: %zu\nEvault-Key-Dossier: %s\n"
				    "Evault-Key-Work: %s\nEvault-Key-Codes: %s\n",
				    m.nmembers, m.fps[0][0], m.fps[1][0], m.fps[2][0])) < 0 ||
	    (m.dossier_due[0] &&
	     (rc = evault_buf_printf(&tr, "Evault-Dossier-Due: %s\n", m.dossier_due)) < 0))
		goto done;
	state_event ev = {NULL, "mission.create", mid, sum.ptr, tr.ptr};
	rc = state_commit(st, &ev);
done:
	if (rc < 0 && wrote_keys)
		destroy_copies(repo, mid, &r);
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
		secret_free(keys[c]);
	class_keys_free(dk);
	state_end(st);
	mission_rec_clear(&m);
	free(r.users);
	evault_buf_dispose(&text);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

typedef struct list_ctx {
	evault_repo *repo;
	const state *st;
	evault_mission_cb cb;
	void *payload;
} list_ctx;

static int list_one(const char *mid, bool is_dir, void *p)
{
	list_ctx *c = p;
	mission_rec m;
	if (!is_dir || !mission_id_valid(mid))
		return evault_error_set(EVAULT_ECORRUPT, "unexpected entry missions/%.64s", mid);
	int rc = mission_visible_rc(c->repo, mid);
	if (rc <= 0)
		return rc;
	rc = mission_load(c->st, mid, &m);
	if (rc == 0)
		rc = c->cb(mid, m.status, c->payload);
	mission_rec_clear(&m);
	return rc;
}

int evault_mission_list(evault_repo *repo, evault_mission_cb cb, void *payload)
{
	state *st = NULL;
	int rc = repo_require_actor(repo);
	if (rc == 0 && (rc = state_begin(&st, repo, false)) == 0) {
		list_ctx c = {repo, st, cb, payload};
		rc = state_list(st, "missions", list_one, &c);
	}
	state_end(st);
	return rc;
}

static char **copy_list(char *const *l, size_t n)
{
	char **c = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; c && i < n; i++)
		c[i] = strdup(l[i]);
	return c;
}

static int count_file(const char *fid, void *p)
{
	(void)fid;
	(*(size_t *)p)++;
	return 0;
}

static char *take_string(reader *r)
{
	size_t n;
	const uint8_t *s = reader_string(r, &n);
	if (!s || memchr(s, '\0', n))
		return NULL;
	char *out = malloc(n + 1);
	if (out) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return out;
}

static int decode_info(evault_mission_view *v, evault_repo *repo, const state *st,
		       const mission_rec *m)
{
	class_keys *dk = NULL;
	evault_buf enc = EVAULT_BUF_INIT, plain = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc;
	if ((rc = mission_class_keys(repo, m, EVAULT_CLASS_DOSSIER, &dk)) < 0)
		return rc == EVAULT_ENOTFOUND ? 0 : rc;
	if ((rc = evault_buf_printf(&path, "missions/%s/info.enc", m->mid)) < 0 ||
	    (rc = state_read(st, path.ptr, &enc)) < 0 ||
	    (rc = blob_open(&plain, dk, OBJ_KIND_INFO, "info", enc.ptr, enc.size)) < 0)
		goto done;
	reader r;
	reader_init(&r, plain.ptr, plain.size);
	const uint8_t *magic = reader_bytes(&r, 4);
	if (!magic || memcmp(magic, "EVI1", 4) != 0 || !(v->client = take_string(&r)) ||
	    !(v->site = take_string(&r)) || !(v->description = take_string(&r)) || r.left) {
		rc =
		    evault_error_set(EVAULT_ECORRUPT, "mission %s: info record is damaged", m->mid);
		goto done;
	}
	v->has_info = true;
done:
	class_keys_free(dk);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&plain);
	evault_buf_dispose(&path);
	return rc;
}

int evault_mission_show(evault_repo *repo, const char *mid, evault_mission_view **out)
{
	state *st = NULL;
	mission_rec m;
	evault_mission_view *v = NULL;
	evault_buf b = EVAULT_BUF_INIT;
	int rc;
	*out = NULL;
	memset(&m, 0, sizeof(m));
	if ((rc = repo_require_actor(repo)) < 0 || (rc = state_begin(&st, repo, false)) < 0 ||
	    (rc = mission_load_visible(repo, st, mid, &m)) < 0)
		goto done;
	if (!(v = calloc(1, sizeof(*v)))) {
		rc = error_oom();
		goto done;
	}
	snprintf(v->mid, sizeof(v->mid), "%s", m.mid);
	snprintf(v->status, sizeof(v->status), "%s", m.status);
	snprintf(v->created_by, sizeof(v->created_by), "%s", m.created_by);
	v->created = m.created;
	v->photo_authorised = m.photo_authorised;
	snprintf(v->dossier_due, sizeof(v->dossier_due), "%s", m.dossier_due);
	v->members = copy_list(m.members, m.nmembers);
	v->nmembers = m.nmembers;
	v->auditors = copy_list(m.auditors, m.nauditors);
	v->nauditors = m.nauditors;
	if (!v->members || !v->auditors) {
		rc = error_oom();
		goto done;
	}
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
		b.size = 0;
		v->readable[c] =
		    repo->keys->ops->get(repo->keys, mid, (evault_class)c, repo->actor, &b) == 0;
		if (!v->readable[c])
			continue;
		if ((rc = layout_each_file(st, mid, (evault_class)c, count_file, &v->files[c])) < 0)
			goto done;
	}
	evault_error_clear();
	if ((rc = decode_info(v, repo, st, &m)) < 0 ||
	    (rc = handover_list(repo, st, &m, &v->handovers, &v->nhandovers)) < 0)
		goto done;
	*out = v;
	v = NULL;
done:
	evault_mission_view_free(v);
	mission_rec_clear(&m);
	state_end(st);
	evault_buf_dispose(&b);
	return rc;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; l && i < n; i++)
		free(l[i]);
	free(l);
}

void evault_mission_view_free(evault_mission_view *v)
{
	if (!v)
		return;
	free_list(v->members, v->nmembers);
	free_list(v->auditors, v->nauditors);
	for (size_t i = 0; i < v->nhandovers; i++) { /* the recipient: client data */
		if (v->handovers[i].to)
			sodium_memzero(v->handovers[i].to, strlen(v->handovers[i].to));
		free(v->handovers[i].to);
	}
	free(v->handovers);
	char *info[] = {v->client, v->site, v->description};
	for (size_t i = 0; i < 3; i++) { /* decrypted client data: wipe it */
		if (info[i])
			sodium_memzero(info[i], strlen(info[i]));
		free(info[i]);
	}
	free(v);
}

/* Common start of grant and revoke: admin, lock, the mission and the user. */
static int begin_membership(evault_repo *repo, const char *mid, const char *user, state **st,
			    mission_rec *m, user_rec *u, const char *what)
{
	int rc;
	if ((rc = repo_require_admin(repo, what)) < 0 || (rc = check_mission_id(mid)) < 0 ||
	    (rc = check_user_name(user)) < 0 || (rc = state_begin(st, repo, true)) < 0 ||
	    (rc = mission_load_visible(repo, *st, mid, m)) < 0 ||
	    (rc = user_load(*st, user, u)) < 0)
		return rc;
	if (strcmp(m->status, "open") != 0)
		return evault_error_set(EVAULT_EREADONLY, "mission %s is %s: membership is fixed",
					mid, m->status);
	return 0;
}

static int commit_membership(state *st, const mission_rec *m, const char *action, const char *verb,
			     const char *user, const char *as)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT,
		   tr = EVAULT_BUF_INIT;
	int rc;
	if ((rc = mission_format(&text, m)) == 0 &&
	    (rc = evault_buf_printf(&path, "missions/%s/MISSION", m->mid)) == 0 &&
	    (rc = state_put(st, path.ptr, text.ptr, text.size)) == 0 &&
	    (rc = evault_buf_printf(&sum, "%s %s %s %s", verb, user,
				    action[8] == 'g' ? "on" : "from", m->mid)) == 0 &&
	    (rc = evault_buf_printf(&tr, "Evault-User: %s\nEvault-As: %s\n", user, as)) == 0) {
		state_event ev = {NULL, action, m->mid, sum.ptr, tr.ptr};
		rc = state_commit(st, &ev);
	}
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

int evault_mission_grant(evault_repo *repo, const char *mid, const char *user)
{
	state *st = NULL;
	mission_rec m;
	user_rec u;
	int rc;
	memset(&m, 0, sizeof(m));
	if ((rc = begin_membership(repo, mid, user, &st, &m, &u, "grant access")) < 0)
		goto done;
	bool auditor = u.role == EVAULT_ROLE_AUDITOR;
	if (strcmp(u.status, "active") != 0) {
		rc = evault_error_set(EVAULT_EDENIED, "user %s is %s", user, u.status);
		goto done;
	}
	if (auditor ? mission_is_auditor(&m, user) : mission_is_member(&m, user)) {
		rc = evault_error_set(EVAULT_EEXISTS, "%s already has access to %s", user, mid);
		goto done;
	}
	if ((rc = mission_seal_to(repo, &m, &u,
				  auditor ? MISSION_SEAL_DOSSIER : MISSION_SEAL_ALL)) < 0)
		goto done;
	if ((rc = auditor ? mission_add_auditor(&m, user) : mission_add_member(&m, user)) < 0)
		goto done;
	rc = commit_membership(st, &m, "mission.grant", "Grant", user,
			       auditor ? "auditor" : "member");
	if (rc < 0 && u.role != EVAULT_ROLE_ADMIN)
		for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
			repo->keys->ops->destroy(repo->keys, mid, (evault_class)c, user);
done:
	mission_rec_clear(&m);
	state_end(st);
	return rc;
}

int evault_mission_set_due(evault_repo *repo, const char *mid, const char *date)
{
	state *st = NULL;
	mission_rec m;
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT,
		   tr = EVAULT_BUF_INIT;
	int rc;
	memset(&m, 0, sizeof(m));
	if (!mission_date_valid(date))
		return evault_error_set(EVAULT_EINVAL,
					"the dossier's due date must be a date YYYY-MM-DD from "
					"2000-01-01 to 2999-12-31");
	/* an admin: every mission, an expired one too (it holds no key of it any more) */
	if (repo->replica) /* dated by the office's history: never replayed */
		return evault_error_set(EVAULT_EINVAL,
					"a dossier's due date is set at the office, not on a replica");
	if ((rc = repo_require_admin(repo, "set a dossier's due date")) < 0 ||
	    (rc = check_mission_id(mid)) < 0 || (rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = mission_load(st, mid, &m)) < 0)
		goto done;
	if (strcmp(m.status, "open") && strcmp(m.status, "closing") && strcmp(m.status, "closed")) {
		rc = evault_error_set(EVAULT_EREADONLY,
				      "mission %s is %s: its dossier is no longer kept", mid,
				      m.status);
		goto done;
	}
	/* the indicators judge each handover against the due date: none is set
	 * after a handover, and one that has passed stays */
	if ((rc = evault_buf_printf(&path, "missions/%s/handovers", mid)) < 0)
		goto done;
	if (state_exists(st, path.ptr)) {
		rc =
		    evault_error_set(EVAULT_EREFUSED,
				     "the dossier of %s is handed over: its due date can no longer "
				     "change",
				     mid);
		goto done;
	}
	path.size = 0;
	char today[MISSION_DATE_LEN + 1];
	time_t now = time(NULL);
	struct tm tm;
	if (!gmtime_r(&now, &tm) || strftime(today, sizeof(today), "%Y-%m-%d", &tm) == 0) {
		rc = evault_error_set(EVAULT_ERROR, "cannot read the clock");
		goto done;
	}
	if (m.dossier_due[0] && strcmp(m.dossier_due, today) < 0) {
		rc =
		    evault_error_set(EVAULT_EREFUSED,
				     "the dossier of %s was due on %s, which has passed: that date "
				     "can no longer change",
				     mid, m.dossier_due);
		goto done;
	}
	if (strcmp(m.dossier_due, date) == 0) {
		rc = evault_error_set(EVAULT_EEXISTS, "the dossier of %s is due on %s already", mid,
				      date);
		goto done;
	}
	memcpy(m.dossier_due, date, MISSION_DATE_LEN + 1);
	if ((rc = mission_format(&text, &m)) < 0 ||
	    (rc = evault_buf_printf(&path, "missions/%s/MISSION", mid)) < 0 ||
	    (rc = state_put(st, path.ptr, text.ptr, text.size)) < 0 ||
	    (rc = evault_buf_printf(&sum, "Dossier of %s due on %s", mid, date)) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-Dossier-Due: %s\n", date)) < 0)
		goto done;
	state_event ev = {NULL, "mission.due", mid, sum.ptr, tr.ptr};
	rc = state_commit(st, &ev);
done:
	mission_rec_clear(&m);
	state_end(st);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

typedef struct rotate_ctx {
	evault_repo *repo;
	const state *st;
	const char *mid, *revoked;
	evault_class cls;
	const secret *key;
	int rc;
} rotate_ctx;

static int reseal_holder(const char *holder, void *p)
{
	rotate_ctx *c = p;
	user_rec u;
	if (strcmp(holder, c->revoked) == 0)
		return 0;
	if (user_load(c->st, holder, &u) < 0) { /* no user: verify reports the copy */
		evault_error_clear();
		return 0;
	}
	if (strcmp(u.status, "active") != 0)
		return 0;
	return c->rc = mission_seal_key(c->repo, c->mid, c->cls, c->key, &u);
}

/* A new generation of one class's key, sealed with the older ones to every
 * holder but the revoked user; m gains its fingerprint. */
static int rotate_class(evault_repo *repo, const state *st, mission_rec *m, evault_class cls,
			const char *revoked)
{
	secret *old = NULL, *all = NULL;
	size_t n = m->ngen[cls];
	int rc;
	if (n >= CLASS_GENS_MAX)
		return evault_error_set(EVAULT_EREFUSED,
					"mission %s has had %d key generations: no more revokes",
					m->mid, CLASS_GENS_MAX);
	if ((rc = mission_open_key(repo, m, cls, &old)) < 0)
		return rc;
	if (!(all = secret_new((n + 1) * CLASS_KEY_LEN))) {
		secret_free(old);
		return EVAULT_ERROR;
	}
	memcpy(all->data, old->data, n * CLASS_KEY_LEN);
	randombytes_buf(all->data + n * CLASS_KEY_LEN, CLASS_KEY_LEN);
	secret_free(old);
	rotate_ctx c = {repo, st, m->mid, revoked, cls, all, 0};
	rc = repo->keys->ops->list(repo->keys, m->mid, cls, reseal_holder, &c);
	if (rc == 0 && c.rc < 0)
		rc = c.rc;
	if (rc == 0) {
		class_key_fingerprint_at(m->fps[cls][n], all, n);
		m->ngen[cls] = n + 1;
	}
	secret_free(all);
	return rc;
}

int evault_mission_revoke(evault_repo *repo, const char *mid, const char *user)
{
	state *st = NULL;
	mission_rec m;
	user_rec u;
	int rc;
	memset(&m, 0, sizeof(m));
	if ((rc = begin_membership(repo, mid, user, &st, &m, &u, "revoke access")) < 0)
		goto done;
	bool member = mission_is_member(&m, user), auditor = mission_is_auditor(&m, user);
	if (!member && !auditor) {
		rc = evault_error_set(EVAULT_ENOTFOUND, "%s has no access to %s", user, mid);
		goto done;
	}
	/* Admins keep their copies: they hold every mission's keys. Anyone else
	 * loses theirs, and each key they held gets a new generation that only
	 * the remaining holders receive: files written from now on are sealed
	 * with it, out of reach of any copy they kept. */
	if (u.role != EVAULT_ROLE_ADMIN) {
		for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
			if ((rc = repo->keys->ops->destroy(repo->keys, mid, (evault_class)c,
							   user)) < 0)
				goto done;
		for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
			if ((member || c == EVAULT_CLASS_DOSSIER) &&
			    (rc = rotate_class(repo, st, &m, (evault_class)c, user)) < 0)
				goto done;
	}
	mission_remove_person(&m, user);
	rc = commit_membership(st, &m, "mission.revoke", "Revoke", user,
			       auditor ? "auditor" : "member");
done:
	mission_rec_clear(&m);
	state_end(st);
	return rc;
}
