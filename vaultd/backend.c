/*
 * Local directory object backend (see backend.h). An object is written as
 * an unnamed file in REPO/objects/ab/ (O_TMPFILE), fsynced, then linked
 * to its name; where that is not available, it is written to REPO/tmp/,
 * fsynced and renamed into place. Either way a crash leaves the whole
 * object or none. The fan-out directories touched are remembered and
 * fsynced once by sync(), which callers run before they commit anything
 * that references the objects.
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
#include "util.h"

typedef struct local_backend {
	backend base;
	char *objects; /* REPO/objects */
	char *tmp;     /* REPO/tmp */
	pthread_mutex_t lock;
	uint8_t dirty[256 / 8]; /* fan-out directories to fsync at sync() */
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

/* Writes data to fd and makes it durable. */
static int write_sync(int fd, const char *what, const void *data, size_t len)
{
	if (write_full(fd, data, len) < 0)
		return error_errno("cannot write object", what);
	if (fsync(fd) < 0)
		return error_errno("cannot sync object", what);
	return 0;
}

/*
 * The portable way, also used to replace a damaged object: a named
 * temporary file in tmp/, renamed over the final name.
 */
static int put_via_rename(local_backend *b, const char *path, const char *dir, const void *data,
			  size_t len)
{
	char tmp[4096];
	int rc;
	snprintf(tmp, sizeof(tmp), "%s/obj-%.16s-%08x", b->tmp, path + strlen(path) - 64,
		 randombytes_random());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return error_errno("cannot create object", tmp);
	rc = write_sync(fd, tmp, data, len);
	if (close(fd) < 0 && rc == 0)
		rc = error_errno("cannot close object", tmp);
	if (rc == 0 && mkdir(dir, 0755) < 0 && errno != EEXIST)
		rc = error_errno("cannot create directory", dir);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = error_errno("cannot store object", path);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/*
 * The fast way on Linux: an unnamed file in the final directory
 * (O_TMPFILE), written and synced, then given its name with linkat. A
 * crash before linkat leaves nothing at all. Returns 1 when the kernel or
 * filesystem cannot do it, so the caller falls back.
 */
static int put_via_tmpfile(const char *path, const char *dir, const void *data, size_t len)
{
#ifdef O_TMPFILE
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0444);
	if (fd < 0 && errno == ENOENT) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return error_errno("cannot create directory", dir);
		fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0444);
	}
	if (fd < 0) {
		if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
			return 1;
		return error_errno("cannot create object in", dir);
	}
	char proc[64];
	int rc = write_sync(fd, path, data, len);
	if (rc == 0) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0) {
			if (errno == EEXIST)
				rc = 0; /* stored meanwhile by another writer: same bytes */
			else if (errno == ENOENT || errno == EPERM || errno == EXDEV)
				rc = 1; /* no /proc: fall back */
			else
				rc = error_errno("cannot store object", path);
		}
	}
	close(fd);
	return rc;
#else
	(void)path, (void)dir, (void)data, (void)len;
	return 1;
#endif
}

static int local_put(backend *base, const uint8_t id[OBJECT_ID_LEN], const void *data, size_t len)
{
	local_backend *b = (local_backend *)base;
	char path[4096], dir[4096];
	struct stat st;
	int rc = 1;

	object_path(path, sizeof(path), b, id);
	snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(path) - 65), path);
	if (stat(path, &st) == 0) {
		if (S_ISREG(st.st_mode) && (size_t)st.st_size == len)
			return 0; /* dedup: the name is the hash of these bytes */
		rc = put_via_rename(b, path, dir, data, len); /* damaged copy: replace it */
	} else {
		rc = put_via_tmpfile(path, dir, data, len);
		if (rc == 1)
			rc = put_via_rename(b, path, dir, data, len);
	}
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&b->lock);
	b->dirty[id[0] / 8] |= (uint8_t)(1u << (id[0] % 8));
	b->top_dirty = true;
	pthread_mutex_unlock(&b->lock);
	return 0;
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

static int local_del(backend *base, const uint8_t id[OBJECT_ID_LEN])
{
	local_backend *b = (local_backend *)base;
	char path[4096];
	object_path(path, sizeof(path), b, id);
	if (unlink(path) < 0 && errno != ENOENT)
		return error_errno("cannot delete object", path);
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
	.del = local_del,
	.list = local_list,
	.sync = local_sync,
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
	*out = &b->base;
	return 0;
}
