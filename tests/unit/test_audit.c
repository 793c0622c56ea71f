/* The audit module: verify, checkpoints and show through the engine API. */
#include "helpers.h"

#include <git2.h>
#include <sodium.h>

#include "evault.h"
#include "identity.h"
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

/*
 * Long histories: verify hands commits to worker threads in batches; the
 * verdict must be the one a single thread gives, naming the first (oldest)
 * bad commit. Events are appended here directly, each a retention.run by
 * alice (no change of state), signed with her key, or with that signature
 * damaged when forged.
 */
static void append_events(git_oid *ids, size_t n, const bool *forge)
{
	git_repository *git = state_db_git(repo->db);
	git_oid head;
	assert_int_equal(git_reference_name_to_id(&head, git, "refs/heads/main"), 0);
	for (size_t i = 0; i < n; i++) {
		git_commit *parent = NULL;
		git_tree *tree = NULL;
		git_signature *who = NULL;
		git_buf body = GIT_BUF_INIT_CONST(NULL, 0);
		evault_buf sig = EVAULT_BUF_INIT;
		char seq[32], msg[200];
		assert_int_equal(git_commit_lookup(&parent, git, &head), 0);
		assert_int_equal(git_commit_tree(&tree, parent), 0);
		assert_int_equal(git_signature_now(&who, "alice", "alice@x.evault"), 0);
		assert_int_equal(
		    trailer_get(seq, sizeof(seq), git_commit_message(parent), "Evault-Seq"), 0);
		snprintf(msg, sizeof(msg),
			 "Retention\n\nEvault-Seq: %llu\nEvault-Action: retention.run\n"
			 "Evault-Actor: alice\n",
			 strtoull(seq, NULL, 10) + 1);
		const git_commit *parents[] = {parent};
		assert_int_equal(
		    git_commit_create_buffer(&body, git, who, who, NULL, msg, tree, 1, parents), 0);
		assert_int_equal(identity_sign(&sig, alice, "git", body.ptr, body.size), 0);
		if (forge && forge[i]) { /* one base64 character of the signature itself */
			char *end = strstr(sig.ptr, "-----END");
			assert_non_null(end);
			end[-10] = end[-10] == 'A' ? 'B' : 'A';
		}
		assert_int_equal(
		    git_commit_create_with_signature(&head, git, body.ptr, sig.ptr, "gpgsig"), 0);
		if (ids)
			ids[i] = head;
		git_reference *ref = NULL;
		assert_int_equal(
		    git_reference_create(&ref, git, "refs/heads/main", &head, 1, "test"), 0);
		git_reference_free(ref);
		evault_buf_dispose(&sig);
		git_buf_dispose(&body);
		git_signature_free(who);
		git_tree_free(tree);
		git_commit_free(parent);
	}
}

/* The verdict with EVAULT_THREADS=threads. */
static void verify_with(const char *threads, evault_verify_result *r)
{
	setenv("EVAULT_THREADS", threads, 1);
	assert_int_equal(evault_audit_verify(repo, NULL, r), 0);
	unsetenv("EVAULT_THREADS");
}

#define LONG 600

static void long_history_verifies_on_threads(void **s)
{
	evault_verify_result one, two;
	append_events(NULL, LONG, NULL);
	verify_with("1", &one);
	verify_with("2", &two);
	assert_true(one.ok);
	assert_true(two.ok);
	assert_int_equal(two.events, LONG + 2);
	assert_int_equal(two.seq, LONG + 1);
	assert_string_equal(two.vault_id, evault_repo_vault_id(repo));
	assert_string_equal(one.head, two.head);
}

static void deep_forgery_is_named(void **s)
{
	static git_oid ids[LONG];
	static bool forge[LONG];
	evault_verify_result one, two;
	char hex[41];
	memset(forge, 0, sizeof(forge));
	forge[40] = true; /* 560 events below the head: far past the first batches */
	append_events(ids, LONG, forge);
	verify_with("2", &two);
	verify_with("1", &one);
	git_oid_tostr(hex, sizeof(hex), &ids[40]);
	assert_false(two.ok);
	assert_string_equal(two.bad_commit, hex);
	assert_non_null(strstr(two.reason, "does not verify"));
	assert_int_equal(two.events, LONG + 2);
	assert_false(one.ok);
	assert_string_equal(one.bad_commit, two.bad_commit);
	assert_string_equal(one.reason, two.reason);
}

static void first_of_two_forgeries_is_named(void **s)
{
	static git_oid ids[LONG];
	static bool forge[LONG];
	evault_verify_result one, two, four;
	char hex[41];
	memset(forge, 0, sizeof(forge));
	forge[100] = true; /* the first bad commit in history order */
	forge[500] = true;
	append_events(ids, LONG, forge);
	verify_with("2", &two);
	verify_with("4", &four);
	verify_with("1", &one);
	git_oid_tostr(hex, sizeof(hex), &ids[100]);
	assert_false(two.ok);
	assert_string_equal(two.bad_commit, hex);
	assert_non_null(strstr(two.reason, "does not verify"));
	assert_string_equal(four.bad_commit, hex);
	assert_string_equal(four.reason, two.reason);
	assert_string_equal(one.bad_commit, hex);
	assert_string_equal(one.reason, two.reason);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(clean_history_verifies),
	    cmocka_unit_test(checkpoint_round_trip),
	    cmocka_unit_test(unsigned_commit_is_named),
	};
	const struct CMUnitTest long_tests[] = {
	    cmocka_unit_test_setup_teardown(long_history_verifies_on_threads, setup, teardown),
	    cmocka_unit_test_setup_teardown(deep_forgery_is_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(first_of_two_forgeries_is_named, setup, teardown),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);
	return failed + cmocka_run_group_tests(long_tests, NULL, NULL);
}
