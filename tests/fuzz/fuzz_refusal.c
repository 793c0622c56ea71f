/*
 * refusal_parse (refusals/<rid> in the state): the first line of the input
 * is the record's name, the rest its text. A bad record is EVAULT_ECORRUPT;
 * one that parses formats back to exactly the bytes read (the records are
 * canonical), holds at least one sealed line, sorted, its boxes of one
 * length within the bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "refusal.h"

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
	refusal_rec r;
	evault_buf out = EVAULT_BUF_INIT;
	fuzz_split(data, size, &name, &text, &len);
	if (refusal_parse(&r, name, (const char *)text, len) < 0) {
		if (evault_error_code() != EVAULT_ECORRUPT)
			fuzz_fail("refusal: a bad record is not ECORRUPT");
	} else {
		if (refusal_format(&out, &r) < 0 || out.size != len ||
		    memcmp(out.ptr, text, len) != 0)
			fuzz_fail("refusal: a record that parses is not its own text");
		if (r.nseals == 0 || !evault_refusal_category_valid(r.category))
			fuzz_fail("refusal: a record without a seal or a category parses");
		for (size_t i = 0; i < r.nseals; i++)
			if (r.seals[i].len < REFUSAL_BOX_MIN || r.seals[i].len > REFUSAL_BOX_MAX ||
			    r.seals[i].len != r.seals[0].len ||
			    (i && strcmp(r.seals[i - 1].admin, r.seals[i].admin) >= 0))
				fuzz_fail("refusal: a record's seals out of bounds or order");
		refusal_rec_clear(&r);
	}
	evault_buf_dispose(&out);
	free(name);
	return 0;
}
