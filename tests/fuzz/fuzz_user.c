/*
 * user_parse (users/<name> in the state): the first line of the input is
 * the record's name, the rest its text. A bad record is EVAULT_ECORRUPT;
 * one that parses is written by user_format as a record that parses to
 * the same user.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "user.h"

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
	user_rec u, again;
	evault_buf out = EVAULT_BUF_INIT;
	fuzz_split(data, size, &name, &text, &len);
	if (user_parse(&u, name, (const char *)text, len) < 0) {
		if (evault_error_code() != EVAULT_ECORRUPT)
			fuzz_fail("user: a bad record is not ECORRUPT");
		goto done;
	}
	if (user_format(&out, &u) < 0)
		fuzz_fail("user: parsed but does not format");
	if (user_parse(&again, name, out.ptr, out.size) < 0)
		fuzz_fail("user: its own record does not parse");
	if (strcmp(u.name, again.name) != 0 || u.role != again.role ||
	    strcmp(u.status, again.status) != 0 || memcmp(u.pk, again.pk, sizeof(u.pk)) != 0 ||
	    strcmp(u.key_line, again.key_line) != 0)
		fuzz_fail("user: the record changes through its own text");
done:
	evault_buf_dispose(&out);
	free(name);
	return 0;
}
