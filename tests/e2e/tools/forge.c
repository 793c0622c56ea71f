/*
 * Test fixture: what a member who holds a class key can sign that evault's
 * own commands never write. Each forgery is a real event, made and signed
 * by the engine with the member's unlocked identity, so that the tests can
 * show what the rest of evault does with it.
 *
 *   evault-forge REPO IDENTITY PASSFILE add MID/CLASS FILE [--raw]
 *       a file.add whose manifest is FILE's bytes, sealed under the class
 *       key and bound to the new file id (a manifest evault would never
 *       encode), or with --raw FILE's bytes as they are (one that does not
 *       decrypt); its .objs list is empty
 *   evault-forge REPO IDENTITY PASSFILE objs MID/CLASS/PATH
 *       a file.replace of PATH by the same manifest whose .objs list (what
 *       gc keeps) leaves out the file's first object
 *
 *   evault-forge REPO IDENTITY PASSFILE batch MID/CLASS/PATH honest|unlisted|count|fid
 *       a file.commit replacing PATH by the same manifest under a new fid,
 *       whose lines tell it honestly, or leave out the replaced fid
 *       (unlisted), or count two files (count), or name another fid (fid)
 *
 *   evault-forge REPO IDENTITY PASSFILE open MID/CLASS/FID SEALED [RID RPASS]
 *       not a forgery: whether a key copy kept aside (SEALED, a file of
 *       keys/, opened with IDENTITY) decrypts the file FID: its manifest and
 *       its first object. With RID and RPASS (a holder's identity), the
 *       manifest is read with the holder's keys and only the object is
 *       tried with the kept copy. Exit 0 and "opens", or exit 1 and what
 *       failed.
 *
 *   evault-forge REPO IDENTITY PASSFILE sign COMMIT
 *       COMMIT is an unsigned commit as `git cat-file commit` prints it
 *       (any tree, parent and message); prints it signed by IDENTITY as
 *       evault signs its events (SSHSIG in the gpgsig header), for
 *       `git hash-object -t commit -w --stdin`
 *
 * Prints the new file id. Git's fsync is off: a fixture, not evault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "evault.h"
#include "files.h"
#include "fixture.h"
#include "identity.h"
#include "layout.h"
#include "util.h"

static int die(const char *what)
{
	return fixture_die("evault-forge", what);
}

static int split(const char *vp, char *mid, evault_class *cls, const char **path)
{
	const char *s = strchr(vp, '/');
	if (!s || (size_t)(s - vp) > EVAULT_MID_MAX)
		return evault_error_set(EVAULT_EINVAL, "MID/CLASS expected");
	memcpy(mid, vp, (size_t)(s - vp));
	mid[s - vp] = '\0';
	char cn[16];
	const char *e = strchr(s + 1, '/');
	size_t n = e ? (size_t)(e - s - 1) : strlen(s + 1);
	if (n >= sizeof(cn))
		return evault_error_set(EVAULT_EINVAL, "bad class");
	memcpy(cn, s + 1, n);
	cn[n] = '\0';
	*path = e ? e + 1 : NULL;
	return evault_class_parse(cls, cn);
}

/* The .objs text of m: one object name per line. */
static int objs_of(evault_buf *out, const manifest *m)
{
	for (size_t i = 0; i < m->nobjs; i++) {
		char hex[OBJECT_HEX_LEN + 1];
		object_id_hex(hex, m->objs[i]);
		if (evault_buf_printf(out, "%s\n", hex) < 0)
			return -1;
	}
	return 0;
}

static void new_fid(char fid[LAYOUT_FID_LEN + 1])
{
	uint8_t b[LAYOUT_FID_LEN / 2];
	randombytes_buf(b, sizeof(b));
	hex_encode(fid, b, sizeof(b));
}

/* A kept key copy against a file: its manifest, then its first object.
 * 0 opens, 1 does not (said on stdout), 2 the test's set-up is wrong. */
static int try_open(evault_repo *repo, evault_identity *id, const char *vp, const char *sealed_path,
		    const char *rid, const char *rpass)
{
	char mid[EVAULT_MID_MAX + 1];
	evault_class cls;
	const char *fid, *what = NULL;
	evault_buf sealed = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT,
		   plain = EVAULT_BUF_INIT, obj = EVAULT_BUF_INIT;
	secret *key = NULL;
	class_keys *k = NULL, *hk = NULL;
	state *st = NULL;
	evault_repo *hr = NULL;
	evault_identity *hid = NULL;
	chunk_worker *w = NULL;
	uint8_t *out = NULL;
	manifest m;
	mission_rec mr;
	int rc = 2;
	memset(&m, 0, sizeof(m));
	memset(&mr, 0, sizeof(mr));
	if (split(vp, mid, &cls, &fid) < 0 || !fid) {
		what = "MID/CLASS/FID";
		goto done;
	}
	if (file_read_all(&sealed, sealed_path, 4096) < 0 || sealed.size < 4 ||
	    identity_open_sealed(&key, id, (const uint8_t *)sealed.ptr + 4, sealed.size - 4) < 0 ||
	    class_keys_new(&k, key, repo->cfg.vault_id, mid, cls) < 0) {
		what = "the kept copy";
		goto done;
	}
	if (state_begin(&st, repo, false) < 0 || layout_file_path(&path, mid, cls, fid, ".enc") < 0 ||
	    state_read(st, path.ptr, &enc) < 0) {
		what = "the file";
		goto done;
	}
	if (rid) { /* the manifest with a holder's keys */
		const char *step;
		if (fixture_unlock(&hr, &hid, repo->path, rid, rpass, &step) < 0 ||
		    mission_load(st, mid, &mr) < 0 || mission_class_keys(hr, &mr, cls, &hk) < 0 ||
		    blob_open(&plain, hk, OBJ_KIND_MANIFEST, fid, enc.ptr, enc.size) < 0) {
			what = "the holder's keys";
			goto done;
		}
	} else if (blob_open(&plain, k, OBJ_KIND_MANIFEST, fid, enc.ptr, enc.size) < 0) {
		printf("its manifest does not open: %s\n", evault_error_last());
		rc = 1;
		goto done;
	}
	if (manifest_decode(&m, plain.ptr, plain.size) < 0 || m.nobjs == 0) {
		what = "the manifest";
		goto done;
	}
	w = chunk_worker_new(m.chunk_size, 3);
	out = malloc(m.chunk_size);
	if (!w || !out ||
	    repo->objects->ops->get(repo->objects, m.objs[0], &obj, m.chunk_size + OBJ_OVERHEAD) <
		0) {
		what = "the object";
		goto done;
	}
	size_t len;
	rc = chunk_open(out, m.chunk_size, &len, k, w, m.objs[0], (const uint8_t *)obj.ptr,
			obj.size) == 0
		 ? 0
		 : 1;
	if (rc == 0)
		printf("opens\n");
	else
		printf("its object does not open: %s\n", evault_error_last());
done:
	if (what)
		die(what);
	free(out);
	chunk_worker_free(w);
	manifest_clear(&m);
	mission_rec_clear(&mr);
	class_keys_free(k);
	class_keys_free(hk);
	secret_free(key);
	state_end(st);
	evault_repo_free(hr);
	evault_identity_free(hid);
	evault_buf_dispose(&sealed);
	evault_buf_dispose(&path);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&plain);
	evault_buf_dispose(&obj);
	return rc;
}

/* sign: COMMIT's header, the gpgsig header (continuation lines indented by
 * one space, as git writes it), then the blank line and the message. */
static int sign_commit(evault_identity *id, const char *path)
{
	evault_buf body = EVAULT_BUF_INIT, sig = EVAULT_BUF_INIT;
	int rc = 1;
	const char *end;
	if (file_read_all(&body, path, 1 << 20) < 0 || !(end = strstr(body.ptr, "\n\n")) ||
	    identity_sign(&sig, id, "git", body.ptr, body.size) < 0) {
		rc = die("sign");
		goto done;
	}
	while (sig.size && sig.ptr[sig.size - 1] == '\n')
		sig.ptr[--sig.size] = '\0';
	fwrite(body.ptr, 1, (size_t)(end - body.ptr) + 1, stdout);
	fputs("gpgsig ", stdout);
	for (const char *p = sig.ptr; *p; p++) {
		putchar(*p);
		if (*p == '\n')
			putchar(' ');
	}
	putchar('\n');
	fwrite(end + 1, 1, body.size - (size_t)(end + 1 - body.ptr), stdout);
	rc = fflush(stdout) == 0 ? 0 : 1;
done:
	evault_buf_dispose(&body);
	evault_buf_dispose(&sig);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: evault-forge REPO IDENTITY PASSFILE add MID/CLASS FILE "
				"[--raw] | objs MID/CLASS/PATH | batch MID/CLASS/PATH LIE | sign "
				"COMMIT\n");
		return 2;
	}
	evault_repo *repo = NULL;
	evault_identity *id = NULL;
	evault_buf bytes = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT,
		   objs = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	state *st = NULL;
	mission_rec m;
	class_keys *k = NULL;
	file_list fl = {0};
	char mid[EVAULT_MID_MAX + 1], fid[LAYOUT_FID_LEN + 1];
	const char *fpath = NULL;
	evault_class cls = EVAULT_CLASS_WORK;
	memset(&m, 0, sizeof(m));
	if (fixture_start("evault-forge", argv, &repo, &id) != 0)
		return 1;
	if (strcmp(argv[4], "sign") == 0 && argc == 6) {
		int rc = sign_commit(id, argv[5]);
		evault_repo_free(repo);
		evault_identity_free(id);
		return rc;
	}
	if (strcmp(argv[4], "open") == 0 && (argc == 7 || argc == 9)) {
		int rc = try_open(repo, id, argv[5], argv[6], argc == 9 ? argv[7] : NULL,
				  argc == 9 ? argv[8] : NULL);
		evault_repo_free(repo);
		evault_identity_free(id);
		return rc;
	}
	if (split(argv[5], mid, &cls, &fpath) < 0 || state_begin(&st, repo, true) < 0 ||
	    mission_load(st, mid, &m) < 0 || mission_class_keys(repo, &m, cls, &k) < 0)
		return die("mission");
	new_fid(fid);
	const char *action;
	if (strcmp(argv[4], "add") == 0 && argc >= 7) {
		bool raw = argc > 7 && strcmp(argv[7], "--raw") == 0;
		if (file_read_all(&bytes, argv[6], 1 << 24) < 0)
			return die(argv[6]);
		if (raw ? evault_buf_put(&enc, bytes.ptr, bytes.size) < 0
			: blob_seal(&enc, k, OBJ_KIND_MANIFEST, fid, bytes.ptr, bytes.size) < 0)
			return die("seal");
		action = "file.add";
		if (evault_buf_printf(&tr, "Evault-Class: %s\nEvault-File: %s\nEvault-Objects: 0\n",
				      evault_class_name(cls), fid) < 0)
			return die("trailers");
	} else if (strcmp(argv[4], "batch") == 0 && fpath && argc == 7) {
		if (file_scan(&fl, repo, st, mid, cls, k, fpath) < 0 || fl.n != 1)
			return die("no such file");
		manifest *fm = &fl.e[0].m;
		if (manifest_encode(&bytes, fm) < 0 ||
		    blob_seal(&enc, k, OBJ_KIND_MANIFEST, fid, bytes.ptr, bytes.size) < 0 ||
		    objs_of(&objs, fm) < 0 || file_unrecord(st, mid, cls, fl.e[0].fid) < 0)
			return die("seal");
		const char *lie = argv[6], *c = evault_class_name(cls);
		char other[LAYOUT_FID_LEN + 1];
		new_fid(other);
		action = "file.commit";
		int e = strcmp(lie, "honest") == 0
			    ? evault_buf_printf(&tr, "Evault-Put: %s %s %zu %s\nEvault-Files: 1\n", c,
						fid, fm->nobjs, fl.e[0].fid)
			: strcmp(lie, "unlisted") == 0
			    ? evault_buf_printf(&tr, "Evault-Put: %s %s %zu\nEvault-Files: 1\n", c, fid,
						fm->nobjs)
			: strcmp(lie, "count") == 0
			    ? evault_buf_printf(&tr, "Evault-Put: %s %s %zu %s\nEvault-Files: 2\n", c,
						fid, fm->nobjs, fl.e[0].fid)
			: strcmp(lie, "fid") == 0
			    ? evault_buf_printf(&tr, "Evault-Put: %s %s %zu %s\nEvault-Files: 1\n", c,
						other, fm->nobjs, fl.e[0].fid)
			    : -1;
		if (e < 0)
			return die("unknown lie");
	} else if (strcmp(argv[4], "objs") == 0 && fpath) {
		if (file_scan(&fl, repo, st, mid, cls, k, fpath) < 0 || fl.n != 1)
			return die("no such file");
		manifest *fm = &fl.e[0].m;
		if (manifest_encode(&bytes, fm) < 0 ||
		    blob_seal(&enc, k, OBJ_KIND_MANIFEST, fid, bytes.ptr, bytes.size) < 0)
			return die("seal");
		for (size_t i = 1; i < fm->nobjs; i++) { /* the first object left out */
			char hex[OBJECT_HEX_LEN + 1];
			object_id_hex(hex, fm->objs[i]);
			evault_buf_printf(&objs, "%s\n", hex);
		}
		if (file_unrecord(st, mid, cls, fl.e[0].fid) < 0)
			return die("unrecord");
		action = "file.replace";
		if (evault_buf_printf(&tr,
				      "Evault-Class: %s\nEvault-File: %s\nEvault-Objects: %zu\n"
				      "Evault-Replaces: %s\n",
				      evault_class_name(cls), fid, fm->nobjs, fl.e[0].fid) < 0)
			return die("trailers");
	} else {
		fprintf(stderr, "evault-forge: unknown forgery %s\n", argv[4]);
		return 2;
	}
	if (layout_file_path(&path, mid, cls, fid, ".enc") < 0 ||
	    state_put(st, path.ptr, enc.ptr, enc.size) < 0 ||
	    layout_file_path(&path, mid, cls, fid, ".objs") < 0 ||
	    state_put(st, path.ptr, objs.ptr, objs.size) < 0)
		return die("record");
	state_event ev = {NULL, action, mid, "Forged entry", tr.ptr};
	if (state_commit(st, &ev) < 0)
		return die("commit");
	printf("%s\n", fid);
	file_list_clear(&fl);
	class_keys_free(k);
	mission_rec_clear(&m);
	state_end(st);
	evault_repo_free(repo);
	evault_identity_free(id);
	evault_buf_dispose(&bytes);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&path);
	evault_buf_dispose(&objs);
	evault_buf_dispose(&tr);
	return 0;
}
