/*
 * Group commits (docs/mount.md, "What is durable when"). close(2) seals a
 * file and queues it; removals are queued too. Everything queued is
 * recorded together, as ONE signed event per mission (file.commit):
 * within COMMIT_WINDOW_NS of the oldest change, sooner when COMMIT_SOON_N
 * are queued (the flusher thread), and before fsync(2), a rename, or the
 * mount's end return (COMMIT_NOW). One group is: every file
 * snapshot (sealed, manifest taken), their staged objects published with
 * one flush, the object directories synced, then one event. A crash
 * before the event loses the group's changes, never anything recorded
 * before it; the objects it had published are unreferenced until gc.
 *
 * A queued file holds a user (vfs.h): it stays bound to its inode, so
 * opens, reads and stats see its content until it is recorded. Queues
 * are under V->mu; the flusher's timing under V->imu.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "vfs.h"

static void note_queued(void)
{
	pthread_mutex_lock(&V->imu);
	if (!V->cq_since)
		V->cq_since = now_ns();
	if (V->ncq + V->nrq >= COMMIT_SOON_N)
		V->cq_soon = true;
	pthread_cond_signal(&V->icv);
	pthread_mutex_unlock(&V->imu);
}

int64_t commit_due_ns(void)
{
	pthread_mutex_lock(&V->imu);
	int64_t due = !V->cq_since ? 0 : V->cq_soon ? 1 : V->cq_since + COMMIT_WINDOW_NS;
	pthread_mutex_unlock(&V->imu);
	return due;
}

static int enqueue_file(ofile *of)
{
	if (of->queued)
		return 0;
	if (V->ncq == V->acq) {
		size_t a = V->acq ? V->acq * 2 : 64;
		ofile **q = realloc(V->cq, a * sizeof(*q));
		if (!q)
			return -ENOMEM;
		V->cq = q;
		V->acq = a;
	}
	V->cq[V->ncq++] = of;
	of->queued = true;
	writers_changed(of->vm, 1); /* a close of the mission waits for it too */
	of->crc = 0;
	of->users++; /* bound while queued */
	pthread_mutex_lock(&of->mu);
	of->refs++;
	pthread_mutex_unlock(&of->mu);
	note_queued();
	return 0;
}

int commit_file(ofile *of, int when)
{
	int rc = of_prepare(of);
	if (rc == -EACCES)
		of_drop_refused(of);
	if (rc < 0)
		return rc;
	if (rc == 0 && (rc = enqueue_file(of)) < 0)
		return rc;
	if (when == COMMIT_QUEUE || (when == COMMIT_SOON && V->ncq + V->nrq < COMMIT_QUEUE_MAX))
		return 0;
	bool mine = of->queued;
	of_ref(of); /* its result, even if the queue held it last */
	rc = commit_run();
	if (when == COMMIT_NOW) /* another file's failure is its own (logged) */
		rc = mine ? of->crc : 0;
	ofile_unref(of);
	return rc;
}

static int enqueue_removal(vmission *vm, evault_class cls, const char *fid)
{
	if (V->nrq == V->arq) {
		size_t a = V->arq ? V->arq * 2 : 64;
		struct cremoval *q = realloc(V->rq, a * sizeof(*q));
		if (!q)
			return -ENOMEM;
		V->rq = q;
		V->arq = a;
	}
	struct cremoval *r = &V->rq[V->nrq++];
	memcpy(r->mid, vm->mid, sizeof(r->mid));
	r->cls = cls;
	memcpy(r->fid, fid, sizeof(r->fid));
	writers_changed(vm, 1); /* a close of the mission waits for it too */
	note_queued();
	return 0;
}

int commit_removal(vmission *vm, evault_class cls, const char *fid)
{
	int rc = enqueue_removal(vm, cls, fid);
	if (rc == 0 && V->ncq + V->nrq >= COMMIT_QUEUE_MAX)
		return commit_run();
	return rc;
}

/* One queued file of a group. */
typedef struct gput {
	ofile *of;
	vpath p;
	manifest m;
	size_t gens;
	int rc; /* 0: snapshot taken; 1: nothing to record; < 0: failed */
	bool batched; /* in the event */
} gput;

/*
 * Records one mission's group: files fs (each queued, holding a user) and
 * removals rs. Every file leaves the queue, its result in of->crc.
 */
static int commit_group(vmission *vm, ofile **fs, size_t nf, struct cremoval *rs, size_t nr)
{
	backend *b = V->repo->objects;
	stage_list sl = {NULL, 0, 0};
	gput *g = calloc(nf ? nf : 1, sizeof(*g));
	file_change *ch = calloc(nf + nr ? nf + nr : 1, sizeof(*ch));
	int first = 0;
	size_t nch = 0, nsnap = 0;
	bool relock = false;
	if (!g || !ch) {
		for (size_t i = 0; i < nf; i++) {
			fs[i]->crc = -ENOMEM;
			fs[i]->queued = false;
			writers_changed(fs[i]->vm, -1);
			ofile_close(fs[i]);
		}
		free(g);
		free(ch);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nf; i++) {
		g[i].of = fs[i];
		g[i].rc = of_snapshot(fs[i], &g[i].p, &g[i].m, &g[i].gens, &sl);
		if (g[i].rc == -EACCES)
			of_drop_refused(fs[i]);
		if (g[i].rc < 0 && !first)
			first = g[i].rc;
		nsnap += g[i].rc == 0;
	}
	/* every byte durable, with one flush, before any name or event */
	int prc = 0;
	if (sl.n) {
		prc = b->ops->publish(b, sl.v, sl.n);
		b->ops->discard(b, sl.v, sl.n);
	}
	if (prc == 0 && nsnap)
		prc = b->ops->sync(b);
	if (prc < 0)
		prc = fail(prc, "storing files' objects");
	for (size_t i = 0; i < nf; i++)
		if (g[i].rc == 0) {
			of_snapshot_end(g[i].of, prc);
			if (prc < 0)
				g[i].rc = prc;
		}
	for (size_t i = 0; i < nf; i++)
		if (g[i].rc == 0) {
			ch[nch] = (file_change){g[i].of->cls, &g[i].m, "", g[i].gens, ""};
			memcpy(ch[nch++].fid, g[i].of->fid, sizeof(ch[0].fid));
		}
	for (size_t i = 0; i < nr && !vm->gone; i++) {
		ch[nch] = (file_change){rs[i].cls, NULL, "", 0, ""};
		memcpy(ch[nch++].fid, rs[i].fid, sizeof(rs[i].fid));
	}
	if (nch) {
		char seen[EVAULT_CLASS_COUNT][41], after[EVAULT_CLASS_COUNT][41];
		bool stale[EVAULT_CLASS_COUNT];
		for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
			memcpy(seen[c], vm->c[c].tree, sizeof(seen[c]));
		int erc = file_commit_batch(V->repo, vm->mid, ch, nch, seen, after, stale);
		/* a revoke came between the snapshots and the event: the group is
		 * queued again, its files sealed again with the keys read anew */
		relock = erc == EVAULT_ELOCKED;
		if (relock)
			V->run++;
		if (erc < 0) {
			erc = fail(erc, "recording files");
			first = first ? first : erc;
		} else {
			for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
				if (stale[c])
					V->checked_ns = 0; /* another writer changed it: catch up */
				else
					memcpy(vm->c[c].tree, after[c], sizeof(after[c]));
			}
		}
		size_t k = 0;
		for (size_t i = 0; i < nf; i++) {
			if (g[i].rc != 0)
				continue;
			of_recorded(g[i].of, &g[i].p, &g[i].m, ch[k++].new_fid, erc);
			g[i].rc = erc;
			g[i].batched = true;
		}
	}
	for (size_t i = 0; i < nf; i++) {
		ofile *of = g[i].of;
		g[i].m.path = NULL;
		manifest_clear(&g[i].m);
		of->crc = g[i].rc < 0 ? g[i].rc : 0;
		of->queued = false;
		writers_changed(of->vm, -1);
		if (relock && g[i].batched && enqueue_file(of) == 0)
			of->crc = 0; /* queued again */
		ofile_close(of); /* the queue's user */
	}
	for (size_t i = 0; relock && i < nr && !vm->gone; i++)
		if (enqueue_removal(vm, rs[i].cls, rs[i].fid) < 0)
			first = first ? first : -ENOMEM;
	free(sl.v);
	free(g);
	free(ch);
	return first;
}

bool commit_queued_empty(ofile *of)
{
	if (!of || !of->queued)
		return false;
	pthread_mutex_lock(&of->mu);
	bool empty = of->size == 0;
	pthread_mutex_unlock(&of->mu);
	return empty;
}

/*
 * Everything queued, recorded; window: files still open for writing and
 * empty wait for their next close (the shell's `>` closes the descriptor
 * it opened before the command writes through its copy).
 */
static int run_queue(bool window)
{
	int first = 0;
	if (window) {
		size_t k = 0;
		for (size_t i = 0; i < V->ncq; i++) {
			ofile *of = V->cq[i];
			if (of->whandles > 0 && commit_queued_empty(of)) {
				of->queued = false; /* dirty still: its next close queues it */
				writers_changed(of->vm, -1);
				ofile_close(of); /* the queue's user (a handle holds another) */
			} else {
				V->cq[k++] = of;
			}
		}
		V->ncq = k;
	}
	V->run++;
	pthread_mutex_lock(&V->imu);
	V->cq_since = 0;
	V->cq_soon = false;
	pthread_mutex_unlock(&V->imu);
	while (V->ncq || V->nrq) {
		/* the first queued change's mission, and everything queued for it */
		vmission *vm = V->ncq ? V->cq[0]->vm : find_mission(V->rq[0].mid);
		const char *mid = V->ncq ? V->cq[0]->vm->mid : V->rq[0].mid;
		ofile **fs = malloc((V->ncq ? V->ncq : 1) * sizeof(*fs));
		struct cremoval *rs = malloc((V->nrq ? V->nrq : 1) * sizeof(*rs));
		size_t nf = 0, nr = 0, kf = 0, kr = 0;
		if (!fs || !rs) {
			free(fs);
			free(rs);
			return -ENOMEM;
		}
		for (size_t i = 0; i < V->ncq; i++) {
			ofile *of = V->cq[i];
			if (of->vm == vm && nf + nr < LAYOUT_COMMIT_MAX)
				fs[nf++] = of;
			else
				V->cq[kf++] = of;
		}
		for (size_t i = 0; i < V->nrq; i++) {
			if (strcmp(V->rq[i].mid, mid) == 0 && nf + nr < LAYOUT_COMMIT_MAX)
				rs[nr++] = V->rq[i];
			else
				V->rq[kr++] = V->rq[i];
		}
		V->ncq = kf;
		V->nrq = kr;
		int rc = 0;
		if (vm) {
			rc = commit_group(vm, fs, nf, rs, nr);
			writers_changed(vm, -(int)nr);
		} /* else the mission is gone from this mount: so are its entries */
		if (rc < 0 && !first)
			first = rc;
		free(fs);
		free(rs);
	}
	return first;
}

int commit_run(void)
{
	return run_queue(false);
}

int commit_window(void)
{
	return run_queue(true);
}

void commits_free(void)
{
	free(V->cq);
	free(V->rq);
	V->cq = NULL;
	V->rq = NULL;
	V->ncq = V->acq = V->nrq = V->arq = 0;
}
