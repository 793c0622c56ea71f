/*
 * Ceph RADOS object backend (see backend.h): each object is one RADOS
 * object of the pool, named by its 64 hex digits, in a namespace of its
 * own (the vault id unless evault.conf names another), so that several
 * vaults share a pool without seeing each other's objects and gc of one
 * never touches another's.
 *
 * Writes are create-once: one RADOS operation creates the object
 * exclusively and writes all its bytes, atomically, and completes once
 * every replica of the pool has them. So an object has its name only
 * when all its bytes are durable (invariant 1), and an object that exists
 * is never overwritten. stage starts that operation asynchronously (the
 * bytes are copied into librados's buffer at once, so the caller may
 * reuse its own), and publish waits for a batch: many objects are in
 * flight at once, bounded by RADOS_INFLIGHT_MAX bytes. An object that was
 * there already is a dedup (its time touched, for gc's grace period).
 *
 * Every operation is bounded by rados-timeout (evault.conf), set as
 * librados's rados_osd_op_timeout, rados_mon_op_timeout and
 * client_mount_timeout: a stopped OSD gives a clear error, never a hang.
 * librados resends an operation itself when the cluster map changes;
 * evault retries once more on EAGAIN/EBUSY only, which is safe because
 * every operation here is idempotent (a create that finds the object is
 * a dedup; removing an absent object is done).
 *
 * The cluster is reached on first use, not at open: commands that read
 * only the history (log, ls) work when the cluster is away, and a mount
 * connects after it has gone to the background (librados threads do not
 * survive fork).
 */
#include <stdio.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dlfcn.h>
#include <rados/librados.h>

#include "backend.h"
#include "config.h"
#include "util.h"

#define RADOS_INFLIGHT_MAX (32u * 1024 * 1024)
#define RADOS_RETRIES 2
#define RADOS_SONAME "librados.so.2"
/*
 * An object this process stored or found in the pool within the last
 * RADOS_SEEN_SECONDS is not sent again (a file of many equal chunks, such
 * as runs of zeros, would send each one): a put that commits checks under
 * the vault's lock that its objects are there (gc), as for any put.
 */
#define RADOS_SEEN_SLOTS 1024
#define RADOS_SEEN_SECONDS 30

#define RADOS_API(X)                                                                               \
	X(int, rados_create2, (rados_t *, const char *const, const char *const, uint64_t))         \
	X(int, rados_conf_read_file, (rados_t, const char *))                                      \
	X(int, rados_conf_parse_env, (rados_t, const char *))                                      \
	X(int, rados_conf_set, (rados_t, const char *, const char *))                              \
	X(int, rados_connect, (rados_t))                                                           \
	X(void, rados_shutdown, (rados_t))                                                         \
	X(int, rados_ioctx_create, (rados_t, const char *, rados_ioctx_t *))                       \
	X(void, rados_ioctx_destroy, (rados_ioctx_t))                                              \
	X(void, rados_ioctx_set_namespace, (rados_ioctx_t, const char *))                          \
	X(int, rados_aio_create_completion2, (void *, rados_callback_t, rados_completion_t *))     \
	X(int, rados_aio_get_return_value, (rados_completion_t))                                   \
	X(int, rados_aio_wait_for_complete_and_cb, (rados_completion_t))                           \
	X(void, rados_aio_release, (rados_completion_t))                                           \
	X(rados_write_op_t, rados_create_write_op, (void))                                         \
	X(void, rados_release_write_op, (rados_write_op_t))                                        \
	X(void, rados_write_op_create, (rados_write_op_t, int, const char *))                      \
	X(void, rados_write_op_write_full, (rados_write_op_t, const char *, size_t))               \
	X(void, rados_write_op_assert_exists, (rados_write_op_t))                                  \
	X(void, rados_write_op_setxattr, (rados_write_op_t, const char *, const char *, size_t))   \
	X(int, rados_write_op_operate,                                                             \
	  (rados_write_op_t, rados_ioctx_t, const char *, time_t *, int))                          \
	X(int, rados_aio_write_op_operate,                                                         \
	  (rados_write_op_t, rados_ioctx_t, rados_completion_t, const char *, time_t *, int))      \
	X(rados_read_op_t, rados_create_read_op, (void))                                           \
	X(void, rados_release_read_op, (rados_read_op_t))                                          \
	X(void, rados_read_op_stat, (rados_read_op_t, uint64_t *, time_t *, int *))                \
	X(void, rados_read_op_read, (rados_read_op_t, uint64_t, size_t, char *, size_t *, int *))  \
	X(int, rados_read_op_operate, (rados_read_op_t, rados_ioctx_t, const char *, int))         \
	X(int, rados_read, (rados_ioctx_t, const char *, char *, size_t, uint64_t))                \
	X(int, rados_stat, (rados_ioctx_t, const char *, uint64_t *, time_t *))                    \
	X(int, rados_remove, (rados_ioctx_t, const char *))                                        \
	X(int, rados_nobjects_list_open, (rados_ioctx_t, rados_list_ctx_t *))                      \
	X(int, rados_nobjects_list_next,                                                           \
	  (rados_list_ctx_t, const char **, const char **, const char **))                         \
	X(void, rados_nobjects_list_close, (rados_list_ctx_t))

/*
 * Each pointer has exactly the type of the function librados.h declares
 * (checked at compile time: _Generic does not evaluate its operand, so
 * this refers to no librados symbol).
 */
#define RADOS_FIELD(ret, name, args) ret(*name) args;
#define RADOS_CHECK(ret, name, args)                                                               \
	_Static_assert(_Generic(&name, ret(*) args : 1, default : 0),                              \
		       #name " as librados.h has it");
RADOS_API(RADOS_CHECK)

/*
 * librados is loaded when a vault in a pool is first opened, not linked:
 * a laptop or a local vault needs no Ceph library installed, and a
 * command on a local vault does not pay for librados's start-up (its
 * C++ static objects, tens of milliseconds, more under sanitizers).
 */
static struct {
	RADOS_API(RADOS_FIELD)
} lr;
static pthread_once_t lr_once = PTHREAD_ONCE_INIT;
static char lr_error[300];

static void lr_load(void)
{
	void *h = dlopen(RADOS_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(lr_error, sizeof(lr_error), "%s", e ? e : "cannot be loaded");
		return;
	}
	/* POSIX's way of storing dlsym's result in a function pointer */
#define RADOS_LOAD(ret, name, args)                                                                \
	if (!(*(void **)&lr.name = dlsym(h, #name))) {                                             \
		snprintf(lr_error, sizeof(lr_error), RADOS_SONAME " lacks " #name);                \
		return;                                                                            \
	}
	RADOS_API(RADOS_LOAD)
#undef RADOS_LOAD
}

/* 0 once librados is loaded; EVAULT_EFORMAT with why when it cannot be. */
static int lr_ready(const char *loc)
{
	pthread_once(&lr_once, lr_load);
	if (lr_error[0])
		return evault_error_set(
		    EVAULT_EFORMAT,
		    "%s: this vault keeps its objects in a Ceph pool and librados "
		    "cannot be loaded (Debian: librados2): %s",
		    loc, lr_error);
	return 0;
}

typedef struct rados_backend {
	backend base;
	config cfg;
	char pool[CONFIG_OBJECTS_MAX + 1];
	char ns[CONFIG_OBJECTS_MAX + 1];
	pthread_mutex_t lock;
	pthread_cond_t room;
	size_t inflight; /* bytes of started writes not yet completed */
	bool connected, failed;
	char failure[400]; /* why the connection failed, said again at each use */
	int failure_code;
	rados_t cluster;
	rados_ioctx_t io;
	size_t read_guess; /* bytes read in the first round trip of a get */
	struct {
		uint8_t id[OBJECT_ID_LEN];
		int64_t at;       /* monotonic seconds; 0: empty */
	} seen[RADOS_SEEN_SLOTS]; /* objects stored or found lately, not sent again */
	backend *local;           /* REPO/tmp's leftovers from when the vault was local (tidy) */
} rados_backend;

struct backend_staged {
	rados_backend *b;
	rados_completion_t comp;
	rados_write_op_t op;
	uint8_t id[OBJECT_ID_LEN];
	size_t len;
	bool done; /* the completion has returned its bytes to the budget */
};

static const char *where(rados_backend *b, char *out, size_t n)
{
	snprintf(out, n, "rados:%s/%s", b->pool, b->ns);
	return out;
}

/* A librados error (negative errno) as evault's, naming what failed. */
static int rados_fail(rados_backend *b, int r, const char *what, const uint8_t *id)
{
	char hex[OBJECT_HEX_LEN + 1] = "", loc[CONFIG_OBJECTS_MAX * 2 + 16];
	if (id)
		object_id_hex(hex, id);
	where(b, loc, sizeof(loc));
	if (r == -ETIMEDOUT)
		return evault_error_set(EVAULT_ERROR,
					"%s%s%s: the Ceph cluster did not answer within %u s "
					"(rados-timeout in evault.conf)",
					what, id ? " " : "", hex, b->cfg.rados_timeout);
	if (r == -ENOSPC || r == -EDQUOT)
		return evault_error_set(EVAULT_ENOSPC, "%s%s%s: the pool of %s is full", what,
					id ? " " : "", hex, loc);
	if (r == -EACCES || r == -EPERM)
		return evault_error_set(
		    EVAULT_ERROR, "%s%s%s: client.%s may not do this in %s (its caps)", what,
		    id ? " " : "", hex, b->cfg.rados_user[0] ? b->cfg.rados_user : "admin", loc);
	return evault_error_set(EVAULT_ERROR, "%s%s%s in %s: %s", what, id ? " " : "", hex, loc,
				strerror(-r));
}

static int set_opt(rados_t c, const char *k, const char *v, const char *loc)
{
	int r = lr.rados_conf_set(c, k, v);
	return r < 0 ? evault_error_set(EVAULT_ERROR, "%s: cannot set %s: %s", loc, k, strerror(-r))
		     : 0;
}

static int connect_now(rados_backend *b)
{
	char loc[CONFIG_OBJECTS_MAX * 2 + 16], secs[16], id[CONFIG_NAME_MAX + 16];
	int r, rc;
	where(b, loc, sizeof(loc));
	snprintf(id, sizeof(id), "client.%s", b->cfg.rados_user[0] ? b->cfg.rados_user : "admin");
	snprintf(secs, sizeof(secs), "%u", b->cfg.rados_timeout);
	if ((r = lr.rados_create2(&b->cluster, "ceph", id, 0)) < 0)
		return evault_error_set(EVAULT_ERROR, "%s: cannot start librados: %s", loc,
					strerror(-r));
	/* NULL: $CEPH_CONF, /etc/ceph/ceph.conf, ~/.ceph/config, ./ceph.conf */
	r = lr.rados_conf_read_file(b->cluster, b->cfg.rados_conf[0] ? b->cfg.rados_conf : NULL);
	if (r < 0) {
		rc = b->cfg.rados_conf[0]
			 ? evault_error_set(EVAULT_ERROR, "%s: cannot read %s: %s", loc,
					    b->cfg.rados_conf, strerror(-r))
			 : evault_error_set(
			       EVAULT_ERROR,
			       "%s: no ceph.conf found ($CEPH_CONF, /etc/ceph/ceph.conf, "
			       "or rados-conf in evault.conf)",
			       loc);
		goto fail;
	}
	lr.rados_conf_parse_env(b->cluster, NULL); /* $CEPH_ARGS, as Ceph's tools do */
	/* librados's own messages would interleave with evault's one-line errors */
	if ((rc = set_opt(b->cluster, "log_to_stderr", "false", loc)) < 0 ||
	    (rc = set_opt(b->cluster, "err_to_stderr", "false", loc)) < 0 ||
	    (rc = set_opt(b->cluster, "rados_osd_op_timeout", secs, loc)) < 0 ||
	    (rc = set_opt(b->cluster, "rados_mon_op_timeout", secs, loc)) < 0 ||
	    (rc = set_opt(b->cluster, "client_mount_timeout", secs, loc)) < 0 ||
	    (b->cfg.rados_keyring[0] &&
	     (rc = set_opt(b->cluster, "keyring", b->cfg.rados_keyring, loc)) < 0))
		goto fail;
	if ((r = lr.rados_connect(b->cluster)) < 0) {
		rc = evault_error_set(EVAULT_ERROR, "%s: cannot reach the Ceph cluster as %s: %s%s",
				      loc, id, strerror(-r),
				      r == -ETIMEDOUT || r == -EINTR ? " (is a mon up?)" : "");
		goto fail;
	}
	if ((r = lr.rados_ioctx_create(b->cluster, b->pool, &b->io)) < 0) {
		rc = r == -ENOENT ? evault_error_set(EVAULT_ERROR,
						     "%s: the Ceph pool %s does not exist (ceph "
						     "osd pool create %s; docs/ceph.md)",
						     loc, b->pool, b->pool)
				  : rados_fail(b, r, "cannot open the pool", NULL);
		lr.rados_shutdown(b->cluster);
		return rc;
	}
	lr.rados_ioctx_set_namespace(b->io, b->ns);
	b->connected = true;
	return 0;
fail:
	lr.rados_shutdown(b->cluster);
	return rc;
}

/* Connects on first use; a failure is remembered and said again. */
static int ready(rados_backend *b)
{
	int rc = 0;
	pthread_mutex_lock(&b->lock);
	if (!b->connected) {
		if (b->failed)
			rc = evault_error_set(b->failure_code, "%s", b->failure);
		else if ((rc = connect_now(b)) < 0) {
			b->failed = true;
			b->failure_code = rc;
			snprintf(b->failure, sizeof(b->failure), "%s", evault_error_last());
		}
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

static bool retryable(int r)
{
	return r == -EAGAIN || r == -EBUSY;
}

/* ---- writes ---- */

static int64_t now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec + 1; /* never 0, the empty slot's */
}

static size_t seen_slot(const uint8_t id[OBJECT_ID_LEN])
{
	return ((size_t)id[0] | (size_t)id[1] << 8) % RADOS_SEEN_SLOTS;
}

static bool seen_has(rados_backend *b, const uint8_t id[OBJECT_ID_LEN])
{
	size_t i = seen_slot(id);
	pthread_mutex_lock(&b->lock);
	bool yes = b->seen[i].at && now_seconds() - b->seen[i].at < RADOS_SEEN_SECONDS &&
		   memcmp(b->seen[i].id, id, OBJECT_ID_LEN) == 0;
	pthread_mutex_unlock(&b->lock);
	return yes;
}

static void seen_set(rados_backend *b, const uint8_t id[OBJECT_ID_LEN], bool present)
{
	size_t i = seen_slot(id);
	pthread_mutex_lock(&b->lock);
	if (present) {
		memcpy(b->seen[i].id, id, OBJECT_ID_LEN);
		b->seen[i].at = now_seconds();
	} else if (memcmp(b->seen[i].id, id, OBJECT_ID_LEN) == 0) {
		b->seen[i].at = 0;
	}
	pthread_mutex_unlock(&b->lock);
}

static void write_done(rados_completion_t comp, void *arg)
{
	backend_staged *st = arg;
	rados_backend *b = st->b;
	(void)comp;
	pthread_mutex_lock(&b->lock);
	b->inflight -= st->len;
	st->done = true;
	pthread_cond_broadcast(&b->room);
	pthread_mutex_unlock(&b->lock);
}

static void staged_free(backend_staged *st)
{
	if (!st)
		return;
	if (st->comp) {
		/* and its callback: st is freed only once write_done is done with it */
		lr.rados_aio_wait_for_complete_and_cb(st->comp);
		lr.rados_aio_release(st->comp);
	}
	if (st->op)
		lr.rados_release_write_op(st->op);
	free(st);
}

static int start_write(rados_backend *b, backend_staged *st, const void *data)
{
	char oid[OBJECT_HEX_LEN + 1];
	object_id_hex(oid, st->id);
	pthread_mutex_lock(&b->lock);
	while (b->inflight && b->inflight + st->len > RADOS_INFLIGHT_MAX)
		pthread_cond_wait(&b->room, &b->lock);
	b->inflight += st->len;
	pthread_mutex_unlock(&b->lock);
	st->done = false;
	if (!(st->op = lr.rados_create_write_op()) ||
	    lr.rados_aio_create_completion2(st, write_done, &st->comp) < 0) {
		write_done(NULL, st);
		st->comp = NULL;
		return error_oom();
	}
	lr.rados_write_op_create(st->op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
	lr.rados_write_op_write_full(st->op, data, st->len);
	int r = lr.rados_aio_write_op_operate(st->op, b->io, st->comp, oid, NULL,
					      LIBRADOS_OPERATION_FULL_TRY);
	if (r < 0) {
		lr.rados_aio_release(st->comp);
		st->comp = NULL;
		write_done(NULL, st);
		return rados_fail(b, r, "cannot store object", st->id);
	}
	return 0;
}

static int rb_stage(backend *base, const uint8_t id[OBJECT_ID_LEN], void *data, size_t len,
		    size_t room, backend_staged **out)
{
	rados_backend *b = (rados_backend *)base;
	int rc;
	(void)room;
	*out = NULL;
	if (seen_has(b, id))
		return 0;
	if ((rc = ready(b)) < 0)
		return rc;
	backend_staged *st = calloc(1, sizeof(*st));
	if (!st)
		return error_oom();
	st->b = b;
	memcpy(st->id, id, OBJECT_ID_LEN);
	st->len = len;
	if ((rc = start_write(b, st, data)) < 0) {
		staged_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

/* rados_stat, tried again on EAGAIN/EBUSY: librados's result */
static int stat_retried(rados_backend *b, const char *oid, uint64_t *size, time_t *mtime)
{
	int r;
	for (int i = 0;
	     (r = lr.rados_stat(b->io, oid, size, mtime)) < 0 && retryable(r) && i < RADOS_RETRIES;
	     i++)
		;
	return r;
}

/* The object was there: the same size is a dedup (its time touched), another is damage. */
static int found_existing(rados_backend *b, backend_staged *st)
{
	char oid[OBJECT_HEX_LEN + 1];
	uint64_t size;
	time_t mtime;
	object_id_hex(oid, st->id);
	int r = stat_retried(b, oid, &size, &mtime);
	if (r < 0)
		return rados_fail(b, r, "cannot check object", st->id);
	if (size != st->len) {
		/* a damaged copy under this name: removed so that a new put stores it */
		r = lr.rados_remove(b->io, oid);
		if (r < 0 && r != -ENOENT)
			return rados_fail(b, r, "cannot remove damaged object", st->id);
		return evault_error_set(EVAULT_ECORRUPT,
					"object %s in the pool was damaged (%llu bytes instead of "
					"%zu): removed; store the file again",
					oid, (unsigned long long)size, st->len);
	}
	/* "in use" for gc's grace period, as a local put's touch */
	rados_write_op_t op = lr.rados_create_write_op();
	if (!op)
		return error_oom();
	lr.rados_write_op_assert_exists(op);
	lr.rados_write_op_setxattr(op, "evault.used", "", 0);
	r = lr.rados_write_op_operate(op, b->io, oid, NULL, 0);
	lr.rados_release_write_op(op);
	if (r < 0 && r != -ENOENT) /* ENOENT: collected meanwhile; the next gc keeps it no more */
		return rados_fail(b, r, "cannot touch object", st->id);
	return 0;
}

static int rb_publish(backend *base, backend_staged **staged, size_t n)
{
	rados_backend *b = (rados_backend *)base;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		backend_staged *st = staged[i];
		if (!st)
			continue;
		lr.rados_aio_wait_for_complete_and_cb(st->comp);
		int r = lr.rados_aio_get_return_value(st->comp);
		if (rc == 0 && r == -EEXIST)
			rc = found_existing(b, st);
		else if (rc == 0 && r < 0)
			rc = rados_fail(b, r, "cannot store object", st->id);
		if (rc == 0)
			seen_set(b, st->id, true);
		staged_free(st);
		staged[i] = NULL;
	}
	return rc;
}

/*
 * A batch given up: its writes were started, and each either completes
 * (a whole object, unreferenced: gc collects it) or does not exist.
 */
static void rb_discard(backend *base, backend_staged **staged, size_t n)
{
	(void)base;
	for (size_t i = 0; i < n; i++) {
		staged_free(staged[i]);
		staged[i] = NULL;
	}
}

static int rb_put(backend *base, const uint8_t id[OBJECT_ID_LEN], const void *data, size_t len)
{
	backend_staged *st = NULL;
	int rc = rb_stage(base, id, (void *)data, len, len, &st);
	if (rc == 0 && st)
		rc = rb_publish(base, &st, 1);
	return rc;
}

/* ---- reads ---- */

static int rb_get(backend *base, const uint8_t id[OBJECT_ID_LEN], evault_buf *out, size_t max)
{
	rados_backend *b = (rados_backend *)base;
	char oid[OBJECT_HEX_LEN + 1];
	int rc, r = 0;
	out->size = 0;
	if ((rc = ready(b)) < 0)
		return rc;
	object_id_hex(oid, id);
	size_t want = b->read_guess < max ? b->read_guess : max;
	if ((rc = buf_reserve(out, want ? want : 1)) < 0)
		return rc;
	for (int attempt = 0; attempt <= RADOS_RETRIES; attempt++) {
		/* size and the first bytes in one round trip */
		uint64_t size = 0;
		time_t mtime;
		size_t got = 0;
		int rs = 0, rr = 0;
		rados_read_op_t op = lr.rados_create_read_op();
		if (!op)
			return error_oom();
		lr.rados_read_op_stat(op, &size, &mtime, &rs);
		lr.rados_read_op_read(op, 0, want, out->ptr, &got, &rr);
		r = lr.rados_read_op_operate(op, b->io, oid, 0);
		lr.rados_release_read_op(op);
		if (r == -ENOENT)
			return evault_error_set(EVAULT_ENOTFOUND, "object %s is missing", oid);
		if (r < 0 && retryable(r))
			continue;
		if (r < 0)
			break;
		if (size > max)
			return evault_error_set(EVAULT_ECORRUPT,
						"object %s is larger than any object can be", oid);
		if (got < size) { /* larger than the guess: the rest */
			if ((rc = buf_reserve(out, (size_t)size)) < 0)
				return rc;
			r = lr.rados_read(b->io, oid, out->ptr + got, (size_t)size - got, got);
			if (r < 0 && retryable(r))
				continue;
			if (r < 0)
				break;
			got += (size_t)r;
		}
		if (got != size)
			return evault_error_set(EVAULT_ECORRUPT,
						"object %s: read %zu bytes of %llu", oid, got,
						(unsigned long long)size);
		out->size = got;
		return 0;
	}
	return rados_fail(b, r, "cannot read object", id);
}

static int rb_stat(backend *base, const uint8_t id[OBJECT_ID_LEN], uint64_t *size, int64_t *mtime)
{
	rados_backend *b = (rados_backend *)base;
	char oid[OBJECT_HEX_LEN + 1];
	time_t t = 0;
	int rc, r;
	if ((rc = ready(b)) < 0)
		return rc;
	object_id_hex(oid, id);
	r = stat_retried(b, oid, size, &t);
	if (r == -ENOENT)
		return evault_error_set(EVAULT_ENOTFOUND, "object %s is missing", oid);
	if (r < 0)
		return rados_fail(b, r, "cannot stat object", id);
	*mtime = (int64_t)t;
	return 0;
}

static int rb_exists(backend *base, const uint8_t id[OBJECT_ID_LEN])
{
	uint64_t size;
	int64_t mtime;
	int rc = rb_stat(base, id, &size, &mtime);
	if (rc == EVAULT_ENOTFOUND) {
		evault_error_clear();
		return 0;
	}
	return rc < 0 ? rc : 1;
}

static int rb_del(backend *base, const uint8_t id[OBJECT_ID_LEN])
{
	rados_backend *b = (rados_backend *)base;
	char oid[OBJECT_HEX_LEN + 1];
	int rc, r;
	if ((rc = ready(b)) < 0)
		return rc;
	object_id_hex(oid, id);
	for (int i = 0; (r = lr.rados_remove(b->io, oid)) < 0 && retryable(r) && i < RADOS_RETRIES;
	     i++)
		;
	seen_set(b, id, false);
	if (r < 0 && r != -ENOENT)
		return rados_fail(b, r, "cannot delete object", id);
	return 0;
}

/* Streams the namespace: librados pages through it, memory stays flat. */
static int rb_list(backend *base, backend_list_cb cb, void *payload)
{
	rados_backend *b = (rados_backend *)base;
	rados_list_ctx_t ctx;
	int rc, r;
	if ((rc = ready(b)) < 0)
		return rc;
	if ((r = lr.rados_nobjects_list_open(b->io, &ctx)) < 0)
		return rados_fail(b, r, "cannot list objects", NULL);
	for (;;) {
		const char *entry = NULL;
		uint8_t id[OBJECT_ID_LEN];
		r = lr.rados_nobjects_list_next(ctx, &entry, NULL, NULL);
		if (r == -ENOENT) {
			r = 0;
			break;
		}
		if (r < 0) {
			rc = rados_fail(b, r, "cannot list objects", NULL);
			break;
		}
		/* anything else in the namespace is not evault's */
		if (strlen(entry) != OBJECT_HEX_LEN ||
		    hex_decode(id, sizeof(id), entry, OBJECT_HEX_LEN) < 0)
			continue;
		char canon[OBJECT_HEX_LEN + 1];
		object_id_hex(canon, id);
		if (strcmp(canon, entry) != 0)
			continue;
		if ((rc = cb(id, payload)) != 0)
			break;
	}
	lr.rados_nobjects_list_close(ctx);
	return rc;
}

/* Every completed write is durable on all the pool's replicas already. */
static int rb_sync(backend *base)
{
	(void)base;
	return 0;
}

/*
 * Nothing is staged in the pool under another name: a crashed writer
 * leaves nothing there. REPO/tmp may hold a local writer's leftovers from
 * before a migration: those are tidied as the local store does.
 */
static int rb_tidy(backend *base, int64_t older_than, bool dry_run, size_t *removed)
{
	rados_backend *b = (rados_backend *)base;
	return b->local->ops->tidy(b->local, older_than, dry_run, removed);
}

static void rb_free(backend *base)
{
	rados_backend *b = (rados_backend *)base;
	if (!b)
		return;
	if (b->connected) {
		lr.rados_ioctx_destroy(b->io);
		lr.rados_shutdown(b->cluster);
	}
	if (b->local)
		b->local->ops->free(b->local);
	pthread_cond_destroy(&b->room);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static const struct backend_ops rados_ops = {
    .put = rb_put,
    .get = rb_get,
    .exists = rb_exists,
    .stat = rb_stat,
    .del = rb_del,
    .list = rb_list,
    .sync = rb_sync,
    .tidy = rb_tidy,
    .stage = rb_stage,
    .publish = rb_publish,
    .discard = rb_discard,
    .free = rb_free,
};

int backend_rados_open(backend **out, const char *repo_path, const config *cfg)
{
	*out = NULL;
	if (config_objects_check(cfg->objects) < 0 || !config_objects_rados(cfg))
		return evault_error_set(EVAULT_EINVAL, "not a rados objects location: %.60s",
					cfg->objects);
	int rc = lr_ready(cfg->objects);
	if (rc < 0)
		return rc;
	rados_backend *b = calloc(1, sizeof(*b));
	if (!b)
		return error_oom();
	b->base.ops = &rados_ops;
	b->cfg = *cfg;
	const char *pool = cfg->objects + 6, *slash = strchr(pool, '/');
	if (slash) {
		snprintf(b->pool, sizeof(b->pool), "%.*s", (int)(slash - pool), pool);
		snprintf(b->ns, sizeof(b->ns), "%s", slash + 1);
	} else {
		snprintf(b->pool, sizeof(b->pool), "%s", pool);
		snprintf(b->ns, sizeof(b->ns), "%s", cfg->vault_id_hex);
	}
	/* an object is at most a chunk, compressed or not, and its envelope */
	b->read_guess = (size_t)cfg->chunk_size + 64 * 1024;
	rc = backend_local_open(&b->local, repo_path);
	if (rc < 0) {
		free(b);
		return rc;
	}
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->room, NULL);
	*out = &b->base;
	return 0;
}
