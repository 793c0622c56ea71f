/*
 * audit verify (verify.h, evault/audit.h): the walk of the whole history
 * (verify_walk.c), then what a repository adds to it: the rollback
 * tripwires (the reflog of main, the head verified last), the keys a
 * verified history says were erased, a checkpoint given, and with
 * --objects every object a live file needs. Also the allowed-signers
 * file that pins the users' keys. On a replica, whose history lacks the
 * trees of the missions it does not hold, each of these checks covers the
 * missions held and passes over the others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <sodium.h>

#include "repo.h"
#include "state.h"
#include "util.h"
#include "device.h"
#include "verify.h"

#define VERIFIED_FILE "audit-verified"

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
			if (key && sp &&
			    sp < key) { /* options between the principals and the key */
				size_t ol = (size_t)(key - sp - 1);
				static const char ns[] = "namespaces=\"git\"";
				if (ol && !(ol == sizeof(ns) - 1 && memcmp(sp + 1, ns, ol) == 0)) {
					free(*out);
					*out = NULL;
					*n = 0;
					return evault_error_set(
					    EVAULT_EINVAL,
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

/* ---- object checks (keyless) ---- */

typedef struct objs_ctx {
	evault_repo *repo;
	evault_verify_result *res;
	bool failed;
} objs_ctx;

/* Is entry e of the missions directory a mission not held on this replica
 * (its tree stayed at the office)? Never on the office, where an absent
 * tree is damage. */
static bool not_held_here(const evault_repo *repo, git_repository *git, const char *where,
			  const git_tree_entry *e)
{
	return repo->replica && strcmp(where, "missions/") == 0 && tree_absent(git, e);
}

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
			if (not_held_here(o->repo, git, where, e))
				continue; /* neither its files nor their objects are here */
			snprintf(path, sizeof(path), "%s%s/", where, name);
			if (git_tree_lookup(&sub, git, git_tree_entry_id(e)) < 0)
				return verify_git_fail("cannot read the state");
			rc = check_objects_in(o, git, sub, path);
			git_tree_free(sub);
			continue;
		}
		size_t nl = strlen(name);
		if (nl < 5 || strcmp(name + nl - 5, ".objs") != 0)
			continue;
		git_blob *b = NULL;
		if (git_blob_lookup(&b, git, git_tree_entry_id(e)) < 0)
			return verify_git_fail("cannot read an object list");
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

/*
 * Every move of main in the reflog must be a fast-forward, and the reflog
 * must end at the head. The file is read a line at a time (each line:
 * "<old> <new> <who> <time> <tz>\t<message>"): memory stays constant
 * whatever the history's length. On a replica, sync replays the events
 * recorded there on the office's newer head (docs/deploy.md): that move,
 * "sync: replay", is sideways by design; the events it left behind were
 * never at the office, and the office verifies what replaced them.
 */
static void check_reflog(git_repository *git, const git_oid *head, bool replica,
			 evault_verify_result *res)
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
		const char *why = memchr(line + 82, '\t', n - 82);
		bool replay = replica && why && strncmp(why + 1, "sync: replay", 12) == 0;
		if (!git_oid_is_zero(&o) && !replay && !descends_or_equal(git, &nw, &o)) {
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
	size_t erasing;
} keys_ctx;

/* On a replica: does a device of user still hold mid (a device.hold not yet
 * followed by its device.erased)? Its copies wait for that erasure, which
 * the next sync does: the history says the erasure is owed, not done. */
static bool device_owes(keys_ctx *k, const char *mid, const char *user)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	git_tree_entry *e = NULL;
	git_tree *dir = NULL;
	bool owes = false;
	if (!k->repo->replica || evault_buf_printf(&path, "missions/%s/devices", mid) < 0 ||
	    git_tree_entry_bypath(&e, k->head, path.ptr) < 0 || !(dir = change_tree(k->git, e)))
		goto done;
	for (size_t i = 0; i < git_tree_entrycount(dir) && !owes; i++) {
		const char *name = git_tree_entry_name(git_tree_entry_byindex(dir, i));
		device_hold h;
		if (blob_at(&text, k->git, dir, name) == 0 &&
		    hold_parse(&h, name, text.ptr, text.size) == 0)
			owes = !h.erased && strcmp(h.user, user) == 0;
	}
done:
	git_error_clear();
	evault_error_clear();
	git_tree_free(dir);
	git_tree_entry_free(e);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return owes;
}

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
			bool admin = known && ur.role == EVAULT_ROLE_ADMIN;
			bool auditor = c == EVAULT_CLASS_DOSSIER && mission_is_auditor(&m, u);
			/* open: its members, auditors (dossier) and admins; closed: the
			 * dossier's auditors and admins; expired: nobody */
			bool keeps = closed || expired
					 ? c == EVAULT_CLASS_DOSSIER && closed && (auditor || admin)
					 : admin || auditor || mission_is_member(&m, u);
			bool active = !known || strcmp(ur.status, "active") == 0;
			/* a copy the history says must go, which this device has yet to erase */
			if ((!keeps || !active) && device_owes(k, mid, u)) {
				k->erasing++;
				continue;
			}
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
			if (!keeps) {
				k->res->ok = false;
				k->res->bad_commit[0] = '\0';
				snprintf(k->res->reason, sizeof(k->res->reason),
					 "mission %s is %s but %s still holds a copy of its %s key "
					 "(keys/missions/%s/%s/%s.sealed)%s",
					 mid, m.status, u, evault_class_name((evault_class)c), mid,
					 evault_class_name((evault_class)c), u,
					 closed || expired
					     ? ""
					     : ": not a member, an auditor or an admin");
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
		rc = verify_git_fail("cannot read the head");
		goto done;
	}
	if (git_tree_entry_bypath(&e, t, "missions") == 0 && (missions = change_tree(git, e))) {
		keys_ctx k = {repo, git, t, res, 0, 0};
		size_t n = git_tree_entrycount(missions);
		for (size_t i = 0; i < n && rc == 0 && res->ok; i++) {
			const git_tree_entry *me = git_tree_entry_byindex(missions, i);
			if (!not_held_here(repo, git, "missions/", me))
				rc = check_mission_keys(&k, git_tree_entry_name(me));
		}
		*closing = k.closing;
		res->erasing = k.erasing;
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

/* ---- verify ---- */

int verify_git(git_repository *git, evault_repo *repo, const evault_verify_opts *opts,
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
	rc = verify_chain(git, &head, NULL, repo ? repo->cfg.vault_id_hex : NULL,
			  repo && repo->replica, pins, npins, res);
	free(pins);
	if (rc < 0)
		return rc;
	if (res->ok && repo) {
		check_reflog(git, &head, repo->replica, res);
		if (res->ok)
			check_last_verified(repo, git, &head, res);
		if (res->ok && (rc = check_erased_keys(repo, git, &head, res, &res->closing)) < 0)
			return rc;
	}
	if (res->ok && opts->checkpoint)
		checkpoint_check(git, &head, opts->checkpoint, opts->checkpoint_len, res);
	if (res->ok && opts->objects && repo) {
		git_commit *c = NULL;
		git_tree *t = NULL;
		objs_ctx o = {repo, res, false};
		if (git_commit_lookup(&c, git, &head) < 0 || git_commit_tree(&t, c) < 0)
			rc = verify_git_fail("cannot read the head");
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
	    git_oid_fromstr(&head, res->head) == 0 &&
	    git_oid_fromstr(&trusted, repo->trusted) == 0 &&
	    !descends_or_equal(state_db_git(repo->db), &head, &trusted)) {
		res->ok = false;
		snprintf(res->bad_commit, sizeof(res->bad_commit), "%s", res->head);
		snprintf(
		    res->reason, sizeof(res->reason),
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
