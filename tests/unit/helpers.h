/* Shared helpers for the unit tests: temporary directories and files. */
#ifndef EVAULT_TEST_HELPERS_H
#define EVAULT_TEST_HELPERS_H

#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	chmod(path, 0700);
	return remove(path);
}

static inline void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *make_tmpdir(void)
{
	char *t = strdup("/tmp/evault-unit-XXXXXX");
	assert_non_null(mkdtemp(t));
	return t;
}

static inline void write_bytes(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Flips one bit of a file at offset (negative: from the end). */
static inline void flip_bit(const char *path, long offset)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	struct stat st;
	fstat(fd, &st);
	off_t at = offset >= 0 ? offset : st.st_size + offset;
	unsigned char b;
	chmod(path, 0600);
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0x01;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);
}

#endif
