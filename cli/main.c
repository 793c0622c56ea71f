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

static const cli_command commands[] = {
    {"init", cmd_init,
     "init --admin NAME [--chunk-size BYTES] [--zstd-level N] [--kdf LEVEL]\n"
     "                 [--objects local|rados:POOL[/NAMESPACE]] [--rados-conf PATH]\n"
     "                 [--rados-user NAME] [--rados-keyring PATH] [--rados-timeout SECONDS]",
     "create a repository; the admin's identity is created if absent"},
    {"identity", cmd_identity, "identity new --name NAME [--kdf LEVEL] | identity show",
     "create or show your identity (key pair)"},
    {"user", cmd_user, "user add NAME --role ROLE --pubkey KEY | user list",
     "manage users (admin)"},
    {"mission", cmd_mission,
     "mission create MID [--client C] [--site S] [--description D] [--member USER]... |\n"
     "                 list | show MID | grant MID USER | revoke MID USER |\n"
     "                 close MID [--dry-run] [--force] | certificate MID |\n"
     "                 authorize-photos MID --by \"NAME, ROLE\" --ref REF --scope SCOPE",
     "manage missions; close erases work and codes (admin)"},
    {"codes", cmd_codes, "codes mark MID/codes/PATH --rotated | --reported-to CONTACT",
     "record that an access code was changed or handed back to the client"},
    {"mount", cmd_mount, "mount MOUNTPOINT [--foreground] [-o ro]",
     "the vault as a folder: your missions, plaintext only in memory"},
    {"umount", cmd_umount, "umount MOUNTPOINT", "unmount once every file is recorded"},
    {"import", cmd_import, "import MID SOURCE_DIR [--to CLASS[/DIR]] [--wipe-source]",
     "copy a camera card in, prove every copy, then wipe the card"},
    {"put", cmd_put, "put [-f] SRC... MID/CLASS/[PATH]   (SRC '-' reads stdin)",
     "store files in a mission"},
    {"get", cmd_get, "get [-f] MID/CLASS/PATH [OUT]   (stdout when OUT is absent or '-')",
     "read a file back"},
    {"ls", cmd_ls, "ls [-l] [MID[/CLASS[/DIR]]]", "list missions, classes or files"},
    {"rm", cmd_rm, "rm MID/CLASS/PATH...", "remove files"},
    {"log", cmd_log, "log [--mission MID] [-n COUNT] [--names]",
     "show the signed history (--names: decrypted file names you may read)"},
    {"audit", cmd_audit,
     "audit verify [--objects] [--checkpoint FILE] [--signers FILE] [BUNDLE] |\n"
     "                 checkpoint | export --out DIR [--mission MID] | show SEQ|COMMIT |\n"
     "                 allowed-signers",
     "verify the history, checkpoints, exports for auditors"},
    {"policy", cmd_policy, "policy show | policy set KEY VALUE",
     "the vault's retention policy, in the signed history (set: admin)"},
    {"retention", cmd_retention, "retention run [--dry-run] [--now YYYY-MM-DD]",
     "expire dossiers past retention, collect garbage, scrub (admin; exit 0 good, 1 needs "
     "a person, 2 could not run)"},
    {"gc", cmd_gc, "gc [--dry-run]", "delete objects no live file names (keyless)"},
    {"clone", cmd_clone, "clone ssh://[USER@]HOST[:PORT]/PATH DIR [--device NAME] [--ssh CMD]",
     "make a replica of your missions from the office vault"},
    {"sync", cmd_sync, "sync [--dry-run] [--offline MID] [--ssh CMD]",
     "send what this replica recorded, receive what changed at the office"},
    {"status", cmd_status, "status", "a replica: its office, last sync, what waits to go up"},
    {"device", cmd_device, "device list | device revoke NAME",
     "the replicas of the vault: what each holds and erased; revoke a lost one (admin)"},
    {"serve", cmd_serve, "serve -R REPO [--timeout SECONDS] [--log FILE]",
     "the office's side of sync, run by sshd as a forced command"},
    {"objects", cmd_objects,
     "objects where | objects migrate --to local|rados:POOL[/NAMESPACE] [--keep-source]",
     "where the objects are; move them to a Ceph pool or back, each proven (admin)"},
    {"fsck", cmd_fsck, "fsck [--full]",
     "check the store against the state, keyless (exit 0 clean, 1 problems, 2 could not run)"},
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: evault [-R REPO] [--identity FILE] [--passphrase-file FILE] COMMAND [ARGS]\n\n"
	    "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nglobal options (anywhere on the line):\n"
		   "  -R, --repo PATH          repository (default: $EVAULT_REPO)\n"
		   "  --identity FILE          identity file (default: $EVAULT_IDENTITY, else\n"
		   "                           ~/.config/evault/identity)\n"
		   "  --passphrase-file FILE   read the passphrase from FILE (default:\n"
		   "                           $EVAULT_PASSPHRASE_FILE, else ask on the terminal)\n"
		   "  -h, --help               this help; 'evault help COMMAND' for a command\n"
		   "  --version                print the version\n"
		   "\nexit codes:\n"
		   "  0 ok   1 error   2 usage or invalid name   3 not found (or not yours)\n"
		   "  4 wrong passphrase or failed authentication   5 corrupt data\n"
		   "  6 not allowed for your role   7 already exists   8 read-only\n"
		   "  9 repository busy   10 no space left   11 repository from a newer evault\n"
		   "  12 refused by a charter rule (e.g. close with unmarked codes)\n");
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
	if (argc < 2 || (strcmp(argv[1], "help") == 0 && argc == 2)) {
		usage(help || argc >= 2 ? stdout : stderr);
		return help || argc >= 2 ? EXIT_OK : EXIT_USAGE;
	}
	const cli_command *cmd;
	if (strcmp(argv[1], "help") == 0) {
		if (!(cmd = find(argv[2])))
			return cli_usage("unknown command '%s' (see 'evault --help')", argv[2]);
		printf("usage: evault %s\n  %s\n", cmd->usage, cmd->summary);
		return EXIT_OK;
	}
	if (!(cmd = find(argv[1])))
		return cli_usage("unknown command '%s' (see 'evault --help')", argv[1]);
	if (help) {
		printf("usage: evault %s\n  %s\n", cmd->usage, cmd->summary);
		return EXIT_OK;
	}
	if (evault_global_init() < 0)
		return cli_fail();
	rc = cmd->run(&c, argc - 1, argv + 1);
	evault_repo_free(c.repo);
	evault_identity_free(c.identity_path ? c.id : NULL);
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		perror("evault: stdout");
		rc = EXIT_ERROR;
	}
	return rc;
}
