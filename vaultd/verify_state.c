/*
 * A commit's state as the verifier's rules read it (verify.h): records at
 * a path of a state tree, read through the verifying thread's object
 * cache; one level of two trees compared (tree_delta); the MISSION
 * records of the event being checked, read once; and the rule a commit
 * breaks, recorded in the walk's result (verify_bad).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "gitcache.h"
#include "verify.h"

int verify_git_fail(const char *what)
{
	const git_error *e = git_error_last();
	return evault_error_set(EVAULT_ECORRUPT, "%s: %s", what,
				e && e->message ? e->message : "git error");
}

int verify_bad(verifier *v, const char *fmt, ...)
{
	va_list ap;
	/* walking backwards: each failure found is older than the last one */
	v->failed = true;
	git_oid_tostr(v->res->bad_commit, sizeof(v->res->bad_commit), v->id);
	va_start(ap, fmt);
	vsnprintf(v->res->reason, sizeof(v->res->reason), fmt, ap);
	va_end(ap);
	return 1;
}

/*
 * git_tree_entry_bypath through the verifying thread's object cache
 * (gitcache.h): each directory on the way is read once, not once per
 * record. Paths with an empty component go to libgit2 as they are.
 */
static int entry_bypath(git_tree_entry **out, git_repository *git, git_tree *tree, const char *path)
{
	const char *slash = strchr(path, '/');
	*out = NULL;
	if (!slash) {
		const git_tree_entry *e = path[0] ? git_tree_entry_byname(tree, path) : NULL;
		if (!path[0])
			return git_tree_entry_bypath(out, tree, path);
		return e ? git_tree_entry_dup(out, e) : GIT_ENOTFOUND;
	}
	if (slash == path || slash[1] == '\0' || strstr(path, "//"))
		return git_tree_entry_bypath(out, tree, path);
	char name[256];
	size_t n = (size_t)(slash - path);
	if (n >= sizeof(name))
		return git_tree_entry_bypath(out, tree, path);
	memcpy(name, path, n);
	name[n] = '\0';
	const git_tree_entry *e = git_tree_entry_byname(tree, name);
	git_object *sub = NULL;
	if (!e || git_tree_entry_type(e) != GIT_OBJECT_TREE)
		return GIT_ENOTFOUND;
	if (gitcache_lookup(&sub, git, git_tree_entry_id(e), GIT_OBJECT_TREE) < 0)
		return GIT_ERROR;
	int rc = entry_bypath(out, git, (git_tree *)sub, slash + 1);
	git_object_free(sub);
	return rc;
}

int blob_at(evault_buf *out, git_repository *git, git_tree *tree, const char *path)
{
	git_tree_entry *e = NULL;
	git_object *b = NULL;
	int rc = 0;
	out->size = 0;
	if (!tree || entry_bypath(&e, git, tree, path) < 0 || !e)
		return EVAULT_ENOTFOUND;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    gitcache_lookup(&b, git, git_tree_entry_id(e), GIT_OBJECT_BLOB) < 0)
		rc = EVAULT_ECORRUPT;
	else
		rc = evault_buf_put(out, git_blob_rawcontent((git_blob *)b),
				    (size_t)git_blob_rawsize((git_blob *)b));
	git_object_free(b);
	git_tree_entry_free(e);
	return rc;
}

int load_user(user_rec *u, git_repository *git, git_tree *tree, const char *name)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc = evault_buf_printf(&path, "users/%s", name);
	if (rc == 0 && (rc = blob_at(&text, git, tree, path.ptr)) == 0)
		rc = user_parse(u, name, text.ptr, text.size);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

int load_mission(mission_rec *m, git_repository *git, git_tree *tree, const char *mid)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc = evault_buf_printf(&path, "missions/%s/MISSION", mid);
	memset(m, 0, sizeof(*m));
	if (rc == 0 && (rc = blob_at(&text, git, tree, path.ptr)) == 0)
		rc = mission_parse(m, mid, text.ptr, text.size);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

int policy_at(policy *p, git_repository *git, git_tree *t)
{
	evault_buf text = EVAULT_BUF_INIT;
	int rc = blob_at(&text, git, t, POLICY_PATH);
	if (rc == 0)
		rc = policy_parse(p, text.ptr, text.size);
	evault_buf_dispose(&text);
	return rc;
}

/* ---- one-level tree comparison ---- */

static void delta_add(delta *d, const git_tree_entry *a, const git_tree_entry *b)
{
	if (d->n < sizeof(d->c) / sizeof(d->c[0]))
		d->c[d->n++] = (change){a, b};
	else
		d->more = true;
}

void tree_delta(delta *d, const git_tree *a, const git_tree *b)
{
	size_t na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0;
	size_t i = 0, j = 0;
	memset(d, 0, sizeof(*d));
	while (i < na || j < nb) {
		const git_tree_entry *ea = i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *eb = j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int c = !ea ? 1 : !eb ? -1 : git_tree_entry_cmp(ea, eb);
		if (c < 0) {
			delta_add(d, ea, NULL);
			i++;
		} else if (c > 0) {
			delta_add(d, NULL, eb);
			j++;
		} else {
			if (!git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb)) ||
			    git_tree_entry_filemode(ea) != git_tree_entry_filemode(eb))
				delta_add(d, ea, eb);
			i++;
			j++;
		}
		if (d->more)
			return;
	}
}

const char *change_name(const change *c)
{
	return git_tree_entry_name(c->new ? c->new : c->old);
}

git_tree *change_tree(git_repository *git, const git_tree_entry *e)
{
	git_object *t = NULL;
	if (e && git_tree_entry_type(e) == GIT_OBJECT_TREE)
		gitcache_lookup(&t, git, git_tree_entry_id(e), GIT_OBJECT_TREE);
	return (git_tree *)t;
}

int commit_tree(git_tree **out, git_repository *git, git_commit *c)
{
	git_object *t = NULL;
	int rc = gitcache_lookup(&t, git, git_commit_tree_id(c), GIT_OBJECT_TREE);
	*out = (git_tree *)t;
	return rc;
}

bool is_blob(const git_tree_entry *e)
{
	return e && git_tree_entry_type(e) == GIT_OBJECT_BLOB;
}

int only_top(verifier *v, const delta *d, const char *name)
{
	if (d->more || d->n != 1 || strcmp(change_name(&d->c[0]), name) != 0)
		return verify_bad(v, "%s may change only %s/ in the state", v->action, name);
	return 0;
}

bool changes_exactly(const delta *d, const char *const *names)
{
	size_t want = 0;
	while (names[want])
		want++;
	if (d->more || d->n != want)
		return false;
	for (size_t i = 0; i < d->n; i++) {
		bool found = false;
		for (size_t j = 0; j < want && !found; j++)
			found = strcmp(change_name(&d->c[i]), names[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

bool may_write(const user_rec *u, const mission_rec *m, const char *actor)
{
	return u->role == EVAULT_ROLE_ADMIN ||
	       (u->role == EVAULT_ROLE_TECHNICIAN && mission_is_member(m, actor));
}

bool tree_absent(git_repository *git, const git_tree_entry *e)
{
	git_odb *odb = NULL;
	bool absent = false;
	if (e && git_tree_entry_type(e) == GIT_OBJECT_TREE && git_repository_odb(&odb, git) == 0)
		absent = !git_odb_exists(odb, git_tree_entry_id(e));
	git_odb_free(odb);
	return absent;
}

bool mission_not_held(const verifier *v, git_tree *t)
{
	const git_tree_entry *e = t ? git_tree_entry_byname(t, "missions") : NULL;
	git_object *missions = NULL;
	bool absent = false;
	/* the missions directory itself is in every replica's history: one
	 * that cannot be read is damage, which the rules report */
	if (!v->partial || !e || git_tree_entry_type(e) != GIT_OBJECT_TREE ||
	    gitcache_lookup(&missions, v->git, git_tree_entry_id(e), GIT_OBJECT_TREE) < 0)
		return false;
	absent = tree_absent(v->git, git_tree_entry_byname((git_tree *)missions, v->mission));
	git_object_free(missions);
	return absent;
}

/* ---- the event being checked ---- */

int event_mission_change(verify_event *ev)
{
	verifier *v = ev->v;
	const delta *top = &ev->top;
	delta d;
	git_tree *pms = NULL, *cms = NULL;
	int r = only_top(v, top, "missions");
	if (r)
		return r;
	pms = change_tree(v->git, top->c[0].old);
	cms = change_tree(v->git, top->c[0].new);
	tree_delta(&d, pms, cms);
	if (!cms || d.more || d.n != 1 || strcmp(change_name(&d.c[0]), v->mission) != 0)
		r = verify_bad(v, "%s may change only missions/%s", v->action, v->mission);
	else {
		ev->pm = change_tree(v->git, d.c[0].old);
		ev->cm = change_tree(v->git, d.c[0].new);
		if (!d.c[0].new)
			r = verify_bad(v, "%s removes missions/%s", v->action, v->mission);
		else if ((!ev->cm && git_tree_entry_type(d.c[0].new) == GIT_OBJECT_TREE) ||
			 (!ev->pm && d.c[0].old &&
			  git_tree_entry_type(d.c[0].old) == GIT_OBJECT_TREE))
			r = verify_bad(v, "%s: the tree of missions/%s is missing or unreadable",
				       v->action, v->mission);
		else if (!ev->cm)
			r = verify_bad(v, "%s: missions/%s is not a directory", v->action,
				       v->mission);
		else
			tree_delta(&ev->d, ev->pm, ev->cm);
	}
	git_tree_free(pms);
	git_tree_free(cms);
	return r;
}

const mission_rec *event_mission(verify_event *ev, int when)
{
	if (!ev->loaded[when]) {
		git_tree *t = when == EVENT_AFTER ? ev->ct : ev->pt;
		bool ok = load_mission(&ev->rec[when], ev->v->git, t, ev->v->mission) == 0;
		ev->loaded[when] = ok ? 1 : -1;
	}
	return ev->loaded[when] > 0 ? &ev->rec[when] : NULL;
}

void event_clear(verify_event *ev)
{
	mission_rec_clear(&ev->rec[EVENT_BEFORE]);
	mission_rec_clear(&ev->rec[EVENT_AFTER]);
	git_tree_free(ev->pm);
	git_tree_free(ev->cm);
}

int64_t verify_event_time(verify_event *ev)
{
	char t[32];
	if (trailer_get(t, sizeof(t), ev->v->message, "Evault-Replayed") == 0)
		return strtoll(t, NULL, 10);
	return (int64_t)git_commit_time(ev->commit);
}
