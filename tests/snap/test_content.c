/* SPDX-License-Identifier: MIT */
/*
 * What a snapshot holds: gunzip(1) makes it an ELF core, gdb(1) reads its
 * threads, and the notes and memory (parsed here with libelf, not with
 * tripod's own reader) are the target's.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/coreread.h"
#include "core/corewrite.h"
#include "helpers.h"

TestSuite(content, .init = skip_unless_ptrace, .timeout = 120);

/* A snapshot, exported to a core by tripod-analyze and opened with libelf. */
struct core {
	char *dir, *path;   /* the snapshot's directory, the plain core */
	char *exe;          /* the target's executable, as the kernel names it */
	char *image;
	size_t len;
	Elf *elf;
};

static void snapshot_of(struct core *c, struct target *t)
{
	char pid[16], *err;
	c->dir = make_tmpdir();
	snprintf(pid, sizeof(pid), "%d", (int)t->pid);
	int st = snap_run((char *[]){ "-q", "-n", "1", "-i", "0.1", "-o",
				      c->dir, "--pid", pid, NULL },
			  NULL, 30000, &err);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "stderr: %s", err);
	free(err);
	cr_assert_gt(asprintf(&c->path, "%s/core", c->dir), 0);
	export_core(c->dir, "snapshot-000001.tripod", c->path);
	c->exe = realpath(TARGET_PARK, NULL);
	c->image = read_file(c->path, &c->len);
	cr_assert_not_null(c->image);
	elf_version(EV_CURRENT);
	c->elf = elf_memory(c->image, c->len);
	cr_assert_not_null(c->elf);
	GElf_Ehdr eh;
	cr_assert_not_null(gelf_getehdr(c->elf, &eh));
	cr_assert_eq(eh.e_type, ET_CORE);
	cr_assert_eq(memcmp(c->image, ELFMAG, SELFMAG), 0);
}

static void core_free(struct core *c)
{
	elf_end(c->elf);
	free(c->image);
	remove_tree(c->dir);
	free(c->dir);
	free(c->path);
	free(c->exe);
}

/* Call @fn on each note of the core. */
static void each_note(struct core *c,
		      void (*fn)(const GElf_Nhdr *, const char *name,
				 const char *desc, void *arg),
		      void *arg)
{
	size_t n;
	cr_assert_eq(elf_getphdrnum(c->elf, &n), 0);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		gelf_getphdr(c->elf, (int)i, &ph);
		if (ph.p_type != PT_NOTE)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(c->elf, (int64_t)ph.p_offset,
						   ph.p_filesz, ELF_T_NHDR);
		cr_assert_not_null(d);
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;
		while (off < d->d_size &&
		       (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)))
			fn(&nh, (char *)d->d_buf + name_off,
			   (char *)d->d_buf + desc_off, arg);
	}
}

/* The core's bytes at @addr: copied from the target, so in a PT_LOAD's
 * file part. */
static const unsigned char *core_mem(struct core *c, uint64_t addr,
				     size_t len)
{
	size_t n;
	elf_getphdrnum(c->elf, &n);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		gelf_getphdr(c->elf, (int)i, &ph);
		if (ph.p_type == PT_LOAD && addr >= ph.p_vaddr &&
		    addr + len <= ph.p_vaddr + ph.p_filesz) {
			cr_assert_leq(ph.p_offset + ph.p_filesz, c->len);
			return (unsigned char *)c->image + ph.p_offset +
			       (addr - ph.p_vaddr);
		}
	}
	return NULL;
}

struct notes_seen {
	pid_t tids[64];
	size_t ntids, nfp, nprpsinfo, nauxv, nfile;
	char *tripod;        /* the tripod note's text */
	size_t tripod_len;
	char psargs[81];
};

static void collect(const GElf_Nhdr *nh, const char *name, const char *desc,
		    void *arg)
{
	struct notes_seen *s = arg;
	/* note data is only 4-byte aligned: copy the structs out */
	if (strcmp(name, "CORE") == 0 && nh->n_type == NT_PRSTATUS &&
	    s->ntids < 64) {
		struct elf_prstatus pr;
		cr_assert_eq(nh->n_descsz, sizeof(pr));
		memcpy(&pr, desc, sizeof(pr));
		s->tids[s->ntids++] = pr.pr_pid;
	} else if (strcmp(name, "CORE") == 0 && nh->n_type == NT_FPREGSET) {
		s->nfp++;
	} else if (strcmp(name, "CORE") == 0 && nh->n_type == NT_PRPSINFO) {
		struct elf_prpsinfo ps;
		cr_assert_eq(nh->n_descsz, sizeof(ps));
		memcpy(&ps, desc, sizeof(ps));
		s->nprpsinfo++;
		memcpy(s->psargs, ps.pr_psargs, sizeof(ps.pr_psargs));
	} else if (strcmp(name, "CORE") == 0 && nh->n_type == NT_AUXV)
		s->nauxv++;
	else if (strcmp(name, "CORE") == 0 && nh->n_type == NT_FILE)
		s->nfile++;
	else if (strcmp(name, TP_NOTE_NAME) == 0 &&
		 nh->n_type == TP_NOTE_TYPE) {
		s->tripod = malloc(nh->n_descsz + 1);
		memcpy(s->tripod, desc, nh->n_descsz);
		s->tripod[nh->n_descsz] = '\0';
		s->tripod_len = nh->n_descsz;
	}
}

/* Values of @key in the tripod note ("key=value\0" pairs), in order. */
static size_t note_values(const struct notes_seen *s, const char *key,
			  const char **ret, size_t max)
{
	size_t n = 0, klen = strlen(key);
	for (size_t off = 0; off < s->tripod_len;
	     off += strlen(s->tripod + off) + 1) {
		const char *kv = s->tripod + off;
		if (strncmp(kv, key, klen) == 0 && kv[klen] == '=' && n < max)
			ret[n++] = kv + klen + 1;
	}
	return n;
}

static const char *note_value(const struct notes_seen *s, const char *key)
{
	const char *v[2];
	size_t n = note_values(s, key, v, 2);
	cr_assert_eq(n, 1, "note key %s appears %zu times", key, n);
	return v[0];
}

static bool matches(const char *re, const char *s)
{
	regex_t r;
	cr_assert_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	bool ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

Test(content, notes_threads_and_tripod_note)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "3", "--flag x", NULL });
	struct core c;
	snapshot_of(&c, &t);
	struct notes_seen s = { 0 };
	each_note(&c, collect, &s);

	cr_assert_eq(s.ntids, 4);
	cr_assert_eq(s.tids[0], t.pid, "the main thread comes first");
	cr_assert_eq(s.nfp, 4);
	cr_assert_eq(s.nprpsinfo, 1);
	cr_assert_eq(s.nauxv, 1);
	cr_assert_eq(s.nfile, 1);
	cr_assert_str_eq(s.psargs, TARGET_PARK " 3 --flag x");

	cr_assert_not_null(s.tripod, "no tripod note");
	const char *argv[8];
	cr_assert_eq(note_values(&s, "argv", argv, 8), 3);
	cr_assert_str_eq(argv[0], TARGET_PARK);
	cr_assert_str_eq(argv[1], "3");
	cr_assert_str_eq(argv[2], "--flag x");
	cr_assert_str_eq(note_value(&s, "format"), "1");
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	cr_assert_str_eq(note_value(&s, "pid"), pid);
	cr_assert_str_eq(note_value(&s, "seq"), "1");
	cr_assert_str_eq(note_value(&s, "interval"), "0.100000");
	const char *iso = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$";
	cr_assert(matches(iso, note_value(&s, "time")));
	cr_assert(matches(iso, note_value(&s, "start_time")));
	cr_assert_lt(strcmp(note_value(&s, "start_time"),
			    note_value(&s, "time")), 0);
	char *exe = realpath(TARGET_PARK, NULL);
	cr_assert_str_eq(note_value(&s, "exe"), exe);
	/* no libpython in this target: the interpreter is the executable */
	cr_assert_str_eq(note_value(&s, "interpreter"), exe);
	char *cmd, *out;
	cr_assert_gt(asprintf(&cmd, "readelf -n '%s' | sed -n 's/.*Build ID: //p'",
			      exe), 0);
	run_shell(cmd, &out);
	out[strcspn(out, "\n")] = '\0';
	cr_assert_gt(strlen(out), 0, "the test target has no build-id");
	cr_assert_str_eq(note_value(&s, "interpreter_build_id"), out);
	char cwd[4096];
	cr_assert_str_eq(note_value(&s, "cwd"), getcwd(cwd, sizeof(cwd)));
	char host[256];
	gethostname(host, sizeof(host));
	cr_assert_str_eq(note_value(&s, "hostname"), host);
	cr_assert(matches("^[0-9]+$", note_value(&s, "freeze_us")));
	free(cmd);
	free(out);
	free(exe);
	free(s.tripod);
	core_free(&c);
	assert_target_runs(&t);
	target_kill(&t);
}

/*
 * A statically linked interpreter started through the dynamic loader
 * ("ld-linux-x86-64.so.2 .../python3.14 ...", how the tests run Debian
 * sid's Pythons): /proc/PID/exe is the loader, and the note must name the
 * mapped file that looks like python.  The test target stands in for it
 * under the name python3.99.
 */
Test(content, interpreter_started_through_the_loader)
{
	const char *loader = "/lib64/ld-linux-x86-64.so.2";
	if (access(loader, X_OK) != 0)
		cr_skip_test("no %s", loader);
	char *dir = make_tmpdir();
	char *copy, *cmd, *out;
	cr_assert_gt(asprintf(&copy, "%s/python3.99", dir), 0);
	cr_assert_gt(asprintf(&cmd, "cp '%s' '%s'", TARGET_PARK, copy), 0);
	cr_assert_eq(run_shell(cmd, &out), 0);
	free(cmd);
	free(out);
	struct target t;
	target_start(&t, (char *[]){ (char *)loader, copy, "1", NULL });
	struct core c;
	snapshot_of(&c, &t);
	struct notes_seen s = { 0 };
	each_note(&c, collect, &s);
	cr_assert_not_null(s.tripod, "no tripod note");
	char *real_loader = realpath(loader, NULL);
	cr_assert_str_eq(note_value(&s, "exe"), real_loader);
	cr_assert_str_eq(note_value(&s, "interpreter"), copy);
	cr_assert_gt(asprintf(&cmd, "readelf -n '%s' | sed -n 's/.*Build ID: //p'",
			      copy), 0);
	run_shell(cmd, &out);
	out[strcspn(out, "\n")] = '\0';
	cr_assert_str_eq(note_value(&s, "interpreter_build_id"), out);
	free(cmd);
	free(out);
	free(real_loader);
	free(s.tripod);
	core_free(&c);
	target_kill(&t);
	remove_tree(dir);
	free(copy);
	free(dir);
}

Test(content, memory_of_global_and_heap)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "2", NULL });
	struct core c;
	snapshot_of(&c, &t);
	const char *marker = "tripod-global-marker: the quick brown fox";
	const unsigned char *g = core_mem(&c, t.global, strlen(marker) + 1);
	cr_assert_not_null(g, "the global is not in the core");
	cr_assert_str_eq((const char *)g, marker);
	const unsigned char *h = core_mem(&c, t.heap, t.heaplen);
	cr_assert_not_null(h, "the heap buffer is not in the core");
	for (size_t i = 0; i < t.heaplen; i++)
		cr_assert_eq(h[i], (unsigned char)(i * 7 + 3),
			     "heap byte %zu differs", i);
	core_free(&c);
	target_kill(&t);
}

Test(content, gdb_sees_every_thread)
{
	if (run_shell("gdb --version >/dev/null 2>&1", NULL) != 0)
		cr_skip_test("gdb is not installed (Debian package gdb)");
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "3", NULL });
	/*
	 * The main thread may still be on its way back from writing its
	 * ready line: wait until it sleeps in park_here (clock_nanosleep, 230
	 * on x86-64, in /proc/PID/syscall).
	 */
	char spath[64];
	snprintf(spath, sizeof(spath), "/proc/%d/syscall", (int)t.pid);
	for (int i = 0; i < 2000; i++) {
		FILE *f = fopen(spath, "r");
		int nr = -1;
		if (f) {
			if (fscanf(f, "%d", &nr) != 1)
				nr = -1;
			fclose(f);
		}
		if (nr == 230 || nr == 35)
			break;
		usleep(1000);
	}
	struct core c;
	snapshot_of(&c, &t);
	char *cmd, *out;
	cr_assert_gt(asprintf(&cmd,
			      "gdb -nx -batch -ex 'info threads' -ex 'thread apply all bt' "
			      "'%s' '%s' 2>&1",
			      TARGET_PARK, c.path), 0);
	cr_assert_eq(run_shell(cmd, &out), 0, "gdb failed: %s", out);
	/* four threads, each parked in park_here */
	size_t threads = 0, parked = 0;
	for (const char *p = out; (p = strstr(p, "\nThread ")); p++)
		threads++;
	for (const char *p = out; (p = strstr(p, " in park_here (")); p++)
		parked++;
	cr_assert_eq(threads, 4, "gdb output:\n%s", out);
	cr_assert_eq(parked, 4, "gdb output:\n%s", out);
	cr_assert(strstr(out, " in main ("), "gdb output:\n%s", out);
	cr_assert(strstr(out, " in thread_main ("), "gdb output:\n%s", out);
	char lwp[32];
	snprintf(lwp, sizeof(lwp), "(LWP %d)", (int)t.pid);
	cr_assert(strstr(out, lwp), "gdb output:\n%s", out);
	free(cmd);
	free(out);
	core_free(&c);
	target_kill(&t);
}

/* A Python target: the interpreter and its build-id are named. */
Test(content, python_interpreter_named)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("/usr/bin/python3 is not installed (Debian package python3)");
	char *dir = make_tmpdir(), *err;
	int st = snap_run((char *[]){ "-q", "-n", "1", "-i", "0.3", "-o", dir,
				      "--", "/usr/bin/python3", "-c",
				      "import time; time.sleep(1.5)", NULL },
			  NULL, 30000, &err);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "stderr: %s", err);
	free(err);
	char *cmd, *note, *core;
	cr_assert_gt(asprintf(&core, "%s/core", dir), 0);
	export_core(dir, "snapshot-000001.tripod", core);
	cr_assert_gt(asprintf(&cmd,
			      "tr '\\0' '\\n' < '%s' | grep -a -E '^(interpreter|interpreter_build_id|argv)='",
			      core), 0);
	free(core);
	run_shell(cmd, &note);
	free(cmd);
	cr_assert(strstr(note, "argv=/usr/bin/python3\nargv=-c\nargv=import time; time.sleep(1.5)\n"),
		  "%s", note);
	char *interp = strstr(note, "interpreter=");
	cr_assert_not_null(interp, "%s", note);
	interp += strlen("interpreter=");
	interp[strcspn(interp, "\n")] = '\0';
	/* libpython3.11.so when Python is built shared, else the binary */
	cr_assert(strstr(interp, "libpython3") || strstr(interp, "python3"),
		  "%s", interp);
	char *out;
	cr_assert_gt(asprintf(&cmd, "readelf -n '%s' | sed -n 's/.*Build ID: //p'",
			      interp), 0);
	run_shell(cmd, &out);
	out[strcspn(out, "\n")] = '\0';
	char *bid = strstr(interp + strlen(interp) + 1,
			   "interpreter_build_id=");
	cr_assert_not_null(bid);
	bid += strlen("interpreter_build_id=");
	bid[strcspn(bid, "\n")] = '\0';
	cr_assert_gt(strlen(out), 0);
	cr_assert_str_eq(bid, out);
	free(cmd);
	free(out);
	free(note);
	remove_tree(dir);
	free(dir);
}

/*
 * The snapshot through tripod's own reader (core/coreread.h), as
 * tripod-analyze will see it: copied memory from the core, code that was
 * not copied from the file on disk (its ELF header page in the snapshot
 * vouches for it).
 */
Test(content, tripod_reader_sees_the_same_memory)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "1", NULL });
	struct core c;
	snapshot_of(&c, &t);
	char *gz;
	cr_assert_gt(asprintf(&gz, "%s/snapshot-000001.tripod", c.dir), 0);
	struct tp_core *core;
	struct tp_error *err = tp_core_open(gz, &core);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert(tp_core_is_snapshot(core));
	cr_assert_eq(tp_core_pid(core), t.pid);
	struct tp_memsrc *mem = tp_core_memsrc(core);
	char buf[64];
	err = tp_memsrc_read(mem, t.global, buf, 42);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_str_eq(buf, "tripod-global-marker: the quick brown fox");
	unsigned char h[256];
	err = tp_memsrc_read(mem, t.heap + 5000, h, sizeof(h));
	cr_assert_null(err, "%s", tp_error_message(err));
	for (size_t i = 0; i < sizeof(h); i++)
		cr_assert_eq(h[i], (unsigned char)((5000 + i) * 7 + 3));
	size_t nfile = tp_core_nfiles(core);
	bool found = false;
	for (size_t i = 0; i < nfile; i++) {
		const struct tp_core_file_info *f = tp_core_file(core, i);
		if (strcmp(f->path, c.exe) != 0 || f->offset == 0)
			continue;
		/* a mapping of the executable past its first page: code or
		 * constants, compared with the file's own bytes */
		unsigned char a[16], b[16];
		err = tp_memsrc_read(mem, f->start, a, sizeof(a));
		cr_assert_null(err, "%s", tp_error_message(err));
		FILE *fp = fopen(c.exe, "rb");
		cr_assert_not_null(fp);
		fseek(fp, (long)f->offset, SEEK_SET);
		cr_assert_eq(fread(b, 1, sizeof(b), fp), sizeof(b));
		fclose(fp);
		cr_assert_eq(memcmp(a, b, sizeof(a)), 0);
		found = true;
		break;
	}
	cr_assert(found, "no mapping of %s past offset 0", c.exe);
	tp_core_destroy(core);
	free(gz);
	core_free(&c);
	target_kill(&t);
}
