/*
 * History verification, checkpoints, export bundles (DESIGN §6,
 * docs/auditing.md). With state.c this is the audit module: the only
 * engine files that include git2.h.
 *
 * verify walks from the head back to the root along the single parent
 * chain and checks every commit against its parent: memory stays constant
 * whatever the history's length. Because the walk goes backwards, the
 * failure reported is the oldest one seen, i.e. the first bad commit.
 * Commits are checked in batches by worker threads and the verdicts
 * merged in walk order ("The walk" below), with the same result.
 *
 * Invariants checked for every commit C with parent P (root: no P):
 *  1. C has at most one parent; only the root has none.
 *  2. Evault-Seq(C) = Evault-Seq(P) + 1; the root's is 0.
 *  3. time(C) >= time(P) - TIME_TOLERANCE, and time(C) <= now + TIME_TOLERANCE
 *     (no event is dated after the verification).
 *  4. C carries an SSHSIG (namespace git) in its gpgsig header, equal to
 *     what git_commit_extract_signature finds, made by the key that the
 *     actor had in P's state (the root: in its own state).
 *  5. The actor is an active user in P whose role allows the action.
 *  6. The tree of C differs from P's exactly as the action allows.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <sodium.h>

#include "chunk.h"
#include "close.h"
#include "config.h"
#include "evault/audit.h"
#include "evault/log.h"
#include "gitcache.h"
#include "identity.h"
#include "layout.h"
#include "mission.h"
#include "packscan.h"
#include "pipeline.h"
#include "policy.h"
#include "repo.h"
#include "sshkey.h"
#include "state.h"
#include "trust.h"
#include "user.h"
#include "util.h"

#define MAIN_REF "refs/heads/main"
/* Clocks of different machines disagree: a commit may be this much older
 * than its parent, or younger than the verifier's clock (seconds). */
#define TIME_TOLERANCE EVAULT_CLOCK_SKEW
#define VERIFIED_FILE "audit-verified"
#define BUNDLE_HEADER "# v2 git bundle\n"

/* Keys pinned by an allowed-signers file given to verify. */
typedef struct pinned {
	char name[EVAULT_USER_MAX + 1];
	uint8_t pk[SSH_ED25519_PK_LEN];
} pinned;

typedef struct verifier {
	git_repository *git;
	const pinned *pins; /* NULL: no pinning */
	size_t npins;
	const char *expected_vault; /* from evault.conf, or NULL for a bundle */
	int64_t now;                /* when verification started */
	evault_verify_result *res;
	bool failed;
	/* the commit being checked */
	const git_oid *id;
	char actor[EVAULT_USER_MAX + 1];
	char action[40];
	char mission[EVAULT_MID_MAX + 1];
	const char *message;
} verifier;

static int git_fail(const char *what)
{
	const git_error *e = git_error_last();
	return evault_error_set(EVAULT_ECORRUPT, "%s: %s", what,
				e && e->message ? e->message : "git error");
}

/* Records a rule broken by the commit being checked. Returns 1. */
static int bad(verifier *v, const char *fmt, ...) EVAULT_PRINTF(2, 3);
static int bad(verifier *v, const char *fmt, ...)
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

/* The blob at path in tree; EVAULT_ENOTFOUND if there is none. */
static int blob_at(evault_buf *out, git_repository *git, git_tree *tree, const char *path)
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

static int load_user(user_rec *u, git_repository *git, git_tree *tree, const char *name)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc = evault_buf_printf(&path, "users/%s", name);
	if (rc == 0 && (rc = blob_at(&text, git, tree, path.ptr)) == 0)
		rc = user_parse(u, name, text.ptr, text.size);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

static int load_mission(mission_rec *m, git_repository *git, git_tree *tree, const char *mid)
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

/* ---- one-level tree comparison ---- */

typedef struct change {
	const git_tree_entry *old, *new; /* NULL: added / removed */
} change;

typedef struct delta {
	change c[8];
	size_t n;
	bool more; /* more than fit: never allowed by any rule */
} delta;

static void delta_add(delta *d, const git_tree_entry *a, const git_tree_entry *b)
{
	if (d->n < sizeof(d->c) / sizeof(d->c[0]))
		d->c[d->n++] = (change){a, b};
	else
		d->more = true;
}

/* Differences between two trees' entries (either may be NULL: empty). */
static void tree_delta(delta *d, const git_tree *a, const git_tree *b)
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

static const char *change_name(const change *c)
{
	return git_tree_entry_name(c->new ? c->new : c->old);
}

/* The subtree named by a change's new (or old) side; NULL if not a tree. */
static git_tree *change_tree(git_repository *git, const git_tree_entry *e)
{
	git_object *t = NULL;
	if (e && git_tree_entry_type(e) == GIT_OBJECT_TREE)
		gitcache_lookup(&t, git, git_tree_entry_id(e), GIT_OBJECT_TREE);
	return (git_tree *)t;
}

static int commit_tree(git_tree **out, git_repository *git, git_commit *c)
{
	git_object *t = NULL;
	int rc = gitcache_lookup(&t, git, git_commit_tree_id(c), GIT_OBJECT_TREE);
	*out = (git_tree *)t;
	return rc;
}

static bool is_blob(const git_tree_entry *e)
{
	return e && git_tree_entry_type(e) == GIT_OBJECT_BLOB;
}

/* Exactly one top-level entry changed, and it is name. */
static int only_top(verifier *v, const delta *d, const char *name)
{
	if (d->more || d->n != 1 || strcmp(change_name(&d->c[0]), name) != 0)
		return bad(v, "%s may change only %s/ in the state", v->action, name);
	return 0;
}

/* ---- per-action rules ---- */

static int check_user_add(verifier *v, git_tree *pt, git_tree *ct, const delta *top)
{
	char user[64], role[32];
	delta d;
	git_tree *pu = NULL, *cu = NULL;
	user_rec u;
	int r = only_top(v, top, "users");
	if (r)
		return r;
	if (trailer_get(user, sizeof(user), v->message, "Evault-User") < 0 ||
	    trailer_get(role, sizeof(role), v->message, "Evault-Role") < 0)
		return bad(v, "user.add without Evault-User and Evault-Role");
	pu = change_tree(v->git, top->c[0].old);
	cu = change_tree(v->git, top->c[0].new);
	tree_delta(&d, pu, cu);
	if (!cu || d.more || d.n != 1 || d.c[0].old || !is_blob(d.c[0].new) ||
	    strcmp(git_tree_entry_name(d.c[0].new), user) != 0)
		r = bad(v, "user.add must add exactly users/%s and change nothing else", user);
	else if (load_user(&u, v->git, ct, user) < 0)
		r = bad(v, "user.add: the record of %s is not valid", user);
	else if (strcmp(evault_role_name(u.role), role) != 0 || strcmp(u.status, "active") != 0)
		r = bad(v, "user.add: the record of %s disagrees with the event", user);
	git_tree_free(pu);
	git_tree_free(cu);
	(void)pt;
	return r;
}

/* user.disable: users/<name> of an active user other than the actor turns
 * disabled, nothing else changes. */
static int check_user_disable(verifier *v, git_tree *pt, git_tree *ct, const delta *top)
{
	char user[EVAULT_USER_MAX + 1];
	delta d;
	git_tree *pu = NULL, *cu = NULL;
	user_rec o, n;
	int r = only_top(v, top, "users");
	if (r)
		return r;
	if (trailer_get(user, sizeof(user), v->message, "Evault-User") < 0)
		return bad(v, "user.disable without Evault-User");
	pu = change_tree(v->git, top->c[0].old);
	cu = change_tree(v->git, top->c[0].new);
	tree_delta(&d, pu, cu);
	if (!cu || d.more || d.n != 1 || !d.c[0].old || !is_blob(d.c[0].new) ||
	    strcmp(git_tree_entry_name(d.c[0].new), user) != 0)
		r = bad(v, "user.disable must change exactly users/%s and nothing else", user);
	else if (load_user(&o, v->git, pt, user) < 0 || load_user(&n, v->git, ct, user) < 0)
		r = bad(v, "user.disable: the record of %s is not valid", user);
	else if (strcmp(o.status, "active") != 0 || strcmp(n.status, "disabled") != 0 ||
		 o.role != n.role || strcmp(o.key_line, n.key_line) != 0)
		r = bad(v, "user.disable must only turn %s from active to disabled", user);
	else if (strcmp(user, v->actor) == 0)
		r = bad(v, "user.disable of %s by %s themselves", user, v->actor);
	git_tree_free(pu);
	git_tree_free(cu);
	return r;
}

/* The mission subtree change of a mission event: only missions/<mid> changed. */
static int mission_change(verifier *v, const delta *top, git_tree **pm, git_tree **cm, delta *inner)
{
	delta d;
	git_tree *pms = NULL, *cms = NULL;
	int r = only_top(v, top, "missions");
	if (r)
		return r;
	pms = change_tree(v->git, top->c[0].old);
	cms = change_tree(v->git, top->c[0].new);
	tree_delta(&d, pms, cms);
	if (!cms || d.more || d.n != 1 || strcmp(change_name(&d.c[0]), v->mission) != 0)
		r = bad(v, "%s may change only missions/%s", v->action, v->mission);
	else {
		*pm = change_tree(v->git, d.c[0].old);
		*cm = change_tree(v->git, d.c[0].new);
		if (!*cm)
			r = bad(v, "%s removes missions/%s", v->action, v->mission);
		else
			tree_delta(inner, *pm, *cm);
	}
	git_tree_free(pms);
	git_tree_free(cms);
	return r;
}

static int check_mission_create(verifier *v, git_tree *pt, git_tree *ct, const delta *top)
{
	git_tree *pm = NULL, *cm = NULL;
	delta d;
	mission_rec m;
	int r = mission_change(v, top, &pm, &cm, &d);
	memset(&m, 0, sizeof(m));
	if (r)
		goto done;
	bool ok = !pm && !d.more && d.n == 2;
	for (size_t i = 0; ok && i < d.n; i++)
		ok = !d.c[i].old && is_blob(d.c[i].new) &&
		     (strcmp(change_name(&d.c[i]), "MISSION") == 0 ||
		      strcmp(change_name(&d.c[i]), "info.enc") == 0);
	if (!ok) {
		r = bad(v, "mission.create must add exactly a new mission's MISSION and info.enc");
		goto done;
	}
	if (load_mission(&m, v->git, ct, v->mission) < 0) {
		r = bad(v, "mission.create: the MISSION record is not valid");
		goto done;
	}
	if (strcmp(m.status, "open") != 0 || strcmp(m.created_by, v->actor) != 0 || m.nauditors) {
		r = bad(v, "mission.create: a new mission must be open, created by its actor, "
			   "without auditors");
		goto done;
	}
	for (size_t i = 0; i < m.nmembers; i++) {
		user_rec u;
		if (load_user(&u, v->git, pt, m.members[i]) < 0 || u.role == EVAULT_ROLE_AUDITOR ||
		    strcmp(u.status, "active") != 0) {
			r = bad(v, "mission.create: member %s is not an active technician or admin",
				m.members[i]);
			goto done;
		}
	}
done:
	mission_rec_clear(&m);
	git_tree_free(pm);
	git_tree_free(cm);
	return r;
}

/* new = old with user added (grant) or removed (revoke) from one list. */
static bool membership_step(const mission_rec *o, const mission_rec *n, const char *user,
			    bool grant, bool auditor)
{
	if (strcmp(o->status, n->status) != 0 || strcmp(o->created_by, n->created_by) != 0 ||
	    o->created != n->created || o->photo_authorised != n->photo_authorised)
		return false;
	/* keys: unchanged here; a revoke's new generations are judged by
	 * check_membership */
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
		if (n->ngen[c] < o->ngen[c] || (grant && n->ngen[c] != o->ngen[c]))
			return false;
		for (size_t g = 0; g < o->ngen[c]; g++)
			if (strcmp(o->fps[c][g], n->fps[c][g]) != 0)
				return false;
	}
	const mission_rec *big = grant ? n : o, *small = grant ? o : n;
	char *const *bl = auditor ? big->auditors : big->members;
	size_t bn = auditor ? big->nauditors : big->nmembers;
	char *const *sl = auditor ? small->auditors : small->members;
	size_t sn = auditor ? small->nauditors : small->nmembers;
	char *const *ol = auditor ? big->members : big->auditors;
	size_t on = auditor ? big->nmembers : big->nauditors;
	char *const *osl = auditor ? small->members : small->auditors;
	size_t osn = auditor ? small->nmembers : small->nauditors;
	if (bn != sn + 1 || on != osn)
		return false;
	for (size_t i = 0; i < on; i++)
		if (strcmp(ol[i], osl[i]) != 0)
			return false;
	/* both lists sorted: big is small plus user */
	size_t j = 0;
	bool seen = false;
	for (size_t i = 0; i < bn; i++) {
		if (!seen && strcmp(bl[i], user) == 0) {
			seen = true;
			continue;
		}
		if (j >= sn || strcmp(bl[i], sl[j]) != 0)
			return false;
		j++;
	}
	return seen;
}

static int check_membership(verifier *v, git_tree *pt, git_tree *ct, const delta *top)
{
	git_tree *pm = NULL, *cm = NULL;
	delta d;
	mission_rec o, n;
	char user[64], as[16];
	bool grant = strcmp(v->action, "mission.grant") == 0;
	int r = mission_change(v, top, &pm, &cm, &d);
	memset(&o, 0, sizeof(o));
	memset(&n, 0, sizeof(n));
	if (r)
		goto done;
	if (trailer_get(user, sizeof(user), v->message, "Evault-User") < 0 ||
	    trailer_get(as, sizeof(as), v->message, "Evault-As") < 0 ||
	    (strcmp(as, "member") && strcmp(as, "auditor"))) {
		r = bad(v, "%s without Evault-User and Evault-As", v->action);
		goto done;
	}
	if (!pm || d.more || d.n != 1 || !d.c[0].old || !d.c[0].new ||
	    strcmp(change_name(&d.c[0]), "MISSION") != 0) {
		r = bad(v, "%s may change only the MISSION record of an existing mission",
			v->action);
		goto done;
	}
	if (load_mission(&o, v->git, pt, v->mission) < 0 ||
	    load_mission(&n, v->git, ct, v->mission) < 0) {
		r = bad(v, "%s: a MISSION record is not valid", v->action);
		goto done;
	}
	if (strcmp(o.status, "open") != 0) {
		r = bad(v, "%s on mission %s, which is %s", v->action, v->mission, o.status);
		goto done;
	}
	user_rec u;
	bool auditor = strcmp(as, "auditor") == 0;
	if (grant && (load_user(&u, v->git, pt, user) < 0 || strcmp(u.status, "active") != 0 ||
		      (u.role == EVAULT_ROLE_AUDITOR) != auditor)) {
		r = bad(v, "mission.grant to %s, who is not an active user of that role", user);
		goto done;
	}
	if (!membership_step(&o, &n, user, grant, auditor)) {
		r = bad(v, "%s must %s exactly %s %s the %ss of %s", v->action,
			grant ? "add" : "remove", user, grant ? "to" : "from", as, v->mission);
		goto done;
	}
	if (grant)
		goto done;
	/* A revoke rotates the keys the user held (an admin holds every
	 * mission's keys and keeps them): one new generation for each, none
	 * for the others. */
	bool admin = load_user(&u, v->git, pt, user) == 0 && u.role == EVAULT_ROLE_ADMIN;
	for (int c = 0; c < EVAULT_CLASS_COUNT && !r; c++) {
		bool held = !admin && (!auditor || c == EVAULT_CLASS_DOSSIER);
		if (n.ngen[c] != o.ngen[c] + (held ? 1 : 0))
			r = bad(v,
				"mission.revoke of %s from %s must add exactly %s generation of "
				"its %s key",
				user, v->mission, held ? "one new" : "no",
				evault_class_name((evault_class)c));
	}
done:
	mission_rec_clear(&o);
	mission_rec_clear(&n);
	git_tree_free(pm);
	git_tree_free(cm);
	return r;
}

/*
 * The entries a file event may touch under a class directory: each fid of
 * `add` gains its .enc and .objs, each fid of `rem` loses them, and nothing
 * else changes, at any level. Descends only into the buckets those fids
 * belong to (layout.h). Both lists sorted, without duplicates or overlap.
 */
typedef char fid_t[LAYOUT_FID_LEN + 1];

typedef struct file_rule {
	verifier *v;
	const fid_t *add, *rem;
	size_t nadd, nrem;
	size_t count; /* leaf entries changed */
} file_rule;

static int fid_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Does any fid of the sorted list start with prefix? */
static bool fids_with_prefix(const fid_t *l, size_t n, const char *prefix)
{
	size_t lo = 0, hi = n, pl = strlen(prefix);
	while (lo < hi) { /* the first fid not below prefix */
		size_t mid = lo + (hi - lo) / 2;
		if (strncmp(l[mid], prefix, pl) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strncmp(l[lo], prefix, pl) == 0;
}

static bool fids_have(const fid_t *l, size_t n, const char *fid)
{
	return n && bsearch(fid, l, n, sizeof(*l), fid_cmp) != NULL;
}

/* A leaf change: a whole entry of a listed fid, added or removed, in its bucket. */
static bool file_leaf_ok(const file_rule *fr, const change *ch, const char *bucket)
{
	const git_tree_entry *e = ch->new ? ch->new : ch->old;
	const char *name = git_tree_entry_name(e);
	size_t nl = strlen(name);
	fid_t fid;
	if ((ch->new && ch->old) || !is_blob(e) || nl < LAYOUT_FID_LEN ||
	    strncmp(name, bucket, LAYOUT_FANOUT) != 0 ||
	    (strcmp(name + LAYOUT_FID_LEN, ".enc") != 0 && strcmp(name + LAYOUT_FID_LEN, ".objs") != 0))
		return false;
	memcpy(fid, name, LAYOUT_FID_LEN);
	fid[LAYOUT_FID_LEN] = '\0';
	return ch->new ? fids_have(fr->add, fr->nadd, fid) : fids_have(fr->rem, fr->nrem, fid);
}

static bool file_entries_ok(file_rule *fr, const git_tree_entry *old, const git_tree_entry *new,
			    const char *bucket, int depth)
{
	if ((old && git_tree_entry_type(old) != GIT_OBJECT_TREE) ||
	    (new &&git_tree_entry_type(new) != GIT_OBJECT_TREE))
		return false;
	git_tree *a = change_tree(fr->v->git, old), *b = change_tree(fr->v->git, new);
	bool ok = (!old || a) && (!new || b);
	size_t na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0;
	for (size_t i = 0, j = 0; ok && (i < na || j < nb);) { /* both sorted by name */
		const git_tree_entry *ea = i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *eb = j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int c = !ea ? 1 : !eb ? -1 : git_tree_entry_cmp(ea, eb);
		change ch = {c <= 0 ? ea : NULL, c >= 0 ? eb : NULL};
		i += c <= 0;
		j += c >= 0;
		if (c == 0 && git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb)) &&
		    git_tree_entry_filemode(ea) == git_tree_entry_filemode(eb))
			continue; /* unchanged */
		const char *name = change_name(&ch);
		if (depth < LAYOUT_FANOUT) {
			char sub[LAYOUT_FANOUT + 1];
			memcpy(sub, bucket, (size_t)depth);
			sub[depth] = name[0];
			sub[depth + 1] = '\0';
			ok = name[0] && name[1] == '\0' &&
			     (fids_with_prefix(fr->add, fr->nadd, sub) ||
			      fids_with_prefix(fr->rem, fr->nrem, sub)) &&
			     file_entries_ok(fr, ch.old, ch.new, sub, depth + 1);
			continue;
		}
		fr->count++;
		ok = file_leaf_ok(fr, &ch, bucket);
	}
	git_tree_free(a);
	git_tree_free(b);
	return ok;
}

/* Sorts both lists; false if a fid is listed twice (in either or both). */
static bool fids_distinct(fid_t *add, size_t nadd, fid_t *rem, size_t nrem)
{
	if (nadd)
		qsort(add, nadd, sizeof(*add), fid_cmp);
	if (nrem)
		qsort(rem, nrem, sizeof(*rem), fid_cmp);
	for (size_t i = 1; i < nadd; i++)
		if (strcmp(add[i - 1], add[i]) == 0)
			return false;
	for (size_t i = 1; i < nrem; i++)
		if (strcmp(rem[i - 1], rem[i]) == 0)
			return false;
	for (size_t i = 0; i < nadd; i++)
		if (fids_have(rem, nrem, add[i]))
			return false;
	return true;
}

/* The class directory change c is exactly: add's entries added, rem's removed. */
static bool class_change_ok(verifier *v, const change *c, fid_t *add, size_t nadd, fid_t *rem,
			    size_t nrem)
{
	if (!fids_distinct(add, nadd, rem, nrem))
		return false;
	file_rule rule = {v, add, rem, nadd, nrem, 0};
	return file_entries_ok(&rule, c->old, c->new, "", 0) && rule.count == 2 * (nadd + nrem);
}

/* The open mission an event changes, and the actor's right to write to it. */
static int file_event_mission(verifier *v, git_tree *pt, const user_rec *u, mission_rec *m)
{
	if (load_mission(m, v->git, pt, v->mission) < 0)
		return bad(v, "%s: the MISSION record is not valid", v->action);
	if (strcmp(m->status, "open") != 0)
		return bad(v, "%s on mission %s, which is %s", v->action, v->mission, m->status);
	if (!(u->role == EVAULT_ROLE_ADMIN ||
	      (u->role == EVAULT_ROLE_TECHNICIAN && mission_is_member(m, v->actor))))
		return bad(v, "%s by %s, who is not a member of %s", v->action, v->actor,
			   v->mission);
	return 0;
}

static int check_file_event(verifier *v, git_tree *pt, git_tree *ct, const delta *top,
			    const user_rec *u)
{
	git_tree *pm = NULL, *cm = NULL;
	delta d;
	mission_rec m;
	char cls[16], fid[40], replaces[40] = "";
	int r = mission_change(v, top, &pm, &cm, &d);
	memset(&m, 0, sizeof(m));
	if (r)
		goto done;
	if (trailer_get(cls, sizeof(cls), v->message, "Evault-Class") < 0 ||
	    trailer_get(fid, sizeof(fid), v->message, "Evault-File") < 0 || strlen(fid) != 32 ||
	    !is_hex(fid, 32)) {
		r = bad(v, "%s without a valid Evault-Class and Evault-File", v->action);
		goto done;
	}
	evault_class c;
	if (evault_class_parse(&c, cls) < 0) {
		r = bad(v, "%s names an unknown class", v->action);
		goto done;
	}
	if (!pm || d.more || d.n != 1 || strcmp(change_name(&d.c[0]), cls) != 0) {
		r = bad(v, "%s may change only missions/%s/%s", v->action, v->mission, cls);
		goto done;
	}
	if ((r = file_event_mission(v, pt, u, &m)) != 0)
		goto done;
	bool add = strcmp(v->action, "file.add") == 0, rep = strcmp(v->action, "file.replace") == 0;
	if (rep && (trailer_get(replaces, sizeof(replaces), v->message, "Evault-Replaces") < 0 ||
		    strlen(replaces) != 32 || !is_hex(replaces, 32))) {
		r = bad(v, "file.replace without Evault-Replaces");
		goto done;
	}
	fid_t a[1], b[1];
	memcpy(a[0], fid, sizeof(a[0]));
	memcpy(b[0], rep ? replaces : fid, sizeof(b[0]));
	bool ok = add   ? class_change_ok(v, &d.c[0], a, 1, b, 0)
		  : rep ? class_change_ok(v, &d.c[0], a, 1, b, 1)
			: class_change_ok(v, &d.c[0], a, 0, b, 1);
	if (!ok)
		r = bad(v, "%s must %s exactly the entries of file %s in %s/%s", v->action,
			add   ? "add"
			: rep ? "replace"
			      : "remove",
			fid, v->mission, cls);
done:
	mission_rec_clear(&m);
	git_tree_free(pm);
	git_tree_free(cm);
	return r;
}

/* One class's lists of a file.commit. */
typedef struct class_lists {
	fid_t *add, *rem;
	size_t nadd, nrem;
} class_lists;

/* Parses "CLASS FID" (and for a put " OBJECTS[ REPLACED]") into the lists. */
static bool commit_line(class_lists *cl, const char *p, bool put)
{
	char cls[16];
	size_t n = strcspn(p, " \n");
	evault_class c;
	if (n == 0 || n >= sizeof(cls))
		return false;
	memcpy(cls, p, n);
	cls[n] = '\0';
	if (evault_class_parse(&c, cls) < 0 || p[n] != ' ')
		return false;
	p += n + 1;
	if (strspn(p, "0123456789abcdef") != LAYOUT_FID_LEN)
		return false;
	class_lists *l = &cl[c];
	if (put) {
		memcpy(l->add[l->nadd], p, LAYOUT_FID_LEN);
		l->add[l->nadd++][LAYOUT_FID_LEN] = '\0';
		p += LAYOUT_FID_LEN;
		if (*p++ != ' ' || (n = strspn(p, "0123456789")) == 0 || n > 12)
			return false;
		p += n;
		if (*p == '\n' || *p == '\0')
			return true;
		if (*p++ != ' ' || strspn(p, "0123456789abcdef") != LAYOUT_FID_LEN)
			return false;
	}
	memcpy(l->rem[l->nrem], p, LAYOUT_FID_LEN);
	l->rem[l->nrem++][LAYOUT_FID_LEN] = '\0';
	p += LAYOUT_FID_LEN;
	return *p == '\n' || *p == '\0';
}

/*
 * file.commit: several files of one mission in one event (the mount's
 * commit window): Evault-Put lines (class, fid, objects, replaced fid if
 * any) and Evault-Remove lines (class, fid), Evault-Files of them in all;
 * each named class directory changes by exactly those entries, nothing else.
 */
static int check_file_commit(verifier *v, git_tree *pt, git_tree *ct, const delta *top,
			     const user_rec *u)
{
	git_tree *pm = NULL, *cm = NULL;
	delta d;
	mission_rec m;
	class_lists cl[EVAULT_CLASS_COUNT];
	char count[32];
	size_t lines = 0;
	int r = mission_change(v, top, &pm, &cm, &d);
	memset(&m, 0, sizeof(m));
	memset(cl, 0, sizeof(cl));
	if (r)
		goto done;
	if (!pm) {
		r = bad(v, "file.commit on mission %s, which does not exist", v->mission);
		goto done;
	}
	if ((r = file_event_mission(v, pt, u, &m)) != 0)
		goto done;
	char *end = NULL;
	unsigned long long want = 0;
	if (trailer_get(count, sizeof(count), v->message, "Evault-Files") == 0)
		want = strtoull(count, &end, 10);
	if (!end || *end || want == 0 || want > LAYOUT_COMMIT_MAX) {
		r = bad(v, "file.commit without a valid Evault-Files (1 to %d)", LAYOUT_COMMIT_MAX);
		goto done;
	}
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
		if (!(cl[c].add = calloc(want, sizeof(fid_t))) ||
		    !(cl[c].rem = calloc(2 * want, sizeof(fid_t)))) {
			r = bad(v, "out of memory");
			goto done;
		}
	static const char *const keys[2] = {"\nEvault-Put: ", "\nEvault-Remove: "};
	for (int put = 0; put < 2; put++)
		for (const char *p = strstr(v->message, keys[put]); p;
		     p = strstr(p + 1, keys[put])) {
			if (++lines > want || !commit_line(cl, p + strlen(keys[put]), put == 0)) {
				r = bad(v, "file.commit lists a file badly, or more than Evault-Files");
				goto done;
			}
		}
	if (lines != want) {
		r = bad(v, "file.commit lists %zu files where Evault-Files says %llu", lines, want);
		goto done;
	}
	size_t named = 0;
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
		named += cl[c].nadd + cl[c].nrem > 0;
	if (d.more || d.n != named) {
		r = bad(v, "file.commit must change exactly the classes it lists in %s", v->mission);
		goto done;
	}
	for (size_t i = 0; i < d.n; i++) {
		evault_class c;
		if (evault_class_parse(&c, change_name(&d.c[i])) < 0 ||
		    cl[c].nadd + cl[c].nrem == 0 ||
		    !class_change_ok(v, &d.c[i], cl[c].add, cl[c].nadd, cl[c].rem, cl[c].nrem)) {
			r = bad(v, "file.commit must add, replace and remove exactly the entries it "
				   "lists in %s/%s",
				v->mission, change_name(&d.c[i]));
			goto done;
		}
	}
done:
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
		free(cl[c].add);
		free(cl[c].rem);
	}
	mission_rec_clear(&m);
	git_tree_free(pm);
	git_tree_free(cm);
	return r;
}

/* ---- codes marks and close (close.c) ---- */

typedef struct fidlist {
	char (*fid)[LAYOUT_FID_LEN + 1];
	size_t n;
} fidlist;

static bool fidlist_has(const fidlist *l, const char *fid)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->fid[i], fid) == 0)
			return true;
	return false;
}

/* The fids of a class subtree (two bucket levels); -1 if it is not laid out so. */
static int collect_fids(fidlist *out, git_repository *git, git_tree *t, int depth)
{
	if (!t)
		return 0;
	size_t n = git_tree_entrycount(t);
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const char *name = git_tree_entry_name(e);
		if (depth < LAYOUT_FANOUT) {
			git_tree *sub = change_tree(git, e);
			int r =
			    sub && strlen(name) == 1 ? collect_fids(out, git, sub, depth + 1) : -1;
			git_tree_free(sub);
			if (r < 0)
				return -1;
			continue;
		}
		size_t nl = strlen(name);
		if (nl == LAYOUT_FID_LEN + 5 && strcmp(name + LAYOUT_FID_LEN, ".objs") == 0)
			continue;
		if (nl != LAYOUT_FID_LEN + 4 || strcmp(name + LAYOUT_FID_LEN, ".enc") != 0)
			return -1;
		if ((out->n & (out->n - 1)) == 0) {
			void *p = realloc(out->fid, (out->n ? out->n * 2 : 1) * sizeof(*out->fid));
			if (!p)
				return -1;
			out->fid = p;
		}
		memcpy(out->fid[out->n], name, LAYOUT_FID_LEN);
		out->fid[out->n++][LAYOUT_FID_LEN] = '\0';
	}
	return 0;
}

static int class_fids(fidlist *out, git_repository *git, git_tree *mission, const char *cls)
{
	git_tree_entry *e = NULL;
	git_tree *t = NULL;
	memset(out, 0, sizeof(*out));
	if (!mission || git_tree_entry_bypath(&e, mission, cls) < 0)
		return 0;
	t = change_tree(git, e);
	int r = t ? collect_fids(out, git, t, 0) : -1;
	git_tree_free(t);
	git_tree_entry_free(e);
	return r;
}

/* MISSION records equal but for status, closed and retain-until. */
static bool mission_same_but_status(const mission_rec *o, const mission_rec *n)
{
	mission_rec c = *o;
	evault_buf a = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT;
	memcpy(c.status, n->status, sizeof(c.status));
	c.closed = n->closed;
	c.retain_until = n->retain_until;
	bool same = mission_format(&a, &c) == 0 && mission_format(&b, n) == 0 && a.size == b.size &&
		    memcmp(a.ptr, b.ptr, a.size) == 0;
	evault_buf_dispose(&a);
	evault_buf_dispose(&b);
	return same;
}

static int load_close_at(close_rec *r, git_repository *git, git_tree *mission, const char *mid)
{
	evault_buf text = EVAULT_BUF_INIT;
	int rc = blob_at(&text, git, mission, "CLOSE");
	if (rc == 0)
		rc = close_parse(r, mid, text.ptr, text.size);
	evault_buf_dispose(&text);
	return rc;
}

/* The mission-level entries an event changed are exactly those named (NULL-terminated). */
static bool changes_exactly(const delta *d, const char *const *names)
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

static int check_codes_mark(verifier *v, git_tree *pt, git_tree *ct, const delta *top,
			    const user_rec *u)
{
	git_tree *pm = NULL, *cm = NULL, *pk = NULL, *ck = NULL;
	delta d, k;
	mission_rec m;
	char fid[40], how[16];
	evault_buf path = EVAULT_BUF_INIT, blob = EVAULT_BUF_INIT;
	int r = mission_change(v, top, &pm, &cm, &d);
	memset(&m, 0, sizeof(m));
	(void)ct;
	if (r)
		goto done;
	if (trailer_get(fid, sizeof(fid), v->message, "Evault-File") < 0 || strlen(fid) != 32 ||
	    !is_hex(fid, 32) || trailer_get(how, sizeof(how), v->message, "Evault-Mark") < 0 ||
	    (strcmp(how, "rotated") && strcmp(how, "reported"))) {
		r = bad(v, "codes.mark without a valid Evault-File and Evault-Mark");
		goto done;
	}
	if (!pm || load_mission(&m, v->git, pt, v->mission) < 0 || strcmp(m.status, "open") != 0) {
		r = bad(v, "codes.mark on mission %s, which is not open", v->mission);
		goto done;
	}
	if (!(u->role == EVAULT_ROLE_ADMIN ||
	      (u->role == EVAULT_ROLE_TECHNICIAN && mission_is_member(&m, v->actor)))) {
		r = bad(v, "codes.mark by %s, who is not a member of %s", v->actor, v->mission);
		goto done;
	}
	if (layout_file_path(&path, v->mission, EVAULT_CLASS_CODES, fid, ".enc") < 0 ||
	    blob_at(&blob, v->git, pt, path.ptr) != 0) {
		r = bad(v, "codes.mark of %s, which is no live codes entry of %s", fid, v->mission);
		goto done;
	}
	static const char *const marks_only[] = {"marks", NULL};
	char want[64];
	snprintf(want, sizeof(want), "%s.enc", fid);
	if (changes_exactly(&d, marks_only)) {
		pk = change_tree(v->git, d.c[0].old);
		ck = change_tree(v->git, d.c[0].new);
		tree_delta(&k, pk, ck);
	}
	if (!ck || k.more || k.n != 1 || !is_blob(k.c[0].new) ||
	    strcmp(git_tree_entry_name(k.c[0].new), want) != 0)
		r = bad(v, "codes.mark must write exactly missions/%s/marks/%s", v->mission, want);
done:
	mission_rec_clear(&m);
	git_tree_free(pm);
	git_tree_free(cm);
	git_tree_free(pk);
	git_tree_free(ck);
	evault_buf_dispose(&path);
	evault_buf_dispose(&blob);
	return r;
}

/* The policy in force in a state (verify: the parent's). */
static int policy_at(policy *p, git_repository *git, git_tree *t)
{
	evault_buf text = EVAULT_BUF_INIT;
	int rc = blob_at(&text, git, t, POLICY_PATH);
	if (rc == 0)
		rc = policy_parse(p, text.ptr, text.size);
	evault_buf_dispose(&text);
	return rc;
}

/* mission.closing: status open -> closing and the pending record, nothing else. */
static int check_closing(verifier *v, git_tree *pt, git_tree *ct, const delta *top)
{
	git_tree *pm = NULL, *cm = NULL;
	delta d;
	mission_rec o, n;
	close_rec rec;
	fidlist work = {0}, codes = {0}, dossier = {0};
	evault_buf blob = EVAULT_BUF_INIT;
	int r = mission_change(v, top, &pm, &cm, &d);
	memset(&o, 0, sizeof(o));
	memset(&n, 0, sizeof(n));
	memset(&rec, 0, sizeof(rec));
	if (r)
		goto done;
	static const char *const names[] = {"MISSION", "CLOSE", NULL};
	if (!pm || !changes_exactly(&d, names)) {
		r = bad(v, "mission.closing may change only the MISSION record and add CLOSE");
		goto done;
	}
	if (load_mission(&o, v->git, pt, v->mission) < 0 ||
	    load_mission(&n, v->git, ct, v->mission) < 0 ||
	    load_close_at(&rec, v->git, cm, v->mission) < 0) {
		r = bad(v, "mission.closing: a MISSION or CLOSE record is not valid");
		goto done;
	}
	if (strcmp(o.status, "open") != 0 || strcmp(n.status, "closing") != 0 || n.closed ||
	    !mission_same_but_status(&o, &n)) {
		r = bad(v,
			"mission.closing must turn an open mission into a closing one and change "
			"nothing else in its record");
		goto done;
	}
	if (class_fids(&work, v->git, pm, "work") < 0 ||
	    class_fids(&codes, v->git, pm, "codes") < 0 ||
	    class_fids(&dossier, v->git, pm, "dossier") < 0) {
		r = bad(v, "mission.closing: the mission's files are not laid out as they must be");
		goto done;
	}
	if (rec.done || strcmp(rec.by, v->actor) != 0 ||
	    strcmp(rec.work.fp, mission_fp(&o, EVAULT_CLASS_WORK)) ||
	    strcmp(rec.codes.fp, mission_fp(&o, EVAULT_CLASS_CODES)) || rec.work.files != work.n ||
	    rec.codes.files != codes.n || rec.kept_files != dossier.n) {
		r = bad(v, "mission.closing: the erasure record disagrees with the mission (keys, "
			   "counts or author)");
		goto done;
	}
	/* every codes entry marked rotated or reported, and recorded so */
	bool ok = rec.ncode == codes.n;
	for (size_t i = 0; ok && i < codes.n; i++) {
		char path[128];
		snprintf(path, sizeof(path), "marks/%s.enc", codes.fid[i]);
		bool listed = false, damaged = false;
		for (size_t j = 0; j < rec.ncode && !listed; j++)
			if ((listed = strcmp(rec.code[j].fid, codes.fid[i]) == 0))
				damaged = strcmp(rec.code[j].how, "damaged") == 0;
		/* an entry the closer found damaged (its manifest does not open)
		 * has no mark: the closer's signature answers for it */
		ok = listed && (damaged || blob_at(&blob, v->git, pm, path) == 0);
	}
	if (!ok)
		r = bad(v,
			"mission.closing while a codes entry of %s is neither marked rotated nor "
			"reported",
			v->mission);
done:
	free(work.fid);
	free(codes.fid);
	free(dossier.fid);
	close_rec_clear(&rec);
	mission_rec_clear(&o);
	mission_rec_clear(&n);
	git_tree_free(pm);
	git_tree_free(cm);
	evault_buf_dispose(&blob);
	return r;
}

static bool same_erasure(const close_rec *a, const close_rec *b)
{
	if (strcmp(a->by, b->by) || a->started != b->started || a->ncode != b->ncode ||
	    memcmp(&a->work, &b->work, sizeof(a->work)) ||
	    memcmp(&a->codes, &b->codes, sizeof(a->codes)))
		return false;
	for (size_t i = 0; i < a->ncode; i++)
		if (strcmp(a->code[i].fid, b->code[i].fid) ||
		    strcmp(a->code[i].how, b->code[i].how))
			return false;
	return true;
}

/* mission.close: closing -> closed; work and codes leave the state; the record is
 * completed; the certificate, and only it, enters the dossier. */
static int check_close(verifier *v, git_tree *pt, git_tree *ct, const delta *top)
{
	git_tree *pm = NULL, *cm = NULL;
	delta d;
	mission_rec o, n;
	close_rec po, pn;
	fidlist dossier = {0};
	char cert[40];
	int r = mission_change(v, top, &pm, &cm, &d);
	memset(&o, 0, sizeof(o));
	memset(&n, 0, sizeof(n));
	memset(&po, 0, sizeof(po));
	memset(&pn, 0, sizeof(pn));
	if (r)
		goto done;
	if (!pm || load_mission(&o, v->git, pt, v->mission) < 0 ||
	    load_mission(&n, v->git, ct, v->mission) < 0 ||
	    load_close_at(&po, v->git, pm, v->mission) < 0 ||
	    load_close_at(&pn, v->git, cm, v->mission) < 0) {
		r = bad(v, "mission.close: a MISSION or CLOSE record is missing or not valid");
		goto done;
	}
	if (strcmp(o.status, "closing") != 0 || strcmp(n.status, "closed") != 0 ||
	    !mission_same_but_status(&o, &n) || n.closed != pn.closed ||
	    n.retain_until != pn.retain_until) {
		r = bad(v, "mission.close must turn a closing mission into a closed one, its dates "
			   "those of the erasure record");
		goto done;
	}
	policy pol;
	if (policy_at(&pol, v->git, pt) < 0 ||
	    pn.retain_until != policy_retain_until(pn.closed, pol.retention_years)) {
		r = bad(v, "mission.close: the dossier's retention date is not the close date plus "
			   "the %u years the policy in force says",
			pol.retention_years);
		goto done;
	}
	if (!pn.done || po.done || !same_erasure(&po, &pn) ||
	    trailer_get(cert, sizeof(cert), v->message, "Evault-Certificate") < 0 ||
	    strcmp(cert, pn.certificate) != 0) {
		r = bad(v, "mission.close: the erasure record is not the completed pending one");
		goto done;
	}
	/* what changed: MISSION, CLOSE, the dossier (certificate), work and codes (removed) */
	for (size_t i = 0; i < d.n && !d.more; i++) {
		const char *name = change_name(&d.c[i]);
		bool ok =
		    strcmp(name, "MISSION") == 0 || strcmp(name, "CLOSE") == 0 ||
		    strcmp(name, "dossier") == 0 ||
		    ((strcmp(name, "work") == 0 || strcmp(name, "codes") == 0) && !d.c[i].new);
		if (!ok) {
			r = bad(v, "mission.close may not change missions/%s/%s this way",
				v->mission, name);
			goto done;
		}
	}
	git_tree_entry *w = NULL;
	bool left = git_tree_entry_bypath(&w, cm, "work") == 0 ||
		    git_tree_entry_bypath(&w, cm, "codes") == 0;
	git_tree_entry_free(w);
	if (d.more || left) {
		r = bad(v, "mission.close leaves work or codes files in %s", v->mission);
		goto done;
	}
	/* the certificate's entries, and nothing else, added to the dossier */
	const git_tree_entry *od = NULL, *nd = NULL;
	for (size_t i = 0; i < d.n; i++)
		if (strcmp(change_name(&d.c[i]), "dossier") == 0) {
			od = d.c[i].old;
			nd = d.c[i].new;
		}
	fid_t certfid[1];
	snprintf(certfid[0], sizeof(certfid[0]), "%s", pn.certificate);
	change dc = {od, nd};
	if (!nd || !class_change_ok(v, &dc, certfid, 1, NULL, 0)) {
		r = bad(v, "mission.close must add exactly the certificate %s to the dossier",
			pn.certificate);
		goto done;
	}
	/* a fingerprint for every kept file, and only for them */
	if (class_fids(&dossier, v->git, pm, "dossier") < 0 || dossier.n != pn.nkept) {
		r = bad(v, "mission.close: the kept files are not those of the dossier");
		goto done;
	}
	for (size_t i = 0; i < pn.nkept; i++)
		if (!fidlist_has(&dossier, pn.kept[i].fid)) {
			r = bad(v, "mission.close: the kept files are not those of the dossier");
			goto done;
		}
done:
	free(dossier.fid);
	close_rec_clear(&po);
	close_rec_clear(&pn);
	mission_rec_clear(&o);
	mission_rec_clear(&n);
	git_tree_free(pm);
	git_tree_free(cm);
	return r;
}

/* mission.expiring: a closed mission whose retention date has passed. */
static int check_expiring(verifier *v, git_commit *c, git_tree *pt, git_tree *ct, const delta *top)
{
	git_tree *pm = NULL, *cm = NULL;
	delta d;
	mission_rec o, n;
	int r = mission_change(v, top, &pm, &cm, &d);
	memset(&o, 0, sizeof(o));
	memset(&n, 0, sizeof(n));
	static const char *const names[] = {"MISSION", NULL};
	if (r)
		goto done;
	if (!pm || !changes_exactly(&d, names) || load_mission(&o, v->git, pt, v->mission) < 0 ||
	    load_mission(&n, v->git, ct, v->mission) < 0 || strcmp(o.status, "closed") != 0 ||
	    strcmp(n.status, "expiring") != 0 || !mission_same_but_status(&o, &n) ||
	    n.retain_until != o.retain_until) {
		r = bad(v, "mission.expiring must turn a closed mission into an expiring one and "
			   "change nothing else");
		goto done;
	}
	if (git_commit_time(c) + TIME_TOLERANCE < o.retain_until)
		r = bad(v, "mission.expiring of %s before its retention date", v->mission);
done:
	mission_rec_clear(&o);
	mission_rec_clear(&n);
	git_tree_free(pm);
	git_tree_free(cm);
	return r;
}

/* mission.expire: the dossier, its marks and info leave; the erasure record stays. */
static int check_expire(verifier *v, git_tree *pt, git_tree *ct, const delta *top)
{
	git_tree *pm = NULL, *cm = NULL;
	delta d;
	mission_rec o, n;
	int r = mission_change(v, top, &pm, &cm, &d);
	memset(&o, 0, sizeof(o));
	memset(&n, 0, sizeof(n));
	if (r)
		goto done;
	if (!pm || load_mission(&o, v->git, pt, v->mission) < 0 ||
	    load_mission(&n, v->git, ct, v->mission) < 0 || strcmp(o.status, "expiring") != 0 ||
	    strcmp(n.status, "expired") != 0 || !mission_same_but_status(&o, &n) ||
	    n.retain_until != o.retain_until || n.closed != o.closed) {
		r = bad(v, "mission.expire must turn an expiring mission into an expired one");
		goto done;
	}
	for (size_t i = 0; i < d.n && !d.more; i++) {
		const char *name = change_name(&d.c[i]);
		bool ok = strcmp(name, "MISSION") == 0 ||
			  ((strcmp(name, "dossier") == 0 || strcmp(name, "marks") == 0 ||
			    strcmp(name, "info.enc") == 0 || strcmp(name, "photos.enc") == 0) &&
			   !d.c[i].new);
		if (!ok) {
			r = bad(v, "mission.expire may not change missions/%s/%s this way",
				v->mission, name);
			goto done;
		}
	}
	git_tree_entry *e = NULL;
	bool left = git_tree_entry_bypath(&e, cm, "dossier") == 0;
	git_tree_entry_free(e);
	if (d.more || left)
		r = bad(v, "mission.expire leaves dossier files in %s", v->mission);
done:
	mission_rec_clear(&o);
	mission_rec_clear(&n);
	git_tree_free(pm);
	git_tree_free(cm);
	return r;
}

/* ---- content rules (content.c) ---- */

/* Members and admins act on a mission's content. */
static bool may_write(const user_rec *u, const mission_rec *m, const char *actor)
{
	return u->role == EVAULT_ROLE_ADMIN ||
	       (u->role == EVAULT_ROLE_TECHNICIAN && mission_is_member(m, actor));
}

/* mission.authorize-photos: MISSION's photo line no -> yes and photos.enc added. */
static int check_authorize_photos(verifier *v, git_tree *pt, git_tree *ct, const delta *top,
				  const user_rec *u)
{
	git_tree *pm = NULL, *cm = NULL;
	delta d;
	mission_rec o, n;
	static const char *const names[] = {"MISSION", "photos.enc", NULL};
	int r = mission_change(v, top, &pm, &cm, &d);
	memset(&o, 0, sizeof(o));
	memset(&n, 0, sizeof(n));
	if (r)
		goto done;
	if (!pm || load_mission(&o, v->git, pt, v->mission) < 0 ||
	    load_mission(&n, v->git, ct, v->mission) < 0) {
		r = bad(v, "mission.authorize-photos: a MISSION record is not valid");
		goto done;
	}
	if (u->role != EVAULT_ROLE_ADMIN || strcmp(o.status, "open") != 0) {
		r = bad(v, "mission.authorize-photos by %s on %s: only an admin records it, on an "
			   "open mission",
			v->actor, v->mission);
		goto done;
	}
	bool photos_new = false;
	for (size_t i = 0; i < d.n; i++)
		if (strcmp(change_name(&d.c[i]), "photos.enc") == 0)
			photos_new = !d.c[i].old && is_blob(d.c[i].new);
	mission_rec want = o;
	want.photo_authorised = true;
	evault_buf a = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT;
	bool same = !o.photo_authorised && mission_format(&a, &want) == 0 &&
		    mission_format(&b, &n) == 0 && a.size == b.size &&
		    memcmp(a.ptr, b.ptr, a.size) == 0;
	evault_buf_dispose(&a);
	evault_buf_dispose(&b);
	if (!same || !photos_new || !changes_exactly(&d, names))
		r = bad(v,
			"mission.authorize-photos must only turn photo-authorisation to yes "
			"and add missions/%s/photos.enc",
			v->mission);
done:
	mission_rec_clear(&o);
	mission_rec_clear(&n);
	git_tree_free(pm);
	git_tree_free(cm);
	return r;
}

/* content.refused: traced, no state change, by someone who could have written. */
static int check_refused(verifier *v, git_tree *pt, const delta *top, const user_rec *u)
{
	mission_rec m;
	char count[32];
	memset(&m, 0, sizeof(m));
	int r = 0;
	if (top->n || top->more)
		r = bad(v, "content.refused may not change the state");
	else if (trailer_get(count, sizeof(count), v->message, "Evault-Refused") < 0 ||
		 strtoull(count, NULL, 10) == 0)
		r = bad(v, "content.refused without a count of refused files");
	else if (load_mission(&m, v->git, pt, v->mission) < 0 || !may_write(u, &m, v->actor))
		r = bad(v, "content.refused by %s, who cannot write to %s", v->actor, v->mission);
	mission_rec_clear(&m);
	return r;
}

/* file.import: no state change; each listed file live in the class it names. */
static int check_import(verifier *v, git_tree *pt, const delta *top, const user_rec *u)
{
	mission_rec m;
	char cls[16], count[32];
	evault_class c;
	evault_buf path = EVAULT_BUF_INIT, blob = EVAULT_BUF_INIT;
	memset(&m, 0, sizeof(m));
	int r = 0;
	if (top->n || top->more) {
		r = bad(v, "file.import may not change the state");
		goto done;
	}
	if (trailer_get(cls, sizeof(cls), v->message, "Evault-Class") < 0 ||
	    evault_class_parse(&c, cls) < 0 ||
	    trailer_get(count, sizeof(count), v->message, "Evault-Imported") < 0) {
		r = bad(v, "file.import without a valid Evault-Class and Evault-Imported");
		goto done;
	}
	if (load_mission(&m, v->git, pt, v->mission) < 0 || strcmp(m.status, "open") != 0 ||
	    !may_write(u, &m, v->actor)) {
		r = bad(v, "file.import by %s, who cannot write to %s", v->actor, v->mission);
		goto done;
	}
	size_t n = 0;
	const char *key = "\nEvault-Import-File: ";
	for (const char *p = strstr(v->message, key); p; p = strstr(p + 1, key)) {
		char fid[LAYOUT_FID_LEN + 1];
		const char *f = p + strlen(key);
		if (strspn(f, "0123456789abcdef") != LAYOUT_FID_LEN ||
		    strncmp(f + LAYOUT_FID_LEN, " sha256:", 8) != 0 ||
		    strspn(f + LAYOUT_FID_LEN + 8, "0123456789abcdef") != 64) {
			r = bad(v, "file.import lists a file badly");
			goto done;
		}
		memcpy(fid, f, LAYOUT_FID_LEN);
		fid[LAYOUT_FID_LEN] = '\0';
		path.size = 0;
		if (layout_file_path(&path, v->mission, c, fid, ".enc") < 0 ||
		    blob_at(&blob, v->git, pt, path.ptr) != 0) {
			r = bad(v, "file.import lists %s, which is no live %s file of %s", fid, cls,
				v->mission);
			goto done;
		}
		n++;
	}
	if (n == 0 || n != strtoull(count, NULL, 10))
		r = bad(v, "file.import lists %zu files where Evault-Imported says %s", n, count);
done:
	mission_rec_clear(&m);
	evault_buf_dispose(&path);
	evault_buf_dispose(&blob);
	return r;
}

/* vault.policy: the POLICY record, and only it, changed to a valid policy. */
static int check_policy(verifier *v, git_tree *ct, const delta *top)
{
	policy p;
	char what[128];
	if (top->more || top->n != 1 || strcmp(change_name(&top->c[0]), POLICY_PATH) != 0 ||
	    !top->c[0].new || !is_blob(top->c[0].new) || policy_at(&p, v->git, ct) < 0 ||
	    trailer_get(what, sizeof(what), v->message, "Evault-Policy") < 0)
		return bad(v, "vault.policy must change the POLICY record, and only it, to a valid "
			      "policy");
	return 0;
}

static int check_root(verifier *v, git_tree *ct)
{
	evault_buf text = EVAULT_BUF_INIT;
	config cfg;
	char vid[64], user[64];
	user_rec u;
	delta d;
	git_tree *users = NULL;
	int r = 0;
	if (strcmp(v->action, "vault.init") != 0) {
		r = bad(v, "the root commit is not vault.init");
		goto done;
	}
	if (blob_at(&text, v->git, ct, "VAULT") < 0 ||
	    config_parse(&cfg, text.ptr, text.size) < 0) {
		r = bad(v, "the root commit has no valid VAULT record");
		goto done;
	}
	if (trailer_get(vid, sizeof(vid), v->message, "Evault-Vault") < 0 ||
	    strcmp(vid, cfg.vault_id_hex) != 0) {
		r = bad(v, "the root commit's Evault-Vault is not the VAULT record's id");
		goto done;
	}
	snprintf(v->res->vault_id, sizeof(v->res->vault_id), "%s", cfg.vault_id_hex);
	if (v->expected_vault && strcmp(v->expected_vault, cfg.vault_id_hex) != 0) {
		r = bad(v, "the history is of vault %s, evault.conf says %s", cfg.vault_id_hex,
			v->expected_vault);
		goto done;
	}
	policy pol;
	text.size = 0;
	if (blob_at(&text, v->git, ct, POLICY_PATH) < 0 ||
	    policy_parse(&pol, text.ptr, text.size) < 0) {
		r = bad(v, "the root commit has no valid POLICY record");
		goto done;
	}
	git_tree_entry *ue = NULL;
	if (git_tree_entry_bypath(&ue, ct, "users") == 0) {
		users = change_tree(v->git, ue);
		git_tree_entry_free(ue);
	}
	tree_delta(&d, NULL, users);
	if (git_tree_entrycount(ct) != 3 || !users || d.n != 1 ||
	    trailer_get(user, sizeof(user), v->message, "Evault-User") < 0 ||
	    strcmp(user, v->actor) != 0 || load_user(&u, v->git, ct, user) < 0 ||
	    u.role != EVAULT_ROLE_ADMIN) {
		r = bad(v, "the root commit must hold VAULT, POLICY and exactly one admin, its "
			   "actor");
		goto done;
	}
done:
	git_tree_free(users);
	evault_buf_dispose(&text);
	return r;
}

/* Invariant 4: the signature, from the header only, by the actor's key in state. */
static int check_signature(verifier *v, git_commit *c, const user_rec *u)
{
	git_buf hdr = GIT_BUF_INIT_CONST(NULL, 0), sig = GIT_BUF_INIT_CONST(NULL, 0),
		data = GIT_BUF_INIT_CONST(NULL, 0);
	uint8_t signer[SSH_ED25519_PK_LEN];
	int r = 0;
	git_oid id = *git_commit_id(c);
	if (git_commit_header_field(&hdr, c, "gpgsig") < 0) {
		r = bad(v, "the commit is not signed (no gpgsig header)");
		goto done;
	}
	if (git_commit_extract_signature(&sig, &data, v->git, &id, "gpgsig") < 0 ||
	    sig.size != hdr.size || memcmp(sig.ptr, hdr.ptr, hdr.size) != 0) {
		r = bad(v, "the signature is not where git looks for it (gpgsig header)");
		goto done;
	}
	if (sshsig_verify(signer, sig.ptr, sig.size, "git", data.ptr, data.size) < 0) {
		r = bad(v, "the signature does not verify (%s)", evault_error_last());
		goto done;
	}
	if (sodium_memcmp(signer, u->pk, sizeof(signer)) != 0) {
		r = bad(v, "signed by a key that is not %s's", v->actor);
		goto done;
	}
	if (v->pins) {
		bool listed = false;
		for (size_t i = 0; i < v->npins && !listed; i++)
			listed = strcmp(v->pins[i].name, v->actor) == 0 &&
				 sodium_memcmp(v->pins[i].pk, signer, sizeof(signer)) == 0;
		if (!listed)
			r = bad(v, "%s's signing key is not the one the allowed signers given list",
				v->actor);
	}
done:
	git_buf_dispose(&hdr);
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return r;
}

static int check_commit(verifier *v, git_commit *c, git_commit *parent)
{
	git_tree *ct = NULL, *pt = NULL;
	char seq[32];
	int r = 0;
	v->message = git_commit_message(c);
	v->mission[0] = '\0';
	if (trailer_get(seq, sizeof(seq), v->message, "Evault-Seq") < 0 ||
	    trailer_get(v->actor, sizeof(v->actor), v->message, "Evault-Actor") < 0 ||
	    trailer_get(v->action, sizeof(v->action), v->message, "Evault-Action") < 0 ||
	    !user_name_valid(v->actor))
		return bad(v, "the commit lacks Evault-Seq, Evault-Actor or Evault-Action");
	char *end;
	errno = 0;
	uint64_t s = strtoull(seq, &end, 10);
	if (*end || !*seq || errno)
		return bad(v, "Evault-Seq is not a number");
	uint64_t want = 0;
	if (parent) {
		char ps[32];
		if (trailer_get(ps, sizeof(ps), git_commit_message(parent), "Evault-Seq") == 0)
			want = strtoull(ps, NULL, 10) + 1;
	}
	if (s != want)
		return bad(v, "Evault-Seq is %llu where %llu follows", (unsigned long long)s,
			   (unsigned long long)want);
	if (parent && git_commit_time(c) + TIME_TOLERANCE < git_commit_time(parent))
		return bad(v, "commit time goes back %lld s, more than the %d s tolerated",
			   (long long)(git_commit_time(parent) - git_commit_time(c)),
			   TIME_TOLERANCE);
	if (git_commit_time(c) > v->now + TIME_TOLERANCE)
		return bad(v, "dated %lld s after the time of verification: a clock was wrong",
			   (long long)(git_commit_time(c) - v->now));
	if (commit_tree(&ct, v->git, c) < 0 || (parent && commit_tree(&pt, v->git, parent) < 0)) {
		r = bad(v, "the commit's tree is unreadable");
		goto done;
	}
	/* the actor's record in the state the commit was made on (the root: its own) */
	user_rec actor;
	if (load_user(&actor, v->git, parent ? pt : ct, v->actor) < 0) {
		r = bad(v, "actor %s is not a user of the vault at that point", v->actor);
		goto done;
	}
	if ((r = check_signature(v, c, &actor)) != 0)
		goto done;
	if (!parent) {
		r = check_root(v, ct);
		goto done;
	}
	/* invariant 5: an active user whose role allows the action */
	if (strcmp(actor.status, "active") != 0) {
		r = bad(v, "actor %s is not an active user at that point", v->actor);
		goto done;
	}
	bool admin_only =
	    strcmp(v->action, "user.add") == 0 || strcmp(v->action, "mission.create") == 0 ||
	    strcmp(v->action, "mission.grant") == 0 || strcmp(v->action, "mission.revoke") == 0 ||
	    strcmp(v->action, "mission.closing") == 0 || strcmp(v->action, "mission.close") == 0 ||
	    strcmp(v->action, "mission.expiring") == 0 ||
	    strcmp(v->action, "mission.expire") == 0 || strcmp(v->action, "retention.run") == 0 ||
	    strcmp(v->action, "vault.policy") == 0 || strcmp(v->action, "user.disable") == 0;
	if (admin_only && actor.role != EVAULT_ROLE_ADMIN) {
		r = bad(v, "%s by %s, a %s: only admins may", v->action, v->actor,
			evault_role_name(actor.role));
		goto done;
	}
	bool mission_event =
	    strncmp(v->action, "mission.", 8) == 0 || strncmp(v->action, "file.", 5) == 0 ||
	    strcmp(v->action, "codes.mark") == 0 || strcmp(v->action, "content.refused") == 0;
	if (mission_event &&
	    (trailer_get(v->mission, sizeof(v->mission), v->message, "Evault-Mission") < 0 ||
	     !mission_id_valid(v->mission))) {
		r = bad(v, "%s without a valid Evault-Mission", v->action);
		goto done;
	}
	/* invariant 6 */
	delta top;
	tree_delta(&top, pt, ct);
	if (strcmp(v->action, "user.add") == 0)
		r = check_user_add(v, pt, ct, &top);
	else if (strcmp(v->action, "user.disable") == 0)
		r = check_user_disable(v, pt, ct, &top);
	else if (strcmp(v->action, "mission.create") == 0)
		r = check_mission_create(v, pt, ct, &top);
	else if (strcmp(v->action, "mission.grant") == 0 ||
		 strcmp(v->action, "mission.revoke") == 0)
		r = check_membership(v, pt, ct, &top);
	else if (strcmp(v->action, "file.add") == 0 || strcmp(v->action, "file.replace") == 0 ||
		 strcmp(v->action, "file.remove") == 0)
		r = check_file_event(v, pt, ct, &top, &actor);
	else if (strcmp(v->action, "file.commit") == 0)
		r = check_file_commit(v, pt, ct, &top, &actor);
	else if (strcmp(v->action, "codes.mark") == 0)
		r = check_codes_mark(v, pt, ct, &top, &actor);
	else if (strcmp(v->action, "mission.closing") == 0)
		r = check_closing(v, pt, ct, &top);
	else if (strcmp(v->action, "mission.close") == 0)
		r = check_close(v, pt, ct, &top);
	else if (strcmp(v->action, "mission.expiring") == 0)
		r = check_expiring(v, c, pt, ct, &top);
	else if (strcmp(v->action, "mission.expire") == 0)
		r = check_expire(v, pt, ct, &top);
	else if (strcmp(v->action, "mission.authorize-photos") == 0)
		r = check_authorize_photos(v, pt, ct, &top, &actor);
	else if (strcmp(v->action, "content.refused") == 0)
		r = check_refused(v, pt, &top, &actor);
	else if (strcmp(v->action, "file.import") == 0)
		r = check_import(v, pt, &top, &actor);
	else if (strcmp(v->action, "retention.run") == 0)
		r = top.n || top.more ? bad(v, "retention.run may not change the state") : 0;
	else if (strcmp(v->action, "vault.policy") == 0)
		r = check_policy(v, ct, &top);
	else if (strcmp(v->action, "vault.init") == 0)
		r = bad(v, "vault.init is only allowed as the root commit");
	else
		r = bad(v, "unknown action %.40s", v->action);
done:
	git_tree_free(ct);
	git_tree_free(pt);
	return r;
}

/*
 * Parses an allowed-signers file: "principal[,principal...] [options]
 * ssh-ed25519 BASE64 [comment]" per line; other key types are skipped.
 * The only option understood is namespaces="git" (what evault writes);
 * any other (valid-before, valid-after, cert-authority, …) would change
 * which signatures count, so a line that has one is refused, not read
 * without it.
 */
static int parse_signers(pinned **out, size_t *n, const char *text, size_t len)
{
	*out = NULL;
	*n = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[1024];
		if (ll < sizeof(line) && ll > 0 && p[0] != '#') {
			memcpy(line, p, ll);
			line[ll] = '\0';
			char *key = strstr(line, " ssh-ed25519 ");
			uint8_t pk[SSH_ED25519_PK_LEN];
			char *sp = strchr(line, ' ');
			if (key && sp && sp < key) { /* options between the principals and the key */
				size_t ol = (size_t)(key - sp - 1);
				static const char ns[] = "namespaces=\"git\"";
				if (ol && !(ol == sizeof(ns) - 1 && memcmp(sp + 1, ns, ol) == 0)) {
					free(*out);
					*out = NULL;
					*n = 0;
					return evault_error_set(EVAULT_EINVAL,
								"allowed signers: options other than "
								"namespaces=\"git\" are not supported "
								"(%.*s): remove them or the line",
								(int)(ol > 60 ? 60 : ol), sp + 1);
				}
			}
			if (key && sshkey_parse_public(pk, key + 1) == 0) {
				*sp = '\0';
				for (char *name = strtok(line, ","); name;
				     name = strtok(NULL, ",")) {
					if (!user_name_valid(name))
						continue;
					pinned *np = realloc(*out, (*n + 1) * sizeof(**out));
					if (!np)
						return error_oom();
					*out = np;
					snprintf(np[*n].name, sizeof(np[*n].name), "%s", name);
					memcpy(np[*n].pk, pk, sizeof(pk));
					(*n)++;
				}
			}
		}
		p += ll + 1;
	}
	evault_error_clear();
	if (*n == 0)
		return evault_error_set(EVAULT_EINVAL,
					"no ssh-ed25519 key in the allowed signers given");
	return 0;
}

/*
 * The walk: one engine for audit verify and for the trusted head (trust.h).
 *
 * The calling thread walks head -> root (or -> since, a commit verified
 * before, which is not checked again), reading each commit once to find
 * its parent, and hands the commits out in batches of WALK_BATCH. Each
 * commit is checked against its parent (check_commit; the rules need
 * nothing but the two commits, so commits are independent) by a worker
 * thread with its own repository handle and object cache, or by the
 * calling thread itself for a walk that fits in one batch or with one
 * core. Batches are merged on the calling thread in walk order (newest
 * first), a failure replacing the one before it, so the failure kept is
 * the oldest: the first bad commit, with the message a single thread
 * would give. At most WALK_SLOTS_PER_WORKER batches per worker are in
 * flight (pipeline.h), so memory does not grow with the history.
 */
#define WALK_BATCH 32
#define WALK_SLOTS_PER_WORKER 4
#define WALK_MAX_WORKERS 8

enum { ITEM_CHECK, ITEM_MERGE, ITEM_NO_PARENT };

typedef struct walk_item {
	git_oid id, parent;
	int kind;
	bool has_parent;
	/* the verdict, filled by the worker */
	bool failed;
	char vault_id[33];
	char bad_commit[41];
	char reason[512];
} walk_item;

typedef struct walk_batch {
	size_t n;
	walk_item it[WALK_BATCH];
} walk_batch;

typedef struct walk_worker {
	git_repository *git; /* the worker's own handle */
	gitcache *cache;
} walk_worker;

typedef struct walk_state {
	const verifier *proto; /* what every check shares: pins, vault, now */
	git_repository *git;   /* the calling thread's handle */
	const git_oid *since;
	git_commit *next; /* the next commit to hand out; NULL: the walk is over */
	bool met;         /* since was reached */
	bool failed;
	evault_verify_result *res;
	walk_batch *first; /* produced before choosing how many threads */
} walk_state;

/* The next commits of the walk into b; b->n == 0 when it is over. */
static void walk_produce(walk_state *w, walk_batch *b)
{
	b->n = 0;
	while (b->n < WALK_BATCH && w->next) {
		git_commit *c = w->next, *parent = NULL;
		if (w->since && git_oid_equal(git_commit_id(c), w->since)) {
			w->met = true;
			git_commit_free(c);
			w->next = NULL;
			break;
		}
		walk_item *it = &b->it[b->n++];
		unsigned np = git_commit_parentcount(c);
		git_object *po = NULL;
		it->id = *git_commit_id(c);
		it->has_parent = false;
		if (np > 1) {
			it->kind = ITEM_MERGE;
		} else if (np == 1 && gitcache_lookup(&po, w->git, git_commit_parent_id(c, 0),
						      GIT_OBJECT_COMMIT) < 0) {
			it->kind = ITEM_NO_PARENT;
		} else {
			parent = (git_commit *)po;
			it->kind = ITEM_CHECK;
			it->has_parent = np == 1;
			if (parent)
				it->parent = *git_commit_id(parent);
		}
		w->res->events++;
		w->res->first_time = git_commit_time(c);
		git_commit_free(c);
		w->next = parent; /* NULL: root, merge or unreadable parent; the walk ends */
	}
}

/* Checks one commit on the calling thread with ww's handle and cache. */
static void walk_check(const verifier *proto, walk_worker *ww, walk_item *it)
{
	verifier v = *proto;
	evault_verify_result scratch;
	git_object *c = NULL, *p = NULL;
	scratch.vault_id[0] = scratch.bad_commit[0] = scratch.reason[0] = '\0';
	v.git = ww->git;
	v.res = &scratch;
	v.failed = false;
	v.id = &it->id;
	if (it->kind == ITEM_MERGE)
		bad(&v, "a merge commit: the history must be linear");
	else if (it->kind == ITEM_NO_PARENT ||
		 (it->has_parent && gitcache_lookup(&p, v.git, &it->parent, GIT_OBJECT_COMMIT) < 0))
		bad(&v, "the parent commit is missing or unreadable");
	else if (gitcache_lookup(&c, v.git, &it->id, GIT_OBJECT_COMMIT) < 0)
		bad(&v, "the commit is unreadable");
	else
		check_commit(&v, (git_commit *)c, (git_commit *)p);
	git_object_free(c);
	git_object_free(p);
	it->failed = v.failed;
	memcpy(it->vault_id, scratch.vault_id, sizeof(it->vault_id));
	if (v.failed) {
		memcpy(it->bad_commit, scratch.bad_commit, sizeof(it->bad_commit));
		memcpy(it->reason, scratch.reason, sizeof(it->reason));
	}
}

/* In walk order: a later (older) failure replaces an earlier one. */
static void walk_merge(walk_state *w, const walk_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const walk_item *it = &b->it[i];
		if (it->vault_id[0])
			memcpy(w->res->vault_id, it->vault_id, sizeof(w->res->vault_id));
		if (it->failed) {
			w->failed = true;
			memcpy(w->res->bad_commit, it->bad_commit, sizeof(w->res->bad_commit));
			memcpy(w->res->reason, it->reason, sizeof(w->res->reason));
		}
	}
}

static int walk_produce_op(void *ctx, size_t index, void *slot)
{
	walk_state *w = ctx;
	if (index == 0)
		memcpy(slot, w->first, sizeof(*w->first));
	else
		walk_produce(w, slot);
	return ((walk_batch *)slot)->n > 0;
}

static int walk_work_op(void *ctx, size_t index, void *slot, void *worker)
{
	walk_state *w = ctx;
	walk_batch *b = slot;
	walk_worker *ww = worker;
	gitcache_bind(ww->cache);
	for (size_t i = 0; i < b->n; i++)
		walk_check(w->proto, ww, &b->it[i]);
	gitcache_bind(NULL);
	return 0;
}

static int walk_consume_op(void *ctx, size_t index, void *slot)
{
	walk_merge(ctx, slot);
	return 0;
}

/* Worker threads: EVAULT_THREADS or the online cores, at most 8. */
static size_t walk_workers(void)
{
	size_t n = pipeline_default_workers();
	return n > WALK_MAX_WORKERS ? WALK_MAX_WORKERS : n;
}

/* The rest of the walk (w->first produced, more to come) on n workers.
 * 0 done, 1 not started (no handle or memory: the caller goes on alone),
 * <0 error. */
static int walk_parallel(walk_state *w, size_t n)
{
	static const pipeline_ops ops = {walk_produce_op, walk_work_op, walk_consume_op};
	size_t nslots = n * WALK_SLOTS_PER_WORKER;
	walk_worker *ww = calloc(n, sizeof(*ww));
	void **workers = calloc(n, sizeof(*workers));
	void **slots = calloc(nslots, sizeof(*slots));
	walk_batch *batches = calloc(nslots, sizeof(*batches));
	int rc = 1;
	size_t opened = 0;
	if (!ww || !workers || !slots || !batches)
		goto done;
	for (; opened < n; opened++) {
		if (git_repository_open_bare(&ww[opened].git, git_repository_path(w->git)) < 0)
			goto done;
		if (gitcache_new(&ww[opened].cache, ww[opened].git) < 0) {
			git_repository_free(ww[opened].git);
			goto done;
		}
		workers[opened] = &ww[opened];
	}
	for (size_t i = 0; i < nslots; i++)
		slots[i] = &batches[i];
	rc = pipeline_run(&ops, w, slots, nslots, workers, n);
done:
	for (size_t i = 0; i < opened; i++) {
		gitcache_free(ww[i].cache);
		git_repository_free(ww[i].git);
	}
	if (rc > 0)
		evault_error_clear();
	free(batches);
	free(slots);
	free(workers);
	free(ww);
	return rc;
}

/*
 * Verifies head -> root (or -> since); fills res. 0 ran (res->ok says),
 * <0 could not run. A walk that reaches the root without meeting since
 * fails: the history no longer contains what was verified.
 */
static int verify_chain(git_repository *git, const git_oid *head, const git_oid *since,
			const char *expected_vault, const pinned *pins, size_t npins,
			evault_verify_result *res)
{
	verifier v;
	walk_state w;
	walk_worker self = {git, NULL};
	walk_batch *b = NULL;
	git_commit *c = NULL;
	int rc = 0;
	memset(&v, 0, sizeof(v));
	v.git = git;
	v.pins = pins;
	v.npins = npins;
	v.expected_vault = expected_vault;
	v.now = (int64_t)time(NULL);
	v.res = res;
	git_oid_tostr(res->head, sizeof(res->head), head);
	if (git_commit_lookup(&c, git, head) < 0)
		return git_fail("cannot read the history head");
	char seq[32];
	if (trailer_get(seq, sizeof(seq), git_commit_message(c), "Evault-Seq") == 0)
		res->seq = strtoull(seq, NULL, 10);
	res->last_time = git_commit_time(c);
	memset(&w, 0, sizeof(w));
	w.proto = &v;
	w.git = git;
	w.since = since;
	w.next = c;
	w.res = res;
	if (!(b = malloc(sizeof(*b))) || (rc = gitcache_new(&self.cache, git)) < 0) {
		rc = b ? rc : error_oom();
		goto done;
	}
	w.first = b;
	/* this thread's cache: with one thread, the commits the walk reads
	 * are the ones checked next */
	gitcache_bind(self.cache);
	walk_produce(&w, b);
	size_t n = w.next ? walk_workers() : 1;
	if (n > 1 && (rc = walk_parallel(&w, n)) <= 0)
		goto done;
	rc = 0;
	/* one thread: this one, batch after batch */
	while (b->n > 0) {
		for (size_t i = 0; i < b->n; i++)
			walk_check(&v, &self, &b->it[i]);
		walk_merge(&w, b);
		walk_produce(&w, b);
	}
done:
	gitcache_bind(NULL);
	git_commit_free(w.next);
	gitcache_free(self.cache);
	free(b);
	if (rc < 0)
		return rc;
	v.failed = w.failed;
	if (since && !w.met && !v.failed) {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), since);
		v.id = head;
		bad(&v,
		    "the history no longer contains the head verified before (%.12s): "
		    "rewritten or rolled back",
		    hex);
	}
	res->ok = !v.failed;
	return 0;
}

/* ---- object checks (keyless) ---- */

typedef struct objs_ctx {
	evault_repo *repo;
	evault_verify_result *res;
	bool failed;
} objs_ctx;

/* Is where/name a class whose objects a close (work, codes) or an expiry
 * (dossier) under way is deleting? */
static bool erasing_class(git_repository *git, git_tree *tree, const char *where, const char *name)
{
	char mid[EVAULT_MID_MAX + 1];
	int used = 0;
	if (sscanf(where, "missions/%64[^/]/%n", mid, &used) != 1 || where[used])
		return false;
	bool closing_class = strcmp(name, "work") == 0 || strcmp(name, "codes") == 0;
	if (!closing_class && strcmp(name, "dossier") != 0)
		return false;
	evault_buf text = EVAULT_BUF_INIT;
	mission_rec m;
	bool yes = false;
	if (blob_at(&text, git, tree, "MISSION") == 0 &&
	    mission_parse(&m, mid, text.ptr, text.size) == 0) {
		yes = strcmp(m.status, closing_class ? "closing" : "expiring") == 0;
		mission_rec_clear(&m);
	}
	evault_error_clear();
	evault_buf_dispose(&text);
	return yes;
}

static int check_objects_in(objs_ctx *o, git_repository *git, git_tree *tree, const char *where)
{
	size_t n = git_tree_entrycount(tree);
	evault_buf obj = EVAULT_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0 && !o->failed; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			git_tree *sub = NULL;
			char path[1024];
			if (erasing_class(git, tree, where, name))
				continue; /* a close under way deletes these objects */
			snprintf(path, sizeof(path), "%s%s/", where, name);
			if (git_tree_lookup(&sub, git, git_tree_entry_id(e)) < 0)
				return git_fail("cannot read the state");
			rc = check_objects_in(o, git, sub, path);
			git_tree_free(sub);
			continue;
		}
		size_t nl = strlen(name);
		if (nl < 5 || strcmp(name + nl - 5, ".objs") != 0)
			continue;
		git_blob *b = NULL;
		if (git_blob_lookup(&b, git, git_tree_entry_id(e)) < 0)
			return git_fail("cannot read an object list");
		const char *p = git_blob_rawcontent(b);
		size_t len = (size_t)git_blob_rawsize(b);
		for (size_t off = 0; off + 65 <= len && !o->failed; off += 65) {
			uint8_t id[OBJECT_ID_LEN], actual[OBJECT_ID_LEN];
			if (p[off + 64] != '\n' || hex_decode(id, sizeof(id), p + off, 64) < 0) {
				snprintf(o->res->reason, sizeof(o->res->reason),
					 "%s%s is not a list of object names", where, name);
				o->failed = true;
				break;
			}
			int g = o->repo->objects->ops->get(o->repo->objects, id, &obj, 64u << 20);
			if (g == 0)
				g = object_hash(actual, obj.ptr, obj.size);
			if (g < 0 || sodium_memcmp(actual, id, sizeof(id)) != 0) {
				snprintf(o->res->reason, sizeof(o->res->reason),
					 "object %.64s of %s%s is %s", p + off, where, name,
					 g == EVAULT_ENOTFOUND ? "missing"
					 : g < 0               ? "unreadable"
						 : "corrupt (does not hash to its name)");
				o->failed = true;
				break;
			}
			o->res->objects++;
		}
		if (!o->failed && len % 65 != 0) {
			snprintf(o->res->reason, sizeof(o->res->reason),
				 "%s%s is not a list of object names", where, name);
			o->failed = true;
		}
		git_blob_free(b);
	}
	evault_buf_dispose(&obj);
	return rc;
}

/* ---- rollback tripwires: reflog and the last verified head ---- */

static bool descends_or_equal(git_repository *git, const git_oid *head, const git_oid *old)
{
	git_commit *c = NULL;
	if (git_oid_equal(head, old))
		return true;
	/* the usual case, one event forward: O(1) instead of a graph search */
	if (git_commit_lookup(&c, git, head) == 0) {
		bool child = git_commit_parentcount(c) == 1 &&
			     git_oid_equal(git_commit_parent_id(c, 0), old);
		git_commit_free(c);
		if (child)
			return true;
	}
	return git_graph_descendant_of(git, head, old) == 1;
}

/*
 * Every move of main in the reflog must be a fast-forward, and the reflog
 * must end at the head. The file is read a line at a time (each line:
 * "<old> <new> <who> <time> <tz>\t<message>"): memory stays constant
 * whatever the history's length.
 */
static void check_reflog(git_repository *git, const git_oid *head, evault_verify_result *res)
{
	evault_buf path = EVAULT_BUF_INIT;
	char line[4096], last[GIT_OID_HEXSZ + 1] = "";
	bool any = false;
	if (evault_buf_printf(&path, "%s/logs/%s", git_repository_path(git), MAIN_REF) < 0)
		return;
	FILE *f = fopen(path.ptr, "r");
	evault_buf_dispose(&path);
	if (!f)
		return; /* no reflog: the last verified head and checkpoints remain */
	while (res->ok && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		bool whole = n > 0 && line[n - 1] == '\n';
		while (!whole && n == sizeof(line) - 1) { /* skip the rest of a long line */
			int ch;
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			whole = true;
		}
		git_oid o, nw;
		if (n < 82 || line[40] != ' ' || line[81] != ' ' ||
		    git_oid_fromstrn(&o, line, 40) < 0 ||
		    git_oid_fromstrn(&nw, line + 41, 40) < 0) {
			res->ok = false;
			snprintf(res->reason, sizeof(res->reason), "the reflog of main is damaged");
			break;
		}
		any = true;
		memcpy(last, line + 41, GIT_OID_HEXSZ);
		last[GIT_OID_HEXSZ] = '\0';
		if (!git_oid_is_zero(&o) && !descends_or_equal(git, &nw, &o)) {
			res->ok = false;
			snprintf(res->bad_commit, sizeof(res->bad_commit), "%s", last);
			snprintf(res->reason, sizeof(res->reason),
				 "the reflog shows main moved backwards or sideways (from %.12s to "
				 "%.12s): history rewritten",
				 line, last);
		}
	}
	fclose(f);
	git_oid end;
	if (res->ok && any && (git_oid_fromstr(&end, last) < 0 || !git_oid_equal(&end, head))) {
		res->ok = false;
		git_oid_tostr(res->bad_commit, sizeof(res->bad_commit), head);
		snprintf(res->reason, sizeof(res->reason),
			 "main was changed without a reflog entry (the reflog ends at %.12s)",
			 last);
	}
}

/*
 * What a verified history says was erased must be gone from the key store:
 * no copy of a closed mission's work or codes key, no dossier copy but the
 * admins' and its auditors', nothing at all once it expired.
 */
typedef struct keys_ctx {
	evault_repo *repo;
	git_repository *git;
	git_tree *head;
	evault_verify_result *res;
	size_t closing;
} keys_ctx;

static int key_user_cb(const char *user, void *p)
{
	return evault_buf_printf(p, "%s\n", user);
}

static int check_mission_keys(keys_ctx *k, const char *mid)
{
	mission_rec m;
	if (load_mission(&m, k->git, k->head, mid) < 0) {
		evault_error_clear();
		return 0; /* the chain's rules already judged the record */
	}
	bool closed = strcmp(m.status, "closed") == 0, expired = strcmp(m.status, "expired") == 0;
	if (strcmp(m.status, "closing") == 0 || strcmp(m.status, "expiring") == 0)
		k->closing++;
	for (int c = 0; c < EVAULT_CLASS_COUNT && k->res->ok; c++) {
		evault_buf n = EVAULT_BUF_INIT;
		int rc =
		    k->repo->keys->ops->list(k->repo->keys, mid, (evault_class)c, key_user_cb, &n);
		if (rc < 0) {
			evault_buf_dispose(&n);
			mission_rec_clear(&m);
			return rc;
		}
		for (char *u = n.ptr, *nl; u && *u && k->res->ok; u = nl + 1) {
			nl = strchr(u, '\n');
			*nl = '\0';
			user_rec ur;
			bool known = load_user(&ur, k->git, k->head, u) == 0;
			if (known && strcmp(ur.status, "active") != 0) {
				k->res->ok = false;
				k->res->bad_commit[0] = '\0';
				snprintf(k->res->reason, sizeof(k->res->reason),
					 "user %s is %s but still holds a copy of the %s key of %s "
					 "(keys/missions/%s/%s/%s.sealed)",
					 u, ur.status, evault_class_name((evault_class)c), mid, mid,
					 evault_class_name((evault_class)c), u);
				break;
			}
			bool admin = known && ur.role == EVAULT_ROLE_ADMIN;
			bool auditor = c == EVAULT_CLASS_DOSSIER && mission_is_auditor(&m, u);
			/* open: its members, auditors (dossier) and admins; closed: the
			 * dossier's auditors and admins; expired: nobody */
			bool keeps = closed || expired
					 ? c == EVAULT_CLASS_DOSSIER && closed && (auditor || admin)
					 : admin || auditor || mission_is_member(&m, u);
			if (!keeps) {
				k->res->ok = false;
				k->res->bad_commit[0] = '\0';
				snprintf(k->res->reason, sizeof(k->res->reason),
					 "mission %s is %s but %s still holds a copy of its %s key "
					 "(keys/missions/%s/%s/%s.sealed)%s",
					 mid, m.status, u, evault_class_name((evault_class)c), mid,
					 evault_class_name((evault_class)c), u,
					 closed || expired ? "" : ": not a member, an auditor or an admin");
			}
		}
		evault_error_clear();
		evault_buf_dispose(&n);
	}
	mission_rec_clear(&m);
	return 0;
}

static int check_erased_keys(evault_repo *repo, git_repository *git, const git_oid *head,
			     evault_verify_result *res, size_t *closing)
{
	git_commit *c = NULL;
	git_tree *t = NULL, *missions = NULL;
	git_tree_entry *e = NULL;
	int rc = 0;
	*closing = 0;
	if (git_commit_lookup(&c, git, head) < 0 || git_commit_tree(&t, c) < 0) {
		rc = git_fail("cannot read the head");
		goto done;
	}
	if (git_tree_entry_bypath(&e, t, "missions") == 0 && (missions = change_tree(git, e))) {
		keys_ctx k = {repo, git, t, res, 0};
		size_t n = git_tree_entrycount(missions);
		for (size_t i = 0; i < n && rc == 0 && res->ok; i++)
			rc = check_mission_keys(
			    &k, git_tree_entry_name(git_tree_entry_byindex(missions, i)));
		*closing = k.closing;
	}
done:
	git_tree_entry_free(e);
	git_tree_free(missions);
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

static void check_last_verified(evault_repo *repo, git_repository *git, const git_oid *head,
				evault_verify_result *res)
{
	evault_buf path = EVAULT_BUF_INIT, text = EVAULT_BUF_INIT;
	char hex[64], seq[32];
	git_oid old;
	if (evault_buf_printf(&path, "%s/%s", repo->path, VERIFIED_FILE) < 0 ||
	    file_read_all(&text, path.ptr, 4096) < 0)
		goto done;
	if (text_get(hex, sizeof(hex), text.ptr, text.size, "head") < 0 ||
	    text_get(seq, sizeof(seq), text.ptr, text.size, "seq") < 0 ||
	    git_oid_fromstr(&old, hex) < 0) {
		res->ok = false;
		snprintf(res->reason, sizeof(res->reason), "%s is damaged", VERIFIED_FILE);
		goto done;
	}
	if (!descends_or_equal(git, head, &old)) {
		res->ok = false;
		git_oid_tostr(res->bad_commit, sizeof(res->bad_commit), head);
		snprintf(res->reason, sizeof(res->reason),
			 "the history no longer contains the head verified before (seq %s, %.12s): "
			 "rewritten or rolled back",
			 seq, hex);
	}
done:
	evault_buf_dispose(&path);
	evault_buf_dispose(&text);
}

static void record_verified(evault_repo *repo, const evault_verify_result *res)
{
	evault_buf path = EVAULT_BUF_INIT, text = EVAULT_BUF_INIT;
	if (evault_buf_printf(&path, "%s/%s", repo->path, VERIFIED_FILE) == 0 &&
	    evault_buf_printf(&text, "seq %llu\nhead %s\n", (unsigned long long)res->seq,
			      res->head) == 0)
		file_write_atomic(path.ptr, text.ptr, text.size, 0644);
	evault_buf_dispose(&path);
	evault_buf_dispose(&text);
}

/* ---- checkpoints (C2SP signed note) ---- */

#define CP_ORIGIN "evault-vault/"
static const char em_dash[] = "\xe2\x80\x94";

/* C2SP signed-note key id for an Ed25519 key: SHA-256(name \n 0x01 pk)[:4]. */
static void note_key_id(uint8_t out[4], const char *name, const uint8_t pk[32])
{
	crypto_hash_sha256_state h;
	uint8_t d[32], t = 0x01;
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)name, strlen(name));
	crypto_hash_sha256_update(&h, (const uint8_t *)"\n", 1);
	crypto_hash_sha256_update(&h, &t, 1);
	crypto_hash_sha256_update(&h, pk, 32);
	crypto_hash_sha256_final(&h, d);
	memcpy(out, d, 4);
}

int evault_audit_checkpoint(evault_repo *repo, evault_buf *out)
{
	state *st = NULL;
	evault_buf body = EVAULT_BUF_INIT;
	git_oid head;
	int rc;
	if ((rc = repo_require_actor(repo)) < 0 || (rc = state_begin(&st, repo, false)) < 0)
		goto done;
	if (git_oid_fromstr(&head, state_head_hex(st)) < 0) {
		rc = evault_error_set(EVAULT_ECORRUPT, "no history head");
		goto done;
	}
	if ((rc = evault_buf_printf(&body, "%s%s\n%llu\n", CP_ORIGIN, repo->cfg.vault_id_hex,
				    (unsigned long long)state_seq(st))) < 0 ||
	    (rc = b64_encode(&body, head.id, GIT_OID_RAWSZ)) < 0 ||
	    (rc = evault_buf_printf(&body, "\ntime %lld\n", (long long)time(NULL))) < 0)
		goto done;
	uint8_t blob[4 + crypto_sign_BYTES];
	const uint8_t *pk = identity_public_key(repo->id);
	note_key_id(blob, repo->actor, pk);
	if ((rc = identity_sign_raw(blob + 4, repo->id, body.ptr, body.size)) < 0)
		goto done;
	if ((rc = evault_buf_put(out, body.ptr, body.size)) < 0 ||
	    (rc = evault_buf_printf(out, "\n%s %s ", em_dash, repo->actor)) < 0 ||
	    (rc = b64_encode(out, blob, sizeof(blob))) < 0 ||
	    (rc = evault_buf_put(out, "\n", 1)) < 0)
		goto done;
done:
	state_end(st);
	evault_buf_dispose(&body);
	return rc;
}

/* Checks a checkpoint against the history whose head is head. */
static void check_checkpoint(git_repository *git, const git_oid *head, const char *text, size_t len,
			     evault_verify_result *res)
{
	char *copy = malloc(len + 1);
	evault_buf hash = EVAULT_BUF_INIT, sigb = EVAULT_BUF_INIT;
	git_commit *cp = NULL;
	git_tree *tree = NULL;
	const char *why = NULL;
	if (!copy) {
		why = "out of memory";
		goto done;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	char *sep = strstr(copy, "\n\n");
	if (memchr(text, '\0', len) || !sep) {
		why = "not a signed note";
		goto done;
	}
	size_t bodylen = (size_t)(sep - copy) + 1;
	char origin[128], seqs[32], hashs[128];
	int used = 0;
	if (sscanf(copy, "%127[^\n]\n%31[0-9]\n%127[^\n]\n%n", origin, seqs, hashs, &used) != 3 ||
	    strncmp(origin, CP_ORIGIN, strlen(CP_ORIGIN)) != 0) {
		why = "not an evault checkpoint";
		goto done;
	}
	if (strcmp(origin + strlen(CP_ORIGIN), res->vault_id) != 0) {
		why = "it is a checkpoint of another vault";
		goto done;
	}
	git_oid id;
	if (b64_decode(&hash, hashs, strlen(hashs)) < 0 || hash.size != GIT_OID_RAWSZ) {
		why = "its head is not a commit id";
		goto done;
	}
	git_oid_fromraw(&id, (const uint8_t *)hash.ptr);
	/* the signature line: "— name base64" */
	char *line = sep + 2, name[64], b64[256];
	size_t dl = strlen(em_dash);
	if (strncmp(line, em_dash, dl) != 0 || sscanf(line + dl, " %63s %255s", name, b64) != 2 ||
	    b64_decode(&sigb, b64, strlen(b64)) < 0 || sigb.size != 4 + crypto_sign_BYTES) {
		why = "its signature line is malformed";
		goto done;
	}
	if (git_commit_lookup(&cp, git, &id) < 0) {
		why = "its head is not in this history (rewritten or rolled back)";
		goto done;
	}
	char cseq[32];
	if (trailer_get(cseq, sizeof(cseq), git_commit_message(cp), "Evault-Seq") < 0 ||
	    strcmp(cseq, seqs) != 0) {
		why = "its sequence number does not match its commit";
		goto done;
	}
	if (!descends_or_equal(git, head, &id)) {
		why = "today's history does not contain it (rewritten or rolled back)";
		goto done;
	}
	user_rec u;
	uint8_t kid[4];
	if (git_commit_tree(&tree, cp) < 0 || !user_name_valid(name) ||
	    load_user(&u, git, tree, name) < 0) {
		why = "its signer was not a user of the vault at that point";
		goto done;
	}
	note_key_id(kid, name, u.pk);
	if (memcmp(kid, sigb.ptr, 4) != 0 ||
	    crypto_sign_verify_detached((const uint8_t *)sigb.ptr + 4, (const uint8_t *)copy,
					bodylen, u.pk) != 0) {
		why = "its signature does not verify";
		goto done;
	}
done:
	if (why) {
		res->ok = false;
		res->bad_commit[0] = '\0';
		snprintf(res->reason, sizeof(res->reason), "checkpoint: %s", why);
	}
	git_tree_free(tree);
	git_commit_free(cp);
	evault_buf_dispose(&hash);
	evault_buf_dispose(&sigb);
	free(copy);
}

/* ---- verify ---- */

static int verify_git(git_repository *git, evault_repo *repo, const evault_verify_opts *opts,
		      evault_verify_result *res)
{
	git_oid head;
	int rc;
	pinned *pins = NULL;
	size_t npins = 0;
	/* A walk of the whole history reads trees from all over the pack:
	 * mapped 32 MiB at a time (state.c), it spends most of its time
	 * mapping and unmapping windows (100,000 events: 77 s instead of 16 s
	 * here). The pack is mapped whole instead, read-only: those pages are
	 * the file's page cache, shared and reclaimable, not memory of the
	 * process's own (docs/auditing.md). */
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
			 sizeof(size_t) >= 8 ? (size_t)1 << 33 : (size_t)1 << 30);
	if (opts->signers &&
	    (rc = parse_signers(&pins, &npins, opts->signers, opts->signers_len)) < 0)
		return rc;
	if (git_reference_name_to_id(&head, git, MAIN_REF) < 0) {
		free(pins);
		return evault_error_set(EVAULT_ECORRUPT, "the history has no main branch");
	}
	rc = verify_chain(git, &head, NULL, repo ? repo->cfg.vault_id_hex : NULL, pins, npins, res);
	free(pins);
	if (rc < 0)
		return rc;
	if (res->ok && repo) {
		check_reflog(git, &head, res);
		if (res->ok)
			check_last_verified(repo, git, &head, res);
		if (res->ok && (rc = check_erased_keys(repo, git, &head, res, &res->closing)) < 0)
			return rc;
	}
	if (res->ok && opts->checkpoint)
		check_checkpoint(git, &head, opts->checkpoint, opts->checkpoint_len, res);
	if (res->ok && opts->objects && repo) {
		git_commit *c = NULL;
		git_tree *t = NULL;
		objs_ctx o = {repo, res, false};
		if (git_commit_lookup(&c, git, &head) < 0 || git_commit_tree(&t, c) < 0)
			rc = git_fail("cannot read the head");
		else
			rc = check_objects_in(&o, git, t, "");
		git_tree_free(t);
		git_commit_free(c);
		if (o.failed) {
			res->ok = false;
			res->bad_commit[0] = '\0';
		}
	}
	return rc;
}

int evault_audit_verify(evault_repo *repo, const evault_verify_opts *opts,
			evault_verify_result *res)
{
	evault_verify_opts defaults = EVAULT_VERIFY_OPTS_INIT;
	memset(res, 0, sizeof(*res));
	bool was = repo->trust_checking;
	repo->trust_checking = true; /* everything is checked here, once */
	int rc = verify_git(state_db_git(repo->db), repo, opts ? opts : &defaults, res);
	repo->trust_checking = was;
	git_oid head, trusted;
	if (rc == 0 && res->ok && repo->trust_file && repo->trusted[0] &&
	    git_oid_fromstr(&head, res->head) == 0 && git_oid_fromstr(&trusted, repo->trusted) == 0 &&
	    !descends_or_equal(state_db_git(repo->db), &head, &trusted)) {
		res->ok = false;
		snprintf(res->bad_commit, sizeof(res->bad_commit), "%s", res->head);
		snprintf(res->reason, sizeof(res->reason),
			 "the history no longer contains the head this identity verified before "
			 "(%.12s): rewritten or rolled back (a backup restored on purpose: remove %s)",
			 repo->trusted, repo->trust_file);
	}
	if (rc == 0 && res->ok) {
		record_verified(repo, res);
		if (repo->trust_file && strcmp(repo->trusted, res->head) != 0) {
			trust_made(repo, res->head); /* verified from the root */
			trust_save(repo);
		}
	}
	return rc;
}

/* ---- the trusted head (trust.h) ---- */

#define TRUST_MAGIC "evault-verified 1\n"

static int trust_write(evault_repo *repo)
{
	evault_buf text = EVAULT_BUF_INIT;
	char where[PATH_MAX];
	if (!realpath(repo->path, where))
		snprintf(where, sizeof(where), "%s", repo->path);
	int rc = evault_buf_printf(&text, TRUST_MAGIC "vault %s\nhead %s\nrepository %s\n",
				   repo->cfg.vault_id_hex, repo->trusted, where);
	if (rc == 0)
		rc = file_write_atomic(repo->trust_file, text.ptr, text.size, 0600);
	evault_buf_dispose(&text);
	if (rc == 0)
		repo->trust_dirty = false;
	return rc;
}

void trust_save(evault_repo *repo)
{
	if (repo->trust_file && repo->trust_dirty && repo->trusted[0] && trust_write(repo) < 0)
		evault_error_clear(); /* the next open verifies those commits again */
}

void trust_made(evault_repo *repo, const char *head_hex)
{
	if (!repo->trust_file)
		return;
	snprintf(repo->trusted, sizeof(repo->trusted), "%s", head_hex);
	repo->trust_dirty = true;
}

int trust_check(evault_repo *repo, const char *head_hex)
{
	if (!repo->trust_file || repo->trust_checking || strcmp(head_hex, repo->trusted) == 0)
		return 0;
	git_repository *git = state_db_git(repo->db);
	git_oid head, since;
	evault_verify_result res;
	memset(&res, 0, sizeof(res));
	if (git_oid_fromstr(&head, head_hex) < 0 ||
	    (repo->trusted[0] && git_oid_fromstr(&since, repo->trusted) < 0))
		return evault_error_set(EVAULT_ECORRUPT, "a history head is not a commit id");
	repo->trust_checking = true;
	int rc = verify_chain(git, &head, repo->trusted[0] ? &since : NULL, repo->cfg.vault_id_hex,
			      NULL, 0, &res);
	repo->trust_checking = false;
	if (rc < 0)
		return rc;
	if (!res.ok)
		return evault_error_set(EVAULT_ERROR,
					"the history does not verify, nothing done: commit %.12s: %s "
					"(evault audit verify)",
					res.bad_commit[0] ? res.bad_commit : res.head, res.reason);
	snprintf(repo->trusted, sizeof(repo->trusted), "%s", head_hex);
	repo->trust_dirty = true;
	if (trust_write(repo) < 0)
		evault_error_clear(); /* verified all the same: the next open checks again */
	return 0;
}

/* The repository's public trust switch lives with the verifier it runs. */
int evault_repo_trust(evault_repo *repo, const char *dir, bool check)
{
	evault_buf path = EVAULT_BUF_INIT, text = EVAULT_BUF_INIT;
	char hex[64], vault[64];
	int rc;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return error_errno("cannot create the directory of verified heads", dir);
	/* one file per vault and place: a copy or replica elsewhere is verified on its own */
	char where[PATH_MAX], tag[17];
	uint8_t h[8];
	if (!realpath(repo->path, where))
		snprintf(where, sizeof(where), "%s", repo->path);
	crypto_generichash(h, sizeof(h), (const uint8_t *)where, strlen(where), NULL, 0);
	hex_encode(tag, h, sizeof(h));
	if ((rc = evault_buf_printf(&path, "%s/%s-%s", dir, repo->cfg.vault_id_hex, tag)) < 0)
		goto done;
	rc = file_read_all(&text, path.ptr, 4096);
	if (rc == EVAULT_ENOTFOUND) { /* first use: everything is verified */
		evault_error_clear();
		repo->trusted[0] = '\0';
		rc = 0;
	} else if (rc == 0) {
		git_oid id;
		if (text.size < strlen(TRUST_MAGIC) ||
		    memcmp(text.ptr, TRUST_MAGIC, strlen(TRUST_MAGIC)) != 0 ||
		    text_get(vault, sizeof(vault), text.ptr, text.size, "vault") < 0 ||
		    strcmp(vault, repo->cfg.vault_id_hex) != 0 ||
		    text_get(hex, sizeof(hex), text.ptr, text.size, "head") < 0 ||
		    strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstr(&id, hex) < 0) {
			rc = evault_error_set(EVAULT_ECORRUPT,
					      "%s is damaged: remove it to verify the whole history "
					      "again",
					      path.ptr);
			goto done;
		}
		memcpy(repo->trusted, hex, GIT_OID_HEXSZ);
		repo->trusted[GIT_OID_HEXSZ] = '\0';
	} else {
		goto done;
	}
	free(repo->trust_file);
	repo->trust_file = path.ptr;
	path.ptr = NULL;
	repo->trust_dirty = false;
	if (check) {
		state *st = NULL; /* reading the head verifies it */
		rc = state_begin(&st, repo, false);
		state_end(st);
	}
done:
	evault_buf_dispose(&path);
	evault_buf_dispose(&text);
	return rc;
}

/* ---- bundles ---- */

int evault_audit_verify_bundle(const char *path, const evault_verify_opts *opts,
			       evault_verify_result *res)
{
	evault_verify_opts defaults = EVAULT_VERIFY_OPTS_INIT;
	evault_buf file = EVAULT_BUF_INIT;
	git_repository *git = NULL;
	git_odb *odb = NULL;
	git_odb_writepack *wp = NULL;
	git_reference *ref = NULL;
	char tmp[4096];
	bool made = false;
	struct stat sb;
	int rc = 0, fd = -1;
	enum { PIECE = 65536 };
	char *tmp_piece = NULL;
	memset(res, 0, sizeof(*res));
	if (!opts)
		opts = &defaults;
	if (opts->objects)
		return evault_error_set(EVAULT_EINVAL,
					"a bundle holds no objects: --objects needs a "
					"repository");
	if (!(tmp_piece = malloc(PIECE)))
		return error_oom();
	if ((rc = evault_global_init()) < 0)
		return rc;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		rc = evault_buf_printf(&file, "%s/history.bundle", path);
	else
		rc = evault_buf_printf(&file, "%s", path);
	if (rc < 0)
		goto done;
	if ((fd = open(file.ptr, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0) {
		rc = error_errno("cannot read", file.ptr);
		goto done;
	}
	/* header: "# v2 git bundle", "<id> refs/heads/main", "<id> HEAD", blank line */
	size_t hl = strlen(BUNDLE_HEADER);
	char hdr[256];
	git_oid head, other;
	ssize_t hn = read_full(fd, hdr, hl + 104);
	if (hn != (ssize_t)(hl + 104) || memcmp(hdr, BUNDLE_HEADER, hl) != 0 ||
	    git_oid_fromstrn(&head, hdr + hl, 40) < 0 ||
	    strncmp(hdr + hl + 40, " refs/heads/main\n", 17) != 0 ||
	    git_oid_fromstrn(&other, hdr + hl + 57, 40) < 0 ||
	    strncmp(hdr + hl + 97, " HEAD\n\n", 7) != 0 || !git_oid_equal(&head, &other)) {
		rc = evault_error_set(EVAULT_ECORRUPT, "%s is not an evault history bundle",
				      file.ptr);
		goto done;
	}
	/* The pack is untrusted: bounded before anything expands it. An object
	 * (or a delta's result) of at most 256 MiB, and all of them together at
	 * most 1 GiB plus 256 times the pack's own size. */
	uint64_t pack_len = (uint64_t)sb.st_size - (hl + 104);
	packscan_limits lim = {256u << 20, ((uint64_t)1 << 30) + 256 * pack_len, 1000};
	packscan_stats ps;
	if ((rc = packscan_fd(fd, &lim, &ps)) < 0) {
		char why[400];
		snprintf(why, sizeof(why), "%s", evault_error_last());
		rc = evault_error_set(rc, "%s: %s", file.ptr, why);
		goto done;
	}
	if (lseek(fd, (off_t)(hl + 104), SEEK_SET) < 0) {
		rc = error_errno("cannot read", file.ptr);
		goto done;
	}
	git_libgit2_opts(GIT_OPT_SET_PACK_MAX_OBJECTS, (size_t)ps.objects);
	const char *tmpdir = getenv("TMPDIR");
	snprintf(tmp, sizeof(tmp), "%s/evault-bundle-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(tmp)) {
		rc = error_errno("cannot create a directory in", tmpdir ? tmpdir : "/tmp");
		goto done;
	}
	made = true;
	git_transfer_progress stats;
	memset(&stats, 0, sizeof(stats));
	if (git_repository_init(&git, tmp, 1) < 0 || git_repository_odb(&odb, git) < 0 ||
	    git_odb_write_pack(&wp, odb, NULL, NULL) < 0) {
		rc = git_fail("cannot index the bundle");
		goto done;
	}
	/* streamed in pieces, as from a network, never read whole */
	for (;;) {
		ssize_t n = read(fd, tmp_piece, PIECE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_errno("cannot read", file.ptr);
			goto done;
		}
		if (n == 0)
			break;
		if (wp->append(wp, tmp_piece, (size_t)n, &stats) < 0) {
			rc = git_fail("the bundle's pack is unreadable");
			goto done;
		}
	}
	if (wp->commit(wp, &stats) < 0) {
		rc = git_fail("the bundle's pack is unreadable");
		goto done;
	}
	if (git_reference_create(&ref, git, MAIN_REF, &head, 1, NULL) < 0) {
		rc = git_fail("the bundle's head is not in its pack");
		goto done;
	}
	rc = verify_git(git, NULL, opts, res);
done:
	if (wp)
		wp->free(wp);
	git_reference_free(ref);
	git_odb_free(odb);
	git_repository_free(git);
	if (made)
		remove_tree(tmp); /* a temporary copy of public history */
	if (fd >= 0)
		close(fd);
	free(tmp_piece);
	evault_buf_dispose(&file);
	return rc;
}

static int write_bundle(git_repository *git, const char *path)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	git_buf pack = GIT_BUF_INIT_CONST(NULL, 0);
	evault_buf out = EVAULT_BUF_INIT;
	git_oid head;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = 0;
	if (git_reference_name_to_id(&head, git, MAIN_REF) < 0 ||
	    git_packbuilder_new(&pb, git) < 0 || git_revwalk_new(&walk, git) < 0 ||
	    git_revwalk_push(walk, &head) < 0 || git_packbuilder_insert_walk(pb, walk) < 0 ||
	    git_packbuilder_write_buf(&pack, pb) < 0) {
		rc = git_fail("cannot pack the history");
		goto done;
	}
	git_oid_tostr(hex, sizeof(hex), &head);
	if ((rc = evault_buf_printf(&out, "%s%s refs/heads/main\n%s HEAD\n\n", BUNDLE_HEADER, hex,
				    hex)) < 0 ||
	    (rc = evault_buf_put(&out, pack.ptr, pack.size)) < 0)
		goto done;
	rc = file_write_new(path, out.ptr, out.size, 0644);
done:
	git_buf_dispose(&pack);
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	evault_buf_dispose(&out);
	return rc;
}

static const char export_readme[] =
    "evault audit export\n"
    "===================\n\n"
    "history.bundle    the vault's whole signed history (a git bundle)\n"
    "allowed_signers   every user's public key, for git and ssh-keygen\n"
    "mission-log.txt   (with --mission) the events of one mission\n\n"
    "Verify with evault, without any key or repository:\n\n"
    "    evault audit verify DIR [--checkpoint CHECKPOINT]\n\n"
    "Verify with stock git and OpenSSH only:\n\n"
    "    git clone --bare DIR/history.bundle vault.git\n"
    "    git -C vault.git -c gpg.format=ssh \\\n"
    "        -c gpg.ssh.allowedSignersFile=\"$PWD/DIR/allowed_signers\" \\\n"
    "        log --show-signature\n\n"
    "Stock git proves each commit was signed by a key in allowed_signers and\n"
    "that the chain of commits is intact. Only 'evault audit verify' also\n"
    "proves that each signer held that key and a role allowing the action at\n"
    "that point, and that each event changed the state only as its action\n"
    "allows. Take allowed_signers from the company, not only from this\n"
    "directory, and keep a signed checkpoint to detect a rewritten history.\n"
    "Client data is encrypted in the history; mission ids are references.\n";

typedef struct mission_log_ctx {
	evault_buf *out;
	const char *mission;
} mission_log_ctx;

static int mission_log_line(const state_commit_info *ci, void *p)
{
	mission_log_ctx *c = p;
	char mid[80], seq[32], actor[64], action[64], when[32];
	if (trailer_get(mid, sizeof(mid), ci->message, "Evault-Mission") < 0 ||
	    strcmp(mid, c->mission) != 0)
		return 0;
	trailer_get(seq, sizeof(seq), ci->message, "Evault-Seq");
	trailer_get(actor, sizeof(actor), ci->message, "Evault-Actor");
	trailer_get(action, sizeof(action), ci->message, "Evault-Action");
	time_t t = (time_t)ci->time;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return evault_buf_printf(c->out, "%s %s %s %s %s\n", seq, when, ci->id_hex, actor, action);
}

/* The events of a mission are shown to a user who holds a key of it, to
 * admins and auditors, and to a reader without identity (who reads the
 * repository files, as git does): the rule of evault log. */
static bool reader_sees(evault_repo *repo, const char *mid)
{
	return !repo->have_actor || repo->role == EVAULT_ROLE_ADMIN ||
	       repo->role == EVAULT_ROLE_AUDITOR || mission_visible(repo, mid);
}

int evault_audit_export(evault_repo *repo, const char *dir, const char *mission)
{
	evault_buf path = EVAULT_BUF_INIT, text = EVAULT_BUF_INIT;
	int rc;
	if (mission && (rc = check_mission_id(mission)) < 0)
		return rc;
	if (mission && !reader_sees(repo, mission))
		return mission_hidden(mission);
	if (mkdir(dir, 0755) < 0) {
		if (errno == EEXIST)
			return evault_error_set(EVAULT_EEXISTS, "%s already exists", dir);
		return error_errno("cannot create", dir);
	}
	if ((rc = evault_buf_printf(&path, "%s/history.bundle", dir)) < 0 ||
	    (rc = write_bundle(state_db_git(repo->db), path.ptr)) < 0)
		goto done;
	path.size = 0;
	if ((rc = evault_audit_allowed_signers(repo, &text)) < 0 ||
	    (rc = evault_buf_printf(&path, "%s/allowed_signers", dir)) < 0 ||
	    (rc = file_write_new(path.ptr, text.ptr, text.size, 0644)) < 0)
		goto done;
	path.size = 0;
	if ((rc = evault_buf_printf(&path, "%s/README.txt", dir)) < 0 ||
	    (rc = file_write_new(path.ptr, export_readme, strlen(export_readme), 0644)) < 0)
		goto done;
	if (mission) {
		text.size = 0;
		mission_log_ctx c = {&text, mission};
		path.size = 0;
		if ((rc = evault_buf_printf(&text,
					    "# events of mission %s, newest first: seq time "
					    "commit actor action\n",
					    mission)) < 0 ||
		    (rc = state_walk(repo, mission_log_line, &c)) < 0 ||
		    (rc = evault_buf_printf(&path, "%s/mission-log.txt", dir)) < 0 ||
		    (rc = file_write_new(path.ptr, text.ptr, text.size, 0644)) < 0)
			goto done;
	}
done:
	evault_buf_dispose(&path);
	evault_buf_dispose(&text);
	return rc;
}

/* ---- show ---- */

static int find_by_seq(git_repository *git, uint64_t want, git_oid *out)
{
	git_oid id;
	git_commit *c = NULL;
	if (git_reference_name_to_id(&id, git, MAIN_REF) < 0)
		return evault_error_set(EVAULT_ECORRUPT, "the history has no main branch");
	while (git_commit_lookup(&c, git, &id) == 0) {
		char seq[32];
		bool hit =
		    trailer_get(seq, sizeof(seq), git_commit_message(c), "Evault-Seq") == 0 &&
		    strtoull(seq, NULL, 10) == want;
		bool more = git_commit_parentcount(c) == 1;
		git_oid parent = more ? *git_commit_parent_id(c, 0) : id;
		git_commit_free(c);
		if (hit) {
			*out = id;
			return 0;
		}
		if (!more)
			break;
		id = parent;
	}
	return evault_error_set(EVAULT_ENOTFOUND, "no event with sequence number %llu",
				(unsigned long long)want);
}

static int diff_line(const git_diff_delta *d, float progress, void *p)
{
	evault_buf *out = p;
	char st = d->status == GIT_DELTA_ADDED ? 'A' : d->status == GIT_DELTA_DELETED ? 'D' : 'M';
	return evault_buf_printf(out, "    %c %s\n", st,
				 d->new_file.path ? d->new_file.path : d->old_file.path);
}

int evault_audit_show(evault_repo *repo, const char *which, evault_buf *out)
{
	git_repository *git = state_db_git(repo->db);
	git_commit *c = NULL, *parent = NULL;
	git_tree *ct = NULL, *pt = NULL;
	git_diff *diff = NULL;
	git_object *obj = NULL;
	git_oid id;
	int rc = 0;
	size_t wl = strlen(which);
	/* up to 11 digits: a sequence number first, else a commit id prefix */
	bool digits = wl > 0 && wl <= 11 && strspn(which, "0123456789") == wl;
	if (digits && find_by_seq(git, strtoull(which, NULL, 10), &id) == 0) {
		/* found by sequence number */
	} else if (wl < 4 || wl > 40 || !is_hex(which, wl) ||
		   git_revparse_single(&obj, git, which) < 0 ||
		   git_object_type(obj) != GIT_OBJECT_COMMIT) {
		git_object_free(obj);
		return evault_error_set(EVAULT_ENOTFOUND,
					"no event %.64s (a sequence number or a commit id)", which);
	} else {
		git_oid_cpy(&id, git_object_id(obj));
		git_object_free(obj);
	}
	if (git_commit_lookup(&c, git, &id) < 0)
		return git_fail("cannot read the event");
	char mission[EVAULT_MID_MAX + 1];
	if (trailer_get(mission, sizeof(mission), git_commit_message(c), "Evault-Mission") == 0 &&
	    !reader_sees(repo, mission)) { /* as log: a mission the reader holds no key for */
		git_commit_free(c);
		return evault_error_set(EVAULT_ENOTFOUND,
					"no event %.64s (a sequence number or a commit id)", which);
	}
	evault_error_clear();
	if (git_commit_parentcount(c) == 1 && git_commit_parent(&parent, c, 0) < 0) {
		rc = git_fail("cannot read the event's parent");
		goto done;
	}
	/* the signature, as verify judges it for this one commit */
	evault_verify_result res;
	verifier v;
	memset(&res, 0, sizeof(res));
	memset(&v, 0, sizeof(v));
	v.git = git;
	v.res = &res;
	v.id = &id;
	v.now = (int64_t)time(NULL);
	check_commit(&v, c, parent);
	char when[32], hex[GIT_OID_HEXSZ + 1];
	time_t t = (time_t)git_commit_time(c);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	git_oid_tostr(hex, sizeof(hex), &id);
	if ((rc = evault_buf_printf(out, "commit  %s\ntime    %s\nverdict %s%s\n\n", hex, when,
				    v.failed ? "FAILS: " : "valid (signature, role, changes)",
				    v.failed ? res.reason : "")) < 0)
		goto done;
	/* the message, summary and trailers */
	const char *msg = git_commit_message(c);
	for (const char *p = msg; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if ((rc = evault_buf_printf(out, "    %.*s\n", (int)n, p)) < 0)
			goto done;
		p += n + (nl ? 1 : 0);
	}
	if ((rc = evault_buf_printf(out, "\nchanges\n")) < 0)
		goto done;
	if (git_commit_tree(&ct, c) < 0 || (parent && git_commit_tree(&pt, parent) < 0) ||
	    git_diff_tree_to_tree(&diff, git, pt, ct, NULL) < 0) {
		rc = git_fail("cannot compare the event's state");
		goto done;
	}
	rc = git_diff_foreach(diff, diff_line, NULL, NULL, NULL, out);
	if (rc > 0)
		rc = 0;
done:
	git_diff_free(diff);
	git_tree_free(ct);
	git_tree_free(pt);
	git_commit_free(parent);
	git_commit_free(c);
	return rc;
}
