/*
 * The one type that holds key material and passphrases: a fixed-size buffer
 * in sodium_malloc memory (guard pages, never swapped where mlock works),
 * wiped and released by secret_free. Nothing else in the engine keeps a
 * secret longer than one function, and those stack copies are wiped at done:.
 */
#ifndef EVAULT_SECRET_H
#define EVAULT_SECRET_H

#include <stddef.h>
#include <stdint.h>

typedef struct secret {
	size_t len;
	uint8_t *data; /* sodium_malloc'd, len bytes */
} secret;

/* A new secret of len bytes, zeroed. NULL and an error set on failure. */
secret *secret_new(size_t len);
/* A new secret holding a copy of data. */
secret *secret_dup(const void *data, size_t len);
/* A new secret of len random bytes. */
secret *secret_random(size_t len);
void secret_free(secret *s);

#endif
