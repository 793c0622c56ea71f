/* The audit module: verify, checkpoints and show through the engine API. */
#include "helpers.h"

#include <git2.h>
#include <sodium.h>

#include "evault.h"
#include "repo.h"
#include "state.h"

static char *dir;
static char repo_path[512];
static evault_identity *alice;
static evault_repo *repo;

static int setup(void **s)
{
	char p[600];
	assert_int_equal(evault_global_init(), 0);
	dir = make_tmpdir();
	snprintf(repo_path, sizeof(repo_path), "%s/vault", dir);
	snprintf(p, sizeof(p), "%s/alice.id", dir);
	assert_int_equal(evault_identity_create(&alice, p, "alice", "pw", 2, 0), 0);
	assert_int_equal(evault_repo_init(&repo, repo_path, NULL, alice, "alice"), 0);
	assert_int_equal(evault_mission_create(repo, "M-1", NULL, NULL, 0), 0);
	return 0;
}

static int teardown(void **s)
{
	evault_repo_free(repo);
	evault_identity_free(alice);
	rm_rf(dir);
	free(dir);
	return 0;
}

static void clean_history_verifies(void **s)
{
	evault_verify_result r;
	assert_int_equal(evault_audit_verify(repo, NULL, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.seq, 1);
	assert_int_equal(r.events, 2);
	assert_string_equal(r.vault_id, evault_repo_vault_id(repo));
}

static void checkpoint_round_trip(void **s)
{
	evault_buf cp = EVAULT_BUF_INIT;
	evault_verify_opts o = EVAULT_VERIFY_OPTS_INIT;
	evault_verify_result r;
	assert_int_equal(evault_audit_checkpoint(repo, &cp), 0);
	o.checkpoint = cp.ptr;
	o.checkpoint_len = cp.size;
	assert_int_equal(evault_audit_verify(repo, &o, &r), 0);
	assert_true(r.ok);
	/* any changed byte of the body breaks it */
	char *t = strstr(cp.ptr, "time ");
	t[5] = t[5] == '1' ? '2' : '1';
	assert_int_equal(evault_audit_verify(repo, &o, &r), 0);
	assert_false(r.ok);
	assert_non_null(strstr(r.reason, "checkpoint"));
	evault_buf_dispose(&cp);
}

static void unsigned_commit_is_named(void **s)
{
	/* a commit appended by libgit2 without a signature */
	git_repository *git = state_db_git(repo->db);
	git_oid head, id;
	git_commit *parent = NULL;
	git_tree *tree = NULL;
	git_signature *who = NULL;
	evault_verify_result r;
	char hex[41];
	assert_int_equal(git_reference_name_to_id(&head, git, "refs/heads/main"), 0);
	assert_int_equal(git_commit_lookup(&parent, git, &head), 0);
	assert_int_equal(git_commit_tree(&tree, parent), 0);
	assert_int_equal(git_signature_now(&who, "alice", "a@x"), 0);
	const git_commit *parents[] = {parent};
	assert_int_equal(
	    git_commit_create(&id, git, "refs/heads/main", who, who, NULL,
			      "x\n\nEvault-Seq: 2\nEvault-Action: file.add\nEvault-Actor: alice\n",
			      tree, 1, parents),
	    0);
	assert_int_equal(evault_audit_verify(repo, NULL, &r), 0);
	assert_false(r.ok);
	git_oid_tostr(hex, sizeof(hex), &id);
	assert_string_equal(r.bad_commit, hex);
	assert_non_null(strstr(r.reason, "not signed"));
	/* show gives the same verdict */
	evault_buf out = EVAULT_BUF_INIT;
	assert_int_equal(evault_audit_show(repo, "2", &out), 0);
	assert_non_null(strstr(out.ptr, "FAILS: the commit is not signed"));
	evault_buf_dispose(&out);
	git_signature_free(who);
	git_tree_free(tree);
	git_commit_free(parent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(clean_history_verifies),
	    cmocka_unit_test(checkpoint_round_trip),
	    cmocka_unit_test(unsigned_commit_is_named),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
