/*
 * Packs the history's loose objects (histpack.c): run by gc under the
 * repository lock.
 */
#ifndef EVAULT_HISTPACK_H
#define EVAULT_HISTPACK_H

#include <stdbool.h>
#include <stddef.h>

#include "evault/repo.h"

typedef struct histpack_result {
	size_t loose;        /* loose objects found (packed unless a dry run) */
	size_t packs_after;  /* packs after it (a dry run: would be) */
} histpack_result;

int histpack_run(evault_repo *repo, bool dry_run, histpack_result *out);

#endif
