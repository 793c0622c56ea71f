/*
 * Thread-local error state: one code and one message per thread, set by the
 * function that detects the failure and read by the front end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "evault/common.h"

static _Thread_local char last_msg[512];
static _Thread_local int last_code;

const char *evault_error_last(void)
{
	return last_msg[0] ? last_msg : "no error";
}

int evault_error_code(void)
{
	return last_code;
}

void evault_error_clear(void)
{
	last_msg[0] = '\0';
	last_code = EVAULT_OK;
}

int evault_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof(last_msg)]; /* an argument may be the last message itself */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(last_msg, msg, sizeof(msg));
	sodium_memzero(msg, sizeof(msg));
	for (char *p = last_msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	last_code = code;
	return code;
}
