/* The start every fixture shares (fixture.h). */
#include <stdio.h>
#include <string.h>

#include <git2.h>

#include "fixture.h"
#include "util.h"

int fixture_die(const char *prog, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, evault_error_last());
	return 1;
}

int fixture_unlock(evault_repo **repo, evault_identity **id, const char *repo_path,
		   const char *id_path, const char *pass_path, const char **what)
{
	evault_buf pass = EVAULT_BUF_INIT;
	int rc;
	*what = "passphrase";
	if ((rc = file_read_all(&pass, pass_path, 1024)) == 0) {
		*what = "open";
		if ((rc = evault_repo_open(repo, repo_path)) == 0 &&
		    (rc = evault_identity_load(id, id_path)) == 0 &&
		    (rc = evault_identity_unlock(*id, pass.ptr, strcspn(pass.ptr, "\r\n"))) == 0)
			rc = evault_repo_set_identity(*repo, *id);
	}
	evault_buf_dispose(&pass);
	return rc;
}

int fixture_start(const char *prog, char **argv, evault_repo **repo, evault_identity **id)
{
	const char *what = "init";
	if (evault_global_init() < 0)
		return fixture_die(prog, what);
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 0);
	if (fixture_unlock(repo, id, argv[1], argv[2], argv[3], &what) < 0)
		return fixture_die(prog, what);
	return 0;
}
