/*
 * The register of refused missions (evault/refusal.h, docs/format.md
 * "Refusals"): the record's codec, the mission.refuse event, and the
 * register's reading.
 *
 * Invariants:
 *  1. A record names the client nowhere in clear: the client, details and
 *     reference exist only as one plaintext sealed (crypto_box_seal) to
 *     each admin active when it was recorded.
 *  2. The plaintext is built and opened only in memory that is wiped
 *     before it is released.
 *  3. Records are canonical (refusal_parse formats back to the bytes read).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "identity.h"
#include "refusal.h"
#include "repo.h"
#include "state.h"
#include "user.h"
#include "util.h"

static const evault_refusal_category categories[] = {
    {"employee-surveillance", "surveillance of employees without prior information",
     "surveillance de salariés sans information préalable"},
    {"private-filming", "filming private spaces without right",
     "filmage d'espaces privés sans droit"},
    {"court-order", "circumventing a court decision", "contournement de décisions judiciaires"},
    {"competence", "the company lacks the competence to deliver it", "compétences insuffisantes"},
    {"other", "another reason (in the details)", "autre motif (dans le détail)"},
};

const evault_refusal_category *evault_refusal_categories(size_t *count)
{
	*count = ARRAY_SIZE(categories);
	return categories;
}

bool evault_refusal_category_valid(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(categories); i++)
		if (strcmp(categories[i].name, name) == 0)
			return true;
	return false;
}

/* ---- the record ---- */

bool refusal_rid_valid(const char *s)
{
	if (!s || strlen(s) != EVAULT_REFUSAL_RID_LEN)
		return false;
	for (size_t i = 0; i < EVAULT_REFUSAL_RID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool refusal_date_parse(const char *s, int64_t *t)
{
	return utc_date_parse(s, t);
}

/* The length of the UTF-8 sequence at p (at most n bytes): 0 if it is not
 * one, or encodes a control character (C0, DEL, C1), a surrogate or an
 * overlong form. */
static size_t utf8_char(const uint8_t *p, size_t n)
{
	uint32_t c;
	size_t len;
	if (p[0] < 0x80)
		return p[0] < 0x20 || p[0] == 0x7f ? 0 : 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff) || (c >= 0x80 && c <= 0x9f))
		return 0;
	return len;
}

bool refusal_field_valid(const char *s, size_t len, size_t min_len)
{
	if (len < min_len || len > EVAULT_REFUSAL_FIELD_MAX)
		return false;
	for (size_t i = 0, k; i < len; i += k)
		if ((k = utf8_char((const uint8_t *)s + i, len - i)) == 0)
			return false;
	return true;
}

void refusal_rec_clear(refusal_rec *r)
{
	free(r->seals);
	memset(r, 0, sizeof(*r));
}

int refusal_format(evault_buf *out, const refusal_rec *r)
{
	int rc = evault_buf_printf(out, "refusal %s\ntime %lld\ndate %s\nby %s\ncategory %s\n",
				   r->rid, (long long)r->time, r->date, r->by, r->category);
	for (size_t i = 0; i < r->nseals && rc == 0; i++)
		if ((rc = evault_buf_printf(out, "sealed %s ", r->seals[i].admin)) == 0 &&
		    (rc = b64_encode(out, r->seals[i].box, r->seals[i].len)) == 0)
			rc = evault_buf_put(out, "\n", 1);
	return rc;
}

/* The value of line "key value" at *p, which moves past it; NULL if not that. */
static char *take_line(char **p, const char *key)
{
	char *line = *p, *nl = strchr(line, '\n');
	size_t k = strlen(key);
	if (!nl || strncmp(line, key, k) != 0 || line[k] != ' ')
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	return line + k + 1;
}

static bool parse_time(int64_t *out, const char *s)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || errno || v < 0)
		return false;
	*out = v;
	return true;
}

int refusal_parse(refusal_rec *out, const char *name, const char *text, size_t len)
{
	char *copy = NULL, *p, *v;
	evault_buf box = EVAULT_BUF_INIT, again = EVAULT_BUF_INIT;
	int64_t day;
	memset(out, 0, sizeof(*out));
	if (!refusal_rid_valid(name) || len == 0 || len > REFUSAL_TEXT_MAX ||
	    memchr(text, '\0', len) || text[len - 1] != '\n' || !(copy = malloc(len + 1)))
		goto bad;
	memcpy(copy, text, len);
	copy[len] = '\0';
	p = copy;
	if (!(v = take_line(&p, "refusal")) || strcmp(v, name) != 0)
		goto bad;
	snprintf(out->rid, sizeof(out->rid), "%s", v);
	if (!(v = take_line(&p, "time")) || !parse_time(&out->time, v) ||
	    !(v = take_line(&p, "date")) || !refusal_date_parse(v, &day))
		goto bad;
	snprintf(out->date, sizeof(out->date), "%s", v);
	if (!(v = take_line(&p, "by")) || !user_name_valid(v))
		goto bad;
	snprintf(out->by, sizeof(out->by), "%s", v);
	if (!(v = take_line(&p, "category")) || !evault_refusal_category_valid(v))
		goto bad;
	snprintf(out->category, sizeof(out->category), "%s", v);
	while (*p) {
		char *admin = take_line(&p, "sealed"), *sp;
		if (!admin || out->nseals == REFUSAL_SEALS_MAX || !(sp = strchr(admin, ' ')))
			goto bad;
		*sp = '\0';
		if (!user_name_valid(admin) ||
		    (out->nseals && strcmp(out->seals[out->nseals - 1].admin, admin) >= 0))
			goto bad;
		box.size = 0;
		if (strlen(sp + 1) > 4 * (REFUSAL_BOX_MAX / 3 + 1) ||
		    b64_decode(&box, sp + 1, strlen(sp + 1)) < 0 || box.size < REFUSAL_BOX_MIN ||
		    box.size > REFUSAL_BOX_MAX || (out->nseals && box.size != out->seals[0].len))
			goto bad;
		refusal_seal *s = realloc(out->seals, (out->nseals + 1) * sizeof(*s));
		if (!s)
			goto bad;
		out->seals = s;
		s += out->nseals++;
		snprintf(s->admin, sizeof(s->admin), "%s", admin);
		memcpy(s->box, box.ptr, box.size);
		s->len = box.size;
	}
	if (out->nseals == 0 || refusal_format(&again, out) < 0 || again.size != len ||
	    memcmp(again.ptr, text, len) != 0)
		goto bad;
	free(copy);
	evault_buf_dispose(&box);
	evault_buf_dispose(&again);
	return 0;
bad:
	free(copy);
	evault_buf_dispose(&box);
	evault_buf_dispose(&again);
	refusal_rec_clear(out);
	evault_error_clear();
	return evault_error_set(EVAULT_ECORRUPT, "the refusal record %.40s is damaged", name);
}

/* ---- recording a refusal ---- */

typedef struct admins_ctx {
	user_rec *v;
	size_t n;
	int rc;
} admins_ctx;

static int collect_admin(const user_rec *u, void *p)
{
	admins_ctx *c = p;
	if (u->role != EVAULT_ROLE_ADMIN || strcmp(u->status, "active") != 0)
		return 0;
	if (c->n == REFUSAL_SEALS_MAX)
		return evault_error_set(EVAULT_ERROR,
					"more than %d admins: a refusal cannot be sealed "
					"to them all",
					REFUSAL_SEALS_MAX);
	user_rec *v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v)
		return error_oom();
	c->v = v;
	c->v[c->n++] = *u;
	return 0;
}

static int admin_cmp(const void *a, const void *b)
{
	return strcmp(((const user_rec *)a)->name, ((const user_rec *)b)->name);
}

static int put_field(evault_buf *b, const char *s)
{
	return buf_put_string(b, s ? s : "", s ? strlen(s) : 0);
}

int evault_mission_refuse(evault_repo *repo, const evault_refusal_opts *opts,
			  char rid[EVAULT_REFUSAL_RID_LEN + 1])
{
	state *st = NULL;
	user_rec me;
	admins_ctx admins = {NULL, 0, 0};
	refusal_rec rec;
	evault_buf plain = EVAULT_BUF_INIT, sealed = EVAULT_BUF_INIT, text = EVAULT_BUF_INIT,
		   path = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	int64_t day = 0, now = (int64_t)time(NULL);
	uint8_t rnd[EVAULT_REFUSAL_RID_LEN / 2];
	int rc;
	memset(&rec, 0, sizeof(rec));
	rid[0] = '\0';
	if (!opts || opts->version != EVAULT_REFUSAL_OPTS_VERSION)
		return evault_error_set(EVAULT_EINVAL, "refusal options of an unknown version");
	const char *client = opts->client, *details = opts->details, *ref = opts->ref;
	if (!client || !refusal_field_valid(client, strlen(client), 1))
		return evault_error_set(
		    EVAULT_EINVAL,
		    "the client needs 1 to %d bytes of UTF-8 text without control "
		    "characters",
		    EVAULT_REFUSAL_FIELD_MAX);
	if ((details && !refusal_field_valid(details, strlen(details), 1)) ||
	    (ref && !refusal_field_valid(ref, strlen(ref), 1)))
		return evault_error_set(EVAULT_EINVAL,
					"the details and the reference, when given, need 1 to %d "
					"bytes of UTF-8 text without control characters",
					EVAULT_REFUSAL_FIELD_MAX);
	if (!evault_refusal_category_valid(opts->category))
		return evault_error_set(EVAULT_EINVAL,
					"no refusal category '%.40s' (employee-surveillance, "
					"private-filming, court-order, competence, other)",
					opts->category ? opts->category : "");
	if (opts->date && (!refusal_date_parse(opts->date, &day) || day > now + EVAULT_CLOCK_SKEW ||
			   day + (REFUSAL_LATE_DAYS + 1) * 86400 < now - EVAULT_CLOCK_SKEW))
		return evault_error_set(
		    EVAULT_EINVAL,
		    "the date of a refusal is a day (YYYY-MM-DD) of the last %d "
		    "days, not '%.20s': a refusal is recorded when it happens",
		    REFUSAL_LATE_DAYS, opts->date);
	if ((rc = repo_require_actor(repo)) < 0 || (rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = user_load(st, repo->actor, &me)) < 0)
		goto done;
	if (strcmp(me.status, "active") != 0 || me.role == EVAULT_ROLE_AUDITOR) {
		rc = evault_error_set(EVAULT_EDENIED,
				      "only an admin or a technician records a refused mission; %s "
				      "is %s",
				      me.name,
				      strcmp(me.status, "active") != 0 ? me.status : "an auditor");
		goto done;
	}
	if ((rc = users_each(st, collect_admin, &admins)) < 0)
		goto done;
	if (admins.n == 0) {
		rc = evault_error_set(EVAULT_ERROR, "no active admin to seal the refusal to");
		goto done;
	}
	qsort(admins.v, admins.n, sizeof(*admins.v), admin_cmp);
	if ((rc = evault_buf_put(&plain, REFUSAL_MAGIC, 4)) < 0 ||
	    (rc = put_field(&plain, client)) < 0 || (rc = put_field(&plain, details)) < 0 ||
	    (rc = put_field(&plain, ref)) < 0)
		goto done;
	/* the fields are bounded, so they fit: zeros to the one size */
	static const char zeros[REFUSAL_PLAIN_SIZE];
	if ((rc = evault_buf_put(&plain, zeros, REFUSAL_PLAIN_SIZE - plain.size)) < 0)
		goto done;
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(rec.rid, rnd, sizeof(rnd));
	rec.time = now;
	if (opts->date)
		snprintf(rec.date, sizeof(rec.date), "%s", opts->date);
	else {
		char d[32];
		utc_time(d, now, true, "");
		memcpy(rec.date, d, sizeof(rec.date) - 1);
	}
	snprintf(rec.by, sizeof(rec.by), "%s", me.name);
	snprintf(rec.category, sizeof(rec.category), "%s", opts->category);
	if (!(rec.seals = calloc(admins.n, sizeof(*rec.seals)))) {
		rc = error_oom();
		goto done;
	}
	for (size_t i = 0; i < admins.n; i++) {
		sealed.size = 0;
		if ((rc = seal_to_public(&sealed, admins.v[i].pk, (const uint8_t *)plain.ptr,
					 plain.size)) < 0)
			goto done;
		refusal_seal *s = &rec.seals[rec.nseals++];
		snprintf(s->admin, sizeof(s->admin), "%s", admins.v[i].name);
		memcpy(s->box, sealed.ptr, sealed.size);
		s->len = sealed.size;
	}
	if ((rc = refusal_format(&text, &rec)) < 0 ||
	    (rc = evault_buf_printf(&path, REFUSAL_DIR "/%s", rec.rid)) < 0 ||
	    (rc = state_put(st, path.ptr, text.ptr, text.size)) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-Refusal: %s\nEvault-Category: %s\n", rec.rid,
				    rec.category)) < 0)
		goto done;
	char sum[96];
	snprintf(sum, sizeof(sum), "Refuse a mission (%s)", rec.category);
	state_event ev = {NULL, "mission.refuse", NULL, sum, tr.ptr};
	if ((rc = state_commit(st, &ev)) == 0)
		snprintf(rid, EVAULT_REFUSAL_RID_LEN + 1, "%s", rec.rid);
done:
	sodium_memzero(plain.ptr, plain.size);
	evault_buf_dispose(&plain);
	evault_buf_dispose(&sealed);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	evault_buf_dispose(&tr);
	free(admins.v);
	refusal_rec_clear(&rec);
	state_end(st);
	return rc;
}

/* ---- the register ---- */

typedef struct list_ctx {
	const state *st;
	refusal_rec *v;
	size_t n;
} list_ctx;

static int list_entry(const char *name, bool is_dir, void *p)
{
	list_ctx *c = p;
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc;
	if (is_dir || !refusal_rid_valid(name))
		return evault_error_set(EVAULT_ECORRUPT, "unexpected entry " REFUSAL_DIR "/%.40s",
					name);
	refusal_rec *v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v)
		return error_oom();
	c->v = v;
	if ((rc = evault_buf_printf(&path, REFUSAL_DIR "/%s", name)) == 0 &&
	    (rc = state_read(c->st, path.ptr, &text)) == 0 &&
	    (rc = refusal_parse(&c->v[c->n], name, text.ptr, text.size)) == 0)
		c->n++;
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

/* the register's order: by day refused, then by when recorded */
static int by_time(const void *a, const void *b)
{
	const refusal_rec *x = a, *y = b;
	int d = strcmp(x->date, y->date);
	if (d)
		return d;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->rid, y->rid);
}

/* The sealed part of r for the acting admin, as three NUL-terminated
 * strings in one wiped-on-free secret; 1 when not sealed to them. */
static int open_sealed(secret **out, evault_repo *repo, const refusal_rec *r, const char *f[3])
{
	const refusal_seal *mine = NULL;
	secret *plain = NULL, *strs = NULL;
	int rc;
	*out = NULL;
	for (size_t i = 0; i < r->nseals && !mine; i++)
		if (strcmp(r->seals[i].admin, repo->actor) == 0)
			mine = &r->seals[i];
	if (!mine)
		return 1;
	if ((rc = identity_open_sealed(&plain, repo->id, mine->box, mine->len)) < 0)
		return evault_error_set(rc,
					"the refusal %.8s sealed to %s does not open with this "
					"identity",
					r->rid, repo->actor);
	reader rd;
	reader_init(&rd, plain->data, plain->len);
	const uint8_t *magic = reader_bytes(&rd, 4), *s[3];
	size_t sl[3];
	for (int i = 0; i < 3; i++)
		s[i] = reader_string(&rd, &sl[i]);
	bool padded = plain->len == REFUSAL_PLAIN_SIZE && !rd.bad;
	for (size_t i = plain->len - rd.left; padded && i < plain->len; i++)
		padded = plain->data[i] == 0;
	if (!magic || memcmp(magic, REFUSAL_MAGIC, 4) != 0 || !padded ||
	    !refusal_field_valid((const char *)s[0], sl[0], 1) ||
	    !refusal_field_valid((const char *)s[1], sl[1], 0) ||
	    !refusal_field_valid((const char *)s[2], sl[2], 0)) {
		secret_free(plain);
		return evault_error_set(EVAULT_ECORRUPT,
					"the sealed part of refusal %.8s is damaged", r->rid);
	}
	if (!(strs = secret_new(sl[0] + sl[1] + sl[2] + 3))) {
		secret_free(plain);
		return error_oom();
	}
	char *w = (char *)strs->data;
	for (int i = 0; i < 3; i++) {
		memcpy(w, s[i], sl[i]);
		w[sl[i]] = '\0';
		f[i] = i && sl[i] == 0 ? NULL : w;
		w += sl[i] + 1;
	}
	secret_free(plain);
	*out = strs;
	return 0;
}

int evault_refusals_each(evault_repo *repo, evault_refusal_cb cb, void *payload)
{
	state *st = NULL;
	list_ctx c = {NULL, NULL, 0};
	int rc;
	if ((rc = repo_require_actor(repo)) < 0 || (rc = state_begin(&st, repo, false)) < 0)
		goto done;
	c.st = st;
	if ((rc = state_list(st, REFUSAL_DIR, list_entry, &c)) < 0)
		goto done;
	qsort(c.v, c.n, sizeof(*c.v), by_time);
	bool admin =
	    repo->role == EVAULT_ROLE_ADMIN && repo->id && evault_identity_unlocked(repo->id);
	for (size_t i = 0; i < c.n && rc == 0; i++) {
		const refusal_rec *r = &c.v[i];
		evault_refusal out;
		secret *strs = NULL;
		const char *f[3] = {NULL, NULL, NULL};
		memset(&out, 0, sizeof(out));
		snprintf(out.rid, sizeof(out.rid), "%s", r->rid);
		out.time = r->time;
		snprintf(out.date, sizeof(out.date), "%s", r->date);
		snprintf(out.by, sizeof(out.by), "%s", r->by);
		snprintf(out.category, sizeof(out.category), "%s", r->category);
		out.nsealed = r->nseals;
		out.access = EVAULT_REFUSAL_HIDDEN;
		if (admin) {
			/* a box that does not open is that refusal's damage (verify
			 * cannot see inside boxes), never the end of the register */
			rc = open_sealed(&strs, repo, r, f);
			out.access = rc == 0  ? EVAULT_REFUSAL_OPENED
				     : rc > 0 ? EVAULT_REFUSAL_OTHER_ADMINS
					      : EVAULT_REFUSAL_DAMAGED;
			evault_error_clear();
			out.client = f[0];
			out.details = f[1];
			out.ref = f[2];
		}
		rc = cb(&out, payload);
		secret_free(strs);
	}
done:
	for (size_t i = 0; i < c.n; i++)
		refusal_rec_clear(&c.v[i]);
	free(c.v);
	state_end(st);
	return rc;
}
