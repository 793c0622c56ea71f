/* evault mount / umount: the vault as a folder (fusefs/). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mount.h"

int cmd_mount(cli *c, int argc, char **argv)
{
	const char *usage = "usage: evault mount MOUNTPOINT [--foreground] [-o ro|sync=SECONDS]";
	evault_mount_opts o = {false, false, false, 60};
	const char *mp = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--foreground") == 0 || strcmp(argv[i], "-f") == 0)
			o.foreground = true;
		else if (strcmp(argv[i], "--debug") == 0)
			o.debug = o.foreground = true;
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			char *end;
			if (strcmp(argv[++i], "ro") == 0)
				o.read_only = true;
			else if (strncmp(argv[i], "sync=", 5) == 0) {
				unsigned long n = strtoul(argv[i] + 5, &end, 10);
				if (*end || !argv[i][5] || n > 86400)
					return cli_usage("sync= takes seconds, 0 to 86400 (0: none)");
				o.sync_interval = (unsigned)n;
			} else if (strcmp(argv[i], "rw") != 0)
				return cli_usage("unknown mount option '%s' (ro, rw, sync=SECONDS)",
						 argv[i]);
		} else if (argv[i][0] == '-' || mp)
			return cli_usage("%s", usage);
		else
			mp = argv[i];
	}
	if (!mp)
		return cli_usage("%s", usage);
	/* before the passphrase is asked: the mount point and FUSE itself */
	if (evault_mount_check(mp) < 0)
		return cli_fail();
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0)
		return cli_fail();
	if (evault_mount_run(c->repo, mp, &o) < 0)
		return cli_fail();
	return EXIT_OK;
}

/* The mount process's pid, from MOUNT/.evault/status; 0 if unknown. */
static long mount_pid(const char *mp)
{
	char path[4200], line[256];
	long pid = 0;
	snprintf(path, sizeof(path), "%s/.evault/status", mp);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "pid %ld", &pid) == 1)
			break;
	fclose(f);
	return pid;
}

int cmd_umount(cli *c, int argc, char **argv)
{
	(void)c;
	if (argc != 2)
		return cli_usage("usage: evault umount MOUNTPOINT");
	const char *mp = argv[1];
	long pid = mount_pid(mp);
	if (pid <= 0) {
		evault_error_set(EVAULT_ENOTFOUND, "%s is not an evault mount", mp);
		return cli_fail();
	}
	int err[2];
	if (pipe(err) < 0)
		return cli_fail();
	pid_t child = fork();
	if (child == 0) {
		dup2(err[1], 2);
		close(err[0]);
		execlp("fusermount3", "fusermount3", "-u", mp, (char *)NULL);
		_exit(127);
	}
	close(err[1]);
	char msg[512] = "";
	ssize_t n = read(err[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(err[0]);
	int st = 0;
	waitpid(child, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		msg[strcspn(msg, "\n")] = '\0';
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !*msg) {
			evault_error_set(EVAULT_ERROR,
					 "%s: fusermount3 is missing (install the fuse3 package)",
					 mp);
			return cli_fail();
		}
		if (strstr(msg, "busy")) {
			evault_error_set(EVAULT_ELOCKED, "%s is busy: files are still open there",
					 mp);
			return cli_fail();
		}
		evault_error_set(EVAULT_ERROR, "cannot unmount %s: %s", mp,
				 *msg ? msg : "fusermount3 failed");
		return cli_fail();
	}
	/* everything was committed at each close; wait for the process to finish its last
	 * event (batched refusals) so that "unmounted" means "all recorded" */
	for (int i = 0; i < 600 && kill((pid_t)pid, 0) == 0; i++) {
		struct timespec t = {0, 100000000};
		nanosleep(&t, NULL);
	}
	if (kill((pid_t)pid, 0) == 0) {
		evault_error_set(EVAULT_ELOCKED,
				 "%s is unmounted but its process %ld is still busy", mp, pid);
		return cli_fail();
	}
	return EXIT_OK;
}
