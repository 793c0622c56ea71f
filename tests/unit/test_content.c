/* Content rules: kinds told from bytes (libmagic), and what a mission accepts. */
#include "helpers.h"

#include <sodium.h>

#include "content.h"

static const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J',  'F',  'I',  'F',
			       0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00};
static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0,
			      0,    13,  'I', 'H', 'D',  'R',  0,    0,    1, 0,
			      0,    0,   1,   0,   8,    2,    0,    0,    0};
static const uint8_t mp4[] = {0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'm', 'p', '4', '2',
			      0, 0, 0, 0,    'm', 'p', '4', '2', 'i', 's', 'o', 'm'};
static const uint8_t amr[] = {'#', '!', 'A', 'M', 'R', '\n', 0x3c, 0x48, 0xf5, 0x1f};
static const uint8_t wav[] = {'R', 'I', 'F',  'F',  0x24, 0,    0,    0,    'W', 'A', 'V',
			      'E', 'f', 'm',  't',  ' ',  0x10, 0,    0,    0,   1,   0,
			      1,   0,   0x44, 0xac, 0,    0,    0x88, 0x58, 1,   0,   2,
			      0,   16,  0,    'd',  'a',  't',  'a',  0,    0,   0,   0};

static void kinds_from_bytes(void **s)
{
	char mime[MANIFEST_CTYPE_MAX];
	uint8_t buf[4096];
	assert_int_equal(content_classify(jpeg, sizeof(jpeg), mime), CONTENT_IMAGE);
	assert_string_equal(mime, "image/jpeg");
	assert_int_equal(content_classify(png, sizeof(png), mime), CONTENT_IMAGE);
	assert_int_equal(content_classify(mp4, sizeof(mp4), mime), CONTENT_VIDEO);
	assert_int_equal(content_classify(amr, sizeof(amr), mime), CONTENT_AUDIO);
	assert_int_equal(content_classify(wav, sizeof(wav), mime), CONTENT_AUDIO);
	const char *text = "Rapport d'intervention\nArmoire B: OK\n";
	assert_int_equal(content_classify(text, strlen(text), mime), CONTENT_OTHER);
	assert_string_equal(mime, "text/plain");
	assert_int_equal(content_classify("", 0, mime), CONTENT_OTHER);
	/* a JPEG whose first byte is damaged is no longer a JPEG */
	memcpy(buf, jpeg, sizeof(jpeg));
	buf[0] = 0;
	assert_int_equal(content_classify(buf, sizeof(jpeg), mime), CONTENT_OTHER);
	/* random bytes after a real signature: still that kind */
	memcpy(buf, jpeg, sizeof(jpeg));
	for (size_t i = sizeof(jpeg); i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131);
	assert_int_equal(content_classify(buf, sizeof(buf), mime), CONTENT_IMAGE);
	(void)s;
}

/* MPEG-1 layer III frames (128 kbit/s, 44.1 kHz: 417 bytes each), ADTS AAC
 * frames (200 bytes each): raw voice-recorder streams, with no container. */
static void frame_stream(uint8_t *buf, size_t len, const uint8_t *hdr, size_t hl, size_t fl)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t off = 0; off + hl <= len; off += fl)
		memcpy(buf + off, hdr, hl);
}

static void weak_signatures(void **s)
{
	char mime[MANIFEST_CTYPE_MAX];
	static uint8_t buf[20480];
	static const uint8_t mp3[] = {0xff, 0xfb, 0x90, 0x64};
	static const uint8_t adts[] = {0xff, 0xf1, 0x50, 0x80, 200 >> 3, ((200 & 7) << 5) | 0x1f, 0xfc};
	frame_stream(buf, sizeof(buf), mp3, sizeof(mp3), 417);
	assert_int_equal(content_classify(buf, sizeof(buf), mime), CONTENT_AUDIO);
	frame_stream(buf, sizeof(buf), adts, sizeof(adts), 200);
	assert_int_equal(content_classify(buf, sizeof(buf), mime), CONTENT_AUDIO);
	/* one frame header and then random bytes: not a stream a player would play */
	frame_stream(buf, sizeof(buf), mp3, sizeof(mp3), sizeof(buf));
	randombytes_buf(buf + 4, 4);
	assert_int_equal(content_classify(buf, sizeof(buf), mime), CONTENT_OTHER);
	/* what an encrypted archive, a firmware image or a key file looks like:
	 * 10,000 random files of 20 KiB, none taken for media */
	uint8_t seed[randombytes_SEEDBYTES] = {42};
	int media = 0;
	for (int i = 0; i < 10000; i++) {
		memcpy(seed + 1, &i, sizeof(i));
		randombytes_buf_deterministic(buf, sizeof(buf), seed);
		media += content_classify(buf, sizeof(buf), mime) != CONTENT_OTHER;
	}
	assert_int_equal(media, 0);
}

static void rules(void **s)
{
	mission_rec m;
	memset(&m, 0, sizeof(m));
	snprintf(m.mid, sizeof(m.mid), "M-1");
	assert_int_equal(content_check(&m, CONTENT_OTHER, "text/plain"), 0);
	assert_int_equal(content_check(&m, CONTENT_IMAGE, "image/jpeg"), EVAULT_EREFUSED);
	assert_non_null(strstr(evault_error_last(), "photo authorisation"));
	assert_int_equal(content_check(&m, CONTENT_VIDEO, "video/mp4"), EVAULT_EREFUSED);
	assert_int_equal(content_check(&m, CONTENT_AUDIO, "audio/amr"), EVAULT_EREFUSED);
	m.photo_authorised = true;
	assert_int_equal(content_check(&m, CONTENT_IMAGE, "image/jpeg"), 0);
	assert_int_equal(content_check(&m, CONTENT_VIDEO, "video/mp4"), 0);
	assert_int_equal(content_check(&m, CONTENT_AUDIO, "audio/amr"), EVAULT_EREFUSED);
	assert_non_null(strstr(evault_error_last(), "voice recordings"));
	(void)s;
}

static void tally(void **s)
{
	content_tally t;
	memset(&t, 0, sizeof(t));
	for (int i = 0; i < 30; i++)
		content_tally_add(&t, "image/jpeg");
	content_tally_add(&t, "audio/x-wav");
	assert_int_equal(t.total, 31);
	assert_int_equal(t.ntypes, 2);
	assert_int_equal(t.count[0], 30);
	char name[32];
	for (int i = 0; i < 12; i++) { /* more kinds than slots: counted, never lost */
		snprintf(name, sizeof(name), "video/x-%d", i);
		content_tally_add(&t, name);
	}
	assert_int_equal(t.total, 43);
	size_t sum = 0;
	for (size_t i = 0; i < t.ntypes; i++)
		sum += t.count[i];
	assert_int_equal(sum, 43);
	(void)s;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(kinds_from_bytes),
	    cmocka_unit_test(weak_signatures),
	    cmocka_unit_test(rules),
	    cmocka_unit_test(tally),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
