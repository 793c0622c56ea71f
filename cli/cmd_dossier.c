/* evault dossier: handover (admin) and verify (anyone, no vault). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int handover(cli *c, int argc, char **argv)
{
	const char *usage = "usage: evault dossier handover MID --to RECIPIENT --out DIR";
	static const struct option opts[] = {{"to", required_argument, NULL, 't'},
					     {"out", required_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	const char *to = NULL, *out = NULL;
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 't')
			to = optarg;
		else if (o == 'o')
			out = optarg;
		else
			return cli_usage("%s", usage);
	}
	if (optind != argc - 1 || !to || !out)
		return cli_usage("%s", usage);
	const char *mid = argv[optind];
	evault_handover_result r;
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 ||
	    evault_dossier_handover(c->repo, mid, to, out, &r) < 0)
		return cli_fail();
	printf("handed over %zu files (%llu bytes) of %s: %s (handover %u)\n", r.files,
	       (unsigned long long)r.bytes, mid, out, r.n);
	return EXIT_OK;
}

/* Exit 0 verified, 1 the package fails a check, 2 unreadable or bad usage. */
static int verify(int argc, char **argv)
{
	const char *usage = "usage: evault dossier verify DIR [--signers FILE]";
	static const struct option opts[] = {{"signers", required_argument, NULL, 's'},
					     {NULL, 0, NULL, 0}};
	const char *signers = NULL;
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 's')
			signers = optarg;
		else
			return cli_usage("%s", usage);
	}
	if (optind != argc - 1)
		return cli_usage("%s", usage);
	evault_dossier_check r;
	int rc = evault_dossier_verify(argv[optind], signers, &r);
	if (rc == EVAULT_ECORRUPT || rc == EVAULT_EAUTH) {
		fprintf(stderr, "%sevault: %s: %s\n", cli_level(2, CLI_LOG_ERR), argv[optind],
			evault_error_last());
		return EXIT_ERROR;
	}
	if (rc < 0) {
		cli_fail();
		return EXIT_USAGE;
	}
	char when[32];
	cli_time(when, r.time);
	/* the package's own allowed_signers proves it whole, not whose it is */
	if (r.own_signers)
		printf("dossier of %s verified: %zu files, handed by %s (key %s from the package "
		       "itself: compare it with the key the company publishes, or pass "
		       "--signers) to %s at %s\n",
		       r.mid, r.files, r.by, r.key, r.to, when);
	else
		printf("dossier of %s verified: %zu files, handed by %s (key %s in %s) to %s at "
		       "%s\n",
		       r.mid, r.files, r.by, r.key, signers, r.to, when);
	return EXIT_OK;
}

int cmd_dossier(cli *c, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("usage: evault dossier handover|verify ...");
	if (strcmp(argv[1], "handover") == 0)
		return handover(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return verify(argc - 1, argv + 1);
	return cli_usage("unknown dossier command '%s' (handover, verify)", argv[1]);
}
