/*
 * History between the office and replicas (histxfer.h, docs/protocol.md).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "histxfer.h"
#include "layout.h"
#include "repo.h"
#include "state.h"
#include "util.h"
#include "verify.h"

static int gfail(const char *what)
{
	const git_error *e = git_error_last();
	return evault_error_set(EVAULT_ECORRUPT, "%s: %s", what,
				e && e->message ? e->message : "git error");
}

static int oid_parse(git_oid *id, const char *hex)
{
	if (!hex || strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstr(id, hex) < 0)
		return evault_error_set(EVAULT_ECORRUPT, "%.48s is not a commit id",
					hex ? hex : "(none)");
	return 0;
}

/* ---- export ---- */

enum { LEVEL_ROOT, LEVEL_MISSIONS, LEVEL_BELOW };

typedef struct exporter {
	git_repository *git;
	git_odb *odb;
	histx_mission_fn held, newly;
	void *mp;
	histx_emit_fn emit;
	void *ep;
	bool only_newly; /* a commit the peer has: only newly held missions' subtrees */
} exporter;

static int emit_obj(exporter *x, const git_oid *id)
{
	git_odb_object *o = NULL;
	if (git_odb_read(&o, x->odb, id) < 0)
		return gfail("cannot read the history");
	int t = git_odb_object_type(o);
	int rc = t == GIT_OBJECT_COMMIT || t == GIT_OBJECT_TREE || t == GIT_OBJECT_BLOB
		     ? x->emit(x->ep, t, git_odb_object_data(o), git_odb_object_size(o))
		     : evault_error_set(EVAULT_ECORRUPT, "the history holds an object of type %d",
					t);
	git_odb_object_free(o);
	return rc;
}

/* The entries of tree nw that differ from old (NULL: none), recursively. */
static int diff_trees(exporter *x, const git_oid *old, const git_oid *nw, int level)
{
	git_tree *a = NULL, *b = NULL;
	int rc = 0;
	if (git_tree_lookup(&b, x->git, nw) < 0 || (old && git_tree_lookup(&a, x->git, old) < 0)) {
		rc = gfail("cannot read a tree of the history");
		goto done;
	}
	size_t n = git_tree_entrycount(b);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(b, i);
		const char *name = git_tree_entry_name(e);
		int child = LEVEL_BELOW;
		if (level == LEVEL_ROOT) {
			bool missions = strcmp(name, "missions") == 0;
			if (x->only_newly && !missions)
				continue;
			child = missions ? LEVEL_MISSIONS : LEVEL_BELOW;
		} else if (level == LEVEL_MISSIONS) {
			if (x->only_newly ? !x->newly(x->mp, name) : !x->held(x->mp, name))
				continue;
		}
		const git_tree_entry *oe = a ? git_tree_entry_byname(a, name) : NULL;
		if (oe && git_oid_equal(git_tree_entry_id(oe), git_tree_entry_id(e)))
			continue;
		bool tree = git_tree_entry_type(e) == GIT_OBJECT_TREE;
		bool otree = oe && git_tree_entry_type(oe) == GIT_OBJECT_TREE;
		/* a newly held mission's own tree is sent; the levels above it, never */
		if (!(x->only_newly && level == LEVEL_ROOT))
			rc = emit_obj(x, git_tree_entry_id(e));
		if (rc == 0 && tree)
			rc = diff_trees(x, otree ? git_tree_entry_id(oe) : NULL, git_tree_entry_id(e),
					child);
	}
done:
	git_tree_free(a);
	git_tree_free(b);
	return rc;
}

int histx_export(evault_repo *repo, const char *head_hex, const char *have_hex,
		 histx_mission_fn held, histx_mission_fn newly, void *mpayload, histx_emit_fn emit,
		 void *epayload)
{
	exporter x = {.git = state_db_git(repo->db),
		      .held = held,
		      .newly = newly,
		      .mp = mpayload,
		      .emit = emit,
		      .ep = epayload};
	git_oid head, have, id;
	git_commit *c = NULL, *p = NULL;
	bool have_set = have_hex && *have_hex;
	int rc;
	if ((rc = oid_parse(&head, head_hex)) < 0 || (have_set && (rc = oid_parse(&have, have_hex)) < 0))
		return rc;
	if (git_repository_odb(&x.odb, x.git) < 0)
		return gfail("cannot open the history");
	id = head;
	bool met = false;
	for (;;) {
		if (have_set && !met && git_oid_equal(&id, &have)) {
			met = true;
			if (!newly)
				break;
			x.only_newly = true;
		}
		if (git_commit_lookup(&c, x.git, &id) < 0) {
			rc = gfail("cannot read a commit of the history");
			break;
		}
		if (git_commit_parentcount(c) > 1) {
			rc = evault_error_set(EVAULT_ECORRUPT, "the history is not linear");
			break;
		}
		if (git_commit_parentcount(c) == 1 && git_commit_parent(&p, c, 0) < 0) {
			rc = gfail("cannot read a commit of the history");
			break;
		}
		if (!x.only_newly && (rc = emit_obj(&x, &id)) < 0)
			break;
		const git_oid *nt = git_commit_tree_id(c), *ot = p ? git_commit_tree_id(p) : NULL;
		if (!(ot && git_oid_equal(nt, ot))) {
			if (!x.only_newly && (rc = emit_obj(&x, nt)) < 0)
				break;
			if ((rc = diff_trees(&x, ot, nt, LEVEL_ROOT)) < 0)
				break;
		}
		git_commit_free(c);
		c = NULL;
		if (!p)
			break;
		id = *git_commit_id(p);
		git_commit_free(p);
		p = NULL;
	}
	if (rc == 0 && have_set && !met)
		rc = evault_error_set(EVAULT_ECORRUPT,
				      "commit %.12s is not part of this history: the replica and the "
				      "office have different histories",
				      have_hex);
	git_commit_free(c);
	git_commit_free(p);
	git_odb_free(x.odb);
	return rc;
}

int histx_ref(evault_repo *repo, const char *ref, char out[41])
{
	git_oid id;
	out[0] = '\0';
	int e = git_reference_name_to_id(&id, state_db_git(repo->db), ref);
	if (e == GIT_ENOTFOUND)
		return 0;
	if (e < 0)
		return gfail("cannot read the history head");
	git_oid_tostr(out, 41, &id);
	return 0;
}

/* ---- the quarantine ---- */

struct histx_q {
	evault_repo *repo;
	char *dir;
	git_repository *git;
	git_odb *odb;
};

int histx_q_open(histx_q **out, evault_repo *repo)
{
	histx_q *q = calloc(1, sizeof(*q));
	evault_buf p = EVAULT_BUF_INIT, alt = EVAULT_BUF_INIT;
	char objects[PATH_MAX];
	int rc = 0;
	*out = NULL;
	if (!q)
		return error_oom();
	q->repo = repo;
	if (evault_buf_printf(&p, "%s/tmp/incoming-XXXXXX", repo->path) < 0) {
		rc = error_oom();
		goto done;
	}
	if (!mkdtemp(p.ptr)) {
		rc = error_errno("cannot make a quarantine for the history received", p.ptr);
		goto done;
	}
	q->dir = strdup(p.ptr);
	git_repository *g = NULL;
	if (!q->dir) {
		rc = error_oom();
		goto done;
	}
	if (git_repository_init(&g, q->dir, 1) < 0) {
		rc = gfail("cannot make a quarantine for the history received");
		goto done;
	}
	git_repository_free(g);
	/* reads fall through to the repository's own objects */
	p.size = 0;
	if (evault_buf_printf(&p, "%s/audit.git/objects", repo->path) < 0 ||
	    !realpath(p.ptr, objects)) {
		rc = error_errno("cannot find the history's objects", p.ptr);
		goto done;
	}
	p.size = 0;
	if (evault_buf_printf(&p, "%s/objects/info/alternates", q->dir) < 0 ||
	    evault_buf_printf(&alt, "%s\n", objects) < 0 ||
	    (rc = file_write_atomic(p.ptr, alt.ptr, alt.size, 0644)) < 0)
		goto done;
	if (git_repository_open_bare(&q->git, q->dir) < 0 ||
	    git_repository_odb(&q->odb, q->git) < 0) {
		rc = gfail("cannot open the quarantine");
		goto done;
	}
	*out = q;
	q = NULL;
done:
	histx_q_free(q);
	evault_buf_dispose(&p);
	evault_buf_dispose(&alt);
	return rc < 0 ? rc : 0;
}

void histx_q_free(histx_q *q)
{
	if (!q)
		return;
	git_odb_free(q->odb);
	git_repository_free(q->git);
	if (q->dir)
		remove_tree(q->dir);
	free(q->dir);
	free(q);
}

int histx_q_write(histx_q *q, int type, const void *data, size_t len, char id_hex[41])
{
	git_oid id;
	if (type != HISTX_COMMIT && type != HISTX_TREE && type != HISTX_BLOB)
		return evault_error_set(EVAULT_ECORRUPT, "a history object of unknown type %d",
					type);
	if (git_odb_write(&id, q->odb, data, len, (git_object_t)type) < 0)
		return gfail("cannot write a history object received");
	git_oid_tostr(id_hex, 41, &id);
	return 0;
}

bool histx_q_is_commit(histx_q *q, const char *id_hex)
{
	git_oid id;
	git_commit *c = NULL;
	if (!id_hex || strlen(id_hex) != GIT_OID_HEXSZ || git_oid_fromstr(&id, id_hex) < 0 ||
	    git_commit_lookup(&c, q->git, &id) < 0)
		return false;
	git_commit_free(c);
	return true;
}

int histx_q_verify(histx_q *q, const char *head_hex, const char *since_hex, const char *vault_hex,
		   bool partial, evault_verify_result *res)
{
	git_oid head, since;
	int rc;
	memset(res, 0, sizeof(*res));
	if ((rc = oid_parse(&head, head_hex)) < 0 ||
	    (since_hex && *since_hex && (rc = oid_parse(&since, since_hex)) < 0))
		return rc;
	(void)partial;
	return verify_chain(q->git, &head, since_hex && *since_hex ? &since : NULL, vault_hex, NULL,
			    0, res);
}

int histx_q_read(histx_q *q, const char *id_hex, const char *path, evault_buf *out)
{
	git_oid id;
	git_commit *c = NULL;
	git_tree *t = NULL;
	int rc;
	if ((rc = oid_parse(&id, id_hex)) < 0)
		return rc;
	if (git_commit_lookup(&c, q->git, &id) < 0 || git_commit_tree(&t, c) < 0)
		rc = gfail("cannot read the history received");
	else
		rc = blob_at(out, q->git, t, path);
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

/* ---- objects named by new files ---- */

typedef struct newobjs {
	git_repository *git;
	git_odb *odb;
	histx_object_fn cb;
	void *payload;
} newobjs;

static int objs_cb(const uint8_t id[32], void *payload)
{
	newobjs *no = payload;
	return no->cb(no->payload, id);
}

static int new_objs_tree(newobjs *no, const git_oid *old, const git_oid *nw)
{
	git_tree *a = NULL, *b = NULL;
	int rc = 0;
	if (git_tree_lookup(&b, no->git, nw) < 0 || (old && git_tree_lookup(&a, no->git, old) < 0))
		return gfail("cannot read a tree of the history");
	size_t n = git_tree_entrycount(b);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(b, i);
		const char *name = git_tree_entry_name(e);
		const git_tree_entry *oe = a ? git_tree_entry_byname(a, name) : NULL;
		if (oe && git_oid_equal(git_tree_entry_id(oe), git_tree_entry_id(e)))
			continue;
		/* a mission whose trees this replica does not hold is none of its files */
		if (!git_odb_exists(no->odb, git_tree_entry_id(e)))
			continue;
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			bool otree = oe && git_tree_entry_type(oe) == GIT_OBJECT_TREE;
			rc = new_objs_tree(no, otree ? git_tree_entry_id(oe) : NULL,
					   git_tree_entry_id(e));
			continue;
		}
		size_t l = strlen(name);
		if (l < 5 || strcmp(name + l - 5, ".objs") != 0)
			continue;
		git_blob *blob = NULL;
		if (git_blob_lookup(&blob, no->git, git_tree_entry_id(e)) < 0) {
			rc = gfail("cannot read a file's objects");
			break;
		}
		rc = layout_parse_objs(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
				       objs_cb, no);
		git_blob_free(blob);
	}
	git_tree_free(a);
	git_tree_free(b);
	return rc;
}

int histx_q_new_objects(histx_q *q, const char *head_hex, const char *since_hex,
			histx_object_fn cb, void *payload)
{
	newobjs no = {.git = q->git, .odb = q->odb, .cb = cb, .payload = payload};
	git_oid id, since;
	int rc;
	bool stop = since_hex && *since_hex;
	if ((rc = oid_parse(&id, head_hex)) < 0 || (stop && (rc = oid_parse(&since, since_hex)) < 0))
		return rc;
	for (;;) {
		git_commit *c = NULL, *p = NULL;
		if (stop && git_oid_equal(&id, &since))
			return 0;
		if (git_commit_lookup(&c, q->git, &id) < 0)
			return gfail("cannot read a commit of the history");
		if (git_commit_parentcount(c) == 1 && git_commit_parent(&p, c, 0) < 0) {
			git_commit_free(c);
			return gfail("cannot read a commit of the history");
		}
		const git_oid *nt = git_commit_tree_id(c), *ot = p ? git_commit_tree_id(p) : NULL;
		rc = ot && git_oid_equal(nt, ot) ? 0 : new_objs_tree(&no, ot, nt);
		if (p)
			id = *git_commit_id(p);
		git_commit_free(c);
		git_commit_free(p);
		if (rc < 0 || !p)
			return rc;
	}
}

int histx_q_only_actor(histx_q *q, const char *head_hex, const char *since_hex, const char *user)
{
	git_oid id, since;
	int rc;
	if ((rc = oid_parse(&id, head_hex)) < 0 || (rc = oid_parse(&since, since_hex)) < 0)
		return rc;
	while (!git_oid_equal(&id, &since)) {
		git_commit *c = NULL;
		char actor[64];
		if (git_commit_lookup(&c, q->git, &id) < 0)
			return gfail("cannot read a commit of the history");
		rc = trailer_get(actor, sizeof(actor), git_commit_message(c), "Evault-Actor") == 0 &&
			     strcmp(actor, user) == 0
			 ? 0
			 : 1;
		if (rc)
			evault_error_set(EVAULT_EDENIED, "event %.12s is not an event of %s",
					 git_oid_tostr_s(&id), user);
		else if (git_commit_parentcount(c) != 1)
			rc = evault_error_set(EVAULT_ECORRUPT, "the push does not extend the office");
		else
			id = *git_commit_parent_id(c, 0);
		git_commit_free(c);
		if (rc)
			return rc;
	}
	return 0;
}

int histx_q_adopt(histx_q *q)
{
	evault_buf src = EVAULT_BUF_INIT, dst = EVAULT_BUF_INIT, dir = EVAULT_BUF_INIT;
	int rc = 0;
	for (int i = 0; i < 256 && rc == 0; i++) {
		char fan[3];
		snprintf(fan, sizeof(fan), "%02x", i);
		dir.size = 0;
		if (evault_buf_printf(&dir, "%s/objects/%s", q->dir, fan) < 0) {
			rc = error_oom();
			break;
		}
		DIR *d = opendir(dir.ptr);
		if (!d)
			continue;
		bool made = false;
		struct dirent *de;
		while (rc == 0 && (de = readdir(d))) {
			if (strlen(de->d_name) != GIT_OID_HEXSZ - 2 ||
			    !is_hex(de->d_name, GIT_OID_HEXSZ - 2))
				continue;
			src.size = dst.size = 0;
			if (evault_buf_printf(&src, "%s/%s", dir.ptr, de->d_name) < 0 ||
			    evault_buf_printf(&dst, "%s/audit.git/objects/%s", q->repo->path, fan) < 0) {
				rc = error_oom();
				break;
			}
			if (!made && mkdir(dst.ptr, 0755) < 0 && errno != EEXIST) {
				rc = error_errno("cannot store the history received", dst.ptr);
				break;
			}
			made = true;
			if (evault_buf_printf(&dst, "/%s", de->d_name) < 0) {
				rc = error_oom();
				break;
			}
			if (rename(src.ptr, dst.ptr) < 0)
				rc = error_errno("cannot store the history received", dst.ptr);
		}
		closedir(d);
	}
	evault_buf_dispose(&src);
	evault_buf_dispose(&dst);
	evault_buf_dispose(&dir);
	if (rc == 0)
		rc = syncfs_path(q->repo->path, "cannot sync the repository");
	return rc;
}

int histx_move_ref(evault_repo *repo, const char *ref, const char *old_hex, const char *new_hex,
		   const char *why)
{
	git_repository *git = state_db_git(repo->db);
	git_reference *r = NULL;
	git_oid nw, old;
	int rc, e;
	bool have_old = old_hex && *old_hex;
	if ((rc = oid_parse(&nw, new_hex)) < 0 || (have_old && (rc = oid_parse(&old, old_hex)) < 0))
		return rc;
	if (have_old)
		e = git_reference_create_matching(&r, git, ref, &nw, 1, &old, why);
	else
		e = git_reference_create(&r, git, ref, &nw, 0, why);
	git_reference_free(r);
	if (e == GIT_EMODIFIED || e == GIT_EEXISTS || e == GIT_ELOCKED)
		return evault_error_set(EVAULT_ELOCKED, "the history moved meanwhile; retry");
	if (e < 0)
		return gfail("cannot move the history head");
	return syncfs_path(repo->path, "cannot sync the repository");
}
