/* evault identity: create or show the user's key pair. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int show(cli *c)
{
	evault_buf line = EVAULT_BUF_INIT;
	if (cli_load_identity(c, false) < 0 || evault_identity_public_line(&line, c->id) < 0)
		return cli_fail();
	printf("%s\n", line.ptr);
	evault_buf_dispose(&line);
	return EXIT_OK;
}

int cmd_identity(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
					     {"kdf", required_argument, NULL, 'k'},
					     {NULL, 0, NULL, 0}};
	const char *name = NULL;
	evault_kdf_level level = EVAULT_KDF_INTERACTIVE;
	int o;
	if (argc < 2)
		return cli_usage("usage: evault identity new --name NAME | identity show");
	if (strcmp(argv[1], "show") == 0) {
		if (argc != 2)
			return cli_usage("usage: evault identity show");
		return show(c);
	}
	if (strcmp(argv[1], "new") != 0)
		return cli_usage("unknown identity command '%s' (new, show)", argv[1]);
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (o) {
		case 'n': name = optarg; break;
		case 'k':
			if (cli_kdf_level(optarg, &level) < 0)
				return cli_usage("--kdf is interactive, moderate or sensitive");
			break;
		default: return cli_usage("usage: evault identity new --name NAME [--kdf LEVEL]");
		}
	}
	if (!name || optind != argc - 1)
		return cli_usage("usage: evault identity new --name NAME [--kdf LEVEL]");
	FILE *f = fopen(c->identity_path, "r");
	if (f) {
		fclose(f);
		return evault_error_set(EVAULT_EEXISTS, "an identity already exists at %s",
					c->identity_path),
		       cli_fail();
	}
	bool created;
	if (cli_identity_create_or_load(c, name, level, &created) < 0)
		return cli_fail();
	fprintf(stderr, "evault: created identity %s at %s\n", name, c->identity_path);
	return show(c);
}
