/*
 * The mount's index (vfs.h): the acting user's missions and, per readable
 * class, its files (decrypted manifests, by path) and its directories.
 * Directories are not recorded in the vault: a directory exists while a
 * file is under it, or, made by mkdir here, while the mount lives; its
 * mode and times are kept in memory (docs/mount.md). The index is brought
 * up to the history at most once per REFRESH_NS: only manifests of new
 * file ids are decrypted. Everything here runs under V->mu.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "files.h"
#include "state.h"
#include "util.h"
#include "vfs.h"

/* ---- tables by path ---- */

static size_t hash_path(const char *p)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return (size_t)h;
}

static tlink *table_find(const table *t, const char *key)
{
	if (!t->b)
		return NULL;
	for (tlink *l = t->b[hash_path(key) & (t->nb - 1)]; l; l = l->next)
		if (strcmp(l->key, key) == 0)
			return l;
	return NULL;
}

static int table_add(table *t, tlink *l)
{
	if (!t->b || t->n >= t->nb * 2) {
		size_t nb = t->b ? t->nb * 4 : 64;
		tlink **b = calloc(nb, sizeof(*b));
		if (!b)
			return -ENOMEM;
		for (size_t i = 0; t->b && i < t->nb; i++)
			for (tlink *x = t->b[i], *nx; x; x = nx) {
				nx = x->next;
				size_t h = hash_path(x->key) & (nb - 1);
				x->next = b[h];
				b[h] = x;
			}
		free(t->b);
		t->b = b;
		t->nb = nb;
	}
	size_t h = hash_path(l->key) & (t->nb - 1);
	l->next = t->b[h];
	t->b[h] = l;
	t->n++;
	return 0;
}

static void table_remove(table *t, tlink *l)
{
	if (!t->b)
		return;
	tlink **pp = &t->b[hash_path(l->key) & (t->nb - 1)];
	while (*pp && *pp != l)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = l->next;
		t->n--;
	}
}

/* File names are client data: wiped before they are freed. */
void free_name(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void free_node(fnode *n)
{
	if (n) {
		manifest_clear(&n->m);
		free(n);
	}
}

static void free_dir(vdir *d)
{
	if (d) {
		free_name(d->path);
		free(d);
	}
}

fnode *find_file(vclass *c, const char *path)
{
	return (fnode *)table_find(&c->files, path);
}

vdir *find_dir(vclass *c, const char *path)
{
	return (vdir *)table_find(&c->dirs, path);
}

/* ---- directories ---- */

/* The directory part of path ("" for a top-level name), in out. */
static void parent_of(const char *path, char out[EVAULT_PATH_MAX + 1])
{
	const char *sl = strrchr(path, '/');
	size_t n = sl ? (size_t)(sl - path) : 0;
	memcpy(out, path, n);
	out[n] = '\0';
}

static bool ts_before(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* The directory at path, made (with those above it) if absent. */
static vdir *dir_get(vclass *c, const char *path, bool touch)
{
	vdir *d = find_dir(c, path);
	if (d)
		return d;
	vdir *up = NULL;
	if (*path) {
		char pp[EVAULT_PATH_MAX + 1];
		parent_of(path, pp);
		if (!(up = dir_get(c, pp, touch)))
			return NULL;
	}
	if (!(d = calloc(1, sizeof(*d))) || !(d->path = strdup(path))) {
		free(d);
		return NULL;
	}
	d->l.key = d->path;
	d->mode = 0755;
	if (touch)
		d->mtime = d->ctime = d->atime = now_ts();
	if (table_add(&c->dirs, &d->l) < 0) {
		free_dir(d);
		return NULL;
	}
	if (up) {
		up->nsubdirs++;
		if (touch)
			up->mtime = up->ctime = now_ts();
	}
	return d;
}

/* Drops d (and directories above it) when nothing keeps it. */
static void dir_put(vclass *c, vdir *d)
{
	while (d && *d->path && !d->nfiles && !d->nsubdirs && !d->session) {
		char pp[EVAULT_PATH_MAX + 1];
		parent_of(d->path, pp);
		table_remove(&c->dirs, &d->l);
		free_dir(d);
		if ((d = find_dir(c, pp)))
			d->nsubdirs--;
	}
}

void touch_dir(vclass *c, const char *path_of_entry)
{
	char pp[EVAULT_PATH_MAX + 1];
	parent_of(path_of_entry, pp);
	vdir *d = find_dir(c, pp);
	if (d)
		d->mtime = d->ctime = now_ts();
}

int make_dir(vclass *c, const char *path, uint32_t mode)
{
	bool existed = find_dir(c, path) != NULL;
	vdir *d = dir_get(c, path, true);
	if (!d)
		return -ENOMEM;
	if (!existed)
		d->mode = mode & 07777;
	d->session = true;
	return 0;
}

void remove_dir(vclass *c, vdir *d)
{
	touch_dir(c, d->path);
	d->session = false;
	dir_put(c, d);
}

void dir_release(vclass *c, vdir *d)
{
	d->session = false;
	dir_put(c, d);
}

bool dir_empty(vclass *c, const vdir *d)
{
	(void)c;
	return d->nfiles == 0 && d->nsubdirs == 0;
}

int link_file(vclass *c, fnode *n, bool touch)
{
	char pp[EVAULT_PATH_MAX + 1];
	parent_of(n->m.path, pp);
	vdir *d = dir_get(c, pp, touch);
	n->l.key = n->m.path;
	if (!d || table_add(&c->files, &n->l) < 0) {
		if (d)
			dir_put(c, d);
		return -ENOMEM;
	}
	d->nfiles++;
	if (touch) {
		d->mtime = d->ctime = now_ts();
		return 0;
	}
	/* loaded from the history: a directory is as new as its newest file */
	struct timespec t = {(time_t)n->m.mtime, (long)n->m.mtime_nsec};
	for (vdir *x = d; x;) {
		if (ts_before(x->mtime, t))
			x->mtime = x->ctime = x->atime = t;
		if (!*x->path)
			break;
		parent_of(x->path, pp);
		x = find_dir(c, pp);
	}
	return 0;
}

void unlink_file(vclass *c, fnode *n, bool touch)
{
	char pp[EVAULT_PATH_MAX + 1];
	table_remove(&c->files, &n->l);
	parent_of(n->m.path, pp);
	vdir *d = find_dir(c, pp);
	if (!d)
		return;
	d->nfiles--;
	if (touch)
		d->mtime = d->ctime = now_ts();
	dir_put(c, d);
}

int each_entry(vclass *c, const char *dir, dir_entry_fn fn, void *p)
{
	size_t dl = strlen(dir);
	int rc = 0;
	TABLE_EACH(&c->files, fnode, n)
	{
		const char *path = n->m.path;
		if (rc == 0 && (dl == 0 || (strncmp(path, dir, dl) == 0 && path[dl] == '/')) &&
		    !strchr(path + (dl ? dl + 1 : 0), '/'))
			rc = fn(path + (dl ? dl + 1 : 0), false, p);
	}
	TABLE_EACH(&c->dirs, vdir, d)
	{
		const char *path = d->path;
		if (rc == 0 && *path &&
		    (dl == 0 || (strncmp(path, dir, dl) == 0 && path[dl] == '/')) &&
		    !strchr(path + (dl ? dl + 1 : 0), '/'))
			rc = fn(path + (dl ? dl + 1 : 0), true, p);
	}
	return rc;
}

static void class_clear(vclass *c)
{
	TABLE_EACH(&c->files, fnode, n)
	free_node(n);
	TABLE_EACH(&c->dirs, vdir, d)
	free_dir(d);
	free(c->files.b);
	free(c->dirs.b);
	memset(&c->files, 0, sizeof(c->files));
	memset(&c->dirs, 0, sizeof(c->dirs));
}

void forget_mission(vmission *vm)
{
	for (int k = 0; k < EVAULT_CLASS_COUNT; k++) {
		class_clear(&vm->c[k]);
		class_keys_free(vm->c[k].k);
	}
	mission_rec_clear(&vm->rec);
	free_name(vm->photos);
	free(vm);
}

/* ---- catching up with the history ---- */

typedef struct known { /* the file ids the index has, sorted, for a rescan */
	const char *fid;
	fnode *n;
} known;

static int known_cmp(const void *a, const void *b)
{
	return strcmp(((const known *)a)->fid, ((const known *)b)->fid);
}

typedef struct rescan_ctx {
	vmission *vm;
	vclass *c;
	evault_class cls;
	const state *st;
	known *k;
	size_t nk;
	bool touch; /* not the first load: changes are new */
} rescan_ctx;

/* Is the file at path open here (its close records it again)? */
static bool open_here(vmission *vm, evault_class cls, const char *path)
{
	inode *in = inode_of_path(vm, cls, path);
	return in && in->of;
}

static int rescan_one(const char *fid, void *p)
{
	rescan_ctx *r = p;
	known key = {fid, NULL};
	known *hit = r->nk ? bsearch(&key, r->k, r->nk, sizeof(known), known_cmp) : NULL;
	if (hit) {
		hit->n->seen = true;
		return 0;
	}
	fnode *n = calloc(1, sizeof(*n));
	if (!n)
		return error_oom();
	int rc = file_load(r->st, r->vm->mid, r->cls, r->c->k, fid, &n->m);
	if (rc < 0) { /* a damaged entry is logged and left out, never shown wrong */
		free(n);
		fail(rc, "reading the index");
		return 0;
	}
	memcpy(n->fid, fid, sizeof(n->fid));
	n->seen = true;
	fnode *old = find_file(r->c, n->m.path);
	if (old) {
		/* written here and not recorded yet, or open here: ours wins at its close */
		if (!*old->fid || open_here(r->vm, r->cls, old->m.path)) {
			old->seen = true;
			free_node(n);
			return 0;
		}
		/* another version of the same path: taken in place */
		char *path = old->m.path;
		old->m.path = NULL;
		manifest_clear(&old->m);
		old->m = n->m;
		free_name(old->m.path);
		old->m.path = path;
		old->l.key = path;
		memcpy(old->fid, fid, sizeof(old->fid));
		old->seen = true;
		free(n);
		return 0;
	}
	if (link_file(r->c, n, r->touch) < 0) {
		free_node(n);
		return error_oom();
	}
	return 0;
}

static int rescan_class(vmission *vm, evault_class cls, const state *st, const char *tree)
{
	vclass *c = &vm->c[cls];
	rescan_ctx r = {vm, c, cls, st, NULL, 0, c->tree[0] != '\0'};
	if (c->files.n && !(r.k = calloc(c->files.n, sizeof(known))))
		return error_oom();
	TABLE_EACH(&c->files, fnode, n)
	{
		n->seen = false;
		if (*n->fid)
			r.k[r.nk++] = (known){n->fid, n};
	}
	if (r.nk)
		qsort(r.k, r.nk, sizeof(known), known_cmp);
	int rc = layout_each_file(st, vm->mid, cls, rescan_one, &r);
	free(r.k);
	if (rc < 0)
		return rc;
	TABLE_EACH(&c->files, fnode, n)
	{
		/* gone from the history: dropped, unless open here (its close records it again) */
		if (!n->seen && *n->fid && !open_here(vm, cls, n->m.path)) {
			unlink_file(c, n, true);
			free_node(n);
		}
	}
	memcpy(c->tree, tree, 41);
	return 0;
}

static vmission *find_mission_any(const char *mid)
{
	for (vmission *vm = V->missions; vm; vm = vm->next)
		if (strcmp(vm->mid, mid) == 0)
			return vm;
	return NULL;
}

vmission *find_mission(const char *mid)
{
	vmission *vm = find_mission_any(mid);
	return vm && !vm->gone ? vm : NULL;
}

typedef struct list_ctx {
	const state *st;
} list_ctx;

/* The class keys c holds gain the generations rec names (c->k shared with
 * open files and workers: generations are only ever added). */
static int extend_keys(vclass *c, const mission_rec *rec, evault_class cls)
{
	secret *key = NULL;
	if (!c->k || rec->ngen[cls] <= class_keys_gens(c->k))
		return 0;
	int rc = mission_open_key(V->repo, rec, cls, &key);
	if (rc == 0)
		rc = class_keys_extend(c->k, key);
	secret_free(key);
	return rc;
}

int refresh_keys(vmission *vm, evault_class cls)
{
	state *st = NULL;
	mission_rec rec;
	memset(&rec, 0, sizeof(rec));
	int rc = state_begin(&st, V->repo, false);
	if (rc == 0)
		rc = mission_load(st, vm->mid, &rec);
	state_end(st);
	if (rc == 0)
		rc = extend_keys(&vm->c[cls], &rec, cls);
	mission_rec_clear(&rec);
	return rc;
}

static int refresh_mission(const char *mid, bool is_dir_, void *p)
{
	list_ctx *l = p;
	if (!is_dir_ || !mission_visible(V->repo, mid))
		return 0;
	vmission *vm = find_mission_any(mid);
	mission_rec rec;
	memset(&rec, 0, sizeof(rec));
	if (mission_load(l->st, mid, &rec) < 0) {
		fail(EVAULT_ECORRUPT, "reading a mission");
		return 0;
	}
	if (!vm) {
		if (!(vm = calloc(1, sizeof(*vm)))) {
			mission_rec_clear(&rec);
			return error_oom();
		}
		snprintf(vm->mid, sizeof(vm->mid), "%s", mid);
		atomic_init(&vm->nfiles, 0);
		atomic_init(&vm->photos_ok, false);
		vm->next = V->missions;
		V->missions = vm;
	}
	char rec_id[41] = "";
	if (mission_record_id(l->st, mid, rec_id) < 0)
		evault_error_clear();
	if (!*rec_id || strcmp(rec_id, vm->rec_id) != 0) { /* what .mission shows may change */
		free_name(vm->photos);
		vm->photos = NULL;
		memcpy(vm->rec_id, rec_id, sizeof(vm->rec_id));
	}
	mission_rec_clear(&vm->rec);
	vm->rec = rec;
	atomic_store(&vm->photos_ok, vm->rec.photo_authorised);
	vm->writable = !V->ro && mission_check_writable(V->repo, &vm->rec) == 0;
	evault_error_clear();
	for (int k = 0; k < EVAULT_CLASS_COUNT; k++) {
		vclass *c = &vm->c[k];
		if (!c->k && mission_class_keys(V->repo, &vm->rec, (evault_class)k, &c->k) < 0)
			evault_error_clear();
		if (extend_keys(c, &vm->rec, (evault_class)k) < 0)
			fail(EVAULT_ECORRUPT, "reading a mission's keys");
		c->readable = c->k != NULL;
		if (!c->readable)
			continue;
		if (!find_dir(c, "") && !dir_get(c, "", false))
			return error_oom();
		char tree[41];
		if (file_class_tree(l->st, mid, (evault_class)k, tree) < 0) {
			evault_error_clear();
			continue;
		}
		if (strcmp(tree, c->tree) != 0 &&
		    rescan_class(vm, (evault_class)k, l->st, tree) < 0)
			fail(EVAULT_ECORRUPT, "reading the index");
	}
	vm->gone = false; /* seen this round */
	return 0;
}

/* Catches up with the history when it moved (at most once per REFRESH_NS). V->mu held. */
int refresh(bool force)
{
	int64_t t = now_ns();
	if (!force && t - V->checked_ns < REFRESH_NS)
		return 0;
	V->checked_ns = t;
	state *st = NULL;
	int rc = state_begin(&st, V->repo, false);
	if (rc < 0)
		return fail(rc, "reading the history");
	if (strcmp(state_head_hex(st), V->head) == 0) {
		state_end(st);
		return 0;
	}
	for (vmission *vm = V->missions; vm; vm = vm->next)
		vm->gone = true;
	list_ctx l = {st};
	rc = state_list(st, "missions", refresh_mission, &l);
	if (rc == 0) /* else tried again at the next refresh */
		snprintf(V->head, sizeof(V->head), "%s", state_head_hex(st));
	else
		for (vmission *vm = V->missions; vm; vm = vm->next)
			vm->gone = false;
	state_end(st);
	/* missions no longer visible (closed for this user, revoked) leave the
	 * mount; a listing that failed part way proves nothing */
	for (vmission **pp = &V->missions; rc == 0 && *pp;) {
		vmission *vm = *pp;
		/* open files (unlinked ones too) use its keys: it waits for them */
		if (vm->gone && atomic_load(&vm->nfiles) == 0) {
			*pp = vm->next;
			forget_mission(vm);
		} else
			pp = &vm->next;
	}
	return rc < 0 ? fail(rc, "reading the history") : 0;
}
