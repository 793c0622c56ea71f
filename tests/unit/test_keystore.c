/* The local key store: put, get, list, destroy, bad names. */
#include "helpers.h"

#include <sodium.h>

#include "keystore.h"

static int count_cb(const char *user, void *p)
{
	(*(int *)p)++;
	return 0;
}

static void put_get_destroy(void **s)
{
	char *dir = make_tmpdir(), path[600];
	keystore *ks = NULL;
	evault_buf b = EVAULT_BUF_INIT;
	uint8_t sealed[80];
	randombytes_buf(sealed, sizeof(sealed));
	assert_int_equal(keystore_local_open(&ks, dir), 0);
	assert_int_equal(ks->ops->put(ks, "M-1", EVAULT_CLASS_WORK, "bob", sealed, 80), 0);
	assert_int_equal(ks->ops->put(ks, "M-1", EVAULT_CLASS_WORK, "carol", sealed, 80), 0);
	assert_int_equal(ks->ops->get(ks, "M-1", EVAULT_CLASS_WORK, "bob", &b), 0);
	assert_int_equal(b.size, 80);
	assert_memory_equal(b.ptr, sealed, 80);
	snprintf(path, sizeof(path), "%s/keys/missions/M-1/work/bob.sealed", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	int n = 0;
	assert_int_equal(ks->ops->list(ks, "M-1", EVAULT_CLASS_WORK, count_cb, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ks->ops->destroy(ks, "M-1", EVAULT_CLASS_WORK, "bob"), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	b.size = 0;
	assert_int_equal(ks->ops->get(ks, "M-1", EVAULT_CLASS_WORK, "bob", &b), EVAULT_ENOTFOUND);
	assert_int_equal(ks->ops->destroy(ks, "M-1", EVAULT_CLASS_WORK, "bob"), 0);
	n = 0;
	assert_int_equal(ks->ops->list(ks, "M-2", EVAULT_CLASS_WORK, count_cb, &n), 0);
	assert_int_equal(n, 0);
	/* names that would escape the store are refused */
	assert_int_equal(ks->ops->put(ks, "../x", EVAULT_CLASS_WORK, "bob", sealed, 80),
			 EVAULT_EINVAL);
	assert_int_equal(ks->ops->put(ks, "M-1", EVAULT_CLASS_WORK, "../b", sealed, 80),
			 EVAULT_EINVAL);
	/* a damaged key file is reported, not misread */
	snprintf(path, sizeof(path), "%s/keys/missions/M-1/work/carol.sealed", dir);
	write_bytes(path, "XXXX", 4);
	b.size = 0;
	assert_int_equal(ks->ops->get(ks, "M-1", EVAULT_CLASS_WORK, "carol", &b), EVAULT_ECORRUPT);
	ks->ops->free(ks);
	evault_buf_dispose(&b);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	assert_true(sodium_init() >= 0);
	const struct CMUnitTest tests[] = {cmocka_unit_test(put_get_destroy)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
