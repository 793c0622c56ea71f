/*
 * OpenSSH Ed25519 key and SSHSIG formats. Everything parsed here comes
 * from users or from the history and is untrusted: every length is checked
 * by the reader, and only "ssh-ed25519" with "sha512" is accepted.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "sshkey.h"
#include "util.h"

static const char key_type[] = "ssh-ed25519";
static const char sig_begin[] = "-----BEGIN SSH SIGNATURE-----";
static const char sig_end[] = "-----END SSH SIGNATURE-----";

static int key_blob(evault_buf *b, const uint8_t pk[SSH_ED25519_PK_LEN])
{
	int rc = buf_put_string(b, key_type, strlen(key_type));
	return rc < 0 ? rc : buf_put_string(b, pk, SSH_ED25519_PK_LEN);
}

int sshkey_format_public(evault_buf *out, const uint8_t pk[SSH_ED25519_PK_LEN], const char *comment)
{
	evault_buf blob = EVAULT_BUF_INIT;
	int rc;
	if ((rc = key_blob(&blob, pk)) < 0 || (rc = evault_buf_printf(out, "%s ", key_type)) < 0 ||
	    (rc = b64_encode(out, (const uint8_t *)blob.ptr, blob.size)) < 0)
		goto done;
	if (comment && *comment)
		rc = evault_buf_printf(out, " %s", comment);
done:
	evault_buf_dispose(&blob);
	return rc;
}

static int parse_key_blob(uint8_t pk[SSH_ED25519_PK_LEN], const uint8_t *blob, size_t len)
{
	reader r;
	size_t tlen, klen;
	reader_init(&r, blob, len);
	const uint8_t *t = reader_string(&r, &tlen);
	const uint8_t *k = reader_string(&r, &klen);
	if (r.bad || r.left != 0 || tlen != strlen(key_type) || memcmp(t, key_type, tlen) != 0 ||
	    klen != SSH_ED25519_PK_LEN)
		return EVAULT_EINVAL;
	memcpy(pk, k, SSH_ED25519_PK_LEN);
	return 0;
}

int sshkey_parse_public(uint8_t pk[SSH_ED25519_PK_LEN], const char *line)
{
	evault_buf blob = EVAULT_BUF_INIT;
	size_t tl = strlen(key_type);
	int rc = EVAULT_EINVAL;
	if (!line || strncmp(line, key_type, tl) != 0 || line[tl] != ' ')
		goto bad;
	const char *b = line + tl + 1;
	size_t blen = strcspn(b, " \n");
	if (blen == 0 || blen > 200 || b64_decode(&blob, b, blen) < 0)
		goto bad;
	if (parse_key_blob(pk, (const uint8_t *)blob.ptr, blob.size) < 0)
		goto bad;
	rc = 0;
bad:
	evault_buf_dispose(&blob);
	if (rc < 0)
		return evault_error_set(EVAULT_EINVAL,
					"not an OpenSSH Ed25519 public key (expected 'ssh-ed25519 "
					"AAAA... [comment]')");
	return 0;
}

void sshkey_fingerprint(char out[SSH_FINGERPRINT_LEN], const uint8_t pk[SSH_ED25519_PK_LEN])
{
	evault_buf blob = EVAULT_BUF_INIT;
	uint8_t h[crypto_hash_sha256_BYTES];
	memcpy(out, "SHA256:", 8);
	if (key_blob(&blob, pk) == 0) {
		crypto_hash_sha256(h, (const uint8_t *)blob.ptr, blob.size);
		sodium_bin2base64(out + 7, SSH_FINGERPRINT_LEN - 7, h, sizeof(h),
				  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	}
	evault_buf_dispose(&blob);
}

/* The bytes an SSHSIG signature covers (PROTOCOL.sshsig, "Signed Data"). */
static int signed_data(evault_buf *sd, const char *ns, const void *msg, size_t msglen)
{
	uint8_t h[crypto_hash_sha512_BYTES];
	crypto_hash_sha512(h, msg, msglen);
	int rc;
	if ((rc = evault_buf_put(sd, "SSHSIG", 6)) < 0 ||
	    (rc = buf_put_string(sd, ns, strlen(ns))) < 0 || (rc = buf_put_string(sd, "", 0)) < 0 ||
	    (rc = buf_put_string(sd, "sha512", 6)) < 0 ||
	    (rc = buf_put_string(sd, h, sizeof(h))) < 0)
		return rc;
	return 0;
}

int sshsig_sign(evault_buf *out, const uint8_t sk[SSH_ED25519_SK_LEN], const char *ns,
		const void *msg, size_t msglen)
{
	evault_buf sd = EVAULT_BUF_INIT, blob = EVAULT_BUF_INIT, sig = EVAULT_BUF_INIT,
		   b64 = EVAULT_BUF_INIT;
	uint8_t raw[crypto_sign_BYTES];
	const uint8_t *pk = sk + 32; /* libsodium's secret key is seed || public key */
	int rc;
	if ((rc = signed_data(&sd, ns, msg, msglen)) < 0)
		goto done;
	crypto_sign_detached(raw, NULL, (const uint8_t *)sd.ptr, sd.size, sk);
	if ((rc = buf_put_string(&sig, key_type, strlen(key_type))) < 0 ||
	    (rc = buf_put_string(&sig, raw, sizeof(raw))) < 0)
		goto done;
	evault_buf pkblob = EVAULT_BUF_INIT;
	if ((rc = key_blob(&pkblob, pk)) < 0)
		goto done;
	if ((rc = evault_buf_put(&blob, "SSHSIG", 6)) == 0 && (rc = buf_put_u32(&blob, 1)) == 0 &&
	    (rc = buf_put_string(&blob, pkblob.ptr, pkblob.size)) == 0 &&
	    (rc = buf_put_string(&blob, ns, strlen(ns))) == 0 &&
	    (rc = buf_put_string(&blob, "", 0)) == 0 &&
	    (rc = buf_put_string(&blob, "sha512", 6)) == 0)
		rc = buf_put_string(&blob, sig.ptr, sig.size);
	evault_buf_dispose(&pkblob);
	if (rc < 0 || (rc = b64_encode(&b64, (const uint8_t *)blob.ptr, blob.size)) < 0)
		goto done;
	if ((rc = evault_buf_printf(out, "%s\n", sig_begin)) < 0)
		goto done;
	for (size_t i = 0; i < b64.size; i += 70) {
		size_t n = b64.size - i < 70 ? b64.size - i : 70;
		if ((rc = evault_buf_put(out, b64.ptr + i, n)) < 0 ||
		    (rc = evault_buf_put(out, "\n", 1)) < 0)
			goto done;
	}
	rc = evault_buf_put(out, sig_end, strlen(sig_end));
done:
	sodium_memzero(raw, sizeof(raw));
	evault_buf_dispose(&sd);
	evault_buf_dispose(&blob);
	evault_buf_dispose(&sig);
	evault_buf_dispose(&b64);
	return rc;
}

/* Strips the armour: BEGIN line, base64 lines, END line, optional final newline. */
static int dearmour(evault_buf *blob, const char *a, size_t len)
{
	evault_buf b64 = EVAULT_BUF_INIT;
	size_t bl = strlen(sig_begin), el = strlen(sig_end);
	int rc = EVAULT_ECORRUPT;
	if (len > 0 && a[len - 1] == '\n')
		len--;
	if (len < bl + el + 2 || memcmp(a, sig_begin, bl) != 0 || a[bl] != '\n' ||
	    memcmp(a + len - el, sig_end, el) != 0 || a[len - el - 1] != '\n')
		goto done;
	for (size_t i = bl + 1; i < len - el - 1; i++) {
		char c = a[i];
		if (c == '\n')
			continue;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			goto done;
		if (evault_buf_put(&b64, &c, 1) < 0)
			goto done;
	}
	if (b64.size == 0 || b64_decode(blob, b64.ptr, b64.size) < 0)
		goto done;
	rc = 0;
done:
	evault_buf_dispose(&b64);
	return rc;
}

int sshsig_verify(uint8_t signer[SSH_ED25519_PK_LEN], const char *armour, size_t armourlen,
		  const char *ns, const void *msg, size_t msglen)
{
	evault_buf blob = EVAULT_BUF_INIT, sd = EVAULT_BUF_INIT;
	int rc = EVAULT_ECORRUPT;
	reader r, s;
	size_t pklen, nslen, reslen, halen, siglen, stlen, rawlen;
	uint8_t pk[SSH_ED25519_PK_LEN];

	if (dearmour(&blob, armour, armourlen) < 0)
		goto done;
	reader_init(&r, blob.ptr, blob.size);
	const uint8_t *magic = reader_bytes(&r, 6);
	uint32_t version = reader_u32(&r);
	const uint8_t *pkb = reader_string(&r, &pklen);
	const uint8_t *nsb = reader_string(&r, &nslen);
	reader_string(&r, &reslen);
	const uint8_t *hab = reader_string(&r, &halen);
	const uint8_t *sigb = reader_string(&r, &siglen);
	if (r.bad || r.left != 0 || memcmp(magic, "SSHSIG", 6) != 0 || version != 1)
		goto done;
	if (parse_key_blob(pk, pkb, pklen) < 0)
		goto done;
	if (halen != 6 || memcmp(hab, "sha512", 6) != 0)
		goto done;
	reader_init(&s, sigb, siglen);
	const uint8_t *st = reader_string(&s, &stlen);
	const uint8_t *raw = reader_string(&s, &rawlen);
	if (s.bad || s.left != 0 || stlen != strlen(key_type) || memcmp(st, key_type, stlen) != 0 ||
	    rawlen != crypto_sign_BYTES)
		goto done;
	rc = EVAULT_EAUTH;
	if (nslen != strlen(ns) || memcmp(nsb, ns, nslen) != 0)
		goto done;
	if (signed_data(&sd, ns, msg, msglen) < 0) {
		rc = EVAULT_ERROR;
		goto done;
	}
	if (crypto_sign_verify_detached(raw, (const uint8_t *)sd.ptr, sd.size, pk) != 0)
		goto done;
	memcpy(signer, pk, sizeof(pk));
	rc = 0;
done:
	evault_buf_dispose(&blob);
	evault_buf_dispose(&sd);
	if (rc == EVAULT_ECORRUPT)
		return evault_error_set(rc, "malformed SSH signature");
	if (rc == EVAULT_EAUTH)
		return evault_error_set(rc, "SSH signature does not verify");
	return rc;
}
