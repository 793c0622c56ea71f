/* --json output (json.h). */
#include <string.h>
#include <time.h>

#include "json.h"

void json_init(json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* The comma before a value, unless it follows its key or comes first. */
static void sep(json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0) {
		if (!j->first[j->depth - 1])
			fputc(',', j->f);
		j->first[j->depth - 1] = false;
	}
}

static void open_with(json *j, char c)
{
	sep(j);
	fputc(c, j->f);
	if (j->depth < JSON_DEPTH_MAX) {
		j->first[j->depth] = true;
		j->close[j->depth] = c == '{' ? '}' : ']';
	}
	j->depth++;
}

void json_object(json *j)
{
	open_with(j, '{');
}

void json_array(json *j)
{
	open_with(j, '[');
}

void json_end(json *j)
{
	if (j->depth <= 0)
		return;
	j->depth--;
	fputc(j->depth < JSON_DEPTH_MAX ? j->close[j->depth] : '}', j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

/* Length of the UTF-8 sequence at s (1 to 4), 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000;
	else
		return 0;
	unsigned cp = c & (0x3f >> (n - 1));
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void put_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		if (n > 1) {
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
		p++;
	}
	fputc('"', f);
}

void json_key(json *j, const char *key)
{
	sep(j);
	put_string(j->f, key);
	fputc(':', j->f);
	j->after_key = true;
}

void json_list_doc(json *j, const char *key)
{
	json_object(j);
	json_key(j, key);
	json_array(j);
}

void json_list_doc_end(json *j)
{
	json_end(j);
	json_end(j);
}

void json_str(json *j, const char *s)
{
	sep(j);
	if (s)
		put_string(j->f, s);
	else
		fputs("null", j->f);
}

void json_int(json *j, int64_t v)
{
	sep(j);
	fprintf(j->f, "%lld", (long long)v);
}

void json_uint(json *j, uint64_t v)
{
	sep(j);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_tenths(json *j, int64_t v)
{
	sep(j);
	if (v < 0)
		fputs("null", j->f);
	else
		fprintf(j->f, "%lld.%lld", (long long)(v / 10), (long long)(v % 10));
}

void json_bool(json *j, bool v)
{
	sep(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(json *j)
{
	sep(j);
	fputs("null", j->f);
}

void json_kstr(json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_kint(json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kuint(json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

void json_kbool(json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

void json_ktime(json *j, const char *key, int64_t t)
{
	char out[32];
	struct tm tm;
	time_t tt = (time_t)t;
	json_key(j, key);
	if (t == 0 || !gmtime_r(&tt, &tm) ||
	    !strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		json_null(j);
		return;
	}
	json_str(j, out);
}
