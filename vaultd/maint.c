/*
 * gc, fsck and the retention run (docs/lifecycle.md).
 *
 * gc and fsck are keyless: the state names every live file's objects in
 * clear (.objs), and an object's name is the hash of its bytes. gc holds
 * the repository lock while it decides and deletes; a put checks under the
 * same lock that its objects still exist before it commits, and a
 * deduplicated object's time is refreshed, so the grace period covers
 * puts in flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "backend.h"
#include "chunk.h"
#include "close.h"
#include "evault/maint.h"
#include "evault/mission.h"
#include "deviceops.h"
#include "histpack.h"
#include "layout.h"
#include "mission.h"
#include "policy.h"
#include "repo.h"
#include "util.h"

/* ---- what the state references ---- */

typedef struct ref_ctx {
	const state *st;
	objset *set;
	size_t under_way;
	int rc;
} ref_ctx;

static int mission_refs(const char *mid, bool is_dir, void *p)
{
	ref_ctx *c = p;
	mission_rec m;
	int rc;
	if (!is_dir)
		return 0;
	if ((rc = mission_load(c->st, mid, &m)) < 0)
		return rc;
	if (strcmp(m.status, "closing") == 0 || strcmp(m.status, "expiring") == 0)
		c->under_way++;
	mission_rec_clear(&m);
	for (int k = 0; k < EVAULT_CLASS_COUNT && rc == 0; k++)
		rc = layout_each_object(c->st, mid, (evault_class)k, objset_add, c->set);
	return rc;
}

/* Every object a live file of the state names (sorted, distinct). */
static int referenced(objset *out, const state *st, size_t *under_way)
{
	ref_ctx c = {st, out, 0, 0};
	memset(out, 0, sizeof(*out));
	int rc = state_list(st, "missions", mission_refs, &c);
	objset_finish(out);
	if (under_way)
		*under_way = c.under_way;
	return rc;
}

/* ---- gc ---- */

typedef struct gc_ctx {
	evault_repo *repo;
	const objset *refs;
	int64_t cutoff;
	bool dry_run;
	evault_gc_result *res;
} gc_ctx;

static int gc_one(const uint8_t id[OBJECT_ID_LEN], void *p)
{
	gc_ctx *c = p;
	c->res->stored++;
	progress_report("gc: objects", c->res->stored, 0, false);
	if (objset_has(c->refs, id))
		return 0;
	uint64_t size;
	int64_t mtime;
	int rc = c->repo->objects->ops->stat(c->repo->objects, id, &size, &mtime);
	if (rc == EVAULT_ENOTFOUND) {
		evault_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	if (mtime > c->cutoff) {
		c->res->young++;
		return 0;
	}
	c->res->collected++;
	c->res->collected_bytes += size;
	return c->dry_run ? 0 : c->repo->objects->ops->del(c->repo->objects, id);
}

static int gc_locked(evault_repo *repo, const state *st, bool dry_run, int64_t now,
		     evault_gc_result *out)
{
	objset refs;
	memset(out, 0, sizeof(*out));
	int rc = referenced(&refs, st, NULL);
	if (rc == 0) {
		out->referenced = refs.n;
		gc_ctx c = {repo, &refs, now - (int64_t)repo->cfg.gc_grace_minutes * 60, dry_run,
			    out};
		rc = repo->objects->ops->list(repo->objects, gc_one, &c);
		progress_report(NULL, 0, 0, false);
	}
	if (rc == 0 && !dry_run && out->collected)
		rc = repo->objects->ops->sync(repo->objects);
	if (rc == 0)
		rc = repo->objects->ops->tidy(repo->objects,
					      now - (int64_t)repo->cfg.gc_grace_minutes * 60,
					      dry_run, &out->tmp_removed);
	if (rc == 0) {
		histpack_result h;
		rc = histpack_run(repo, dry_run, &h);
		out->history_loose = h.loose;
		out->history_packs = h.packs_after;
	}
	objset_clear(&refs);
	return rc;
}

int evault_gc(evault_repo *repo, bool dry_run, evault_gc_result *out)
{
	state *st = NULL;
	/* the lock: no commit while we decide */
	int rc = dry_run ? state_begin_dry(&st, repo) : state_begin(&st, repo, true);
	if (rc == 0)
		rc = gc_locked(repo, st, dry_run, (int64_t)time(NULL), out);
	state_end(st);
	return rc;
}

/* ---- fsck ---- */

typedef struct fsck_ctx {
	evault_repo *repo;
	const objset *refs;
	bool full;
	evault_line_cb cb;
	void *payload;
	evault_fsck_result *res;
	evault_buf obj;
	objset seen;
} fsck_ctx;

static int fsck_one(const uint8_t id[OBJECT_ID_LEN], void *p)
{
	fsck_ctx *c = p;
	char hex[OBJECT_HEX_LEN + 1];
	c->res->stored++;
	progress_report("fsck: objects", c->res->stored, 0, false);
	bool ref = objset_has(c->refs, id);
	if (ref && objset_add(id, &c->seen) < 0)
		return error_oom();
	if (!ref)
		c->res->unreferenced++;
	if (!c->full)
		return 0;
	uint8_t actual[OBJECT_ID_LEN];
	int rc = c->repo->objects->ops->get(c->repo->objects, id, &c->obj,
					    EVAULT_CHUNK_MAX + OBJ_OVERHEAD);
	if (rc == EVAULT_ENOTFOUND) { /* deleted meanwhile (gc, close) */
		evault_error_clear();
		return 0;
	}
	c->res->checked++;
	if (rc == 0)
		rc = object_hash(actual, c->obj.ptr, c->obj.size);
	if (rc < 0 || sodium_memcmp(actual, id, OBJECT_ID_LEN) != 0) {
		object_id_hex(hex, id);
		c->res->corrupt++;
		line_say(c->cb, c->payload, "corrupt object %s%s: %s", hex,
			 ref ? "" : " (unreferenced)",
			 rc < 0 ? evault_error_last() : "its bytes do not hash to its name");
		evault_error_clear();
	}
	return 0;
}

int evault_fsck(evault_repo *repo, bool full, evault_line_cb cb, void *payload,
		evault_fsck_result *out)
{
	state *st = NULL;
	objset refs;
	memset(out, 0, sizeof(*out));
	memset(&refs, 0, sizeof(refs));
	fsck_ctx c = {repo, &refs, full, cb, payload, out, EVAULT_BUF_INIT, {0}};
	int rc = state_begin(&st, repo, false);
	if (rc == 0)
		rc = referenced(&refs, st, &out->under_way);
	state_end(st);
	if (rc == 0) {
		out->referenced = refs.n;
		rc = repo->objects->ops->list(repo->objects, fsck_one, &c);
		progress_report(NULL, 0, 0, false);
	}
	objset_finish(&c.seen);
	/* referenced but not stored: missing (stat again: a close or gc may have run) */
	for (size_t i = 0; rc == 0 && i < refs.n; i++) {
		if (objset_has(&c.seen, refs.id[i]) ||
		    repo->objects->ops->exists(repo->objects, refs.id[i]) == 1)
			continue;
		char hex[OBJECT_HEX_LEN + 1];
		object_id_hex(hex, refs.id[i]);
		if (repo->replica) { /* a replica fetches objects when they are read */
			out->at_office++;
			continue;
		}
		out->missing++;
		line_say(cb, payload, "missing object %s, named by a live file", hex);
	}
	if (out->under_way)
		line_say(
		    cb, payload,
		    "%zu close or expiry under way: its objects may be missing until it is run "
		    "again",
		    out->under_way);
	objset_clear(&refs);
	objset_clear(&c.seen);
	evault_buf_dispose(&c.obj);
	return rc;
}

/* ---- retention ---- */

typedef struct mission_list {
	char **mid;
	size_t n, cap;
} mission_list;

static int collect_mid(const char *mid, bool is_dir, void *p)
{
	mission_list *l = p;
	if (!is_dir)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **np = realloc(l->mid, cap * sizeof(*np));
		if (!np)
			return error_oom();
		l->mid = np;
		l->cap = cap;
	}
	if (!(l->mid[l->n] = strdup(mid)))
		return error_oom();
	l->n++;
	return 0;
}

static void report_buf(evault_line_cb cb, void *payload, evault_buf *b)
{
	for (char *p = b->ptr, *nl; p && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (cb)
			cb(p, payload);
		if (!nl)
			break;
	}
	b->size = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

typedef struct scrub_ctx {
	evault_repo *repo;
	unsigned per_mille;
	size_t picked, stored;
	uint8_t first[OBJECT_ID_LEN];
	evault_buf obj;
	evault_retention_result *res;
	evault_line_cb cb;
	void *payload;
} scrub_ctx;

static int scrub_check(scrub_ctx *c, const uint8_t id[OBJECT_ID_LEN])
{
	uint8_t actual[OBJECT_ID_LEN];
	int rc = c->repo->objects->ops->get(c->repo->objects, id, &c->obj,
					    EVAULT_CHUNK_MAX + OBJ_OVERHEAD);
	if (rc == EVAULT_ENOTFOUND) {
		evault_error_clear();
		return 0;
	}
	c->res->scrubbed++;
	if (rc == 0)
		rc = object_hash(actual, c->obj.ptr, c->obj.size);
	if (rc < 0 || sodium_memcmp(actual, id, OBJECT_ID_LEN) != 0) {
		char hex[OBJECT_HEX_LEN + 1];
		object_id_hex(hex, id);
		c->res->corrupt++;
		line_say(c->cb, c->payload, "scrub: object %s is corrupt (%s)", hex,
			 rc < 0 ? evault_error_last() : "does not hash to its name");
		evault_error_clear();
	}
	return 0;
}

static int scrub_one(const uint8_t id[OBJECT_ID_LEN], void *p)
{
	scrub_ctx *c = p;
	if (c->stored++ == 0)
		memcpy(c->first, id, OBJECT_ID_LEN);
	if (randombytes_uniform(1000) >= c->per_mille)
		return 0;
	c->picked++;
	return scrub_check(c, id);
}

typedef struct late_ctx {
	evault_repo *repo;
	int64_t now;
	policy pol;
	evault_line_cb cb;
	void *payload;
	evault_retention_result *out;
} late_ctx;

/* An erasure a device owes, reported once it is late: counted from when it
 * became owed (a close, a device revoke) or, when the history alone does
 * not date it (a member revoked), from the device's last contact. */
static int late_device(const device_owed *o, void *payload)
{
	late_ctx *c = payload;
	device_contact ct;
	char since[32], last[32];
	if (contact_read(c->repo->path, o->device->name, &ct) < 0) {
		evault_error_clear();
		memset(&ct, 0, sizeof(ct));
	}
	int64_t from = o->since ? o->since : (ct.last ? ct.last : o->hold->held);
	if (c->now - from <= (int64_t)c->pol.device_erasure_days * 86400)
		return 0;
	utc_time(since, from, true, "never");
	utc_time(last, ct.last, true, "never");
	c->out->devices_late++;
	c->out->attention = true;
	line_say(c->cb, c->payload,
		 "device %s (%s) has not erased %s (%s) since %s, more than %u days "
		 "(device-erasure-days); last contact %s",
		 o->device->name, o->device->user, o->mission->mid, o->reason, since,
		 c->pol.device_erasure_days, last);
	return 0;
}

static int64_t mission_age_days(const mission_rec *m, int64_t now)
{
	return m->created && now > m->created ? (now - m->created) / 86400 : 0;
}

int evault_retention_run(evault_repo *repo, const evault_retention_opts *opts, evault_line_cb cb,
			 void *payload, evault_retention_result *out)
{
	state *st = NULL;
	mission_list ml = {0};
	evault_buf report = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	int64_t now = opts->now ? opts->now : (int64_t)time(NULL);
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = repo_require_admin(repo, "run retention")) < 0)
		return rc;
	if (opts->now && !opts->dry_run)
		return evault_error_set(EVAULT_EINVAL,
					"--now plans for another date: it needs --dry-run");
	if ((rc = state_begin(&st, repo, false)) < 0 ||
	    (rc = state_list(st, "missions", collect_mid, &ml)) < 0)
		goto done;
	state_end(st);
	st = NULL;
	/* missions, one at a time: each step takes the lock on its own */
	for (size_t i = 0; i < ml.n && rc == 0; i++) {
		const char *mid = ml.mid[i];
		mission_rec m;
		policy pol;
		if ((rc = state_begin(&st, repo, false)) < 0 ||
		    (rc = mission_load(st, mid, &m)) < 0 || (rc = policy_load(st, &pol)) < 0)
			goto done;
		state_end(st);
		st = NULL;
		out->missions++;
		if (strcmp(m.status, "open") == 0 &&
		    mission_age_days(&m, now) > (int64_t)pol.open_days_max) {
			out->overdue++;
			out->attention = true;
			line_say(cb, payload,
				 "overdue: %s has been open %lld days (open-days-max %u)", mid,
				 (long long)mission_age_days(&m, now), pol.open_days_max);
		} else if (strcmp(m.status, "closing") == 0) {
			out->finished++;
			line_say(cb, payload, "%s close of %s, interrupted earlier",
				 opts->dry_run ? "would finish the" : "finishing the", mid);
			if (!opts->dry_run)
				rc = evault_mission_close(repo, mid, false, false, &report);
		} else if (strcmp(m.status, "expiring") == 0 ||
			   (strcmp(m.status, "closed") == 0 && m.retain_until &&
			    m.retain_until <= now)) {
			if (m.status[0] == 'e')
				out->finished++;
			else
				out->expired++;
			rc = mission_expire(repo, mid, opts->dry_run, &report);
		}
		mission_rec_clear(&m);
		report_buf(cb, payload, &report);
	}
	if (rc < 0)
		goto done;
	/* erasures devices owe (a laptop that has not synced since a close) */
	if ((rc = state_begin(&st, repo, false)) < 0)
		goto done;
	late_ctx lc = {.repo = repo, .now = now, .cb = cb, .payload = payload, .out = out};
	if ((rc = policy_load(st, &lc.pol)) == 0)
		rc = device_owed_each(st, NULL, late_device, &lc);
	state_end(st);
	st = NULL;
	if (rc < 0)
		goto done;
	/* garbage, under the lock */
	if ((rc = state_begin(&st, repo, !opts->dry_run)) < 0 ||
	    (rc = gc_locked(repo, st, opts->dry_run, now, &out->gc)) < 0)
		goto done;
	state_end(st);
	st = NULL;
	line_say(cb, payload,
		 "gc: %zu objects stored, %zu referenced, %s%zu %s (%llu bytes), %zu young kept, "
		 "%s%zu stale temporary files",
		 out->gc.stored, out->gc.referenced, opts->dry_run ? "would delete " : "",
		 out->gc.collected, opts->dry_run ? "unreferenced" : "collected",
		 (unsigned long long)out->gc.collected_bytes, out->gc.young,
		 opts->dry_run ? "would delete " : "", out->gc.tmp_removed);
	/* scrub: a sample of what is stored, re-hashed */
	scrub_ctx sc = {repo,   repo->cfg.scrub_per_mille, 0, 0, {0}, EVAULT_BUF_INIT, out, cb,
			payload};
	if (sc.per_mille && (rc = repo->objects->ops->list(repo->objects, scrub_one, &sc)) == 0 &&
	    sc.picked == 0 && sc.stored)
		rc = scrub_check(&sc, sc.first); /* at least one */
	evault_buf_dispose(&sc.obj);
	if (rc < 0)
		goto done;
	if (out->corrupt)
		out->attention = true;
	line_say(cb, payload, "scrub: %zu objects re-hashed, %zu corrupt", out->scrubbed,
		 out->corrupt);
	if (opts->dry_run)
		goto done;
	/* the run itself, one signed event */
	if ((rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = evault_buf_printf(&sum, "Retention run: %zu expired, %zu objects collected",
				    out->expired, out->gc.collected)) < 0 ||
	    (rc = evault_buf_printf(
		 &tr,
		 "Evault-Missions: %zu\nEvault-Overdue: %zu\nEvault-Expired: %zu\n"
		 "Evault-Finished: %zu\nEvault-Collected: %zu objects %llu bytes\n"
		 "Evault-Scrubbed: %zu corrupt %zu\nEvault-Devices-Late: %zu\n",
		 out->missions, out->overdue, out->expired, out->finished, out->gc.collected,
		 (unsigned long long)out->gc.collected_bytes, out->scrubbed, out->corrupt,
		 out->devices_late)) < 0)
		goto done;
	state_event ev = {NULL, "retention.run", NULL, sum.ptr, tr.ptr};
	rc = state_commit(st, &ev);
done:
	for (size_t i = 0; i < ml.n; i++)
		free(ml.mid[i]);
	free(ml.mid);
	evault_buf_dispose(&report);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	state_end(st);
	return rc;
}
