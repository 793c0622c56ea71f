/*
 * Object codec and class-key cryptography: see chunk.h. This is the only
 * engine file that includes zstd.h.
 */
#include <stddef.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include <sodium.h>
/* custom allocators (ZSTD_createCCtx_advanced): exported by libzstd since 1.4 */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "chunk.h"
#include "names.h"
#include "util.h"

#define OBJ_MAGIC "EVOB"
#define OBJ_VERSION 1
#define OBJ_ALG_XCHACHA_BLAKE2B 1
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
	uint8_t *scratch; /* compressed bytes (seal) or decrypted bytes (open) */
	size_t scratch_cap;
	int level;
};

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
	w->level = zstd_level;
	w->scratch_cap = ZSTD_compressBound(chunk_size) + OBJ_HEADER_LEN;
	w->cctx = ZSTD_createCCtx_advanced(wiping_mem);
	w->dctx = ZSTD_createDCtx_advanced(wiping_mem);
	w->scratch = malloc(w->scratch_cap);
	if (!w->cctx || !w->dctx || !w->scratch) {
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
	if (w->scratch) {
		sodium_memzero(w->scratch, w->scratch_cap);
		free(w->scratch);
	}
	free(w);
}

void object_hash(uint8_t id[OBJECT_ID_LEN], const void *data, size_t len)
{
	crypto_generichash(id, OBJECT_ID_LEN, data, len, NULL, 0);
}

static void header(uint8_t h[OBJ_HEADER_LEN], uint8_t flags, enum obj_kind kind)
{
	memcpy(h, OBJ_MAGIC, 4);
	h[4] = OBJ_VERSION;
	h[5] = OBJ_ALG_XCHACHA_BLAKE2B;
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
	crypto_generichash_state st;
	int rc;

	header(h, compressed ? OBJ_FLAG_ZSTD : 0, OBJ_KIND_CHUNK);
	out->size = 0;
	if ((rc = buf_reserve(out, inlen + OBJ_OVERHEAD)) < 0)
		return rc;
	uint8_t *o = (uint8_t *)out->ptr;
	memcpy(o, h, OBJ_HEADER_LEN);
	/* Synthetic nonce over exactly the bytes encrypted, and the header. */
	const class_gen *g = newest(k);
	crypto_generichash_init(&st, g->nonce->data, g->nonce->len, OBJ_NONCE_LEN);
	crypto_generichash_update(&st, h, sizeof(h));
	crypto_generichash_update(&st, in, inlen);
	crypto_generichash_final(&st, o + OBJ_HEADER_LEN, OBJ_NONCE_LEN);
	make_ad(ad, &adlen, h, k, NULL);
	crypto_aead_xchacha20poly1305_ietf_encrypt(o + OBJ_HEADER_LEN + OBJ_NONCE_LEN, NULL, in,
						   inlen, ad, adlen, NULL, o + OBJ_HEADER_LEN,
						   g->content->data);
	out->size = inlen + OBJ_OVERHEAD;
	object_hash(id, out->ptr, out->size);
	if (compressed)
		sodium_memzero(w->scratch, clen);
	return 0;
}

static int corrupt(const uint8_t id[OBJECT_ID_LEN], const char *why)
{
	char hex[OBJECT_HEX_LEN + 1];
	object_id_hex(hex, id);
	return evault_error_set(EVAULT_ECORRUPT, "object %.16s… is corrupt: %s", hex, why);
}

int chunk_open(uint8_t *out, size_t cap, size_t *outlen, const class_keys *k, chunk_worker *w,
	       const uint8_t id[OBJECT_ID_LEN], const uint8_t *obj, size_t objlen)
{
	uint8_t actual[OBJECT_ID_LEN], ad[OBJ_HEADER_LEN + sizeof(k->ad) + 64];
	size_t adlen;
	*outlen = 0;
	object_hash(actual, obj, objlen);
	if (sodium_memcmp(actual, id, OBJECT_ID_LEN) != 0)
		return corrupt(id, "its bytes do not hash to its name");
	if (objlen < OBJ_OVERHEAD || memcmp(obj, OBJ_MAGIC, 4) != 0)
		return corrupt(id, "bad header");
	if (obj[4] > OBJ_VERSION)
		return evault_error_set(EVAULT_EFORMAT, "object written by a newer evault");
	if (obj[4] != OBJ_VERSION || obj[5] != OBJ_ALG_XCHACHA_BLAKE2B ||
	    (obj[6] & ~OBJ_FLAG_ZSTD) || obj[7] != OBJ_KIND_CHUNK)
		return corrupt(id, "bad header");
	size_t inlen = objlen - OBJ_OVERHEAD;
	bool compressed = obj[6] & OBJ_FLAG_ZSTD;
	uint8_t *dst = compressed ? w->scratch : out;
	if (inlen > (compressed ? w->scratch_cap : cap))
		return corrupt(id, "larger than a chunk");
	make_ad(ad, &adlen, obj, k, NULL);
	bool opened = false; /* the newest generation first: a file's usual one */
	for (size_t i = atomic_load(&k->n); i-- > 0 && !opened;)
		opened = crypto_aead_xchacha20poly1305_ietf_decrypt(
			     dst, NULL, NULL, obj + OBJ_HEADER_LEN + OBJ_NONCE_LEN,
			     inlen + OBJ_TAG_LEN, ad, adlen, obj + OBJ_HEADER_LEN,
			     k->g[i].content->data) == 0;
	if (!opened)
		return corrupt(id, "authentication failed (tampered, or not of this mission)");
	if (!compressed) {
		*outlen = inlen;
		return 0;
	}
	size_t n = ZSTD_decompressDCtx(w->dctx, out, cap, w->scratch, inlen);
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
	int rc;
	header(h, 0, kind);
	out->size = 0;
	if ((rc = buf_reserve(out, len + OBJ_OVERHEAD)) < 0)
		return rc;
	uint8_t *o = (uint8_t *)out->ptr;
	memcpy(o, h, sizeof(h));
	randombytes_buf(o + OBJ_HEADER_LEN, OBJ_NONCE_LEN);
	make_ad(ad, &adlen, h, k, ad_extra);
	crypto_aead_xchacha20poly1305_ietf_encrypt(o + OBJ_HEADER_LEN + OBJ_NONCE_LEN, NULL, plain,
						   len, ad, adlen, NULL, o + OBJ_HEADER_LEN,
						   kind_key(newest(k), kind)->data);
	out->size = len + OBJ_OVERHEAD;
	return 0;
}

int blob_open(evault_buf *out, const class_keys *k, enum obj_kind kind, const char *ad_extra,
	      const void *obj, size_t len)
{
	const uint8_t *o = obj;
	uint8_t ad[OBJ_HEADER_LEN + sizeof(k->ad) + 64];
	size_t adlen;
	int rc;
	out->size = 0;
	if (len < OBJ_OVERHEAD || memcmp(o, OBJ_MAGIC, 4) != 0 || o[4] != OBJ_VERSION ||
	    o[5] != OBJ_ALG_XCHACHA_BLAKE2B || o[6] != 0 || o[7] != (uint8_t)kind)
		return evault_error_set(EVAULT_ECORRUPT, "encrypted record has a bad header");
	if ((rc = buf_reserve(out, len - OBJ_OVERHEAD)) < 0)
		return rc;
	make_ad(ad, &adlen, o, k, ad_extra);
	bool opened = false;
	for (size_t i = atomic_load(&k->n); i-- > 0 && !opened;)
		opened = crypto_aead_xchacha20poly1305_ietf_decrypt(
			     (uint8_t *)out->ptr, NULL, NULL, o + OBJ_HEADER_LEN + OBJ_NONCE_LEN,
			     len - OBJ_HEADER_LEN - OBJ_NONCE_LEN, ad, adlen, o + OBJ_HEADER_LEN,
			     kind_key(&k->g[i], kind)->data) == 0;
	if (!opened)
		return evault_error_set(
		    EVAULT_ECORRUPT, "encrypted record fails authentication (tampered or moved)");
	out->size = len - OBJ_OVERHEAD;
	out->ptr[out->size] = '\0';
	return 0;
}
