/*
 * The rule of refused missions (docs/auditing.md, "Refused missions"):
 *   mission.refuse  an active admin or technician adds exactly one record
 *                   refusals/<rid> (the Evault-Refusal trailer's rid), and
 *                   nothing else changes anywhere. The record is canonical,
 *                   names the actor, the event's time (its Evault-Replayed
 *                   time for a replayed event) within the clock tolerance, a
 *                   day not after it, and the category the Evault-Category
 *                   trailer names; it is sealed to the admins of the parent
 *                   state: to each active one, and no other, for an event
 *                   recorded where it is committed; for an event replayed
 *                   from a replica, whose author could only seal to the
 *                   admins of the state it had, to some of them (admins
 *                   added meanwhile missing, admins disabled meanwhile
 *                   still named), at least one of them active.
 * What the boxes hold no auditor can read; their sizes are what a sealed
 * plaintext within bounds makes, all equal (refusal_parse).
 */
#include <stdio.h>
#include <string.h>

#include "refusal.h"
#include "verify.h"

/* Is name an admin of state t: 1 active, 0 disabled, -1 no admin at all. */
static int admin_in(verifier *v, git_tree *t, const char *name)
{
	user_rec u;
	int r = load_user(&u, v->git, t, name) == 0 && u.role == EVAULT_ROLE_ADMIN
		    ? strcmp(u.status, "active") == 0
		    : -1;
	evault_error_clear();
	return r;
}

/* How many active admins state t has; -1 if its users are unreadable. */
static long count_admins(verifier *v, git_tree *t)
{
	git_tree_entry *e = NULL;
	git_tree *users = NULL;
	long n = 0;
	if (git_tree_entry_bypath(&e, t, "users") < 0)
		return 0;
	users = change_tree(v->git, e);
	git_tree_entry_free(e);
	if (!users)
		return -1;
	for (size_t i = 0; i < git_tree_entrycount(users); i++)
		if (admin_in(v, t, git_tree_entry_name(git_tree_entry_byindex(users, i))) == 1)
			n++;
	git_tree_free(users);
	return n;
}

int rule_mission_refuse(verify_event *ev)
{
	verifier *v = ev->v;
	char rid[EVAULT_REFUSAL_RID_LEN + 2], cat[EVAULT_REFUSAL_CATEGORY_MAX + 2], mid[8],
	    replayed[32];
	const delta *top = &ev->top;
	git_tree *o = NULL, *n = NULL;
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	refusal_rec rec;
	delta d;
	int r = 0;
	memset(&rec, 0, sizeof(rec));
	if (ev->actor->role == EVAULT_ROLE_AUDITOR)
		return verify_bad(v,
				  "mission.refuse by %s, an auditor: only an admin or a technician "
				  "records a refused mission",
				  v->actor);
	if (trailer_get(rid, sizeof(rid), v->message, "Evault-Refusal") < 0 ||
	    !refusal_rid_valid(rid) ||
	    trailer_get(cat, sizeof(cat), v->message, "Evault-Category") < 0) {
		evault_error_clear();
		return verify_bad(v, "mission.refuse without a valid Evault-Refusal and "
				     "Evault-Category");
	}
	if (trailer_get(mid, sizeof(mid), v->message, "Evault-Mission") != EVAULT_ENOTFOUND)
		return verify_bad(v, "mission.refuse names a mission: a refused mission never "
				     "existed");
	if ((r = only_top(v, top, REFUSAL_DIR)) != 0)
		return r;
	o = change_tree(v->git, top->c[0].old);
	n = change_tree(v->git, top->c[0].new);
	tree_delta(&d, o, n);
	if (!n || (top->c[0].old && !o) || d.more || d.n != 1 || d.c[0].old ||
	    !is_blob(d.c[0].new) || strcmp(change_name(&d.c[0]), rid) != 0) {
		r = verify_bad(
		    v, "mission.refuse must add exactly " REFUSAL_DIR "/%s and change nothing else",
		    rid);
		goto done;
	}
	if (evault_buf_printf(&path, REFUSAL_DIR "/%s", rid) < 0 ||
	    blob_at(&text, v->git, ev->ct, path.ptr) < 0 ||
	    refusal_parse(&rec, rid, text.ptr, text.size) < 0) {
		evault_error_clear();
		r = verify_bad(v, "mission.refuse: the record " REFUSAL_DIR "/%s is not valid",
			       rid);
		goto done;
	}
	int64_t when = verify_event_time(ev), day = 0;
	refusal_date_parse(rec.date, &day);
	if (strcmp(rec.by, v->actor) != 0)
		r = verify_bad(v, "mission.refuse by %s records a refusal by %s", v->actor, rec.by);
	else if (rec.time > when + TIME_TOLERANCE || when > rec.time + TIME_TOLERANCE ||
		 day > when + TIME_TOLERANCE ||
		 /* late by the office's clock, the commit's: a replayed event's own
		  * time is the replica's word */
		 day + (REFUSAL_LATE_DAYS + 1) * 86400 <
		     (int64_t)git_commit_time(ev->commit) - TIME_TOLERANCE)
		r = verify_bad(v,
			       "mission.refuse: the record is dated %lld (day %s), the event %lld",
			       (long long)rec.time, rec.date, (long long)when);
	else if (strcmp(rec.category, cat) != 0)
		r = verify_bad(v, "mission.refuse: the record's category is %s, the event's %.40s",
			       rec.category, cat);
	if (r)
		goto done;
	bool replay = trailer_get(replayed, sizeof(replayed), v->message, "Evault-Replayed") == 0;
	size_t active = 0;
	for (size_t i = 0; i < rec.nseals && r == 0; i++) {
		int a = admin_in(v, ev->pt, rec.seals[i].admin);
		if (a == 1)
			active++;
		else if (a < 0 || !replay)
			r = verify_bad(v, "mission.refuse: sealed to %s, not an active admin then",
				       rec.seals[i].admin);
	}
	long admins = count_admins(v, ev->pt);
	if (r == 0 && !replay && admins != (long)rec.nseals)
		r = verify_bad(v,
			       "mission.refuse: sealed to %zu admins, where %ld were active: every "
			       "admin must be able to read it",
			       rec.nseals, admins);
	else if (r == 0 && active == 0)
		r = verify_bad(v, "mission.refuse: sealed to no admin active then: no one could "
				  "read it");
done:
	refusal_rec_clear(&rec);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	git_tree_free(o);
	git_tree_free(n);
	return r;
}
