/* OpenSSH key lines and SSHSIG: our signatures, ssh-keygen's, forgeries. */
#include "helpers.h"

#include <sodium.h>

#include "sshkey.h"
#include "util.h"

static void read_vector(evault_buf *out, const char *name)
{
	char path[1024];
	const char *dir = getenv("EVAULT_TEST_VECTORS");
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/vectors", name);
	out->size = 0;
	assert_int_equal(file_read_all(out, path, 1 << 20), 0);
}

static void public_line_round_trip(void **s)
{
	uint8_t pk[32], sk[64], back[32];
	evault_buf line = EVAULT_BUF_INIT;
	crypto_sign_keypair(pk, sk);
	assert_int_equal(sshkey_format_public(&line, pk, "bob"), 0);
	assert_true(strncmp(line.ptr, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 37) == 0);
	assert_int_equal(sshkey_parse_public(back, line.ptr), 0);
	assert_memory_equal(pk, back, 32);
	assert_int_equal(sshkey_parse_public(back, "ssh-rsa AAAAB3NzaC1yc2E bob"), EVAULT_EINVAL);
	assert_int_equal(sshkey_parse_public(back, "ssh-ed25519 !!!"), EVAULT_EINVAL);
	assert_int_equal(sshkey_parse_public(back, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"),
			 EVAULT_EINVAL);
	evault_buf_dispose(&line);
}

static void fingerprint_matches_openssh(void **s)
{
	evault_buf pub = EVAULT_BUF_INIT;
	uint8_t pk[32];
	char fp[SSH_FINGERPRINT_LEN];
	read_vector(&pub, "sshsig-ed25519.pub");
	assert_int_equal(sshkey_parse_public(pk, pub.ptr), 0);
	sshkey_fingerprint(fp, pk);
	assert_true(strncmp(fp, "SHA256:", 7) == 0);
	assert_int_equal(strlen(fp), 50);
	evault_buf_dispose(&pub);
}

static void sign_verify(void **s)
{
	uint8_t pk[32], sk[64], signer[32];
	evault_buf sig = EVAULT_BUF_INIT;
	const char *msg = "tree abc\n\nmessage\n";
	crypto_sign_keypair(pk, sk);
	assert_int_equal(sshsig_sign(&sig, sk, "git", msg, strlen(msg)), 0);
	assert_true(strncmp(sig.ptr, "-----BEGIN SSH SIGNATURE-----\n", 30) == 0);
	assert_int_not_equal(sig.ptr[sig.size - 1], '\n'); /* gpgsig form */
	/* armour lines are at most 70 columns */
	for (char *l = sig.ptr; l && *l;) {
		char *nl = strchr(l, '\n');
		assert_true((nl ? (size_t)(nl - l) : strlen(l)) <= 70);
		l = nl ? nl + 1 : NULL;
	}
	assert_int_equal(sshsig_verify(signer, sig.ptr, sig.size, "git", msg, strlen(msg)), 0);
	assert_memory_equal(signer, pk, 32);
	/* another message, another namespace: refused */
	assert_int_equal(sshsig_verify(signer, sig.ptr, sig.size, "git", "tree abd\n", 9),
			 EVAULT_EAUTH);
	assert_int_equal(sshsig_verify(signer, sig.ptr, sig.size, "file", msg, strlen(msg)),
			 EVAULT_EAUTH);
	evault_buf_dispose(&sig);
}

static void forged_signature_fails(void **s)
{
	uint8_t pk[32], sk[64], signer[32];
	evault_buf sig = EVAULT_BUF_INIT;
	crypto_sign_keypair(pk, sk);
	assert_int_equal(sshsig_sign(&sig, sk, "git", "m", 1), 0);
	/* flip a character inside the signature bytes (near the end of the base64) */
	size_t at = sig.size - strlen("-----END SSH SIGNATURE-----") - 6;
	sig.ptr[at] = sig.ptr[at] == 'A' ? 'B' : 'A';
	int rc = sshsig_verify(signer, sig.ptr, sig.size, "git", "m", 1);
	assert_true(rc == EVAULT_EAUTH || rc == EVAULT_ECORRUPT);
	assert_int_equal(sshsig_verify(signer, "garbage", 7, "git", "m", 1), EVAULT_ECORRUPT);
	evault_buf_dispose(&sig);
}

static void openssh_vector_verifies(void **s)
{
	evault_buf pub = EVAULT_BUF_INIT, msg = EVAULT_BUF_INIT, sig = EVAULT_BUF_INIT;
	uint8_t pk[32], signer[32];
	read_vector(&pub, "sshsig-ed25519.pub");
	read_vector(&msg, "sshsig-message.txt");
	read_vector(&sig, "sshsig-git.sig");
	assert_int_equal(sshkey_parse_public(pk, pub.ptr), 0);
	assert_int_equal(sshsig_verify(signer, sig.ptr, sig.size, "git", msg.ptr, msg.size), 0);
	assert_memory_equal(signer, pk, 32);
	msg.ptr[0] ^= 1;
	assert_int_equal(sshsig_verify(signer, sig.ptr, sig.size, "git", msg.ptr, msg.size),
			 EVAULT_EAUTH);
	evault_buf_dispose(&pub);
	evault_buf_dispose(&msg);
	evault_buf_dispose(&sig);
}

int main(void)
{
	assert_true(sodium_init() >= 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(public_line_round_trip),
	    cmocka_unit_test(fingerprint_matches_openssh),
	    cmocka_unit_test(sign_verify),
	    cmocka_unit_test(forged_signature_fails),
	    cmocka_unit_test(openssh_vector_verifies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
