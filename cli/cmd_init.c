/* evault init: create a repository and its first admin. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

int cli_kdf_level(const char *s, evault_kdf_level *out)
{
	if (strcmp(s, "interactive") == 0)
		*out = EVAULT_KDF_INTERACTIVE;
	else if (strcmp(s, "moderate") == 0)
		*out = EVAULT_KDF_MODERATE;
	else if (strcmp(s, "sensitive") == 0)
		*out = EVAULT_KDF_SENSITIVE;
	else
		return -1;
	return 0;
}

/* mkdir -p of the identity file's directory, mode 0700. */
/* Creates the identity at c->identity_path, or loads and unlocks an existing one. */
int cli_identity_create_or_load(cli *c, const char *name, evault_kdf_level level, bool *created)
{
	struct stat st;
	*created = false;
	if (stat(c->identity_path, &st) == 0)
		return cli_load_identity(c, true);
	char *pass = NULL;
	size_t plen = 0;
	char prompt[160];
	snprintf(prompt, sizeof(prompt), "New passphrase for identity %s: ", name);
	int rc = cli_passphrase(c, prompt, true, &pass, &plen);
	if (rc < 0)
		return rc;
	/* characters, not bytes: a UTF-8 continuation byte starts none */
	size_t chars = 0;
	for (size_t i = 0; i < plen; i++)
		chars += ((unsigned char)pass[i] & 0xc0) != 0x80;
	if (chars < CLI_PASSPHRASE_MIN) {
		cli_passphrase_free(pass, plen);
		return evault_error_set(EVAULT_EINVAL,
					"passphrase refused: too short (%zu characters): a new "
					"passphrase has at least %d characters",
					chars, CLI_PASSPHRASE_MIN);
	}
	cli_identity_dir(c->identity_path);
	rc = evault_identity_create(&c->id, c->identity_path, name, pass, plen, level);
	cli_passphrase_free(pass, plen);
	*created = rc == 0;
	return rc;
}

int cmd_init(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"admin", required_argument, NULL, 'a'},
					     {"chunk-size", required_argument, NULL, 'c'},
					     {"zstd-level", required_argument, NULL, 'z'},
					     {"kdf", required_argument, NULL, 'k'},
					     CLI_SERVER_OPTIONS,
					     {NULL, 0, NULL, 0}};
	char server[1200] = "";
	evault_init_opts io = EVAULT_INIT_OPTS_INIT;
	evault_kdf_level level = EVAULT_KDF_INTERACTIVE;
	const char *admin = NULL;
	char *end;
	int o;
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'a': admin = optarg; break;
		case 'c':
			io.chunk_size = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || !*optarg)
				return cli_usage("--chunk-size takes a number of bytes");
			break;
		case 'z':
			io.zstd_level = (int)strtol(optarg, &end, 10);
			if (*end || !*optarg)
				return cli_usage("--zstd-level takes a number from 1 to 19");
			break;
		case 'k':
			if (cli_kdf_level(optarg, &level) < 0)
				return cli_usage("--kdf is interactive, moderate or sensitive");
			break;
		default: {
			int r = cli_server_option(server, sizeof(server), o, optarg);
			if (r != 1)
				return r ? r
					 : cli_usage("usage: evault init --admin NAME [--chunk-size "
						     "BYTES] [--zstd-level N] " CLI_SERVER_USAGE);
		}
		}
	}
	if (!admin || optind != argc)
		return cli_usage(
		    "usage: evault init --admin NAME [--chunk-size BYTES] [--zstd-level N] "
		    CLI_SERVER_USAGE);
	if (server[0])
		io.server_settings = server;
	if (!c->repo_path)
		return cli_usage("no repository: set EVAULT_REPO or use --repo PATH");
	bool created;
	if (cli_identity_create_or_load(c, admin, level, &created) < 0 ||
	    evault_repo_init(&c->repo, c->repo_path, &io, c->id, admin) < 0)
		return cli_fail();
	if (created)
		fprintf(stderr, "evault: created identity %s at %s\n", admin, c->identity_path);
	printf("initialised vault %s at %s (admin %s)\n", evault_repo_vault_id(c->repo),
	       c->repo_path, admin);
	return EXIT_OK;
}
