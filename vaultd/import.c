/*
 * The camera-card workflow (docs/mount.md, charter CHR-GOV-001 §02: photos are
 * kept only in the company's system and deleted from devices once
 * transferred). Every regular file under the source is stored (content
 * rules apply) and fingerprinted by SHA-256 in the same read of the card,
 * then read back through the verified path and compared with that
 * fingerprint; only when every copy is proven are the sources wiped
 * (overwritten with zeros, synced, unlinked). One `file.import` event lists
 * what was imported and each file's fingerprint.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "evault/file.h"
#include "files.h"
#include "repo.h"
#include "state.h"
#include "util.h"

typedef struct item {
	char *rel;  /* path under the source */
	char *full; /* path on disk */
	uint64_t size;
	dev_t dev; /* the file the walk saw: what is read and wiped must be it */
	ino_t ino;
	nlink_t nlink;
	char sha[65];
	char fid[LAYOUT_FID_LEN + 1];
	bool stored, verified;
} item;

typedef struct items {
	item *v;
	size_t n, a;
	size_t skipped; /* not regular files: symlinks, devices */
} items;

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const item *)a)->rel, ((const item *)b)->rel);
}

static int walk(items *out, const char *root, const char *rel)
{
	char *dir = NULL;
	size_t rl = strlen(root), l = strlen(rel);
	if (!(dir = malloc(rl + l + 2)))
		return error_oom();
	snprintf(dir, rl + l + 2, "%s%s%s", root, *rel ? "/" : "", rel);
	DIR *d = opendir(dir);
	if (!d) {
		int rc = error_errno("cannot read the source", dir);
		free(dir);
		return rc;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		size_t nl = strlen(e->d_name);
		char *r = malloc(l + nl + 2), *full = malloc(strlen(dir) + nl + 2);
		if (!r || !full) {
			free(r);
			free(full);
			rc = error_oom();
			break;
		}
		snprintf(r, l + nl + 2, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, strlen(dir) + nl + 2, "%s/%s", dir, e->d_name);
		struct stat sb;
		if (lstat(full, &sb) < 0) {
			rc = error_errno("cannot read the source", full);
		} else if (S_ISDIR(sb.st_mode)) {
			rc = walk(out, root, r);
		} else if (S_ISREG(sb.st_mode)) {
			if (out->n == out->a) {
				size_t na = out->a ? out->a * 2 : 64;
				item *nv = realloc(out->v, na * sizeof(*nv));
				if (!nv) {
					free(r);
					free(full);
					rc = error_oom();
					break;
				}
				out->v = nv;
				out->a = na;
			}
			out->v[out->n++] = (item){r,         full,      (uint64_t)sb.st_size,
						  sb.st_dev, sb.st_ino, sb.st_nlink,
						  "",        "",        false,
						  false};
			continue;
		} else {
			out->skipped++;
		}
		free(r);
		free(full);
	}
	closedir(d);
	free(dir);
	return rc;
}

static void sha_hex(char out[65], crypto_hash_sha256_state *s)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(s, h);
	hex_encode(out, h, sizeof(h));
}

static int sha_sink(const void *data, size_t len, void *p)
{
	crypto_hash_sha256_update(p, data, len);
	return 0;
}

/* Reads the stored file back through the verified path and fingerprints it. */
static int stored_hash(evault_repo *repo, const char *mid, evault_class cls, const char *fid,
		       char out[65])
{
	state *st = NULL;
	mission_rec mr;
	class_keys *k = NULL;
	manifest m;
	crypto_hash_sha256_state s;
	int rc;
	memset(&mr, 0, sizeof(mr));
	memset(&m, 0, sizeof(m));
	crypto_hash_sha256_init(&s);
	if ((rc = state_begin(&st, repo, false)) == 0 &&
	    (rc = mission_load_visible(repo, st, mid, &mr)) == 0 &&
	    (rc = mission_class_keys(repo, &mr, cls, &k)) == 0 &&
	    (rc = file_load(st, mid, cls, k, fid, &m)) == 0 &&
	    (rc = file_read(repo, k, &m, sha_sink, &s)) == 0)
		sha_hex(out, &s);
	manifest_clear(&m);
	class_keys_free(k);
	mission_rec_clear(&mr);
	state_end(st);
	return rc;
}

/* Is fd the file the walk saw (not swapped meanwhile)? */
static int same_file(int fd, const item *it)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return error_errno("cannot read the source", it->full);
	if (!S_ISREG(sb.st_mode) || sb.st_dev != it->dev || sb.st_ino != it->ino)
		return evault_error_set(EVAULT_EREFUSED,
					"%s changed while it was being imported: nothing is wiped",
					it->rel);
	if (sb.st_nlink != 1)
		return evault_error_set(
		    EVAULT_EREFUSED,
		    "%s has %lu names on the card (hard links): wiping it would "
		    "destroy the others; nothing is wiped",
		    it->rel, (unsigned long)sb.st_nlink);
	return 0;
}

/* Overwrites a source with zeros, syncs it, unlinks it (best effort on flash). */
static int wipe(const item *it)
{
	int fd = open(it->full, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot wipe", it->full);
	int chk = same_file(fd, it);
	if (chk < 0) {
		close(fd);
		return chk;
	}
	static const uint8_t zero[1 << 16];
	uint64_t left = it->size;
	int rc = 0;
	while (left && rc == 0) {
		size_t n = left < sizeof(zero) ? (size_t)left : sizeof(zero);
		if (write_full(fd, zero, n) < 0)
			rc = error_errno("cannot wipe", it->full);
		left -= n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = error_errno("cannot wipe", it->full);
	close(fd);
	if (rc == 0 && unlink(it->full) < 0)
		rc = error_errno("cannot remove", it->full);
	return rc;
}

int evault_file_import(evault_repo *repo, const char *mid, const char *src, const char *dest,
		       bool wipe_source, evault_import_report *rep)
{
	const item *linked = NULL; /* a source wiping would empty other names of */
	items it = {0};
	content_tally refused;
	evault_buf vp = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT;
	evault_class cls;
	const char *sub;
	int rc;
	memset(&refused, 0, sizeof(refused));
	void (*cb)(const char *, const char *, const char *, void *) = rep->cb;
	void *payload = rep->payload;
	memset(rep, 0, sizeof(*rep));
	rep->cb = cb;
	rep->payload = payload;
	/* dest: CLASS[/DIR] */
	char cname[16];
	size_t cl = strcspn(dest, "/");
	if (cl >= sizeof(cname))
		return evault_error_set(EVAULT_EINVAL, "--to needs CLASS[/DIR]");
	memcpy(cname, dest, cl);
	cname[cl] = '\0';
	sub = dest[cl] ? dest + cl + 1 : "";
	if ((rc = evault_class_parse(&cls, cname)) < 0 || (rc = check_mission_id(mid)) < 0 ||
	    (*sub && (rc = check_file_path(sub)) < 0))
		return rc;
	if ((rc = repo_require_actor(repo)) < 0 || (rc = walk(&it, src, "")) < 0)
		goto done;
	if (it.n)
		qsort(it.v, it.n, sizeof(*it.v), cmp_item);
	rep->skipped = it.skipped;
	uint64_t card_bytes = 0, card_done = 0;
	for (size_t i = 0; i < it.n; i++)
		card_bytes += it.v[i].size;
	for (size_t i = 0; i < it.n; i++) {
		item *x = &it.v[i];
		progress_report("import", card_done, card_bytes, true);
		card_done += x->size;
		int fd = open(x->full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) < 0) {
			rc = error_errno("cannot read the source", x->full);
			if (fd >= 0)
				close(fd);
			goto done;
		}
		if (!S_ISREG(sb.st_mode) || sb.st_dev != x->dev || sb.st_ino != x->ino) {
			close(fd);
			rc = evault_error_set(EVAULT_ECORRUPT,
					      "%s changed while it was being imported", x->rel);
			goto done;
		}
		evault_put_opts o = EVAULT_PUT_OPTS_INIT;
		vp.size = 0;
		if ((rc = evault_buf_printf(&vp, "%s/%s/%s%s%s", mid, cname, sub, *sub ? "/" : "",
					    x->rel)) < 0) {
			close(fd);
			goto done;
		}
		/* one read of the card: put fingerprints what it stores as it reads */
		rc = file_put(repo, vp.ptr, fd, &o, &refused, x->fid, x->sha);
		close(fd);
		if (rc == EVAULT_EREFUSED) {
			if (rep->cb)
				rep->cb(x->rel, "refused", evault_error_last(), rep->payload);
			rep->refused++;
			continue;
		}
		if (rc == EVAULT_EEXISTS) {
			if (rep->cb)
				rep->cb(x->rel, "exists", evault_error_last(), rep->payload);
			rep->existing++;
			continue;
		}
		if (rc < 0)
			goto done;
		x->stored = true;
		char back[65];
		if ((rc = stored_hash(repo, mid, cls, x->fid, back)) < 0)
			goto done;
		x->verified = strcmp(back, x->sha) == 0;
		if (!x->verified) {
			rc = evault_error_set(EVAULT_ECORRUPT,
					      "%s: the stored copy does not read back as the "
					      "source; nothing is wiped",
					      x->rel);
			goto done;
		}
		rep->imported++;
		rep->bytes += x->size;
		if (rep->cb)
			rep->cb(x->rel, "imported", x->sha, rep->payload);
	}
	progress_report(NULL, 0, 0, false);
	if ((rc = content_record_refusals(repo, mid, &refused)) < 0)
		goto done;
	/* every stored copy proven: only now are the sources wiped */
	bool all = rep->imported == it.n;
	for (size_t i = 0; wipe_source && all && i < it.n && !linked; i++)
		if (it.v[i].nlink != 1)
			linked = &it.v[i];
	if (linked)
		all = false;
	if (wipe_source && all) {
		for (size_t i = 0; i < it.n && rc == 0; i++)
			if ((rc = wipe(&it.v[i])) == 0)
				rep->wiped++;
		if (rc < 0)
			goto done;
		rc = fsync_dir(src);
		if (rc < 0)
			goto done;
	}
	if (rep->imported == 0)
		goto verdict;
	if ((rc = evault_buf_printf(&sum, "Import %zu file%s into %s/%s", rep->imported,
				    rep->imported == 1 ? "" : "s", mid, cname)) < 0 ||
	    (rc = evault_buf_printf(&tr,
				    "Evault-Class: %s\nEvault-Imported: %zu\nEvault-Bytes: %llu\n"
				    "Evault-Refused: %zu\nEvault-Wiped: %zu\n",
				    cname, rep->imported, (unsigned long long)rep->bytes,
				    rep->refused, rep->wiped)) < 0)
		goto done;
	for (size_t i = 0; i < it.n && rc == 0; i++)
		if (it.v[i].verified)
			rc = evault_buf_printf(&tr, "Evault-Import-File: %s sha256:%s\n",
					       it.v[i].fid, it.v[i].sha);
	if (rc < 0)
		goto done;
	state *st = NULL;
	mission_rec mr;
	memset(&mr, 0, sizeof(mr));
	if ((rc = state_begin(&st, repo, true)) == 0 &&
	    (rc = mission_load_visible(repo, st, mid, &mr)) == 0) {
		state_event ev = {NULL, "file.import", mid, sum.ptr, tr.ptr};
		rc = state_commit(st, &ev);
	}
	mission_rec_clear(&mr);
	state_end(st);
verdict:
	if (rc == 0 && linked)
		rc = evault_error_set(EVAULT_EREFUSED,
				      "%s has %lu names on the card (hard links): wiping it would "
				      "destroy the others; no source was wiped",
				      linked->rel, (unsigned long)linked->nlink);
	else if (rc == 0 && wipe_source && !all)
		rc = evault_error_set(EVAULT_EREFUSED,
				      "%zu of %zu files were not imported: no source was wiped",
				      it.n - rep->imported, it.n);
	else if (rc == 0 && rep->refused)
		rc = evault_error_set(EVAULT_EREFUSED, "%zu file%s refused by the charter's rules",
				      rep->refused, rep->refused == 1 ? "" : "s");
done:
	for (size_t i = 0; i < it.n; i++) {
		free(it.v[i].rel);
		free(it.v[i].full);
	}
	free(it.v);
	evault_buf_dispose(&vp);
	evault_buf_dispose(&tr);
	evault_buf_dispose(&sum);
	return rc;
}
