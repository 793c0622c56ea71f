/*
 * Object codec and class-key cryptography: see chunk.h. This is the only
 * engine file that includes zstd.h or OpenSSL's headers.
 *
 * The bulk primitives are OpenSSL's (libcrypto 3): SHA-256 and HMAC-SHA-256
 * use the CPU's SHA instructions and ChaCha20-Poly1305 its AVX-512/AVX2
 * code, which libsodium 1.0.18 lacks (no SHA extensions; AVX2 at most for
 * BLAKE2b and ChaCha20, SSE2 for Poly1305). XChaCha20-Poly1305
 * is built from libsodium's HChaCha20 and OpenSSL's IETF ChaCha20-Poly1305
 * exactly as libsodium builds it, so the bytes are those of
 * crypto_aead_xchacha20poly1305_ietf_encrypt (tests/unit/test_chunk.c
 * checks it). The KDF and fingerprints stay libsodium's.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>
/* custom allocators (ZSTD_createCCtx_advanced): exported by libzstd since 1.4 */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "chunk.h"
#include "names.h"
#include "util.h"

#define OBJ_MAGIC "EVOB"
#define OBJ_VERSION 1
/* 1: BLAKE2b names and nonces (vault formats 1 to 3, no longer read);
 * 2: SHA-256 names, HMAC-SHA-256 nonces. Both XChaCha20-Poly1305. */
#define OBJ_ALG_BLAKE2B 1
#define OBJ_ALG_XCHACHA_SHA256 2
#define OBJ_FLAG_ZSTD 0x01
#define KDF_CONTEXT "evault-c"
enum { SUB_CONTENT = 1, SUB_NONCE = 2, SUB_MANIFEST = 3, SUB_INFO = 4, SUB_FINGERPRINT = 100 };
/* Chunks of at least this size are sampled before a full compression try. */
#define SAMPLE_MIN (128 * 1024)
#define SAMPLE_LEN (64 * 1024)

/* One generation of a class key: its subkeys. */
typedef struct class_gen {
	secret *content, *nonce, *manifest, *info;
} class_gen;

/* Every generation a holder has, oldest first: sealing uses the newest,
 * opening tries the newest first, then the older ones. Generations are only
 * ever added (class_keys_extend), never removed, so that a reader of n while
 * one is added sees complete generations. */
struct class_keys {
	class_gen g[CLASS_GENS_MAX];
	_Atomic size_t n;
	uint8_t ad[16 + 1 + 64 + 1];
	size_t adlen;
};

struct chunk_worker {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	EVP_CIPHER_CTX *aead; /* reset (its key cleansed) after every use */
	uint8_t *scratch;     /* compressed bytes (seal) or decrypted bytes (open) */
	size_t scratch_cap;
	int level;
};

/* OpenSSL's algorithms, fetched once: an implicit fetch per call (EVP_sha256())
 * takes a lock and a lookup each time. Never freed: they live as long as
 * the process, as OpenSSL's own caches do. */
static EVP_MD *md_sha256;
static EVP_CIPHER *cipher_chacha;
static EVP_MAC *mac_hmac;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void algs_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	cipher_chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static int algs(void)
{
	pthread_once(&algs_once, algs_fetch);
	if (!md_sha256 || !cipher_chacha || !mac_hmac)
		return evault_error_set(EVAULT_ERROR, "libcrypto lacks SHA-256, HMAC or "
						      "ChaCha20-Poly1305");
	return 0;
}

static int crypto_failed(const char *what)
{
	ERR_clear_error(); /* its queue is per thread; the message says enough */
	return evault_error_set(EVAULT_ERROR, "libcrypto failed to %s", what);
}

static secret *derive(const secret *key, uint64_t id, size_t len)
{
	secret *s = secret_new(len);
	if (s)
		crypto_kdf_derive_from_key(s->data, len, id, KDF_CONTEXT, key->data);
	return s;
}

static int gen_derive(class_gen *g, const secret *key, size_t i)
{
	secret one = {CLASS_KEY_LEN, key->data + i * CLASS_KEY_LEN};
	g->content = derive(&one, SUB_CONTENT, 32);
	g->nonce = derive(&one, SUB_NONCE, 32);
	g->manifest = derive(&one, SUB_MANIFEST, 32);
	g->info = derive(&one, SUB_INFO, 32);
	return g->content && g->nonce && g->manifest && g->info ? 0 : EVAULT_ERROR;
}

static void gen_free(class_gen *g)
{
	secret_free(g->content);
	secret_free(g->nonce);
	secret_free(g->manifest);
	secret_free(g->info);
	memset(g, 0, sizeof(*g));
}

static size_t key_gens(const secret *key)
{
	return key->len % CLASS_KEY_LEN ? 0 : key->len / CLASS_KEY_LEN;
}

int class_keys_extend(class_keys *k, const secret *key)
{
	size_t have = atomic_load(&k->n), want = key_gens(key);
	if (want == 0 || want > CLASS_GENS_MAX || want < have)
		return evault_error_set(EVAULT_EINVAL, "bad class key");
	for (size_t i = have; i < want; i++) {
		if (gen_derive(&k->g[i], key, i) < 0) {
			gen_free(&k->g[i]);
			return EVAULT_ERROR;
		}
		atomic_store(&k->n, i + 1); /* published once complete */
	}
	return 0;
}

size_t class_keys_gens(const class_keys *k)
{
	return atomic_load(&k->n);
}

int class_keys_new(class_keys **out, const secret *key, const uint8_t vault_id[16], const char *mid,
		   evault_class cls)
{
	class_keys *k;
	size_t midlen = strlen(mid);
	*out = NULL;
	if (key_gens(key) == 0 || key_gens(key) > CLASS_GENS_MAX || midlen > EVAULT_MID_MAX)
		return evault_error_set(EVAULT_EINVAL, "bad class key");
	if (!(k = calloc(1, sizeof(*k))))
		return error_oom();
	atomic_init(&k->n, 0);
	if (class_keys_extend(k, key) < 0) {
		class_keys_free(k);
		return EVAULT_ERROR;
	}
	memcpy(k->ad, vault_id, 16);
	k->ad[16] = (uint8_t)midlen;
	memcpy(k->ad + 17, mid, midlen);
	k->ad[17 + midlen] = (uint8_t)cls;
	k->adlen = 18 + midlen;
	*out = k;
	return 0;
}

void class_keys_free(class_keys *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < CLASS_GENS_MAX; i++)
		gen_free(&k->g[i]);
	free(k);
}

void class_key_fingerprint_at(char out[CLASS_FP_HEX], const secret *key, size_t gen)
{
	uint8_t fp[CLASS_FP_LEN];
	crypto_kdf_derive_from_key(fp, sizeof(fp), SUB_FINGERPRINT, KDF_CONTEXT,
				   key->data + gen * CLASS_KEY_LEN);
	hex_encode(out, fp, sizeof(fp));
}

void class_key_fingerprint(char out[CLASS_FP_HEX], const secret *key)
{
	class_key_fingerprint_at(out, key, 0);
}

static const class_gen *newest(const class_keys *k)
{
	return &k->g[atomic_load(&k->n) - 1];
}

/* zstd's contexts hold windows of plaintext: their memory is wiped when freed. */
typedef struct zblock {
	size_t size;
	max_align_t pad[];
} zblock;

static void *zalloc_wiping(void *opaque, size_t size)
{
	(void)opaque;
	zblock *b = malloc(sizeof(zblock) + size);
	if (!b)
		return NULL;
	b->size = size;
	return b->pad;
}

static void zfree_wiping(void *opaque, void *p)
{
	(void)opaque;
	if (!p)
		return;
	zblock *b = (zblock *)((char *)p - offsetof(zblock, pad));
	sodium_memzero(p, b->size);
	free(b);
}

static const ZSTD_customMem wiping_mem = {zalloc_wiping, zfree_wiping, NULL};

chunk_worker *chunk_worker_new(size_t chunk_size, int zstd_level)
{
	chunk_worker *w = calloc(1, sizeof(*w));
	if (!w) {
		error_oom();
		return NULL;
	}
	if (algs() < 0) {
		free(w);
		return NULL;
	}
	w->level = zstd_level;
	w->scratch_cap = ZSTD_compressBound(chunk_size) + OBJ_HEADER_LEN;
	w->cctx = ZSTD_createCCtx_advanced(wiping_mem);
	w->dctx = ZSTD_createDCtx_advanced(wiping_mem);
	w->aead = EVP_CIPHER_CTX_new();
	w->scratch = malloc(w->scratch_cap);
	if (!w->cctx || !w->dctx || !w->aead || !w->scratch) {
		chunk_worker_free(w);
		error_oom();
		return NULL;
	}
	return w;
}

void chunk_worker_free(chunk_worker *w)
{
	if (!w)
		return;
	ZSTD_freeCCtx(w->cctx);
	ZSTD_freeDCtx(w->dctx);
	EVP_CIPHER_CTX_free(w->aead);
	if (w->scratch) {
		sodium_memzero(w->scratch, w->scratch_cap);
		free(w->scratch);
	}
	free(w);
}

int object_hash(uint8_t id[OBJECT_ID_LEN], const void *data, size_t len)
{
	unsigned int n = 0;
	if (algs() < 0)
		return EVAULT_ERROR;
	if (!EVP_Digest(data, len, id, &n, md_sha256, NULL) || n != OBJECT_ID_LEN) {
		memset(id, 0, OBJECT_ID_LEN);
		return crypto_failed("hash an object");
	}
	return 0;
}

/* Feeds len bytes to an AEAD update in pieces an int can count (records
 * may exceed 2 GiB in principle; chunks never do). out NULL: associated data. */
static bool aead_update(EVP_CIPHER_CTX *c, bool enc, uint8_t *out, const uint8_t *in, size_t len)
{
	while (len > 0) {
		int piece = len > (1u << 30) ? 1 << 30 : (int)len, got = 0;
		if (!(enc ? EVP_EncryptUpdate(c, out, &got, in, piece)
			  : EVP_DecryptUpdate(c, out, &got, in, piece)) ||
		    got != piece)
			return false;
		in += piece;
		if (out)
			out += piece;
		len -= (size_t)piece;
	}
	return true;
}

/*
 * XChaCha20-Poly1305-IETF, as libsodium defines it: subkey =
 * HChaCha20(key, nonce[0..16)), then ChaCha20-Poly1305-IETF under the
 * subkey with the 12-byte nonce 0^4 || nonce[16..24). ct receives len
 * bytes then the 16-byte tag. c is reset before returning, which cleanses
 * the key OpenSSL holds; the subkey on the stack is wiped here.
 */
static int xchacha_seal(EVP_CIPHER_CTX *c, uint8_t *ct, const uint8_t *in, size_t len,
			const uint8_t *ad, size_t adlen, const uint8_t nonce[OBJ_NONCE_LEN],
			const uint8_t key[32])
{
	uint8_t sub[32], iv[12] = {0};
	int fin = 0, ok;
	crypto_core_hchacha20(sub, nonce, key, NULL);
	memcpy(iv + 4, nonce + 16, 8);
	ok = EVP_EncryptInit_ex2(c, cipher_chacha, sub, iv, NULL) &&
	     aead_update(c, true, NULL, ad, adlen) && aead_update(c, true, ct, in, len) &&
	     EVP_EncryptFinal_ex(c, ct + len, &fin) && fin == 0 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, OBJ_TAG_LEN, ct + len);
	sodium_memzero(sub, sizeof(sub));
	EVP_CIPHER_CTX_reset(c);
	return ok ? 0 : crypto_failed("encrypt");
}

/*
 * The inverse: ct is len bytes then the tag. OpenSSL decrypts as it goes
 * and checks the tag (in constant time) at the end, so out holds
 * unauthenticated bytes until then: on a failed tag they are wiped here.
 * chunk_open passes its worker's scratch buffer, never its caller's
 * output; blob_open the record buffer it returns only once this succeeds.
 * true: opened; false: the tag did not verify, or libcrypto failed
 * (nothing is returned either way).
 */
static bool xchacha_open(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *ct, size_t len,
			 const uint8_t *ad, size_t adlen, const uint8_t nonce[OBJ_NONCE_LEN],
			 const uint8_t key[32])
{
	uint8_t sub[32], iv[12] = {0}, tag[OBJ_TAG_LEN];
	int fin = 0;
	bool ok;
	crypto_core_hchacha20(sub, nonce, key, NULL);
	memcpy(iv + 4, nonce + 16, 8);
	memcpy(tag, ct + len, OBJ_TAG_LEN);
	ok = EVP_DecryptInit_ex2(c, cipher_chacha, sub, iv, NULL) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, OBJ_TAG_LEN, tag) &&
	     aead_update(c, false, NULL, ad, adlen) && aead_update(c, false, out, ct, len) &&
	     EVP_DecryptFinal_ex(c, out + len, &fin) > 0 && fin == 0;
	sodium_memzero(sub, sizeof(sub));
	EVP_CIPHER_CTX_reset(c);
	if (!ok) {
		sodium_memzero(out, len);
		ERR_clear_error(); /* a failed tag leaves nothing for later callers */
	}
	return ok;
}

/* Synthetic nonce: HMAC-SHA-256 under the nonce subkey over header ||
 * payload, its first 24 bytes. */
static int synthetic_nonce(uint8_t nonce[OBJ_NONCE_LEN], const secret *key,
			   const uint8_t h[OBJ_HEADER_LEN], const uint8_t *in, size_t len)
{
	uint8_t mac[32];
	size_t n = 0;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA2-256", 0),
	    OSSL_PARAM_construct_end()};
	EVP_MAC_CTX *m = EVP_MAC_CTX_new(mac_hmac);
	bool ok = m && EVP_MAC_init(m, key->data, key->len, params) &&
		  EVP_MAC_update(m, h, OBJ_HEADER_LEN) && EVP_MAC_update(m, in, len) &&
		  EVP_MAC_final(m, mac, &n, sizeof(mac)) && n == sizeof(mac);
	EVP_MAC_CTX_free(m); /* cleanses the keyed state */
	if (ok)
		memcpy(nonce, mac, OBJ_NONCE_LEN);
	sodium_memzero(mac, sizeof(mac));
	return ok ? 0 : crypto_failed("compute a nonce");
}

static void header(uint8_t h[OBJ_HEADER_LEN], uint8_t flags, enum obj_kind kind)
{
	memcpy(h, OBJ_MAGIC, 4);
	h[4] = OBJ_VERSION;
	h[5] = OBJ_ALG_XCHACHA_SHA256;
	h[6] = flags;
	h[7] = (uint8_t)kind;
}

/* Associated data: header || class binding || optional extra. */
static void make_ad(uint8_t *ad, size_t *adlen, const uint8_t h[OBJ_HEADER_LEN],
		    const class_keys *k, const char *extra)
{
	size_t n = 0, el = extra ? strlen(extra) : 0;
	memcpy(ad, h, OBJ_HEADER_LEN);
	n += OBJ_HEADER_LEN;
	memcpy(ad + n, k->ad, k->adlen);
	n += k->adlen;
	if (el > 64)
		el = 64;
	if (el)
		memcpy(ad + n, extra, el);
	*adlen = n + el;
}

/* Is it worth compressing? 1 yes (compressed into w->scratch, *clen set), 0 no. */
static int try_compress(chunk_worker *w, const uint8_t *plain, size_t len, size_t *clen)
{
	if (len < 64)
		return 0;
	if (len >= SAMPLE_MIN) {
		size_t s =
		    ZSTD_compressCCtx(w->cctx, w->scratch, w->scratch_cap, plain, SAMPLE_LEN, 1);
		if (ZSTD_isError(s) || s > SAMPLE_LEN - SAMPLE_LEN / 16)
			return 0; /* incompressible sample: photos, archives */
	}
	size_t c = ZSTD_compressCCtx(w->cctx, w->scratch, w->scratch_cap, plain, len, w->level);
	if (ZSTD_isError(c) || c >= len - len / 32)
		return 0;
	*clen = c;
	return 1;
}

int chunk_seal(evault_buf *out, uint8_t id[OBJECT_ID_LEN], const class_keys *k, chunk_worker *w,
	       const uint8_t *plain, size_t len)
{
	size_t clen = 0, adlen;
	int compressed = try_compress(w, plain, len, &clen);
	const uint8_t *in = compressed ? w->scratch : plain;
	size_t inlen = compressed ? clen : len;
	uint8_t h[OBJ_HEADER_LEN], ad[OBJ_HEADER_LEN + sizeof(k->ad) + 64];
	int rc;

	header(h, compressed ? OBJ_FLAG_ZSTD : 0, OBJ_KIND_CHUNK);
	out->size = 0;
	if ((rc = buf_reserve(out, inlen + OBJ_OVERHEAD)) < 0)
		goto done;
	uint8_t *o = (uint8_t *)out->ptr;
	memcpy(o, h, OBJ_HEADER_LEN);
	/* Synthetic nonce over exactly the bytes encrypted, and the header. */
	const class_gen *g = newest(k);
	if ((rc = synthetic_nonce(o + OBJ_HEADER_LEN, g->nonce, h, in, inlen)) < 0)
		goto done;
	make_ad(ad, &adlen, h, k, NULL);
	if ((rc = xchacha_seal(w->aead, o + OBJ_HEADER_LEN + OBJ_NONCE_LEN, in, inlen, ad, adlen,
			       o + OBJ_HEADER_LEN, g->content->data)) < 0)
		goto done;
	if ((rc = object_hash(id, o, inlen + OBJ_OVERHEAD)) < 0)
		goto done;
	out->size = inlen + OBJ_OVERHEAD;
done:
	if (compressed)
		sodium_memzero(w->scratch, clen);
	return rc;
}

static int corrupt(const uint8_t id[OBJECT_ID_LEN], const char *why)
{
	char hex[OBJECT_HEX_LEN + 1];
	object_id_hex(hex, id);
	return evault_error_set(EVAULT_ECORRUPT, "object %.16s… is corrupt: %s", hex, why);
}

/* Which header a reader refuses, and how: 0 if it is one it reads. */
static int check_header(const uint8_t *o, uint8_t flags_ok, enum obj_kind kind, const char **why)
{
	*why = "bad header";
	if (memcmp(o, OBJ_MAGIC, 4) != 0)
		return EVAULT_ECORRUPT;
	if (o[4] > OBJ_VERSION || (o[4] == OBJ_VERSION && o[5] > OBJ_ALG_XCHACHA_SHA256)) {
		*why = "written by a newer evault";
		return EVAULT_EFORMAT;
	}
	if (o[4] == OBJ_VERSION && o[5] == OBJ_ALG_BLAKE2B) {
		*why = "in the format of vaults before format 4 (BLAKE2b names), which this "
		       "evault does not read";
		return EVAULT_EFORMAT;
	}
	if (o[4] != OBJ_VERSION || o[5] != OBJ_ALG_XCHACHA_SHA256 || (o[6] & ~flags_ok) ||
	    o[7] != (uint8_t)kind)
		return EVAULT_ECORRUPT;
	return 0;
}

int chunk_open(uint8_t *out, size_t cap, size_t *outlen, const class_keys *k, chunk_worker *w,
	       const uint8_t id[OBJECT_ID_LEN], const uint8_t *obj, size_t objlen)
{
	uint8_t actual[OBJECT_ID_LEN], ad[OBJ_HEADER_LEN + sizeof(k->ad) + 64];
	size_t adlen;
	const char *why;
	int rc;
	*outlen = 0;
	if ((rc = object_hash(actual, obj, objlen)) < 0)
		return rc;
	if (sodium_memcmp(actual, id, OBJECT_ID_LEN) != 0)
		return corrupt(id, "its bytes do not hash to its name");
	if (objlen < OBJ_OVERHEAD)
		return corrupt(id, "bad header");
	if ((rc = check_header(obj, OBJ_FLAG_ZSTD, OBJ_KIND_CHUNK, &why)) < 0) {
		char hex[OBJECT_HEX_LEN + 1];
		object_id_hex(hex, id);
		return rc == EVAULT_ECORRUPT
			   ? corrupt(id, why)
			   : evault_error_set(rc, "object %.16s… is %s", hex, why);
	}
	size_t inlen = objlen - OBJ_OVERHEAD;
	bool compressed = obj[6] & OBJ_FLAG_ZSTD;
	/* Decrypted into scratch, never into out: OpenSSL checks the tag only
	 * after decrypting, and out must not hold a byte that is not
	 * authenticated. xchacha_open wipes scratch when the tag fails. */
	if (inlen > w->scratch_cap || (!compressed && inlen > cap))
		return corrupt(id, "larger than a chunk");
	make_ad(ad, &adlen, obj, k, NULL);
	bool opened = false; /* the newest generation first: a file's usual one */
	for (size_t i = atomic_load(&k->n); i-- > 0 && !opened;)
		opened =
		    xchacha_open(w->aead, w->scratch, obj + OBJ_HEADER_LEN + OBJ_NONCE_LEN, inlen,
				 ad, adlen, obj + OBJ_HEADER_LEN, k->g[i].content->data);
	if (!opened)
		return corrupt(id, "authentication failed (tampered, or not of this mission)");
	size_t n = inlen;
	if (compressed)
		n = ZSTD_decompressDCtx(w->dctx, out, cap, w->scratch, inlen);
	else
		memcpy(out, w->scratch, inlen);
	sodium_memzero(w->scratch, inlen);
	if (ZSTD_isError(n))
		return corrupt(id, "does not decompress");
	*outlen = n;
	return 0;
}

static const secret *kind_key(const class_gen *g, enum obj_kind kind)
{
	return kind == OBJ_KIND_INFO || kind == OBJ_KIND_RECORD ? g->info : g->manifest;
}

int blob_seal(evault_buf *out, const class_keys *k, enum obj_kind kind, const char *ad_extra,
	      const void *plain, size_t len)
{
	uint8_t h[OBJ_HEADER_LEN], ad[OBJ_HEADER_LEN + sizeof(k->ad) + 64];
	size_t adlen;
	EVP_CIPHER_CTX *c = NULL;
	int rc;
	header(h, 0, kind);
	out->size = 0;
	if ((rc = algs()) < 0 || (rc = buf_reserve(out, len + OBJ_OVERHEAD)) < 0)
		return rc;
	if (!(c = EVP_CIPHER_CTX_new()))
		return error_oom();
	uint8_t *o = (uint8_t *)out->ptr;
	memcpy(o, h, sizeof(h));
	randombytes_buf(o + OBJ_HEADER_LEN, OBJ_NONCE_LEN);
	make_ad(ad, &adlen, h, k, ad_extra);
	rc = xchacha_seal(c, o + OBJ_HEADER_LEN + OBJ_NONCE_LEN, plain, len, ad, adlen,
			  o + OBJ_HEADER_LEN, kind_key(newest(k), kind)->data);
	EVP_CIPHER_CTX_free(c);
	if (rc == 0)
		out->size = len + OBJ_OVERHEAD;
	return rc;
}

int blob_open(evault_buf *out, const class_keys *k, enum obj_kind kind, const char *ad_extra,
	      const void *obj, size_t len)
{
	const uint8_t *o = obj;
	uint8_t ad[OBJ_HEADER_LEN + sizeof(k->ad) + 64];
	size_t adlen;
	const char *why;
	EVP_CIPHER_CTX *c = NULL;
	int rc;
	out->size = 0;
	if (len < OBJ_OVERHEAD)
		return evault_error_set(EVAULT_ECORRUPT, "encrypted record has a bad header");
	if ((rc = check_header(o, 0, kind, &why)) < 0)
		return rc == EVAULT_ECORRUPT
			   ? evault_error_set(rc, "encrypted record has a bad header")
			   : evault_error_set(rc, "encrypted record is %s", why);
	if ((rc = algs()) < 0 || (rc = buf_reserve(out, len - OBJ_OVERHEAD)) < 0)
		return rc;
	if (!(c = EVP_CIPHER_CTX_new()))
		return error_oom();
	make_ad(ad, &adlen, o, k, ad_extra);
	/* out is this function's until it returns 0: what a failed tag leaves
	 * in it, xchacha_open has wiped. */
	bool opened = false;
	for (size_t i = atomic_load(&k->n); i-- > 0 && !opened;)
		opened = xchacha_open(c, (uint8_t *)out->ptr, o + OBJ_HEADER_LEN + OBJ_NONCE_LEN,
				      len - OBJ_OVERHEAD, ad, adlen, o + OBJ_HEADER_LEN,
				      kind_key(&k->g[i], kind)->data);
	EVP_CIPHER_CTX_free(c);
	if (!opened)
		return evault_error_set(
		    EVAULT_ECORRUPT, "encrypted record fails authentication (tampered or moved)");
	out->size = len - OBJ_OVERHEAD;
	out->ptr[out->size] = '\0';
	return 0;
}
