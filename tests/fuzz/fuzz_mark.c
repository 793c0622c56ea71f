/*
 * mark_decode (a codes entry's mark: rotated or reported, to whom, by
 * whom, when, under which name): a bad mark is EVAULT_ECORRUPT; one that
 * decodes has NUL-terminated fields within their bounds.
 */
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
	mark m;
	if (mark_decode(&m, data, size) < 0) {
		if (evault_error_code() != EVAULT_ECORRUPT)
			fuzz_fail("mark: a bad mark is not ECORRUPT");
		return 0;
	}
	if (!memchr(m.how, '\0', sizeof(m.how)) || !memchr(m.contact, '\0', sizeof(m.contact)) ||
	    !memchr(m.by, '\0', sizeof(m.by)) || !memchr(m.path, '\0', sizeof(m.path)) ||
	    m.when < 0)
		fuzz_fail("mark: decoded fields out of bounds");
	return 0;
}
