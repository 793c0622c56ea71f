/*
 * audit show (evault/audit.h): one event, readable, with the verifier's
 * verdict on it alone (signature, role, changes; verify_rules.c), its
 * message and the paths it changed. Also who may see a mission's events,
 * as evault log decides it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#include "mission.h"
#include "repo.h"
#include "state.h"
#include "util.h"
#include "verify.h"

/* The events of a mission are shown to a user who holds a key of it, to
 * admins and auditors, and to a reader without identity (who reads the
 * repository files, as git does): the rule of evault log. */
bool audit_reader_sees(evault_repo *repo, const char *mid)
{
	return !repo->have_actor || repo->role == EVAULT_ROLE_ADMIN ||
	       repo->role == EVAULT_ROLE_AUDITOR || mission_visible(repo, mid);
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
		return verify_git_fail("cannot read the event");
	char mission[EVAULT_MID_MAX + 1];
	if (trailer_get(mission, sizeof(mission), git_commit_message(c), "Evault-Mission") == 0 &&
	    !audit_reader_sees(repo, mission)) { /* as log: a mission the reader holds no key for */
		git_commit_free(c);
		return evault_error_set(EVAULT_ENOTFOUND,
					"no event %.64s (a sequence number or a commit id)", which);
	}
	evault_error_clear();
	if (git_commit_parentcount(c) == 1 && git_commit_parent(&parent, c, 0) < 0) {
		rc = verify_git_fail("cannot read the event's parent");
		goto done;
	}
	/* the signature, as verify judges it for this one commit */
	evault_verify_result res;
	verifier v;
	memset(&res, 0, sizeof(res));
	memset(&v, 0, sizeof(v));
	v.git = git;
	v.partial = repo->replica;
	v.res = &res;
	v.id = &id;
	v.now = (int64_t)time(NULL);
	verify_commit(&v, c, parent);
	char when[32], hex[GIT_OID_HEXSZ + 1];
	time_t t = (time_t)git_commit_time(c);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	git_oid_tostr(hex, sizeof(hex), &id);
	const char *verdict = "valid (signature, role, changes)";
	if (v.failed)
		verdict = "FAILS: ";
	else if (v.not_held) /* its rule reads trees that stayed at the office */
		verdict = "valid (signature, role, scope: a mission not held on this replica)";
	if ((rc = evault_buf_printf(out, "commit  %s\ntime    %s\nverdict %s%s\n\n", hex, when,
				    verdict, v.failed ? res.reason : "")) < 0)
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
	if (v.not_held) { /* (never the root) */
		/* its trees stayed at the office: what it changed is its directory */
		evault_buf p = EVAULT_BUF_INIT;
		git_tree_entry *e = NULL;
		bool existed = git_commit_tree(&pt, parent) == 0 &&
			       evault_buf_printf(&p, "missions/%s", v.mission) == 0 &&
			       git_tree_entry_bypath(&e, pt, p.ptr) == 0;
		git_tree_entry_free(e);
		evault_buf_dispose(&p);
		if (!git_oid_equal(git_commit_tree_id(c), git_commit_tree_id(parent)))
			rc = evault_buf_printf(out,
					       "    %c missions/%s/ (not held on this replica)\n",
					       existed ? 'M' : 'A', v.mission);
		goto done;
	}
	if (git_commit_tree(&ct, c) < 0 || (parent && git_commit_tree(&pt, parent) < 0) ||
	    git_diff_tree_to_tree(&diff, git, pt, ct, NULL) < 0) {
		if (repo->replica && ct && (pt || !parent)) /* (the verdict above says more) */
			rc = evault_buf_printf(out, "    (they reach trees not held on this "
						    "replica)\n");
		else
			rc = verify_git_fail("cannot compare the event's state");
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
