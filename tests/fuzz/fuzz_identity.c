/*
 * Identity files, through evault_identity_load (the parser is private to
 * identity.c): a bad file is an error; a file that loads has a valid name
 * and a public line that parses back to its key. Unlock is tried only
 * where the file's own Argon2id cost is tiny (the cost bounds are the
 * loader's business: a slow unlock is not a finding here), with a wrong
 * passphrase: it must fail cleanly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "identity.h"
#include "names.h"
#include "sshkey.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

static int cheap_kdf(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	const char *k = strstr(text, "\nkdf argon2id13 ");
	unsigned long long ops = 0, mem = 0;
	int cheap =
	    k && sscanf(k + 16, "%llu %llu", &ops, &mem) == 2 && ops <= 2 && mem <= 64 * 1024;
	free(text);
	return cheap;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	evault_identity *id = NULL;
	evault_buf line = EVAULT_BUF_INIT;
	uint8_t pk[SSH_ED25519_PK_LEN];
	if (evault_identity_load(&id, fuzz_scratch_file(data, size)) < 0) {
		if (id)
			fuzz_fail("identity: failed load returns an identity");
		return 0;
	}
	if (!user_name_valid(evault_identity_name(id)) || evault_identity_unlocked(id) ||
	    strncmp(evault_identity_fingerprint(id), "SHA256:", 7) != 0)
		fuzz_fail("identity: loaded with a bad name or state");
	if (evault_identity_public_line(&line, id) < 0 || sshkey_parse_public(pk, line.ptr) < 0 ||
	    memcmp(pk, identity_public_key(id), sizeof(pk)) != 0)
		fuzz_fail("identity: its public line does not give its key");
	if (cheap_kdf(data, size) &&
	    evault_identity_unlock(id, "not the passphrase", 18) != EVAULT_EAUTH)
		fuzz_fail("identity: a wrong passphrase unlocks");
	evault_buf_dispose(&line);
	evault_identity_free(id);
	return 0;
}
