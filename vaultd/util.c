/*
 * Helpers shared by engine modules. File writes here follow one rule: a
 * crash leaves either the old file or the complete new one, never a torn
 * file (write to a temporary name in the same directory, fsync, rename,
 * fsync the directory).
 */
#define _GNU_SOURCE /* nftw; syncfs (Linux) */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util.h"

/* The user name of uid (a file's owner), or "uid N". */
void owner_name(char *out, size_t n, unsigned long uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(out, n, "%s", res->pw_name);
	else
		snprintf(out, n, "uid %lu", uid);
}

/*
 * A file that exists but that this process may not open: never "not
 * found" (a key copy written by another account would read as "no such
 * mission"). The file, or the nearest directory above it that can be
 * examined, is named with its owner and mode.
 */
static int error_permission(const char *what, const char *path, int e)
{
	char dir[4096], who[256], me[256];
	struct stat st;
	snprintf(dir, sizeof(dir), "%s", path);
	bool self = true;
	while (lstat(dir, &st) < 0) {
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir) {
			snprintf(dir, sizeof(dir), "%s", slash ? "/" : ".");
			if (stat(dir, &st) < 0)
				return evault_error_set(EVAULT_ERROR, "%s %s: %s", what, path,
							strerror(e));
			break;
		}
		*slash = '\0';
		self = false;
	}
	owner_name(who, sizeof(who), st.st_uid);
	owner_name(me, sizeof(me), geteuid());
	if (self)
		return evault_error_set(EVAULT_ERROR,
					"%s %s: permission denied: it belongs to %s (mode %04o), "
					"evault runs as %s",
					what, path, who, (unsigned)(st.st_mode & 07777), me);
	return evault_error_set(EVAULT_ERROR,
				"%s %s: permission denied: the directory %s belongs to %s (mode "
				"%04o), evault runs as %s",
				what, path, dir, who, (unsigned)(st.st_mode & 07777), me);
}

int check_repo_owner(const char *repo_path)
{
	struct stat rs;
	if (stat(repo_path, &rs) < 0 || rs.st_uid == geteuid())
		return 0;
	char who[256];
	owner_name(who, sizeof(who), (unsigned long)rs.st_uid);
	return evault_error_set(
	    EVAULT_EDENIED, "cannot write to %s: the repository belongs to %s; run evault as %s",
	    repo_path, who, who);
}

int error_errno(const char *what, const char *path)
{
	int e = errno;
	int code = (e == ENOSPC || e == EDQUOT) ? EVAULT_ENOSPC : EVAULT_ERROR;
	if (e == ENOENT)
		code = EVAULT_ENOTFOUND;
	if ((e == EACCES || e == EPERM) && path)
		return error_permission(what, path, e);
	if (path)
		return evault_error_set(code, "%s %s: %s", what, path, strerror(e));
	return evault_error_set(code, "%s: %s", what, strerror(e));
}

int error_oom(void)
{
	return evault_error_set(EVAULT_ERROR, "out of memory");
}

int buf_reserve(evault_buf *buf, size_t len)
{
	if (len + 1 <= buf->asize)
		return 0;
	size_t n = buf->asize ? buf->asize : 64;
	while (n < len + 1)
		n *= 2;
	char *p = malloc(n);
	if (!p)
		return error_oom();
	if (buf->ptr) {
		memcpy(p, buf->ptr, buf->size);
		sodium_memzero(buf->ptr, buf->asize);
		free(buf->ptr);
	}
	buf->ptr = p;
	buf->asize = n;
	buf->ptr[buf->size] = '\0';
	return 0;
}

int evault_buf_put(evault_buf *buf, const void *data, size_t len)
{
	int rc = buf_reserve(buf, buf->size + len);
	if (rc < 0)
		return rc;
	if (len)
		memcpy(buf->ptr + buf->size, data, len);
	buf->size += len;
	buf->ptr[buf->size] = '\0';
	return 0;
}

int evault_buf_printf(evault_buf *buf, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return evault_error_set(EVAULT_ERROR, "formatting failed");
	if ((size_t)n < sizeof(small))
		return evault_buf_put(buf, small, (size_t)n);
	char *big = malloc((size_t)n + 1);
	if (!big)
		return error_oom();
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = evault_buf_put(buf, big, (size_t)n);
	sodium_memzero(big, (size_t)n);
	free(big);
	return rc;
}

void evault_buf_dispose(evault_buf *buf)
{
	if (!buf)
		return;
	if (buf->ptr) {
		sodium_memzero(buf->ptr, buf->asize);
		free(buf->ptr);
	}
	buf->ptr = NULL;
	buf->size = buf->asize = 0;
}

void hex_encode(char *out, const uint8_t *in, size_t len)
{
	sodium_bin2hex(out, len * 2 + 1, in, len);
}

int hex_decode(uint8_t *out, size_t outlen, const char *in, size_t inlen)
{
	size_t n = 0;
	if (inlen != outlen * 2 || !is_hex(in, inlen))
		return EVAULT_EINVAL;
	if (sodium_hex2bin(out, outlen, in, inlen, NULL, &n, NULL) != 0 || n != outlen)
		return EVAULT_EINVAL;
	return 0;
}

bool is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int b64_encode(evault_buf *out, const uint8_t *in, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *tmp = malloc(n);
	if (!tmp)
		return error_oom();
	sodium_bin2base64(tmp, n, in, len, sodium_base64_VARIANT_ORIGINAL);
	int rc = evault_buf_put(out, tmp, strlen(tmp));
	free(tmp);
	return rc;
}

int b64_decode(evault_buf *out, const char *in, size_t len)
{
	size_t cap = len / 4 * 3 + 3, n = 0;
	uint8_t *tmp = malloc(cap ? cap : 1);
	if (!tmp)
		return error_oom();
	if (sodium_base642bin(tmp, cap, in, len, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) !=
	    0) {
		free(tmp);
		return evault_error_set(EVAULT_EINVAL, "invalid base64");
	}
	int rc = evault_buf_put(out, tmp, n);
	sodium_memzero(tmp, cap);
	free(tmp);
	return rc;
}

int file_read_all(evault_buf *out, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return error_errno("cannot open", path);
	int rc = 0;
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = error_errno("cannot read", path);
			break;
		}
		if (n == 0)
			break;
		if (out->size + (size_t)n > max) {
			rc = evault_error_set(EVAULT_ECORRUPT, "%s: larger than expected", path);
			break;
		}
		if ((rc = evault_buf_put(out, tmp, (size_t)n)) < 0)
			break;
	}
	sodium_memzero(tmp, sizeof(tmp));
	close(fd);
	return rc;
}

int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open directory", dir);
	int rc = 0;
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = error_errno("cannot sync directory", dir);
	close(fd);
	return rc;
}

int syncfs_path(const char *path, const char *what)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 || syncfs(fd) < 0 ? error_errno(what, path) : 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash)
		return fsync_dir(".");
	size_t n = (size_t)(slash - path);
	if (n == 0)
		return fsync_dir("/");
	if (n >= sizeof(dir))
		return evault_error_set(EVAULT_EINVAL, "path too long");
	memcpy(dir, path, n);
	dir[n] = '\0';
	return fsync_dir(dir);
}

static int write_fd_sync(int fd, const char *path, const void *data, size_t len)
{
	if (write_full(fd, data, len) < 0)
		return error_errno("cannot write", path);
	if (fsync(fd) < 0)
		return error_errno("cannot sync", path);
	return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	evault_buf tmp = EVAULT_BUF_INIT;
	uint32_t r = randombytes_random();
	int rc = evault_buf_printf(&tmp, "%s.tmp-%08x", path, r);
	if (rc < 0)
		return rc;
	int fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = error_errno("cannot create", tmp.ptr);
		goto done;
	}
	rc = write_fd_sync(fd, tmp.ptr, data, len);
	if (close(fd) < 0 && rc == 0)
		rc = error_errno("cannot close", tmp.ptr);
	if (rc == 0 && rename(tmp.ptr, path) < 0)
		rc = error_errno("cannot rename into", path);
	if (rc < 0)
		unlink(tmp.ptr);
	else
		rc = fsync_parent(path);
done:
	evault_buf_dispose(&tmp);
	return rc;
}

int file_write_new(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return evault_error_set(EVAULT_EEXISTS, "%s already exists", path);
		return error_errno("cannot create", path);
	}
	int rc = write_fd_sync(fd, path, data, len);
	close(fd);
	if (rc < 0) {
		unlink(path);
		return rc;
	}
	return fsync_parent(path);
}

int file_shred(const char *path)
{
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return error_errno("cannot open", path);
	}
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size < (1 << 20)) {
		char zero[4096] = {0};
		off_t left = st.st_size;
		while (left > 0 && rc == 0) {
			size_t n = left > (off_t)sizeof(zero) ? sizeof(zero) : (size_t)left;
			if (write_full(fd, zero, n) < 0)
				rc = error_errno("cannot overwrite", path);
			left -= (off_t)n;
		}
		if (rc == 0 && fsync(fd) < 0)
			rc = error_errno("cannot sync", path);
	}
	close(fd);
	if (unlink(path) < 0 && errno != ENOENT)
		return error_errno("cannot remove", path);
	if (rc == 0)
		rc = fsync_parent(path);
	return rc;
}

int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(tmp))
		return evault_error_set(EVAULT_EINVAL, "bad directory path");
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return error_errno("cannot create directory", tmp);
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return error_errno("cannot create directory", tmp);
	return 0;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int remove_tree(const char *path)
{
	if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return error_errno("cannot remove", path);
	return 0;
}

int path_join(evault_buf *out, const char *a, const char *b)
{
	out->size = 0;
	return evault_buf_printf(out, "%s/%s", a, b);
}

void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
}

uint64_t get_u64(const uint8_t *p)
{
	return ((uint64_t)get_u32(p) << 32) | get_u32(p + 4);
}

int buf_put_u32(evault_buf *b, uint32_t v)
{
	uint8_t t[4];
	put_u32(t, v);
	return evault_buf_put(b, t, 4);
}

int buf_put_u64(evault_buf *b, uint64_t v)
{
	uint8_t t[8];
	put_u64(t, v);
	return evault_buf_put(b, t, 8);
}

int buf_put_string(evault_buf *b, const void *data, size_t len)
{
	if (len > UINT32_MAX)
		return evault_error_set(EVAULT_EINVAL, "string too long");
	int rc = buf_put_u32(b, (uint32_t)len);
	return rc < 0 ? rc : evault_buf_put(b, data, len);
}

void reader_init(reader *r, const void *data, size_t len)
{
	r->p = data;
	r->left = len;
	r->bad = false;
}

const uint8_t *reader_bytes(reader *r, size_t len)
{
	if (r->bad || r->left < len) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += len;
	r->left -= len;
	return p;
}

uint8_t reader_u8(reader *r)
{
	const uint8_t *p = reader_bytes(r, 1);
	return p ? p[0] : 0;
}

uint32_t reader_u32(reader *r)
{
	const uint8_t *p = reader_bytes(r, 4);
	return p ? get_u32(p) : 0;
}

uint64_t reader_u64(reader *r)
{
	const uint8_t *p = reader_bytes(r, 8);
	return p ? get_u64(p) : 0;
}

const uint8_t *reader_string(reader *r, size_t *len)
{
	uint32_t n = reader_u32(r);
	const uint8_t *p = reader_bytes(r, n);
	*len = p ? n : 0;
	return p;
}

int text_get(char *out, size_t outlen, const char *text, size_t textlen, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text, *end = text + textlen;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if ((size_t)(le - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == ' ') {
			size_t vlen = (size_t)(le - p) - klen - 1;
			if (vlen >= outlen)
				return EVAULT_ECORRUPT;
			memcpy(out, p + klen + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = le + 1;
	}
	return EVAULT_ENOTFOUND;
}

bool utc_date_parse(const char *s, int64_t *t)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1] + (m == 2 && leap ? 1 : 0))
		return false;
	if (t) {
		struct tm tm = {0};
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = d;
		*t = (int64_t)timegm(&tm);
	}
	return true;
}

void utc_time(char out[32], int64_t t, bool date_only, const char *none_text)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!t || !gmtime_r(&tt, &tm))
		snprintf(out, 32, "%s", none_text);
	else
		strftime(out, 32, date_only ? "%Y-%m-%d" : "%Y-%m-%d %H:%M:%SZ", &tm);
}

int text_each_line(const char *text, size_t len, text_each_line_fn fn, void *rec, unsigned *seen)
{
	if (memchr(text, '\0', len) || (len && text[len - 1] != '\n'))
		return 1;
	char *copy = malloc(len + 1);
	if (!copy)
		return error_oom();
	memcpy(copy, text, len);
	copy[len] = '\0';
	int rc = 0;
	for (char *p = copy, *nl; rc == 0 && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		*nl = '\0';
		rc = fn(rec, p, seen) < 0;
	}
	free(copy);
	return rc;
}

void evault_failpoint(const char *name)
{
	/* NAME:N: at its Nth pass (one point per process, any thread) */
	static atomic_ulong hits;
	const char *want = getenv("EVAULT_FAILPOINT");
	if (!want)
		return;
	size_t n = strlen(name);
	if (strncmp(want, name, n) != 0 || (want[n] && want[n] != ':'))
		return;
	unsigned long at = want[n] ? strtoul(want + n + 1, NULL, 10) : 1;
	if (atomic_fetch_add(&hits, 1) + 1 >= at)
		raise(SIGKILL);
}

void line_say(void (*cb)(const char *line, void *payload), void *payload, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	if (!cb)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cb(line, payload);
}

static evault_progress_cb progress_hook;
static void *progress_payload;

void evault_progress_set(evault_progress_cb cb, void *payload)
{
	progress_hook = cb;
	progress_payload = payload;
}

void progress_report(const char *what, uint64_t done, uint64_t total, bool bytes)
{
	if (progress_hook)
		progress_hook(what, done, total, bytes, progress_payload);
}
