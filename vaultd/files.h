/*
 * Files of a class for other engine modules (close, retention): the
 * decrypted entries of a class, streaming a file's plaintext to a sink,
 * storing a small buffer as a file, recording a file's entries in a state
 * transaction. The public put/get/ls/rm are built on the same pieces.
 */
#ifndef EVAULT_FILES_H
#define EVAULT_FILES_H

#include "chunk.h"
#include "content.h"
#include "evault/file.h"
#include "layout.h"
#include "manifest.h"
#include "mission.h"
#include "repo.h"
#include "state.h"

typedef struct file_entry {
	char fid[LAYOUT_FID_LEN + 1];
	manifest m;
} file_entry;

/* An entry whose manifest does not open or decode (a damaged or forged .enc):
 * known by its id only. */
typedef struct file_damaged {
	char fid[LAYOUT_FID_LEN + 1];
	char why[160];
} file_damaged;

typedef struct file_list {
	file_entry *e;
	size_t n, a;
	file_damaged *bad; /* the class's damaged entries, whatever want is */
	size_t nbad;
} file_list;

void file_list_clear(file_list *l);
/* Every file of the class (only those whose path is want, if not NULL).
 * One damaged entry never fails the scan: it goes to bad, and the class's
 * other files are listed as usual. */
int file_scan(file_list *out, evault_repo *repo, const state *st, const char *mid, evault_class cls,
	      const class_keys *k, const char *want);

/* evault_file_put_fd, with refusals counted in *refusals (when not NULL) instead of
 * one event each, and the new file's id and the SHA-256 of the bytes read (hex)
 * written to fid_out and sha_out (when not NULL). */
int file_put(evault_repo *repo, const char *vp, int fd, const evault_put_opts *opts,
	     content_tally *refusals, char fid_out[LAYOUT_FID_LEN + 1], char sha_out[65]);

/* Decrypts and decodes the manifest of one file (caller clears m). */
int file_load(const state *st, const char *mid, evault_class cls, const class_keys *k,
	      const char *fid, manifest *m);

/* Streams m's plaintext, chunk by chunk in order, every chunk verified first. */
typedef int (*file_sink)(const void *data, size_t len, void *payload);
int file_read(evault_repo *repo, const class_keys *k, const manifest *m, file_sink sink,
	      void *payload);

/* Encrypts and stores data as m's content: fills size, chunk size and
 * chunks (the caller frees m->chunks). For small generated files. */
int file_store_buffer(evault_repo *repo, const class_keys *k, const void *data, size_t len,
		      manifest *m);

/* Adds m's entries (.enc and .objs) under a new random fid (written to fid). */
int file_record(state *st, const char *mid, evault_class cls, const class_keys *k,
		const manifest *m, char fid[LAYOUT_FID_LEN + 1]);
/* Removes a file's entries. */
int file_unrecord(state *st, const char *mid, evault_class cls, const char *fid);

/*
 * Changes by file id, for a front end that keeps its own index (the mount).
 * file_class_tree: the git id of the class's subtree ("" if empty), which
 * changes whenever any file of the class does. file_commit records m,
 * replacing the entry `replaces` if it still exists; when the class's tree
 * is no longer seen_tree (another writer changed it), *stale is set and an
 * entry of the same path is replaced instead. tree_after: the class's tree
 * after the commit. Objects must be durable before the call. sealed_gens:
 * the fewest key generations any chunk the caller sealed for this version
 * was sealed with (0: none sealed); when the class has more now (a revoke
 * came meanwhile), nothing is recorded: EVAULT_ELOCKED, seal them again.
 */
int file_class_tree(const state *st, const char *mid, evault_class cls, char out[41]);
int file_commit(evault_repo *repo, const char *mid, evault_class cls, const manifest *m,
		const char *replaces, const char *seen_tree, size_t sealed_gens,
		char fid[LAYOUT_FID_LEN + 1], char tree_after[41], bool *stale);
/* Removes an entry (nothing if it is already gone). */
int file_remove_fid(evault_repo *repo, const char *mid, evault_class cls, const char *fid,
		    char tree_after[41]);
/*
 * Several changes of one mission recorded as ONE signed event (file.commit):
 * what the mount gathers in its commit window. A put records m (replacing
 * `fid` if that entry still exists, else, when the class changed behind the
 * caller, an entry of the same path); a removal (m NULL) removes entry
 * `fid` if it still exists. seen_tree/tree_after, stale, sealed_gens: as for
 * file_commit, per class (indexed by class). At most LAYOUT_COMMIT_MAX changes;
 * nothing is recorded if any fails (EVAULT_ELOCKED as file_commit). When no
 * change remains (every removal already made elsewhere) no event is made.
 */
typedef struct file_change {
	evault_class cls;
	const manifest *m;            /* NULL: a removal */
	char fid[LAYOUT_FID_LEN + 1]; /* removal: the entry; put: the version replaced, or "" */
	size_t sealed_gens;
	char new_fid[LAYOUT_FID_LEN + 1]; /* out, put: the recorded entry */
} file_change;
int file_commit_batch(evault_repo *repo, const char *mid, file_change *ch, size_t n,
		      char (*const seen_tree)[41], char (*tree_after)[41], bool *stale);
/* src's content sealed again under another class's keys (durable); dst->path unset. */
int file_reencrypt(evault_repo *repo, const class_keys *from, const manifest *src,
		   const class_keys *to, manifest *dst);

#endif
