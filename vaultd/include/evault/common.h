/*
 * evault: common definitions of the engine's public interface.
 *
 * Every engine function returns 0 on success or a negative EVAULT_E* code
 * and leaves a one-line, human-readable message for the calling thread in
 * evault_error_last(). The engine never prints, exits or aborts; front ends
 * (cli/, fusefs/) map codes to exit codes or errno values in one place each.
 * Messages never contain key bytes or a mission's plaintext.
 */
#ifndef EVAULT_COMMON_H
#define EVAULT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __GNUC__
#define EVAULT_WARN_UNUSED __attribute__((warn_unused_result))
#define EVAULT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EVAULT_WARN_UNUSED
#define EVAULT_PRINTF(a, b)
#endif

enum evault_error_code {
	EVAULT_OK = 0,
	EVAULT_ERROR = -1,     /* generic failure (I/O, library error) */
	EVAULT_ENOTFOUND = -2, /* no such user, mission, file, or not visible to the caller */
	EVAULT_EEXISTS = -3,   /* already exists */
	EVAULT_EAUTH = -4,     /* wrong passphrase, failed MAC or signature */
	EVAULT_ECORRUPT = -5,  /* stored data does not match what it should be */
	EVAULT_EDENIED = -6,   /* the acting user's role does not allow this */
	EVAULT_EREADONLY = -7, /* the target is read-only (closed mission) */
	EVAULT_EINVAL = -8,    /* bad argument: name, path, option value */
	EVAULT_ELOCKED = -9,   /* the repository is busy (lock held, ref moved) */
	EVAULT_ENOSPC = -10,   /* no space left on the repository's filesystem */
	EVAULT_EFORMAT = -11,  /* repository or file written by a newer evault */
	EVAULT_EREFUSED = -12, /* a charter rule forbids it now (close with unmarked codes) */
};

/* The calling thread's last error message; never NULL. */
const char *evault_error_last(void);
/* The code of the calling thread's last error (EVAULT_OK if none). */
int evault_error_code(void);
void evault_error_clear(void);
/* Front ends may record their own errors (usage) in the same place. */
int evault_error_set(int code, const char *fmt, ...) EVAULT_PRINTF(2, 3);

/*
 * One-time process initialisation (libsodium, libgit2). Safe to call more
 * than once. Returns 0 or EVAULT_ERROR.
 */
int evault_global_init(void);
void evault_global_shutdown(void);

/* A growable byte buffer owned by the caller; release with evault_buf_dispose. */
typedef struct evault_buf {
	char *ptr;
	size_t size;
	size_t asize;
} evault_buf;
#define EVAULT_BUF_INIT                                                                            \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}
int evault_buf_put(evault_buf *buf, const void *data, size_t len);
int evault_buf_printf(evault_buf *buf, const char *fmt, ...) EVAULT_PRINTF(2, 3);
/* Wipes the contents before releasing them (buffers may hold plaintext). */
void evault_buf_dispose(evault_buf *buf);

/*
 * Long work (put and get of a file, import, close, verify, fsck, gc)
 * reports how far it is to this hook, which the command line draws on a
 * terminal. what names the work and its unit ("put", "fsck: objects");
 * bytes: done and total count bytes, else items; total 0: not known. Called
 * often, from any thread: the hook throttles. what NULL: the work ended
 * (the line is erased). No hook (the default): nothing.
 */
typedef void (*evault_progress_cb)(const char *what, uint64_t done, uint64_t total, bool bytes,
				   void *payload);
void evault_progress_set(evault_progress_cb cb, void *payload);

/* Roles of vault users (docs/lifecycle.md). */
typedef enum evault_role {
	EVAULT_ROLE_ADMIN = 1,
	EVAULT_ROLE_TECHNICIAN = 2,
	EVAULT_ROLE_AUDITOR = 3,
} evault_role;
const char *evault_role_name(evault_role role);
int evault_role_parse(evault_role *out, const char *name);

/* Classes of a mission (docs/lifecycle.md). */
typedef enum evault_class {
	EVAULT_CLASS_DOSSIER = 0,
	EVAULT_CLASS_WORK = 1,
	EVAULT_CLASS_CODES = 2,
} evault_class;
#define EVAULT_CLASS_COUNT 3

/* The largest file a vault holds (16 TiB): larger sizes are refused
 * (EVAULT_EINVAL; EFBIG in the mount). */
#define EVAULT_FILE_MAX (UINT64_C(1) << 44)
const char *evault_class_name(evault_class cls);
int evault_class_parse(evault_class *out, const char *name);

#endif
