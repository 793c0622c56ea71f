/* Refusal records (refusal.h): fields, days, and the canonical record. */
#include "helpers.h"

#include "refusal.h"

#define RID "0123456789abcdef0123456789abcdef"

static void fields(void **s)
{
	(void)s;
	assert_true(refusal_field_valid("Dupont SA", 9, 1));
	assert_true(refusal_field_valid("Société Générale d'Écoute",
					strlen("Société Générale d'Écoute"), 1));
	assert_true(refusal_field_valid("", 0, 0));
	assert_false(refusal_field_valid("", 0, 1));
	assert_false(refusal_field_valid("a\tb", 3, 1));
	assert_false(refusal_field_valid("a\x7f", 2, 1));
	assert_false(refusal_field_valid("a\xc2\x85", 3, 1)); /* C1: NEL */
	assert_false(refusal_field_valid("\xff", 1, 1));
	assert_false(refusal_field_valid("\xc0\xaf", 2, 1));         /* overlong '/' */
	assert_false(refusal_field_valid("\xed\xa0\x80", 3, 1));     /* a surrogate */
	assert_false(refusal_field_valid("\xf4\x90\x80\x80", 4, 1)); /* past U+10FFFF */
	assert_false(refusal_field_valid("\xc3", 1, 1));             /* cut short */
	char big[300];
	memset(big, 'x', sizeof(big));
	assert_true(refusal_field_valid(big, 256, 1));
	assert_false(refusal_field_valid(big, 257, 1));
}

static void days(void **s)
{
	(void)s;
	int64_t t;
	assert_true(refusal_date_parse("2026-12-01", &t));
	assert_int_equal(t, 1796083200);
	assert_true(refusal_date_parse("2024-02-29", &t));
	assert_false(refusal_date_parse("2026-02-29", &t));
	assert_false(refusal_date_parse("2026-13-01", &t));
	assert_false(refusal_date_parse("1999-12-31", &t));
	assert_false(refusal_date_parse("2026-1-01", &t));
	assert_false(refusal_date_parse("2026-01-01 ", &t));
	assert_false(refusal_date_parse("+026-01-01", &t));
	assert_true(refusal_rid_valid(RID));
	assert_false(refusal_rid_valid("0123456789ABCDEF0123456789abcdef"));
	assert_false(refusal_rid_valid("0123"));
}

/* A record with n seals of box length len (bytes of i), formatted. */
static void make(evault_buf *out, size_t n, size_t len, const char *const *admins)
{
	refusal_rec r;
	memset(&r, 0, sizeof(r));
	strcpy(r.rid, RID);
	r.time = 1796118929;
	strcpy(r.date, "2026-12-01");
	strcpy(r.by, "bob");
	strcpy(r.category, "court-order");
	r.seals = calloc(n, sizeof(*r.seals));
	r.nseals = n;
	for (size_t i = 0; i < n; i++) {
		strcpy(r.seals[i].admin, admins[i]);
		memset(r.seals[i].box, (int)i + 1, len);
		r.seals[i].len = len;
	}
	assert_int_equal(refusal_format(out, &r), 0);
	refusal_rec_clear(&r);
}

static int parses(const char *text)
{
	refusal_rec r;
	int rc = refusal_parse(&r, RID, text, strlen(text));
	refusal_rec_clear(&r);
	return rc;
}

static void records(void **s)
{
	(void)s;
	const char *two[] = {"alice", "erin"}, *unsorted[] = {"erin", "alice"},
		   *twice[] = {"alice", "alice"};
	evault_buf b = EVAULT_BUF_INIT;
	refusal_rec r;
	make(&b, 2, REFUSAL_BOX_MIN, two);
	assert_int_equal(refusal_parse(&r, RID, b.ptr, b.size), 0);
	assert_int_equal(r.nseals, 2);
	assert_string_equal(r.seals[1].admin, "erin");
	assert_string_equal(r.category, "court-order");
	refusal_rec_clear(&r);
	assert_int_equal(refusal_parse(&r, "fedcba9876543210fedcba9876543210", b.ptr, b.size),
			 EVAULT_ECORRUPT);
	/* edited: a leading zero, an unknown category, an extra line, no newline */
	char *t = strdup(b.ptr);
	char *p = strstr(t, "time ") + 5;
	*p = '0';
	assert_int_equal(parses(t), EVAULT_ECORRUPT);
	free(t);
	t = strdup(b.ptr);
	memcpy(strstr(t, "court-order"), "court-ordex", 11);
	assert_int_equal(parses(t), EVAULT_ECORRUPT);
	free(t);
	evault_buf e = EVAULT_BUF_INIT;
	evault_buf_printf(&e, "%sextra 1\n", b.ptr);
	assert_int_equal(parses(e.ptr), EVAULT_ECORRUPT);
	e.ptr[b.size - 1] = '\0';
	assert_int_equal(parses(e.ptr), EVAULT_ECORRUPT);
	evault_buf_dispose(&e);
	b.size = 0;
	make(&b, 2, REFUSAL_BOX_MIN, unsorted);
	assert_int_equal(parses(b.ptr), EVAULT_ECORRUPT);
	b.size = 0;
	make(&b, 2, REFUSAL_BOX_MIN, twice);
	assert_int_equal(parses(b.ptr), EVAULT_ECORRUPT);
	b.size = 0;
	make(&b, 1, REFUSAL_BOX_MIN - 1, two);
	assert_int_equal(parses(b.ptr), EVAULT_ECORRUPT);
	b.size = 0;
	make(&b, 1, REFUSAL_BOX_MAX, two);
	assert_int_equal(parses(b.ptr), 0);
	b.size = 0;
	make(&b, 1, REFUSAL_BOX_MAX + 1, two);
	assert_int_equal(parses(b.ptr), EVAULT_ECORRUPT);
	b.size = 0;
	make(&b, 0, 0, two);
	assert_int_equal(parses(b.ptr), EVAULT_ECORRUPT);
	evault_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fields),
	    cmocka_unit_test(days),
	    cmocka_unit_test(records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
