/* Live mounts and the missions they write (mounts.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mounts.h"
#include "util.h"

int mount_reg_open(mount_reg *r, evault_repo *repo)
{
	char dir[4200];
	r->fd = -1;
	r->path = NULL;
	snprintf(dir, sizeof(dir), "%s/mounts", repo->path);
	int orc = check_repo_owner(repo->path);
	if (orc < 0)
		return orc;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return error_errno("cannot register the mount", dir);
	size_t n = strlen(dir) + 32;
	if (!(r->path = malloc(n)))
		return error_oom();
	snprintf(r->path, n, "%s/%ld", dir, (long)getpid());
	r->fd = open(r->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (r->fd < 0 || flock(r->fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = error_errno("cannot register the mount", r->path);
		mount_reg_close(r);
		return rc;
	}
	return 0;
}

int mount_reg_set(mount_reg *r, const char *const *mids)
{
	evault_buf b = EVAULT_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; mids[i] && rc == 0; i++)
		rc = evault_buf_printf(&b, "writing %s\n", mids[i]);
	if (rc == 0 && (ftruncate(r->fd, 0) < 0 ||
			(b.size && pwrite(r->fd, b.ptr, b.size, 0) != (ssize_t)b.size)))
		rc = error_errno("cannot update the mount registry", r->path);
	evault_buf_dispose(&b);
	return rc;
}

void mount_reg_close(mount_reg *r)
{
	if (r->path && r->fd >= 0)
		unlink(r->path);
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	r->fd = -1;
	r->path = NULL;
}

/*
 * Each live mount of the repository: fn(its pid, its registry text, payload)
 * until fn returns true (then *pid is that mount's). Registry files whose
 * mount is gone are removed on the way.
 */
typedef bool (*mount_fn)(long pid, char *text, void *payload);

static bool mounts_find(evault_repo *repo, mount_fn fn, void *payload, long *pid)
{
	char dir[4200], path[4200 + 260];
	bool yes = false;
	snprintf(dir, sizeof(dir), "%s/mounts", repo->path);
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *e;
	while (!yes && (e = readdir(d))) {
		char *end;
		long p = strtol(e->d_name, &end, 10);
		if (*end || p <= 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) { /* its mount is gone */
			unlink(path);
			close(fd);
			continue;
		}
		char buf[8192];
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if ((yes = fn(p, buf, payload)))
			*pid = p;
	}
	closedir(d);
	return yes;
}

static bool writing_fn(long pid, char *text, void *payload)
{
	(void)pid;
	for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
		if (strcmp(l, payload) == 0)
			return true;
	return false;
}

bool mounts_writing(evault_repo *repo, const char *mid, long *pid)
{
	char want[128];
	snprintf(want, sizeof(want), "writing %s", mid);
	return mounts_find(repo, writing_fn, want, pid);
}

static bool other_fn(long pid, char *text, void *payload)
{
	(void)text;
	return pid != *(const long *)payload;
}

bool mounts_live(evault_repo *repo, long except, long *pid)
{
	return mounts_find(repo, other_fn, &except, pid);
}
