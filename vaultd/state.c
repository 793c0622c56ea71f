/*
 * The audit repository: see state.h and docs/format.md §History.
 *
 * Invariants:
 *  1. refs/heads/main only moves forward, to a commit whose parent is the
 *     head it was read at (compare-and-swap under REPO/lock).
 *  2. Every commit written here is signed by the acting identity over the
 *     exact unsigned commit buffer, in the gpgsig header, as git does for
 *     gpg.format=ssh.
 *  3. The sequence number of a commit is its parent's plus one (root: 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <sodium.h>

#include "identity.h"
#include "repo.h"
#include "sshkey.h"
#include "state.h"
#include "trust.h"
#include "util.h"

#define MAIN_REF "refs/heads/main"
#define LOCK_WAIT_MS 30000

struct state_db {
	git_repository *git;
	git_odb *odb;
};

typedef struct edit {
	char *path;
	git_oid blob;
	bool remove;
} edit;

struct state {
	evault_repo *repo;
	int lock_fd;
	bool have_head;
	git_oid head;
	char head_hex[GIT_OID_HEXSZ + 1];
	git_commit *commit;
	git_tree *tree;
	uint64_t seq;
	edit *edits;
	size_t nedits, aedits;
	/* on a replica, the last mission asked about: held here or not */
	char asked[EVAULT_MID_MAX + 1];
	bool asked_held;
};

static int git_fail(const char *what)
{
	const git_error *e = git_error_last();
	return evault_error_set(EVAULT_ERROR, "%s: %s", what,
				e && e->message ? e->message : "git error");
}

int state_global_init(void)
{
	if (git_libgit2_init() < 0)
		return evault_error_set(EVAULT_ERROR, "libgit2 failed to initialise");
	/* Durable history: state_commit syncs the file system twice (before and
	 * after the ref moves) instead of libgit2's fsync of every loose object,
	 * its directory and the ref: ~1 ms instead of ~6 ms per commit here
	 * (docs/architecture.md). */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 0);
	/* No object cache. audit verify reads each tree a few times within one
	 * event and almost never again, so the cache only churns: libgit2
	 * evicts random entries when it is full, and lookups then wade through
	 * the deleted slots (perf: 10% in git_oid_equal under
	 * git_object_lookup). Without it, verify of 100,000 events takes 26 s
	 * instead of 36-40 s and 70 MiB instead of 113 MiB (docs/auditing.md).
	 * verify keeps its own small cache per thread instead (gitcache.h). */
	git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
	/* Pack files are mapped in 4 MiB windows, at most 32 MiB at once (the
	 * 64-bit default is one window of up to 1 GiB, i.e. the whole pack). */
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)(4 * 1024 * 1024));
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)(32 * 1024 * 1024));
	/* Untrusted repositories: verify object hashes as they are read. */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 1);
	return 0;
}

void state_global_shutdown(void)
{
	git_libgit2_shutdown();
}

int state_db_create(const char *gitdir)
{
	git_repository *git = NULL;
	git_config *cfg = NULL;
	git_repository_init_options opts;
	git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opts.flags =
	    GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
	opts.initial_head = "main";
	opts.description = "evault audit history (see docs/auditing.md)\n";
	int rc = 0;
	if (git_repository_init_ext(&git, gitdir, &opts) < 0)
		return git_fail("cannot create the audit repository");
	/* Keep a reflog of main even though the repository is bare. */
	if (git_repository_config(&cfg, git) < 0 ||
	    git_config_set_string(cfg, "core.logAllRefUpdates", "always") < 0)
		rc = git_fail("cannot configure the audit repository");
	git_config_free(cfg);
	git_repository_free(git);
	return rc;
}

int state_db_open(state_db **out, const char *gitdir)
{
	state_db *db = calloc(1, sizeof(*db));
	*out = NULL;
	if (!db)
		return error_oom();
	if (git_repository_open_bare(&db->git, gitdir) < 0 ||
	    git_repository_odb(&db->odb, db->git) < 0) {
		git_repository_free(db->git);
		free(db);
		return evault_error_set(EVAULT_ECORRUPT, "%s is not a readable audit repository",
					gitdir);
	}
	*out = db;
	return 0;
}

struct git_repository *state_db_git(state_db *db)
{
	return db->git;
}

void state_db_free(state_db *db)
{
	if (!db)
		return;
	git_odb_free(db->odb);
	git_repository_free(db->git);
	free(db);
}

int trailer_get(char *out, size_t outlen, const char *message, const char *key)
{
	size_t kl = strlen(key);
	const char *p = message;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		if (ll > kl + 2 && memcmp(p, key, kl) == 0 && p[kl] == ':' && p[kl + 1] == ' ') {
			size_t vl = ll - kl - 2;
			if (vl >= outlen)
				return EVAULT_ECORRUPT;
			memcpy(out, p + kl + 2, vl);
			out[vl] = '\0';
			return 0;
		}
		p = nl ? nl + 1 : NULL;
	}
	return EVAULT_ENOTFOUND;
}

/* seconds after which a lock file of main is a crashed writer's */
#define STALE_REF_LOCK_S 10

static int take_lock(state *st, bool changes)
{
	evault_buf path = EVAULT_BUF_INIT;
	int rc = evault_buf_printf(&path, "%s/lock", st->repo->path);
	if (rc < 0)
		return rc;
	/* One account owns a repository and every file in it (deploy.md): files
	 * another account wrote there (mode 0600) would be unreadable to it. */
	if (changes && (rc = check_repo_owner(st->repo->path)) < 0)
		goto done;
	st->lock_fd = open(path.ptr, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (st->lock_fd < 0) {
		rc = error_errno("cannot open lock", path.ptr);
		goto done;
	}
	for (int waited = 0;; waited += 10) {
		if (flock(st->lock_fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = error_errno("cannot lock", path.ptr);
			goto done;
		}
		if (waited >= LOCK_WAIT_MS) {
			rc = evault_error_set(
			    EVAULT_ELOCKED,
			    "the repository is busy: another evault holds its lock");
			goto done;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	/* A ref lock file git left beside main that is older than any move of
	 * main takes (milliseconds) is a crashed writer's, killed between
	 * taking it and renaming it: it would refuse every later move as "the
	 * history moved" for ever. The ref itself is untouched (the old head). */
	if (changes) {
		struct stat sb;
		path.size = 0;
		if ((rc = evault_buf_printf(&path, "%s/audit.git/refs/heads/main.lock",
					    st->repo->path)) < 0)
			goto done;
		if (lstat(path.ptr, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    sb.st_mtime + STALE_REF_LOCK_S < time(NULL) && unlink(path.ptr) < 0 &&
		    errno != ENOENT)
			rc = error_errno("cannot remove a crashed writer's lock", path.ptr);
	}
done:
	evault_buf_dispose(&path);
	return rc;
}

static int load_head(state *st)
{
	git_repository *git = st->repo->db->git;
	st->asked[0] = '\0';
	int e = git_reference_name_to_id(&st->head, git, MAIN_REF);
	if (e == GIT_ENOTFOUND) {
		st->have_head = false;
		return 0;
	}
	if (e < 0)
		return git_fail("cannot read the history head");
	st->have_head = true;
	git_oid_tostr(st->head_hex, sizeof(st->head_hex), &st->head);
	if (git_commit_lookup(&st->commit, git, &st->head) < 0 ||
	    git_commit_tree(&st->tree, st->commit) < 0)
		return evault_error_set(EVAULT_ECORRUPT, "history head %s is unreadable",
					st->head_hex);
	char seq[32];
	char *end;
	if (trailer_get(seq, sizeof(seq), git_commit_message(st->commit), "Evault-Seq") < 0)
		return evault_error_set(EVAULT_ECORRUPT, "history head %s has no Evault-Seq",
					st->head_hex);
	st->seq = strtoull(seq, &end, 10);
	if (*end)
		return evault_error_set(EVAULT_ECORRUPT, "history head %s has a bad Evault-Seq",
					st->head_hex);
	return trust_check(st->repo, st->head_hex); /* nothing acts on an unverified head */
}

static int begin(state **out, evault_repo *repo, bool write, bool changes)
{
	state *st = calloc(1, sizeof(*st));
	int rc;
	*out = NULL;
	if (!st)
		return error_oom();
	st->repo = repo;
	st->lock_fd = -1;
	if ((write &&
	     ((rc = take_lock(st, changes)) < 0 || (rc = repo_objects_unchanged(repo)) < 0)) ||
	    (rc = load_head(st)) < 0) {
		state_end(st);
		return rc;
	}
	*out = st;
	return 0;
}

int state_begin(state **out, evault_repo *repo, bool write)
{
	return begin(out, repo, write, write);
}

int state_begin_dry(state **out, evault_repo *repo)
{
	return begin(out, repo, true, false);
}

void state_end(state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nedits; i++)
		free(st->edits[i].path);
	free(st->edits);
	git_tree_free(st->tree);
	git_commit_free(st->commit);
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
	free(st);
}

bool state_is_empty(const state *st)
{
	return !st->have_head;
}

uint64_t state_seq(const state *st)
{
	return st->seq;
}

const char *state_head_hex(const state *st)
{
	return st->have_head ? st->head_hex : "";
}

/*
 * A replica (repo.h) holds the trees of its user's missions only: the
 * others stayed at the office, and missions/<mid> names a tree that is not
 * here. Such a mission is not held here, and to everything that reads the
 * state it does not exist: not listed, nothing under it read, no entry.
 * On the office every tree is here, and one that is not is damage.
 */
static bool entry_not_held(const state *st, const git_tree_entry *e)
{
	return e && git_tree_entry_type(e) == GIT_OBJECT_TREE &&
	       !git_odb_exists(st->repo->db->odb, git_tree_entry_id(e));
}

/* Is path missions/<mid> or under it, of a mission not held here? */
static bool not_held(const state *st, const char *path)
{
	if (!st->repo->replica || !st->tree || strncmp(path, "missions/", 9) != 0)
		return false;
	const char *mid = path + 9;
	size_t n = strcspn(mid, "/");
	/* not a mission's path: read as usual */
	if (n == 0 || n > EVAULT_MID_MAX)
		return false;
	state *w = (state *)st; /* the answer is kept: only a cache changes */
	if (strncmp(w->asked, mid, n) == 0 && w->asked[n] == '\0')
		return !w->asked_held;
	char entry[9 + EVAULT_MID_MAX + 1];
	git_tree_entry *e = NULL;
	memcpy(entry, path, 9 + n);
	entry[9 + n] = '\0';
	bool absent = git_tree_entry_bypath(&e, st->tree, entry) == 0 && entry_not_held(st, e);
	git_tree_entry_free(e);
	memcpy(w->asked, mid, n);
	w->asked[n] = '\0';
	w->asked_held = !absent;
	return absent;
}

int state_read(const state *st, const char *path, evault_buf *out)
{
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int rc;
	out->size = 0;
	if (!st->tree || not_held(st, path) || git_tree_entry_bypath(&e, st->tree, path) < 0)
		return evault_error_set(EVAULT_ENOTFOUND, "not in the state: %s", path);
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		rc = evault_error_set(EVAULT_ECORRUPT, "state entry %s is not a file", path);
		goto done;
	}
	if (git_blob_lookup(&blob, st->repo->db->git, git_tree_entry_id(e)) < 0) {
		rc = evault_error_set(EVAULT_ECORRUPT, "state entry %s is unreadable", path);
		goto done;
	}
	rc = evault_buf_put(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
done:
	git_blob_free(blob);
	git_tree_entry_free(e);
	return rc;
}

int state_entry_id(const state *st, const char *path, char out[41])
{
	git_tree_entry *e = NULL;
	out[0] = '\0';
	if (!st->tree)
		return 0;
	if (!*path) {
		git_oid_tostr(out, 41, git_tree_id(st->tree));
		return 0;
	}
	if (not_held(st, path) || git_tree_entry_bypath(&e, st->tree, path) < 0)
		return 0;
	git_oid_tostr(out, 41, git_tree_entry_id(e));
	git_tree_entry_free(e);
	return 0;
}

bool state_exists(const state *st, const char *path)
{
	git_tree_entry *e = NULL;
	if (!st->tree || not_held(st, path) || git_tree_entry_bypath(&e, st->tree, path) < 0)
		return false;
	git_tree_entry_free(e);
	return true;
}

int state_list(const state *st, const char *dir, state_list_cb cb, void *payload)
{
	git_tree_entry *e = NULL;
	git_tree *t = NULL;
	int rc = 0;
	if (!st->tree || not_held(st, dir))
		return 0;
	if (git_tree_entry_bypath(&e, st->tree, dir) < 0)
		return 0;
	if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
		rc = evault_error_set(EVAULT_ECORRUPT, "state entry %s is not a directory", dir);
		goto done;
	}
	if (git_tree_lookup(&t, st->repo->db->git, git_tree_entry_id(e)) < 0) {
		rc = evault_error_set(EVAULT_ECORRUPT, "state directory %s is unreadable", dir);
		goto done;
	}
	size_t n = git_tree_entrycount(t);
	bool missions = st->repo->replica && strcmp(dir, "missions") == 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const git_tree_entry *c = git_tree_entry_byindex(t, i);
		if (missions && entry_not_held(st, c))
			continue;
		rc = cb(git_tree_entry_name(c), git_tree_entry_type(c) == GIT_OBJECT_TREE, payload);
	}
done:
	git_tree_free(t);
	git_tree_entry_free(e);
	return rc;
}

static int add_edit(state *st, const char *path, const git_oid *blob, bool remove)
{
	if (st->lock_fd < 0)
		return evault_error_set(EVAULT_ERROR, "state edit outside a transaction");
	if (st->nedits == st->aedits) {
		size_t n = st->aedits ? st->aedits * 2 : 16;
		edit *e = realloc(st->edits, n * sizeof(*e));
		if (!e)
			return error_oom();
		st->edits = e;
		st->aedits = n;
	}
	edit *e = &st->edits[st->nedits];
	if (!(e->path = strdup(path)))
		return error_oom();
	if (blob)
		e->blob = *blob;
	e->remove = remove;
	st->nedits++;
	return 0;
}

int state_put(state *st, const char *path, const void *data, size_t len)
{
	git_oid oid;
	if (not_held(st, path)) /* its tree is at the office: a replica cannot change it */
		return evault_error_set(EVAULT_ENOTFOUND, "not in the state: %s", path);
	if (git_blob_create_from_buffer(&oid, st->repo->db->git, data, len) < 0)
		return git_fail("cannot write to the audit repository");
	return add_edit(st, path, &oid, false);
}

int state_remove(state *st, const char *path)
{
	if (!state_exists(st, path))
		return 0;
	return add_edit(st, path, NULL, true);
}

static int build_tree(git_oid *out, state *st)
{
	git_repository *git = st->repo->db->git;
	git_tree *base = st->tree, *empty = NULL;
	git_tree_update *u = NULL;
	int rc = 0;
	if (!base) {
		git_treebuilder *tb = NULL;
		git_oid eid;
		if (git_treebuilder_new(&tb, git, NULL) < 0 ||
		    git_treebuilder_write(&eid, tb) < 0 || git_tree_lookup(&empty, git, &eid) < 0) {
			git_treebuilder_free(tb);
			return git_fail("cannot build the state tree");
		}
		git_treebuilder_free(tb);
		base = empty;
	}
	if (st->nedits && !(u = calloc(st->nedits, sizeof(*u)))) {
		git_tree_free(empty);
		return error_oom();
	}
	for (size_t i = 0; i < st->nedits; i++) {
		u[i].action = st->edits[i].remove ? GIT_TREE_UPDATE_REMOVE : GIT_TREE_UPDATE_UPSERT;
		u[i].id = st->edits[i].blob;
		u[i].filemode = GIT_FILEMODE_BLOB;
		u[i].path = st->edits[i].path;
	}
	if (git_tree_create_updated(out, git, base, st->nedits, u) < 0)
		rc = git_fail("cannot build the state tree");
	free(u);
	git_tree_free(empty);
	return rc;
}

static bool unsynced; /* fixtures only: state_fixture_unsynced */

void state_fixture_unsynced(void)
{
	unsynced = true;
}

/* Makes everything written to the repository's file system durable. */
static int sync_repo(evault_repo *repo)
{
	return unsynced ? 0 : syncfs_path(repo->path, "cannot sync the repository");
}

int state_commit(state *st, const state_event *ev)
{
	evault_repo *repo = st->repo;
	git_repository *git = repo->db->git;
	git_signature *who = NULL;
	git_tree *tree = NULL;
	git_buf body = GIT_BUF_INIT_CONST(NULL, 0);
	git_reference *ref = NULL;
	evault_buf msg = EVAULT_BUF_INIT, sig = EVAULT_BUF_INIT, email = EVAULT_BUF_INIT;
	git_oid tree_id, commit_id;
	const char *actor = ev->actor ? ev->actor : repo->actor;
	uint64_t seq = st->have_head ? st->seq + 1 : 0;
	int rc;

	if (st->lock_fd < 0)
		return evault_error_set(EVAULT_ERROR, "commit outside a transaction");
	if (!repo->id || !evault_identity_unlocked(repo->id))
		return evault_error_set(EVAULT_EAUTH, "an unlocked identity is needed to sign");
	if ((rc = build_tree(&tree_id, st)) < 0)
		goto done;
	if (git_tree_lookup(&tree, git, &tree_id) < 0) {
		rc = git_fail("cannot read the new state tree");
		goto done;
	}
	if ((rc = evault_buf_printf(&msg,
				    "%s\n\nEvault-Seq: %llu\nEvault-Action: %s\nEvault-Actor: %s\n",
				    ev->summary, (unsigned long long)seq, ev->action, actor)) < 0)
		goto done;
	if (ev->mission && (rc = evault_buf_printf(&msg, "Evault-Mission: %s\n", ev->mission)) < 0)
		goto done;
	if (ev->trailers && (rc = evault_buf_printf(&msg, "%s", ev->trailers)) < 0)
		goto done;
	if ((rc = evault_buf_printf(&email, "%s@%s.evault", actor, repo->cfg.vault_id_hex)) < 0)
		goto done;
	/* Time never goes backwards along the history, and one machine's clock
	 * does not date everyone's events: a parent dated in this clock's
	 * future (beyond the skew machines may have) stops the commit. */
	int64_t now = (int64_t)time(NULL);
	if (st->commit && git_commit_time(st->commit) > now + EVAULT_CLOCK_SKEW) {
		rc = evault_error_set(
		    EVAULT_ERROR,
		    "the last event is dated %lld s after this machine's clock: the "
		    "clock or the history is wrong; nothing recorded",
		    (long long)(git_commit_time(st->commit) - now));
		goto done;
	}
	if (st->commit && git_commit_time(st->commit) > now)
		now = git_commit_time(st->commit);
	if (git_signature_new(&who, actor, email.ptr, now, 0) < 0) {
		rc = git_fail("cannot create the commit signature");
		goto done;
	}
	const git_commit *parents[1] = {st->commit};
	if (git_commit_create_buffer(&body, git, who, who, NULL, msg.ptr, tree,
				     st->have_head ? 1 : 0, parents) < 0) {
		rc = git_fail("cannot create the commit");
		goto done;
	}
	if ((rc = identity_sign(&sig, repo->id, "git", body.ptr, body.size)) < 0)
		goto done;
	if (git_commit_create_with_signature(&commit_id, git, body.ptr, sig.ptr, "gpgsig") < 0) {
		rc = git_fail("cannot write the signed commit");
		goto done;
	}
	/* the new objects durable before the ref names them, the ref after */
	if ((rc = sync_repo(repo)) < 0)
		goto done;
	int e;
	if (st->have_head)
		e = git_reference_create_matching(&ref, git, MAIN_REF, &commit_id, 1, &st->head,
						  ev->action);
	else
		e = git_reference_create(&ref, git, MAIN_REF, &commit_id, 0, ev->action);
	if (e == GIT_EMODIFIED || e == GIT_EEXISTS || e == GIT_ELOCKED) {
		rc = evault_error_set(EVAULT_ELOCKED, "the history moved during the change; retry");
		goto done;
	}
	if (e < 0) {
		rc = git_fail("cannot move the history head");
		goto done;
	}
	int synced = sync_repo(repo); /* the event is recorded either way: say so after */
	/* The transaction now stands on the new head. */
	git_commit_free(st->commit);
	git_tree_free(st->tree);
	st->commit = NULL;
	st->tree = NULL;
	for (size_t i = 0; i < st->nedits; i++)
		free(st->edits[i].path);
	st->nedits = 0;
	if (st->have_head) { /* made here on a verified head: trusted as it is */
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), &commit_id);
		trust_made(repo, hex);
	}
	rc = load_head(st);
	if (rc == 0 && synced < 0)
		rc = evault_error_set(EVAULT_ERROR, "the event is recorded but the file system "
						    "could not be synced: check the disk");
done:
	git_reference_free(ref);
	git_buf_dispose(&body);
	git_signature_free(who);
	git_tree_free(tree);
	evault_buf_dispose(&msg);
	evault_buf_dispose(&sig);
	evault_buf_dispose(&email);
	return rc;
}

/* Checks a commit's SSH signature against the actor's key in the current state. */
static bool signature_ok(state *cur, git_commit *c, bool *has_sig)
{
	git_buf hdr = GIT_BUF_INIT_CONST(NULL, 0), sig = GIT_BUF_INIT_CONST(NULL, 0),
		signed_data = GIT_BUF_INIT_CONST(NULL, 0);
	evault_buf user = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	char actor[64], keyline[256];
	uint8_t signer[SSH_ED25519_PK_LEN], expected[SSH_ED25519_PK_LEN];
	bool ok = false;
	git_oid id = *git_commit_id(c);
	*has_sig = git_commit_header_field(&hdr, c, "gpgsig") == 0;
	if (!*has_sig)
		goto done;
	if (git_commit_extract_signature(&sig, &signed_data, git_commit_owner(c), &id, "gpgsig") <
		0 ||
	    sig.size != hdr.size || memcmp(sig.ptr, hdr.ptr, hdr.size) != 0)
		goto done;
	if (trailer_get(actor, sizeof(actor), git_commit_message(c), "Evault-Actor") < 0 ||
	    !user_name_valid(actor))
		goto done;
	if (evault_buf_printf(&path, "users/%s", actor) < 0 ||
	    state_read(cur, path.ptr, &user) < 0 ||
	    text_get(keyline, sizeof(keyline), user.ptr, user.size, "key") < 0 ||
	    sshkey_parse_public(expected, keyline) < 0)
		goto done;
	if (sshsig_verify(signer, sig.ptr, sig.size, "git", signed_data.ptr, signed_data.size) < 0)
		goto done;
	ok = sodium_memcmp(signer, expected, sizeof(signer)) == 0;
done:
	git_buf_dispose(&hdr);
	git_buf_dispose(&sig);
	git_buf_dispose(&signed_data);
	evault_buf_dispose(&user);
	evault_buf_dispose(&path);
	return ok;
}

int state_read_at(evault_repo *repo, const char *id_hex, bool parent, const char *path,
		  evault_buf *out)
{
	git_repository *git = repo->db->git;
	git_commit *c = NULL, *p = NULL;
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	git_oid id;
	int rc = EVAULT_ENOTFOUND;
	out->size = 0;
	if (git_oid_fromstr(&id, id_hex) < 0 || git_commit_lookup(&c, git, &id) < 0)
		goto done;
	if (parent && git_commit_parent(&p, c, 0) < 0)
		goto done;
	if (git_commit_tree(&t, parent ? p : c) < 0 || git_tree_entry_bypath(&e, t, path) < 0 ||
	    git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_blob_lookup(&b, git, git_tree_entry_id(e)) < 0)
		goto done;
	rc = evault_buf_put(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
done:
	git_blob_free(b);
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(p);
	git_commit_free(c);
	return rc;
}

int state_entry_id_at(evault_repo *repo, const char *id_hex, const char *path, char out[41])
{
	git_repository *git = repo->db->git;
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	git_oid id;
	out[0] = '\0';
	if (git_oid_fromstr(&id, id_hex) == 0 && git_commit_lookup(&c, git, &id) == 0 &&
	    git_commit_tree(&t, c) == 0 && git_tree_entry_bypath(&e, t, path) == 0)
		git_oid_tostr(out, 41, git_tree_entry_id(e));
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(c);
	git_error_clear();
	return 0;
}

int state_walk(evault_repo *repo, state_walk_cb cb, void *payload)
{
	git_revwalk *walk = NULL;
	state *cur = NULL;
	git_oid id;
	int rc = state_begin(&cur, repo, false);
	if (rc < 0)
		return rc;
	if (!cur->have_head)
		goto done;
	if (git_revwalk_new(&walk, repo->db->git) < 0 || git_revwalk_push(walk, &cur->head) < 0) {
		rc = git_fail("cannot walk the history");
		goto done;
	}
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL);
	while (rc == 0 && git_revwalk_next(&id, walk) == 0) {
		git_commit *c = NULL;
		char hex[GIT_OID_HEXSZ + 1];
		if (git_commit_lookup(&c, repo->db->git, &id) < 0) {
			rc = evault_error_set(EVAULT_ECORRUPT, "history commit unreadable");
			break;
		}
		state_commit_info info;
		git_oid_tostr(hex, sizeof(hex), &id);
		info.id_hex = hex;
		info.time = git_commit_time(c);
		info.message = git_commit_message(c);
		info.signed_ok = signature_ok(cur, c, &info.has_signature);
		rc = cb(&info, payload);
		git_commit_free(c);
	}
done:
	git_revwalk_free(walk);
	state_end(cur);
	return rc;
}
