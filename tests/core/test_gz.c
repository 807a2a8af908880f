/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "core/fdio.h"
#include "core/gz.h"

static char tmpdir[64];

static void setup(void)
{
	strcpy(tmpdir, "/tmp/tp-gz-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(gz, .init = setup, .fini = teardown, .timeout = 120);

static char *tmp_path(const char *name)
{
	char *p;
	cr_assert_geq(asprintf(&p, "%s/%s", tmpdir, name), 0);
	return p;
}

static unsigned char *random_bytes(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n ? n : 1);
	cr_assert_not_null(p);
	uint64_t x = 0x9e3779b97f4a7c15ull * (seed + 1);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(tp_fd_write_all(fd, data, len), 0);
	close(fd);
}

static unsigned char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s", path);
	char *buf;
	cr_assert_eq(tp_fd_read_all(fd, 1u << 30, &buf, len), 0);
	close(fd);
	return (unsigned char *)buf;
}

/* Write @data with the gzip writer in uneven pieces. */
static void gz_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	struct tp_gzwriter *w;
	struct tp_error *err = tp_gzwriter_create(fd, 0, &w);
	cr_assert_null(err, "%s", tp_error_message(err));
	const unsigned char *p = data;
	size_t off = 0, piece = 1;
	while (off < len) {
		size_t n = piece < len - off ? piece : len - off;
		err = tp_gzwriter_write(w, p + off, n);
		cr_assert_null(err, "%s", tp_error_message(err));
		off += n;
		piece = piece * 7 + 3;
		if (piece > 300000)
			piece = 5;
	}
	err = tp_gzwriter_finish(w);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_eq(tp_gzwriter_in_bytes(w), len);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(tp_gzwriter_out_bytes(w), (uint64_t)st.st_size);
	tp_gzwriter_destroy(w);
	close(fd);
}

static struct tp_error *inflate_file(const char *path, uint64_t max,
				     void **out, size_t *out_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	struct tp_error *err = tp_gz_inflate_fd(fd, max, out, out_len);
	close(fd);
	return err;
}

static unsigned le16(const unsigned char *p)
{
	return p[0] | (unsigned)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Walk the file member by member with the BC sizes alone, as a BGZF
 * reader hops between blocks. */
static void check_bgzf_layout(const char *path, size_t data_len)
{
	size_t len;
	unsigned char *gz = read_file(path, &len);
	size_t off = 0, members = 0, total = 0;
	while (off < len) {
		cr_assert_leq(off + 18, len);
		cr_assert_eq(gz[off], 0x1f);
		cr_assert_eq(gz[off + 1], 0x8b);
		cr_assert_eq(gz[off + 3] & 4, 4, "FEXTRA set");
		cr_assert_eq(le16(gz + off + 10), 6);
		cr_assert_eq(gz[off + 12], 'B');
		cr_assert_eq(gz[off + 13], 'C');
		cr_assert_eq(le16(gz + off + 14), 2);
		size_t bsize = le16(gz + off + 16) + 1;
		cr_assert_leq(off + bsize, len);
		uint32_t isize = le32(gz + off + bsize - 4);
		cr_assert_leq(isize, TP_GZ_BLOCK_SIZE);
		total += isize;
		members++;
		off += bsize;
		if (off == len)
			cr_assert_eq(isize, 0, "last member is the EOF marker");
		else
			cr_assert_gt(isize, 0);
	}
	cr_assert_eq(off, len);
	cr_assert_eq(total, data_len);
	cr_assert_eq(members, (data_len + TP_GZ_BLOCK_SIZE - 1) /
				      TP_GZ_BLOCK_SIZE + 1);
	free(gz);
}

static bool have_gzip(void)
{
	return system("gzip --version >/dev/null 2>&1") == 0;
}

__attribute__((format(printf, 1, 2)))
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void round_trip(size_t n, bool zero)
{
	unsigned char *data = zero ? calloc(1, n ? n : 1)
				   : random_bytes(n, (unsigned)n);
	cr_assert_not_null(data);
	char *raw = tmp_path("data"), *gzp = tmp_path("data.gz");
	gz_write_file(gzp, data, n);
	check_bgzf_layout(gzp, n);

	void *out;
	size_t out_len;
	struct tp_error *err = inflate_file(gzp, UINT64_MAX, &out, &out_len);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_eq(out_len, n);
	cr_assert_eq(memcmp(out, data, n), 0);
	free(out);

	/* The real gzip accepts it and gives back the same bytes. */
	if (have_gzip()) {
		write_file(raw, data, n);
		cr_assert_eq(run("gzip -t '%s'", gzp), 0, "gzip -t");
		cr_assert_eq(run("zcat '%s' | cmp -s - '%s'", gzp, raw), 0,
			     "zcat | cmp");
	}
	free(raw);
	free(gzp);
	free(data);
}

Test(gz, round_trip_random_sizes)
{
	static const size_t sizes[] = { 0, 1, 65280, 65281, 10u << 20 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		round_trip(sizes[i], false);
	if (!have_gzip())
		cr_skip_test("gzip(1) not found: only the in-process round trip was checked");
}

Test(gz, round_trip_zero_sizes)
{
	static const size_t sizes[] = { 0, 1, 65280, 65281, 10u << 20 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		round_trip(sizes[i], true);
	if (!have_gzip())
		cr_skip_test("gzip(1) not found: only the in-process round trip was checked");
}

Test(gz, reads_real_gzip_output)
{
	if (!have_gzip())
		cr_skip_test("gzip(1) not found");
	/* Half compressible text, half random: a single gzip(1) member with
	 * the original file name in its header. */
	size_t n = 3u << 20;
	unsigned char *data = random_bytes(n, 7);
	for (size_t i = 0; i < n / 2; i++)
		data[i] = "tripod snapshot\n"[i % 16];
	char *raw = tmp_path("plain"), *gzp = tmp_path("plain.gz");
	char *cat = tmp_path("cat.gz");
	write_file(raw, data, n);
	cr_assert_eq(run("gzip -6 -c '%s' > '%s'", raw, gzp), 0);

	void *out;
	size_t out_len;
	struct tp_error *err = inflate_file(gzp, UINT64_MAX, &out, &out_len);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_eq(out_len, n);
	cr_assert_eq(memcmp(out, data, n), 0);
	free(out);

	/* Two gzip(1) members back to back: one stream, both contents. */
	cr_assert_eq(run("cat '%s' '%s' > '%s'", gzp, gzp, cat), 0);
	err = inflate_file(cat, UINT64_MAX, &out, &out_len);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_eq(out_len, 2 * n);
	cr_assert_eq(memcmp(out, data, n), 0);
	cr_assert_eq(memcmp((char *)out + n, data, n), 0);
	free(out);
	free(raw);
	free(gzp);
	free(cat);
	free(data);
}

/* Expect a TP_ERR_FORMAT whose message contains @what. */
static void expect_format(const char *path, uint64_t max, const char *what)
{
	void *out = NULL;
	size_t out_len;
	struct tp_error *err = inflate_file(path, max, &out, &out_len);
	cr_assert_not_null(err, "accepted, expected \"%s\"", what);
	cr_assert_eq(err->code, TP_ERR_FORMAT, "%s", tp_error_message(err));
	cr_assert_not_null(strstr(tp_error_message(err), what),
			   "\"%s\" does not say \"%s\"", tp_error_message(err),
			   what);
	tp_error_destroy(err);
}

Test(gz, truncated_streams)
{
	size_t n = 200000;
	unsigned char *data = random_bytes(n, 3);
	char *gzp = tmp_path("t.gz"), *cut = tmp_path("cut.gz");
	gz_write_file(gzp, data, n);
	size_t len;
	unsigned char *gz = read_file(gzp, &len);
	size_t first = le16(gz + 16) + 1;   /* end of the first member */

	/* Inside a member (header, data, trailer). */
	static const size_t cuts[] = { 1, 2, 10, 17, 18, 100, 40000 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		write_file(cut, gz, cuts[i]);
		expect_format(cut, UINT64_MAX,
			      cuts[i] < 2 ? "not a gzip stream" : "truncated");
	}
	write_file(cut, gz, first - 3);
	expect_format(cut, UINT64_MAX, "truncated");
	/* Inside the end-of-stream member. */
	write_file(cut, gz, len - 5);
	expect_format(cut, UINT64_MAX, "truncated");
	/* Exactly between members: only the missing BGZF marker shows it. */
	write_file(cut, gz, first);
	expect_format(cut, UINT64_MAX, "end-of-stream marker missing");
	write_file(cut, gz, len - 28);
	expect_format(cut, UINT64_MAX, "end-of-stream marker missing");
	/* Empty file. */
	write_file(cut, gz, 0);
	expect_format(cut, UINT64_MAX, "empty");

	free(gz);
	free(gzp);
	free(cut);
	free(data);
}

Test(gz, corrupt_streams)
{
	size_t n = 200000;
	unsigned char *data = random_bytes(n, 4);
	for (size_t i = 0; i < n; i += 3)
		data[i] = 'a';      /* compressible: real deflate blocks */
	char *gzp = tmp_path("c.gz"), *bad = tmp_path("bad.gz");
	gz_write_file(gzp, data, n);
	size_t len;
	unsigned char *gz = read_file(gzp, &len);
	size_t first = le16(gz + 16) + 1;

	/* A flipped bit in the CRC-32 of member 1. */
	gz[first - 8] ^= 0x01;
	write_file(bad, gz, len);
	expect_format(bad, UINT64_MAX, "CRC-32 mismatch");
	gz[first - 8] ^= 0x01;

	/* A flipped bit in ISIZE. */
	gz[first - 2] ^= 0x10;
	write_file(bad, gz, len);
	expect_format(bad, UINT64_MAX, "member 1");
	gz[first - 2] ^= 0x10;

	/* Flipped bits in the compressed data of member 2. */
	for (size_t k = 0; k < 8; k++) {
		size_t at = first + 40 + k * 997;
		gz[at] ^= (unsigned char)(1u << k);
		write_file(bad, gz, len);
		expect_format(bad, UINT64_MAX, "member 2");
		gz[at] ^= (unsigned char)(1u << k);
	}

	/* Bad magic, and trailing garbage. */
	write_file(bad, "hello, world", 12);
	expect_format(bad, UINT64_MAX, "not a gzip stream");
	unsigned char *more = malloc(len + 4);
	memcpy(more, gz, len);
	memcpy(more + len, "junk", 4);
	write_file(bad, more, len + 4);
	expect_format(bad, UINT64_MAX, "trailing garbage");
	more[len] = 0x1f;       /* a lone half magic is garbage too */
	write_file(bad, more, len + 1);
	expect_format(bad, UINT64_MAX, "trailing garbage");
	free(more);

	/* Intact again. */
	write_file(bad, gz, len);
	void *out;
	size_t out_len;
	struct tp_error *err = inflate_file(bad, UINT64_MAX, &out, &out_len);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_eq(out_len, n);
	free(out);
	free(gz);
	free(gzp);
	free(bad);
	free(data);
}

Test(gz, max_len)
{
	size_t n = 3u << 20;
	unsigned char *data = calloc(1, n);
	char *gzp = tmp_path("m.gz");
	gz_write_file(gzp, data, n);
	void *out;
	size_t out_len;
	struct tp_error *err = inflate_file(gzp, n, &out, &out_len);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_eq(out_len, n);
	free(out);
	expect_format(gzp, n - 1, "more than");
	expect_format(gzp, 1000, "more than");
	expect_format(gzp, 0, "more than");
	free(gzp);
	free(data);
}

Test(gz, enospc_is_an_error)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		cr_skip_test("/dev/full: %s", strerror(errno));
	struct tp_gzwriter *w;
	cr_assert_null(tp_gzwriter_create(fd, 6, &w));
	unsigned char *data = random_bytes(100000, 9);
	/* The first full block is written inside this call. */
	struct tp_error *err = tp_gzwriter_write(w, data, 100000);
	cr_assert_not_null(err);
	cr_assert_eq(err->code, TP_ERR_OS);
	cr_assert_eq(err->errnum, ENOSPC, "%s", tp_error_message(err));
	tp_error_destroy(err);
	/* The writer stays dead. */
	err = tp_gzwriter_write(w, data, 10);
	cr_assert_not_null(err);
	tp_error_destroy(err);
	err = tp_gzwriter_finish(w);
	cr_assert_not_null(err);
	tp_error_destroy(err);
	tp_gzwriter_destroy(w);

	/* Small data: the error comes from finish(). */
	cr_assert_null(tp_gzwriter_create(fd, 1, &w));
	cr_assert_null(tp_gzwriter_write(w, data, 10));
	err = tp_gzwriter_finish(w);
	cr_assert_not_null(err);
	cr_assert_eq(err->errnum, ENOSPC);
	tp_error_destroy(err);
	tp_gzwriter_destroy(w);
	close(fd);
	free(data);
}

Test(gz, misc)
{
	struct tp_gzwriter *w;
	struct tp_error *err = tp_gzwriter_create(1, 10, &w);
	cr_assert_not_null(err);
	cr_assert_eq(err->code, TP_ERR_INVALID);
	tp_error_destroy(err);
	err = tp_gzwriter_create(1, -1, &w);
	cr_assert_not_null(err);
	tp_error_destroy(err);
	tp_gzwriter_destroy(NULL);

	cr_assert(tp_gz_is_gzip("\x1f\x8b\x08", 3));
	cr_assert(!tp_gz_is_gzip("\x1f", 1));
	cr_assert(!tp_gz_is_gzip("\x7f" "ELF", 4));
}
