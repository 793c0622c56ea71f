/*
 * evault report indicators: the yearly trust indicators, computed from the
 * verified history (docs/indicators.md), printed as a bilingual report
 * (Markdown, or HTML with --html) or as one JSON document.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* One line of the printed report: a figure, or a heading (ind < 0). */
typedef struct row {
	int ind;  /* evault_indicator; -1 heading; -2 median; -3 share on time */
	bool sub; /* details the row above it */
	const char *fr, *en;
} row;

static const row rows[] = {
    {-1, false, "Dossiers de recollement", "As-built dossiers"},
    {EVAULT_IND_DUE, false, "Dossiers dus dans l'année", "Dossiers due in the year"},
    {EVAULT_IND_ON_TIME, true, "remis dans les délais", "handed over on time"},
    {EVAULT_IND_LATE, true, "remis en retard", "handed over late"},
    {EVAULT_IND_OVERDUE, true, "en retard, pas encore remis", "overdue, not handed over yet"},
    {EVAULT_IND_PENDING, true, "à remettre, date non échue", "pending, date still ahead"},
    {-3, false, "Part remise dans les délais", "Share handed over on time"},
    {EVAULT_IND_DUE_MOVED, false, "Dates de remise déplacées dans l'année",
     "Due dates moved in the year"},
    {EVAULT_IND_HANDOVERS, false, "Remises enregistrées dans l'année",
     "Handovers recorded in the year"},
    {-2, false, "Délai médian de la clôture à la remise (jours)",
     "Median days from close to handover"},
    {EVAULT_IND_CLOSED_NO_DUE, false, "Missions clôturées sans date de remise",
     "Missions closed without a due date"},
    {-1, false, "Activité", "Activity"},
    {EVAULT_IND_CREATED, false, "Missions créées", "Missions created"},
    {EVAULT_IND_CLOSED, false, "Missions clôturées", "Missions closed"},
    {-1, false, "Codes d'accès temporaires (missions clôturées)",
     "Temporary access codes (missions closed)"},
    {EVAULT_IND_CODES_ROTATED, false, "Codes changés", "Codes rotated"},
    {EVAULT_IND_CODES_REPORTED, false, "Codes signalés au client", "Codes reported to the client"},
    {EVAULT_IND_CODES_DAMAGED, false, "Codes illisibles à la clôture", "Codes unreadable at close"},
    {-1, false, "Photos et enregistrements", "Photos and recordings"},
    {EVAULT_IND_CONTENT_REFUSED, false, "Fichiers refusés par les règles de contenu",
     "Files refused by the content rules"},
    {EVAULT_IND_PHOTOS_REFUSED, true, "Photos et vidéos refusées (sans autorisation)",
     "Photos and videos refused (no authorisation)"},
    {EVAULT_IND_AUDIO_REFUSED, true, "Enregistrements sonores refusés", "Voice recordings refused"},
    {EVAULT_IND_AUTHORISATIONS, false, "Autorisations écrites de photographier",
     "Written photo authorisations"},
    {-1, false, "Missions refusées", "Refused missions"},
    {EVAULT_IND_REFUSED, false, "Missions refusées", "Missions refused"},
    {EVAULT_IND_REFUSED_EMPLOYEE, true, "surveillance de salariés sans information préalable",
     "surveillance of employees without prior information"},
    {EVAULT_IND_REFUSED_PRIVATE, true, "filmage d'espaces privés sans droit",
     "filming private spaces without right"},
    {EVAULT_IND_REFUSED_COURT, true, "contournement de décisions judiciaires",
     "circumventing a court decision"},
    {EVAULT_IND_REFUSED_COMPETENCE, true, "compétences insuffisantes", "lacking the competence"},
    {EVAULT_IND_REFUSED_OTHER, true, "autre motif", "other reason"},
    {-1, false, "Effacements", "Erasures"},
    {EVAULT_IND_ERASURES, false, "Clôtures : travail et codes effacés",
     "Closes: work and codes erased"},
    {EVAULT_IND_ERASURES_CONFIRMED, true, "confirmé par chaque appareil",
     "confirmed by every device"},
    {EVAULT_IND_ERASURES_WAITING, true, "en attente d'un appareil", "waiting for a device"},
    {EVAULT_IND_ERASURES_NO_DEVICE, true, "aucun appareil ne détenait la mission",
     "no device held the mission"},
    {EVAULT_IND_EXPIRED, false, "Dossiers détruits en fin de conservation",
     "Dossiers destroyed at the end of retention"},
};

#define NROWS (sizeof(rows) / sizeof(*rows))

/* The share handed over on time, in tenths of a percent; -1: no dossier
 * due has a verdict yet (only pending ones, or none). */
static int64_t share_tenths(const evault_report *r)
{
	uint64_t on = r->value[EVAULT_IND_ON_TIME];
	uint64_t all = on + r->value[EVAULT_IND_LATE] + r->value[EVAULT_IND_OVERDUE];
	return all ? (int64_t)((on * 2000 + all) / (2 * all)) : -1;
}

/* A row's value as printed: "12", "93.3 %", "1.5", "-". */
static void value_text(char out[48], const evault_report *r, const row *w)
{
	int64_t t;
	if (w->ind >= 0) {
		snprintf(out, 48, "%llu", (unsigned long long)r->value[w->ind]);
		return;
	}
	t = w->ind == -2 ? r->median_tenths : share_tenths(r);
	if (t < 0)
		snprintf(out, 48, "-");
	else
		snprintf(out, 48, "%lld.%lld%s", (long long)(t / 10), (long long)(t % 10),
			 w->ind == -3 ? " %" : "");
}

/* Markdown and HTML: one function, the markup chosen per piece. */
static void html_text(const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", stdout); break;
		case '>': fputs("&gt;", stdout); break;
		case '&': fputs("&amp;", stdout); break;
		case '"': fputs("&quot;", stdout); break;
		default: putchar(*s);
		}
	}
}

/* A client's name in Markdown: the characters markup reads escaped. */
static void md_text(const char *s)
{
	for (; *s; s++) {
		if (strchr("\\`*_{}[]()<>#+-.!|&", *s))
			putchar('\\');
		putchar(*s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s);
	}
}

static void print_report(const evault_report *r, const char *client, bool html)
{
	char asof[32], v[48];
	cli_time(asof, r->as_of);
	if (html)
		printf("<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\">"
		       "<title>Indicateurs de confiance %d / Trust indicators %d</title>"
		       "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
		       "table{border-collapse:collapse;width:100%%}td,th{border:1px solid #999;"
		       "padding:.3em .5em}td.n{text-align:right}td.sub{padding-left:2em}"
		       "</style></head>\n<body>\n<h1>Indicateurs de confiance %d / Trust "
		       "indicators %d</h1>\n<p>",
		       r->year, r->year, r->year, r->year);
	else
		printf("# Indicateurs de confiance %d / Trust indicators %d\n\n", r->year, r->year);
	printf("Coffre / Vault: %s%s", r->vault_id, html ? "<br>\n" : "  \n");
	printf("Historique vérifié jusqu'à / Verified history up to: seq %llu, commit %.12s "
	       "(%s)%s",
	       (unsigned long long)r->seq, r->head, asof, html ? "<br>\n" : "  \n");
	printf("Année / Year: %d-01-01 – %d-12-31 (UTC)%s", r->year, r->year,
	       html ? "<br>\n" : "  \n");
	if (client) {
		printf("Client: ");
		if (html)
			html_text(client);
		else
			md_text(client);
		printf(" (%llu mission(s))%s", (unsigned long long)r->client_missions,
		       html ? "<br>\n" : "  \n");
		if (r->unreadable_missions)
			printf("%llu mission(s) expirée(s) ou illisible(s), non attribuable(s) / "
			       "expired or unreadable, not attributable%s",
			       (unsigned long long)r->unreadable_missions,
			       html ? "<br>\n" : "  \n");
	}
	if (client && r->unreadable_refusals)
		printf("%llu refus scellé(s) à d'autres admins seulement, non attribuable(s) / "
		       "refusal(s) sealed to other admins only, not attributable%s",
		       (unsigned long long)r->unreadable_refusals, html ? "<br>\n" : "  \n");
	printf(html ? "</p>\n" : "\n");
	bool open = false;
	for (size_t i = 0; i < NROWS; i++) {
		const row *w = &rows[i];
		if (w->ind == -1) {
			if (html)
				printf("%s<h2>%s / %s</h2>\n<table>\n", open ? "</table>\n" : "",
				       w->fr, w->en);
			else
				printf("%s## %s / %s\n\n| Indicateur / Indicator | Valeur / Value "
				       "|\n|---|---:|\n",
				       open ? "\n" : "", w->fr, w->en);
			open = true;
			continue;
		}
		bool sub = w->sub;
		value_text(v, r, w);
		if (html)
			printf("<tr><td%s>%s / %s</td><td class=\"n\">%s</td></tr>\n",
			       sub ? " class=\"sub\"" : "", w->fr, w->en, v);
		else
			printf("| %s%s / %s | %s |\n", sub ? "— " : "", w->fr, w->en, v);
	}
	if (html)
		printf("</table>\n");
	const char *fr = "Chaque chiffre est compté à partir de l'historique signé et vérifié "
			 "du coffre (evault report indicators --explain liste les événements).";
	const char *en = "Every figure is counted from the vault's signed, verified history "
			 "(evault report indicators --explain lists the events).";
	if (html)
		printf("<p>%s<br>\n%s</p>\n", fr, en);
	else
		printf("\n%s  \n%s\n", fr, en);
	bool any = false;
	for (int i = 0; i < EVAULT_IND_COUNT; i++) {
		if (!r->nexplain[i])
			continue;
		if (!any)
			printf(html ? "<h2>Événements / Events</h2>\n"
				    : "\n## Événements / Events\n\nseq, commit, mission:\n");
		any = true;
		printf(html ? "<h3>%s</h3>\n<pre>" : "\n### %s\n\n```\n", evault_indicator_name(i));
		for (size_t k = 0; k < r->nexplain[i];
		     k++) { /* ids and digits: nothing to escape */
			const evault_report_event *e = &r->explain[i][k];
			printf("%llu %s%s%s\n", (unsigned long long)e->seq, e->commit,
			       e->mission[0] ? " " : "", e->mission);
		}
		printf(html ? "</pre>\n" : "```\n");
	}
	if (html)
		printf("</body>\n</html>\n");
}

static void print_json(const evault_report *r, const char *client)
{
	json j;
	json_init(&j, stdout);
	json_object(&j);
	json_kint(&j, "year", r->year);
	json_kstr(&j, "vault", r->vault_id);
	json_kstr(&j, "head", r->head);
	json_kuint(&j, "seq", r->seq);
	json_ktime(&j, "as_of", r->as_of);
	json_kuint(&j, "events", r->events);
	if (client) {
		json_kstr(&j, "client", client);
		json_kuint(&j, "client_missions", r->client_missions);
		json_kuint(&j, "unattributable_missions", r->unreadable_missions);
		json_kuint(&j, "unattributable_refusals", r->unreadable_refusals);
	}
	json_key(&j, "indicators");
	json_object(&j);
	for (int i = 0; i < EVAULT_IND_COUNT; i++)
		json_kuint(&j, evault_indicator_name(i), r->value[i]);
	json_end(&j);
	int64_t s = share_tenths(r);
	json_key(&j, "on_time_share_percent");
	json_tenths(&j, s);
	json_key(&j, "median_days_close_to_handover");
	json_tenths(&j, r->median_tenths);
	if (r->explained) {
		json_key(&j, "explain");
		json_object(&j);
		for (int i = 0; i < EVAULT_IND_COUNT; i++) {
			json_key(&j, evault_indicator_name(i));
			json_array(&j);
			for (size_t k = 0; k < r->nexplain[i]; k++) {
				const evault_report_event *e = &r->explain[i][k];
				json_object(&j);
				json_kuint(&j, "seq", e->seq);
				json_kstr(&j, "commit", e->commit);
				json_kstr(&j, "mission", e->mission[0] ? e->mission : NULL);
				json_end(&j);
			}
			json_end(&j);
		}
		json_end(&j);
	}
	json_end(&j);
}

#define USAGE                                                                                      \
	"usage: evault report indicators --year YYYY [--client NAME] [--explain] [--html] "        \
	"[EXPORT]"

static int indicators(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"year", required_argument, NULL, 'y'},
					     {"client", required_argument, NULL, 'c'},
					     {"explain", no_argument, NULL, 'e'},
					     {"html", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	evault_report_opts ro = EVAULT_REPORT_OPTS_INIT;
	evault_report *r = NULL;
	bool html = false;
	int o, rc;
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'y': {
			char *end;
			long y = strtol(optarg, &end, 10);
			if (*end || end == optarg || y < 2000 || y > 2999)
				return cli_usage("--year takes a year from 2000 to 2999, not '%s'",
						 optarg);
			ro.year = (int)y;
			break;
		}
		case 'c': ro.client = optarg; break;
		case 'e': ro.explain = true; break;
		case 'h': html = true; break;
		default: return cli_usage(USAGE);
		}
	}
	if (argc - optind > 1)
		return cli_usage(USAGE);
	if (!ro.year)
		return cli_usage("say which year: --year YYYY (the figures of 1 January to 31 "
				 "December, UTC)");
	if (html && c->json)
		return cli_usage("--html and --json: choose one");
	const char *export = optind < argc ? argv[optind] : NULL;
	if (export) {
		rc = evault_report_indicators_bundle(&r, export, &ro);
		if (rc == EVAULT_ECORRUPT) { /* as audit verify: it does not verify */
			fprintf(stderr, "%sevault: verification FAILED: %s\n",
				cli_level(2, CLI_LOG_ERR), evault_error_last());
			return 1;
		}
	} else {
		rc = cli_open_repo(c, ro.client ? CLI_AS_UNLOCKED : CLI_AS_PUBLIC);
		if (rc == 0)
			rc = evault_report_indicators(&r, c->repo, &ro);
	}
	if (rc < 0)
		return cli_fail();
	if (c->json)
		print_json(r, ro.client);
	else
		print_report(r, ro.client, html);
	evault_report_free(r);
	return EXIT_OK;
}

int cmd_report(cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "indicators") == 0)
		return indicators(c, argc - 1, argv + 1);
	return cli_usage("usage: evault report indicators --year YYYY ...");
}
