/*
 * evault get: read a file back. To a file OUT, the bytes go to a temporary
 * name beside it that is renamed over OUT only when every chunk verified,
 * so a corrupted object never leaves a partial or wrong OUT behind. An
 * existing OUT (or OUT/NAME when OUT is a directory) is refused, exit 7,
 * unless -f.
 */
#define _GNU_SOURCE /* renameat2: an OUT that appears meanwhile is not replaced */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

int cmd_get(cli *c, int argc, char **argv)
{
	static const char usage[] = "usage: evault get [-f] MID/CLASS/PATH [OUT]";
	bool force = false;
	const char *arg[2] = {NULL, NULL};
	int n = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--force") == 0)
			force = true;
		else if ((argv[i][0] == '-' && argv[i][1]) || n == 2)
			return cli_usage("%s", usage);
		else
			arg[n++] = argv[i];
	}
	if (n == 0)
		return cli_usage("%s", usage);
	const char *vp = arg[0], *out = arg[1] ? arg[1] : "-";

	/* an existing OUT is refused before the passphrase is asked, as put refuses an
	 * existing path: -f replaces it */
	char target[4096], tmp[4200];
	struct stat st;
	if (strcmp(out, "-") != 0) {
		if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
			const char *base = strrchr(vp, '/');
			snprintf(target, sizeof(target), "%s/%s", out, base ? base + 1 : vp);
		} else {
			snprintf(target, sizeof(target), "%s", out);
		}
		if (!force && lstat(target, &st) == 0)
			return evault_error_set(EVAULT_EEXISTS,
						"%s already exists (use -f to replace it)", target),
			       cli_fail();
	}
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0)
		return cli_fail();
	if (strcmp(out, "-") == 0)
		return evault_file_get_fd(c->repo, vp, STDOUT_FILENO) < 0 ? cli_fail() : EXIT_OK;

	snprintf(tmp, sizeof(tmp), "%s.evault-%08x", target, randombytes_random());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return evault_error_set(EVAULT_ERROR, "cannot create %s: %s", tmp, strerror(errno)),
		       cli_fail();
	int rc = evault_file_get_fd(c->repo, vp, fd);
	if (rc == 0 && fsync(fd) < 0)
		rc = evault_error_set(EVAULT_ERROR, "cannot write %s: %s", target, strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = evault_error_set(EVAULT_ERROR, "cannot write %s: %s", target, strerror(errno));
	if (rc == 0 && force && rename(tmp, target) < 0)
		rc =
		    evault_error_set(EVAULT_ERROR, "cannot create %s: %s", target, strerror(errno));
	/* without -f, a name that appeared meanwhile is not replaced either (where the
	 * filesystem cannot say, OUT was checked above) */
	if (rc == 0 && !force) {
		int r = renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE);
		if (r < 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP))
			r = rename(tmp, target);
		if (r < 0 && errno == EEXIST)
			rc = evault_error_set(EVAULT_EEXISTS,
					      "%s already exists (use -f to replace it)", target);
		else if (r < 0)
			rc = evault_error_set(EVAULT_ERROR, "cannot create %s: %s", target,
					      strerror(errno));
	}
	if (rc < 0) {
		unlink(tmp);
		return cli_fail();
	}
	return EXIT_OK;
}
