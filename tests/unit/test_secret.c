/* Secret buffers: sizes, copies, randomness. */
#include "helpers.h"

#include <sodium.h>

#include "secret.h"

static void new_is_zeroed(void **s)
{
	secret *k = secret_new(32);
	assert_non_null(k);
	assert_int_equal(k->len, 32);
	assert_true(sodium_is_zero(k->data, 32));
	secret_free(k);
	secret_free(NULL);
}

static void dup_copies(void **s)
{
	secret *k = secret_dup("abcd", 4);
	assert_memory_equal(k->data, "abcd", 4);
	secret_free(k);
}

static void random_differs(void **s)
{
	secret *a = secret_random(32), *b = secret_random(32);
	assert_false(sodium_is_zero(a->data, 32));
	assert_memory_not_equal(a->data, b->data, 32);
	secret_free(a);
	secret_free(b);
}

int main(void)
{
	assert_true(sodium_init() >= 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(new_is_zeroed),
	    cmocka_unit_test(dup_copies),
	    cmocka_unit_test(random_differs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
