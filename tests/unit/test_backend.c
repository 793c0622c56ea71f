/* The local object backend: atomic put, dedup, get, list, delete. */
#include "helpers.h"

#include <sys/wait.h>

#include <sodium.h>

#include "backend.h"
#include "chunk.h"

/* A local backend over dir, with its objects/ and tmp/ directories. */
static backend *open_store(const char *dir)
{
	char sub[700];
	backend *b = NULL;
	snprintf(sub, sizeof(sub), "%s/objects", dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/tmp", dir);
	mkdir(sub, 0700);
	assert_int_equal(backend_local_open(&b, dir), 0);
	return b;
}

static int count_cb(const uint8_t id[OBJECT_ID_LEN], void *p)
{
	(*(int *)p)++;
	return 0;
}

static void put_get_list_delete(void **s)
{
	char *dir = make_tmpdir();
	backend *b = NULL;
	evault_buf out = EVAULT_BUF_INIT;
	uint8_t id[32], id2[32];
	b = open_store(dir);
	assert_int_equal(object_hash(id, "hello", 5), 0);
	assert_int_equal(object_hash(id2, "world!", 6), 0);
	assert_int_equal(b->ops->exists(b, id), 0);
	assert_int_equal(b->ops->put(b, id, "hello", 5), 0);
	assert_int_equal(b->ops->put(b, id, "hello", 5), 0); /* dedup: no-op */
	assert_int_equal(b->ops->put(b, id2, "world!", 6), 0);
	assert_int_equal(b->ops->sync(b), 0);
	assert_int_equal(b->ops->exists(b, id), 1);
	assert_int_equal(b->ops->get(b, id, &out, 100), 0);
	assert_int_equal(out.size, 5);
	assert_memory_equal(out.ptr, "hello", 5);
	assert_int_equal(b->ops->get(b, id, &out, 4), EVAULT_ECORRUPT); /* larger than allowed */
	int n = 0;
	assert_int_equal(b->ops->list(b, count_cb, &n), 0);
	assert_int_equal(n, 2);
	/* nothing left behind in tmp/ */
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s/tmp)\"", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(b->ops->del(b, id), 0);
	assert_int_equal(b->ops->get(b, id, &out, 100), EVAULT_ENOTFOUND);
	assert_int_equal(b->ops->del(b, id), 0);
	b->ops->free(b);
	evault_buf_dispose(&out);
	rm_rf(dir);
	free(dir);
}

static void truncated_object_is_rewritten(void **s)
{
	char *dir = make_tmpdir(), hex[65], path[800];
	backend *b = NULL;
	evault_buf out = EVAULT_BUF_INIT;
	uint8_t id[32];
	b = open_store(dir);
	assert_int_equal(object_hash(id, "payload", 7), 0);
	assert_int_equal(b->ops->put(b, id, "payload", 7), 0);
	object_id_hex(hex, id);
	snprintf(path, sizeof(path), "%s/objects/%.2s/%s", dir, hex, hex);
	chmod(path, 0600);
	truncate(path, 3);
	/* a damaged copy under the right name is replaced, not trusted for dedup */
	assert_int_equal(b->ops->put(b, id, "payload", 7), 0);
	assert_int_equal(b->ops->get(b, id, &out, 100), 0);
	assert_int_equal(out.size, 7);
	b->ops->free(b);
	evault_buf_dispose(&out);
	rm_rf(dir);
	free(dir);
}

static void no_temporary_names_on_linux(void **s)
{
	/* On Linux, objects go through O_TMPFILE: tmp/ is never used, so a
	 * crash cannot leave a stale temporary object behind. */
	char *dir = make_tmpdir(), sub[600];
	backend *b = NULL;
	uint8_t id[32];
	snprintf(sub, sizeof(sub), "%s/objects", dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/tmp", dir);
	write_bytes(sub, "not a directory", 15); /* the rename path cannot work, even for root */
	assert_int_equal(backend_local_open(&b, dir), 0);
	assert_int_equal(object_hash(id, "linux", 5), 0);
	assert_int_equal(b->ops->put(b, id, "linux", 5), 0);
	assert_int_equal(b->ops->exists(b, id), 1);
	b->ops->free(b);
	rm_rf(dir);
	free(dir);
}

static int count_dir(const char *path)
{
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "exit $(find %s -type f | wc -l)", path);
	return WEXITSTATUS(system(cmd));
}

static void staged_objects_appear_only_when_published(void **s)
{
	char *dir = make_tmpdir(), sub[600];
	backend *b = NULL;
	backend_staged *st[3] = {NULL, NULL, NULL};
	uint8_t id[3][32];
	const char *data[3] = {"one", "two", "three"};
	b = open_store(dir);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(object_hash(id[i], data[i], strlen(data[i])), 0);
		assert_int_equal(b->ops->stage(b, id[i], (void *)data[i], strlen(data[i]),
					       strlen(data[i]), &st[i]),
				 0);
		assert_non_null(st[i]);
		assert_int_equal(b->ops->exists(b, id[i]), 0); /* no name before publish */
	}
	snprintf(sub, sizeof(sub), "%s", dir);
	assert_int_equal(count_dir(sub), 0); /* nothing named anywhere yet */
	assert_int_equal(b->ops->publish(b, st, 2), 0);
	assert_null(st[0]);
	assert_int_equal(b->ops->exists(b, id[0]), 1);
	assert_int_equal(b->ops->exists(b, id[1]), 1);
	b->ops->discard(b, &st[2], 1);
	assert_null(st[2]);
	assert_int_equal(b->ops->exists(b, id[2]), 0);
	assert_int_equal(count_dir(sub), 2); /* a discarded object leaves no file */
	/* staging what exists is a dedup no-op */
	backend_staged *again = NULL;
	assert_int_equal(b->ops->stage(b, id[0], (void *)data[0], 3, 3, &again), 0);
	assert_null(again);
	b->ops->free(b);
	rm_rf(dir);
	free(dir);
}

static void direct_write_in(const char *base)
{
	char dir[600], sub[700];
	backend *b = NULL;
	backend_staged *st = NULL;
	evault_buf out = EVAULT_BUF_INIT;
	uint8_t id[32], *buf = NULL;
	snprintf(dir, sizeof(dir), "%s/evault-unit-direct-%d", base, (int)getpid());
	mkdir(dir, 0700);
	snprintf(sub, sizeof(sub), "%s/objects", dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/tmp", dir);
	mkdir(sub, 0700);
	assert_int_equal(posix_memalign((void **)&buf, BACKEND_ALIGN, 3 * BACKEND_ALIGN), 0);
	randombytes_buf(buf, 3 * BACKEND_ALIGN);
	uint8_t *copy = malloc(5000);
	memcpy(copy, buf, 5000);
	assert_int_equal(object_hash(id, buf, 5000), 0);
	assert_int_equal(backend_local_open(&b, dir), 0);
	/* 5000 bytes with room for two whole blocks: direct I/O where allowed */
	assert_int_equal(b->ops->stage(b, id, buf, 5000, 2 * BACKEND_ALIGN, &st), 0);
	assert_int_equal(b->ops->publish(b, &st, 1), 0);
	assert_int_equal(b->ops->get(b, id, &out, 1 << 20), 0);
	assert_int_equal(out.size, 5000); /* padding truncated away */
	assert_memory_equal(out.ptr, copy, 5000);
	b->ops->free(b);
	evault_buf_dispose(&out);
	free(buf);
	free(copy);
	rm_rf(dir);
}

static void direct_writes_exact_bytes(void **s)
{
	direct_write_in("/tmp");     /* the disk's filesystem: O_DIRECT */
	direct_write_in("/dev/shm"); /* tmpfs refuses O_DIRECT: buffered fallback */
}

int main(void)
{
	assert_true(sodium_init() >= 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(put_get_list_delete),
	    cmocka_unit_test(truncated_object_is_rewritten),
	    cmocka_unit_test(no_temporary_names_on_linux),
	    cmocka_unit_test(staged_objects_appear_only_when_published),
	    cmocka_unit_test(direct_writes_exact_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
