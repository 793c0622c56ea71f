/*
 * Shared by the fuzz targets (libFuzzer, one file per decoder): process
 * set-up, NUL-terminated copies, a scratch file for decoders that take a
 * path, and the fixed test class key with what is needed to make objects
 * under it.
 *
 * A target feeds hostile bytes to the real engine function and checks only
 * what the engine promises: an error code on bad input, never an abort,
 * a crash, a leak or undefined behaviour; where an encoder exists, what
 * decodes must encode and decode again to the same thing. A broken
 * promise is reported with fuzz_fail, which aborts so that libFuzzer keeps
 * the input.
 */
#ifndef EVAULT_FUZZ_H
#define EVAULT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "evault/common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The mission, vault and class key every object target uses. */
#define FUZZ_MID "M-1"
/* The file id a record is bound to (the mission info is bound to "info"). */
#define FUZZ_FID "0123456789abcdef0123456789abcdef"
extern const uint8_t fuzz_vault_id[16];
extern const uint8_t fuzz_class_key[CLASS_KEY_LEN];

/* evault_global_init and the scratch directory; aborts if they fail. */
void fuzz_init(void);
/* A malloc'd copy of data with a NUL after it. */
char *fuzz_cstr(const uint8_t *data, size_t size);
/* Splits data at its first '\n': *head (NUL-terminated, malloc'd) is the
 * line before it, *rest and *restlen what follows (the whole input and an
 * empty head when there is no newline). */
void fuzz_split(const uint8_t *data, size_t size, char **head, const uint8_t **rest,
		size_t *restlen);
/* Replaces the scratch file with data and returns its path (process-wide,
 * valid until the next call). */
const char *fuzz_scratch_file(const uint8_t *data, size_t size);
/* Class keys of the fixed test key for FUZZ_MID; aborts if they cannot be made. */
class_keys *fuzz_class_keys(evault_class cls);
/*
 * An object of the format docs/format.md §Objects describes, made under
 * the fixed key whatever its header says: hdr (8 bytes) as given, a nonce
 * from the payload, payload encrypted under the subkey that kind selects
 * (hdr[7]: 1 content, 3 or 4 info, otherwise manifest) with the associated
 * data header || class binding || extra. It lets a target hand the engine
 * objects that authenticate but whose header or payload is hostile, as a
 * holder of the key could write them.
 */
int fuzz_seal_as(evault_buf *out, const uint8_t hdr[OBJ_HEADER_LEN], evault_class cls,
		 const char *extra, const uint8_t *payload, size_t len);
/* Reports a broken invariant (not bad input) and aborts. */
void fuzz_fail(const char *what) __attribute__((noreturn));

#endif
