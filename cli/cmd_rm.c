/* evault rm: remove files from a mission (the history keeps the event). */
#include <stdio.h>

#include "cli.h"

int cmd_rm(cli *c, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("usage: evault rm MID/CLASS/PATH...");
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0)
		return cli_fail();
	for (int i = 1; i < argc; i++)
		if (evault_file_remove(c->repo, argv[i]) < 0)
			return cli_fail();
	return EXIT_OK;
}
