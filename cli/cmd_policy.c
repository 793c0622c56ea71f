/* evault policy: the vault's retention policy, recorded in the signed history. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_policy(cli *c, int argc, char **argv)
{
	static const char *usage = "usage: evault policy show | policy set KEY VALUE";
	if (argc == 2 && strcmp(argv[1], "show") == 0) {
		evault_buf out = EVAULT_BUF_INIT;
		if (cli_open_repo(c, CLI_AS_NOBODY) < 0 || evault_policy_show(c->repo, &out) < 0) {
			evault_buf_dispose(&out);
			return cli_fail();
		}
		fwrite(out.ptr, 1, out.size, stdout);
		evault_buf_dispose(&out);
		return EXIT_OK;
	}
	if (argc != 4 || strcmp(argv[1], "set") != 0)
		return cli_usage("%s", usage);
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 ||
	    evault_policy_set(c->repo, argv[2], argv[3]) < 0)
		return cli_fail();
	printf("policy %s %s (recorded)\n", argv[2], argv[3]);
	return EXIT_OK;
}
