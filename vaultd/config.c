/* evault.conf parsing and writing: see config.h and docs/format.md. */
#include <stdio.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "util.h"

void config_defaults(config *c)
{
	memset(c, 0, sizeof(*c));
	c->format = EVAULT_FORMAT;
	randombytes_buf(c->vault_id, sizeof(c->vault_id));
	hex_encode(c->vault_id_hex, c->vault_id, sizeof(c->vault_id));
	c->chunk_size = EVAULT_CHUNK_DEFAULT;
	c->zstd_level = 3;
	c->scrub_per_mille = 10;
	c->gc_grace_minutes = 60;
}

static int parse_num(unsigned long *out, const char *v, unsigned long lo, unsigned long hi)
{
	char *end;
	if (!*v || *v == '-' || *v == '+' || *v == ' ')
		return -1;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

int config_parse(config *c, const char *text, size_t len)
{
	enum {
		K_FORMAT = 1,
		K_ID = 2,
		K_CHUNK = 4,
		K_ZSTD = 8,
		K_SCRUB = 128,
		K_GRACE = 256
	};
	unsigned seen = 0;
	int lineno = 0;
	memset(c, 0, sizeof(*c));
	c->zstd_level = 3;
	c->scrub_per_mille = 10;
	c->gc_grace_minutes = 60;
	if (memchr(text, '\0', len))
		return evault_error_set(EVAULT_ECORRUPT, "evault.conf: contains a NUL byte");
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		char line[256];
		size_t n = (size_t)(le - p);
		lineno++;
		if (n >= sizeof(line))
			return evault_error_set(EVAULT_ECORRUPT, "evault.conf:%d: line too long",
						lineno);
		memcpy(line, p, n);
		line[n] = '\0';
		p = le + 1;
		if (n == 0 || line[0] == '#')
			continue;
		char *sp = strchr(line, ' ');
		if (!sp)
			return evault_error_set(EVAULT_ECORRUPT,
						"evault.conf:%d: expected 'key value'", lineno);
		*sp = '\0';
		const char *key = line, *val = sp + 1;
		unsigned long num;
		unsigned bit;
		bool ok;
		if (strcmp(key, "format") == 0) {
			bit = K_FORMAT;
			ok = parse_num(&num, val, 1, 1000000) == 0;
			if (ok && num > EVAULT_FORMAT)
				return evault_error_set(EVAULT_EFORMAT,
							"repository format %lu is newer than this "
							"evault supports (%d): upgrade evault",
							num, EVAULT_FORMAT);
			if (ok && num < EVAULT_FORMAT)
				return evault_error_set(
				    EVAULT_EFORMAT,
				    "repository format %lu was made by an earlier "
				    "evault, before format %d: not readable by this one",
				    num, EVAULT_FORMAT);
			c->format = (unsigned)num;
		} else if (strcmp(key, "vault-id") == 0) {
			bit = K_ID;
			ok = hex_decode(c->vault_id, sizeof(c->vault_id), val, strlen(val)) == 0;
			if (ok)
				memcpy(c->vault_id_hex, val, sizeof(c->vault_id_hex));
		} else if (strcmp(key, "chunk-size") == 0) {
			bit = K_CHUNK;
			ok = parse_num(&num, val, EVAULT_CHUNK_MIN, EVAULT_CHUNK_MAX) == 0;
			c->chunk_size = (uint32_t)num;
		} else if (strcmp(key, "zstd-level") == 0) {
			bit = K_ZSTD;
			ok = parse_num(&num, val, 1, 19) == 0;
			c->zstd_level = (int)num;
		} else if (strcmp(key, "retention-years") == 0 ||
			   strcmp(key, "close-requires-dossier") == 0 ||
			   strcmp(key, "open-days-max") == 0) {
			return evault_error_set(EVAULT_ECORRUPT,
						"evault.conf:%d: %s is the vault's policy, recorded in "
						"its signed history (evault policy set), not a local "
						"setting",
						lineno, key);
		} else if (strcmp(key, "scrub-per-mille") == 0) {
			bit = K_SCRUB;
			ok = parse_num(&num, val, 0, 1000) == 0;
			c->scrub_per_mille = (unsigned)num;
		} else if (strcmp(key, "gc-grace-minutes") == 0) {
			bit = K_GRACE;
			ok = parse_num(&num, val, 0, 100000) == 0;
			c->gc_grace_minutes = (unsigned)num;
		} else {
			return evault_error_set(EVAULT_ECORRUPT,
						"evault.conf:%d: unknown setting '%.40s'", lineno,
						key);
		}
		if (!ok)
			return evault_error_set(
			    EVAULT_ECORRUPT, "evault.conf:%d: invalid value for %s", lineno, key);
		if (seen & bit)
			return evault_error_set(EVAULT_ECORRUPT, "evault.conf:%d: %s given twice",
						lineno, key);
		seen |= bit;
	}
	if (!(seen & K_FORMAT))
		return evault_error_set(EVAULT_ECORRUPT, "evault.conf: no format line");
	if (!(seen & K_ID))
		return evault_error_set(EVAULT_ECORRUPT, "evault.conf: no vault-id line");
	if (!(seen & K_CHUNK))
		return evault_error_set(EVAULT_ECORRUPT, "evault.conf: no chunk-size line");
	return 0;
}

int config_format(evault_buf *out, const config *c)
{
	return evault_buf_printf(out,
				 "# evault repository settings (docs/format.md)\n"
				 "format %u\n"
				 "vault-id %s\n"
				 "chunk-size %u\n"
				 "zstd-level %d\n"
				 "scrub-per-mille %u\n"
				 "gc-grace-minutes %u\n",
				 c->format, c->vault_id_hex, c->chunk_size, c->zstd_level,
				 c->scrub_per_mille, c->gc_grace_minutes);
}
