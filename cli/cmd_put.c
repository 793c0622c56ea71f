/* evault put: store files (or standard input) in a mission's class. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* A destination names a directory: it ends in '/' or is only MID/CLASS. */
static bool dest_is_dir(const char *dest)
{
	size_t n = strlen(dest);
	if (n && dest[n - 1] == '/')
		return true;
	const char *s = strchr(dest, '/');
	return s && !strchr(s + 1, '/');
}

/* The destination's second part is a class: "M-1/x.txt" forgot it. */
static int check_dest_class(const char *dest)
{
	const char *s = strchr(dest, '/');
	char cls[16];
	evault_class ec;
	if (s) {
		size_t n = strcspn(s + 1, "/");
		if (n < sizeof(cls)) {
			memcpy(cls, s + 1, n);
			cls[n] = '\0';
			if (evault_class_parse(&ec, cls) == 0)
				return 0;
		}
		evault_error_clear();
	}
	return cli_usage("%s: no class: the destination is MID/CLASS/PATH, CLASS one of dossier, "
			 "work, codes",
			 dest);
}

static int put_one(cli *c, const char *src, const char *dest, bool dir, bool many,
		   const evault_put_opts *po)
{
	char target[8192];
	int fd = 0;
	if (strcmp(src, "-") == 0) {
		if (dir)
			return cli_usage("reading stdin needs a file name: MID/CLASS/NAME");
		snprintf(target, sizeof(target), "%s", dest);
	} else {
		struct stat st;
		fd = open(src, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return evault_error_set(EVAULT_ENOTFOUND, "cannot open %s: %s", src,
						strerror(errno)),
			       cli_fail();
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			close(fd);
			return cli_usage("%s is a directory (put takes files)", src);
		}
		if (dir) {
			char tmp[4096];
			snprintf(tmp, sizeof(tmp), "%s", src);
			size_t n = strlen(dest);
			snprintf(target, sizeof(target), "%s%s%s", dest,
				 n && dest[n - 1] == '/' ? "" : "/", basename(tmp));
		} else {
			snprintf(target, sizeof(target), "%s", dest);
		}
	}
	int rc = evault_file_put_fd(c->repo, target, fd, po);
	if (fd > 0)
		close(fd);
	if (rc < 0) {
		/* several sources: say which one was refused (the one error line,
		 * as every other: cli_fail) */
		if (many) {
			char why[1024];
			snprintf(why, sizeof(why), "%s", evault_error_last());
			evault_error_set(rc, "%s: %s", src, why);
		}
		return cli_fail();
	}
	printf("%s\n", target);
	return EXIT_OK;
}

int cmd_put(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	evault_put_opts po = EVAULT_PUT_OPTS_INIT;
	int o;
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (o != 'f')
			return cli_usage("usage: evault put [-f] SRC... MID/CLASS/[PATH]");
		po.force = true;
	}
	int nsrc = argc - optind - 1;
	if (nsrc < 1)
		return cli_usage("usage: evault put [-f] SRC... MID/CLASS/[PATH]");
	const char *dest = argv[argc - 1];
	bool dir = dest_is_dir(dest) || nsrc > 1;
	if (check_dest_class(dest) != EXIT_OK)
		return EXIT_USAGE;
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0)
		return cli_fail();
	for (int i = optind; i < argc - 1; i++) {
		int rc = put_one(c, argv[i], dest, dir, nsrc > 1, &po);
		if (rc != EXIT_OK)
			return rc;
	}
	return EXIT_OK;
}
