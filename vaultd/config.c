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
	snprintf(c->objects, sizeof(c->objects), "local");
	c->rados_timeout = CONFIG_RADOS_TIMEOUT_DEFAULT;
}

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 100 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

int config_objects_check(const char *spec)
{
	if (strcmp(spec, "local") == 0)
		return 0;
	if (strncmp(spec, "rados:", 6) == 0 && strlen(spec) <= CONFIG_OBJECTS_MAX) {
		const char *pool = spec + 6, *slash = strchr(pool, '/');
		if (!slash && name_ok(pool, strlen(pool)))
			return 0;
		if (slash && name_ok(pool, (size_t)(slash - pool)) &&
		    name_ok(slash + 1, strlen(slash + 1)))
			return 0;
	}
	return evault_error_set(EVAULT_EINVAL,
				"objects location '%.60s': expected local or rados:POOL[/NAMESPACE] "
				"(names of letters, digits, '.', '_', '-')",
				spec);
}

bool config_objects_rados(const config *c)
{
	return strncmp(c->objects, "rados:", 6) == 0;
}

/* A path setting: absolute, printable, no spaces at its ends. */
static bool path_ok(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > CONFIG_PATH_MAX || v[0] != '/' || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return true;
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
		K_GRACE = 256,
		K_OBJECTS = 512,
		K_RCONF = 1024,
		K_RUSER = 2048,
		K_RKEYRING = 4096,
		K_RTIMEOUT = 8192
	};
	unsigned seen = 0;
	int lineno = 0;
	memset(c, 0, sizeof(*c));
	c->zstd_level = 3;
	c->scrub_per_mille = 10;
	c->gc_grace_minutes = 60;
	snprintf(c->objects, sizeof(c->objects), "local");
	c->rados_timeout = CONFIG_RADOS_TIMEOUT_DEFAULT;
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
		} else if (strcmp(key, "objects") == 0) {
			bit = K_OBJECTS;
			ok = config_objects_check(val) == 0;
			if (ok)
				snprintf(c->objects, sizeof(c->objects), "%s", val);
		} else if (strcmp(key, "rados-conf") == 0 || strcmp(key, "rados-keyring") == 0) {
			bool conf = key[6] == 'c';
			bit = conf ? K_RCONF : K_RKEYRING;
			ok = path_ok(val);
			if (ok)
				snprintf(conf ? c->rados_conf : c->rados_keyring, CONFIG_PATH_MAX + 1,
					 "%s", val);
		} else if (strcmp(key, "rados-user") == 0) {
			bit = K_RUSER;
			ok = strlen(val) <= CONFIG_NAME_MAX && name_ok(val, strlen(val));
			if (ok)
				snprintf(c->rados_user, sizeof(c->rados_user), "%s", val);
		} else if (strcmp(key, "rados-timeout") == 0) {
			bit = K_RTIMEOUT;
			ok = parse_num(&num, val, 1, 3600) == 0;
			c->rados_timeout = (unsigned)num;
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

int config_format_local(evault_buf *out, const config *c)
{
	int rc = 0;
	if (strcmp(c->objects, "local") != 0)
		rc = evault_buf_printf(out, "objects %s\n", c->objects);
	if (rc == 0 && c->rados_conf[0])
		rc = evault_buf_printf(out, "rados-conf %s\n", c->rados_conf);
	if (rc == 0 && c->rados_keyring[0])
		rc = evault_buf_printf(out, "rados-keyring %s\n", c->rados_keyring);
	if (rc == 0 && c->rados_user[0])
		rc = evault_buf_printf(out, "rados-user %s\n", c->rados_user);
	if (rc == 0 && c->rados_timeout != CONFIG_RADOS_TIMEOUT_DEFAULT)
		rc = evault_buf_printf(out, "rados-timeout %u\n", c->rados_timeout);
	return rc;
}

int config_apply_local(config *c, const char *lines)
{
	evault_buf text = EVAULT_BUF_INIT;
	config next;
	int rc = config_format(&text, c);
	for (const char *p = lines; rc == 0 && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		static const char *const keys[] = {"objects ", "rados-conf ", "rados-user ",
						   "rados-keyring ", "rados-timeout "};
		bool ok = false;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			ok |= strncmp(p, keys[i], strlen(keys[i])) == 0;
		if (!ok)
			rc = evault_error_set(EVAULT_EINVAL, "not a server setting: %.*s",
					      (int)(n > 60 ? 60 : n), p);
		else
			rc = evault_buf_printf(&text, "%.*s\n", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
	if (rc == 0 && config_parse(&next, text.ptr, text.size) < 0)
		rc = evault_error_set(EVAULT_EINVAL, "%s", evault_error_last());
	/* a pool's namespace written out: the vault id unless one was named */
	if (rc == 0 && config_objects_rados(&next) && !strchr(next.objects + 6, '/')) {
		size_t n = strlen(next.objects);
		if (n + 1 + sizeof(next.vault_id_hex) > sizeof(next.objects))
			rc = evault_error_set(EVAULT_EINVAL, "objects location too long");
		else
			snprintf(next.objects + n, sizeof(next.objects) - n, "/%s",
				 next.vault_id_hex);
	}
	if (rc == 0)
		*c = next;
	evault_buf_dispose(&text);
	return rc;
}
