/* evault import: the camera-card workflow. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void show(const char *rel, const char *what, const char *detail, void *p)
{
	cli_progress_clear();
	(void)p;
	if (strcmp(what, "imported") == 0)
		printf("imported  %s  sha256:%s\n", rel, detail);
	else
		printf("%-9s %s  (%s)\n", what, rel, detail);
	fflush(stdout);
}

int cmd_import(cli *c, int argc, char **argv)
{
	const char *usage =
	    "usage: evault import MID SOURCE_DIR [--to CLASS[/DIR]] [--wipe-source]";
	const char *mid = NULL, *src = NULL, *dest = "dossier/photos";
	bool wipe = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wipe-source") == 0)
			wipe = true;
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			dest = argv[++i];
		else if (argv[i][0] == '-')
			return cli_usage("%s", usage);
		else if (!mid)
			mid = argv[i];
		else if (!src)
			src = argv[i];
		else
			return cli_usage("%s", usage);
	}
	if (!mid || !src)
		return cli_usage("%s", usage);
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0)
		return cli_fail();
	evault_import_report r;
	memset(&r, 0, sizeof(r));
	r.cb = show;
	int rc = evault_file_import(c->repo, mid, src, dest, wipe, &r);
	printf("%zu imported (%llu bytes), %zu refused, %zu already there, %zu skipped (not "
	       "regular files), %zu sources wiped\n",
	       r.imported, (unsigned long long)r.bytes, r.refused, r.existing, r.skipped, r.wiped);
	fflush(stdout);
	return rc < 0 ? cli_fail() : EXIT_OK;
}
