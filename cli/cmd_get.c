/*
 * evault get: read a file back. To a file OUT, the bytes go to a temporary
 * name beside it that is renamed over OUT only when every chunk verified,
 * so a corrupted object never leaves a partial or wrong OUT behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

int cmd_get(cli *c, int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		return cli_usage("usage: evault get MID/CLASS/PATH [OUT]");
	const char *vp = argv[1], *out = argc == 3 ? argv[2] : "-";
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0)
		return cli_fail();
	if (strcmp(out, "-") == 0)
		return evault_file_get_fd(c->repo, vp, STDOUT_FILENO) < 0 ? cli_fail() : EXIT_OK;

	char target[4096], tmp[4200];
	struct stat st;
	if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
		const char *base = strrchr(vp, '/');
		snprintf(target, sizeof(target), "%s/%s", out, base ? base + 1 : vp);
	} else {
		snprintf(target, sizeof(target), "%s", out);
	}
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
	if (rc == 0 && rename(tmp, target) < 0)
		rc =
		    evault_error_set(EVAULT_ERROR, "cannot create %s: %s", target, strerror(errno));
	if (rc < 0) {
		unlink(tmp);
		return cli_fail();
	}
	return EXIT_OK;
}
