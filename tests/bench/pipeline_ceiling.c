/*
 * The in-process ceiling for put: the same bytes through the crypto
 * pipeline alone (keyed BLAKE2b nonce + XChaCha20-Poly1305 + BLAKE2b name),
 * chunk by chunk on every core, no compression, no I/O. put's throughput
 * is reported against this figure by tests/bench/put_get.sh.
 *
 * usage: evault-bench-pipeline FILE [CHUNK_BYTES] [THREADS]
 * prints: ceiling_mb_s=<MB/s> threads=<n> bytes=<n>
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

typedef struct job {
	const uint8_t *data;
	size_t size, chunk;
	size_t first, step;
	uint8_t key[32], nkey[32];
} job;

static void *run(void *p)
{
	job *j = p;
	uint8_t *out = malloc(j->chunk + 64);
	uint8_t nonce[24], id[32];
	for (size_t off = j->first * j->chunk; off < j->size; off += j->step * j->chunk) {
		size_t n = j->size - off < j->chunk ? j->size - off : j->chunk;
		crypto_generichash(nonce, sizeof(nonce), j->data + off, n, j->nkey,
				   sizeof(j->nkey));
		crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, j->data + off, n, NULL, 0,
							   NULL, nonce, j->key);
		crypto_generichash(id, sizeof(id), out, n + 16, NULL, 0);
	}
	free(out);
	return NULL;
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
	if (fd < 0 || fstat(fd, &st) < 0 || nt < 1 || chunk == 0) {
		perror(argv[1]);
		return 1;
	}
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
	pthread_t *t = calloc((size_t)nt, sizeof(*t));
	job *jobs = calloc((size_t)nt, sizeof(*jobs));
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < nt; i++) {
		jobs[i] = (job){data, got, chunk, (size_t)i, (size_t)nt, {0}, {0}};
		randombytes_buf(jobs[i].key, 32);
		randombytes_buf(jobs[i].nkey, 32);
		pthread_create(&t[i], NULL, run, &jobs[i]);
	}
	for (long i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("ceiling_mb_s=%.1f threads=%ld bytes=%zu\n", (double)got / 1e6 / secs, nt, got);
	free(data);
	free(t);
	free(jobs);
	return 0;
}
