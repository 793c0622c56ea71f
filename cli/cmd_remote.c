/* evault serve, clone, sync, status: the office and the laptops (docs/deploy.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Runs as the forced command of the office's ssh account: stdin and stdout
 * are the connection, so nothing else may print to stdout. */
int cmd_serve(cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {{"timeout", required_argument, NULL, 't'},
						 {"log", required_argument, NULL, 'l'},
						 {NULL, 0, NULL, 0}};
	evault_serve_opts o = {.version = EVAULT_SERVE_OPTS_VERSION, .in = 0, .out = 1};
	int ch;
	CLI_GETOPT_RESET();
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (ch == 't') {
			char *end;
			long t = strtol(optarg, &end, 10);
			if (*end || t < 1 || t > 86400)
				return cli_usage("--timeout takes seconds, 1 to 86400");
			o.timeout_s = (int)t;
		} else if (ch == 'l')
			o.log_path = optarg;
		else
			return cli_usage("usage: evault serve -R REPO [--timeout SECONDS] [--log FILE]");
	}
	if (optind != argc)
		return cli_usage("usage: evault serve -R REPO [--timeout SECONDS] [--log FILE]");
	if (cli_open_repo(c, CLI_AS_NOBODY) < 0)
		return cli_fail();
	/* a session that ended badly is in the log and was told to the replica:
	 * nothing more on stderr, which ssh hands to the replica's user too */
	int rc = evault_serve(c->repo, &o);
	return rc < 0 ? cli_exit_code(rc) : EXIT_OK;
}

static int sync_opts(int argc, char **argv, evault_sync_opts *o, const char *usage,
		     bool remote_opts)
{
	static const struct option longopts[] = {{"ssh", required_argument, NULL, 's'},
						 {"dry-run", no_argument, NULL, 'n'},
						 {"offline", required_argument, NULL, 'o'},
						 {"device", required_argument, NULL, 'd'},
						 {NULL, 0, NULL, 0}};
	int ch;
	CLI_GETOPT_RESET();
	/* options before or after the address and directory, as the docs write them */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == 's')
			o->ssh = optarg;
		else if (ch == 'n' && remote_opts)
			o->dry_run = true;
		else if (ch == 'o' && remote_opts)
			o->offline = optarg;
		else if (ch == 'd' && !remote_opts)
			o->device = optarg;
		else
			return cli_usage("usage: evault %s", usage);
	}
	return 0;
}

/* What this device erased, and the events the history refused: the user
 * sees them, whether the sync then succeeded or not. */
static void print_notes(const evault_sync_result *r)
{
	for (const char *l = r->notes; *l;) {
		const char *e = strchr(l, '\n');
		int n = e ? (int)(e - l) : (int)strlen(l);
		printf("  %.*s\n", n, l);
		l += n + (e ? 1 : 0);
	}
}

static void print_result(const char *what, const evault_sync_result *r, bool dry)
{
	if (dry)
		printf(
		    "%s: would pull %llu events and push %llu; would fetch %llu objects and send "
		    "%llu",
		    what, (unsigned long long)r->events_pulled,
		    (unsigned long long)r->events_pushed, (unsigned long long)r->objects_received,
		    (unsigned long long)r->objects_sent);
	else
		printf("%s: %llu events pulled, %llu pushed; %llu objects fetched, %llu sent", what,
		       (unsigned long long)r->events_pulled, (unsigned long long)r->events_pushed,
		       (unsigned long long)r->objects_received,
		       (unsigned long long)r->objects_sent);
	if (r->events_replayed)
		printf(" (%llu recorded here %s on the office's new events)",
		       (unsigned long long)r->events_replayed,
		       dry ? "would be replayed" : "replayed");
	if (r->objects_missing)
		printf(" (%llu missing at the office)", (unsigned long long)r->objects_missing);
	printf("; %zu mission%s held here; office at seq %llu\n", r->missions,
	       r->missions == 1 ? "" : "s", (unsigned long long)r->seq);
	if (!dry)
		printf("  %llu bytes received, %llu sent; %llu key copies\n",
		       (unsigned long long)r->bytes_received, (unsigned long long)r->bytes_sent,
		       (unsigned long long)r->keys);
	if (r->holds)
		printf("  device %s now holds %zu more mission%s\n", r->device, r->holds,
		       r->holds == 1 ? "" : "s");
	print_notes(r);
}

int cmd_clone(cli *c, int argc, char **argv)
{
	static const char usage[] =
	    "clone ssh://[USER@]HOST[:PORT]/PATH DIR [--device NAME] [--ssh CMD]";
	evault_sync_opts o = {.version = EVAULT_SYNC_OPTS_VERSION};
	evault_sync_result r;
	char dir[4200];
	if (sync_opts(argc, argv, &o, usage, false) < 0)
		return EXIT_USAGE;
	if (argc - optind != 2)
		return cli_usage("usage: evault %s", usage);
	if (cli_load_identity(c, true) < 0)
		return cli_fail();
	snprintf(dir, sizeof(dir), "%s.verified", c->identity_path);
	if (evault_clone(argv[optind], argv[optind + 1], c->id, dir, &o, &r) < 0)
		return cli_fail();
	print_result("clone", &r, false);
	printf("  this replica is device %s\n", r.device);
	return EXIT_OK;
}

int cmd_sync(cli *c, int argc, char **argv)
{
	static const char usage[] = "sync [--dry-run] [--offline MID] [--ssh CMD]";
	evault_sync_opts o = {.version = EVAULT_SYNC_OPTS_VERSION};
	evault_sync_result r;
	if (sync_opts(argc, argv, &o, usage, true) < 0)
		return EXIT_USAGE;
	if (optind != argc)
		return cli_usage("usage: evault %s", usage);
	/* ssh connects while the passphrase is asked and the identity unlocked */
	if (cli_open_repo(c, CLI_AS_PUBLIC) < 0 || evault_sync_start(c->repo, &o) < 0 ||
	    cli_load_identity(c, true) < 0 || evault_repo_set_identity(c->repo, c->id) < 0 ||
	    evault_replica_attach(c->repo, NULL) < 0)
		return cli_fail();
	int rc = evault_sync(c->repo, &o, &r);
	if (rc < 0) {
		print_notes(&r); /* what was erased, even when the sync then failed */
		fflush(stdout);
		return cli_fail();
	}
	print_result(o.dry_run ? "sync (dry run, nothing changed)" : "sync", &r, o.dry_run);
	return EXIT_OK;
}

int cmd_status(cli *c, int argc, char **argv)
{
	evault_replica_status s;
	char when[32];
	if (argc != 1)
		return cli_usage("usage: evault status");
	if (cli_open_repo(c, CLI_AS_NOBODY) < 0 || evault_replica_status_get(c->repo, &s) < 0)
		return cli_fail();
	if (c->json) {
		json j;
		json_init(&j, stdout);
		json_object(&j);
		json_kstr(&j, "remote", s.url);
		json_kstr(&j, "user", s.user);
		json_kstr(&j, "device", s.device);
		json_ktime(&j, "last_sync", s.last_sync);
		json_kstr(&j, "office_head", s.office_head);
		json_kuint(&j, "events_waiting", s.events_waiting);
		json_kuint(&j, "objects_waiting", s.objects_waiting);
		json_kuint(&j, "bytes_waiting", s.bytes_waiting);
		json_kuint(&j, "missions", s.missions);
		json_end(&j);
		return EXIT_OK;
	}
	printf("remote: %s (as %s, device %s)\n", s.url, s.user, s.device);
	if (s.last_sync) {
		cli_time(when, s.last_sync);
		printf("last sync: %s\n", when);
	} else
		printf("last sync: never\n");
	printf("office head: %.12s\n", s.office_head);
	printf("waiting to go up: %llu events, %llu objects (%llu bytes)\n",
	       (unsigned long long)s.events_waiting, (unsigned long long)s.objects_waiting,
	       (unsigned long long)s.bytes_waiting);
	printf("missions held here: %zu\n", s.missions);
	return EXIT_OK;
}
