/*
 * packscan_fd (the pack of a bundle, scanned as hostile input before
 * libgit2 indexes it). The input is the pack; the limits are the engine's
 * shape at a smaller scale, so that a bomb is refused quickly. A pack that
 * passes kept within every limit; anything else is EVAULT_ECORRUPT.
 */
#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"
#include "packscan.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	packscan_limits lim = {1u << 20, (4u << 20) + 256 * (uint64_t)size, 50};
	packscan_stats st;
	int fd = open(fuzz_scratch_file(data, size), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fuzz_fail("cannot open the scratch file");
	int rc = packscan_fd(fd, &lim, &st);
	close(fd);
	if (rc < 0) {
		if (rc != EVAULT_ECORRUPT && rc != EVAULT_ERROR)
			fuzz_fail("packscan: a bad pack is not ECORRUPT");
		return 0;
	}
	if (st.pack_len != size || st.expanded > lim.max_total || st.depth > lim.max_depth ||
	    st.deltas > st.objects || st.ref_deltas > st.deltas)
		fuzz_fail("packscan: a pack passed outside its limits");
	return 0;
}
