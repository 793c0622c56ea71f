/*
 * The rules of file events (verify.h, file.c): file.add, file.replace and
 * file.remove of one file, file.commit of several (the mount's commit
 * window). A file event may change only the class directories of its
 * mission, by exactly the entries of the files it names; the fid lists
 * below check that in one pass over the buckets those files live in.
 */
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "util.h"
#include "verify.h"

/*
 * The entries a file event may touch under a class directory: each fid of
 * `add` gains its .enc and .objs, each fid of `rem` loses them, and nothing
 * else changes, at any level. Descends only into the buckets those fids
 * belong to (layout.h). Both lists sorted, without duplicates or overlap.
 */
typedef struct file_rule {
	verifier *v;
	const fid_t *add, *rem;
	size_t nadd, nrem;
	size_t count; /* leaf entries changed */
} file_rule;

static int fid_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Does any fid of the sorted list start with prefix? */
static bool fids_with_prefix(const fid_t *l, size_t n, const char *prefix)
{
	size_t lo = 0, hi = n, pl = strlen(prefix);
	while (lo < hi) { /* the first fid not below prefix */
		size_t mid = lo + (hi - lo) / 2;
		if (strncmp(l[mid], prefix, pl) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strncmp(l[lo], prefix, pl) == 0;
}

static bool fids_have(const fid_t *l, size_t n, const char *fid)
{
	return n && bsearch(fid, l, n, sizeof(*l), fid_cmp) != NULL;
}

/* A leaf change: a whole entry of a listed fid, added or removed, in its bucket. */
static bool file_leaf_ok(const file_rule *fr, const change *ch, const char *bucket)
{
	const git_tree_entry *e = ch->new ? ch->new : ch->old;
	const char *name = git_tree_entry_name(e);
	size_t nl = strlen(name);
	fid_t fid;
	if ((ch->new && ch->old) || !is_blob(e) || nl < LAYOUT_FID_LEN ||
	    strncmp(name, bucket, LAYOUT_FANOUT) != 0 ||
	    (strcmp(name + LAYOUT_FID_LEN, ".enc") != 0 &&
	     strcmp(name + LAYOUT_FID_LEN, ".objs") != 0))
		return false;
	memcpy(fid, name, LAYOUT_FID_LEN);
	fid[LAYOUT_FID_LEN] = '\0';
	return ch->new ? fids_have(fr->add, fr->nadd, fid) : fids_have(fr->rem, fr->nrem, fid);
}

static bool file_entries_ok(file_rule *fr, const git_tree_entry *old, const git_tree_entry *new,
			    const char *bucket, int depth)
{
	if ((old && git_tree_entry_type(old) != GIT_OBJECT_TREE) ||
	    (new &&git_tree_entry_type(new) != GIT_OBJECT_TREE))
		return false;
	git_tree *a = change_tree(fr->v->git, old), *b = change_tree(fr->v->git, new);
	bool ok = (!old || a) && (!new || b);
	size_t na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0;
	for (size_t i = 0, j = 0; ok && (i < na || j < nb);) { /* both sorted by name */
		const git_tree_entry *ea = i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *eb = j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int c = !ea ? 1 : !eb ? -1 : git_tree_entry_cmp(ea, eb);
		change ch = {c <= 0 ? ea : NULL, c >= 0 ? eb : NULL};
		i += c <= 0;
		j += c >= 0;
		if (c == 0 && git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb)) &&
		    git_tree_entry_filemode(ea) == git_tree_entry_filemode(eb))
			continue; /* unchanged */
		const char *name = change_name(&ch);
		if (depth < LAYOUT_FANOUT) {
			char sub[LAYOUT_FANOUT + 1];
			memcpy(sub, bucket, (size_t)depth);
			sub[depth] = name[0];
			sub[depth + 1] = '\0';
			ok = name[0] && name[1] == '\0' &&
			     (fids_with_prefix(fr->add, fr->nadd, sub) ||
			      fids_with_prefix(fr->rem, fr->nrem, sub)) &&
			     file_entries_ok(fr, ch.old, ch.new, sub, depth + 1);
			continue;
		}
		fr->count++;
		ok = file_leaf_ok(fr, &ch, bucket);
	}
	git_tree_free(a);
	git_tree_free(b);
	return ok;
}

/* Sorts both lists; false if a fid is listed twice (in either or both). */
static bool fids_distinct(fid_t *add, size_t nadd, fid_t *rem, size_t nrem)
{
	if (nadd)
		qsort(add, nadd, sizeof(*add), fid_cmp);
	if (nrem)
		qsort(rem, nrem, sizeof(*rem), fid_cmp);
	for (size_t i = 1; i < nadd; i++)
		if (strcmp(add[i - 1], add[i]) == 0)
			return false;
	for (size_t i = 1; i < nrem; i++)
		if (strcmp(rem[i - 1], rem[i]) == 0)
			return false;
	for (size_t i = 0; i < nadd; i++)
		if (fids_have(rem, nrem, add[i]))
			return false;
	return true;
}

bool class_change_ok(verifier *v, const change *c, fid_t *add, size_t nadd, fid_t *rem, size_t nrem)
{
	if (!fids_distinct(add, nadd, rem, nrem))
		return false;
	file_rule rule = {v, add, rem, nadd, nrem, 0};
	return file_entries_ok(&rule, c->old, c->new, "", 0) && rule.count == 2 * (nadd + nrem);
}

/* The open mission an event changes, and the actor's right to write to it. */
static int file_event_mission(verify_event *ev)
{
	verifier *v = ev->v;
	const mission_rec *m = event_mission(ev, EVENT_BEFORE);
	if (!m)
		return verify_bad(v, "%s: the MISSION record is not valid", v->action);
	if (strcmp(m->status, "open") != 0)
		return verify_bad(v, "%s on mission %s, which is %s", v->action, v->mission,
				  m->status);
	if (!may_write(ev->actor, m, v->actor))
		return verify_bad(v, "%s by %s, who is not a member of %s", v->action, v->actor,
				  v->mission);
	return 0;
}

/* file.add, file.replace, file.remove: one file's entries in one class. */
int rule_file_event(verify_event *ev)
{
	verifier *v = ev->v;
	const delta *d = &ev->d;
	char cls[16], fid[40], replaces[40] = "";
	int r;
	if (trailer_get(cls, sizeof(cls), v->message, "Evault-Class") < 0 ||
	    trailer_get(fid, sizeof(fid), v->message, "Evault-File") < 0 || strlen(fid) != 32 ||
	    !is_hex(fid, 32))
		return verify_bad(v, "%s without a valid Evault-Class and Evault-File", v->action);
	evault_class c;
	if (evault_class_parse(&c, cls) < 0)
		return verify_bad(v, "%s names an unknown class", v->action);
	if (!ev->pm || d->more || d->n != 1 || strcmp(change_name(&d->c[0]), cls) != 0)
		return verify_bad(v, "%s may change only missions/%s/%s", v->action, v->mission,
				  cls);
	if ((r = file_event_mission(ev)) != 0)
		return r;
	bool add = strcmp(v->action, "file.add") == 0, rep = strcmp(v->action, "file.replace") == 0;
	if (rep && (trailer_get(replaces, sizeof(replaces), v->message, "Evault-Replaces") < 0 ||
		    strlen(replaces) != 32 || !is_hex(replaces, 32)))
		return verify_bad(v, "file.replace without Evault-Replaces");
	fid_t a[1], b[1];
	memcpy(a[0], fid, sizeof(a[0]));
	memcpy(b[0], rep ? replaces : fid, sizeof(b[0]));
	bool ok = add   ? class_change_ok(v, &d->c[0], a, 1, b, 0)
		  : rep ? class_change_ok(v, &d->c[0], a, 1, b, 1)
			: class_change_ok(v, &d->c[0], a, 0, b, 1);
	if (!ok)
		return verify_bad(v, "%s must %s exactly the entries of file %s in %s/%s",
				  v->action,
				  add   ? "add"
				  : rep ? "replace"
					: "remove",
				  fid, v->mission, cls);
	return 0;
}

/* One class's lists of a file.commit. */
typedef struct class_lists {
	fid_t *add, *rem;
	size_t nadd, nrem;
} class_lists;

/* Parses "CLASS FID" (and for a put " OBJECTS[ REPLACED]") into the lists. */
static bool commit_line(class_lists *cl, const char *p, bool put)
{
	char cls[16];
	size_t n = strcspn(p, " \n");
	evault_class c;
	if (n == 0 || n >= sizeof(cls))
		return false;
	memcpy(cls, p, n);
	cls[n] = '\0';
	if (evault_class_parse(&c, cls) < 0 || p[n] != ' ')
		return false;
	p += n + 1;
	if (strspn(p, "0123456789abcdef") != LAYOUT_FID_LEN)
		return false;
	class_lists *l = &cl[c];
	if (put) {
		memcpy(l->add[l->nadd], p, LAYOUT_FID_LEN);
		l->add[l->nadd++][LAYOUT_FID_LEN] = '\0';
		p += LAYOUT_FID_LEN;
		if (*p++ != ' ' || (n = strspn(p, "0123456789")) == 0 || n > 12)
			return false;
		p += n;
		if (*p == '\n' || *p == '\0')
			return true;
		if (*p++ != ' ' || strspn(p, "0123456789abcdef") != LAYOUT_FID_LEN)
			return false;
	}
	memcpy(l->rem[l->nrem], p, LAYOUT_FID_LEN);
	l->rem[l->nrem++][LAYOUT_FID_LEN] = '\0';
	p += LAYOUT_FID_LEN;
	return *p == '\n' || *p == '\0';
}

/*
 * file.commit: several files of one mission in one event (the mount's
 * commit window): Evault-Put lines (class, fid, objects, replaced fid if
 * any) and Evault-Remove lines (class, fid), Evault-Files of them in all;
 * each named class directory changes by exactly those entries, nothing else.
 */
int rule_file_commit(verify_event *ev)
{
	verifier *v = ev->v;
	const delta *d = &ev->d;
	class_lists cl[EVAULT_CLASS_COUNT];
	char count[32];
	size_t lines = 0;
	int r;
	if (!ev->pm)
		return verify_bad(v, "file.commit on mission %s, which does not exist", v->mission);
	if ((r = file_event_mission(ev)) != 0)
		return r;
	char *end = NULL;
	unsigned long long want = 0;
	if (trailer_get(count, sizeof(count), v->message, "Evault-Files") == 0)
		want = strtoull(count, &end, 10);
	if (!end || *end || want == 0 || want > LAYOUT_COMMIT_MAX)
		return verify_bad(v, "file.commit without a valid Evault-Files (1 to %d)",
				  LAYOUT_COMMIT_MAX);
	memset(cl, 0, sizeof(cl));
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
		if (!(cl[c].add = calloc(want, sizeof(fid_t))) ||
		    !(cl[c].rem = calloc(2 * want, sizeof(fid_t)))) {
			r = verify_bad(v, "out of memory");
			goto done;
		}
	static const char *const keys[2] = {"\nEvault-Put: ", "\nEvault-Remove: "};
	for (int put = 0; put < 2; put++)
		for (const char *p = strstr(v->message, keys[put]); p;
		     p = strstr(p + 1, keys[put])) {
			if (++lines > want || !commit_line(cl, p + strlen(keys[put]), put == 0)) {
				r = verify_bad(
				    v, "file.commit lists a file badly, or more than Evault-Files");
				goto done;
			}
		}
	if (lines != want) {
		r = verify_bad(v, "file.commit lists %zu files where Evault-Files says %llu", lines,
			       want);
		goto done;
	}
	size_t named = 0;
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
		named += cl[c].nadd + cl[c].nrem > 0;
	if (d->more || d->n != named) {
		r = verify_bad(v, "file.commit must change exactly the classes it lists in %s",
			       v->mission);
		goto done;
	}
	for (size_t i = 0; i < d->n; i++) {
		evault_class c;
		if (evault_class_parse(&c, change_name(&d->c[i])) < 0 ||
		    cl[c].nadd + cl[c].nrem == 0 ||
		    !class_change_ok(v, &d->c[i], cl[c].add, cl[c].nadd, cl[c].rem, cl[c].nrem)) {
			r = verify_bad(
			    v,
			    "file.commit must add, replace and remove exactly the entries "
			    "it lists in %s/%s",
			    v->mission, change_name(&d->c[i]));
			goto done;
		}
	}
done:
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
		free(cl[c].add);
		free(cl[c].rem);
	}
	return r;
}
