/*
 * The rules of device events (docs/auditing.md, "Devices"):
 *   device.add     any user, for themselves: devices/<name> added, active;
 *   device.revoke  admins: devices/<name> turns revoked, by the actor;
 *   device.hold    the device's own user, on an open mission they hold a
 *                  role on: missions/<mid>/devices/<name> added (or held
 *                  again after an erasure);
 *   device.erased  the device's own user, for a mission the device held
 *                  and must not any more (closed, revoked from it, device
 *                  revoked): the entry turns erased, naming why, and the
 *                  event names every key generation of the mission.
 * The times in the records are the event's (its Evault-Replayed time for
 * an event replayed by a replica), within the clock tolerance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "verify.h"

static bool near(int64_t a, int64_t b)
{
	return a <= b + TIME_TOLERANCE && b <= a + TIME_TOLERANCE;
}

/* devices/<name> of tree (the state: a device record; a mission's directory:
 * its entry), parsed by hold ? hold_parse : device_parse into out. */
static int load_record(void *out, bool hold, git_repository *git, git_tree *tree,
		       const char *name)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc = evault_buf_printf(&path, "devices/%s", name);
	if (rc == 0 && (rc = blob_at(&text, git, tree, path.ptr)) == 0)
		rc = hold ? hold_parse(out, name, text.ptr, text.size)
			  : device_parse(out, name, text.ptr, text.size);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	evault_error_clear();
	return rc;
}

static int load_device(device_rec *d, git_repository *git, git_tree *tree, const char *name)
{
	return load_record(d, false, git, tree, name);
}

static int load_hold(device_hold *h, git_repository *git, git_tree *mission, const char *name)
{
	return load_record(h, true, git, mission, name);
}

/* The one entry of devices/ (of the state, or of the mission) the event changed. */
static int one_device_entry(verify_event *ev, const delta *outer, char name[DEVICE_NAME_MAX + 1],
			    bool *added)
{
	verifier *v = ev->v;
	delta d;
	git_tree *o = NULL, *n = NULL;
	int r = 0;
	if (trailer_get(name, DEVICE_NAME_MAX + 1, v->message, "Evault-Device") < 0 ||
	    !device_name_valid(name))
		return verify_bad(v, "%s without a valid Evault-Device", v->action);
	if (outer->more || outer->n != 1 || strcmp(change_name(&outer->c[0]), "devices") != 0 ||
	    !outer->c[0].new)
		return verify_bad(v, "%s may change only a devices/ entry", v->action);
	o = change_tree(v->git, outer->c[0].old);
	n = change_tree(v->git, outer->c[0].new);
	tree_delta(&d, o, n);
	if (!n || (outer->c[0].old && !o) || d.more || d.n != 1 || !d.c[0].new ||
	    !is_blob(d.c[0].new) || strcmp(change_name(&d.c[0]), name) != 0)
		r = verify_bad(v, "%s must change exactly devices/%s", v->action, name);
	else
		*added = d.c[0].old == NULL;
	git_tree_free(o);
	git_tree_free(n);
	return r;
}

int rule_device_add(verify_event *ev)
{
	verifier *v = ev->v;
	char name[DEVICE_NAME_MAX + 1];
	bool added = false;
	device_rec d;
	int r = one_device_entry(ev, &ev->top, name, &added);
	if (r)
		return r;
	if (!added || load_device(&d, v->git, ev->ct, name) < 0 || d.revoked ||
	    strcmp(d.user, v->actor) != 0)
		return verify_bad(v, "device.add must add devices/%s, an active device of %s", name,
				  v->actor);
	return 0;
}

int rule_device_revoke(verify_event *ev)
{
	verifier *v = ev->v;
	char name[DEVICE_NAME_MAX + 1];
	bool added = true;
	device_rec o, n;
	int r = one_device_entry(ev, &ev->top, name, &added);
	if (r)
		return r;
	if (added || load_device(&o, v->git, ev->pt, name) < 0 ||
	    load_device(&n, v->git, ev->ct, name) < 0 || o.revoked || !n.revoked ||
	    strcmp(o.user, n.user) != 0 || strcmp(n.revoked_by, v->actor) != 0 ||
	    !near(n.revoked_at, verify_event_time(ev)))
		return verify_bad(v,
				  "device.revoke must turn device %s from active to revoked by %s, "
				  "now",
				  name, v->actor);
	return 0;
}

/* The device of a hold or erasure: registered to the actor. */
static int device_of_actor(verify_event *ev, const char *name, device_rec *d)
{
	verifier *v = ev->v;
	if (load_device(d, v->git, ev->pt, name) < 0)
		return verify_bad(v, "%s: no device %s", v->action, name);
	if (strcmp(d->user, v->actor) != 0)
		return verify_bad(v, "%s for device %s, which is %s's, by %s", v->action, name,
				  d->user, v->actor);
	return 0;
}

int rule_device_hold(verify_event *ev)
{
	verifier *v = ev->v;
	char name[DEVICE_NAME_MAX + 1];
	bool added = false;
	device_rec d;
	device_hold o, n;
	const mission_rec *m;
	int r = one_device_entry(ev, &ev->d, name, &added);
	if (r || (r = device_of_actor(ev, name, &d)))
		return r;
	if (d.revoked)
		return verify_bad(v, "device.hold by device %s, which is revoked", name);
	if (!(m = event_mission(ev, EVENT_BEFORE)) || strcmp(m->status, "open") != 0)
		return verify_bad(v, "device.hold of %s, which is not open", v->mission);
	if (ev->actor->role != EVAULT_ROLE_ADMIN && !mission_is_member(m, v->actor) &&
	    !mission_is_auditor(m, v->actor))
		return verify_bad(v, "device.hold of %s by %s, who holds no role on it", v->mission,
				  v->actor);
	if (!added && (load_hold(&o, v->git, ev->pm, name) < 0 || !o.erased))
		return verify_bad(v, "device.hold of %s by device %s, which holds it already",
				  v->mission, name);
	if (load_hold(&n, v->git, ev->cm, name) < 0 || n.erased || strcmp(n.user, v->actor) != 0 ||
	    !near(n.held, verify_event_time(ev)))
		return verify_bad(v, "device.hold: the entry of device %s in %s is not a hold by %s, "
				     "now",
				  name, v->mission, v->actor);
	return 0;
}

static bool reason_holds(const char *reason, const device_rec *d, const mission_rec *m,
			 const user_rec *u)
{
	if (strcmp(reason, "device-revoked") == 0)
		return d->revoked;
	if (strcmp(reason, "closed") == 0)
		return strcmp(m->status, "open") != 0;
	if (strcmp(reason, "revoked") == 0) {
		device_rec active = *d;
		mission_rec open = *m;
		active.revoked = false;
		snprintf(open.status, sizeof(open.status), "open");
		const char *why = device_erasure_due(&active, &open, u);
		return why && strcmp(why, "revoked") == 0;
	}
	return false;
}

/* Evault-Erased-Key lines name exactly the mission's key generations. */
static bool keys_named(verify_event *ev, const mission_rec *m)
{
	bool named[EVAULT_CLASS_COUNT][CLASS_GENS_MAX] = {{false}};
	size_t want = 0, got = 0;
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
		want += m->ngen[c];
	for (const char *l = ev->v->message; (l = strstr(l, "\nEvault-Erased-Key: ")); l++) {
		char cls[16], fp[64];
		evault_class k;
		size_t g = 0;
		if (sscanf(l + 20, "%15s %63s", cls, fp) != 2 || evault_class_parse(&k, cls) < 0) {
			evault_error_clear();
			return false;
		}
		while (g < m->ngen[k] && strcmp(m->fps[k][g], fp) != 0)
			g++;
		if (g == m->ngen[k] || named[k][g]) /* unknown, or named twice */
			return false;
		named[k][g] = true;
		got++;
	}
	return got == want;
}

int rule_device_erased(verify_event *ev)
{
	verifier *v = ev->v;
	char name[DEVICE_NAME_MAX + 1], reason[32], dropped[32];
	bool added = true;
	device_rec d;
	device_hold o, n;
	const mission_rec *m;
	int r = one_device_entry(ev, &ev->d, name, &added);
	if (r || (r = device_of_actor(ev, name, &d)))
		return r;
	if (added || load_hold(&o, v->git, ev->pm, name) < 0 || o.erased)
		return verify_bad(v, "device.erased of %s by device %s, which does not hold it",
				  v->mission, name);
	if (load_hold(&n, v->git, ev->cm, name) < 0 || !n.erased || n.held != o.held ||
	    strcmp(n.user, o.user) != 0 || !near(n.erased_at, verify_event_time(ev)))
		return verify_bad(v, "device.erased must turn the entry of device %s in %s from "
				     "held to erased, now",
				  name, v->mission);
	if (trailer_get(reason, sizeof(reason), v->message, "Evault-Reason") < 0 ||
	    strcmp(reason, n.reason) != 0 ||
	    trailer_get(dropped, sizeof(dropped), v->message, "Evault-Dropped") < 0 ||
	    strtoull(dropped, NULL, 10) != n.dropped)
		return verify_bad(v, "device.erased: its trailers disagree with the entry");
	if (!(m = event_mission(ev, EVENT_BEFORE)) ||
	    !reason_holds(reason, &d, m, ev->actor))
		return verify_bad(v, "device.erased of %s for \"%s\", which is not so: the device "
				     "may keep it",
				  v->mission, reason);
	if (!keys_named(ev, m))
		return verify_bad(v, "device.erased must name every key generation of %s",
				  v->mission);
	return 0;
}
