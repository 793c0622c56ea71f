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
 * Prints the new file id. Git's fsync is off: a fixture, not evault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <sodium.h>

#include "evault.h"
#include "files.h"
#include "layout.h"
#include "util.h"

static int die(const char *what)
{
	fprintf(stderr, "evault-forge: %s: %s\n", what, evault_error_last());
	return 1;
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

static void new_fid(char fid[LAYOUT_FID_LEN + 1])
{
	uint8_t b[LAYOUT_FID_LEN / 2];
	randombytes_buf(b, sizeof(b));
	hex_encode(fid, b, sizeof(b));
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: evault-forge REPO IDENTITY PASSFILE add MID/CLASS FILE "
				"[--raw] | objs MID/CLASS/PATH\n");
		return 2;
	}
	evault_repo *repo = NULL;
	evault_identity *id = NULL;
	evault_buf pass = EVAULT_BUF_INIT, bytes = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT,
		   path = EVAULT_BUF_INIT, objs = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	state *st = NULL;
	mission_rec m;
	class_keys *k = NULL;
	file_list fl = {0};
	char mid[EVAULT_MID_MAX + 1], fid[LAYOUT_FID_LEN + 1];
	const char *fpath = NULL;
	evault_class cls = EVAULT_CLASS_WORK;
	memset(&m, 0, sizeof(m));
	if (evault_global_init() < 0)
		return die("init");
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 0);
	if (file_read_all(&pass, argv[3], 1024) < 0)
		return die("passphrase");
	if (evault_repo_open(&repo, argv[1]) < 0 || evault_identity_load(&id, argv[2]) < 0 ||
	    evault_identity_unlock(id, pass.ptr, strcspn(pass.ptr, "\r\n")) < 0 ||
	    evault_repo_set_identity(repo, id) < 0)
		return die("open");
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
	evault_buf_dispose(&pass);
	evault_buf_dispose(&bytes);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&path);
	evault_buf_dispose(&objs);
	evault_buf_dispose(&tr);
	return 0;
}
