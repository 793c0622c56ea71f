/*
 * manifest_decode (the plaintext of a file's .enc entry): bad bytes are
 * EVAULT_ECORRUPT; what decodes encodes again, to the same bytes (the
 * format is canonical), and decodes to the same fields.
 */
#include <string.h>

#include "fuzz.h"
#include "manifest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

static void same_fields(const manifest *a, const manifest *b)
{
	if (a->type != b->type || strcmp(a->path, b->path) != 0 || a->size != b->size ||
	    a->mode != b->mode || a->mtime != b->mtime || a->mtime_nsec != b->mtime_nsec ||
	    a->added != b->added || strcmp(a->content_type, b->content_type) != 0 ||
	    a->chunk_size != b->chunk_size || a->nholes != b->nholes || a->nobjs != b->nobjs)
		fuzz_fail("manifest: re-decoded fields differ");
	if (a->nholes && memcmp(a->holes, b->holes, a->nholes * sizeof(*a->holes)) != 0)
		fuzz_fail("manifest: re-decoded holes differ");
	if (a->nobjs && memcmp(a->objs, b->objs, a->nobjs * OBJECT_ID_LEN) != 0)
		fuzz_fail("manifest: re-decoded objects differ");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	manifest m, again;
	evault_buf enc = EVAULT_BUF_INIT;
	if (manifest_decode(&m, data, size) < 0) {
		if (evault_error_code() != EVAULT_ECORRUPT && evault_error_code() != EVAULT_ERROR)
			fuzz_fail("manifest: a bad manifest is not ECORRUPT");
		return 0;
	}
	if (!manifest_consistent(&m))
		fuzz_fail("manifest: decoded but inconsistent");
	/* every chunk is walked once, holes and objects in file order */
	manifest_walk w;
	uint64_t index, n = 0;
	size_t objs = 0;
	const uint8_t *id;
	manifest_walk_init(&w);
	while (manifest_walk_next(&m, &w, &index, &id) && n < 4096) {
		if (index != n++)
			fuzz_fail("manifest: walk out of order");
		objs += id != NULL;
		(void)manifest_chunk_len(&m, index);
	}
	if (n < 4096 && (n != manifest_chunk_count(m.size, m.chunk_size) || objs != m.nobjs))
		fuzz_fail("manifest: walk does not cover the chunks");
	manifest_walk_init(&w);
	for (objs = 0; manifest_walk_objs(&m, &w, &index, &id); objs++)
		if (id != m.objs[objs])
			fuzz_fail("manifest: object walk out of order");
	if (objs != m.nobjs)
		fuzz_fail("manifest: object walk misses objects");

	if (manifest_encode(&enc, &m) < 0)
		fuzz_fail("manifest: decoded but does not encode");
	if (manifest_decode(&again, enc.ptr, enc.size) < 0)
		fuzz_fail("manifest: its encoding does not decode");
	same_fields(&m, &again);
	if (enc.size != size || memcmp(enc.ptr, data, size) != 0)
		fuzz_fail("manifest: two encodings of one manifest (decoder not strict)");
	manifest_clear(&again);
	manifest_clear(&m);
	evault_buf_dispose(&enc);
	return 0;
}
