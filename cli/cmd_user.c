/* evault user: add and list the vault's users. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int print_user(const evault_user_info *u, void *p)
{
	json *j = p;
	if (j) {
		json_object(j);
		json_kstr(j, "name", u->name);
		json_kstr(j, "role", evault_role_name(u->role));
		json_kstr(j, "status", u->status);
		json_kstr(j, "fingerprint", u->fingerprint);
		json_kstr(j, "key", u->key_line);
		json_end(j);
		return 0;
	}
	printf("%-16s %-10s %-8s %s\n", u->name, evault_role_name(u->role), u->status,
	       u->fingerprint);
	return 0;
}

int cmd_user(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
					     {"pubkey", required_argument, NULL, 'p'},
					     {NULL, 0, NULL, 0}};
	if (argc < 2)
		return cli_usage(
		    "usage: evault user add NAME --role ROLE --pubkey KEY | user disable NAME | user "
		    "list");
	if (strcmp(argv[1], "list") == 0) {
		if (argc != 2)
			return cli_usage("usage: evault user list");
		json j;
		json_init(&j, stdout);
		if (cli_open_repo(c, CLI_AS_NOBODY) < 0)
			return cli_fail();
		if (c->json)
			json_list_doc(&j, "users");
		if (evault_user_list(c->repo, print_user, c->json ? &j : NULL) < 0)
			return cli_fail();
		if (c->json)
			json_list_doc_end(&j);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "disable") == 0) {
		if (argc != 3)
			return cli_usage("usage: evault user disable NAME");
		if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 ||
		    evault_user_disable(c->repo, argv[2]) < 0)
			return cli_fail();
		printf("disabled %s: every copy of their mission keys destroyed\n", argv[2]);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "add") != 0)
		return cli_usage("unknown user command '%s' (add, disable, list)", argv[1]);
	const char *role = NULL, *pubkey = NULL;
	int o;
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (o) {
		case 'r': role = optarg; break;
		case 'p': pubkey = optarg; break;
		default: return cli_usage("usage: evault user add NAME --role ROLE --pubkey KEY");
		}
	}
	if (!role || !pubkey || optind != argc - 2)
		return cli_usage("usage: evault user add NAME --role ROLE --pubkey KEY");
	const char *name = argv[1 + optind];
	evault_role r;
	if (evault_role_parse(&r, role) < 0)
		return cli_fail();
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 || evault_user_add(c->repo, name, r, pubkey) < 0)
		return cli_fail();
	printf("added %s (%s)\n", name, role);
	return EXIT_OK;
}
