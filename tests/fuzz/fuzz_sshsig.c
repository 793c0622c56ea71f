/*
 * sshsig_verify (the SSHSIG armour of every history commit's gpgsig
 * header, and of signatures handed in by users), over the message of
 * tests/vectors in namespace "git". The first byte picks what the rest is:
 *   even  the armoured signature as stored;
 *   odd   the signature blob: the target armours it (base64, lines of 70),
 *         so that mutations reach the blob's fields.
 * A malformed signature is EVAULT_ECORRUPT, one that does not verify
 * EVAULT_EAUTH; the signer is written only on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sshkey.h"
#include "util.h"

#ifndef EVAULT_FUZZ_VECTORS
#error "EVAULT_FUZZ_VECTORS must name tests/vectors"
#endif

static evault_buf message = EVAULT_BUF_INIT;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	if (file_read_all(&message, EVAULT_FUZZ_VECTORS "/sshsig-message.txt", 1 << 20) < 0)
		fuzz_fail("cannot read tests/vectors/sshsig-message.txt");
	return 0;
}

static void armour(evault_buf *out, const uint8_t *blob, size_t len)
{
	evault_buf b64 = EVAULT_BUF_INIT;
	if (b64_encode(&b64, blob, len) < 0 ||
	    evault_buf_printf(out, "-----BEGIN SSH SIGNATURE-----\n") < 0)
		fuzz_fail("out of memory");
	for (size_t i = 0; i < b64.size; i += 70) {
		size_t n = b64.size - i < 70 ? b64.size - i : 70;
		if (evault_buf_put(out, b64.ptr + i, n) < 0 || evault_buf_put(out, "\n", 1) < 0)
			fuzz_fail("out of memory");
	}
	if (evault_buf_printf(out, "-----END SSH SIGNATURE-----\n") < 0)
		fuzz_fail("out of memory");
	evault_buf_dispose(&b64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	evault_buf sig = EVAULT_BUF_INIT;
	uint8_t signer[SSH_ED25519_PK_LEN];
	if (size < 1)
		return 0;
	if (data[0] & 1)
		armour(&sig, data + 1, size - 1);
	else if (evault_buf_put(&sig, data + 1, size - 1) < 0)
		fuzz_fail("out of memory");
	memset(signer, 0xa5, sizeof(signer));
	int rc = sshsig_verify(signer, sig.ptr, sig.size, "git", message.ptr, message.size);
	if (rc < 0) {
		for (size_t i = 0; i < sizeof(signer); i++)
			if (signer[i] != 0xa5)
				fuzz_fail("sshsig: a failed verify wrote the signer");
		if (rc != EVAULT_ECORRUPT && rc != EVAULT_EAUTH && rc != EVAULT_ERROR)
			fuzz_fail("sshsig: an unexpected error code");
	}
	evault_buf_dispose(&sig);
	return 0;
}
