/*
 * The FUSE view of a vault (docs/mount.md): `evault mount` serves the
 * acting user's missions at a mount point until it is unmounted. Built on
 * libfuse3's low-level (inode) API; see docs/architecture.md.
 */
#ifndef EVAULT_FUSEFS_MOUNT_H
#define EVAULT_FUSEFS_MOUNT_H

#include <stdbool.h>

#include "evault/repo.h"

typedef struct evault_mount_opts {
	bool foreground;
	bool read_only;
	bool debug;
	/* a replica: seconds between background syncs with the office (0: none) */
	unsigned sync_interval;
} evault_mount_opts;

/*
 * Checks, before anything is mounted or unlocked, that mountpoint can be
 * mounted on: it exists, is a directory, is not a mount point already and
 * is empty; /dev/fuse is there and open to the user; fusermount3 is
 * installed. Each failure is one error "MOUNTPOINT: why" with its code
 * (docs/mount.md, "Mounting: what is checked first").
 */
int evault_mount_check(const char *mountpoint);

/*
 * Mounts and serves until unmounted. The repository must act as an
 * unlocked identity. In the background (default) the process detaches
 * once the mount is in place; errors before that are returned.
 * Returns 0 when the file system was unmounted cleanly.
 */
int evault_mount_run(evault_repo *repo, const char *mountpoint, const evault_mount_opts *o);

#endif
