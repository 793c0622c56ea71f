/*
 * The mount's life (docs/mount.md): set up the session on libfuse's low-level
 * API (the mount keeps its own inodes, so an open, unlinked file still
 * answers; see docs/architecture.md), detach, serve on several threads,
 * and stop: workers joined, refusals recorded, memory wiped. A flusher
 * thread records refused content every few seconds and tells the kernel
 * to forget names of refused files, outside any operation. Before any of
 * it, the mount point and the system's FUSE are checked (evault_mount_check).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <sodium.h>

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

void note_refusal(vmission *vm, evault_class cls, const char *path, const char *why)
{
	if (!V->refusals && !(V->refusals = calloc(REFUSED_KEPT, sizeof(*V->refusals))))
		return; /* the event and the log line still say it */
	refusal *r = &V->refusals[V->refusal_next];
	V->refusal_next = (V->refusal_next + 1) % REFUSED_KEPT;
	if (V->nrefusals < REFUSED_KEPT)
		V->nrefusals++;
	r->when = time(NULL);
	memcpy(r->mid, vm->mid, sizeof(r->mid));
	r->cls = cls;
	snprintf(r->path, sizeof(r->path), "%s", path ? path : "");
	snprintf(r->why, sizeof(r->why), "%s", why && *why ? why : "refused by the charter");
}

int refused_text(evault_buf *b)
{
	size_t first = (V->refusal_next + REFUSED_KEPT - V->nrefusals) % REFUSED_KEPT;
	for (size_t i = 0; i < V->nrefusals; i++) {
		const refusal *r = &V->refusals[(first + i) % REFUSED_KEPT];
		vmission *vm = find_mission(r->mid);
		/* only what this mount shows now: a mission revoked or closed since goes */
		if (!vm || vm->gone || !vm->c[r->cls].readable)
			continue;
		char when[32];
		struct tm tm;
		gmtime_r(&r->when, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		if (evault_buf_printf(b, "%s\t%s/%s/%s\t%s\n", when, r->mid,
				      evault_class_name(r->cls), *r->path ? r->path : "(removed)",
				      r->why) < 0)
			return -1;
	}
	return 0;
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
				commit_window();
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

/* ---- before mounting: the mount point and FUSE itself (docs/mount.md) ---- */

/* A mountinfo field decoded (the kernel writes space, tab, newline and
 * backslash as \ooo). Bounded by n; false if it does not fit. */
static bool mountinfo_field(const char *s, size_t len, char *out, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\\' && i + 3 < len && s[i + 1] >= '0' &&
		    s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' &&
		    s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= n)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

/*
 * Is path (absolute, resolved) a mount point? /proc/self/mountinfo names
 * every mount, bind mounts of a directory of the same file system
 * included; without it, a device differing from the parent's says so.
 * 1: yes, 0: no.
 */
static int is_mount_point(const char *path, const struct stat *st)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f) {
		char line[4096 + 512], mp[4096];
		int found = 0;
		bool tail = false; /* the rest of a line longer than the buffer */
		while (!found && fgets(line, sizeof(line), f)) {
			bool cut = !strchr(line, '\n') && !feof(f);
			bool skip = tail;
			tail = cut;
			if (skip)
				continue;
			/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ...: the fifth field */
			const char *s = line;
			for (int k = 0; k < 4 && s; k++)
				if ((s = strchr(s, ' ')))
					s++;
			if (!s)
				continue;
			size_t len = strcspn(s, " \n");
			found = mountinfo_field(s, len, mp, sizeof(mp)) && strcmp(mp, path) == 0;
		}
		fclose(f);
		return found;
	}
	char parent[PATH_MAX + 4];
	struct stat pst;
	snprintf(parent, sizeof(parent), "%s/..", path);
	return stat(parent, &pst) == 0 && (pst.st_dev != st->st_dev || pst.st_ino == st->st_ino);
}

/* fusermount3, where libfuse looks for it: its install directory, then PATH. */
static bool have_fusermount(void)
{
	static const char *dirs[] = {"/usr/bin", "/bin", "/usr/local/bin", "/usr/sbin", "/sbin"};
	char p[PATH_MAX];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/fusermount3", dirs[i]);
		if (access(p, X_OK) == 0)
			return true;
	}
	const char *path = getenv("PATH");
	for (const char *d = path; d && *d;) {
		size_t n = strcspn(d, ":");
		if (n && n < sizeof(p) - 16) {
			snprintf(p, sizeof(p), "%.*s/fusermount3", (int)n, d);
			if (access(p, X_OK) == 0)
				return true;
		}
		d += n + (d[n] == ':');
	}
	return false;
}

/* A FUSE mount whose process died: the kernel answers "not connected". */
static int mount_gone(const char *mountpoint)
{
	return evault_error_set(EVAULT_ELOCKED,
				"%s: already a mount point, whose process is gone (fusermount3 -u "
				"%s, then mount again)",
				mountpoint, mountpoint);
}

int evault_mount_check(const char *mountpoint)
{
	struct stat st;
	char real[PATH_MAX];
	if (stat(mountpoint, &st) < 0) {
		if (errno == ENOENT)
			return evault_error_set(EVAULT_ENOTFOUND,
						"%s: no such directory (make it first: mkdir)",
						mountpoint);
		if (errno == ENOTDIR)
			return evault_error_set(EVAULT_EINVAL, "%s: not a directory", mountpoint);
		if (errno == ENOTCONN)
			return mount_gone(mountpoint);
		return evault_error_set(EVAULT_ERROR, "%s: %s", mountpoint, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return evault_error_set(EVAULT_EINVAL,
					"%s: not a directory (a mount point is an empty directory)",
					mountpoint);
	if (!realpath(mountpoint, real))
		return evault_error_set(EVAULT_ERROR, "%s: %s", mountpoint, strerror(errno));
	if (is_mount_point(real, &st)) {
		/* the kernel may still answer a stat from its cache: an open asks */
		DIR *d = opendir(mountpoint);
		bool gone = !d && errno == ENOTCONN;
		if (d)
			closedir(d);
		if (gone)
			return mount_gone(mountpoint);
		return evault_error_set(EVAULT_ELOCKED,
					"%s: already a mount point (unmount it first: evault umount "
					"or fusermount3 -u)",
					mountpoint);
	}
	DIR *d = opendir(mountpoint);
	if (!d)
		return evault_error_set(EVAULT_ERROR, "%s: %s", mountpoint, strerror(errno));
	bool empty = true;
	for (struct dirent *e; empty && (e = readdir(d));)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	if (!empty)
		return evault_error_set(EVAULT_EEXISTS,
					"%s: not empty (a mount would hide what it holds; mount on "
					"an empty directory)",
					mountpoint);
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENODEV || errno == ENXIO))
		return evault_error_set(EVAULT_ERROR,
					"%s: /dev/fuse is missing: this system has no FUSE (load "
					"the fuse module: modprobe fuse)",
					mountpoint);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		return evault_error_set(EVAULT_ERROR,
					"%s: /dev/fuse is not accessible to you (it must be "
					"readable and writable by every user: mode 0666)",
					mountpoint);
	if (fd < 0)
		return evault_error_set(EVAULT_ERROR, "%s: /dev/fuse: %s", mountpoint,
					strerror(errno));
	close(fd);
	if (!have_fusermount())
		return evault_error_set(EVAULT_ERROR,
					"%s: fusermount3 is missing (install the fuse3 package)",
					mountpoint);
	return 0;
}

/*
 * Mounts; what libfuse (or fusermount3) says on a failure becomes the one
 * line of the error, rather than lines of its own on stderr.
 */
static int session_mount(struct fuse_session *se, const char *mountpoint, const char *real)
{
	char said[512] = "";
	FILE *tmp = tmpfile();
	int saved = tmp ? dup(2) : -1;
	fflush(stderr);
	if (saved >= 0 && dup2(fileno(tmp), 2) < 0) {
		close(saved);
		saved = -1;
	}
	int rc = fuse_session_mount(se, real);
	if (saved >= 0) {
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		rewind(tmp);
		size_t n = fread(said, 1, sizeof(said) - 1, tmp);
		said[n] = '\0';
		if (rc == 0 && n) /* warnings of a mount that worked: as they were */
			fputs(said, stderr);
	}
	if (tmp)
		fclose(tmp);
	if (rc == 0)
		return 0;
	said[strcspn(said, "\n")] = '\0';
	return evault_error_set(EVAULT_ERROR, "%s: cannot mount: %s", mountpoint,
				*said ? said : "the system refused it");
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
	int rc = evault_mount_check(mountpoint);
	if (rc < 0)
		return rc;
	/* the mount registers itself and records changes in the repository:
	 * its owner's account only (before the fork, so that the user sees why) */
	if ((rc = check_repo_owner(repo->path)) < 0)
		return rc;
	if (!realpath(mountpoint, v.mountpoint))
		return evault_error_set(EVAULT_ENOTFOUND, "%s: %s", mountpoint, strerror(errno));
	pthread_mutex_init(&v.mu, NULL);
	pthread_mutex_init(&v.jmu, NULL);
	pthread_mutex_init(&v.imu, NULL);
	pthread_cond_init(&v.icv, NULL);
	pthread_cond_init(&v.jcv, NULL);
	V = &v;
	rc = inodes_init() < 0 ? error_oom() : 0;
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
	if (session_mount(se, mountpoint, v.mountpoint) < 0) {
		rc = EVAULT_ERROR;
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
	if (v.refusals) { /* file names: wiped as the rest */
		sodium_memzero(v.refusals, REFUSED_KEPT * sizeof(*v.refusals));
		free(v.refusals);
	}
	pool_drain();
	chunk_worker_free(v.cw);
	evault_buf_dispose(&v.obj);
	fuse_opt_free_args(&args);
	return rc;
}
