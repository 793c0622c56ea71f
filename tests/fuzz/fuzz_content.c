/*
 * content_classify (the charter's content rules): any bytes a technician
 * writes, archives (gzip, zip, tar) and shifted media included. It returns
 * a kind and a NUL-terminated printable content type, never reads past the
 * sample, and gives the same answer twice.
 */
#include <stdlib.h>
#include <string.h>

#include "content.h"
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
	char mime[MANIFEST_CTYPE_MAX], again[MANIFEST_CTYPE_MAX];
	uint8_t *copy = NULL;
	if (size && !(copy = malloc(size))) /* exact size: ASan sees any read past it */
		return 0;
	if (size)
		memcpy(copy, data, size);
	content_kind k = content_classify(copy, size, mime);
	if (k != CONTENT_OTHER && k != CONTENT_IMAGE && k != CONTENT_VIDEO && k != CONTENT_AUDIO)
		fuzz_fail("content: an unknown kind");
	if (!memchr(mime, '\0', sizeof(mime)))
		fuzz_fail("content: the content type is not terminated");
	for (const char *p = mime; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			fuzz_fail("content: the content type is not printable");
	if (content_classify(copy, size, again) != k || strcmp(mime, again) != 0)
		fuzz_fail("content: two answers for the same bytes");
	free(copy);
	return 0;
}
