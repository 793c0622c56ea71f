/*
 * handover_parse (missions/<mid>/handovers/<n> in the state): the first
 * line of the input is the record's number, the rest its text. A bad
 * record is EVAULT_ECORRUPT; one that parses formats back to exactly the
 * bytes read (the records are canonical), names its number, and lists at
 * least one file, by fid, strictly sorted, within the bound.
 */
#include <stdlib.h>
#include <string.h>

#include "dossier.h"
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
	char *head;
	const uint8_t *text;
	size_t len;
	handover_rec r;
	evault_buf out = EVAULT_BUF_INIT;
	fuzz_split(data, size, &head, &text, &len);
	unsigned n = (unsigned)strtoul(head, NULL, 10);
	if (handover_parse(&r, n, (const char *)text, len) < 0) {
		if (evault_error_code() != EVAULT_ECORRUPT)
			fuzz_fail("handover: a bad record is not ECORRUPT");
	} else {
		if (handover_format(&out, &r) < 0 || out.size != len ||
		    memcmp(out.ptr, text, len) != 0)
			fuzz_fail("handover: a record that parses is not its own text");
		if (r.n != n || r.nfiles == 0 || r.nfiles > HANDOVER_FILES_MAX)
			fuzz_fail("handover: a record of another number, or of no file, parses");
		for (size_t i = 1; i < r.nfiles; i++)
			if (strcmp(r.files[i - 1].fid, r.files[i].fid) >= 0)
				fuzz_fail("handover: a record's files out of order");
		handover_rec_clear(&r);
	}
	evault_buf_dispose(&out);
	free(head);
	return 0;
}
