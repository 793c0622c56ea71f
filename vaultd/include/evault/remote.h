/*
 * The office and the laptops (docs/deploy.md, docs/protocol.md): the
 * office vault answers `evault serve` over OpenSSH; a laptop holds a
 * replica of its user's missions, works on it offline and syncs.
 */
#ifndef EVAULT_REMOTE_H
#define EVAULT_REMOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/repo.h"

typedef struct evault_serve_opts {
	unsigned version;
	int in, out;          /* the connection (stdin, stdout under sshd) */
	int timeout_s;        /* silence that ends a session (0: default, 120 s) */
	const char *log_path; /* NULL: REPO/serve.log */
} evault_serve_opts;
#define EVAULT_SERVE_OPTS_VERSION 1

/*
 * One session with one replica: who it is (a challenge signed with its
 * identity), then its requests, until it says goodbye or breaks the
 * protocol. Returns 0 for a session that ended well; anything else was
 * logged and the vault left as it was.
 */
int evault_serve(evault_repo *repo, const evault_serve_opts *opts);

typedef struct evault_sync_opts {
	unsigned version;
	const char *ssh;       /* the ssh command (NULL: $EVAULT_SSH, else "ssh") */
	bool dry_run;          /* say what would move, move nothing */
	/* a mission to keep whole here from now on: every object of its files
	 * fetched now and at every later sync (the others: on demand) */
	const char *offline;
	int timeout_s;
	/* clone: this replica's device name (NULL: the host's name) */
	const char *device;
} evault_sync_opts;
#define EVAULT_SYNC_OPTS_VERSION 1

typedef struct evault_sync_result {
	uint64_t events_pulled, events_pushed;
	uint64_t events_replayed; /* recorded here, replayed on the office's new head */
	uint64_t objects_received, objects_sent, objects_missing;
	uint64_t bytes_received, bytes_sent; /* on the wire */
	uint64_t keys;                       /* key copies received */
	size_t missions;                     /* missions held here */
	char head[41];                       /* the office's head after the sync */
	uint64_t seq;
	char refused[512]; /* a push the office refused: its reason ("" none) */
	/* this device (docs/deploy.md, "Devices and erasure") */
	char device[64];
	size_t holds;        /* missions it recorded it holds, this time */
	size_t erased;       /* missions it erased (or would, --dry-run) */
	uint64_t dropped;    /* events recorded here the history refused, erased */
	bool device_revoked; /* it erased everything: the office answers it no more */
	char notes[2048];    /* one line each: what was erased, and why; events dropped */
} evault_sync_result;

/*
 * Makes a replica at path (absent or empty) of the vault at url
 * (ssh://[user@]host[:port]/path) for the user whose identity id is: the
 * history cut to that user's missions, verified; their key copies; their
 * missions' objects. trust_dir: where this identity keeps verified heads.
 */
int evault_clone(const char *url, const char *path, evault_identity *id, const char *trust_dir,
		 const evault_sync_opts *opts, evault_sync_result *res);

/*
 * Starts the connection to the office of a replica (ssh, its handshake,
 * the office's evault starting) while this process does something slow of
 * its own, such as unlocking the identity; the next evault_sync of the
 * same office takes it over. Failures are left for that sync to report.
 */
int evault_sync_start(evault_repo *repo, const evault_sync_opts *opts);

/* Pushes what this replica recorded and pulls what changed at the office. */
int evault_sync(evault_repo *repo, const evault_sync_opts *opts, evault_sync_result *res);

/*
 * On a replica, objects not here are fetched from the office when read
 * (get, the mount), checked against their names and kept. Needs the
 * acting user's unlocked identity (a session is signed); without it, or
 * on a repository that is no replica, nothing changes.
 */
int evault_replica_attach(evault_repo *repo, const evault_sync_opts *opts);

typedef struct evault_replica_status {
	char url[1024];
	char user[64];
	char device[64];
	int64_t last_sync; /* 0: never */
	char office_head[41]; /* as of the last sync */
	uint64_t events_waiting; /* recorded here, not yet at the office */
	uint64_t objects_waiting, bytes_waiting; /* named by those events */
	size_t missions;
} evault_replica_status;

/* EVAULT_EINVAL when repo is not a replica. */
int evault_replica_status_get(evault_repo *repo, evault_replica_status *st);

#endif
