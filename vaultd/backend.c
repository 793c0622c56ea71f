/*
 * Local directory object backend (see backend.h). An object is staged as
 * an unnamed file in REPO/objects/ab/ (O_TMPFILE), written with direct
 * I/O when the caller's buffer allows it; publish flushes the
 * batch with one syncfs, then links each object to its name. Where
 * O_TMPFILE or /proc is not available, objects are staged in REPO/tmp/
 * and renamed into place after the flush. Either way an object has its
 * name only when all its bytes are durable. One flush per batch instead
 * of one fsync per object is what lets put run near the disk's speed
 * (docs/architecture.md, tests/bench/put_get.sh). The fan-out
 * directories touched are fsynced once by sync(), which callers run
 * before they commit anything that references the objects.
 * Safe for concurrent use by the pipeline's worker threads.
 */
#define _GNU_SOURCE /* O_TMPFILE (Linux); elsewhere the rename path is used */
#include <stdio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "backend.h"
#include "config.h"
#include "util.h"

typedef struct local_backend {
	backend base;
	char *objects; /* REPO/objects */
	char *tmp;     /* REPO/tmp */
	pthread_mutex_t lock;
	uint8_t dirty[256 / 8]; /* fan-out directories to fsync at sync() */
	bool have_proc;         /* /proc/self/fd usable for linkat */
	_Atomic bool direct_ok; /* O_DIRECT not yet refused by this filesystem */
	bool top_dirty;
} local_backend;

void object_id_hex(char out[OBJECT_HEX_LEN + 1], const uint8_t id[OBJECT_ID_LEN])
{
	hex_encode(out, id, OBJECT_ID_LEN);
}

static void object_path(char *out, size_t n, local_backend *b, const uint8_t id[OBJECT_ID_LEN])
{
	char hex[OBJECT_HEX_LEN + 1];
	object_id_hex(hex, id);
	snprintf(out, n, "%s/%.2s/%s", b->objects, hex, hex);
}

struct backend_staged {
	int fd;          /* unnamed file (O_TMPFILE), or -1 */
	char tmp[4096];  /* named temporary file when fd is -1 */
	char path[4096]; /* final name */
	uint8_t fanout;
};

static void mark_dirty(local_backend *b, uint8_t fanout)
{
	pthread_mutex_lock(&b->lock);
	b->dirty[fanout / 8] |= (uint8_t)(1u << (fanout % 8));
	b->top_dirty = true;
	pthread_mutex_unlock(&b->lock);
}

/* A named temporary file in tmp/ (portable; also replaces damaged objects). */
static int stage_named(local_backend *b, backend_staged *st, const void *data, size_t len)
{
	snprintf(st->tmp, sizeof(st->tmp), "%s/obj-%.16s-%08x", b->tmp,
		 st->path + strlen(st->path) - 64, randombytes_random());
	int fd = open(st->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return error_errno("cannot create object", st->tmp);
	int rc = 0;
	if (write_full(fd, data, len) < 0)
		rc = error_errno("cannot write object", st->tmp);
	if (close(fd) < 0 && rc == 0)
		rc = error_errno("cannot close object", st->tmp);
	if (rc < 0)
		unlink(st->tmp);
	return rc;
}

#ifdef O_TMPFILE
static int open_unnamed(const char *dir, int flags)
{
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC | flags, 0444);
	if (fd < 0 && errno == ENOENT) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC | flags, 0444);
	}
	return fd;
}

/*
 * Direct I/O from the caller's aligned buffer, padded to a whole block and
 * truncated back: no copy into the page cache and no writeback later, the
 * larger part of put's system time. 1 when this filesystem refuses it, or
 * for a small object: each direct write waits for the device, where small
 * buffered ones go out together at the batch's one flush (a mount's group
 * of small files: 2,000 files of 20 KiB copied in 6.1 s direct, 4.8 s
 * buffered, on the same machine one after the other).
 */
#define DIRECT_MIN (256 * 1024)
static int write_direct(local_backend *b, const char *dir, void *data, size_t len, size_t room,
			int *fdout)
{
	size_t padded = (len + BACKEND_ALIGN - 1) & ~(size_t)(BACKEND_ALIGN - 1);
	if (!b->direct_ok || len < DIRECT_MIN || room < padded ||
	    ((uintptr_t)data & (BACKEND_ALIGN - 1)) != 0)
		return 1;
	int fd = open_unnamed(dir, O_DIRECT);
	if (fd < 0) {
		if (errno == EINVAL || errno == EOPNOTSUPP) {
			b->direct_ok = false; /* e.g. tmpfs: buffered from now on */
			return 1;
		}
		return error_errno("cannot create object in", dir);
	}
	memset((uint8_t *)data + len, 0, padded - len);
	if (write_full(fd, data, padded) < 0) {
		int e = errno;
		close(fd);
		if (e == EINVAL) { /* the device wants a larger alignment */
			b->direct_ok = false;
			return 1;
		}
		errno = e;
		return error_errno("cannot write object in", dir);
	}
	if (ftruncate(fd, (off_t)len) < 0) {
		int rc = error_errno("cannot write object in", dir);
		close(fd);
		return rc;
	}
	*fdout = fd;
	return 0;
}
#endif

/*
 * An unnamed file in the final directory (O_TMPFILE, Linux): a crash
 * before it is linked leaves nothing at all. 1 when unavailable here.
 */
static int stage_unnamed(local_backend *b, backend_staged *st, void *data, size_t len, size_t room)
{
#ifdef O_TMPFILE
	char dir[4096];
	if (!b->have_proc)
		return 1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(st->path) - 65), st->path);
	int rc = write_direct(b, dir, data, len, room, &st->fd);
	if (rc <= 0)
		return rc;
	int fd = open_unnamed(dir, 0);
	if (fd < 0) {
		if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
			return 1;
		return error_errno("cannot create object in", dir);
	}
	if (write_full(fd, data, len) < 0) {
		rc = error_errno("cannot write object", st->path);
		close(fd);
		return rc;
	}
	st->fd = fd;
	return 0;
#else
	(void)b, (void)st, (void)data, (void)len, (void)room;
	return 1;
#endif
}

static int local_stage(backend *base, const uint8_t id[OBJECT_ID_LEN], void *data, size_t len,
		       size_t room, backend_staged **out)
{
	local_backend *b = (local_backend *)base;
	struct stat sb;
	int rc;
	*out = NULL;
	backend_staged *st = calloc(1, sizeof(*st));
	if (!st)
		return error_oom();
	st->fd = -1;
	st->fanout = id[0];
	object_path(st->path, sizeof(st->path), b, id);
	if (stat(st->path, &sb) == 0) {
		if (S_ISREG(sb.st_mode) && (size_t)sb.st_size == len) {
			/* dedup: the name is the hash of these bytes. Its time says
			 * "in use" so that gc's grace period keeps it (docs/format.md). */
			utimensat(AT_FDCWD, st->path, NULL, 0);
			free(st);
			return 0;
		}
		rc = stage_named(b, st, data, len); /* a damaged copy: replace it */
	} else {
		rc = stage_unnamed(b, st, data, len, room);
		if (rc == 1)
			rc = stage_named(b, st, data, len);
	}
	if (rc < 0) {
		free(st);
		return rc;
	}
	*out = st;
	return 0;
}

static void local_discard(backend *base, backend_staged **staged, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		backend_staged *st = staged[i];
		if (!st)
			continue;
		if (st->fd >= 0)
			close(st->fd);
		else if (st->tmp[0])
			unlink(st->tmp);
		free(st);
		staged[i] = NULL;
	}
}

static int local_publish(backend *base, backend_staged **staged, size_t n)
{
	local_backend *b = (local_backend *)base;
	int rc = 0;
	if (n == 0)
		return 0;
	/* One flush for the whole batch: every byte durable before any name. */
	rc = syncfs_path(b->objects, "cannot sync objects");
	for (size_t i = 0; i < n && rc == 0; i++) {
		backend_staged *st = staged[i];
		char dir[4096];
		if (!st)
			continue;
		if (st->fd >= 0) {
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", st->fd);
			if (linkat(AT_FDCWD, proc, AT_FDCWD, st->path, AT_SYMLINK_FOLLOW) < 0 &&
			    errno != EEXIST) /* EEXIST: stored meanwhile by another writer */
				rc = error_errno("cannot store object", st->path);
		} else {
			snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(st->path) - 65), st->path);
			if (mkdir(dir, 0755) < 0 && errno != EEXIST)
				rc = error_errno("cannot create directory", dir);
			else if (rename(st->tmp, st->path) < 0)
				rc = error_errno("cannot store object", st->path);
			else
				st->tmp[0] = '\0';
		}
		if (rc == 0)
			mark_dirty(b, st->fanout);
	}
	local_discard(base, staged, n);
	return rc;
}

static int local_put(backend *b, const uint8_t id[OBJECT_ID_LEN], const void *data, size_t len)
{
	backend_staged *st = NULL;
	int rc = local_stage(b, id, (void *)data, len, len, &st);
	if (rc == 0 && st)
		rc = local_publish(b, &st, 1);
	return rc;
}

static int local_get(backend *base, const uint8_t id[OBJECT_ID_LEN], evault_buf *out, size_t max)
{
	local_backend *b = (local_backend *)base;
	char path[4096];
	object_path(path, sizeof(path), b, id);
	out->size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return evault_error_set(EVAULT_ENOTFOUND, "object %s is missing",
						path + strlen(path) - 64);
		return error_errno("cannot open object", path);
	}
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0) {
		rc = error_errno("cannot stat object", path);
		goto done;
	}
	if ((size_t)st.st_size > max) {
		rc = evault_error_set(EVAULT_ECORRUPT, "object %s is larger than any object can be",
				      path + strlen(path) - 64);
		goto done;
	}
	if ((rc = buf_reserve(out, (size_t)st.st_size)) < 0)
		goto done;
	ssize_t n = read_full(fd, out->ptr, (size_t)st.st_size);
	if (n < 0)
		rc = error_errno("cannot read object", path);
	else
		out->size = (size_t)n;
done:
	close(fd);
	return rc;
}

static int local_exists(backend *base, const uint8_t id[OBJECT_ID_LEN])
{
	local_backend *b = (local_backend *)base;
	char path[4096];
	object_path(path, sizeof(path), b, id);
	if (access(path, F_OK) == 0)
		return 1;
	return errno == ENOENT ? 0 : error_errno("cannot check object", path);
}

static int local_stat(backend *base, const uint8_t id[OBJECT_ID_LEN], uint64_t *size,
		      int64_t *mtime)
{
	local_backend *b = (local_backend *)base;
	char path[4096];
	struct stat sb;
	object_path(path, sizeof(path), b, id);
	if (stat(path, &sb) < 0)
		return errno == ENOENT ? evault_error_set(EVAULT_ENOTFOUND, "object %s is missing",
							  path + strlen(path) - 64)
				       : error_errno("cannot stat object", path);
	*size = (uint64_t)sb.st_size;
	*mtime = (int64_t)sb.st_mtim.tv_sec;
	return 0;
}

static int local_del(backend *base, const uint8_t id[OBJECT_ID_LEN])
{
	local_backend *b = (local_backend *)base;
	char path[4096];
	object_path(path, sizeof(path), b, id);
	if (unlink(path) < 0) {
		if (errno != ENOENT)
			return error_errno("cannot delete object", path);
		return 0; /* nothing to make durable (a replica may lack its directory) */
	}
	pthread_mutex_lock(&b->lock);
	b->dirty[id[0] / 8] |= (uint8_t)(1u << (id[0] % 8));
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static int local_list(backend *base, backend_list_cb cb, void *payload)
{
	local_backend *b = (local_backend *)base;
	char dir[4096];
	int rc = 0;
	for (int i = 0; i < 256 && rc == 0; i++) {
		snprintf(dir, sizeof(dir), "%s/%02x", b->objects, i);
		DIR *d = opendir(dir);
		if (!d) {
			if (errno == ENOENT)
				continue;
			return error_errno("cannot list", dir);
		}
		struct dirent *e;
		while (rc == 0 && (e = readdir(d))) {
			uint8_t id[OBJECT_ID_LEN];
			if (strlen(e->d_name) != OBJECT_HEX_LEN ||
			    hex_decode(id, sizeof(id), e->d_name, OBJECT_HEX_LEN) < 0 || id[0] != i)
				continue;
			rc = cb(id, payload);
		}
		closedir(d);
	}
	return rc;
}

static int local_sync(backend *base)
{
	local_backend *b = (local_backend *)base;
	uint8_t dirty[sizeof(b->dirty)];
	char dir[4096];
	int rc = 0;
	pthread_mutex_lock(&b->lock);
	memcpy(dirty, b->dirty, sizeof(dirty));
	memset(b->dirty, 0, sizeof(b->dirty));
	bool top_dirty = b->top_dirty;
	b->top_dirty = false;
	pthread_mutex_unlock(&b->lock);
	for (int i = 0; i < 256 && rc == 0; i++) {
		if (!(dirty[i / 8] & (1u << (i % 8))))
			continue;
		snprintf(dir, sizeof(dir), "%s/%02x", b->objects, i);
		rc = fsync_dir(dir);
	}
	if (rc == 0 && top_dirty)
		rc = fsync_dir(b->objects);
	return rc;
}

static int local_tidy(backend *base, int64_t older_than, bool dry_run, size_t *removed)
{
	local_backend *b = (local_backend *)base;
	char path[4096];
	int rc = 0;
	*removed = 0;
	DIR *d = opendir(b->tmp);
	if (!d)
		return errno == ENOENT ? 0 : error_errno("cannot list", b->tmp);
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", b->tmp, e->d_name);
		if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_mtim.tv_sec > older_than)
			continue;
		if (!dry_run && unlink(path) < 0 && errno != ENOENT)
			rc = error_errno("cannot remove", path);
		else
			(*removed)++;
	}
	closedir(d);
	if (rc == 0 && *removed && !dry_run)
		rc = fsync_dir(b->tmp);
	return rc;
}

static void local_free(backend *base)
{
	local_backend *b = (local_backend *)base;
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b->objects);
	free(b->tmp);
	free(b);
}

static const struct backend_ops local_ops = {
    .put = local_put,
    .get = local_get,
    .exists = local_exists,
    .stat = local_stat,
    .del = local_del,
    .list = local_list,
    .sync = local_sync,
    .tidy = local_tidy,
    .stage = local_stage,
    .publish = local_publish,
    .discard = local_discard,
    .free = local_free,
};

int backend_local_open(backend **out, const char *repo_path)
{
	evault_buf o = EVAULT_BUF_INIT, t = EVAULT_BUF_INIT;
	local_backend *b = calloc(1, sizeof(*b));
	*out = NULL;
	if (!b)
		return error_oom();
	if (evault_buf_printf(&o, "%s/objects", repo_path) < 0 ||
	    evault_buf_printf(&t, "%s/tmp", repo_path) < 0) {
		evault_buf_dispose(&o);
		free(b);
		return error_oom();
	}
	b->base.ops = &local_ops;
	b->objects = o.ptr;
	b->tmp = t.ptr;
	pthread_mutex_init(&b->lock, NULL);
	b->have_proc = access("/proc/self/fd", X_OK) == 0;
	b->direct_ok = true;
	*out = &b->base;
	return 0;
}

bool backend_have_rados(void)
{
#ifdef EVAULT_HAVE_RADOS
	return true;
#else
	return false;
#endif
}

int backend_open(backend **out, const char *repo_path, const config *cfg)
{
	*out = NULL;
	if (strcmp(cfg->objects, "local") == 0)
		return backend_local_open(out, repo_path);
#ifdef EVAULT_HAVE_RADOS
	if (config_objects_rados(cfg))
		return backend_rados_open(out, repo_path, cfg);
#endif
	return evault_error_set(EVAULT_EFORMAT,
				"this vault keeps its objects in %s, and this evault was built "
				"without that backend (librados): use an evault built with it",
				cfg->objects);
}
