/*
 * evault objects migrate: moving a vault's objects to another store (the
 * local directory or a Ceph pool) without a moment where the vault is
 * unreadable or an object unproven.
 *
 *  1. Copy: every object of the current store is copied to the target,
 *     read back from it and hashed; one whose bytes do not hash to its
 *     name is not proven. Objects already in the target (an earlier,
 *     interrupted run) are read back and proven the same way, so a run
 *     resumes where the last stopped and trusts nothing it left.
 *  2. Under the repository lock (no event can be recorded meanwhile),
 *     with no mount live: the objects stored since step 1 began are
 *     copied and proven too.
 *  3. Only when every object is proven: a signed objects.migrate event,
 *     then evault.conf names the target (written atomically). Until that
 *     rename the vault reads the old store, which is still whole.
 *  4. The old store's copies are removed (unless keep_source): every one
 *     of them was proven in the target.
 * A command that opened the vault before the switch and records an event
 * after it is refused by the lock's check of evault.conf (state.c), so
 * nothing is recorded naming objects the new store lacks.
 */
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chunk.h"
#include "evault/maint.h"
#include "mounts.h"
#include "repo.h"
#include "state.h"
#include "util.h"

#define MIGRATE_BATCH 256
#define MIGRATE_THREADS 8

typedef struct migrate_ctx {
	evault_repo *repo;
	backend *src, *dst;
	bool second_pass; /* step 2: copy only what the target lacks */
	evault_line_cb cb;
	void *payload;
	evault_migrate_result *res;
	uint8_t batch[MIGRATE_BATCH][OBJECT_ID_LEN];
	size_t n;
	/* the workers of one batch */
	pthread_mutex_t lock;
	size_t next;
	int rc;
	char err[600];
} migrate_ctx;

static bool hashes_to(const evault_buf *b, const uint8_t id[OBJECT_ID_LEN])
{
	uint8_t actual[OBJECT_ID_LEN];
	return object_hash(actual, b->ptr, b->size) == 0 &&
	       sodium_memcmp(actual, id, OBJECT_ID_LEN) == 0;
}

enum { COPIED, PRESENT, SKIPPED, UNPROVEN };

/* One object: in the target and proven there (PRESENT, COPIED), or not (UNPROVEN). */
static int copy_one(migrate_ctx *m, const uint8_t id[OBJECT_ID_LEN], evault_buf *b, uint64_t *bytes)
{
	const size_t max = EVAULT_CHUNK_MAX + OBJ_OVERHEAD;
	char hex[OBJECT_HEX_LEN + 1];
	int rc;
	object_id_hex(hex, id);
	if (m->second_pass) {
		int e = m->dst->ops->exists(m->dst, id);
		if (e != 0)
			return e < 0 ? e : SKIPPED;
	} else {
		/* there already (an earlier run): proven by reading it back */
		rc = m->dst->ops->get(m->dst, id, b, max);
		if (rc < 0 && rc != EVAULT_ENOTFOUND)
			return rc;
		if (rc == 0 && hashes_to(b, id)) {
			*bytes = b->size;
			return PRESENT;
		}
		evault_error_clear();
		/* a damaged copy in the target (a write cut short cannot make one,
		 * but a disk can): removed and copied again */
		if (rc == 0 && (rc = m->dst->ops->del(m->dst, id)) < 0)
			return rc;
	}
	rc = m->src->ops->get(m->src, id, b, max);
	if (rc == EVAULT_ENOTFOUND) { /* collected meanwhile (gc, close) */
		evault_error_clear();
		return SKIPPED;
	}
	if (rc < 0)
		return rc;
	if (!hashes_to(b, id)) {
		line_say(m->cb, m->payload,
			 "object %s is damaged in the current store: it cannot be proven in the "
			 "target (evault fsck --full)",
			 hex);
		return UNPROVEN;
	}
	if ((rc = m->dst->ops->put(m->dst, id, b->ptr, b->size)) < 0)
		return rc;
	/* proven on arrival: read back from the target and hashed */
	if ((rc = m->dst->ops->get(m->dst, id, b, max)) < 0)
		return rc;
	if (!hashes_to(b, id)) {
		line_say(m->cb, m->payload, "object %s does not read back intact from the target",
			 hex);
		return UNPROVEN;
	}
	*bytes = b->size;
	return COPIED;
}

static void *worker(void *arg)
{
	migrate_ctx *m = arg;
	evault_buf b = EVAULT_BUF_INIT;
	for (;;) {
		pthread_mutex_lock(&m->lock);
		size_t i = m->next++;
		bool stop = i >= m->n || m->rc < 0;
		pthread_mutex_unlock(&m->lock);
		if (stop)
			break;
		uint64_t bytes = 0;
		int r = copy_one(m, m->batch[i], &b, &bytes);
		pthread_mutex_lock(&m->lock);
		if (r < 0 && m->rc == 0) {
			m->rc = r;
			snprintf(m->err, sizeof(m->err), "%s", evault_error_last());
		} else if (r == COPIED) {
			m->res->copied++;
			m->res->bytes += bytes;
		} else if (r == PRESENT) {
			m->res->present++;
			m->res->bytes += bytes;
		} else if (r == UNPROVEN) {
			m->res->unproven++;
		}
		pthread_mutex_unlock(&m->lock);
		if (r == COPIED)
			evault_failpoint("migrate-copied");
	}
	evault_buf_dispose(&b);
	return NULL;
}

static int run_batch(migrate_ctx *m)
{
	pthread_t t[MIGRATE_THREADS];
	size_t nt = m->n < MIGRATE_THREADS ? m->n : MIGRATE_THREADS, started = 0;
	m->next = 0;
	for (size_t i = 0; i < nt; i++, started++)
		if (pthread_create(&t[i], NULL, worker, m) != 0)
			break;
	if (started == 0)
		worker(m);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	m->n = 0;
	if (m->rc < 0)
		return evault_error_set(m->rc, "%s", m->err);
	return 0;
}

static int list_one(const uint8_t id[OBJECT_ID_LEN], void *p)
{
	migrate_ctx *m = p;
	m->res->listed++;
	memcpy(m->batch[m->n++], id, OBJECT_ID_LEN);
	return m->n == MIGRATE_BATCH ? run_batch(m) : 0;
}

static int copy_all(migrate_ctx *m)
{
	int rc = m->src->ops->list(m->src, list_one, m);
	if (rc == 0 && m->n)
		rc = run_batch(m);
	if (rc == 0)
		rc = m->dst->ops->sync(m->dst);
	return rc;
}

typedef struct remove_ctx {
	backend *src, *dst;
	size_t removed;
} remove_ctx;

/* The old store's copy of an object proven in the target. */
static int remove_one(const uint8_t id[OBJECT_ID_LEN], void *p)
{
	remove_ctx *r = p;
	int e = r->dst->ops->exists(r->dst, id);
	if (e <= 0) /* never removed without its copy in the target */
		return e;
	int rc = r->src->ops->del(r->src, id);
	if (rc == 0 && ++r->removed % 10 == 0)
		evault_failpoint("migrate-removing");
	return rc;
}

int evault_objects_migrate(evault_repo *repo, const char *settings, bool keep_source,
			   evault_line_cb cb, void *payload, evault_migrate_result *out)
{
	config target = repo->cfg;
	backend *dst = NULL;
	state *st = NULL;
	evault_buf conf = EVAULT_BUF_INIT, p = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT,
		   sum = EVAULT_BUF_INIT;
	int rc;
	memset(out, 0, sizeof(*out));
	migrate_ctx m;
	memset(&m, 0, sizeof(m));
	m.repo = repo, m.src = repo->objects, m.cb = cb, m.payload = payload, m.res = out;
	pthread_mutex_init(&m.lock, NULL);
	if ((rc = repo_require_admin(repo, "move the vault's objects")) < 0)
		goto done;
	if (repo->replica) {
		rc = evault_error_set(EVAULT_EINVAL,
				      "a replica keeps its objects on this laptop: "
				      "move the office vault's objects at the office");
		goto done;
	}
	if ((rc = config_apply_local(&target, settings)) < 0)
		goto done;
	snprintf(out->from, sizeof(out->from), "%s", repo->cfg.objects);
	snprintf(out->to, sizeof(out->to), "%s", target.objects);
	if (strcmp(target.objects, repo->cfg.objects) == 0) {
		/* a move to a pool whose last step was cut short: the local copies */
		if (strcmp(target.objects, "local") != 0 &&
		    (rc = backend_local_open(&dst, repo->path)) == 0) {
			remove_ctx r = {dst, repo->objects, 0};
			if ((rc = dst->ops->list(dst, remove_one, &r)) == 0)
				rc = dst->ops->sync(dst);
			out->removed = r.removed;
			if (rc < 0 || r.removed)
				goto done;
		}
		rc = evault_error_set(EVAULT_EEXISTS, "the vault's objects are in %s already",
				      target.objects);
		goto done;
	}
	if ((rc = backend_open(&dst, repo->path, &target)) < 0)
		goto done;
	m.dst = dst;
	/* 1: everything there is now, without holding anyone up */
	line_say(m.cb, m.payload, "copying objects from %s to %s, each proven by its hash",
		 out->from, out->to);
	if ((rc = copy_all(&m)) < 0)
		goto done;
	/* 2: what was stored meanwhile, under the lock, no mount writing */
	if ((rc = state_begin(&st, repo, true)) < 0)
		goto done;
	long mpid;
	if (mounts_live(repo, -1, &mpid)) {
		rc =
		    evault_error_set(EVAULT_ELOCKED,
				     "the vault is mounted (process %ld): unmount it, then run the "
				     "migration again (what was copied stays, proven)",
				     mpid);
		goto done;
	}
	m.second_pass = true;
	if ((rc = copy_all(&m)) < 0)
		goto done;
	if (out->unproven) {
		rc = evault_error_set(
		    EVAULT_ECORRUPT, "%zu objects could not be proven in %s: the vault stays on %s",
		    out->unproven, out->to, out->from);
		goto done;
	}
	evault_failpoint("migrate-before-switch");
	/* 3: the switch, signed, then in force */
	if ((rc = evault_buf_printf(&sum, "Move objects to %s", target.objects)) < 0 ||
	    (rc = evault_buf_printf(&tr,
				    "Evault-Objects: %s\nEvault-Objects-From: %s\n"
				    "Evault-Objects-Proven: %zu objects %llu bytes\n",
				    target.objects, repo->cfg.objects, out->copied + out->present,
				    (unsigned long long)out->bytes)) < 0)
		goto done;
	state_event ev = {NULL, "objects.migrate", NULL, sum.ptr, tr.ptr};
	if ((rc = state_commit(st, &ev)) < 0)
		goto done;
	evault_failpoint("migrate-after-event");
	if ((rc = config_format(&conf, &target)) < 0 ||
	    (rc = config_format_local(&conf, &target)) < 0 ||
	    (rc = evault_buf_printf(&p, "%s/evault.conf", repo->path)) < 0 ||
	    (rc = file_write_atomic(p.ptr, conf.ptr, conf.size, 0644)) < 0)
		goto done;
	out->switched = true;
	state_end(st);
	st = NULL;
	evault_failpoint("migrate-after-switch");
	/* 4: the old copies */
	if (!keep_source) {
		remove_ctx r = {repo->objects, dst, 0};
		rc = repo->objects->ops->list(repo->objects, remove_one, &r);
		if (rc == 0)
			rc = repo->objects->ops->sync(repo->objects);
		out->removed = r.removed;
		if (rc < 0)
			goto done;
	}
	/* this handle reads the new store from now on */
	repo->objects->ops->free(repo->objects);
	repo->objects = dst;
	repo->cfg = target;
	dst = NULL;
done:
	state_end(st);
	if (dst)
		dst->ops->free(dst);
	pthread_mutex_destroy(&m.lock);
	evault_buf_dispose(&conf);
	evault_buf_dispose(&p);
	evault_buf_dispose(&tr);
	evault_buf_dispose(&sum);
	return rc;
}
