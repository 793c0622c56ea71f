/*
 * One core's throughput of each primitive an object costs, in the two
 * object formats: libsodium's BLAKE2b-256, keyed BLAKE2b and
 * XChaCha20-Poly1305 (vault formats 1 to 3), libcrypto's SHA-256,
 * HMAC-SHA-256 and HChaCha20 + ChaCha20-Poly1305 (format 4), as
 * vaultd/chunk.c calls them, over a 1 MiB buffer. OPENSSL_ia32cap masks
 * CPU features from libcrypto, to see what a computer without them gets
 * (docs/format.md §Objects):
 *   OPENSSL_ia32cap=":~0x20000000"   no SHA extensions
 *   OPENSSL_ia32cap=":~0xC0230000"   no AVX-512
 *
 * usage: evault-bench-primitives [MIB]   (default 512 per primitive)
 * prints: <primitive> <MB/s of CPU time>, one per line
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#define LEN (1u << 20)

/* This thread's CPU time, not the wall clock: on a shared machine the
 * time the thread waits for a core is not the primitive's. */
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "evault-bench-primitives: %s failed\n", what);
	exit(1);
}

static void report(const char *name, double t0, int reps)
{
	printf("%-34s %.0f\n", name, (double)reps * LEN / 1e6 / (now() - t0));
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 512;
	uint8_t *in = malloc(LEN), *out = malloc(LEN + 64);
	uint8_t id[32], key[32], nonce[24], sub[32], iv[12] = {0}, mac[32];
	size_t ml;
	int got;
	if (reps < 1 || !in || !out || sodium_init() < 0)
		die("setup");
	randombytes_buf(in, LEN);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	memset(out, 1, LEN + 64);
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	EVP_CIPHER *cp = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!md || !cp || !hmac || !c)
		die("fetching libcrypto's algorithms");
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA2-256", 0),
	    OSSL_PARAM_construct_end()};

	double t = now();
	for (int i = 0; i < reps; i++)
		crypto_generichash(id, 32, in, LEN, NULL, 0);
	report("blake2b-256 (libsodium)", t, reps);
	t = now();
	for (int i = 0; i < reps; i++)
		crypto_generichash(nonce, 24, in, LEN, key, 32);
	report("keyed-blake2b-192 (libsodium)", t, reps);
	t = now();
	for (int i = 0; i < reps; i++)
		crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, in, LEN, NULL, 0, NULL, nonce,
							   key);
	report("xchacha20-poly1305 (libsodium)", t, reps);

	t = now();
	for (int i = 0; i < reps; i++)
		if (!EVP_Digest(in, LEN, id, NULL, md, NULL))
			die("sha256");
	report("sha-256 (libcrypto)", t, reps);
	t = now();
	for (int i = 0; i < reps; i++) {
		EVP_MAC_CTX *m = EVP_MAC_CTX_new(hmac);
		if (!m || !EVP_MAC_init(m, key, 32, params) || !EVP_MAC_update(m, in, LEN) ||
		    !EVP_MAC_final(m, mac, &ml, sizeof(mac)))
			die("hmac");
		EVP_MAC_CTX_free(m);
	}
	report("hmac-sha-256 (libcrypto)", t, reps);
	t = now();
	for (int i = 0; i < reps; i++) {
		crypto_core_hchacha20(sub, nonce, key, NULL);
		memcpy(iv + 4, nonce + 16, 8);
		if (!EVP_EncryptInit_ex2(c, cp, sub, iv, NULL) ||
		    !EVP_EncryptUpdate(c, out, &got, in, (int)LEN) ||
		    !EVP_EncryptFinal_ex(c, out + LEN, &got) ||
		    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + LEN))
			die("encrypt");
		EVP_CIPHER_CTX_reset(c);
	}
	report("xchacha20-poly1305 (libcrypto)", t, reps);
	sodium_memzero(sub, sizeof(sub));
	EVP_CIPHER_CTX_free(c);
	EVP_MAC_free(hmac);
	EVP_CIPHER_free(cp);
	EVP_MD_free(md);
	free(in);
	free(out);
	return 0;
}
