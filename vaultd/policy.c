/* The vault's policy: see policy.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evault/policy.h"
#include "policy.h"
#include "repo.h"
#include "util.h"

void policy_defaults(policy *p)
{
	p->retention_years = 10;
	p->close_requires_dossier = true;
	p->open_days_max = 90;
	p->device_erasure_days = 7;
}

static int parse_uint(unsigned *out, const char *s, unsigned lo, unsigned hi)
{
	char *end;
	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int policy_set(policy *p, const char *key, const char *value)
{
	if (strcmp(key, "retention-years") == 0) {
		if (parse_uint(&p->retention_years, value, 1, 100) < 0)
			return evault_error_set(EVAULT_EINVAL, "retention-years is 1 to 100");
	} else if (strcmp(key, "close-requires-dossier") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return evault_error_set(EVAULT_EINVAL, "close-requires-dossier is yes or no");
		p->close_requires_dossier = strcmp(value, "yes") == 0;
	} else if (strcmp(key, "open-days-max") == 0) {
		if (parse_uint(&p->open_days_max, value, 1, 36500) < 0)
			return evault_error_set(EVAULT_EINVAL, "open-days-max is 1 to 36500");
	} else if (strcmp(key, "device-erasure-days") == 0) {
		if (parse_uint(&p->device_erasure_days, value, 1, 3650) < 0)
			return evault_error_set(EVAULT_EINVAL, "device-erasure-days is 1 to 3650");
	} else {
		return evault_error_set(EVAULT_EINVAL,
					"no policy setting '%.40s' (retention-years, "
					"close-requires-dossier, open-days-max, device-erasure-days)",
					key);
	}
	return 0;
}

int policy_parse(policy *p, const char *text, size_t len)
{
	/* device-erasure-days came later: a vault made before has no line for it */
	static const char *const keys[] = {"retention-years", "close-requires-dossier",
					   "open-days-max", "device-erasure-days"};
	unsigned seen = 0;
	const char *s = text, *end = text + len;
	policy_defaults(p);
	if (len > 4096 || memchr(text, '\0', len))
		return evault_error_set(EVAULT_ECORRUPT, "the POLICY record is not valid");
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			return evault_error_set(EVAULT_ECORRUPT, "the POLICY record is not valid");
		char line[128], *sp;
		size_t ll = (size_t)(nl - s);
		if (ll >= sizeof(line) || !(sp = memchr(s, ' ', ll)))
			return evault_error_set(EVAULT_ECORRUPT, "the POLICY record is not valid");
		memcpy(line, s, ll);
		line[ll] = '\0';
		line[sp - s] = '\0';
		size_t k = 0;
		while (k < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[k], line) != 0)
			k++;
		if (k == sizeof(keys) / sizeof(keys[0]) || (seen & (1u << k)) ||
		    policy_set(p, line, line + (sp - s) + 1) < 0)
			return evault_error_set(EVAULT_ECORRUPT, "the POLICY record is not valid");
		seen |= 1u << k;
		s = nl + 1;
	}
	if ((seen & 7) != 7)
		return evault_error_set(EVAULT_ECORRUPT, "the POLICY record is not valid");
	return 0;
}

int policy_format(evault_buf *out, const policy *p)
{
	return evault_buf_printf(out,
				 "retention-years %u\nclose-requires-dossier %s\nopen-days-max %u\n"
				 "device-erasure-days %u\n",
				 p->retention_years, p->close_requires_dossier ? "yes" : "no",
				 p->open_days_max, p->device_erasure_days);
}

int policy_load(const state *st, policy *p)
{
	evault_buf text = EVAULT_BUF_INIT;
	int rc = state_read(st, POLICY_PATH, &text);
	if (rc == EVAULT_ENOTFOUND)
		rc = evault_error_set(EVAULT_ECORRUPT, "the history has no POLICY record");
	if (rc == 0)
		rc = policy_parse(p, text.ptr, text.size);
	evault_buf_dispose(&text);
	return rc;
}

int64_t policy_retain_until(int64_t closed, unsigned years)
{
	time_t tt = (time_t)closed;
	struct tm tm;
	gmtime_r(&tt, &tm);
	tm.tm_year += (int)years;
	if (tm.tm_mon == 1 && tm.tm_mday == 29)
		tm.tm_mday = 28; /* no 29 February in most target years */
	return (int64_t)timegm(&tm);
}

int evault_policy_show(evault_repo *repo, evault_buf *out)
{
	state *st = NULL;
	policy p;
	int rc = state_begin(&st, repo, false);
	if (rc == 0 && (rc = policy_load(st, &p)) == 0)
		rc = policy_format(out, &p);
	state_end(st);
	return rc;
}

int evault_policy_set(evault_repo *repo, const char *key, const char *value)
{
	state *st = NULL;
	policy p;
	evault_buf text = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT;
	int rc;
	if ((rc = repo_require_admin(repo, "change the vault's policy")) < 0 ||
	    (rc = state_begin(&st, repo, true)) < 0 || (rc = policy_load(st, &p)) < 0 ||
	    (rc = policy_set(&p, key, value)) < 0 || (rc = policy_format(&text, &p)) < 0 ||
	    (rc = state_put(st, POLICY_PATH, text.ptr, text.size)) < 0 ||
	    (rc = evault_buf_printf(&sum, "Set policy %s", key)) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-Policy: %s %s\n", key, value)) < 0)
		goto done;
	state_event ev = {NULL, "vault.policy", NULL, sum.ptr, tr.ptr};
	rc = state_commit(st, &ev);
done:
	state_end(st);
	evault_buf_dispose(&text);
	evault_buf_dispose(&tr);
	evault_buf_dispose(&sum);
	return rc;
}
