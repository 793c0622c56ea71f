/*
 * Identity files (docs/format.md §Identity file). Text header lines, then
 * the secret: the 32-byte Ed25519 seed encrypted with XChaCha20-Poly1305
 * under an Argon2id key derived from the passphrase; the header lines are
 * the associated data, so the public key, name and KDF parameters cannot be
 * changed without the unlock failing.
 *
 * Invariants:
 *  1. The seed and the derived key exist only in secret memory and are
 *     wiped when the identity is freed or the function returns.
 *  2. An unlocked identity's public key equals the one in its file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "identity.h"
#include "names.h"
#include "util.h"

#define ID_MAGIC "evault-identity 1"
#define ID_MAX_FILE 4096
#define ID_SALT_LEN crypto_pwhash_SALTBYTES
#define ID_SEED_LEN 32
#define ID_NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ID_CT_LEN (ID_SEED_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES)
/* Bounds on stored KDF parameters: a crafted file cannot make unlock hang. */
#define ID_OPS_MAX 20ULL
#define ID_MEM_MAX (2ULL << 30)

struct evault_identity {
	char name[EVAULT_USER_MAX + 1];
	char fingerprint[SSH_FINGERPRINT_LEN];
	uint8_t pk[SSH_ED25519_PK_LEN];
	unsigned long long opslimit;
	size_t memlimit;
	uint8_t salt[ID_SALT_LEN];
	uint8_t sealed[ID_NONCE_LEN + ID_CT_LEN];
	evault_buf header; /* associated data: the header lines as stored */
	secret *sk;        /* 64-byte libsodium secret key once unlocked */
};

static int derive_key(secret **out, const evault_identity *id, const char *pass, size_t passlen)
{
	secret *k = secret_new(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	if (!k)
		return EVAULT_ERROR;
	if (crypto_pwhash(k->data, k->len, pass, passlen, id->salt, id->opslimit, id->memlimit,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		secret_free(k);
		return evault_error_set(EVAULT_ERROR, "key derivation failed (out of memory?)");
	}
	*out = k;
	return 0;
}

static int build_header(evault_identity *id)
{
	evault_buf line = EVAULT_BUF_INIT;
	char salt_hex[ID_SALT_LEN * 2 + 1];
	int rc = sshkey_format_public(&line, id->pk, id->name);
	hex_encode(salt_hex, id->salt, sizeof(id->salt));
	id->header.size = 0;
	if (rc == 0)
		rc = evault_buf_printf(
		    &id->header, "%s\nname %s\npublic %s\nkdf argon2id13 %llu %zu %s\n", ID_MAGIC,
		    id->name, line.ptr, id->opslimit, id->memlimit, salt_hex);
	evault_buf_dispose(&line);
	return rc;
}

static void set_fingerprint(evault_identity *id)
{
	sshkey_fingerprint(id->fingerprint, id->pk);
}

int evault_identity_create(evault_identity **out, const char *path, const char *name,
			   const char *pass, size_t passlen, evault_kdf_level level)
{
	evault_identity *id = NULL;
	secret *key = NULL, *seed = NULL;
	evault_buf file = EVAULT_BUF_INIT;
	char hex[sizeof(((evault_identity *)0)->sealed) * 2 + 1];
	int rc;

	*out = NULL;
	if ((rc = check_user_name(name)) < 0)
		return rc;
	if (passlen < EVAULT_PASSPHRASE_MIN)
		return evault_error_set(
		    EVAULT_EINVAL,
		    "passphrase refused: too short (%zu characters): a passphrase "
		    "has at least %d character%s",
		    passlen, EVAULT_PASSPHRASE_MIN, EVAULT_PASSPHRASE_MIN == 1 ? "" : "s");
	if (!(id = calloc(1, sizeof(*id))))
		return error_oom();
	snprintf(id->name, sizeof(id->name), "%s", name);
	switch (level) {
	case EVAULT_KDF_SENSITIVE:
		id->opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
		id->memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
		break;
	case EVAULT_KDF_MODERATE:
		id->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
		id->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
		break;
	default:
		id->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		id->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	}
	/*
	 * The test suite's identities: argon2id's minimum (one pass over
	 * 8 KiB), so that thousands of commands do not each spend a fraction
	 * of a second deriving a key. Never for a real identity; the file's
	 * kdf line says what it was made with.
	 */
	const char *weak = getenv("EVAULT_TESTONLY_WEAK_KDF");
	if (weak && strcmp(weak, "1") == 0) {
		id->opslimit = crypto_pwhash_OPSLIMIT_MIN;
		id->memlimit = crypto_pwhash_MEMLIMIT_MIN;
	}
	randombytes_buf(id->salt, sizeof(id->salt));
	rc = EVAULT_ERROR;
	if (!(seed = secret_random(ID_SEED_LEN)) || !(id->sk = secret_new(SSH_ED25519_SK_LEN)))
		goto done;
	crypto_sign_seed_keypair(id->pk, id->sk->data, seed->data);
	set_fingerprint(id);
	if ((rc = build_header(id)) < 0 || (rc = derive_key(&key, id, pass, passlen)) < 0)
		goto done;
	randombytes_buf(id->sealed, ID_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(id->sealed + ID_NONCE_LEN, NULL, seed->data,
						   ID_SEED_LEN, (const uint8_t *)id->header.ptr,
						   id->header.size, NULL, id->sealed, key->data);
	hex_encode(hex, id->sealed, sizeof(id->sealed));
	if ((rc = evault_buf_put(&file, id->header.ptr, id->header.size)) < 0 ||
	    (rc = evault_buf_printf(&file, "secret %s\n", hex)) < 0)
		goto done;
	rc = file_write_new(path, file.ptr, file.size, 0600);
done:
	secret_free(key);
	secret_free(seed);
	evault_buf_dispose(&file);
	if (rc < 0) {
		evault_identity_free(id);
		return rc;
	}
	*out = id;
	return 0;
}

/* Returns the next line (without '\n') and advances *p; NULL at the end. */
static const char *next_line(const char **p, const char *end, size_t *len)
{
	if (*p >= end)
		return NULL;
	const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
	if (!nl)
		return NULL; /* every line ends with a newline */
	*len = (size_t)(nl - s);
	*p = nl + 1;
	return s;
}

static int parse_identity(evault_identity *id, const char *text, size_t size)
{
	const char *p = text, *end, *l;
	size_t n;
	char buf[512];

	if (!text || size == 0 || memchr(text, '\0', size))
		return EVAULT_ECORRUPT;
	end = text + size;
	if (!(l = next_line(&p, end, &n)) || n != strlen(ID_MAGIC) || memcmp(l, ID_MAGIC, n) != 0)
		return EVAULT_ECORRUPT;
	if (!(l = next_line(&p, end, &n)) || n < 6 || n - 5 > EVAULT_USER_MAX ||
	    memcmp(l, "name ", 5) != 0)
		return EVAULT_ECORRUPT;
	memcpy(id->name, l + 5, n - 5);
	id->name[n - 5] = '\0';
	if (!user_name_valid(id->name))
		return EVAULT_ECORRUPT;
	if (!(l = next_line(&p, end, &n)) || n < 8 || n >= sizeof(buf) ||
	    memcmp(l, "public ", 7) != 0)
		return EVAULT_ECORRUPT;
	memcpy(buf, l + 7, n - 7);
	buf[n - 7] = '\0';
	if (sshkey_parse_public(id->pk, buf) < 0)
		return EVAULT_ECORRUPT;
	if (!(l = next_line(&p, end, &n)) || n >= sizeof(buf))
		return EVAULT_ECORRUPT;
	memcpy(buf, l, n);
	buf[n] = '\0';
	char salt_hex[ID_SALT_LEN * 2 + 2];
	unsigned long long ops, mem;
	int used = 0;
	if (sscanf(buf, "kdf argon2id13 %llu %llu %33s%n", &ops, &mem, salt_hex, &used) != 3 ||
	    (size_t)used != n || ops < crypto_pwhash_OPSLIMIT_MIN || ops > ID_OPS_MAX ||
	    mem < 8192 || mem > ID_MEM_MAX ||
	    hex_decode(id->salt, sizeof(id->salt), salt_hex, strlen(salt_hex)) < 0)
		return EVAULT_ECORRUPT;
	id->opslimit = ops;
	id->memlimit = (size_t)mem;
	size_t hdrlen = (size_t)(p - text);
	if (!(l = next_line(&p, end, &n)) || n != 7 + sizeof(id->sealed) * 2 ||
	    memcmp(l, "secret ", 7) != 0 ||
	    hex_decode(id->sealed, sizeof(id->sealed), l + 7, n - 7) < 0 || p != end)
		return EVAULT_ECORRUPT;
	id->header.size = 0;
	if (evault_buf_put(&id->header, text, hdrlen) < 0)
		return EVAULT_ERROR;
	set_fingerprint(id);
	return 0;
}

int evault_identity_load(evault_identity **out, const char *path)
{
	evault_buf text = EVAULT_BUF_INIT;
	evault_identity *id;
	int rc;
	*out = NULL;
	if ((rc = file_read_all(&text, path, ID_MAX_FILE)) < 0) {
		if (rc == EVAULT_ENOTFOUND)
			evault_error_set(
			    rc, "no identity at %s (create one with 'evault identity new')", path);
		return rc;
	}
	if (!(id = calloc(1, sizeof(*id)))) {
		evault_buf_dispose(&text);
		return error_oom();
	}
	rc = parse_identity(id, text.ptr, text.size);
	evault_buf_dispose(&text);
	if (rc < 0) {
		evault_identity_free(id);
		return evault_error_set(rc == EVAULT_ERROR ? rc : EVAULT_ECORRUPT,
					"%s: not a valid evault identity file", path);
	}
	*out = id;
	return 0;
}

int evault_identity_unlock(evault_identity *id, const char *pass, size_t passlen)
{
	secret *key = NULL, *seed = NULL, *sk = NULL;
	uint8_t pk[SSH_ED25519_PK_LEN];
	int rc;
	if (id->sk)
		return 0;
	if ((rc = derive_key(&key, id, pass, passlen)) < 0)
		return rc;
	rc = EVAULT_ERROR;
	if (!(seed = secret_new(ID_SEED_LEN)) || !(sk = secret_new(SSH_ED25519_SK_LEN)))
		goto done;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		seed->data, NULL, NULL, id->sealed + ID_NONCE_LEN, ID_CT_LEN,
		(const uint8_t *)id->header.ptr, id->header.size, id->sealed, key->data) != 0) {
		rc = evault_error_set(EVAULT_EAUTH, "wrong passphrase for identity '%s'", id->name);
		goto done;
	}
	crypto_sign_seed_keypair(pk, sk->data, seed->data);
	if (sodium_memcmp(pk, id->pk, sizeof(pk)) != 0) {
		rc = evault_error_set(EVAULT_ECORRUPT,
				      "identity '%s': secret and public key differ", id->name);
		goto done;
	}
	id->sk = sk;
	sk = NULL;
	rc = 0;
done:
	secret_free(key);
	secret_free(seed);
	secret_free(sk);
	return rc;
}

bool evault_identity_unlocked(const evault_identity *id)
{
	return id && id->sk;
}

const char *evault_identity_name(const evault_identity *id)
{
	return id->name;
}

const char *evault_identity_fingerprint(const evault_identity *id)
{
	return id->fingerprint;
}

int evault_identity_public_line(evault_buf *out, const evault_identity *id)
{
	return sshkey_format_public(out, id->pk, id->name);
}

void evault_identity_free(evault_identity *id)
{
	if (!id)
		return;
	secret_free(id->sk);
	evault_buf_dispose(&id->header);
	sodium_memzero(id, sizeof(*id));
	free(id);
}

const uint8_t *identity_public_key(const evault_identity *id)
{
	return id->pk;
}

int identity_sign(evault_buf *out, const evault_identity *id, const char *ns, const void *msg,
		  size_t len)
{
	if (!id->sk)
		return evault_error_set(EVAULT_EAUTH, "identity '%s' is locked", id->name);
	return sshsig_sign(out, id->sk->data, ns, msg, len);
}

int identity_sign_raw(uint8_t sig[64], const evault_identity *id, const void *msg, size_t len)
{
	if (!id->sk)
		return evault_error_set(EVAULT_EAUTH, "identity '%s' is locked", id->name);
	crypto_sign_detached(sig, NULL, msg, len, id->sk->data);
	return 0;
}

int identity_open_sealed(secret **out, const evault_identity *id, const uint8_t *sealed, size_t len)
{
	secret *xsk = NULL, *plain = NULL;
	uint8_t xpk[crypto_box_PUBLICKEYBYTES];
	int rc = EVAULT_ERROR;
	*out = NULL;
	if (!id->sk)
		return evault_error_set(EVAULT_EAUTH, "identity '%s' is locked", id->name);
	if (len < crypto_box_SEALBYTES)
		return evault_error_set(EVAULT_ECORRUPT, "sealed key too short");
	if (!(xsk = secret_new(crypto_box_SECRETKEYBYTES)) ||
	    !(plain = secret_new(len - crypto_box_SEALBYTES)))
		goto done;
	if (crypto_sign_ed25519_pk_to_curve25519(xpk, id->pk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(xsk->data, id->sk->data) != 0) {
		rc = evault_error_set(EVAULT_ERROR, "key conversion failed");
		goto done;
	}
	if (crypto_box_seal_open(plain->data, sealed, len, xpk, xsk->data) != 0) {
		rc = evault_error_set(EVAULT_EAUTH, "sealed key does not open with this identity");
		goto done;
	}
	*out = plain;
	plain = NULL;
	rc = 0;
done:
	secret_free(xsk);
	secret_free(plain);
	return rc;
}

int seal_to_public(evault_buf *out, const uint8_t pk[SSH_ED25519_PK_LEN], const uint8_t *data,
		   size_t len)
{
	uint8_t xpk[crypto_box_PUBLICKEYBYTES];
	uint8_t *c = malloc(len + crypto_box_SEALBYTES);
	int rc;
	if (!c)
		return error_oom();
	if (crypto_sign_ed25519_pk_to_curve25519(xpk, pk) != 0 ||
	    crypto_box_seal(c, data, len, xpk) != 0) {
		free(c);
		return evault_error_set(EVAULT_ERROR, "cannot seal to that public key");
	}
	rc = evault_buf_put(out, c, len + crypto_box_SEALBYTES);
	free(c);
	return rc;
}
