/*
 * A small cache of parsed git objects for one thread of history
 * verification (verify_walk.c). Consecutive events share most of their state:
 * an event's tree is its child's parent tree, the users directory and the
 * mission records rarely change, and each event reads the same trees
 * several times. libgit2's own cache is turned off (state.c: its random
 * eviction churns), so without this every read inflates and re-hashes the
 * object again.
 *
 * A cache is bound to one repository handle and used by one thread:
 * gitcache_bind makes it the calling thread's, and gitcache_lookup, given
 * that repository, answers from it; given any other repository (or with
 * nothing bound) it is a plain git_object_lookup. Objects are what libgit2
 * read with its hash verification on; the cache holds references (never
 * copies), so a caller frees what it got as usual.
 *
 * Memory is bounded: a fixed number of slots (direct-mapped by object id)
 * and only objects under a size limit, whatever the history's length.
 */
#ifndef EVAULT_GITCACHE_H
#define EVAULT_GITCACHE_H

#include <git2.h>

typedef struct gitcache gitcache;

/* A cache for objects of git (borrowed: it must outlive the cache). */
int gitcache_new(gitcache **out, git_repository *git);
/* Drops every object held; NULL is a no-op. Unbinds it if bound. */
void gitcache_free(gitcache *c);

/* Makes c the calling thread's cache (NULL: none). */
void gitcache_bind(gitcache *c);

/* git_object_lookup through the calling thread's cache when it is bound to
 * git. *out belongs to the caller (git_object_free). */
int gitcache_lookup(git_object **out, git_repository *git, const git_oid *id, git_object_t type);

#endif
