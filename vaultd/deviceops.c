/* The operations on devices: see deviceops.h and docs/deploy.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deviceops.h"
#include "mission.h"
#include "repo.h"
#include "user.h"
#include "util.h"

/* The time an event recorded now says it happened (its commit's time). */
static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Writes text at path and records the event, in the transaction st. */
static int record(state *st, const char *path, const evault_buf *text, const char *action,
		  const char *mid, const evault_buf *sum, const evault_buf *tr)
{
	int rc = state_put(st, path, text->ptr, text->size);
	if (rc == 0) {
		state_event ev = {NULL, action, mid, sum->ptr, tr->ptr};
		rc = state_commit(st, &ev);
	}
	return rc;
}

int device_commit_add(evault_repo *repo, const char *name)
{
	state *st = NULL;
	device_rec d, old;
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT,
		   tr = EVAULT_BUF_INIT;
	int rc;
	memset(&d, 0, sizeof(d));
	if ((rc = repo_require_actor(repo)) < 0)
		return rc;
	if (!device_name_valid(name))
		return evault_error_set(EVAULT_EINVAL,
					"not a device name: '%.40s' (1 to 32 of a-z 0-9 . _ -, "
					"starting with a letter or digit)",
					name);
	if ((rc = state_begin(&st, repo, true)) < 0)
		goto done;
	if ((rc = device_load(st, name, &old)) == 0) {
		rc = evault_error_set(EVAULT_EEXISTS,
				      "device %s is already registered (to %s): choose another name "
				      "(--device)",
				      name, old.user);
		goto done;
	}
	if (rc != EVAULT_ENOTFOUND)
		goto done;
	evault_error_clear();
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.user, sizeof(d.user), "%s", repo->actor);
	if ((rc = device_format(&text, &d)) == 0 &&
	    (rc = evault_buf_printf(&path, "devices/%s", name)) == 0 &&
	    (rc = evault_buf_printf(&sum, "Register device %s of %s", name, repo->actor)) == 0 &&
	    (rc = evault_buf_printf(&tr, "Evault-Device: %s\n", name)) == 0)
		rc = record(st, path.ptr, &text, "device.add", NULL, &sum, &tr);
done:
	state_end(st);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

int device_commit_hold(evault_repo *repo, const char *name, const char *mid)
{
	state *st = NULL;
	device_hold h;
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT,
		   tr = EVAULT_BUF_INIT;
	int rc;
	memset(&h, 0, sizeof(h));
	if ((rc = repo_require_actor(repo)) < 0 || (rc = state_begin(&st, repo, true)) < 0)
		goto done;
	snprintf(h.name, sizeof(h.name), "%s", name);
	snprintf(h.user, sizeof(h.user), "%s", repo->actor);
	h.held = now_s();
	if ((rc = hold_format(&text, &h)) == 0 && (rc = hold_path(&path, mid, name)) == 0 &&
	    (rc = evault_buf_printf(&sum, "Device %s holds %s", name, mid)) == 0 &&
	    (rc = evault_buf_printf(&tr, "Evault-Device: %s\n", name)) == 0)
		rc = record(st, path.ptr, &text, "device.hold", mid, &sum, &tr);
done:
	state_end(st);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

int device_commit_erased(evault_repo *repo, const char *name, const char *mid,
			 const char *reason, uint64_t dropped)
{
	state *st = NULL;
	device_hold h;
	mission_rec m;
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT,
		   tr = EVAULT_BUF_INIT;
	int rc;
	memset(&m, 0, sizeof(m));
	if ((rc = repo_require_actor(repo)) < 0 || (rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = hold_load(st, mid, name, &h)) < 0 || (rc = mission_load(st, mid, &m)) < 0)
		goto done;
	if (h.erased) /* confirmed already */
		goto done;
	h.erased = true;
	h.erased_at = now_s();
	h.dropped = dropped;
	snprintf(h.reason, sizeof(h.reason), "%s", reason);
	if ((rc = hold_format(&text, &h)) < 0 || (rc = hold_path(&path, mid, name)) < 0 ||
	    (rc = evault_buf_printf(&sum, "Device %s erased %s", name, mid)) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-Device: %s\nEvault-Reason: %s\n", name,
				    reason)) < 0)
		goto done;
	for (int c = 0; c < EVAULT_CLASS_COUNT && rc == 0; c++)
		for (size_t g = 0; g < m.ngen[c] && rc == 0; g++)
			rc = evault_buf_printf(&tr, "Evault-Erased-Key: %s %s\n",
					       evault_class_name((evault_class)c), m.fps[c][g]);
	if (rc == 0)
		rc = evault_buf_printf(&tr, "Evault-Dropped: %llu\n", (unsigned long long)dropped);
	if (rc == 0)
		rc = record(st, path.ptr, &text, "device.erased", mid, &sum, &tr);
done:
	state_end(st);
	mission_rec_clear(&m);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

/* ---- erasures owed ---- */

typedef struct owed_ctx {
	const state *st;
	const mission_rec *m;
	device_owed_cb cb;
	void *payload;
	int rc;
} owed_ctx;

static int owed_hold(const device_hold *h, void *p)
{
	owed_ctx *c = p;
	device_rec d;
	user_rec u;
	if (h->erased)
		return 0;
	int rc = device_load(c->st, h->name, &d);
	if (rc < 0)
		return rc;
	bool have_user = user_load(c->st, h->user, &u) == 0;
	evault_error_clear();
	const char *why = device_erasure_due(&d, c->m, have_user ? &u : NULL);
	if (!why)
		return 0;
	int64_t since = 0;
	if (strcmp(why, "device-revoked") == 0)
		since = d.revoked_at;
	else if (strcmp(why, "closed") == 0)
		since = c->m->closed ? c->m->closed : now_s();
	device_owed o = {&d, h, c->m, why, since};
	return c->cb(&o, c->payload);
}

static int owed_mission(const char *mid, bool is_dir, void *p)
{
	owed_ctx *c = p;
	mission_rec m;
	char path[EVAULT_MID_MAX + 32];
	if (!is_dir)
		return 0;
	/* most missions never had a device: one lookup, not a record read */
	snprintf(path, sizeof(path), "missions/%s/devices", mid);
	if (!state_exists(c->st, path))
		return 0;
	int rc = mission_load(c->st, mid, &m);
	if (rc < 0)
		return rc;
	c->m = &m;
	rc = holds_each(c->st, mid, owed_hold, c);
	c->m = NULL;
	mission_rec_clear(&m);
	return rc;
}

int device_owed_each(const state *st, const char *mid, device_owed_cb cb, void *payload)
{
	owed_ctx c = {.st = st, .cb = cb, .payload = payload};
	if (mid)
		return owed_mission(mid, true, &c);
	return state_list(st, "missions", owed_mission, &c);
}

/* ---- list, revoke ---- */

typedef struct list_ctx {
	evault_repo *repo;
	const state *st;
	evault_buf *out;
	const device_rec *d;
	size_t held, erased, owed;
	bool lines; /* second pass: one line per mission */
} list_ctx;

static int list_mission(const char *mid, bool is_dir, void *p)
{
	list_ctx *c = p;
	device_hold h;
	mission_rec m;
	user_rec u;
	char when[32];
	if (!is_dir)
		return 0;
	int rc = hold_load(c->st, mid, c->d->name, &h);
	if (rc == EVAULT_ENOTFOUND) {
		evault_error_clear();
		return 0;
	}
	if (rc < 0 || (rc = mission_load(c->st, mid, &m)) < 0)
		return rc;
	bool have_user = user_load(c->st, h.user, &u) == 0;
	evault_error_clear();
	const char *why = h.erased ? NULL : device_erasure_due(c->d, &m, have_user ? &u : NULL);
	if (h.erased) {
		c->erased++;
		utc_time(when, h.erased_at, false, "-");
		if (c->lines)
			rc = evault_buf_printf(c->out, "    %-24s erased %s (%s)\n", mid, when,
					       h.reason);
	} else if (why) {
		c->owed++;
		if (c->lines)
			rc = evault_buf_printf(c->out, "    %-24s erasure pending (%s)\n", mid, why);
	} else {
		c->held++;
		utc_time(when, h.held, false, "-");
		if (c->lines)
			rc = evault_buf_printf(c->out, "    %-24s held since %s\n", mid, when);
	}
	mission_rec_clear(&m);
	return rc;
}

static int list_device(const device_rec *d, void *p)
{
	list_ctx *c = p;
	device_contact ct;
	char first[32], last[32], waiting[32] = "-";
	int rc = contact_read(c->repo->path, d->name, &ct);
	if (rc < 0) {
		evault_error_clear();
		memset(&ct, 0, sizeof(ct));
	} else if (ct.head[0])
		snprintf(waiting, sizeof(waiting), "%llu",
			 (unsigned long long)(state_seq(c->st) > ct.seq ? state_seq(c->st) - ct.seq
									 : 0));
	utc_time(first, ct.first, false, "-");
	utc_time(last, ct.last, false, "-");
	c->d = d;
	c->held = c->erased = c->owed = 0;
	c->lines = false;
	if ((rc = state_list(c->st, "missions", list_mission, c)) < 0)
		return rc;
	if ((rc = evault_buf_printf(c->out,
				    "%-20s %-12s %-8s %-21s %-21s %4zu %7s %6zu %7zu\n", d->name,
				    d->user, d->revoked ? "revoked" : "active", first, last, c->held,
				    waiting, c->erased, c->owed)) < 0)
		return rc;
	c->lines = true;
	return state_list(c->st, "missions", list_mission, c);
}

int evault_device_list(evault_repo *repo, evault_buf *out)
{
	state *st = NULL;
	int rc;
	if ((rc = repo_require_admin(repo, "list devices")) < 0 ||
	    (rc = state_begin(&st, repo, false)) < 0)
		return rc;
	list_ctx c = {.repo = repo, .st = st, .out = out};
	rc = evault_buf_printf(out, "%-20s %-12s %-8s %-21s %-21s %4s %7s %6s %7s\n", "DEVICE",
			       "USER", "STATUS", "FIRST CONTACT", "LAST CONTACT", "HELD",
			       "WAITING", "ERASED", "PENDING");
	if (rc == 0)
		rc = devices_each(st, list_device, &c);
	state_end(st);
	return rc;
}

int evault_device_revoke(evault_repo *repo, const char *name)
{
	state *st = NULL;
	device_rec d;
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT,
		   tr = EVAULT_BUF_INIT;
	int rc;
	if ((rc = repo_require_admin(repo, "revoke devices")) < 0 ||
	    (rc = state_begin(&st, repo, true)) < 0 || (rc = device_load(st, name, &d)) < 0)
		goto done;
	if (d.revoked) {
		rc = evault_error_set(EVAULT_EEXISTS, "device %s was revoked already (by %s)", name,
				      d.revoked_by);
		goto done;
	}
	d.revoked = true;
	d.revoked_at = now_s();
	snprintf(d.revoked_by, sizeof(d.revoked_by), "%s", repo->actor);
	if ((rc = device_format(&text, &d)) == 0 &&
	    (rc = evault_buf_printf(&path, "devices/%s", name)) == 0 &&
	    (rc = evault_buf_printf(&sum, "Revoke device %s of %s", name, d.user)) == 0 &&
	    (rc = evault_buf_printf(&tr, "Evault-Device: %s\nEvault-User: %s\n", name, d.user)) ==
		0)
		rc = record(st, path.ptr, &text, "device.revoke", NULL, &sum, &tr);
done:
	state_end(st);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}
