/*
 * The mount's worker threads (two per core) seal full chunks and read
 * chunks ahead of sequential readers, from one queue of jobs (V->jmu).
 * A job holds a reference on its open file for as long as it runs
 * (vfs.h). Chunk buffers come from a small pool of wiped buffers, and the
 * FUSE threads that decrypt a chunk themselves keep a chunk worker each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util.h"
#include "vfs.h"

/*
 * A pool of wiped chunk buffers (the repository's chunk size), so that
 * buffers are reused rather than mapped and unmapped for every chunk;
 * at most POOL_MAX are kept, beyond that they go back to the system.
 */
#define POOL_MAX 16
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *pool_v[POOL_MAX];
static size_t pool_n;

/* A buffer of cs bytes; from the pool (all zeros) when cs is the pool's size. */
uint8_t *buf_get(uint32_t cs, bool zero)
{
	uint8_t *b = NULL;
	if (cs == V->repo->cfg.chunk_size) {
		pthread_mutex_lock(&pool_mu);
		if (pool_n)
			b = pool_v[--pool_n];
		pthread_mutex_unlock(&pool_mu);
	}
	if (!b)
		b = zero ? calloc(1, cs) : malloc(cs);
	return b;
}

/* Wipes a buffer (it held plaintext) and pools or frees it. */
void buf_put(uint8_t *b, uint32_t cs)
{
	if (!b)
		return;
	sodium_memzero(b, cs);
	if (cs == V->repo->cfg.chunk_size) {
		pthread_mutex_lock(&pool_mu);
		bool kept = pool_n < POOL_MAX;
		if (kept)
			pool_v[pool_n++] = b;
		pthread_mutex_unlock(&pool_mu);
		if (kept)
			return;
	}
	free(b);
}

void pool_drain(void)
{
	pthread_mutex_lock(&pool_mu);
	while (pool_n)
		free(pool_v[--pool_n]);
	pthread_mutex_unlock(&pool_mu);
}

/* Per-thread chunk workers for the FUSE threads (read paths). */
static pthread_key_t tw_key;
static pthread_once_t tw_once = PTHREAD_ONCE_INIT;

static void tworker_free(void *p)
{
	tworker *t = p;
	if (t) {
		chunk_worker_free(t->cw);
		evault_buf_dispose(&t->obj);
		free(t);
	}
}

static void tw_key_make(void)
{
	pthread_key_create(&tw_key, tworker_free);
}

tworker *thread_worker(uint32_t cs)
{
	pthread_once(&tw_once, tw_key_make);
	tworker *t = pthread_getspecific(tw_key);
	if (t && t->cs < cs) {
		tworker_free(t);
		t = NULL;
		pthread_setspecific(tw_key, NULL);
	}
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || !(t->cw = chunk_worker_new(cs, V->repo->cfg.zstd_level))) {
			free(t);
			return NULL;
		}
		t->cs = cs;
		pthread_setspecific(tw_key, t);
	}
	return t;
}

void enqueue(job *j)
{
	pthread_mutex_lock(&V->jmu);
	if (V->jtail)
		V->jtail->next = j;
	else
		V->jhead = j;
	V->jtail = j;
	pthread_cond_signal(&V->jcv);
	pthread_mutex_unlock(&V->jmu);
}

static void *worker_main(void *p)
{
	(void)p;
	chunk_worker *cw = chunk_worker_new(V->repo->cfg.chunk_size, V->repo->cfg.zstd_level);
	evault_buf obj = EVAULT_BUF_INIT, rd = EVAULT_BUF_INIT;
	size_t cap =
	    (V->repo->cfg.chunk_size + OBJ_OVERHEAD + BACKEND_ALIGN) & ~(size_t)(BACKEND_ALIGN - 1);
	void *mem = NULL;
	if (posix_memalign(&mem, BACKEND_ALIGN, cap) == 0)
		obj = (evault_buf){mem, 0, cap};
	for (;;) {
		pthread_mutex_lock(&V->jmu);
		while (!V->jhead && !V->jstop)
			pthread_cond_wait(&V->jcv, &V->jmu);
		job *j = V->jhead;
		if (j) {
			V->jhead = j->next;
			if (!V->jhead)
				V->jtail = NULL;
		}
		pthread_mutex_unlock(&V->jmu);
		if (!j)
			break;
		if (j->load)
			load_job(cw, &rd, j);
		else
			seal_job(cw, &obj, j);
		free(j);
	}
	chunk_worker_free(cw);
	evault_buf_dispose(&obj);
	evault_buf_dispose(&rd);
	return NULL;
}

int workers_start(void)
{
	V->nthreads = V->repo->nworkers ? V->repo->nworkers * 2 : 2;
	if (!(V->threads = calloc(V->nthreads, sizeof(pthread_t))))
		return -ENOMEM;
	for (size_t i = 0; i < V->nthreads; i++)
		if (pthread_create(&V->threads[i], NULL, worker_main, NULL) != 0) {
			V->nthreads = i;
			return -EAGAIN;
		}
	return 0;
}

/* Every job queued is done before the workers stop (each holds a file). */
void workers_stop(void)
{
	pthread_mutex_lock(&V->jmu);
	V->jstop = true;
	pthread_cond_broadcast(&V->jcv);
	pthread_mutex_unlock(&V->jmu);
	for (size_t i = 0; V->threads && i < V->nthreads; i++)
		pthread_join(V->threads[i], NULL);
	free(V->threads);
	V->threads = NULL;
	V->nthreads = 0;
}
