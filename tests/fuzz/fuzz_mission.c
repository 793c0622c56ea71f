/*
 * mission_parse (missions/<mid>/MISSION in the state): the first line of
 * the input is the mission id, the rest the record. A bad record is an
 * error; one that parses is written by mission_format as a record that
 * parses and is written the same way again.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mission.h"

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
	mission_rec m, again;
	evault_buf out = EVAULT_BUF_INIT, out2 = EVAULT_BUF_INIT;
	fuzz_split(data, size, &mid, &text, &len);
	if (mission_parse(&m, mid, (const char *)text, len) < 0)
		goto done;
	for (size_t i = 0; i < m.nmembers; i++)
		(void)mission_is_member(&m, m.members[i]);
	(void)mission_is_auditor(&m, "nobody");
	if (mission_format(&out, &m) < 0)
		fuzz_fail("mission: parsed but does not format");
	if (mission_parse(&again, mid, out.ptr, out.size) < 0)
		fuzz_fail("mission: its own record does not parse");
	if (mission_format(&out2, &again) < 0 || out.size != out2.size ||
	    memcmp(out.ptr, out2.ptr, out.size) != 0)
		fuzz_fail("mission: the record changes through its own text");
	mission_rec_clear(&again);
	mission_rec_clear(&m);
done:
	evault_buf_dispose(&out);
	evault_buf_dispose(&out2);
	free(mid);
	return 0;
}
