/*
 * The mount's life (DESIGN §7): set up the session on libfuse's low-level
 * API (the mount keeps its own inodes, so an open, unlinked file still
 * answers; see docs/architecture.md), detach, serve on several threads,
 * and stop: workers joined, refusals recorded, memory wiped. A flusher
 * thread records refused content every few seconds and tells the kernel
 * to forget names of refused files, outside any operation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "evault/remote.h"
#include "mount.h"
#include "util.h"
#include "vfs.h"

vfs *V;

int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

struct timespec now_ts(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

/* engine code -> errno, one place */
int to_errno(int rc)
{
	switch (rc) {
	case 0: return 0;
	case EVAULT_ENOTFOUND: return -ENOENT;
	case EVAULT_EEXISTS: return -EEXIST;
	case EVAULT_EDENIED:
	case EVAULT_EREFUSED:
	case EVAULT_EAUTH: return -EACCES;
	case EVAULT_EREADONLY: return -EROFS;
	case EVAULT_EINVAL: return -EINVAL;
	case EVAULT_ELOCKED: return -EBUSY;
	case EVAULT_ENOSPC: return -ENOSPC;
	default: return rc < 0 && rc > -4096 && rc != EVAULT_ERROR ? rc : -EIO;
	}
}

int fail(int rc, const char *what)
{
	syslog(LOG_ERR, "evault mount: %s: %s", what, evault_error_last());
	fprintf(stderr, "evault: %s: %s\n", what, evault_error_last());
	return to_errno(rc);
}

/* Publishes which missions have files open for writing. V->mu held. */
void writers_changed(vmission *vm, int delta)
{
	int before = vm->writers;
	vm->writers += delta;
	if ((before > 0) == (vm->writers > 0) || V->reg.fd < 0)
		return;
	const char *mids[256];
	size_t n = 0;
	for (vmission *m = V->missions; m && n < 255; m = m->next)
		if (m->writers > 0)
			mids[n++] = m->mid;
	mids[n] = NULL;
	if (mount_reg_set(&V->reg, mids) < 0)
		fail(EVAULT_ERROR, "registering files open for writing");
}

void queue_invalidation(fuse_ino_t parent, const char *name)
{
	if (!parent || !name)
		return;
	char *copy = strdup(name);
	if (!copy)
		return;
	pthread_mutex_lock(&V->imu);
	if (V->ninval < sizeof(V->inval) / sizeof(V->inval[0])) {
		V->inval[V->ninval].parent = parent;
		V->inval[V->ninval++].name = copy;
		copy = NULL;
	}
	pthread_cond_signal(&V->icv);
	pthread_mutex_unlock(&V->imu);
	free_name(copy);
}

/* Refusals are traced in batches: one event per mission every few seconds. V->mu held. */
static void flush_refusals(void)
{
	for (vmission *vm = V->missions; vm; vm = vm->next) {
		if (!vm->refused.total)
			continue;
		int rc = content_record_refusals(V->repo, vm->mid, &vm->refused);
		if (rc < 0)
			fail(rc, "recording refused files");
		else
			V->checked_ns = 0;
		memset(&vm->refused, 0, sizeof(vm->refused));
	}
}

static bool reached(struct timespec t)
{
	struct timespec now = now_ts();
	return now.tv_sec > t.tv_sec || (now.tv_sec == t.tv_sec && now.tv_nsec >= t.tv_nsec);
}

/*
 * The flusher: names the kernel must forget (at once), group commits (when
 * due: commits.c), refusals (every few seconds).
 */
static void *flusher_main(void *p)
{
	(void)p;
	struct timespec next;
	clock_gettime(CLOCK_REALTIME, &next);
	for (;;) {
		next.tv_sec += REFUSAL_FLUSH_S;
		bool stop = false;
		for (;;) {
			fuse_ino_t parent[64];
			char *name[64];
			size_t n = 0;
			int64_t due = commit_due_ns(); /* CLOCK_MONOTONIC; the waits: CLOCK_REALTIME */
			struct timespec until = next;
			if (due) {
				int64_t left = due - now_ns();
				struct timespec t;
				clock_gettime(CLOCK_REALTIME, &t);
				left = left < 0 ? 0 : left;
				t.tv_sec += (time_t)(left / 1000000000LL);
				t.tv_nsec += (long)(left % 1000000000LL);
				if (t.tv_nsec >= 1000000000L) {
					t.tv_sec++;
					t.tv_nsec -= 1000000000L;
				}
				if (t.tv_sec < next.tv_sec ||
				    (t.tv_sec == next.tv_sec && t.tv_nsec < next.tv_nsec))
					until = t;
			}
			pthread_mutex_lock(&V->imu);
			int64_t seen = V->cq_since; /* a first change sets a new due time */
			while (!V->ninval && !V->istop && !V->cq_soon && V->cq_since == seen &&
			       pthread_cond_timedwait(&V->icv, &V->imu, &until) == 0)
				;
			for (n = 0; n < V->ninval; n++) {
				parent[n] = V->inval[n].parent;
				name[n] = V->inval[n].name;
			}
			V->ninval = 0;
			stop = V->istop;
			pthread_mutex_unlock(&V->imu);
			for (size_t i = 0; i < n; i++) { /* outside any operation: no deadlock */
				if (!stop)
					fuse_lowlevel_notify_inval_entry(V->se, parent[i], name[i],
									 strlen(name[i]));
				free_name(name[i]);
			}
			due = commit_due_ns();
			if (!stop && due && due <= now_ns()) {
				pthread_mutex_lock(&V->mu);
				commit_run();
				pthread_mutex_unlock(&V->mu);
			}
			if (stop || reached(next))
				break;
		}
		pthread_mutex_lock(&V->mu);
		flush_refusals();
		pthread_mutex_unlock(&V->mu);
		if (stop)
			break;
	}
	return NULL;
}

/*
 * A replica's background sync: every sync_interval seconds, what the mount
 * recorded goes to the office and what changed there comes back, when the
 * office answers (docs/mount.md, "On a replica"). It runs under the index
 * lock, as every engine call that touches the history does: operations
 * wait while a sync runs (a second on a quiet day, longer for a large push).
 */
static void *syncer_main(void *p)
{
	(void)p;
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += V->sync_interval;
		bool stop = false;
		pthread_mutex_lock(&V->imu);
		while (!V->istop && pthread_cond_timedwait(&V->icv, &V->imu, &until) == 0)
			;
		stop = V->istop;
		pthread_mutex_unlock(&V->imu);
		if (stop)
			break;
		evault_sync_opts so = {.version = EVAULT_SYNC_OPTS_VERSION, .timeout_s = 60};
		evault_sync_result r;
		char when[32];
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		pthread_mutex_lock(&V->mu);
		commit_run(); /* what waits in the commit window goes up too */
		int rc = evault_sync(V->repo, &so, &r);
		if (rc == 0)
			snprintf(V->sync_status, sizeof(V->sync_status),
				 "ok %s, %llu events pulled, %llu pushed", when,
				 (unsigned long long)r.events_pulled,
				 (unsigned long long)r.events_pushed);
		else
			snprintf(V->sync_status, sizeof(V->sync_status), "failed %s: %.300s", when,
				 evault_error_last());
		pthread_mutex_unlock(&V->mu);
		/* what this device erased (a close, a revoke), and events refused */
		for (const char *l = r.notes; *l;) {
			const char *e = strchr(l, '\n');
			int n = e ? (int)(e - l) : (int)strlen(l);
			/* a refused event's line names its files: not for the system's log */
			if (strncmp(l, "refused and erased:", 19) != 0)
				syslog(LOG_NOTICE, "evault mount: sync: %.*s", n, l);
			l += n + (e ? 1 : 0);
		}
		if (rc < 0)
			syslog(LOG_WARNING, "evault mount: sync: %s", evault_error_last());
		evault_error_clear();
	}
	return NULL;
}

/* After the fork into the background: threads and the registry are ours. */
static int start_threads(void)
{
	if (workers_start() < 0)
		return evault_error_set(EVAULT_ERROR, "cannot start the mount's threads");
	V->flusher_started = pthread_create(&V->flusher, NULL, flusher_main, NULL) == 0;
	if (!V->flusher_started)
		return evault_error_set(EVAULT_ERROR, "cannot start the mount's threads");
	if (mount_reg_open(&V->reg, V->repo) < 0) /* the pid is ours now */
		fail(EVAULT_ERROR, "registering the mount");
	if (V->repo->replica && V->sync_interval && !V->ro) {
		snprintf(V->sync_status, sizeof(V->sync_status), "every %u s, none yet",
			 V->sync_interval);
		V->syncer_started = pthread_create(&V->syncer, NULL, syncer_main, NULL) == 0;
	}
	return 0;
}

static void stop_threads(void)
{
	workers_stop();
	pthread_mutex_lock(&V->imu);
	V->istop = true;
	pthread_cond_broadcast(&V->icv);
	pthread_mutex_unlock(&V->imu);
	if (V->flusher_started)
		pthread_join(V->flusher, NULL);
	V->flusher_started = false;
	if (V->syncer_started)
		pthread_join(V->syncer, NULL);
	V->syncer_started = false;
	pthread_mutex_lock(&V->mu);
	flush_refusals();
	pthread_mutex_unlock(&V->mu);
	mount_reg_close(&V->reg);
}

int evault_mount_run(evault_repo *repo, const char *mountpoint, const evault_mount_opts *o)
{
	vfs v;
	memset(&v, 0, sizeof(v));
#ifdef __GLIBC__
	/* Chunk buffers are pooled (buf_get); libfuse's request buffers
	 * (256 KiB - 1 MiB) stay on the heap rather than being mapped and
	 * unmapped per request, and few heaps serve the many threads, so
	 * freed memory is reused instead of lingering in per-thread heaps. */
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	mallopt(M_ARENA_MAX, 4);
#endif
	v.repo = repo;
	v.ro = o->read_only;
	v.sync_interval = o->sync_interval;
	v.uid = getuid();
	v.gid = getgid();
	v.started = now_ts();
	v.reg.fd = -1;
	/* the mount registers itself and records changes in the repository:
	 * its owner's account only (before the fork, so that the user sees why) */
	int orc = check_repo_owner(repo->path);
	if (orc < 0)
		return orc;
	if (!realpath(mountpoint, v.mountpoint))
		return evault_error_set(EVAULT_ENOTFOUND, "mount point %s: %s", mountpoint,
					strerror(errno));
	pthread_mutex_init(&v.mu, NULL);
	pthread_mutex_init(&v.jmu, NULL);
	pthread_mutex_init(&v.imu, NULL);
	pthread_cond_init(&v.icv, NULL);
	pthread_cond_init(&v.jcv, NULL);
	V = &v;
	int rc = inodes_init() < 0 ? error_oom() : 0;
	pthread_mutex_lock(&v.mu);
	if (rc == 0 && (rc = refresh(true)) < 0)
		rc = evault_error_set(EVAULT_ERROR, "cannot read the vault: %s",
				      evault_error_last());
	pthread_mutex_unlock(&v.mu);
	struct fuse_session *se = NULL;
	struct fuse_loop_config *lc = NULL;
	bool mounted = false, handlers = false;
	char fsname[64 + 4096];
	snprintf(fsname, sizeof(fsname), "-ofsname=evault:%s,subtype=evault,default_permissions%s",
		 repo->path, v.ro ? ",ro" : "");
	char *argv[] = {"evault", fsname, o->debug ? "-d" : NULL, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(o->debug ? 3 : 2, argv);
	if (rc < 0)
		goto done;
	if (!(se = fuse_session_new(&args, &vfs_ops, sizeof(vfs_ops), &v))) {
		rc = evault_error_set(EVAULT_ERROR, "cannot set up the file system");
		goto done;
	}
	v.se = se;
	if (fuse_session_mount(se, v.mountpoint) != 0) {
		rc = evault_error_set(EVAULT_ERROR,
				      "cannot mount on %s (is /dev/fuse there and the point an "
				      "empty directory?)",
				      v.mountpoint);
		goto done;
	}
	mounted = true;
	if (fuse_daemonize(o->foreground) != 0) {
		rc = evault_error_set(EVAULT_ERROR, "cannot go to the background");
		goto done;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		rc = evault_error_set(EVAULT_ERROR, "cannot install signal handlers");
		goto done;
	}
	handlers = true;
	if ((rc = start_threads()) < 0)
		goto done;
	if (!(lc = fuse_loop_cfg_create())) {
		rc = error_oom();
		goto done;
	}
	fuse_loop_cfg_set_clone_fd(lc, 0);
	fuse_loop_cfg_set_idle_threads(lc, 10);
	/* > 0: stopped by that signal, as asked (what was open is recorded below) */
	if (fuse_session_loop_mt(se, lc) < 0)
		rc = evault_error_set(EVAULT_ERROR, "the file system stopped on an error");
done:
	if (lc)
		fuse_loop_cfg_destroy(lc);
	if (handlers)
		fuse_remove_signal_handlers(se);
	if (mounted)
		fuse_session_unmount(se);
	/* stopped (a signal) with files still open: what they hold is recorded */
	pthread_mutex_lock(&v.mu);
	if (v.threads)
		inodes_commit_open();
	handles_end_all();
	if (v.threads)
		commit_run(); /* what the last releases queued */
	pthread_mutex_unlock(&v.mu);
	stop_threads();
	if (se)
		fuse_session_destroy(se); /* after destroy(): every handle was released */
	inodes_free();                    /* open files first: they use their missions */
	for (vmission *vm = v.missions, *nx; vm; vm = nx) {
		nx = vm->next;
		forget_mission(vm);
	}
	commits_free();
	pool_drain();
	chunk_worker_free(v.cw);
	evault_buf_dispose(&v.obj);
	fuse_opt_free_args(&args);
	return rc;
}
