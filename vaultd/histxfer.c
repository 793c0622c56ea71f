/*
 * History between the office and replicas (histxfer.h, docs/protocol.md).
 */
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "histxfer.h"
#include "identity.h"
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
	histx_q_tidy(repo);
	if (evault_buf_printf(&p, "%s/tmp/incoming-%ld-XXXXXX", repo->path, (long)getpid()) < 0) {
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

void histx_q_tidy(evault_repo *repo)
{
	evault_buf dir = EVAULT_BUF_INIT, p = EVAULT_BUF_INIT;
	if (evault_buf_printf(&dir, "%s/tmp", repo->path) < 0)
		return;
	DIR *d = opendir(dir.ptr);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		long pid;
		char rest[32];
		if (sscanf(de->d_name, "incoming-%ld-%31s", &pid, rest) != 2 || pid <= 0 ||
		    pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		p.size = 0;
		if (evault_buf_printf(&p, "%s/%s", dir.ptr, de->d_name) == 0)
			remove_tree(p.ptr);
	}
	if (d)
		closedir(d);
	evault_error_clear();
	evault_buf_dispose(&dir);
	evault_buf_dispose(&p);
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
	return verify_chain(q->git, &head, since_hex && *since_hex ? &since : NULL, vault_hex,
			    partial, NULL, 0, res);
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

int histx_mission_objects(evault_repo *repo, const char *head_hex, const char *mid,
			  histx_object_fn cb, void *payload)
{
	git_repository *git = state_db_git(repo->db);
	git_odb *odb = NULL;
	git_oid id;
	int rc;
	evault_buf path = EVAULT_BUF_INIT;
	if ((rc = oid_parse(&id, head_hex)) < 0 ||
	    (rc = evault_buf_printf(&path, "missions/%s", mid)) < 0)
		return rc;
	if (git_repository_odb(&odb, git) < 0) {
		evault_buf_dispose(&path);
		return gfail("cannot open the history");
	}
	newobjs no = {.git = git, .odb = odb, .cb = cb, .payload = payload};
	for (;;) {
		git_commit *c = NULL, *p = NULL;
		git_tree *ct = NULL, *pt = NULL;
		git_tree_entry *ce = NULL, *pe = NULL;
		if (git_commit_lookup(&c, git, &id) < 0 ||
		    (git_commit_parentcount(c) == 1 && git_commit_parent(&p, c, 0) < 0) ||
		    git_commit_tree(&ct, c) < 0 || (p && git_commit_tree(&pt, p) < 0)) {
			rc = gfail("cannot read a commit of the history");
		} else {
			(void)git_tree_entry_bypath(&ce, ct, path.ptr);
			if (pt)
				(void)git_tree_entry_bypath(&pe, pt, path.ptr);
			bool ctree = ce && git_tree_entry_type(ce) == GIT_OBJECT_TREE &&
				     git_odb_exists(odb, git_tree_entry_id(ce));
			bool ptree = pe && git_tree_entry_type(pe) == GIT_OBJECT_TREE &&
				     git_odb_exists(odb, git_tree_entry_id(pe));
			if (ctree && !(ptree && git_oid_equal(git_tree_entry_id(ce),
							      git_tree_entry_id(pe))))
				rc = new_objs_tree(&no, ptree ? git_tree_entry_id(pe) : NULL,
						   git_tree_entry_id(ce));
		}
		bool more = p != NULL;
		if (p)
			id = *git_commit_id(p);
		git_tree_entry_free(ce);
		git_tree_entry_free(pe);
		git_tree_free(ct);
		git_tree_free(pt);
		git_commit_free(c);
		git_commit_free(p);
		if (rc < 0 || !more)
			break;
	}
	git_odb_free(odb);
	evault_buf_dispose(&path);
	return rc;
}

/* 0, or 1 with the error set: why event c may not come from this session */
static int push_rule(git_commit *c, const histx_push_rule *r)
{
	const char *msg = git_commit_message(c);
	char actor[64], action[40], device[64];
	const char *id = git_oid_tostr_s(git_commit_id(c));
	if (trailer_get(actor, sizeof(actor), msg, "Evault-Actor") < 0 || strcmp(actor, r->user))
		return evault_error_set(EVAULT_EDENIED, "event %.12s is not an event of %s", id,
					r->user),
		       1;
	if (trailer_get(action, sizeof(action), msg, "Evault-Action") < 0)
		return evault_error_set(EVAULT_EDENIED, "event %.12s has no action", id), 1;
	bool dev = strncmp(action, "device.", 7) == 0;
	if (dev && (trailer_get(device, sizeof(device), msg, "Evault-Device") < 0 ||
		    strcmp(device, r->device) != 0))
		return evault_error_set(EVAULT_EDENIED,
					"event %.12s is about another device than this one (%s)", id,
					r->device),
		       1;
	if (r->erasures_only && strcmp(action, "device.erased") != 0)
		return evault_error_set(EVAULT_EDENIED,
					"event %.12s (%s): device %s is revoked, the office takes "
					"only its erasures",
					id, action, r->device),
		       1;
	if (r->devices_only && !dev)
		return evault_error_set(EVAULT_EDENIED, "event %.12s (%s): auditors record nothing",
					id, action),
		       1;
	evault_error_clear();
	return 0;
}

int histx_q_push_rules(histx_q *q, const char *head_hex, const char *since_hex,
		       const histx_push_rule *r)
{
	git_oid id, since;
	int rc;
	if ((rc = oid_parse(&id, head_hex)) < 0 || (rc = oid_parse(&since, since_hex)) < 0)
		return rc;
	while (!git_oid_equal(&id, &since)) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, q->git, &id) < 0)
			return gfail("cannot read a commit of the history");
		if ((rc = push_rule(c, r)) != 0)
			; /* said by push_rule */
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

/* The ids of the objects the commits after since up to head hold (their
 * own trees and blobs that are in the quarantine or the repository). */
typedef struct oidset {
	git_oid *id;
	size_t n, cap;
} oidset;

static int oidset_add(oidset *s, const git_oid *id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		git_oid *m = realloc(s->id, cap * sizeof(*m));
		if (!m)
			return error_oom();
		s->id = m;
		s->cap = cap;
	}
	s->id[s->n++] = *id;
	return 0;
}

static int oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

typedef struct reach {
	git_repository *git;
	git_odb *odb;
	oidset *set;
} reach;

/* The entries of tree nw that differ from old, recursively, present here. */
static int reach_tree(reach *x, const git_oid *old, const git_oid *nw)
{
	git_tree *a = NULL, *b = NULL;
	int rc = 0;
	if (!git_odb_exists(x->odb, nw))
		return 0; /* a mission whose trees this side does not hold */
	if ((rc = oidset_add(x->set, nw)) < 0)
		return rc;
	if (git_tree_lookup(&b, x->git, nw) < 0 ||
	    (old && git_odb_exists(x->odb, old) && git_tree_lookup(&a, x->git, old) < 0)) {
		git_tree_free(b);
		return gfail("cannot read a tree of the history");
	}
	size_t n = git_tree_entrycount(b);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(b, i);
		const git_tree_entry *o = a ? git_tree_entry_byname(a, git_tree_entry_name(e)) : NULL;
		if (o && git_oid_equal(git_tree_entry_id(o), git_tree_entry_id(e)))
			continue;
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			rc = reach_tree(x,
					o && git_tree_entry_type(o) == GIT_OBJECT_TREE
					    ? git_tree_entry_id(o)
					    : NULL,
					git_tree_entry_id(e));
		else
			rc = oidset_add(x->set, git_tree_entry_id(e));
	}
	git_tree_free(a);
	git_tree_free(b);
	return rc;
}

static int reachable(histx_q *q, const char *head_hex, const char *since_hex, oidset *set)
{
	reach x = {q->git, q->odb, set};
	git_oid id, since;
	int rc;
	bool stop = since_hex && *since_hex;
	if ((rc = oid_parse(&id, head_hex)) < 0 || (stop && (rc = oid_parse(&since, since_hex)) < 0))
		return rc;
	for (;;) {
		git_commit *c = NULL, *p = NULL;
		if (stop && git_oid_equal(&id, &since))
			break;
		if (git_commit_lookup(&c, q->git, &id) < 0)
			return gfail("cannot read a commit of the history");
		if (git_commit_parentcount(c) == 1 && git_commit_parent(&p, c, 0) < 0) {
			git_commit_free(c);
			return gfail("cannot read a commit of the history");
		}
		rc = oidset_add(set, &id);
		const git_oid *nt = git_commit_tree_id(c), *ot = p ? git_commit_tree_id(p) : NULL;
		if (rc == 0 && !(ot && git_oid_equal(nt, ot)))
			rc = reach_tree(&x, ot, nt);
		bool root = !p;
		if (p)
			id = *git_commit_id(p);
		git_commit_free(c);
		git_commit_free(p);
		if (rc < 0)
			return rc;
		if (root)
			break;
	}
	if (set->n > 1)
		qsort(set->id, set->n, sizeof(*set->id), oid_cmp);
	return 0;
}

int histx_q_adopt(histx_q *q, const char *head_hex, const char *since_hex)
{
	evault_buf src = EVAULT_BUF_INIT, dst = EVAULT_BUF_INIT, dir = EVAULT_BUF_INIT;
	oidset keep = {0};
	int rc = reachable(q, head_hex, since_hex, &keep);
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
			char hex[GIT_OID_HEXSZ + 1];
			git_oid oid;
			if (strlen(de->d_name) != GIT_OID_HEXSZ - 2 ||
			    !is_hex(de->d_name, GIT_OID_HEXSZ - 2))
				continue;
			memcpy(hex, fan, 2);
			memcpy(hex + 2, de->d_name, GIT_OID_HEXSZ - 2);
			hex[GIT_OID_HEXSZ] = '\0';
			/* what no new commit names was sent for nothing: it stays out */
			if (git_oid_fromstr(&oid, hex) < 0 ||
			    !bsearch(&oid, keep.id, keep.n, sizeof(*keep.id), oid_cmp))
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
	free(keep.id);
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

/* ---- replay ---- */

typedef struct updates {
	git_tree_update *u;
	size_t n, cap;
} updates;

static int updates_add(updates *l, git_tree_update_t action, const char *path,
		       const git_oid *id, git_filemode_t mode)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		git_tree_update *u = realloc(l->u, cap * sizeof(*u));
		if (!u)
			return error_oom();
		l->u = u;
		l->cap = cap;
	}
	char *p = strdup(path);
	if (!p)
		return error_oom();
	git_tree_update *e = &l->u[l->n++];
	memset(e, 0, sizeof(*e));
	e->action = action;
	e->path = p;
	if (id)
		e->id = *id;
	e->filemode = mode;
	return 0;
}

static void updates_free(updates *l)
{
	for (size_t i = 0; i < l->n; i++)
		free((char *)l->u[i].path);
	free(l->u);
}

/* The blob-level changes from tree a to tree b, under prefix. */
static int tree_changes(git_repository *git, const git_oid *a_id, const git_oid *b_id,
			const char *prefix, updates *out)
{
	git_tree *a = NULL, *b = NULL;
	evault_buf path = EVAULT_BUF_INIT;
	int rc = 0;
	if ((a_id && git_tree_lookup(&a, git, a_id) < 0) ||
	    (b_id && git_tree_lookup(&b, git, b_id) < 0)) {
		rc = gfail("cannot read a tree of the history");
		goto done;
	}
	size_t nb = b ? git_tree_entrycount(b) : 0, na = a ? git_tree_entrycount(a) : 0;
	for (size_t i = 0; i < nb && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(b, i);
		const git_tree_entry *o = a ? git_tree_entry_byname(a, git_tree_entry_name(e)) : NULL;
		if (o && git_oid_equal(git_tree_entry_id(o), git_tree_entry_id(e)))
			continue;
		path.size = 0;
		if (evault_buf_printf(&path, "%s%s", prefix, git_tree_entry_name(e)) < 0) {
			rc = error_oom();
			break;
		}
		bool et = git_tree_entry_type(e) == GIT_OBJECT_TREE;
		bool ot = o && git_tree_entry_type(o) == GIT_OBJECT_TREE;
		if (o && !ot && et) /* a file became a directory */
			rc = updates_add(out, GIT_TREE_UPDATE_REMOVE, path.ptr, NULL, 0);
		if (rc == 0 && et) {
			if (evault_buf_printf(&path, "/") < 0)
				rc = error_oom();
			else
				rc = tree_changes(git, ot ? git_tree_entry_id(o) : NULL,
						  git_tree_entry_id(e), path.ptr, out);
		} else if (rc == 0) {
			if (ot) /* a directory became a file */
				rc = updates_add(out, GIT_TREE_UPDATE_REMOVE, path.ptr, NULL, 0);
			if (rc == 0)
				rc = updates_add(out, GIT_TREE_UPDATE_UPSERT, path.ptr,
						 git_tree_entry_id(e), git_tree_entry_filemode(e));
		}
	}
	for (size_t i = 0; i < na && rc == 0; i++) {
		const git_tree_entry *o = git_tree_entry_byindex(a, i);
		if (b && git_tree_entry_byname(b, git_tree_entry_name(o)))
			continue;
		path.size = 0;
		if (evault_buf_printf(&path, "%s%s", prefix, git_tree_entry_name(o)) < 0)
			rc = error_oom();
		else
			rc = updates_add(out, GIT_TREE_UPDATE_REMOVE, path.ptr, NULL, 0);
	}
done:
	git_tree_free(a);
	git_tree_free(b);
	evault_buf_dispose(&path);
	return rc;
}

/* The message of a replayed event: its seq renumbered, its first time kept. */
static int replay_message(evault_buf *out, const char *msg, uint64_t seq, int64_t when)
{
	const char *at = strstr(msg, "\nEvault-Seq: ");
	if (!at)
		return evault_error_set(EVAULT_ECORRUPT, "an event without Evault-Seq");
	const char *eol = strchr(at + 1, '\n');
	if (!eol)
		return evault_error_set(EVAULT_ECORRUPT, "an event without Evault-Seq");
	char t[64];
	/* replayed again: the first time recorded stays */
	if (trailer_get(t, sizeof(t), msg, "Evault-Replayed") == 0)
		return evault_buf_printf(out, "%.*s\nEvault-Seq: %llu%s", (int)(at - msg), msg,
					 (unsigned long long)seq, eol);
	size_t l = strlen(eol);
	return evault_buf_printf(out, "%.*s\nEvault-Seq: %llu%.*s%sEvault-Replayed: %lld\n",
				 (int)(at - msg), msg, (unsigned long long)seq, (int)l, eol,
				 l && eol[l - 1] == '\n' ? "" : "\n", (long long)when);
}

typedef struct remove_ctx {
	git_repository *git;
	git_tree *base;
	updates *ups;
} remove_ctx;

static int remove_more(void *ctx, const char *path)
{
	remove_ctx *r = ctx;
	git_tree_entry *e = NULL;
	if (git_tree_entry_bypath(&e, r->base, path) != 0)
		return 0;
	git_tree_entry_free(e);
	for (size_t i = 0; i < r->ups->n; i++)
		if (strcmp(r->ups->u[i].path, path) == 0)
			return 0;
	return updates_add(r->ups, GIT_TREE_UPDATE_REMOVE, path, NULL, 0);
}

int64_t histx_author_time(evault_repo *repo, const char *id_hex)
{
	git_commit *c = NULL;
	git_oid id;
	int64_t t = 0;
	if (oid_parse(&id, id_hex) == 0 &&
	    git_commit_lookup(&c, state_db_git(repo->db), &id) == 0)
		t = (int64_t)git_commit_author(c)->when.time;
	git_commit_free(c);
	evault_error_clear();
	return t;
}

int histx_message(evault_repo *repo, const char *id_hex, evault_buf *out)
{
	git_oid id;
	git_commit *c = NULL;
	int rc;
	if ((rc = oid_parse(&id, id_hex)) < 0)
		return rc;
	if (git_commit_lookup(&c, state_db_git(repo->db), &id) < 0)
		return gfail("cannot read a commit of the history");
	out->size = 0;
	rc = evault_buf_printf(out, "%s", git_commit_message(c));
	git_commit_free(c);
	return rc;
}

int histx_each_commit(evault_repo *repo, const char *head_hex, const char *since_hex,
		      histx_commit_fn cb, void *payload)
{
	git_repository *git = state_db_git(repo->db);
	git_oid id, since;
	int rc;
	if ((rc = oid_parse(&id, head_hex)) < 0 || (rc = oid_parse(&since, since_hex)) < 0)
		return rc;
	while (!git_oid_equal(&id, &since)) {
		git_commit *c = NULL;
		char hex[41];
		if (git_commit_lookup(&c, git, &id) < 0)
			return gfail("cannot read a commit of the history");
		git_oid_tostr(hex, sizeof(hex), &id);
		rc = cb(payload, hex, git_commit_message(c));
		bool root = git_commit_parentcount(c) == 0;
		if (!root)
			id = *git_commit_parent_id(c, 0);
		git_commit_free(c);
		if (rc < 0)
			return rc;
		if (root)
			return evault_error_set(EVAULT_ECORRUPT, "commit %.12s is not in this history",
						since_hex);
	}
	return 0;
}

int histx_replay(evault_repo *repo, const char *base_hex, const char *tip_hex,
		 const char *onto_hex, histx_fix_fn fix, void *payload, char out_hex[41],
		 uint64_t *count)
{
	git_repository *git = state_db_git(repo->db);
	git_oid base, tip, cur, *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	*count = 0;
	if ((rc = oid_parse(&base, base_hex)) < 0 || (rc = oid_parse(&tip, tip_hex)) < 0 ||
	    (rc = oid_parse(&cur, onto_hex)) < 0)
		return rc;
	if (!repo->id || !evault_identity_unlocked(repo->id))
		return evault_error_set(EVAULT_EAUTH, "an unlocked identity is needed to sign");
	/* the events to replay, oldest first */
	for (git_oid id = tip; !git_oid_equal(&id, &base);) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, git, &id) < 0 || git_commit_parentcount(c) != 1) {
			git_commit_free(c);
			rc = evault_error_set(EVAULT_ECORRUPT, "the events to replay do not lead "
							       "back to the office's history");
			goto done;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			git_oid *l = realloc(list, cap * sizeof(*l));
			if (!l) {
				git_commit_free(c);
				rc = error_oom();
				goto done;
			}
			list = l;
		}
		list[n++] = id;
		id = *git_commit_parent_id(c, 0);
		git_commit_free(c);
	}
	for (size_t k = n; k-- > 0 && rc == 0;) {
		git_commit *c = NULL, *p = NULL, *onto = NULL;
		git_tree *base_tree = NULL, *tree = NULL;
		git_signature *author = NULL, *committer = NULL;
		git_buf body = GIT_BUF_INIT_CONST(NULL, 0);
		evault_buf msg = EVAULT_BUF_INIT, sig = EVAULT_BUF_INIT;
		updates ups = {0};
		git_oid tree_id, made;
		char seq[32];
		if (git_commit_lookup(&c, git, &list[k]) < 0 || git_commit_parent(&p, c, 0) < 0 ||
		    git_commit_lookup(&onto, git, &cur) < 0 || git_commit_tree(&base_tree, onto) < 0) {
			rc = gfail("cannot read the events to replay");
			goto next;
		}
		if ((rc = tree_changes(git, git_commit_tree_id(p), git_commit_tree_id(c), "", &ups)) < 0)
			goto next;
		/* a removal the office made already is done */
		size_t keep = 0;
		for (size_t i = 0; i < ups.n; i++) {
			git_tree_entry *e = NULL;
			if (ups.u[i].action == GIT_TREE_UPDATE_REMOVE &&
			    git_tree_entry_bypath(&e, base_tree, ups.u[i].path) != 0) {
				free((char *)ups.u[i].path);
				continue;
			}
			git_tree_entry_free(e);
			ups.u[keep++] = ups.u[i];
		}
		ups.n = keep;
		if (trailer_get(seq, sizeof(seq), git_commit_message(onto), "Evault-Seq") < 0) {
			rc = evault_error_set(EVAULT_ECORRUPT, "the office's head has no Evault-Seq");
			goto next;
		}
		int64_t now = (int64_t)time(NULL);
		if (git_commit_time(onto) > now)
			now = git_commit_time(onto);
		const git_signature *a = git_commit_author(c);
		if ((rc = replay_message(&msg, git_commit_message(c), strtoull(seq, NULL, 10) + 1,
					 git_commit_time(c))) < 0)
			goto next;
		if (fix) {
			char oh[41], ch[41];
			remove_ctx rctx = {git, base_tree, &ups};
			git_oid_tostr(oh, sizeof(oh), &list[k]);
			git_oid_tostr(ch, sizeof(ch), &cur);
			if ((rc = fix(payload, oh, ch, &msg, remove_more, &rctx)) < 0)
				goto next;
			if (rc == HISTX_DROP) {
				rc = 0;
				goto next;
			}
		}
		if (git_tree_create_updated(&tree_id, git, base_tree, ups.n, ups.u) < 0) {
			rc = gfail("cannot replay an event's changes");
			goto next;
		}
		if (git_tree_lookup(&tree, git, &tree_id) < 0) {
			rc = gfail("cannot read a replayed state");
			goto next;
		}
		if (git_signature_dup(&author, a) < 0 ||
		    git_signature_new(&committer, a->name, a->email, now, 0) < 0) {
			rc = gfail("cannot date a replayed event");
			goto next;
		}
		const git_commit *parents[1] = {onto};
		if (git_commit_create_buffer(&body, git, author, committer, NULL, msg.ptr, tree, 1,
					     parents) < 0) {
			rc = gfail("cannot make a replayed event");
			goto next;
		}
		if ((rc = identity_sign(&sig, repo->id, "git", body.ptr, body.size)) < 0)
			goto next;
		if (git_commit_create_with_signature(&made, git, body.ptr, sig.ptr, "gpgsig") < 0) {
			rc = gfail("cannot write a replayed event");
			goto next;
		}
		cur = made;
		(*count)++;
next:
		git_buf_dispose(&body);
		evault_buf_dispose(&msg);
		evault_buf_dispose(&sig);
		updates_free(&ups);
		git_signature_free(author);
		git_signature_free(committer);
		git_tree_free(tree);
		git_tree_free(base_tree);
		git_commit_free(onto);
		git_commit_free(p);
		git_commit_free(c);
	}
	if (rc == 0) {
		git_oid_tostr(out_hex, 41, &cur);
		rc = syncfs_path(repo->path, "cannot sync the repository");
	}
done:
	free(list);
	return rc;
}

int histx_q_merge_base(histx_q *q, const char *a_hex, const char *b_hex, char out[41])
{
	git_oid a, b, m;
	int rc;
	if ((rc = oid_parse(&a, a_hex)) < 0 || (rc = oid_parse(&b, b_hex)) < 0)
		return rc;
	int e = git_merge_base(&m, q->git, &a, &b);
	if (e == GIT_ENOTFOUND)
		return evault_error_set(EVAULT_ECORRUPT,
					"this replica's history and the office's have nothing in "
					"common");
	if (e < 0)
		return gfail("cannot compare the histories");
	git_oid_tostr(out, 41, &m);
	return 0;
}

bool histx_q_contains(histx_q *q, const char *a_hex, const char *b_hex)
{
	git_oid a, b;
	if (oid_parse(&a, a_hex) < 0 || oid_parse(&b, b_hex) < 0) {
		evault_error_clear();
		return false;
	}
	return git_oid_equal(&a, &b) ||
	       git_graph_descendant_of(q->git, &a, &b) == 1;
}
