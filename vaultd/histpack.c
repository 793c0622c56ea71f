/*
 * Packs the history (audit.git): gc's last step.
 *
 * Every event adds a handful of loose objects to audit.git (the commit and
 * the trees and blobs of the state it changed): about 8 files and 32 KiB
 * per event, so a year of 100,000 events is 800,000 files and 3 GiB. Read
 * loose, the history is slow to walk (an open, a read and an inflate per
 * object) and big to copy. Packed, the same history is a twentieth of the
 * size and verify walks it several times faster (docs/auditing.md).
 *
 * gc packs the loose objects into one new pack, makes the pack durable,
 * and only then deletes the loose copies; when more than PACKS_MAX packs
 * would exist, every pack and loose object is rewritten into one instead
 * (each run then costs a walk of the whole history, which bounds the
 * number of packs a reader searches). It runs under the repository lock,
 * so no event is being written meanwhile. Readers without the lock (a
 * verify, a mount's refresh) never miss an object: each is in a durable
 * pack before its other copy goes, and libgit2 re-reads the pack
 * directory when an object it looks for is not where it was. A crash
 * leaves at worst an object in two places, or an unnamed temporary pack
 * (pack_git2_*), which the next run deletes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "histpack.h"
#include "repo.h"
#include "state.h"
#include "util.h"

#define PACKS_MAX 8
#define LOOSE_MAX (16u * 1024 * 1024) /* loose objects one run packs */

typedef struct oidlist {
	git_oid *v;
	size_t n, cap;
} oidlist;

static int oid_push(oidlist *l, const git_oid *id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		git_oid *v = reallocarray(l->v, cap, sizeof(*v));
		if (!v)
			return error_oom();
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *id;
	return 0;
}

static int git_fail(const char *what)
{
	const git_error *e = git_error_last();
	return evault_error_set(EVAULT_ERROR, "%s: %s", what,
				e && e->message ? e->message : "git error");
}

/* The loose objects: objects/XX/<38 hex digits>. */
static int list_loose(oidlist *out, const char *objdir)
{
	char path[PATH_MAX], hex[GIT_OID_HEXSZ + 1];
	for (unsigned d = 0; d < 256; d++) {
		snprintf(path, sizeof(path), "%s/%02x", objdir, d);
		DIR *dir = opendir(path);
		if (!dir) {
			if (errno == ENOENT)
				continue;
			return error_errno("cannot list the history's objects", path);
		}
		struct dirent *e;
		int rc = 0;
		while (rc == 0 && (e = readdir(dir))) {
			if (strlen(e->d_name) != GIT_OID_HEXSZ - 2 ||
			    !is_hex(e->d_name, GIT_OID_HEXSZ - 2))
				continue;
			if (out->n >= LOOSE_MAX)
				break; /* the rest waits for the next run */
			snprintf(hex, 3, "%02x", d);
			memcpy(hex + 2, e->d_name, GIT_OID_HEXSZ - 2);
			hex[GIT_OID_HEXSZ] = '\0';
			git_oid id;
			if (git_oid_fromstr(&id, hex) == 0)
				rc = oid_push(out, &id);
		}
		closedir(dir);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The packs (their names without .pack), and stale temporary files
 * deleted when not a dry run. */
static int list_packs(char ***out, size_t *n, const char *packdir, bool dry_run)
{
	*out = NULL;
	*n = 0;
	DIR *dir = opendir(packdir);
	if (!dir)
		return errno == ENOENT ? 0 : error_errno("cannot list the history's packs", packdir);
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		if (strncmp(e->d_name, "pack_git2_", 10) == 0) {
			if (!dry_run)
				unlinkat(dirfd(dir), e->d_name, 0);
			continue;
		}
		/* pack-<hash>.pack: anything else is not a pack gc made or merges */
		if (len <= 10 || strncmp(e->d_name, "pack-", 5) != 0 ||
		    strcmp(e->d_name + len - 5, ".pack") != 0)
			continue;
		char **v = reallocarray(*out, *n + 1, sizeof(*v));
		if (!v || !(v[*n] = strndup(e->d_name, len - 5))) {
			if (v)
				*out = v;
			rc = error_oom();
			break;
		}
		*out = v;
		(*n)++;
	}
	closedir(dir);
	return rc;
}

static int add_any(const git_oid *id, void *p)
{
	int e = git_packbuilder_insert(p, id, NULL);
	return e < 0 ? e : 0;
}

/* Writes the pack: every object of the history when WHOLE, else the
 * loose ones. */
static int write_pack(git_packbuilder **pb, const char **name, git_repository *git,
		      const evault_repo *repo, bool whole, const oidlist *loose,
		      const char *packdir)
{
	git_odb *odb = NULL;
	int e = git_packbuilder_new(pb, git);
	if (e == 0) {
		git_packbuilder_set_threads(*pb, (unsigned)(repo->nworkers ? repo->nworkers : 1));
		if (whole && (e = git_repository_odb(&odb, git)) == 0)
			e = git_odb_foreach(odb, add_any, *pb);
	}
	for (size_t i = 0; e == 0 && !whole && i < loose->n; i++)
		e = git_packbuilder_insert(*pb, &loose->v[i], NULL);
	if (e == 0)
		e = git_packbuilder_write(*pb, packdir, 0, NULL, NULL);
	git_odb_free(odb);
	if (e < 0) {
		/* an object that does not match its name or does not inflate */
		const git_error *ge = git_error_last();
		if (e == GIT_EMISMATCH || (ge && ge->klass == GIT_ERROR_ZLIB))
			return evault_error_set(EVAULT_ECORRUPT,
						"cannot pack the history, nothing changed: %s",
						ge && ge->message ? ge->message : "a corrupt object");
		return git_fail("cannot pack the history, nothing changed");
	}
	*name = git_packbuilder_name(*pb);
	return 0;
}

int histpack_run(evault_repo *repo, bool dry_run, histpack_result *out)
{
	git_repository *git = state_db_git(repo->db);
	git_packbuilder *pb = NULL;
	const char *name = NULL;
	oidlist loose = {0};
	char **packs = NULL;
	size_t npacks = 0;
	evault_buf objdir = EVAULT_BUF_INIT, packdir = EVAULT_BUF_INIT, f = EVAULT_BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = evault_buf_printf(&objdir, "%s/audit.git/objects", repo->path)) < 0 ||
	    (rc = evault_buf_printf(&packdir, "%s/pack", objdir.ptr)) < 0 ||
	    (rc = list_loose(&loose, objdir.ptr)) < 0 ||
	    (rc = list_packs(&packs, &npacks, packdir.ptr, dry_run)) < 0)
		goto done;
	out->loose = loose.n;
	out->packs_after = npacks;
	if (loose.n == 0)
		goto done;
	bool whole = npacks + 1 > PACKS_MAX;
	out->packs_after = whole ? 1 : npacks + 1;
	if (dry_run)
		goto done;

	/* Packing reads every object and writes each into the new pack, which
	 * libgit2 maps back to index it: in the small windows other commands
	 * use (state.c), most of the run went to unmapping them again (and the
	 * TLB shootdowns of each unmap). Large windows for the run, the usual
	 * ones after. */
	size_t wsize = 0, wlimit = 0;
	git_libgit2_opts(GIT_OPT_GET_MWINDOW_SIZE, &wsize);
	git_libgit2_opts(GIT_OPT_GET_MWINDOW_MAPPED_LIMIT, &wlimit);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)1 << 30);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
			 sizeof(size_t) >= 8 ? (size_t)1 << 33 : (size_t)1 << 30);
	rc = write_pack(&pb, &name, git, repo, whole, &loose, packdir.ptr);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, wsize);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, wlimit);
	if (rc < 0)
		goto done;
	/* the pack durable before any other copy of its objects goes */
	if ((rc = syncfs_path(packdir.ptr, "cannot sync the history")) < 0)
		goto done;
	char hex[GIT_OID_HEXSZ + 1];
	for (size_t i = 0; i < loose.n; i++) {
		git_oid_tostr(hex, sizeof(hex), &loose.v[i]);
		f.size = 0;
		if ((rc = evault_buf_printf(&f, "%s/%.2s/%s", objdir.ptr, hex, hex + 2)) < 0)
			goto done;
		if (unlink(f.ptr) < 0 && errno != ENOENT) {
			rc = error_errno("cannot delete a packed object", f.ptr);
			goto done;
		}
	}
	for (size_t i = 0; whole && i < npacks; i++) {
		static const char *const ext[] = {".keep", ".idx", ".rev", ".pack"};
		if (name && strcmp(packs[i] + 5, name) == 0) /* "pack-" + name */
			continue;
		f.size = 0;
		if ((rc = evault_buf_printf(&f, "%s/%s.keep", packdir.ptr, packs[i])) < 0)
			goto done;
		if (access(f.ptr, F_OK) == 0)
			continue; /* kept on purpose by whoever made it */
		/* the index first: a reader finds packs by their index */
		for (size_t x = 1; x < 4; x++) {
			f.size = 0;
			if ((rc = evault_buf_printf(&f, "%s/%s%s", packdir.ptr, packs[i], ext[x])) <
			    0)
				goto done;
			if (unlink(f.ptr) < 0 && errno != ENOENT) {
				rc = error_errno("cannot delete a merged pack", f.ptr);
				goto done;
			}
		}
	}
	rc = syncfs_path(packdir.ptr, "cannot sync the history");
done:
	git_packbuilder_free(pb);
	for (size_t i = 0; i < npacks; i++)
		free(packs[i]);
	free(packs);
	free(loose.v);
	evault_buf_dispose(&objdir);
	evault_buf_dispose(&packdir);
	evault_buf_dispose(&f);
	return rc;
}
