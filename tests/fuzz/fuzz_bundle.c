/*
 * Export bundles (history.bundle: a git bundle header and a pack), through
 * evault_audit_verify_bundle, which indexes the pack into a temporary
 * repository and replays the history it holds with audit verify's rules.
 * Any bytes give an error or a verdict, and the temporary repository is
 * removed.
 */
#include <string.h>

#include "evault/audit.h"
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
	evault_verify_result res;
	int rc = evault_audit_verify_bundle(fuzz_scratch_file(data, size), NULL, &res);
	if (rc == 0 && !res.ok && !res.reason[0])
		fuzz_fail("bundle: a failed verification gives no reason");
	return 0;
}
