/*
 * The trusted head (trust.h, docs/auditing.md): the last head
 * an identity verified, kept outside the repository; every head the engine
 * loads after it is verified first, from there (verify_walk.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>
#include <sodium.h>

#include "repo.h"
#include "state.h"
#include "trust.h"
#include "util.h"
#include "verify.h"

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
			      repo->replica, NULL, 0, &res);
	repo->trust_checking = false;
	if (rc < 0)
		return rc;
	if (!res.ok)
		return evault_error_set(
		    EVAULT_ERROR,
		    "the history does not verify, nothing done: commit %.12s: %s "
		    "(evault audit verify)",
		    res.bad_commit[0] ? res.bad_commit : res.head, res.reason);
	trust_made(repo, head_hex);
	trust_save(repo); /* a failed write: verified all the same, the next open checks again */
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
			rc =
			    evault_error_set(EVAULT_ECORRUPT,
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
