/* evault audit: what auditors need. allowed-signers feeds stock git. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_audit(cli *c, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "allowed-signers") != 0)
		return cli_usage("usage: evault audit allowed-signers");
	evault_buf out = EVAULT_BUF_INIT;
	if (cli_open_repo(c, CLI_AS_NOBODY) < 0 || evault_audit_allowed_signers(c->repo, &out) < 0)
		return cli_fail();
	fwrite(out.ptr, 1, out.size, stdout);
	evault_buf_dispose(&out);
	return EXIT_OK;
}
