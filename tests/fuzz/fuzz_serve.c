/*
 * evault serve, the office's side of the sync protocol, fed whatever a
 * peer may send before it proved who it is (docs/protocol.md): frames of
 * any length, type and body, cut anywhere. The session must end with an
 * error or cleanly, never crash, hang or change the vault, and an
 * authentication it cannot verify must fail. The vault is made once; its
 * user bob has the key the AUTH seeds were signed with (fuzz_seed.c), so
 * that an AUTH reaches the check of its signature and device.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "evault/identity.h"
#include "evault/remote.h"
#include "evault/repo.h"
#include "evault/user.h"
#include "fuzz.h"
#include "sshkey.h"

static evault_repo *office;
static char head_before[128];
static char vault_dir[4096];

static void head_of(char *out, size_t n)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/audit.git/refs/heads/main", vault_dir);
	FILE *f = fopen(p, "r");
	out[0] = '\0';
	if (f) {
		if (!fgets(out, (int)n, f))
			out[0] = '\0';
		fclose(f);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	char idp[4200];
	evault_identity *id = NULL;
	snprintf(vault_dir, sizeof(vault_dir), "%s/evault-fuzz-serve-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(vault_dir))
		abort();
	snprintf(idp, sizeof(idp), "%s.id", vault_dir);
	unlink(idp);
	strcat(vault_dir, "/vault");
	evault_init_opts o = EVAULT_INIT_OPTS_INIT;
	/* bob's key: fuzz_seed.c's (seed 0x42) */
	uint8_t seed[32], pk[SSH_ED25519_PK_LEN], sk[SSH_ED25519_SK_LEN];
	evault_buf line = EVAULT_BUF_INIT;
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
	if (evault_identity_create(&id, idp, "alice", "fuzz", 4, EVAULT_KDF_INTERACTIVE) < 0 ||
	    evault_repo_init(&office, vault_dir, &o, id, "alice") < 0 ||
	    sshkey_format_public(&line, pk, "bob") < 0 ||
	    evault_user_add(office, "bob", EVAULT_ROLE_TECHNICIAN, line.ptr) < 0)
		abort();
	evault_buf_dispose(&line);
	evault_repo_free(office);
	evault_identity_free(id);
	unlink(idp);
	if (evault_repo_open(&office, vault_dir) < 0)
		abort();
	head_of(head_before, sizeof(head_before));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the peer's bytes on a file: read to their end, then end of input */
	const char *path = fuzz_scratch_file(data, size);
	int in = open(path, O_RDONLY), out = open("/dev/null", O_WRONLY);
	if (in < 0 || out < 0)
		abort();
	evault_serve_opts o = {EVAULT_SERVE_OPTS_VERSION, in, out, 1, "/dev/null"};
	(void)evault_serve(office, &o);
	close(in);
	close(out);
	char now[128];
	head_of(now, sizeof(now));
	if (strcmp(now, head_before) != 0)
		fuzz_fail("serve: a session that never authenticated moved the history");
	evault_error_clear();
	return 0;
}
