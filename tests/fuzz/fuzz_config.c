/*
 * config_parse (evault.conf, and the VAULT record of the root commit):
 * bad text is an error; settings that parse are written by config_format
 * as a text that parses to the same settings.
 */
#include <string.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	config c, again;
	evault_buf text = EVAULT_BUF_INIT, text2 = EVAULT_BUF_INIT;
	if (config_parse(&c, (const char *)data, size) < 0)
		return 0;
	if (config_format(&text, &c) < 0)
		fuzz_fail("config: parsed but does not format");
	if (config_parse(&again, text.ptr, text.size) < 0)
		fuzz_fail("config: its own text does not parse");
	if (config_format(&text2, &again) < 0 || text.size != text2.size ||
	    memcmp(text.ptr, text2.ptr, text.size) != 0 ||
	    memcmp(c.vault_id, again.vault_id, sizeof(c.vault_id)) != 0)
		fuzz_fail("config: settings change through their own text");
	evault_buf_dispose(&text);
	evault_buf_dispose(&text2);
	return 0;
}
