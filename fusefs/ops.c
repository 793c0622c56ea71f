/*
 * The FUSE operations (libfuse low-level API): each resolves its inodes,
 * calls the index, the open files or the engine, and sends exactly one
 * reply. Operations that change the index or the history hold V->mu for
 * their length; reads and writes of an open file take only its own lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <sodium.h>

#include "files.h"
#include "mission.h"
#include "util.h"
#include "vfs.h"

#ifndef RENAME_NOREPLACE /* renameat2(2) flags, as the kernel passes them */
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif
#define XA_PREFIX "user.evault."
#define UNKNOWN_INO 0xffffffffu /* a listed name the kernel has not looked up */

/* An open file or directory, as the kernel holds it (fi->fh). */
enum { H_FILE = 1, H_TEXT, H_DIR };
typedef struct dent {
	char *name;
	int kind;
} dent;
typedef struct handle {
	struct handle *prev, *next; /* every handle the kernel holds (V->mu) */
	int kind;
	inode *in; /* held: in->nopen */
	ofile *of; /* H_FILE: one user of it */
	bool writes;
	evault_buf text; /* H_TEXT: the generated text as it was at open */
	dent *ents;      /* H_DIR: the entries as they were at opendir */
	size_t nents;
} handle;

static handle *hdl(const struct fuse_file_info *fi)
{
	return fi ? (handle *)(uintptr_t)fi->fh : NULL;
}

static handle *handles; /* V->mu */

/* A new handle of kind on in, tracked until handle_end. V->mu held. */
static handle *handle_new(int kind, inode *in)
{
	handle *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->kind = kind;
	h->in = in;
	in->nopen++;
	h->next = handles;
	if (handles)
		handles->prev = h;
	handles = h;
	return h;
}

/* The handle's end: a file's use of its open file, its inode, its memory. V->mu held. */
static void handle_end(handle *h)
{
	if (h->kind == H_FILE) {
		if (h->writes) {
			writers_changed(h->of->vm, -1);
			h->of->whandles--;
		}
		ofile_close(h->of);
	}
	if (h->prev)
		h->prev->next = h->next;
	else
		handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->in->nopen--;
	inode_release(h->in);
	evault_buf_dispose(&h->text);
	for (size_t i = 0; i < h->nents; i++)
		free_name(h->ents[i].name);
	free(h->ents);
	free(h);
}

/* Locks V->mu around handle_end (a reply that could not be sent, a release). */
static void handle_end_locked(handle *h)
{
	pthread_mutex_lock(&V->mu);
	handle_end(h);
	pthread_mutex_unlock(&V->mu);
}

void handles_end_all(void)
{
	while (handles)
		handle_end(handles);
}

static bool is_dir_kind(int k)
{
	return k == I_ROOT || k == I_EVDIR || k == I_MISSION || k == I_CLASS || k == I_DIR;
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
		if (!vm->photos) { /* decrypted once, not at every stat */
			evault_buf a = EVAULT_BUF_INIT;
			if (evault_mission_photo_authorisation(V->repo, m->mid, &a) == 0 && a.size)
				vm->photos = strndup(a.ptr, a.size);
			evault_error_clear();
			evault_buf_dispose(&a);
		}
		for (const char *l = vm->photos; l && *l && rc == 0;) {
			size_t n = strcspn(l, "\n");
			if (n)
				rc = evault_buf_printf(b, "         %.*s\n", (int)n, l);
			l += n + (l[n] == '\n');
		}
	}
	if (rc == 0)
		rc = evault_buf_printf(
		    b, "audio    always refused (no voice recordings)\nyou      %s\n",
		    vm->writable ? "read-write" : "read-only");
	for (int k = 0; k < EVAULT_CLASS_COUNT && rc == 0; k++)
		if (vm->c[k].readable)
			rc =
			    evault_buf_printf(b, "files    %-8s %zu\n",
					      evault_class_name((evault_class)k), vm->c[k].files.n);
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
	int rc = evault_buf_printf(b,
				   "user     %s\nvault    %s\nhead     %s\nmount    %s\npid      "
				   "%ld\nmode     %s\nmissions %zu\nqueued   %zu\n",
				   evault_repo_actor(V->repo), evault_repo_vault_id(V->repo), V->head,
				   V->mountpoint, (long)getpid(), V->ro ? "read-only" : "read-write",
				   n, V->ncq + V->nrq);
	if (rc == 0 && V->sync_status[0])
		rc = evault_buf_printf(b, "sync     %s\n", V->sync_status);
	return rc;
}

static int special_text(evault_buf *b, const vpath *p)
{
	int rc = p->kind == I_STATUS    ? status_text(b)
		 : p->kind == I_REFUSED ? refused_text(b)
					: mission_text(b, p->vm);
	return rc < 0 ? -ENOMEM : 0;
}

/* ---- attributes ---- */

static void fill_dir(struct stat *st, uint32_t mode, nlink_t nlink, struct timespec t)
{
	st->st_mode = S_IFDIR | mode;
	st->st_nlink = nlink;
	st->st_uid = V->uid;
	st->st_gid = V->gid;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = t;
}

static void fill_vdir(struct stat *st, const vdir *d, bool writable)
{
	struct timespec z = {0, 0};
	fill_dir(st, d->mode & (writable ? 07777 : 05555), 2 + d->nsubdirs, V->started);
	if (memcmp(&d->mtime, &z, sizeof(z)) != 0) {
		st->st_mtim = d->mtime;
		st->st_ctim = d->ctime;
		st->st_atim = d->atime;
	}
}

/* The attributes of in (resolved as p). V->mu held. */
static int attr_of(inode *in, struct stat *st)
{
	vpath p;
	memset(st, 0, sizeof(*st));
	if (in->kind == I_FILE && in->of) { /* open: its content, even unlinked */
		fill_file(st, NULL, in->of, in->of->vm->writable);
		st->st_ino = in->ino;
		return 0;
	}
	int rc = inode_resolve(in, &p);
	if (rc < 0)
		return rc;
	st->st_ino = in->ino;
	switch (in->kind) {
	case I_ROOT: {
		nlink_t n = 3; /* ., .., and .evault */
		for (vmission *vm = V->missions; vm; vm = vm->next)
			n += !vm->gone;
		fill_dir(st, 0555, n, V->started);
		return 0;
	}
	case I_EVDIR: fill_dir(st, 0555, 2, V->started); return 0;
	case I_MISSION: {
		nlink_t n = 2;
		for (int k = 0; k < EVAULT_CLASS_COUNT; k++)
			n += p.vm->c[k].readable;
		fill_dir(st, p.vm->writable ? 0755 : 0555, n, V->started);
		return 0;
	}
	case I_STATUS:
	case I_REFUSED:
	case I_MFILE: {
		evault_buf b = EVAULT_BUF_INIT;
		rc = special_text(&b, &p);
		fill_dir(st, 0, 1, V->started);
		st->st_mode = S_IFREG | 0444;
		st->st_size = (off_t)b.size;
		evault_buf_dispose(&b);
		return rc;
	}
	case I_CLASS:
	case I_DIR: fill_vdir(st, find_dir(p.c, p.rel), p.vm->writable); return 0;
	case I_FILE: fill_file(st, find_file(p.c, p.rel), NULL, p.vm->writable); return 0;
	}
	return -ENOENT;
}

/* The kind of name in the directory dir (resolved as dp), or a negative errno. */
static int child_kind(inode *dir, const vpath *dp, const char *name, char rel[EVAULT_PATH_MAX + 1])
{
	switch (dir->kind) {
	case I_ROOT:
		if (strcmp(name, ".evault") == 0)
			return I_EVDIR;
		return strlen(name) <= EVAULT_MID_MAX && find_mission(name) ? I_MISSION : -ENOENT;
	case I_EVDIR:
		if (strcmp(name, "refused") == 0)
			return I_REFUSED;
		return strcmp(name, "status") == 0 ? I_STATUS : -ENOENT;
	case I_MISSION: {
		evault_class cls;
		if (strcmp(name, ".mission") == 0)
			return I_MFILE;
		if (strlen(name) > 16 || evault_class_parse(&cls, name) < 0) {
			evault_error_clear();
			return -ENOENT;
		}
		return dp->vm->c[cls].readable ? I_CLASS : -ENOENT;
	}
	case I_CLASS:
	case I_DIR: {
		int rc = child_path(dp, name, rel);
		if (rc < 0)
			return rc == -EINVAL ? -ENOENT : rc;
		if (find_file(dp->c, rel))
			return I_FILE;
		return find_dir(dp->c, rel) ? I_DIR : -ENOENT;
	}
	}
	return -ENOTDIR;
}

/* One more kernel reference on the child, its entry in e. V->mu held. */
static int make_entry(inode *dir, const char *name, int kind, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	inode *in = inode_lookup(dir, name, kind);
	if (!in)
		return -ENOMEM;
	int rc = attr_of(in, &e->attr);
	if (rc < 0) {
		inode_forget(in, 1);
		return rc;
	}
	e->ino = in->ino;
	e->attr_timeout = e->entry_timeout = TIMEOUT_S;
	return 0;
}

/* The kernel did not get an entry it was sent: its reference is undone. */
static void unsent(fuse_ino_t ino)
{
	pthread_mutex_lock(&V->mu);
	inode *in = inode_get(ino);
	if (in)
		inode_forget(in, 1);
	pthread_mutex_unlock(&V->mu);
}

/* Resolves ino as a directory one may change (create, mkdir, unlink, rename). */
static int writable_dir(fuse_ino_t ino, inode **out, vpath *p)
{
	inode *in = inode_get(ino);
	if (!in)
		return -ENOENT;
	int rc = inode_resolve(in, p);
	if (rc < 0)
		return rc;
	*out = in;
	if (in->kind == I_MISSION) /* missions and classes are made by evault mission create */
		return p->vm->writable ? -EACCES : -EROFS;
	if (in->kind == I_ROOT || in->kind == I_EVDIR)
		return -EACCES;
	if (in->kind != I_CLASS && in->kind != I_DIR)
		return -ENOTDIR;
	return p->vm->writable ? 0 : -EROFS;
}

/* The start of a change of name in directory parent: V->mu taken (held on
 * return, whatever the result), the index caught up, the directory
 * resolved as one that may change, the name's path in rel. */
static int begin_change(fuse_ino_t parent, const char *name, inode **dir, vpath *dp,
			char rel[EVAULT_PATH_MAX + 1])
{
	pthread_mutex_lock(&V->mu);
	refresh(false);
	int rc = writable_dir(parent, dir, dp);
	return rc == 0 ? child_path(dp, name, rel) : rc;
}

/* ---- operations ---- */

static void op_init(void *data, struct fuse_conn_info *conn)
{
	(void)data;
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	/* no writeback cache: writes reach the mount as they happen, so a refused
	 * photo fails its write(2), and it measured no faster here (a single
	 * writer's requests are sequential either way) */
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	char rel[EVAULT_PATH_MAX + 1];
	vpath dp;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	inode *dir = inode_get(parent);
	int rc = dir ? inode_resolve(dir, &dp) : -ENOENT;
	if (rc == 0)
		rc = child_kind(dir, &dp, name, rel);
	if (rc > 0)
		rc = make_entry(dir, name, rc, &e);
	pthread_mutex_unlock(&V->mu);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_entry(req, &e) != 0)
		unsent(e.ino);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t n)
{
	pthread_mutex_lock(&V->mu);
	inode *in = inode_get(ino);
	if (in)
		inode_forget(in, n);
	pthread_mutex_unlock(&V->mu);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	pthread_mutex_lock(&V->mu);
	for (size_t i = 0; i < count; i++) {
		inode *in = inode_get(f[i].ino);
		if (in)
			inode_forget(in, f[i].nlookup);
	}
	pthread_mutex_unlock(&V->mu);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	inode *in = inode_get(ino);
	int rc = in ? attr_of(in, &st) : -ENOENT;
	pthread_mutex_unlock(&V->mu);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, TIMEOUT_S);
}

/* Times of a utimensat: now, or as given. */
static void set_times(int to_set, const struct stat *a, struct timespec *at, struct timespec *mt)
{
	struct timespec now = now_ts();
	if (to_set & FUSE_SET_ATTR_ATIME)
		*at = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now : a->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME)
		*mt = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now : a->st_mtim;
}

/* chmod, chown, truncate and utimensat of a directory (kept while the mount lives). */
static int setattr_dir(inode *in, const vpath *p, const struct stat *a, int to_set)
{
	if (in->kind != I_CLASS && in->kind != I_DIR)
		return -EPERM; /* the root, .evault and missions are fixed */
	if (to_set & FUSE_SET_ATTR_SIZE)
		return -EISDIR;
	if (!p->vm->writable)
		return -EROFS;
	vdir *d = find_dir(p->c, p->rel);
	if (!d)
		return -ENOENT;
	if (to_set & FUSE_SET_ATTR_MODE)
		d->mode = a->st_mode & 07777;
	set_times(to_set, a, &d->atime, &d->mtime);
	d->ctime = now_ts();
	return 0;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *a, int to_set,
		       struct fuse_file_info *fi)
{
	struct stat st;
	vpath p;
	handle *h = hdl(fi);
	ofile *of = NULL;
	bool held = false; /* of opened here for this change alone */
	int rc = 0;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	inode *in = inode_get(ino);
	if (!in) {
		rc = -ENOENT;
		goto done;
	}
	if (((to_set & FUSE_SET_ATTR_UID) && a->st_uid != V->uid) ||
	    ((to_set & FUSE_SET_ATTR_GID) && a->st_gid != V->gid)) {
		rc = -EPERM; /* files belong to the mounting user */
		goto done;
	}
	if (h && h->kind == H_FILE)
		of = h->of;
	else if (in->kind == I_FILE && in->of)
		of =
		    in->of; /* open elsewhere (or unlinked): changed there, recorded at its close */
	if (!of) {
		if ((rc = inode_resolve(in, &p)) < 0)
			goto done;
		if (in->kind != I_FILE) {
			if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_SIZE |
				      FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))
				rc =
				    is_dir_kind(in->kind) ? setattr_dir(in, &p, a, to_set) : -EPERM;
			goto done;
		}
		/* only atime: kept in the index, nothing to record */
		if (!(to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME))) {
			fnode *n = find_file(p.c, p.rel);
			struct timespec mt;
			if (n)
				set_times(to_set, a, &n->atime, &mt);
			goto done;
		}
		if (!p.vm->writable) {
			rc = -EROFS;
			goto done;
		}
		if ((rc = ofile_open(in, &p, &of)) < 0)
			goto done;
		held = true;
	} else if ((to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME)) &&
		   !of->vm->writable) {
		rc = -EROFS;
		goto done;
	}
	if ((to_set & FUSE_SET_ATTR_SIZE) &&
	    (a->st_size < 0 || (rc = of_truncate(of, (uint64_t)a->st_size)) < 0)) {
		rc = rc ? rc : -EINVAL;
		goto close;
	}
	pthread_mutex_lock(&of->mu);
	if (to_set & FUSE_SET_ATTR_MODE)
		of->mode = a->st_mode & 07777;
	set_times(to_set, a, &of->atime, &of->mtime);
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_MTIME)) {
		of->dirty = true;
		of->ctime = now_ts();
	}
	pthread_mutex_unlock(&of->mu);
	if (held) /* not open anywhere: recorded with the next group */
		rc = commit_file(of, COMMIT_SOON);
close:
	if (held)
		ofile_close(of);
done:
	if (rc == 0)
		rc = attr_of(in, &st);
	pthread_mutex_unlock(&V->mu);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, TIMEOUT_S);
}

typedef struct snap {
	dent *v;
	size_t n, a;
	int rc;
} snap;

static int snap_add(snap *s, const char *name, int kind)
{
	if (s->n == s->a) {
		size_t na = s->a ? s->a * 2 : 32;
		dent *nv = realloc(s->v, na * sizeof(dent));
		if (!nv)
			return s->rc = -ENOMEM;
		s->v = nv;
		s->a = na;
	}
	if (!(s->v[s->n].name = strdup(name)))
		return s->rc = -ENOMEM;
	s->v[s->n++].kind = kind;
	return 0;
}

static int snap_entry(const char *name, bool is_dir, void *p)
{
	return snap_add(p, name, is_dir ? I_DIR : I_FILE);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	vpath p;
	snap s = {0};
	handle *h = NULL;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	inode *in = inode_get(ino);
	int rc = in ? inode_resolve(in, &p) : -ENOENT;
	if (rc == 0 && !is_dir_kind(in->kind))
		rc = -ENOTDIR;
	if (rc == 0) {
		snap_add(&s, ".", in->kind);
		snap_add(&s, "..", I_DIR);
		if (in->kind == I_ROOT) {
			snap_add(&s, ".evault", I_EVDIR);
			for (vmission *vm = V->missions; vm; vm = vm->next)
				if (!vm->gone)
					snap_add(&s, vm->mid, I_MISSION);
		} else if (in->kind == I_EVDIR) {
			snap_add(&s, "status", I_STATUS);
			snap_add(&s, "refused", I_REFUSED);
		} else if (in->kind == I_MISSION) {
			snap_add(&s, ".mission", I_MFILE);
			for (int k = 0; k < EVAULT_CLASS_COUNT; k++)
				if (p.vm->c[k].readable)
					snap_add(&s, evault_class_name((evault_class)k), I_CLASS);
		} else {
			each_entry(p.c, p.rel, snap_entry, &s);
		}
		rc = s.rc;
	}
	if (rc == 0 && !(h = handle_new(H_DIR, in)))
		rc = -ENOMEM;
	if (rc == 0) {
		h->ents = s.v;
		h->nents = s.n;
		fi->fh = (uint64_t)(uintptr_t)h;
		fi->cache_readdir = 0;
	} else {
		for (size_t i = 0; i < s.n; i++)
			free_name(s.v[i].name);
		free(s.v);
	}
	pthread_mutex_unlock(&V->mu);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_open(req, fi) != 0)
		handle_end_locked(h);
}

static void do_readdir(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi, bool plus)
{
	handle *h = hdl(fi);
	char *buf = malloc(size ? size : 1);
	/* the entries' inodes, each referenced once: undone if the reply is not sent */
	fuse_ino_t *sent = plus ? calloc(size / 32 + 1, sizeof(fuse_ino_t)) : NULL;
	size_t pos = 0, nsent = 0;
	if (!buf || !h || h->kind != H_DIR || (plus && !sent)) {
		fuse_reply_err(req, !h || h->kind != H_DIR ? EBADF : ENOMEM);
		free(buf);
		free(sent);
		return;
	}
	pthread_mutex_lock(&V->mu);
	for (size_t i = off > 0 ? (size_t)off : 0; i < h->nents; i++) {
		const dent *d = &h->ents[i];
		bool dots = i < 2;
		size_t sz;
		if (plus) {
			struct fuse_entry_param e;
			memset(&e, 0, sizeof(e));
			inode *child = NULL;
			if (dots) {
				e.attr.st_ino =
				    i == 0 || !h->in->parent ? h->in->ino : h->in->parent->ino;
				e.attr.st_mode = S_IFDIR;
			} else {
				char rel[EVAULT_PATH_MAX + 1];
				vpath dp;
				/* still there, and still of the same kind? */
				if (inode_resolve(h->in, &dp) < 0 ||
				    child_kind(h->in, &dp, d->name, rel) != d->kind ||
				    make_entry(h->in, d->name, d->kind, &e) < 0)
					continue;
				child = inode_get(e.ino);
			}
			sz = fuse_add_direntry_plus(req, buf + pos, size - pos, d->name, &e,
						    (off_t)i + 1);
			if (sz > size - pos) {
				if (child)
					inode_forget(child, 1);
				break;
			}
			if (child)
				sent[nsent++] = child->ino;
		} else {
			struct stat st;
			memset(&st, 0, sizeof(st));
			inode *child = dots ? NULL : inode_child(h->in, d->name);
			st.st_ino = dots ? h->in->ino : child ? child->ino : UNKNOWN_INO;
			st.st_mode = is_dir_kind(d->kind) ? S_IFDIR : S_IFREG;
			sz = fuse_add_direntry(req, buf + pos, size - pos, d->name, &st,
					       (off_t)i + 1);
			if (sz > size - pos)
				break;
		}
		pos += sz;
	}
	pthread_mutex_unlock(&V->mu);
	if (fuse_reply_buf(req, buf, pos) != 0)
		for (size_t i = 0; i < nsent; i++)
			unsent(sent[i]);
	free(buf);
	free(sent);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	handle *h = hdl(fi);
	(void)ino;
	if (h)
		handle_end_locked(h);
	fuse_reply_err(req, 0);
}

/* Does this handle write? (counted the same way at open, create and release) */
static bool handle_writes(const struct fuse_file_info *fi)
{
	return (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
}

/* A new file handle on of; V->mu held. */
static handle *file_handle(inode *in, ofile *of, struct fuse_file_info *fi)
{
	handle *h = handle_new(H_FILE, in);
	if (!h)
		return NULL;
	h->of = of;
	h->writes = handle_writes(fi);
	if (h->writes) {
		writers_changed(of->vm, 1);
		of->whandles++;
	}
	/* the kernel's cached pages hold this version (our own writes go through them) */
	fi->keep_cache = strcmp(in->cached_fid, of->fid) == 0 && !(fi->flags & O_TRUNC);
	snprintf(in->cached_fid, sizeof(in->cached_fid), "%s", of->fid);
	fi->fh = (uint64_t)(uintptr_t)h;
	return h;
}

/* A handle on a generated file: its text as it is now. V->mu held. */
static int text_handle(inode *in, const vpath *p, struct fuse_file_info *fi)
{
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	handle *h = handle_new(H_TEXT, in);
	if (!h)
		return -ENOMEM;
	int rc = special_text(&h->text, p);
	if (rc < 0) {
		handle_end(h);
		return rc;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1; /* generated: sizes change */
	return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	vpath p;
	ofile *of = NULL;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	inode *in = inode_get(ino);
	/* an open file is shared, even unlinked (reopened through /proc) */
	int rc = !in ? -ENOENT : in->kind == I_FILE && in->of ? 0 : inode_resolve(in, &p);
	if (rc == 0 && (in->kind == I_STATUS || in->kind == I_REFUSED || in->kind == I_MFILE))
		rc = text_handle(in, &p, fi);
	else {
		if (rc == 0 && in->kind != I_FILE)
			rc = is_dir_kind(in->kind) ? -EISDIR : -EACCES;
		if (rc == 0 && handle_writes(fi) &&
		    !(in->of ? in->of->vm->writable : p.vm->writable))
			rc = -EROFS;
		/* written again while its last version waits for the group: that
		 * version is recorded first, so a refusal now leaves it in place
		 * (an empty one waits: what is written now is the version) */
		if (rc == 0 && handle_writes(fi) && in->of && in->of->queued &&
		    !commit_queued_empty(in->of)) {
			commit_file(in->of, COMMIT_NOW);
			if (!in->of) /* it was only held by the queue */
				rc = inode_resolve(in, &p);
		}
		if (rc == 0)
			rc = ofile_open(in, &p, &of);
		if (rc == 0 && (fi->flags & O_TRUNC) && (rc = of_truncate(of, 0)) < 0)
			ofile_close(of);
		if (rc == 0 && !file_handle(in, of, fi)) {
			ofile_close(of);
			rc = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&V->mu);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (fuse_reply_open(req, fi) != 0)
		handle_end_locked(hdl(fi));
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	char rel[EVAULT_PATH_MAX + 1];
	vpath dp, p;
	inode *dir = NULL, *in = NULL;
	ofile *of = NULL;
	handle *h = NULL;
	bool made = false;
	int rc = begin_change(parent, name, &dir, &dp, rel);
	if (rc == 0 && !S_ISREG(mode))
		rc = -EPERM;
	fnode *n = rc == 0 ? find_file(dp.c, rel) : NULL;
	if (rc == 0 && !n && find_dir(dp.c, rel))
		rc = -EISDIR;
	if (rc == 0 && n && (fi->flags & O_EXCL))
		rc = -EEXIST;
	if (rc == 0 && !n) { /* a new file: listed at once, recorded at its close */
		if (!(n = calloc(1, sizeof(*n))) || !(n->m.path = strdup(rel))) {
			free(n);
			rc = -ENOMEM;
		} else {
			struct timespec t = now_ts();
			n->m.mode = mode & 07777;
			n->m.mtime = t.tv_sec;
			n->m.mtime_nsec = (uint32_t)t.tv_nsec;
			n->m.added = t.tv_sec;
			if ((rc = link_file(dp.c, n, true)) < 0)
				free_node(n);
			made = rc == 0;
		}
	}
	if (rc == 0 && !(in = inode_lookup(dir, name, I_FILE)))
		rc = -ENOMEM;
	if (rc == 0) {
		p = dp;
		p.kind = I_FILE;
		memcpy(p.rel, rel, sizeof(p.rel));
		if (in->of && in->of->queued && !commit_queued_empty(in->of)) /* as in op_open */
			commit_file(in->of, COMMIT_NOW);
		if ((rc = ofile_open(in, &p, &of)) < 0)
			inode_forget(in, 1);
	}
	if (rc == 0 && made) {
		pthread_mutex_lock(&of->mu);
		of->dirty = true; /* even an empty file is recorded at close */
		of->mode = mode & 07777;
		pthread_mutex_unlock(&of->mu);
	}
	if (rc == 0 && !made && (fi->flags & O_TRUNC)) { /* made meanwhile by another writer */
		if ((rc = of_truncate(of, 0)) < 0) {
			ofile_close(of);
			inode_forget(in, 1);
		}
	}
	if (rc == 0 && !(h = file_handle(in, of, fi))) {
		ofile_close(of);
		inode_forget(in, 1);
		rc = -ENOMEM;
	}
	if (rc == 0) {
		memset(&e, 0, sizeof(e));
		e.ino = in->ino;
		e.attr_timeout = e.entry_timeout = TIMEOUT_S;
		attr_of(in, &e.attr);
	} else if (made && (n = find_file(dp.c, rel)) && !*n->fid) { /* nothing of it stays */
		unlink_file(dp.c, n, true);
		free_node(n);
	}
	pthread_mutex_unlock(&V->mu);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_create(req, &e, fi) != 0) {
		pthread_mutex_lock(&V->mu);
		handle_end(h);
		inode_forget(in, 1);
		pthread_mutex_unlock(&V->mu);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	handle *h = hdl(fi);
	(void)ino;
	if (h && h->kind == H_TEXT) {
		/* replied from a copy: the handle may be released as soon as the
		 * kernel has the reply, before fuse_reply_buf returns */
		size_t n = off >= 0 && (size_t)off < h->text.size ? h->text.size - (size_t)off : 0;
		n = n < size ? n : size;
		char *copy = malloc(n ? n : 1);
		if (copy && n)
			memcpy(copy, h->text.ptr + off, n);
		if (copy)
			fuse_reply_buf(req, copy, n);
		else
			fuse_reply_err(req, ENOMEM);
		free(copy);
		return;
	}
	if (!h || h->kind != H_FILE) {
		fuse_reply_err(req, EBADF);
		return;
	}
	char *buf = malloc(size ? size : 1);
	int rc = buf ? of_read(h->of, buf, size, off) : -ENOMEM;
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, (size_t)rc);
	if (buf && rc > 0) /* plaintext: wiped before it is freed */
		sodium_memzero(buf, (size_t)rc);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	handle *h = hdl(fi);
	(void)ino;
	int rc = !h || h->kind != H_FILE ? -EBADF : of_write(h->of, buf, size, off);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, (size_t)rc);
}

/* Seals the file and queues it for the next group commit (now: records it
 * before returning); a refused one is dropped. */
static int commit_handle(handle *h, bool now)
{
	pthread_mutex_lock(&V->mu);
	int rc = commit_file(h->of, now ? COMMIT_NOW : COMMIT_SOON);
	pthread_mutex_unlock(&V->mu);
	return rc < 0 ? rc : 0;
}

/* close(2): the file sealed and visible; recorded within the commit window. */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	handle *h = hdl(fi);
	(void)ino;
	int rc = h && h->kind == H_FILE ? commit_handle(h, false) : 0;
	fuse_reply_err(req, -rc);
}

/* fsync(2): returns once the file is durable and recorded. */
static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	handle *h = hdl(fi);
	(void)ino;
	(void)datasync;
	int rc = h && h->kind == H_FILE ? commit_handle(h, true) : 0;
	fuse_reply_err(req, -rc);
}

/* fsync of a directory (`sync DIR`): everything queued in the mount is
 * recorded before it returns; the first failure is its error. */
static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	pthread_mutex_lock(&V->mu);
	int rc = commit_run();
	pthread_mutex_unlock(&V->mu);
	fuse_reply_err(req, rc < 0 ? -rc : 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	handle *h = hdl(fi);
	(void)ino;
	if (!h) {
		fuse_reply_err(req, 0);
		return;
	}
	pthread_mutex_lock(&V->mu);
	if (h->kind == H_FILE) /* writes through a mapping may arrive after the last flush */
		commit_file(h->of, COMMIT_SOON);
	handle_end(h);
	pthread_mutex_unlock(&V->mu);
	fuse_reply_err(req, 0);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fuse_entry_param e;
	char rel[EVAULT_PATH_MAX + 1];
	vpath dp;
	inode *dir = NULL;
	int rc = begin_change(parent, name, &dir, &dp, rel);
	if (rc == 0 && (find_file(dp.c, rel) || find_dir(dp.c, rel)))
		rc = -EEXIST;
	if (rc == 0)
		rc = make_dir(dp.c, rel, mode & 07777);
	if (rc == 0)
		rc = make_entry(dir, name, I_DIR, &e);
	pthread_mutex_unlock(&V->mu);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_entry(req, &e) != 0)
		unsent(e.ino);
}

/* Removes file n of class p (recorded) and detaches its inode. V->mu held. */
static int remove_file(const vpath *p, fnode *n, inode *dir, const char *name)
{
	if (*n->fid) { /* recorded with the next group commit */
		int rc = commit_removal(p->vm, p->cls, n->fid);
		if (rc < 0)
			return rc;
	}
	unlink_file(p->c, n, true);
	free_node(n);
	inode *in = inode_child(dir, name);
	if (in)
		inode_unlink(in); /* an open file keeps working until its last close */
	return 0;
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char rel[EVAULT_PATH_MAX + 1];
	vpath dp;
	inode *dir = NULL;
	int rc = begin_change(parent, name, &dir, &dp, rel);
	fnode *n = rc == 0 ? find_file(dp.c, rel) : NULL;
	if (rc == 0 && !n)
		rc = find_dir(dp.c, rel) ? -EISDIR : -ENOENT;
	if (rc == 0)
		rc = remove_file(&dp, n, dir, name);
	pthread_mutex_unlock(&V->mu);
	fuse_reply_err(req, rc == -EINVAL ? ENOENT : -rc);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char rel[EVAULT_PATH_MAX + 1];
	vpath dp;
	inode *dir = NULL;
	int rc = begin_change(parent, name, &dir, &dp, rel);
	vdir *d = rc == 0 ? find_dir(dp.c, rel) : NULL;
	if (rc == 0 && !d)
		rc = find_file(dp.c, rel) ? -ENOTDIR : -ENOENT;
	if (rc == 0 && !dir_empty(dp.c, d))
		rc = -ENOTEMPTY;
	if (rc == 0) {
		remove_dir(dp.c, d);
		inode *in = inode_child(dir, name);
		if (in)
			inode_unlink(in);
	}
	pthread_mutex_unlock(&V->mu);
	fuse_reply_err(req, rc == -EINVAL ? ENOENT : -rc);
}

/*
 * Moves one file to newrel (in class `to`): the new entry first
 * (replacing a file there), then the old one removed, so a crash in
 * between leaves both names, never none. Across classes the content is
 * sealed again under the target's key, and an open file follows. V->mu held.
 */
static int move_file(const vpath *from, const char *oldrel, const vpath *to, const char *newrel);

/* move_file, with an open file's writers held off until it follows (across classes). */
static int move_one(const vpath *from, const char *oldrel, const vpath *to, const char *newrel)
{
	/* what was closed and removed first: the history keeps the order (and
	 * a file held only by the queue is unbound before it is looked at) */
	commit_run();
	inode *in = inode_of_path(from->vm, from->cls, oldrel);
	ofile *of = in && from->c != to->c ? in->of : NULL;
	if (of)
		of_hold(of);
	int rc = move_file(from, oldrel, to, newrel);
	if (of)
		of_unhold(of);
	return rc;
}

static int move_file(const vpath *from, const char *oldrel, const vpath *to, const char *newrel)
{
	int rc;
	inode *in = inode_of_path(from->vm, from->cls, oldrel);
	ofile *of = in ? in->of : NULL;
	/* what was written and removed first: the history keeps the order */
	if (of && (rc = commit_file(of, COMMIT_NOW)) < 0) /* what was written first */
		return rc;
	fnode *n = find_file(from->c, oldrel);
	if (!n)
		return -ENOENT;
	if (!*n->fid) /* never committed (an open new file whose commit failed) */
		return -EIO;
	fnode *target = find_file(to->c, newrel);
	if (target == n)
		return 0;
	manifest m = n->m, re;
	size_t gens = 0; /* a rename within a class seals nothing */
	memset(&re, 0, sizeof(re));
	if (from->c != to->c) {
		gens = class_keys_gens(to->c->k);
		if ((rc = file_reencrypt(V->repo, from->c->k, &n->m, to->c->k, &re)) < 0)
			return fail(rc, "moving a file across classes");
		m = re;
	}
	m.path = (char *)newrel;
	m.added = (int64_t)time(NULL);
	char fid[LAYOUT_FID_LEN + 1], tree[41];
	bool stale = false;
	rc = file_commit(V->repo, to->vm->mid, to->cls, &m, target ? target->fid : NULL,
			 to->c->tree, gens, fid, tree, &stale);
	if (rc < 0) {
		re.path = NULL;
		manifest_clear(&re);
		return fail(rc, "renaming a file");
	}
	memcpy(to->c->tree, tree, sizeof(tree));
	if (stale)
		V->checked_ns = 0;
	if (target) { /* replaced: an open target keeps its data until closed */
		inode *tin = inode_of_path(to->vm, to->cls, newrel);
		unlink_file(to->c, target, true);
		free_node(target);
		if (tin)
			inode_unlink(tin);
	}
	/* the new entry: n's manifest (or the re-encrypted one) at the new path */
	fnode *nn = calloc(1, sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	nn->m = m;
	nn->m.path = strdup(newrel);
	nn->m.objs = NULL;
	nn->m.holes = NULL;
	if (from->c != to->c) {
		nn->m.objs = re.objs;
		nn->m.holes = re.holes;
		re.objs = NULL;
		re.holes = NULL;
	} else {
		if (m.nobjs && (nn->m.objs = malloc(m.nobjs * OBJECT_ID_LEN)))
			memcpy(nn->m.objs, m.objs, m.nobjs * OBJECT_ID_LEN);
		if (m.nholes && (nn->m.holes = malloc(m.nholes * sizeof(manifest_hole))))
			memcpy(nn->m.holes, m.holes, m.nholes * sizeof(manifest_hole));
	}
	re.path = NULL;
	manifest_clear(&re);
	if (!nn->m.path || (m.nobjs && !nn->m.objs) || (m.nholes && !nn->m.holes)) {
		free_node(nn);
		V->checked_ns = 0; /* recorded: the index catches up at the next access */
		return -ENOMEM;
	}
	nn->atime = n->atime;
	memcpy(nn->fid, fid, sizeof(fid));
	if (link_file(to->c, nn, true) < 0) {
		free_node(nn);
		V->checked_ns = 0;
		return -ENOMEM;
	}
	/* the old name goes */
	char oldfid[LAYOUT_FID_LEN + 1];
	memcpy(oldfid, n->fid, sizeof(oldfid));
	unlink_file(from->c, n, true);
	free_node(n);
	rc = file_remove_fid(V->repo, from->vm->mid, from->cls, oldfid, tree);
	if (rc < 0)
		return fail(rc, "renaming a file");
	memcpy(from->c->tree, tree, sizeof(tree));
	/* an open file follows: its next commit replaces the new version */
	if (of && from->c != to->c)
		return of_rekey(of, to->cls, &nn->m, fid) < 0
			   ? fail(EVAULT_ERROR, "moving an open file")
			   : 0;
	if (of) {
		pthread_mutex_lock(&of->mu);
		memcpy(of->fid, fid, sizeof(fid));
		pthread_mutex_unlock(&of->mu);
	}
	return 0;
}

/* What a directory move carries over: each directory's mode, times and origin. */
typedef struct dmeta {
	char *suffix; /* below the moved directory ("" for itself) */
	vdir d;
} dmeta;

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return n == 0 || (strncmp(path, dir, n) == 0 && path[n] == '/');
}

/* Moves directory srel (class a) to drel (class b), file by file. V->mu held. */
static int move_dir(const vpath *a, const char *srel, const vpath *b, const char *drel)
{
	size_t sl = strlen(srel), nd = 0, nf = 0;
	int rc = 0;
	dmeta *dirs = calloc(a->c->dirs.n + 1, sizeof(dmeta));
	char **files = calloc(a->c->files.n + 1, sizeof(char *));
	if (!dirs || !files) {
		rc = -ENOMEM;
		goto done;
	}
	TABLE_EACH(&a->c->dirs, vdir, d)
	if (rc == 0 && (strcmp(d->path, srel) == 0 || under(d->path, srel))) {
		dirs[nd].d = *d;
		if (!(dirs[nd++].suffix = strdup(d->path + sl)))
			rc = -ENOMEM;
	}
	TABLE_EACH(&a->c->files, fnode, f)
	if (rc == 0 && under(f->m.path, srel) && !(files[nf++] = strdup(f->m.path)))
		rc = -ENOMEM;
	char to[EVAULT_PATH_MAX + 2];
	for (size_t i = 0; i < nf && rc == 0; i++) {
		if (snprintf(to, sizeof(to), "%s%s", drel, files[i] + sl) > EVAULT_PATH_MAX)
			rc = -ENAMETOOLONG;
		else
			rc = move_one(a, files[i], b, to);
	}
	/* the directories at their new place, with their mode and times */
	for (size_t i = 0; i < nd && rc == 0; i++) {
		if (snprintf(to, sizeof(to), "%s%s", drel, dirs[i].suffix) > EVAULT_PATH_MAX) {
			rc = -ENAMETOOLONG;
			break;
		}
		vdir *d = find_dir(b->c, to);
		if (!d && (dirs[i].d.session || !*dirs[i].suffix)) {
			if ((rc = make_dir(b->c, to, dirs[i].d.mode)) < 0)
				break;
			d = find_dir(b->c, to);
			d->session = false;
		}
		if (d) {
			d->session |= dirs[i].d.session;
			d->mode = dirs[i].d.mode;
			d->atime = dirs[i].d.atime;
			d->mtime = dirs[i].d.mtime;
			d->ctime = now_ts();
		}
	}
	for (size_t i = 0; i < nd && rc == 0; i++) { /* and gone from the old one */
		snprintf(to, sizeof(to), "%s%s", srel, dirs[i].suffix);
		vdir *d = find_dir(a->c, to);
		if (d && d->session)
			dir_release(a->c, d);
	}
	/* an empty directory that was made by its files only is kept where it went */
	vdir *top = find_dir(b->c, drel);
	if (rc == 0 && top && !top->session && dir_empty(b->c, top))
		top->session = true;
done:
	for (size_t i = 0; dirs && i < nd; i++)
		free_name(dirs[i].suffix);
	for (size_t i = 0; files && i < nf; i++)
		free_name(files[i]);
	free(dirs);
	free(files);
	return rc;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	char srel[EVAULT_PATH_MAX + 1], drel[EVAULT_PATH_MAX + 1];
	vpath a, b;
	inode *adir = NULL, *bdir = NULL;
	pthread_mutex_lock(&V->mu);
	refresh(false);
	int rc = flags & ~(unsigned)RENAME_NOREPLACE ? -EINVAL : 0;
	if (rc == 0)
		rc = writable_dir(parent, &adir, &a);
	if (rc == 0)
		rc = writable_dir(newparent, &bdir, &b);
	if (rc == 0 && a.vm != b.vm)
		rc = -EXDEV; /* missions never share content */
	if (rc == 0 && (rc = child_path(&a, name, srel)) == -EINVAL)
		rc = -ENOENT;
	if (rc == 0)
		rc = child_path(&b, newname, drel);
	fnode *sf = rc == 0 ? find_file(a.c, srel) : NULL, *tf = NULL;
	vdir *sd = rc == 0 && !sf ? find_dir(a.c, srel) : NULL, *td = NULL;
	if (rc == 0) {
		tf = find_file(b.c, drel);
		td = tf ? NULL : find_dir(b.c, drel);
		if (!sf && !sd)
			rc = -ENOENT;
		else if (a.c == b.c && strcmp(srel, drel) == 0)
			goto done; /* the same name: nothing to do */
		else if ((flags & RENAME_NOREPLACE) && (tf || td))
			rc = -EEXIST;
	}
	inode *src = rc == 0 ? inode_child(adir, name) : NULL;
	if (rc == 0 && sf) {
		if (td)
			rc = -EISDIR;
		else
			rc = move_one(&a, srel, &b, drel);
	} else if (rc == 0) {
		if (tf)
			rc = -ENOTDIR;
		else if (a.c == b.c && under(drel, srel))
			rc = -EINVAL; /* into itself */
		else if (td && !dir_empty(b.c, td))
			rc = -ENOTEMPTY;
		else {
			if (td) { /* an empty directory is replaced */
				inode *tin = inode_child(bdir, newname);
				remove_dir(b.c, td);
				if (tin)
					inode_unlink(tin);
			}
			rc = move_dir(&a, srel, &b, drel);
			touch_dir(a.c, srel);
			touch_dir(b.c, drel);
		}
	}
	/* the kernel's inode follows the name (what is below it too) */
	if (rc == 0 && src && (src = inode_child(adir, name))) {
		inode *old = inode_child(bdir, newname);
		if (old && old != src)
			inode_unlink(old);
		rc = inode_move(src, bdir, newname);
	}
done:
	pthread_mutex_unlock(&V->mu);
	fuse_reply_err(req, -rc);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EPERM); /* the vault holds regular files only */
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, EPERM); /* device nodes, fifos, sockets: regular files only */
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;
	(void)ino;
	if (statvfs(V->repo->path, &st) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	st.f_namemax = EVAULT_COMPONENT_MAX;
	fuse_reply_statfs(req, &st);
}

static int xattr_value(inode *in, const char *name, evault_buf *out)
{
	vpath p;
	int rc = inode_resolve(in, &p);
	if (rc < 0)
		return rc;
	if (strncmp(name, XA_PREFIX, strlen(XA_PREFIX)) != 0)
		return -ENODATA;
	name += strlen(XA_PREFIX);
	bool in_mission = p.vm && in->kind != I_MFILE;
	if (in_mission && strcmp(name, "mission") == 0)
		return evault_buf_printf(out, "%s", p.vm->mid) < 0 ? -ENOMEM : 0;
	if (in_mission && strcmp(name, "status") == 0)
		return evault_buf_printf(out, "%s", p.vm->rec.status) < 0 ? -ENOMEM : 0;
	if (!p.c)
		return -ENODATA;
	if (strcmp(name, "class") == 0)
		return evault_buf_printf(out, "%s", evault_class_name(p.cls)) < 0 ? -ENOMEM : 0;
	fnode *n = in->kind == I_FILE ? find_file(p.c, p.rel) : NULL;
	if (!n)
		return -ENODATA;
	if (strcmp(name, "fid") == 0 && *n->fid)
		return evault_buf_printf(out, "%s", n->fid) < 0 ? -ENOMEM : 0;
	if (strcmp(name, "content-type") == 0) {
		char ct[MANIFEST_CTYPE_MAX];
		memcpy(ct, n->m.content_type, sizeof(ct));
		if (in->of) {
			pthread_mutex_lock(&in->of->mu);
			memcpy(ct, in->of->ctype, sizeof(ct));
			pthread_mutex_unlock(&in->of->mu);
		}
		return evault_buf_printf(out, "%s", ct) < 0 ? -ENOMEM : 0;
	}
	if (strcmp(name, "chunks") == 0)
		return evault_buf_printf(out, "%zu", n->m.nobjs) < 0 ? -ENOMEM : 0;
	return -ENODATA;
}

static void reply_xattr(fuse_req_t req, const void *data, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, data, len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	evault_buf b = EVAULT_BUF_INIT;
	pthread_mutex_lock(&V->mu);
	inode *in = inode_get(ino);
	int rc = in ? xattr_value(in, name, &b) : -ENOENT;
	pthread_mutex_unlock(&V->mu);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		reply_xattr(req, b.ptr, b.size, size);
	evault_buf_dispose(&b);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	static const char *all[] = {"mission", "status", "class", "fid", "content-type", "chunks"};
	char list[256];
	size_t n = 0;
	pthread_mutex_lock(&V->mu);
	inode *in = inode_get(ino);
	for (size_t i = 0; in && i < sizeof(all) / sizeof(all[0]); i++) {
		char name[64];
		evault_buf b = EVAULT_BUF_INIT;
		snprintf(name, sizeof(name), XA_PREFIX "%s", all[i]);
		if (xattr_value(in, name, &b) == 0) {
			memcpy(list + n, name, strlen(name) + 1);
			n += strlen(name) + 1;
		}
		evault_buf_dispose(&b);
	}
	pthread_mutex_unlock(&V->mu);
	if (!in)
		fuse_reply_err(req, ENOENT);
	else
		reply_xattr(req, list, n, size);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	(void)ino;
	(void)value;
	(void)size;
	(void)flags;
	fuse_reply_err(req, strncmp(name, XA_PREFIX, strlen(XA_PREFIX)) == 0 ? EPERM : ENOTSUP);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	fuse_reply_err(req, strncmp(name, XA_PREFIX, strlen(XA_PREFIX)) == 0 ? EPERM : ENOTSUP);
}

const struct fuse_lowlevel_ops vfs_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .fsync = op_fsync,
    .fsyncdir = op_fsyncdir,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .statfs = op_statfs,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
    .create = op_create,
    .readdirplus = op_readdirplus,
};
