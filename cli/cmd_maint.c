/* strptime, timegm */
#define _GNU_SOURCE
/* evault gc, fsck, retention: upkeep for sysadmins (docs/lifecycle.md, docs/admin.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void print_line(const char *line, void *p)
{
	json *j = p;
	cli_progress_clear();
	if (j)
		json_str(j, line);
	else
		printf("%s\n", line);
}

static bool flag_args(int argc, char **argv, const char *flag, bool *set)
{
	*set = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], flag) != 0)
			return false;
		*set = true;
	}
	return true;
}

/* gc's figures as members of the object open in j (docs/cli.md, "--json") */
static void gc_json(json *j, const evault_gc_result *r)
{
	json_kuint(j, "stored", r->stored);
	json_kuint(j, "referenced", r->referenced);
	json_kuint(j, "collected", r->collected);
	json_kuint(j, "collected_bytes", r->collected_bytes);
	json_kuint(j, "young", r->young);
	json_kuint(j, "tmp_removed", r->tmp_removed);
	json_kuint(j, "history_loose", r->history_loose);
	json_kuint(j, "history_packs", r->history_packs);
}

int cmd_gc(cli *c, int argc, char **argv)
{
	bool dry;
	if (!flag_args(argc, argv, "--dry-run", &dry))
		return cli_usage("usage: evault gc [--dry-run]");
	evault_gc_result r;
	if (cli_open_repo(c, CLI_AS_NOBODY) < 0 || evault_gc(c->repo, dry, &r) < 0)
		return cli_fail();
	if (c->json) {
		json j;
		json_init(&j, stdout);
		json_object(&j);
		json_kbool(&j, "dry_run", dry);
		gc_json(&j, &r);
		json_end(&j);
		return EXIT_OK;
	}
	if (dry)
		printf(
		    "gc (dry run, nothing changed): %zu objects stored, %zu referenced, would "
		    "delete %zu unreferenced (%llu bytes), %zu younger than the grace period "
		    "kept, would delete %zu stale temporary files; history: would pack %zu loose "
		    "objects, %zu pack%s\n",
		    r.stored, r.referenced, r.collected, (unsigned long long)r.collected_bytes,
		    r.young, r.tmp_removed, r.history_loose, r.history_packs,
		    r.history_packs == 1 ? "" : "s");
	else
		printf("gc: %zu objects stored, %zu referenced, %zu collected (%llu bytes), %zu "
		       "younger than the grace period kept, %zu stale temporary files removed; "
		       "history: %zu loose objects packed, %zu pack%s\n",
		       r.stored, r.referenced, r.collected, (unsigned long long)r.collected_bytes,
		       r.young, r.tmp_removed, r.history_loose, r.history_packs,
		       r.history_packs == 1 ? "" : "s");
	return EXIT_OK;
}

/* fsck's own exit codes: 0 clean, 1 problems found, 2 could not run. */
int cmd_fsck(cli *c, int argc, char **argv)
{
	bool full = false, keys = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--full") == 0)
			full = true;
		else if (strcmp(argv[i], "--keys") == 0)
			keys = true;
		else {
			cli_usage("usage: evault fsck [--full] [--keys]");
			return 2;
		}
	}
	evault_fsck_result r;
	evault_fsck_keys_result kr;
	memset(&kr, 0, sizeof(kr));
	json j, *jp = NULL;
	json_init(&j, stdout);
	if (cli_open_repo(c, keys ? CLI_AS_UNLOCKED : CLI_AS_NOBODY) < 0) {
		cli_fail();
		return 2;
	}
	if (c->json) { /* the problems stream as they are found, the counts follow */
		jp = &j;
		json_object(jp);
		json_key(jp, "problems");
		json_array(jp);
	}
	if (evault_fsck(c->repo, full, print_line, jp, &r) < 0 ||
	    (keys && evault_fsck_keys(c->repo, print_line, jp, &kr) < 0)) {
		cli_fail();
		return 2;
	}
	bool bad = r.missing || r.corrupt || kr.damaged || kr.objs_mismatch;
	if (jp) {
		json_end(jp);
		json_kbool(jp, "ok", !bad);
		json_kuint(jp, "stored", r.stored);
		json_kuint(jp, "referenced", r.referenced);
		json_kuint(jp, "missing", r.missing);
		json_kuint(jp, "corrupt", r.corrupt);
		json_kuint(jp, "rehashed", r.checked);
		json_kuint(jp, "unreferenced", r.unreferenced);
		json_kuint(jp, "at_office", r.at_office);
		json_kuint(jp, "under_way", r.under_way);
		json_key(jp, "keys");
		if (keys) {
			json_object(jp);
			json_kstr(jp, "user", evault_repo_actor(c->repo));
			json_kuint(jp, "missions", kr.missions);
			json_kuint(jp, "classes", kr.classes);
			json_kuint(jp, "files", kr.files);
			json_kuint(jp, "damaged", kr.damaged);
			json_kuint(jp, "objs_mismatch", kr.objs_mismatch);
			json_end(jp);
		} else
			json_null(jp);
		json_end(jp);
		return bad ? 1 : 0;
	}
	if (keys)
		printf("%s: with %s's keys: %zu missions, %zu classes, %zu files read, %zu damaged "
		       "entries, %zu .objs lists that disagree with their manifest\n",
		       kr.damaged || kr.objs_mismatch ? "PROBLEMS" : "OK", evault_repo_actor(c->repo),
		       kr.missions, kr.classes, kr.files, kr.damaged, kr.objs_mismatch);
	printf("%s: %zu objects stored, %zu referenced by live files, %zu missing, %zu corrupt "
	       "(%zu re-hashed), %zu unreferenced (gc collects them)",
	       bad ? "PROBLEMS" : "OK", r.stored, r.referenced, r.missing, r.corrupt, r.checked,
	       r.unreferenced);
	if (r.at_office)
		printf(", %zu at the office (a replica fetches them when read)", r.at_office);
	printf("\n");
	return bad ? 1 : 0;
}

static int parse_date(int64_t *out, const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end + 1, "%H:%M:%S", &tm);
	if (end && *end == 'Z')
		end++;
	if (!end || *end)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/*
 * The level of a retention line in the journal: what needs a person (an
 * overdue open mission, a late device erasure, a corrupt object) is a
 * warning, every other line information (docs/admin.md).
 */
static int retention_level(const char *line)
{
	if (strncmp(line, "overdue: ", 9) == 0 || strncmp(line, "scrub: object ", 14) == 0 ||
	    (strncmp(line, "device ", 7) == 0 && strstr(line, " has not erased ")))
		return CLI_LOG_WARNING;
	return CLI_LOG_INFO;
}

static void retention_line(const char *line, void *p)
{
	json *j = p;
	cli_progress_clear();
	if (j) {
		json_object(j);
		json_kstr(j, "level",
			  retention_level(line) == CLI_LOG_WARNING ? "attention" : "info");
		json_kstr(j, "text", line);
		json_end(j);
		return;
	}
	printf("%s%s\n", cli_level(1, retention_level(line)), line);
}

/* retention's own exit codes: 0 all good, 1 something needs a person, 2 could not run. */
int cmd_retention(cli *c, int argc, char **argv)
{
	const char *usage = "usage: evault retention run [--dry-run] [--now YYYY-MM-DD]";
	evault_retention_opts o = {false, 0};
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		cli_usage("%s", usage);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0) {
			o.dry_run = true;
		} else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
			if (parse_date(&o.now, argv[++i]) < 0) {
				cli_usage("--now wants a date YYYY-MM-DD[THH:MM:SSZ], not '%.40s'",
					  argv[i]);
				return 2;
			}
		} else {
			cli_usage("%s", usage);
			return 2;
		}
	}
	evault_retention_result r;
	json j, *jp = NULL;
	json_init(&j, stdout);
	cli_journal(1); /* before any output: line buffered under the journal */
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0) {
		cli_fail();
		return 2;
	}
	if (c->json) { /* the lines stream as the run goes, the figures follow */
		jp = &j;
		json_object(jp);
		json_kbool(jp, "dry_run", o.dry_run);
		json_key(jp, "lines");
		json_array(jp);
	}
	if (evault_retention_run(c->repo, &o, retention_line, jp, &r) < 0) {
		cli_fail();
		return 2;
	}
	if (jp) {
		json_end(jp);
		json_kbool(jp, "attention", r.attention);
		json_kuint(jp, "missions", r.missions);
		json_kuint(jp, "overdue", r.overdue);
		json_kuint(jp, "expired", r.expired);
		json_kuint(jp, "finished", r.finished);
		json_kuint(jp, "devices_late", r.devices_late);
		json_kuint(jp, "scrubbed", r.scrubbed);
		json_kuint(jp, "corrupt", r.corrupt);
		json_key(jp, "gc");
		json_object(jp);
		gc_json(jp, &r.gc);
		json_end(jp);
		json_end(jp);
		return r.attention ? 1 : 0;
	}
	const char *lvl = cli_level(1, r.attention ? CLI_LOG_WARNING : CLI_LOG_INFO);
	if (o.dry_run)
		printf("%sretention (dry run, nothing changed): %zu missions, %zu overdue open, "
		       "would expire %zu, would finish %zu interrupted, %zu device erasures late, "
		       "would delete %zu objects, %zu re-hashed, %zu corrupt: %s\n",
		       lvl, r.missions, r.overdue, r.expired, r.finished, r.devices_late,
		       r.gc.collected, r.scrubbed, r.corrupt,
		       r.attention ? "needs attention" : "all good");
	else
		printf("%sretention: %zu missions, %zu overdue open, %zu expired, %zu interrupted "
		       "finished, %zu device erasures late, %zu objects collected, %zu re-hashed, "
		       "%zu corrupt: %s\n",
		       lvl, r.missions, r.overdue, r.expired, r.finished, r.devices_late,
		       r.gc.collected, r.scrubbed, r.corrupt,
		       r.attention ? "needs attention" : "all good");
	return r.attention ? 1 : 0;
}

/* evault objects: where the vault's objects are, and moving them (docs/ceph.md). */
int cmd_objects(cli *c, int argc, char **argv)
{
	static const char usage[] =
	    "usage: evault objects where | objects migrate --to local|rados:POOL[/NAMESPACE] "
	    "[--rados-conf PATH] [--rados-user NAME] [--rados-keyring PATH] "
	    "[--rados-timeout SECONDS] [--keep-source]";
	static const struct option opts[] = {{"to", required_argument, NULL, 'O'},
					     CLI_SERVER_OPTIONS,
					     {"keep-source", no_argument, NULL, 'k'},
					     {NULL, 0, NULL, 0}};
	char server[1200] = "";
	bool keep = false, to = false;
	int o;
	if (argc == 2 && strcmp(argv[1], "where") == 0) {
		if (cli_open_repo(c, CLI_AS_NOBODY) < 0)
			return cli_fail();
		printf("%s\n", evault_repo_objects(c->repo));
		return EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "migrate") != 0)
		return cli_usage("%s", usage);
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		if (o == 'k') {
			keep = true;
			continue;
		}
		int r = cli_server_option(server, sizeof(server), o, optarg);
		if (r != 1)
			return r ? r : cli_usage("%s", usage);
		to |= o == 'O';
	}
	if (!to || optind != argc - 1)
		return cli_usage("%s", usage);
	evault_migrate_result r;
	memset(&r, 0, sizeof(r));
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0 ||
	    evault_objects_migrate(c->repo, server, keep, print_line, NULL, &r) < 0) {
		return cli_fail();
	}
	if (!r.switched) {
		printf("removed %zu leftover copies from local: the objects are in %s\n", r.removed,
		       r.to);
		return EXIT_OK;
	}
	printf("moved: %zu objects (%llu bytes) proven in %s (%zu copied now, %zu there "
	       "already); evault.conf names it; %zu copies removed from %s%s\n",
	       r.copied + r.present, (unsigned long long)r.bytes, r.to, r.copied, r.present,
	       r.removed, r.from, keep ? " (--keep-source: the old copies stay)" : "");
	return EXIT_OK;
}
