/*
 * The rules of mission events (verify.h): a mission's creation, grants
 * and revocations (mission.c), and the content events that are not file
 * writes (content.c, import.c): photo authorisation, refused content,
 * imports; the dossier's due date and its handovers (dossier.c). Each is one rule of
 * verify_rules.c's table; the event's mission change and records come from its shared prologue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#include "close.h"
#include "dossier.h"
#include "util.h"
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
	char due[16] = "";
	if (trailer_get(due, sizeof(due), v->message, "Evault-Dossier-Due") < 0)
		due[0] = '\0';
	if (strcmp(due, m->dossier_due) != 0)
		return verify_bad(v, "mission.create: the record's dossier-due is not the event's "
				     "Evault-Dossier-Due");
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
	    o->created != n->created || o->photo_authorised != n->photo_authorised ||
	    strcmp(o->dossier_due, n->dossier_due) != 0)
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

/* A count as evault writes it: decimal, no sign or leading zero, 1 to 1e9;
 * 0 when s is not one. */
static uint64_t refused_count(const char *s, size_t n)
{
	uint64_t c = 0;
	if (n == 0 || n > 10 || s[0] == '0')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		c = c * 10 + (uint64_t)(s[i] - '0');
	}
	return c <= 1000000000u ? c : 0;
}

/* content.refused: traced, no state change, by someone who could have
 * written; its Evault-Refused-Type lines (what the indicators count) at
 * most 8, each "<type> <count>", their counts adding up to Evault-Refused. */
int rule_refused(verify_event *ev)
{
	verifier *v = ev->v;
	const mission_rec *m;
	char count[32];
	static const char key[] = "\nEvault-Refused-Type: ";
	if (ev->top.n || ev->top.more)
		return verify_bad(v, "content.refused may not change the state");
	uint64_t total = 0, sum = 0;
	size_t kinds = 0;
	if (trailer_get(count, sizeof(count), v->message, "Evault-Refused") < 0 ||
	    (total = refused_count(count, strlen(count))) == 0)
		return verify_bad(v, "content.refused without a count of refused files");
	for (const char *p = strstr(v->message, key); p; p = strstr(p + 1, key)) {
		const char *t = p + sizeof(key) - 1;
		size_t ll = strcspn(t, "\n"), tl = strcspn(t, " \n");
		uint64_t c = tl < ll ? refused_count(t + tl + 1, ll - tl - 1) : 0;
		if (tl == 0 || c == 0 || ++kinds > 8)
			return verify_bad(v, "content.refused: an Evault-Refused-Type line is not "
					     "'<type> <count>', or more than 8");
		sum += c;
	}
	if (kinds && sum != total)
		return verify_bad(v,
				  "content.refused: its types count %llu files, Evault-Refused "
				  "%llu",
				  (unsigned long long)sum, (unsigned long long)total);
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

/* ---- the dossier's due date and handovers (dossier.c) ---- */

/* mission.due: the MISSION record's dossier-due line, and nothing else,
 * set to the event's Evault-Dossier-Due, on a mission whose dossier is kept
 * and not yet handed over (no handovers/), and whose due date, if any, has
 * not passed: it is not before the event's UTC day. */
int rule_mission_due(verify_event *ev)
{
	verifier *v = ev->v;
	const mission_rec *o, *n;
	char due[16];
	static const char *const names[] = {"MISSION", NULL};
	char replayed[32];
	if (trailer_get(due, sizeof(due), v->message, "Evault-Dossier-Due") < 0 ||
	    !mission_date_valid(due))
		return verify_bad(v, "mission.due without a valid Evault-Dossier-Due");
	/* the indicators judge dossiers by these dates: they are set at the
	 * office, dated by the history itself, never replayed from elsewhere
	 * (whose claimed time nothing bounds) */
	if (trailer_get(replayed, sizeof(replayed), v->message, "Evault-Replayed") == 0)
		return verify_bad(v, "mission.due is recorded at the office, never replayed");
	evault_error_clear();
	if (!ev->pm || !changes_exactly(&ev->d, names) || !(o = event_mission(ev, EVENT_BEFORE)) ||
	    !(n = event_mission(ev, EVENT_AFTER)))
		return verify_bad(v,
				  "mission.due may change only the MISSION record of an existing "
				  "mission");
	if (strcmp(o->status, "open") && strcmp(o->status, "closing") &&
	    strcmp(o->status, "closed"))
		return verify_bad(v, "mission.due on mission %s, which is %s", v->mission,
				  o->status);
	/* a due date is set before the dossier is handed over, and a passed one
	 * stays: the indicators judge each handover against it */
	git_tree_entry *he = NULL;
	bool handed = git_tree_entry_bypath(&he, ev->pm, "handovers") == 0;
	git_tree_entry_free(he);
	if (handed)
		return verify_bad(v, "mission.due on mission %s, whose dossier is handed over",
				  v->mission);
	char day[32];
	utc_time(day, git_commit_time(ev->commit), true, "");
	if (o->dossier_due[0] && strcmp(o->dossier_due, day) < 0)
		return verify_bad(v,
				  "mission.due moves the due date of %s, %s, which had passed on "
				  "%s",
				  v->mission, o->dossier_due, day);
	mission_rec want = *o;
	memcpy(want.dossier_due, due, sizeof(want.dossier_due));
	evault_buf a = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT;
	bool same = strcmp(o->dossier_due, due) != 0 && mission_format(&a, &want) == 0 &&
		    mission_format(&b, n) == 0 && a.size == b.size &&
		    memcmp(a.ptr, b.ptr, a.size) == 0;
	evault_buf_dispose(&a);
	evault_buf_dispose(&b);
	if (!same)
		return verify_bad(v,
				  "mission.due must only set the dossier-due line of %s to %s "
				  "(Evault-Dossier-Due)",
				  v->mission, due);
	return 0;
}

/* The number of handover records (names without ".enc") in a handovers tree. */
static size_t handover_count(const git_tree *t)
{
	size_t n = 0, all = t ? git_tree_entrycount(t) : 0;
	for (size_t i = 0; i < all; i++) {
		const char *name = git_tree_entry_name(git_tree_entry_byindex(t, i));
		size_t l = strlen(name);
		if (l <= 4 || strcmp(name + l - 4, ".enc") != 0)
			n++;
	}
	return n;
}

static bool parse_count(const char *s, unsigned long long *out)
{
	char *end;
	errno = 0;
	if (!*s || *s < '0' || *s > '9' || (s[0] == '0' && s[1]))
		return false;
	*out = strtoull(s, &end, 10);
	return !*end && !errno;
}

/*
 * dossier.handover: an admin hands over the dossier of an open or closed
 * mission: missions/<mid>/handovers/<n> and <n>.enc added, n the next
 * number, nothing else; the record names the actor, the event's time, and
 * exactly the live files of the dossier, all of them and nothing else (of a
 * closed mission: as the erasure record kept them, but for the certificate,
 * stored after); its counts and
 * manifest are the trailers'.
 */
int rule_dossier_handover(verify_event *ev)
{
	verifier *v = ev->v;
	const delta *d = &ev->d;
	const mission_rec *o;
	git_tree *ph = NULL, *ch = NULL;
	delta h;
	handover_rec rec;
	close_rec cr;
	fidlist dossier = {0};
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	char tn[24], tf[24], tm[80], first[32];
	unsigned long long n, files;
	int r = 0;
	memset(&rec, 0, sizeof(rec));
	memset(&cr, 0, sizeof(cr));
	if (trailer_get(tn, sizeof(tn), v->message, "Evault-Handover") < 0 ||
	    trailer_get(tf, sizeof(tf), v->message, "Evault-Handover-Files") < 0 ||
	    trailer_get(tm, sizeof(tm), v->message, "Evault-Handover-Manifest") < 0 ||
	    !parse_count(tn, &n) || n == 0 || n > UINT32_MAX || !parse_count(tf, &files) ||
	    strlen(tm) != 64 || strspn(tm, "0123456789abcdef") != 64)
		return verify_bad(v, "dossier.handover without valid Evault-Handover, "
				     "Evault-Handover-Files and Evault-Handover-Manifest");
	if (!ev->pm || !(o = event_mission(ev, EVENT_BEFORE)))
		return verify_bad(v, "dossier.handover: the MISSION record is not valid");
	bool closed = strcmp(o->status, "closed") == 0;
	if (!closed && strcmp(o->status, "open") != 0)
		return verify_bad(v, "dossier.handover of mission %s, which is %s", v->mission,
				  o->status);
	static const char *const names[] = {"handovers", NULL};
	if (changes_exactly(d, names) && d->c[0].new) {
		ph = change_tree(v->git, d->c[0].old);
		ch = change_tree(v->git, d->c[0].new);
	}
	char rname[24], ename[32];
	snprintf(rname, sizeof(rname), "%llu", n);
	snprintf(ename, sizeof(ename), "%llu.enc", n);
	bool ok = ch && (!d->c[0].old || ph);
	if (ok) {
		tree_delta(&h, ph, ch);
		ok = !h.more && h.n == 2;
		for (size_t i = 0; ok && i < h.n; i++)
			ok = !h.c[i].old && is_blob(h.c[i].new) &&
			     (strcmp(change_name(&h.c[i]), rname) == 0 ||
			      strcmp(change_name(&h.c[i]), ename) == 0);
	}
	if (!ok) {
		r = verify_bad(v,
			       "dossier.handover must add exactly missions/%s/handovers/%s and "
			       "%s, and change nothing else",
			       v->mission, rname, ename);
		goto done;
	}
	if (n != handover_count(ph) + 1) {
		r = verify_bad(v, "dossier.handover %llu of %s where %zu follows", n, v->mission,
			       handover_count(ph) + 1);
		goto done;
	}
	if (blob_at(&text, v->git, ch, rname) < 0 ||
	    handover_parse(&rec, (unsigned)n, text.ptr, text.size) < 0) {
		evault_error_clear();
		r = verify_bad(v, "dossier.handover: the record handovers/%s is not valid", rname);
		goto done;
	}
	/* as mission.due: dated by the office's history, never replayed */
	int64_t when = git_commit_time(ev->commit);
	if (trailer_get(first, sizeof(first), v->message, "Evault-Replayed") == 0) {
		r = verify_bad(v, "dossier.handover is recorded at the office, never replayed");
		goto done;
	}
	evault_error_clear();
	if (strcmp(rec.by, v->actor) != 0 || rec.time > when + TIME_TOLERANCE ||
	    rec.time < when - TIME_TOLERANCE) {
		r = verify_bad(v,
			       "dossier.handover: the record must name its actor (%s) and the "
			       "event's time",
			       v->actor);
		goto done;
	}
	if (rec.nfiles != files || strcmp(rec.manifest, tm) != 0) {
		r = verify_bad(v,
			       "dossier.handover: the record lists %zu files where "
			       "Evault-Handover-Files says %llu, or its manifest is not the "
			       "trailer's",
			       rec.nfiles, files);
		goto done;
	}
	if (closed) {
		text.size = 0;
		if (blob_at(&text, v->git, ev->pm, "CLOSE") < 0 ||
		    close_parse(&cr, v->mission, text.ptr, text.size) < 0 || !cr.done) {
			evault_error_clear();
			r = verify_bad(v,
				       "dossier.handover: the erasure record of closed mission "
				       "%s is not valid",
				       v->mission);
			goto done;
		}
	}
	for (size_t i = 0; i < rec.nfiles; i++) {
		const handover_file *f = &rec.files[i];
		evault_buf blob = EVAULT_BUF_INIT;
		path.size = 0;
		bool live = layout_file_path(&path, v->mission, EVAULT_CLASS_DOSSIER, f->fid,
					     ".enc") == 0 &&
			    blob_at(&blob, v->git, ev->pt, path.ptr) == 0;
		evault_buf_dispose(&blob);
		if (!live) {
			evault_error_clear();
			r = verify_bad(v,
				       "dossier.handover lists %s, which is no live dossier file "
				       "of %s",
				       f->fid, v->mission);
			goto done;
		}
		/* the certificate is a dossier file that close stored after it took
		 * the kept files' fingerprints */
		if (!closed || strcmp(f->fid, cr.certificate) == 0)
			continue;
		bool same = false;
		for (size_t k = 0; k < cr.nkept; k++)
			if (strcmp(cr.kept[k].fid, f->fid) == 0)
				same = strcmp(cr.kept[k].sha256, f->sha256) == 0 &&
				       cr.kept[k].size == f->size;
		if (!same) {
			r = verify_bad(
			    v,
			    "dossier.handover: file %s is not the one the erasure record "
			    "of %s kept (sha256 and size)",
			    f->fid, v->mission);
			goto done;
		}
	}
	/* the whole dossier: each listed file is live (above), once (the record
	 * is sorted), and there are as many as the dossier holds */
	if (class_fids(&dossier, v->git, ev->pm, "dossier") < 0 || dossier.n != rec.nfiles) {
		r = verify_bad(v,
			       "dossier.handover lists %zu files where the dossier of %s holds "
			       "%zu: a handover is the whole dossier",
			       rec.nfiles, v->mission, dossier.n);
		goto done;
	}
done:
	git_tree_free(ph);
	git_tree_free(ch);
	free(dossier.fid);
	handover_rec_clear(&rec);
	close_rec_clear(&cr);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return r;
}
