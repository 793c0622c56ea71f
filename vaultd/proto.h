/*
 * The wire protocol between a replica and `evault serve` (docs/protocol.md):
 * framed messages over a pair of file descriptors (the ssh client's pipes on
 * a laptop, stdin and stdout on the office server). A frame is a u32
 * big-endian length n (1 <= n <= PROTO_FRAME_MAX), then n bytes: one type
 * byte and the body. Bodies use SSH-style encodings (u32, u64, strings with
 * a u32 length, fixed-size ids). Everything read is untrusted: a frame is
 * length-checked before a byte of its body is read, and bodies are read
 * with the bounds-checked reader (util.h).
 */
#ifndef EVAULT_PROTO_H
#define EVAULT_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/common.h"
#include "util.h"

#define PROTO_VERSION 2
#define PROTO_MAGIC "EVAULT-SYNC"
/* The largest object a vault holds (a 16 MiB chunk and its header and tag,
 * rounded up), and the largest frame: one object and its id. */
#define PROTO_OBJECT_MAX ((16u << 20) + 4096u)
#define PROTO_FRAME_MAX (PROTO_OBJECT_MAX + 64u)
/* A git object of the history (manifests, trees of large classes). */
#define PROTO_GITOBJ_MAX (16u << 20)
/* Ids in one WANT or HAVE message. */
#define PROTO_BATCH_MAX 1024u
/* Missions named in one FETCH. */
#define PROTO_MISSIONS_MAX 65536u
/* Seconds a peer may stay silent in the middle of an exchange. */
#define PROTO_TIMEOUT_DEFAULT 120

enum proto_type {
	MSG_HELLO = 0x01,     /* c→s: magic, u32 version */
	MSG_CHALLENGE = 0x02, /* s→c: u32 version, vault id (16), nonce (32) */
	MSG_AUTH = 0x03,      /* c→s: public key (32), string SSHSIG armour, string device */
	MSG_WELCOME = 0x04,   /* s→c: string user, string role, head (20, zero: none), u64 seq,
				 u8 device (sync.h: active, new, revoked) */
	MSG_ERROR = 0x05,     /* s→c: u32 code, string message; the session ends */
	MSG_BYE = 0x06,       /* c→s: the session ends cleanly */
	MSG_FETCH = 0x10,     /* c→s: have (20), u32 n, n strings (missions held) */
	MSG_GITOBJ = 0x11,    /* both: u8 git type (1 commit, 2 tree, 3 blob), bytes */
	MSG_FETCH_END = 0x12, /* s→c: head (20), u64 seq, u64 objects sent, u8 older (1: subtrees
				 of commits the replica had, for missions it holds now) */
	MSG_KEYS = 0x20,      /* c→s: empty */
	MSG_KEY = 0x21,       /* s→c: string mission, u8 class, string sealed key */
	MSG_END = 0x22,       /* end of a stream (KEY from the office, GITOBJ of a PUSH) */
	MSG_WANT = 0x30,      /* c→s: u32 n, n ids (32) */
	MSG_OBJ = 0x31,       /* both: id (32), bytes */
	MSG_MISSING = 0x32,   /* s→c: id (32) */
	MSG_HAVE = 0x33,      /* c→s: u32 n, n ids (32) */
	MSG_HAVE_REPLY = 0x34, /* s→c: u32 n, bitmap of ceil(n/8) bytes (bit set: present) */
	MSG_FLUSH = 0x35,     /* c→s: empty */
	MSG_FLUSHED = 0x36,   /* s→c: u64 objects stored since the last FLUSHED */
	MSG_PUSH = 0x40,      /* c→s: old head (20), new head (20); then GITOBJ..., END */
	MSG_PUSHED = 0x41,    /* s→c: head (20), u64 seq */
};

typedef struct proto {
	int in, out;
	int timeout_ms;
	/* input: a read buffer, and the last frame (type at [0]) */
	uint8_t *rbuf;
	size_t rpos, rlen;
	evault_buf frame;
	/* output: frames gathered until flushed */
	evault_buf wbuf;
	size_t start; /* of the frame being built */
	uint64_t bytes_in, bytes_out;
	/* an object's bytes copied where a backend may write them directly
	 * (BACKEND_ALIGN-aligned, room for the largest object): proto_aligned */
	uint8_t *abuf;
	bool eof;    /* the peer closed its end (between frames) */
	bool broken; /* a write failed: the peer stopped reading */
} proto;

int proto_init(proto *p, int in, int out, int timeout_s);
void proto_dispose(proto *p);

/*
 * The next frame: its type and a reader over its body (valid until the
 * next read). Flushes pending output first. EVAULT_ECORRUPT for a frame
 * that is empty, longer than max (or PROTO_FRAME_MAX), or cut short;
 * EVAULT_ERROR on a timeout or a read error; 1 when the peer closed the
 * connection between frames (p->eof).
 */
int proto_read(proto *p, uint8_t *type, reader *body, size_t max);

/* Building a frame: begin, append to the returned buffer, end. */
evault_buf *proto_begin(proto *p, uint8_t type);
int proto_end(proto *p);
/* A frame with a body given whole. */
int proto_send(proto *p, uint8_t type, const void *body, size_t len);
int proto_flush(proto *p);

/* data copied into the session's aligned buffer; *room: the bytes it has
 * from there (for a backend's stage). NULL when out of memory. */
void *proto_aligned(proto *p, const void *data, size_t len, size_t *room);

/* An ERROR frame (code, one line), flushed. */
int proto_send_error(proto *p, int code, const char *msg);
/* The body of a frame as a string (u32 length + bytes) into out, NUL-ended;
 * EVAULT_ECORRUPT when longer than outlen - 1 or holding a NUL. */
int reader_cstring(reader *r, char *out, size_t outlen);

#endif
