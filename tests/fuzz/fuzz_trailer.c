/*
 * trailer_get (the "Key: value" trailers of every history commit message:
 * Evault-Seq, Evault-Actor, ...). The first byte picks the key (one the
 * engine reads, or the input's first line), the second the room for the
 * value; the rest is the message. The value found fits its room, NUL-terminated, and
 * is a line of the message.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "state.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

static const char *const keys[] = {
    "Evault-Seq",
    "Evault-Actor",
    "Evault-Action",
    "Evault-Mission",
    "Evault-User",
    "Evault-Role",
    "Evault-As",
    "Evault-Class",
    "Evault-File",
    "Evault-Replaces",
    "Evault-Mark",
    "Evault-Refused",
    "Evault-Vault",
    "Evault-Certificate",
    "Evault-Imported",
    "Evault-Policy",
    NULL /* the input's first line */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *message, *own = NULL, *out;
	const uint8_t *rest;
	size_t restlen;
	if (size < 2)
		return 0;
	const char *key = keys[data[0] % (sizeof(keys) / sizeof(keys[0]))];
	size_t outlen = 1 + data[1] % 80;
	data += 2;
	size -= 2;
	if (!key) {
		fuzz_split(data, size, &own, &rest, &restlen);
		key = own;
	} else {
		rest = data;
		restlen = size;
	}
	message = fuzz_cstr(rest, restlen);
	out = malloc(outlen);
	if (!out)
		fuzz_fail("out of memory");
	int rc = trailer_get(out, outlen, message, key);
	if (rc == 0 && (strlen(out) >= outlen || !strstr(message, out)))
		fuzz_fail("trailer: a value that is not in the message or overflows its room");
	if (rc < 0 && rc != EVAULT_ENOTFOUND && rc != EVAULT_ECORRUPT)
		fuzz_fail("trailer: an unexpected error code");
	free(out);
	free(message);
	free(own);
	return 0;
}
