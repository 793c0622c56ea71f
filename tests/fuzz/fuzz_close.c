/*
 * close_parse (missions/<mid>/CLOSE, the erasure record, clear text in the
 * state): the first line of the input is the mission id, the rest the
 * record. A bad record is EVAULT_ECORRUPT; one that parses is written by
 * close_format as a record that parses and is written the same way again.
 * (The codes marks, marks/<fid>.enc, are read by a static function of
 * close.c that only a repository reaches.)
 */
#include <stdlib.h>
#include <string.h>

#include "close.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *mid;
	const uint8_t *text;
	size_t len;
	close_rec r, again;
	evault_buf out = EVAULT_BUF_INIT, out2 = EVAULT_BUF_INIT;
	fuzz_split(data, size, &mid, &text, &len);
	if (close_parse(&r, mid, (const char *)text, len) < 0) {
		if (evault_error_code() != EVAULT_ECORRUPT && evault_error_code() != EVAULT_ERROR)
			fuzz_fail("close: a bad record is not ECORRUPT");
		goto done;
	}
	if (r.ncode && !r.code)
		fuzz_fail("close: codes counted but not kept");
	if (close_format(&out, &r) < 0)
		fuzz_fail("close: parsed but does not format");
	if (close_parse(&again, mid, out.ptr, out.size) < 0)
		fuzz_fail("close: its own record does not parse");
	if (close_format(&out2, &again) < 0 || out.size != out2.size ||
	    memcmp(out.ptr, out2.ptr, out.size) != 0)
		fuzz_fail("close: the record changes through its own text");
	close_rec_clear(&again);
	close_rec_clear(&r);
done:
	evault_buf_dispose(&out);
	evault_buf_dispose(&out2);
	free(mid);
	return 0;
}
