/* SPDX-License-Identifier: MIT */
/*
 * Damaged input for the core reader: random bytes, an ELF that is not a
 * core, cores cut in the notes or in a segment, corrupt note sizes, and a
 * few thousand random byte flips in the headers and notes.  The reader must
 * answer with a clear error or a degraded but safe core, never crash or
 * read out of bounds (this program runs under ASan in CI).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/coreread.h"
#include "core/corewrite.h"
#include "core/fdio.h"
#include "core/gz.h"
#include "selfcore.h"

static struct selfcore sc;
static char *dir;
static unsigned char *good;     /* a valid plain core of this process */
static size_t good_len;

static void setup(void)
{
	selfcore_init(&sc);
	dir = selfcore_tmpdir();
	char *path = selfcore_path(dir, "good.core");
	selfcore_write_plain(&sc.desc, path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	char *buf;
	cr_assert_eq(tp_fd_read_all(fd, 1u << 30, &buf, &good_len), 0);
	close(fd);
	good = (unsigned char *)buf;
	free(path);
}

static void teardown(void)
{
	free(good);
	selfcore_rmdir(dir);
	selfcore_deinit(&sc);
}

TestSuite(corrupt, .init = setup, .fini = teardown, .timeout = 300);

static char *write_tmp(const char *name, const void *data, size_t len)
{
	char *path = selfcore_path(dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(tp_fd_write_all(fd, data, len), 0);
	close(fd);
	return path;
}

static char *write_tmp_gz(const char *name, const void *data, size_t len)
{
	char *path = selfcore_path(dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	struct tp_gzwriter *w;
	cr_assert_null(tp_gzwriter_create(fd, 1, &w));
	cr_assert_null(tp_gzwriter_write(w, data, len));
	cr_assert_null(tp_gzwriter_finish(w));
	tp_gzwriter_destroy(w);
	close(fd);
	return path;
}

static void expect_error(const char *path, enum tp_error_code code,
			 const char *what)
{
	struct tp_core *core = (void *)1;
	struct tp_error *err = tp_core_open(path, &core);
	cr_assert_not_null(err, "%s opened, expected \"%s\"", path, what);
	cr_assert_eq(err->code, code, "%s", tp_error_message(err));
	cr_assert_not_null(strstr(tp_error_message(err), what),
			   "\"%s\" does not say \"%s\"", tp_error_message(err),
			   what);
	tp_error_destroy(err);
}

static void expect_bytes_error(const void *data, size_t len, const char *what)
{
	char *path = write_tmp("bad.core", data, len);
	expect_error(path, TP_ERR_FORMAT, what);
	free(path);
}

static Elf64_Ehdr good_ehdr(void)
{
	Elf64_Ehdr eh;
	memcpy(&eh, good, sizeof(eh));
	return eh;
}

static Elf64_Phdr good_phdr(size_t i)
{
	Elf64_Phdr ph;
	memcpy(&ph, good + good_ehdr().e_phoff + i * sizeof(ph), sizeof(ph));
	return ph;
}

Test(corrupt, not_a_core)
{
	unsigned char rnd[65536];
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		rnd[i] = (unsigned char)x;
	}
	rnd[0] = 'x';
	expect_bytes_error(rnd, sizeof(rnd), "not an ELF file");
	/* Random bytes behind a gzip magic: a gzip error. */
	rnd[0] = 0x1f;
	rnd[1] = 0x8b;
	expect_bytes_error(rnd, sizeof(rnd), "gzip");
	/* Gzip'd random bytes: inflates fine, then not an ELF file. */
	rnd[0] = 'x';
	char *path = write_tmp_gz("rnd.gz", rnd, sizeof(rnd));
	expect_error(path, TP_ERR_FORMAT, "not an ELF file");
	free(path);

	expect_bytes_error("", 0, "empty file");
	expect_bytes_error("\x7f" "EL", 3, "not an ELF file");
	expect_error("/nonexistent/tripod.core", TP_ERR_OS, "/nonexistent");

	/* Our own executable is an ELF file but not a core. */
	expect_error(sc.exe, TP_ERR_FORMAT, "not a core");
}

Test(corrupt, wrong_elf_kind)
{
	unsigned char *img = malloc(good_len);
	memcpy(img, good, good_len);

	img[EI_CLASS] = ELFCLASS32;
	expect_bytes_error(img, good_len, "64-bit");
	img[EI_CLASS] = ELFCLASS64;
	img[EI_DATA] = ELFDATA2MSB;
	expect_bytes_error(img, good_len, "little-endian");
	img[EI_DATA] = ELFDATA2LSB;

	Elf64_Ehdr eh = good_ehdr();
	eh.e_machine = EM_AARCH64;
	memcpy(img, &eh, sizeof(eh));
	expect_bytes_error(img, good_len, "only x86-64");

	eh = good_ehdr();
	eh.e_phoff = good_len - 10;
	memcpy(img, &eh, sizeof(eh));
	expect_bytes_error(img, good_len, "program headers");

	eh = good_ehdr();
	eh.e_phnum = 0;
	memcpy(img, &eh, sizeof(eh));
	expect_bytes_error(img, good_len, "no program headers");

	eh = good_ehdr();
	eh.e_phentsize = 32;
	memcpy(img, &eh, sizeof(eh));
	expect_bytes_error(img, good_len, "e_phentsize");

	/* Cut inside the ELF header and inside the program headers. */
	expect_bytes_error(good, 40, "ELF header truncated");
	expect_bytes_error(good, sizeof(Elf64_Ehdr) + 100, "program headers");
	free(img);
}

Test(corrupt, truncated_in_notes)
{
	Elf64_Phdr note = good_phdr(0);
	cr_assert_eq(note.p_type, PT_NOTE);
	size_t cuts[] = { note.p_offset, note.p_offset + 13,
			  note.p_offset + note.p_filesz / 2,
			  note.p_offset + note.p_filesz - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		expect_bytes_error(good, cuts[i], "notes truncated");
		char *path = write_tmp_gz("cut.gz", good, cuts[i]);
		expect_error(path, TP_ERR_FORMAT, "notes truncated");
		free(path);
	}
}

/* Note sizes that point past the PT_NOTE segment. */
Test(corrupt, bad_note_sizes)
{
	Elf64_Phdr note = good_phdr(0);
	unsigned char *img = malloc(good_len);
	Elf64_Nhdr nh;

	/* Note 1's descsz, huge. */
	memcpy(img, good, good_len);
	memcpy(&nh, img + note.p_offset, sizeof(nh));
	nh.n_descsz = 0xfffffff0u;
	memcpy(img + note.p_offset, &nh, sizeof(nh));
	expect_bytes_error(img, good_len, "note 1 truncated");

	/* Note 2's namesz, huge (note 1 is NT_PRSTATUS: 12 + 8 + 336). */
	memcpy(img, good, good_len);
	size_t at = note.p_offset + sizeof(nh) + 8 + sizeof(struct elf_prstatus);
	memcpy(&nh, img + at, sizeof(nh));
	cr_assert_eq(nh.n_type, NT_FPREGSET);
	nh.n_namesz = 0x7fffffffu;
	memcpy(img + at, &nh, sizeof(nh));
	expect_bytes_error(img, good_len, "note 2 truncated");

	/* A PT_NOTE that ends inside a note header. */
	memcpy(img, good, good_len);
	Elf64_Phdr ph = note;
	ph.p_filesz = sizeof(nh) + 8 + sizeof(struct elf_prstatus) + 7;
	memcpy(img + good_ehdr().e_phoff, &ph, sizeof(ph));
	expect_bytes_error(img, good_len, "note 2 truncated");

	/* A PT_NOTE beyond the end of the file. */
	memcpy(img, good, good_len);
	ph = note;
	ph.p_offset = good_len - 4;
	memcpy(img + good_ehdr().e_phoff, &ph, sizeof(ph));
	expect_bytes_error(img, good_len, "notes truncated");
	ph.p_offset = UINT64_MAX - 2;
	memcpy(img + good_ehdr().e_phoff, &ph, sizeof(ph));
	expect_bytes_error(img, good_len, "notes truncated");

	/* A short NT_PRSTATUS. */
	memcpy(img, good, good_len);
	memcpy(&nh, img + note.p_offset, sizeof(nh));
	nh.n_descsz = 100;
	memcpy(img + note.p_offset, &nh, sizeof(nh));
	expect_bytes_error(img, good_len, "NT_PRSTATUS");
	free(img);
}

/* Find a note by name and type in the good core; its descriptor offset. */
static size_t find_note(const char *name, uint32_t type, uint32_t *descsz)
{
	Elf64_Phdr note = good_phdr(0);
	size_t pos = note.p_offset, end = note.p_offset + note.p_filesz;
	while (pos + sizeof(Elf64_Nhdr) <= end) {
		Elf64_Nhdr nh;
		memcpy(&nh, good + pos, sizeof(nh));
		size_t name_al = (nh.n_namesz + 3u) & ~3u;
		size_t desc = pos + sizeof(nh) + name_al;
		if (nh.n_type == type && nh.n_namesz == strlen(name) + 1 &&
		    memcmp(good + pos + sizeof(nh), name, nh.n_namesz) == 0) {
			*descsz = nh.n_descsz;
			return desc;
		}
		pos = desc + ((nh.n_descsz + 3u) & ~3u);
	}
	cr_assert_fail("note %s/%u not found", name, type);
	return 0;
}

Test(corrupt, bad_note_contents)
{
	unsigned char *img = malloc(good_len);
	uint32_t descsz;

	/* NT_FILE claiming more entries than it holds. */
	size_t file = find_note("CORE", NT_FILE, &descsz);
	memcpy(img, good, good_len);
	uint64_t huge = 1ull << 60;
	memcpy(img + file, &huge, sizeof(huge));
	expect_bytes_error(img, good_len, "NT_FILE claims");
	/* NT_FILE with its last path's NUL overwritten. */
	memcpy(img, good, good_len);
	img[file + descsz - 1] = 'x';
	expect_bytes_error(img, good_len, "not terminated");
	/* NT_FILE page size 0. */
	memcpy(img, good, good_len);
	memset(img + file + 8, 0, 8);
	expect_bytes_error(img, good_len, "page size");

	/* Tripod note: an entry without '=', and no final NUL. */
	size_t kv = find_note(TP_NOTE_NAME, TP_NOTE_TYPE, &descsz);
	memcpy(img, good, good_len);
	unsigned char *eq = memchr(img + kv, '=', descsz);
	cr_assert_not_null(eq);
	*eq = '_';
	expect_bytes_error(img, good_len, "not key=value");
	memcpy(img, good, good_len);
	img[kv + descsz - 1] = 'x';
	expect_bytes_error(img, good_len, "not NUL-terminated");
	free(img);
}

/* Cut in the middle of a segment: the core opens, says it is truncated,
 * and reads fault exactly where the bytes are missing. */
Test(corrupt, truncated_in_segment)
{
	uint64_t anon = (uint64_t)(uintptr_t)sc.anon;
	uint64_t page = sc.page;
	size_t idx = 0;
	for (size_t i = 0; i < sc.nsegs; i++)
		if (sc.segs[i].vaddr == anon)
			idx = i;
	Elf64_Phdr ph = good_phdr(1 + idx);
	cr_assert_eq(ph.p_vaddr, anon);
	cr_assert_eq(ph.p_filesz, 2 * page);
	size_t cut = ph.p_offset + page + page / 2;

	for (int gz = 0; gz < 2; gz++) {
		char *path = gz ? write_tmp_gz("seg.core.gz", good, cut)
				: write_tmp("seg.core", good, cut);
		struct tp_core *core;
		struct tp_error *err = tp_core_open(path, &core);
		cr_assert_null(err, "%s", tp_error_message(err));
		cr_assert(tp_core_is_truncated(core));
		cr_assert_not_null(tp_core_warning(core));
		cr_assert_not_null(strstr(tp_core_warning(core), "truncated"),
				   "%s", tp_core_warning(core));
		/* Notes are intact. */
		cr_assert_eq(tp_core_nthreads(core), SELFCORE_NTHREADS);
		cr_assert_str_eq(tp_core_note_get(core, "interval"), "5");

		const struct tp_core_segment_info *s = NULL;
		for (size_t i = 0; i < tp_core_nsegments(core); i++)
			if (tp_core_segment(core, i)->vaddr == anon)
				s = tp_core_segment(core, i);
		cr_assert_not_null(s);
		cr_assert_eq(s->avail, page + page / 2);
		cr_assert_eq(s->filesz, 2 * page);

		struct tp_memsrc *src = tp_core_memsrc(core);
		unsigned char buf[4096];
		cr_assert_null(tp_memsrc_read(src, anon + page, buf, page / 2));
		cr_assert_eq(memcmp(buf, sc.anon + page, page / 2), 0);
		err = tp_memsrc_read(src, anon + page + page / 2 - 4, buf, 8);
		cr_assert_not_null(err);
		cr_assert_eq(err->code, TP_ERR_FAULT);
		cr_assert_eq(err->address, anon + page + page / 2 - 4);
		cr_assert_not_null(strstr(tp_error_message(err), "truncated"),
				   "%s", tp_error_message(err));
		tp_error_destroy(err);
		/* Later segments are gone entirely, code still comes from
		 * the executable on disk. */
		err = tp_memsrc_read(src, anon + 2 * page, buf, 8);
		cr_assert_not_null(err);
		tp_error_destroy(err);
		cr_assert_null(tp_memsrc_read(
			src, (uint64_t)(uintptr_t)&selfcore_init, buf, 16));

		/* libdwfl copes with it too. */
		static const Dwfl_Callbacks cb = {
			.find_elf = dwfl_build_id_find_elf,
			.find_debuginfo = dwfl_standard_find_debuginfo,
		};
		Dwfl *dwfl = dwfl_begin(&cb);
		Elf *elf = tp_core_elf(core);
		cr_assert_not_null(elf);
		dwfl_report_begin(dwfl);
		dwfl_core_file_report(dwfl, elf, NULL);
		dwfl_report_end(dwfl, NULL, NULL);
		dwfl_end(dwfl);
		tp_core_destroy(core);
		free(path);
	}
}

/* Open, use everything, close: whatever the bytes, no crash. */
static void exercise(const char *path)
{
	struct tp_core *core;
	struct tp_error *err = tp_core_open(path, &core);
	if (err) {
		cr_assert(err->code == TP_ERR_FORMAT || err->code == TP_ERR_NOMEM,
			  "%s", tp_error_message(err));
		cr_assert_neq(strlen(tp_error_message(err)), 0);
		tp_error_destroy(err);
		return;
	}
	unsigned char buf[256];
	struct tp_memsrc *src = tp_core_memsrc(core);
	for (size_t i = 0; i < tp_core_nsegments(core); i++) {
		const struct tp_core_segment_info *s = tp_core_segment(core, i);
		uint64_t at[] = { s->vaddr, s->vaddr + s->memsz - 1,
				  s->vaddr + s->filesz - 8 };
		for (size_t k = 0; k < 3; k++)
			tp_error_destroy(tp_memsrc_read(src, at[k], buf,
							sizeof(buf)));
	}
	for (size_t i = 0; i < tp_core_nfiles(core); i++)
		tp_error_destroy(tp_memsrc_read(
			src, tp_core_file(core, i)->start, buf, 16));
	for (size_t i = 0; i < tp_core_nthreads(core); i++)
		(void)tp_core_thread(core, i)->regs[0];
	size_t n;
	const unsigned char *auxv = tp_core_auxv(core, &n);
	for (size_t i = 0; i < n; i++)
		(void)auxv[i];
	const char **all;
	if (!tp_core_note_all(core, "argv", &all, &n))
		free(all);
	(void)tp_core_note_get(core, "time");
	(void)tp_core_fname(core);
	(void)tp_core_psargs(core);
	(void)tp_core_elf(core);
	tp_core_destroy(core);
}

/* Random flips in the headers and notes, and cuts at many offsets. */
Test(corrupt, fuzz_headers_and_notes)
{
	Elf64_Phdr note = good_phdr(0);
	size_t span = note.p_offset + note.p_filesz;
	unsigned char *img = malloc(good_len);
	uint64_t x = 0x2545f4914f6cdd1dull;
	for (int iter = 0; iter < 1500; iter++) {
		memcpy(img, good, good_len);
		int flips = 1 + iter % 4;
		for (int k = 0; k < flips; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t at = (size_t)(x % span);
			/* Bias half the flips to the headers, where each
			 * byte matters most. */
			if (k & 1)
				at %= sizeof(Elf64_Ehdr) + 4 * sizeof(Elf64_Phdr);
			img[at] ^= (unsigned char)(x >> 32 | 1);
		}
		/* Plain cores are mmapped; gzip'd ones inflate to the heap,
		 * where ASan sees every stray read. */
		char *path = iter & 1 ? write_tmp_gz("fuzz.core.gz", img, good_len)
				      : write_tmp("fuzz.core", img, good_len);
		exercise(path);
		free(path);
	}
	for (size_t cut = 0; cut < good_len; cut += 97 + cut / 8) {
		char *path = write_tmp("cut.core", good, cut);
		exercise(path);
		free(path);
		path = write_tmp_gz("cut.core.gz", good, cut);
		exercise(path);
		free(path);
	}
	free(img);
}
