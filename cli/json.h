/*
 * --json output (docs/cli.md, "--json"): one JSON document on standard
 * output, written as the command goes (a long log streams). Strings are
 * escaped as RFC 8259 asks; bytes that are not UTF-8 become U+FFFD, so
 * the document always parses.
 */
#ifndef EVAULT_CLI_JSON_H
#define EVAULT_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16

typedef struct json {
	FILE *f;
	int depth;
	bool first[JSON_DEPTH_MAX]; /* no member written yet at this depth */
	char close[JSON_DEPTH_MAX]; /* '}' or ']' */
	bool after_key;
} json;

void json_init(json *j, FILE *f);
void json_object(json *j); /* { */
void json_array(json *j);  /* [ */
void json_end(json *j);    /* } or ]; a newline after the outermost */
/* {"key": [ ... and json_list_doc_end's ]}: a document that is one list */
void json_list_doc(json *j, const char *key);
void json_list_doc_end(json *j);
void json_key(json *j, const char *key);
void json_str(json *j, const char *s); /* NULL: null */
void json_int(json *j, int64_t v);
void json_uint(json *j, uint64_t v);
void json_bool(json *j, bool v);
void json_null(json *j);
/* v tenths as a decimal number ("12.5"); negative: null */
void json_tenths(json *j, int64_t v);
/* key and value in one call */
void json_kstr(json *j, const char *key, const char *s);
void json_kint(json *j, const char *key, int64_t v);
void json_kuint(json *j, const char *key, uint64_t v);
void json_kbool(json *j, const char *key, bool v);
/* "time": "2026-11-23T18:00:00Z" (UTC, RFC 3339); 0: null */
void json_ktime(json *j, const char *key, int64_t t);

#endif
