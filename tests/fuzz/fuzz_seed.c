/*
 * Writes seed inputs made by the engine's own encoders into
 * DIR/<target>/seed-*: manifests (manifest_encode), objects and records
 * sealed under the fixed test class key (chunk_seal, blob_seal), and
 * evault.conf, POLICY, user, mission, CLOSE records, keys and signatures in the
 * form each target reads, and the sync protocol's frames (proto.h) a peer
 * sends the office (serve) and an office sends a replica (clone).
 * gen-corpus.sh runs it, then adds what a real vault made by the evault
 * binary holds.
 *   usage: fuzz-seed DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>
#include <sodium.h>
#include <zstd.h>

#include "close.h"
#include "config.h"
#include "fuzz.h"
#include "manifest.h"
#include "mission.h"
#include "policy.h"
#include "proto.h"
#include "sshkey.h"
#include "sync.h"
#include "user.h"
#include "util.h"

static const char *root;

static void put(const char *target, const char *name, const void *a, size_t alen, const void *b,
		size_t blen)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", root, target, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) ||
	    fclose(f) != 0)
		fuzz_fail(path);
}

static void ok(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "fuzz-seed: %s: %s\n", what, evault_error_last());
		exit(1);
	}
}

static void manifests(evault_buf *small)
{
	static uint8_t ids[8][OBJECT_ID_LEN];
	manifest_hole holes[2] = {{1, 3}, {6, 2}}, tail = {0, (1u << 20) - 1};
	manifest m;
	evault_buf b = EVAULT_BUF_INIT;
	for (int i = 0; i < 8; i++)
		ok(object_hash(ids[i], &i, sizeof(i)), "hash");

	memset(&m, 0, sizeof(m));
	m.type = MANIFEST_TYPE_FILE;
	m.path = "reports/rapport.txt";
	m.size = 1000;
	m.mode = 0644;
	m.mtime = 1763920000;
	m.mtime_nsec = 123456789;
	m.added = 1763920100;
	strcpy(m.content_type, "text/plain");
	m.chunk_size = EVAULT_CHUNK_DEFAULT;
	m.nobjs = 1;
	m.objs = ids;
	ok(manifest_encode(small, &m), "manifest");
	put("manifest", "one-chunk", small->ptr, small->size, NULL, 0);

	m.path = "sparse.img"; /* 11 chunks, 5 of them holes in two runs */
	m.size = 10 * (uint64_t)EVAULT_CHUNK_MIN + 5;
	m.chunk_size = EVAULT_CHUNK_MIN;
	strcpy(m.content_type, "application/octet-stream");
	m.nholes = 2;
	m.holes = holes;
	m.nobjs = 6;
	ok(manifest_encode(&b, &m), "manifest");
	put("manifest", "holes", b.ptr, b.size, NULL, 0);

	b.size = 0;
	m.path = "empty";
	m.size = 0;
	strcpy(m.content_type, "application/x-empty");
	m.nholes = 0;
	m.nobjs = 0;
	ok(manifest_encode(&b, &m), "manifest");
	put("manifest", "empty", b.ptr, b.size, NULL, 0);

	b.size = 0; /* the largest file: all holes but its last chunk */
	m.path = "a/b/c/disk.raw";
	m.size = EVAULT_FILE_MAX;
	m.chunk_size = EVAULT_CHUNK_MAX;
	m.content_type[0] = '\0';
	m.nholes = 1;
	m.holes = &tail;
	m.nobjs = 1;
	ok(manifest_encode(&b, &m), "manifest");
	put("manifest", "largest-sparse", b.ptr, b.size, NULL, 0);
	evault_buf_dispose(&b);
}

static void objects(const evault_buf *manifest_plain)
{
	class_keys *k = fuzz_class_keys(EVAULT_CLASS_WORK);
	chunk_worker *w = chunk_worker_new(EVAULT_CHUNK_MIN, 3);
	evault_buf o = EVAULT_BUF_INIT, rec = EVAULT_BUF_INIT;
	uint8_t id[OBJECT_ID_LEN], text[4096], noise[300], frame[1024];
	const uint8_t chunk_hdr[8] = {'E', 'V', 'O', 'B', 1, 2, 0, OBJ_KIND_CHUNK};
	const uint8_t zstd_hdr[8] = {'E', 'V', 'O', 'B', 1, 2, 1, OBJ_KIND_CHUNK};
	const uint8_t manifest_hdr[8] = {'E', 'V', 'O', 'B', 1, 2, 0, OBJ_KIND_MANIFEST};
	uint8_t mode[2];
	if (!w)
		fuzz_fail("chunk worker");
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t) "rapport d'intervention, site de Lyon\n"[i % 37];
	randombytes_buf_deterministic(noise, sizeof(noise), fuzz_class_key);

	/* 0: objects as chunk_seal writes them */
	mode[0] = 0;
	ok(chunk_seal(&o, id, k, w, text, sizeof(text)), "chunk_seal");
	put("object", "chunk-zstd", mode, 1, o.ptr, o.size);
	ok(chunk_seal(&o, id, k, w, noise, sizeof(noise)), "chunk_seal");
	put("object", "chunk-raw", mode, 1, o.ptr, o.size);

	/* 1: header and payload, sealed by the target */
	mode[0] = 1;
	size_t n = ZSTD_compress(frame, sizeof(frame), text, sizeof(text), 3);
	if (ZSTD_isError(n))
		fuzz_fail("zstd");
	ok(evault_buf_put(&rec, zstd_hdr, 8), "buf");
	ok(evault_buf_put(&rec, frame, n), "buf");
	put("object", "sealed-zstd", mode, 1, rec.ptr, rec.size);
	rec.size = 0;
	ok(evault_buf_put(&rec, chunk_hdr, 8), "buf");
	ok(evault_buf_put(&rec, noise, sizeof(noise)), "buf");
	put("object", "sealed-raw", mode, 1, rec.ptr, rec.size);

	/* 2: records as blob_seal writes them: a manifest, mission info, a mark */
	mode[0] = 2;
	mode[1] = OBJ_KIND_MANIFEST;
	ok(blob_seal(&o, k, OBJ_KIND_MANIFEST, FUZZ_FID, manifest_plain->ptr, manifest_plain->size),
	   "blob_seal");
	put("object", "record-manifest", mode, 2, o.ptr, o.size);
	rec.size = 0;
	ok(evault_buf_put(&rec, "EVI1", 4), "info");
	ok(buf_put_string(&rec, "Client One SA", 13), "info");
	ok(buf_put_string(&rec, "Lyon", 4), "info");
	ok(buf_put_string(&rec, "badges et alarmes", 17), "info");
	mode[1] = OBJ_KIND_INFO;
	ok(blob_seal(&o, k, OBJ_KIND_INFO, "info", rec.ptr, rec.size), "blob_seal");
	put("object", "record-info", mode, 2, o.ptr, o.size);
	rec.size = 0;
	ok(evault_buf_put(&rec, "EVR1", 4), "mark");
	ok(buf_put_string(&rec, "reported", 8), "mark");
	ok(buf_put_string(&rec, "M. Martin, gardien", 18), "mark");
	ok(buf_put_string(&rec, "bob", 3), "mark");
	ok(buf_put_u64(&rec, 1763920000), "mark");
	ok(buf_put_string(&rec, "alarm.txt", 9), "mark");
	mode[1] = OBJ_KIND_RECORD;
	ok(blob_seal(&o, k, OBJ_KIND_RECORD, FUZZ_FID, rec.ptr, rec.size), "blob_seal");
	put("object", "record-mark", mode, 2, o.ptr, o.size);

	/* 3: a record's header and plaintext, sealed by the target */
	mode[0] = 3;
	rec.size = 0;
	ok(evault_buf_put(&rec, manifest_hdr, 8), "buf");
	ok(evault_buf_put(&rec, manifest_plain->ptr, manifest_plain->size), "buf");
	put("object", "sealed-manifest", mode, 1, rec.ptr, rec.size);

	/* the targets' own sealing must make what the engine opens, or they
	 * would only ever test the MAC check */
	uint8_t out[EVAULT_CHUNK_MIN];
	size_t outlen;
	ok(fuzz_seal_as(&o, zstd_hdr, EVAULT_CLASS_WORK, NULL, frame, n), "fuzz_seal_as");
	ok(object_hash(id, o.ptr, o.size), "hash");
	if (chunk_open(out, sizeof(out), &outlen, k, w, id, (const uint8_t *)o.ptr, o.size) < 0 ||
	    outlen != sizeof(text) || memcmp(out, text, outlen) != 0)
		fuzz_fail("fuzz_seal_as makes chunks chunk_open refuses");
	ok(fuzz_seal_as(&o, manifest_hdr, EVAULT_CLASS_WORK, FUZZ_FID,
			(const uint8_t *)manifest_plain->ptr, manifest_plain->size),
	   "fuzz_seal_as");
	if (blob_open(&rec, k, OBJ_KIND_MANIFEST, FUZZ_FID, o.ptr, o.size) < 0 ||
	    rec.size != manifest_plain->size || memcmp(rec.ptr, manifest_plain->ptr, rec.size) != 0)
		fuzz_fail("fuzz_seal_as makes records blob_open refuses");

	evault_buf_dispose(&o);
	evault_buf_dispose(&rec);
	chunk_worker_free(w);
	class_keys_free(k);
}

/* ---- the sync protocol (proto.h): frames as evault serve and clone read them ---- */

/* One frame: u32 length (type and body), type, body. */
static void frame(evault_buf *out, uint8_t type, const evault_buf *body)
{
	ok(buf_put_u32(out, (uint32_t)(1 + body->size)), "frame");
	ok(evault_buf_put(out, &type, 1), "frame");
	if (body->size)
		ok(evault_buf_put(out, body->ptr, body->size), "frame");
}

static void hello(evault_buf *out, uint32_t version)
{
	evault_buf b = EVAULT_BUF_INIT;
	ok(evault_buf_put(&b, PROTO_MAGIC, strlen(PROTO_MAGIC)), "hello");
	ok(buf_put_u32(&b, version), "hello");
	frame(out, MSG_HELLO, &b);
	evault_buf_dispose(&b);
}

static void str(evault_buf *b, const char *s)
{
	ok(buf_put_string(b, s, strlen(s)), "string");
}

/* What a peer sends the office before it authenticated (the serve target). */
static void serve_seeds(const uint8_t pk[SSH_ED25519_PK_LEN], const uint8_t sk[SSH_ED25519_SK_LEN])
{
	static const uint8_t nonce[32];
	char vault_hex[33];
	evault_buf out = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT, msg = EVAULT_BUF_INIT,
		   armour = EVAULT_BUF_INIT;
	hello(&out, PROTO_VERSION);
	put("serve", "hello", out.ptr, out.size, NULL, 0);
	out.size = 0;
	hello(&out, 1); /* an evault from before devices */
	put("serve", "hello-v1", out.ptr, out.size, NULL, 0);

	/* AUTH: the key, a signature of the session text (for another
	 * challenge than the office's, which no seed can know), the device */
	hex_encode(vault_hex, fuzz_vault_id, sizeof(fuzz_vault_id));
	ok(sync_auth_message(&msg, vault_hex, nonce, pk, "bob-laptop"), "session text");
	ok(sshsig_sign(&armour, sk, SYNC_AUTH_NAMESPACE, msg.ptr, msg.size), "sshsig");
	ok(evault_buf_put(&b, pk, SSH_ED25519_PK_LEN), "auth");
	ok(buf_put_string(&b, armour.ptr, armour.size), "auth");
	size_t no_device = b.size;
	str(&b, "bob-laptop");
	out.size = 0;
	hello(&out, PROTO_VERSION);
	frame(&out, MSG_AUTH, &b);
	put("serve", "hello-auth", out.ptr, out.size, NULL, 0);
	b.size = no_device; /* version 1's AUTH: no device */
	out.size = 0;
	hello(&out, PROTO_VERSION);
	frame(&out, MSG_AUTH, &b);
	put("serve", "hello-auth-nodevice", out.ptr, out.size, NULL, 0);

	/* a WANT of one id before any HELLO */
	b.size = 0;
	ok(buf_put_u32(&b, 1), "want");
	uint8_t id[OBJECT_ID_LEN] = {0};
	ok(evault_buf_put(&b, id, sizeof(id)), "want");
	out.size = 0;
	frame(&out, MSG_WANT, &b);
	put("serve", "want-first", out.ptr, out.size, NULL, 0);
	evault_buf_dispose(&out);
	evault_buf_dispose(&b);
	evault_buf_dispose(&msg);
	evault_buf_dispose(&armour);
}

/* What an office sends a replica that clones (the clone target), step by
 * step: the challenge, an ERROR or the welcome, a history of one commit
 * and its end, key copies. */
static void clone_seeds(void)
{
	static const char commit[] = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
				     "author bob <bob@x> 1 +0000\n"
				     "committer bob <bob@x> 1 +0000\n"
				     "\n"
				     "x\n"
				     "\n"
				     "Evault-Seq: 0\n"
				     "Evault-Action: vault.init\n"
				     "Evault-Actor: bob\n";
	evault_buf out = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT;
	uint8_t nonce[32], head[20], dev;
	git_oid oid;
	memset(nonce, 0x22, sizeof(nonce));
	if (git_odb_hash(&oid, commit, strlen(commit), GIT_OBJECT_COMMIT) < 0)
		fuzz_fail("git_odb_hash");
	memcpy(head, oid.id, sizeof(head));

	ok(buf_put_u32(&b, PROTO_VERSION), "challenge");
	ok(evault_buf_put(&b, fuzz_vault_id, sizeof(fuzz_vault_id)), "challenge");
	ok(evault_buf_put(&b, nonce, sizeof(nonce)), "challenge");
	frame(&out, MSG_CHALLENGE, &b);
	put("clone", "challenge", out.ptr, out.size, NULL, 0);
	size_t challenge = out.size;

	b.size = 0;
	ok(buf_put_u32(&b, EVAULT_EAUTH), "error");
	str(&b, "authentication failed");
	frame(&out, MSG_ERROR, &b);
	put("clone", "error", out.ptr, out.size, NULL, 0);

	/* WELCOME: bob, technician, the head, its seq, the device's state (the
	 * history and key copies follow the welcome of a new device, as at a
	 * first clone) */
	static const struct {
		const char *name;
		uint8_t state;
	} devices[] = {{"welcome-active", SYNC_DEVICE_ACTIVE},
		       {"welcome-revoked", SYNC_DEVICE_REVOKED},
		       {"welcome", SYNC_DEVICE_NEW}};
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		out.size = challenge;
		b.size = 0;
		str(&b, "bob");
		str(&b, "technician");
		ok(evault_buf_put(&b, head, sizeof(head)), "welcome");
		ok(buf_put_u64(&b, 0), "welcome");
		dev = devices[i].state;
		ok(evault_buf_put(&b, &dev, 1), "welcome");
		frame(&out, MSG_WELCOME, &b);
		put("clone", devices[i].name, out.ptr, out.size, NULL, 0);
	}

	/* the history: the commit, then FETCH_END (head, seq, objects sent, older) */
	uint8_t type = 1; /* commit */
	b.size = 0;
	ok(evault_buf_put(&b, &type, 1), "gitobj");
	ok(evault_buf_put(&b, commit, strlen(commit)), "gitobj");
	frame(&out, MSG_GITOBJ, &b);
	b.size = 0;
	ok(evault_buf_put(&b, head, sizeof(head)), "fetch end");
	ok(buf_put_u64(&b, 0), "fetch end");
	ok(buf_put_u64(&b, 1), "fetch end");
	uint8_t older = 0;
	ok(evault_buf_put(&b, &older, 1), "fetch end");
	frame(&out, MSG_FETCH_END, &b);
	put("clone", "history", out.ptr, out.size, NULL, 0);

	/* a key copy of M-1's dossier, then END */
	b.size = 0;
	str(&b, "M-1");
	uint8_t cls = EVAULT_CLASS_DOSSIER;
	ok(evault_buf_put(&b, &cls, 1), "key");
	char sealed[81];
	memset(sealed, 'x', 80);
	sealed[80] = '\0';
	str(&b, sealed);
	frame(&out, MSG_KEY, &b);
	b.size = 0;
	frame(&out, MSG_END, &b);
	put("clone", "keys", out.ptr, out.size, NULL, 0);
	evault_buf_dispose(&out);
	evault_buf_dispose(&b);
}

static void records(void)
{
	evault_buf b = EVAULT_BUF_INIT;
	uint8_t seed[32], pk[SSH_ED25519_PK_LEN], sk[SSH_ED25519_SK_LEN];
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);

	config c;
	config_defaults(&c);
	memcpy(c.vault_id, fuzz_vault_id, sizeof(c.vault_id));
	hex_encode(c.vault_id_hex, c.vault_id, sizeof(c.vault_id));
	ok(config_format(&b, &c), "config");
	put("config", "defaults", b.ptr, b.size, NULL, 0);

	policy pol;
	policy_defaults(&pol);
	pol.close_requires_dossier = false;
	b.size = 0;
	ok(policy_format(&b, &pol), "policy");
	put("policy", "no-dossier", b.ptr, b.size, NULL, 0);

	b.size = 0;
	ok(sshkey_format_public(&b, pk, "bob"), "sshkey");
	put("sshkey", "bob", b.ptr, b.size, NULL, 0);

	user_rec u;
	memset(&u, 0, sizeof(u));
	strcpy(u.name, "bob");
	u.role = EVAULT_ROLE_TECHNICIAN;
	strcpy(u.status, "active");
	memcpy(u.pk, pk, sizeof(pk));
	snprintf(u.key_line, sizeof(u.key_line), "%s", b.ptr);
	b.size = 0;
	ok(user_format(&b, &u), "user");
	put("user", "bob", "bob\n", 4, b.ptr, b.size);

	static char *members[] = {"bob", "carol"}, *auditors[] = {"dave"};
	mission_rec m;
	memset(&m, 0, sizeof(m));
	strcpy(m.mid, "M-1");
	strcpy(m.status, "closed");
	m.created = 1763920000;
	strcpy(m.created_by, "alice");
	m.closed = 1763930000;
	m.retain_until = 2079290000;
	for (int i = 0; i < EVAULT_CLASS_COUNT; i++) {
		snprintf(m.fps[i][0], sizeof(m.fps[i][0]), "%032x", i + 1);
		m.ngen[i] = 1;
	}
	m.photo_authorised = true;
	m.members = members;
	m.nmembers = 2;
	m.auditors = auditors;
	m.nauditors = 1;
	b.size = 0;
	ok(mission_format(&b, &m), "mission");
	put("mission", "closed", "M-1\n", 4, b.ptr, b.size);

	close_code codes[2] = {{FUZZ_FID, "rotated"},
			       {"fedcba9876543210fedcba9876543210", "reported"}};
	close_kept kept[1];
	close_rec r;
	memset(&r, 0, sizeof(r));
	strcpy(r.mid, "M-1");
	strcpy(r.by, "alice");
	r.started = 1763929000;
	snprintf(r.work.fp, sizeof(r.work.fp), "%032x", 2);
	snprintf(r.codes.fp, sizeof(r.codes.fp), "%032x", 3);
	r.work.files = 1;
	r.work.objects = 5;
	r.work.bytes = 5001234;
	r.codes.files = 2;
	r.codes.objects = 2;
	r.codes.bytes = 300;
	r.code = codes;
	r.ncode = 2;
	r.kept_files = 1;
	r.kept_bytes = 2500000;
	b.size = 0;
	ok(close_format(&b, &r), "close");
	put("close", "pending", "M-1\n", 4, b.ptr, b.size);
	r.done = true;
	r.closed = 1763930000;
	r.retain_until = 2079290000;
	strcpy(kept[0].fid, "00112233445566778899aabbccddeeff");
	memset(kept[0].sha256, 'a', 64);
	kept[0].sha256[64] = '\0';
	kept[0].size = 2500000;
	r.kept = kept;
	r.nkept = 1;
	strcpy(r.certificate, "ffeeddccbbaa99887766554433221100");
	b.size = 0;
	ok(close_format(&b, &r), "close");
	put("close", "done", "M-1\n", 4, b.ptr, b.size);

	/* a signature by this key over the vectors' message, armoured and as a blob */
	evault_buf msg = EVAULT_BUF_INIT, blob = EVAULT_BUF_INIT;
	ok(file_read_all(&msg, EVAULT_FUZZ_VECTORS "/sshsig-message.txt", 1 << 20), "vectors");
	b.size = 0;
	ok(sshsig_sign(&b, sk, "git", msg.ptr, msg.size), "sshsig");
	uint8_t even = 0, odd = 1;
	put("sshsig", "signed", &even, 1, b.ptr, b.size);
	const char *s = strchr(b.ptr, '\n') + 1, *e = strstr(b.ptr, "\n-----END");
	evault_buf b64 = EVAULT_BUF_INIT;
	for (; s < e; s++)
		if (*s != '\n')
			ok(evault_buf_put(&b64, s, 1), "buf");
	ok(b64_decode(&blob, b64.ptr, b64.size), "base64");
	put("sshsig", "signed-blob", &odd, 1, blob.ptr, blob.size);
	serve_seeds(pk, sk);
	sodium_memzero(sk, sizeof(sk));
	evault_buf_dispose(&msg);
	evault_buf_dispose(&blob);
	evault_buf_dispose(&b64);
	evault_buf_dispose(&b);
}

int main(int argc, char **argv)
{
	evault_buf plain = EVAULT_BUF_INIT;
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seed DIR\n");
		return 2;
	}
	root = argv[1];
	mkdir(root, 0755);
	fuzz_init();
	manifests(&plain);
	objects(&plain);
	records();
	clone_seeds();
	evault_buf_dispose(&plain);
	return 0;
}
