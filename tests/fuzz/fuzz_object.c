/*
 * Objects (chunk_open) and encrypted records (blob_open) under the fixed
 * test class key. The first byte picks what the rest is:
 *   0  an object's bytes, named by their hash (header and MAC checks);
 *   1  header (8) || payload, sealed by the target so that it authenticates:
 *      a hostile header or zstd frame written with the key;
 *   2  a record's bytes, opened as the kind the second byte names;
 *   3  header (8) || payload of a record, sealed by the target; a manifest
 *      that opens is decoded, as a read of a file does.
 * A failure is an error code, and nothing is written past the output.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "manifest.h"

static class_keys *keys;
static chunk_worker *worker;
static uint8_t *plain;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	keys = fuzz_class_keys(EVAULT_CLASS_WORK);
	/* the smallest chunk size a vault allows: the worker and the output
	 * are sized by the manifest's chunk size, as a read does */
	worker = chunk_worker_new(EVAULT_CHUNK_MIN, 3);
	plain = malloc(EVAULT_CHUNK_MIN);
	if (!worker || !plain)
		fuzz_fail("cannot make a chunk worker");
	return 0;
}

static void open_chunk(const uint8_t *obj, size_t len)
{
	uint8_t id[OBJECT_ID_LEN];
	size_t n = 0;
	if (object_hash(id, obj, len) < 0)
		fuzz_fail("object: cannot hash");
	int rc = chunk_open(plain, EVAULT_CHUNK_MIN, &n, keys, worker, id, obj, len);
	if (rc < 0 && n != 0)
		fuzz_fail("object: failed open reports output");
	if (rc == 0 && n > EVAULT_CHUNK_MIN)
		fuzz_fail("object: more output than room");
}

static const char *extra_of(uint8_t kind)
{
	return kind == OBJ_KIND_INFO ? "info" : FUZZ_FID; /* a file id for the others */
}

static void open_record(uint8_t kind, const uint8_t *obj, size_t len)
{
	evault_buf out = EVAULT_BUF_INIT;
	int rc = blob_open(&out, keys, (enum obj_kind)kind, extra_of(kind), obj, len);
	if (rc == 0 && kind == OBJ_KIND_MANIFEST) {
		manifest m;
		if (manifest_decode(&m, out.ptr, out.size) == 0)
			manifest_clear(&m);
	}
	evault_buf_dispose(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	evault_buf obj = EVAULT_BUF_INIT;
	if (size < 1)
		return 0;
	uint8_t mode = data[0] & 3;
	data++;
	size--;
	switch (mode) {
	case 0: open_chunk(data, size); break;
	case 1:
		if (size < OBJ_HEADER_LEN)
			break;
		if (fuzz_seal_as(&obj, data, EVAULT_CLASS_WORK, NULL, data + OBJ_HEADER_LEN,
				 size - OBJ_HEADER_LEN) == 0)
			open_chunk((const uint8_t *)obj.ptr, obj.size);
		break;
	case 2:
		if (size < 1)
			break;
		open_record(data[0], data + 1, size - 1);
		break;
	case 3:
		if (size < OBJ_HEADER_LEN)
			break;
		if (fuzz_seal_as(&obj, data, EVAULT_CLASS_WORK, extra_of(data[7]),
				 data + OBJ_HEADER_LEN, size - OBJ_HEADER_LEN) == 0)
			open_record(data[7], (const uint8_t *)obj.ptr, obj.size);
		break;
	}
	evault_buf_dispose(&obj);
	return 0;
}
