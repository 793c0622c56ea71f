/*
 * The MISSION record's dossier-due line and the handover record: both
 * canonical (one record, one text), dates real calendar dates, anything
 * else refused as damage; and the allowed-signers lines a handed-over
 * dossier is checked with.
 */
#include "helpers.h"

#include "dossier.h"
#include "evault.h"
#include "mission.h"
#include "sshkey.h"

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

/* The allowed-signers lines dossier verify takes a signer's key from, read
 * as ssh-keygen -Y verify reads them (at a statement of 2026-11-23). */
static void signer_options(void **s)
{
	(void)s;
	uint8_t pk[32], other[32], got[32];
	for (int i = 0; i < 32; i++)
		pk[i] = (uint8_t)(i + 1), other[i] = (uint8_t)(0xa0 + i);
	evault_buf key = EVAULT_BUF_INIT, okey = EVAULT_BUF_INIT, text = EVAULT_BUF_INIT;
	assert_int_equal(sshkey_format_public(&key, pk, NULL), 0);
	assert_int_equal(sshkey_format_public(&okey, other, NULL), 0);
	const int64_t when = 1763920000;
	static const struct {
		const char *line; /* %s: the key */
		bool ok;
	} cases[] = {
	    {"alice %s", true},
	    {"alice namespaces=\"evault-dossier\" %s", true},
	    {"bob,alice namespaces=\"git,evault-dossier\" %s", true},
	    {"alice valid-after=\"20200101\",valid-before=\"20991231235959Z\" %s", true},
	    {"alice VALID-BEFORE=\"202611240000Z\" %s", true},
	    {"alice valid-before=\"20200101\",namespaces=\"evault-dossier\" %s", false},
	    {"alice valid-after=\"20991231Z\" %s", false},
	    {"alice valid-before=\"2020\" %s", false},
	    {"alice valid-before=\"20201301\" %s", false},
	    {"alice cert-authority %s", false},
	    {"alice cert-authority,namespaces=\"evault-dossier\" %s", false},
	    {"alice namespaces=\"git\" %s", false},
	    {"alice namespaces=\"evault-dossier-x\" %s", false},
	    {"alice namespaces=\"evault-dossier %s", false},
	    {"alice no-touch-required %s", false},
	    {"alice namespaces=\"evault-dossier\",, %s", false},
	    {"alice namespaces=\"evault-dossier\"x %s", false},
	    {"alicia %s", false},
	    {"# alice %s", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		text.size = 0;
		const char *at = strstr(cases[i].line, "%s");
		assert_non_null(at);
		assert_int_equal(evault_buf_put(&text, cases[i].line, (size_t)(at - cases[i].line)),
				 0);
		assert_int_equal(evault_buf_put(&text, key.ptr, key.size), 0);
		assert_int_equal(evault_buf_put(&text, at + 2, strlen(at + 2) + 1), 0);
		int rc = dossier_signer_key(got, text.ptr, "alice", pk, when, &why);
		if (cases[i].ok != (rc == 0))
			fail_msg("line %zu: %s", i, cases[i].line);
		if (rc == 0)
			assert_memory_equal(got, pk, 32);
		else
			assert_non_null(why);
	}
	/* another key for the name does not do; a later usable line does */
	text.size = 0;
	assert_int_equal(evault_buf_printf(&text, "alice %s\nalice cert-authority %s\nalice %s\n",
					   okey.ptr, key.ptr, key.ptr),
			 0);
	const char *why = NULL;
	assert_int_equal(dossier_signer_key(got, text.ptr, "alice", pk, when, &why), 0);
	text.size = 0;
	assert_int_equal(evault_buf_printf(&text, "alice %s\n", okey.ptr), 0);
	assert_int_equal(dossier_signer_key(got, text.ptr, "alice", pk, when, &why), -1);
	evault_buf_dispose(&key);
	evault_buf_dispose(&okey);
	evault_buf_dispose(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dates),           cmocka_unit_test(due_line_round_trip),
	    cmocka_unit_test(due_line_damage), cmocka_unit_test(handover_record),
	    cmocka_unit_test(recipients),      cmocka_unit_test(signer_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
