/*
 * The fan-out of file entries under a class directory (layout.h).
 */
#include <stdio.h>
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

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
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
		if (!is_dir || n != 1 || !lower_hex(name, 1))
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
	if (is_dir || n < LAYOUT_FID_LEN || !lower_hex(name, LAYOUT_FID_LEN) ||
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
