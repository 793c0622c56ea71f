/*
 * The object format and class-key cryptography (docs/format.md §Objects).
 *
 * An object is: an 8-byte header (magic "EVOB", version 1, algorithm 2,
 * flags, kind), a 24-byte nonce, and the XChaCha20-Poly1305 ciphertext of
 * the (possibly zstd-compressed) bytes. Its name is SHA-256 of all of it,
 * so anyone can check an object with sha256sum. Chunk nonces are synthetic
 * (HMAC-SHA-256 of header and encrypted input under the class's nonce
 * subkey, truncated to 24 bytes), so equal chunks of a class encrypt to the
 * same object and are stored once. Associated data binds the vault id, the
 * mission id and the class, so an object cannot be moved to another.
 * Objects of algorithm 1 (BLAKE2b names and nonces: vault formats 1 to 3)
 * are refused.
 *
 * Invariant: chunk_open never writes a byte of output before the object's
 * hash matches its name and its MAC verifies. (OpenSSL decrypts before it
 * checks the tag, so chunk_open decrypts into the worker's scratch buffer,
 * wipes it if the tag fails, and copies or decompresses into the output
 * only once the tag has verified.)
 */
#ifndef EVAULT_CHUNK_H
#define EVAULT_CHUNK_H

#include <stdint.h>

#include "backend.h"
#include "evault/common.h"
#include "secret.h"

#define CLASS_KEY_LEN 32
#define CLASS_FP_LEN 16
#define CLASS_FP_HEX (CLASS_FP_LEN * 2 + 1)
#define OBJ_HEADER_LEN 8
#define OBJ_NONCE_LEN 24
#define OBJ_TAG_LEN 16
#define OBJ_OVERHEAD (OBJ_HEADER_LEN + OBJ_NONCE_LEN + OBJ_TAG_LEN)

/* RECORD: small records under a class's info subkey (codes marks). */
enum obj_kind { OBJ_KIND_CHUNK = 1, OBJ_KIND_MANIFEST = 2, OBJ_KIND_INFO = 3, OBJ_KIND_RECORD = 4 };

typedef struct class_keys class_keys;

/* A class's keys are generations (a revoke adds one): at most this many. */
#define CLASS_GENS_MAX 16
/* Derives the subkeys of one class of one mission from key: its
 * generations, CLASS_KEY_LEN bytes each, oldest first. Objects are sealed
 * with the newest; opening tries the newest first, then the older ones. */
int class_keys_new(class_keys **out, const secret *key, const uint8_t vault_id[16], const char *mid,
		   evault_class cls);
/* Adds the generations of key beyond those k has (the same older ones, as
 * the caller checked by fingerprint); safe while other threads use k. */
int class_keys_extend(class_keys *k, const secret *key);
size_t class_keys_gens(const class_keys *k);
void class_keys_free(class_keys *k);
/* Public fingerprint of a class key (a KDF output, reveals nothing of the key):
 * of its first generation, or of generation gen. */
void class_key_fingerprint(char out[CLASS_FP_HEX], const secret *key);
void class_key_fingerprint_at(char out[CLASS_FP_HEX], const secret *key, size_t gen);

typedef struct chunk_worker chunk_worker;
chunk_worker *chunk_worker_new(size_t chunk_size, int zstd_level);
void chunk_worker_free(chunk_worker *w);

/* An object's name: SHA-256 of its bytes. Fails only if libcrypto does. */
int object_hash(uint8_t id[OBJECT_ID_LEN], const void *data, size_t len) EVAULT_WARN_UNUSED;

/* Encodes one plaintext chunk; out is replaced by the object bytes. */
int chunk_seal(evault_buf *out, uint8_t id[OBJECT_ID_LEN], const class_keys *k, chunk_worker *w,
	       const uint8_t *plain, size_t len);
/*
 * Checks obj against id, authenticates, decrypts and decompresses into out
 * (cap bytes). A hash mismatch, a failed MAC or a bad header is
 * EVAULT_ECORRUPT naming the object.
 */
int chunk_open(uint8_t *out, size_t cap, size_t *outlen, const class_keys *k, chunk_worker *w,
	       const uint8_t id[OBJECT_ID_LEN], const uint8_t *obj,
	       size_t objlen) EVAULT_WARN_UNUSED;

/*
 * Small encrypted records kept in the history (manifests, mission info),
 * random nonce. ad_extra (may be NULL) is bound as associated data, e.g.
 * the file id so a manifest cannot be moved to another entry.
 */
int blob_seal(evault_buf *out, const class_keys *k, enum obj_kind kind, const char *ad_extra,
	      const void *plain, size_t len);
int blob_open(evault_buf *out, const class_keys *k, enum obj_kind kind, const char *ad_extra,
	      const void *obj, size_t len) EVAULT_WARN_UNUSED;

#endif
