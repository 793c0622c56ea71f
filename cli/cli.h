/* Shared pieces of the evault command: options, errors, passphrases. */
#ifndef EVAULT_CLI_H
#define EVAULT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "evault.h"
#include "json.h"

/* Exit codes (documented in docs/cli.md and `evault --help`). */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_NOTFOUND = 3,
	EXIT_AUTH = 4,
	EXIT_CORRUPT = 5,
	EXIT_DENIED = 6,
	EXIT_EXISTS = 7,
	EXIT_READONLY = 8,
	EXIT_BUSY = 9,
	EXIT_NOSPACE = 10,
	EXIT_FORMAT = 11,
	EXIT_REFUSED = 12,
};

typedef struct cli {
	const char *repo_path;       /* --repo / EVAULT_REPO */
	const char *identity_path;   /* --identity / EVAULT_IDENTITY / default */
	const char *passphrase_file; /* --passphrase-file / EVAULT_PASSPHRASE_FILE */
	char identity_default[4096];
	evault_identity *id;
	evault_repo *repo;
	bool verify_all; /* audit verify: the whole history, then its head is trusted */
	bool json;       /* --json: the listing or report as one JSON document */
} cli;

typedef struct cli_command {
	const char *name;
	int (*run)(cli *c, int argc, char **argv);
} cli_command;

/* Prints "evault: <engine message>" and returns the exit code for it. */
int cli_fail(void);
/* Prints "evault: <message>" and returns EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_exit_code(int engine_rc);

/*
 * Lines for the journal. When the stream on fd (1 or 2) is the journal's
 * (JOURNAL_STREAM, systemd.exec(5), names its device and inode), lines
 * written there start with an sd-daemon level prefix, "<3>" and so on,
 * which journald turns into the entry's priority; elsewhere nothing
 * changes. Detected once per fd; finding stdout connected makes it line
 * buffered, so its lines and stderr's reach the journal in order.
 */
enum { CLI_LOG_ERR = 3, CLI_LOG_WARNING = 4, CLI_LOG_INFO = 6 };
bool cli_journal(int fd);
/* "<N>" when fd is the journal's, else "". */
const char *cli_level(int fd, int level);

/*
 * Reads a passphrase from the passphrase file or the terminal (no echo).
 * confirm: ask twice on a terminal. The result is in sodium_malloc memory:
 * release with cli_passphrase_free.
 */
int cli_passphrase(cli *c, const char *prompt, bool confirm, char **out, size_t *len);
void cli_passphrase_free(char *p, size_t len);

/* Loads (and unlocks if unlock) the identity into c->id. Engine rc. */
int cli_load_identity(cli *c, bool unlock);
/*
 * Opens the repository into c->repo, acting as nobody (public reads), as
 * the identity's user known by its public key (no passphrase), or unlocked
 * (the passphrase is asked: keys are opened, events signed).
 */
enum cli_as { CLI_AS_NOBODY, CLI_AS_PUBLIC, CLI_AS_UNLOCKED };
/*
 * Opens the repository, checked against the heads this identity verified
 * (IDENTITY.verified/ beside the identity file): what is new since is
 * verified first, nothing is done on a history that does not verify.
 */
int cli_open_repo(cli *c, enum cli_as as);
/* Makes the identity file's directory (mode 0700) if absent. */
void cli_identity_dir(const char *path);

/* getopt_long over a command's own arguments (argv[0] is the command name). */
#define CLI_GETOPT_RESET() (optind = 0)

int cmd_init(cli *c, int argc, char **argv);
int cmd_serve(cli *c, int argc, char **argv);
int cmd_clone(cli *c, int argc, char **argv);
int cmd_sync(cli *c, int argc, char **argv);
int cmd_status(cli *c, int argc, char **argv);
int cmd_device(cli *c, int argc, char **argv);
int cmd_identity(cli *c, int argc, char **argv);
int cmd_user(cli *c, int argc, char **argv);
int cmd_mission(cli *c, int argc, char **argv);
int cmd_put(cli *c, int argc, char **argv);
int cmd_get(cli *c, int argc, char **argv);
int cmd_ls(cli *c, int argc, char **argv);
int cmd_rm(cli *c, int argc, char **argv);
int cmd_log(cli *c, int argc, char **argv);
int cmd_audit(cli *c, int argc, char **argv);
int cmd_report(cli *c, int argc, char **argv);
int cmd_codes(cli *c, int argc, char **argv);
int cmd_policy(cli *c, int argc, char **argv);
int cmd_gc(cli *c, int argc, char **argv);
int cmd_fsck(cli *c, int argc, char **argv);
int cmd_retention(cli *c, int argc, char **argv);
int cmd_mount(cli *c, int argc, char **argv);
int cmd_import(cli *c, int argc, char **argv);
int cmd_umount(cli *c, int argc, char **argv);
int cmd_dossier(cli *c, int argc, char **argv);

/*
 * The shortest passphrase a new identity takes, in characters. The engine
 * refuses only an empty one (EVAULT_PASSPHRASE_MIN): tools and tests that
 * make identities through it choose their own.
 */
#define CLI_PASSPHRASE_MIN 8

/* Identity helpers shared by init and identity (cmd_init.c). */
int cli_kdf_level(const char *s, evault_kdf_level *out);
/*
 * The object store options of init and objects migrate: --objects LOC,
 * --rados-conf PATH, --rados-user NAME, --rados-keyring PATH,
 * --rados-timeout SECONDS, as "key value" lines of evault.conf in out.
 * opt is getopt's value for them: 'O', 'C', 'U', 'K', 'T'; 1 if handled.
 */
#define CLI_SERVER_OPTIONS                                                                         \
	{"objects", required_argument, NULL, 'O'}, {"rados-conf", required_argument, NULL, 'C'},   \
	    {"rados-user", required_argument, NULL, 'U'},                                          \
	    {"rados-keyring", required_argument, NULL, 'K'},                                       \
	    {"rados-timeout", required_argument, NULL, 'T'}
#define CLI_SERVER_USAGE                                                                           \
	"[--objects local|rados:POOL[/NAMESPACE]] [--rados-conf PATH] [--rados-user NAME] "         \
	"[--rados-keyring PATH] [--rados-timeout SECONDS]"
int cli_server_option(char *out, size_t n, int opt, const char *arg);
int cmd_objects(cli *c, int argc, char **argv);
int cli_identity_create_or_load(cli *c, const char *name, evault_kdf_level level, bool *created);

/*
 * The progress line (progress.c): cli_progress_start installs it when
 * standard error is a terminal; cli_progress_clear erases it, before
 * anything else is printed and when the command ends.
 */
void cli_progress_start(void);
void cli_progress_clear(void);

/* Formats a Unix time as "2026-11-23 18:00:00Z" (UTC). */
void cli_time(char out[32], long long t);

#endif
