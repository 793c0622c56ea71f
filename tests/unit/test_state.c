/* The audit repository: transactions, sequence, CAS, signatures, lock. */
#include "helpers.h"

#include <sodium.h>
#include <sys/file.h>

#include "evault.h"
#include "repo.h"
#include "state.h"

static char *dir;
static char repo_path[512], id_path[512];
static evault_identity *id;
static evault_repo *repo;

static int setup(void **s)
{
	assert_int_equal(evault_global_init(), 0);
	dir = make_tmpdir();
	snprintf(repo_path, sizeof(repo_path), "%s/vault", dir);
	snprintf(id_path, sizeof(id_path), "%s/id", dir);
	assert_int_equal(evault_identity_create(&id, id_path, "alice", "pw", 2, 0), 0);
	assert_int_equal(evault_repo_init(&repo, repo_path, NULL, id, "alice"), 0);
	return 0;
}

static int teardown(void **s)
{
	evault_repo_free(repo);
	evault_identity_free(id);
	rm_rf(dir);
	free(dir);
	return 0;
}

static void root_commit(void **s)
{
	state *st = NULL;
	evault_buf b = EVAULT_BUF_INIT;
	assert_int_equal(state_begin(&st, repo, false), 0);
	assert_false(state_is_empty(st));
	assert_int_equal(state_seq(st), 0);
	assert_int_equal(state_read(st, "VAULT", &b), 0);
	assert_non_null(strstr(b.ptr, evault_repo_vault_id(repo)));
	assert_int_equal(state_read(st, "users/alice", &b), 0);
	assert_non_null(strstr(b.ptr, "role admin"));
	assert_int_equal(state_read(st, "nothing/here", &b), EVAULT_ENOTFOUND);
	evault_buf_dispose(&b);
	state_end(st);
}

static void edits_and_seq(void **s)
{
	state *st = NULL;
	evault_buf b = EVAULT_BUF_INIT;
	assert_int_equal(state_begin(&st, repo, true), 0);
	assert_int_equal(state_put(st, "a/b/c", "x", 1), 0);
	state_event ev = {NULL, "test.one", NULL, "one", NULL};
	assert_int_equal(state_commit(st, &ev), 0);
	assert_int_equal(state_seq(st), 1);
	assert_int_equal(state_remove(st, "a"), 0); /* a whole subtree */
	state_event ev2 = {NULL, "test.two", NULL, "two", "Evault-Extra: yes\n"};
	assert_int_equal(state_commit(st, &ev2), 0);
	assert_int_equal(state_seq(st), 2);
	assert_false(state_exists(st, "a/b/c"));
	state_end(st);
	assert_int_equal(state_begin(&st, repo, false), 0);
	assert_int_equal(state_seq(st), 2);
	/* a read-only view cannot edit */
	assert_int_not_equal(state_put(st, "x", "y", 1), 0);
	state_end(st);
	evault_buf_dispose(&b);
}

static int walk_cb(const state_commit_info *c, void *p)
{
	int *n = p;
	assert_true(c->has_signature);
	assert_true(c->signed_ok);
	(*n)++;
	return 0;
}

static void history_signed(void **s)
{
	int n = 0;
	assert_int_equal(state_walk(repo, walk_cb, &n), 0);
	assert_int_equal(n, 3);
}

static void trailers(void **s)
{
	char v[32];
	const char *msg = "Summary\n\nEvault-Seq: 12\nEvault-Actor: bob\n";
	assert_int_equal(trailer_get(v, sizeof(v), msg, "Evault-Seq"), 0);
	assert_string_equal(v, "12");
	assert_int_equal(trailer_get(v, sizeof(v), msg, "Evault-Actor"), 0);
	assert_string_equal(v, "bob");
	assert_int_equal(trailer_get(v, sizeof(v), msg, "Evault-Mission"), EVAULT_ENOTFOUND);
}

static void moved_ref_is_refused(void **s)
{
	/* The ref moves under an open transaction (a tool other than evault):
	 * the commit must not land on top of the old head. */
	state *a = NULL, *check = NULL;
	char cmd[1200];
	assert_int_equal(state_begin(&a, repo, true), 0);
	uint64_t seq = state_seq(a);
	snprintf(cmd, sizeof(cmd), "git -C %s/audit.git update-ref refs/heads/main main~1",
		 repo_path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(state_put(a, "k1", "1", 1), 0);
	state_event ev = {NULL, "test.a", NULL, "a", NULL};
	assert_int_equal(state_commit(a, &ev), EVAULT_ELOCKED);
	state_end(a);
	assert_int_equal(state_begin(&check, repo, false), 0);
	assert_int_equal(state_seq(check), seq - 1);
	assert_false(state_exists(check, "k1"));
	state_end(check);
}

static void lock_is_exclusive(void **s)
{
	state *a = NULL;
	char lock[600];
	snprintf(lock, sizeof(lock), "%s/lock", repo_path);
	assert_int_equal(state_begin(&a, repo, true), 0);
	int fd = open(lock, O_RDWR);
	assert_true(fd >= 0);
	assert_int_not_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	state_end(a);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(root_commit),          cmocka_unit_test(edits_and_seq),
	    cmocka_unit_test(history_signed),       cmocka_unit_test(trailers),
	    cmocka_unit_test(moved_ref_is_refused), cmocka_unit_test(lock_is_exclusive),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
