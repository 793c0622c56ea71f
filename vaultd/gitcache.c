/*
 * Per-thread object cache for history verification: see gitcache.h.
 *
 * Slot s holds at most one object, whose id's first two bytes select s;
 * a new object replaces the old one (direct-mapped: no search, no list,
 * constant time and memory). A slot owns one reference to its object.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evault/common.h"
#include "gitcache.h"
#include "util.h"

/* 4,096 slots (the next event on the same mission, a hundred events
 * later, still finds its trees), objects of at most 64 KiB (a tree of at
 * most 1,024 entries), 8 MiB in all: a hostile history cannot make it
 * bigger; evault's own events touch about twenty small objects each. */
#define SLOTS 4096
#define MAX_BYTES (64 * 1024)
#define MAX_ENTRIES 1024
#define BUDGET (8 * 1024 * 1024)

typedef struct slot {
	git_oid id;
	git_object *obj;
	size_t bytes;
} slot;

struct gitcache {
	git_repository *git;
	size_t bytes; /* sum of the slots' sizes, at most BUDGET */
	slot s[SLOTS];
};

static _Thread_local gitcache *bound;

int gitcache_new(gitcache **out, git_repository *git)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return error_oom();
	(*out)->git = git;
	return 0;
}

void gitcache_free(gitcache *c)
{
	if (!c)
		return;
	if (bound == c)
		bound = NULL;
	for (size_t i = 0; i < SLOTS; i++)
		git_object_free(c->s[i].obj);
	free(c);
}

void gitcache_bind(gitcache *c)
{
	bound = c;
}

/* An object's size as counted against the budget; 0: never cached. */
static size_t cost(git_object *o)
{
	size_t n = 0;
	switch (git_object_type(o)) {
	case GIT_OBJECT_TREE:
		n = git_tree_entrycount((git_tree *)o);
		return n <= MAX_ENTRIES ? 64 + 64 * n : 0;
	case GIT_OBJECT_BLOB:
		n = (size_t)git_blob_rawsize((git_blob *)o);
		return n <= MAX_BYTES ? 64 + n : 0;
	case GIT_OBJECT_COMMIT: {
		const char *h = git_commit_raw_header((git_commit *)o);
		const char *m = git_commit_message_raw((git_commit *)o);
		n = h && m ? strnlen(h, MAX_BYTES + 1) + strnlen(m, MAX_BYTES + 1) : SIZE_MAX;
		return n <= MAX_BYTES ? 256 + 2 * n : 0;
	}
	default: return 0;
	}
}

int gitcache_lookup(git_object **out, git_repository *git, const git_oid *id, git_object_t type)
{
	gitcache *c = bound;
	*out = NULL;
	if (!c || c->git != git)
		return git_object_lookup(out, git, id, type);
	slot *s = &c->s[(id->id[0] | (unsigned)id->id[1] << 8) % SLOTS];
	if (s->obj && git_oid_equal(&s->id, id)) {
		if (type != GIT_OBJECT_ANY && git_object_type(s->obj) != type) {
			git_error_set_str(GIT_ERROR_INVALID,
					  "the requested type does not match the type in the ODB");
			return GIT_ENOTFOUND;
		}
		return git_object_dup(out, s->obj);
	}
	int rc = git_object_lookup(out, git, id, type);
	size_t n = rc < 0 ? 0 : cost(*out);
	if (n == 0)
		return rc;
	git_object_free(s->obj);
	c->bytes -= s->bytes;
	s->obj = NULL;
	s->bytes = 0;
	if (c->bytes + n <= BUDGET && git_object_dup(&s->obj, *out) == 0) {
		s->id = *id;
		s->bytes = n;
		c->bytes += n;
	}
	return rc;
}
