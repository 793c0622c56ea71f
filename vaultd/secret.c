/* Secret buffers: see secret.h. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "secret.h"
#include "util.h"

secret *secret_new(size_t len)
{
	secret *s = calloc(1, sizeof(*s));
	if (!s) {
		error_oom();
		return NULL;
	}
	s->data = sodium_malloc(len ? len : 1);
	if (!s->data) {
		free(s);
		error_oom();
		return NULL;
	}
	sodium_memzero(s->data, len ? len : 1);
	s->len = len;
	return s;
}

secret *secret_dup(const void *data, size_t len)
{
	secret *s = secret_new(len);
	if (s && len)
		memcpy(s->data, data, len);
	return s;
}

secret *secret_random(size_t len)
{
	secret *s = secret_new(len);
	if (s)
		randombytes_buf(s->data, len);
	return s;
}

void secret_free(secret *s)
{
	if (!s)
		return;
	sodium_free(s->data); /* sodium_free wipes before releasing */
	free(s);
}
