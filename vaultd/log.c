/*
 * The history as people read it (evault log) and the allowed-signers file
 * that lets stock git verify every commit (docs/auditing.md). Full verification
 * of the history is evault audit verify's job; log shows, per event,
 * whether its signature verifies with the actor's key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chunk.h"
#include "evault/log.h"
#include "layout.h"
#include "manifest.h"
#include "mission.h"
#include "repo.h"
#include "state.h"
#include "user.h"
#include "util.h"

typedef struct walk_ctx {
	evault_repo *repo;
	const char *mission;
	bool see_all;
	bool names;
	evault_event_cb cb;
	void *payload;
} walk_ctx;

/* Appends the decrypted path of entry fid of class k as of commit ci (its
 * parent for a removed entry; marked "-" if mark); nothing when the user
 * holds no key. */
static void name_one(walk_ctx *c, const state_commit_info *ci, const mission_rec *m,
		     class_keys *keys[EVAULT_CLASS_COUNT], evault_class k, const char *fid,
		     bool removed, bool mark, evault_buf *out)
{
	evault_buf enc = EVAULT_BUF_INIT, plain = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	manifest mf;
	if (!keys[k] && mission_class_keys(c->repo, m, k, &keys[k]) < 0)
		goto done;
	if (strlen(fid) != LAYOUT_FID_LEN || !is_hex(fid, LAYOUT_FID_LEN) ||
	    layout_file_path(&path, m->mid, k, fid, ".enc") < 0 ||
	    state_read_at(c->repo, ci->id_hex, removed, path.ptr, &enc) < 0 ||
	    blob_open(&plain, keys[k], OBJ_KIND_MANIFEST, fid, enc.ptr, enc.size) < 0 ||
	    manifest_decode(&mf, plain.ptr, plain.size) < 0)
		goto done;
	if (evault_buf_printf(out, "%s%s%s/%s", out->size ? ", " : "", mark ? "-" : "",
			      evault_class_name(k), mf.path) < 0)
		out->size = 0;
	manifest_clear(&mf);
done:
	evault_error_clear();
	if (plain.ptr)
		sodium_memzero(plain.ptr, plain.size);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&plain);
	evault_buf_dispose(&path);
}

/*
 * The decrypted paths of a file event (out empty when the user holds no
 * key): one for file.add/replace/remove, each listed one for file.commit
 * (a removed one marked "-").
 */
static void file_names(walk_ctx *c, const state_commit_info *ci, const char *action,
		       const char *mission, evault_buf *out)
{
	char cls[16], fid[40];
	evault_class k;
	mission_rec m;
	class_keys *keys[EVAULT_CLASS_COUNT] = {NULL};
	state *st = NULL;
	memset(&m, 0, sizeof(m));
	if (strncmp(action, "file.", 5) != 0 || state_begin(&st, c->repo, false) < 0 ||
	    mission_load(st, mission, &m) < 0)
		goto done;
	if (strcmp(action, "file.commit") != 0) {
		if (trailer_get(cls, sizeof(cls), ci->message, "Evault-Class") == 0 &&
		    trailer_get(fid, sizeof(fid), ci->message, "Evault-File") == 0 &&
		    evault_class_parse(&k, cls) == 0)
			name_one(c, ci, &m, keys, k, fid, strcmp(action, "file.remove") == 0, false,
				 out);
		goto done;
	}
	static const char *const lines[2] = {"\nEvault-Put: ", "\nEvault-Remove: "};
	for (int rm = 0; rm < 2; rm++)
		for (const char *p = strstr(ci->message, lines[rm]); p;
		     p = strstr(p + 1, lines[rm])) {
			const char *f = p + strlen(lines[rm]);
			size_t n = strcspn(f, " \n");
			if (n >= sizeof(cls) || f[n] != ' ')
				continue;
			memcpy(cls, f, n);
			cls[n] = '\0';
			snprintf(fid, sizeof(fid), "%.*s", LAYOUT_FID_LEN, f + n + 1);
			if (evault_class_parse(&k, cls) == 0)
				name_one(c, ci, &m, keys, k, fid, rm == 1, rm == 1, out);
		}
done:
	evault_error_clear();
	for (int i = 0; i < EVAULT_CLASS_COUNT; i++)
		class_keys_free(keys[i]);
	mission_rec_clear(&m);
	state_end(st);
}

static int one_commit(const state_commit_info *ci, void *p)
{
	walk_ctx *c = p;
	char seq[32], actor[64], action[64], mission[80], summary[256];
	const char *nl = strchr(ci->message, '\n');
	size_t sl = nl ? (size_t)(nl - ci->message) : strlen(ci->message);
	if (sl >= sizeof(summary))
		sl = sizeof(summary) - 1;
	memcpy(summary, ci->message, sl);
	summary[sl] = '\0';
	if (trailer_get(seq, sizeof(seq), ci->message, "Evault-Seq") < 0)
		snprintf(seq, sizeof(seq), "?");
	if (trailer_get(actor, sizeof(actor), ci->message, "Evault-Actor") < 0)
		snprintf(actor, sizeof(actor), "?");
	if (trailer_get(action, sizeof(action), ci->message, "Evault-Action") < 0)
		snprintf(action, sizeof(action), "?");
	if (trailer_get(mission, sizeof(mission), ci->message, "Evault-Mission") < 0)
		mission[0] = '\0';
	if (c->mission && strcmp(mission, c->mission) != 0)
		return 0;
	if (mission[0] && !c->see_all) {
		int v = mission_visible_rc(c->repo, mission);
		if (v <= 0)
			return v;
	}
	evault_buf file = EVAULT_BUF_INIT;
	if (c->names && mission[0])
		file_names(c, ci, action, mission, &file);
	evault_event ev = {
	    strtoull(seq, NULL, 10), ci->time, ci->id_hex, actor, action, mission, summary,
	    ci->signed_ok,           file.size ? file.ptr : ""};
	int rc = c->cb(&ev, c->payload);
	if (file.ptr) /* decrypted names are client data */
		sodium_memzero(file.ptr, file.size);
	evault_buf_dispose(&file);
	return rc;
}

static int walk(evault_repo *repo, const char *mission, bool names, evault_event_cb cb,
		void *payload)
{
	int rc = repo_require_actor(repo);
	if (rc < 0)
		return rc;
	if (mission && (rc = check_mission_id(mission)) < 0)
		return rc;
	walk_ctx c = {
	    repo,  mission, repo->role == EVAULT_ROLE_ADMIN || repo->role == EVAULT_ROLE_AUDITOR,
	    names, cb,      payload};
	if (mission && !c.see_all && (rc = mission_visible_rc(repo, mission)) <= 0)
		return rc < 0 ? rc : mission_hidden(mission);
	return state_walk(repo, one_commit, &c);
}

int evault_log_walk(evault_repo *repo, const char *mission, evault_event_cb cb, void *payload)
{
	return walk(repo, mission, false, cb, payload);
}

int evault_log_walk_names(evault_repo *repo, const char *mission, evault_event_cb cb, void *payload)
{
	if (!repo->id || !evault_identity_unlocked(repo->id))
		return evault_error_set(EVAULT_EAUTH, "file names need the unlocked identity");
	return walk(repo, mission, true, cb, payload);
}

static int signer_line(const user_rec *u, void *p)
{
	evault_buf *out = p;
	/* Drop the comment: the principal is the first field. */
	const char *sp = strchr(u->key_line, ' ');
	const char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
	int n = sp2 ? (int)(sp2 - u->key_line) : (int)strlen(u->key_line);
	return evault_buf_printf(out, "%s namespaces=\"git\" %.*s\n", u->name, n, u->key_line);
}

int evault_audit_allowed_signers(evault_repo *repo, evault_buf *out)
{
	state *st = NULL;
	int rc = state_begin(&st, repo, false);
	if (rc == 0)
		rc = users_each(st, signer_line, out);
	state_end(st);
	return rc;
}
