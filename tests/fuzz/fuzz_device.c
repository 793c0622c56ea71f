/*
 * device_parse and hold_parse (devices/<name> and missions/<mid>/devices/
 * <name> in the state): the first line of the input is the record's name,
 * the rest its text, tried as both kinds of record. A bad record is
 * EVAULT_ECORRUPT; one that parses formats back to exactly the bytes read
 * (the records are canonical).
 */
#include <stdlib.h>
#include <string.h>

#include "device.h"
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
	char *name;
	const uint8_t *text;
	size_t len;
	device_rec d;
	device_hold h;
	evault_buf out = EVAULT_BUF_INIT;
	fuzz_split(data, size, &name, &text, &len);
	if (device_parse(&d, name, (const char *)text, len) < 0) {
		if (evault_error_code() != EVAULT_ECORRUPT)
			fuzz_fail("device: a bad record is not ECORRUPT");
	} else if (device_format(&out, &d) < 0 || out.size != len ||
		   memcmp(out.ptr, text, len) != 0)
		fuzz_fail("device: a record that parses is not its own text");
	out.size = 0;
	if (hold_parse(&h, name, (const char *)text, len) < 0) {
		if (evault_error_code() != EVAULT_ECORRUPT)
			fuzz_fail("hold: a bad entry is not ECORRUPT");
	} else if (hold_format(&out, &h) < 0 || out.size != len ||
		   memcmp(out.ptr, text, len) != 0 || (h.erased && !device_reason_valid(h.reason)))
		fuzz_fail("hold: an entry that parses is not its own text");
	evault_buf_dispose(&out);
	free(name);
	return 0;
}
