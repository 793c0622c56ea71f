/*
 * Open files (vfs.h has their lifetime rule). An ofile holds a file's
 * content as a table of chunks that are not holes, ascending by index:
 * objects already in the store (C_OBJ, with a clean decrypted copy or
 * not), and plaintext buffers being written (C_DIRTY) or sealed by a
 * worker (C_SEALING). A chunk with no entry is a hole: it reads as zeros
 * and costs nothing, so a truncate to any size is as cheap as to zero.
 * Full chunks are sealed by the workers while the writer goes on; at
 * close the rest is sealed and the file waits for the next group commit
 * (commits.c), which makes its objects durable and records its manifest. Memory per open file is bounded by
 * OF_MAX_BUFFERS chunks whatever its size.
 *
 * Invariants (of->mu):
 *   1. entries are ascending by idx, every idx < the file's chunk count;
 *   2. a buffer never holds bytes past the file's end (they read as zeros
 *      when the file grows);
 *   3. a C_SEALING entry's buffer belongs to its worker: nobody writes or
 *      frees it, and size changes wait for it; so do writes and size
 *      changes for a chunk being read ahead (loading);
 *   4. entries move when one is inserted: no centry pointer is kept across
 *      a wait or an insertion, jobs name their chunk by index;
 *   5. while a commit seals the file and takes its manifest (committing),
 *      or the file moves to another class (moving), writes and size
 *      changes wait before their next chunk: the manifest has every chunk
 *      sealed, and a write (or the rest of one) made after it leaves the
 *      file dirty for the next commit;
 *   6. an error sticks (of->err): a failed seal or publish, a refusal
 *      dropped; writes, and waits for room, end with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "files.h"
#include "util.h"
#include "vfs.h"

static uint64_t nchunks(const ofile *of)
{
	return manifest_chunk_count(of->size, of->cs);
}

static uint64_t chunk_len(const ofile *of, uint64_t i)
{
	uint64_t start = i * of->cs;
	if (start >= of->size)
		return 0;
	return of->size - start < of->cs ? of->size - start : of->cs;
}

/* ---- the chunk table ---- */

/* Position of the first entry with idx >= i. */
static size_t lower(ofile *of, uint64_t i)
{
	size_t h = of->hint; /* sequential access: the entry hinted or the next */
	if (h < of->nch && of->ch[h].idx <= i && (h + 1 == of->nch || of->ch[h + 1].idx >= i))
		return of->ch[h].idx == i ? h : h + 1;
	size_t lo = 0, hi = of->nch;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (of->ch[mid].idx < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static centry *chunk_at(ofile *of, uint64_t i)
{
	size_t p = lower(of, i);
	if (p < of->nch && of->ch[p].idx == i) {
		of->hint = p;
		return &of->ch[p];
	}
	return NULL;
}

/* The entry of chunk i, made (zeroed) if it was a hole. Moves other entries. */
static centry *chunk_insert(ofile *of, uint64_t i)
{
	size_t p = lower(of, i);
	if (p < of->nch && of->ch[p].idx == i)
		return &of->ch[p];
	if (of->nch == of->ach) {
		size_t na = of->ach ? of->ach * 2 : 16;
		centry *ne = realloc(of->ch, na * sizeof(*ne));
		if (!ne)
			return NULL;
		of->ch = ne;
		of->ach = na;
	}
	memmove(&of->ch[p + 1], &of->ch[p], (of->nch - p) * sizeof(centry));
	memset(&of->ch[p], 0, sizeof(centry));
	of->ch[p].idx = i;
	of->nch++;
	of->hint = p;
	return &of->ch[p];
}

/* ---- buffers ---- */

static void drop_buf(ofile *of, centry *e)
{
	if (e->buf) {
		buf_put(e->buf, of->cs);
		e->buf = NULL;
		of->nbufs--;
	}
}

/* zero: the caller will not overwrite it all */
static uint8_t *new_buf(ofile *of, bool zero)
{
	uint8_t *b = buf_get(of->cs, zero);
	if (b)
		of->nbufs++;
	return b;
}

/* Makes staged objects durable and named (one flush). of->mu held. */
static int publish(ofile *of)
{
	backend *b = V->repo->objects;
	int rc = 0;
	if (of->nstaged) {
		rc = b->ops->publish(b, of->staged, of->nstaged);
		b->ops->discard(b, of->staged, of->nstaged);
		of->nstaged = 0;
		for (size_t i = 0; i < of->nch; i++)
			of->ch[i].pending = false;
	}
	if (rc < 0) /* the staged objects are gone: so is what they held (invariant 6) */
		return of->err = fail(rc, "storing a file's objects");
	return 0;
}

/* Decrypts chunk i (C_OBJ, no buffer) into a buffer. of->mu held. */
static int load_chunk(ofile *of, uint64_t i, tworker *t)
{
	centry *e = chunk_at(of, i);
	int rc;
	if (!e || e->buf)
		return 0;
	while (e->pending && of->publishing) { /* staged objects with a group commit */
		pthread_cond_wait(&of->cv, &of->mu);
		if (!(e = chunk_at(of, i)) || e->buf)
			return 0;
	}
	if (e->pending && (rc = publish(of)) < 0)
		return rc;
	uint8_t *b = new_buf(of, true);
	if (!b)
		return -ENOMEM;
	size_t len = 0;
	uint8_t id[OBJECT_ID_LEN];
	memcpy(id, e->id, sizeof(id));
	rc = V->repo->objects->ops->get(V->repo->objects, id, &t->obj, of->cs + OBJ_OVERHEAD);
	if (rc == 0)
		rc = chunk_open(b, of->cs, &len, of->k, t->cw, id, (const uint8_t *)t->obj.ptr,
				t->obj.size);
	uint64_t want = chunk_len(of, i);
	/* a stored last chunk may be shorter than the file grown past it */
	if (rc == 0 && len != want && !(len < want && i + 1 == nchunks(of)))
		rc = evault_error_set(EVAULT_ECORRUPT, "a chunk of a file has the wrong length");
	if (rc < 0) {
		buf_put(b, of->cs);
		of->nbufs--;
		return fail(rc == EVAULT_ENOTFOUND ? EVAULT_ECORRUPT : rc, "reading a file");
	}
	/* zstd may use the room past the output as scratch: nothing past the end */
	memset(b + len, 0, of->cs - len);
	e = chunk_at(of, i);
	e->buf = b;
	if (i < of->lowbuf)
		of->lowbuf = i;
	return 0;
}

/* Hands chunk i (C_DIRTY) to the workers to be sealed. of->mu held. */
static void submit(ofile *of, uint64_t i)
{
	job *j = calloc(1, sizeof(*j));
	centry *e = chunk_at(of, i);
	if (!j || !e) {
		free(j);
		of->err = -ENOMEM;
		return;
	}
	e->st = C_SEALING;
	of->inflight++;
	of->refs++;
	j->of = of;
	j->idx = i;
	enqueue(j);
}

/* Reads chunk i ahead if it is stored, not in memory, and there is room. of->mu held. */
static void prefetch(ofile *of, uint64_t i)
{
	if (i >= nchunks(of) || of->inflight >= OF_MAX_INFLIGHT ||
	    of->nbufs + of->inflight >= OF_MAX_BUFFERS - 2)
		return;
	centry *e = chunk_at(of, i);
	if (!e || e->st != C_OBJ || e->buf || e->loading || e->pending)
		return;
	job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	e->loading = true;
	of->inflight++;
	of->refs++;
	j->of = of;
	j->idx = i;
	j->load = true;
	enqueue(j);
}

/* ---- jobs (worker threads) ---- */

void load_job(chunk_worker *cw, evault_buf *rd, job *j)
{
	ofile *of = j->of;
	uint8_t id[OBJECT_ID_LEN];
	pthread_mutex_lock(&of->mu);
	centry *e = chunk_at(of, j->idx);
	memcpy(id, e->id, OBJECT_ID_LEN); /* a loading entry stays (invariant 3) */
	uint32_t cs = of->cs;
	size_t want = (size_t)chunk_len(of, j->idx);
	pthread_mutex_unlock(&of->mu);
	uint8_t *buf = buf_get(cs, false);
	size_t len = 0;
	int rc =
	    buf ? V->repo->objects->ops->get(V->repo->objects, id, rd, cs + OBJ_OVERHEAD) : -ENOMEM;
	if (rc == 0)
		rc = chunk_open(buf, cs, &len, of->k, cw, id, (const uint8_t *)rd->ptr, rd->size);
	evault_error_clear(); /* a failure is met again, and reported, by the reader */
	pthread_mutex_lock(&of->mu);
	e = chunk_at(of, j->idx);
	if (e && rc == 0 && len == want && e->st == C_OBJ && !e->buf &&
	    memcmp(e->id, id, OBJECT_ID_LEN) == 0) {
		memset(buf + len, 0, cs - len); /* zstd may leave scratch bytes there */
		e->buf = buf;
		of->nbufs++;
		buf = NULL;
		if (j->idx < of->lowbuf)
			of->lowbuf = j->idx;
	}
	if (e)
		e->loading = false;
	of->inflight--;
	pthread_cond_broadcast(&of->cv);
	pthread_mutex_unlock(&of->mu);
	buf_put(buf, cs);
	ofile_unref(of);
}

void seal_job(chunk_worker *cw, evault_buf *obj, job *j)
{
	ofile *of = j->of;
	backend *b = V->repo->objects;
	uint8_t id[OBJECT_ID_LEN];
	backend_staged *staged = NULL;
	pthread_mutex_lock(&of->mu);
	centry *e = chunk_at(of, j->idx);
	uint8_t *plain = e->buf; /* ours while C_SEALING (invariant 3) */
	size_t len = (size_t)chunk_len(of, j->idx);
	const class_keys *k = of->k;
	pthread_mutex_unlock(&of->mu);
	size_t gens = class_keys_gens(k); /* chunk_seal uses this many or more */
	int rc = chunk_seal(obj, id, k, cw, plain, len);
	if (rc == 0)
		rc = b->ops->stage(b, id, obj->ptr, obj->size, obj->asize, &staged);
	pthread_mutex_lock(&of->mu);
	e = chunk_at(of, j->idx);
	if (rc < 0) {
		of->err = fail(rc, "sealing a chunk");
		e->st = C_DIRTY;
	} else {
		e->st = C_OBJ;
		e->gen = (uint8_t)gens;
		memcpy(e->id, id, OBJECT_ID_LEN);
		drop_buf(of, e);
		if (staged) {
			e->pending = true;
			of->staged[of->nstaged++] = staged;
			if (of->nstaged == STAGE_BATCH)
				publish(of);
		}
	}
	of->inflight--;
	pthread_cond_broadcast(&of->cv);
	pthread_mutex_unlock(&of->mu);
	ofile_unref(of);
}

/* ---- life ---- */

static ofile *ofile_new(vmission *vm, evault_class cls)
{
	ofile *of = calloc(1, sizeof(*of));
	if (!of)
		return NULL;
	pthread_mutex_init(&of->mu, NULL);
	pthread_cond_init(&of->cv, NULL);
	of->vm = vm;
	atomic_fetch_add(&vm->nfiles, 1);
	of->cls = cls;
	of->k = vm->c[cls].k;
	of->cs = V->repo->cfg.chunk_size;
	of->mode = 0644;
	return of;
}

/* The chunk table of a committed version. of->mu held (or of not shared yet). */
static int load_manifest(ofile *of, const manifest *m)
{
	of->cs = m->chunk_size ? m->chunk_size : of->cs;
	of->size = m->size;
	of->mode = m->mode;
	of->mtime = (struct timespec){(time_t)m->mtime, (long)m->mtime_nsec};
	of->ctime = (struct timespec){(time_t)m->added, 0};
	memcpy(of->ctype, m->content_type, sizeof(of->ctype));
	of->classified = true;
	of->nch = 0;
	of->hint = 0;
	of->lowbuf = UINT64_MAX;
	if (m->nobjs > of->ach) {
		centry *ne = realloc(of->ch, m->nobjs * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		of->ch = ne;
		of->ach = m->nobjs;
	}
	manifest_walk w;
	uint64_t idx;
	const uint8_t *id;
	manifest_walk_init(&w);
	while (manifest_walk_objs(m, &w, &idx, &id)) {
		centry *e = &of->ch[of->nch++];
		memset(e, 0, sizeof(*e));
		e->idx = idx;
		e->st = C_OBJ;
		memcpy(e->id, id, OBJECT_ID_LEN);
	}
	return 0;
}

void ofile_discard(ofile *of)
{
	pthread_mutex_lock(&of->mu);
	of->refs = 1;
	pthread_mutex_unlock(&of->mu);
	ofile_unref(of);
}

void of_ref(ofile *of)
{
	pthread_mutex_lock(&of->mu);
	of->refs++;
	pthread_mutex_unlock(&of->mu);
}

void ofile_unref(ofile *of)
{
	pthread_mutex_lock(&of->mu);
	bool last = --of->refs == 0;
	pthread_mutex_unlock(&of->mu);
	if (!last)
		return;
	for (size_t i = 0; i < of->nch; i++)
		drop_buf(of, &of->ch[i]);
	V->repo->objects->ops->discard(V->repo->objects, of->staged, of->nstaged);
	free(of->ch);
	pthread_mutex_destroy(&of->mu);
	pthread_cond_destroy(&of->cv);
	atomic_fetch_sub(&of->vm->nfiles, 1); /* last use of the mission */
	free(of);
}

int ofile_open(inode *in, const vpath *p, ofile **out)
{
	ofile *of = in->of;
	if (of) {
		of->users++;
		pthread_mutex_lock(&of->mu);
		of->refs++;
		pthread_mutex_unlock(&of->mu);
		*out = of;
		return 0;
	}
	fnode *n = find_file(p->c, p->rel);
	if (!n)
		return -ENOENT;
	if (!(of = ofile_new(p->vm, p->cls)))
		return -ENOMEM;
	of->refs = 1;
	if (*n->fid) {
		if (load_manifest(of, &n->m) < 0) {
			ofile_unref(of);
			return -ENOMEM;
		}
		memcpy(of->fid, n->fid, sizeof(of->fid));
	} else { /* a placeholder of a file being made: only while bound, never here */
		of->mode = n->m.mode;
		of->mtime = of->ctime =
		    (struct timespec){(time_t)n->m.mtime, (long)n->m.mtime_nsec};
	}
	of->atime = n->atime;
	of->users = 1;
	of->in = in;
	in->of = of;
	*out = of;
	return 0;
}

/* Unbinds of from its inode. V->mu held. */
static void unbind(ofile *of)
{
	inode *in = of->in;
	if (!in)
		return;
	in->of = NULL;
	of->in = NULL;
	inode_release(in);
}

void ofile_close(ofile *of)
{
	if (--of->users == 0 && of->in) {
		inode *in = of->in;
		vpath p;
		fnode *n;
		if (inode_resolve(in, &p) == 0 && (n = find_file(p.c, p.rel))) {
			pthread_mutex_lock(&of->mu);
			n->atime = of->atime; /* kept in the index (not recorded) */
			pthread_mutex_unlock(&of->mu);
		}
		/* a new file never recorded (its commit failed): not in the vault */
		if (!*of->fid && !of->unlinked && inode_resolve(in, &p) == 0) {
			n = find_file(p.c, p.rel);
			if (n && !*n->fid) {
				unlink_file(p.c, n, true);
				free_node(n);
			}
			queue_invalidation(in->parent ? in->parent->ino : 0, in->name);
			inode_unlink(in);
		}
		unbind(of);
	}
	ofile_unref(of);
}

void of_unlinked(ofile *of)
{
	pthread_mutex_lock(&of->mu);
	of->unlinked = true;
	pthread_mutex_unlock(&of->mu);
}

static void wait_idle(ofile *of)
{
	while (of->inflight)
		pthread_cond_wait(&of->cv, &of->mu);
}

void of_hold(ofile *of)
{
	pthread_mutex_lock(&of->mu);
	of->moving = true;
	pthread_mutex_unlock(&of->mu);
}

void of_unhold(ofile *of)
{
	pthread_mutex_lock(&of->mu);
	of->moving = false;
	pthread_cond_broadcast(&of->cv);
	pthread_mutex_unlock(&of->mu);
}

int of_rekey(ofile *of, evault_class cls, const manifest *m, const char *fid)
{
	int rc = 0;
	pthread_mutex_lock(&of->mu);
	wait_idle(of);
	for (size_t i = 0; i < of->nch && !of->dirty; i++)
		of->dirty = of->ch[i].st != C_OBJ;
	if (of->dirty) { /* its commit before the move failed: it stays where it was */
		rc = -EIO;
		goto done;
	}
	for (size_t i = 0; i < of->nch; i++)
		drop_buf(of, &of->ch[i]);
	V->repo->objects->ops->discard(V->repo->objects, of->staged, of->nstaged);
	of->nstaged = 0;
	of->cls = cls;
	of->k = of->vm->c[cls].k;
	if ((rc = load_manifest(of, m)) < 0)
		goto done;
	snprintf(of->fid, sizeof(of->fid), "%s", fid);
done:
	pthread_mutex_unlock(&of->mu);
	return rc;
}

/* ---- reading and writing ---- */

/* Content rules from the file's first bytes. of->mu held. */
static int classify(ofile *of, const uint8_t *data, size_t len)
{
	content_kind kind = content_classify(data, len, of->ctype);
	of->classified = true;
	mission_rec r; /* what the rules read of the mission, without V->mu */
	memset(&r, 0, sizeof(r));
	memcpy(r.mid, of->vm->mid, sizeof(r.mid));
	r.photo_authorised = atomic_load(&of->vm->photos_ok);
	if (content_check(&r, kind, of->ctype) == 0)
		return 0;
	of->refused = true;
	const char *why = evault_error_last();
	snprintf(of->why, sizeof(of->why), "%s",
		 strncmp(why, "refused: ", 9) == 0 ? why + 9 : why);
	syslog(LOG_WARNING, "evault mount: %s/%s: %s", of->vm->mid, evault_class_name(of->cls),
	       evault_error_last());
	fprintf(stderr, "evault: %s/%s: %s\n", of->vm->mid, evault_class_name(of->cls),
		evault_error_last());
	return -EACCES;
}

/* Waits while a commit or a move holds writers off (invariant 5). of->mu held. */
static void wait_commit(ofile *of)
{
	while (of->committing || of->moving)
		pthread_cond_wait(&of->cv, &of->mu);
}

/* Waits while chunk i is being sealed or read ahead. of->mu held. */
static void wait_chunk(ofile *of, uint64_t i)
{
	for (centry *e; (e = chunk_at(of, i)) && (e->st == C_SEALING || e->loading);)
		pthread_cond_wait(&of->cv, &of->mu);
}

/* A writable buffer for chunk i, loaded or zeroed. of->mu held. */
static int chunk_for_write(ofile *of, uint64_t i, bool whole)
{
	int rc;
	wait_commit(of);
	wait_chunk(of, i);
	centry *e = chunk_at(of, i);
	if (e && e->st == C_DIRTY)
		return 0;
	if (e && !e->buf && !whole) {
		tworker *t = thread_worker(of->cs);
		if (!t)
			return -ENOMEM;
		if ((rc = load_chunk(of, i, t)) < 0)
			return rc;
	}
	uint8_t *b = NULL;
	if (!(e = chunk_at(of, i)) || !e->buf) {
		if (!(b = new_buf(of, !whole)))
			return -ENOMEM;
		if (!e && !(e = chunk_insert(of, i))) {
			buf_put(b, of->cs);
			of->nbufs--;
			return -ENOMEM;
		}
		e->buf = b;
	}
	if (i < of->lowbuf)
		of->lowbuf = i;
	e->st = C_DIRTY;
	e->pending = false;
	of->dirty = true;
	return 0;
}

/* Seals buffers (lowest first, not chunk keep) until under the bound. of->mu held. */
static int make_room(ofile *of, uint64_t keep)
{
	size_t p = of->lowbuf == UINT64_MAX ? of->nch : lower(of, of->lowbuf);
	while (p < of->nch && !of->ch[p].buf)
		p++; /* buffers sit near the writer: no scan from chunk 0 */
	of->lowbuf = p < of->nch ? of->ch[p].idx : UINT64_MAX;
	for (; p < of->nch && of->nbufs >= OF_MAX_BUFFERS - 1; p++) {
		centry *e = &of->ch[p];
		if (e->idx == keep || !e->buf)
			continue;
		if (e->st == C_OBJ)
			drop_buf(of, e);
		else if (e->st == C_DIRTY && chunk_len(of, e->idx) > 0)
			submit(of, e->idx);
	}
	while (of->inflight >= OF_MAX_INFLIGHT || of->nbufs >= OF_MAX_BUFFERS) {
		if (of->err && !of->inflight) /* a failed seal keeps its buffer: no room comes */
			return of->err;
		pthread_cond_wait(&of->cv, &of->mu);
	}
	return 0;
}

/* Sets the size: chunks past the end dropped, a partial last chunk zero-filled. of->mu held. */
static int set_size(ofile *of, uint64_t size)
{
	int rc;
	if (size > EVAULT_FILE_MAX)
		return -EFBIG;
	uint64_t n = manifest_chunk_count(size, of->cs);
	/* Only the chunks this touches must be at rest: the ones dropped, and
	 * (in chunk_for_write) the old or new partial last one. */
	for (bool busy = true; busy;) {
		busy = false;
		for (size_t p = lower(of, n); p < of->nch && !busy; p++)
			busy = of->ch[p].st == C_SEALING || of->ch[p].loading;
		if (busy)
			pthread_cond_wait(&of->cv, &of->mu);
	}
	uint64_t old = of->size;
	/* The old last chunk grows: sealed again at its new length (its bytes
	 * past the old end are zeros already: invariant 2). */
	if (size > old && old % of->cs) {
		uint64_t last = old / of->cs;
		if (chunk_at(of, last) && (rc = chunk_for_write(of, last, false)) < 0)
			return rc;
	}
	size_t p = lower(of, n);
	for (size_t i = p; i < of->nch; i++)
		drop_buf(of, &of->ch[i]);
	of->nch = p;
	if (size < old && size % of->cs && n > 0 && chunk_at(of, n - 1)) {
		if ((rc = chunk_for_write(of, n - 1, false)) < 0)
			return rc;
		centry *e = chunk_at(of, n - 1);
		memset(e->buf + size % of->cs, 0, of->cs - size % of->cs);
	}
	of->size = size;
	of->dirty = true;
	of->mtime = of->ctime = now_ts();
	return 0;
}

int of_truncate(ofile *of, uint64_t size)
{
	pthread_mutex_lock(&of->mu);
	wait_commit(of);
	int rc = of->err ? of->err : set_size(of, size);
	if (rc == 0 && size < CONTENT_SNIFF_MAX)
		of->classified = false; /* the first bytes changed: told again at close */
	pthread_mutex_unlock(&of->mu);
	return rc;
}

int of_write(ofile *of, const char *data, size_t len, off_t off)
{
	int rc = 0;
	pthread_mutex_lock(&of->mu);
	wait_commit(of);
	if (of->err || of->refused) {
		rc = of->refused ? -EACCES : of->err;
		goto done;
	}
	if (off < 0 || (uint64_t)off > EVAULT_FILE_MAX || len > EVAULT_FILE_MAX - (uint64_t)off) {
		rc = -EFBIG;
		goto done;
	}
	uint64_t end = (uint64_t)off + len;
	if (end > of->size && (rc = set_size(of, end)) < 0)
		goto done;
	size_t done_ = 0;
	while (done_ < len) {
		uint64_t pos = (uint64_t)off + done_;
		uint64_t i = pos / of->cs;
		size_t in = (size_t)(pos % of->cs);
		size_t n = of->cs - in < len - done_ ? of->cs - in : len - done_;
		bool whole = in == 0 && (n == of->cs || pos + n >= of->size);
		if ((rc = make_room(of, i)) < 0 || (rc = chunk_for_write(of, i, whole)) < 0)
			goto done;
		centry *e = chunk_at(of, i);
		memcpy(e->buf + in, data + done_, n);
		if (whole && n < of->cs) /* the file ends here: nothing past it */
			memset(e->buf + n, 0, of->cs - n);
		done_ += n;
		/* Whatever writes the first bytes (first or last, once or again)
		 * has the content told again before the chunk leaves memory; too
		 * few bytes yet: at close. */
		if (i == 0 && in < CONTENT_SNIFF_MAX) {
			size_t head = (size_t)chunk_len(of, 0);
			of->classified = false;
			if (head > CONTENT_SNIFF_MAX)
				head = CONTENT_SNIFF_MAX;
			if (head >= 512 && (rc = classify(of, e->buf, head)) < 0)
				goto done;
		}
		/* a chunk filled to its end by a sequential writer is sealed now */
		if (in + n == of->cs)
			submit(of, i);
	}
	of->dirty = true;
	of->mtime = of->ctime = now_ts();
	rc = (int)len;
done:
	pthread_mutex_unlock(&of->mu);
	return rc;
}

int of_read(ofile *of, char *out, size_t len, off_t off)
{
	int rc = 0;
	size_t got = 0;
	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&of->mu);
	tworker *t = NULL; /* made only when a chunk must be decrypted here */
	while (got < len && (uint64_t)off + got < of->size) {
		uint64_t pos = (uint64_t)off + got;
		uint64_t i = pos / of->cs;
		size_t in = (size_t)(pos % of->cs);
		size_t n = (size_t)(chunk_len(of, i) - in);
		if (n > len - got)
			n = len - got;
		wait_chunk(of, i);
		for (uint64_t k = 1; k <= READAHEAD; k++)
			prefetch(of, i + k);
		centry *e = chunk_at(of, i);
		if (e && !e->buf) {
			if ((rc = make_room(of, i)) < 0)
				goto done;
			wait_chunk(of, i);
			if (!t && !(t = thread_worker(of->cs))) {
				rc = -ENOMEM;
				goto done;
			}
			if ((rc = load_chunk(of, i, t)) < 0)
				goto done;
			e = chunk_at(of, i);
		}
		if (!e || !e->buf) { /* a hole (or a chunk dropped meanwhile by a truncate) */
			memset(out + got, 0, n);
		} else {
			memcpy(out + got, e->buf + in, n);
			/* read to its end: a clean copy is not kept */
			if (in + n == chunk_len(of, i) && e->st == C_OBJ)
				drop_buf(of, e);
		}
		got += n;
	}
	rc = (int)got;
done:
	pthread_mutex_unlock(&of->mu);
	return rc;
}

/* ---- commit ---- */

/* The manifest of of's content (every chunk sealed). of->mu held. */
static int build_manifest(ofile *of, manifest *m, const char *path)
{
	memset(m, 0, sizeof(*m));
	m->type = MANIFEST_TYPE_FILE;
	m->path = (char *)path;
	m->size = of->size;
	m->mode = of->mode & 07777;
	m->mtime = (int64_t)of->mtime.tv_sec;
	m->mtime_nsec = (uint32_t)of->mtime.tv_nsec;
	m->added = (int64_t)time(NULL);
	memcpy(m->content_type, of->ctype, sizeof(m->content_type));
	m->chunk_size = of->cs;
	uint64_t n = nchunks(of), prev = 0;
	size_t runs = 0;
	for (size_t i = 0; i < of->nch; prev = of->ch[i++].idx + 1) {
		if (of->ch[i].st != C_OBJ || of->ch[i].idx >= n) /* invariants 1 and 5 */
			return evault_error_set(EVAULT_ERROR,
						"a file's chunk table is inconsistent");
		runs += of->ch[i].idx > prev;
	}
	runs += n > prev;
	if ((of->nch && !(m->objs = malloc(of->nch * OBJECT_ID_LEN))) ||
	    (runs && !(m->holes = malloc(runs * sizeof(manifest_hole))))) {
		free(m->objs);
		m->objs = NULL;
		return -ENOMEM;
	}
	prev = 0;
	for (size_t i = 0; i < of->nch; prev = of->ch[i++].idx + 1) {
		if (of->ch[i].idx > prev)
			m->holes[m->nholes++] = (manifest_hole){prev, of->ch[i].idx - prev};
		memcpy(m->objs[m->nobjs++], of->ch[i].id, OBJECT_ID_LEN);
	}
	if (n > prev)
		m->holes[m->nholes++] = (manifest_hole){prev, n - prev};
	return 0;
}

/*
 * Seals the whole file for a commit: checks it is where it was opened,
 * tells its content if not yet, seals again chunks sealed with an older key
 * generation, seals every dirty chunk. of->mu held. 0: sealed, and
 * of->committing is set (writers wait until seal_end); 1: nothing to
 * commit; < 0: an error (-EACCES: refused).
 */
static int seal_all(ofile *of, vpath *p, bool rekey)
{
	int rc = 0;
	if (!of->dirty || of->unlinked || !of->in)
		return 1;
	if (of->refused || of->err)
		return of->refused ? -EACCES : of->err;
	if (inode_resolve(of->in, p) < 0 || p->kind != I_FILE || p->vm != of->vm ||
	    p->cls != of->cls) {
		rc = evault_error_set(EVAULT_ERROR, "a file of %s is no longer where it was opened",
				      of->vm->mid);
		return fail(rc, "committing a file");
	}
	of->committing = true; /* invariant 5 */
	wait_idle(of);
	if (!of->classified) { /* small files written in small pieces: the first bytes now */
		size_t n0 = (size_t)chunk_len(of, 0);
		if (n0 && chunk_at(of, 0)) {
			tworker *t = thread_worker(of->cs);
			if (!t)
				return -ENOMEM;
			if ((rc = load_chunk(of, 0, t)) < 0)
				return rc;
			if ((rc = classify(of, chunk_at(of, 0)->buf, n0)) < 0)
				return rc;
		} else {
			snprintf(of->ctype, sizeof(of->ctype),
				 n0 ? "application/octet-stream" : "application/x-empty");
			of->classified = true;
		}
	}
	/* A revoke made elsewhere adds a key generation: chunks sealed here
	 * with an older one are sealed again, so that nothing recorded after a
	 * revoke opens with the keys the revoked user held. The keys are read
	 * once per class and group commit (the event checks them again). */
	vclass *vc = &of->vm->c[of->cls];
	if (rekey && vc->keys_run != V->run) {
		if (refresh_keys(of->vm, of->cls) < 0)
			return fail(EVAULT_ERROR, "reading a mission's keys");
		vc->keys_run = V->run;
	}
	size_t cur = class_keys_gens(of->k);
	for (size_t i = 0; i < of->nch; i++) {
		centry *e = &of->ch[i];
		if (e->st != C_OBJ || !e->gen || e->gen >= cur)
			continue;
		tworker *t = e->buf ? NULL : thread_worker(of->cs);
		if (!e->buf && (!t || (rc = load_chunk(of, e->idx, t)) < 0))
			return t ? rc : -ENOMEM;
		e = &of->ch[i];
		e->st = C_DIRTY;
		e->gen = 0;
	}
	for (bool again = true; again && !of->err;) { /* readers may hand chunks out too */
		again = false;
		for (size_t i = 0; i < of->nch; i++)
			if (of->ch[i].st == C_DIRTY)
				submit(of, of->ch[i].idx);
		wait_idle(of);
		for (size_t i = 0; i < of->nch && !again; i++)
			again = of->ch[i].st != C_OBJ;
	}
	return of->err;
}

/* Writers go on (invariant 5). of->mu held. */
static void seal_end(ofile *of)
{
	if (of->committing) {
		of->committing = false;
		pthread_cond_broadcast(&of->cv);
	}
}

int of_prepare(ofile *of)
{
	vpath p;
	pthread_mutex_lock(&of->mu);
	int rc = seal_all(of, &p, false);
	seal_end(of);
	pthread_mutex_unlock(&of->mu);
	return rc;
}

int of_snapshot(ofile *of, vpath *p, manifest *m, size_t *sealed_gens, stage_list *sl)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_lock(&of->mu);
	int rc = seal_all(of, p, true);
	if (rc == 0 && sl->n + of->nstaged > sl->a) {
		size_t a = (sl->n + of->nstaged) * 2;
		backend_staged **v = realloc(sl->v, a * sizeof(*v));
		if (v) {
			sl->v = v;
			sl->a = a;
		} else {
			rc = -ENOMEM;
		}
	}
	if (rc == 0)
		rc = build_manifest(of, m, p->rel);
	if (rc != 0) {
		seal_end(of);
		pthread_mutex_unlock(&of->mu);
		return rc;
	}
	*sealed_gens = 0; /* the fewest generations a chunk was sealed with here */
	for (size_t i = 0; i < of->nch; i++)
		if (of->ch[i].gen && (!*sealed_gens || of->ch[i].gen < *sealed_gens))
			*sealed_gens = of->ch[i].gen;
	/* the staged objects go with the group: readers of them wait (publishing) */
	if (of->nstaged)
		memcpy(sl->v + sl->n, of->staged, of->nstaged * sizeof(*of->staged));
	sl->n += of->nstaged;
	of->nstaged = 0;
	of->publishing = true;
	pthread_mutex_unlock(&of->mu); /* committing stays: writers wait for the publish */
	return 0;
}

void of_snapshot_end(ofile *of, int publish_rc)
{
	pthread_mutex_lock(&of->mu);
	for (size_t i = 0; i < of->nch; i++)
		of->ch[i].pending = false;
	if (publish_rc < 0) /* the staged objects are gone: so is what they held (invariant 6) */
		of->err = publish_rc;
	else
		of->dirty = false;
	of->publishing = false;
	seal_end(of);
	pthread_cond_broadcast(&of->cv);
	pthread_mutex_unlock(&of->mu);
}

void of_recorded(ofile *of, const vpath *p, manifest *m, const char *fid, int rc)
{
	pthread_mutex_lock(&of->mu);
	if (rc < 0) {
		of->dirty = true;
		pthread_mutex_unlock(&of->mu);
		return;
	}
	memcpy(of->fid, fid, sizeof(of->fid));
	if (of->in)
		snprintf(of->in->cached_fid, sizeof(of->in->cached_fid), "%s", fid);
	pthread_mutex_unlock(&of->mu);
	/* the index entry follows the committed version */
	vclass *c = p->c;
	fnode *n = find_file(c, p->rel);
	if (!n && (n = calloc(1, sizeof(*n)))) {
		n->m.path = strdup(p->rel);
		if (!n->m.path || link_file(c, n, true) < 0) {
			free_node(n);
			n = NULL;
		}
	}
	if (n) {
		char *path = n->m.path;
		struct timespec at = n->atime;
		n->m.path = NULL;
		manifest_clear(&n->m);
		n->m = *m;
		n->m.path = path;
		n->atime = at;
		memcpy(n->fid, fid, LAYOUT_FID_LEN + 1);
		memset(m, 0, sizeof(*m));
	}
}

void of_drop_refused(ofile *of)
{
	char ctype[MANIFEST_CTYPE_MAX], why[REFUSAL_WHY_MAX];
	pthread_mutex_lock(&of->mu);
	bool refused = of->refused;
	memcpy(ctype, of->ctype, sizeof(ctype));
	memcpy(why, of->why, sizeof(why));
	pthread_mutex_unlock(&of->mu);
	if (!refused)
		return;
	inode *in = of->in;
	vpath p;
	content_tally_add(&of->vm->refused, ctype);
	bool named = in && inode_resolve(in, &p) == 0;
	note_refusal(of->vm, of->cls, named ? p.rel : NULL, why);
	if (named) {
		fnode *n = find_file(p.c, p.rel);
		if (n && !*n->fid) { /* new: nothing committed, the name disappears */
			queue_invalidation(in->parent ? in->parent->ino : 0, in->name);
			unlink_file(p.c, n, true);
			free_node(n);
			inode_unlink(in);
		}
	}
	pthread_mutex_lock(&of->mu);
	wait_idle(of);       /* jobs still use buffers */
	of->refused = false; /* counted once; the old version (if any) stays */
	of->dirty = false;
	of->unlinked = true;
	of->err = -EACCES; /* other handles on it: refused too (invariant 6) */
	for (size_t i = 0; i < of->nch; i++)
		drop_buf(of, &of->ch[i]);
	of->nch = 0;
	of->size = 0;
	V->repo->objects->ops->discard(V->repo->objects, of->staged, of->nstaged);
	of->nstaged = 0;
	pthread_mutex_unlock(&of->mu);
	unbind(of);
}

void fill_file(struct stat *st, const fnode *n, ofile *of, bool writable)
{
	uint64_t size, stored;
	uint32_t mode;
	struct timespec mt, ct, at;
	bool gone = false;
	if (of) {
		pthread_mutex_lock(&of->mu);
		gone = of->unlinked;
		size = of->size;
		stored = (uint64_t)of->nch * of->cs;
		mode = of->mode;
		mt = of->mtime;
		ct = of->ctime;
		at = of->atime;
		pthread_mutex_unlock(&of->mu);
	} else {
		size = n->m.size;
		stored = (uint64_t)n->m.nobjs * n->m.chunk_size;
		mode = n->m.mode;
		mt = (struct timespec){(time_t)n->m.mtime, (long)n->m.mtime_nsec};
		ct = (struct timespec){(time_t)n->m.added, 0};
		at = n->atime;
	}
	if (stored > size)
		stored = size;
	if (ct.tv_sec < mt.tv_sec)
		ct = mt;
	st->st_mode = S_IFREG | (mode & (writable ? 07777 : 05555));
	st->st_nlink = gone ? 0 : 1;
	st->st_uid = V->uid;
	st->st_gid = V->gid;
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((stored + 511) / 512);
	st->st_blksize = 1 << 20;
	st->st_mtim = mt;
	st->st_ctim = ct;
	st->st_atim = at.tv_sec || at.tv_nsec ? at : mt;
}
