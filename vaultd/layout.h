/*
 * Where a mission's files live in the state tree (docs/format.md):
 *
 *   missions/<mid>/<class>/<f0>/<f1>/<fid>.enc    manifest (class key)
 *   missions/<mid>/<class>/<f0>/<f1>/<fid>.objs   object names
 *
 * fid is 32 random lowercase hex digits; f0 and f1 are its first two. The
 * two levels of 16 buckets keep every tree an event rewrites (or an
 * auditor re-reads) small whatever the number of files in a class.
 */
#ifndef EVAULT_LAYOUT_H
#define EVAULT_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/common.h"
#include "state.h"

#define LAYOUT_FID_LEN 32
#define LAYOUT_FANOUT 2 /* levels of one hex digit each */
/* The most files one file.commit event records (the verifier's bound too). */
#define LAYOUT_COMMIT_MAX 1000

/* b = "missions/<mid>/<class>" (b is reset first). */
int layout_class_dir(evault_buf *b, const char *mid, evault_class cls);
/* b = the path of fid's entry with extension ext (".enc" or ".objs"). */
int layout_file_path(evault_buf *b, const char *mid, evault_class cls, const char *fid,
		     const char *ext);

/* Calls cb with each file id of the class (order: by fid). Any entry that
 * is not where the layout puts it is EVAULT_ECORRUPT. */
typedef int (*layout_file_cb)(const char *fid, void *payload);
int layout_each_file(const state *st, const char *mid, evault_class cls, layout_file_cb cb,
		     void *payload);

/* Parses a .objs list (64 hex digits and a newline per object), calling cb
 * with each id in order; EVAULT_ECORRUPT if it is not such a list. */
typedef int (*layout_object_cb)(const uint8_t id[32], void *payload);
int layout_parse_objs(const char *text, size_t len, layout_object_cb cb, void *payload);
/* Every object named by the live files of a class (keyless; an object shared
 * by two files is named twice). */
int layout_each_object(const state *st, const char *mid, evault_class cls, layout_object_cb cb,
		       void *payload);

/* A set of object ids: add (a layout_object_cb), then finish (sort, unique), then has. */
typedef struct objset {
	uint8_t (*id)[32];
	size_t n, cap;
} objset;
int objset_add(const uint8_t id[32], void *set);
void objset_finish(objset *s);
bool objset_has(const objset *s, const uint8_t id[32]);
void objset_clear(objset *s);

#endif
