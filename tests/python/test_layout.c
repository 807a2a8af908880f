/* SPDX-License-Identifier: MIT */
/*
 * Layout sources, checked against DWARF -- the one source that is exact by
 * construction -- on real builds:
 *
 *  - every built-in table equals what tp_layout_from_dwarf() gives on every
 *    pyenv build of its minor version that is installed (the reference
 *    release and any other), and on Debian's /usr/bin/python3.11 with its
 *    debug info from /usr/lib/debug;
 *  - the _Py_DebugOffsets block of 3.13, read from libpython's .PyRuntime
 *    section on disk (a static initialiser), agrees with DWARF on every
 *    entry it covers;
 *  - tp_layout_choose() and tp_python_open() on stripped copies of pyenv's
 *    libpython, dlopen'ed into this process and read through
 *    process_vm_readv like any live target, pick the source the decision
 *    order says and end up with the DWARF layout.
 *
 * A build that is not installed skips its test with the reason.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "core/livemem.h"
#include "python/layout_debugoffsets.h"
#include "python/layout_dwarf.h"
#include "python/layout_source.h"
#include "python/layout_table.h"
#include "python/python.h"
#include "python/target.h"

/* ---- helpers ------------------------------------------------------------ */

static const char *pyenv_root(void)
{
	static char buf[4096];
	const char *root = getenv("PYENV_ROOT");
	if (root)
		return root;
	const char *home = getenv("HOME");
	snprintf(buf, sizeof(buf), "%s/.pyenv", home ? home : "/root");
	return buf;
}

/*
 * The libpython files of every pyenv build of @major.@minor (free-threaded
 * "X.Yt" builds left out: the tables describe GIL builds).  Returns how
 * many; *@paths is malloc'd, free with free_paths().
 */
static size_t pyenv_libs(unsigned major, unsigned minor, char ***paths)
{
	char pattern[4200];
	snprintf(pattern, sizeof(pattern),
		 "%s/versions/%u.%u.*/lib/libpython%u.%u*.so.1.0",
		 pyenv_root(), major, minor, major, minor);
	glob_t g;
	size_t n = 0;
	*paths = NULL;
	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	*paths = calloc(g.gl_pathc + 1, sizeof(char *));
	cr_assert_not_null(*paths);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *v = strstr(g.gl_pathv[i], "/versions/") + 10;
		const char *slash = strchr(v, '/');
		if (slash[-1] == 't')
			continue;
		(*paths)[n++] = strdup(g.gl_pathv[i]);
	}
	globfree(&g);
	return n;
}

static void free_paths(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/*
 * The layout from the DWARF of @path (or of its separate debug file found
 * the standard way in @debuginfo_path, NULL for libdwfl's default).  False,
 * with the reason in @why, when there is none.
 */
static bool dwarf_layout(const char *path, const char *debuginfo_path,
			 struct tp_layout *ret, char *why, size_t whylen)
{
	char *dpath = debuginfo_path ? strdup(debuginfo_path) : NULL;
	static char *default_path;
	Dwfl_Callbacks cb = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.section_address = dwfl_offline_section_address,
		.debuginfo_path = dpath ? &dpath : &default_path,
	};
	Dwfl *dwfl = dwfl_begin(&cb);
	cr_assert_not_null(dwfl);
	dwfl_report_begin(dwfl);
	Dwfl_Module *mod = dwfl_report_offline(dwfl, path, path, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	bool ok = false;
	Dwarf_Addr bias;
	Dwarf *dw = mod ? dwfl_module_getdwarf(mod, &bias) : NULL;
	if (!dw) {
		snprintf(why, whylen, "%s: no debug info: %s", path,
			 dwfl_errmsg(-1));
	} else {
		struct tp_error *err = tp_layout_from_dwarf(dw, ret);
		cr_assert_null(err, "%s: %s", path, tp_error_message(err));
		ok = true;
	}
	dwfl_end(dwfl);
	free(dpath);
	return ok;
}

static void fill_asyncio_abi(const char *prefix, unsigned major,
			     unsigned minor, const char *abi,
			     const char *debuginfo_path, struct tp_layout *dw);

/*
 * As tripod fills the layout (layout_source.c): when @lib's DWARF has no
 * _asyncio.Task, the entries it lacks come from the DWARF of the _asyncio
 * extension module under @prefix/lib/python3.@minor/lib-dynload (none when
 * the interpreter has _asyncio built in).
 */
static void fill_asyncio(const char *prefix, unsigned major, unsigned minor,
			 const char *debuginfo_path, struct tp_layout *dw)
{
	/* a debug build's modules are _asyncio.cpython-311d-... */
	fill_asyncio_abi(prefix, major, minor, "", debuginfo_path, dw);
}

static void fill_asyncio_abi(const char *prefix, unsigned major,
			     unsigned minor, const char *abi,
			     const char *debuginfo_path, struct tp_layout *dw)
{
	if (tp_layout_has(dw, TP_L_TASK_CORO))
		return;
	char pattern[4400];
	snprintf(pattern, sizeof(pattern),
		 "%s/lib/python%u.%u/lib-dynload/_asyncio.*%u%u%s-*.so", prefix,
		 major, minor, major, minor, abi);
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	struct tp_layout extra;
	char why[4400];
	if (g.gl_pathc &&
	    dwarf_layout(g.gl_pathv[0], debuginfo_path, &extra, why,
			 sizeof(why)))
		tp_layout_fill(dw, &extra);
	globfree(&g);
}

static bool table_value(const struct tp_layout_table *t, const char *name,
			int64_t *ret)
{
	for (size_t i = 0; i < t->nentries; i++) {
		if (!strcmp(t->entries[i].name, name)) {
			*ret = t->entries[i].value;
			return true;
		}
	}
	return false;
}

static void fmt_value(char *buf, size_t len, int64_t v)
{
	if (v == TP_LAYOUT_ABSENT)
		snprintf(buf, len, "absent");
	else
		snprintf(buf, len, "%" PRId64, v);
}

/*
 * Differences between @t and @dwarf, one line each in @sb; returns their
 * number.  An entry of layout.h the table does not name is a stale table.
 */
static int table_vs_dwarf(const struct tp_layout_table *t,
			  const struct tp_layout *dwarf, struct tp_strbuf *sb)
{
	int diffs = 0;
	for (int i = 0; i < TP_LAYOUT_NFIELDS; i++) {
		const char *name = tp_layout_descs[i].name;
		int64_t v;
		char a[32], b[32];
		fmt_value(b, sizeof(b), dwarf->v[i]);
		if (!table_value(t, name, &v)) {
			tp_strbuf_printf(sb, "  %s: not in the %u.%u table (DWARF %s): regenerate it with tools/gen-layout-tables.py\n",
					 name, t->major, t->minor, b);
			diffs++;
		} else if (v != dwarf->v[i]) {
			fmt_value(a, sizeof(a), v);
			tp_strbuf_printf(sb, "  %s: table %s, DWARF %s\n", name,
					 a, b);
			diffs++;
		}
	}
	return diffs;
}

static void check_pyenv_table(unsigned major, unsigned minor)
{
	const struct tp_layout_table *t = tp_layout_table_find(major, minor);
	cr_assert_not_null(t, "no built-in table for %u.%u", major, minor);
	char **paths;
	size_t n = pyenv_libs(major, minor, &paths);
	if (!n)
		cr_skip_test("no pyenv Python %u.%u under %s/versions", major,
			     minor, pyenv_root());
	struct tp_strbuf sb = TP_STRBUF_INIT;
	int diffs = 0;
	for (size_t i = 0; i < n; i++) {
		struct tp_layout dw;
		char why[4400];
		cr_assert(dwarf_layout(paths[i], NULL, &dw, why, sizeof(why)),
			  "%s", why);
		/* PREFIX/lib/libpythonX.Y.so.1.0 */
		char prefix[4096];
		snprintf(prefix, sizeof(prefix), "%s", paths[i]);
		for (int up = 0; up < 2; up++) {
			char *slash = strrchr(prefix, '/');
			if (slash)
				*slash = '\0';
		}
		fill_asyncio(prefix, major, minor, NULL, &dw);
		struct tp_strbuf one = TP_STRBUF_INIT;
		int d = table_vs_dwarf(t, &dw, &one);
		if (d)
			tp_strbuf_printf(&sb, "%s (table from %s):\n%s",
					 paths[i], t->release,
					 tp_strbuf_str(&one));
		else
			cr_log_info("%s: equals the %u.%u table (%d entries)",
				    paths[i], major, minor, TP_LAYOUT_NFIELDS);
		tp_strbuf_deinit(&one);
		diffs += d;
	}
	cr_expect_eq(diffs, 0, "the built-in table differs from DWARF:\n%s",
		     tp_strbuf_str(&sb));
	tp_strbuf_deinit(&sb);
	free_paths(paths, n);
}

/* Run @argv; true if it exited 0. */
static bool run(char *const argv[])
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- built-in tables ---------------------------------------------------- */

TestSuite(layout_table, .timeout = 120);

Test(layout_table, every_table_names_every_entry_of_layout_h)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	for (size_t k = 0; k < tp_layout_ntables; k++) {
		const struct tp_layout_table *t = &tp_layout_tables[k];
		for (int i = 0; i < TP_LAYOUT_NFIELDS; i++) {
			int64_t v;
			if (!table_value(t, tp_layout_descs[i].name, &v))
				tp_strbuf_printf(&sb, " %u.%u:%s", t->major,
						 t->minor,
						 tp_layout_descs[i].name);
		}
		for (size_t e = 0; e < t->nentries; e++) {
			bool known = false;
			for (int i = 0; i < TP_LAYOUT_NFIELDS && !known; i++)
				known = !strcmp(t->entries[e].name,
						tp_layout_descs[i].name);
			if (!known)
				tp_strbuf_printf(&sb, " %u.%u:%s(gone)",
						 t->major, t->minor,
						 t->entries[e].name);
		}
	}
	cr_expect_eq(sb.len, 0,
		     "the tables are stale, regenerate them with tools/gen-layout-tables.py:%s",
		     tp_strbuf_str(&sb));
	tp_strbuf_deinit(&sb);
	cr_expect_eq(tp_layout_ntables, 11, "tables: %zu", tp_layout_ntables);
	for (unsigned minor = 6; minor <= 15; minor++)
		cr_expect_not_null(tp_layout_table_find(3, minor), "3.%u",
				   minor);
	cr_expect_not_null(tp_layout_table_find(2, 7));
}

/* Entries are matched by name: order and unknown names do not matter. */
Test(layout_table, load_matches_entries_by_name)
{
	const struct tp_layout_table *t = tp_layout_table_find(3, 11);
	cr_assert_not_null(t);
	struct tp_layout_table_entry *rev =
		calloc(t->nentries + 1, sizeof(*rev));
	cr_assert_not_null(rev);
	size_t n = 0;
	/* reversed, without TS_NEXT, plus a name layout.h does not know */
	rev[n++] = (struct tp_layout_table_entry){ "NO_SUCH_ENTRY", 12345 };
	for (size_t i = t->nentries; i-- > 0;)
		if (strcmp(t->entries[i].name, "TS_NEXT"))
			rev[n++] = t->entries[i];
	struct tp_layout_table shuffled = *t;
	shuffled.entries = rev;
	shuffled.nentries = n;
	struct tp_layout a, b;
	tp_layout_table_load(t, &a);
	tp_layout_table_load(&shuffled, &b);
	for (int i = 0; i < TP_LAYOUT_NFIELDS; i++) {
		if (i == TP_L_TS_NEXT)
			cr_expect_eq(b.v[i], TP_LAYOUT_ABSENT);
		else
			cr_expect_eq(a.v[i], b.v[i], "%s: %" PRId64 " != %" PRId64,
				     tp_layout_descs[i].name, a.v[i], b.v[i]);
	}
	cr_expect_eq(a.v[TP_L_TS_NEXT], 8);
	free(rev);
}

Test(layout_table, no_table_is_a_clear_error)
{
	struct tp_layout l;
	struct tp_error *err = tp_layout_table_lookup(3, 5, &l);
	cr_assert_not_null(err);
	cr_expect_eq(err->code, TP_ERR_UNSUPPORTED);
	cr_expect_str_eq(tp_error_message(err),
			 "no built-in layout for Python 3.5");
	tp_error_destroy(err);
	cr_expect_null(tp_layout_table_lookup(2, 7, &l));
	cr_expect(tp_layout_has(&l, TP_L_INT_IVAL));
}

#define PYENV_TABLE_TEST(major, minor)                                        \
	Test(layout_table, pyenv_##major##_##minor##_equals_dwarf)            \
	{                                                                     \
		check_pyenv_table(major, minor);                              \
	}

PYENV_TABLE_TEST(2, 7)
PYENV_TABLE_TEST(3, 6)
PYENV_TABLE_TEST(3, 7)
PYENV_TABLE_TEST(3, 8)
PYENV_TABLE_TEST(3, 9)
PYENV_TABLE_TEST(3, 10)
PYENV_TABLE_TEST(3, 11)
PYENV_TABLE_TEST(3, 12)
PYENV_TABLE_TEST(3, 13)

/*
 * 2.7's _io extension module is read at the offsets tp_layout_io27()
 * gives from the size of PyObject: every one equals its DWARF.
 */
Test(layout_table, py27_io_structs_equal_the_io_module_dwarf)
{
	char path[4200];
	snprintf(path, sizeof(path),
		 "%s/versions/2.7.18/lib/python2.7/lib-dynload/_io.so",
		 pyenv_root());
	if (access(path, R_OK) != 0)
		cr_skip_test("no %s", path);
	struct tp_layout dw;
	char why[4400];
	if (!dwarf_layout(path, NULL, &dw, why, sizeof(why)))
		cr_skip_test("no DWARF in %s: %s", path, why);
	int checked = 0;
	for (int i = 0; i < TP_LAYOUT_NFIELDS; i++) {
		int64_t v;
		if (!tp_layout_io27((enum tp_layout_id)i,
				    dw.v[TP_L_SIZEOF_PYOBJECT], &v))
			continue;
		cr_expect_eq(v, dw.v[i], "%s: tp_layout_io27 %" PRId64
			     ", DWARF %" PRId64, tp_layout_descs[i].name, v,
			     dw.v[i]);
		checked++;
	}
	cr_expect_eq(dw.v[TP_L_SIZEOF_PYOBJECT], 16);
	cr_expect_eq(checked, 8);
	cr_expect(!tp_layout_has(&dw, TP_L_FILEIO_CREATED));
}


/*
 * A distribution's build of another patch release (Debian 12: 3.11.2, the
 * table's reference is pyenv's 3.11.7), its DWARF in /usr/lib/debug.
 */
static void check_system(const char *exe, unsigned major, unsigned minor,
			 const char *abi)
{
	if (access(exe, X_OK) != 0)
		cr_skip_test("%s is not installed", exe);
	struct tp_layout dw;
	char why[4400];
	if (!dwarf_layout(exe, NULL, &dw, why, sizeof(why)))
		cr_skip_test("%s (install its -dbg package)", why);
	fill_asyncio_abi("/usr", major, minor, abi, NULL, &dw);
	const struct tp_layout_table *t = tp_layout_table_find(major, minor);
	cr_assert_not_null(t);
	struct tp_strbuf sb = TP_STRBUF_INIT;
	int d = table_vs_dwarf(t, &dw, &sb);
	cr_expect_eq(d, 0, "%s differs from the %u.%u table (from %s):\n%s",
		     exe, major, minor, t->release, tp_strbuf_str(&sb));
	if (!d)
		cr_log_info("%s: its DWARF equals the %u.%u table (from %s)",
			    exe, major, minor, t->release);
	tp_strbuf_deinit(&sb);
}

Test(layout_table, debian_python3_11_equals_the_table)
{
	check_system("/usr/bin/python3.11", 3, 11, "");
}

Test(layout_table, debian_python3_11_dbg_equals_the_table)
{
	/* the Py_DEBUG build: in 3.11 Py_DEBUG no longer changes the ABI */
	check_system("/usr/bin/python3.11-dbg", 3, 11, "d");
}

/* ---- _Py_DebugOffsets --------------------------------------------------- */

/* The .PyRuntime section of @path: its bytes (malloc'd) and size. */
static unsigned char *pyruntime_section(const char *path, size_t *len)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(elf);
	size_t shstrndx;
	cr_assert_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	unsigned char *out = NULL;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		cr_assert_not_null(gelf_getshdr(scn, &shdr));
		const char *name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name || strcmp(name, ".PyRuntime"))
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		cr_assert_not_null(data);
		cr_assert_eq(shdr.sh_type, SHT_PROGBITS);
		out = malloc(data->d_size);
		cr_assert_not_null(out);
		memcpy(out, data->d_buf, data->d_size);
		*len = data->d_size;
		break;
	}
	elf_end(elf);
	close(fd);
	cr_assert_not_null(out, "%s has no .PyRuntime section", path);
	return out;
}

/* Every 3.13 block entry, and nothing else, must come from the block. */
#define DEBUG_OFFSETS_313_COVERED 45

TestSuite(debug_offsets, .timeout = 120);

/*
 * The block in the .PyRuntime section of @path (on disk: a static
 * initialiser) decodes, covers @covered entries, and agrees with the DWARF
 * of @path (separate debug info in @debuginfo_path) on each of them.
 */
static void block_vs_dwarf(const char *path, const char *debuginfo_path,
			   unsigned minor, unsigned covered)
{
	size_t len;
	unsigned char *block = pyruntime_section(path, &len);
	struct tp_debug_offsets_info info;
	struct tp_layout lo, dw;
	struct tp_error *err =
		tp_layout_from_debug_offsets(block, len, &info, &lo);
	cr_assert_null(err, "%s: %s", path, tp_error_message(err));
	cr_expect_eq((info.version >> 16) & 0xffff, 0x0300 | minor);
	cr_expect_not(info.free_threaded);
	cr_expect_eq(info.covered, covered, "%s: %u entries covered",
		     path, info.covered);
	char why[4400];
	cr_assert(dwarf_layout(path, debuginfo_path, &dw, why, sizeof(why)),
		  "%s", why);
	unsigned compared = 0;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	for (int k = 0; k < TP_LAYOUT_NFIELDS; k++) {
		if (!tp_layout_has(&lo, (enum tp_layout_id)k))
			continue;
		compared++;
		if (lo.v[k] != dw.v[k]) {
			char b[32];
			fmt_value(b, sizeof(b), dw.v[k]);
			tp_strbuf_printf(&sb, "  %s: block %" PRId64
					 ", DWARF %s\n",
					 tp_layout_descs[k].name, lo.v[k], b);
		}
	}
	cr_expect_eq(compared, info.covered);
	cr_expect_eq(sb.len, 0, "%s: _Py_DebugOffsets disagree with DWARF:\n%s",
		     path, tp_strbuf_str(&sb));
	cr_log_info("%s: _Py_DebugOffsets (version %#" PRIx64
		    ") agree with DWARF on the %u entries they cover",
		    path, info.version, compared);
	tp_strbuf_deinit(&sb);
	free(block);
}

Test(debug_offsets, pyenv_3_13_block_on_disk_agrees_with_dwarf)
{
	char **paths;
	size_t n = pyenv_libs(3, 13, &paths);
	if (!n)
		cr_skip_test("no pyenv Python 3.13 under %s/versions",
			     pyenv_root());
	for (size_t i = 0; i < n; i++)
		block_vs_dwarf(paths[i], NULL, 13, DEBUG_OFFSETS_313_COVERED);
	free_paths(paths, n);
}

/* sizeof(struct _Py_DebugOffsets) in the DWARF of @path, 0 if none. */
static Dwarf_Word block_struct_size(const char *path, const char *debuginfo_path)
{
	char *dpath = debuginfo_path ? strdup(debuginfo_path) : NULL;
	static char *default_path;
	Dwfl_Callbacks cb = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.section_address = dwfl_offline_section_address,
		.debuginfo_path = dpath ? &dpath : &default_path,
	};
	Dwfl *dwfl = dwfl_begin(&cb);
	cr_assert_not_null(dwfl);
	dwfl_report_begin(dwfl);
	Dwfl_Module *mod = dwfl_report_offline(dwfl, path, path, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	cr_assert_not_null(mod);
	Dwarf_Addr bias;
	Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
	cr_assert_not_null(dw, "%s: no DWARF", path);
	Dwarf_Off off = 0, next;
	size_t hsize;
	Dwarf_Word size = 0;
	while (!size && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL,
				     NULL) == 0) {
		Dwarf_Die cu, die;
		if (dwarf_offdie(dw, off + hsize, &cu) &&
		    dwarf_child(&cu, &die) == 0) {
			do {
				const char *name = dwarf_diename(&die);
				if (dwarf_tag(&die) == DW_TAG_structure_type &&
				    name && !strcmp(name, "_Py_DebugOffsets") &&
				    dwarf_aggregate_size(&die, &size) == 0)
					break;
				size = 0;
			} while (dwarf_siblingof(&die, &die) == 0);
		}
		off = next;
	}
	dwfl_end(dwfl);
	free(dpath);
	return size;
}

/* The C struct of the 3.13 block is as long as CPython's (DWARF says). */
Test(debug_offsets, the_3_13_block_struct_has_cpythons_size)
{
	char **paths;
	size_t n = pyenv_libs(3, 13, &paths);
	if (!n)
		cr_skip_test("no pyenv Python 3.13 under %s/versions",
			     pyenv_root());
	Dwarf_Word size = block_struct_size(paths[0], NULL);
	cr_assert_neq(size, 0, "no struct _Py_DebugOffsets in %s", paths[0]);
	cr_expect_eq(size, tp_debug_offsets_block_size(3, 13),
		     "sizeof(_Py_DebugOffsets) %lu in %s, tripod's %zu",
		     (unsigned long)size, paths[0],
		     tp_debug_offsets_block_size(3, 13));
	cr_expect_geq(tp_debug_offsets_size(), size);
	free_paths(paths, n);
}

/* The real 3.13 block, spoiled in each way the decoder must refuse. */
Test(debug_offsets, spoiled_blocks_are_refused)
{
	char **paths;
	size_t n = pyenv_libs(3, 13, &paths);
	if (!n)
		cr_skip_test("no pyenv Python 3.13 under %s/versions",
			     pyenv_root());
	size_t len;
	unsigned char *block = pyruntime_section(paths[0], &len);
	unsigned char *b = malloc(len);
	cr_assert_not_null(b);
	struct tp_debug_offsets_info info;
	struct tp_layout lo;
	struct tp_error *err;

	memcpy(b, block, len);
	b[0] = 'X';
	err = tp_layout_from_debug_offsets(b, len, &info, &lo);
	cr_assert_not_null(err);
	cr_expect_eq(err->code, TP_ERR_FORMAT);
	cr_expect(strstr(tp_error_message(err), "cookie"), "%s",
		  tp_error_message(err));
	tp_error_destroy(err);

	memcpy(b, block, len);
	uint64_t v316 = 0x031000f0; /* 3.16.0 final */
	memcpy(b + 8, &v316, 8);
	err = tp_layout_from_debug_offsets(b, len, &info, &lo);
	cr_assert_not_null(err);
	cr_expect_eq(err->code, TP_ERR_UNSUPPORTED);
	cr_expect_str_eq(tp_error_message(err),
			 "the _Py_DebugOffsets of Python 3.16 are not understood (only those of 3.13, 3.14 and 3.15)");
	tp_error_destroy(err);

	/* thread_state.next (word 5 of that group) beyond thread_state.size */
	memcpy(b, block, len);
	size_t ts = 8 + 8 + 8 + 3 * 8 + 13 * 8; /* thread_state group */
	uint64_t huge = 1u << 20, size;
	memcpy(&size, b + ts, 8);
	cr_assert(size > 0 && size < huge, "thread_state.size %lu",
		  (unsigned long)size);
	memcpy(b + ts + 2 * 8, &huge, 8);
	err = tp_layout_from_debug_offsets(b, len, &info, &lo);
	cr_assert_not_null(err);
	cr_expect(strstr(tp_error_message(err), "thread_state.next"), "%s",
		  tp_error_message(err));
	cr_expect_not(tp_layout_has(&lo, TP_L_RT_INTERP_HEAD),
		      "a refused block leaves nothing behind");
	tp_error_destroy(err);

	err = tp_layout_from_debug_offsets(block, 100, &info, &lo);
	cr_assert_not_null(err);
	cr_expect(strstr(tp_error_message(err), "too short"), "%s",
		  tp_error_message(err));
	tp_error_destroy(err);

	free(b);
	free(block);
	free_paths(paths, n);
}

/* ---- choosing the source: stripped builds in this very process ---------- */

struct live {
	char dir[64];
	char lib[4400];        /* the copy that was dlopen'ed */
	char empty[128];       /* an empty debug-info directory */
	void *handle;
	struct tp_livemem mem;
	struct tp_target *target;
};

/*
 * Copy pyenv's libpython of @major.@minor into a scratch directory as
 * @name (stripped with objcopy @strip, or kept as it is when NULL), dlopen
 * it, and open this process as a live target that cannot see any
 * separate debug info.
 */
static void live_open(struct live *lv, unsigned major, unsigned minor,
		      const char *strip, const char *name)
{
	char **paths;
	size_t n = pyenv_libs(major, minor, &paths);
	if (!n)
		cr_skip_test("no pyenv Python %u.%u under %s/versions", major,
			     minor, pyenv_root());
	snprintf(lv->dir, sizeof(lv->dir), "/tmp/tripod-layout-XXXXXX");
	cr_assert_not_null(mkdtemp(lv->dir));
	snprintf(lv->empty, sizeof(lv->empty), "%s/empty", lv->dir);
	cr_assert_eq(mkdir(lv->empty, 0700), 0);
	snprintf(lv->lib, sizeof(lv->lib), "%s/%s", lv->dir,
		 name ? name : strrchr(paths[0], '/') + 1);
	if (strip) {
		char *argv[] = { "objcopy", (char *)strip, paths[0], lv->lib,
				 NULL };
		if (!run(argv))
			cr_skip_test("objcopy %s failed (binutils missing?)",
				     strip);
	} else {
		char *argv[] = { "cp", paths[0], lv->lib, NULL };
		cr_assert(run(argv));
	}
	free_paths(paths, n);
	lv->handle = dlopen(lv->lib, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(lv->handle, "dlopen: %s", dlerror());
	tp_livemem_init(&lv->mem, getpid());
	struct tp_target_opts opts = { .debuginfo_path = lv->empty };
	struct tp_error *err = tp_target_open_pid(getpid(), &lv->mem.src,
						  &opts, &lv->target);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_str_eq(lv->target->pymod_name, lv->lib);
}

static void live_close(struct live *lv)
{
	tp_target_destroy(lv->target);
	char *argv[] = { "rm", "-rf", lv->dir, NULL };
	run(argv);
}

/*
 * The layout the unstripped reference file's DWARF gives, and (@asyncio)
 * the _asyncio module's entries, as the tables hold them.
 */
static void reference_dwarf_of(unsigned major, unsigned minor, bool asyncio,
			       struct tp_layout *ret)
{
	char **paths;
	size_t n = pyenv_libs(major, minor, &paths);
	cr_assert(n > 0);
	char why[4400];
	cr_assert(dwarf_layout(paths[0], NULL, ret, why, sizeof(why)), "%s",
		  why);
	char prefix[4096];
	snprintf(prefix, sizeof(prefix), "%s", paths[0]);
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(prefix, '/');
		if (slash)
			*slash = '\0';
	}
	if (asyncio)
		fill_asyncio(prefix, major, minor, NULL, ret);
	free_paths(paths, n);
}

static void reference_dwarf(unsigned major, unsigned minor,
			    struct tp_layout *ret)
{
	reference_dwarf_of(major, minor, true, ret);
}

static void expect_layout_eq(const struct tp_layout *got,
			     const struct tp_layout *dwarf, const char *what)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	for (int i = 0; i < TP_LAYOUT_NFIELDS; i++) {
		if (got->v[i] == dwarf->v[i])
			continue;
		char a[32], b[32];
		fmt_value(a, sizeof(a), got->v[i]);
		fmt_value(b, sizeof(b), dwarf->v[i]);
		tp_strbuf_printf(&sb, "  %s: %s, DWARF %s\n",
				 tp_layout_descs[i].name, a, b);
	}
	cr_expect_eq(sb.len, 0, "%s differs from DWARF:\n%s", what,
		     tp_strbuf_str(&sb));
	tp_strbuf_deinit(&sb);
}

TestSuite(layout_source, .timeout = 120);

Test(layout_source, stripped_3_13_uses_debug_offsets_and_the_table)
{
	struct live lv;
	live_open(&lv, 3, 13, "--strip-all", NULL);
	/* no .symtab; _PyRuntime is exported, and is the .PyRuntime section */
	cr_expect_neq(lv.target->sym[TP_SYM__PyRuntime], 0);
	cr_expect_eq(tp_target_section(lv.target, ".PyRuntime"),
		     lv.target->sym[TP_SYM__PyRuntime]);
	struct tp_python *py;
	struct tp_error *err = tp_python_open(lv.target, NULL, &py);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_expect_str_eq(tp_python_layout_source(py), "debug-offsets+table");
	cr_expect_str_eq(tp_python_version(py), "3.13.0");
	struct tp_layout dw;
	reference_dwarf(3, 13, &dw);
	expect_layout_eq(tp_python_layout(py), &dw, "debug-offsets+table");
	tp_python_destroy(py);

	struct tp_layout l;
	struct tp_layout_choice c;
	err = tp_layout_choose(lv.target, 3, 13, TP_LAYOUT_TABLE, &l, &c);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_expect_str_eq(c.source, "table");
	expect_layout_eq(&l, &dw, "the 3.13 table");

	err = tp_layout_choose(lv.target, 3, 13, TP_LAYOUT_DWARF, &l, &c);
	cr_assert_not_null(err);
	cr_expect_eq(err->code, TP_ERR_NODEBUG);
	cr_expect(strstr(tp_error_message(err), "no debug info for"), "%s",
		  tp_error_message(err));
	tp_error_destroy(err);
	live_close(&lv);
}

Test(layout_source, with_dwarf_forced_debug_offsets_fill_from_dwarf)
{
	struct live lv;
	live_open(&lv, 3, 13, NULL, NULL);
	struct tp_layout l, dw;
	struct tp_layout_choice c;
	struct tp_error *err = tp_layout_choose(lv.target, 3, 13,
						TP_LAYOUT_AUTO, &l, &c);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_expect_str_eq(c.source, "dwarf");
	err = tp_layout_choose(lv.target, 3, 13, TP_LAYOUT_DEBUG_OFFSETS, &l,
			       &c);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_expect_str_eq(c.source, "debug-offsets+dwarf");
	cr_expect_eq(c.debug_offsets.covered, DEBUG_OFFSETS_313_COVERED);
	/* this process has not loaded the _asyncio module */
	reference_dwarf_of(3, 13, false, &dw);
	expect_layout_eq(&l, &dw, "debug-offsets+dwarf");
	live_close(&lv);
}

Test(layout_source, stripped_3_11_uses_the_table)
{
	struct live lv;
	live_open(&lv, 3, 11, "--strip-all", NULL);
	struct tp_python *py;
	struct tp_error *err = tp_python_open(lv.target, NULL, &py);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_expect_str_eq(tp_python_layout_source(py), "table");
	struct tp_layout dw;
	reference_dwarf(3, 11, &dw);
	expect_layout_eq(tp_python_layout(py), &dw, "the 3.11 table");
	tp_python_destroy(py);

	/* forced, the sources that are not there say why */
	struct tp_layout l;
	struct tp_layout_choice c;
	err = tp_layout_choose(lv.target, 3, 11, TP_LAYOUT_DEBUG_OFFSETS, &l,
			       &c);
	cr_assert_not_null(err);
	cr_expect_str_eq(tp_error_message(err),
			 "no layout from _Py_DebugOffsets for Python 3.11: no _Py_DebugOffsets before 3.13");
	tp_error_destroy(err);
	live_close(&lv);
}

/*
 * 2.7 stripped and renamed: no Py_Version, no telling file name -- the
 * version comes from the soname; interp_head (a static, gone with .symtab)
 * from the code of PyInterpreterState_Head().
 */
Test(layout_source, stripped_renamed_2_7_version_from_soname)
{
	struct live lv;
	live_open(&lv, 2, 7, "--strip-all", "libinterp.so");
	cr_expect_eq(lv.target->sym[TP_SYM_interp_head], 0);
	struct tp_python *py;
	struct tp_error *err = tp_python_open(lv.target, NULL, &py);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_expect_str_eq(tp_python_version(py), "2.7");
	cr_expect_str_eq(tp_python_layout_source(py), "table");
	struct tp_layout dw;
	reference_dwarf(2, 7, &dw);
	expect_layout_eq(tp_python_layout(py), &dw, "the 2.7 table");

	/* interp_head: where the unstripped file's .symtab puts it */
	uint64_t found = lv.target->sym[TP_SYM_interp_head];
	cr_assert_neq(found, 0, "interp_head not recovered");
	char **paths;
	size_t n = pyenv_libs(2, 7, &paths);
	elf_version(EV_CURRENT);
	int fd = open(paths[0], O_RDONLY | O_CLOEXEC);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	uint64_t head = 0, fn = 0;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		gelf_getshdr(scn, &shdr);
		if (shdr.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Sym sym;
			gelf_getsym(data, (int)i, &sym);
			const char *s = elf_strptr(elf, shdr.sh_link,
						   sym.st_name);
			if (s && !strcmp(s, "interp_head"))
				head = sym.st_value;
			if (s && !strcmp(s, "PyInterpreterState_Head"))
				fn = sym.st_value;
		}
	}
	elf_end(elf);
	close(fd);
	free_paths(paths, n);
	cr_assert(head && fn, "no interp_head in the unstripped .symtab");
	uint64_t loaded = (uint64_t)(uintptr_t)dlsym(lv.handle,
						      "PyInterpreterState_Head");
	cr_expect_eq(found, loaded - fn + head, "interp_head at %#" PRIx64
		     ", .symtab says %#" PRIx64, found, loaded - fn + head);
	tp_python_destroy(py);
	live_close(&lv);
}

/* No DWARF, no block, no table: one line naming the version and each. */
Test(layout_source, nothing_available_names_every_source)
{
	struct live lv;
	live_open(&lv, 3, 13, "--strip-all", NULL);
	struct tp_layout l;
	struct tp_layout_choice c;
	/* as if this build were 3.5: no block before 3.13, no 3.5 table */
	struct tp_error *err = tp_layout_choose(lv.target, 3, 5,
						TP_LAYOUT_AUTO, &l, &c);
	cr_assert_not_null(err);
	cr_expect_eq(err->code, TP_ERR_NODEBUG);
	char want[8192];
	snprintf(want, sizeof(want),
		 "no debug info for %s (build-id %s), no _Py_DebugOffsets before 3.13, and no built-in layout for Python 3.5: install the debug symbols of this Python (e.g. python3.5-dbg or python3-debuginfo) or set DEBUGINFOD_URLS",
		 lv.lib, lv.target->pymod_build_id);
	cr_expect_str_eq(tp_error_message(err), want);
	cr_expect_null(strchr(tp_error_message(err), '\n'));
	tp_error_destroy(err);

	err = tp_layout_choose(lv.target, 3, 5, TP_LAYOUT_TABLE, &l, &c);
	cr_assert_not_null(err);
	cr_expect_str_eq(tp_error_message(err),
			 "no built-in layout for Python 3.5");
	tp_error_destroy(err);
	live_close(&lv);
}

Test(layout_source, names_of_the_preferences)
{
	enum tp_layout_pref p;
	cr_expect(tp_layout_pref_parse("auto", &p) && p == TP_LAYOUT_AUTO);
	cr_expect(tp_layout_pref_parse("dwarf", &p) && p == TP_LAYOUT_DWARF);
	cr_expect(tp_layout_pref_parse("debug-offsets", &p) &&
		  p == TP_LAYOUT_DEBUG_OFFSETS);
	cr_expect(tp_layout_pref_parse("table", &p) && p == TP_LAYOUT_TABLE);
	cr_expect_not(tp_layout_pref_parse("Table", &p));
	cr_expect_not(tp_layout_pref_parse("", &p));
}

/* ---- Debian sid's 3.14 and 3.15 (tools/fetch-sid-python.sh) ------------- */

/*
 * Debian sid's python3.@minor (statically linked, stripped) and the
 * directory of its separate debug info, as tools/fetch-sid-python.sh left
 * them; skips with the helper's reason when it could not fetch them.
 */
static void sid_python(unsigned minor, char *exe, size_t exelen, char *debug,
		       size_t debuglen)
{
	char cache[4096], status_path[4200];
	const char *c = getenv("TRIPOD_SID_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (c && *c)
		snprintf(cache, sizeof(cache), "%s", c);
	else if (xdg && *xdg)
		snprintf(cache, sizeof(cache), "%s/tripod/sid", xdg);
	else
		snprintf(cache, sizeof(cache), "%s/.cache/tripod/sid",
			 home ? home : "/root");
	snprintf(status_path, sizeof(status_path), "%s/status", cache);
	FILE *f = fopen(status_path, "re");
	char status[512] = "";
	if (f) {
		if (!fgets(status, sizeof(status), f))
			status[0] = '\0';
		fclose(f);
	}
	status[strcspn(status, "\n")] = '\0';
	if (!f)
		cr_skip_test("Debian sid's python3.%u is not fetched (no %s): run tools/fetch-sid-python.sh",
			     minor, status_path);
	if (strcmp(status, "ok"))
		cr_skip_test("Debian sid's python3.%u: %s", minor, status);
	snprintf(exe, exelen, "%s/root/usr/bin/python3.%u", cache, minor);
	snprintf(debug, debuglen, "%s/root/usr/lib/debug", cache);
	cr_assert_eq(access(exe, R_OK), 0, "%s: %s", exe, strerror(errno));
}

static void check_sid_table(unsigned minor)
{
	char exe[4400], debug[4400];
	sid_python(minor, exe, sizeof(exe), debug, sizeof(debug));
	const struct tp_layout_table *t = tp_layout_table_find(3, minor);
	cr_assert_not_null(t, "no built-in table for 3.%u", minor);
	struct tp_layout dw;
	char why[4400];
	cr_assert(dwarf_layout(exe, debug, &dw, why, sizeof(why)), "%s", why);
	/* EXE is CACHE/root/usr/bin/python3.X */
	char prefix[4400];
	snprintf(prefix, sizeof(prefix), "%s", exe);
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(prefix, '/');
		if (slash)
			*slash = '\0';
	}
	fill_asyncio(prefix, 3, minor, debug, &dw);
	struct tp_strbuf sb = TP_STRBUF_INIT;
	int d = table_vs_dwarf(t, &dw, &sb);
	cr_expect_eq(d, 0, "%s differs from the 3.%u table (from %s):\n%s",
		     exe, minor, t->release, tp_strbuf_str(&sb));
	tp_strbuf_deinit(&sb);
}

Test(layout_table, debian_sid_3_14_equals_dwarf) { check_sid_table(14); }
Test(layout_table, debian_sid_3_15_equals_dwarf) { check_sid_table(15); }

/*
 * Entries each block covers: the 41 every version has (3.13's minus the
 * GIL and size fields), the 9 3.14 added, the 3 3.15 added; 2 GIL fields;
 * 2 sizes (3 in 3.15).  DEBUG_OFFSETS_313_COVERED = 41 + 2 + 2.
 */
#define DEBUG_OFFSETS_314_COVERED (41 + 9 + 2 + 2)
#define DEBUG_OFFSETS_315_COVERED (41 + 9 + 3 + 2 + 3)

static void check_sid_block(unsigned minor, unsigned covered)
{
	char exe[4400], debug[4400];
	sid_python(minor, exe, sizeof(exe), debug, sizeof(debug));
	block_vs_dwarf(exe, debug, minor, covered);
	Dwarf_Word size = block_struct_size(exe, debug);
	cr_assert_neq(size, 0, "no struct _Py_DebugOffsets in %s's DWARF", exe);
	cr_expect_eq(size, tp_debug_offsets_block_size(3, minor),
		     "sizeof(_Py_DebugOffsets) %lu in %s, tripod's %zu",
		     (unsigned long)size, exe,
		     tp_debug_offsets_block_size(3, minor));
	cr_expect_geq(tp_debug_offsets_size(), size);
}

Test(debug_offsets, debian_sid_3_14_block_agrees_with_dwarf)
{
	check_sid_block(14, DEBUG_OFFSETS_314_COVERED);
}

Test(debug_offsets, debian_sid_3_15_block_agrees_with_dwarf)
{
	check_sid_block(15, DEBUG_OFFSETS_315_COVERED);
}
