/*
 * Ordered parallel pipeline: see pipeline.h.
 *
 * Item i uses slot i % nslots. Slot states move FREE -> READY (produced)
 * -> BUSY (a worker has it) -> DONE (worked) -> FREE (consumed). Counters:
 * produced P >= dispatched W >= consumed C, and P - C <= nslots, so a slot
 * is never reused before its item is consumed. One mutex guards all of it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evault/common.h"
#include "pipeline.h"
#include "util.h"

enum { FREE, READY, BUSY, DONE };

typedef struct run {
	const pipeline_ops *ops;
	void *ctx;
	void **slots;
	int *state;
	size_t nslots;
	size_t produced, dispatched, consumed;
	bool eof, stop;
	int err;
	char errmsg[512];
	pthread_mutex_t mu;
	pthread_cond_t cv;
} run;

typedef struct worker_arg {
	run *r;
	void *worker;
} worker_arg;

/* Called with r->mu held. */
static void fail(run *r, int code, const char *msg)
{
	if (r->err == 0) {
		r->err = code ? code : EVAULT_ERROR;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", msg);
	}
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
}

static void *worker_main(void *p)
{
	worker_arg *a = p;
	run *r = a->r;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && !(r->dispatched < r->produced &&
				     r->state[r->dispatched % r->nslots] == READY))
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		size_t i = r->dispatched++;
		size_t s = i % r->nslots;
		r->state[s] = BUSY;
		pthread_mutex_unlock(&r->mu);
		int rc = r->ops->work(r->ctx, i, r->slots[s], a->worker);
		pthread_mutex_lock(&r->mu);
		if (rc < 0)
			fail(r, rc, evault_error_last());
		r->state[s] = DONE;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int pipeline_run(const pipeline_ops *ops, void *ctx, void **slots, size_t nslots, void **workers,
		 size_t nworkers)
{
	run r;
	pthread_t *tids = calloc(nworkers, sizeof(*tids));
	worker_arg *args = calloc(nworkers, sizeof(*args));
	size_t started = 0;
	memset(&r, 0, sizeof(r));
	r.ops = ops;
	r.ctx = ctx;
	r.slots = slots;
	r.nslots = nslots;
	r.state = calloc(nslots, sizeof(int));
	if (!tids || !args || !r.state || nslots == 0 || nworkers == 0) {
		free(tids);
		free(args);
		free(r.state);
		return error_oom();
	}
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	for (; started < nworkers; started++) {
		args[started].r = &r;
		args[started].worker = workers[started];
		if (pthread_create(&tids[started], NULL, worker_main, &args[started]) != 0)
			break;
	}
	pthread_mutex_lock(&r.mu);
	if (started == 0)
		fail(&r, EVAULT_ERROR, "cannot start worker threads");
	while (!r.stop) {
		if (!r.eof && r.produced - r.consumed < r.nslots) {
			size_t i = r.produced, s = i % r.nslots;
			pthread_mutex_unlock(&r.mu);
			int rc = ops->produce(ctx, i, slots[s]);
			pthread_mutex_lock(&r.mu);
			if (rc < 0)
				fail(&r, rc, evault_error_last());
			else if (rc == 0)
				r.eof = true;
			else {
				r.state[s] = READY;
				r.produced++;
				pthread_cond_broadcast(&r.cv);
			}
			continue;
		}
		if (r.consumed < r.produced && r.state[r.consumed % r.nslots] == DONE) {
			size_t i = r.consumed, s = i % r.nslots;
			pthread_mutex_unlock(&r.mu);
			int rc = ops->consume(ctx, i, slots[s]);
			pthread_mutex_lock(&r.mu);
			if (rc < 0)
				fail(&r, rc, evault_error_last());
			r.state[s] = FREE;
			r.consumed++;
			continue;
		}
		if (r.eof && r.consumed == r.produced)
			break;
		pthread_cond_wait(&r.cv, &r.mu);
	}
	r.stop = true;
	pthread_cond_broadcast(&r.cv);
	pthread_mutex_unlock(&r.mu);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	int rc = r.err;
	if (rc < 0)
		evault_error_set(rc, "%s", r.errmsg);
	pthread_mutex_destroy(&r.mu);
	pthread_cond_destroy(&r.cv);
	free(tids);
	free(args);
	free(r.state);
	return rc;
}

size_t pipeline_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	const char *e = getenv("EVAULT_THREADS"); /* documented in docs/cli.md */
	if (e && atol(e) > 0)
		n = atol(e);
	if (n < 1)
		return 1;
	return n > 64 ? 64 : (size_t)n;
}
