/*
 * The fan-out of file entries under a class directory (layout.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "util.h"

int layout_class_dir(evault_buf *b, const char *mid, evault_class cls)
{
	b->size = 0;
	return evault_buf_printf(b, "missions/%s/%s", mid, evault_class_name(cls));
}

int layout_file_path(evault_buf *b, const char *mid, evault_class cls, const char *fid,
		     const char *ext)
{
	int rc = layout_class_dir(b, mid, cls);
	if (rc < 0)
		return rc;
	for (int i = 0; i < LAYOUT_FANOUT; i++)
		if ((rc = evault_buf_printf(b, "/%c", fid[i])) < 0)
			return rc;
	return evault_buf_printf(b, "/%s%s", fid, ext);
}

typedef struct walk {
	const state *st;
	evault_buf dir;
	char prefix[LAYOUT_FANOUT + 1];
	int depth;
	layout_file_cb cb;
	void *payload;
	int rc;
} walk;

static int bad_entry(walk *w, const char *name)
{
	return evault_error_set(EVAULT_ECORRUPT, "unexpected entry %s in %s", name, w->dir.ptr);
}

static int one_entry(const char *name, bool is_dir, void *p)
{
	walk *w = p;
	size_t n = strlen(name);
	if (w->depth < LAYOUT_FANOUT) {
		if (!is_dir || n != 1 || !is_hex(name, 1))
			return bad_entry(w, name);
		size_t keep = w->dir.size;
		int rc = evault_buf_printf(&w->dir, "/%s", name);
		if (rc < 0)
			return rc;
		w->prefix[w->depth++] = name[0];
		/* state_list stops at the first error and returns it */
		rc = state_list(w->st, w->dir.ptr, one_entry, w);
		w->depth--;
		w->dir.size = keep;
		w->dir.ptr[keep] = '\0';
		return rc;
	}
	if (is_dir || n < LAYOUT_FID_LEN || !is_hex(name, LAYOUT_FID_LEN) ||
	    memcmp(name, w->prefix, LAYOUT_FANOUT) != 0)
		return bad_entry(w, name);
	if (strcmp(name + LAYOUT_FID_LEN, ".objs") == 0)
		return 0;
	if (strcmp(name + LAYOUT_FID_LEN, ".enc") != 0)
		return bad_entry(w, name);
	char fid[LAYOUT_FID_LEN + 1];
	memcpy(fid, name, LAYOUT_FID_LEN);
	fid[LAYOUT_FID_LEN] = '\0';
	return w->cb(fid, w->payload);
}

int layout_each_file(const state *st, const char *mid, evault_class cls, layout_file_cb cb,
		     void *payload)
{
	walk w = {st, EVAULT_BUF_INIT, "", 0, cb, payload, 0};
	int rc = layout_class_dir(&w.dir, mid, cls);
	if (rc == 0)
		rc = state_list(st, w.dir.ptr, one_entry, &w);
	evault_buf_dispose(&w.dir);
	return rc;
}

int layout_parse_objs(const char *text, size_t len, layout_object_cb cb, void *payload)
{
	int rc = 0;
	if (len % 65)
		return evault_error_set(EVAULT_ECORRUPT, "an object list is not whole lines");
	for (size_t off = 0; off < len && rc == 0; off += 65) {
		uint8_t id[32];
		if (text[off + 64] != '\n' || !is_hex(text + off, 64) ||
		    hex_decode(id, sizeof(id), text + off, 64) < 0)
			return evault_error_set(EVAULT_ECORRUPT, "an object list is damaged");
		rc = cb(id, payload);
	}
	return rc;
}

typedef struct objects_walk {
	const state *st;
	const char *mid;
	evault_class cls;
	layout_object_cb cb;
	void *payload;
	evault_buf path, text;
} objects_walk;

static int objects_of(const char *fid, void *p)
{
	objects_walk *w = p;
	int rc;
	if ((rc = layout_file_path(&w->path, w->mid, w->cls, fid, ".objs")) < 0 ||
	    (rc = state_read(w->st, w->path.ptr, &w->text)) < 0)
		return rc == EVAULT_ENOTFOUND
			   ? evault_error_set(EVAULT_ECORRUPT, "%s is missing", w->path.ptr)
			   : rc;
	rc = layout_parse_objs(w->text.ptr, w->text.size, w->cb, w->payload);
	if (rc == EVAULT_ECORRUPT)
		evault_error_set(rc, "%s: %s", w->path.ptr, evault_error_last());
	return rc;
}

int layout_each_object(const state *st, const char *mid, evault_class cls, layout_object_cb cb,
		       void *payload)
{
	objects_walk w = {st, mid, cls, cb, payload, EVAULT_BUF_INIT, EVAULT_BUF_INIT};
	int rc = layout_each_file(st, mid, cls, objects_of, &w);
	evault_buf_dispose(&w.path);
	evault_buf_dispose(&w.text);
	return rc;
}

int objset_add(const uint8_t id[32], void *set)
{
	objset *s = set;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		void *p = realloc(s->id, cap * sizeof(*s->id));
		if (!p)
			return error_oom();
		s->id = p;
		s->cap = cap;
	}
	memcpy(s->id[s->n++], id, 32);
	return 0;
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

void objset_finish(objset *s)
{
	if (s->n < 2)
		return;
	qsort(s->id, s->n, sizeof(*s->id), id_cmp);
	size_t w = 1;
	for (size_t i = 1; i < s->n; i++)
		if (memcmp(s->id[i], s->id[w - 1], 32) != 0)
			memcpy(s->id[w++], s->id[i], 32);
	s->n = w;
}

bool objset_has(const objset *s, const uint8_t id[32])
{
	return s->n && bsearch(id, s->id, s->n, sizeof(*s->id), id_cmp) != NULL;
}

void objset_clear(objset *s)
{
	free(s->id);
	memset(s, 0, sizeof(*s));
}
