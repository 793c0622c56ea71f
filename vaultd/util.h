/*
 * Small helpers shared by engine modules: encodings, careful file I/O
 * (atomic replace, fsync of directories), and wire-format readers/writers.
 */
#ifndef EVAULT_UTIL_H
#define EVAULT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "evault/common.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Error from errno: ENOSPC and EDQUOT become EVAULT_ENOSPC. */
/* EACCES/EPERM: "permission denied", naming the file's (or its directory's) owner. */
int error_errno(const char *what, const char *path);
/*
 * One account, the owner of the repository's directory, owns every file
 * evault writes there (mode 0600): another account (root included) that
 * would write is EVAULT_EDENIED, "the repository belongs to NAME".
 */
int check_repo_owner(const char *repo_path);
/* The user name of uid, or "uid N". */
void owner_name(char *out, size_t n, unsigned long uid);
int error_oom(void);

void hex_encode(char *out, const uint8_t *in, size_t len); /* out holds 2*len+1 */
int hex_decode(uint8_t *out, size_t outlen, const char *in, size_t inlen);
bool is_hex(const char *s, size_t len);

/* Standard base64 with padding (OpenSSH armour and key blobs). */
int b64_encode(evault_buf *out, const uint8_t *in, size_t len);
int b64_decode(evault_buf *out, const char *in, size_t len);

/* Reads a whole file, at most max bytes; larger is EVAULT_ECORRUPT. */
int file_read_all(evault_buf *out, const char *path, size_t max);
/* Writes to path.tmp-XXXX in the same directory, fsyncs, renames, fsyncs the dir. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Creates path with O_EXCL|O_NOFOLLOW, writes, fsyncs, fsyncs the dir. */
int file_write_new(const char *path, const void *data, size_t len, mode_t mode);
int fsync_dir(const char *dir);
/* One flush of the whole file system holding directory path (syncfs):
 * many files made durable at once; what: the error's words. */
int syncfs_path(const char *path, const char *what);
int fsync_parent(const char *path);
/* Overwrites a small file with zeros, fsyncs, unlinks, fsyncs the dir. */
int file_shred(const char *path);
/* mkdir -p with the given mode; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);
int write_full(int fd, const void *buf, size_t len);
/* Reads up to len bytes, short only at end of file; returns count or -1. */
ssize_t read_full(int fd, void *buf, size_t len);
/* Makes room for len bytes (plus a NUL) without changing the contents. */
int buf_reserve(evault_buf *buf, size_t len);
int path_join(evault_buf *out, const char *a, const char *b);
/* Removes a directory tree (no symlink is followed). */
int remove_tree(const char *path);

/* Wire helpers: big-endian integers and SSH-style length-prefixed strings. */
void put_u32(uint8_t *p, uint32_t v);
uint32_t get_u32(const uint8_t *p);
void put_u64(uint8_t *p, uint64_t v);
uint64_t get_u64(const uint8_t *p);
int buf_put_u32(evault_buf *b, uint32_t v);
int buf_put_u64(evault_buf *b, uint64_t v);
int buf_put_string(evault_buf *b, const void *data, size_t len);

/* A bounds-checked reader over untrusted bytes. */
typedef struct reader {
	const uint8_t *p;
	size_t left;
	bool bad;
} reader;
void reader_init(reader *r, const void *data, size_t len);
uint8_t reader_u8(reader *r);
uint32_t reader_u32(reader *r);
uint64_t reader_u64(reader *r);
const uint8_t *reader_bytes(reader *r, size_t len);
/* An SSH string: u32 length then bytes; *len set. */
const uint8_t *reader_string(reader *r, size_t *len);

/* Text lines "key value" (state files): value of the first line with key, or NULL. */
int text_get(char *out, size_t outlen, const char *text, size_t textlen, const char *key);
/* A date YYYY-MM-DD, a calendar day from 2000-01-01 to 2999-12-31; *t (when
 * not NULL): its 00:00 UTC. Due dates, refusals and reports read dates so. */
bool utc_date_parse(const char *s, int64_t *t);
/* t as "YYYY-MM-DD HH:MM:SSZ" (UTC; date_only: "YYYY-MM-DD"); 0 gives none_text. */
void utc_time(char out[32], int64_t t, bool date_only, const char *none_text);
/*
 * The lines of a record's text, each given to fn without its newline, in a
 * copy fn may change, with the record being filled and the bits of the
 * keys seen so far, until fn refuses one (returns < 0). 0: every line
 * taken; 1: the text holds a NUL, does not end with a newline, or fn
 * refused a line; EVAULT_ERROR when out of memory.
 */
typedef int (*text_each_line_fn)(void *rec, char *line, unsigned *seen);
int text_each_line(const char *text, size_t len, text_each_line_fn fn, void *rec, unsigned *seen);

/*
 * Crash tests: when EVAULT_FAILPOINT names this point, the process kills
 * itself with SIGKILL right here (exactly what kill -9 does, at a known
 * step). Unset, it costs one getenv. docs/architecture.md lists the points.
 */
void evault_failpoint(const char *name);

/* Reports progress to the hook of evault_progress_set, if any; what NULL:
 * the work ended. */
void progress_report(const char *what, uint64_t done, uint64_t total, bool bytes);
/* Formats one line of a report (at most 1 KiB) and gives it to cb, if any. */
void line_say(void (*cb)(const char *line, void *payload), void *payload, const char *fmt, ...)
    EVAULT_PRINTF(3, 4);

#endif
