/* evault mission: create, list, show, grant, revoke, set-due, close, certificate,
 * authorize-photos, refuse, refusals. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_MEMBERS 256

static int create(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"client", required_argument, NULL, 'c'},      {"site", required_argument, NULL, 's'},
	    {"description", required_argument, NULL, 'd'}, {"member", required_argument, NULL, 'm'},
	    {"dossier-due", required_argument, NULL, 'D'}, {NULL, 0, NULL, 0}};
	evault_mission_info info = {NULL, NULL, NULL, NULL};
	const char *members[MAX_MEMBERS];
	size_t n = 0;
	int o;
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c': info.client = optarg; break;
		case 's': info.site = optarg; break;
		case 'd': info.description = optarg; break;
		case 'D': info.dossier_due = optarg; break;
		case 'm':
			if (n == MAX_MEMBERS)
				return cli_usage("too many --member options");
			members[n++] = optarg;
			break;
		default:
			return cli_usage(
			    "usage: evault mission create MID [--client C] [--site S] "
			    "[--description D] [--member USER]... [--dossier-due YYYY-MM-DD]");
		}
	}
	if (optind != argc - 1)
		return cli_usage("usage: evault mission create MID [--client C] [--site S] "
				 "[--description D] [--member USER]... [--dossier-due YYYY-MM-DD]");
	const char *mid = argv[optind];
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 ||
	    evault_mission_create(c->repo, mid, &info, members, n) < 0)
		return cli_fail();
	printf("created mission %s\n", mid);
	return EXIT_OK;
}

static int print_mission(const char *mid, const char *status, void *p)
{
	json *j = p;
	if (j) {
		json_object(j);
		json_kstr(j, "mission", mid);
		json_kstr(j, "status", status);
		json_end(j);
	} else
		printf("%s\t%s\n", mid, status);
	return 0;
}

static void json_list(json *j, const char *key, char **l, size_t n)
{
	json_key(j, key);
	json_array(j);
	for (size_t i = 0; i < n; i++)
		json_str(j, l[i]);
	json_end(j);
}

/* mission show --json (docs/cli.md, "--json") */
static void show_json(cli *c, const evault_mission_view *v)
{
	json j;
	json_init(&j, stdout);
	json_object(&j);
	json_kstr(&j, "mission", v->mid);
	json_kstr(&j, "status", v->status);
	json_ktime(&j, "created", v->created);
	json_kstr(&j, "created_by", v->created_by);
	json_list(&j, "members", v->members, v->nmembers);
	json_list(&j, "auditors", v->auditors, v->nauditors);
	json_kbool(&j, "photos_authorised", v->photo_authorised);
	json_kstr(&j, "dossier_due", v->dossier_due[0] ? v->dossier_due : NULL);
	json_key(&j, "handovers");
	json_array(&j);
	for (size_t i = 0; i < v->nhandovers; i++) {
		const evault_handover_view *h = &v->handovers[i];
		json_object(&j);
		json_kuint(&j, "handover", h->n);
		json_ktime(&j, "time", h->time);
		json_kstr(&j, "by", h->by);
		json_kuint(&j, "files", h->files);
		json_kstr(&j, "to", h->to);
		json_end(&j);
	}
	json_end(&j);
	evault_buf pa = EVAULT_BUF_INIT;
	json_key(&j, "photo_authorisation");
	if (v->photo_authorised && v->has_info &&
	    evault_mission_photo_authorisation(c->repo, v->mid, &pa) == 0)
		json_str(&j, pa.ptr);
	else
		json_null(&j);
	evault_buf_dispose(&pa);
	json_kstr(&j, "client", v->has_info ? v->client : NULL);
	json_kstr(&j, "site", v->has_info ? v->site : NULL);
	json_kstr(&j, "description", v->has_info ? v->description : NULL);
	json_key(&j, "files");
	json_object(&j);
	for (int k = 0; k < 3; k++)
		if (v->readable[k])
			json_kuint(&j, evault_class_name((evault_class)k), v->files[k]);
	json_end(&j);
	json_end(&j);
}

static void print_list(const char *label, char **l, size_t n)
{
	printf("%-12s", label);
	if (n == 0)
		printf("-");
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", l[i]);
	printf("\n");
}

static int show(cli *c, const char *mid)
{
	evault_mission_view *v = NULL;
	char when[32];
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 || evault_mission_show(c->repo, mid, &v) < 0)
		return cli_fail();
	if (c->json) {
		show_json(c, v);
		evault_mission_view_free(v);
		return EXIT_OK;
	}
	cli_time(when, v->created);
	printf("%-12s%s\n%-12s%s\n%-12s%s by %s\n", "mission", v->mid, "status", v->status,
	       "created", when, v->created_by);
	print_list("members", v->members, v->nmembers);
	print_list("auditors", v->auditors, v->nauditors);
	printf("%-12s%s\n", "dossier due", v->dossier_due[0] ? v->dossier_due : "-");
	for (size_t i = 0; i < v->nhandovers; i++) {
		const evault_handover_view *h = &v->handovers[i];
		cli_time(when, h->time);
		printf("%-12shandover %u, %s by %s, %zu file%s%s%s\n", i ? "" : "handovers", h->n,
		       when, h->by, h->files, h->files == 1 ? "" : "s", h->to ? ", to " : "",
		       h->to ? h->to : "");
	}
	printf("%-12s%s\n", "photos", v->photo_authorised ? "authorised" : "not authorised");
	evault_buf pa = EVAULT_BUF_INIT;
	if (v->photo_authorised && v->has_info &&
	    evault_mission_photo_authorisation(c->repo, mid, &pa) == 0) {
		for (char *line = strtok(pa.ptr, "\n"); line; line = strtok(NULL, "\n"))
			printf("%-12s%s\n", "", line);
	}
	evault_buf_dispose(&pa);
	if (v->has_info) {
		printf("%-12s%s\n%-12s%s\n%-12s%s\n", "client", v->client, "site", v->site,
		       "description", v->description);
	}
	printf("%-12s", "files");
	for (int k = 0; k < 3; k++)
		if (v->readable[k])
			printf("%s%s %zu", k ? ", " : "", evault_class_name((evault_class)k),
			       v->files[k]);
	printf("\n");
	evault_mission_view_free(v);
	return EXIT_OK;
}

static int close_mission(cli *c, int argc, char **argv)
{
	const char *usage = "usage: evault mission close MID [--dry-run] [--force]";
	const char *mid = NULL;
	bool dry = false, force = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0)
			dry = true;
		else if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (argv[i][0] == '-' || mid)
			return cli_usage("%s", usage);
		else
			mid = argv[i];
	}
	if (!mid)
		return cli_usage("%s", usage);
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0)
		return cli_fail();
	evault_buf report = EVAULT_BUF_INIT;
	int rc = evault_mission_close(c->repo, mid, dry, force, &report);
	if (c->json) { /* the plan's lines, and what came of it (docs/cli.md, "--json") */
		json j;
		json_init(&j, stdout);
		json_object(&j);
		json_kstr(&j, "mission", mid);
		json_kbool(&j, "dry_run", dry);
		json_kbool(&j, "closed", rc == 0 && !dry);
		json_kstr(&j, "refused", rc == EVAULT_EREFUSED ? evault_error_last() : NULL);
		json_key(&j, "plan");
		json_array(&j);
		for (char *line = report.ptr, *nl; line && *line; line = nl + 1) {
			if ((nl = strchr(line, '\n')))
				*nl = '\0';
			json_str(&j, line);
			if (!nl)
				break;
		}
		json_end(&j);
		json_end(&j);
	} else if (report.size)
		fwrite(report.ptr, 1, report.size, stdout);
	fflush(stdout);
	evault_buf_dispose(&report);
	return rc < 0 ? cli_fail() : EXIT_OK;
}

static int authorize_photos(cli *c, int argc, char **argv)
{
	const char *usage = "usage: evault mission authorize-photos MID --by \"NAME, ROLE\" --ref "
			    "REFERENCE --scope SCOPE";
	static const struct option opts[] = {{"by", required_argument, NULL, 'b'},
					     {"ref", required_argument, NULL, 'r'},
					     {"scope", required_argument, NULL, 's'},
					     {NULL, 0, NULL, 0}};
	const char *by = NULL, *ref = NULL, *scope = NULL;
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'b')
			by = optarg;
		else if (o == 'r')
			ref = optarg;
		else if (o == 's')
			scope = optarg;
		else
			return cli_usage("%s", usage);
	}
	if (optind != argc - 1 || !by || !ref || !scope)
		return cli_usage("%s", usage);
	const char *mid = argv[optind];
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 ||
	    evault_mission_authorize_photos(c->repo, mid, by, ref, scope) < 0)
		return cli_fail();
	printf("photos and videos authorised on %s\n", mid);
	return EXIT_OK;
}

static int certificate(cli *c, const char *mid)
{
	evault_buf out = EVAULT_BUF_INIT;
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 ||
	    evault_mission_certificate(c->repo, mid, &out) < 0) {
		evault_buf_dispose(&out);
		return cli_fail();
	}
	fwrite(out.ptr, 1, out.size, stdout);
	evault_buf_dispose(&out);
	return EXIT_OK;
}

/* The categories, for messages: "employee-surveillance, private-filming, ..." */
static void category_list(char *out, size_t n)
{
	size_t count, used = 0;
	const evault_refusal_category *cat = evault_refusal_categories(&count);
	out[0] = '\0';
	for (size_t i = 0; i < count && used < n; i++)
		used += (size_t)snprintf(out + used, n - used, "%s%s", i ? ", " : "", cat[i].name);
}

static int refuse(cli *c, int argc, char **argv)
{
	const char *usage =
	    "usage: evault mission refuse --client NAME --reason CATEGORY|TEXT "
	    "[--category CATEGORY] [--details TEXT] [--ref REF] [--date YYYY-MM-DD]";
	static const struct option opts[] = {{"client", required_argument, NULL, 'c'},
					     {"reason", required_argument, NULL, 'r'},
					     {"category", required_argument, NULL, 'k'},
					     {"details", required_argument, NULL, 'd'},
					     {"ref", required_argument, NULL, 'f'},
					     {"date", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	evault_refusal_opts ro = EVAULT_REFUSAL_OPTS_INIT;
	const char *reason = NULL, *category = NULL;
	char cats[160], rid[EVAULT_REFUSAL_RID_LEN + 1];
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c': ro.client = optarg; break;
		case 'r': reason = optarg; break;
		case 'k': category = optarg; break;
		case 'd': ro.details = optarg; break;
		case 'f': ro.ref = optarg; break;
		case 't': ro.date = optarg; break;
		default: return cli_usage("%s", usage);
		}
	}
	if (optind != argc || !ro.client || !reason)
		return cli_usage("%s", usage);
	category_list(cats, sizeof(cats));
	if (category && !evault_refusal_category_valid(category))
		return cli_usage("--category: no category '%s' (%s)", category, cats);
	if (evault_refusal_category_valid(reason)) {
		if (category && strcmp(category, reason) != 0)
			return cli_usage("--reason %s and --category %s disagree", reason,
					 category);
		ro.category = reason;
	} else { /* a reason in words: the details, and a category to count it in */
		if (!category)
			return cli_usage("--reason is not a category: say which category: %s "
					 "(--category)",
					 cats);
		if (ro.details)
			return cli_usage("--reason in words is the refusal's details: give it or "
					 "--details, not both");
		ro.category = category;
		ro.details = reason;
	}
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 || evault_mission_refuse(c->repo, &ro, rid) < 0)
		return cli_fail();
	printf("refused mission recorded: %.8s (%s)\n", rid, ro.category);
	return EXIT_OK;
}

typedef struct refusals_ctx {
	json *j; /* NULL: text */
	char year[5];
	size_t shown;
} refusals_ctx;

static int print_refusal(const evault_refusal *r, void *p)
{
	refusals_ctx *x = p;
	if (x->year[0] && strncmp(r->date, x->year, 4) != 0)
		return 0;
	x->shown++;
	bool opened = r->access == EVAULT_REFUSAL_OPENED;
	if (x->j) {
		json *j = x->j;
		json_object(j);
		json_kstr(j, "rid", r->rid);
		json_kstr(j, "date", r->date);
		json_ktime(j, "time", r->time);
		json_kstr(j, "by", r->by);
		json_kstr(j, "category", r->category);
		json_kstr(j, "client", opened ? r->client : NULL);
		json_kstr(j, "details", opened ? r->details : NULL);
		json_kstr(j, "ref", opened ? r->ref : NULL);
		json_kbool(j, "damaged", r->access == EVAULT_REFUSAL_DAMAGED);
		json_end(j);
		return 0;
	}
	printf("%s  %.8s  %-21s  %s\n", r->date, r->rid, r->category, r->by);
	if (opened) {
		printf("%12sclient   %s\n", "", r->client);
		if (r->ref)
			printf("%12sref      %s\n", "", r->ref);
		if (r->details)
			printf("%12sdetails  %s\n", "", r->details);
	} else if (r->access == EVAULT_REFUSAL_OTHER_ADMINS) {
		printf("%12s(sealed to other admins)\n", "");
	} else if (r->access == EVAULT_REFUSAL_DAMAGED) {
		printf("%12s(damaged: its sealed part does not open with your key)\n", "");
	}
	return 0;
}

static int refusals(cli *c, int argc, char **argv)
{
	const char *usage = "usage: evault mission refusals [--year YYYY]";
	static const struct option opts[] = {{"year", required_argument, NULL, 'y'},
					     {NULL, 0, NULL, 0}};
	refusals_ctx x = {NULL, "", 0};
	json j;
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'y')
			return cli_usage("%s", usage);
		if (strlen(optarg) != 4 || strspn(optarg, "0123456789") != 4)
			return cli_usage("--year: a year of four digits, not '%s'", optarg);
		memcpy(x.year, optarg, 5);
	}
	if (optind != argc)
		return cli_usage("%s", usage);
	/* the register is public to every user; an admin's passphrase opens the
	 * sealed part of the refusals sealed to them */
	if (cli_open_repo(c, CLI_AS_PUBLIC) < 0 ||
	    (evault_repo_actor_role(c->repo) == EVAULT_ROLE_ADMIN &&
	     cli_load_identity(c, true) < 0))
		return cli_fail();
	if (c->json) {
		json_init(&j, stdout);
		json_list_doc(&j, "refusals");
		x.j = &j;
	}
	if (evault_refusals_each(c->repo, print_refusal, &x) < 0)
		return cli_fail();
	if (c->json)
		json_list_doc_end(&j);
	return EXIT_OK;
}

int cmd_mission(cli *c, int argc, char **argv)
{
	const char *usage = "usage: evault mission create|list|show|grant|revoke|set-due|close|"
			    "certificate|authorize-photos|refuse|refusals ...";
	if (argc < 2)
		return cli_usage("%s", usage);
	const char *sub = argv[1];
	if (strcmp(sub, "create") == 0)
		return create(c, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0) {
		if (argc != 2)
			return cli_usage("usage: evault mission list");
		/* which missions hold a key copy for the identity: no passphrase */
		json j;
		json_init(&j, stdout);
		if (cli_open_repo(c, CLI_AS_PUBLIC) < 0)
			return cli_fail();
		if (c->json)
			json_list_doc(&j, "missions");
		if (evault_mission_list(c->repo, print_mission, c->json ? &j : NULL) < 0)
			return cli_fail();
		if (c->json)
			json_list_doc_end(&j);
		return EXIT_OK;
	}
	if (strcmp(sub, "show") == 0) {
		if (argc != 3)
			return cli_usage("usage: evault mission show MID");
		return show(c, argv[2]);
	}
	if (strcmp(sub, "grant") == 0 || strcmp(sub, "revoke") == 0) {
		bool grant = sub[0] == 'g';
		if (argc != 4)
			return cli_usage("usage: evault mission %s MID USER", sub);
		if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 ||
		    (grant ? evault_mission_grant(c->repo, argv[2], argv[3])
			   : evault_mission_revoke(c->repo, argv[2], argv[3])) < 0)
			return cli_fail();
		printf("%s %s %s %s\n", grant ? "granted" : "revoked", argv[3],
		       grant ? "on" : "from", argv[2]);
		return EXIT_OK;
	}
	if (strcmp(sub, "set-due") == 0) {
		if (argc != 4 || argv[2][0] == '-' || argv[3][0] == '-')
			return cli_usage("usage: evault mission set-due MID YYYY-MM-DD");
		if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 ||
		    evault_mission_set_due(c->repo, argv[2], argv[3]) < 0)
			return cli_fail();
		printf("the dossier of %s is due on %s\n", argv[2], argv[3]);
		return EXIT_OK;
	}
	if (strcmp(sub, "close") == 0)
		return close_mission(c, argc - 1, argv + 1);
	if (strcmp(sub, "authorize-photos") == 0)
		return authorize_photos(c, argc - 1, argv + 1);
	if (strcmp(sub, "refuse") == 0)
		return refuse(c, argc - 1, argv + 1);
	if (strcmp(sub, "refusals") == 0)
		return refusals(c, argc - 1, argv + 1);
	if (strcmp(sub, "certificate") == 0) {
		if (argc != 3)
			return cli_usage("usage: evault mission certificate MID");
		return certificate(c, argv[2]);
	}
	return cli_usage("unknown mission command '%s' (create, list, show, grant, revoke, "
			 "set-due, close, certificate, authorize-photos, refuse, refusals)",
			 sub);
}
