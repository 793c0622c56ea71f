/* evault rm: remove files from a mission (the history keeps the event). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_rm(cli *c, int argc, char **argv)
{
	bool damaged = argc > 1 && strcmp(argv[1], "--damaged") == 0;
	int first = damaged ? 2 : 1;
	if (argc <= first || (argc > first && argv[first][0] == '-'))
		return cli_usage("usage: evault rm MID/CLASS/PATH...\n"
				 "       evault rm --damaged MID/CLASS/FID...");
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0)
		return cli_fail();
	for (int i = first; i < argc; i++)
		if ((damaged ? evault_file_remove_damaged(c->repo, argv[i])
			     : evault_file_remove(c->repo, argv[i])) < 0)
			return cli_fail();
	return EXIT_OK;
}
