/*
 * The MISSION record's dossier-due line and the handover record: both
 * canonical (one record, one text), dates real calendar dates, anything
 * else refused as damage.
 */
#include "helpers.h"

#include "dossier.h"
#include "evault.h"
#include "mission.h"

#define KEYS                                                                                       \
	"key dossier 0123456789abcdef0123456789abcdef\n"                                           \
	"key work 0123456789abcdef0123456789abcdef\n"                                              \
	"key codes 0123456789abcdef0123456789abcdef\n"
#define HEAD "mission M-1\nstatus open\ncreated 100\ncreated-by alice\n" KEYS

static void dates(void **s)
{
	(void)s;
	const char *good[] = {"2000-01-01", "2999-12-31", "2028-02-29", "2000-02-29", "2027-04-30"};
	const char *bad[] = {"1999-12-31", "3000-01-01", "2027-02-29",  "2100-02-29", "2027-04-31",
			     "2027-13-01", "2027-00-10", "2027-01-00",  "2027-1-01",  "2027-01-1",
			     "2027/01/01", "+027-01-01", "2027-01-01 ", "",           "20270101"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(mission_date_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(mission_date_valid(bad[i]));
	assert_false(mission_date_valid(NULL));
}

static void due_line_round_trip(void **s)
{
	(void)s;
	const char *texts[] = {
	    HEAD "dossier-due 2027-03-31\nphoto-authorisation no\nmember bob\n",
	    HEAD "closed 200\nretain-until 300\ndossier-due 2027-03-31\nphoto-authorisation "
		 "yes\n",
	    HEAD "photo-authorisation no\n", /* none */
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		mission_rec m;
		evault_buf out = EVAULT_BUF_INIT;
		assert_int_equal(mission_parse(&m, "M-1", texts[i], strlen(texts[i])), 0);
		assert_string_equal(m.dossier_due, i < 2 ? "2027-03-31" : "");
		assert_int_equal(mission_format(&out, &m), 0);
		assert_int_equal(out.size, strlen(texts[i]));
		assert_memory_equal(out.ptr, texts[i], out.size);
		mission_rec_clear(&m);
		evault_buf_dispose(&out);
	}
}

static void due_line_damage(void **s)
{
	(void)s;
	const char *bad[] = {
	    /* after photo-authorisation, before the keys, before retain-until */
	    HEAD "photo-authorisation no\ndossier-due 2027-03-31\n",
	    "mission M-1\nstatus open\ncreated 100\ncreated-by alice\ndossier-due 2027-03-31\n" KEYS
	    "photo-authorisation no\n",
	    HEAD "closed 200\ndossier-due 2027-03-31\nretain-until 300\nphoto-authorisation no\n",
	    /* twice, not a date, not canonical */
	    HEAD "dossier-due 2027-03-31\ndossier-due 2027-03-31\nphoto-authorisation no\n",
	    HEAD "dossier-due 2027-02-29\nphoto-authorisation no\n",
	    HEAD "dossier-due 2027-3-31\nphoto-authorisation no\n",
	    HEAD "dossier-due \nphoto-authorisation no\n",
	    HEAD "dossier-due 2027-03-31 \nphoto-authorisation no\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mission_rec m;
		assert_int_equal(mission_parse(&m, "M-1", bad[i], strlen(bad[i])), EVAULT_ECORRUPT);
	}
}

#define SHA "0000000000000000000000000000000000000000000000000000000000000000"
#define FID1 "0123456789abcdef0123456789abcdef"
#define FID2 "ffeeddccbbaa99887766554433221100"

static void handover_record(void **s)
{
	(void)s;
	const char *text =
	    "handover 2\nby alice\ntime 1796118896\nmanifest sha256 " SHA "\nstatement sha256 " SHA
	    "\nfile " FID1 " sha256 " SHA " size 7\nfile " FID2 " sha256 " SHA " size 0\n";
	handover_rec r;
	evault_buf out = EVAULT_BUF_INIT;
	assert_int_equal(handover_parse(&r, 2, text, strlen(text)), 0);
	assert_int_equal(r.nfiles, 2);
	assert_int_equal(r.files[0].size, 7);
	assert_string_equal(r.by, "alice");
	assert_int_equal(handover_format(&out, &r), 0);
	assert_int_equal(out.size, strlen(text));
	assert_memory_equal(out.ptr, text, out.size);
	handover_rec_clear(&r);
	evault_buf_dispose(&out);
	assert_int_equal(handover_parse(&r, 3, text, strlen(text)), EVAULT_ECORRUPT);
	const char *bad[] = {
	    /* no file; files out of order; twice; a size with a leading zero; upper-case hex;
	     * a line missing; lines swapped */
	    "handover 2\nby alice\ntime 5\nmanifest sha256 " SHA "\nstatement sha256 " SHA "\n",
	    "handover 2\nby alice\ntime 5\nmanifest sha256 " SHA "\nstatement sha256 " SHA
	    "\nfile " FID2 " sha256 " SHA " size 1\nfile " FID1 " sha256 " SHA " size 1\n",
	    "handover 2\nby alice\ntime 5\nmanifest sha256 " SHA "\nstatement sha256 " SHA
	    "\nfile " FID1 " sha256 " SHA " size 1\nfile " FID1 " sha256 " SHA " size 1\n",
	    "handover 2\nby alice\ntime 5\nmanifest sha256 " SHA "\nstatement sha256 " SHA
	    "\nfile " FID1 " sha256 " SHA " size 01\n",
	    "handover 2\nby alice\ntime 5\nmanifest sha256 " SHA "\nstatement sha256 " SHA
	    "\nfile 0123456789ABCDEF0123456789abcdef sha256 " SHA " size 1\n",
	    "handover 2\nby alice\nmanifest sha256 " SHA "\nstatement sha256 " SHA "\nfile " FID1
	    " sha256 " SHA " size 1\n",
	    "handover 2\ntime 5\nby alice\nmanifest sha256 " SHA "\nstatement sha256 " SHA
	    "\nfile " FID1 " sha256 " SHA " size 1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(handover_parse(&r, 2, bad[i], strlen(bad[i])), EVAULT_ECORRUPT);
}

static void recipients(void **s)
{
	(void)s;
	const char *good[] = {"ACME", "Mme Durand, ACME SA", "Société Générale — Lyon", "日本"};
	const char *bad[] = {"",         "a\nb",         "a\tb",    "a\x7f", "\xc3",
			     "\xc0\xaf", "\xed\xa0\x80", "\xc2\x85" /* NEL, a C1 control */};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(handover_recipient_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(handover_recipient_valid(bad[i], strlen(bad[i])));
	char big[EVAULT_RECIPIENT_MAX + 2];
	memset(big, 'x', sizeof(big));
	assert_true(handover_recipient_valid(big, EVAULT_RECIPIENT_MAX));
	assert_false(handover_recipient_valid(big, EVAULT_RECIPIENT_MAX + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dates),           cmocka_unit_test(due_line_round_trip),
	    cmocka_unit_test(due_line_damage), cmocka_unit_test(handover_record),
	    cmocka_unit_test(recipients),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
