/*
 * Checkpoints (C2SP signed notes), as audit verify --checkpoint takes them.
 * Their parser is private to checkpoint.c; evault_audit_verify_bundle reaches
 * it after replaying the history of a fixed real bundle (fixtures/, made
 * by gen-corpus.sh with the checkpoints of corpus/checkpoint/). A bad
 * checkpoint fails verification with a reason; it is never an error of
 * the call.
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
	opts.checkpoint = (const char *)data;
	opts.checkpoint_len = size;
	int rc = evault_audit_verify_bundle(EVAULT_FUZZ_FIXTURES "/history.bundle", &opts, &res);
	if (rc < 0)
		fuzz_fail("checkpoint: the fixed bundle does not verify");
	if (!res.ok && strncmp(res.reason, "checkpoint: ", 12) != 0)
		fuzz_fail("checkpoint: the fixed history failed for another reason");
	return 0;
}
