/*
 * Checkpoints (evault/audit.h, docs/auditing.md): a C2SP signed note of the
 * head's sequence number and commit id, signed by a user with their own
 * identity, and its check against a history (audit verify --checkpoint):
 * a later history must still contain it, and its signer must have been a
 * user with that key at that point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>
#include <sodium.h>

#include "identity.h"
#include "repo.h"
#include "state.h"
#include "util.h"
#include "verify.h"

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

void checkpoint_check(git_repository *git, const git_oid *head, const char *text, size_t len,
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
