/*
 * The decoders of a handed-over dossier (evault dossier verify), chosen by
 * the first byte of the input:
 *   0  statement.txt (the rest of the input): a bad one is EVAULT_ECORRUPT;
 *      one that parses names at most HANDOVER_FILES_MAX files
 *   1  SHA256SUMS: a bad one is EVAULT_ECORRUPT; in one that parses every
 *      entry is a safe path, strictly sorted, at most HANDOVER_FILES_MAX
 *   2  an allowed-signers text: 32 bytes of the signer's Ed25519 key, a
 *      name line, then the text; the key it gives is the signer's
 * anything else: the bytes are skipped.
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
	if (size < 1)
		return 0;
	size_t n = 0;
	char *copy;
	switch (data[0]) {
	case 0:
		if (dossier_statement_check((const char *)data + 1, size - 1, &n) < 0) {
			if (evault_error_code() != EVAULT_ECORRUPT)
				fuzz_fail("package: a bad statement is not ECORRUPT");
		} else if (n > HANDOVER_FILES_MAX) {
			fuzz_fail("package: a statement of too many files parses");
		}
		break;
	case 1:
		copy = fuzz_cstr(data + 1, size - 1);
		if (dossier_sums_check(copy, size - 1, &n) < 0) {
			if (evault_error_code() != EVAULT_ECORRUPT)
				fuzz_fail("package: a bad SHA256SUMS is not ECORRUPT");
		} else if (n == 0 || n > HANDOVER_FILES_MAX) {
			fuzz_fail("package: a SHA256SUMS of no or too many lines parses");
		}
		free(copy);
		break;
	case 2: {
		if (size < 1 + 32)
			return 0;
		uint8_t signer[32], pk[32];
		memcpy(signer, data + 1, 32);
		char *name;
		const uint8_t *text;
		size_t len;
		const char *why = NULL;
		fuzz_split(data + 33, size - 33, &name, &text, &len);
		copy = fuzz_cstr(text, len);
		if (dossier_signer_key(pk, copy, name, signer, 1763920000, &why) == 0) {
			if (memcmp(pk, signer, 32) != 0)
				fuzz_fail(
				    "package: allowed_signers gives another key than the signer's");
		} else if (!why || !*why) {
			fuzz_fail("package: allowed_signers refused without a reason");
		}
		free(copy);
		free(name);
		break;
	}
	default: break;
	}
	return 0;
}
