/*
 * Live mounts of a repository and the missions they have files open for
 * writing in: REPO/mounts/<pid>, one line "writing MID" per such mission,
 * held under an exclusive flock for the mount's life. A file whose lock
 * can be taken belongs to a mount that is gone (it is removed). Close
 * reads them so that it never erases a class under a file being written.
 */
#ifndef EVAULT_MOUNTS_H
#define EVAULT_MOUNTS_H

#include <stdbool.h>

#include "repo.h"

typedef struct mount_reg {
	int fd;
	char *path;
} mount_reg;

int mount_reg_open(mount_reg *r, evault_repo *repo);
/* Rewrites the list of missions with files open for writing (NULL-terminated). */
int mount_reg_set(mount_reg *r, const char *const *mids);
void mount_reg_close(mount_reg *r);

/* Is a live mount writing files of mid? *pid gets the mount's process. */
bool mounts_writing(evault_repo *repo, const char *mid, long *pid);
/* Is a mount live on the repository, other than process except? */
bool mounts_live(evault_repo *repo, long except, long *pid);

#endif
