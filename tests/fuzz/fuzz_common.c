/* Helpers shared by the fuzz targets: see fuzz.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "fuzz.h"
#include "secret.h"
#include "util.h"

const uint8_t fuzz_vault_id[16] = {0xe5, 0xa1, 0x17, 0x00, 0x0f, 0x0f, 0xfe, 0xed,
				   0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80};
/* Not a secret: every target and the seed generator use it. */
const uint8_t fuzz_class_key[CLASS_KEY_LEN] = {
    0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x63, 0x6c, 0x61, 0x73, 0x73, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30,
    0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x21};

static char scratch_dir[4096];
static char scratch_path[4096 + 16];

static void remove_scratch(void)
{
	unlink(scratch_path);
	rmdir(scratch_dir);
}

void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz: invariant broken: %s\n", what);
	abort();
}

void fuzz_init(void)
{
	if (evault_global_init() < 0)
		fuzz_fail("evault_global_init");
	const char *tmp = getenv("TMPDIR");
	snprintf(scratch_dir, sizeof(scratch_dir), "%s/evault-fuzz-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch_dir))
		fuzz_fail("cannot make a scratch directory");
	snprintf(scratch_path, sizeof(scratch_path), "%s/input", scratch_dir);
	atexit(remove_scratch);
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		fuzz_fail("out of memory");
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

void fuzz_split(const uint8_t *data, size_t size, char **head, const uint8_t **rest,
		size_t *restlen)
{
	const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
	if (!nl) {
		*head = fuzz_cstr(data, 0);
		*rest = data;
		*restlen = size;
		return;
	}
	*head = fuzz_cstr(data, (size_t)(nl - data));
	*rest = nl + 1;
	*restlen = size - (size_t)(nl - data) - 1;
}

const char *fuzz_scratch_file(const uint8_t *data, size_t size)
{
	int fd = open(scratch_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_full(fd, data, size) < 0 || close(fd) < 0)
		fuzz_fail("cannot write the scratch file");
	return scratch_path;
}

class_keys *fuzz_class_keys(evault_class cls)
{
	class_keys *k = NULL;
	secret *key = secret_dup(fuzz_class_key, sizeof(fuzz_class_key));
	if (!key || class_keys_new(&k, key, fuzz_vault_id, FUZZ_MID, cls) < 0)
		fuzz_fail("cannot make the test class keys");
	secret_free(key);
	return k;
}

int fuzz_seal_as(evault_buf *out, const uint8_t hdr[OBJ_HEADER_LEN], evault_class cls,
		 const char *extra, const uint8_t *payload, size_t len)
{
	/* subkey ids of docs/format.md §Class keys and subkeys */
	uint64_t sub = hdr[7] == 1 ? 1 : hdr[7] == 3 || hdr[7] == 4 ? 4 : 3;
	uint8_t key[32], ad[OBJ_HEADER_LEN + 16 + 1 + 64 + 1 + 64];
	size_t midlen = strlen(FUZZ_MID), el = extra ? strlen(extra) : 0, n = 0;
	int rc;
	if (el > 64)
		el = 64;
	crypto_kdf_derive_from_key(key, sizeof(key), sub, "evault-c", fuzz_class_key);
	memcpy(ad + n, hdr, OBJ_HEADER_LEN);
	n += OBJ_HEADER_LEN;
	memcpy(ad + n, fuzz_vault_id, 16);
	n += 16;
	ad[n++] = (uint8_t)midlen;
	memcpy(ad + n, FUZZ_MID, midlen);
	n += midlen;
	ad[n++] = (uint8_t)cls;
	if (el)
		memcpy(ad + n, extra, el);
	n += el;
	out->size = 0;
	if ((rc = buf_reserve(out, len + OBJ_OVERHEAD)) < 0)
		return rc;
	uint8_t *o = (uint8_t *)out->ptr;
	memcpy(o, hdr, OBJ_HEADER_LEN);
	crypto_generichash(o + OBJ_HEADER_LEN, OBJ_NONCE_LEN, payload, len, NULL, 0);
	crypto_aead_xchacha20poly1305_ietf_encrypt(o + OBJ_HEADER_LEN + OBJ_NONCE_LEN, NULL,
						   payload, len, ad, n, NULL, o + OBJ_HEADER_LEN,
						   key);
	out->size = len + OBJ_OVERHEAD;
	sodium_memzero(key, sizeof(key));
	return 0;
}
