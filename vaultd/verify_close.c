/*
 * The rules of codes marks, close and expiry (verify.h, close.c): a codes
 * entry marked before close; mission.closing, which records the erasure
 * to come; mission.close, which completes it (work and codes leave the
 * state, the certificate enters the dossier); mission.expiring and
 * mission.expire at the end of the dossier's retention.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "close.h"
#include "device.h"
#include "util.h"
#include "verify.h"

static bool fidlist_has(const fidlist *l, const char *fid)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->fid[i], fid) == 0)
			return true;
	return false;
}

/* The fids of a class subtree (two bucket levels); -1 if it is not laid out so. */
static int collect_fids(fidlist *out, git_repository *git, git_tree *t, int depth)
{
	if (!t)
		return 0;
	size_t n = git_tree_entrycount(t);
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const char *name = git_tree_entry_name(e);
		if (depth < LAYOUT_FANOUT) {
			git_tree *sub = change_tree(git, e);
			int r =
			    sub && strlen(name) == 1 ? collect_fids(out, git, sub, depth + 1) : -1;
			git_tree_free(sub);
			if (r < 0)
				return -1;
			continue;
		}
		size_t nl = strlen(name);
		if (nl == LAYOUT_FID_LEN + 5 && strcmp(name + LAYOUT_FID_LEN, ".objs") == 0)
			continue;
		if (nl != LAYOUT_FID_LEN + 4 || strcmp(name + LAYOUT_FID_LEN, ".enc") != 0)
			return -1;
		if ((out->n & (out->n - 1)) == 0) {
			void *p = realloc(out->fid, (out->n ? out->n * 2 : 1) * sizeof(*out->fid));
			if (!p)
				return -1;
			out->fid = p;
		}
		memcpy(out->fid[out->n], name, LAYOUT_FID_LEN);
		out->fid[out->n++][LAYOUT_FID_LEN] = '\0';
	}
	return 0;
}

int class_fids(fidlist *out, git_repository *git, git_tree *mission, const char *cls)
{
	git_tree_entry *e = NULL;
	git_tree *t = NULL;
	memset(out, 0, sizeof(*out));
	if (!mission || git_tree_entry_bypath(&e, mission, cls) < 0)
		return 0;
	t = change_tree(git, e);
	int r = t ? collect_fids(out, git, t, 0) : -1;
	git_tree_free(t);
	git_tree_entry_free(e);
	return r;
}

/* MISSION records equal but for status, closed and retain-until. */
static bool mission_same_but_status(const mission_rec *o, const mission_rec *n)
{
	mission_rec c = *o;
	evault_buf a = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT;
	memcpy(c.status, n->status, sizeof(c.status));
	c.closed = n->closed;
	c.retain_until = n->retain_until;
	bool same = mission_format(&a, &c) == 0 && mission_format(&b, n) == 0 && a.size == b.size &&
		    memcmp(a.ptr, b.ptr, a.size) == 0;
	evault_buf_dispose(&a);
	evault_buf_dispose(&b);
	return same;
}

static int load_close_at(close_rec *r, git_repository *git, git_tree *mission, const char *mid)
{
	evault_buf text = EVAULT_BUF_INIT;
	int rc = blob_at(&text, git, mission, "CLOSE");
	if (rc == 0)
		rc = close_parse(r, mid, text.ptr, text.size);
	evault_buf_dispose(&text);
	return rc;
}

/* codes.mark: a live codes entry of an open mission marked rotated or
 * reported by a member or an admin: missions/<mid>/marks/<fid>.enc, alone. */
int rule_codes_mark(verify_event *ev)
{
	verifier *v = ev->v;
	const delta *d = &ev->d;
	git_tree *pk = NULL, *ck = NULL;
	delta k;
	const mission_rec *m;
	char fid[40], how[16];
	evault_buf path = EVAULT_BUF_INIT, blob = EVAULT_BUF_INIT;
	int r = 0;
	if (trailer_get(fid, sizeof(fid), v->message, "Evault-File") < 0 || strlen(fid) != 32 ||
	    !is_hex(fid, 32) || trailer_get(how, sizeof(how), v->message, "Evault-Mark") < 0 ||
	    (strcmp(how, "rotated") && strcmp(how, "reported")))
		return verify_bad(v, "codes.mark without a valid Evault-File and Evault-Mark");
	if (!ev->pm || !(m = event_mission(ev, EVENT_BEFORE)) || strcmp(m->status, "open") != 0)
		return verify_bad(v, "codes.mark on mission %s, which is not open", v->mission);
	if (!may_write(ev->actor, m, v->actor))
		return verify_bad(v, "codes.mark by %s, who is not a member of %s", v->actor,
				  v->mission);
	if (layout_file_path(&path, v->mission, EVAULT_CLASS_CODES, fid, ".enc") < 0 ||
	    blob_at(&blob, v->git, ev->pt, path.ptr) != 0) {
		r = verify_bad(v, "codes.mark of %s, which is no live codes entry of %s", fid,
			       v->mission);
		goto done;
	}
	static const char *const marks_only[] = {"marks", NULL};
	char want[64];
	snprintf(want, sizeof(want), "%s.enc", fid);
	if (changes_exactly(d, marks_only)) {
		pk = change_tree(v->git, d->c[0].old);
		ck = change_tree(v->git, d->c[0].new);
		tree_delta(&k, pk, ck);
	}
	if (!ck || k.more || k.n != 1 || !is_blob(k.c[0].new) ||
	    strcmp(git_tree_entry_name(k.c[0].new), want) != 0)
		r = verify_bad(v, "codes.mark must write exactly missions/%s/marks/%s", v->mission,
			       want);
done:
	git_tree_free(pk);
	git_tree_free(ck);
	evault_buf_dispose(&path);
	evault_buf_dispose(&blob);
	return r;
}

/* mission.closing: status open -> closing and the pending record, nothing else. */
int rule_closing(verify_event *ev)
{
	verifier *v = ev->v;
	git_tree *pm = ev->pm;
	const mission_rec *o, *n;
	close_rec rec;
	fidlist work = {0}, codes = {0}, dossier = {0};
	evault_buf blob = EVAULT_BUF_INIT;
	int r = 0;
	memset(&rec, 0, sizeof(rec));
	static const char *const names[] = {"MISSION", "CLOSE", NULL};
	if (!pm || !changes_exactly(&ev->d, names))
		return verify_bad(v, "mission.closing may change only the MISSION record and add "
				     "CLOSE");
	if (!(o = event_mission(ev, EVENT_BEFORE)) || !(n = event_mission(ev, EVENT_AFTER)) ||
	    load_close_at(&rec, v->git, ev->cm, v->mission) < 0) {
		r = verify_bad(v, "mission.closing: a MISSION or CLOSE record is not valid");
		goto done;
	}
	if (strcmp(o->status, "open") != 0 || strcmp(n->status, "closing") != 0 || n->closed ||
	    !mission_same_but_status(o, n)) {
		r = verify_bad(v,
			       "mission.closing must turn an open mission into a closing one and "
			       "change nothing else in its record");
		goto done;
	}
	if (class_fids(&work, v->git, pm, "work") < 0 ||
	    class_fids(&codes, v->git, pm, "codes") < 0 ||
	    class_fids(&dossier, v->git, pm, "dossier") < 0) {
		r = verify_bad(v, "mission.closing: the mission's files are not laid out as they "
				  "must be");
		goto done;
	}
	if (rec.done || strcmp(rec.by, v->actor) != 0 ||
	    strcmp(rec.work.fp, mission_fp(o, EVAULT_CLASS_WORK)) ||
	    strcmp(rec.codes.fp, mission_fp(o, EVAULT_CLASS_CODES)) || rec.work.files != work.n ||
	    rec.codes.files != codes.n || rec.kept_files != dossier.n) {
		r = verify_bad(v, "mission.closing: the erasure record disagrees with the mission "
				  "(keys, counts or author)");
		goto done;
	}
	/* every codes entry marked rotated or reported, and recorded so */
	bool ok = rec.ncode == codes.n;
	for (size_t i = 0; ok && i < codes.n; i++) {
		char path[128];
		snprintf(path, sizeof(path), "marks/%s.enc", codes.fid[i]);
		bool listed = false, damaged = false;
		for (size_t j = 0; j < rec.ncode && !listed; j++)
			if ((listed = strcmp(rec.code[j].fid, codes.fid[i]) == 0))
				damaged = strcmp(rec.code[j].how, "damaged") == 0;
		/* an entry the closer found damaged (its manifest does not open)
		 * has no mark: the closer's signature answers for it */
		ok = listed && (damaged || blob_at(&blob, v->git, pm, path) == 0);
	}
	if (!ok) {
		r = verify_bad(
		    v,
		    "mission.closing while a codes entry of %s is neither marked rotated "
		    "nor reported",
		    v->mission);
		goto done;
	}
	/* a device the close was forced past held the mission then */
	for (size_t i = 0; i < rec.nforced && r == 0; i++) {
		char path[128];
		device_hold h;
		snprintf(path, sizeof(path), "devices/%s", rec.forced[i].device);
		if (blob_at(&blob, v->git, pm, path) < 0 ||
		    hold_parse(&h, rec.forced[i].device, blob.ptr, blob.size) < 0 || h.erased)
			r = verify_bad(v, "mission.closing forced past device %s, which did not hold %s",
				       rec.forced[i].device, v->mission);
		evault_error_clear();
	}
done:
	free(work.fid);
	free(codes.fid);
	free(dossier.fid);
	close_rec_clear(&rec);
	evault_buf_dispose(&blob);
	return r;
}

static bool same_erasure(const close_rec *a, const close_rec *b)
{
	if (strcmp(a->by, b->by) || a->started != b->started || a->ncode != b->ncode ||
	    a->nforced != b->nforced ||
	    memcmp(&a->work, &b->work, sizeof(a->work)) ||
	    memcmp(&a->codes, &b->codes, sizeof(a->codes)))
		return false;
	for (size_t i = 0; i < a->ncode; i++)
		if (strcmp(a->code[i].fid, b->code[i].fid) ||
		    strcmp(a->code[i].how, b->code[i].how))
			return false;
	for (size_t i = 0; i < a->nforced; i++)
		if (strcmp(a->forced[i].device, b->forced[i].device) ||
		    a->forced[i].last_contact != b->forced[i].last_contact)
			return false;
	return true;
}

/* mission.close: closing -> closed; work and codes leave the state; the record is
 * completed; the certificate, and only it, enters the dossier. */
int rule_close(verify_event *ev)
{
	verifier *v = ev->v;
	git_tree *pm = ev->pm, *cm = ev->cm;
	const delta *d = &ev->d;
	const mission_rec *o, *n;
	close_rec po, pn;
	fidlist dossier = {0};
	char cert[40];
	int r = 0;
	memset(&po, 0, sizeof(po));
	memset(&pn, 0, sizeof(pn));
	if (!pm || !(o = event_mission(ev, EVENT_BEFORE)) ||
	    !(n = event_mission(ev, EVENT_AFTER)) ||
	    load_close_at(&po, v->git, pm, v->mission) < 0 ||
	    load_close_at(&pn, v->git, cm, v->mission) < 0) {
		r = verify_bad(v,
			       "mission.close: a MISSION or CLOSE record is missing or not valid");
		goto done;
	}
	if (strcmp(o->status, "closing") != 0 || strcmp(n->status, "closed") != 0 ||
	    !mission_same_but_status(o, n) || n->closed != pn.closed ||
	    n->retain_until != pn.retain_until) {
		r = verify_bad(v,
			       "mission.close must turn a closing mission into a closed one, its "
			       "dates those of the erasure record");
		goto done;
	}
	policy pol;
	if (policy_at(&pol, v->git, ev->pt) < 0 ||
	    pn.retain_until != policy_retain_until(pn.closed, pol.retention_years)) {
		r = verify_bad(v,
			       "mission.close: the dossier's retention date is not the close date "
			       "plus the %u years the policy in force says",
			       pol.retention_years);
		goto done;
	}
	if (!pn.done || po.done || !same_erasure(&po, &pn) ||
	    trailer_get(cert, sizeof(cert), v->message, "Evault-Certificate") < 0 ||
	    strcmp(cert, pn.certificate) != 0) {
		r = verify_bad(v, "mission.close: the erasure record is not the completed pending "
				  "one");
		goto done;
	}
	/* what changed: MISSION, CLOSE, the dossier (certificate), work and codes (removed) */
	for (size_t i = 0; i < d->n && !d->more; i++) {
		const char *name = change_name(&d->c[i]);
		bool ok =
		    strcmp(name, "MISSION") == 0 || strcmp(name, "CLOSE") == 0 ||
		    strcmp(name, "dossier") == 0 ||
		    ((strcmp(name, "work") == 0 || strcmp(name, "codes") == 0) && !d->c[i].new);
		if (!ok) {
			r = verify_bad(v, "mission.close may not change missions/%s/%s this way",
				       v->mission, name);
			goto done;
		}
	}
	git_tree_entry *w = NULL;
	bool left = git_tree_entry_bypath(&w, cm, "work") == 0 ||
		    git_tree_entry_bypath(&w, cm, "codes") == 0;
	git_tree_entry_free(w);
	if (d->more || left) {
		r = verify_bad(v, "mission.close leaves work or codes files in %s", v->mission);
		goto done;
	}
	/* the certificate's entries, and nothing else, added to the dossier */
	const git_tree_entry *od = NULL, *nd = NULL;
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(change_name(&d->c[i]), "dossier") == 0) {
			od = d->c[i].old;
			nd = d->c[i].new;
		}
	fid_t certfid[1];
	snprintf(certfid[0], sizeof(certfid[0]), "%s", pn.certificate);
	change dc = {od, nd};
	if (!nd || !class_change_ok(v, &dc, certfid, 1, NULL, 0)) {
		r = verify_bad(v,
			       "mission.close must add exactly the certificate %s to the dossier",
			       pn.certificate);
		goto done;
	}
	/* a fingerprint for every kept file, and only for them */
	if (class_fids(&dossier, v->git, pm, "dossier") < 0 || dossier.n != pn.nkept) {
		r = verify_bad(v, "mission.close: the kept files are not those of the dossier");
		goto done;
	}
	for (size_t i = 0; i < pn.nkept; i++)
		if (!fidlist_has(&dossier, pn.kept[i].fid)) {
			r = verify_bad(
			    v, "mission.close: the kept files are not those of the dossier");
			goto done;
		}
done:
	free(dossier.fid);
	close_rec_clear(&po);
	close_rec_clear(&pn);
	return r;
}

/* mission.expiring: a closed mission whose retention date has passed. */
int rule_expiring(verify_event *ev)
{
	verifier *v = ev->v;
	const mission_rec *o, *n;
	static const char *const names[] = {"MISSION", NULL};
	if (!ev->pm || !changes_exactly(&ev->d, names) || !(o = event_mission(ev, EVENT_BEFORE)) ||
	    !(n = event_mission(ev, EVENT_AFTER)) || strcmp(o->status, "closed") != 0 ||
	    strcmp(n->status, "expiring") != 0 || !mission_same_but_status(o, n) ||
	    n->retain_until != o->retain_until)
		return verify_bad(v, "mission.expiring must turn a closed mission into an expiring "
				     "one and change nothing else");
	if (git_commit_time(ev->commit) + TIME_TOLERANCE < o->retain_until)
		return verify_bad(v, "mission.expiring of %s before its retention date",
				  v->mission);
	return 0;
}

/* mission.expire: the dossier, its marks and info leave; the erasure record stays. */
int rule_expire(verify_event *ev)
{
	verifier *v = ev->v;
	const delta *d = &ev->d;
	const mission_rec *o, *n;
	if (!ev->pm || !(o = event_mission(ev, EVENT_BEFORE)) ||
	    !(n = event_mission(ev, EVENT_AFTER)) || strcmp(o->status, "expiring") != 0 ||
	    strcmp(n->status, "expired") != 0 || !mission_same_but_status(o, n) ||
	    n->retain_until != o->retain_until || n->closed != o->closed)
		return verify_bad(v, "mission.expire must turn an expiring mission into an expired "
				     "one");
	for (size_t i = 0; i < d->n && !d->more; i++) {
		const char *name = change_name(&d->c[i]);
		bool ok = strcmp(name, "MISSION") == 0 ||
			  ((strcmp(name, "dossier") == 0 || strcmp(name, "marks") == 0 ||
			    strcmp(name, "info.enc") == 0 || strcmp(name, "photos.enc") == 0) &&
			   !d->c[i].new);
		if (!ok)
			return verify_bad(v,
					  "mission.expire may not change missions/%s/%s this way",
					  v->mission, name);
	}
	git_tree_entry *e = NULL;
	bool left = git_tree_entry_bypath(&e, ev->cm, "dossier") == 0;
	git_tree_entry_free(e);
	if (d->more || left)
		return verify_bad(v, "mission.expire leaves dossier files in %s", v->mission);
	return 0;
}
