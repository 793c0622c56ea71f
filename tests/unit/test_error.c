/* Error state: per-thread, one line, code kept. */
#include "helpers.h"

#include <pthread.h>

#include "evault/common.h"

static void set_and_read(void **s)
{
	evault_error_clear();
	assert_int_equal(evault_error_code(), EVAULT_OK);
	assert_int_equal(evault_error_set(EVAULT_ENOTFOUND, "no such %s", "thing"),
			 EVAULT_ENOTFOUND);
	assert_string_equal(evault_error_last(), "no such thing");
	assert_int_equal(evault_error_code(), EVAULT_ENOTFOUND);
}

static void newlines_are_folded(void **s)
{
	evault_error_set(EVAULT_EINVAL, "line one\nline two\r");
	assert_null(strchr(evault_error_last(), '\n'));
	assert_null(strchr(evault_error_last(), '\r'));
}

static void *other_thread(void *p)
{
	evault_error_set(EVAULT_EAUTH, "from the other thread");
	return NULL;
}

static void per_thread(void **s)
{
	pthread_t t;
	evault_error_set(EVAULT_ECORRUPT, "mine");
	pthread_create(&t, NULL, other_thread, NULL);
	pthread_join(t, NULL);
	assert_string_equal(evault_error_last(), "mine");
	assert_int_equal(evault_error_code(), EVAULT_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(set_and_read),
	    cmocka_unit_test(newlines_are_folded),
	    cmocka_unit_test(per_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
