/*
 * sshkey_parse_public ("ssh-ed25519 BASE64 [comment]" lines from users,
 * user records and allowed-signers files): anything else is EVAULT_EINVAL;
 * a key that parses formats to a line that parses to the same key.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sshkey.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pk[SSH_ED25519_PK_LEN], again[SSH_ED25519_PK_LEN];
	char fp[SSH_FINGERPRINT_LEN];
	evault_buf line = EVAULT_BUF_INIT;
	char *text = fuzz_cstr(data, size);
	if (sshkey_parse_public(pk, text) < 0) {
		if (evault_error_code() != EVAULT_EINVAL)
			fuzz_fail("sshkey: a bad key is not EINVAL");
		goto done;
	}
	sshkey_fingerprint(fp, pk);
	if (strlen(fp) != SSH_FINGERPRINT_LEN - 1)
		fuzz_fail("sshkey: fingerprint of the wrong length");
	if (sshkey_format_public(&line, pk, "comment") < 0 ||
	    sshkey_parse_public(again, line.ptr) < 0 || memcmp(pk, again, sizeof(pk)) != 0)
		fuzz_fail("sshkey: a parsed key does not format back to itself");
done:
	evault_buf_dispose(&line);
	free(text);
	return 0;
}
