/* Shared helpers of the evault command: see cli.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

#define PASS_MAX 1024

int cli_exit_code(int rc)
{
	switch (rc) {
	case EVAULT_OK: return EXIT_OK;
	case EVAULT_ENOTFOUND: return EXIT_NOTFOUND;
	case EVAULT_EAUTH: return EXIT_AUTH;
	case EVAULT_ECORRUPT: return EXIT_CORRUPT;
	case EVAULT_EDENIED: return EXIT_DENIED;
	case EVAULT_EEXISTS: return EXIT_EXISTS;
	case EVAULT_EREADONLY: return EXIT_READONLY;
	case EVAULT_EINVAL: return EXIT_USAGE;
	case EVAULT_ELOCKED: return EXIT_BUSY;
	case EVAULT_ENOSPC: return EXIT_NOSPACE;
	case EVAULT_EFORMAT: return EXIT_FORMAT;
	case EVAULT_EREFUSED: return EXIT_REFUSED;
	default: return EXIT_ERROR;
	}
}

/* -1 not looked at yet, 0 no, 1 yes; for fds 1 and 2 */
static int journal_fd[3] = {-1, -1, -1};

static bool parse_ull(const char **s, char end, unsigned long long *out)
{
	char *e;
	if (**s < '0' || **s > '9')
		return false;
	errno = 0;
	*out = strtoull(*s, &e, 10);
	if (errno || *e != end)
		return false;
	*s = e + (end ? 1 : 0);
	return true;
}

bool cli_journal(int fd)
{
	if (fd < 1 || fd > 2)
		return false;
	if (journal_fd[fd] < 0) {
		const char *e = getenv("JOURNAL_STREAM");
		unsigned long long dev, ino;
		struct stat sb;
		journal_fd[fd] = e && parse_ull(&e, ':', &dev) && parse_ull(&e, '\0', &ino) &&
				 fstat(fd, &sb) == 0 && (unsigned long long)sb.st_dev == dev &&
				 (unsigned long long)sb.st_ino == ino;
		if (journal_fd[fd] && fd == 1)
			setvbuf(stdout, NULL, _IOLBF, 0);
	}
	return journal_fd[fd] == 1;
}

const char *cli_level(int fd, int level)
{
	if (!cli_journal(fd))
		return "";
	switch (level) {
	case CLI_LOG_ERR: return "<3>";
	case CLI_LOG_WARNING: return "<4>";
	default: return "<6>";
	}
}

int cli_fail(void)
{
	cli_progress_clear();
	fprintf(stderr, "%sevault: %s\n", cli_level(2, CLI_LOG_ERR), evault_error_last());
	return cli_exit_code(evault_error_code());
}

int cli_usage(const char *fmt, ...)
{
	va_list ap;
	cli_progress_clear();
	fprintf(stderr, "%sevault: ", cli_level(2, CLI_LOG_ERR));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

void cli_passphrase_free(char *p, size_t len)
{
	(void)len;
	if (p)
		sodium_free(p);
}

static int read_pass_file(const char *path, char *buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return evault_error_set(EVAULT_EINVAL, "cannot read passphrase file %s: %s", path,
					strerror(errno));
	ssize_t n, got = 0;
	while (got < PASS_MAX && (n = read(fd, buf + got, (size_t)(PASS_MAX - got))) > 0)
		got += n;
	close(fd);
	size_t l = 0;
	while (l < (size_t)got && buf[l] != '\n' && buf[l] != '\r')
		l++;
	sodium_memzero(buf + l, PASS_MAX + 1 - l);
	*len = l;
	return 0;
}

static int read_pass_tty(const char *prompt, char *buf, size_t *len)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return evault_error_set(EVAULT_EINVAL,
					"no terminal to ask for the passphrase: set "
					"EVAULT_PASSPHRASE_FILE or --passphrase-file");
	struct termios old, noecho;
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		noecho.c_lflag |= ICANON;
		tcsetattr(fd, TCSAFLUSH, &noecho);
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* the prompt is a courtesy; reading still works */
	}
	size_t l = 0;
	char ch;
	ssize_t n;
	while ((n = read(fd, &ch, 1)) == 1 && ch != '\n' && ch != '\r')
		if (l < PASS_MAX)
			buf[l++] = ch;
	ch = 0;
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* ignored */
	}
	close(fd);
	*len = l;
	return 0;
}

int cli_passphrase(cli *c, const char *prompt, bool confirm, char **out, size_t *len)
{
	char *a = sodium_malloc(PASS_MAX + 1), *b = NULL;
	size_t la = 0, lb = 0;
	int rc;
	*out = NULL;
	if (!a)
		return evault_error_set(EVAULT_ERROR, "out of memory");
	sodium_memzero(a, PASS_MAX + 1);
	if (c->passphrase_file) {
		rc = read_pass_file(c->passphrase_file, a, &la);
	} else {
		rc = read_pass_tty(prompt, a, &la);
		if (rc == 0 && confirm) {
			b = sodium_malloc(PASS_MAX + 1);
			if (!b)
				rc = evault_error_set(EVAULT_ERROR, "out of memory");
			else if ((rc = read_pass_tty("Repeat passphrase: ", b, &lb)) == 0 &&
				 (la != lb || sodium_memcmp(a, b, la) != 0))
				rc = evault_error_set(EVAULT_EINVAL, "the passphrases differ");
		}
	}
	if (b)
		sodium_free(b);
	if (rc < 0) {
		sodium_free(a);
		return rc;
	}
	a[la] = '\0';
	*out = a;
	*len = la;
	return 0;
}

int cli_load_identity(cli *c, bool unlock)
{
	int rc;
	if (!c->id && (rc = evault_identity_load(&c->id, c->identity_path)) < 0)
		return rc;
	if (!unlock || evault_identity_unlocked(c->id))
		return 0;
	char *pass = NULL;
	size_t plen = 0;
	char prompt[128];
	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", evault_identity_name(c->id));
	if ((rc = cli_passphrase(c, prompt, false, &pass, &plen)) < 0)
		return rc;
	rc = evault_identity_unlock(c->id, pass, plen);
	cli_passphrase_free(pass, plen);
	return rc;
}

void cli_identity_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	for (char *p = dir + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(dir, 0700);
			*p = '/';
		}
	mkdir(dir, 0700);
}

int cli_open_repo(cli *c, enum cli_as as)
{
	int rc;
	char dir[4200];
	if (!c->repo_path)
		return evault_error_set(EVAULT_EINVAL,
					"no repository: set EVAULT_REPO or use --repo PATH");
	if ((rc = evault_repo_open(&c->repo, c->repo_path)) < 0)
		return rc;
	/* the heads this identity verified: beside its file, out of the repository's reach */
	snprintf(dir, sizeof(dir), "%s.verified", c->identity_path);
	cli_identity_dir(c->identity_path);
	if ((rc = evault_repo_trust(c->repo, dir, !c->verify_all)) < 0)
		return rc;
	if (as == CLI_AS_NOBODY)
		return 0;
	if ((rc = cli_load_identity(c, as == CLI_AS_UNLOCKED)) < 0 ||
	    (rc = evault_repo_set_identity(c->repo, c->id)) < 0)
		return rc;
	/* a replica reads the files it lacks from the office (docs/deploy.md) */
	return as == CLI_AS_UNLOCKED ? evault_replica_attach(c->repo, NULL) : 0;
}

void cli_time(char out[32], long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", t);
}

int cli_server_option(char *out, size_t n, int opt, const char *arg)
{
	const char *key = opt == 'O'   ? "objects"
			  : opt == 'C' ? "rados-conf"
			  : opt == 'U' ? "rados-user"
			  : opt == 'K' ? "rados-keyring"
			  : opt == 'T' ? "rados-timeout"
				       : NULL;
	if (!key)
		return 0;
	size_t used = strlen(out);
	if (strchr(arg, '\n') ||
	    snprintf(out + used, n - used, "%s %s\n", key, arg) >= (int)(n - used))
		return cli_usage("--%s: value too long", key);
	return 1;
}
