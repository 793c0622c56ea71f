/* evault log: the signed history, newest first. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The longest action of the history format (mission.authorize-photos). */
#define LOG_ACTION_WIDTH 24
/* At least this wide; wider when a user's name (a mission id) is longer. */
#define LOG_ACTOR_WIDTH 12
#define LOG_MISSION_WIDTH 14

typedef struct log_ctx {
	long left;
	int actor_width;
	int mission_width;
	json *j; /* --json, else NULL */
} log_ctx;

/* The actor column is as wide as the vault's longest user name: every
 * actor of the history is one of its users (disabled ones stay listed). */
static int widest_user(const evault_user_info *u, void *p)
{
	log_ctx *c = p;
	int n = (int)strlen(u->name);
	if (n > c->actor_width)
		c->actor_width = n;
	return 0;
}

/* The mission column: as wide as the longest mission id this user sees. */
static int widest_mission(const char *mid, const char *status, void *p)
{
	log_ctx *c = p;
	int n = (int)strlen(mid);
	(void)status;
	if (n > c->mission_width)
		c->mission_width = n;
	return 0;
}

static int print_event(const evault_event *ev, void *p)
{
	log_ctx *c = p;
	char when[32];
	if (c->left == 0)
		return 1;
	if (c->left > 0)
		c->left--;
	if (c->j) {
		json_object(c->j);
		json_kuint(c->j, "seq", ev->seq);
		json_ktime(c->j, "time", ev->time);
		json_kstr(c->j, "commit", ev->commit);
		json_kstr(c->j, "actor", ev->actor);
		json_kstr(c->j, "action", ev->action);
		json_kstr(c->j, "mission", ev->mission[0] ? ev->mission : NULL);
		json_kstr(c->j, "summary", ev->summary);
		json_kbool(c->j, "signature_verified", ev->signed_ok);
		json_kstr(c->j, "names", ev->file && ev->file[0] ? ev->file : NULL);
		json_end(c->j);
		return 0;
	}
	cli_time(when, ev->time);
	printf("%-6llu %s  %-*s %-*s %-*s %s%s%s%s\n", (unsigned long long)ev->seq, when,
	       c->actor_width, ev->actor, LOG_ACTION_WIDTH, ev->action, c->mission_width,
	       ev->mission[0] ? ev->mission : "-", ev->summary, ev->file && ev->file[0] ? ": " : "",
	       ev->file ? ev->file : "", ev->signed_ok ? "" : "  [SIGNATURE NOT VERIFIED]");
	return 0;
}

int cmd_log(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"mission", required_argument, NULL, 'm'},
					     {"count", required_argument, NULL, 'n'},
					     {"names", no_argument, NULL, 'N'},
					     {NULL, 0, NULL, 0}};
	const char *mission = NULL;
	bool names = false;
	log_ctx lc = {-1, LOG_ACTOR_WIDTH, LOG_MISSION_WIDTH, NULL};
	json j;
	json_init(&j, stdout);
	char *end;
	int o;
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (o) {
		case 'm': mission = optarg; break;
		case 'N': names = true; break;
		case 'n':
			lc.left = strtol(optarg, &end, 10);
			if (*end || lc.left < 0)
				return cli_usage("-n takes a count");
			break;
		default: return cli_usage("usage: evault log [--mission MID] [-n COUNT] [--names]");
		}
	}
	if (optind != argc)
		return cli_usage("usage: evault log [--mission MID] [-n COUNT] [--names]");
	if (cli_open_repo(c, names ? CLI_AS_UNLOCKED : CLI_AS_PUBLIC) < 0)
		return cli_fail();
	if (c->json) { /* streams: a year of events is never all in memory */
		lc.j = &j;
		json_list_doc(&j, "events");
	} else if (evault_user_list(c->repo, widest_user, &lc) < 0 ||
		   evault_mission_list(c->repo, widest_mission, &lc) < 0)
		return cli_fail();
	int rc = names ? evault_log_walk_names(c->repo, mission, print_event, &lc)
		       : evault_log_walk(c->repo, mission, print_event, &lc);
	if (rc < 0)
		return cli_fail();
	if (lc.j)
		json_list_doc_end(&j);
	return EXIT_OK;
}
