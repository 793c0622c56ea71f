/*
 * Content rules (docs/mount.md). The kind of a file is read from its first
 * bytes by libmagic (Debian's libmagic1, the library behind file(1)): it
 * knows the signatures of every camera, phone and recorder format a
 * technician may meet (JPEG, HEIC, RAW, PNG, MP4, QuickTime, 3GP, AMR, WAV,
 * M4A, ...) and is maintained as formats appear, which a table of our own
 * would not be. A renamed photo is still a photo. One magic handle serves
 * the process under a mutex: a file is classified once, from at most
 * CONTENT_SNIFF_MAX bytes. What libmagic names an archive (gzip, zip, tar)
 * is looked into as far as those bytes go, and a file it cannot name is
 * searched for media after leading bytes (strong signatures only).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <magic.h>
#include <sodium.h>
#include <zlib.h>

#include "chunk.h"
#include "content.h"
#include "evault/mission.h"
#include "mission.h"
#include "repo.h"
#include "state.h"
#include "util.h"

static pthread_mutex_t magic_mu = PTHREAD_MUTEX_INITIALIZER;
static magic_t magic_db;
static bool magic_failed;

/* No NUL and no control byte but tab, CR, LF, FF, ESC: a text (UTF-8 or 8-bit). */
static bool looks_like_text(const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\f' &&
		    p[i] != 0x1b)
			return false;
	return true;
}

/*
 * Some formats are named by libmagic from two bytes or fewer (an MPEG audio
 * frame sync, an AAC or AC-3 sync word): one random file in a thousand
 * (an encrypted archive, a firmware image, a key file) starts that way.
 * A weak signature must never refuse a file, so these are media only when
 * the frames go on as a player would read them: at least four in a row,
 * each header valid and each where the one before says it ends (or all
 * the frames of a short sample).
 */
typedef size_t (*frame_fn)(const uint8_t *p, size_t n); /* bytes of the frame at p; 0: none */

static size_t mpeg_frame(const uint8_t *p, size_t n)
{
	static const uint16_t br[2][3][16] = {
	    {{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0},
	     {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0},
	     {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}},
	    {{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0},
	     {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
	     {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}}};
	static const uint32_t sr[3][3] = {
	    {44100, 48000, 32000}, {22050, 24000, 16000}, {11025, 12000, 8000}};
	if (n < 4 || p[0] != 0xff || (p[1] & 0xe0) != 0xe0)
		return 0;
	int ver = (p[1] >> 3) & 3, layer = (p[1] >> 1) & 3, bri = p[2] >> 4, sri = (p[2] >> 2) & 3;
	if (ver == 1 || layer == 0 || bri == 0 || bri == 15 || sri == 3)
		return 0;
	int v = ver == 3 ? 0 : 1, l = 3 - layer; /* l: 0 layer I, 1 II, 2 III */
	uint32_t rate = sr[ver == 3 ? 0 : ver == 2 ? 1 : 2][sri], kbps = br[v][l][bri];
	size_t pad = (p[2] >> 1) & 1;
	if (l == 0)
		return (12 * kbps * 1000 / rate + pad) * 4;
	return (l == 2 && v ? 72 : 144) * kbps * 1000 / rate + pad;
}

static size_t adts_frame(const uint8_t *p, size_t n)
{
	if (n < 7 || p[0] != 0xff || (p[1] & 0xf6) != 0xf0 || ((p[2] >> 2) & 15) > 12)
		return 0;
	size_t fl = ((size_t)(p[3] & 3) << 11) | ((size_t)p[4] << 3) | (p[5] >> 5);
	return fl >= 7 ? fl : 0;
}

static size_t loas_frame(const uint8_t *p, size_t n)
{
	if (n < 3 || p[0] != 0x56 || (p[1] & 0xe0) != 0xe0)
		return 0;
	size_t fl = 3 + (((size_t)(p[1] & 0x1f) << 8) | p[2]);
	return fl > 3 ? fl : 0;
}

static size_t ac3_frame(const uint8_t *p, size_t n)
{
	static const uint16_t words[3][38] = {
	    {64,  64,  80,  80,  96,  96,  112, 112, 128, 128, 160, 160, 192,
	     192, 224, 224, 256, 256, 320, 320, 384, 384, 448, 448, 512, 512,
	     640, 640, 768, 768, 896, 896, 1024, 1024, 1152, 1152, 1280, 1280},
	    {69,  70,  87,  88,  104, 105, 121, 122, 139, 140, 174, 175, 208,
	     209, 243, 244, 278, 279, 348, 349, 417, 418, 487, 488, 557, 558,
	     696, 697, 835, 836, 975, 976, 1114, 1115, 1253, 1254, 1393, 1394},
	    {96,  96,  120, 120, 144, 144, 168, 168, 192, 192, 240, 240, 288,
	     288, 336, 336, 384, 384, 480, 480, 576, 576, 672, 672, 768, 768,
	     960, 960, 1152, 1152, 1344, 1344, 1536, 1536, 1728, 1728, 1920, 1920}};
	if (n < 5 || p[0] != 0x0b || p[1] != 0x77)
		return 0;
	int fscod = p[4] >> 6, frm = p[4] & 0x3f;
	return fscod == 3 || frm >= 38 ? 0 : (size_t)words[fscod][frm] * 2;
}

static size_t ts_packet(const uint8_t *p, size_t n)
{
	return n >= 1 && p[0] == 0x47 ? 188 : 0;
}

static bool frames_go_on(const uint8_t *p, size_t len, frame_fn fn)
{
	size_t pos = 0, count = 0, fl;
	while (pos < len && (fl = fn(p + pos, len - pos)) > 0) {
		pos += fl;
		count++;
		if (count >= 4)
			return true;
	}
	return count > 0 && pos >= len; /* a short sample: every frame of it */
}

/* 1 media, 0 not (a weak signature that does not go on), -1 not a weak type. */
static int weak_confirmed(const char *mime, const uint8_t *p, size_t len)
{
	if (strcmp(mime, "audio/mpeg") == 0)
		return (len >= 3 && memcmp(p, "ID3", 3) == 0) || frames_go_on(p, len, mpeg_frame);
	if (strcmp(mime, "audio/x-hx-aac-adts") == 0 || strcmp(mime, "audio/aac") == 0)
		return frames_go_on(p, len, adts_frame);
	if (strcmp(mime, "audio/x-mp4a-latm") == 0)
		return frames_go_on(p, len, loas_frame);
	if (strcmp(mime, "audio/vnd.dolby.dd-raw") == 0 || strcmp(mime, "audio/ac3") == 0)
		return frames_go_on(p, len, ac3_frame);
	if (strcmp(mime, "video/mp2t") == 0)
		return frames_go_on(p, len, ts_packet);
	/* MIDI system-exclusive dumps, fax pages, BIOS boot logos and Atari ST
	 * pictures, named from two or three bytes: neither recordings nor photos */
	static const char *const never[] = {"audio/x-syx", "image/g3fax", "image/x-award-bioslogo",
					    "image/x-atari-degas", NULL};
	for (size_t i = 0; never[i]; i++)
		if (strcmp(mime, never[i]) == 0)
			return 0;
	return -1;
}

static content_kind classify_plain(const void *data, size_t len, char mime[MANIFEST_CTYPE_MAX])
{
	const char *t = NULL;
	snprintf(mime, MANIFEST_CTYPE_MAX, "application/octet-stream");
	if (len == 0) {
		snprintf(mime, MANIFEST_CTYPE_MAX, "application/x-empty");
		return CONTENT_OTHER;
	}
	if (len > CONTENT_SNIFF_MAX)
		len = CONTENT_SNIFF_MAX;
	pthread_mutex_lock(&magic_mu);
	if (!magic_db && !magic_failed) {
		/* Binary signatures only: libmagic's text and encoding checks
		 * (regular expressions over the whole sample) cost ~1.3 ms per
		 * text file and can never find a photo or a recording. */
		magic_db = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR |
				      MAGIC_NO_CHECK_TEXT | MAGIC_NO_CHECK_ENCODING);
		if (!magic_db || magic_load(magic_db, NULL) != 0) {
			if (magic_db)
				magic_close(magic_db);
			magic_db = NULL;
			magic_failed = true;
		}
	}
	if (magic_db)
		t = magic_buffer(magic_db, data, len);
	if (t)
		snprintf(mime, MANIFEST_CTYPE_MAX, "%s", t);
	pthread_mutex_unlock(&magic_mu);
	if (!t) /* no database: refuse to guess, treat as the strictest kind */
		return CONTENT_AUDIO;
	if (strcmp(mime, "application/octet-stream") == 0 && looks_like_text(data, len))
		snprintf(mime, MANIFEST_CTYPE_MAX, "text/plain");
	if (weak_confirmed(mime, data, len) == 0) {
		snprintf(mime, MANIFEST_CTYPE_MAX, "application/octet-stream");
		return CONTENT_OTHER;
	}
	if (strncmp(mime, "image/", 6) == 0)
		return strcmp(mime, "image/svg+xml") == 0 ? CONTENT_OTHER : CONTENT_IMAGE;
	if (strncmp(mime, "video/", 6) == 0)
		return CONTENT_VIDEO;
	/* An Ogg stream libmagic cannot name is most often a voice note. */
	if (strncmp(mime, "audio/", 6) == 0 || strcmp(mime, "application/ogg") == 0)
		return CONTENT_AUDIO;
	return CONTENT_OTHER;
}

/* ---- media inside archives, and after leading bytes ---- */

static bool is_media(content_kind k)
{
	return k == CONTENT_IMAGE || k == CONTENT_VIDEO || k == CONTENT_AUDIO;
}

static content_kind classify_in(const uint8_t *p, size_t len, int depth);

/* The first CONTENT_SNIFF_MAX bytes of a deflate stream (raw, or gzip
 * with wbits 16+15), as far as the sample holds it, classified. */
static content_kind classify_inflated(const uint8_t *p, size_t len, int wbits, int depth)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	uint8_t *out = malloc(CONTENT_SNIFF_MAX);
	if (!out || inflateInit2(&z, wbits) != Z_OK) {
		free(out);
		return CONTENT_OTHER;
	}
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	z.next_out = out;
	z.avail_out = CONTENT_SNIFF_MAX;
	int zr = inflate(&z, Z_SYNC_FLUSH);
	size_t n = CONTENT_SNIFF_MAX - z.avail_out;
	inflateEnd(&z);
	content_kind k = (zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR) && n
			     ? classify_in(out, n, depth + 1)
			     : CONTENT_OTHER;
	sodium_memzero(out, n);
	free(out);
	return k;
}

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }

/* A zip's members whose local headers are in the sample (stored or deflated). */
static content_kind classify_zip(const uint8_t *p, size_t len, int depth)
{
	size_t off = 0;
	for (int i = 0; i < 64 && off + 30 <= len && memcmp(p + off, "PK\3\4", 4) == 0; i++) {
		uint32_t flags = le16(p + off + 6), method = le16(p + off + 8);
		uint32_t csize = le32(p + off + 18);
		size_t data = off + 30 + le16(p + off + 26) + le16(p + off + 28);
		if (data >= len)
			break;
		size_t avail = len - data;
		content_kind k = CONTENT_OTHER;
		if (method == 0)
			k = classify_in(p + data, csize && csize < avail ? csize : avail, depth + 1);
		else if (method == 8)
			k = classify_inflated(p + data, avail, -15, depth);
		if (is_media(k))
			return k;
		if ((flags & 8) || csize == 0 || csize >= avail) /* size unknown here, or beyond */
			break;
		off = data + csize;
	}
	return CONTENT_OTHER;
}

/* A tar's members whose headers are in the sample. */
static content_kind classify_tar(const uint8_t *p, size_t len, int depth)
{
	size_t off = 0;
	for (int i = 0; i < 64 && off + 512 <= len; i++) {
		const uint8_t *h = p + off;
		if (h[0] == 0)
			break;
		uint64_t size = 0;
		for (int j = 124; j < 136 && h[j] >= '0' && h[j] <= '7'; j++)
			size = size * 8 + (uint64_t)(h[j] - '0');
		off += 512;
		if ((h[156] == '0' || h[156] == 0) && size && off < len) {
			content_kind k = classify_in(p + off, size < len - off ? size : len - off,
						     depth + 1);
			if (is_media(k))
				return k;
		}
		if (size > len - off)
			break;
		off += (size + 511) & ~(uint64_t)511;
	}
	return CONTENT_OTHER;
}

/* A JPEG at p: SOI, then segments that chain as a decoder reads them (at
 * least three, or the start of scan after two): what a viewer opens. */
static bool jpeg_at(const uint8_t *p, size_t len)
{
	size_t pos = 2;
	int segs = 0;
	if (len < 4 || p[0] != 0xff || p[1] != 0xd8)
		return false;
	while (pos + 4 <= len && segs < 3) {
		if (p[pos] != 0xff)
			return false;
		uint8_t m = p[pos + 1];
		if (m < 0xc0 || m == 0xff || m == 0xd8 || m == 0xd9)
			return false;
		if (m == 0xda)
			return segs >= 2;
		size_t l = ((size_t)p[pos + 2] << 8) | p[pos + 3];
		if (l < 2)
			return false;
		pos += 2 + l;
		segs++;
	}
	return segs >= 3;
}

/* Media that starts after some leading bytes, where a viewer or player that
 * looks for its signature would still open it: strong signatures only. */
static content_kind classify_shifted(const uint8_t *p, size_t len, int depth)
{
	size_t scan = len < 4096 ? len : 4096;
	char mime[MANIFEST_CTYPE_MAX];
	for (size_t i = 1; i + 12 <= scan; i++) {
		const uint8_t *q = p + i;
		bool cand = (q[0] == 0xff && q[1] == 0xd8 && jpeg_at(q, len - i)) ||
			    memcmp(q, "\x89PNG\r\n\x1a\n", 8) == 0 ||
			    (memcmp(q, "GIF8", 4) == 0 && (q[4] == '7' || q[4] == '9') && q[5] == 'a') ||
			    (memcmp(q, "RIFF", 4) == 0 &&
			     (memcmp(q + 8, "WAVE", 4) == 0 || memcmp(q + 8, "AVI ", 4) == 0 ||
			      memcmp(q + 8, "WEBP", 4) == 0)) ||
			    (memcmp(q, "OggS", 4) == 0 && q[4] == 0) || memcmp(q, "fLaC", 4) == 0 ||
			    (i >= 4 && memcmp(q, "ftyp", 4) == 0);
		if (!cand)
			continue;
		const uint8_t *at = memcmp(q, "ftyp", 4) == 0 ? q - 4 : q;
		content_kind k = classify_plain(at, len - (size_t)(at - p), mime);
		if (is_media(k))
			return k;
		(void)depth;
	}
	return CONTENT_OTHER;
}

/* What is inside a file libmagic named mime (kind k): an archive's members,
 * or media after leading bytes. Two levels deep at most (a tar in a gzip). */
static content_kind look_inside(const uint8_t *p, size_t len, const char *mime, content_kind k,
				int depth)
{
	if (is_media(k) || depth >= 2)
		return k;
	if (strcmp(mime, "application/gzip") == 0 || strcmp(mime, "application/x-gzip") == 0)
		return classify_inflated(p, len, 16 + 15, depth);
	if (strcmp(mime, "application/zip") == 0)
		return classify_zip(p, len, depth);
	if (strcmp(mime, "application/x-tar") == 0)
		return classify_tar(p, len, depth);
	if (strcmp(mime, "application/octet-stream") == 0)
		return classify_shifted(p, len, depth);
	return k;
}

static content_kind classify_in(const uint8_t *p, size_t len, int depth)
{
	char mime[MANIFEST_CTYPE_MAX];
	return look_inside(p, len, mime, classify_plain(p, len, mime), depth);
}

content_kind content_classify(const void *data, size_t len, char mime[MANIFEST_CTYPE_MAX])
{
	content_kind k = classify_plain(data, len, mime);
	if (is_media(k) || len == 0)
		return k;
	if (len > CONTENT_SNIFF_MAX)
		len = CONTENT_SNIFF_MAX;
	/* inside an archive, or after leading bytes: the kind of what is there;
	 * the content type stays the file's own */
	content_kind inner = look_inside(data, len, mime, k, 0);
	return is_media(inner) ? inner : k;
}

int content_check(const mission_rec *m, content_kind kind, const char *mime)
{
	if (kind == CONTENT_AUDIO)
		return evault_error_set(EVAULT_EREFUSED,
					"refused: %s is audio content, never stored (charter: no "
					"voice recordings)",
					mime);
	if ((kind == CONTENT_IMAGE || kind == CONTENT_VIDEO) && !m->photo_authorised)
		return evault_error_set(EVAULT_EREFUSED,
					"refused: %s is %s content and mission %s records no "
					"written photo authorisation from the client (evault "
					"mission authorize-photos)",
					mime, kind == CONTENT_IMAGE ? "image" : "video", m->mid);
	return 0;
}

void content_tally_add(content_tally *t, const char *mime)
{
	int64_t now = (int64_t)time(NULL);
	if (!t->total)
		t->first = now;
	t->last = now;
	t->total++;
	for (size_t i = 0; i < t->ntypes; i++)
		if (strcmp(t->mime[i], mime) == 0) {
			t->count[i]++;
			return;
		}
	size_t i = t->ntypes < 8 ? t->ntypes++ : 7; /* the rest counted as the last kind */
	if (i == 7 && t->count[7])
		snprintf(t->mime[7], MANIFEST_CTYPE_MAX, "other");
	else
		snprintf(t->mime[i], MANIFEST_CTYPE_MAX, "%s", mime);
	t->count[i]++;
}

/* A MIME type as a trailer value: only [a-z0-9.+-/] kept. */
static void clean_mime(char *out, const char *in)
{
	size_t j = 0;
	for (size_t i = 0; in[i] && j + 1 < MANIFEST_CTYPE_MAX; i++) {
		char c = in[i];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
		    c == '-' || c == '/')
			out[j++] = c;
	}
	out[j] = '\0';
}

int content_record_refusals(evault_repo *repo, const char *mid, const content_tally *t)
{
	state *st = NULL;
	mission_rec m;
	evault_buf sum = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	int rc;
	memset(&m, 0, sizeof(m));
	if (t->total == 0)
		return 0;
	if ((rc = repo_require_actor(repo)) < 0 || (rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = mission_load_visible(repo, st, mid, &m)) < 0)
		goto done;
	if ((rc = evault_buf_printf(&sum, "Refuse %zu file%s in %s (charter content rules)",
				    t->total, t->total == 1 ? "" : "s", mid)) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-Refused: %zu\nEvault-Refused-Between: %lld %lld\n",
				    t->total, (long long)t->first, (long long)t->last)) < 0)
		goto done;
	for (size_t i = 0; i < t->ntypes && rc == 0; i++) {
		char clean[MANIFEST_CTYPE_MAX];
		clean_mime(clean, t->mime[i]);
		rc = evault_buf_printf(&tr, "Evault-Refused-Type: %s %zu\n", clean, t->count[i]);
	}
	if (rc < 0)
		goto done;
	state_event ev = {NULL, "content.refused", mid, sum.ptr, tr.ptr};
	rc = state_commit(st, &ev);
done:
	mission_rec_clear(&m);
	state_end(st);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

/* ---- the client's written photo authorisation ---- */

#define PHOTO_MAGIC "EVPA"
#define PHOTO_FIELD_MAX 256

static bool field_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > PHOTO_FIELD_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int evault_mission_authorize_photos(evault_repo *repo, const char *mid, const char *by,
				    const char *ref, const char *scope)
{
	state *st = NULL;
	mission_rec m;
	class_keys *dk = NULL;
	evault_buf plain = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT, rec = EVAULT_BUF_INIT,
		   path = EVAULT_BUF_INIT;
	int rc;
	memset(&m, 0, sizeof(m));
	if (!field_valid(by) || !field_valid(ref) || !field_valid(scope))
		return evault_error_set(EVAULT_EINVAL,
					"--by, --ref and --scope each need 1 to %d printable "
					"characters",
					PHOTO_FIELD_MAX);
	if ((rc = check_mission_id(mid)) < 0 || (rc = repo_require_actor(repo)) < 0 ||
	    (rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = mission_load_visible(repo, st, mid, &m)) < 0 ||
	    (rc = repo_require_admin(repo, "record the client's photo authorisation (the "
					      "written authorisation goes to the office)")) < 0 ||
	    (rc = mission_check_writable(repo, &m)) < 0)
		goto done;
	if (m.photo_authorised) {
		rc = evault_error_set(EVAULT_EEXISTS,
				      "mission %s already records a photo "
				      "authorisation",
				      mid);
		goto done;
	}
	m.photo_authorised = true;
	if ((rc = mission_class_keys(repo, &m, EVAULT_CLASS_DOSSIER, &dk)) < 0 ||
	    (rc = evault_buf_put(&plain, PHOTO_MAGIC, 4)) < 0 ||
	    (rc = buf_put_string(&plain, by, strlen(by))) < 0 ||
	    (rc = buf_put_string(&plain, ref, strlen(ref))) < 0 ||
	    (rc = buf_put_string(&plain, scope, strlen(scope))) < 0 ||
	    (rc = buf_put_string(&plain, repo->actor, strlen(repo->actor))) < 0 ||
	    (rc = buf_put_u64(&plain, (uint64_t)time(NULL))) < 0 ||
	    (rc = blob_seal(&enc, dk, OBJ_KIND_RECORD, "photos", plain.ptr, plain.size)) < 0 ||
	    (rc = evault_buf_printf(&path, "missions/%s/photos.enc", mid)) < 0 ||
	    (rc = state_put(st, path.ptr, enc.ptr, enc.size)) < 0 ||
	    (rc = mission_format(&rec, &m)) < 0)
		goto done;
	path.size = 0;
	if ((rc = evault_buf_printf(&path, "missions/%s/MISSION", mid)) < 0 ||
	    (rc = state_put(st, path.ptr, rec.ptr, rec.size)) < 0)
		goto done;
	char sum[160];
	snprintf(sum, sizeof(sum), "Record the client's written photo authorisation for %s", mid);
	state_event ev = {NULL, "mission.authorize-photos", mid, sum, NULL};
	rc = state_commit(st, &ev);
done:
	sodium_memzero(plain.ptr, plain.size);
	class_keys_free(dk);
	mission_rec_clear(&m);
	state_end(st);
	evault_buf_dispose(&plain);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&rec);
	evault_buf_dispose(&path);
	return rc;
}

int evault_mission_photo_authorisation(evault_repo *repo, const char *mid, evault_buf *out)
{
	state *st = NULL;
	mission_rec m;
	class_keys *dk = NULL;
	evault_buf enc = EVAULT_BUF_INIT, plain = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc;
	memset(&m, 0, sizeof(m));
	if ((rc = check_mission_id(mid)) < 0 || (rc = repo_require_actor(repo)) < 0 ||
	    (rc = state_begin(&st, repo, false)) < 0 ||
	    (rc = mission_load_visible(repo, st, mid, &m)) < 0 ||
	    (rc = mission_class_keys(repo, &m, EVAULT_CLASS_DOSSIER, &dk)) < 0 ||
	    (rc = evault_buf_printf(&path, "missions/%s/photos.enc", mid)) < 0)
		goto done;
	if ((rc = state_read(st, path.ptr, &enc)) < 0) {
		rc = evault_error_set(EVAULT_ENOTFOUND, "mission %s records no photo authorisation",
				      mid);
		goto done;
	}
	if ((rc = blob_open(&plain, dk, OBJ_KIND_RECORD, "photos", enc.ptr, enc.size)) < 0)
		goto done;
	reader r;
	reader_init(&r, plain.ptr, plain.size);
	const uint8_t *magic = reader_bytes(&r, 4);
	const char *names[4] = {"by", "reference", "scope", "recorded by"};
	const uint8_t *f[4];
	size_t fl[4];
	for (int i = 0; i < 4; i++)
		f[i] = reader_string(&r, &fl[i]);
	uint64_t t = reader_u64(&r);
	if (!magic || memcmp(magic, PHOTO_MAGIC, 4) != 0 || r.bad || r.left || !f[3]) {
		rc = evault_error_set(EVAULT_ECORRUPT, "the photo authorisation of %s is damaged",
				      mid);
		goto done;
	}
	for (int i = 0; i < 4 && rc == 0; i++)
		rc = evault_buf_printf(out, "%s: %.*s\n", names[i], (int)fl[i], (const char *)f[i]);
	char when[32];
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (rc == 0)
		rc = evault_buf_printf(out, "recorded at: %s\n", when);
done:
	sodium_memzero(plain.ptr, plain.size);
	class_keys_free(dk);
	mission_rec_clear(&m);
	state_end(st);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&plain);
	evault_buf_dispose(&path);
	return rc;
}
