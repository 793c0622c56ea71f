/*
 * The start every fixture shares (evault-gen-history, evault-gen-missions,
 * evault-forge): a repository opened with an identity unlocked and bound.
 */
#ifndef EVAULT_FIXTURE_H
#define EVAULT_FIXTURE_H

#include "evault.h"

/* Prints "PROG: WHAT: the engine's last error" on stderr; returns 1. */
int fixture_die(const char *prog, const char *what);

/* The repository at repo_path, bound to the identity at id_path unlocked
 * with the first line of pass_path. On failure *what names the step
 * ("passphrase", "open"). */
int fixture_unlock(evault_repo **repo, evault_identity **id, const char *repo_path,
		   const char *id_path, const char *pass_path, const char **what);

/* The engine initialised, git's fsync off (a fixture, not how evault
 * writes), then fixture_unlock of argv[1], argv[2], argv[3] (REPO IDENTITY
 * PASSFILE). On failure the message is printed: 1 is the exit code. */
int fixture_start(const char *prog, char **argv, evault_repo **repo, evault_identity **id);

#endif
