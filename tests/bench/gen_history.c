/*
 * Test and benchmark fixture: appends many valid events to a repository
 * quickly. It creates MISSIONS missions, then EVENTS file.add events spread
 * over them and their classes, each a real encrypted manifest (of an empty
 * file) signed by the admin, exactly as evault put records them. Git's
 * fsync is turned off: this builds fixtures, it is not how evault writes.
 *
 * usage: evault-gen-history REPO IDENTITY PASSFILE EVENTS [MISSIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "chunk.h"
#include "evault.h"
#include "fixture.h"
#include "layout.h"
#include "manifest.h"
#include "mission.h"
#include "repo.h"
#include "state.h"
#include "util.h"

static int die(const char *what)
{
	return fixture_die("evault-gen-history", what);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr,
			"usage: evault-gen-history REPO IDENTITY PASSFILE EVENTS [MISSIONS]\n");
		return 2;
	}
	long events = atol(argv[4]), nmissions = argc > 5 ? atol(argv[5]) : 100;
	evault_repo *repo = NULL;
	evault_identity *id = NULL;
	if (fixture_start("evault-gen-history", argv, &repo, &id) != 0)
		return 1;
	state_fixture_unsynced();
	char mid[32];
	for (long m = 0; m < nmissions; m++) {
		snprintf(mid, sizeof(mid), "M-GEN-%04ld", m);
		int rc = evault_mission_create(repo, mid, NULL, NULL, 0);
		if (rc < 0 && rc != EVAULT_EEXISTS)
			return die("mission create");
	}
	class_keys *keys[1000][3] = {{NULL}};
	if (nmissions > 1000)
		nmissions = 1000;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < events; i++) {
		long m = i % nmissions;
		evault_class cls = (evault_class)((i / nmissions) % 3);
		snprintf(mid, sizeof(mid), "M-GEN-%04ld", m);
		state *st = NULL;
		mission_rec mr;
		if (state_begin(&st, repo, true) < 0 || mission_load(st, mid, &mr) < 0)
			return die("state");
		if (!keys[m][cls] && mission_class_keys(repo, &mr, cls, &keys[m][cls]) < 0)
			return die("keys");
		mission_rec_clear(&mr);
		char path[64], fid[33], sum[128], tr[256];
		uint8_t rnd[16];
		randombytes_buf(rnd, sizeof(rnd));
		hex_encode(fid, rnd, sizeof(rnd));
		snprintf(path, sizeof(path), "generated/file-%ld.txt", i);
		manifest mf = {.type = MANIFEST_TYPE_FILE,
			       .path = path,
			       .mode = 0644,
			       .mtime = (int64_t)time(NULL),
			       .added = (int64_t)time(NULL),
			       .chunk_size = evault_repo_chunk_size(repo)};
		evault_buf plain = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT;
		if (manifest_encode(&plain, &mf) < 0 ||
		    blob_seal(&enc, keys[m][cls], OBJ_KIND_MANIFEST, fid, plain.ptr, plain.size) <
			0)
			return die("manifest");
		evault_buf p = EVAULT_BUF_INIT;
		if (layout_file_path(&p, mid, cls, fid, ".enc") < 0 ||
		    state_put(st, p.ptr, enc.ptr, enc.size) < 0 ||
		    layout_file_path(&p, mid, cls, fid, ".objs") < 0 ||
		    state_put(st, p.ptr, "", 0) < 0)
			return die("put");
		evault_buf_dispose(&p);
		snprintf(sum, sizeof(sum), "Add file in %s/%s", mid, evault_class_name(cls));
		snprintf(tr, sizeof(tr), "Evault-Class: %s\nEvault-File: %s\nEvault-Objects: 0\n",
			 evault_class_name(cls), fid);
		state_event ev = {NULL, "file.add", mid, sum, tr};
		if (state_commit(st, &ev) < 0)
			return die("commit");
		state_end(st);
		evault_buf_dispose(&plain);
		evault_buf_dispose(&enc);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	fprintf(stderr, "generated %ld events in %.1f s\n", events, s);
	for (long m = 0; m < nmissions; m++)
		for (int c = 0; c < 3; c++)
			class_keys_free(keys[m][c]);
	evault_repo_free(repo);
	evault_identity_free(id);
	return 0;
}
