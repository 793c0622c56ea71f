/*
 * The in-process ceilings for put and get: the same bytes through the
 * crypto pipeline alone, chunk by chunk on every core, no compression, no
 * I/O, with the primitives of vault format 4 (OpenSSL's, as vaultd/chunk.c
 * calls them):
 *   put: HMAC-SHA-256 nonce + XChaCha20-Poly1305 (HChaCha20, then EVP
 *        ChaCha20-Poly1305) + SHA-256 name;
 *   get: SHA-256 name check + XChaCha20-Poly1305 open (into a scratch
 *        buffer, then copied out, as chunk_open does).
 * put's and get's throughputs are reported against these figures by
 * tests/bench/put_get.sh.
 *
 * usage: evault-bench-pipeline FILE [CHUNK_BYTES] [THREADS]
 * prints: ceiling_mb_s=<put MB/s> get_ceiling_mb_s=<MB/s> threads=<n> bytes=<n>
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

typedef struct job {
	const uint8_t *data;
	size_t size, chunk;
	size_t first, step;
	uint8_t key[32], nkey[32];
	bool get;
	uint8_t *objs; /* put: writes each chunk's object; get: reads them */
} job;

static EVP_MD *sha256;
static EVP_CIPHER *chacha;
static EVP_MAC *hmac;

static void die(const char *what)
{
	fprintf(stderr, "evault-bench-pipeline: %s failed\n", what);
	exit(1);
}

static void aead(EVP_CIPHER_CTX *c, bool enc, uint8_t *out, const uint8_t *in, size_t n,
		 const uint8_t nonce[24], const uint8_t key[32], uint8_t tag[16])
{
	uint8_t sub[32], iv[12] = {0};
	int got = 0;
	crypto_core_hchacha20(sub, nonce, key, NULL);
	memcpy(iv + 4, nonce + 16, 8);
	if (!EVP_CipherInit_ex2(c, chacha, sub, iv, enc, NULL) ||
	    (!enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag)) ||
	    !EVP_CipherUpdate(c, out, &got, in, (int)n) || !EVP_CipherFinal_ex(c, out + n, &got) ||
	    (enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag)))
		die(enc ? "encrypt" : "decrypt");
	sodium_memzero(sub, sizeof(sub));
	EVP_CIPHER_CTX_reset(c);
}

static void *run(void *p)
{
	job *j = p;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t *scratch = malloc(j->chunk + 64), *plain = malloc(j->chunk);
	uint8_t nonce[32], id[32];
	size_t mlen;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA2-256", 0),
	    OSSL_PARAM_construct_end()};
	for (size_t off = j->first * j->chunk; off < j->size; off += j->step * j->chunk) {
		size_t n = j->size - off < j->chunk ? j->size - off : j->chunk;
		uint8_t *o = j->objs + off / j->chunk * (j->chunk + 40);
		if (!j->get) {
			EVP_MAC_CTX *m = EVP_MAC_CTX_new(hmac);
			if (!m || !EVP_MAC_init(m, j->nkey, 32, params) ||
			    !EVP_MAC_update(m, j->data + off, n) ||
			    !EVP_MAC_final(m, nonce, &mlen, sizeof(nonce)))
				die("hmac");
			EVP_MAC_CTX_free(m);
			memcpy(o, nonce, 24);
			aead(c, true, o + 24, j->data + off, n, o, j->key, o + 24 + n);
			if (!EVP_Digest(o, n + 40, id, NULL, sha256, NULL))
				die("sha256");
		} else {
			if (!EVP_Digest(o, n + 40, id, NULL, sha256, NULL))
				die("sha256");
			aead(c, false, scratch, o + 24, n, o, j->key, o + 24 + n);
			memcpy(plain, scratch, n);
		}
	}
	EVP_CIPHER_CTX_free(c);
	free(scratch);
	free(plain);
	return NULL;
}

static double pass(job *jobs, long nt, bool get)
{
	pthread_t *t = calloc((size_t)nt, sizeof(*t));
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < nt; i++) {
		jobs[i].get = get;
		pthread_create(&t[i], NULL, run, &jobs[i]);
	}
	for (long i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	free(t);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: evault-bench-pipeline FILE [CHUNK_BYTES] [THREADS]\n");
		return 2;
	}
	size_t chunk = argc > 2 ? strtoul(argv[2], NULL, 10) : 1 << 20;
	long nt = argc > 3 ? strtol(argv[3], NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || nt < 1 || chunk == 0 || chunk > (1u << 30)) {
		perror(argv[1]);
		return 1;
	}
	sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!sha256 || !chacha || !hmac)
		die("fetching the algorithms");
	size_t size = (size_t)st.st_size;
	/* Read it all into memory first: the ceiling excludes I/O. */
	uint8_t *data = malloc(size ? size : 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	/* the objects put makes, which get then opens; touched first, so that
	 * the ceiling counts no page faults (on a VM they cost as much as the
	 * crypto) */
	size_t objs_size = (got / chunk + 1) * (chunk + 40);
	uint8_t *objs = malloc(objs_size);
	if (!data || !objs)
		die("malloc");
	memset(objs, 0xa5, objs_size); /* not 0: malloc+memset(0) may become calloc */
	job *jobs = calloc((size_t)nt, sizeof(*jobs));
	uint8_t key[32], nkey[32];
	randombytes_buf(key, 32);
	randombytes_buf(nkey, 32);
	for (long i = 0; i < nt; i++) {
		jobs[i] = (job){data, got, chunk, (size_t)i, (size_t)nt, {0}, {0}, false, objs};
		memcpy(jobs[i].key, key, 32);
		memcpy(jobs[i].nkey, nkey, 32);
	}
	/* one pass untimed: the first touch of this much memory costs more
	 * than the crypto on a VM, even after the memset */
	pass(jobs, nt, false);
	double put = pass(jobs, nt, false), get = pass(jobs, nt, true);
	printf("ceiling_mb_s=%.1f get_ceiling_mb_s=%.1f threads=%ld bytes=%zu\n",
	       (double)got / 1e6 / put, (double)got / 1e6 / get, nt, got);
	free(data);
	free(objs);
	free(jobs);
	return 0;
}
