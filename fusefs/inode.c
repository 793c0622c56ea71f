/*
 * The kernel's inodes (vfs.h). Each has a number (never reused while
 * mounted), a kind, and a name in its parent; paths are made by walking
 * up, so renaming a directory moves everything below it at once. The
 * kernel holds lookup references (counted in nlookup, dropped by forget);
 * handles, linked children and a bound open file hold an inode too. An
 * inode is freed when nothing holds it. Unlinking (unlink, rmdir, a file
 * replaced by a rename, a refused new file) detaches it from its name: it
 * lives on for its holders (an open, unlinked file still answers fstat)
 * but can no longer be found by name. Everything here runs under V->mu.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vfs.h"

static struct {
	inode **by_ino, **by_name;
	size_t nb, n; /* both tables have nb buckets */
	uint64_t next;
	inode *root;
} T;

static size_t ino_hash(uint64_t ino)
{
	return (size_t)(ino * 0x9e3779b97f4a7c15ULL >> 17) & (T.nb - 1);
}

static size_t name_hash(const inode *parent, const char *name)
{
	uint64_t h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ULL;
	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 1099511628211ULL;
	return (size_t)h & (T.nb - 1);
}

static void add_ino(inode *in)
{
	size_t h = ino_hash(in->ino);
	in->ino_next = T.by_ino[h];
	T.by_ino[h] = in;
}

static void add_name(inode *in)
{
	size_t h = name_hash(in->parent, in->name);
	in->name_next = T.by_name[h];
	T.by_name[h] = in;
}

static void remove_ino(inode *in)
{
	inode **pp = &T.by_ino[ino_hash(in->ino)];
	while (*pp && *pp != in)
		pp = &(*pp)->ino_next;
	if (*pp)
		*pp = in->ino_next;
}

static void remove_name(inode *in)
{
	inode **pp = &T.by_name[name_hash(in->parent, in->name)];
	while (*pp && *pp != in)
		pp = &(*pp)->name_next;
	if (*pp)
		*pp = in->name_next;
}

/* Twice the buckets when the tables fill. */
static int grow(void)
{
	size_t nb = T.nb * 2;
	inode **bi = calloc(nb, sizeof(*bi)), **bn = calloc(nb, sizeof(*bn));
	if (!bi || !bn) {
		free(bi);
		free(bn);
		return -ENOMEM;
	}
	inode **oi = T.by_ino;
	size_t onb = T.nb;
	free(T.by_name);
	T.by_ino = bi;
	T.by_name = bn;
	T.nb = nb;
	for (size_t i = 0; i < onb; i++)
		for (inode *in = oi[i], *nx; in; in = nx) {
			nx = in->ino_next;
			add_ino(in);
			if (in->parent)
				add_name(in);
		}
	free(oi);
	return 0;
}

int inodes_init(void)
{
	T.nb = 1024;
	T.by_ino = calloc(T.nb, sizeof(inode *));
	T.by_name = calloc(T.nb, sizeof(inode *));
	T.root = calloc(1, sizeof(inode));
	if (!T.by_ino || !T.by_name || !T.root)
		return -ENOMEM;
	T.root->ino = FUSE_ROOT_ID;
	T.root->kind = I_ROOT;
	T.next = FUSE_ROOT_ID + 1;
	add_ino(T.root);
	T.n = 1;
	return 0;
}

void inodes_commit_open(void)
{
	for (size_t i = 0; T.by_ino && i < T.nb; i++)
		for (inode *in = T.by_ino[i]; in; in = in->ino_next)
			if (in->of)
				commit_file(in->of, COMMIT_QUEUE);
	commit_run();
}

void inodes_free(void)
{
	for (size_t i = 0; T.by_ino && i < T.nb; i++)
		for (inode *in = T.by_ino[i], *nx; in; in = nx) {
			nx = in->ino_next;
			if (in->of)
				ofile_discard(in->of);
			free_name(in->name);
			free(in);
		}
	free(T.by_ino);
	free(T.by_name);
	memset(&T, 0, sizeof(T));
}

inode *inode_get(fuse_ino_t ino)
{
	for (inode *in = T.by_ino[ino_hash(ino)]; in; in = in->ino_next)
		if (in->ino == ino)
			return in;
	return NULL;
}

inode *inode_child(inode *parent, const char *name)
{
	for (inode *in = T.by_name[name_hash(parent, name)]; in; in = in->name_next)
		if (in->parent == parent && strcmp(in->name, name) == 0)
			return in;
	return NULL;
}

void inode_release(inode *in)
{
	while (in && in != T.root && !in->nlookup && !in->nopen && !in->nchildren && !in->of) {
		inode *up = in->parent;
		remove_ino(in);
		if (up) {
			remove_name(in);
			up->nchildren--;
		}
		free_name(in->name);
		free(in);
		T.n--;
		in = up;
	}
}

inode *inode_lookup(inode *parent, const char *name, int kind)
{
	inode *in = inode_child(parent, name);
	if (in && in->kind != kind) { /* the name changed kind elsewhere: a new inode */
		inode_unlink(in);
		in = NULL;
	}
	if (!in) {
		if (T.n >= T.nb * 2 && grow() < 0)
			return NULL;
		if (!(in = calloc(1, sizeof(*in))) || !(in->name = strdup(name))) {
			free(in);
			return NULL;
		}
		in->ino = T.next++;
		in->kind = kind;
		in->parent = parent;
		parent->nchildren++;
		add_ino(in);
		add_name(in);
		T.n++;
	}
	in->nlookup++;
	return in;
}

void inode_forget(inode *in, uint64_t n)
{
	in->nlookup = n < in->nlookup ? in->nlookup - n : 0;
	inode_release(in);
}

void inode_unlink(inode *in)
{
	inode *up = in->parent;
	if (!up)
		return;
	remove_name(in);
	in->parent = NULL;
	in->unlinked = true;
	up->nchildren--;
	if (in->of)
		of_unlinked(in->of);
	inode_release(up);
	inode_release(in);
}

int inode_move(inode *in, inode *newparent, const char *newname)
{
	char *nn = strdup(newname);
	if (!nn)
		return -ENOMEM;
	inode *up = in->parent;
	remove_name(in);
	free_name(in->name);
	in->name = nn;
	in->parent = newparent;
	newparent->nchildren++;
	add_name(in);
	if (up) {
		up->nchildren--;
		inode_release(up);
	}
	return 0;
}

int inode_resolve(inode *in, vpath *p)
{
	inode *chain[EVAULT_PATH_MAX / 2 + 8];
	size_t n = 0;
	memset(p, 0, sizeof(*p));
	p->kind = in->kind;
	for (inode *x = in; x != T.root; x = x->parent) {
		if (!x->parent || n == sizeof(chain) / sizeof(chain[0]))
			return -ENOENT; /* unlinked, here or above */
		chain[n++] = x;
	}
	/* chain[n-1] is below the root: .evault or a mission */
	if (n == 0)
		return 0;
	inode *top = chain[n - 1];
	if (top->kind == I_EVDIR)
		return 0;
	if (top->kind != I_MISSION || !(p->vm = find_mission(top->name)))
		return -ENOENT;
	if (n == 1)
		return 0;
	inode *cl = chain[n - 2];
	if (cl->kind == I_MFILE)
		return n == 2 ? 0 : -ENOENT;
	if (cl->kind != I_CLASS || evault_class_parse(&p->cls, cl->name) < 0) {
		evault_error_clear();
		return -ENOENT;
	}
	p->c = &p->vm->c[p->cls];
	if (!p->c->readable)
		return -ENOENT;
	size_t len = 0;
	for (size_t i = n - 2; i-- > 0;) {
		size_t l = strlen(chain[i]->name);
		if (len + l + 1 > EVAULT_PATH_MAX)
			return -ENOENT;
		if (len)
			p->rel[len++] = '/';
		memcpy(p->rel + len, chain[i]->name, l);
		len += l;
	}
	p->rel[len] = '\0';
	if (in->kind == I_FILE)
		return find_file(p->c, p->rel) ? 0 : -ENOENT;
	if (in->kind == I_DIR || in->kind == I_CLASS)
		return find_dir(p->c, p->rel) ? 0 : -ENOENT;
	return 0;
}

int child_path(const vpath *dir, const char *name, char out[EVAULT_PATH_MAX + 1])
{
	size_t dl = strlen(dir->rel), nl = strlen(name);
	if (nl > EVAULT_COMPONENT_MAX || dl + (dl != 0) + nl > EVAULT_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, dir->rel, dl);
	if (dl)
		out[dl++] = '/';
	memcpy(out + dl, name, nl + 1);
	if (check_file_path(out) < 0) {
		evault_error_clear();
		return -EINVAL;
	}
	return 0;
}

inode *inode_of_path(vmission *vm, evault_class cls, const char *rel)
{
	inode *in = inode_child(T.root, vm->mid);
	if (in)
		in = inode_child(in, evault_class_name(cls));
	char part[EVAULT_COMPONENT_MAX + 1];
	for (const char *s = rel; in && *s;) {
		const char *sl = strchr(s, '/');
		size_t l = sl ? (size_t)(sl - s) : strlen(s);
		if (l > EVAULT_COMPONENT_MAX)
			return NULL;
		memcpy(part, s, l);
		part[l] = '\0';
		in = inode_child(in, part);
		s += l + (sl != NULL);
	}
	return in;
}
