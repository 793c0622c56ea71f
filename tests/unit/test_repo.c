/*
 * Engine flows through the public API: repositories, users, missions,
 * files, access rules, corruption, concurrency.
 */
#include "helpers.h"

#include <pthread.h>
#include <sodium.h>

#include "evault.h"

#define CS 65536 /* small chunks: boundaries are cheap to test */

static char *dir;
static char repo_path[512];
static evault_identity *alice, *bob, *carol, *dave;
static evault_repo *ra, *rb, *rc_,
    *rd; /* acting as alice (admin), bob, carol (techs), dave (auditor) */

static evault_identity *make_id(const char *name)
{
	char p[600];
	evault_identity *id = NULL;
	snprintf(p, sizeof(p), "%s/%s.id", dir, name);
	assert_int_equal(evault_identity_create(&id, p, name, "pw", 2, 0), 0);
	return id;
}

static evault_repo *open_as(evault_identity *id)
{
	evault_repo *r = NULL;
	assert_int_equal(evault_repo_open(&r, repo_path), 0);
	assert_int_equal(evault_repo_set_identity(r, id), 0);
	return r;
}

static void add_user(evault_identity *id, evault_role role)
{
	evault_buf line = EVAULT_BUF_INIT;
	evault_identity_public_line(&line, id);
	assert_int_equal(evault_user_add(ra, evault_identity_name(id), role, line.ptr), 0);
	evault_buf_dispose(&line);
}

static int setup(void **s)
{
	evault_init_opts o = EVAULT_INIT_OPTS_INIT;
	o.chunk_size = CS;
	assert_int_equal(evault_global_init(), 0);
	dir = make_tmpdir();
	snprintf(repo_path, sizeof(repo_path), "%s/vault", dir);
	alice = make_id("alice");
	bob = make_id("bob");
	carol = make_id("carol");
	dave = make_id("dave");
	assert_int_equal(evault_repo_init(&ra, repo_path, &o, alice, "alice"), 0);
	add_user(bob, EVAULT_ROLE_TECHNICIAN);
	add_user(carol, EVAULT_ROLE_TECHNICIAN);
	add_user(dave, EVAULT_ROLE_AUDITOR);
	rb = open_as(bob);
	rc_ = open_as(carol);
	rd = open_as(dave);
	const char *members[] = {"bob"};
	evault_mission_info info = {"ACME SA", "Lyon", "alarm", NULL};
	assert_int_equal(evault_mission_create(ra, "M-1", &info, members, 1), 0);
	const char *members2[] = {"carol"};
	assert_int_equal(evault_mission_create(ra, "M-2", NULL, members2, 1), 0);
	return 0;
}

static int teardown(void **s)
{
	evault_repo_free(ra);
	evault_repo_free(rb);
	evault_repo_free(rc_);
	evault_repo_free(rd);
	evault_identity_free(alice);
	evault_identity_free(bob);
	evault_identity_free(carol);
	evault_identity_free(dave);
	rm_rf(dir);
	free(dir);
	return 0;
}

/* Puts len bytes of data through a temporary file. */
static int put_bytes(evault_repo *r, const char *vp, const uint8_t *data, size_t len, bool force)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/src", dir);
	write_bytes(p, data, len);
	int fd = open(p, O_RDONLY);
	evault_put_opts o = EVAULT_PUT_OPTS_INIT;
	o.force = force;
	int rc = evault_file_put_fd(r, vp, fd, &o);
	close(fd);
	return rc;
}

/* Gets a file into a buffer (through a temporary file). */
static int get_bytes(evault_repo *r, const char *vp, uint8_t **out, size_t *len)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/dst", dir);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int rc = evault_file_get_fd(r, vp, fd);
	off_t n = lseek(fd, 0, SEEK_END);
	*out = malloc((size_t)n + 1);
	*len = (size_t)pread(fd, *out, (size_t)n, 0);
	close(fd);
	return rc;
}

static void repo_refusals(void **s)
{
	evault_repo *r = NULL;
	char p[600], conf[1400];
	evault_buf b = EVAULT_BUF_INIT;
	/* init into a non-empty directory */
	assert_int_equal(evault_repo_init(&r, repo_path, NULL, alice, "alice"), EVAULT_EEXISTS);
	/* open something that is not a vault */
	assert_int_equal(evault_repo_open(&r, dir), EVAULT_ENOTFOUND);
	/* a conf that does not match the signed history */
	snprintf(p, sizeof(p), "%s/copy", dir);
	snprintf(conf, sizeof(conf), "cp -a %s %s", repo_path, p);
	assert_int_equal(system(conf), 0);
	snprintf(conf, sizeof(conf), "%s/evault.conf", p);
	write_bytes(conf, "format 4\nvault-id 00112233445566778899aabbccddeeff\nchunk-size 65536\n",
		    68);
	assert_int_equal(evault_repo_open(&r, p), EVAULT_ECORRUPT);
	write_bytes(conf, "format 7\nvault-id 00112233445566778899aabbccddeeff\nchunk-size 65536\n",
		    68);
	assert_int_equal(evault_repo_open(&r, p), EVAULT_EFORMAT);
	write_bytes(conf, "garbage", 7);
	assert_int_equal(evault_repo_open(&r, p), EVAULT_ECORRUPT);
	assert_null(r);
	/* an identity that is no user here */
	evault_identity *stranger = make_id("stranger");
	assert_int_equal(evault_repo_open(&r, repo_path), 0);
	assert_int_equal(evault_repo_set_identity(r, stranger), EVAULT_EDENIED);
	evault_repo_free(r);
	evault_identity_free(stranger);
	evault_buf_dispose(&b);
}

static void user_rules(void **s)
{
	evault_buf line = EVAULT_BUF_INIT;
	evault_identity_public_line(&line, bob);
	/* a technician cannot add users */
	assert_int_equal(evault_user_add(rb, "eve", EVAULT_ROLE_ADMIN, line.ptr), EVAULT_EDENIED);
	/* same name, same key */
	assert_int_equal(evault_user_add(ra, "bob", EVAULT_ROLE_TECHNICIAN, line.ptr),
			 EVAULT_EEXISTS);
	assert_int_equal(evault_user_add(ra, "bob2", EVAULT_ROLE_TECHNICIAN, line.ptr),
			 EVAULT_EEXISTS);
	assert_int_equal(evault_user_add(ra, "Bad/Name", EVAULT_ROLE_TECHNICIAN, line.ptr),
			 EVAULT_EINVAL);
	assert_int_equal(evault_user_add(ra, "eve", EVAULT_ROLE_TECHNICIAN, "ssh-rsa AAAA"),
			 EVAULT_EINVAL);
	evault_buf_dispose(&line);
}

static void mission_rules(void **s)
{
	const char *nobody[] = {"nobody"}, *aud[] = {"dave"};
	assert_int_equal(evault_mission_create(rb, "M-9", NULL, NULL, 0), EVAULT_EDENIED);
	assert_int_equal(evault_mission_create(ra, "M-1", NULL, NULL, 0), EVAULT_EEXISTS);
	assert_int_equal(evault_mission_create(ra, "../M", NULL, NULL, 0), EVAULT_EINVAL);
	assert_int_equal(evault_mission_create(ra, "M-9", NULL, nobody, 1), EVAULT_ENOTFOUND);
	assert_int_equal(evault_mission_create(ra, "M-9", NULL, aud, 1), EVAULT_EINVAL);
	/* a failed create leaves no key copies behind */
	char p[700];
	snprintf(p, sizeof(p), "%s/keys/missions/M-9", repo_path);
	assert_int_not_equal(access(p, F_OK), 0);
}

static int count_missions(const char *mid, const char *status, void *p)
{
	(*(int *)p)++;
	return 0;
}

static void non_members_see_nothing(void **s)
{
	evault_mission_view *v = NULL;
	int n = 0;
	/* bob sees M-1 only; the admin sees both */
	assert_int_equal(evault_mission_list(rb, count_missions, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(evault_mission_list(ra, count_missions, &n), 0);
	assert_int_equal(n, 2);
	/* carol asking about M-1 gets the same answer as for a mission that does not exist */
	assert_int_equal(evault_mission_show(rc_, "M-1", &v), EVAULT_ENOTFOUND);
	char msg1[256];
	snprintf(msg1, sizeof(msg1), "%s", evault_error_last());
	assert_int_equal(evault_mission_show(rc_, "M-404", &v), EVAULT_ENOTFOUND);
	char msg2[256];
	snprintf(msg2, sizeof(msg2), "%s", evault_error_last());
	assert_non_null(strstr(msg1, "no such mission"));
	assert_non_null(strstr(msg2, "no such mission"));
	const uint8_t d[] = "x";
	assert_int_equal(put_bytes(rc_, "M-1/work/x.txt", d, 1, false), EVAULT_ENOTFOUND);
	uint8_t *out;
	size_t len;
	assert_int_equal(put_bytes(rb, "M-1/work/secret.txt", d, 1, false), 0);
	assert_int_equal(get_bytes(rc_, "M-1/work/secret.txt", &out, &len), EVAULT_ENOTFOUND);
	assert_int_equal(len, 0);
	free(out);
	/* the member sees the client name; carol cannot */
	assert_int_equal(evault_mission_show(rb, "M-1", &v), 0);
	assert_true(v->has_info);
	assert_string_equal(v->client, "ACME SA");
	evault_mission_view_free(v);
}

static void round_trips(void **s)
{
	const size_t sizes[] = {0, 1, CS - 1, CS, CS + 1, 3 * CS + 7};
	uint8_t *data = malloc(4 * CS);
	randombytes_buf(data, 4 * CS);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char vp[64];
		uint8_t *out;
		size_t len;
		snprintf(vp, sizeof(vp), "M-1/dossier/size-%zu.bin", sizes[i]);
		assert_int_equal(put_bytes(rb, vp, data, sizes[i], false), 0);
		assert_int_equal(get_bytes(rb, vp, &out, &len), 0);
		assert_int_equal(len, sizes[i]);
		if (len)
			assert_memory_equal(out, data, len);
		free(out);
		/* admins hold every key */
		assert_int_equal(get_bytes(ra, vp, &out, &len), 0);
		assert_int_equal(len, sizes[i]);
		free(out);
	}
	/* an existing path is not overwritten unless forced */
	assert_int_equal(put_bytes(rb, "M-1/dossier/size-1.bin", data, 5, false), EVAULT_EEXISTS);
	assert_int_equal(put_bytes(rb, "M-1/dossier/size-1.bin", data, 5, true), 0);
	uint8_t *out;
	size_t len;
	assert_int_equal(get_bytes(rb, "M-1/dossier/size-1.bin", &out, &len), 0);
	assert_int_equal(len, 5);
	free(out);
	free(data);
}

static int nobj;

static int count_files(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	if (flag == FTW_F)
		nobj++;
	return 0;
}

static int objects_in_repo(void)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/objects", repo_path);
	nobj = 0;
	nftw(p, count_files, 16, FTW_PHYS);
	return nobj;
}

static void dedup(void **s)
{
	uint8_t *data = malloc(2 * CS);
	randombytes_buf(data, 2 * CS);
	assert_int_equal(put_bytes(rb, "M-1/work/a.bin", data, 2 * CS, false), 0);
	int before = objects_in_repo();
	assert_int_equal(put_bytes(rb, "M-1/work/b.bin", data, 2 * CS, false), 0);
	assert_int_equal(objects_in_repo(), before);
	/* the same bytes in another class are stored apart */
	assert_int_equal(put_bytes(rb, "M-1/dossier/c.bin", data, 2 * CS, false), 0);
	assert_int_equal(objects_in_repo(), before + 2);
	free(data);
}

static int names_cb(const evault_entry *e, void *p)
{
	evault_buf *b = p;
	evault_buf_printf(b, "%s%s,", e->name, e->is_dir ? "/" : "");
	return 0;
}

static void listing(void **s)
{
	evault_buf b = EVAULT_BUF_INIT;
	const uint8_t d[] = "note";
	assert_int_equal(put_bytes(rb, "M-1/codes/sub/dir/a.txt", d, 4, false), 0);
	assert_int_equal(put_bytes(rb, "M-1/codes/sub/b.txt", d, 4, false), 0);
	assert_int_equal(put_bytes(rb, "M-1/codes/top.txt", d, 4, false), 0);
	assert_int_equal(evault_file_list(rb, "M-1/codes", names_cb, &b), 0);
	assert_string_equal(b.ptr, "sub/,top.txt,");
	b.size = 0;
	assert_int_equal(evault_file_list(rb, "M-1/codes/sub", names_cb, &b), 0);
	assert_string_equal(b.ptr, "b.txt,dir/,");
	b.size = 0;
	assert_int_equal(evault_file_list(rb, "M-1/codes/none", names_cb, &b), EVAULT_ENOTFOUND);
	assert_int_equal(evault_file_list(rb, "M-1/nope", names_cb, &b), EVAULT_EINVAL);
	assert_int_equal(evault_file_remove(rb, "M-1/codes/top.txt"), 0);
	assert_int_equal(evault_file_remove(rb, "M-1/codes/top.txt"), EVAULT_ENOTFOUND);
	b.size = 0;
	assert_int_equal(evault_file_list(rb, "M-1/codes", names_cb, &b), 0);
	assert_string_equal(b.ptr, "sub/,");
	evault_buf_dispose(&b);
}

static void bad_paths(void **s)
{
	const uint8_t d[] = "x";
	assert_int_equal(put_bytes(rb, "M-1/work/../x", d, 1, false), EVAULT_EINVAL);
	assert_int_equal(put_bytes(rb, "M-1/work//x", d, 1, false), EVAULT_EINVAL);
	assert_int_equal(put_bytes(rb, "M-1/secret/x", d, 1, false), EVAULT_EINVAL);
	assert_int_equal(put_bytes(rb, "M-1/work", d, 1, false), EVAULT_EINVAL);
	assert_int_equal(put_bytes(rb, "../M-1/work/x", d, 1, false), EVAULT_EINVAL);
}

static void auditor_and_grants(void **s)
{
	const uint8_t d[] = "dossier text";
	uint8_t *out;
	size_t len;
	assert_int_equal(put_bytes(rb, "M-1/dossier/report.txt", d, sizeof(d), false), 0);
	assert_int_equal(get_bytes(rd, "M-1/dossier/report.txt", &out, &len), EVAULT_ENOTFOUND);
	free(out);
	assert_int_equal(evault_mission_grant(rb, "M-1", "dave"), EVAULT_EDENIED);
	assert_int_equal(evault_mission_grant(ra, "M-1", "dave"), 0);
	assert_int_equal(evault_mission_grant(ra, "M-1", "dave"), EVAULT_EEXISTS);
	assert_int_equal(get_bytes(rd, "M-1/dossier/report.txt", &out, &len), 0);
	assert_int_equal(len, sizeof(d));
	free(out);
	/* the auditor reads the dossier only, and writes nothing */
	assert_int_equal(get_bytes(rd, "M-1/work/a.bin", &out, &len), EVAULT_ENOTFOUND);
	free(out);
	assert_int_equal(put_bytes(rd, "M-1/dossier/forged.txt", d, 3, false), EVAULT_EREADONLY);
	/* grant carol, then revoke her: her key copies are gone */
	assert_int_equal(evault_mission_grant(ra, "M-1", "carol"), 0);
	assert_int_equal(get_bytes(rc_, "M-1/dossier/report.txt", &out, &len), 0);
	free(out);
	assert_int_equal(evault_mission_revoke(ra, "M-1", "carol"), 0);
	assert_int_equal(get_bytes(rc_, "M-1/dossier/report.txt", &out, &len), EVAULT_ENOTFOUND);
	free(out);
	char p[700];
	for (int c = 0; c < 3; c++) {
		snprintf(p, sizeof(p), "%s/keys/missions/M-1/%s/carol.sealed", repo_path,
			 evault_class_name((evault_class)c));
		assert_int_not_equal(access(p, F_OK), 0);
	}
	assert_int_equal(evault_mission_revoke(ra, "M-1", "carol"), EVAULT_ENOTFOUND);
}

static void corrupted_object_never_yields_wrong_bytes(void **s)
{
	uint8_t *data = malloc(3 * CS), *out;
	size_t len;
	char cmd[1200];
	randombytes_buf(data, 3 * CS);
	/* the file's objects are the ones its put adds (times are too coarse to tell) */
	snprintf(cmd, sizeof(cmd), "find %s/objects -type f | sort >%s/objects.before", repo_path,
		 repo_path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(put_bytes(rb, "M-1/work/victim.bin", data, 3 * CS, false), 0);
	snprintf(cmd, sizeof(cmd),
		 "f=$(find %s/objects -type f | sort | comm -13 %s/objects.before - | sed -n 2p); "
		 "test -n \"$f\" && chmod u+w $f && "
		 "printf 'X' | dd of=$f bs=1 seek=100 conv=notrunc 2>/dev/null",
		 repo_path, repo_path);
	assert_int_equal(system(cmd), 0);
	int rc = get_bytes(rb, "M-1/work/victim.bin", &out, &len);
	assert_int_equal(rc, EVAULT_ECORRUPT);
	/* what was written before the error is a verified prefix, never altered */
	assert_true(len < 3 * CS);
	if (len)
		assert_memory_equal(out, data, len);
	free(out);
	free(data);
}

typedef struct writer {
	evault_identity *id;
	int index;
	int rc;
} writer;

static void *write_many(void *p)
{
	writer *w = p;
	evault_repo *r = open_as(w->id);
	char vp[64], src[600];
	w->rc = 0;
	for (int i = 0; i < 5 && w->rc == 0; i++) {
		snprintf(vp, sizeof(vp), "M-1/work/w%d-%d.txt", w->index, i);
		snprintf(src, sizeof(src), "%s/src-%d", dir, w->index);
		write_bytes(src, vp, strlen(vp));
		int fd = open(src, O_RDONLY);
		w->rc = evault_file_put_fd(r, vp, fd, NULL);
		close(fd);
	}
	evault_repo_free(r);
	return NULL;
}

static int seq_head(const evault_event *ev, void *p)
{
	uint64_t *h = p;
	if (ev->seq > *h)
		*h = ev->seq;
	return 0;
}

static int seq_cb(const evault_event *ev, void *p)
{
	uint64_t *expect = p;
	assert_int_equal(ev->seq, *expect);
	assert_true(ev->signed_ok);
	(*expect)--;
	return 0;
}

static void concurrent_writers(void **s)
{
	pthread_t t[2];
	writer w[2] = {{bob, 0, -1}, {alice, 1, -1}};
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, write_many, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(w[0].rc, 0);
	assert_int_equal(w[1].rc, 0);
	/* all ten landed; the history is contiguous and signed */
	evault_buf b = EVAULT_BUF_INIT;
	assert_int_equal(evault_file_list(rb, "M-1/work", names_cb, &b), 0);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 5; j++) {
			char n[32];
			snprintf(n, sizeof(n), "w%d-%d.txt,", i, j);
			assert_non_null(strstr(b.ptr, n));
		}
	evault_buf_dispose(&b);
	uint64_t head = 0;
	assert_int_equal(evault_log_walk(ra, NULL, seq_head, &head), 0);
	assert_int_equal(evault_log_walk(ra, NULL, seq_cb, &head), 0);
	assert_int_equal((int64_t)head, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(repo_refusals),
	    cmocka_unit_test(user_rules),
	    cmocka_unit_test(mission_rules),
	    cmocka_unit_test(non_members_see_nothing),
	    cmocka_unit_test(round_trips),
	    cmocka_unit_test(dedup),
	    cmocka_unit_test(listing),
	    cmocka_unit_test(bad_paths),
	    cmocka_unit_test(auditor_and_grants),
	    cmocka_unit_test(corrupted_object_never_yields_wrong_bytes),
	    cmocka_unit_test(concurrent_writers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
