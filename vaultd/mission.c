/*
 * Mission records (docs/format.md §MISSION) and the acting
 * user's access to a mission's class keys. The MISSION record is text,
 * one "key value" per line:
 *   mission M-2026-0042 / status open / created 1763920000 /
 *   created-by alice / key dossier <fp> / key work <fp> / key codes <fp> /
 *   [dossier-due 2027-03-31 /] photo-authorisation no / member bob ... /
 *   auditor dave ...
 * Client, site and description are only in info.enc, under the dossier key.
 * The operations on missions (create, grant, revoke, ...) are missionops.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "identity.h"
#include "mission.h"
#include "repo.h"
#include "util.h"

#define MAX_PEOPLE 1024

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_add(char ***list, size_t *n, const char *name)
{
	if (*n >= MAX_PEOPLE)
		return evault_error_set(EVAULT_EINVAL, "too many members");
	char **l = realloc(*list, (*n + 1) * sizeof(char *));
	if (!l)
		return error_oom();
	*list = l;
	if (!(l[*n] = strdup(name)))
		return error_oom();
	(*n)++;
	qsort(l, *n, sizeof(char *), str_cmp);
	return 0;
}

static void list_del(char **list, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(list[i], name) == 0) {
			free(list[i]);
			memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof(char *));
			(*n)--;
			return;
		}
}

static bool list_has(char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

void mission_rec_clear(mission_rec *m)
{
	for (size_t i = 0; i < m->nmembers; i++)
		free(m->members[i]);
	for (size_t i = 0; i < m->nauditors; i++)
		free(m->auditors[i]);
	free(m->members);
	free(m->auditors);
	memset(m, 0, sizeof(*m));
}

int mission_add_member(mission_rec *m, const char *user)
{
	return list_add(&m->members, &m->nmembers, user);
}

int mission_add_auditor(mission_rec *m, const char *user)
{
	return list_add(&m->auditors, &m->nauditors, user);
}

void mission_remove_person(mission_rec *m, const char *user)
{
	list_del(m->members, &m->nmembers, user);
	list_del(m->auditors, &m->nauditors, user);
}

bool mission_is_member(const mission_rec *m, const char *user)
{
	return list_has(m->members, m->nmembers, user);
}

bool mission_is_auditor(const mission_rec *m, const char *user)
{
	return list_has(m->auditors, m->nauditors, user);
}

const char *mission_fp(const mission_rec *m, evault_class cls)
{
	return m->ngen[cls] ? m->fps[cls][m->ngen[cls] - 1] : "";
}

int mission_check_writable(evault_repo *repo, const mission_rec *m)
{
	if (strcmp(m->status, "open") != 0)
		return evault_error_set(EVAULT_EREADONLY, "mission %s is %s: read-only", m->mid,
					m->status);
	if (repo->role == EVAULT_ROLE_AUDITOR ||
	    (repo->role == EVAULT_ROLE_TECHNICIAN && !mission_is_member(m, repo->actor)))
		return evault_error_set(EVAULT_EREADONLY, "mission %s is read-only for %s", m->mid,
					repo->actor);
	return 0;
}

bool mission_date_valid(const char *s)
{
	return utc_date_parse(s, NULL);
}

int mission_hidden(const char *mid)
{
	return evault_error_set(EVAULT_ENOTFOUND, "no such mission: %.64s", mid);
}

static int parse_line(void *rec, char *line, unsigned *seen)
{
	mission_rec *m = rec;
	char *sp = strchr(line, ' ');
	if (!sp)
		return -1;
	*sp = '\0';
	const char *k = line, *v = sp + 1;
	if (strcmp(k, "mission") == 0) {
		if (!mission_id_valid(v) || strcmp(v, m->mid) != 0)
			return -1;
		*seen |= 1;
	} else if (strcmp(k, "status") == 0) {
		if (strcmp(v, "open") && strcmp(v, "closing") && strcmp(v, "closed") &&
		    strcmp(v, "expiring") && strcmp(v, "expired"))
			return -1;
		snprintf(m->status, sizeof(m->status), "%s", v);
		*seen |= 2;
	} else if (strcmp(k, "created") == 0) {
		char *end;
		m->created = strtoll(v, &end, 10);
		if (*end || !*v)
			return -1;
	} else if (strcmp(k, "closed") == 0 || strcmp(k, "retain-until") == 0) {
		char *end;
		long long t = strtoll(v, &end, 10);
		if (*end || !*v || t <= 0)
			return -1;
		*(k[0] == 'c' ? &m->closed : &m->retain_until) = t;
	} else if (strcmp(k, "created-by") == 0) {
		if (!user_name_valid(v))
			return -1;
		snprintf(m->created_by, sizeof(m->created_by), "%s", v);
	} else if (strcmp(k, "key") == 0) {
		char cls[16], fp[CLASS_FP_HEX + 1];
		evault_class c;
		int used = 0;
		if (sscanf(v, "%15s %33s%n", cls, fp, &used) != 2 || v[used] ||
		    evault_class_parse(&c, cls) < 0 || strlen(fp) != CLASS_FP_HEX - 1 ||
		    !is_hex(fp, strlen(fp)))
			return -1;
		/* generations oldest first; each class's lines together is the
		 * canonical text, which mission_parse requires */
		if (m->ngen[c] >= CLASS_GENS_MAX)
			return -1;
		memcpy(m->fps[c][m->ngen[c]++], fp, CLASS_FP_HEX);
		*seen |= 4u << c;
	} else if (strcmp(k, "dossier-due") == 0) {
		if (!mission_date_valid(v))
			return -1;
		memcpy(m->dossier_due, v, MISSION_DATE_LEN + 1);
	} else if (strcmp(k, "photo-authorisation") == 0) {
		m->photo_authorised = strcmp(v, "yes") == 0;
	} else if (strcmp(k, "member") == 0 || strcmp(k, "auditor") == 0) {
		if (!user_name_valid(v))
			return -1;
		bool member = k[0] == 'm';
		return list_add(member ? &m->members : &m->auditors,
				member ? &m->nmembers : &m->nauditors, v) < 0
			   ? -1
			   : 0;
	} else {
		return -1;
	}
	return 0;
}

int mission_parse(mission_rec *out, const char *mid, const char *text, size_t len)
{
	memset(out, 0, sizeof(*out));
	if (!mission_id_valid(mid))
		return check_mission_id(mid);
	snprintf(out->mid, sizeof(out->mid), "%s", mid);
	unsigned seen = 0;
	int rc = text_each_line(text, len, parse_line, out, &seen);
	if (rc < 0) {
		mission_rec_clear(out);
		return rc;
	}
	rc = rc ? -1 : 0;
	if (rc == 0 && seen == (1 | 2 | 4 | 8 | 16)) {
		/* one record, one text: keys in their order, each once, numbers
		 * without signs or leading zeros, no member named twice */
		evault_buf again = EVAULT_BUF_INIT;
		if ((rc = mission_format(&again, out)) == 0 &&
		    (again.size != len || memcmp(again.ptr, text, len) != 0))
			rc = -1;
		evault_buf_dispose(&again);
		if (rc < -1) {
			mission_rec_clear(out);
			return rc;
		}
	}
	if (rc < 0 || seen != (1 | 2 | 4 | 8 | 16)) {
		mission_rec_clear(out);
		return evault_error_set(EVAULT_ECORRUPT, "mission record %s is damaged", mid);
	}
	return 0;
}

int mission_load(const state *st, const char *mid, mission_rec *out)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc;
	memset(out, 0, sizeof(*out));
	if (!mission_id_valid(mid))
		return check_mission_id(mid);
	if ((rc = evault_buf_printf(&path, "missions/%s/MISSION", mid)) < 0)
		return rc;
	if ((rc = state_read(st, path.ptr, &text)) < 0) {
		if (rc == EVAULT_ENOTFOUND)
			mission_hidden(mid);
	} else {
		rc = mission_parse(out, mid, text.ptr, text.size);
	}
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

int mission_record_id(const state *st, const char *mid, char out[41])
{
	evault_buf path = EVAULT_BUF_INIT;
	int rc = evault_buf_printf(&path, "missions/%s/MISSION", mid);
	if (rc == 0)
		rc = state_entry_id(st, path.ptr, out);
	evault_buf_dispose(&path);
	return rc;
}

int mission_format(evault_buf *out, const mission_rec *m)
{
	int rc = evault_buf_printf(out, "mission %s\nstatus %s\ncreated %lld\ncreated-by %s\n",
				   m->mid, m->status, (long long)m->created, m->created_by);
	for (int c = 0; c < EVAULT_CLASS_COUNT && rc == 0; c++)
		for (size_t g = 0; g < m->ngen[c] && rc == 0; g++)
			rc = evault_buf_printf(out, "key %s %s\n",
					       evault_class_name((evault_class)c), m->fps[c][g]);
	if (rc == 0 && m->closed)
		rc = evault_buf_printf(out, "closed %lld\n", (long long)m->closed);
	if (rc == 0 && m->retain_until)
		rc = evault_buf_printf(out, "retain-until %lld\n", (long long)m->retain_until);
	if (rc == 0 && m->dossier_due[0])
		rc = evault_buf_printf(out, "dossier-due %s\n", m->dossier_due);
	if (rc == 0)
		rc = evault_buf_printf(out, "photo-authorisation %s\n",
				       m->photo_authorised ? "yes" : "no");
	for (size_t i = 0; i < m->nmembers && rc == 0; i++)
		rc = evault_buf_printf(out, "member %s\n", m->members[i]);
	for (size_t i = 0; i < m->nauditors && rc == 0; i++)
		rc = evault_buf_printf(out, "auditor %s\n", m->auditors[i]);
	return rc;
}

int mission_visible_rc(evault_repo *repo, const char *mid)
{
	evault_buf b = EVAULT_BUF_INIT;
	int rc = EVAULT_ENOTFOUND;
	if (!repo->have_actor || !mission_id_valid(mid))
		return 0;
	for (int c = 0; c < EVAULT_CLASS_COUNT && rc == EVAULT_ENOTFOUND; c++) {
		rc = repo->keys->ops->get(repo->keys, mid, (evault_class)c, repo->actor, &b);
		b.size = 0;
	}
	evault_buf_dispose(&b);
	if (rc == 0)
		return 1;
	/* a key copy that exists but cannot be read (another account's file)
	 * is that error, not "no such mission" */
	if (rc == EVAULT_ENOTFOUND || rc == EVAULT_ECORRUPT) {
		evault_error_clear();
		return 0;
	}
	return rc;
}

bool mission_visible(evault_repo *repo, const char *mid)
{
	int rc = mission_visible_rc(repo, mid);
	if (rc < 0)
		evault_error_clear();
	return rc > 0;
}

int mission_load_visible(evault_repo *repo, const state *st, const char *mid, mission_rec *out)
{
	int rc = check_mission_id(mid);
	if (rc < 0)
		return rc;
	if ((rc = mission_visible_rc(repo, mid)) <= 0)
		return rc < 0 ? rc : mission_hidden(mid);
	return mission_load(st, mid, out);
}

int mission_open_key(evault_repo *repo, const mission_rec *m, evault_class cls, secret **out)
{
	evault_buf sealed = EVAULT_BUF_INIT;
	secret *key = NULL;
	char fp[CLASS_FP_HEX];
	int rc;
	*out = NULL;
	if ((rc = repo_require_actor(repo)) < 0)
		return rc;
	rc = repo->keys->ops->get(repo->keys, m->mid, cls, repo->actor, &sealed);
	if (rc == EVAULT_ENOTFOUND) {
		rc = evault_error_set(EVAULT_ENOTFOUND, "no such mission or class: %s/%s", m->mid,
				      evault_class_name(cls));
		goto done;
	}
	if (rc < 0 || (rc = identity_open_sealed(&key, repo->id, (const uint8_t *)sealed.ptr,
						 sealed.size)) < 0)
		goto done;
	/* every generation the record names, in its order; a copy resealed by a
	 * revoke that did not commit holds one more, unused: left out */
	if (m->ngen[cls] == 0 || key->len < m->ngen[cls] * CLASS_KEY_LEN ||
	    key->len % CLASS_KEY_LEN) {
		rc = evault_error_set(EVAULT_ECORRUPT,
				      "key copy of %s/%s does not hold the %zu key generations the "
				      "mission's record names",
				      m->mid, evault_class_name(cls), m->ngen[cls]);
		goto done;
	}
	for (size_t g = 0; g < m->ngen[cls]; g++) {
		class_key_fingerprint_at(fp, key, g);
		if (strcmp(fp, m->fps[cls][g]) != 0) {
			rc = evault_error_set(
			    EVAULT_ECORRUPT,
			    "key copy of %s/%s does not match the mission's record", m->mid,
			    evault_class_name(cls));
			goto done;
		}
	}
	if (key->len > m->ngen[cls] * CLASS_KEY_LEN) {
		sodium_memzero(key->data + m->ngen[cls] * CLASS_KEY_LEN,
			       key->len - m->ngen[cls] * CLASS_KEY_LEN);
		key->len = m->ngen[cls] * CLASS_KEY_LEN;
	}
	*out = key;
	key = NULL;
done:
	secret_free(key);
	evault_buf_dispose(&sealed);
	return rc;
}

int mission_class_keys(evault_repo *repo, const mission_rec *m, evault_class cls, class_keys **out)
{
	secret *key = NULL;
	int rc = mission_open_key(repo, m, cls, &key);
	if (rc == 0)
		rc = class_keys_new(out, key, repo->cfg.vault_id, m->mid, cls);
	secret_free(key);
	return rc;
}

int mission_seal_key(evault_repo *repo, const char *mid, evault_class cls, const secret *key,
		     const user_rec *to)
{
	evault_buf sealed = EVAULT_BUF_INIT;
	int rc = seal_to_public(&sealed, to->pk, key->data, key->len);
	if (rc == 0)
		rc = repo->keys->ops->put(repo->keys, mid, cls, to->name,
					  (const uint8_t *)sealed.ptr, sealed.size);
	evault_buf_dispose(&sealed);
	return rc;
}

int mission_seal_to(evault_repo *repo, const mission_rec *m, const user_rec *to,
		    enum mission_seal_scope scope)
{
	int ncls = scope == MISSION_SEAL_DOSSIER ? 1 : EVAULT_CLASS_COUNT;
	int rc = 0;
	/* Once a close has begun, work and codes keys must not gain copies; an
	 * expired mission has no key left to share. */
	if (strcmp(m->status, "open") != 0)
		ncls =
		    strcmp(m->status, "expired") == 0 || strcmp(m->status, "expiring") == 0 ? 0 : 1;
	for (int c = 0; c < ncls && rc == 0; c++) {
		secret *key = NULL;
		if ((rc = mission_open_key(repo, m, (evault_class)c, &key)) == 0)
			rc = mission_seal_key(repo, m->mid, (evault_class)c, key, to);
		secret_free(key);
	}
	return rc;
}
