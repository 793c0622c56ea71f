/* Encodings, atomic writes, the bounds-checked reader. */
#include "helpers.h"

#include <sodium.h>

#include "util.h"

static void hex_round_trip(void **s)
{
	uint8_t in[4] = {0x00, 0xab, 0x10, 0xff}, out[4];
	char hex[9];
	hex_encode(hex, in, 4);
	assert_string_equal(hex, "00ab10ff");
	assert_int_equal(hex_decode(out, 4, hex, 8), 0);
	assert_memory_equal(in, out, 4);
	assert_int_not_equal(hex_decode(out, 4, "00AB10FF", 8), 0); /* lowercase only */
	assert_int_not_equal(hex_decode(out, 4, "00ab10f", 7), 0);
	assert_int_not_equal(hex_decode(out, 4, "00ab10fg", 8), 0);
}

static void base64_round_trip(void **s)
{
	evault_buf a = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT;
	assert_int_equal(b64_encode(&a, (const uint8_t *)"evault", 6), 0);
	assert_string_equal(a.ptr, "ZXZhdWx0");
	assert_int_equal(b64_decode(&b, a.ptr, a.size), 0);
	assert_int_equal(b.size, 6);
	assert_memory_equal(b.ptr, "evault", 6);
	b.size = 0;
	assert_int_equal(b64_decode(&b, "ZX!h", 4), EVAULT_EINVAL);
	evault_buf_dispose(&a);
	evault_buf_dispose(&b);
}

static void atomic_write_replaces_whole(void **s)
{
	char *dir = make_tmpdir(), path[512];
	evault_buf b = EVAULT_BUF_INIT;
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(file_write_atomic(path, "old", 3, 0600), 0);
	assert_int_equal(file_write_atomic(path, "newer", 5, 0600), 0);
	assert_int_equal(file_read_all(&b, path, 100), 0);
	assert_int_equal(b.size, 5);
	assert_memory_equal(b.ptr, "newer", 5);
	/* read_all refuses more than asked for */
	b.size = 0;
	assert_int_equal(file_read_all(&b, path, 4), EVAULT_ECORRUPT);
	/* write_new refuses to overwrite */
	assert_int_equal(file_write_new(path, "x", 1, 0600), EVAULT_EEXISTS);
	evault_buf_dispose(&b);
	rm_rf(dir);
	free(dir);
}

static void shred_removes(void **s)
{
	char *dir = make_tmpdir(), path[512];
	snprintf(path, sizeof(path), "%s/k", dir);
	write_bytes(path, "secret", 6);
	assert_int_equal(file_shred(path), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(file_shred(path), 0); /* idempotent */
	rm_rf(dir);
	free(dir);
}

static void reader_bounds(void **s)
{
	const uint8_t data[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 9, 'x'};
	reader r;
	size_t n;
	reader_init(&r, data, sizeof(data));
	const uint8_t *p = reader_string(&r, &n);
	assert_non_null(p);
	assert_int_equal(n, 3);
	assert_false(r.bad);
	assert_null(reader_string(&r, &n)); /* claims 9 bytes, has 1 */
	assert_true(r.bad);
	assert_int_equal(reader_u32(&r), 0); /* stays bad */
}

static void text_lines(void **s)
{
	const char *t = "name bob\nrole technician\nkey ssh-ed25519 AAAA bob\n";
	char v[64];
	assert_int_equal(text_get(v, sizeof(v), t, strlen(t), "role"), 0);
	assert_string_equal(v, "technician");
	assert_int_equal(text_get(v, sizeof(v), t, strlen(t), "key"), 0);
	assert_string_equal(v, "ssh-ed25519 AAAA bob");
	assert_int_equal(text_get(v, sizeof(v), t, strlen(t), "nam"), EVAULT_ENOTFOUND);
	assert_int_equal(text_get(v, 4, t, strlen(t), "role"), EVAULT_ECORRUPT);
}

int main(void)
{
	assert_true(sodium_init() >= 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hex_round_trip),
	    cmocka_unit_test(base64_round_trip),
	    cmocka_unit_test(atomic_write_replaces_whole),
	    cmocka_unit_test(shred_removes),
	    cmocka_unit_test(reader_bounds),
	    cmocka_unit_test(text_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
