/*
 * The rules of mission events (verify.h): a mission's creation, grants
 * and revocations (mission.c), and the content events that are not file
 * writes (content.c, import.c): photo authorisation, refused content,
 * imports. Each is one rule of verify_rules.c's table; the event's
 * mission change and records come from its shared prologue.
 */
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "verify.h"

/* mission.create: missions/<mid> added with its MISSION and info.enc, an open
 * mission of its creator whose members are active technicians or admins. */
int rule_mission_create(verify_event *ev)
{
	verifier *v = ev->v;
	const delta *d = &ev->d;
	const mission_rec *m;
	bool ok = !ev->pm && !d->more && d->n == 2;
	for (size_t i = 0; ok && i < d->n; i++)
		ok = !d->c[i].old && is_blob(d->c[i].new) &&
		     (strcmp(change_name(&d->c[i]), "MISSION") == 0 ||
		      strcmp(change_name(&d->c[i]), "info.enc") == 0);
	if (!ok)
		return verify_bad(
		    v, "mission.create must add exactly a new mission's MISSION and info.enc");
	if (!(m = event_mission(ev, EVENT_AFTER)))
		return verify_bad(v, "mission.create: the MISSION record is not valid");
	if (strcmp(m->status, "open") != 0 || strcmp(m->created_by, v->actor) != 0 || m->nauditors)
		return verify_bad(v, "mission.create: a new mission must be open, created by its "
				     "actor, without auditors");
	for (size_t i = 0; i < m->nmembers; i++) {
		user_rec u;
		if (load_user(&u, v->git, ev->pt, m->members[i]) < 0 ||
		    u.role == EVAULT_ROLE_AUDITOR || strcmp(u.status, "active") != 0)
			return verify_bad(
			    v, "mission.create: member %s is not an active technician or admin",
			    m->members[i]);
	}
	return 0;
}

/* new = old with user added (grant) or removed (revoke) from one list. */
static bool membership_step(const mission_rec *o, const mission_rec *n, const char *user,
			    bool grant, bool auditor)
{
	if (strcmp(o->status, n->status) != 0 || strcmp(o->created_by, n->created_by) != 0 ||
	    o->created != n->created || o->photo_authorised != n->photo_authorised)
		return false;
	/* keys: unchanged here; a revoke's new generations are judged by
	 * rule_membership */
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
		if (n->ngen[c] < o->ngen[c] || (grant && n->ngen[c] != o->ngen[c]))
			return false;
		for (size_t g = 0; g < o->ngen[c]; g++)
			if (strcmp(o->fps[c][g], n->fps[c][g]) != 0)
				return false;
	}
	const mission_rec *big = grant ? n : o, *small = grant ? o : n;
	char *const *bl = auditor ? big->auditors : big->members;
	size_t bn = auditor ? big->nauditors : big->nmembers;
	char *const *sl = auditor ? small->auditors : small->members;
	size_t sn = auditor ? small->nauditors : small->nmembers;
	char *const *ol = auditor ? big->members : big->auditors;
	size_t on = auditor ? big->nmembers : big->nauditors;
	char *const *osl = auditor ? small->members : small->auditors;
	size_t osn = auditor ? small->nmembers : small->nauditors;
	if (bn != sn + 1 || on != osn)
		return false;
	for (size_t i = 0; i < on; i++)
		if (strcmp(ol[i], osl[i]) != 0)
			return false;
	/* both lists sorted: big is small plus user */
	size_t j = 0;
	bool seen = false;
	for (size_t i = 0; i < bn; i++) {
		if (!seen && strcmp(bl[i], user) == 0) {
			seen = true;
			continue;
		}
		if (j >= sn || strcmp(bl[i], sl[j]) != 0)
			return false;
		j++;
	}
	return seen;
}

/* mission.grant, mission.revoke: one user into or out of one list of an
 * open mission's record; a revoke also rotates the keys the user held. */
int rule_membership(verify_event *ev)
{
	verifier *v = ev->v;
	const delta *d = &ev->d;
	const mission_rec *o, *n;
	char user[64], as[16];
	bool grant = strcmp(v->action, "mission.grant") == 0;
	int r = 0;
	if (trailer_get(user, sizeof(user), v->message, "Evault-User") < 0 ||
	    trailer_get(as, sizeof(as), v->message, "Evault-As") < 0 ||
	    (strcmp(as, "member") && strcmp(as, "auditor")))
		return verify_bad(v, "%s without Evault-User and Evault-As", v->action);
	if (!ev->pm || d->more || d->n != 1 || !d->c[0].old || !d->c[0].new ||
	    strcmp(change_name(&d->c[0]), "MISSION") != 0)
		return verify_bad(v, "%s may change only the MISSION record of an existing mission",
				  v->action);
	if (!(o = event_mission(ev, EVENT_BEFORE)) || !(n = event_mission(ev, EVENT_AFTER)))
		return verify_bad(v, "%s: a MISSION record is not valid", v->action);
	if (strcmp(o->status, "open") != 0)
		return verify_bad(v, "%s on mission %s, which is %s", v->action, v->mission,
				  o->status);
	user_rec u;
	bool auditor = strcmp(as, "auditor") == 0;
	if (grant && (load_user(&u, v->git, ev->pt, user) < 0 || strcmp(u.status, "active") != 0 ||
		      (u.role == EVAULT_ROLE_AUDITOR) != auditor))
		return verify_bad(v, "mission.grant to %s, who is not an active user of that role",
				  user);
	if (!membership_step(o, n, user, grant, auditor))
		return verify_bad(v, "%s must %s exactly %s %s the %ss of %s", v->action,
				  grant ? "add" : "remove", user, grant ? "to" : "from", as,
				  v->mission);
	if (grant)
		return 0;
	/* A revoke rotates the keys the user held (an admin holds every
	 * mission's keys and keeps them): one new generation for each, none
	 * for the others. */
	bool admin = load_user(&u, v->git, ev->pt, user) == 0 && u.role == EVAULT_ROLE_ADMIN;
	for (int c = 0; c < EVAULT_CLASS_COUNT && !r; c++) {
		bool held = !admin && (!auditor || c == EVAULT_CLASS_DOSSIER);
		if (n->ngen[c] != o->ngen[c] + (held ? 1 : 0))
			r = verify_bad(
			    v,
			    "mission.revoke of %s from %s must add exactly %s generation "
			    "of its %s key",
			    user, v->mission, held ? "one new" : "no",
			    evault_class_name((evault_class)c));
	}
	return r;
}

/* ---- content rules (content.c, import.c) ---- */

/* mission.authorize-photos: MISSION's photo line no -> yes and photos.enc added. */
int rule_authorize_photos(verify_event *ev)
{
	verifier *v = ev->v;
	const delta *d = &ev->d;
	const mission_rec *o, *n;
	static const char *const names[] = {"MISSION", "photos.enc", NULL};
	if (!ev->pm || !(o = event_mission(ev, EVENT_BEFORE)) ||
	    !(n = event_mission(ev, EVENT_AFTER)))
		return verify_bad(v, "mission.authorize-photos: a MISSION record is not valid");
	if (ev->actor->role != EVAULT_ROLE_ADMIN || strcmp(o->status, "open") != 0)
		return verify_bad(v,
				  "mission.authorize-photos by %s on %s: only an admin records it, "
				  "on an open mission",
				  v->actor, v->mission);
	bool photos_new = false;
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(change_name(&d->c[i]), "photos.enc") == 0)
			photos_new = !d->c[i].old && is_blob(d->c[i].new);
	mission_rec want = *o;
	want.photo_authorised = true;
	evault_buf a = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT;
	bool same = !o->photo_authorised && mission_format(&a, &want) == 0 &&
		    mission_format(&b, n) == 0 && a.size == b.size &&
		    memcmp(a.ptr, b.ptr, a.size) == 0;
	evault_buf_dispose(&a);
	evault_buf_dispose(&b);
	if (!same || !photos_new || !changes_exactly(d, names))
		return verify_bad(v,
				  "mission.authorize-photos must only turn photo-authorisation to "
				  "yes and add missions/%s/photos.enc",
				  v->mission);
	return 0;
}

/* content.refused: traced, no state change, by someone who could have written. */
int rule_refused(verify_event *ev)
{
	verifier *v = ev->v;
	const mission_rec *m;
	char count[32];
	if (ev->top.n || ev->top.more)
		return verify_bad(v, "content.refused may not change the state");
	if (trailer_get(count, sizeof(count), v->message, "Evault-Refused") < 0 ||
	    strtoull(count, NULL, 10) == 0)
		return verify_bad(v, "content.refused without a count of refused files");
	if (!(m = event_mission(ev, EVENT_BEFORE)) || !may_write(ev->actor, m, v->actor))
		return verify_bad(v, "content.refused by %s, who cannot write to %s", v->actor,
				  v->mission);
	return 0;
}

/* file.import: no state change; each listed file live in the class it names. */
int rule_import(verify_event *ev)
{
	verifier *v = ev->v;
	const mission_rec *m;
	char cls[16], count[32];
	evault_class c;
	evault_buf path = EVAULT_BUF_INIT, blob = EVAULT_BUF_INIT;
	int r = 0;
	if (ev->top.n || ev->top.more)
		return verify_bad(v, "file.import may not change the state");
	if (trailer_get(cls, sizeof(cls), v->message, "Evault-Class") < 0 ||
	    evault_class_parse(&c, cls) < 0 ||
	    trailer_get(count, sizeof(count), v->message, "Evault-Imported") < 0)
		return verify_bad(v,
				  "file.import without a valid Evault-Class and Evault-Imported");
	if (!(m = event_mission(ev, EVENT_BEFORE)) || strcmp(m->status, "open") != 0 ||
	    !may_write(ev->actor, m, v->actor))
		return verify_bad(v, "file.import by %s, who cannot write to %s", v->actor,
				  v->mission);
	size_t n = 0;
	const char *key = "\nEvault-Import-File: ";
	for (const char *p = strstr(v->message, key); p; p = strstr(p + 1, key)) {
		char fid[LAYOUT_FID_LEN + 1];
		const char *f = p + strlen(key);
		if (strspn(f, "0123456789abcdef") != LAYOUT_FID_LEN ||
		    strncmp(f + LAYOUT_FID_LEN, " sha256:", 8) != 0 ||
		    strspn(f + LAYOUT_FID_LEN + 8, "0123456789abcdef") != 64) {
			r = verify_bad(v, "file.import lists a file badly");
			goto done;
		}
		memcpy(fid, f, LAYOUT_FID_LEN);
		fid[LAYOUT_FID_LEN] = '\0';
		path.size = 0;
		if (layout_file_path(&path, v->mission, c, fid, ".enc") < 0 ||
		    blob_at(&blob, v->git, ev->pt, path.ptr) != 0) {
			r = verify_bad(v, "file.import lists %s, which is no live %s file of %s",
				       fid, cls, v->mission);
			goto done;
		}
		n++;
	}
	if (n == 0 || n != strtoull(count, NULL, 10))
		r = verify_bad(v, "file.import lists %zu files where Evault-Imported says %s", n,
			       count);
done:
	evault_buf_dispose(&path);
	evault_buf_dispose(&blob);
	return r;
}
