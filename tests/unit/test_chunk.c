/* Object codec: round trips, dedup, compression choice, every tampering;
 * known-answer objects (tests/vectors/objects.txt) and cross-checks of the
 * OpenSSL-based primitives against libsodium's independent ones. */
#include "helpers.h"

#include <sodium.h>

#include "chunk.h"
#include "util.h"

#define CS (1 << 20)

static secret *key;
static class_keys *k, *k_other_class, *k_other_mission;
static chunk_worker *w;
static uint8_t vid[16];

static int setup(void **s)
{
	assert_true(sodium_init() >= 0);
	randombytes_buf(vid, 16);
	key = secret_random(32);
	assert_int_equal(class_keys_new(&k, key, vid, "M-1", EVAULT_CLASS_DOSSIER), 0);
	assert_int_equal(class_keys_new(&k_other_class, key, vid, "M-1", EVAULT_CLASS_WORK), 0);
	assert_int_equal(class_keys_new(&k_other_mission, key, vid, "M-2", EVAULT_CLASS_DOSSIER),
			 0);
	w = chunk_worker_new(CS, 3);
	return 0;
}

static int teardown(void **s)
{
	class_keys_free(k);
	class_keys_free(k_other_class);
	class_keys_free(k_other_mission);
	chunk_worker_free(w);
	secret_free(key);
	return 0;
}

static void round_trip(const uint8_t *data, size_t len, bool expect_smaller)
{
	evault_buf obj = EVAULT_BUF_INIT;
	uint8_t id[32], *out = malloc(CS);
	size_t n;
	assert_int_equal(chunk_seal(&obj, id, k, w, data, len), 0);
	if (expect_smaller)
		assert_true(obj.size < len / 2);
	else
		assert_int_equal(obj.size, len + OBJ_OVERHEAD);
	assert_int_equal(chunk_open(out, CS, &n, k, w, id, (uint8_t *)obj.ptr, obj.size), 0);
	assert_int_equal(n, len);
	assert_memory_equal(out, data, len);
	free(out);
	evault_buf_dispose(&obj);
}

static void round_trips(void **s)
{
	uint8_t *buf = malloc(CS);
	randombytes_buf(buf, CS);
	round_trip(buf, 1, false);
	round_trip(buf, CS, false); /* incompressible: stored raw */
	memset(buf, 'a', CS);
	round_trip(buf, CS, true); /* compressible: zstd */
	free(buf);
}

static void deterministic_per_class(void **s)
{
	evault_buf a = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT;
	uint8_t ia[32], ib[32];
	const char *d = "the same chunk of a report";
	chunk_seal(&a, ia, k, w, (const uint8_t *)d, strlen(d));
	chunk_seal(&b, ib, k, w, (const uint8_t *)d, strlen(d));
	assert_memory_equal(ia, ib, 32); /* dedup within a class */
	chunk_seal(&b, ib, k_other_class, w, (const uint8_t *)d, strlen(d));
	assert_memory_not_equal(ia, ib, 32); /* no link across classes */
	evault_buf_dispose(&a);
	evault_buf_dispose(&b);
}

static void tampering_detected(void **s)
{
	evault_buf obj = EVAULT_BUF_INIT;
	uint8_t id[32], id2[32], out[256];
	size_t n;
	const char *d = "intervention report";
	chunk_seal(&obj, id, k, w, (const uint8_t *)d, strlen(d));
	uint8_t *o = (uint8_t *)obj.ptr;
	/* a flipped bit anywhere: the name no longer matches */
	for (size_t i = 0; i < obj.size; i += 7) {
		o[i] ^= 0x40;
		assert_int_equal(chunk_open(out, sizeof(out), &n, k, w, id, o, obj.size),
				 EVAULT_ECORRUPT);
		o[i] ^= 0x40;
	}
	/* truncated */
	assert_int_equal(chunk_open(out, sizeof(out), &n, k, w, id, o, obj.size - 1),
			 EVAULT_ECORRUPT);
	/* re-named after tampering (hash recomputed): the MAC still fails */
	o[OBJ_HEADER_LEN + OBJ_NONCE_LEN] ^= 1;
	assert_int_equal(object_hash(id2, o, obj.size), 0);
	assert_int_equal(chunk_open(out, sizeof(out), &n, k, w, id2, o, obj.size), EVAULT_ECORRUPT);
	o[OBJ_HEADER_LEN + OBJ_NONCE_LEN] ^= 1;
	/* moved to another mission or class: associated data differs */
	assert_int_equal(chunk_open(out, sizeof(out), &n, k_other_mission, w, id, o, obj.size),
			 EVAULT_ECORRUPT);
	assert_int_equal(chunk_open(out, sizeof(out), &n, k_other_class, w, id, o, obj.size),
			 EVAULT_ECORRUPT);
	/* output buffer too small for the object: refused, not overflowed */
	assert_int_equal(chunk_open(out, 4, &n, k, w, id, o, obj.size), EVAULT_ECORRUPT);
	assert_int_equal(chunk_open(out, sizeof(out), &n, k, w, id, o, obj.size), 0);
	evault_buf_dispose(&obj);
}

/* The associated data chunk_seal binds (docs/format.md §Objects). */
static size_t chunk_ad(uint8_t *ad, const uint8_t *h, const uint8_t v[16], const char *mid,
		       evault_class cls, const char *extra)
{
	size_t n = 0, ml = strlen(mid), el = extra ? strlen(extra) : 0;
	memcpy(ad, h, OBJ_HEADER_LEN);
	n += OBJ_HEADER_LEN;
	memcpy(ad + n, v, 16);
	n += 16;
	ad[n++] = (uint8_t)ml;
	memcpy(ad + n, mid, ml);
	n += ml;
	ad[n++] = (uint8_t)cls;
	if (el)
		memcpy(ad + n, extra, el);
	return n + el;
}

static void subkey(uint8_t out[32], const secret *ck, uint64_t id)
{
	crypto_kdf_derive_from_key(out, 32, id, "evault-c", ck->data);
}

/*
 * Random class keys, missions and incompressible chunks of random sizes:
 * the object chunk_seal makes (OpenSSL: HMAC-SHA-256, ChaCha20-Poly1305,
 * SHA-256) is, byte for byte, what libsodium's independent code makes:
 * nonce = HMAC-SHA-256(subkey 2, header || payload)[0..24), ciphertext =
 * crypto_aead_xchacha20poly1305_ietf_encrypt, name = SHA-256. And an object
 * sealed by libsodium alone opens.
 */
static void matches_libsodium(void **s)
{
	static uint8_t plain[70000], mine[sizeof(plain) + OBJ_OVERHEAD], out[CS];
	uint8_t v[16], content[32], nkey[32], mac[32], id[32], name[32], ad[128];
	char mid[16];
	for (int i = 0; i < 64; i++) {
		size_t len = i == 0 ? 0 : randombytes_uniform(sizeof(plain) + 1), n;
		evault_class cls = (evault_class)randombytes_uniform(3);
		secret *ck = secret_random(32);
		class_keys *kk = NULL;
		evault_buf obj = EVAULT_BUF_INIT;
		randombytes_buf(v, sizeof(v));
		snprintf(mid, sizeof(mid), "M-%u", randombytes_uniform(100000));
		randombytes_buf(plain, len);
		assert_int_equal(class_keys_new(&kk, ck, v, mid, cls), 0);
		assert_int_equal(chunk_seal(&obj, id, kk, w, plain, len), 0);
		assert_int_equal(obj.size, len + OBJ_OVERHEAD); /* random: stored raw */
		const uint8_t *o = (const uint8_t *)obj.ptr;
		assert_memory_equal(o, "EVOB\x01\x02\x00\x01", OBJ_HEADER_LEN);
		subkey(content, ck, 1);
		subkey(nkey, ck, 2);
		crypto_auth_hmacsha256_state st;
		crypto_auth_hmacsha256_init(&st, nkey, sizeof(nkey));
		crypto_auth_hmacsha256_update(&st, o, OBJ_HEADER_LEN);
		crypto_auth_hmacsha256_update(&st, plain, len);
		crypto_auth_hmacsha256_final(&st, mac);
		assert_memory_equal(o + OBJ_HEADER_LEN, mac, OBJ_NONCE_LEN);
		size_t adlen = chunk_ad(ad, o, v, mid, cls, NULL);
		memcpy(mine, o, OBJ_HEADER_LEN + OBJ_NONCE_LEN);
		crypto_aead_xchacha20poly1305_ietf_encrypt(mine + OBJ_HEADER_LEN + OBJ_NONCE_LEN,
							   NULL, plain, len, ad, adlen, NULL,
							   o + OBJ_HEADER_LEN, content);
		assert_memory_equal(mine, o, obj.size);
		crypto_hash_sha256(name, o, obj.size);
		assert_memory_equal(name, id, 32);
		/* libsodium's object, with a nonce of its own choosing, opens */
		randombytes_buf(mine + OBJ_HEADER_LEN, OBJ_NONCE_LEN);
		crypto_aead_xchacha20poly1305_ietf_encrypt(mine + OBJ_HEADER_LEN + OBJ_NONCE_LEN,
							   NULL, plain, len, ad, adlen, NULL,
							   mine + OBJ_HEADER_LEN, content);
		crypto_hash_sha256(name, mine, obj.size);
		assert_int_equal(chunk_open(out, CS, &n, kk, w, name, mine, obj.size), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, plain, len);
		/* records both ways: blob_seal opens with libsodium, and back */
		evault_buf enc = EVAULT_BUF_INIT, dec = EVAULT_BUF_INIT;
		uint8_t mkey[32];
		subkey(mkey, ck, 3);
		size_t rl = len % 3000;
		assert_int_equal(blob_seal(&enc, kk, OBJ_KIND_MANIFEST, "fid-x", plain, rl), 0);
		const uint8_t *e = (const uint8_t *)enc.ptr;
		assert_memory_equal(e, "EVOB\x01\x02\x00\x02", OBJ_HEADER_LEN);
		adlen = chunk_ad(ad, e, v, mid, cls, "fid-x");
		unsigned long long got;
		assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
				     out, &got, NULL, e + OBJ_HEADER_LEN + OBJ_NONCE_LEN,
				     enc.size - OBJ_HEADER_LEN - OBJ_NONCE_LEN, ad, adlen,
				     e + OBJ_HEADER_LEN, mkey),
				 0);
		assert_int_equal(got, rl);
		assert_memory_equal(out, plain, rl);
		randombytes_buf(enc.ptr + OBJ_HEADER_LEN, OBJ_NONCE_LEN);
		crypto_aead_xchacha20poly1305_ietf_encrypt(
		    (uint8_t *)enc.ptr + OBJ_HEADER_LEN + OBJ_NONCE_LEN, NULL, plain, rl, ad, adlen,
		    NULL, e + OBJ_HEADER_LEN, mkey);
		assert_int_equal(blob_open(&dec, kk, OBJ_KIND_MANIFEST, "fid-x", enc.ptr, enc.size),
				 0);
		assert_int_equal(dec.size, rl);
		assert_memory_equal(dec.ptr, plain, rl);
		sodium_memzero(content, sizeof(content));
		sodium_memzero(nkey, sizeof(nkey));
		sodium_memzero(mkey, sizeof(mkey));
		evault_buf_dispose(&enc);
		evault_buf_dispose(&dec);
		evault_buf_dispose(&obj);
		class_keys_free(kk);
		secret_free(ck);
	}
}

/* The name is SHA-256 as any tool computes it, on more than a block. */
static void name_is_sha256(void **s)
{
	uint8_t id[32];
	static const char abc[] = "abc",
			  two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const uint8_t h_abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
					  0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
					  0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
					  0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	static const uint8_t h_two[32] = {0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8,
					  0xe5, 0xc0, 0x26, 0x93, 0x0c, 0x3e, 0x60, 0x39,
					  0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff, 0x21, 0x67,
					  0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1};
	assert_int_equal(object_hash(id, abc, 3), 0);
	assert_memory_equal(id, h_abc, 32);
	assert_int_equal(object_hash(id, two, strlen(two)), 0);
	assert_memory_equal(id, h_two, 32);
}

/* tests/vectors/objects.txt, as gen-objects.py wrote it. */
typedef struct kat {
	char label[32];
	uint8_t *plain, *obj;
	size_t plen, olen;
	uint8_t name[32];
} kat;

static uint8_t *hex_field(const char *line, const char *field, size_t *len)
{
	size_t kl = strlen(field), hl;
	if (strncmp(line, field, kl) != 0 || (line[kl] != ' ' && line[kl] != '\0'))
		return NULL;
	const char *h = line[kl] ? line + kl + 1 : line + kl;
	hl = strlen(h);
	uint8_t *b = malloc(hl / 2 + 1);
	assert_non_null(b);
	assert_int_equal(hex_decode(b, hl / 2, h, hl), 0);
	*len = hl / 2;
	return b;
}

static size_t read_kats(kat *v, size_t max, secret **ck, uint8_t vault[16], char *mid,
			evault_class *cls)
{
	const char *dir = getenv("EVAULT_TEST_VECTORS");
	char path[4096], *line = NULL;
	size_t cap = 0, n = 0, len;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/objects.txt", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	*ck = NULL;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		uint8_t *b;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if ((b = hex_field(line, "class-key", &len))) {
			assert_int_equal(len, 32);
			*ck = secret_dup(b, 32);
			free(b);
		} else if ((b = hex_field(line, "vault-id", &len))) {
			assert_int_equal(len, 16);
			memcpy(vault, b, 16);
			free(b);
		} else if (strncmp(line, "mission ", 8) == 0) {
			snprintf(mid, 65, "%s", line + 8);
		} else if (strncmp(line, "class ", 6) == 0) {
			assert_int_equal(evault_class_parse(cls, line + 6), 0);
		} else if (strncmp(line, "vector ", 7) == 0) {
			assert_true(n < max);
			snprintf(v[n++].label, sizeof(v->label), "%s", line + 7);
		} else if ((b = hex_field(line, "plain", &len))) {
			v[n - 1].plain = b;
			v[n - 1].plen = len;
		} else if ((b = hex_field(line, "name", &len))) {
			assert_int_equal(len, 32);
			memcpy(v[n - 1].name, b, 32);
			free(b);
		} else if ((b = hex_field(line, "object", &len))) {
			v[n - 1].obj = b;
			v[n - 1].olen = len;
		}
	}
	free(line);
	fclose(f);
	assert_non_null(*ck);
	return n;
}

static void known_answers(void **s)
{
	kat v[8];
	secret *ck;
	uint8_t vault[16], id[32], out[CS];
	char mid[65];
	evault_class cls;
	class_keys *kk = NULL;
	memset(v, 0, sizeof(v));
	size_t n = read_kats(v, 8, &ck, vault, mid, &cls);
	assert_int_equal(n, 4);
	assert_int_equal(class_keys_new(&kk, ck, vault, mid, cls), 0);
	chunk_worker *kw = chunk_worker_new(CS, 3); /* the vault default level */
	bool some_compressed = false;
	for (size_t i = 0; i < n; i++) {
		evault_buf obj = EVAULT_BUF_INIT;
		size_t got;
		print_message("vector %s\n", v[i].label);
		assert_int_equal(chunk_seal(&obj, id, kk, kw, v[i].plain, v[i].plen), 0);
		assert_int_equal(obj.size, v[i].olen);
		assert_memory_equal(obj.ptr, v[i].obj, v[i].olen);
		assert_memory_equal(id, v[i].name, 32);
		assert_int_equal(chunk_open(out, CS, &got, kk, kw, v[i].name, v[i].obj, v[i].olen),
				 0);
		assert_int_equal(got, v[i].plen);
		assert_memory_equal(out, v[i].plain, got);
		some_compressed |= (v[i].obj[6] & 1) != 0;
		/* another class of the same key, mission and vault: refused */
		class_keys *other = NULL;
		assert_int_equal(
		    class_keys_new(&other, ck, vault, mid, (evault_class)((cls + 1) % 3)), 0);
		assert_int_equal(
		    chunk_open(out, CS, &got, other, kw, v[i].name, v[i].obj, v[i].olen),
		    EVAULT_ECORRUPT);
		class_keys_free(other);
		evault_buf_dispose(&obj);
		free(v[i].plain);
		free(v[i].obj);
	}
	assert_true(some_compressed);
	chunk_worker_free(kw);
	class_keys_free(kk);
	secret_free(ck);
}

/*
 * A changed byte in each region of an object, renamed so that the name
 * matches (what a writer of the repository could do): refused, and the
 * output buffer is left as it was (nothing is written before the MAC).
 * An object of algorithm 1 (BLAKE2b, vault formats 1 to 3) is refused
 * as such, even if named by its SHA-256.
 */
static void each_region(void **s)
{
	static uint8_t data[3000], out[4096], before[4096];
	evault_buf obj = EVAULT_BUF_INIT;
	uint8_t id[32];
	size_t n;
	randombytes_buf(data, sizeof(data));
	assert_int_equal(chunk_seal(&obj, id, k, w, data, sizeof(data)), 0);
	uint8_t *o = (uint8_t *)obj.ptr;
	const size_t at[] = {0,
			     3,
			     4,
			     5,
			     6,
			     7, /* header */
			     8,
			     20,
			     31, /* nonce */
			     32,
			     1000,
			     obj.size - 17, /* ciphertext */
			     obj.size - 16,
			     obj.size - 1}; /* tag */
	randombytes_buf(before, sizeof(before));
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		o[at[i]] ^= 0x01;
		assert_int_equal(object_hash(id, o, obj.size), 0);
		memcpy(out, before, sizeof(out));
		int rc = chunk_open(out, sizeof(out), &n, k, w, id, o, obj.size);
		assert_int_equal(rc, at[i] == 5 ? EVAULT_EFORMAT : EVAULT_ECORRUPT); /* 3: newer */
		assert_int_equal(n, 0);
		assert_memory_equal(out, before, sizeof(out));
		o[at[i]] ^= 0x01;
	}
	/* algorithm 1: the format before vault format 4 */
	o[5] = 1;
	assert_int_equal(object_hash(id, o, obj.size), 0);
	assert_int_equal(chunk_open(out, sizeof(out), &n, k, w, id, o, obj.size), EVAULT_EFORMAT);
	assert_non_null(strstr(evault_error_last(), "before format 4"));
	o[5] = 2;
	assert_int_equal(object_hash(id, o, obj.size), 0);
	assert_int_equal(chunk_open(out, sizeof(out), &n, k, w, id, o, obj.size), 0);
	/* records too */
	evault_buf enc = EVAULT_BUF_INIT, dec = EVAULT_BUF_INIT;
	assert_int_equal(blob_seal(&enc, k, OBJ_KIND_INFO, "info", "client", 6), 0);
	enc.ptr[5] = 1;
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_INFO, "info", enc.ptr, enc.size),
			 EVAULT_EFORMAT);
	enc.ptr[5] = 2;
	for (size_t i = 0; i < enc.size; i++) {
		if (i == 4 || i == 5)
			continue;
		enc.ptr[i] ^= 0x20;
		assert_int_equal(blob_open(&dec, k, OBJ_KIND_INFO, "info", enc.ptr, enc.size),
				 EVAULT_ECORRUPT);
		enc.ptr[i] ^= 0x20;
	}
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_INFO, "info", enc.ptr, enc.size), 0);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&dec);
	evault_buf_dispose(&obj);
}

static void blobs(void **s)
{
	evault_buf enc = EVAULT_BUF_INIT, dec = EVAULT_BUF_INIT;
	assert_int_equal(blob_seal(&enc, k, OBJ_KIND_MANIFEST, "fid1", "manifest", 8), 0);
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_MANIFEST, "fid1", enc.ptr, enc.size), 0);
	assert_int_equal(dec.size, 8);
	assert_memory_equal(dec.ptr, "manifest", 8);
	/* moved to another file id, kind, class */
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_MANIFEST, "fid2", enc.ptr, enc.size),
			 EVAULT_ECORRUPT);
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_INFO, "fid1", enc.ptr, enc.size),
			 EVAULT_ECORRUPT);
	assert_int_equal(
	    blob_open(&dec, k_other_class, OBJ_KIND_MANIFEST, "fid1", enc.ptr, enc.size),
	    EVAULT_ECORRUPT);
	enc.ptr[enc.size - 1] ^= 1;
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_MANIFEST, "fid1", enc.ptr, enc.size),
			 EVAULT_ECORRUPT);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&dec);
}

static void fingerprints(void **s)
{
	char a[CLASS_FP_HEX], b[CLASS_FP_HEX];
	secret *other = secret_random(32);
	class_key_fingerprint(a, key);
	class_key_fingerprint(b, key);
	assert_string_equal(a, b);
	class_key_fingerprint(b, other);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), 32);
	secret_free(other);
}

/* Key generations: sealed with the newest, opened by whoever holds the
 * generation used, never by a holder of older ones only. */
static void generations(void **s)
{
	secret *two = secret_new(64);
	memcpy(two->data, key->data, 32);
	randombytes_buf(two->data + 32, 32);
	class_keys *k2 = NULL;
	assert_int_equal(class_keys_new(&k2, two, vid, "M-1", EVAULT_CLASS_DOSSIER), 0);
	assert_int_equal(class_keys_gens(k2), 2);
	static uint8_t out[CS];
	uint8_t data[4096], id[OBJECT_ID_LEN];
	size_t len;
	randombytes_buf(data, sizeof(data));
	evault_buf obj = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT, dec = EVAULT_BUF_INIT;
	/* new: the second generation; the first alone does not open it */
	assert_int_equal(chunk_seal(&obj, id, k2, w, data, sizeof(data)), 0);
	assert_int_equal(chunk_open(out, CS, &len, k2, w, id, (uint8_t *)obj.ptr, obj.size), 0);
	assert_memory_equal(out, data, sizeof(data));
	assert_int_equal(chunk_open(out, CS, &len, k, w, id, (uint8_t *)obj.ptr, obj.size),
			 EVAULT_ECORRUPT);
	assert_int_equal(blob_seal(&enc, k2, OBJ_KIND_MANIFEST, "fid", "m", 1), 0);
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_MANIFEST, "fid", enc.ptr, enc.size),
			 EVAULT_ECORRUPT);
	assert_int_equal(blob_open(&dec, k2, OBJ_KIND_MANIFEST, "fid", enc.ptr, enc.size), 0);
	/* old: sealed with the first generation, opened by both */
	assert_int_equal(chunk_seal(&obj, id, k, w, data, sizeof(data)), 0);
	assert_int_equal(chunk_open(out, CS, &len, k2, w, id, (uint8_t *)obj.ptr, obj.size), 0);
	assert_memory_equal(out, data, sizeof(data));
	/* extended in place: a third generation seals from then on */
	class_keys *k1 = NULL;
	assert_int_equal(class_keys_new(&k1, key, vid, "M-1", EVAULT_CLASS_DOSSIER), 0);
	assert_int_equal(class_keys_extend(k1, two), 0);
	assert_int_equal(class_keys_gens(k1), 2);
	assert_int_equal(blob_seal(&enc, k1, OBJ_KIND_MANIFEST, "fid", "m", 1), 0);
	assert_int_equal(blob_open(&dec, k2, OBJ_KIND_MANIFEST, "fid", enc.ptr, enc.size), 0);
	assert_int_equal(blob_open(&dec, k, OBJ_KIND_MANIFEST, "fid", enc.ptr, enc.size),
			 EVAULT_ECORRUPT);
	/* fingerprints per generation; fewer generations never replace more */
	char a[CLASS_FP_HEX], b[CLASS_FP_HEX];
	class_key_fingerprint_at(a, two, 0);
	class_key_fingerprint(b, key);
	assert_string_equal(a, b);
	class_key_fingerprint_at(a, two, 1);
	assert_string_not_equal(a, b);
	assert_int_equal(class_keys_extend(k1, key), EVAULT_EINVAL);
	class_keys_free(k1);
	class_keys_free(k2);
	secret_free(two);
	evault_buf_dispose(&obj);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trips),        cmocka_unit_test(deterministic_per_class),
	    cmocka_unit_test(tampering_detected), cmocka_unit_test(blobs),
	    cmocka_unit_test(fingerprints),       cmocka_unit_test(generations),
	    cmocka_unit_test(matches_libsodium),  cmocka_unit_test(name_is_sha256),
	    cmocka_unit_test(known_answers),      cmocka_unit_test(each_region),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
