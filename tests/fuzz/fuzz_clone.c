/*
 * evault clone against a hostile office: the input is everything the
 * office sends (docs/protocol.md), played back by the "ssh" command
 * whatever the replica says. Challenge, welcome (and the device's state in
 * it), history objects, their end, key copies: any bytes must give an
 * error or a replica whose history verified, never a crash, a hang or a
 * half-made replica left behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evault/identity.h"
#include "evault/remote.h"
#include "fuzz.h"

static evault_identity *bob;
static char dir[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	char idp[4200];
	snprintf(dir, sizeof(dir), "%s/evault-fuzz-clone-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(idp, sizeof(idp), "%s/bob.id", dir);
	if (evault_identity_create(&bob, idp, "bob", "fuzz", 4, EVAULT_KDF_INTERACTIVE) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *input = fuzz_scratch_file(data, size);
	char ssh[4200], replica[4200], trust[4200];
	/* the office's side: the input, then silence until the replica hangs up */
	snprintf(ssh, sizeof(ssh), "cat '%s'; exec cat >/dev/null #", input);
	snprintf(replica, sizeof(replica), "%s/replica", dir);
	snprintf(trust, sizeof(trust), "%s/verified", dir);
	/* a device named here, not after the host: the same AUTH on every machine */
	evault_sync_opts o = {.version = EVAULT_SYNC_OPTS_VERSION,
			      .ssh = ssh,
			      .timeout_s = 1,
			      .device = "bob-laptop"};
	evault_sync_result r;
	int rc = evault_clone("ssh://office/srv/evault", replica, bob, trust, &o, &r);
	struct stat st;
	if (rc < 0 && stat(replica, &st) == 0)
		fuzz_fail("clone: a failed clone left a replica behind");
	if (rc == 0) { /* a history that verified: fine, and gone for the next input */
		char cmd[8500];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", replica, trust);
		if (system(cmd) != 0)
			abort();
	}
	evault_error_clear();
	return 0;
}
