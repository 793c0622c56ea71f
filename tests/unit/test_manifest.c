/* Manifests: round trip and strict decoding. */
#include "helpers.h"

#include "manifest.h"

static void round_trip(void **s)
{
	uint8_t ids[3][32];
	memset(ids, 7, sizeof(ids));
	manifest m = {MANIFEST_TYPE_FILE, "photos/a.jpg", 2 * 65536 + 5, 0644, 1763920000, 5,
		      1763920001,         "image/jpeg",   65536,         3,    ids};
	manifest d;
	evault_buf b = EVAULT_BUF_INIT;
	assert_int_equal(manifest_encode(&b, &m), 0);
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), 0);
	assert_string_equal(d.path, "photos/a.jpg");
	assert_int_equal(d.size, m.size);
	assert_int_equal(d.mode, 0644);
	assert_int_equal(d.mtime, 1763920000);
	assert_int_equal(d.nchunks, 3);
	assert_memory_equal(d.chunks, ids, sizeof(ids));
	assert_string_equal(d.content_type, "image/jpeg");
	manifest_clear(&d);
	/* every truncation is refused */
	for (size_t n = 0; n < b.size; n++)
		assert_int_equal(manifest_decode(&d, b.ptr, n), EVAULT_ECORRUPT);
	evault_buf_dispose(&b);
}

static void inconsistent_refused(void **s)
{
	uint8_t ids[2][32];
	memset(ids, 1, sizeof(ids));
	manifest d;
	evault_buf b = EVAULT_BUF_INIT;
	/* size says 3 chunks, list has 2 */
	manifest m = {MANIFEST_TYPE_FILE, "a", 3 * 100, 0644, 0, 0, 0, "", 100, 2, ids};
	manifest_encode(&b, &m);
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), EVAULT_ECORRUPT);
	/* a path that escapes */
	b.size = 0;
	manifest m2 = {MANIFEST_TYPE_FILE, "../x", 10, 0644, 0, 0, 0, "", 100, 1, ids};
	manifest_encode(&b, &m2);
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), EVAULT_ECORRUPT);
	/* empty file: no chunks */
	b.size = 0;
	manifest m3 = {MANIFEST_TYPE_FILE, "empty", 0, 0600, 0, 0, 0, "", 100, 0, NULL};
	manifest_encode(&b, &m3);
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), 0);
	assert_int_equal(d.nchunks, 0);
	manifest_clear(&d);
	evault_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(inconsistent_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
