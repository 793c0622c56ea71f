/*
 * Test and benchmark fixture: N missions, each with a dossier report, a
 * work note and a codes entry marked rotated, made through the engine's
 * public calls with one unlocked identity; with --close each is then
 * closed (mission close, as `evault mission close` does). Git's fsync is
 * turned off: this builds fixtures, it is not how evault writes.
 *
 * usage: evault-gen-missions REPO IDENTITY PASSFILE N [--close]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evault.h"
#include "fixture.h"
#include "state.h"

static int die(const char *what)
{
	return fixture_die("evault-gen-missions", what);
}

static int put_text(evault_repo *repo, const char *vpath, const char *text)
{
	FILE *f = tmpfile();
	if (!f || fputs(text, f) < 0 || fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
		return evault_error_set(EVAULT_ERROR, "tmpfile");
	evault_put_opts o = EVAULT_PUT_OPTS_INIT;
	int rc = evault_file_put_fd(repo, vpath, fileno(f), &o);
	fclose(f);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: evault-gen-missions REPO IDENTITY PASSFILE N [--close]\n");
		return 2;
	}
	long n = atol(argv[4]);
	bool close = argc > 5 && strcmp(argv[5], "--close") == 0;
	evault_repo *repo = NULL;
	evault_identity *id = NULL;
	evault_buf report = EVAULT_BUF_INIT;
	if (fixture_start("evault-gen-missions", argv, &repo, &id) != 0)
		return 1;
	state_fixture_unsynced();
	for (long i = 0; i < n; i++) {
		char mid[32], vp[96], text[96];
		snprintf(mid, sizeof(mid), "M-R-%05ld", i);
		if (evault_mission_create(repo, mid, NULL, NULL, 0) < 0)
			return die("mission create");
		snprintf(vp, sizeof(vp), "%s/dossier/report.txt", mid);
		snprintf(text, sizeof(text), "report of %s\n", mid);
		if (put_text(repo, vp, text) < 0)
			return die("put");
		snprintf(vp, sizeof(vp), "%s/work/notes.txt", mid);
		snprintf(text, sizeof(text), "notes of %s\n", mid);
		if (put_text(repo, vp, text) < 0)
			return die("put");
		snprintf(vp, sizeof(vp), "%s/codes/code.txt", mid);
		snprintf(text, sizeof(text), "code of %s\n", mid);
		if (put_text(repo, vp, text) < 0 || evault_codes_mark(repo, vp, NULL) < 0)
			return die("codes");
		report.size = 0;
		if (close && evault_mission_close(repo, mid, false, false, &report) < 0)
			return die("close");
	}
	evault_buf_dispose(&report);
	evault_repo_free(repo);
	evault_identity_free(id);
	return 0;
}
