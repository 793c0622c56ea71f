/*
 * layout_parse_objs (a file's .objs list in the state: 64 hex digits and a
 * newline per object), into the object set that gc and verify use. A bad
 * list is EVAULT_ECORRUPT; a good one gives one id per line, in order, and
 * every id it gave is then in the set.
 */
#include <string.h>

#include "fuzz.h"
#include "layout.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

typedef struct check {
	const char *text;
	size_t line;
	objset set;
} check;

static int each(const uint8_t id[32], void *p)
{
	check *c = p;
	uint8_t want[32];
	if (hex_decode(want, sizeof(want), c->text + c->line * 65, 64) < 0 ||
	    memcmp(want, id, 32) != 0)
		fuzz_fail("objs: an id that is not its line");
	c->line++;
	return objset_add(id, &c->set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check c = {(const char *)data, 0, {NULL, 0, 0}};
	int rc = layout_parse_objs((const char *)data, size, each, &c);
	if (rc < 0 && rc != EVAULT_ECORRUPT && rc != EVAULT_ERROR)
		fuzz_fail("objs: an unexpected error code");
	if (rc == 0) {
		if (c.line != size / 65)
			fuzz_fail("objs: not one id per line");
		objset_finish(&c.set);
		for (size_t i = 0; i < c.line; i++) {
			uint8_t id[32];
			if (hex_decode(id, sizeof(id), c.text + i * 65, 64) < 0 ||
			    !objset_has(&c.set, id))
				fuzz_fail("objs: a listed id is not in the set");
		}
	}
	objset_clear(&c.set);
	return 0;
}
