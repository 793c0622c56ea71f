/*
 * Close as cryptographic erasure, proved at the level of the bytes: the
 * work and codes objects of a mission, kept from before its close, can be
 * decrypted before it and cannot be decrypted after it with any key that
 * any identity can recover from what survives (every key copy left in the
 * key store, opened with every identity, tried as every class key).
 */
#include "helpers.h"

#include <dirent.h>

#include <sodium.h>

#include "backend.h"
#include "chunk.h"
#include "close.h"
#include "evault.h"
#include "identity.h"
#include "keystore.h"
#include "repo.h"
#include "secret.h"

static char *dir;
static char repo_path[512];
static evault_identity *alice, *bob;
static evault_repo *repo;

typedef struct saved {
	uint8_t id[OBJECT_ID_LEN];
	uint8_t *bytes;
	size_t len;
} saved;

static int put_bytes(evault_repo *r, const char *vpath, size_t n, unsigned seed)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputc((int)((i * 131 + seed) & 0xff) ^ (int)(randombytes_random() & 0x0f), f);
	fflush(f);
	fseek(f, 0, SEEK_SET);
	evault_put_opts o = EVAULT_PUT_OPTS_INIT;
	int rc = evault_file_put_fd(r, vpath, fileno(f), &o);
	fclose(f);
	return rc;
}

static int setup(void **s)
{
	char p[600];
	evault_buf line = EVAULT_BUF_INIT;
	assert_int_equal(evault_global_init(), 0);
	dir = make_tmpdir();
	snprintf(repo_path, sizeof(repo_path), "%s/vault", dir);
	snprintf(p, sizeof(p), "%s/alice.id", dir);
	assert_int_equal(evault_identity_create(&alice, p, "alice", "pw", 2, 0), 0);
	snprintf(p, sizeof(p), "%s/bob.id", dir);
	assert_int_equal(evault_identity_create(&bob, p, "bob", "pw", 2, 0), 0);
	assert_int_equal(evault_repo_init(&repo, repo_path, NULL, alice, "alice"), 0);
	assert_int_equal(evault_identity_public_line(&line, bob), 0);
	assert_int_equal(evault_user_add(repo, "bob", EVAULT_ROLE_TECHNICIAN, line.ptr), 0);
	const char *members[] = {"bob"};
	assert_int_equal(evault_mission_create(repo, "M-1", NULL, members, 1), 0);
	assert_int_equal(put_bytes(repo, "M-1/dossier/report.txt", 1000, 1), 0);
	assert_int_equal(put_bytes(repo, "M-1/work/notes.bin", 2500000, 2), 0);
	assert_int_equal(put_bytes(repo, "M-1/codes/badge.txt", 20, 3), 0);
	assert_int_equal(evault_codes_mark(repo, "M-1/codes/badge.txt", NULL), 0);
	evault_buf_dispose(&line);
	return 0;
}

static int teardown(void **s)
{
	evault_repo_free(repo);
	evault_identity_free(alice);
	evault_identity_free(bob);
	rm_rf(dir);
	free(dir);
	return 0;
}

typedef struct store_copy {
	saved *o;
	size_t n;
} store_copy;

static int save_one(const uint8_t id[OBJECT_ID_LEN], void *p)
{
	store_copy *c = p;
	evault_buf b = EVAULT_BUF_INIT;
	assert_int_equal(repo->objects->ops->get(repo->objects, id, &b, 64u << 20), 0);
	c->o = realloc(c->o, (c->n + 1) * sizeof(*c->o));
	memcpy(c->o[c->n].id, id, OBJECT_ID_LEN);
	c->o[c->n].bytes = (uint8_t *)b.ptr;
	c->o[c->n].len = b.size;
	c->n++;
	return 0;
}

/* Does any object of the list open under keys k (as a chunk)? */
static size_t opened_by(const store_copy *c, const class_keys *k, const bool *only)
{
	chunk_worker *w = chunk_worker_new(1u << 20, 3);
	uint8_t *out = malloc(1u << 20);
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++) {
		size_t len;
		if (only && !only[i])
			continue;
		if (chunk_open(out, 1u << 20, &len, k, w, c->o[i].id, c->o[i].bytes, c->o[i].len) ==
		    0)
			n++;
		evault_error_clear();
	}
	free(out);
	chunk_worker_free(w);
	return n;
}

typedef struct users {
	char name[8][33];
	size_t n;
} users;

static int add_user(const char *u, void *p)
{
	users *l = p;
	if (l->n < 8)
		snprintf(l->name[l->n++], 33, "%s", u);
	return 0;
}

/* Every key recoverable from the key store by any identity we hold. */
static size_t surviving_keys(secret **out, size_t max)
{
	evault_identity *ids[2] = {alice, bob};
	size_t n = 0;
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
		users l = {.n = 0};
		assert_int_equal(
		    repo->keys->ops->list(repo->keys, "M-1", (evault_class)c, add_user, &l), 0);
		for (size_t u = 0; u < l.n; u++) {
			evault_buf sealed = EVAULT_BUF_INIT;
			assert_int_equal(repo->keys->ops->get(repo->keys, "M-1", (evault_class)c,
							      l.name[u], &sealed),
					 0);
			for (int i = 0; i < 2 && n < max; i++) {
				secret *k = NULL;
				if (identity_open_sealed(&k, ids[i], (const uint8_t *)sealed.ptr,
							 sealed.size) == 0)
					out[n++] = k;
				evault_error_clear();
			}
			evault_buf_dispose(&sealed);
		}
	}
	return n;
}

static void erased_objects_cannot_be_decrypted(void **s)
{
	store_copy before = {NULL, 0};
	secret *keys[32];
	const uint8_t *vid = repo->cfg.vault_id;
	assert_int_equal(repo->objects->ops->list(repo->objects, save_one, &before), 0);
	assert_true(before.n >= 5); /* report, 3 chunks of notes, badge */

	/* Before close: the work key the admin holds opens the work chunks. */
	size_t nkeys = surviving_keys(keys, 32);
	size_t opened_before = 0;
	for (size_t i = 0; i < nkeys; i++)
		for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
			class_keys *k = NULL;
			assert_int_equal(class_keys_new(&k, keys[i], vid, "M-1", (evault_class)c),
					 0);
			opened_before += opened_by(&before, k, NULL);
			class_keys_free(k);
		}
	for (size_t i = 0; i < nkeys; i++)
		secret_free(keys[i]);
	assert_true(opened_before >= before.n); /* the test can decrypt when a key exists */

	evault_buf report = EVAULT_BUF_INIT;
	assert_int_equal(evault_mission_close(repo, "M-1", false, false, &report), 0);
	evault_buf_dispose(&report);

	/* The erased objects: those of before that close deleted. */
	bool *erased = calloc(before.n, sizeof(bool));
	size_t nerased = 0;
	for (size_t i = 0; i < before.n; i++) {
		erased[i] = repo->objects->ops->exists(repo->objects, before.o[i].id) == 0;
		nerased += erased[i];
	}
	assert_int_equal(nerased, 4); /* 3 chunks of notes, 1 of badge */

	/* After close: everything that survives, tried every way. */
	nkeys = surviving_keys(keys, 32);
	assert_true(nkeys >= 1); /* the admin's dossier copy */
	for (size_t i = 0; i < nkeys; i++) {
		for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
			class_keys *k = NULL;
			assert_int_equal(class_keys_new(&k, keys[i], vid, "M-1", (evault_class)c),
					 0);
			assert_int_equal(opened_by(&before, k, erased), 0);
			class_keys_free(k);
		}
		secret_free(keys[i]);
	}
	/* and the dossier still opens with the surviving key */
	nkeys = surviving_keys(keys, 32);
	size_t dossier_opened = 0;
	for (size_t i = 0; i < nkeys; i++) {
		class_keys *k = NULL;
		assert_int_equal(class_keys_new(&k, keys[i], vid, "M-1", EVAULT_CLASS_DOSSIER), 0);
		dossier_opened += opened_by(&before, k, NULL);
		class_keys_free(k);
		secret_free(keys[i]);
	}
	assert_true(dossier_opened >= 1);
	for (size_t i = 0; i < before.n; i++)
		free(before.o[i].bytes);
	free(before.o);
	free(erased);
}

static void close_record_round_trip_and_damage(void **s)
{
	const char *text =
	    "close M-1\nstatus done\nby alice\nstarted 100\nclosed 101\n"
	    "retain-until 200\n"
	    "erased work key 0123456789abcdef0123456789abcdef files 1 objects 3 "
	    "bytes 99\n"
	    "erased codes key fedcba9876543210fedcba9876543210 files 1 objects 1 "
	    "bytes 9\n"
	    "code 00112233445566778899aabbccddeeff rotated\n"
	    "kept files 1 bytes 7\n"
	    "kept-file 0123456789abcdef0123456789abcdef sha256 "
	    "0000000000000000000000000000000000000000000000000000000000000000 size 7\n"
	    "certificate ffeeddccbbaa99887766554433221100\n";
	close_rec r;
	evault_buf out = EVAULT_BUF_INIT;
	assert_int_equal(close_parse(&r, "M-1", text, strlen(text)), 0);
	assert_true(r.done);
	assert_int_equal(r.work.objects, 3);
	assert_int_equal(close_format(&out, &r), 0);
	assert_int_equal(out.size, strlen(text));
	assert_memory_equal(out.ptr, text, out.size);
	close_rec_clear(&r);
	/* each of these is refused */
	const char *bad[] = {
	    "close M-2\nstatus pending\nby alice\nstarted 1\n", /* another mission */
	    "close M-1\nstatus done\nby alice\nstarted 100\n",  /* done without the rest */
	    "close M-1\nstatus maybe\n",
	    "close M-1\nstatus pending\nby alice\nstarted 100\nerased work key XYZ files 1 objects "
	    "1 "
	    "bytes 1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(close_parse(&r, "M-1", bad[i], strlen(bad[i])), EVAULT_ECORRUPT);
	evault_buf_dispose(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(erased_objects_cannot_be_decrypted, setup, teardown),
	    cmocka_unit_test(close_record_round_trip_and_damage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
