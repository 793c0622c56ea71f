/*
 * The mount (DESIGN §7). An in-memory index of the acting user's missions
 * (decrypted manifests, per class) serves lookups and listings; open files
 * hold their content as a table of chunks: objects already in the store,
 * holes, and plaintext buffers being written. Full chunks are sealed
 * (compressed, encrypted, staged) by a pool of worker threads while the
 * writer goes on; at close and fsync the file's objects are made durable
 * and its manifest is committed as one signed event. Plaintext lives only
 * in chunk buffers, wiped when released; memory per open file is bounded
 * by OF_MAX_BUFFERS chunks whatever the file's size.
 *
 * Locks: v->mu guards the index and every engine call that touches the
 * history (one commit at a time anyway: the repository lock); of->mu
 * guards one open file's chunk table. Order: v->mu before of->mu; the
 * write and read paths take of->mu only.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fuse.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chunk.h"
#include "content.h"
#include "files.h"
#include "layout.h"
#include "manifest.h"
#include "mission.h"
#include "mount.h"
#include "mounts.h"
#include "repo.h"
#include "state.h"
#include "util.h"

#define OF_MAX_BUFFERS 10 /* plaintext chunk buffers per open file */
#define OF_MAX_INFLIGHT 6 /* chunks being sealed or read ahead per open file */
#define READAHEAD 5       /* chunks decrypted ahead of a sequential reader */
#define STAGE_BATCH 64    /* staged objects made durable together */
#define REFRESH_NS 1000000000LL
#define HASH_BUCKETS 1024
#ifndef RENAME_NOREPLACE /* renameat2(2) flags, as the kernel passes them */
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif
#define REFUSAL_FLUSH_S 2

enum { C_HOLE = 0, C_OBJ, C_DIRTY, C_SEALING };

typedef struct centry {
	uint8_t st;
	bool pending; /* C_OBJ whose object is staged, not yet durable and named */
	bool loading; /* C_OBJ being read ahead by a worker */
	uint8_t id[OBJECT_ID_LEN];
	uint8_t *buf; /* C_DIRTY / C_SEALING: plaintext; C_OBJ: a clean cached copy or NULL */
} centry;

struct vclass;
struct vmission;

/* An open file's handle is an ofile; a generated file's, a special handle. */
enum { H_FILE = 1, H_SPECIAL = 2 };
typedef struct special_h {
	int kind;
	char path[];
} special_h;

typedef struct ofile {
	int kind; /* H_FILE */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	struct vmission *vm;
	evault_class cls;
	const class_keys *k;
	char *path;
	char fid[LAYOUT_FID_LEN + 1]; /* committed version, "" if none yet */
	uint32_t cs;
	uint64_t size;
	uint32_t mode;
	int64_t mtime;
	uint32_t mtime_nsec;
	char ctype[MANIFEST_CTYPE_MAX];
	centry *ch;
	size_t nch, ach;
	size_t nbufs, inflight;
	size_t lowbuf; /* no chunk below this index holds a buffer */
	bool dirty, unlinked, refused, classified;
	int err; /* a sealing failure, reported at the next write/flush */
	backend_staged *staged[STAGE_BATCH];
	size_t nstaged;
	struct fnode *node; /* the index entry, NULL once unlinked */
} ofile;

typedef struct fnode {
	struct fnode *next;
	char fid[LAYOUT_FID_LEN + 1];
	manifest m; /* m.path is the path inside the class */
	ofile *open;
	bool seen;
} fnode;

typedef struct vclass {
	bool readable;
	class_keys *k;
	char tree[41];
	fnode **tab; /* HASH_BUCKETS chains by path */
	size_t nfiles;
	char **sdirs; /* directories made in this session (kept while the mount lives) */
	size_t nsdirs;
} vclass;

typedef struct vmission {
	struct vmission *next;
	char mid[EVAULT_MID_MAX + 1];
	mission_rec rec;
	bool writable, gone;
	int writers;       /* handles open for writing: close of the mission waits for them */
	atomic_int nfiles; /* open files (ofiles alive): the mission is kept while any */
	vclass c[EVAULT_CLASS_COUNT];
	content_tally refused;
} vmission;

typedef struct job {
	struct job *next;
	ofile *of;
	size_t idx;
	bool load; /* read ahead (decrypt) rather than seal */
} job;

typedef struct vfs {
	evault_repo *repo;
	bool ro;
	pthread_mutex_t mu;
	vmission *missions;
	char head[41];
	int64_t checked_ns;
	uid_t uid;
	gid_t gid;
	time_t started;
	char mountpoint[4096];
	/* sealing workers */
	pthread_mutex_t jmu;
	pthread_cond_t jcv;
	job *jhead, *jtail;
	bool jstop;
	pthread_t *threads;
	size_t nthreads;
	pthread_t flusher;
	struct fuse *fuse;
	/* names the kernel may still cache after a refused file went: told by the flusher */
	pthread_mutex_t imu;
	pthread_cond_t icv;
	char *inval[64];
	size_t ninval;
	bool istop;
	bool flusher_started;
	mount_reg reg;    /* REPO/mounts/<pid>: missions being written */
	chunk_worker *cw; /* v->mu: holes and commit-time seals */
	evault_buf obj;
} vfs;

static vfs *V;

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* engine code -> errno, one place */
static int to_errno(int rc)
{
	switch (rc) {
	case 0: return 0;
	case EVAULT_ENOTFOUND: return -ENOENT;
	case EVAULT_EEXISTS: return -EEXIST;
	case EVAULT_EDENIED:
	case EVAULT_EREFUSED:
	case EVAULT_EAUTH: return -EACCES;
	case EVAULT_EREADONLY: return -EROFS;
	case EVAULT_EINVAL: return -EINVAL;
	case EVAULT_ELOCKED: return -EBUSY;
	case EVAULT_ENOSPC: return -ENOSPC;
	default: return -EIO;
	}
}

static int fail(int rc, const char *what)
{
	syslog(LOG_ERR, "evault mount: %s: %s", what, evault_error_last());
	fprintf(stderr, "evault: %s: %s\n", what, evault_error_last());
	return to_errno(rc);
}

/* ---- index ---- */

static size_t hash_path(const char *p)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return (size_t)(h % HASH_BUCKETS);
}

static fnode *find_file(vclass *c, const char *path)
{
	if (!c->tab)
		return NULL;
	for (fnode *n = c->tab[hash_path(path)]; n; n = n->next)
		if (strcmp(n->m.path, path) == 0)
			return n;
	return NULL;
}

static int link_file(vclass *c, fnode *n)
{
	if (!c->tab && !(c->tab = calloc(HASH_BUCKETS, sizeof(fnode *))))
		return -ENOMEM;
	size_t h = hash_path(n->m.path);
	n->next = c->tab[h];
	c->tab[h] = n;
	c->nfiles++;
	return 0;
}

static void unlink_file(vclass *c, fnode *n)
{
	fnode **pp = &c->tab[hash_path(n->m.path)];
	while (*pp && *pp != n)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = n->next;
		c->nfiles--;
	}
}

/* File names are client data: wiped before they are freed. */
static void free_name(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

static void free_node(fnode *n)
{
	manifest_clear(&n->m);
	free(n);
}

#define EACH_FILE(c, n)                                                                            \
	for (size_t _b = 0; (c)->tab && _b < HASH_BUCKETS; _b++)                                   \
		for (fnode *n = (c)->tab[_b], *_nx; n && ((_nx = n->next), 1); n = _nx)

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return n == 0 || (strncmp(path, dir, n) == 0 && path[n] == '/');
}

/* Is dir ("" the class itself) a directory of class c? */
static bool is_dir(vclass *c, const char *dir)
{
	if (!*dir)
		return true;
	for (size_t i = 0; i < c->nsdirs; i++)
		if (strcmp(c->sdirs[i], dir) == 0 || under(c->sdirs[i], dir))
			return true;
	EACH_FILE(c, n)
	if (under(n->m.path, dir))
		return true;
	return false;
}

static void forget_mission(vmission *vm)
{
	for (int k = 0; k < EVAULT_CLASS_COUNT; k++) {
		vclass *c = &vm->c[k];
		EACH_FILE(c, n)
		{
			if (n->open)
				n->open->node = NULL;
			free_node(n);
		}
		free(c->tab);
		for (size_t i = 0; i < c->nsdirs; i++)
			free_name(c->sdirs[i]);
		free(c->sdirs);
		class_keys_free(c->k);
	}
	mission_rec_clear(&vm->rec);
	free(vm);
}

/* Brings class c of vm up to the state st (only new manifests are decrypted). */
typedef struct rescan_ctx {
	vmission *vm;
	vclass *c;
	evault_class cls;
	const state *st;
	int rc;
} rescan_ctx;

static int rescan_one(const char *fid, void *p)
{
	rescan_ctx *r = p;
	EACH_FILE(r->c, n)
	if (strcmp(n->fid, fid) == 0) {
		n->seen = true;
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
	if (old && old->open && !*old->fid) { /* written here, not committed yet: ours wins */
		free_node(n);
		return 0;
	}
	return link_file(r->c, n) < 0 ? error_oom() : 0;
}

static int rescan_class(vmission *vm, evault_class cls, const state *st, const char *tree)
{
	vclass *c = &vm->c[cls];
	EACH_FILE(c, n)
	n->seen = false;
	rescan_ctx r = {vm, c, cls, st, 0};
	int rc = layout_each_file(st, vm->mid, cls, rescan_one, &r);
	if (rc < 0)
		return rc;
	EACH_FILE(c, n)
	{
		/* gone from the history: dropped, unless open here (its close commits it again) */
		if (!n->seen && *n->fid && !n->open) {
			unlink_file(c, n);
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

static vmission *find_mission(const char *mid)
{
	for (vmission *vm = V->missions; vm; vm = vm->next)
		if (!vm->gone && strcmp(vm->mid, mid) == 0)
			return vm;
	return NULL;
}

typedef struct list_ctx {
	const state *st;
	int rc;
} list_ctx;

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
		vm->next = V->missions;
		V->missions = vm;
	}
	mission_rec_clear(&vm->rec);
	vm->rec = rec;
	vm->writable = !V->ro && file_check_writable(V->repo, &vm->rec) == 0;
	evault_error_clear();
	for (int k = 0; k < EVAULT_CLASS_COUNT; k++) {
		vclass *c = &vm->c[k];
		if (!c->k && mission_class_keys(V->repo, &vm->rec, (evault_class)k, &c->k) < 0)
			evault_error_clear();
		c->readable = c->k != NULL;
		char tree[41];
		if (!c->readable || file_class_tree(l->st, mid, (evault_class)k, tree) < 0)
			continue;
		if (strcmp(tree, c->tree) != 0 &&
		    rescan_class(vm, (evault_class)k, l->st, tree) < 0)
			fail(EVAULT_ECORRUPT, "reading the index");
	}
	vm->gone = false; /* seen this round */
	return 0;
}

/* Catches up with the history when it moved (at most once per REFRESH_NS). v->mu held. */
static int refresh(bool force)
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
	list_ctx l = {st, 0};
	rc = state_list(st, "missions", refresh_mission, &l);
	snprintf(V->head, sizeof(V->head), "%s", state_head_hex(st));
	state_end(st);
	/* missions no longer visible (closed for this user, revoked) leave the mount */
	for (vmission **pp = &V->missions; *pp;) {
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

/* ---- paths ---- */

typedef struct vpath {
	int depth;    /* 0 root, 1 mission, 2 class or .mission, 3+ inside a class */
	bool special; /* .evault, .evault/status, MID/.mission */
	char special_name[16];
	vmission *vm;
	evault_class cls;
	vclass *c;
	const char *rel; /* inside the class ("" for the class) */
} vpath;

static int parse(vpath *p, const char *path)
{
	memset(p, 0, sizeof(*p));
	p->rel = "";
	if (!path || path[0] != '/')
		return -ENOENT;
	const char *s = path + 1;
	if (!*s)
		return 0;
	if (strcmp(s, ".evault") == 0 || strcmp(s, ".evault/status") == 0) {
		p->special = true;
		snprintf(p->special_name, sizeof(p->special_name), "%s",
			 strchr(s, '/') ? "status" : ".evault");
		p->depth = strchr(s, '/') ? 2 : 1;
		return 0;
	}
	const char *sl = strchr(s, '/');
	size_t ml = sl ? (size_t)(sl - s) : strlen(s);
	char mid[EVAULT_MID_MAX + 1];
	if (ml == 0 || ml > EVAULT_MID_MAX)
		return -ENOENT;
	memcpy(mid, s, ml);
	mid[ml] = '\0';
	if (!(p->vm = find_mission(mid)))
		return -ENOENT;
	p->depth = 1;
	if (!sl || !sl[1])
		return 0;
	s = sl + 1;
	sl = strchr(s, '/');
	size_t cl = sl ? (size_t)(sl - s) : strlen(s);
	char cls[16];
	if (cl >= sizeof(cls))
		return -ENOENT;
	memcpy(cls, s, cl);
	cls[cl] = '\0';
	p->depth = 2;
	if (strcmp(cls, ".mission") == 0 && !sl) {
		p->special = true;
		snprintf(p->special_name, sizeof(p->special_name), ".mission");
		return 0;
	}
	if (evault_class_parse(&p->cls, cls) < 0) {
		evault_error_clear();
		return -ENOENT;
	}
	p->c = &p->vm->c[p->cls];
	if (!p->c->readable)
		return -ENOENT;
	if (sl && sl[1]) {
		p->rel = sl + 1;
		p->depth = 3;
		if (p->rel[strlen(p->rel) - 1] == '/')
			return -ENOENT;
	}
	return 0;
}

/* ---- generated read-only files ---- */

static int mission_text(evault_buf *b, vmission *vm)
{
	const mission_rec *m = &vm->rec;
	int rc = evault_buf_printf(b, "mission  %s\nstatus   %s\n", m->mid, m->status);
	for (size_t i = 0; i < m->nmembers && rc == 0; i++)
		rc = evault_buf_printf(b, "member   %s\n", m->members[i]);
	for (size_t i = 0; i < m->nauditors && rc == 0; i++)
		rc = evault_buf_printf(b, "auditor  %s\n", m->auditors[i]);
	if (rc == 0)
		rc = evault_buf_printf(b, "photos   %s\n",
				       m->photo_authorised
					   ? "authorised (client's written authorisation recorded)"
					   : "NOT authorised: images and videos are refused");
	if (rc == 0 && m->photo_authorised && vm->c[EVAULT_CLASS_DOSSIER].readable) {
		evault_buf a = EVAULT_BUF_INIT;
		if (evault_mission_photo_authorisation(V->repo, m->mid, &a) == 0 && a.size)
			for (char *l = strtok(a.ptr, "\n"); l && rc == 0; l = strtok(NULL, "\n"))
				rc = evault_buf_printf(b, "         %s\n", l);
		evault_error_clear();
		evault_buf_dispose(&a);
	}
	if (rc == 0)
		rc = evault_buf_printf(
		    b, "audio    always refused (no voice recordings)\nyou      %s\n",
		    vm->writable ? "read-write" : "read-only");
	for (int k = 0; k < EVAULT_CLASS_COUNT && rc == 0; k++)
		if (vm->c[k].readable)
			rc = evault_buf_printf(b, "files    %-8s %zu\n",
					       evault_class_name((evault_class)k), vm->c[k].nfiles);
	if (rc == 0 && strcmp(m->status, "open") == 0)
		rc = evault_buf_printf(
		    b, "at close the dossier is kept for the retention period; work and codes are "
		       "erased (their keys destroyed);\nevery codes entry must first be marked "
		       "rotated or reported (evault codes mark); members lose the mission.\n");
	return rc;
}

static int status_text(evault_buf *b)
{
	size_t n = 0;
	for (vmission *vm = V->missions; vm; vm = vm->next)
		n += !vm->gone;
	return evault_buf_printf(b,
				 "user     %s\nvault    %s\nhead     %s\nmount    %s\npid      "
				 "%ld\nmode     %s\nmissions %zu\n",
				 evault_repo_actor(V->repo), evault_repo_vault_id(V->repo), V->head,
				 V->mountpoint, (long)getpid(), V->ro ? "read-only" : "read-write",
				 n);
}

static int special_text(evault_buf *b, const vpath *p)
{
	return strcmp(p->special_name, "status") == 0 ? status_text(b) : mission_text(b, p->vm);
}

/* ---- open files: chunks ---- */

static uint64_t chunk_len(const ofile *of, size_t i)
{
	uint64_t start = (uint64_t)i * of->cs;
	if (start >= of->size)
		return 0;
	return of->size - start < of->cs ? of->size - start : of->cs;
}

/*
 * A pool of wiped chunk buffers (the repository's chunk size), so that
 * buffers are reused rather than mapped and unmapped for every chunk;
 * at most POOL_MAX are kept, beyond that they go back to the system.
 */
#define POOL_MAX 16
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *pool_v[POOL_MAX];
static size_t pool_n;

/* A buffer of cs bytes; from the pool (all zeros) when cs is the pool's size. */
static uint8_t *buf_get(uint32_t cs, bool zero)
{
	uint8_t *b = NULL;
	if (cs == V->repo->cfg.chunk_size) {
		pthread_mutex_lock(&pool_mu);
		if (pool_n)
			b = pool_v[--pool_n];
		pthread_mutex_unlock(&pool_mu);
	}
	if (!b)
		b = zero ? calloc(1, cs) : malloc(cs);
	return b;
}

/* Wipes a buffer (it held plaintext) and pools or frees it. */
static void buf_put(uint8_t *b, uint32_t cs)
{
	if (!b)
		return;
	sodium_memzero(b, cs);
	if (cs == V->repo->cfg.chunk_size) {
		pthread_mutex_lock(&pool_mu);
		bool kept = pool_n < POOL_MAX;
		if (kept)
			pool_v[pool_n++] = b;
		pthread_mutex_unlock(&pool_mu);
		if (kept)
			return;
	}
	free(b);
}

static void pool_drain(void)
{
	pthread_mutex_lock(&pool_mu);
	while (pool_n)
		free(pool_v[--pool_n]);
	pthread_mutex_unlock(&pool_mu);
}

static void drop_buf(ofile *of, centry *e)
{
	if (e->buf) {
		buf_put(e->buf, of->cs);
		e->buf = NULL;
		of->nbufs--;
	}
}

/* zero: the caller will not overwrite it all (bytes past a file's end are
 * zeroed when the file grows, so a whole-chunk write needs no clearing) */
static uint8_t *new_buf(ofile *of, bool zero)
{
	uint8_t *b = buf_get(of->cs, zero);
	if (b)
		of->nbufs++;
	return b;
}

static int grow_table(ofile *of, size_t n)
{
	if (n > of->ach) {
		size_t na = of->ach ? of->ach : 16;
		while (na < n)
			na *= 2;
		centry *ne = realloc(of->ch, na * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		memset(ne + of->ach, 0, (na - of->ach) * sizeof(*ne));
		of->ch = ne;
		of->ach = na;
	}
	for (size_t i = of->nch; i < n; i++)
		memset(&of->ch[i], 0, sizeof(centry));
	if (n > of->nch)
		of->nch = n;
	return 0;
}

/* Makes staged objects durable and named (one flush). of->mu held. */
static int publish(ofile *of)
{
	backend *b = V->repo->objects;
	int rc = 0;
	if (of->nstaged) {
		rc = b->ops->publish(b, of->staged, of->nstaged);
		b->ops->discard(b, of->staged, of->nstaged);
		of->nstaged = 0;
		for (size_t i = 0; i < of->nch; i++)
			of->ch[i].pending = false;
	}
	return rc < 0 ? fail(rc, "storing a file's objects") : 0;
}

/* Decrypts chunk i (C_OBJ) into its buffer. of->mu held. */
static int load_chunk(ofile *of, size_t i, chunk_worker *w, evault_buf *obj)
{
	centry *e = &of->ch[i];
	int rc;
	if (e->buf)
		return 0;
	if (e->pending && (rc = publish(of)) < 0)
		return rc;
	uint8_t *b = new_buf(of, true);
	if (!b)
		return -ENOMEM;
	size_t len = 0;
	rc = V->repo->objects->ops->get(V->repo->objects, e->id, obj, of->cs + OBJ_OVERHEAD);
	if (rc == 0)
		rc = chunk_open(b, of->cs, &len, of->k, w, e->id, (const uint8_t *)obj->ptr,
				obj->size);
	if (rc == 0 && len != chunk_len(of, i) && !(len < chunk_len(of, i) && i + 1 == of->nch))
		rc = evault_error_set(EVAULT_ECORRUPT, "a chunk of %s has the wrong length",
				      of->path);
	if (rc < 0) {
		buf_put(b, of->cs);
		of->nbufs--;
		return fail(rc == EVAULT_ENOTFOUND ? EVAULT_ECORRUPT : rc, "reading a file");
	}
	/* zstd may use the room past the output as scratch: nothing past the end */
	memset(b + len, 0, of->cs - len);
	e->buf = b;
	if (i < of->lowbuf)
		of->lowbuf = i;
	return 0;
}

/* Per-thread chunk workers for the FUSE threads (read paths). */
static pthread_key_t tw_key;
typedef struct tworker {
	chunk_worker *cw;
	evault_buf obj;
	uint32_t cs;
} tworker;

static void tworker_free(void *p)
{
	tworker *t = p;
	if (t) {
		chunk_worker_free(t->cw);
		evault_buf_dispose(&t->obj);
		free(t);
	}
}

static tworker *thread_worker(uint32_t cs)
{
	tworker *t = pthread_getspecific(tw_key);
	if (t && t->cs < cs) {
		tworker_free(t);
		t = NULL;
	}
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || !(t->cw = chunk_worker_new(cs, V->repo->cfg.zstd_level))) {
			free(t);
			return NULL;
		}
		t->cs = cs;
		pthread_setspecific(tw_key, t);
	}
	return t;
}

/* ---- sealing workers ---- */

static void enqueue(job *j)
{
	pthread_mutex_lock(&V->jmu);
	if (V->jtail)
		V->jtail->next = j;
	else
		V->jhead = j;
	V->jtail = j;
	pthread_cond_signal(&V->jcv);
	pthread_mutex_unlock(&V->jmu);
}

/* Hands chunk idx (C_DIRTY) to the workers to be sealed. of->mu held. */
static void submit(ofile *of, size_t idx)
{
	job *j = calloc(1, sizeof(*j));
	if (!j) {
		of->err = -ENOMEM;
		return;
	}
	of->ch[idx].st = C_SEALING;
	of->inflight++;
	of->refs++;
	j->of = of;
	j->idx = idx;
	enqueue(j);
}

/* Reads chunk idx ahead if it is stored, not in memory, and there is room. of->mu held. */
static void prefetch(ofile *of, size_t idx)
{
	if (idx >= of->nch || of->inflight >= OF_MAX_INFLIGHT ||
	    of->nbufs + of->inflight >= OF_MAX_BUFFERS - 2)
		return;
	centry *e = &of->ch[idx];
	if (e->st != C_OBJ || e->buf || e->loading || e->pending)
		return;
	job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	e->loading = true;
	of->inflight++;
	of->refs++;
	j->of = of;
	j->idx = idx;
	j->load = true;
	enqueue(j);
}

static void ofile_unref(ofile *of);

typedef struct sworker {
	chunk_worker *cw;
	evault_buf obj;
	evault_buf rd; /* objects read ahead */
} sworker;

static void load_job(sworker *w, job *j)
{
	ofile *of = j->of;
	uint8_t id[OBJECT_ID_LEN];
	pthread_mutex_lock(&of->mu);
	memcpy(id, of->ch[j->idx].id, OBJECT_ID_LEN);
	uint32_t cs = of->cs;
	size_t want = (size_t)chunk_len(of, j->idx);
	pthread_mutex_unlock(&of->mu);
	uint8_t *buf = buf_get(cs, false);
	size_t len = 0;
	int rc = buf ? V->repo->objects->ops->get(V->repo->objects, id, &w->rd, cs + OBJ_OVERHEAD)
		     : -ENOMEM;
	if (rc == 0)
		rc = chunk_open(buf, cs, &len, of->k, w->cw, id, (const uint8_t *)w->rd.ptr,
				w->rd.size);
	evault_error_clear(); /* a failure is met again, and reported, by the reader */
	pthread_mutex_lock(&of->mu);
	centry *e = j->idx < of->nch ? &of->ch[j->idx] : NULL;
	if (e && rc == 0 && len == want && e->st == C_OBJ && !e->buf &&
	    memcmp(e->id, id, OBJECT_ID_LEN) == 0) {
		memset(buf + len, 0, cs - len); /* zstd may leave scratch bytes there */
		e->buf = buf;
		of->nbufs++;
		buf = NULL;
		if (j->idx < of->lowbuf)
			of->lowbuf = j->idx;
	}
	if (e)
		e->loading = false;
	of->inflight--;
	pthread_cond_broadcast(&of->cv);
	pthread_mutex_unlock(&of->mu);
	buf_put(buf, cs);
	ofile_unref(of);
}

static void seal_job(sworker *w, job *j)
{
	ofile *of = j->of;
	backend *b = V->repo->objects;
	uint8_t id[OBJECT_ID_LEN];
	backend_staged *staged = NULL;
	pthread_mutex_lock(&of->mu);
	centry *e = &of->ch[j->idx];
	uint8_t *plain = e->buf;
	size_t len = (size_t)chunk_len(of, j->idx);
	pthread_mutex_unlock(&of->mu);
	/* the buffer is ours while C_SEALING: writers and truncate wait */
	int rc = chunk_seal(&w->obj, id, of->k, w->cw, plain, len);
	if (rc == 0)
		rc = b->ops->stage(b, id, w->obj.ptr, w->obj.size, w->obj.asize, &staged);
	pthread_mutex_lock(&of->mu);
	e = &of->ch[j->idx];
	if (rc < 0) {
		of->err = fail(rc, "sealing a chunk");
		e->st = C_DIRTY;
	} else {
		e->st = C_OBJ;
		memcpy(e->id, id, OBJECT_ID_LEN);
		drop_buf(of, e);
		if (staged) {
			e->pending = true;
			of->staged[of->nstaged++] = staged;
			if (of->nstaged == STAGE_BATCH && publish(of) < 0)
				of->err = -EIO;
		}
	}
	of->inflight--;
	pthread_cond_broadcast(&of->cv);
	pthread_mutex_unlock(&of->mu);
	ofile_unref(of);
}

static void *worker_main(void *p)
{
	sworker w = {chunk_worker_new(V->repo->cfg.chunk_size, V->repo->cfg.zstd_level),
		     EVAULT_BUF_INIT, EVAULT_BUF_INIT};
	size_t cap =
	    (V->repo->cfg.chunk_size + OBJ_OVERHEAD + BACKEND_ALIGN) & ~(size_t)(BACKEND_ALIGN - 1);
	void *mem = NULL;
	if (posix_memalign(&mem, BACKEND_ALIGN, cap) == 0)
		w.obj = (evault_buf){mem, 0, cap};
	(void)p;
	for (;;) {
		pthread_mutex_lock(&V->jmu);
		while (!V->jhead && !V->jstop)
			pthread_cond_wait(&V->jcv, &V->jmu);
		job *j = V->jhead;
		if (j) {
			V->jhead = j->next;
			if (!V->jhead)
				V->jtail = NULL;
		}
		pthread_mutex_unlock(&V->jmu);
		if (!j)
			break;
		if (j->load)
			load_job(&w, j);
		else
			seal_job(&w, j);
		free(j);
	}
	chunk_worker_free(w.cw);
	evault_buf_dispose(&w.obj);
	evault_buf_dispose(&w.rd);
	return NULL;
}

/* ---- open files ---- */

static ofile *ofile_new(vmission *vm, evault_class cls, const char *path)
{
	ofile *of = calloc(1, sizeof(*of));
	if (!of || !(of->path = strdup(path))) {
		free(of);
		return NULL;
	}
	pthread_mutex_init(&of->mu, NULL);
	pthread_cond_init(&of->cv, NULL);
	of->kind = H_FILE;
	of->refs = 1;
	of->vm = vm;
	atomic_fetch_add(&vm->nfiles, 1);
	of->cls = cls;
	of->k = vm->c[cls].k;
	of->cs = V->repo->cfg.chunk_size;
	of->mode = 0644;
	return of;
}

/* Loads a committed file's manifest into a fresh ofile. */
static int ofile_from(ofile *of, const manifest *m, const char *fid)
{
	of->cs = m->chunk_size ? m->chunk_size : of->cs;
	of->size = m->size;
	of->mode = m->mode;
	of->mtime = m->mtime;
	of->mtime_nsec = m->mtime_nsec;
	memcpy(of->ctype, m->content_type, sizeof(of->ctype));
	of->classified = true;
	memcpy(of->fid, fid, sizeof(of->fid));
	if (grow_table(of, m->nchunks) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < m->nchunks; i++) {
		of->ch[i].st = C_OBJ;
		memcpy(of->ch[i].id, m->chunks[i], OBJECT_ID_LEN);
	}
	return 0;
}

static void ofile_unref(ofile *of)
{
	pthread_mutex_lock(&of->mu);
	bool last = --of->refs == 0;
	pthread_mutex_unlock(&of->mu);
	if (!last)
		return;
	for (size_t i = 0; i < of->nch; i++)
		drop_buf(of, &of->ch[i]);
	V->repo->objects->ops->discard(V->repo->objects, of->staged, of->nstaged);
	free(of->ch);
	free_name(of->path);
	pthread_mutex_destroy(&of->mu);
	pthread_cond_destroy(&of->cv);
	atomic_fetch_sub(&of->vm->nfiles, 1); /* last use of the mission */
	free(of);
}

static void wait_idle(ofile *of)
{
	while (of->inflight)
		pthread_cond_wait(&of->cv, &of->mu);
}

/* Content rules from the file's first bytes. of->mu held. */
static int classify(ofile *of, const uint8_t *data, size_t len)
{
	content_kind kind = content_classify(data, len, of->ctype);
	of->classified = true;
	if (content_check(&of->vm->rec, kind, of->ctype) == 0)
		return 0;
	of->refused = true;
	syslog(LOG_WARNING, "evault mount: %s/%s: %s", of->vm->mid, evault_class_name(of->cls),
	       evault_error_last());
	fprintf(stderr, "evault: %s/%s: %s\n", of->vm->mid, evault_class_name(of->cls),
		evault_error_last());
	return -EACCES;
}

/* Buffer for chunk i, loaded or zeroed; waits while it is being sealed. of->mu held. */
static int chunk_for_write(ofile *of, size_t i, bool whole)
{
	int rc;
	while (i < of->nch && (of->ch[i].st == C_SEALING || of->ch[i].loading))
		pthread_cond_wait(&of->cv, &of->mu);
	if (i >= of->nch && (rc = grow_table(of, i + 1)) < 0)
		return rc;
	centry *e = &of->ch[i];
	if (e->st == C_DIRTY)
		return 0;
	if (e->st == C_OBJ && !e->buf && !whole) {
		tworker *t = thread_worker(of->cs);
		if (!t)
			return -ENOMEM;
		if ((rc = load_chunk(of, i, t->cw, &t->obj)) < 0)
			return rc;
	}
	if (!e->buf && !(e->buf = new_buf(of, !whole)))
		return -ENOMEM;
	if (i < of->lowbuf)
		of->lowbuf = i;
	e->st = C_DIRTY;
	e->pending = false;
	return 0;
}

/* Seals buffers (oldest first, not the one at keep) until under the bound. of->mu held. */
static void make_room(ofile *of, size_t keep)
{
	while (of->lowbuf < of->nch && !of->ch[of->lowbuf].buf)
		of->lowbuf++; /* buffers sit near the writer: no scan from chunk 0 */
	for (size_t i = of->lowbuf; i < of->nch && of->nbufs >= OF_MAX_BUFFERS - 1; i++) {
		centry *e = &of->ch[i];
		if (i == keep || !e->buf)
			continue;
		if (e->st == C_OBJ)
			drop_buf(of, e);
		else if (e->st == C_DIRTY && chunk_len(of, i) > 0)
			submit(of, i);
	}
	while (of->inflight >= OF_MAX_INFLIGHT || of->nbufs >= OF_MAX_BUFFERS)
		pthread_cond_wait(&of->cv, &of->mu);
}

/* Sets the size: chunks past the end dropped, a partial last chunk zero-filled. of->mu held. */
static int set_size(ofile *of, uint64_t size)
{
	int rc;
	size_t n = (size_t)((size + of->cs - 1) / of->cs);
	/* Only the chunks this touches must be at rest: the ones dropped, and
	 * (in chunk_for_write) the old or new partial last one. Appends go on
	 * while earlier chunks are sealed. */
	for (bool busy = true; busy;) {
		busy = false;
		for (size_t i = n; i < of->nch && !busy; i++)
			busy = of->ch[i].st == C_SEALING || of->ch[i].loading;
		if (busy)
			pthread_cond_wait(&of->cv, &of->mu);
	}
	uint64_t old = of->size;
	/* The old last chunk grows: it is re-sealed at its new length. Its bytes
	 * past the old end are zeros already: a buffer never holds anything
	 * past the file's end (loads are zero-filled, shrinking clears the
	 * tail, a write that ends the file clears the rest of a fresh buffer). */
	if (size > old && old % of->cs) {
		size_t last = (size_t)(old / of->cs);
		if (last < of->nch && of->ch[last].st != C_HOLE &&
		    (rc = chunk_for_write(of, last, false)) < 0)
			return rc;
	}
	for (size_t i = n; i < of->nch; i++)
		drop_buf(of, &of->ch[i]);
	if (n < of->nch)
		of->nch = n;
	else if ((rc = grow_table(of, n)) < 0)
		return rc;
	if (size < old && size % of->cs && n > 0 && of->ch[n - 1].st != C_HOLE) {
		if ((rc = chunk_for_write(of, n - 1, false)) < 0)
			return rc;
		memset(of->ch[n - 1].buf + size % of->cs, 0, of->cs - size % of->cs);
	}
	of->size = size;
	of->dirty = true;
	return 0;
}

static int of_write(ofile *of, const char *data, size_t len, off_t off)
{
	int rc = 0;
	pthread_mutex_lock(&of->mu);
	if (of->err || of->refused) {
		rc = of->refused ? -EACCES : of->err;
		goto done;
	}
	uint64_t end = (uint64_t)off + len;
	if (end > of->size && (rc = set_size(of, end)) < 0)
		goto done;
	size_t done_ = 0;
	while (done_ < len) {
		uint64_t pos = (uint64_t)off + done_;
		size_t i = (size_t)(pos / of->cs), in = (size_t)(pos % of->cs);
		size_t n = of->cs - in < len - done_ ? of->cs - in : len - done_;
		bool whole = in == 0 && (n == of->cs || pos + n >= of->size);
		make_room(of, i);
		if ((rc = chunk_for_write(of, i, whole)) < 0)
			goto done;
		memcpy(of->ch[i].buf + in, data + done_, n);
		if (whole && n < of->cs) /* the file ends here: nothing past it */
			memset(of->ch[i].buf + n, 0, of->cs - n);
		done_ += n;
		/* Whatever writes the first bytes (first or last, once or again)
		 * has the content told again before the chunk leaves memory; too
		 * few bytes yet: at close. */
		if (i == 0 && in < CONTENT_SNIFF_MAX) {
			size_t head = (size_t)chunk_len(of, 0);
			of->classified = false;
			if (head > CONTENT_SNIFF_MAX)
				head = CONTENT_SNIFF_MAX;
			if (head >= 512 && (rc = classify(of, of->ch[0].buf, head)) < 0)
				goto done;
		}
		/* a chunk filled to its end by a sequential writer is sealed now */
		if (in + n == of->cs)
			submit(of, i);
	}
	of->dirty = true;
	rc = (int)len;
done:
	pthread_mutex_unlock(&of->mu);
	return rc;
}

static int of_read(ofile *of, char *out, size_t len, off_t off)
{
	int rc = 0;
	size_t got = 0;
	pthread_mutex_lock(&of->mu);
	tworker *t = NULL; /* made only when a chunk must be decrypted here */
	while (got < len && (uint64_t)off + got < of->size) {
		uint64_t pos = (uint64_t)off + got;
		size_t i = (size_t)(pos / of->cs), in = (size_t)(pos % of->cs);
		size_t n = (size_t)(chunk_len(of, i) - in);
		if (n > len - got)
			n = len - got;
		while (of->ch[i].st == C_SEALING || of->ch[i].loading)
			pthread_cond_wait(&of->cv, &of->mu);
		for (size_t k = 1; k <= READAHEAD; k++)
			prefetch(of, i + k);
		centry *e = &of->ch[i];
		if (e->st == C_HOLE) {
			memset(out + got, 0, n);
		} else {
			if (!e->buf) {
				make_room(of, i);
				e = &of->ch[i];
				if (e->st == C_OBJ && !t && !(t = thread_worker(of->cs))) {
					rc = -ENOMEM;
					goto done;
				}
				if (e->st == C_OBJ && (rc = load_chunk(of, i, t->cw, &t->obj)) < 0)
					goto done;
				if (e->st == C_HOLE) {
					memset(out + got, 0, n);
					got += n;
					continue;
				}
			}
			memcpy(out + got, e->buf + in, n);
			/* read to its end: a clean copy is not kept */
			if (in + n == chunk_len(of, i) && e->st == C_OBJ)
				drop_buf(of, e);
		}
		got += n;
	}
	rc = (int)got;
done:
	pthread_mutex_unlock(&of->mu);
	return rc;
}

/* The zero chunk of len bytes sealed for of's class (holes). v->mu and of->mu held. */
static int seal_zero(ofile *of, size_t len, uint8_t id[OBJECT_ID_LEN])
{
	uint8_t *z = calloc(1, len ? len : 1);
	if (!z)
		return -ENOMEM;
	if (!V->cw &&
	    !(V->cw = chunk_worker_new(V->repo->cfg.chunk_size, V->repo->cfg.zstd_level))) {
		free(z);
		return -ENOMEM;
	}
	int rc = chunk_seal(&V->obj, id, of->k, V->cw, z, len);
	free(z);
	if (rc == 0)
		rc = V->repo->objects->ops->put(V->repo->objects, id, V->obj.ptr, V->obj.size);
	return rc < 0 ? fail(rc, "storing a hole") : 0;
}

/*
 * Commits an open file if it changed: every chunk sealed and durable, then
 * its manifest in one signed event. v->mu held.
 */
static int of_commit(ofile *of)
{
	int rc = 0;
	manifest m;
	memset(&m, 0, sizeof(m));
	pthread_mutex_lock(&of->mu);
	if (!of->dirty || of->unlinked)
		goto unlock;
	if (of->refused || of->err) {
		rc = of->refused ? -EACCES : of->err;
		goto unlock;
	}
	wait_idle(of);
	if (!of->classified) { /* small files written in small pieces: the first bytes now */
		size_t n0 = (size_t)chunk_len(of, 0);
		if (n0 && of->ch[0].st != C_HOLE) {
			tworker *t = thread_worker(of->cs);
			if (!t ||
			    (of->ch[0].st == C_OBJ && (rc = load_chunk(of, 0, t->cw, &t->obj)) < 0))
				goto unlock;
			if ((rc = classify(of, of->ch[0].buf, n0)) < 0)
				goto unlock;
		} else {
			snprintf(of->ctype, sizeof(of->ctype),
				 n0 ? "application/octet-stream" : "application/x-empty");
			of->classified = true;
		}
	}
	for (size_t i = 0; i < of->nch; i++)
		if (of->ch[i].st == C_DIRTY)
			submit(of, i);
	wait_idle(of);
	if (of->err) {
		rc = of->err;
		goto unlock;
	}
	if ((rc = publish(of)) < 0)
		goto unlock;
	for (size_t i = 0; i < of->nch; i++)
		if (of->ch[i].st == C_HOLE) {
			if ((rc = seal_zero(of, (size_t)chunk_len(of, i), of->ch[i].id)) < 0)
				goto unlock;
			of->ch[i].st = C_OBJ;
		}
	int e = V->repo->objects->ops->sync(V->repo->objects);
	if (e < 0) {
		rc = fail(e, "storing a file's objects");
		goto unlock;
	}
	m.type = MANIFEST_TYPE_FILE;
	m.path = of->path;
	m.size = of->size;
	m.mode = of->mode & 07777;
	m.mtime = of->mtime;
	m.mtime_nsec = of->mtime_nsec;
	m.added = (int64_t)time(NULL);
	memcpy(m.content_type, of->ctype, sizeof(m.content_type));
	m.chunk_size = of->cs;
	m.nchunks = of->nch;
	if (of->nch && !(m.chunks = malloc(of->nch * OBJECT_ID_LEN))) {
		rc = -ENOMEM;
		goto unlock;
	}
	for (size_t i = 0; i < of->nch; i++)
		memcpy(m.chunks[i], of->ch[i].id, OBJECT_ID_LEN);
	of->dirty = false;
	pthread_mutex_unlock(&of->mu);

	vclass *c = &of->vm->c[of->cls];
	char fid[LAYOUT_FID_LEN + 1], tree[41];
	bool stale = false;
	int erc =
	    file_commit(V->repo, of->vm->mid, of->cls, &m, of->fid, c->tree, fid, tree, &stale);
	pthread_mutex_lock(&of->mu);
	if (erc < 0) {
		of->dirty = true;
		rc = fail(erc, "committing a file");
		goto unlock;
	}
	memcpy(of->fid, fid, sizeof(fid));
	if (!stale)
		memcpy(c->tree, tree, sizeof(tree));
	else
		V->checked_ns = 0; /* another writer changed the class: catch up */
	if (of->node) {            /* the index entry follows the committed version */
		fnode *n = of->node;
		memcpy(n->fid, fid, sizeof(fid));
		char *p = n->m.path;
		n->m.path = NULL;
		manifest_clear(&n->m);
		n->m = m;
		n->m.path = p;
		m.chunks = NULL;
	}
unlock:
	pthread_mutex_unlock(&of->mu);
	free(m.chunks);
	return rc;
}

/* ---- FUSE operations ---- */

/* Does this handle write? (counted the same way at open, create and release) */
static bool handle_writes(const struct fuse_file_info *fi)
{
	return (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
}

/* Publishes which missions have files open for writing. v->mu held. */
static void writers_changed(vmission *vm, int delta)
{
	int before = vm->writers;
	vm->writers += delta;
	if ((before > 0) == (vm->writers > 0) || V->reg.fd < 0)
		return;
	const char *mids[256];
	size_t n = 0;
	for (vmission *m = V->missions; m && n < 255; m = m->next)
		if (m->writers > 0)
			mids[n++] = m->mid;
	mids[n] = NULL;
	if (mount_reg_set(&V->reg, mids) < 0)
		fail(EVAULT_ERROR, "registering files open for writing");
}

static ofile *handle_file(const struct fuse_file_info *fi)
{
	if (!fi || !fi->fh || *(int *)(uintptr_t)fi->fh != H_FILE)
		return NULL;
	return (ofile *)(uintptr_t)fi->fh;
}

static void fill_dir(struct stat *st, bool writable)
{
	st->st_mode = S_IFDIR | (writable ? 0755 : 0555);
	st->st_nlink = 2;
	st->st_uid = V->uid;
	st->st_gid = V->gid;
	st->st_mtime = st->st_ctime = st->st_atime = V->started;
}

static void fill_file(struct stat *st, const fnode *n, bool writable)
{
	const ofile *of = n->open;
	uint64_t size = of ? of->size : n->m.size;
	uint32_t mode = of ? of->mode : n->m.mode;
	st->st_mode = S_IFREG | (mode & (writable ? 07777 : 05555));
	st->st_nlink = 1;
	st->st_uid = V->uid;
	st->st_gid = V->gid;
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_blksize = 1 << 20;
	st->st_mtim.tv_sec = of ? of->mtime : n->m.mtime;
	st->st_mtim.tv_nsec = of ? of->mtime_nsec : n->m.mtime_nsec;
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

static int getattr_locked(const char *path, struct stat *st)
{
	vpath p;
	int rc = parse(&p, path);
	memset(st, 0, sizeof(*st));
	if (rc < 0)
		return rc;
	if (p.special) {
		if (strcmp(p.special_name, ".evault") == 0) {
			fill_dir(st, false);
			return 0;
		}
		evault_buf b = EVAULT_BUF_INIT;
		special_text(&b, &p);
		fill_dir(st, false);
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)b.size;
		evault_buf_dispose(&b);
		return 0;
	}
	if (p.depth <= 2) {
		fill_dir(st, p.depth == 0 ? false : p.vm->writable);
		return 0;
	}
	fnode *n = find_file(p.c, p.rel);
	if (n) {
		fill_file(st, n, p.vm->writable);
		return 0;
	}
	if (is_dir(p.c, p.rel)) {
		fill_dir(st, p.vm->writable);
		return 0;
	}
	return -ENOENT;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (fi && fi->fh && !handle_file(fi))
		path = ((special_h *)(uintptr_t)fi->fh)->path;
	if (handle_file(fi)) { /* an open file, possibly unlinked */
		ofile *of = handle_file(fi);
		memset(st, 0, sizeof(*st));
		pthread_mutex_lock(&V->mu);
		pthread_mutex_lock(&of->mu);
		fnode tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.open = of;
		fill_file(st, &tmp, of->vm->writable);
		pthread_mutex_unlock(&of->mu);
		pthread_mutex_unlock(&V->mu);
		return 0;
	}
	pthread_mutex_lock(&V->mu);
	refresh(false);
	int rc = getattr_locked(path, st);
	pthread_mutex_unlock(&V->mu);
	return rc;
}

typedef struct names {
	char **v;
	size_t n, a;
} names;

static void names_add(names *l, const char *s, size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == len && strncmp(l->v[i], s, len) == 0)
			return;
	if (l->n == l->a) {
		size_t na = l->a ? l->a * 2 : 32;
		char **nv = realloc(l->v, na * sizeof(char *));
		if (!nv)
			return;
		l->v = nv;
		l->a = na;
	}
	if ((l->v[l->n] = strndup(s, len)))
		l->n++;
}

/* Directory handles keep their path (operations on handles may get none). */
static int op_opendir(const char *path, struct fuse_file_info *fi)
{
	const char *s = path ? path : "/";
	special_h *h = malloc(sizeof(*h) + strlen(s) + 1);
	if (!h)
		return -ENOMEM;
	h->kind = H_SPECIAL;
	memcpy(h->path, s, strlen(s) + 1);
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static int op_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	free((special_h *)(uintptr_t)fi->fh);
	return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	vpath p;
	names dirs = {0};
	(void)off;
	(void)flags;
	if (fi && fi->fh)
		path = ((special_h *)(uintptr_t)fi->fh)->path;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	int rc = parse(&p, path);
	if (rc < 0)
		goto done;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	if (p.special) {
		if (strcmp(p.special_name, ".evault") == 0)
			fill(buf, "status", NULL, 0, 0);
		else
			rc = -ENOTDIR;
		goto done;
	}
	if (p.depth == 0) {
		fill(buf, ".evault", NULL, 0, 0);
		for (vmission *vm = V->missions; vm; vm = vm->next)
			if (!vm->gone)
				fill(buf, vm->mid, NULL, 0, 0);
		goto done;
	}
	if (p.depth == 1) {
		fill(buf, ".mission", NULL, 0, 0);
		for (int k = 0; k < EVAULT_CLASS_COUNT; k++)
			if (p.vm->c[k].readable)
				fill(buf, evault_class_name((evault_class)k), NULL, 0, 0);
		goto done;
	}
	if (find_file(p.c, p.rel)) {
		rc = -ENOTDIR;
		goto done;
	}
	if (!is_dir(p.c, p.rel)) {
		rc = -ENOENT;
		goto done;
	}
	size_t dl = strlen(p.rel);
	EACH_FILE(p.c, n)
	{
		if (!under(n->m.path, p.rel))
			continue;
		const char *rest = n->m.path + (dl ? dl + 1 : 0);
		const char *sl = strchr(rest, '/');
		if (sl) {
			names_add(&dirs, rest, (size_t)(sl - rest));
			continue;
		}
		struct stat st;
		memset(&st, 0, sizeof(st));
		fill_file(&st, n, p.vm->writable);
		fill(buf, rest, &st, 0, 0);
	}
	for (size_t i = 0; i < p.c->nsdirs; i++) {
		const char *s = p.c->sdirs[i];
		if (!under(s, p.rel))
			continue;
		const char *rest = s + (dl ? dl + 1 : 0);
		const char *sl = strchr(rest, '/');
		names_add(&dirs, rest, sl ? (size_t)(sl - rest) : strlen(rest));
	}
	for (size_t i = 0; i < dirs.n; i++)
		fill(buf, dirs.v[i], NULL, 0, 0);
done:
	for (size_t i = 0; i < dirs.n; i++)
		free_name(dirs.v[i]);
	free(dirs.v);
	pthread_mutex_unlock(&V->mu);
	return rc;
}

/* The parent of rel ("" for the class) must be a directory. */
static int parent_ok(vclass *c, const char *rel)
{
	const char *sl = strrchr(rel, '/');
	if (!sl)
		return 0;
	char *dir = strndup(rel, (size_t)(sl - rel));
	if (!dir)
		return -ENOMEM;
	int rc = find_file(c, dir) ? -ENOTDIR : is_dir(c, dir) ? 0 : -ENOENT;
	free_name(dir);
	return rc;
}

static int check_name(const char *rel)
{
	if (check_file_path(rel) < 0) {
		evault_error_clear();
		return strlen(rel) > EVAULT_PATH_MAX ? -ENAMETOOLONG : -EINVAL;
	}
	return 0;
}

/* For changes: the path must be inside a class of a mission this user may write. */
static int writable_path(vpath *p, const char *path)
{
	int rc = parse(p, path);
	if (rc == -ENOENT && p->vm && p->depth == 2)
		return p->vm->writable ? -EACCES : -EROFS; /* MID/NAME: no such class */
	if (rc < 0)
		return rc;
	if (p->special || p->depth == 0)
		return -EACCES;
	if (!p->vm->writable)
		return -EROFS;
	if (p->depth < 3)
		return -EACCES; /* missions and classes are made by evault mission create */
	return 0;
}

static int attach(fnode *n, vmission *vm, evault_class cls, ofile **out)
{
	if (n->open) {
		pthread_mutex_lock(&n->open->mu);
		n->open->refs++;
		pthread_mutex_unlock(&n->open->mu);
		*out = n->open;
		return 0;
	}
	ofile *of = ofile_new(vm, cls, n->m.path);
	if (!of || ofile_from(of, &n->m, n->fid) < 0) {
		if (of)
			ofile_unref(of);
		return -ENOMEM;
	}
	of->node = n;
	n->open = of;
	*out = of;
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	vpath p;
	ofile *of = NULL;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	int rc = parse(&p, path);
	if (rc == 0 && p.special) {
		rc = (fi->flags & O_ACCMODE) == O_RDONLY ? 0 : -EACCES;
		special_h *h = rc == 0 ? malloc(sizeof(*h) + strlen(path) + 1) : NULL;
		if (rc == 0 && !h)
			rc = -ENOMEM;
		if (h) {
			h->kind = H_SPECIAL;
			memcpy(h->path, path, strlen(path) + 1);
			fi->fh = (uint64_t)(uintptr_t)h;
		}
		fi->direct_io = 1; /* generated: sizes change */
		goto done;
	}
	if (rc == 0 && p.depth < 3)
		rc = -EISDIR;
	bool wr = handle_writes(fi);
	if (rc == 0 && wr && !p.vm->writable)
		rc = -EROFS;
	fnode *n = rc == 0 ? find_file(p.c, p.rel) : NULL;
	if (rc == 0 && !n)
		rc = is_dir(p.c, p.rel) ? -EISDIR : -ENOENT;
	if (rc == 0)
		rc = attach(n, p.vm, p.cls, &of);
	if (rc == 0 && (fi->flags & O_TRUNC)) {
		pthread_mutex_lock(&of->mu);
		rc = set_size(of, 0);
		of->mtime = (int64_t)time(NULL);
		of->classified = false;
		pthread_mutex_unlock(&of->mu);
	}
	if (rc == 0) {
		fi->fh = (uint64_t)(uintptr_t)of;
		fi->keep_cache = 0;
		if (wr)
			writers_changed(p.vm, 1);
	}
done:
	pthread_mutex_unlock(&V->mu);
	return rc;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	vpath p;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	int rc = writable_path(&p, path);
	if (rc == 0)
		rc = check_name(p.rel);
	if (rc == 0)
		rc = parent_ok(p.c, p.rel);
	if (rc == 0 && !S_ISREG(mode))
		rc = -EPERM;
	fnode *n = rc == 0 ? find_file(p.c, p.rel) : NULL;
	if (rc == 0 && !n && is_dir(p.c, p.rel))
		rc = -EISDIR;
	ofile *of = NULL;
	if (rc == 0 && n) { /* O_CREAT on an existing file: open it */
		if ((fi->flags & O_EXCL))
			rc = -EEXIST;
		else
			rc = attach(n, p.vm, p.cls, &of);
		if (rc == 0 && (fi->flags & O_TRUNC)) {
			pthread_mutex_lock(&of->mu);
			rc = set_size(of, 0);
			of->classified = false;
			pthread_mutex_unlock(&of->mu);
		}
	} else if (rc == 0) {
		n = calloc(1, sizeof(*n));
		of = ofile_new(p.vm, p.cls, p.rel);
		if (!n || !of || !(n->m.path = strdup(p.rel)) || link_file(p.c, n) < 0) {
			if (n)
				free_name(n->m.path);
			free(n);
			if (of)
				ofile_unref(of);
			rc = -ENOMEM;
		} else {
			struct timespec t;
			clock_gettime(CLOCK_REALTIME, &t);
			of->mode = mode & 07777;
			of->mtime = t.tv_sec;
			of->mtime_nsec = (uint32_t)t.tv_nsec;
			of->dirty = true; /* even an empty file is committed at close */
			of->node = n;
			n->open = of;
			n->m.mode = of->mode;
			n->m.mtime = of->mtime;
		}
	}
	if (rc == 0) {
		fi->fh = (uint64_t)(uintptr_t)of;
		if (handle_writes(fi))
			writers_changed(p.vm, 1);
	}
	pthread_mutex_unlock(&V->mu);
	return rc;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	if (!handle_file(fi)) { /* generated files */
		vpath p;
		if (fi->fh)
			path = ((special_h *)(uintptr_t)fi->fh)->path;
		evault_buf b = EVAULT_BUF_INIT;
		pthread_mutex_lock(&V->mu);
		int rc = parse(&p, path);
		if (rc == 0)
			rc = special_text(&b, &p) < 0 ? -EIO : 0;
		pthread_mutex_unlock(&V->mu);
		if (rc < 0)
			return rc;
		size_t n = (size_t)off < b.size ? b.size - (size_t)off : 0;
		if (n > size)
			n = size;
		memcpy(buf, b.ptr + off, n);
		evault_buf_dispose(&b);
		return (int)n;
	}
	return of_read((ofile *)(uintptr_t)fi->fh, buf, size, off);
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)path;
	if (!handle_file(fi))
		return -EACCES;
	return of_write((ofile *)(uintptr_t)fi->fh, buf, size, off);
}

/* A refused file leaves no trace but the refusal: its entry goes, counted for the event. */
static void drop_refused(ofile *of)
{
	if (!of->refused || !of->node)
		return;
	vclass *c = &of->vm->c[of->cls];
	fnode *n = of->node;
	content_tally_add(&of->vm->refused, of->ctype);
	char *full = NULL;
	size_t fl = strlen(of->vm->mid) + strlen(of->path) + 24;
	if ((full = malloc(fl))) {
		snprintf(full, fl, "/%s/%s/%s", of->vm->mid, evault_class_name(of->cls), of->path);
		pthread_mutex_lock(&V->imu);
		if (V->ninval < sizeof(V->inval) / sizeof(V->inval[0])) {
			V->inval[V->ninval++] = full;
			full = NULL;
		}
		pthread_cond_signal(&V->icv);
		pthread_mutex_unlock(&V->imu);
		free_name(full);
	}
	if (!*n->fid) { /* new: nothing committed, the entry disappears */
		unlink_file(c, n);
		free_node(n);
		of->node = NULL;
	}
	of->refused = false; /* counted once; the old version (if any) stays */
	of->dirty = false;
	for (size_t i = 0; i < of->nch; i++)
		drop_buf(of, &of->ch[i]);
	of->unlinked = true;
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	ofile *of = handle_file(fi);
	if (!of)
		return 0;
	pthread_mutex_lock(&V->mu);
	int rc = of_commit(of);
	if (rc == -EACCES) {
		pthread_mutex_lock(&of->mu);
		drop_refused(of);
		pthread_mutex_unlock(&of->mu);
	}
	pthread_mutex_unlock(&V->mu);
	return rc;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	return op_flush(path, fi);
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	ofile *of = handle_file(fi);
	if (!of) {
		free((void *)(uintptr_t)fi->fh);
		return 0;
	}
	pthread_mutex_lock(&V->mu);
	of_commit(of); /* writes through a mapping may arrive after the last flush */
	if (handle_writes(fi))
		writers_changed(of->vm, -1);
	pthread_mutex_lock(&of->mu);
	drop_refused(of);
	bool last = of->refs == 1;
	if (last && of->node) {
		of->node->open = NULL;
		if (!*of->node->fid) { /* never committed (a failure): not in the vault */
			unlink_file(&of->vm->c[of->cls], of->node);
			free_node(of->node);
		}
		of->node = NULL;
	}
	pthread_mutex_unlock(&of->mu);
	pthread_mutex_unlock(&V->mu);
	ofile_unref(of);
	return 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	vpath p;
	ofile *of = NULL;
	int rc;
	if (size < 0)
		return -EINVAL;
	pthread_mutex_lock(&V->mu);
	if (handle_file(fi)) {
		of = handle_file(fi);
		rc = of->vm->writable ? 0 : -EROFS;
		if (rc == 0) {
			pthread_mutex_lock(&of->mu);
			of->refs++;
			pthread_mutex_unlock(&of->mu);
		}
	} else {
		rc = writable_path(&p, path);
		fnode *n = rc == 0 ? find_file(p.c, p.rel) : NULL;
		if (rc == 0 && !n)
			rc = -ENOENT;
		if (rc == 0)
			rc = attach(n, p.vm, p.cls, &of);
	}
	if (rc == 0) {
		pthread_mutex_lock(&of->mu);
		rc = set_size(of, (uint64_t)size);
		of->mtime = (int64_t)time(NULL);
		pthread_mutex_unlock(&of->mu);
		if (!handle_file(fi) && rc == 0) /* not open: committed now */
			rc = of_commit(of);
	}
	pthread_mutex_unlock(&V->mu);
	if (of && !handle_file(fi)) {
		struct fuse_file_info f2;
		memset(&f2, 0, sizeof(f2));
		f2.fh = (uint64_t)(uintptr_t)of;
		op_release(NULL, &f2);
	} else if (of)
		ofile_unref(of);
	return rc;
}

/* Commits a metadata change of a file that is not open (chmod, utimens). v->mu held. */
static int change_meta(vpath *p, fnode *n, const mode_t *mode, const struct timespec *mt)
{
	ofile *of = NULL;
	int rc = attach(n, p->vm, p->cls, &of);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&of->mu);
	if (mode)
		of->mode = *mode & 07777;
	if (mt) {
		of->mtime = mt->tv_sec;
		of->mtime_nsec = (uint32_t)mt->tv_nsec;
	}
	of->dirty = true;
	bool open_elsewhere = of->refs > 1;
	pthread_mutex_unlock(&of->mu);
	if (!open_elsewhere)
		rc = of_commit(of);
	pthread_mutex_lock(&of->mu);
	bool last = of->refs == 1;
	if (last && of->node) {
		of->node->open = NULL;
		of->node = NULL;
	}
	pthread_mutex_unlock(&of->mu);
	ofile_unref(of);
	return rc;
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	vpath p;
	(void)fi;
	pthread_mutex_lock(&V->mu);
	int rc = writable_path(&p, path);
	fnode *n = rc == 0 ? find_file(p.c, p.rel) : NULL;
	if (rc == 0 && !n)
		rc = is_dir(p.c, p.rel) ? 0 : -ENOENT; /* directories: fixed modes */
	if (rc == 0 && n)
		rc = change_meta(&p, n, &mode, NULL);
	pthread_mutex_unlock(&V->mu);
	return rc;
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	if ((uid != (uid_t)-1 && uid != V->uid) || (gid != (gid_t)-1 && gid != V->gid))
		return -EPERM;
	return 0;
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	vpath p;
	struct timespec mt;
	if (!tv || tv[1].tv_nsec == UTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &mt);
	else
		mt = tv[1];
	pthread_mutex_lock(&V->mu);
	int rc = 0;
	if (handle_file(fi)) {
		ofile *of = handle_file(fi);
		if (!of->vm->writable)
			rc = -EROFS;
		else if (!tv || tv[1].tv_nsec != UTIME_OMIT) {
			pthread_mutex_lock(&of->mu);
			of->mtime = mt.tv_sec;
			of->mtime_nsec = (uint32_t)mt.tv_nsec;
			of->dirty = true;
			pthread_mutex_unlock(&of->mu);
		}
	} else {
		rc = writable_path(&p, path);
		fnode *n = rc == 0 ? find_file(p.c, p.rel) : NULL;
		if (rc == 0 && !n)
			rc = is_dir(p.c, p.rel) ? 0 : -ENOENT;
		if (rc == 0 && n && (!tv || tv[1].tv_nsec != UTIME_OMIT))
			rc = change_meta(&p, n, NULL, &mt);
	}
	pthread_mutex_unlock(&V->mu);
	return rc;
}

/* Removes n from the index and the history; an open file stays readable. v->mu held. */
static int remove_node(vmission *vm, evault_class cls, fnode *n)
{
	vclass *c = &vm->c[cls];
	if (*n->fid) {
		char tree[41];
		int rc = file_remove_fid(V->repo, vm->mid, cls, n->fid, tree);
		if (rc < 0)
			return fail(rc, "removing a file");
		memcpy(c->tree, tree, sizeof(tree));
	}
	if (n->open) {
		pthread_mutex_lock(&n->open->mu);
		n->open->unlinked = true;
		n->open->node = NULL;
		pthread_mutex_unlock(&n->open->mu);
	}
	unlink_file(c, n);
	free_node(n);
	return 0;
}

static int op_unlink(const char *path)
{
	vpath p;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	int rc = writable_path(&p, path);
	fnode *n = rc == 0 ? find_file(p.c, p.rel) : NULL;
	if (rc == 0 && !n)
		rc = is_dir(p.c, p.rel) ? -EISDIR : -ENOENT;
	if (rc == 0)
		rc = remove_node(p.vm, p.cls, n);
	pthread_mutex_unlock(&V->mu);
	return rc;
}

static int op_mkdir(const char *path, mode_t mode)
{
	vpath p;
	(void)mode;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	int rc = writable_path(&p, path);
	if (rc == 0)
		rc = check_name(p.rel);
	if (rc == 0 && (find_file(p.c, p.rel) || is_dir(p.c, p.rel)))
		rc = -EEXIST;
	if (rc == 0)
		rc = parent_ok(p.c, p.rel);
	if (rc == 0) {
		char **nd = realloc(p.c->sdirs, (p.c->nsdirs + 1) * sizeof(char *));
		if (!nd || !(nd[p.c->nsdirs] = strdup(p.rel)))
			rc = -ENOMEM;
		if (nd) {
			p.c->sdirs = nd;
			if (rc == 0)
				p.c->nsdirs++;
		}
	}
	pthread_mutex_unlock(&V->mu);
	return rc;
}

static int op_rmdir(const char *path)
{
	vpath p;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	int rc = writable_path(&p, path);
	if (rc == 0 && find_file(p.c, p.rel))
		rc = -ENOTDIR;
	else if (rc == 0 && !is_dir(p.c, p.rel))
		rc = -ENOENT;
	if (rc == 0) {
		EACH_FILE(p.c, n)
		if (under(n->m.path, p.rel))
			rc = -ENOTEMPTY;
		for (size_t i = 0; i < p.c->nsdirs && rc == 0; i++)
			if (under(p.c->sdirs[i], p.rel))
				rc = -ENOTEMPTY;
	}
	for (size_t i = 0; rc == 0 && i < p.c->nsdirs; i++)
		if (strcmp(p.c->sdirs[i], p.rel) == 0) {
			free_name(p.c->sdirs[i]);
			p.c->sdirs[i] = p.c->sdirs[--p.c->nsdirs];
			break;
		}
	pthread_mutex_unlock(&V->mu);
	return rc;
}

/*
 * Moves one file: the new entry first (replacing the target), then the old
 * one removed, so a crash in between leaves both names, never none.
 * Across classes the content is sealed again under the target's key.
 */
static int move_file(vpath *from, fnode *n, vpath *to, const char *newrel)
{
	int rc;
	if (n->open && (rc = of_commit(n->open)) < 0)
		return rc;
	vclass *tc = to->c;
	fnode *target = find_file(tc, newrel);
	if (target == n)
		return 0;
	manifest m = n->m;
	manifest re;
	memset(&re, 0, sizeof(re));
	if (from->c != tc) {
		if ((rc = file_reencrypt(V->repo, from->c->k, &n->m, tc->k, &re)) < 0)
			return fail(rc, "moving a file across classes");
		m = re;
	}
	m.path = (char *)newrel;
	char fid[LAYOUT_FID_LEN + 1], tree[41];
	bool stale = false;
	const char *replaces = target ? target->fid : NULL;
	if (!*n->fid) { /* never committed (an open new file that failed): nothing to move */
		free(re.chunks);
		return -EIO;
	}
	rc = file_commit(V->repo, to->vm->mid, to->cls, &m, replaces, tc->tree, fid, tree, &stale);
	if (rc < 0) {
		free(re.chunks);
		return fail(rc, "renaming a file");
	}
	memcpy(tc->tree, tree, sizeof(tree));
	if (stale)
		V->checked_ns = 0;
	if (target) { /* replaced: an open target keeps its data until closed */
		if (target->open) {
			pthread_mutex_lock(&target->open->mu);
			target->open->unlinked = true;
			target->open->node = NULL;
			pthread_mutex_unlock(&target->open->mu);
		}
		unlink_file(tc, target);
		free_node(target);
	}
	fnode *nn = calloc(1, sizeof(*nn));
	if (!nn || !(nn->m.path = strdup(newrel))) {
		free(nn);
		free(re.chunks);
		return -ENOMEM;
	}
	/* the new entry's manifest: n's with the new path (and chunks) */
	nn->m.type = m.type;
	nn->m.size = m.size;
	nn->m.mode = m.mode;
	nn->m.mtime = m.mtime;
	nn->m.mtime_nsec = m.mtime_nsec;
	nn->m.added = m.added;
	memcpy(nn->m.content_type, m.content_type, sizeof(m.content_type));
	nn->m.chunk_size = m.chunk_size;
	nn->m.nchunks = m.nchunks;
	if (from->c != tc) {
		nn->m.chunks = re.chunks;
		re.chunks = NULL;
	} else if (m.nchunks) {
		nn->m.chunks = malloc(m.nchunks * OBJECT_ID_LEN);
		if (nn->m.chunks)
			memcpy(nn->m.chunks, m.chunks, m.nchunks * OBJECT_ID_LEN);
	}
	memcpy(nn->fid, fid, sizeof(fid));
	link_file(tc, nn);
	/* the old name goes; an open handle follows the file to its new name */
	ofile *of = n->open;
	if (of && from->c == tc) {
		n->open = NULL;
		pthread_mutex_lock(&of->mu);
		free_name(of->path);
		of->path = strdup(newrel);
		memcpy(of->fid, fid, sizeof(fid));
		of->node = nn;
		nn->open = of;
		pthread_mutex_unlock(&of->mu);
	}
	rc = remove_node(from->vm, from->cls, n);
	free(re.chunks);
	return rc;
}

/* prefix + s */
static char *joined(const char *prefix, const char *s)
{
	size_t a = strlen(prefix), b = strlen(s);
	char *r = malloc(a + b + 1);
	if (r) {
		memcpy(r, prefix, a);
		memcpy(r + a, s, b + 1);
	}
	return r;
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
	vpath a, b;
	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	int rc = writable_path(&a, from);
	if (rc == 0)
		rc = writable_path(&b, to);
	if (rc == 0 && a.vm != b.vm)
		rc = -EXDEV; /* missions never share content */
	if (rc == 0)
		rc = check_name(b.rel);
	if (rc == 0)
		rc = parent_ok(b.c, b.rel);
	fnode *n = rc == 0 ? find_file(a.c, a.rel) : NULL;
	fnode *t = rc == 0 ? find_file(b.c, b.rel) : NULL;
	if (rc == 0 && (flags & RENAME_NOREPLACE) && (t || is_dir(b.c, b.rel)))
		rc = -EEXIST;
	if (rc == 0 && n) {
		if (!t && is_dir(b.c, b.rel))
			rc = -EISDIR;
		else
			rc = move_file(&a, n, &b, b.rel);
	} else if (rc == 0) { /* a directory: each file under it */
		if (!is_dir(a.c, a.rel))
			rc = -ENOENT;
		else if (t)
			rc = -ENOTDIR;
		else if (under(b.rel, a.rel))
			rc = -EINVAL;
		else {
			size_t al = strlen(a.rel);
			for (bool again = true; again && rc == 0;) {
				again = false;
				EACH_FILE(a.c, f)
				{
					if (rc || !under(f->m.path, a.rel))
						continue;
					char *dst = joined(b.rel, f->m.path + al);
					if (!dst) {
						rc = -ENOMEM;
						break;
					}
					rc = move_file(&a, f, &b, dst);
					free_name(dst);
					again = true;
					break;
				}
			}
			for (size_t i = 0; rc == 0 && i < a.c->nsdirs; i++)
				if (strcmp(a.c->sdirs[i], a.rel) == 0 ||
				    under(a.c->sdirs[i], a.rel)) {
					char *dst = joined(b.rel, a.c->sdirs[i] + al);
					if (!dst)
						rc = -ENOMEM;
					else if (b.c == a.c) {
						free_name(a.c->sdirs[i]);
						a.c->sdirs[i] = dst;
					} else
						free_name(dst);
				}
		}
	}
	pthread_mutex_unlock(&V->mu);
	return rc;
}

static int op_link(const char *a, const char *b)
{
	(void)a;
	(void)b;
	return -EPERM;
}

static int op_symlink(const char *a, const char *b)
{
	(void)a;
	(void)b;
	return -EPERM;
}

static int op_mknod(const char *path, mode_t mode, dev_t dev)
{
	(void)path;
	(void)mode;
	(void)dev;
	return -EPERM; /* device nodes, fifos, sockets: regular files only */
}

static int op_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	if (statvfs(V->repo->path, st) < 0)
		return -errno;
	st->f_namemax = 255;
	return 0;
}

#define XA_PREFIX "user.evault."

static int xattr_value(const char *path, const char *name, evault_buf *out)
{
	vpath p;
	int rc = parse(&p, path);
	if (rc < 0)
		return rc;
	if (strncmp(name, XA_PREFIX, strlen(XA_PREFIX)) != 0)
		return -ENODATA;
	name += strlen(XA_PREFIX);
	if (p.depth >= 1 && !p.special && strcmp(name, "mission") == 0)
		return evault_buf_printf(out, "%s", p.vm->mid) < 0 ? -ENOMEM : 0;
	if (p.depth >= 1 && !p.special && strcmp(name, "status") == 0)
		return evault_buf_printf(out, "%s", p.vm->rec.status) < 0 ? -ENOMEM : 0;
	if (p.depth < 2 || p.special)
		return -ENODATA;
	if (strcmp(name, "class") == 0)
		return evault_buf_printf(out, "%s", evault_class_name(p.cls)) < 0 ? -ENOMEM : 0;
	fnode *n = p.depth == 3 ? find_file(p.c, p.rel) : NULL;
	if (!n)
		return -ENODATA;
	if (strcmp(name, "fid") == 0 && *n->fid)
		return evault_buf_printf(out, "%s", n->fid) < 0 ? -ENOMEM : 0;
	if (strcmp(name, "content-type") == 0)
		return evault_buf_printf(out, "%s", n->open ? n->open->ctype : n->m.content_type) <
			       0
			   ? -ENOMEM
			   : 0;
	if (strcmp(name, "chunks") == 0)
		return evault_buf_printf(out, "%zu", n->m.nchunks) < 0 ? -ENOMEM : 0;
	return -ENODATA;
}

static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	evault_buf b = EVAULT_BUF_INIT;
	pthread_mutex_lock(&V->mu);
	int rc = xattr_value(path, name, &b);
	pthread_mutex_unlock(&V->mu);
	if (rc == 0) {
		rc = (int)b.size;
		if (size && b.size > size)
			rc = -ERANGE;
		else if (size)
			memcpy(value, b.ptr, b.size);
	}
	evault_buf_dispose(&b);
	return rc;
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	static const char *all[] = {"mission", "status", "class", "fid", "content-type", "chunks"};
	char tmp[512];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char name[64];
		evault_buf b = EVAULT_BUF_INIT;
		snprintf(name, sizeof(name), XA_PREFIX "%s", all[i]);
		pthread_mutex_lock(&V->mu);
		int rc = xattr_value(path, name, &b);
		pthread_mutex_unlock(&V->mu);
		evault_buf_dispose(&b);
		if (rc == 0) {
			memcpy(tmp + n, name, strlen(name) + 1);
			n += strlen(name) + 1;
		}
	}
	if (size && n > size)
		return -ERANGE;
	if (size)
		memcpy(list, tmp, n);
	return (int)n;
}

static int op_setxattr(const char *path, const char *name, const char *value, size_t size,
		       int flags)
{
	(void)path;
	(void)value;
	(void)size;
	(void)flags;
	return strncmp(name, XA_PREFIX, strlen(XA_PREFIX)) == 0 ? -EPERM : -ENOTSUP;
}

static int op_removexattr(const char *path, const char *name)
{
	(void)path;
	return strncmp(name, XA_PREFIX, strlen(XA_PREFIX)) == 0 ? -EPERM : -ENOTSUP;
}

/* Refusals are traced in batches: one event per mission every few seconds. v->mu held. */
static void flush_refusals(void)
{
	for (vmission *vm = V->missions; vm; vm = vm->next) {
		if (!vm->refused.total)
			continue;
		int rc = content_record_refusals(V->repo, vm->mid, &vm->refused);
		if (rc < 0)
			fail(rc, "recording refused files");
		else
			V->checked_ns = 0;
		memset(&vm->refused, 0, sizeof(vm->refused));
	}
}

static void *flusher_main(void *p)
{
	(void)p;
	struct timespec next;
	clock_gettime(CLOCK_REALTIME, &next);
	for (;;) {
		next.tv_sec += REFUSAL_FLUSH_S;
		for (;;) { /* names to invalidate at once; refusals every few seconds */
			char *todo[64];
			size_t n = 0;
			pthread_mutex_lock(&V->imu);
			while (!V->ninval && !V->istop &&
			       pthread_cond_timedwait(&V->icv, &V->imu, &next) == 0)
				;
			n = V->ninval;
			memcpy(todo, V->inval, n * sizeof(char *));
			V->ninval = 0;
			bool stop = V->istop;
			pthread_mutex_unlock(&V->imu);
			for (size_t i = 0; i < n; i++) { /* outside any operation: no deadlock */
				if (V->fuse)
					fuse_invalidate_path(V->fuse, todo[i]);
				free_name(todo[i]);
			}
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			if (stop || now.tv_sec > next.tv_sec ||
			    (now.tv_sec == next.tv_sec && now.tv_nsec >= next.tv_nsec))
				break;
		}
		pthread_mutex_lock(&V->imu);
		bool stop = V->istop;
		pthread_mutex_unlock(&V->imu);
		pthread_mutex_lock(&V->mu);
		flush_refusals();
		pthread_mutex_unlock(&V->mu);
		if (stop)
			break;
	}
	return NULL;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	/* no writeback cache: writes reach the mount as they happen, so a refused
	 * photo fails its write(2), and it measured no faster here (a single
	 * writer's requests are sequential either way) */
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	cfg->attr_timeout = 1.0;
	cfg->entry_timeout = 1.0;
	cfg->negative_timeout = 0;
	cfg->ac_attr_timeout_set = 1;
	cfg->ac_attr_timeout = 1.0;
	cfg->auto_cache = 1;
	cfg->hard_remove = 1;
	cfg->nullpath_ok = 1;
	cfg->use_ino = 0;
	/* threads start here, after the fork into the background */
	V->nthreads = V->repo->nworkers ? V->repo->nworkers * 2 : 2;
	V->threads = calloc(V->nthreads, sizeof(pthread_t));
	for (size_t i = 0; V->threads && i < V->nthreads; i++)
		pthread_create(&V->threads[i], NULL, worker_main, NULL);
	V->flusher_started = pthread_create(&V->flusher, NULL, flusher_main, NULL) == 0;
	if (mount_reg_open(&V->reg, V->repo) < 0) /* after the fork: the pid is ours */
		fail(EVAULT_ERROR, "registering the mount");
	return V;
}

static void op_destroy(void *p)
{
	(void)p;
	pthread_mutex_lock(&V->jmu);
	V->jstop = true;
	pthread_cond_broadcast(&V->jcv);
	pthread_mutex_unlock(&V->jmu);
	pthread_mutex_lock(&V->imu);
	V->istop = true;
	pthread_cond_broadcast(&V->icv);
	pthread_mutex_unlock(&V->imu);
	for (size_t i = 0; V->threads && i < V->nthreads; i++)
		pthread_join(V->threads[i], NULL);
	if (V->flusher_started)
		pthread_join(V->flusher, NULL);
	pthread_mutex_lock(&V->mu);
	flush_refusals();
	pthread_mutex_unlock(&V->mu);
	mount_reg_close(&V->reg);
}

static const struct fuse_operations ops = {
    .getattr = op_getattr,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .fsync = op_fsync,
    .release = op_release,
    .truncate = op_truncate,
    .chmod = op_chmod,
    .chown = op_chown,
    .utimens = op_utimens,
    .unlink = op_unlink,
    .mkdir = op_mkdir,
    .rmdir = op_rmdir,
    .rename = op_rename,
    .link = op_link,
    .symlink = op_symlink,
    .mknod = op_mknod,
    .statfs = op_statfs,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .setxattr = op_setxattr,
    .removexattr = op_removexattr,
    .init = op_init,
    .destroy = op_destroy,
};

int evault_mount_run(evault_repo *repo, const char *mountpoint, const evault_mount_opts *o)
{
	vfs v;
	memset(&v, 0, sizeof(v));
#ifdef __GLIBC__
	/* Chunk buffers are pooled (buf_get); libfuse's request buffers
	 * (256 KiB - 1 MiB) stay on the heap rather than being mapped and
	 * unmapped per request, and few heaps serve the many threads, so
	 * freed memory is reused instead of lingering in per-thread heaps
	 * (measured: peak 64-78 MiB instead of 88-103 in t0014, reads 2x
	 * faster than with every large block mapped). */
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	mallopt(M_ARENA_MAX, 4);
#endif
	v.repo = repo;
	v.ro = o->read_only;
	v.uid = getuid();
	v.gid = getgid();
	v.started = time(NULL);
	v.reg.fd = -1;
	if (!realpath(mountpoint, v.mountpoint))
		return evault_error_set(EVAULT_ENOTFOUND, "mount point %s: %s", mountpoint,
					strerror(errno));
	pthread_mutex_init(&v.mu, NULL);
	pthread_mutex_init(&v.jmu, NULL);
	pthread_mutex_init(&v.imu, NULL);
	pthread_cond_init(&v.icv, NULL);
	pthread_cond_init(&v.jcv, NULL);
	pthread_key_create(&tw_key, tworker_free);
	V = &v;
	pthread_mutex_lock(&v.mu);
	int rc = refresh(true);
	pthread_mutex_unlock(&v.mu);
	if (rc < 0)
		return evault_error_set(EVAULT_ERROR, "cannot read the vault: %s",
					evault_error_last());

	char fsname[64 + 4096];
	snprintf(fsname, sizeof(fsname), "-ofsname=evault:%s,subtype=evault,default_permissions%s",
		 repo->path, v.ro ? ",ro" : "");
	char *argv[] = {"evault", fsname, o->debug ? "-d" : NULL, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(o->debug ? 3 : 2, argv);
	struct fuse *f = fuse_new(&args, &ops, sizeof(ops), &v);
	v.fuse = f;
	if (!f)
		return evault_error_set(EVAULT_ERROR, "cannot set up the file system");
	if (fuse_mount(f, v.mountpoint) != 0) {
		fuse_destroy(f);
		return evault_error_set(EVAULT_ERROR,
					"cannot mount on %s (is /dev/fuse there and the point an "
					"empty directory?)",
					v.mountpoint);
	}
	if (fuse_daemonize(o->foreground) != 0) {
		fuse_unmount(f);
		fuse_destroy(f);
		return evault_error_set(EVAULT_ERROR, "cannot go to the background");
	}
	struct fuse_session *se = fuse_get_session(f);
	if (fuse_set_signal_handlers(se) != 0) {
		fuse_unmount(f);
		fuse_destroy(f);
		return evault_error_set(EVAULT_ERROR, "cannot install signal handlers");
	}
	rc = fuse_loop_mt(f, 0);
	fuse_remove_signal_handlers(se);
	fuse_unmount(f);
	fuse_destroy(f);
	for (vmission *vm = v.missions, *nx; vm; vm = nx) {
		nx = vm->next;
		forget_mission(vm);
	}
	pool_drain();
	chunk_worker_free(v.cw);
	evault_buf_dispose(&v.obj);
	free(v.threads);
	fuse_opt_free_args(&args);
	return rc == 0 ? 0 : evault_error_set(EVAULT_ERROR, "the file system stopped on an error");
}
