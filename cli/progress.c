/*
 * The progress line of long work, on a terminal only (docs/cli.md,
 * "Progress"): one line on standard error, redrawn at most ten times a
 * second once the command has lasted half a second, erased when the work
 * ends, before an error, and when the command ends. Never in a pipe, a file or a log: when standard
 * error is not a terminal the engine's hook is not even installed.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double command_start;      /* the line waits until the command has lasted 0.5 s */
static double started, last_draw; /* this work's first report (for its rate), last drawing */
static char last_what[64];
static bool drawn;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(char *out, size_t n, double b)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	while (b >= 1024 && u < 4)
		b /= 1024, u++;
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

static int percent(uint64_t done, uint64_t total)
{
	return done >= total ? 100 : (int)((double)done * 100 / (double)total);
}

static void draw(const char *what, uint64_t done, uint64_t total, bool bytes, double t)
{
	char line[200], d[32], e[32], r[48];
	if (bytes) {
		human(d, sizeof(d), (double)done);
		human(e, sizeof(e), (double)total);
		/* the rate once this work has run long enough to have one */
		r[0] = 0;
		if (t - started >= 0.25) {
			char h[32];
			human(h, sizeof(h), (double)done / (t - started));
			snprintf(r, sizeof(r), ", %s/s", h);
		}
		if (total)
			snprintf(line, sizeof(line), "%s: %s of %s, %d%%%s", what, d, e,
				 percent(done, total), r);
		else
			snprintf(line, sizeof(line), "%s: %s%s", what, d, r);
	} else {
		/* "fsck: objects" reads "fsck: 176 objects", or "176 of 500 objects, 35%" */
		const char *unit = strstr(what, ": ");
		int wl = unit ? (int)(unit - what) : (int)strlen(what);
		unit = unit ? unit + 2 : "";
		if (total)
			snprintf(line, sizeof(line), "%.*s: %" PRIu64 " of %" PRIu64 " %s, %d%%",
				 wl, what, done, total, unit, percent(done, total));
		else
			snprintf(line, sizeof(line), "%.*s: %" PRIu64 " %s", wl, what, done, unit);
	}
	/* \r to the line's start, the text, then erase what a longer line left */
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	drawn = true;
}

static void hook(const char *what, uint64_t done, uint64_t total, bool bytes, void *payload)
{
	(void)payload;
	if (!what) {
		cli_progress_clear();
		return;
	}
	pthread_mutex_lock(&mu);
	double t = now_s();
	if (strcmp(what, last_what) != 0) { /* new work: its own clock */
		snprintf(last_what, sizeof(last_what), "%s", what);
		started = t;
		last_draw = 0;
	}
	if (t - command_start >= 0.5 && t - last_draw >= 0.1) {
		draw(what, done, total, bytes, t);
		last_draw = t;
	}
	pthread_mutex_unlock(&mu);
}

void cli_progress_start(void)
{
	const char *term = getenv("TERM");
	if (!isatty(STDERR_FILENO) || (term && strcmp(term, "dumb") == 0))
		return;
	command_start = now_s();
	evault_progress_set(hook, NULL);
}

void cli_progress_clear(void)
{
	pthread_mutex_lock(&mu);
	if (drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		drawn = false;
	}
	last_what[0] = 0;
	pthread_mutex_unlock(&mu);
}
