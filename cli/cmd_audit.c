/*
 * evault audit: what auditors need. verify replays the history; its exit
 * codes are its own: 0 verified, 1 a verification failure (the message
 * names the commit and the rule), 2 usage or unreadable input.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"

enum { VERIFY_OK = 0, VERIFY_FAILED = 1, VERIFY_UNREADABLE = 2 };

#define INPUT_MAX (1 << 20)

/* Reads a small input file whole; over INPUT_MAX is refused, not cut. */
static int read_file(const char *path, evault_buf *out, const char *what)
{
	FILE *f = fopen(path, "rb");
	char buf[4096];
	size_t n;
	int rc = 0;
	if (!f)
		return cli_usage("cannot read %s %s", what, path);
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (out->size + n > INPUT_MAX)
			rc = cli_usage("%s %s is larger than 1 MiB", what, path);
		else if (evault_buf_put(out, buf, n) < 0)
			rc = cli_fail();
	}
	if (rc == 0 && ferror(f))
		rc = cli_usage("cannot read %s %s", what, path);
	fclose(f);
	return rc;
}

/* audit verify --json: the verdict (docs/cli.md, "--json"); res NULL: the
 * history or bundle could not be read as one, why says what failed */
static void verify_json(const evault_verify_result *res, const char *why, bool objects)
{
	json j;
	json_init(&j, stdout);
	json_object(&j);
	json_kbool(&j, "ok", res && res->ok);
	if (!res || !res->ok) {
		json_kstr(&j, "bad_commit", res && res->bad_commit[0] ? res->bad_commit : NULL);
		json_kstr(&j, "reason", res ? res->reason : why);
		json_end(&j);
		return;
	}
	json_kstr(&j, "vault", res->vault_id);
	json_kstr(&j, "head", res->head);
	json_kuint(&j, "seq", res->seq);
	json_kuint(&j, "events", res->events);
	json_ktime(&j, "first", res->first_time);
	json_ktime(&j, "last", res->last_time);
	json_key(&j, "objects_intact");
	if (objects)
		json_uint(&j, res->objects);
	else
		json_null(&j);
	json_kuint(&j, "closing", res->closing);
	json_kuint(&j, "erasing", res->erasing);
	json_kuint(&j, "not_held", res->not_held);
	json_end(&j);
}

static int verify(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"objects", no_argument, NULL, 'o'},
					     {"checkpoint", required_argument, NULL, 'c'},
					     {"signers", required_argument, NULL, 's'},
					     {NULL, 0, NULL, 0}};
	evault_verify_opts vo = EVAULT_VERIFY_OPTS_INIT;
	evault_verify_result res;
	evault_buf cp = EVAULT_BUF_INIT, signers = EVAULT_BUF_INIT;
	const char *cpfile = NULL, *sfile = NULL;
	int o, rc;
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'o': vo.objects = true; break;
		case 'c': cpfile = optarg; break;
		case 's': sfile = optarg; break;
		default:
			return cli_usage("usage: evault audit verify [--objects] [--checkpoint "
					 "FILE] [--signers FILE] [BUNDLE]");
		}
	}
	if (argc - optind > 1)
		return cli_usage("usage: evault audit verify [--objects] [--checkpoint FILE] "
				 "[--signers FILE] [BUNDLE]");
	if (cpfile) {
		if ((rc = read_file(cpfile, &cp, "checkpoint")) != 0) {
			evault_buf_dispose(&cp);
			return VERIFY_UNREADABLE;
		}
		vo.checkpoint = cp.ptr;
		vo.checkpoint_len = cp.size;
	}
	if (sfile) {
		if ((rc = read_file(sfile, &signers, "allowed signers")) != 0) {
			evault_buf_dispose(&cp);
			evault_buf_dispose(&signers);
			return VERIFY_UNREADABLE;
		}
		vo.signers = signers.ptr;
		vo.signers_len = signers.size;
	}
	const char *bundle = optind < argc ? argv[optind] : NULL;
	if (bundle) {
		rc = evault_audit_verify_bundle(bundle, &vo, &res);
	} else {
		c->verify_all = true;
		rc = cli_open_repo(c, CLI_AS_NOBODY);
		if (rc == EVAULT_ECORRUPT) {
			if (c->json)
				verify_json(NULL, evault_error_last(), false);
			fprintf(stderr, "%sevault: verification FAILED: %s\n",
				cli_level(2, CLI_LOG_ERR), evault_error_last());
			evault_buf_dispose(&cp);
			evault_buf_dispose(&signers);
			return VERIFY_FAILED;
		}
		if (rc == 0)
			rc = evault_audit_verify(c->repo, &vo, &res);
	}
	evault_buf_dispose(&cp);
	evault_buf_dispose(&signers);
	if (rc == EVAULT_ECORRUPT) { /* damaged history or bundle: it does not verify */
		if (c->json)
			verify_json(NULL, evault_error_last(), false);
		fprintf(stderr, "%sevault: verification FAILED: %s\n", cli_level(2, CLI_LOG_ERR),
			evault_error_last());
		return VERIFY_FAILED;
	}
	if (rc < 0) {
		fprintf(stderr, "%sevault: %s\n", cli_level(2, CLI_LOG_ERR), evault_error_last());
		return VERIFY_UNREADABLE;
	}
	if (c->json)
		verify_json(&res, NULL, vo.objects);
	if (!res.ok) {
		if (res.bad_commit[0])
			fprintf(stderr, "%sevault: verification FAILED at commit %s: %s\n",
				cli_level(2, CLI_LOG_ERR), res.bad_commit, res.reason);
		else
			fprintf(stderr, "%sevault: verification FAILED: %s\n",
				cli_level(2, CLI_LOG_ERR), res.reason);
		return VERIFY_FAILED;
	}
	if (c->json)
		return VERIFY_OK;
	char first[32], last[32];
	cli_time(first, res.first_time);
	cli_time(last, res.last_time);
	printf("OK vault %s head %.12s seq %llu, %llu events from %s to %s", res.vault_id, res.head,
	       (unsigned long long)res.seq, (unsigned long long)res.events, first, last);
	if (vo.objects)
		printf(", %llu objects intact", (unsigned long long)res.objects);
	if (cpfile)
		printf(", contains checkpoint %s", cpfile);
	if (sfile)
		printf(", every signer in %s", sfile);
	if (res.closing)
		printf(", %zu close or expiry under way (run it again to finish)", res.closing);
	if (res.erasing)
		printf(", %zu key copies this device must still erase (evault sync does)",
		       res.erasing);
	printf("\n");
	if (res.not_held)
		printf("%llu events of missions not held on this replica: checked for signature, "
		       "role and scope only (their contents are verified at the office)\n",
		       (unsigned long long)res.not_held);
	return VERIFY_OK;
}

/* audit show and export: as the identity's user when there is an identity
 * (events of missions it holds no key for are hidden, as in evault log),
 * else as a reader of the repository files. */
static enum cli_as reader(const cli *c)
{
	return c->identity_path && access(c->identity_path, R_OK) == 0 ? CLI_AS_PUBLIC
								      : CLI_AS_NOBODY;
}

static int export(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
					     {"mission", required_argument, NULL, 'm'},
					     {NULL, 0, NULL, 0}};
	const char *out = NULL, *mission = NULL;
	int o;
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'o': out = optarg; break;
		case 'm': mission = optarg; break;
		default: return cli_usage("usage: evault audit export --out DIR [--mission MID]");
		}
	}
	if (!out || optind != argc)
		return cli_usage("usage: evault audit export --out DIR [--mission MID]");
	if (cli_open_repo(c, reader(c)) < 0 || evault_audit_export(c->repo, out, mission) < 0)
		return cli_fail();
	printf("exported to %s (history.bundle, allowed_signers, README.txt%s)\n", out,
	       mission ? ", mission-log.txt" : "");
	return EXIT_OK;
}

int cmd_audit(cli *c, int argc, char **argv)
{
	const char *usage = "usage: evault audit verify|checkpoint|export|show|allowed-signers ...";
	evault_buf out = EVAULT_BUF_INIT;
	if (argc < 2)
		return cli_usage("%s", usage);
	const char *sub = argv[1];
	if (strcmp(sub, "verify") == 0)
		return verify(c, argc - 1, argv + 1);
	if (strcmp(sub, "export") == 0)
		return export(c, argc - 1, argv + 1);
	int rc;
	if (strcmp(sub, "allowed-signers") == 0 && argc == 2) {
		rc = cli_open_repo(c, CLI_AS_NOBODY);
		if (rc == 0)
			rc = evault_audit_allowed_signers(c->repo, &out);
	} else if (strcmp(sub, "checkpoint") == 0 && argc == 2) {
		rc = cli_open_repo(c, CLI_AS_UNLOCKED);
		if (rc == 0)
			rc = evault_audit_checkpoint(c->repo, &out);
	} else if (strcmp(sub, "show") == 0 && argc == 3) {
		rc = cli_open_repo(c, reader(c));
		if (rc == 0)
			rc = evault_audit_show(c->repo, argv[2], &out);
	} else {
		return cli_usage("%s", usage);
	}
	if (rc < 0) {
		evault_buf_dispose(&out);
		return cli_fail();
	}
	fwrite(out.ptr, 1, out.size, stdout);
	evault_buf_dispose(&out);
	return EXIT_OK;
}
