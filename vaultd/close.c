/*
 * Mission close (docs/lifecycle.md): the archived dossier is kept, read-only;
 * work and codes are erased cryptographically. Three steps, each safe to
 * interrupt, and a re-run of close finishes the job:
 *
 *   1. mission.closing, one signed commit: status "closing" and the plan
 *      (the CLOSE record, "pending": key fingerprints, counts, codes marks).
 *      From here the mission is read-only and the history says that its
 *      erasure is under way.
 *   2. Keys and objects: every copy of the work and codes keys (everyone's)
 *      and the members' copies of the dossier key are destroyed
 *      (overwritten, unlinked, directory synced); work and codes objects are
 *      deleted and the deletions synced.
 *   3. mission.close, one signed commit: work and codes entries leave the
 *      state, the CLOSE record is completed (SHA-256 of every kept file,
 *      retention date), the certificate is added to the dossier, status
 *      "closed".
 *
 * So no state has keys gone while the history says nothing (1 precedes 2),
 * nor a history that says "erased" while a key copy survives (2 precedes
 * 3). Their ciphertext stays in the history: without keys it is noise,
 * which is what cryptographic erasure means.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "close.h"
#include "device.h"
#include "evault/mission.h"
#include "files.h"
#include "mission.h"
#include "mounts.h"
#include "policy.h"
#include "repo.h"
#include "user.h"
#include "util.h"

#define MARK_MAGIC "EVR1"

/* ---- the CLOSE record ---- */

void close_rec_clear(close_rec *r)
{
	free(r->code);
	free(r->kept);
	free(r->forced);
	memset(r, 0, sizeof(*r));
}

static int parse_time(int64_t *out, const char *v)
{
	char *end;
	long long t = strtoll(v, &end, 10);
	if (!*v || *end || t <= 0)
		return -1;
	*out = t;
	return 0;
}

/* exactly n lowercase hex digits */
static bool hex_of_len(const char *s, size_t n)
{
	return strlen(s) == n && is_hex(s, n);
}

static int grow(void **p, size_t n, size_t size)
{
	if (n & (n - 1) && n > 8)
		return 0;
	size_t cap = n < 8 ? 8 : n * 2;
	void *np = realloc(*p, cap * size);
	if (!np)
		return error_oom();
	*p = np;
	return 0;
}

static int parse_line(void *rec, char *line, unsigned *seen)
{
	close_rec *r = rec;
	char a[80], b[80], c[80]; /* every %Ns below leaves room for its NUL */
	unsigned long long n1, n2, n3;
	int used = 0;
	if (sscanf(line, "close %64s%n", a, &used) == 1 && !line[used]) {
		if (strcmp(a, r->mid) != 0)
			return -1;
		*seen |= 1;
	} else if (sscanf(line, "status %15s%n", a, &used) == 1 && !line[used]) {
		if (strcmp(a, "pending") && strcmp(a, "done"))
			return -1;
		r->done = a[0] == 'd';
		*seen |= 2;
	} else if (sscanf(line, "by %32s%n", a, &used) == 1 && !line[used]) {
		if (!user_name_valid(a))
			return -1;
		snprintf(r->by, sizeof(r->by), "%.32s", a);
		*seen |= 4;
	} else if (sscanf(line, "started %30s%n", a, &used) == 1 && !line[used]) {
		if (parse_time(&r->started, a) < 0)
			return -1;
		*seen |= 8;
	} else if (sscanf(line, "closed %30s%n", a, &used) == 1 && !line[used]) {
		return parse_time(&r->closed, a);
	} else if (sscanf(line, "retain-until %30s%n", a, &used) == 1 && !line[used]) {
		return parse_time(&r->retain_until, a);
	} else if (sscanf(line, "erased %15s key %40s files %llu objects %llu bytes %llu%n", a, b,
			  &n1, &n2, &n3, &used) == 5 &&
		   !line[used]) {
		close_tally *t = strcmp(a, "work") == 0    ? &r->work
				 : strcmp(a, "codes") == 0 ? &r->codes
							   : NULL;
		unsigned bit = t == &r->work ? 16 : 32;
		if (!t || (*seen & bit) || !hex_of_len(b, CLASS_FP_HEX - 1))
			return -1;
		memcpy(t->fp, b, CLASS_FP_HEX);
		t->files = (size_t)n1;
		t->objects = (size_t)n2;
		t->bytes = n3;
		*seen |= bit;
	} else if (sscanf(line, "code %40s %15s%n", b, a, &used) == 2 && !line[used]) {
		if (!hex_of_len(b, LAYOUT_FID_LEN) ||
		    (strcmp(a, "rotated") && strcmp(a, "reported") && strcmp(a, "damaged")) ||
		    grow((void **)&r->code, r->ncode, sizeof(*r->code)) < 0)
			return -1;
		close_code *cc = &r->code[r->ncode++];
		memcpy(cc->fid, b, sizeof(cc->fid));
		snprintf(cc->how, sizeof(cc->how), "%.15s", a);
	} else if (sscanf(line, "kept files %llu bytes %llu%n", &n1, &n2, &used) == 2 &&
		   !line[used]) {
		r->kept_files = (size_t)n1;
		r->kept_bytes = n2;
		*seen |= 64;
	} else if (sscanf(line, "kept-file %40s sha256 %70s size %llu%n", b, c, &n1, &used) == 3 &&
		   !line[used]) {
		if (!hex_of_len(b, LAYOUT_FID_LEN) || !hex_of_len(c, 64) ||
		    grow((void **)&r->kept, r->nkept, sizeof(*r->kept)) < 0)
			return -1;
		close_kept *k = &r->kept[r->nkept++];
		memcpy(k->fid, b, sizeof(k->fid));
		memcpy(k->sha256, c, sizeof(k->sha256));
		k->size = n1;
	} else if (sscanf(line, "forced-device %40s last-contact %30s%n", b, a, &used) == 2 &&
		   !line[used]) {
		if (!user_name_valid(b) || grow((void **)&r->forced, r->nforced, sizeof(*r->forced)) < 0)
			return -1;
		close_forced *f = &r->forced[r->nforced++];
		snprintf(f->device, sizeof(f->device), "%.32s", b);
		if (parse_time(&f->last_contact, a) < 0 && strcmp(a, "0") != 0)
			return -1;
	} else if (sscanf(line, "certificate %40s%n", b, &used) == 1 && !line[used]) {
		if (!hex_of_len(b, LAYOUT_FID_LEN))
			return -1;
		memcpy(r->certificate, b, sizeof(r->certificate));
	} else {
		return -1;
	}
	return 0;
}

int close_parse(close_rec *out, const char *mid, const char *text, size_t len)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->mid, sizeof(out->mid), "%s", mid);
	unsigned seen = 0;
	int rc = text_each_line(text, len, parse_line, out, &seen);
	if (rc < 0) {
		close_rec_clear(out);
		return rc;
	}
	bool whole = seen == 127 && out->kept_files >= out->nkept &&
		     (!out->done || (out->closed && out->retain_until > out->closed &&
				     out->certificate[0] && out->nkept == out->kept_files)) &&
		     (out->done || (!out->closed && !out->nkept && !out->certificate[0]));
	if (rc || !whole) {
		close_rec_clear(out);
		return evault_error_set(EVAULT_ECORRUPT, "the erasure record of %s is damaged",
					mid);
	}
	return 0;
}

static int format_tally(evault_buf *out, const char *cls, const close_tally *t)
{
	return evault_buf_printf(out, "erased %s key %s files %zu objects %zu bytes %llu\n", cls,
				 t->fp, t->files, t->objects, (unsigned long long)t->bytes);
}

int close_format(evault_buf *out, const close_rec *r)
{
	int rc = evault_buf_printf(out, "close %s\nstatus %s\nby %s\nstarted %lld\n", r->mid,
				   r->done ? "done" : "pending", r->by, (long long)r->started);
	if (rc == 0 && r->done)
		rc = evault_buf_printf(out, "closed %lld\nretain-until %lld\n",
				       (long long)r->closed, (long long)r->retain_until);
	if (rc == 0)
		rc = format_tally(out, "work", &r->work);
	if (rc == 0)
		rc = format_tally(out, "codes", &r->codes);
	for (size_t i = 0; i < r->ncode && rc == 0; i++)
		rc = evault_buf_printf(out, "code %s %s\n", r->code[i].fid, r->code[i].how);
	for (size_t i = 0; i < r->nforced && rc == 0; i++)
		rc = evault_buf_printf(out, "forced-device %s last-contact %lld\n", r->forced[i].device,
				       (long long)r->forced[i].last_contact);
	if (rc == 0)
		rc = evault_buf_printf(out, "kept files %zu bytes %llu\n", r->kept_files,
				       (unsigned long long)r->kept_bytes);
	for (size_t i = 0; i < r->nkept && rc == 0; i++)
		rc = evault_buf_printf(out, "kept-file %s sha256 %s size %llu\n", r->kept[i].fid,
				       r->kept[i].sha256, (unsigned long long)r->kept[i].size);
	if (rc == 0 && r->certificate[0])
		rc = evault_buf_printf(out, "certificate %s\n", r->certificate);
	return rc;
}

/* ---- codes marks (missions/<mid>/marks/<fid>.enc, dossier key) ---- */


int mark_decode(mark *out, const void *data, size_t len)
{
	reader r;
	size_t n1, n2, n3, n4;
	memset(out, 0, sizeof(*out));
	reader_init(&r, data, len);
	const uint8_t *magic = reader_bytes(&r, 4);
	const uint8_t *how = reader_string(&r, &n1), *contact = reader_string(&r, &n2),
		      *by = reader_string(&r, &n3);
	uint64_t when = reader_u64(&r);
	const uint8_t *fpath = reader_string(&r, &n4);
	if (r.bad || r.left || memcmp(magic, MARK_MAGIC, 4) != 0 || n1 >= sizeof(out->how) ||
	    n2 > CONTACT_MAX || n3 > EVAULT_USER_MAX || n4 > EVAULT_PATH_MAX ||
	    memchr(how, '\0', n1) || memchr(contact, '\0', n2) || memchr(by, '\0', n3) ||
	    memchr(fpath, '\0', n4) || when > INT64_MAX)
		return evault_error_set(EVAULT_ECORRUPT, "a codes mark is damaged");
	memcpy(out->how, how, n1);
	memcpy(out->contact, contact, n2);
	memcpy(out->by, by, n3);
	out->when = (int64_t)when;
	memcpy(out->path, fpath, n4);
	return 0;
}

static int mark_path(evault_buf *b, const char *mid, const char *fid)
{
	b->size = 0;
	return evault_buf_printf(b, "missions/%s/marks/%s.enc", mid, fid);
}

static int mark_read(mark *out, const state *st, const class_keys *dk, const char *mid,
		     const char *fid)
{
	evault_buf path = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT, plain = EVAULT_BUF_INIT;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = mark_path(&path, mid, fid)) < 0 || (rc = state_read(st, path.ptr, &enc)) < 0 ||
	    (rc = blob_open(&plain, dk, OBJ_KIND_RECORD, fid, enc.ptr, enc.size)) < 0)
		goto done;
	if ((rc = mark_decode(out, plain.ptr, plain.size)) < 0)
		rc = evault_error_set(rc, "the mark of a codes entry of %s is damaged", mid);
done:
	evault_buf_dispose(&path);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&plain);
	return rc;
}

/* The marks of every codes entry a record lists, in its order (caller: free_marks). */
static int read_marks(mark **out, const state *st, const class_keys *dk, const close_rec *r)
{
	*out = NULL;
	if (!r->ncode)
		return 0;
	mark *m = calloc(r->ncode, sizeof(*m));
	if (!m)
		return error_oom();
	*out = m;
	for (size_t i = 0; i < r->ncode; i++) {
		if (strcmp(r->code[i].how, "damaged") == 0)
			continue; /* an entry that never opened carries no mark */
		int rc = mark_read(&m[i], st, dk, r->mid, r->code[i].fid);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void free_marks(mark *m, size_t n)
{
	if (m)
		sodium_memzero(m, n * sizeof(*m));
	free(m);
}

static bool contact_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CONTACT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* "MID/codes/PATH" into its parts. */
static int parse_codes_path(char mid[EVAULT_MID_MAX + 1], const char **path, const char *vp)
{
	const char *s1 = strchr(vp, '/');
	if (!s1 || (size_t)(s1 - vp) > EVAULT_MID_MAX)
		return evault_error_set(EVAULT_EINVAL, "'%.80s' is not MID/codes/PATH", vp);
	memcpy(mid, vp, (size_t)(s1 - vp));
	mid[s1 - vp] = '\0';
	int rc = check_mission_id(mid);
	if (rc < 0)
		return rc;
	if (strncmp(s1 + 1, "codes/", 6) != 0)
		return evault_error_set(EVAULT_EINVAL,
					"only entries of the codes class are marked: '%.80s'", vp);
	*path = s1 + 7;
	return check_file_path(*path);
}

int evault_codes_mark(evault_repo *repo, const char *vpath, const char *reported_to)
{
	state *st = NULL;
	mission_rec m;
	class_keys *ck = NULL, *dk = NULL;
	file_list fl = {0};
	evault_buf plain = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT,
		   sum = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	char mid[EVAULT_MID_MAX + 1];
	const char *fpath = NULL;
	int rc;
	memset(&m, 0, sizeof(m));
	if ((rc = parse_codes_path(mid, &fpath, vpath)) < 0)
		return rc;
	if (reported_to && !contact_valid(reported_to))
		return evault_error_set(EVAULT_EINVAL,
					"--reported-to needs a contact of 1 to %d printable "
					"characters",
					CONTACT_MAX);
	const char *how = reported_to ? "reported" : "rotated";
	if ((rc = repo_require_actor(repo)) < 0 || (rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = mission_load_visible(repo, st, mid, &m)) < 0 ||
	    (rc = mission_check_writable(repo, &m)) < 0 ||
	    (rc = mission_class_keys(repo, &m, EVAULT_CLASS_CODES, &ck)) < 0 ||
	    (rc = mission_class_keys(repo, &m, EVAULT_CLASS_DOSSIER, &dk)) < 0 ||
	    (rc = file_scan(&fl, repo, st, mid, EVAULT_CLASS_CODES, ck, fpath)) < 0)
		goto done;
	if (fl.n != 1) {
		rc = fl.n ? evault_error_set(EVAULT_ECORRUPT, "%s is recorded twice", vpath)
			  : evault_error_set(EVAULT_ENOTFOUND, "no such file: %s", vpath);
		goto done;
	}
	const char *fid = fl.e[0].fid;
	if ((rc = evault_buf_put(&plain, MARK_MAGIC, 4)) < 0 ||
	    (rc = buf_put_string(&plain, how, strlen(how))) < 0 ||
	    (rc = buf_put_string(&plain, reported_to ? reported_to : "",
				 reported_to ? strlen(reported_to) : 0)) < 0 ||
	    (rc = buf_put_string(&plain, repo->actor, strlen(repo->actor))) < 0 ||
	    (rc = buf_put_u64(&plain, (uint64_t)time(NULL))) < 0 ||
	    (rc = buf_put_string(&plain, fpath, strlen(fpath))) < 0 ||
	    (rc = blob_seal(&enc, dk, OBJ_KIND_RECORD, fid, plain.ptr, plain.size)) < 0 ||
	    (rc = mark_path(&path, mid, fid)) < 0 ||
	    (rc = state_put(st, path.ptr, enc.ptr, enc.size)) < 0 ||
	    (rc = evault_buf_printf(&sum, "Mark a codes entry of %s as %s", mid, how)) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-Class: codes\nEvault-File: %s\nEvault-Mark: %s\n",
				    fid, how)) < 0)
		goto done;
	state_event ev = {NULL, "codes.mark", mid, sum.ptr, tr.ptr};
	rc = state_commit(st, &ev);
done:
	sodium_memzero(plain.ptr, plain.size);
	file_list_clear(&fl);
	class_keys_free(ck);
	class_keys_free(dk);
	mission_rec_clear(&m);
	state_end(st);
	evault_buf_dispose(&plain);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

/* ---- step 1: the plan ---- */

/* The distinct objects of a class's live files. */
static int class_objects(objset *out, const state *st, const char *mid, evault_class cls)
{
	memset(out, 0, sizeof(*out));
	int rc = layout_each_object(st, mid, cls, objset_add, out);
	objset_finish(out);
	return rc;
}

static int count_fid(const char *fid, void *p)
{
	(void)fid;
	(*(size_t *)p)++;
	return 0;
}

static int tally_class(close_tally *t, evault_repo *repo, const state *st, const mission_rec *m,
		       evault_class cls)
{
	objset ids;
	int rc;
	memset(t, 0, sizeof(*t));
	memcpy(t->fp, mission_fp(m, cls), CLASS_FP_HEX);
	if ((rc = layout_each_file(st, m->mid, cls, count_fid, &t->files)) < 0 ||
	    (rc = class_objects(&ids, st, m->mid, cls)) < 0)
		return rc;
	t->objects = ids.n;
	for (size_t i = 0; i < ids.n && rc == 0; i++) {
		uint64_t size;
		int64_t mtime;
		int r = repo->objects->ops->stat(repo->objects, ids.id[i], &size, &mtime);
		if (r == 0)
			t->bytes += size;
		else if (r != EVAULT_ENOTFOUND)
			rc = r;
	}
	evault_error_clear();
	objset_clear(&ids);
	return rc;
}

typedef struct users_ctx {
	char (*admin)[EVAULT_USER_MAX + 1];
	size_t nadmin;
} users_ctx;

static int collect_admin(const user_rec *u, void *p)
{
	users_ctx *c = p;
	if (u->role != EVAULT_ROLE_ADMIN || strcmp(u->status, "active") != 0)
		return 0;
	if (grow((void **)&c->admin, c->nadmin, sizeof(*c->admin)) < 0)
		return error_oom();
	snprintf(c->admin[c->nadmin++], EVAULT_USER_MAX + 1, "%s", u->name);
	return 0;
}

static bool keeps_dossier(const users_ctx *u, const mission_rec *m, const char *user)
{
	for (size_t i = 0; i < u->nadmin; i++)
		if (strcmp(u->admin[i], user) == 0)
			return true;
	return mission_is_auditor(m, user);
}

typedef struct names {
	char **v;
	size_t n;
} names;

static int names_add(const char *user, void *p)
{
	names *l = p;
	if (grow((void **)&l->v, l->n, sizeof(*l->v)) < 0)
		return error_oom();
	if (!(l->v[l->n] = strdup(user)))
		return error_oom();
	l->n++;
	return 0;
}

static void names_clear(names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The users holding a copy of a class key, sorted. */
static int list_copies(names *out, evault_repo *repo, const char *mid, evault_class cls)
{
	memset(out, 0, sizeof(*out));
	int rc = repo->keys->ops->list(repo->keys, mid, cls, names_add, out);
	if (rc == 0 && out->n)
		qsort(out->v, out->n, sizeof(*out->v), str_ptr_cmp);
	return rc;
}

static void fmt_when(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}


/* What close will do (and the reasons it would refuse), written to report. */
typedef struct plan {
	close_rec rec;
	size_t refusals;
} plan;

static int report_copies(evault_buf *report, const char *what, const names *n)
{
	int rc = evault_buf_printf(report, "  %s:", what);
	for (size_t i = 0; i < n->n && rc == 0; i++)
		rc = evault_buf_printf(report, " %s", n->v[i]);
	if (rc == 0)
		rc = evault_buf_printf(report, "%s\n", n->n ? "" : " none");
	return rc;
}

/* Has the device synced since the mission last changed? Its last contact's
 * head holds the same mission record, files, marks and authorisation. */
static bool synced_since(evault_repo *repo, const state *st, const char *mid,
			 const device_contact *ct)
{
	static const char *const parts[] = {"MISSION", "dossier", "work", "codes",
					    "marks", "photos.enc", "info.enc"};
	if (!ct->head[0])
		return false;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		char path[128], now[41], then[41];
		snprintf(path, sizeof(path), "missions/%s/%s", mid, parts[i]);
		state_entry_id(st, path, now);
		state_entry_id_at(repo, ct->head, path, then);
		if (strcmp(now, then) != 0)
			return false;
	}
	return true;
}

typedef struct dev_plan {
	plan *p;
	evault_repo *repo;
	const state *st;
	const char *mid;
	bool force;
	bool dry_run;
	evault_buf *report;
	size_t n;
} dev_plan;

static int plan_device(const device_hold *h, void *payload)
{
	dev_plan *d = payload;
	device_contact ct;
	char when[32];
	if (h->erased)
		return 0;
	int rc = contact_read(d->repo->path, h->name, &ct);
	if (rc < 0) {
		evault_error_clear();
		memset(&ct, 0, sizeof(ct));
	}
	utc_time(when, ct.last, false, "never");
	bool synced = synced_since(d->repo, d->st, d->mid, &ct);
	if (d->n++ == 0 && (rc = evault_buf_printf(d->report, "devices holding %s (each erases "
							      "it at its next sync, then confirms):\n",
						   d->mid)) < 0)
		return rc;
	if ((rc = evault_buf_printf(d->report, "  %s (%s): last contact %s, %s\n", h->name, h->user,
				    when,
				    synced ? "synced since the mission last changed"
					   : "not synced since the mission last changed")) < 0 ||
	    synced)
		return rc;
	if (!d->force) {
		d->p->refusals++;
		return evault_buf_printf(
		    d->report,
		    "  refused: %s has not synced since %s last changed: what it recorded since "
		    "cannot be known here (have it sync, or close with --force: whatever it sends "
		    "later for %s is refused and erased, and the certificate says so)\n",
		    h->name, d->mid, d->mid);
	}
	close_rec *r = &d->p->rec;
	if ((rc = grow((void **)&r->forced, r->nforced, sizeof(*r->forced))) < 0)
		return rc;
	close_forced *f = &r->forced[r->nforced++];
	snprintf(f->device, sizeof(f->device), "%s", h->name);
	f->last_contact = ct.last;
	return evault_buf_printf(d->report,
				 "  forced: whatever %s sends later for %s %s refused and erased\n",
				 h->name, d->mid, d->dry_run ? "would be" : "is");
}

static int make_plan(plan *p, evault_repo *repo, const state *st, const mission_rec *m, bool force,
		     bool dry_run, evault_buf *report)
{
	class_keys *ck = NULL, *dk = NULL;
	file_list codes = {0}, dossier = {0};
	users_ctx uc = {0};
	names copies[EVAULT_CLASS_COUNT];
	int rc;
	memset(copies, 0, sizeof(copies));
	memset(p, 0, sizeof(*p));
	close_rec *r = &p->rec;
	snprintf(r->mid, sizeof(r->mid), "%s", m->mid);
	snprintf(r->by, sizeof(r->by), "%s", repo->actor);
	r->started = (int64_t)time(NULL);
	if ((rc = mission_class_keys(repo, m, EVAULT_CLASS_CODES, &ck)) < 0 ||
	    (rc = mission_class_keys(repo, m, EVAULT_CLASS_DOSSIER, &dk)) < 0 ||
	    (rc = file_scan(&codes, repo, st, m->mid, EVAULT_CLASS_CODES, ck, NULL)) < 0 ||
	    (rc = file_scan(&dossier, repo, st, m->mid, EVAULT_CLASS_DOSSIER, dk, NULL)) < 0 ||
	    (rc = tally_class(&r->work, repo, st, m, EVAULT_CLASS_WORK)) < 0 ||
	    (rc = tally_class(&r->codes, repo, st, m, EVAULT_CLASS_CODES)) < 0 ||
	    (rc = users_each(st, collect_admin, &uc)) < 0)
		goto done;
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
		if ((rc = list_copies(&copies[c], repo, m->mid, (evault_class)c)) < 0)
			goto done;
	for (size_t i = 0; i < dossier.n; i++) {
		r->kept_files++;
		r->kept_bytes += dossier.e[i].m.size;
	}
	if ((rc = evault_buf_printf(report,
				    "close of %s\n%s the dossier, read-only: %zu files, "
				    "%llu bytes\n",
				    m->mid, dry_run ? "would keep" : "keep", r->kept_files,
				    (unsigned long long)r->kept_bytes)) < 0)
		goto done;
	for (size_t i = 0; i < dossier.n && rc == 0; i++)
		rc = evault_buf_printf(report, "  dossier/%s (%llu bytes)\n", dossier.e[i].m.path,
				       (unsigned long long)dossier.e[i].m.size);
	names dkeep = {0}, dgone = {0};
	for (size_t i = 0; i < copies[EVAULT_CLASS_DOSSIER].n && rc == 0; i++) {
		const char *u = copies[EVAULT_CLASS_DOSSIER].v[i];
		rc = names_add(u, keeps_dossier(&uc, m, u) ? &dkeep : &dgone);
	}
	if (rc == 0)
		rc = report_copies(report, "dossier key kept by (admins, auditors)", &dkeep);
	if (rc == 0)
		rc = report_copies(report,
				   dry_run ? "would destroy dossier key copies"
					   : "dossier key copies destroyed",
				   &dgone);
	names_clear(&dkeep);
	names_clear(&dgone);
	if (rc < 0)
		goto done;
	static const evault_class erased[2] = {EVAULT_CLASS_WORK, EVAULT_CLASS_CODES};
	for (int i = 0; i < 2 && rc == 0; i++) {
		const close_tally *t = i == 0 ? &r->work : &r->codes;
		rc = evault_buf_printf(
		    report, "%s %s (key %s): %zu files, %zu objects, %llu bytes\n",
		    dry_run ? "would erase" : "erase", evault_class_name(erased[i]), t->fp,
		    t->files, t->objects, (unsigned long long)t->bytes);
		if (rc == 0)
			rc = report_copies(
			    report, dry_run ? "would destroy key copies" : "key copies destroyed",
			    &copies[erased[i]]);
	}
	for (size_t i = 0; i < codes.nbad && rc == 0; i++) {
		if ((rc = grow((void **)&r->code, r->ncode, sizeof(*r->code))) < 0)
			break;
		close_code *cc = &r->code[r->ncode++];
		memcpy(cc->fid, codes.bad[i].fid, sizeof(cc->fid));
		snprintf(cc->how, sizeof(cc->how), "damaged");
		rc = evault_buf_printf(report,
				       "  codes entry %s: damaged (%s): %s unread, named in "
				       "the certificate\n",
				       codes.bad[i].fid, codes.bad[i].why,
				       dry_run ? "would be erased" : "erased");
	}
	for (size_t i = 0; i < dossier.nbad && rc == 0; i++) {
		p->refusals++;
		rc = evault_buf_printf(report,
				       "  refused: dossier entry %s is damaged (%s): the archive "
				       "keeps only what it can prove; remove it first (evault rm "
				       "--damaged %s/dossier/%s)\n",
				       dossier.bad[i].fid, dossier.bad[i].why, m->mid,
				       dossier.bad[i].fid);
	}
	for (size_t i = 0; i < codes.n && rc == 0; i++) {
		mark mk;
		int mr = mark_read(&mk, st, dk, m->mid, codes.e[i].fid);
		if (mr == EVAULT_ENOTFOUND) {
			evault_error_clear();
			p->refusals++;
			rc = evault_buf_printf(report,
					       "  refused: codes/%s is neither marked rotated nor "
					       "reported (evault codes mark)\n",
					       codes.e[i].m.path);
			continue;
		}
		if (mr < 0) {
			rc = mr;
			break;
		}
		if ((rc = grow((void **)&r->code, r->ncode, sizeof(*r->code))) < 0)
			break;
		close_code *cc = &r->code[r->ncode++];
		memcpy(cc->fid, codes.e[i].fid, sizeof(cc->fid));
		snprintf(cc->how, sizeof(cc->how), "%s", mk.how);
		rc = evault_buf_printf(report, "  codes/%s: %s%s%s\n", codes.e[i].m.path, mk.how,
				       mk.contact[0] ? " to " : "", mk.contact);
		sodium_memzero(&mk, sizeof(mk));
	}
	if (rc < 0)
		goto done;
	long mpid = 0;
	if (rc == 0 && mounts_writing(repo, r->mid, &mpid)) {
		p->refusals++;
		rc = evault_buf_printf(report,
				       "  refused: files of %s are open for writing in a mount "
				       "(process %ld): close them first\n",
				       r->mid, mpid);
	}
	policy pol;
	if (rc == 0)
		rc = policy_load(st, &pol);
	if (rc < 0)
		goto done;
	if (dossier.n == 0 && pol.close_requires_dossier) {
		p->refusals++;
		rc = evault_buf_printf(report, "  refused: the dossier holds no file "
					       "(policy: close-requires-dossier yes)\n");
	}
	for (size_t i = 0; i < dossier.n && rc == 0; i++)
		if (strcmp(dossier.e[i].m.path, CLOSE_CERT_PATH) == 0) {
			p->refusals++;
			rc = evault_buf_printf(report,
					       "  refused: the dossier already holds %s, where "
					       "close puts its certificate: rename it\n",
					       CLOSE_CERT_PATH);
		}
	dev_plan dp = {p, repo, st, m->mid, force, dry_run, report, 0};
	if (rc == 0)
		rc = holds_each(st, m->mid, plan_device, &dp);
	char until[32];
	fmt_when(until, policy_retain_until(r->started, pol.retention_years));
	if (rc == 0)
		rc = evault_buf_printf(report, "retain the dossier until about %s (%u years)\n",
				       until, pol.retention_years);
done:
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
		names_clear(&copies[c]);
	free(uc.admin);
	file_list_clear(&codes);
	file_list_clear(&dossier);
	class_keys_free(ck);
	class_keys_free(dk);
	return rc;
}

static int close_path(evault_buf *b, const char *mid)
{
	b->size = 0;
	return evault_buf_printf(b, "missions/%s/CLOSE", mid);
}

static int write_mission(state *st, const mission_rec *m)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc;
	if ((rc = mission_format(&text, m)) == 0 &&
	    (rc = evault_buf_printf(&path, "missions/%s/MISSION", m->mid)) == 0)
		rc = state_put(st, path.ptr, text.ptr, text.size);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

static int write_close(state *st, const close_rec *r)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc;
	if ((rc = close_format(&text, r)) == 0 && (rc = close_path(&path, r->mid)) == 0)
		rc = state_put(st, path.ptr, text.ptr, text.size);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

static int load_close(close_rec *out, const state *st, const char *mid)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc;
	if ((rc = close_path(&path, mid)) == 0 && (rc = state_read(st, path.ptr, &text)) == 0)
		rc = close_parse(out, mid, text.ptr, text.size);
	else if (rc == EVAULT_ENOTFOUND)
		rc = evault_error_set(EVAULT_ECORRUPT, "mission %s has no erasure record", mid);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

static int tally_trailer(evault_buf *tr, const char *name, const close_tally *t)
{
	return evault_buf_printf(tr, "Evault-Erase-%s: key %s files %zu objects %zu bytes %llu\n",
				 name, t->fp, t->files, t->objects, (unsigned long long)t->bytes);
}

static int commit_closing(state *st, mission_rec *m, const close_rec *r)
{
	evault_buf sum = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	int rc;
	snprintf(m->status, sizeof(m->status), "closing");
	if ((rc = write_mission(st, m)) < 0 || (rc = write_close(st, r)) < 0 ||
	    (rc = evault_buf_printf(&sum, "Begin closing %s: erase work and codes", m->mid)) < 0 ||
	    (rc = tally_trailer(&tr, "Work", &r->work)) < 0 ||
	    (rc = tally_trailer(&tr, "Codes", &r->codes)) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-Keep: files %zu bytes %llu\n", r->kept_files,
				    (unsigned long long)r->kept_bytes)) < 0)
		goto done;
	state_event ev = {NULL, "mission.closing", m->mid, sum.ptr, tr.ptr};
	rc = state_commit(st, &ev);
done:
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	return rc;
}

/* ---- step 2: keys and objects ---- */

typedef struct del_ctx {
	evault_repo *repo;
	size_t done, total;
} del_ctx;

static int delete_object(const uint8_t id[32], void *p)
{
	del_ctx *c = p;
	int rc = c->repo->objects->ops->del(c->repo->objects, id);
	if (rc == 0 && ++c->done == c->total / 2 + 1)
		evault_failpoint("close-mid-objects");
	if (rc == 0)
		progress_report("close: objects erased", c->done, c->total, false);
	return rc;
}

static int erase_keys_and_objects(evault_repo *repo, const state *st, const mission_rec *m)
{
	users_ctx uc = {0};
	names copies = {0};
	int rc;
	if ((rc = users_each(st, collect_admin, &uc)) < 0)
		goto done;
	static const evault_class erased[2] = {EVAULT_CLASS_WORK, EVAULT_CLASS_CODES};
	for (int i = 0; i < 2 && rc == 0; i++) {
		if ((rc = list_copies(&copies, repo, m->mid, erased[i])) < 0)
			goto done;
		for (size_t j = 0; j < copies.n && rc == 0; j++) {
			rc = repo->keys->ops->destroy(repo->keys, m->mid, erased[i], copies.v[j]);
			if (rc == 0 && i == 0 && j == 0)
				evault_failpoint("close-mid-keys");
		}
		names_clear(&copies);
	}
	if (rc < 0 || (rc = list_copies(&copies, repo, m->mid, EVAULT_CLASS_DOSSIER)) < 0)
		goto done;
	for (size_t j = 0; j < copies.n && rc == 0; j++)
		if (!keeps_dossier(&uc, m, copies.v[j]))
			rc = repo->keys->ops->destroy(repo->keys, m->mid, EVAULT_CLASS_DOSSIER,
						      copies.v[j]);
	if (rc < 0)
		goto done;
	evault_failpoint("close-after-keys");
	for (int i = 0; i < 2 && rc == 0; i++) {
		del_ctx dc = {repo, 0, 0};
		objset ids;
		if ((rc = class_objects(&ids, st, m->mid, erased[i])) < 0)
			goto done;
		dc.total = ids.n;
		for (size_t j = 0; j < ids.n && rc == 0; j++)
			rc = delete_object(ids.id[j], &dc);
		objset_clear(&ids);
	}
	progress_report(NULL, 0, 0, false);
	if (rc == 0)
		rc = repo->objects->ops->sync(repo->objects);
done:
	names_clear(&copies);
	free(uc.admin);
	return rc;
}

/* ---- step 3: the record, the certificate, mission.close ---- */

typedef struct sha_ctx {
	crypto_hash_sha256_state s;
} sha_ctx;

static int sha_sink(const void *data, size_t len, void *p)
{
	crypto_hash_sha256_update(&((sha_ctx *)p)->s, data, len);
	return 0;
}

static int fid_cmp(const void *a, const void *b)
{
	return strcmp(((const file_entry *)a)->fid, ((const file_entry *)b)->fid);
}

typedef struct cert_input {
	const close_rec *r;
	const char *vault;
	const file_list *dossier; /* NULL: no dossier key, fids instead of names */
	const mark *marks;        /* r->ncode of them, or NULL: fids instead of names */
} cert_input;

static const char *kept_name(const cert_input *in, const char *fid)
{
	for (size_t i = 0; in->dossier && i < in->dossier->n; i++)
		if (strcmp(in->dossier->e[i].fid, fid) == 0)
			return in->dossier->e[i].m.path;
	return NULL;
}

/* The erasure certificate, French then English, in the spirit of NIST SP 800-88 rev. 1
 * appendix G (what was sanitized, how, how it was verified, by whom, when). */
static int render_certificate(evault_buf *out, const cert_input *in)
{
	const close_rec *r = in->r;
	char started[32], closed[32], until[32];
	fmt_when(started, r->started);
	fmt_when(closed, r->closed);
	fmt_when(until, r->retain_until);
	int rc = evault_buf_printf(
	    out,
	    "ATTESTATION D'EFFACEMENT / CERTIFICATE OF SANITIZATION\n"
	    "(dans l'esprit de / in the spirit of NIST SP 800-88)\n"
	    "\n"
	    "Coffre / Vault:                 %s\n"
	    "Mission:                        %s\n"
	    "Effectué par / Performed by:    %s (admin)\n"
	    "Début / Started:                %s\n"
	    "Fin / Completed:                %s\n"
	    "\n"
	    "Support / Media\n"
	    "  Objets chiffrés d'evault (XChaCha20-Poly1305), une clé par classe de\n"
	    "  contenu ; copies de clé scellées par utilisateur.\n"
	    "  evault encrypted objects (XChaCha20-Poly1305), one key per content\n"
	    "  class; key copies sealed per user.\n"
	    "\n"
	    "Méthode / Method\n"
	    "  Effacement cryptographique : toutes les copies des clés des classes\n"
	    "  work et codes détruites (fichiers écrasés, supprimés, répertoire\n"
	    "  synchronisé), puis les objets supprimés.\n"
	    "  Cryptographic Erase: every copy of the work and codes class keys\n"
	    "  destroyed (files overwritten, unlinked, directory synced), then the\n"
	    "  objects deleted.\n"
	    "\n"
	    "Effacé / Erased\n",
	    in->vault, r->mid, r->by, started, closed);
	const close_tally *t[2] = {&r->work, &r->codes};
	static const char *const cls[2] = {"work", "codes"};
	for (int i = 0; i < 2 && rc == 0; i++)
		rc = evault_buf_printf(out,
				       "  %-6s clé / key %s : %zu fichiers / files, %zu objets / "
				       "objects, %llu octets / bytes\n",
				       cls[i], t[i]->fp, t[i]->files, t[i]->objects,
				       (unsigned long long)t[i]->bytes);
	if (rc == 0 && r->ncode)
		rc = evault_buf_printf(out, "  Codes d'accès / Access codes:\n");
	for (size_t i = 0; i < r->ncode && rc == 0; i++) {
		if (strcmp(r->code[i].how, "damaged") == 0) {
			rc = evault_buf_printf(out,
					       "    entry %s: illisible, effacée sans être lue / "
					       "damaged, erased unread\n",
					       r->code[i].fid);
			continue;
		}
		const char *name = in->marks ? in->marks[i].path : NULL;
		bool rotated = strcmp(r->code[i].how, "rotated") == 0;
		rc = evault_buf_printf(
		    out, "    %s%s: %s", name ? "codes/" : "entry ", name ? name : r->code[i].fid,
		    rotated ? "changé / rotated" : "signalé au client / reported to the client");
		if (rc == 0 && in->marks) {
			char when[32];
			fmt_when(when, in->marks[i].when);
			rc = evault_buf_printf(out, "%s%s (%s, %s)",
					       in->marks[i].contact[0] ? ": " : "",
					       in->marks[i].contact, in->marks[i].by, when);
		}
		if (rc == 0)
			rc = evault_buf_printf(out, "\n");
	}
	if (rc == 0)
		rc = evault_buf_printf(
		    out,
		    "\n"
		    "Conservé / Kept\n"
		    "  Dossier, en lecture seule, jusqu'au / read-only, until %s\n"
		    "  %zu fichiers / files, %llu octets / bytes ; empreintes SHA-256 / SHA-256 "
		    "fingerprints:\n",
		    until, r->kept_files, (unsigned long long)r->kept_bytes);
	for (size_t i = 0; i < r->nkept && rc == 0; i++) {
		const char *name = kept_name(in, r->kept[i].fid);
		rc = evault_buf_printf(out, "    %s  %llu  %s%s\n", r->kept[i].sha256,
				       (unsigned long long)r->kept[i].size,
				       name ? "dossier/" : "entry ", name ? name : r->kept[i].fid);
	}
	if (rc == 0)
		rc = evault_buf_printf(
		    out, "\n"
			 "Vérification / Verification\n"
			 "  L'événement signé mission.close de l'historique porte ce relevé ;\n"
			 "  `evault audit verify` contrôle qu'aucune copie des clés effacées ne\n"
			 "  subsiste et qu'aucun fichier work ou codes ne reste.\n"
			 "  The signed mission.close event of the history holds this record;\n"
			 "  `evault audit verify` checks that no copy of the erased keys remains\n"
			 "  and that no work or codes file is left.\n");
	return rc;
}

typedef struct dev_cert {
	evault_repo *repo;
	const close_rec *r;
	evault_buf *out;
	size_t n;
} dev_cert;

static const close_forced *forced_of(const close_rec *r, const char *device)
{
	for (size_t i = 0; i < r->nforced; i++)
		if (strcmp(r->forced[i].device, device) == 0)
			return &r->forced[i];
	return NULL;
}

static int cert_device(const device_hold *h, void *payload)
{
	dev_cert *c = payload;
	char when[32];
	int rc = 0;
	if (c->n++ == 0)
		rc = evault_buf_printf(
		    c->out, "\n"
			    "Appareils / Devices\n"
			    "  Chaque appareil qui a détenu la mission, et sa confirmation signée\n"
			    "  d'effacement (événement device.erased).\n"
			    "  Each device that held the mission, and its signed confirmation of\n"
			    "  erasure (device.erased event).\n");
	if (rc == 0 && h->erased) {
		fmt_when(when, h->erased_at);
		rc = evault_buf_printf(c->out, "    %s (%s): effacé le / erased %s\n", h->name,
				       h->user, when);
	} else if (rc == 0) {
		device_contact ct;
		if (contact_read(c->repo->path, h->name, &ct) < 0) {
			evault_error_clear();
			memset(&ct, 0, sizeof(ct));
		}
		utc_time(when, ct.last, false, "-");
		rc = evault_buf_printf(c->out,
				       "    %s (%s): en attente, dernier contact / pending, last "
				       "contact %s\n",
				       h->name, h->user, when);
	}
	const close_forced *f = forced_of(c->r, h->name);
	if (rc == 0 && f) {
		utc_time(when, f->last_contact, false, "-");
		rc = evault_buf_printf(
		    c->out,
		    "      clôture forcée sans sa dernière synchronisation (dernier contact %s) :\n"
		    "      ce qu'il a enregistré depuis est refusé et effacé /\n"
		    "      closed without its last sync (last contact %s): what it recorded\n"
		    "      since is refused and erased\n",
		    when, when);
	}
	if (rc == 0 && h->erased && h->dropped)
		rc = evault_buf_printf(c->out,
				       "      %llu événement(s) refusé(s) et effacé(s) / event(s) "
				       "refused and erased\n",
				       (unsigned long long)h->dropped);
	return rc;
}

/* The devices that held the mission, as the state st says now. */
static int render_devices(evault_buf *out, evault_repo *repo, const state *st,
			  const close_rec *r)
{
	dev_cert c = {repo, r, out, 0};
	int rc = holds_each(st, r->mid, cert_device, &c);
	if (rc == 0 && c.n == 0)
		rc = evault_buf_printf(out, "\n"
					    "Appareils / Devices\n"
					    "  Aucun appareil n'a détenu la mission.\n"
					    "  No device held the mission.\n");
	return rc;
}

typedef struct unrecord_ctx {
	state *st;
	const char *mid;
	evault_class cls;
} unrecord_ctx;

static int unrecord_fid(const char *fid, void *p)
{
	unrecord_ctx *c = p;
	return file_unrecord(c->st, c->mid, c->cls, fid);
}

static int finish_close(evault_repo *repo, const char *mid, evault_buf *report)
{
	state *st = NULL;
	mission_rec m;
	close_rec r;
	class_keys *dk = NULL;
	file_list dossier = {0};
	mark *marks = NULL;
	evault_buf cert = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	int rc;
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	if ((rc = state_begin(&st, repo, true)) < 0 || (rc = mission_load(st, mid, &m)) < 0)
		goto done;
	if (strcmp(m.status, "closing") != 0) {
		rc = evault_error_set(EVAULT_ELOCKED, "mission %s changed during close (%s)", mid,
				      m.status);
		goto done;
	}
	if ((rc = load_close(&r, st, mid)) < 0 ||
	    (rc = mission_class_keys(repo, &m, EVAULT_CLASS_DOSSIER, &dk)) < 0 ||
	    (rc = file_scan(&dossier, repo, st, mid, EVAULT_CLASS_DOSSIER, dk, NULL)) < 0)
		goto done;
	if (dossier.n)
		qsort(dossier.e, dossier.n, sizeof(*dossier.e), fid_cmp);
	/* SHA-256 of every kept file, read back through the verified path. */
	r.done = true;
	r.kept_files = dossier.n;
	r.kept_bytes = 0;
	if (dossier.n && !(r.kept = calloc(dossier.n, sizeof(*r.kept)))) {
		rc = error_oom();
		goto done;
	}
	for (size_t i = 0; i < dossier.n; i++) {
		sha_ctx sc;
		uint8_t h[32];
		crypto_hash_sha256_init(&sc.s);
		rc = file_read(repo, dk, &dossier.e[i].m, sha_sink, &sc);
		if (rc == 0)
			crypto_hash_sha256_final(&sc.s, h);
		sodium_memzero(&sc, sizeof(sc)); /* it held the tail of a plaintext block */
		if (rc < 0)
			goto done;
		memcpy(r.kept[i].fid, dossier.e[i].fid, sizeof(r.kept[i].fid));
		hex_encode(r.kept[i].sha256, h, sizeof(h));
		r.kept[i].size = dossier.e[i].m.size;
		r.kept_bytes += dossier.e[i].m.size;
		r.nkept++;
	}
	/* The codes entries' marks (dossier key) name them in the certificate:
	 * the codes key is gone by now. */
	if ((rc = read_marks(&marks, st, dk, &r)) < 0)
		goto done;
	policy pol; /* the policy in force, from the verified state */
	if ((rc = policy_load(st, &pol)) < 0)
		goto done;
	r.closed = (int64_t)time(NULL);
	if (r.closed <= r.started)
		r.closed = r.started + 1;
	r.retain_until = policy_retain_until(r.closed, pol.retention_years);
	/* Work and codes leave the state. */
	static const evault_class erased[2] = {EVAULT_CLASS_WORK, EVAULT_CLASS_CODES};
	for (int i = 0; i < 2; i++) {
		unrecord_ctx uc = {st, mid, erased[i]};
		if ((rc = layout_each_file(st, mid, erased[i], unrecord_fid, &uc)) < 0)
			goto done;
	}
	/* The certificate, into the dossier (it does not mention itself). */
	cert_input in = {&r, repo->cfg.vault_id_hex, &dossier, marks};
	if ((rc = render_certificate(&cert, &in)) < 0 ||
	    (rc = render_devices(&cert, repo, st, &r)) < 0)
		goto done;
	manifest cm;
	memset(&cm, 0, sizeof(cm));
	cm.type = MANIFEST_TYPE_FILE;
	cm.path = (char *)CLOSE_CERT_PATH;
	cm.mode = 0444;
	cm.mtime = r.closed;
	cm.added = r.closed;
	snprintf(cm.content_type, sizeof(cm.content_type), "text/plain; charset=utf-8");
	if ((rc = file_store_buffer(repo, dk, cert.ptr, cert.size, &cm)) < 0)
		goto done;
	rc = file_record(st, mid, EVAULT_CLASS_DOSSIER, dk, &cm, r.certificate);
	free(cm.objs);
	if (rc < 0)
		goto done;
	snprintf(m.status, sizeof(m.status), "closed");
	m.closed = r.closed;
	m.retain_until = r.retain_until;
	if ((rc = write_mission(st, &m)) < 0 || (rc = write_close(st, &r)) < 0 ||
	    (rc = evault_buf_printf(&sum, "Close %s: work and codes erased, dossier archived",
				    mid)) < 0 ||
	    (rc = tally_trailer(&tr, "Work", &r.work)) < 0 ||
	    (rc = tally_trailer(&tr, "Codes", &r.codes)) < 0 ||
	    (rc = evault_buf_printf(
		 &tr, "Evault-Keep: files %zu bytes %llu\nEvault-Certificate: %s\n", r.kept_files,
		 (unsigned long long)r.kept_bytes, r.certificate)) < 0)
		goto done;
	evault_failpoint("close-before-commit");
	state_event ev = {NULL, "mission.close", mid, sum.ptr, tr.ptr};
	if ((rc = state_commit(st, &ev)) < 0)
		goto done;
	char until[32];
	fmt_when(until, r.retain_until);
	rc = evault_buf_printf(report,
			       "closed %s: work and codes erased, %zu dossier files kept until %s; "
			       "certificate in dossier/%s\n",
			       mid, r.kept_files, until, CLOSE_CERT_PATH);
done:
	free_marks(marks, r.ncode);
	if (cert.ptr)
		sodium_memzero(cert.ptr, cert.size);
	evault_buf_dispose(&cert);
	evault_buf_dispose(&sum);
	evault_buf_dispose(&tr);
	file_list_clear(&dossier);
	class_keys_free(dk);
	close_rec_clear(&r);
	mission_rec_clear(&m);
	state_end(st);
	return rc;
}

/* ---- the commands ---- */

int evault_mission_close(evault_repo *repo, const char *mid, bool dry_run, bool force,
			 evault_buf *report)
{
	state *st = NULL;
	mission_rec m;
	plan p;
	close_rec r;
	int rc;
	memset(&m, 0, sizeof(m));
	memset(&p, 0, sizeof(p));
	memset(&r, 0, sizeof(r));
	if ((rc = repo_require_admin(repo, "close missions")) < 0 ||
	    (rc = check_mission_id(mid)) < 0)
		return rc;
	if ((rc = state_begin(&st, repo, !dry_run)) < 0 || (rc = mission_load(st, mid, &m)) < 0)
		goto done;
	if (strcmp(m.status, "closing") == 0) {
		char when[32];
		if ((rc = load_close(&r, st, mid)) < 0)
			goto done;
		fmt_when(when, r.started);
		rc = evault_buf_printf(
		    report, "the close of %s begun by %s at %s was interrupted: %s\n", mid, r.by,
		    when, dry_run ? "run close again to finish it" : "finishing it");
		if (rc < 0 || dry_run)
			goto done;
	} else if (strcmp(m.status, "open") != 0) {
		rc = evault_error_set(EVAULT_EREADONLY, "mission %s is already %s", mid, m.status);
		goto done;
	} else {
		if ((rc = make_plan(&p, repo, st, &m, force, dry_run, report)) < 0)
			goto done;
		if (p.refusals) {
			rc = evault_error_set(EVAULT_EREFUSED,
					      "close of %s refused (%zu reason%s above)", mid,
					      p.refusals, p.refusals > 1 ? "s" : "");
			goto done;
		}
		if (dry_run) {
			rc = evault_buf_printf(report, "dry run: nothing was changed\n");
			goto done;
		}
		if ((rc = commit_closing(st, &m, &p.rec)) < 0)
			goto done;
		evault_failpoint("close-after-closing");
	}
	state_end(st);
	st = NULL;
	mission_rec_clear(&m);
	/* Step 2 on the state the closing commit made. */
	if ((rc = state_begin(&st, repo, false)) < 0 || (rc = mission_load(st, mid, &m)) < 0 ||
	    (rc = erase_keys_and_objects(repo, st, &m)) < 0)
		goto done;
	state_end(st);
	st = NULL;
	rc = finish_close(repo, mid, report);
done:
	close_rec_clear(&p.rec);
	close_rec_clear(&r);
	mission_rec_clear(&m);
	state_end(st);
	return rc;
}

int evault_mission_certificate(evault_repo *repo, const char *mid, evault_buf *out)
{
	state *st = NULL;
	mission_rec m;
	close_rec r;
	class_keys *dk = NULL;
	file_list dossier = {0};
	mark *marks = NULL;
	int rc;
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	if ((rc = repo_require_actor(repo)) < 0 || (rc = state_begin(&st, repo, false)) < 0)
		goto done;
	rc = repo->role == EVAULT_ROLE_ADMIN ? mission_load(st, mid, &m)
					     : mission_load_visible(repo, st, mid, &m);
	if (rc < 0)
		goto done;
	if (strcmp(m.status, "closed") != 0 && strcmp(m.status, "expired") != 0 &&
	    strcmp(m.status, "expiring") != 0) {
		rc =
		    evault_error_set(EVAULT_ENOTFOUND,
				     "mission %s is %s: no erasure certificate yet", mid, m.status);
		goto done;
	}
	if ((rc = load_close(&r, st, mid)) < 0)
		goto done;
	/* Names need the dossier key (admins, granted auditors; nobody once expired). */
	bool with_names = mission_class_keys(repo, &m, EVAULT_CLASS_DOSSIER, &dk) == 0;
	evault_error_clear();
	if (with_names &&
	    (rc = file_scan(&dossier, repo, st, mid, EVAULT_CLASS_DOSSIER, dk, NULL)) < 0)
		goto done;
	if (with_names && (rc = read_marks(&marks, st, dk, &r)) < 0)
		goto done;
	cert_input in = {&r, repo->cfg.vault_id_hex, with_names ? &dossier : NULL, marks};
	if ((rc = render_certificate(out, &in)) == 0)
		rc = render_devices(out, repo, st, &r);
done:
	free_marks(marks, r.ncode);
	file_list_clear(&dossier);
	class_keys_free(dk);
	close_rec_clear(&r);
	mission_rec_clear(&m);
	state_end(st);
	return rc;
}

/* ---- expiry (retention): the dossier's turn, in the same three steps ---- */

static int commit_status(state *st, mission_rec *m, const char *status, const char *action,
			 const char *summary)
{
	snprintf(m->status, sizeof(m->status), "%s", status);
	int rc = write_mission(st, m);
	if (rc == 0) {
		state_event ev = {NULL, action, m->mid, summary, NULL};
		rc = state_commit(st, &ev);
	}
	return rc;
}

typedef struct del_all {
	evault_repo *repo;
	size_t n;
} del_all;

static int del_one(const uint8_t id[32], void *p)
{
	del_all *d = p;
	d->n++;
	return d->repo->objects->ops->del(d->repo->objects, id);
}

typedef struct mark_list {
	state *st;
	const char *mid;
} mark_list;

static int unrecord_mark(const char *name, bool is_dir, void *p)
{
	mark_list *ml = p;
	evault_buf path = EVAULT_BUF_INIT;
	(void)is_dir;
	int rc = evault_buf_printf(&path, "missions/%s/marks/%s", ml->mid, name);
	if (rc == 0)
		rc = state_remove(ml->st, path.ptr);
	evault_buf_dispose(&path);
	return rc;
}

int mission_expire(evault_repo *repo, const char *mid, bool dry_run, evault_buf *report)
{
	state *st = NULL;
	mission_rec m;
	names copies = {0};
	evault_buf path = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT;
	int rc;
	memset(&m, 0, sizeof(m));
	if ((rc = state_begin(&st, repo, !dry_run)) < 0 || (rc = mission_load(st, mid, &m)) < 0)
		goto done;
	bool resume = strcmp(m.status, "expiring") == 0;
	if (!resume && strcmp(m.status, "closed") != 0) {
		rc = evault_error_set(EVAULT_EREADONLY, "mission %s is %s, not closed", mid,
				      m.status);
		goto done;
	}
	char until[32];
	fmt_when(until, m.retain_until);
	if ((rc = evault_buf_printf(report, "%s %s: dossier retained until %s%s\n",
				    dry_run ? "would expire" : "expire", mid, until,
				    resume ? " (finishing an interrupted expiry)" : "")) < 0 ||
	    dry_run)
		goto done;
	if (!resume) {
		if ((rc = evault_buf_printf(&sum, "Begin expiring %s: its retention ended", mid)) <
			0 ||
		    (rc = commit_status(st, &m, "expiring", "mission.expiring", sum.ptr)) < 0)
			goto done;
		evault_failpoint("expire-after-expiring");
	}
	state_end(st);
	st = NULL;
	/* every copy of the dossier key, then its objects */
	if ((rc = list_copies(&copies, repo, mid, EVAULT_CLASS_DOSSIER)) < 0)
		goto done;
	for (size_t i = 0; i < copies.n && rc == 0; i++)
		rc = repo->keys->ops->destroy(repo->keys, mid, EVAULT_CLASS_DOSSIER, copies.v[i]);
	if (rc < 0)
		goto done;
	evault_failpoint("expire-after-keys");
	del_all da = {repo, 0};
	if ((rc = state_begin(&st, repo, true)) < 0 || (rc = mission_load(st, mid, &m)) < 0 ||
	    (rc = layout_each_object(st, mid, EVAULT_CLASS_DOSSIER, del_one, &da)) < 0 ||
	    (rc = repo->objects->ops->sync(repo->objects)) < 0)
		goto done;
	if (strcmp(m.status, "expiring") != 0) {
		rc = evault_error_set(EVAULT_ELOCKED, "mission %s changed during expiry", mid);
		goto done;
	}
	/* the dossier, its marks, the mission info and the photo authorisation
	 * leave the state; CLOSE stays */
	unrecord_ctx uc = {st, mid, EVAULT_CLASS_DOSSIER};
	if ((rc = layout_each_file(st, mid, EVAULT_CLASS_DOSSIER, unrecord_fid, &uc)) < 0)
		goto done;
	mark_list ml = {st, mid};
	path.size = 0;
	if ((rc = evault_buf_printf(&path, "missions/%s/marks", mid)) < 0 ||
	    (rc = state_list(st, path.ptr, unrecord_mark, &ml)) < 0)
		goto done;
	path.size = 0;
	if ((rc = evault_buf_printf(&path, "missions/%s/info.enc", mid)) < 0 ||
	    (rc = state_remove(st, path.ptr)) < 0)
		goto done;
	path.size = 0; /* the photo authorisation, also under the dossier key */
	if ((rc = evault_buf_printf(&path, "missions/%s/photos.enc", mid)) < 0 ||
	    (state_exists(st, path.ptr) && (rc = state_remove(st, path.ptr)) < 0))
		goto done;
	sum.size = 0;
	if ((rc = evault_buf_printf(&sum, "Expire %s: dossier key destroyed, retention ended",
				    mid)) < 0 ||
	    (rc = commit_status(st, &m, "expired", "mission.expire", sum.ptr)) < 0)
		goto done;
done:
	names_clear(&copies);
	evault_buf_dispose(&path);
	evault_buf_dispose(&sum);
	mission_rec_clear(&m);
	state_end(st);
	return rc;
}
