/* evault.conf: round trip, and every kind of bad file refused. */
#include "helpers.h"

#include <sodium.h>

#include "config.h"

static void round_trip(void **s)
{
	config a, b;
	evault_buf t = EVAULT_BUF_INIT;
	config_defaults(&a);
	a.chunk_size = 65536;
	assert_int_equal(config_format(&t, &a), 0);
	assert_int_equal(config_parse(&b, t.ptr, t.size), 0);
	assert_memory_equal(a.vault_id, b.vault_id, 16);
	assert_int_equal(b.chunk_size, 65536);
	assert_int_equal(b.zstd_level, a.zstd_level);
	evault_buf_dispose(&t);
}

static int parse(const char *text)
{
	config c;
	return config_parse(&c, text, strlen(text));
}

#define ID "vault-id 00112233445566778899aabbccddeeff\n"

static void bad_files(void **s)
{
	assert_int_equal(parse("format 4\n" ID "chunk-size 1048576\n"), 0);
	assert_int_equal(parse("format 5\n" ID "chunk-size 1048576\n"), EVAULT_EFORMAT);
	assert_int_equal(parse("format 3\n" ID "chunk-size 1048576\n"), EVAULT_EFORMAT); /* older */
	assert_int_equal(parse("format 1\n" ID "chunk-size 1048576\n"), EVAULT_EFORMAT); /* older */
	assert_int_equal(parse("format 2\n" ID "chunk-size 1048576\n"), EVAULT_EFORMAT); /* older */
	assert_int_equal(parse("format 4\n" ID), EVAULT_ECORRUPT);           /* no chunk size */
	assert_int_equal(parse(ID "chunk-size 1048576\n"), EVAULT_ECORRUPT); /* no format */
	assert_int_equal(parse("format 4\n" ID "chunk-size 12\n"), EVAULT_ECORRUPT); /* too small */
	assert_int_equal(parse("format 4\n" ID "chunk-size -5\n"), EVAULT_ECORRUPT);
	assert_int_equal(parse("format 4\n" ID "chunk-size 1048576\nbogus 1\n"), EVAULT_ECORRUPT);
	assert_int_equal(parse("format 4\n" ID ID "chunk-size 1048576\n"), EVAULT_ECORRUPT);
	assert_int_equal(parse("format 4\nvault-id 0011\nchunk-size 1048576\n"), EVAULT_ECORRUPT);
	assert_int_equal(parse("format 4\n" ID "chunk-size 1048576\nzstd-level 99\n"),
			 EVAULT_ECORRUPT);
	assert_int_equal(parse("\x01\x02garbage"), EVAULT_ECORRUPT);
	config c;
	assert_int_equal(config_parse(&c, "format 2\0", 9), EVAULT_ECORRUPT);
}

int main(void)
{
	assert_true(sodium_init() >= 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(bad_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
