/* evault codes: mark access codes rotated or reported before close. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_codes(cli *c, int argc, char **argv)
{
	static const char *usage =
	    "usage: evault codes mark MID/codes/PATH --rotated | --reported-to CONTACT";
	static const struct option opts[] = {{"rotated", no_argument, NULL, 'r'},
					     {"reported-to", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	if (argc < 2 || strcmp(argv[1], "mark") != 0)
		return cli_usage("%s", usage);
	bool rotated = false;
	const char *contact = NULL;
	int o;
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (o) {
		case 'r': rotated = true; break;
		case 't': contact = optarg; break;
		default: return cli_usage("%s", usage);
		}
	}
	if (rotated == (contact != NULL) || optind != argc - 2)
		return cli_usage("%s", usage);
	const char *vpath = argv[1 + optind];
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 || evault_codes_mark(c->repo, vpath, contact) < 0)
		return cli_fail();
	printf("marked %s as %s\n", vpath, rotated ? "rotated" : "reported");
	return EXIT_OK;
}
