/* Object codec: round trips, dedup, compression choice, every tampering. */
#include "helpers.h"

#include <sodium.h>

#include "chunk.h"

#define CS (1 << 20)

static secret *key;
static class_keys *k, *k_other_class, *k_other_mission;
static chunk_worker *w;
static uint8_t vid[16];

static int setup(void **s)
{
	assert_true(sodium_init() >= 0);
	randombytes_buf(vid, 16);
	key = secret_random(32);
	assert_int_equal(class_keys_new(&k, key, vid, "M-1", EVAULT_CLASS_DOSSIER), 0);
	assert_int_equal(class_keys_new(&k_other_class, key, vid, "M-1", EVAULT_CLASS_WORK), 0);
	assert_int_equal(class_keys_new(&k_other_mission, key, vid, "M-2", EVAULT_CLASS_DOSSIER),
			 0);
	w = chunk_worker_new(CS, 3);
	return 0;
}

static int teardown(void **s)
{
	class_keys_free(k);
	class_keys_free(k_other_class);
	class_keys_free(k_other_mission);
	chunk_worker_free(w);
	secret_free(key);
	return 0;
}

static void round_trip(const uint8_t *data, size_t len, bool expect_smaller)
{
	evault_buf obj = EVAULT_BUF_INIT;
	uint8_t id[32], *out = malloc(CS);
	size_t n;
	assert_int_equal(chunk_seal(&obj, id, k, w, data, len), 0);
	if (expect_smaller)
		assert_true(obj.size < len / 2);
	else
		assert_int_equal(obj.size, len + OBJ_OVERHEAD);
	assert_int_equal(chunk_open(out, CS, &n, k, w, id, (uint8_t *)obj.ptr, obj.size), 0);
	assert_int_equal(n, len);
	assert_memory_equal(out, data, len);
	free(out);
	evault_buf_dispose(&obj);
}

static void round_trips(void **s)
{
	uint8_t *buf = malloc(CS);
	randombytes_buf(buf, CS);
	round_trip(buf, 1, false);
	round_trip(buf, CS, false); /* incompressible: stored raw */
	memset(buf, 'a', CS);
	round_trip(buf, CS, true); /* compressible: zstd */
	free(buf);
}

static void deterministic_per_class(void **s)
{
	evault_buf a = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT;
	uint8_t ia[32], ib[32];
	const char *d = "the same chunk of a report";
	chunk_seal(&a, ia, k, w, (const uint8_t *)d, strlen(d));
	chunk_seal(&b, ib, k, w, (const uint8_t *)d, strlen(d));
	assert_memory_equal(ia, ib, 32); /* dedup within a class */
	chunk_seal(&b, ib, k_other_class, w, (const uint8_t *)d, strlen(d));
	assert_memory_not_equal(ia, ib, 32); /* no link across classes */
	evault_buf_dispose(&a);
	evault_buf_dispose(&b);
}

static void tampering_detected(void **s)
{
	evault_buf obj = EVAULT_BUF_INIT;
	uint8_t id[32], id2[32], out[256];
	size_t n;
	const char *d = "intervention report";
	chunk_seal(&obj, id, k, w, (const uint8_t *)d, strlen(d));
	uint8_t *o = (uint8_t *)obj.ptr;
	/* a flipped bit anywhere: the name no longer matches */
	for (size_t i = 0; i < obj.size; i += 7) {
		o[i] ^= 0x40;
		assert_int_equal(chunk_open(out, sizeof(out), &n, k, w, id, o, obj.size),
				 EVAULT_ECORRUPT);
		o[i] ^= 0x40;
	}
	/* truncated */
	assert_int_equal(chunk_open(out, sizeof(out), &n, k, w, id, o, obj.size - 1),
			 EVAULT_ECORRUPT);
	/* re-named after tampering (hash recomputed): the MAC still fails */
	o[OBJ_HEADER_LEN + OBJ_NONCE_LEN] ^= 1;
	object_hash(id2, o, obj.size);
	assert_int_equal(chunk_open(out, sizeof(out), &n, k, w, id2, o, obj.size), EVAULT_ECORRUPT);
	o[OBJ_HEADER_LEN + OBJ_NONCE_LEN] ^= 1;
	/* moved to another mission or class: associated data differs */
	assert_int_equal(chunk_open(out, sizeof(out), &n, k_other_mission, w, id, o, obj.size),
			 EVAULT_ECORRUPT);
	assert_int_equal(chunk_open(out, sizeof(out), &n, k_other_class, w, id, o, obj.size),
			 EVAULT_ECORRUPT);
	/* output buffer too small for the object: refused, not overflowed */
	assert_int_equal(chunk_open(out, 4, &n, k, w, id, o, obj.size), EVAULT_ECORRUPT);
	assert_int_equal(chunk_open(out, sizeof(out), &n, k, w, id, o, obj.size), 0);
	evault_buf_dispose(&obj);
}

static void blobs(void **s)
{
	evault_buf enc = EVAULT_BUF_INIT, dec = EVAULT_BUF_INIT;
	assert_int_equal(blob_seal(&enc, k, OBJ_KIND_MANIFEST, "fid1", "manifest", 8), 0);
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_MANIFEST, "fid1", enc.ptr, enc.size), 0);
	assert_int_equal(dec.size, 8);
	assert_memory_equal(dec.ptr, "manifest", 8);
	/* moved to another file id, kind, class */
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_MANIFEST, "fid2", enc.ptr, enc.size),
			 EVAULT_ECORRUPT);
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_INFO, "fid1", enc.ptr, enc.size),
			 EVAULT_ECORRUPT);
	assert_int_equal(
	    blob_open(&dec, k_other_class, OBJ_KIND_MANIFEST, "fid1", enc.ptr, enc.size),
	    EVAULT_ECORRUPT);
	enc.ptr[enc.size - 1] ^= 1;
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_MANIFEST, "fid1", enc.ptr, enc.size),
			 EVAULT_ECORRUPT);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&dec);
}

static void fingerprints(void **s)
{
	char a[CLASS_FP_HEX], b[CLASS_FP_HEX];
	secret *other = secret_random(32);
	class_key_fingerprint(a, key);
	class_key_fingerprint(b, key);
	assert_string_equal(a, b);
	class_key_fingerprint(b, other);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), 32);
	secret_free(other);
}

/* Key generations: sealed with the newest, opened by whoever holds the
 * generation used, never by a holder of older ones only. */
static void generations(void **s)
{
	secret *two = secret_new(64);
	memcpy(two->data, key->data, 32);
	randombytes_buf(two->data + 32, 32);
	class_keys *k2 = NULL;
	assert_int_equal(class_keys_new(&k2, two, vid, "M-1", EVAULT_CLASS_DOSSIER), 0);
	assert_int_equal(class_keys_gens(k2), 2);
	static uint8_t out[CS];
	uint8_t data[4096], id[OBJECT_ID_LEN];
	size_t len;
	randombytes_buf(data, sizeof(data));
	evault_buf obj = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT, dec = EVAULT_BUF_INIT;
	/* new: the second generation; the first alone does not open it */
	assert_int_equal(chunk_seal(&obj, id, k2, w, data, sizeof(data)), 0);
	assert_int_equal(chunk_open(out, CS, &len, k2, w, id, (uint8_t *)obj.ptr, obj.size), 0);
	assert_memory_equal(out, data, sizeof(data));
	assert_int_equal(chunk_open(out, CS, &len, k, w, id, (uint8_t *)obj.ptr, obj.size),
			 EVAULT_ECORRUPT);
	assert_int_equal(blob_seal(&enc, k2, OBJ_KIND_MANIFEST, "fid", "m", 1), 0);
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_MANIFEST, "fid", enc.ptr, enc.size),
			 EVAULT_ECORRUPT);
	assert_int_equal(blob_open(&dec, k2, OBJ_KIND_MANIFEST, "fid", enc.ptr, enc.size), 0);
	/* old: sealed with the first generation, opened by both */
	assert_int_equal(chunk_seal(&obj, id, k, w, data, sizeof(data)), 0);
	assert_int_equal(chunk_open(out, CS, &len, k2, w, id, (uint8_t *)obj.ptr, obj.size), 0);
	assert_memory_equal(out, data, sizeof(data));
	/* extended in place: a third generation seals from then on */
	class_keys *k1 = NULL;
	assert_int_equal(class_keys_new(&k1, key, vid, "M-1", EVAULT_CLASS_DOSSIER), 0);
	assert_int_equal(class_keys_extend(k1, two), 0);
	assert_int_equal(class_keys_gens(k1), 2);
	assert_int_equal(blob_seal(&enc, k1, OBJ_KIND_MANIFEST, "fid", "m", 1), 0);
	assert_int_equal(blob_open(&dec, k2, OBJ_KIND_MANIFEST, "fid", enc.ptr, enc.size), 0);
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_MANIFEST, "fid", enc.ptr, enc.size),
			 EVAULT_ECORRUPT);
	/* fingerprints per generation; fewer generations never replace more */
	char a[CLASS_FP_HEX], b[CLASS_FP_HEX];
	class_key_fingerprint_at(a, two, 0);
	class_key_fingerprint(b, key);
	assert_string_equal(a, b);
	class_key_fingerprint_at(a, two, 1);
	assert_string_not_equal(a, b);
	assert_int_equal(class_keys_extend(k1, key), EVAULT_EINVAL);
	class_keys_free(k1);
	class_keys_free(k2);
	secret_free(two);
	evault_buf_dispose(&obj);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trips),        cmocka_unit_test(deterministic_per_class),
	    cmocka_unit_test(tampering_detected), cmocka_unit_test(blobs),
	    cmocka_unit_test(fingerprints),       cmocka_unit_test(generations),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
