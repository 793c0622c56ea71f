/*
 * Files in missions (docs/format.md). put streams a source through the
 * pipeline (read -> compress/encrypt/hash/store on every core -> record ids
 * in order), makes the objects durable, then records the encrypted manifest
 * and the object list in one signed commit. get runs the pipeline the other
 * way. Memory is bounded by the pipeline's slots whatever the file size.
 *
 * Crash safety of put: objects first (each atomic), then one commit. A
 * crash before the commit leaves only unreferenced objects (collected by
 * gc) and stale tmp/ entries; the history and every file are unchanged.
 */
#include <stdio.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chunk.h"
#include "content.h"
#include "evault/file.h"
#include "evault/maint.h"
#include "files.h"
#include "layout.h"
#include "manifest.h"
#include "mission.h"
#include "pipeline.h"
#include "repo.h"
#include "util.h"

#define FID_LEN 16
#define FID_HEX (FID_LEN * 2 + 1)
#define MANIFEST_MAX (64u << 20)

typedef struct vpath {
	char mid[EVAULT_MID_MAX + 1];
	evault_class cls;
	char path[EVAULT_PATH_MAX + 1]; /* "" for the class itself */
} vpath;

/* "MID/CLASS[/PATH]"; need_path: PATH required. Trailing '/' allowed for dirs. */
static int parse_vpath(vpath *v, const char *s, bool need_path)
{
	char tmp[EVAULT_MID_MAX + 1 + 16 + 1 + EVAULT_PATH_MAX + 2];
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= sizeof(tmp))
		return evault_error_set(EVAULT_EINVAL,
					"invalid vault path (expected MID/CLASS/PATH)");
	memcpy(tmp, s, n + 1);
	if (!need_path && n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	char *cls = strchr(tmp, '/');
	if (!cls)
		return evault_error_set(EVAULT_EINVAL,
					"invalid vault path '%.80s' (expected MID/CLASS/PATH)", s);
	*cls++ = '\0';
	char *rest = strchr(cls, '/');
	if (rest)
		*rest++ = '\0';
	int rc;
	if ((rc = check_mission_id(tmp)) < 0 || (rc = evault_class_parse(&v->cls, cls)) < 0)
		return rc;
	memcpy(v->mid, tmp, strlen(tmp) + 1); /* valid ids fit */
	if (rest && (rc = check_file_path(rest)) < 0)
		return rc;
	if (need_path && !rest)
		return evault_error_set(EVAULT_EINVAL, "'%.80s' names a class, not a file", s);
	if (rest)
		memcpy(v->path, rest, strlen(rest) + 1); /* valid paths fit */
	else
		v->path[0] = '\0';
	return 0;
}

typedef file_entry entry;
typedef file_list entries;

void file_list_clear(file_list *es)
{
	for (size_t i = 0; i < es->n; i++)
		manifest_clear(&es->e[i].m);
	free(es->e);
	free(es->bad);
	memset(es, 0, sizeof(*es));
}

typedef struct scan_ctx {
	evault_repo *repo;
	const state *st;
	const char *mid;
	evault_class cls;
	const class_keys *k;
	entries *out;
	const char *want; /* only this path, or NULL for all */
} scan_ctx;

int file_load(const state *st, const char *mid, evault_class cls, const class_keys *k,
	      const char *fid, manifest *m)
{
	evault_buf path = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT, plain = EVAULT_BUF_INIT;
	int rc;
	if ((rc = layout_file_path(&path, mid, cls, fid, ".enc")) < 0 ||
	    (rc = state_read(st, path.ptr, &enc)) < 0)
		goto done;
	if ((rc = blob_open(&plain, k, OBJ_KIND_MANIFEST, fid, enc.ptr, enc.size)) < 0 ||
	    (rc = manifest_decode(m, plain.ptr, plain.size)) < 0) {
		char why[160]; /* the message is rewritten: keep what it said */
		snprintf(why, sizeof(why), "%s", evault_error_last());
		rc = evault_error_set(rc, "manifest %s of %s/%s: %s", fid, mid,
				      evault_class_name(cls),
				      strcmp(why, "no error") ? why : "does not open with the class key");
	}
done:
	evault_buf_dispose(&path);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&plain);
	return rc;
}

static int scan_one(const char *fid, void *p)
{
	scan_ctx *c = p;
	manifest m;
	int rc = 0;
	if ((rc = file_load(c->st, c->mid, c->cls, c->k, fid, &m)) < 0) {
		if (rc != EVAULT_ECORRUPT && rc != EVAULT_EAUTH)
			return rc;
		entries *es = c->out;
		file_damaged *nb = realloc(es->bad, (es->nbad + 1) * sizeof(*nb));
		if (!nb)
			return error_oom();
		es->bad = nb;
		memcpy(nb[es->nbad].fid, fid, FID_HEX);
		const char *why = evault_error_last(), *colon = strstr(why, ": ");
		if (strncmp(why, "manifest ", 9) == 0 && colon) /* the reason, not the place */
			why = colon + 2;
		snprintf(nb[es->nbad].why, sizeof(nb[es->nbad].why), "%s", why);
		es->nbad++;
		evault_error_clear();
		return 0;
	}
	if (c->want && strcmp(m.path, c->want) != 0) {
		manifest_clear(&m);
		goto done;
	}
	entries *es = c->out;
	if (es->n == es->a) {
		size_t na = es->a ? es->a * 2 : 16;
		entry *ne = realloc(es->e, na * sizeof(*ne));
		if (!ne) {
			manifest_clear(&m);
			rc = error_oom();
			goto done;
		}
		es->e = ne;
		es->a = na;
	}
	memcpy(es->e[es->n].fid, fid, FID_HEX);
	es->e[es->n].m = m;
	es->n++;
done:
	return rc;
}

int file_scan(file_list *out, evault_repo *repo, const state *st, const char *mid, evault_class cls,
	      const class_keys *k, const char *want)
{
	scan_ctx c = {repo, st, mid, cls, k, out, want};
	return layout_each_file(st, mid, cls, scan_one, &c);
}

static int scan_class(entries *out, evault_repo *repo, const state *st, const vpath *v,
		      const class_keys *k, const char *want)
{
	return file_scan(out, repo, st, v->mid, v->cls, k, want);
}

/* Opens the mission and class for the acting user: hidden unless it holds the key. */
static int open_class(evault_repo *repo, const state *st, const vpath *v, mission_rec *m,
		      class_keys **k)
{
	int rc;
	if ((rc = repo_require_actor(repo)) < 0 ||
	    (rc = mission_load_visible(repo, st, v->mid, m)) < 0)
		return rc;
	rc = mission_class_keys(repo, m, v->cls, k);
	if (rc == EVAULT_ENOTFOUND)
		evault_error_set(rc, "no such mission or class: %s/%s", v->mid,
				 evault_class_name(v->cls));
	return rc;
}

/* ---- put ---- */

typedef struct put_slot {
	uint8_t *plain;
	size_t len;
	uint8_t id[OBJECT_ID_LEN];
	backend_staged *staged; /* written, not yet named; NULL if deduplicated */
} put_slot;

/* Objects published (made durable, then named) together: one flush each. */
#define PUBLISH_BATCH 64

typedef struct put_worker {
	chunk_worker *cw;
	evault_buf obj;
} put_worker;

typedef struct put_ctx {
	evault_repo *repo;
	const class_keys *k;
	int fd;
	size_t chunk_size;
	bool eof;
	const mission_rec *mr;         /* content rules */
	crypto_hash_sha256_state *sha; /* SHA-256 of what was read, or NULL */
	char ctype[MANIFEST_CTYPE_MAX];
	uint64_t size;
	uint64_t produced; /* bytes read, bounded by EVAULT_FILE_MAX */
	uint64_t total;    /* the source's size if known, for progress */
	bool progress;     /* a put of its own (not part of an import) */
	uint8_t (*ids)[OBJECT_ID_LEN];
	size_t nids, aids;
	backend_staged *batch[PUBLISH_BATCH];
	size_t nbatch;
	/* A publisher thread flushes and names one batch while the next fills. */
	pthread_t publisher;
	bool publisher_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	backend_staged *sending[PUBLISH_BATCH];
	size_t nsending;
	bool busy, quit;
	int publish_rc;
	char publish_err[512];
} put_ctx;

static void *publisher_main(void *p)
{
	put_ctx *c = p;
	backend *b = c->repo->objects;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->busy && !c->quit)
			pthread_cond_wait(&c->cv, &c->mu);
		if (!c->busy)
			break;
		size_t n = c->nsending;
		pthread_mutex_unlock(&c->mu);
		int rc = c->publish_rc == 0 ? b->ops->publish(b, c->sending, n) : 0;
		if (rc < 0)
			snprintf(c->publish_err, sizeof(c->publish_err), "%s", evault_error_last());
		b->ops->discard(b, c->sending, n); /* after a failure, release the rest */
		pthread_mutex_lock(&c->mu);
		if (rc < 0 && c->publish_rc == 0)
			c->publish_rc = rc;
		c->busy = false;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Hands the filled batch to the publisher, waiting while it is busy. */
static int publish_async(put_ctx *c)
{
	pthread_mutex_lock(&c->mu);
	while (c->busy)
		pthread_cond_wait(&c->cv, &c->mu);
	int rc = c->publish_rc;
	if (rc == 0) {
		memcpy(c->sending, c->batch, c->nbatch * sizeof(c->batch[0]));
		c->nsending = c->nbatch;
		c->nbatch = 0;
		c->busy = true;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	if (rc < 0)
		return evault_error_set(rc, "%s", c->publish_err);
	return 0;
}

/* Waits for the publisher to finish; returns its first error. */
static int publisher_stop(put_ctx *c)
{
	if (!c->publisher_started)
		return 0;
	pthread_mutex_lock(&c->mu);
	while (c->busy)
		pthread_cond_wait(&c->cv, &c->mu);
	c->quit = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->publisher, NULL);
	c->publisher_started = false;
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	if (c->publish_rc < 0)
		return evault_error_set(c->publish_rc, "%s", c->publish_err);
	return 0;
}

static int put_produce(void *p, size_t index, void *s)
{
	put_ctx *c = p;
	put_slot *slot = s;
	if (c->eof)
		return 0;
	ssize_t n = read_full(c->fd, slot->plain, c->chunk_size);
	if (n < 0)
		return error_errno("cannot read the source", NULL);
	if ((size_t)n < c->chunk_size)
		c->eof = true;
	if (n == 0)
		return 0;
	if ((c->produced += (uint64_t)n) > EVAULT_FILE_MAX)
		return evault_error_set(EVAULT_EINVAL,
					"the source is larger than %llu bytes, the "
					"largest file a vault holds",
					(unsigned long long)EVAULT_FILE_MAX);
	slot->len = (size_t)n;
	slot->staged = NULL;
	if (c->sha) /* the reader runs in order: one pass fingerprints the source */
		crypto_hash_sha256_update(c->sha, slot->plain, slot->len);
	if (index == 0) /* the charter's content rules, from the bytes */
		return content_check(c->mr, content_classify(slot->plain, slot->len, c->ctype),
				     c->ctype) < 0
			   ? EVAULT_EREFUSED
			   : 1;
	return 1;
}

static int put_work(void *p, size_t index, void *s, void *w)
{
	put_ctx *c = p;
	put_slot *slot = s;
	put_worker *pw = w;
	int rc = chunk_seal(&pw->obj, slot->id, c->k, pw->cw, slot->plain, slot->len);
	sodium_memzero(slot->plain, slot->len);
	if (rc == 0)
		rc = c->repo->objects->ops->stage(c->repo->objects, slot->id, pw->obj.ptr,
						  pw->obj.size, pw->obj.asize, &slot->staged);
	return rc;
}

static int put_consume(void *p, size_t index, void *s)
{
	put_ctx *c = p;
	put_slot *slot = s;
	if (c->nids == c->aids) {
		size_t na = c->aids ? c->aids * 2 : 64;
		void *n = realloc(c->ids, na * OBJECT_ID_LEN);
		if (!n)
			return error_oom();
		c->ids = n;
		c->aids = na;
	}
	memcpy(c->ids[c->nids++], slot->id, OBJECT_ID_LEN);
	c->size += slot->len;
	if (c->progress)
		progress_report("put", c->size, c->total, true);
	if (slot->staged) {
		c->batch[c->nbatch++] = slot->staged;
		slot->staged = NULL;
	}
	if (c->nbatch == PUBLISH_BATCH)
		return publish_async(c);
	return 0;
}

typedef struct pool {
	void **slots, **workers;
	size_t nslots, nworkers;
} pool;

/* Chunk buffers for the pipeline; plaintext buffers are wiped on release. */
static void pool_free(pool *pl, size_t chunk_size)
{
	for (size_t i = 0; pl->slots && i < pl->nslots; i++) {
		uint8_t **buf = pl->slots[i]; /* first member of both slot kinds */
		if (buf && *buf) {
			sodium_memzero(*buf, chunk_size);
			free(*buf);
		}
		free(pl->slots[i]);
	}
	for (size_t i = 0; pl->workers && i < pl->nworkers; i++) {
		put_worker *w = pl->workers[i]; /* same layout for get workers */
		if (!w)
			continue;
		chunk_worker_free(w->cw);
		evault_buf_dispose(&w->obj);
		free(w);
	}
	free(pl->slots);
	free(pl->workers);
}

typedef struct get_slot {
	uint8_t *plain;
	size_t len;
	const uint8_t *id; /* the chunk's object, NULL for a hole */
} get_slot;

static int pool_new(pool *pl, evault_repo *repo, bool get)
{
	size_t cs = repo->cfg.chunk_size;
	memset(pl, 0, sizeof(*pl));
	/* Two workers per core keep the cores busy while others wait on the
	 * disk: direct writes and flushes (put), reads of separate object files
	 * (get). Measured in tests/bench/put_get.sh. */
	pl->nworkers = repo->nworkers * 2;
	pl->nslots = pl->nworkers * 2 + 1;
	pl->slots = calloc(pl->nslots, sizeof(void *));
	pl->workers = calloc(pl->nworkers, sizeof(void *));
	if (!pl->slots || !pl->workers)
		return error_oom();
	for (size_t i = 0; i < pl->nslots; i++) {
		size_t sz = get ? sizeof(get_slot) : sizeof(put_slot);
		uint8_t **slot = calloc(1, sz);
		if (!slot || !(*slot = malloc(cs)))
			return error_oom();
		pl->slots[i] = slot;
	}
	for (size_t i = 0; i < pl->nworkers; i++) {
		put_worker *w = calloc(1, sizeof(*w));
		if (!w)
			return error_oom();
		pl->workers[i] = w;
		if (!(w->cw = chunk_worker_new(cs, repo->cfg.zstd_level)))
			return EVAULT_ERROR;
		/* Object buffers aligned and sized in whole blocks, so the backend
		 * can write them with direct I/O; big enough never to be regrown. */
		size_t cap = (cs + OBJ_OVERHEAD + BACKEND_ALIGN) & ~(size_t)(BACKEND_ALIGN - 1);
		void *p = NULL;
		if (posix_memalign(&p, BACKEND_ALIGN, cap) != 0)
			return error_oom();
		w->obj = (evault_buf){p, 0, cap};
	}
	return 0;
}

static void random_fid(char out[FID_HEX])
{
	uint8_t b[FID_LEN];
	randombytes_buf(b, sizeof(b));
	hex_encode(out, b, sizeof(b));
}

static int objs_text(evault_buf *out, const manifest *m)
{
	int rc = 0;
	for (size_t i = 0; i < m->nobjs && rc == 0; i++) {
		char hex[OBJECT_HEX_LEN + 1];
		object_id_hex(hex, m->objs[i]);
		rc = evault_buf_printf(out, "%s\n", hex);
	}
	return rc;
}

int file_record(state *st, const char *mid, evault_class cls, const class_keys *k,
		const manifest *m, char fid[LAYOUT_FID_LEN + 1])
{
	evault_buf plain = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT,
		   objs = EVAULT_BUF_INIT;
	int rc;
	random_fid(fid);
	if ((rc = manifest_encode(&plain, m)) < 0 ||
	    (rc = blob_seal(&enc, k, OBJ_KIND_MANIFEST, fid, plain.ptr, plain.size)) < 0 ||
	    (rc = objs_text(&objs, m)) < 0 ||
	    (rc = layout_file_path(&path, mid, cls, fid, ".enc")) < 0 ||
	    (rc = state_put(st, path.ptr, enc.ptr, enc.size)) < 0 ||
	    (rc = layout_file_path(&path, mid, cls, fid, ".objs")) < 0 ||
	    (rc = state_put(st, path.ptr, objs.ptr, objs.size)) < 0)
		goto done;
done:
	sodium_memzero(plain.ptr, plain.size);
	evault_buf_dispose(&plain);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&path);
	evault_buf_dispose(&objs);
	return rc;
}

int file_unrecord(state *st, const char *mid, evault_class cls, const char *fid)
{
	evault_buf path = EVAULT_BUF_INIT;
	int rc;
	if ((rc = layout_file_path(&path, mid, cls, fid, ".enc")) < 0 ||
	    (rc = state_remove(st, path.ptr)) < 0 ||
	    (rc = layout_file_path(&path, mid, cls, fid, ".objs")) < 0 ||
	    (rc = state_remove(st, path.ptr)) < 0)
		goto done;
done:
	evault_buf_dispose(&path);
	return rc;
}

/*
 * gc deletes unreferenced objects under the repository lock: called under
 * it, this checks that every object a file names is still there now that
 * no gc can run.
 */
static int objects_present(evault_repo *repo, const manifest *m)
{
	for (size_t i = 0; i < m->nobjs; i++) {
		int e = repo->objects->ops->exists(repo->objects, m->objs[i]);
		if (e < 0)
			return e;
		if (e == 0)
			return evault_error_set(EVAULT_ERROR,
						"an object of %s was collected before its commit: "
						"store the file again",
						m->path);
	}
	return 0;
}

/*
 * The two file events, in a write state: records m under a new fid
 * (file.add, or file.replace of the nold fids in old), or removes one
 * entry (file.remove), and commits. Used by put/rm and by the mount.
 */
static int commit_record(state *st, const char *mid, evault_class cls, const class_keys *k,
			 const manifest *m, const char *const *old, size_t nold,
			 char fid[LAYOUT_FID_LEN + 1])
{
	evault_buf sum = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < nold && rc == 0; i++)
		rc = file_unrecord(st, mid, cls, old[i]);
	if (rc < 0 || (rc = file_record(st, mid, cls, k, m, fid)) < 0)
		goto done;
	if ((rc = evault_buf_printf(&sum, "%s file in %s/%s", nold ? "Replace" : "Add", mid,
				    evault_class_name(cls))) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-Class: %s\nEvault-File: %s\nEvault-Objects: %zu\n",
				    evault_class_name(cls), fid, m->nobjs)) < 0)
		goto done;
	for (size_t i = 0; i < nold && rc == 0; i++)
		rc = evault_buf_printf(&tr, "Evault-Replaces: %s\n", old[i]);
	if (rc < 0)
		goto done;
	state_event ev = {NULL, nold ? "file.replace" : "file.add", mid, sum.ptr, tr.ptr};
	rc = state_commit(st, &ev);
done:
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

static int commit_removal(state *st, const char *mid, evault_class cls, const char *fid)
{
	evault_buf sum = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	int rc;
	if ((rc = file_unrecord(st, mid, cls, fid)) == 0 &&
	    (rc = evault_buf_printf(&sum, "Remove file from %s/%s", mid, evault_class_name(cls))) ==
		0 &&
	    (rc = evault_buf_printf(&tr, "Evault-Class: %s\nEvault-File: %s\n",
				    evault_class_name(cls), fid)) == 0) {
		state_event ev = {NULL, "file.remove", mid, sum.ptr, tr.ptr};
		rc = state_commit(st, &ev);
	}
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

/* Records manifest m as a new file of class v, replacing an entry of the same path if force. */
/* Chunks sealed with fewer key generations than the class has now (a
 * revoke came while they were written) are sealed again with the newest,
 * under the lock: nothing recorded after a revoke opens with the keys the
 * revoked user held. *use is m, or re (whose path is m's, borrowed). */
static int reseal_stale(evault_repo *repo, const class_keys *k, size_t sealed_gens,
			const manifest *m, manifest *re, const manifest **use)
{
	*use = m;
	memset(re, 0, sizeof(*re));
	if (!sealed_gens || class_keys_gens(k) <= sealed_gens)
		return 0;
	int rc = file_reencrypt(repo, k, m, k, re);
	if (rc < 0)
		return rc;
	re->path = m->path;
	*use = re;
	return 0;
}

static void reseal_clear(manifest *re)
{
	re->path = NULL; /* borrowed */
	manifest_clear(re);
}

static int record_file(evault_repo *repo, const vpath *v, manifest *m, bool force, char *fid_out,
		       size_t sealed_gens)
{
	state *st = NULL;
	mission_rec mr;
	class_keys *k = NULL;
	entries old = {0};
	const char **oldfid = NULL;
	char fid[FID_HEX];
	manifest re;
	const manifest *use = m;
	int rc;
	memset(&mr, 0, sizeof(mr));
	memset(&re, 0, sizeof(re));
	/* Under the lock, on the current head: the mission may have changed meanwhile. */
	if ((rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = open_class(repo, st, v, &mr, &k)) < 0 ||
	    (rc = mission_check_writable(repo, &mr)) < 0 ||
	    (rc = scan_class(&old, repo, st, v, k, m->path)) < 0)
		goto done;
	if (old.n && !force) {
		rc = evault_error_set(EVAULT_EEXISTS,
				      "%s/%s/%s already exists (use --force to replace it)", v->mid,
				      evault_class_name(v->cls), m->path);
		goto done;
	}
	if ((rc = objects_present(repo, m)) < 0 ||
	    (rc = reseal_stale(repo, k, sealed_gens, m, &re, &use)) < 0)
		goto done;
	if (old.n && !(oldfid = calloc(old.n, sizeof(*oldfid)))) {
		rc = error_oom();
		goto done;
	}
	for (size_t i = 0; i < old.n; i++)
		oldfid[i] = old.e[i].fid;
	rc = commit_record(st, v->mid, v->cls, k, use, oldfid, old.n, fid);
	if (rc == 0 && fid_out)
		memcpy(fid_out, fid, FID_HEX);
done:
	reseal_clear(&re);
	free(oldfid);
	file_list_clear(&old);
	class_keys_free(k);
	mission_rec_clear(&mr);
	state_end(st);
	return rc;
}

int evault_file_put_fd(evault_repo *repo, const char *vp, int fd, const evault_put_opts *opts)
{
	return file_put(repo, vp, fd, opts, NULL, NULL, NULL);
}

int file_put(evault_repo *repo, const char *vp, int fd, const evault_put_opts *opts,
	     content_tally *refusals, char fid_out[LAYOUT_FID_LEN + 1], char sha_out[65])
{
	crypto_hash_sha256_state sha;
	crypto_hash_sha256_init(&sha);
	evault_put_opts defaults = EVAULT_PUT_OPTS_INIT;
	state *st = NULL;
	mission_rec mr;
	class_keys *k = NULL;
	vpath v;
	pool pl = {0};
	put_ctx c;
	manifest m;
	struct stat sb;
	int rc;

	memset(&mr, 0, sizeof(mr));
	memset(&c, 0, sizeof(c));
	memset(&m, 0, sizeof(m));
	if (!opts)
		opts = &defaults;
	if ((rc = parse_vpath(&v, vp, true)) < 0 || (rc = state_begin(&st, repo, false)) < 0 ||
	    (rc = open_class(repo, st, &v, &mr, &k)) < 0 ||
	    (rc = mission_check_writable(repo, &mr)) < 0)
		goto done;
	state_end(st);
	st = NULL;
	if ((rc = pool_new(&pl, repo, false)) < 0)
		goto done;
	c.repo = repo;
	c.k = k;
	c.fd = fd;
	c.mr = &mr;
	c.sha = sha_out ? &sha : NULL;
	snprintf(c.ctype, sizeof(c.ctype), "application/x-empty");
	c.chunk_size = repo->cfg.chunk_size;
	c.progress = !refusals;
	if (c.progress && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		c.total = (uint64_t)sb.st_size;
	static const pipeline_ops ops = {put_produce, put_work, put_consume};
	backend *b = repo->objects;
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	if (pthread_create(&c.publisher, NULL, publisher_main, &c) != 0) {
		pthread_mutex_destroy(&c.mu);
		pthread_cond_destroy(&c.cv);
		rc = evault_error_set(EVAULT_ERROR, "cannot start a thread");
		goto done;
	}
	c.publisher_started = true;
	rc = pipeline_run(&ops, &c, pl.slots, pl.nslots, pl.workers, pl.nworkers);
	if (c.progress)
		progress_report(NULL, 0, 0, false);
	int prc = publisher_stop(&c);
	if (rc == 0)
		rc = prc;
	if (rc == 0)
		rc = b->ops->publish(b, c.batch, c.nbatch);
	else
		b->ops->discard(b, c.batch, c.nbatch);
	c.nbatch = 0;
	/* Items worked but never consumed still hold staged objects. */
	for (size_t i = 0; i < pl.nslots; i++)
		b->ops->discard(b, &((put_slot *)pl.slots[i])->staged, 1);
	if (rc == EVAULT_EREFUSED) { /* traced: one content.refused event */
		char why[512];
		snprintf(why, sizeof(why), "%s", evault_error_last());
		content_tally t;
		memset(&t, 0, sizeof(t));
		content_tally_add(refusals ? refusals : &t, c.ctype);
		int e = refusals ? 0 : content_record_refusals(repo, v.mid, &t);
		rc = e < 0 ? e : evault_error_set(EVAULT_EREFUSED, "%s", why);
	}
	if (rc < 0 || (rc = b->ops->sync(b)) < 0)
		goto done;

	bool have_stat = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
	m.type = MANIFEST_TYPE_FILE;
	m.path = v.path;
	m.size = c.size;
	m.mode = opts->mode ? opts->mode & 07777 : have_stat ? sb.st_mode & 07777 : 0644;
	if (opts->mtime) {
		m.mtime = opts->mtime;
		m.mtime_nsec = opts->mtime_nsec;
	} else if (have_stat) {
		m.mtime = sb.st_mtim.tv_sec;
		m.mtime_nsec = (uint32_t)sb.st_mtim.tv_nsec;
	} else {
		m.mtime = (int64_t)time(NULL);
	}
	m.added = (int64_t)time(NULL);
	m.chunk_size = repo->cfg.chunk_size;
	memcpy(m.content_type, c.ctype, sizeof(m.content_type));
	m.nobjs = c.nids;
	m.objs = c.ids;
	rc = record_file(repo, &v, &m, opts->force, fid_out, class_keys_gens(k));
	if (rc == 0 && sha_out) {
		uint8_t h[crypto_hash_sha256_BYTES];
		crypto_hash_sha256_final(&sha, h);
		hex_encode(sha_out, h, sizeof(h));
	}
done:
	sodium_memzero(&sha, sizeof(sha)); /* it absorbed plaintext */
	publisher_stop(&c);
	pool_free(&pl, repo->cfg.chunk_size);
	free(c.ids);
	class_keys_free(k);
	mission_rec_clear(&mr);
	state_end(st);
	return rc;
}

/* ---- get ---- */

typedef struct get_ctx {
	evault_repo *repo;
	const class_keys *k;
	const manifest *m;
	manifest_walk walk;
	file_sink sink;
	void *payload;
} get_ctx;

static int get_produce(void *p, size_t index, void *s)
{
	get_ctx *c = p;
	get_slot *slot = s;
	uint64_t at;
	if (!manifest_walk_next(c->m, &c->walk, &at, &slot->id))
		return 0;
	return at == index
		   ? 1
		   : evault_error_set(EVAULT_ECORRUPT, "a file's chunk list is out of order");
}

static int get_work(void *p, size_t index, void *s, void *w)
{
	get_ctx *c = p;
	get_slot *slot = s;
	put_worker *gw = w;
	const manifest *m = c->m;
	size_t want = manifest_chunk_len(m, index);
	if (!slot->id) { /* a hole reads as zeros */
		memset(slot->plain, 0, want);
		slot->len = want;
		return 0;
	}
	int rc = c->repo->objects->ops->get(c->repo->objects, slot->id, &gw->obj,
					    m->chunk_size + OBJ_OVERHEAD);
	if (rc == EVAULT_ENOTFOUND)
		return evault_error_set(EVAULT_ECORRUPT, "%s", evault_error_last());
	if (rc < 0)
		return rc;
	rc = chunk_open(slot->plain, m->chunk_size, &slot->len, c->k, gw->cw, slot->id,
			(const uint8_t *)gw->obj.ptr, gw->obj.size);
	if (rc == 0 && slot->len != want)
		rc = evault_error_set(EVAULT_ECORRUPT,
				      "chunk %zu has %zu bytes, the manifest says %zu", index,
				      slot->len, want);
	return rc;
}

static int get_consume(void *p, size_t index, void *s)
{
	get_ctx *c = p;
	get_slot *slot = s;
	int rc = c->sink(slot->plain, slot->len, c->payload);
	sodium_memzero(slot->plain, slot->len);
	return rc;
}

int file_read(evault_repo *repo, const class_keys *k, const manifest *m, file_sink sink,
	      void *payload)
{
	pool pl = {0};
	int rc;
	if (m->chunk_size > EVAULT_CHUNK_MAX)
		return evault_error_set(EVAULT_ECORRUPT, "manifest chunk size out of range");
	if (m->size == 0)
		return 0;
	/* Chunk buffers are sized by the file's own chunk size. */
	uint32_t saved = repo->cfg.chunk_size;
	repo->cfg.chunk_size = m->chunk_size;
	rc = pool_new(&pl, repo, true);
	repo->cfg.chunk_size = saved;
	if (rc == 0) {
		get_ctx c = {repo, k, m, {0, 0, 0}, sink, payload};
		static const pipeline_ops ops = {get_produce, get_work, get_consume};
		rc = pipeline_run(&ops, &c, pl.slots, pl.nslots, pl.workers, pl.nworkers);
	}
	pool_free(&pl, m->chunk_size);
	return rc;
}

int file_store_buffer(evault_repo *repo, const class_keys *k, const void *data, size_t len,
		      manifest *m)
{
	size_t cs = repo->cfg.chunk_size, n = (len + cs - 1) / cs;
	m->size = len;
	m->chunk_size = (uint32_t)cs;
	m->nobjs = 0;
	m->objs = NULL;
	m->nholes = 0;
	m->holes = NULL;
	if (len == 0)
		return 0;
	chunk_worker *w = chunk_worker_new(cs, repo->cfg.zstd_level);
	evault_buf obj = EVAULT_BUF_INIT;
	uint8_t(*ids)[OBJECT_ID_LEN] = calloc(n, OBJECT_ID_LEN);
	int rc = !w || !ids ? error_oom() : 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t off = i * cs, part = len - off < cs ? len - off : cs;
		if ((rc = chunk_seal(&obj, ids[i], k, w, (const uint8_t *)data + off, part)) == 0)
			rc = repo->objects->ops->put(repo->objects, ids[i], obj.ptr, obj.size);
	}
	if (rc == 0) {
		m->nobjs = n;
		m->objs = ids;
		ids = NULL;
	}
	free(ids);
	evault_buf_dispose(&obj);
	chunk_worker_free(w);
	return rc;
}

/* Finds one file: its manifest (caller clears) under the state st. */
static int find_file(entries *out, evault_repo *repo, const state *st, const vpath *v,
		     mission_rec *mr, class_keys **k)
{
	int rc = open_class(repo, st, v, mr, k);
	if (rc == 0)
		rc = scan_class(out, repo, st, v, *k, v->path);
	if (rc == 0 && out->n == 0)
		rc = evault_error_set(EVAULT_ENOTFOUND, "no such file: %s/%s/%s", v->mid,
				      evault_class_name(v->cls), v->path);
	if (rc == 0 && out->n > 1)
		rc = evault_error_set(EVAULT_ECORRUPT, "%s/%s/%s is recorded twice", v->mid,
				      evault_class_name(v->cls), v->path);
	return rc;
}

typedef struct get_progress {
	int fd;
	uint64_t done, total;
} get_progress;

static int fd_sink_progress(const void *data, size_t len, void *payload)
{
	get_progress *g = payload;
	if (write_full(g->fd, data, len) < 0)
		return error_errno("cannot write the output", NULL);
	progress_report("get", g->done += len, g->total, true);
	return 0;
}

int evault_file_get_fd(evault_repo *repo, const char *vp, int fd)
{
	state *st = NULL;
	mission_rec mr;
	class_keys *k = NULL;
	entries es = {0};
	vpath v;
	int rc;
	memset(&mr, 0, sizeof(mr));
	if ((rc = parse_vpath(&v, vp, true)) < 0 || (rc = state_begin(&st, repo, false)) < 0 ||
	    (rc = find_file(&es, repo, st, &v, &mr, &k)) < 0)
		goto done;
	get_progress g = {fd, 0, es.e[0].m.size};
	rc = file_read(repo, k, &es.e[0].m, fd_sink_progress, &g);
	progress_report(NULL, 0, 0, false);
done:
	file_list_clear(&es);
	class_keys_free(k);
	mission_rec_clear(&mr);
	state_end(st);
	return rc;
}

/* ---- remove ---- */

int evault_file_remove(evault_repo *repo, const char *vp)
{
	state *st = NULL;
	mission_rec mr;
	class_keys *k = NULL;
	entries es = {0};
	vpath v;
	int rc;
	memset(&mr, 0, sizeof(mr));
	if ((rc = parse_vpath(&v, vp, true)) < 0 || (rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = find_file(&es, repo, st, &v, &mr, &k)) < 0 ||
	    (rc = mission_check_writable(repo, &mr)) < 0)
		goto done;
	rc = commit_removal(st, v.mid, v.cls, es.e[0].fid);
done:
	file_list_clear(&es);
	class_keys_free(k);
	mission_rec_clear(&mr);
	state_end(st);
	return rc;
}

int evault_file_remove_damaged(evault_repo *repo, const char *vp)
{
	state *st = NULL;
	mission_rec mr;
	class_keys *k = NULL;
	entries es = {0};
	vpath v;
	int rc;
	memset(&mr, 0, sizeof(mr));
	if ((rc = parse_vpath(&v, vp, true)) < 0)
		return rc;
	if (strlen(v.path) != FID_HEX - 1 || !is_hex(v.path, FID_HEX - 1))
		return evault_error_set(EVAULT_EINVAL,
					"'%.80s' does not end with a file id (32 hex digits, as "
					"evault ls shows a damaged entry)",
					vp);
	if ((rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = open_class(repo, st, &v, &mr, &k)) < 0 ||
	    (rc = mission_check_writable(repo, &mr)) < 0 ||
	    (rc = scan_class(&es, repo, st, &v, k, NULL)) < 0)
		goto done;
	bool damaged = false;
	for (size_t i = 0; i < es.nbad && !damaged; i++)
		damaged = strcmp(es.bad[i].fid, v.path) == 0;
	if (!damaged) {
		bool healthy = false;
		for (size_t i = 0; i < es.n && !healthy; i++)
			healthy = strcmp(es.e[i].fid, v.path) == 0;
		rc = healthy ? evault_error_set(EVAULT_EINVAL,
						"entry %s of %s/%s is not damaged: remove it by its "
						"name",
						v.path, v.mid, evault_class_name(v.cls))
			     : evault_error_set(EVAULT_ENOTFOUND, "no such entry: %s", vp);
		goto done;
	}
	rc = commit_removal(st, v.mid, v.cls, v.path);
done:
	file_list_clear(&es);
	class_keys_free(k);
	mission_rec_clear(&mr);
	state_end(st);
	return rc;
}

/* ---- fsck with keys ---- */

typedef struct keycheck_ctx {
	evault_repo *repo;
	const state *st;
	evault_line_cb cb;
	void *payload;
	evault_fsck_keys_result *res;
} keycheck_ctx;

static int keycheck_class(keycheck_ctx *c, const mission_rec *m, evault_class cls)
{
	const char *cn = evault_class_name(cls), *mid = m->mid;
	class_keys *k = NULL;
	entries es = {0};
	evault_buf path = EVAULT_BUF_INIT, objs = EVAULT_BUF_INIT, want = EVAULT_BUF_INIT;
	char line[512];
	int rc = mission_class_keys(c->repo, m, cls, &k);
	if (rc == EVAULT_ENOTFOUND) { /* not this identity's class (or erased): nothing to read */
		evault_error_clear();
		rc = 0;
		goto done;
	}
	if (rc < 0 || (rc = file_scan(&es, c->repo, c->st, mid, cls, k, NULL)) < 0)
		goto done;
	c->res->classes++;
	for (size_t i = 0; i < es.nbad; i++) {
		c->res->damaged++;
		snprintf(line, sizeof(line), "damaged entry %s/%s/%s: %s", mid, cn, es.bad[i].fid,
			 es.bad[i].why);
		c->cb(line, c->payload);
	}
	for (size_t i = 0; i < es.n && rc == 0; i++) {
		c->res->files++;
		path.size = objs.size = want.size = 0;
		if ((rc = layout_file_path(&path, mid, cls, es.e[i].fid, ".objs")) < 0 ||
		    (rc = objs_text(&want, &es.e[i].m)) < 0)
			break;
		rc = state_read(c->st, path.ptr, &objs);
		if (rc < 0 && rc != EVAULT_ENOTFOUND)
			break;
		evault_error_clear();
		if (rc < 0 || objs.size != want.size ||
		    (want.size && memcmp(objs.ptr, want.ptr, want.size) != 0)) {
			/* gc keeps what the .objs lists name: one that leaves objects out
			 * lets gc delete a live file's content */
			c->res->objs_mismatch++;
			snprintf(line, sizeof(line),
				 "%s/%s/%s: its .objs list does not name the objects its manifest "
				 "does (%s)",
				 mid, cn, es.e[i].fid, rc < 0 ? "missing" : "gc would act on it");
			c->cb(line, c->payload);
		}
		rc = 0;
	}
done:
	file_list_clear(&es);
	class_keys_free(k);
	evault_buf_dispose(&path);
	evault_buf_dispose(&objs);
	evault_buf_dispose(&want);
	return rc;
}

static int keycheck_mission(const char *mid, bool is_dir, void *p)
{
	keycheck_ctx *c = p;
	int rc = 0;
	if (!is_dir || !mission_id_valid(mid))
		return evault_error_set(EVAULT_ECORRUPT, "unexpected entry missions/%.64s", mid);
	if ((rc = mission_visible_rc(c->repo, mid)) <= 0)
		return rc;
	mission_rec m;
	if ((rc = mission_load(c->st, mid, &m)) < 0)
		return rc;
	c->res->missions++;
	for (int k = 0; k < EVAULT_CLASS_COUNT && rc == 0; k++)
		rc = keycheck_class(c, &m, (evault_class)k);
	mission_rec_clear(&m);
	return rc;
}

int evault_fsck_keys(evault_repo *repo, evault_line_cb cb, void *payload,
		     evault_fsck_keys_result *out)
{
	state *st = NULL;
	memset(out, 0, sizeof(*out));
	int rc = repo_require_actor(repo);
	if (rc == 0 && (rc = state_begin(&st, repo, false)) == 0) {
		keycheck_ctx c = {repo, st, cb, payload, out};
		rc = state_list(st, "missions", keycheck_mission, &c);
	}
	state_end(st);
	return rc;
}

/* ---- list ---- */

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const evault_entry *)a)->name, ((const evault_entry *)b)->name);
}

int evault_file_list(evault_repo *repo, const char *vp, evault_entry_cb cb, void *payload)
{
	state *st = NULL;
	mission_rec mr;
	class_keys *k = NULL;
	entries es = {0};
	evault_entry *out = NULL;
	size_t nout = 0;
	vpath v;
	int rc;
	memset(&mr, 0, sizeof(mr));
	if ((rc = parse_vpath(&v, vp, false)) < 0 || (rc = state_begin(&st, repo, false)) < 0 ||
	    (rc = open_class(repo, st, &v, &mr, &k)) < 0 ||
	    (rc = scan_class(&es, repo, st, &v, k, NULL)) < 0)
		goto done;
	size_t plen = strlen(v.path);
	bool dir_seen = plen == 0;
	if (es.n && !(out = calloc(es.n, sizeof(*out)))) {
		rc = error_oom();
		goto done;
	}
	for (size_t i = 0; i < es.n; i++) {
		const manifest *m = &es.e[i].m;
		const char *rel = m->path;
		if (plen) {
			if (strncmp(rel, v.path, plen) != 0 || rel[plen] != '/') {
				if (strcmp(rel, v.path) == 0) {
					rc = evault_error_set(EVAULT_EINVAL,
							      "%s is a file, not a directory", vp);
					goto done;
				}
				continue;
			}
			rel += plen + 1;
			dir_seen = true;
		}
		char *slash = strchr(rel, '/');
		if (slash) {
			*slash = '\0'; /* the manifest's path is ours to cut */
			bool dup = false;
			for (size_t j = 0; j < nout && !dup; j++)
				dup = out[j].is_dir && strcmp(out[j].name, rel) == 0;
			if (!dup)
				out[nout++] = (evault_entry){rel, true, 0, 0755, 0, "", NULL};
			continue;
		}
		out[nout++] =
		    (evault_entry){rel, false, m->size, m->mode, m->mtime, m->content_type, NULL};
	}
	if (!dir_seen) {
		rc = evault_error_set(EVAULT_ENOTFOUND, "no such directory: %s", vp);
		goto done;
	}
	if (nout)
		qsort(out, nout, sizeof(*out), entry_cmp);
	for (size_t i = 0; i < nout && rc == 0; i++)
		rc = cb(&out[i], payload);
	for (size_t i = 0; i < es.nbad && rc == 0 && plen == 0; i++) {
		evault_entry d = {es.bad[i].fid, false, 0, 0, 0, "", es.bad[i].why};
		rc = cb(&d, payload);
	}
done:
	free(out);
	file_list_clear(&es);
	class_keys_free(k);
	mission_rec_clear(&mr);
	state_end(st);
	return rc;
}

/* ---- changes by file id (the mount, which keeps its own index) ---- */

int file_class_tree(const state *st, const char *mid, evault_class cls, char out[41])
{
	evault_buf dir = EVAULT_BUF_INIT;
	int rc = layout_class_dir(&dir, mid, cls);
	if (rc == 0)
		rc = state_entry_id(st, dir.ptr, out);
	evault_buf_dispose(&dir);
	return rc;
}

/* Loads the mission and class key for a change by fid, under the write state. */
static int begin_change(state **st, evault_repo *repo, const char *mid, evault_class cls,
			mission_rec *mr, class_keys **k)
{
	vpath v;
	int rc;
	memset(&v, 0, sizeof(v));
	if ((rc = check_mission_id(mid)) < 0)
		return rc;
	memcpy(v.mid, mid, strlen(mid) + 1);
	v.cls = cls;
	if ((rc = state_begin(st, repo, true)) < 0 || (rc = open_class(repo, *st, &v, mr, k)) < 0 ||
	    (rc = mission_check_writable(repo, mr)) < 0)
		return rc;
	return 0;
}

int file_commit(evault_repo *repo, const char *mid, evault_class cls, const manifest *m,
		const char *replaces, const char *seen_tree, size_t sealed_gens,
		char fid[LAYOUT_FID_LEN + 1], char tree_after[41], bool *stale)
{
	state *st = NULL;
	mission_rec mr;
	class_keys *k = NULL;
	entries same = {0};
	evault_buf path = EVAULT_BUF_INIT;
	char old[LAYOUT_FID_LEN + 1] = "", tree[41];
	int rc;
	memset(&mr, 0, sizeof(mr));
	*stale = false;
	if ((rc = check_file_path(m->path)) < 0 ||
	    (rc = begin_change(&st, repo, mid, cls, &mr, &k)) < 0 ||
	    (rc = file_class_tree(st, mid, cls, tree)) < 0)
		goto done;
	if (replaces && *replaces &&
	    (rc = layout_file_path(&path, mid, cls, replaces, ".enc")) == 0 &&
	    state_exists(st, path.ptr))
		memcpy(old, replaces, LAYOUT_FID_LEN + 1);
	if (rc < 0)
		goto done;
	/* The class changed behind the caller's index: another entry may hold the path now. */
	if (!seen_tree || strcmp(seen_tree, tree) != 0) {
		*stale = true;
		if ((rc = file_scan(&same, repo, st, mid, cls, k, m->path)) < 0)
			goto done;
		if (!*old && same.n)
			memcpy(old, same.e[0].fid, LAYOUT_FID_LEN + 1);
	}
	if ((rc = objects_present(repo, m)) < 0)
		goto done;
	if (sealed_gens && class_keys_gens(k) > sealed_gens) {
		rc = evault_error_set(EVAULT_ELOCKED,
				      "the keys of %s/%s changed while the file was written (a "
				      "revoke): it is sealed again",
				      mid, evault_class_name(cls));
		goto done;
	}
	const char *olds[1] = {old};
	if ((rc = commit_record(st, mid, cls, k, m, olds, *old ? 1 : 0, fid)) < 0)
		goto done;
	rc = file_class_tree(st, mid, cls, tree_after);
done:
	file_list_clear(&same);
	class_keys_free(k);
	mission_rec_clear(&mr);
	state_end(st);
	evault_buf_dispose(&path);
	return rc;
}

int file_remove_fid(evault_repo *repo, const char *mid, evault_class cls, const char *fid,
		    char tree_after[41])
{
	state *st = NULL;
	mission_rec mr;
	class_keys *k = NULL;
	evault_buf path = EVAULT_BUF_INIT;
	int rc;
	memset(&mr, 0, sizeof(mr));
	if ((rc = begin_change(&st, repo, mid, cls, &mr, &k)) < 0 ||
	    (rc = layout_file_path(&path, mid, cls, fid, ".enc")) < 0)
		goto done;
	if (!state_exists(st, path.ptr)) { /* already gone (another writer): nothing to do */
		rc = file_class_tree(st, mid, cls, tree_after);
		goto done;
	}
	if ((rc = commit_removal(st, mid, cls, fid)) < 0)
		goto done;
	rc = file_class_tree(st, mid, cls, tree_after);
done:
	class_keys_free(k);
	mission_rec_clear(&mr);
	state_end(st);
	evault_buf_dispose(&path);
	return rc;
}

static bool entry_exists(const state *st, const char *mid, evault_class cls, const char *fid,
			 evault_buf *path)
{
	path->size = 0;
	return *fid && layout_file_path(path, mid, cls, fid, ".enc") == 0 &&
	       state_exists(st, path->ptr);
}

int file_commit_batch(evault_repo *repo, const char *mid, file_change *ch, size_t n,
		      char (*const seen_tree)[41], char (*tree_after)[41], bool *stale)
{
	state *st = NULL;
	mission_rec mr;
	class_keys *k[EVAULT_CLASS_COUNT] = {NULL};
	evault_buf path = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	size_t puts = 0, replaced = 0, removed = 0;
	bool used[EVAULT_CLASS_COUNT] = {false}, scanned[EVAULT_CLASS_COUNT] = {false};
	entries same[EVAULT_CLASS_COUNT] = {{0}};
	int rc;
	memset(&mr, 0, sizeof(mr));
	if (n == 0 || n > LAYOUT_COMMIT_MAX)
		return evault_error_set(EVAULT_EINVAL, "a commit records 1 to %d changes",
					LAYOUT_COMMIT_MAX);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)ch[i].cls >= EVAULT_CLASS_COUNT)
			return evault_error_set(EVAULT_EINVAL, "unknown class");
		if (ch[i].m && (rc = check_file_path(ch[i].m->path)) < 0)
			return rc;
		used[ch[i].cls] = true;
		ch[i].new_fid[0] = '\0';
	}
	if ((rc = check_mission_id(mid)) < 0 || (rc = state_begin(&st, repo, true)) < 0)
		goto done;
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
		vpath v;
		memset(&v, 0, sizeof(v));
		memcpy(v.mid, mid, strlen(mid) + 1);
		v.cls = (evault_class)c;
		stale[c] = false;
		if (!used[c])
			continue;
		mission_rec_clear(&mr);
		if ((rc = open_class(repo, st, &v, &mr, &k[c])) < 0 ||
		    (rc = file_class_tree(st, mid, v.cls, tree_after[c])) < 0)
			goto done;
		stale[c] = strcmp(seen_tree[c], tree_after[c]) != 0;
	}
	if ((rc = mission_check_writable(repo, &mr)) < 0)
		goto done;
	/* removals first: a path freed here may be taken by a put below */
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (ch[i].m || !entry_exists(st, mid, ch[i].cls, ch[i].fid, &path))
			continue; /* already removed by another writer */
		if ((rc = file_unrecord(st, mid, ch[i].cls, ch[i].fid)) == 0)
			rc = evault_buf_printf(&tr, "Evault-Remove: %s %s\n",
					       evault_class_name(ch[i].cls), ch[i].fid);
		removed++;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const manifest *m = ch[i].m;
		evault_class c = ch[i].cls;
		char old[LAYOUT_FID_LEN + 1] = "";
		if (!m)
			continue;
		if (entry_exists(st, mid, c, ch[i].fid, &path))
			memcpy(old, ch[i].fid, sizeof(old));
		if (!*old && stale[c]) { /* another entry may hold the path now */
			if (!scanned[c] && (rc = file_scan(&same[c], repo, st, mid, c, k[c], NULL)) < 0)
				break; /* the class read once per event, not once per file */
			scanned[c] = true;
			for (size_t j = 0; j < same[c].n && !*old; j++)
				if (strcmp(same[c].e[j].m.path, m->path) == 0)
					memcpy(old, same[c].e[j].fid, sizeof(old));
		}
		if ((rc = objects_present(repo, m)) < 0)
			break;
		if (ch[i].sealed_gens && class_keys_gens(k[c]) > ch[i].sealed_gens) {
			rc = evault_error_set(EVAULT_ELOCKED,
					      "the keys of %s/%s changed while a file was written (a "
					      "revoke): it is sealed again",
					      mid, evault_class_name(c));
			break;
		}
		if ((*old && (rc = file_unrecord(st, mid, c, old)) < 0) ||
		    (rc = file_record(st, mid, c, k[c], m, ch[i].new_fid)) < 0)
			break;
		rc = *old ? evault_buf_printf(&tr, "Evault-Put: %s %s %zu %s\n",
					      evault_class_name(c), ch[i].new_fid, m->nobjs, old)
			  : evault_buf_printf(&tr, "Evault-Put: %s %s %zu\n",
					      evault_class_name(c), ch[i].new_fid, m->nobjs);
		puts++;
		replaced += *old != '\0';
	}
	if (rc < 0 || puts + removed == 0)
		goto trees;
	if ((rc = evault_buf_printf(&sum, "Record %zu file%s in %s (%zu new, %zu changed, %zu removed)",
				    puts + removed, puts + removed == 1 ? "" : "s", mid,
				    puts - replaced, replaced, removed)) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-Files: %zu\n", puts + removed)) < 0)
		goto done;
	state_event ev = {NULL, "file.commit", mid, sum.ptr, tr.ptr};
	if ((rc = state_commit(st, &ev)) < 0)
		goto done;
trees:
	for (int c = 0; c < EVAULT_CLASS_COUNT && rc == 0; c++)
		if (used[c])
			rc = file_class_tree(st, mid, (evault_class)c, tree_after[c]);
done:
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
		class_keys_free(k[c]);
		file_list_clear(&same[c]);
	}
	mission_rec_clear(&mr);
	state_end(st);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

/* Re-encryption for a move across classes: src's stored chunks, read with
 * from, sealed again with to, one chunk at a time; holes stay holes. */
typedef struct reenc_ctx {
	evault_repo *repo;
	const class_keys *to;
	chunk_worker *w;
	evault_buf obj;
	uint8_t (*ids)[OBJECT_ID_LEN];
	size_t n;
} reenc_ctx;

static int reenc_sink(const void *data, size_t len, void *p)
{
	reenc_ctx *c = p;
	int rc = chunk_seal(&c->obj, c->ids[c->n], c->to, c->w, data, len);
	if (rc == 0)
		rc = c->repo->objects->ops->put(c->repo->objects, c->ids[c->n], c->obj.ptr,
						c->obj.size);
	if (rc == 0)
		c->n++;
	return rc;
}

int file_reencrypt(evault_repo *repo, const class_keys *from, const manifest *src,
		   const class_keys *to, manifest *dst)
{
	reenc_ctx c = {repo, to, NULL, EVAULT_BUF_INIT, NULL, 0};
	int rc;
	*dst = *src;
	dst->path = NULL;
	dst->objs = NULL;
	dst->nobjs = 0;
	dst->holes = NULL;
	dst->nholes = 0;
	if (src->nholes && !(dst->holes = malloc(src->nholes * sizeof(manifest_hole))))
		return error_oom();
	if (src->nholes)
		memcpy(dst->holes, src->holes, src->nholes * sizeof(manifest_hole));
	dst->nholes = src->nholes;
	if (src->nobjs == 0)
		return 0;
	/* The stored chunks alone, as a file without holes: every one whole but
	 * the file's own last chunk, when it is stored. */
	uint64_t last = manifest_chunk_count(src->size, src->chunk_size) - 1, index = 0;
	manifest_walk w;
	const uint8_t *id;
	manifest_walk_init(&w);
	while (manifest_walk_objs(src, &w, &index, &id))
		;
	manifest dense = *src;
	dense.nholes = 0;
	dense.holes = NULL;
	dense.size = (uint64_t)(src->nobjs - 1) * src->chunk_size +
		     (index == last ? manifest_chunk_len(src, last) : src->chunk_size);
	c.w = chunk_worker_new(src->chunk_size, repo->cfg.zstd_level);
	c.ids = calloc(src->nobjs, OBJECT_ID_LEN);
	rc = !c.w || !c.ids ? error_oom() : file_read(repo, from, &dense, reenc_sink, &c);
	if (rc == 0 && c.n != src->nobjs)
		rc = evault_error_set(EVAULT_ECORRUPT, "a file's chunks do not match its manifest");
	if (rc == 0 && (rc = repo->objects->ops->sync(repo->objects)) == 0) {
		dst->objs = c.ids;
		dst->nobjs = c.n;
		c.ids = NULL;
	}
	if (rc < 0) {
		free(dst->holes);
		dst->holes = NULL;
		dst->nholes = 0;
	}
	free(c.ids);
	evault_buf_dispose(&c.obj);
	chunk_worker_free(c.w);
	return rc;
}
