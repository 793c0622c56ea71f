/*
 * Content rules (DESIGN §8). The kind of a file is read from its first
 * bytes by libmagic (Debian's libmagic1, the library behind file(1)): it
 * knows the signatures of every camera, phone and recorder format a
 * technician may meet (JPEG, HEIC, RAW, PNG, MP4, QuickTime, 3GP, AMR, WAV,
 * M4A, ...) and is maintained as formats appear, which a table of our own
 * would not be. A renamed photo is still a photo. One magic handle serves
 * the process under a mutex: a file is classified once, from at most
 * CONTENT_SNIFF_MAX bytes, and compressed content is not unpacked.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <magic.h>
#include <sodium.h>

#include "content.h"
#include "evault/mission.h"
#include "files.h"
#include "layout.h"
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

content_kind content_classify(const void *data, size_t len, char mime[MANIFEST_CTYPE_MAX])
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
	if (strncmp(mime, "image/", 6) == 0)
		return strcmp(mime, "image/svg+xml") == 0 ? CONTENT_OTHER : CONTENT_IMAGE;
	if (strncmp(mime, "video/", 6) == 0)
		return CONTENT_VIDEO;
	/* An Ogg stream libmagic cannot name is most often a voice note. */
	if (strncmp(mime, "audio/", 6) == 0 || strcmp(mime, "application/ogg") == 0)
		return CONTENT_AUDIO;
	return CONTENT_OTHER;
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
	    (rc = file_check_writable(repo, &m)) < 0)
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
