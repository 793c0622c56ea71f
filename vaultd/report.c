/*
 * The yearly trust indicators (evault/report.h, docs/indicators.md).
 *
 * One pass over the verified history, oldest first, reading each event's
 * trailers (and, for a close, its clear CLOSE record): nothing else of the
 * repository, no key, no clock. What a mission's figures need is kept in
 * a table of missions, in the order they were created; the figures that
 * depend on a mission's whole story (due dates met, erasures confirmed by
 * every device) are counted from that table once the walk reached the
 * head. The head's time stands for "now", so two runs on one history
 * print the same report, and an export gives what the office gives.
 *
 * Invariants:
 *  1. Only a verified head is walked: the repository's trusted head
 *     (state_begin verifies what is new), or a bundle verified in full.
 *  2. Every count, size and string read from the history is bounded
 *     before use; a trailer that does not parse counts nothing (the
 *     verifier refused such events already).
 *  3. With a client, an event counts only when its mission (or refusal)
 *     is that client's; nothing of another mission reaches the report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evault/mission.h"
#include "evault/refusal.h"
#include "close.h"
#include "refusal.h"
#include "evault/report.h"
#include "repo.h"
#include "state.h"
#include "util.h"
#include "verify.h"

#define DAY 86400

static const char *const ind_names[EVAULT_IND_COUNT] = {
    "missions_created",
    "missions_closed",
    "dossiers_due",
    "dossiers_on_time",
    "dossiers_late",
    "dossiers_overdue",
    "dossiers_pending",
    "due_dates_moved",
    "handovers",
    "closed_without_due_date",
    "closed_and_handed_over",
    "codes_rotated",
    "codes_reported",
    "codes_damaged",
    "content_refused",
    "photos_refused",
    "audio_refused",
    "photo_authorisations",
    "missions_refused",
    "refused_employee_surveillance",
    "refused_private_filming",
    "refused_court_order",
    "refused_competence",
    "refused_other",
    "erasures",
    "erasures_no_device",
    "erasures_confirmed",
    "erasures_waiting",
    "dossiers_expired",
};

const char *evault_indicator_name(evault_indicator i)
{
	return (unsigned)i < EVAULT_IND_COUNT ? ind_names[i] : "?";
}

/* The refusal categories, in the order of their indicators. */
static const char *const categories[] = {"employee-surveillance", "private-filming", "court-order",
					 "competence", "other"};

/* An event's reference in --explain. */
typedef struct ref {
	uint64_t seq;
	char commit[13];
} ref;

/* A device that held a mission: still holding, or erased. */
typedef struct hold {
	char name[EVAULT_USER_MAX + 1];
	bool erased;
} hold;

typedef struct mstat {
	char mid[EVAULT_MID_MAX + 1];
	bool in_scope;   /* the client's (or every mission without a client) */
	int64_t due_day; /* days since 1970-01-01, -1: none */
	ref due_ref;
	int64_t closed; /* event time of mission.close, 0: not closed */
	ref close_ref;
	int64_t handed; /* event time of the first handover, 0: none */
	ref hand_ref;
	hold *holds;
	size_t nholds;
} mstat;

typedef struct scope {
	char **mids; /* sorted */
	size_t nmids;
	char **rids; /* sorted */
	size_t nrids;
} scope;

typedef struct run {
	const evault_report_opts *opts;
	const scope *sc; /* NULL: everything */
	evault_report *r;
	size_t aex[EVAULT_IND_COUNT]; /* room in r->explain[i] */
	mstat *ms;                    /* in creation order */
	size_t nms, ams;
	size_t *index; /* open addressing into ms, (size_t)-1 empty */
	size_t isize;
	int64_t year_start, year_end; /* [start, end) */
} run;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool in_set(char **set, size_t n, const char *s)
{
	return n && bsearch(&s, set, n, sizeof(*set), cmp_str) != NULL;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static mstat *find(run *x, const char *mid)
{
	if (!x->isize)
		return NULL;
	for (size_t i = hash_str(mid) & (x->isize - 1);; i = (i + 1) & (x->isize - 1)) {
		if (x->index[i] == (size_t)-1)
			return NULL;
		if (strcmp(x->ms[x->index[i]].mid, mid) == 0)
			return &x->ms[x->index[i]];
	}
}

static int grow_index(run *x)
{
	size_t n = x->isize ? x->isize * 2 : 1024;
	size_t *ix = malloc(n * sizeof(*ix));
	if (!ix)
		return error_oom();
	memset(ix, 0xff, n * sizeof(*ix));
	for (size_t k = 0; k < x->nms; k++) {
		size_t i = hash_str(x->ms[k].mid) & (n - 1);
		while (ix[i] != (size_t)-1)
			i = (i + 1) & (n - 1);
		ix[i] = k;
	}
	free(x->index);
	x->index = ix;
	x->isize = n;
	return 0;
}

/* The mission's entry, made when first seen (its mission.create). */
static int mission_of(mstat **out, run *x, const char *mid)
{
	*out = find(x, mid);
	if (*out)
		return 0;
	if (x->nms == x->ams) {
		size_t n = x->ams ? x->ams * 2 : 256;
		mstat *m = realloc(x->ms, n * sizeof(*m));
		if (!m)
			return error_oom();
		x->ms = m;
		x->ams = n;
	}
	if ((x->nms + 1) * 2 > x->isize) {
		int rc = grow_index(x);
		if (rc < 0)
			return rc;
	}
	mstat *m = &x->ms[x->nms];
	memset(m, 0, sizeof(*m));
	snprintf(m->mid, sizeof(m->mid), "%s", mid);
	m->due_day = -1;
	m->in_scope = !x->sc || in_set(x->sc->mids, x->sc->nmids, mid);
	size_t i = hash_str(mid) & (x->isize - 1);
	while (x->index[i] != (size_t)-1)
		i = (i + 1) & (x->isize - 1);
	x->index[i] = x->nms++;
	*out = m;
	return 0;
}

static int count(run *x, evault_indicator i, const ref *e, const char *mid)
{
	x->r->value[i]++;
	if (!x->opts->explain)
		return 0;
	evault_report *r = x->r;
	if (r->nexplain[i] == x->aex[i]) {
		size_t n = x->aex[i] ? x->aex[i] * 2 : 16;
		evault_report_event *v = realloc(r->explain[i], n * sizeof(*v));
		if (!v)
			return error_oom();
		r->explain[i] = v;
		x->aex[i] = n;
	}
	evault_report_event *ev = &r->explain[i][r->nexplain[i]++];
	ev->seq = e->seq;
	snprintf(ev->commit, sizeof(ev->commit), "%s", e->commit);
	snprintf(ev->mission, sizeof(ev->mission), "%s", mid ? mid : "");
	return 0;
}

static bool in_year(const run *x, int64_t t)
{
	return t >= x->year_start && t < x->year_end;
}

/* YYYY-MM-DD, a real date: days since 1970-01-01; -1 when not one. */
static int64_t parse_day(const char *s)
{
	int64_t t;
	return utc_date_parse(s, &t) ? t / DAY : -1;
}

/* The last space of the n bytes at p, or NULL. */
static const char *last_space(const char *p, size_t n)
{
	while (n--)
		if (p[n] == ' ')
			return p + n;
	return NULL;
}

static int64_t day_of(int64_t t)
{
	return t >= 0 ? t / DAY : -((-t + DAY - 1) / DAY);
}

/* A record of a commit's state, read as the verifier reads it. */
static int record_at(evault_buf *out, git_commit *c, const char *path)
{
	git_tree *t = NULL;
	int rc = git_commit_tree(&t, c) < 0 ? verify_git_fail("cannot read a state")
					    : blob_at(out, git_commit_owner(c), t, path);
	git_tree_free(t);
	return rc;
}

/* The codes of a close: its CLOSE record's code lines (close_parse). */
static int count_codes(run *x, git_commit *c, const char *mid, const ref *e)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	close_rec cr;
	int rc;
	memset(&cr, 0, sizeof(cr));
	if ((rc = evault_buf_printf(&path, "missions/%s/CLOSE", mid)) < 0 ||
	    (rc = record_at(&text, c, path.ptr)) < 0 ||
	    (rc = close_parse(&cr, mid, text.ptr, text.size)) < 0) {
		/* not a verification failure: the verifier read this record */
		rc = evault_error_set(EVAULT_ERROR, "mission.close of %s: its record is unreadable",
				      mid);
		goto done;
	}
	for (size_t k = 0; k < cr.ncode && rc == 0; k++) {
		const char *how = cr.code[k].how;
		evault_indicator i = strcmp(how, "rotated") == 0    ? EVAULT_IND_CODES_ROTATED
				     : strcmp(how, "reported") == 0 ? EVAULT_IND_CODES_REPORTED
								    : EVAULT_IND_CODES_DAMAGED;
		rc = count(x, i, e, mid);
	}
done:
	close_rec_clear(&cr);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

/* The day refusals/<rid> says the mission was refused, as days; -1 when
 * its record does not read (the verifier read it: never here). */
static int64_t refusal_day(git_commit *c, const char *rid)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	refusal_rec rec;
	int64_t day = -1;
	memset(&rec, 0, sizeof(rec));
	if (evault_buf_printf(&path, REFUSAL_DIR "/%.64s", rid) == 0 &&
	    record_at(&text, c, path.ptr) == 0 &&
	    refusal_parse(&rec, rid, text.ptr, text.size) == 0)
		day = parse_day(rec.date);
	evault_error_clear();
	refusal_rec_clear(&rec);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return day;
}

/* content.refused: its "Evault-Refused-Type: <mime> <count>" lines. */
static int count_refused(run *x, const char *msg, const ref *e, const char *mid)
{
	static const char key[] = "\nEvault-Refused-Type: ";
	char all[24];
	if (trailer_get(all, sizeof(all), msg, "Evault-Refused") == 0) {
		char *endp;
		unsigned long long n = strtoull(all, &endp, 10);
		if (!*endp && n >= 1 && n <= 1000000000ull) {
			x->r->value[EVAULT_IND_CONTENT_REFUSED] += n - 1;
			int rc = count(x, EVAULT_IND_CONTENT_REFUSED, e, mid);
			if (rc < 0)
				return rc;
		}
	}
	evault_error_clear();
	for (const char *p = strstr(msg, key); p; p = strstr(p + 1, key)) {
		const char *v = p + strlen(key);
		size_t ll = strcspn(v, "\n");
		const char *sp = last_space(v, ll);
		if (!sp)
			continue;
		char num[24];
		size_t nl = ll - (size_t)(sp - v) - 1;
		if (nl == 0 || nl >= sizeof(num))
			continue;
		memcpy(num, sp + 1, nl);
		num[nl] = '\0';
		char *endp;
		unsigned long long n = strtoull(num, &endp, 10);
		if (*endp || n == 0 || n > 1000000000ull)
			continue;
		evault_indicator i = EVAULT_IND_COUNT;
		if (strncmp(v, "image/", 6) == 0 || strncmp(v, "video/", 6) == 0)
			i = EVAULT_IND_PHOTOS_REFUSED;
		else if (strncmp(v, "audio/", 6) == 0)
			i = EVAULT_IND_AUDIO_REFUSED;
		if (i == EVAULT_IND_COUNT)
			continue;
		x->r->value[i] += n - 1; /* count() adds the last one and the reference */
		int rc = count(x, i, e, mid);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int device_event(mstat *m, const char *msg, bool erased)
{
	char dev[EVAULT_USER_MAX + 1];
	if (trailer_get(dev, sizeof(dev), msg, "Evault-Device") < 0) {
		evault_error_clear();
		return 0;
	}
	for (size_t i = 0; i < m->nholds; i++)
		if (strcmp(m->holds[i].name, dev) == 0) {
			m->holds[i].erased = erased;
			return 0;
		}
	if (erased)
		return 0;
	hold *h = realloc(m->holds, (m->nholds + 1) * sizeof(*h));
	if (!h)
		return error_oom();
	m->holds = h;
	snprintf(h[m->nholds].name, sizeof(h[m->nholds].name), "%s", dev);
	h[m->nholds++].erased = false;
	return 0;
}

static int one_event(run *x, git_commit *c)
{
	const char *msg = git_commit_message(c);
	char seq[24], action[40], mid[EVAULT_MID_MAX + 1] = "", val[80];
	ref e;
	int rc = 0;
	if (!msg || trailer_get(seq, sizeof(seq), msg, "Evault-Seq") < 0 ||
	    trailer_get(action, sizeof(action), msg, "Evault-Action") < 0) {
		evault_error_clear();
		return 0;
	}
	e.seq = strtoull(seq, NULL, 10);
	git_oid_tostr(e.commit, sizeof(e.commit), git_commit_id(c));
	if (trailer_get(mid, sizeof(mid), msg, "Evault-Mission") < 0)
		mid[0] = '\0';
	/* an event's time: when it entered this history, the commit's, which
	 * the verifier bounds by its neighbours; not a replayed event's
	 * Evault-Replayed, the replica's own word that nothing bounds below */
	int64_t t = git_commit_time(c);
	x->r->events++;
	bool year = in_year(x, t);

	if (strcmp(action, "mission.refuse") == 0) {
		char rid[80];
		if (trailer_get(val, sizeof(val), msg, "Evault-Category") < 0 ||
		    trailer_get(rid, sizeof(rid), msg, "Evault-Refusal") < 0)
			goto out;
		/* a refusal counts in the year of the day the mission was refused,
		 * which its record says (it may be recorded later) */
		int64_t day = refusal_day(c, rid);
		if (!(day >= 0 ? in_year(x, day * DAY) : year))
			goto out;
		if (x->sc && !in_set(x->sc->rids, x->sc->nrids, rid))
			goto out;
		for (size_t k = 0; k < sizeof(categories) / sizeof(*categories); k++)
			if (strcmp(val, categories[k]) == 0) {
				if ((rc = count(x, EVAULT_IND_REFUSED, &e, NULL)) < 0 ||
				    (rc = count(x, EVAULT_IND_REFUSED_EMPLOYEE + k, &e, NULL)) < 0)
					return rc;
			}
		goto out;
	}
	if (!mid[0])
		goto out;
	mstat *m;
	if ((rc = mission_of(&m, x, mid)) < 0)
		return rc;
	if (strcmp(action, "mission.create") == 0 || strcmp(action, "mission.due") == 0) {
		if (year && strcmp(action, "mission.create") == 0 && m->in_scope &&
		    (rc = count(x, EVAULT_IND_CREATED, &e, mid)) < 0)
			return rc;
		if (trailer_get(val, sizeof(val), msg, "Evault-Dossier-Due") == 0) {
			int64_t d = parse_day(val);
			if (d >= 0 && m->due_day >= 0 && d != m->due_day && year && m->in_scope &&
			    (rc = count(x, EVAULT_IND_DUE_MOVED, &e, mid)) < 0)
				return rc;
			if (d >= 0) {
				m->due_day = d;
				m->due_ref = e;
			}
		}
	} else if (!m->in_scope) {
		goto out;
	} else if (strcmp(action, "dossier.handover") == 0) {
		if (!m->handed) {
			m->handed = t;
			m->hand_ref = e;
		}
		if (year && (rc = count(x, EVAULT_IND_HANDOVERS, &e, mid)) < 0)
			return rc;
	} else if (strcmp(action, "mission.close") == 0) {
		m->closed = t;
		m->close_ref = e;
		if (year && ((rc = count(x, EVAULT_IND_CLOSED, &e, mid)) < 0 ||
			     (rc = count_codes(x, c, mid, &e)) < 0))
			return rc;
	} else if (strcmp(action, "mission.expire") == 0) {
		if (year && (rc = count(x, EVAULT_IND_EXPIRED, &e, mid)) < 0)
			return rc;
	} else if (strcmp(action, "content.refused") == 0) {
		if (year && (rc = count_refused(x, msg, &e, mid)) < 0)
			return rc;
	} else if (strcmp(action, "mission.authorize-photos") == 0) {
		if (year && (rc = count(x, EVAULT_IND_AUTHORISATIONS, &e, mid)) < 0)
			return rc;
	} else if (strcmp(action, "device.hold") == 0 || strcmp(action, "device.erased") == 0) {
		if ((rc = device_event(m, msg, action[7] == 'e')) < 0)
			return rc;
	}
out:
	evault_error_clear();
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The figures of each mission's whole story, as of the head. */
static int finish(run *x)
{
	evault_report *r = x->r;
	int64_t today = day_of(r->as_of);
	int64_t *days = NULL;
	size_t nd = 0;
	int rc = 0;
	if (x->nms && !(days = malloc(x->nms * sizeof(*days))))
		return error_oom();
	for (size_t k = 0; k < x->nms; k++) {
		mstat *m = &x->ms[k];
		if (!m->in_scope)
			continue;
		if (m->due_day >= 0 && in_year(x, m->due_day * DAY)) {
			evault_indicator i;
			const ref *why;
			if (m->handed) {
				bool late = day_of(m->handed) > m->due_day;
				i = late ? EVAULT_IND_LATE : EVAULT_IND_ON_TIME;
				why = &m->hand_ref;
			} else {
				i = today > m->due_day ? EVAULT_IND_OVERDUE : EVAULT_IND_PENDING;
				why = &m->due_ref;
			}
			if ((rc = count(x, EVAULT_IND_DUE, &m->due_ref, m->mid)) < 0 ||
			    (rc = count(x, i, why, m->mid)) < 0)
				goto done;
		}
		if (!m->closed || !in_year(x, m->closed))
			continue;
		if (m->due_day < 0 &&
		    (rc = count(x, EVAULT_IND_CLOSED_NO_DUE, &m->close_ref, m->mid)) < 0)
			goto done;
		if (m->handed) {
			int64_t d = m->handed > m->closed ? m->handed - m->closed : 0;
			days[nd++] = d;
			if ((rc = count(x, EVAULT_IND_CLOSE_TO_HANDOVER, &m->hand_ref, m->mid)) < 0)
				goto done;
		}
		size_t waiting = 0;
		for (size_t i = 0; i < m->nholds; i++)
			waiting += !m->holds[i].erased;
		evault_indicator i = !m->nholds ? EVAULT_IND_ERASURES_NO_DEVICE
				     : waiting  ? EVAULT_IND_ERASURES_WAITING
						: EVAULT_IND_ERASURES_CONFIRMED;
		if ((rc = count(x, EVAULT_IND_ERASURES, &m->close_ref, m->mid)) < 0 ||
		    (rc = count(x, i, &m->close_ref, m->mid)) < 0)
			goto done;
	}
	r->median_tenths = -1;
	if (nd) {
		qsort(days, nd, sizeof(*days), cmp_i64);
		/* in seconds, then tenths of a day, rounded half up */
		int64_t s2 = nd % 2 ? 2 * days[nd / 2] : days[nd / 2 - 1] + days[nd / 2];
		r->median_tenths = (s2 * 10 + DAY) / (2 * DAY);
	}
done:
	free(days);
	return rc;
}

/* The walk of a verified history from its root to head. */
static int report_git(git_repository *git, const git_oid *head, void *payload)
{
	run *x = payload;
	git_revwalk *walk = NULL;
	git_commit *hc = NULL;
	git_oid id;
	int rc = 0;
	git_oid_tostr(x->r->head, sizeof(x->r->head), head);
	/* the whole history is read, from all over the pack: mapped whole
	 * (read-only page cache, as verify does) rather than 32 MiB at a time,
	 * whose mapping and unmapping was half of the time */
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
			 sizeof(size_t) >= 8 ? (size_t)1 << 33 : (size_t)1 << 30);
	if (git_commit_lookup(&hc, git, head) < 0) {
		rc = verify_git_fail("cannot read the head");
		goto done;
	}
	x->r->as_of = git_commit_time(hc);
	char seq[24];
	if (trailer_get(seq, sizeof(seq), git_commit_message(hc), "Evault-Seq") == 0)
		x->r->seq = strtoull(seq, NULL, 10);
	evault_error_clear();
	if (git_revwalk_new(&walk, git) < 0 || git_revwalk_push(walk, head) < 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0) {
		rc = verify_git_fail("cannot walk the history");
		goto done;
	}
	bool root = true;
	while (rc == 0 && git_revwalk_next(&id, walk) == 0) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, git, &id) < 0) {
			rc = verify_git_fail("a commit of the history is unreadable");
			break;
		}
		if (root) {
			char vid[33];
			if (trailer_get(vid, sizeof(vid), git_commit_message(c), "Evault-Vault") ==
			    0)
				snprintf(x->r->vault_id, sizeof(x->r->vault_id), "%s", vid);
			evault_error_clear();
			root = false;
		}
		rc = one_event(x, c);
		git_commit_free(c);
	}
	if (rc == 0)
		rc = finish(x);
done:
	git_commit_free(hc);
	git_revwalk_free(walk);
	return rc;
}

static int run_init(run *x, evault_report **out, const evault_report_opts *opts, const scope *sc)
{
	*out = NULL;
	memset(x, 0, sizeof(*x));
	if (!opts || opts->year < 2000 || opts->year > 2999)
		return evault_error_set(EVAULT_EINVAL, "the year must be between 2000 and 2999");
	struct tm tm = {0};
	tm.tm_year = opts->year - 1900;
	tm.tm_mday = 1;
	x->year_start = (int64_t)timegm(&tm);
	tm.tm_year++;
	x->year_end = (int64_t)timegm(&tm);
	x->opts = opts;
	x->sc = sc;
	if (!(x->r = calloc(1, sizeof(*x->r))))
		return error_oom();
	x->r->year = opts->year;
	x->r->explained = opts->explain;
	x->r->median_tenths = -1;
	return 0;
}

static int run_end(run *x, int rc, evault_report **out)
{
	for (size_t k = 0; k < x->nms; k++)
		free(x->ms[k].holds);
	free(x->ms);
	free(x->index);
	if (rc < 0) {
		evault_report_free(x->r);
		return rc;
	}
	*out = x->r;
	return 0;
}

void evault_report_free(evault_report *r)
{
	if (!r)
		return;
	for (int i = 0; i < EVAULT_IND_COUNT; i++)
		free(r->explain[i]);
	free(r);
}

/* ---- the client filter: the missions and refusals whose client it is ---- */

static void scope_clear(scope *sc)
{
	for (size_t i = 0; i < sc->nmids; i++)
		free(sc->mids[i]);
	for (size_t i = 0; i < sc->nrids; i++)
		free(sc->rids[i]);
	free(sc->mids);
	free(sc->rids);
}

static int set_add(char ***set, size_t *n, const char *s)
{
	char **m = realloc(*set, (*n + 1) * sizeof(**set));
	if (!m)
		return error_oom();
	*set = m;
	if (!(m[*n] = strdup(s)))
		return error_oom();
	(*n)++;
	return 0;
}

typedef struct client_ctx {
	evault_repo *repo;
	const char *client;
	scope *sc;
	evault_report *r;
} client_ctx;

static int client_mission(const char *mid, const char *status, void *p)
{
	client_ctx *c = p;
	evault_mission_view *v = NULL;
	(void)status;
	int rc = evault_mission_show(c->repo, mid, &v);
	if (rc < 0 || !v->has_info) { /* expired: the client's name went with it */
		evault_error_clear();
		c->r->unreadable_missions++;
		evault_mission_view_free(v);
		return 0;
	}
	if (strcmp(v->client, c->client) == 0) {
		rc = set_add(&c->sc->mids, &c->sc->nmids, mid);
		c->r->client_missions++;
	}
	evault_mission_view_free(v);
	return rc;
}

static int client_refusal(const evault_refusal *f, void *p)
{
	client_ctx *c = p;
	/* sealed before this admin was one, or damaged */
	if (f->access != EVAULT_REFUSAL_OPENED) {
		c->r->unreadable_refusals++;
		return 0;
	}
	return f->client && strcmp(f->client, c->client) == 0
		   ? set_add(&c->sc->rids, &c->sc->nrids, f->rid)
		   : 0;
}

static int client_scope(scope *sc, evault_repo *repo, const char *client, evault_report *r)
{
	client_ctx c = {repo, client, sc, r};
	int rc = evault_mission_list(repo, client_mission, &c);
	if (rc == 0)
		rc = evault_refusals_each(repo, client_refusal, &c);
	if (rc < 0)
		return rc;
	if (sc->nmids)
		qsort(sc->mids, sc->nmids, sizeof(*sc->mids), cmp_str);
	if (sc->nrids)
		qsort(sc->rids, sc->nrids, sizeof(*sc->rids), cmp_str);
	return 0;
}

int evault_report_indicators(evault_report **out, evault_repo *repo, const evault_report_opts *opts)
{
	run x;
	scope sc = {0};
	state *st = NULL;
	git_oid head;
	int rc = run_init(&x, out, opts, opts && opts->client ? &sc : NULL);
	if (rc < 0)
		return rc;
	if ((rc = repo_require_actor(repo)) < 0)
		goto done;
	if (repo->replica) {
		rc = evault_error_set(
		    EVAULT_EINVAL, "the indicators read the whole history: run them at the office, "
				   "or on an export (evault audit export)");
		goto done;
	}
	/* --explain names missions: a technician sees only the events of their
	 * own missions (evault log), so it is asked by admins and auditors */
	if (opts->explain && repo->role == EVAULT_ROLE_TECHNICIAN) {
		rc = evault_error_set(EVAULT_EDENIED,
				      "--explain names every mission's events: an admin or an "
				      "auditor asks for it");
		goto done;
	}
	if (opts->client) {
		if ((rc = repo_require_admin(repo, "ask for a client's indicators")) < 0)
			goto done;
		if (!*opts->client || strlen(opts->client) > 256) {
			rc = evault_error_set(EVAULT_EINVAL, "a client name has 1 to 256 bytes");
			goto done;
		}
	}
	/* the head, verified first as every command's is (trust.h) */
	if ((rc = state_begin(&st, repo, false)) < 0)
		goto done;
	if (state_is_empty(st) || git_oid_fromstr(&head, state_head_hex(st)) < 0) {
		rc = evault_error_set(EVAULT_ENOTFOUND, "the vault has no history");
		goto done;
	}
	snprintf(x.r->vault_id, sizeof(x.r->vault_id), "%s", repo->cfg.vault_id_hex);
	if (opts->client && (rc = client_scope(&sc, repo, opts->client, x.r)) < 0)
		goto done;
	rc = report_git(state_db_git(repo->db), &head, &x);
done:
	state_end(st);
	scope_clear(&sc);
	return run_end(&x, rc, out);
}

int evault_report_indicators_bundle(evault_report **out, const char *path,
				    const evault_report_opts *opts)
{
	run x;
	evault_verify_result res;
	evault_verify_opts vo = EVAULT_VERIFY_OPTS_INIT;
	int rc = run_init(&x, out, opts, NULL);
	if (rc < 0)
		return rc;
	if (opts->client) {
		rc = evault_error_set(EVAULT_EINVAL,
				      "an export holds no key: a client's indicators are asked of "
				      "the vault by an admin");
		return run_end(&x, rc, out);
	}
	rc = bundle_verify_then(path, &vo, &res, report_git, &x);
	if (rc == 0 && !res.ok)
		rc = evault_error_set(EVAULT_ECORRUPT,
				      "the export does not verify: commit %.12s: %s",
				      res.bad_commit, res.reason);
	return run_end(&x, rc, out);
}
