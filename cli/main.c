/*
 * evault: the command line of the evidence vault. Global options may stand
 * anywhere before "--"; the first other word names the command, which
 * parses the rest. Each command is a thin call into the engine; errors are
 * mapped to exit codes in one place (common.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "help.h"

static const cli_command commands[] = {
    {"init", cmd_init},       {"identity", cmd_identity},
    {"user", cmd_user},       {"mission", cmd_mission},
    {"codes", cmd_codes},     {"mount", cmd_mount},
    {"umount", cmd_umount},   {"import", cmd_import},
    {"put", cmd_put},         {"get", cmd_get},
    {"ls", cmd_ls},           {"rm", cmd_rm},
    {"log", cmd_log},         {"audit", cmd_audit},
    {"policy", cmd_policy},   {"retention", cmd_retention},
    {"gc", cmd_gc},           {"clone", cmd_clone},
    {"sync", cmd_sync},       {"status", cmd_status},
    {"device", cmd_device},   {"serve", cmd_serve},
    {"objects", cmd_objects}, {"fsck", cmd_fsck},
    {"report", cmd_report},   {"dossier", cmd_dossier},
};

/*
 * evault help [COMMAND [SUB]] | help --man [COMMAND] | help --complete
 * WORD...: the pages of help.c.
 */
static int help_command(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--man") == 0) {
		if (argc > 3 || help_man(stdout, argc == 3 ? argv[2] : NULL) < 0)
			return cli_usage("unknown command '%s' (see 'evault --help')",
					 argv[argc - 1]);
		return EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "--complete") == 0) {
		help_complete(stdout, argc - 2, argv + 2);
		return EXIT_OK;
	}
	if (argc == 1) {
		help_overview(stdout);
		return EXIT_OK;
	}
	if (argc > 3 || help_page(stdout, argv[1], argc == 3 ? argv[2] : NULL) < 0) {
		if (!help_group_find(argv[1]))
			return cli_usage("unknown command '%s' (see 'evault --help')", argv[1]);
		return cli_usage("unknown subcommand '%s %s' (see 'evault help %s')", argv[1],
				 argv[2], argv[1]);
	}
	return EXIT_OK;
}

static const cli_command *find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Takes the global options out of argv; returns the new argc or -1. */
static int take_globals(cli *c, int argc, char **argv, bool *help, bool *version)
{
	int out = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		const char *val = NULL;
		if (strcmp(a, "--") == 0) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strcmp(a, "-R") == 0 || strcmp(a, "--repo") == 0)
			slot = &c->repo_path;
		else if (strncmp(a, "--repo=", 7) == 0)
			slot = &c->repo_path, val = a + 7;
		else if (strcmp(a, "--identity") == 0)
			slot = &c->identity_path;
		else if (strncmp(a, "--identity=", 11) == 0)
			slot = &c->identity_path, val = a + 11;
		else if (strcmp(a, "--passphrase-file") == 0)
			slot = &c->passphrase_file;
		else if (strncmp(a, "--passphrase-file=", 18) == 0)
			slot = &c->passphrase_file, val = a + 18;
		else if (strcmp(a, "--version") == 0 && out == 1) {
			*version = true;
			continue;
		} else if (strcmp(a, "--json") == 0) {
			c->json = true;
			continue;
		} else if ((strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			*help = true;
			continue;
		}
		if (!slot) {
			argv[out++] = argv[i];
			continue;
		}
		if (!val) {
			if (i + 1 >= argc)
				return cli_usage("%s needs a value", a), -1;
			val = argv[++i];
		}
		*slot = val;
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	cli c;
	bool help = false, version = false;
	int rc;
	/* No core files: a crash must not write plaintext chunks (or, for the
	 * mount, a long-lived process's buffers) to disk. Keys live in
	 * sodium_malloc memory, which is excluded from dumps anyway. */
	struct rlimit nocore = {0, 0};
	setrlimit(RLIMIT_CORE, &nocore);
	memset(&c, 0, sizeof(c));
	c.repo_path = getenv("EVAULT_REPO");
	c.identity_path = getenv("EVAULT_IDENTITY");
	c.passphrase_file = getenv("EVAULT_PASSPHRASE_FILE");
	if (c.repo_path && !*c.repo_path)
		c.repo_path = NULL;
	if (c.passphrase_file && !*c.passphrase_file)
		c.passphrase_file = NULL;
	if ((argc = take_globals(&c, argc, argv, &help, &version)) < 0)
		return EXIT_USAGE;
	if (!c.identity_path || !*c.identity_path) {
		const char *home = getenv("HOME");
		snprintf(c.identity_default, sizeof(c.identity_default),
			 "%s/.config/evault/identity", home && *home ? home : ".");
		c.identity_path = c.identity_default;
	}
	if (version) {
		printf("evault %s\n", EVAULT_VERSION);
		return EXIT_OK;
	}
	if (argc < 2 && !help) {
		help_overview(stderr);
		return EXIT_USAGE;
	}
	if (help && argc == 2 && strcmp(argv[1], "help") == 0)
		return help_page(stdout, "help", NULL), EXIT_OK;
	if (argc < 2 || strcmp(argv[1], "help") == 0)
		return help_command(argc < 2 ? 1 : argc - 1, argc < 2 ? argv : argv + 1);
	const cli_command *cmd;
	if (!(cmd = find(argv[1])))
		return cli_usage("unknown command '%s' (see 'evault --help')", argv[1]);
	if (help) {
		/* the page of the subcommand named, else the command's */
		const help_group *g = help_group_find(argv[1]);
		const char *sub =
		    argc > 2 && g && g->subs[0].name && help_sub_find(g, argv[2]) ? argv[2] : NULL;
		help_page(stdout, argv[1], sub);
		return EXIT_OK;
	}
	if (c.json) {
		const help_sub *s = help_lookup(argc - 1, argv + 1);
		if (!s || !s->json)
			return cli_usage(
			    "--json: 'evault %s%s%s' has no JSON output (see its --help)", argv[1],
			    s && s->name ? " " : "", s && s->name ? s->name : "");
	}
	if (evault_global_init() < 0)
		return cli_fail();
	/* the mount and serve run long, for the kernel or a laptop: no progress line */
	if (strcmp(cmd->name, "mount") != 0 && strcmp(cmd->name, "serve") != 0)
		cli_progress_start();
	rc = cmd->run(&c, argc - 1, argv + 1);
	cli_progress_clear();
	evault_repo_free(c.repo);
	evault_identity_free(c.identity_path ? c.id : NULL);
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		perror("evault: stdout");
		rc = EXIT_ERROR;
	}
	return rc;
}
