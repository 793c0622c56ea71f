/* Identity files: create, unlock, wrong passphrase, tampering. */
#include "helpers.h"

#include <sodium.h>

#include "identity.h"
#include "util.h"

static char *dir;
static char path[512];

static int setup(void **s)
{
	dir = make_tmpdir();
	snprintf(path, sizeof(path), "%s/identity", dir);
	return 0;
}

static int teardown(void **s)
{
	rm_rf(dir);
	free(dir);
	return 0;
}

static void create_and_unlock(void **s)
{
	evault_identity *a = NULL, *b = NULL;
	evault_buf la = EVAULT_BUF_INIT, lb = EVAULT_BUF_INIT;
	struct stat st;
	assert_int_equal(evault_identity_create(&a, path, "bob", "pw", 2, EVAULT_KDF_INTERACTIVE),
			 0);
	assert_true(evault_identity_unlocked(a));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(evault_identity_load(&b, path), 0);
	assert_false(evault_identity_unlocked(b));
	assert_string_equal(evault_identity_name(b), "bob");
	evault_identity_public_line(&la, a);
	evault_identity_public_line(&lb, b);
	assert_string_equal(la.ptr, lb.ptr);
	assert_int_equal(evault_identity_unlock(b, "pw", 2), 0);
	assert_true(evault_identity_unlocked(b));
	/* the file never holds the seed in clear */
	evault_buf f = EVAULT_BUF_INIT;
	file_read_all(&f, path, 4096);
	assert_null(strstr(f.ptr, "PRIVATE"));
	evault_buf_dispose(&f);
	evault_buf_dispose(&la);
	evault_buf_dispose(&lb);
	evault_identity_free(a);
	evault_identity_free(b);
}

static void wrong_passphrase(void **s)
{
	evault_identity *b = NULL;
	assert_int_equal(evault_identity_load(&b, path), 0);
	assert_int_equal(evault_identity_unlock(b, "PW", 2), EVAULT_EAUTH);
	assert_int_equal(evault_identity_unlock(b, "", 0), EVAULT_EAUTH);
	assert_false(evault_identity_unlocked(b));
	assert_non_null(strstr(evault_error_last(), "wrong passphrase"));
	evault_identity_free(b);
}

static void no_overwrite_no_empty(void **s)
{
	evault_identity *a = NULL;
	char p2[600];
	assert_int_equal(evault_identity_create(&a, path, "bob", "x", 1, 0), EVAULT_EEXISTS);
	snprintf(p2, sizeof(p2), "%s/other", dir);
	assert_int_equal(evault_identity_create(&a, p2, "bob", "", 0, 0), EVAULT_EINVAL);
	assert_int_equal(evault_identity_create(&a, p2, "Bad Name", "x", 1, 0), EVAULT_EINVAL);
	assert_null(a);
}

static void tampered_file(void **s)
{
	evault_buf f = EVAULT_BUF_INIT;
	evault_identity *b = NULL;
	char p2[600];
	assert_int_equal(file_read_all(&f, path, 4096), 0);
	snprintf(p2, sizeof(p2), "%s/tampered", dir);

	/* a renamed identity: header is authenticated */
	char *copy = strdup(f.ptr);
	char *name = strstr(copy, "name bob");
	name[5] = 'r';
	write_bytes(p2, copy, strlen(copy));
	assert_int_equal(evault_identity_load(&b, p2), 0);
	assert_int_equal(evault_identity_unlock(b, "pw", 2), EVAULT_EAUTH);
	evault_identity_free(b);

	/* flipped ciphertext */
	memcpy(copy, f.ptr, f.size);
	copy[f.size - 3] = copy[f.size - 3] == '0' ? '1' : '0';
	write_bytes(p2, copy, f.size);
	assert_int_equal(evault_identity_load(&b, p2), 0);
	assert_int_equal(evault_identity_unlock(b, "pw", 2), EVAULT_EAUTH);
	evault_identity_free(b);

	/* truncated, garbage, absurd KDF cost */
	write_bytes(p2, f.ptr, f.size / 2);
	assert_int_equal(evault_identity_load(&b, p2), EVAULT_ECORRUPT);
	write_bytes(p2, "hello\n", 6);
	assert_int_equal(evault_identity_load(&b, p2), EVAULT_ECORRUPT);
	memcpy(copy, f.ptr, f.size);
	char *kdf = strstr(copy, "kdf argon2id13 ");
	kdf[15] = '9';
	kdf[16] = '9';
	write_bytes(p2, copy, f.size);
	assert_int_equal(evault_identity_load(&b, p2), EVAULT_ECORRUPT);
	assert_int_equal(evault_identity_load(&b, "/nonexistent/identity"), EVAULT_ENOTFOUND);
	free(copy);
	evault_buf_dispose(&f);
}

static void sealed_keys(void **s)
{
	evault_identity *a = NULL;
	evault_buf sealed = EVAULT_BUF_INIT;
	secret *out = NULL;
	uint8_t key[32];
	assert_int_equal(evault_identity_load(&a, path), 0);
	randombytes_buf(key, 32);
	assert_int_equal(seal_to_public(&sealed, identity_public_key(a), key, 32), 0);
	assert_int_equal(identity_open_sealed(&out, a, (uint8_t *)sealed.ptr, sealed.size),
			 EVAULT_EAUTH); /* locked */
	assert_int_equal(evault_identity_unlock(a, "pw", 2), 0);
	assert_int_equal(identity_open_sealed(&out, a, (uint8_t *)sealed.ptr, sealed.size), 0);
	assert_memory_equal(out->data, key, 32);
	secret_free(out);
	sealed.ptr[10] ^= 1;
	assert_int_equal(identity_open_sealed(&out, a, (uint8_t *)sealed.ptr, sealed.size),
			 EVAULT_EAUTH);
	evault_buf_dispose(&sealed);
	evault_identity_free(a);
}

int main(void)
{
	assert_true(sodium_init() >= 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(create_and_unlock),     cmocka_unit_test(wrong_passphrase),
	    cmocka_unit_test(no_overwrite_no_empty), cmocka_unit_test(tampered_file),
	    cmocka_unit_test(sealed_keys),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
