/*
 * Allowed-signers text, as audit verify --signers takes it out of band.
 * Its parser is private to verify.c; evault_audit_verify_bundle feeds it,
 * then replays the history of a fixed real bundle (fixtures/, made by
 * gen-corpus.sh) with the keys it gave. A text with no usable key is
 * EVAULT_EINVAL; otherwise verification runs and says ok or not.
 */
#include <string.h>

#include "evault/audit.h"
#include "fuzz.h"

#ifndef EVAULT_FUZZ_FIXTURES
#error "EVAULT_FUZZ_FIXTURES must name tests/fuzz/fixtures"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	evault_verify_opts opts = EVAULT_VERIFY_OPTS_INIT;
	evault_verify_result res;
	opts.signers = (const char *)data;
	opts.signers_len = size;
	int rc = evault_audit_verify_bundle(EVAULT_FUZZ_FIXTURES "/history.bundle", &opts, &res);
	if (rc < 0 && rc != EVAULT_EINVAL)
		fuzz_fail("signers: the fixed bundle did not verify for another reason");
	if (rc == 0 && !res.ok && !res.reason[0])
		fuzz_fail("signers: a failed verification gives no reason");
	return 0;
}
