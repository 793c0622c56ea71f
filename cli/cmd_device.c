/* evault device: the replicas of the vault's users (docs/deploy.md, "Devices and erasure"). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_device(cli *c, int argc, char **argv)
{
	static const char *usage = "usage: evault device list | device revoke NAME";
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		evault_buf out = EVAULT_BUF_INIT;
		if (cli_open_repo(c, CLI_AS_PUBLIC) < 0 || evault_device_list(c->repo, &out) < 0) {
			evault_buf_dispose(&out);
			return cli_fail();
		}
		fwrite(out.ptr, 1, out.size, stdout);
		evault_buf_dispose(&out);
		return EXIT_OK;
	}
	if (argc != 3 || strcmp(argv[1], "revoke") != 0)
		return cli_usage("%s", usage);
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 || evault_device_revoke(c->repo, argv[2]) < 0)
		return cli_fail();
	printf("device %s revoked: the office answers it only to let it erase what it holds, "
	       "then never again\n",
	       argv[2]);
	return EXIT_OK;
}
