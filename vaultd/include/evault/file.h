/*
 * Files in a mission's class, addressed as "MID/CLASS/PATH". Content is cut
 * into chunks, encrypted, stored as objects; the file's manifest goes into
 * the history with one signed event per change. Plaintext is never written
 * to disk by the engine.
 */
#ifndef EVAULT_FILE_H
#define EVAULT_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/repo.h"

typedef struct evault_put_opts {
	unsigned version;
	bool force;    /* replace an existing file of the same path */
	uint32_t mode; /* 0: from the source, or 0644 */
	int64_t mtime; /* 0: from the source, or now */
	uint32_t mtime_nsec;
} evault_put_opts;
#define EVAULT_PUT_OPTS_VERSION 1
#define EVAULT_PUT_OPTS_INIT                                                                       \
	{                                                                                          \
		EVAULT_PUT_OPTS_VERSION, false, 0, 0, 0                                            \
	}

/* Reads fd to its end and stores it at vpath. Members of an open mission. */
int evault_file_put_fd(evault_repo *repo, const char *vpath, int fd, const evault_put_opts *opts);
/*
 * Writes the file's plaintext to fd. Every chunk is verified before any of
 * its bytes are written, so a corrupted object stops the output with
 * EVAULT_ECORRUPT and never yields wrong bytes.
 */
int evault_file_get_fd(evault_repo *repo, const char *vpath, int fd);
int evault_file_remove(evault_repo *repo, const char *vpath);
/* Removes an entry whose manifest does not open, named MID/CLASS/FID (a file
 * id as evault ls shows it), with a signed file.remove event. A healthy
 * entry is refused (EVAULT_EINVAL): those are removed by name. */
int evault_file_remove_damaged(evault_repo *repo, const char *vpath);

typedef struct evault_entry {
	const char *name;
	bool is_dir;
	uint64_t size;
	uint32_t mode;
	int64_t mtime;
	const char *content_type;
	/* an entry whose manifest does not open (name: its file id): why; else NULL.
	 * Listed after the files, at the class's top only. */
	const char *damaged;
} evault_entry;
typedef int (*evault_entry_cb)(const evault_entry *e, void *payload);
/* Entries directly under "MID/CLASS" or "MID/CLASS/DIR", sorted by name. */
int evault_file_list(evault_repo *repo, const char *vpath, evault_entry_cb cb, void *payload);

/*
 * The camera-card workflow: every regular file under src (recursively,
 * symlinks and devices skipped) stored at MID/DEST/<relative path> (DEST is
 * CLASS[/DIR]), read back through the verified path and compared with the
 * source by SHA-256. With wipe_source, and only when every file was stored
 * and proven, the sources are overwritten with zeros, synced and removed.
 * One signed file.import event lists each imported file's id and SHA-256.
 * Refused content (charter rules) is counted in one content.refused event
 * and makes the result EVAULT_EREFUSED; existing files are left alone.
 */
typedef struct evault_import_report {
	size_t imported, refused, existing, skipped, wiped;
	uint64_t bytes;
	/* per file: what is "imported", "refused" or "exists"; detail: SHA-256 or reason */
	void (*cb)(const char *rel, const char *what, const char *detail, void *payload);
	void *payload;
} evault_import_report;
int evault_file_import(evault_repo *repo, const char *mid, const char *src, const char *dest,
		       bool wipe_source, evault_import_report *report);

#endif
