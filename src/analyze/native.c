/* SPDX-License-Identifier: MIT */
/*
 * Native stacks: unwinding a core with libdwfl, symbolizing program
 * counters, merging C frames with Python frames, thread states.  The
 * output format is doc/native-stacks.md.
 */
#include "config.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <sys/reg.h>
#endif

#include "analyze/native.h"
#include "core/nstacks.h"

#ifdef HAVE_CXA_DEMANGLE
/* The C++ ABI's demangler (libstdc++), as eu-stack uses it. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len,
			    int *status);
#endif

/* Machine frames of one thread, innermost first, before symbolization. */
struct pcs {
	pid_t tid;
	struct tp_nstack_frame *v;  /* pc and activation; module unused here */
	size_t n, cap;
	bool truncated;
	const char *error;          /* arena-owned */
};

/* One libdwfl session over the snapshot, for unwinding and symbols. */
struct session {
	Dwfl *dwfl;
	Dwfl_Callbacks callbacks;
	char *debuginfo_path;
	struct tp_core *core;
	struct tp_memsrc *mem;
	size_t next_thread;         /* for the next_thread callback */
	struct tp_pyval_arena *arena;
	size_t max_frames;
};

static char *default_debuginfo_path;

static const char *arena_dup(struct tp_pyval_arena *a, const char *s)
{
	return s ? tp_pyval_arena_strdup(a, s) : NULL;
}

/* ---- unwinding the core (libdwfl) --------------------------------------- */

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_arg)
{
	struct session *s = arg;
	if (s->next_thread >= tp_core_nthreads(s->core))
		return 0;
	const struct tp_core_thread_info *t =
		tp_core_thread(s->core, s->next_thread++);
	*thread_arg = (void *)t;
	return t->tid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_arg)
{
	struct session *s = arg;
	for (size_t i = 0; i < tp_core_nthreads(s->core); i++) {
		const struct tp_core_thread_info *t = tp_core_thread(s->core, i);
		if (t->tid == tid) {
			*thread_arg = (void *)t;
			return true;
		}
	}
	return false;
}

/* Every read of the unwinder goes through the snapshot's memory source. */
static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result,
			   void *arg)
{
	struct session *s = arg;
	uint64_t v;
	struct tp_error *err = tp_memsrc_read(s->mem, addr, &v, sizeof(v));
	if (err) {
		tp_error_destroy(err);
		return false;
	}
	*result = v;
	return true;
}

/*
 * The registers of NT_PRSTATUS (struct user_regs_struct order, <sys/reg.h>)
 * in DWARF's x86-64 numbering: rax rdx rcx rbx rsi rdi rbp rsp r8-r15,
 * then 16, the return address column, for rip.
 */
static bool cb_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
#if defined(__x86_64__)
	const struct tp_core_thread_info *t = thread_arg;
	const elf_greg_t *r = t->regs;
	Dwarf_Word dw[17] = {
		r[RAX], r[RDX], r[RCX], r[RBX], r[RSI], r[RDI], r[RBP], r[RSP],
		r[R8], r[R9], r[R10], r[R11], r[R12], r[R13], r[R14], r[R15],
		r[RIP],
	};
	dwfl_thread_state_register_pc(thread, r[RIP]);
	return dwfl_thread_state_registers(thread, 0, 17, dw);
#else
	return false;
#endif
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

static struct tp_error *session_open(struct session *s, struct tp_core *core,
				     const struct tp_native_opts *opts,
				     struct tp_pyval_arena *arena)
{
	memset(s, 0, sizeof(*s));
	s->core = core;
	s->mem = tp_core_memsrc(core);
	s->arena = arena;
	s->max_frames = opts->max_frames ? opts->max_frames
					 : TP_NATIVE_MAX_FRAMES;
	if (opts->debuginfo_path &&
	    !(s->debuginfo_path = strdup(opts->debuginfo_path)))
		return &tp_error_nomem;
	s->callbacks.find_elf = dwfl_build_id_find_elf;
	s->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	s->callbacks.debuginfo_path = s->debuginfo_path ? &s->debuginfo_path
							: &default_debuginfo_path;
	Elf *elf = tp_core_elf(core);
	if (!elf)
		return tp_error_create(TP_ERR_FORMAT,
				       "libelf cannot read the core: %s",
				       elf_errmsg(-1));
	s->dwfl = dwfl_begin(&s->callbacks);
	if (!s->dwfl)
		return tp_error_create(TP_ERR_OTHER, "libdwfl: %s",
				       dwfl_errmsg(-1));
	dwfl_report_begin(s->dwfl);
	int n = dwfl_core_file_report(s->dwfl, elf, NULL);
	dwfl_report_end(s->dwfl, NULL, NULL);
	if (n < 0)
		return tp_error_create(TP_ERR_FORMAT,
				       "libdwfl cannot read the core's modules: %s",
				       dwfl_errmsg(-1));
	return NULL;
}

static void session_close(struct session *s)
{
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s->debuginfo_path);
	s->dwfl = NULL;
	s->debuginfo_path = NULL;
}

static bool pcs_push(struct pcs *p, uint64_t pc, uint64_t sp, bool activation)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct tp_nstack_frame *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return false;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct tp_nstack_frame){
		.pc = pc, .sp = sp, .activation = activation,
		.module = TP_NSTACKS_NO_MODULE,
	};
	return true;
}

struct frame_ctx {
	struct session *s;
	struct pcs *p;
	bool nomem;
};

static int cb_frame(Dwfl_Frame *state, void *arg)
{
	struct frame_ctx *c = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (c->p->n >= c->s->max_frames) {
		c->p->truncated = true;
		return DWARF_CB_ABORT;
	}
	/* rsp (DWARF register 7) in this frame; 0 when not recovered */
	Dwarf_Word sp = 0;
	if (dwfl_frame_reg(state, 7, &sp) != 0)
		sp = 0;
	if (!pcs_push(c->p, pc, sp, activation)) {
		c->nomem = true;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

/* Unwind every thread of the core into @ret (one entry per thread). */
static struct tp_error *unwind_core(struct session *s, struct pcs *ret)
{
	size_t n = tp_core_nthreads(s->core);
	bool attached = dwfl_attach_state(s->dwfl, tp_core_elf(s->core),
					  tp_core_pid(s->core),
					  &thread_callbacks, s);
	const char *attach_err = attached ? NULL
					  : arena_dup(s->arena, dwfl_errmsg(-1));
	for (size_t i = 0; i < n; i++) {
		struct pcs *p = &ret[i];
		p->tid = tp_core_thread(s->core, i)->tid;
		if (!attached) {
			p->error = attach_err;
			continue;
		}
		struct frame_ctx c = { s, p, false };
		int r = dwfl_getthread_frames(s->dwfl, p->tid, cb_frame, &c);
		if (c.nomem)
			return &tp_error_nomem;
		/*
		 * A stack ends where the call frame information says the
		 * return address is undefined (_start, clone3): then
		 * libdwfl returns 0.  Anything else is worth saying.
		 */
		if (r != 0 && !p->truncated)
			p->error = arena_dup(s->arena, dwfl_errmsg(-1));
	}
	return NULL;
}

/* The stacks tripod-snap recorded, one entry per thread of the core. */
static struct tp_error *recorded(struct session *s, const struct tp_nstacks *ns,
				 struct pcs *ret)
{
	size_t n = tp_core_nthreads(s->core);
	for (size_t i = 0; i < n; i++) {
		struct pcs *p = &ret[i];
		p->tid = tp_core_thread(s->core, i)->tid;
		const struct tp_nstack_thread *t = NULL;
		for (size_t k = 0; k < ns->nthreads && !t; k++)
			if (ns->threads[k].tid == p->tid)
				t = &ns->threads[k];
		if (!t) {
			p->error = "tripod-snap recorded no native stack for this thread";
			continue;
		}
		for (size_t k = 0; k < t->nframes; k++)
			if (!pcs_push(p, t->frames[k].pc, t->frames[k].sp,
				      t->frames[k].activation))
				return &tp_error_nomem;
		p->truncated = t->truncated;
		p->error = arena_dup(s->arena, t->error);
	}
	return NULL;
}

/* ---- symbols ------------------------------------------------------------ */

/* One machine frame, symbolized: frames[first, first + n) of the list. */
struct phys {
	size_t first, n;
	uint64_t sp;                /* stack pointer in it, 0 if unknown */
	const char *function;       /* of the machine frame (not inlined) */
};

struct frames {
	struct tp_rframe *v;        /* innermost first */
	size_t n, cap;
	struct phys *phys;
	size_t nphys, physcap;
};

static struct tp_rframe *frames_push(struct frames *f)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct tp_rframe *v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		f->v = v;
		f->cap = cap;
	}
	struct tp_rframe *r = &f->v[f->n++];
	memset(r, 0, sizeof(*r));
	r->kind = TP_RFRAME_NATIVE;
	r->line = -1;
	return r;
}

static void frames_free(struct frames *f)
{
	free(f->v);
	free(f->phys);
	memset(f, 0, sizeof(*f));
}

/* C++ names demangled, others as they are; arena-owned. */
static const char *demangle(struct tp_pyval_arena *arena, const char *name)
{
	if (!name)
		return NULL;
#ifdef HAVE_CXA_DEMANGLE
	if (name[0] == '_' && name[1] == 'Z') {
		int status = -1;
		char *d = __cxa_demangle(name, NULL, NULL, &status);
		if (d && status == 0) {
			const char *r = arena_dup(arena, d);
			free(d);
			return r;
		}
		free(d);
	}
#endif
	return arena_dup(arena, name);
}

/* A function's name from its DIE (an inlined one's from its origin). */
static const char *die_name(struct tp_pyval_arena *arena, Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *name =
		dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(
			die, DW_AT_MIPS_linkage_name, &a));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
	return demangle(arena, name);
}

static void hex_build_id(Dwfl_Module *mod, char *out, size_t outlen)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &bits, &vaddr);
	out[0] = '\0';
	if (len <= 0 || (size_t)len * 2 + 1 > outlen)
		return;
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < len; i++) {
		out[2 * i] = hex[bits[i] >> 4];
		out[2 * i + 1] = hex[bits[i] & 15];
	}
	out[2 * len] = '\0';
}

/*
 * Module facts cached per Dwfl_Module: the build-id and path strings are
 * the same for every frame of the module.
 */
struct modinfo {
	Dwfl_Module *mod;
	const char *path, *build_id;
	uint64_t bias;
};

struct modcache {
	struct modinfo *v;
	size_t n, cap;
};

static const struct modinfo *module_info(struct session *s,
					 struct modcache *mc,
					 Dwfl_Module *mod)
{
	for (size_t i = 0; i < mc->n; i++)
		if (mc->v[i].mod == mod)
			return &mc->v[i];
	if (mc->n == mc->cap) {
		size_t cap = mc->cap ? mc->cap * 2 : 16;
		struct modinfo *v = realloc(mc->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		mc->v = v;
		mc->cap = cap;
	}
	struct modinfo *m = &mc->v[mc->n++];
	Dwarf_Addr start;
	const char *name = dwfl_module_info(mod, NULL, &start, NULL, NULL,
					    NULL, NULL, NULL);
	char id[256];
	hex_build_id(mod, id, sizeof(id));
	GElf_Addr bias = start;
	/* the load bias, from the module's ELF file when it is found */
	if (!dwfl_module_getelf(mod, &bias))
		bias = start;
	m->mod = mod;
	m->path = arena_dup(s->arena, name);
	m->build_id = id[0] ? arena_dup(s->arena, id) : NULL;
	m->bias = bias;
	return m;
}

/* Nesting of code scopes followed down from a unit: deeper is not code. */
#define MAX_SCOPES 64

/* DIEs that hold no code but may hold functions (C++). */
static bool is_container(int tag)
{
	return tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
	       tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
	       tag == DW_TAG_module;
}

static bool is_code_scope(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_lexical_block || tag == DW_TAG_try_block ||
	       tag == DW_TAG_catch_block || tag == DW_TAG_entry_point;
}

/*
 * The DIEs of @parent's subtree that contain @pc, outermost first, from
 * *@n on; false when none does.  dwarf_getscopes() would do, but it gives
 * up on the units gcc's link-time optimisation makes (elfutils 0.188 on
 * Debian's python3.11: "no address value"), where the concrete functions
 * are found by their address ranges all the same.
 */
static bool scopes_below(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *out,
			 int *n, int depth)
{
	Dwarf_Die child;
	if (depth >= MAX_SCOPES || dwarf_child(parent, &child) != 0)
		return false;
	do {
		int tag = dwarf_tag(&child);
		if (is_container(tag)) {
			if (scopes_below(&child, pc, out, n, depth + 1))
				return true;
			continue;
		}
		if (!is_code_scope(tag) || dwarf_haspc(&child, pc) != 1)
			continue;
		if (*n < MAX_SCOPES)
			out[(*n)++] = child;
		scopes_below(&child, pc, out, n, depth + 1);
		return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static int scopes_at(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die *out)
{
	int n = 0;
	scopes_below(cu, pc, out, &n, 0);
	return n;
}

/*
 * The frames of one machine frame at @pc, innermost first, onto @out: the
 * calls inlined at that pc (as gdb shows them: the inlined function with
 * the line in it, then its caller with the line of the call), then the
 * function itself.  @activation: @pc is where the thread stopped, not a
 * return address (whose call instruction is at pc - 1).
 */
static struct tp_error *symbolize(struct session *s, struct modcache *mc,
				  uint64_t pc, uint64_t sp, bool activation,
				  struct frames *out)
{
	uint64_t at = activation || pc == 0 ? pc : pc - 1;
	struct tp_rnative base = { .pc = pc };
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, at);
	const char *symname = NULL;
	Dwarf_Die *cu = NULL;
	Dwarf_Addr dwbias = 0;
	if (mod) {
		const struct modinfo *m = module_info(s, mc, mod);
		if (!m)
			return &tp_error_nomem;
		base.module = m->path;
		base.build_id = m->build_id;
		base.offset = pc - m->bias;
		GElf_Off off;
		GElf_Sym sym;
		symname = dwfl_module_addrinfo(mod, at, &off, &sym, NULL, NULL,
					       NULL);
		cu = dwfl_module_addrdie(mod, at, &dwbias);
		Dwfl_Line *l = dwfl_module_getsrc(mod, at);
		int line = 0;
		const char *file = l ? dwfl_lineinfo(l, NULL, &line, NULL, NULL,
						     NULL)
				     : NULL;
		if (file && line > 0) {
			base.file = arena_dup(s->arena, file);
			base.line = line;
		}
	}
	size_t first = out->n;
	Dwarf_Die scopes[MAX_SCOPES];
	int nscopes = cu ? scopes_at(cu, at - dwbias, scopes) : 0;
	const char *file = base.file;
	int line = base.line;
	const char *function = NULL;
	for (int i = nscopes - 1; i >= 0; i--) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine)
			continue;
		struct tp_rframe *f = frames_push(out);
		if (!f)
			return &tp_error_nomem;
		f->native = base;
		f->native.function = die_name(s->arena, &scopes[i]);
		f->native.file = file;
		f->native.line = line;
		function = f->native.function;
		if (tag == DW_TAG_subprogram)
			break;
		f->native.inlined = true;
		/* the caller's line: where this call was inlined */
		Dwarf_Attribute a;
		Dwarf_Word cf = 0, cl = 0;
		Dwarf_Files *files;
		size_t nfiles;
		file = NULL;
		line = 0;
		if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &a),
				    &cf) == 0 &&
		    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && cf < nfiles)
			file = arena_dup(s->arena,
					 dwarf_filesrc(files, cf, NULL, NULL));
		if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &a),
				    &cl) == 0)
			line = (int)cl;
	}
	if (out->n == first || !function) {
		/*
		 * No DWARF for this pc (or no subprogram around it): the
		 * symbol table's name, else none; an inlined chain without
		 * its function gets the symbol's name as the last frame.
		 */
		struct tp_rframe *f = frames_push(out);
		if (!f)
			return &tp_error_nomem;
		f->native = base;
		f->native.file = file;
		f->native.line = line;
		f->native.function = demangle(s->arena, symname);
		function = f->native.function;
	}
	if (out->nphys == out->physcap) {
		size_t cap = out->physcap ? out->physcap * 2 : 64;
		struct phys *v = realloc(out->phys, cap * sizeof(*v));
		if (!v)
			return &tp_error_nomem;
		out->phys = v;
		out->physcap = cap;
	}
	/* the machine frame's function: the symbol's name when known (a
	   .cold part is named after its function by DWARF, not by it) */
	out->phys[out->nphys++] = (struct phys){
		.first = first, .n = out->n - first, .sp = sp,
		.function = function ? function : symname,
	};
	return NULL;
}

/* ---- merging ------------------------------------------------------------ */

/* Is @name the evaluation loop @loop, or a part of it ("X.cold")? */
static bool is_eval_loop(const char *name, const char *loop)
{
	if (!name || !loop)
		return false;
	size_t n = strlen(loop);
	return strncmp(name, loop, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

/*
 * Is machine frame @i of @nf the call of the evaluation loop that runs the
 * Python frames of call @call of @t?  Where the walk found the call's
 * entry frame (3.12+), the frame whose stack holds it, between its stack
 * pointer and its caller's: this needs no symbol (a stripped static
 * interpreter).  Else by the function's name.
 */
static bool runs_call(const struct tp_rsnapshot *snap,
		      const struct tp_rthread *t, const struct frames *nf,
		      size_t i, unsigned call)
{
	if (call < t->neval_entries && t->eval_entries[call]) {
		uint64_t a = t->eval_entries[call];
		uint64_t lo = nf->phys[i].sp;
		uint64_t hi = i + 1 < nf->nphys ? nf->phys[i + 1].sp : UINT64_MAX;
		if (lo && hi)
			return lo <= a && a < hi;
	}
	return is_eval_loop(nf->phys[i].function, snap->eval_loop);
}

/*
 * The merged stack of @t, outermost first, in the arena: walking the
 * machine frames from the innermost, the Nth call of the evaluation loop
 * is replaced by the Python frames whose eval_call is N (those of the
 * innermost call first).  When the Python frames run out first (a thread
 * state of another interpreter runs the outer calls), the remaining
 * eval-loop frames stay as C frames; when the machine frames run out first
 * (the unwinder stopped early), the remaining Python frames go outermost.
 */
static struct tp_error *merge(struct tp_rsnapshot *snap, struct tp_rthread *t,
			      const struct frames *nf)
{
	size_t total = nf->n + t->nframes;
	struct tp_rframe *v = tp_pyval_arena_alloc(snap->arena,
						   (total ? total : 1) *
							   sizeof(*v));
	if (!v)
		return &tp_error_nomem;
	size_t o = total;           /* fill from the end: innermost last */
	size_t py = t->nframes;     /* Python frames left: [0, py) */
	unsigned call = 0;
	for (size_t i = 0; i < nf->nphys; i++) {
		const struct phys *p = &nf->phys[i];
		if (py && runs_call(snap, t, nf, i, call)) {
			while (py && t->frames[py - 1].eval_call == call)
				v[--o] = t->frames[--py];
			call++;
			continue;
		}
		for (size_t k = 0; k < p->n; k++)
			v[--o] = nf->v[p->first + k];
	}
	while (py)
		v[--o] = t->frames[--py];
	t->frames = v + o;
	t->nframes = total - o;
	t->native = true;
	return NULL;
}

/* ---- thread states ------------------------------------------------------ */

/*
 * Waiting for the GIL: take_gil() on the stack (3.x); on 2.7 the GIL is a
 * plain lock, taken by PyThread_acquire_lock() called from one of these.
 */
static bool waits_for_gil(const struct frames *nf)
{
	static const char *const py2_takers[] = {
		"PyEval_RestoreThread", "PyEval_AcquireThread",
		"PyEval_AcquireLock", "PyEval_EvalFrameEx",
	};
	for (size_t i = 0; i < nf->n; i++) {
		const char *fn = nf->v[i].native.function;
		if (fn && !strcmp(fn, "take_gil"))
			return true;
	}
	for (size_t i = 0; i + 1 < nf->nphys; i++) {
		const char *fn = nf->phys[i].function;
		if (!fn || strcmp(fn, "PyThread_acquire_lock"))
			continue;
		const char *caller = nf->phys[i + 1].function;
		for (size_t k = 0; caller && k < sizeof(py2_takers) /
						 sizeof(py2_takers[0]); k++)
			if (!strcmp(caller, py2_takers[k]))
				return true;
		return false;
	}
	return false;
}

/*
 * Linux's "restart me" returns (include/linux/errno.h) and EINTR: a thread
 * stopped inside a blocking system call shows one of them in rax, the call
 * number still in orig_rax.
 */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

static void thread_state(const struct tp_core_thread_info *ct,
			 const struct frames *nf, bool has_python,
			 struct tp_rthread *t)
{
	if (waits_for_gil(nf)) {
		t->run_state = TP_RSTATE_GIL;
		return;
	}
	t->run_state = TP_RSTATE_RUNNING;
#if defined(__x86_64__)
	long nr = (long)ct->regs[ORIG_RAX];
	long rax = (long)ct->regs[RAX];
	if (nr >= 0 && (rax == -EINTR || rax == -ERESTARTSYS ||
			rax == -ERESTARTNOINTR || rax == -ERESTARTNOHAND ||
			rax == -ERESTART_RESTARTBLOCK)) {
		t->run_state = has_python ? TP_RSTATE_SYSCALL : TP_RSTATE_IDLE;
		t->syscall = tp_native_syscall_name(nr);
		if (!t->syscall)
			t->syscall = "unknown";
	}
#endif
}

/* ---- the report --------------------------------------------------------- */

static struct tp_rthread *add_thread(struct tp_rsnapshot *snap)
{
	struct tp_rthread *v = tp_pyval_arena_alloc(
		snap->arena, (snap->nthreads + 1) * sizeof(*v));
	if (!v)
		return NULL;
	if (snap->nthreads)
		memcpy(v, snap->threads, snap->nthreads * sizeof(*v));
	snap->threads = v;
	struct tp_rthread *t = &v[snap->nthreads++];
	memset(t, 0, sizeof(*t));
	t->holds_gil = -1;
	t->interp_id = -1;
	return t;
}

/*
 * The thread state of @snap to merge with the native stack of thread
 * @tid: with several (a thread running code of a subinterpreter has one
 * per interpreter it entered), the one of the highest interpreter id,
 * whose frames are the innermost (doc/native-stacks.md).  A thread state
 * that is not a running thread (tp_rthread.state: one made for a thread
 * that has not started, which carries its creator's tid) is never it.
 */
static struct tp_rthread *python_thread(struct tp_rsnapshot *snap, pid_t tid)
{
	struct tp_rthread *best = NULL;
	for (size_t i = 0; i < snap->nthreads; i++) {
		struct tp_rthread *t = &snap->threads[i];
		if (t->tid == tid && t->python && !t->state &&
		    (!best || t->interp_id > best->interp_id))
			best = t;
	}
	return best;
}

struct tp_error *tp_native_add(struct tp_core *core,
			       const struct tp_native_opts *opts,
			       struct tp_rsnapshot *snap)
{
#if !defined(__x86_64__)
	return tp_error_create(TP_ERR_UNSUPPORTED,
			       "native stacks are only read on x86-64");
#endif
	struct session s;
	struct tp_nstacks ns = { 0 };
	size_t nlen;
	const void *note = tp_core_nstacks(core, &nlen);
	struct tp_error *err = NULL;
	if (opts->source == TP_NATIVE_RECORDED && !note)
		return tp_error_create(TP_ERR_INVALID,
				       "no native stacks recorded in this snapshot (tripod-snap --native records them)");
	bool use_note = note && opts->source != TP_NATIVE_CORE;
	if (use_note && (err = tp_nstacks_decode(note, nlen, &ns)))
		return err;
	size_t n = tp_core_nthreads(core);
	struct pcs *pcs = calloc(n ? n : 1, sizeof(*pcs));
	struct modcache mc = { 0 };
	if (!pcs) {
		tp_nstacks_deinit(&ns);
		return &tp_error_nomem;
	}
	if ((err = session_open(&s, core, opts, snap->arena)))
		goto out;
	err = use_note ? recorded(&s, &ns, pcs) : unwind_core(&s, pcs);
	if (err)
		goto out;
	snap->native_source = use_note ? "recorded" : "core";
	for (size_t i = 0; i < n && !err; i++) {
		const struct tp_core_thread_info *ct = tp_core_thread(core, i);
		struct frames nf = { 0 };
		for (size_t k = 0; k < pcs[i].n && !err; k++)
			err = symbolize(&s, &mc, pcs[i].v[k].pc, pcs[i].v[k].sp,
					pcs[i].v[k].activation, &nf);
		struct tp_rthread *t = err ? NULL : python_thread(snap, ct->tid);
		if (!err && !t) {
			t = add_thread(snap);
			if (!t) {
				err = &tp_error_nomem;
			} else {
				t->tid = ct->tid;
				t->is_main = ct->tid == snap->pid;
			}
		}
		if (!err) {
			thread_state(ct, &nf, t->nframes > 0, t);
			t->native_error = pcs[i].error;
			err = merge(snap, t, &nf);
			t->truncated |= pcs[i].truncated;
		}
		frames_free(&nf);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(pcs[i].v);
	free(pcs);
	free(mc.v);
	session_close(&s);
	tp_nstacks_deinit(&ns);
	return err;
}
