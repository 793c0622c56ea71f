/*
 * The command line's documentation, in one place: `evault --help`,
 * `evault help COMMAND [SUB]`, `evault COMMAND [SUB] --help`, the manual
 * pages (`evault help --man`, generated at build time) and the shell
 * completion's words (`evault help --complete`) all print this table, so
 * they cannot disagree.
 */
#ifndef EVAULT_CLI_HELP_H
#define EVAULT_CLI_HELP_H

#include <stdio.h>

typedef struct help_opt {
	const char *flag; /* "--dry-run, -n" */
	const char *text;
} help_opt;

typedef struct help_exit {
	int code;
	const char *why;
} help_exit;

typedef struct help_sub {
	const char *name;       /* the subcommand's word; NULL: the command itself */
	const char *synopsis;   /* after "evault " */
	const char *summary;    /* one line */
	const char *needs;      /* who may run it, what it asks for; NULL: anyone */
	const char *text;       /* paragraphs separated by "\n\n" */
	const help_opt *opts;   /* ends with {NULL, NULL}; NULL: none */
	const help_exit *exits; /* ends with {0, NULL}; NULL: the common codes */
	const char *complete;   /* what positional words complete to: "mission",
				   "path", "file", "dir", "user", "device", NULL */
	bool json;              /* --json prints a JSON document (docs/cli.md) */
} help_sub;

typedef struct help_group {
	const char *name;
	const char *summary;
	const char *text;
	const help_sub *subs; /* ends with {.synopsis = NULL} */
} help_group;

const help_group *help_group_find(const char *name);
/* The subcommand named word of g; g's only entry when it has no words. */
const help_sub *help_sub_find(const help_group *g, const char *word);

/* The entry of `evault WORD [SUB]` (argv after "evault"), or NULL. */
const help_sub *help_lookup(int argc, char **argv);

/* `evault --help`. */
void help_overview(FILE *f);
/*
 * `evault help GROUP [SUB]`: the group's page, or one subcommand's usage,
 * text, options and exit codes. Returns -1 (nothing printed) if unknown.
 */
int help_page(FILE *f, const char *group, const char *sub);
/* `evault help --man [GROUP]`: evault(1) or evault-GROUP(1), roff. */
int help_man(FILE *f, const char *group);
/*
 * `evault help --complete WORD...`: the words that may follow (commands,
 * subcommands, options), one per line; the last line "@KIND" when a
 * positional argument of kind KIND (help_sub.complete) may come next.
 */
void help_complete(FILE *f, int argc, char **argv);

#endif
