/* Manifests: round trip, holes, and strict decoding. */
#include "helpers.h"

#include "manifest.h"

static manifest mk(const char *path, uint64_t size, uint32_t cs, manifest_hole *holes,
		   size_t nholes, uint8_t (*objs)[32], size_t nobjs)
{
	manifest m = {.type = MANIFEST_TYPE_FILE,
		      .path = (char *)path,
		      .size = size,
		      .mode = 0644,
		      .mtime = 1763920000,
		      .mtime_nsec = 5,
		      .added = 1763920001,
		      .chunk_size = cs,
		      .nholes = nholes,
		      .holes = holes,
		      .nobjs = nobjs,
		      .objs = objs};
	snprintf(m.content_type, sizeof(m.content_type), "image/jpeg");
	return m;
}

static void round_trip(void **s)
{
	uint8_t ids[3][32];
	memset(ids, 7, sizeof(ids));
	manifest m = mk("photos/a.jpg", 2 * 65536 + 5, 65536, NULL, 0, ids, 3);
	manifest d;
	evault_buf b = EVAULT_BUF_INIT;
	assert_int_equal(manifest_encode(&b, &m), 0);
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), 0);
	assert_string_equal(d.path, "photos/a.jpg");
	assert_int_equal(d.size, m.size);
	assert_int_equal(d.mode, 0644);
	assert_int_equal(d.mtime, 1763920000);
	assert_int_equal(d.nobjs, 3);
	assert_int_equal(d.nholes, 0);
	assert_memory_equal(d.objs, ids, sizeof(ids));
	assert_string_equal(d.content_type, "image/jpeg");
	manifest_clear(&d);
	/* every truncation is refused */
	for (size_t n = 0; n < b.size; n++)
		assert_int_equal(manifest_decode(&d, b.ptr, n), EVAULT_ECORRUPT);
	evault_buf_dispose(&b);
}

/* A 10 TiB file with two stored chunks: a few dozen bytes, walked in order. */
static void holes_round_trip(void **s)
{
	uint8_t ids[2][32];
	memset(ids[0], 1, 32);
	memset(ids[1], 2, 32);
	uint64_t size = (UINT64_C(10) << 40) + 3, cs = 1 << 20, n = size / cs + 1;
	manifest_hole h[2] = {{1, 1000}, {1002, n - 1002}}; /* chunk 0 and 1001 stored */
	manifest m = mk("big.img", size, (uint32_t)cs, h, 2, ids, 2);
	evault_buf b = EVAULT_BUF_INIT;
	assert_true(manifest_consistent(&m));
	assert_int_equal(manifest_encode(&b, &m), 0);
	assert_int_equal(b.size, 256); /* one padded block */
	manifest d;
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), 0);
	assert_int_equal(d.nholes, 2);
	assert_int_equal(d.holes[1].first, 1002);
	assert_int_equal(d.holes[1].count, n - 1002);
	manifest_walk w;
	uint64_t at;
	const uint8_t *id;
	manifest_walk_init(&w);
	assert_true(manifest_walk_objs(&d, &w, &at, &id));
	assert_int_equal(at, 0);
	assert_memory_equal(id, ids[0], 32);
	assert_true(manifest_walk_objs(&d, &w, &at, &id));
	assert_int_equal(at, 1001);
	assert_memory_equal(id, ids[1], 32);
	assert_false(manifest_walk_objs(&d, &w, &at, &id));
	/* chunk by chunk: the first few */
	manifest_walk_init(&w);
	assert_true(manifest_walk_next(&d, &w, &at, &id) && at == 0 && id);
	assert_true(manifest_walk_next(&d, &w, &at, &id) && at == 1 && !id);
	assert_int_equal(manifest_chunk_len(&d, n - 1), 3);
	manifest_clear(&d);
	for (size_t k = 0; k < b.size; k++)
		assert_int_equal(manifest_decode(&d, b.ptr, k), EVAULT_ECORRUPT);
	evault_buf_dispose(&b);
}

/* Holes and objects must tile the file exactly; runs ascending and apart. */
static void bad_holes_refused(void **s)
{
	uint8_t ids[4][32];
	memset(ids, 3, sizeof(ids));
	struct {
		manifest_hole h[2];
		size_t nh, nobjs;
	} bad[] = {
	    {{{0, 0}}, 1, 4},          /* an empty run */
	    {{{2, 1}, {3, 1}}, 2, 3},  /* adjacent runs */
	    {{{3, 1}, {1, 1}}, 2, 3},  /* descending */
	    {{{1, 1}, {1, 1}}, 2, 3},  /* overlapping */
	    {{{4, 1}}, 1, 4},          /* past the end */
	    {{{3, UINT64_MAX}}, 1, 3}, /* overflowing */
	    {{{1, 2}}, 1, 3},          /* one object too many */
	    {{{1, 1}}, 1, 2},          /* one too few */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		manifest m = mk("a", 4 * 65536, 65536, bad[i].h, bad[i].nh, ids, bad[i].nobjs);
		assert_false(manifest_consistent(&m));
		evault_buf b = EVAULT_BUF_INIT;
		assert_int_equal(manifest_encode(&b, &m), EVAULT_EINVAL);
		evault_buf_dispose(&b);
	}
	/* the decoder refuses them too: a good one, then a byte of its runs changed */
	manifest_hole ok[1] = {{1, 2}};
	manifest m = mk("a", 4 * 65536, 65536, ok, 1, ids, 2);
	evault_buf b = EVAULT_BUF_INIT;
	assert_int_equal(manifest_encode(&b, &m), 0);
	manifest d;
	/* first run's offset: magic, type, path, size, mode, times, type, chunk size, count */
	size_t runs = 4 + 1 + 4 + strlen(m.path) + 8 + 4 + 8 + 4 + 8 + 4 + strlen(m.content_type) + 4 + 4;
	b.ptr[runs + 7] = 4;                /* first = 4: past the end */
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), EVAULT_ECORRUPT);
	b.ptr[runs + 7] = 1;
	b.ptr[runs + 15] = 3; /* count 3: one object too many */
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), EVAULT_ECORRUPT);
	b.ptr[runs + 15] = 2;
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), 0);
	manifest_clear(&d);
	/* a run count larger than the bytes left: refused before any allocation */
	b.ptr[runs - 4] = 0xff;
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), EVAULT_ECORRUPT);
	evault_buf_dispose(&b);
	/* padding: to exactly the next 256, and zeros */
	assert_int_equal(manifest_encode(&b, &m), 0);
	assert_int_equal(b.size % 256, 0);
	b.ptr[b.size - 1] = 1;
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), EVAULT_ECORRUPT);
	b.ptr[b.size - 1] = 0;
	assert_int_equal(manifest_decode(&d, b.ptr, b.size - 1), EVAULT_ECORRUPT);
	assert_int_equal(evault_buf_put(&b, (const uint8_t[256]){0}, 256), 0);
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), EVAULT_ECORRUPT);
	evault_buf_dispose(&b);
	/* larger than a vault holds */
	manifest big = mk("a", EVAULT_FILE_MAX + 1, 1 << 20, NULL, 0, NULL, 0);
	big.nholes = 1;
	manifest_hole all = {0, manifest_chunk_count(EVAULT_FILE_MAX + 1, 1 << 20)};
	big.holes = &all;
	assert_false(manifest_consistent(&big));
}

static void inconsistent_refused(void **s)
{
	uint8_t ids[2][32];
	memset(ids, 1, sizeof(ids));
	manifest d;
	evault_buf b = EVAULT_BUF_INIT;
	/* size says 3 chunks, list has 2 */
	manifest m = mk("a", 3 * 65536, 65536, NULL, 0, ids, 2);
	assert_int_equal(manifest_encode(&b, &m), EVAULT_EINVAL);
	/* a path that escapes */
	b.size = 0;
	manifest m2 = mk("../x", 10, 65536, NULL, 0, ids, 1);
	assert_int_equal(manifest_encode(&b, &m2), 0);
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), EVAULT_ECORRUPT);
	/* empty file: no chunks */
	b.size = 0;
	manifest m3 = mk("empty", 0, 65536, NULL, 0, NULL, 0);
	assert_int_equal(manifest_encode(&b, &m3), 0);
	assert_int_equal(manifest_decode(&d, b.ptr, b.size), 0);
	assert_int_equal(d.nobjs, 0);
	manifest_clear(&d);
	/* a chunk size outside what a vault allows: refused */
	manifest m4 = mk("a", 10, 100, NULL, 0, ids, 1);
	assert_false(manifest_consistent(&m4));
	m4.chunk_size = 32u << 20;
	assert_false(manifest_consistent(&m4));
	evault_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(holes_round_trip),
	    cmocka_unit_test(bad_holes_refused),
	    cmocka_unit_test(inconsistent_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
