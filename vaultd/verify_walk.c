/*
 * The walk of audit verify and of the trusted head (verify.h, trust.h):
 * from the head back to the root along the single parent chain, every
 * commit checked against its parent (verify_rules.c). Memory stays
 * constant whatever the history's length. Because the walk goes
 * backwards, the failure reported is the oldest one seen, i.e. the first
 * bad commit.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#include "gitcache.h"
#include "pipeline.h"
#include "util.h"
#include "verify.h"

/*
 * The walk: one engine for audit verify and for the trusted head (trust.h).
 *
 * The calling thread walks head -> root (or -> since, a commit verified
 * before, which is not checked again), reading each commit once to find
 * its parent, and hands the commits out in batches of WALK_BATCH. Each
 * commit is checked against its parent (verify_commit; the rules need
 * nothing but the two commits, so commits are independent) by a worker
 * thread with its own repository handle and object cache, or by the
 * calling thread itself for a walk that fits in one batch or with one
 * core. Batches are merged on the calling thread in walk order (newest
 * first), a failure replacing the one before it, so the failure kept is
 * the oldest: the first bad commit, with the message a single thread
 * would give. At most WALK_SLOTS_PER_WORKER batches per worker are in
 * flight (pipeline.h), so memory does not grow with the history.
 */
#define WALK_BATCH 32
#define WALK_SLOTS_PER_WORKER 4
#define WALK_MAX_WORKERS 8

enum { ITEM_CHECK, ITEM_MERGE, ITEM_NO_PARENT };

typedef struct walk_item {
	git_oid id, parent;
	int kind;
	bool has_parent;
	/* the verdict, filled by the worker */
	bool failed;
	bool not_held; /* a mission not held on this replica: scope only */
	char vault_id[33];
	char bad_commit[41];
	char reason[512];
} walk_item;

typedef struct walk_batch {
	size_t n;
	walk_item it[WALK_BATCH];
} walk_batch;

typedef struct walk_worker {
	git_repository *git; /* the worker's own handle */
	gitcache *cache;
} walk_worker;

typedef struct walk_state {
	const verifier *proto; /* what every check shares: pins, vault, now */
	git_repository *git;   /* the calling thread's handle */
	const git_oid *since;
	git_commit *next; /* the next commit to hand out; NULL: the walk is over */
	bool met;         /* since was reached */
	bool failed;
	evault_verify_result *res;
	walk_batch *first; /* produced before choosing how many threads */
	uint64_t total;    /* events to check, for progress; 0: not known */
} walk_state;

/* The next commits of the walk into b; b->n == 0 when it is over. */
static void walk_produce(walk_state *w, walk_batch *b)
{
	b->n = 0;
	while (b->n < WALK_BATCH && w->next) {
		git_commit *c = w->next, *parent = NULL;
		if (w->since && git_oid_equal(git_commit_id(c), w->since)) {
			w->met = true;
			git_commit_free(c);
			w->next = NULL;
			break;
		}
		walk_item *it = &b->it[b->n++];
		unsigned np = git_commit_parentcount(c);
		git_object *po = NULL;
		it->id = *git_commit_id(c);
		it->has_parent = false;
		if (np > 1) {
			it->kind = ITEM_MERGE;
		} else if (np == 1 && gitcache_lookup(&po, w->git, git_commit_parent_id(c, 0),
						      GIT_OBJECT_COMMIT) < 0) {
			it->kind = ITEM_NO_PARENT;
		} else {
			parent = (git_commit *)po;
			it->kind = ITEM_CHECK;
			it->has_parent = np == 1;
			if (parent)
				it->parent = *git_commit_id(parent);
		}
		w->res->events++;
		progress_report("verify: events", w->res->events, w->total, false);
		w->res->first_time = git_commit_time(c);
		git_commit_free(c);
		w->next = parent; /* NULL: root, merge or unreadable parent; the walk ends */
	}
}

/* Checks one commit on the calling thread with ww's handle and cache. */
static void walk_check(const verifier *proto, walk_worker *ww, walk_item *it)
{
	verifier v = *proto;
	evault_verify_result scratch;
	git_object *c = NULL, *p = NULL;
	scratch.vault_id[0] = scratch.bad_commit[0] = scratch.reason[0] = '\0';
	v.git = ww->git;
	v.res = &scratch;
	v.failed = false;
	v.not_held = false;
	v.id = &it->id;
	if (it->kind == ITEM_MERGE)
		verify_bad(&v, "a merge commit: the history must be linear");
	else if (it->kind == ITEM_NO_PARENT ||
		 (it->has_parent && gitcache_lookup(&p, v.git, &it->parent, GIT_OBJECT_COMMIT) < 0))
		verify_bad(&v, "the parent commit is missing or unreadable");
	else if (gitcache_lookup(&c, v.git, &it->id, GIT_OBJECT_COMMIT) < 0)
		verify_bad(&v, "the commit is unreadable");
	else
		verify_commit(&v, (git_commit *)c, (git_commit *)p);
	git_object_free(c);
	git_object_free(p);
	it->failed = v.failed;
	it->not_held = !v.failed && v.not_held;
	memcpy(it->vault_id, scratch.vault_id, sizeof(it->vault_id));
	if (v.failed) {
		memcpy(it->bad_commit, scratch.bad_commit, sizeof(it->bad_commit));
		memcpy(it->reason, scratch.reason, sizeof(it->reason));
	}
}

/* In walk order: a later (older) failure replaces an earlier one. */
static void walk_merge(walk_state *w, const walk_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const walk_item *it = &b->it[i];
		if (it->vault_id[0])
			memcpy(w->res->vault_id, it->vault_id, sizeof(w->res->vault_id));
		if (it->not_held)
			w->res->not_held++;
		if (it->failed) {
			w->failed = true;
			memcpy(w->res->bad_commit, it->bad_commit, sizeof(w->res->bad_commit));
			memcpy(w->res->reason, it->reason, sizeof(w->res->reason));
		}
	}
}

static int walk_produce_op(void *ctx, size_t index, void *slot)
{
	walk_state *w = ctx;
	if (index == 0)
		memcpy(slot, w->first, sizeof(*w->first));
	else
		walk_produce(w, slot);
	return ((walk_batch *)slot)->n > 0;
}

static int walk_work_op(void *ctx, size_t index, void *slot, void *worker)
{
	walk_state *w = ctx;
	walk_batch *b = slot;
	walk_worker *ww = worker;
	gitcache_bind(ww->cache);
	for (size_t i = 0; i < b->n; i++)
		walk_check(w->proto, ww, &b->it[i]);
	gitcache_bind(NULL);
	return 0;
}

static int walk_consume_op(void *ctx, size_t index, void *slot)
{
	walk_merge(ctx, slot);
	return 0;
}

/* Worker threads: EVAULT_THREADS or the online cores, at most 8. */
static size_t walk_workers(void)
{
	size_t n = pipeline_default_workers();
	return n > WALK_MAX_WORKERS ? WALK_MAX_WORKERS : n;
}

/* The rest of the walk (w->first produced, more to come) on n workers.
 * 0 done, 1 not started (no handle or memory: the caller goes on alone),
 * <0 error. */
static int walk_parallel(walk_state *w, size_t n)
{
	static const pipeline_ops ops = {walk_produce_op, walk_work_op, walk_consume_op};
	size_t nslots = n * WALK_SLOTS_PER_WORKER;
	walk_worker *ww = calloc(n, sizeof(*ww));
	void **workers = calloc(n, sizeof(*workers));
	void **slots = calloc(nslots, sizeof(*slots));
	walk_batch *batches = calloc(nslots, sizeof(*batches));
	int rc = 1;
	size_t opened = 0;
	if (!ww || !workers || !slots || !batches)
		goto done;
	for (; opened < n; opened++) {
		if (git_repository_open_bare(&ww[opened].git, git_repository_path(w->git)) < 0)
			goto done;
		if (gitcache_new(&ww[opened].cache, ww[opened].git) < 0) {
			git_repository_free(ww[opened].git);
			goto done;
		}
		workers[opened] = &ww[opened];
	}
	for (size_t i = 0; i < nslots; i++)
		slots[i] = &batches[i];
	rc = pipeline_run(&ops, w, slots, nslots, workers, n);
done:
	for (size_t i = 0; i < opened; i++) {
		gitcache_free(ww[i].cache);
		git_repository_free(ww[i].git);
	}
	if (rc > 0)
		evault_error_clear();
	free(batches);
	free(slots);
	free(workers);
	free(ww);
	return rc;
}

int verify_chain(git_repository *git, const git_oid *head, const git_oid *since,
		 const char *expected_vault, bool partial, const pinned *pins, size_t npins,
		 evault_verify_result *res)
{
	verifier v;
	walk_state w;
	walk_worker self = {git, NULL};
	walk_batch *b = NULL;
	git_commit *c = NULL;
	int rc = 0;
	memset(&v, 0, sizeof(v));
	v.git = git;
	v.pins = pins;
	v.npins = npins;
	v.expected_vault = expected_vault;
	v.partial = partial;
	v.now = (int64_t)time(NULL);
	v.res = res;
	git_oid_tostr(res->head, sizeof(res->head), head);
	if (git_commit_lookup(&c, git, head) < 0)
		return verify_git_fail("cannot read the history head");
	char seq[32];
	if (trailer_get(seq, sizeof(seq), git_commit_message(c), "Evault-Seq") == 0)
		res->seq = strtoull(seq, NULL, 10);
	res->last_time = git_commit_time(c);
	memset(&w, 0, sizeof(w));
	w.proto = &v;
	w.git = git;
	w.since = since;
	w.next = c;
	w.res = res;
	w.total = since ? 0 : res->seq + 1; /* seq counts from 0 at the root */
	if (!(b = malloc(sizeof(*b))) || (rc = gitcache_new(&self.cache, git)) < 0) {
		rc = b ? rc : error_oom();
		goto done;
	}
	w.first = b;
	/* this thread's cache: with one thread, the commits the walk reads
	 * are the ones checked next */
	gitcache_bind(self.cache);
	walk_produce(&w, b);
	size_t n = w.next ? walk_workers() : 1;
	if (n > 1 && (rc = walk_parallel(&w, n)) <= 0)
		goto done;
	rc = 0;
	/* one thread: this one, batch after batch */
	while (b->n > 0) {
		for (size_t i = 0; i < b->n; i++)
			walk_check(&v, &self, &b->it[i]);
		walk_merge(&w, b);
		walk_produce(&w, b);
	}
done:
	progress_report(NULL, 0, 0, false);
	gitcache_bind(NULL);
	git_commit_free(w.next);
	gitcache_free(self.cache);
	free(b);
	if (rc < 0)
		return rc;
	v.failed = w.failed;
	if (since && !w.met && !v.failed) {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), since);
		v.id = head;
		verify_bad(&v,
			   "the history no longer contains the head verified before (%.12s): "
			   "rewritten or rolled back",
			   hex);
	}
	res->ok = !v.failed;
	return 0;
}

bool descends_or_equal(git_repository *git, const git_oid *head, const git_oid *old)
{
	git_commit *c = NULL;
	if (git_oid_equal(head, old))
		return true;
	/* the usual case, one event forward: O(1) instead of a graph search */
	if (git_commit_lookup(&c, git, head) == 0) {
		bool child = git_commit_parentcount(c) == 1 &&
			     git_oid_equal(git_commit_parent_id(c, 0), old);
		git_commit_free(c);
		if (child)
			return true;
	}
	return git_graph_descendant_of(git, head, old) == 1;
}
