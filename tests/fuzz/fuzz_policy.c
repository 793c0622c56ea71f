/*
 * policy_parse (the POLICY record of the signed state): a bad record is
 * EVAULT_ECORRUPT; one that parses is written by policy_format as a record
 * that parses to the same policy.
 */
#include <string.h>

#include "fuzz.h"
#include "policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	policy p, again;
	evault_buf text = EVAULT_BUF_INIT;
	if (policy_parse(&p, (const char *)data, size) < 0) {
		if (evault_error_code() != EVAULT_ECORRUPT)
			fuzz_fail("policy: a bad record is not ECORRUPT");
		return 0;
	}
	if (policy_format(&text, &p) < 0)
		fuzz_fail("policy: parsed but does not format");
	if (policy_parse(&again, text.ptr, text.size) < 0)
		fuzz_fail("policy: its own record does not parse");
	if (p.retention_years != again.retention_years ||
	    p.close_requires_dossier != again.close_requires_dossier ||
	    p.open_days_max != again.open_days_max ||
	    p.device_erasure_days != again.device_erasure_days)
		fuzz_fail("policy: the record changes through its own text");
	evault_buf_dispose(&text);
	return 0;
}
