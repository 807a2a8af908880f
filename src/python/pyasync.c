/* SPDX-License-Identifier: MIT */
/*
 * asyncio tasks: what no thread's stack shows.  A task suspended in an
 * await is a chain of suspended coroutines that only the task knows:
 *
 *   task -> its coroutine -> the coroutine it awaits -> ... -> the
 *   innermost awaitable: a future (through its FutureIter, or its
 *   pure-Python __await__ generator), another task, or anything else.
 *
 * Where the tasks are (the capability record's task_registry):
 *  - 3.6: the _asyncio module's static all_tasks (a WeakSet of the C
 *    tasks; found through its symbol table) and the Python Task class's
 *    _all_tasks; the running ones in current_tasks and _current_tasks;
 *  - 3.7-3.11: asyncio.tasks._all_tasks, a WeakSet (a set of weak
 *    references in its `data` attribute);
 *  - 3.12-3.13: _scheduled_tasks (a WeakSet) and _eager_tasks (a set,
 *    the eager tasks still in their first step);
 *  - 3.14+: the same for tasks of the Python implementation; C tasks are
 *    linked through task_node into their thread state's
 *    asyncio_tasks_head list (the interpreter's own list keeps those of
 *    threads that ended).
 * The task running now is its loop's in asyncio.tasks._current_tasks
 * (loop -> task), 3.14+ its thread state's asyncio_running_task.
 *
 * How a suspended generator awaits: CPython's _PyGen_yf() (see enum
 * tp_await_model).  The awaited object is on top of the generator's value
 * stack.
 *
 * Who awaits whom (each task's awaited_by): a task awaits what its chain
 * ends with, or its fut_waiter: a task, or a gather's future (whose
 * children it then awaits), and a TaskGroup's parent task awaits the
 * group's tasks (what CPython 3.14 records as awaited-by too): the
 * TaskGroup made each of them with its _on_task_done as a done callback.
 *
 * The C Task's fields come from the layout record (DWARF of the _asyncio
 * module); tasks of the Python implementation (asyncio.tasks._PyTask, or
 * subclasses of it) from their instance attributes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "python/internal.h"

/* Caps on what a snapshot controls. */
#define MAX_TASKS 65536
#define MAX_AWAIT_DEPTH 1024
#define MAX_SET_MASK (1u << 24)
#define MAX_BASES 64
#define MAX_GATHER_DEPTH 16

/* fut_state of _asynciomodule.c */
enum { FUT_PENDING, FUT_CANCELLED, FUT_FINISHED };

struct addr_vec {
	uint64_t *v;
	size_t n, cap;
};

static bool vec_has(const struct addr_vec *a, uint64_t x)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i] == x)
			return true;
	return false;
}

static bool vec_push(struct addr_vec *a, uint64_t x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		uint64_t *v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return false;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return true;
}

/* The asyncio module's objects this snapshot has. */
struct aio {
	struct tp_python *py;
	struct tp_rsnapshot *snap;
	uint64_t none;
	uint64_t tasks_dict;                /* asyncio.tasks.__dict__ */
	uint64_t ctask, pytask;             /* task types */
	uint64_t cfuture, pyfuture;         /* future types */
	uint64_t gathering;                 /* tasks._GatheringFuture */
	uint64_t taskgroup;                 /* taskgroups.TaskGroup, 3.11+ */
	struct addr_vec tasks;              /* task addresses, as found */
	struct addr_vec running;            /* tasks running now */
	struct tp_strbuf errors;
};

static void note(struct aio *a, struct tp_error *err, const char *what)
{
	if (!err)
		return;
	if (err != &tp_error_nomem)
		tp_strbuf_printf(&a->errors, "%s%s: %s",
				 a->errors.len ? "; " : "", what,
				 tp_error_message(err));
	tp_error_destroy(err);
}

/* Is @type @base or a subclass of it (tp_base chain)? */
static bool derives(struct aio *a, uint64_t type, uint64_t base)
{
	if (!base)
		return false;
	for (int i = 0; type && i < MAX_BASES; i++) {
		if (type == base)
			return true;
		struct tp_error *err = py_read_ptr(a->py, type +
						   LOFF(a->py, TP_BASE), &type);
		if (err) {
			tp_error_destroy(err);
			return false;
		}
	}
	return false;
}

static bool is_c_task(struct aio *a, uint64_t type)
{
	return derives(a, type, a->ctask);
}

static bool is_py_task(struct aio *a, uint64_t type)
{
	return derives(a, type, a->pytask);
}

static bool is_future(struct aio *a, uint64_t type)
{
	return derives(a, type, a->cfuture) || derives(a, type, a->pyfuture) ||
	       is_c_task(a, type) || is_py_task(a, type);
}

/* The C string tp_name of @type equals @name? */
static bool type_named(struct aio *a, uint64_t type, const char *name)
{
	uint64_t p;
	char buf[64];
	size_t n = strlen(name) + 1;
	if (n > sizeof(buf))
		return false;
	struct tp_error *err = py_read_ptr(a->py, type + LOFF(a->py, TP_NAME),
					   &p);
	if (!err)
		err = py_read(a->py, p, buf, n);
	if (err) {
		tp_error_destroy(err);
		return false;
	}
	return memcmp(buf, name, n) == 0;
}

/* Module @name's dict from sys.modules, 0 when not imported. */
static struct tp_error *module_dict(struct aio *a, uint64_t modules,
				    const char *name, uint64_t *ret)
{
	uint64_t mod = 0;
	*ret = 0;
	struct tp_error *err = py_dict_get_str(a->py, modules, name, &mod);
	if (err || !mod)
		return err;
	return py_read_ptr(a->py, mod + LOFF(a->py, MODULE_DICT), ret);
}

/* ---- sets and weak sets --------------------------------------------- */

/* Calls @fn(@arg, key) for each key of a set; false from it: no memory. */
typedef bool set_fn(void *arg, uint64_t key);

static struct tp_error *set_iter(struct aio *a, uint64_t set, set_fn *fn,
				 void *arg)
{
	struct tp_python *py = a->py;
	uint64_t table;
	int64_t mask;
	struct tp_error *err;
	if ((err = py_read_ptr(py, set + LOFF(py, SET_TABLE), &table)) ||
	    (err = py_read_i64(py, set + LOFF(py, SET_MASK), &mask)))
		return err;
	if (mask < 0 || (uint64_t)mask >= MAX_SET_MASK)
		return tp_error_fault(set, "bad set mask %lld", (long long)mask);
	uint64_t esize = (uint64_t)LOFF(py, SIZEOF_SETENTRY);
	for (uint64_t i = 0; i <= (uint64_t)mask; i++) {
		uint64_t key;
		if ((err = py_read_ptr(py, table + i * esize +
						   LOFF(py, SETENTRY_KEY),
				       &key)))
			return err;
		if (!key || key == py->set_dummy)
			continue;
		if (!fn(arg, key))
			return &tp_error_nomem;
	}
	return NULL;
}

static bool add_task(void *arg, uint64_t task)
{
	struct aio *a = arg;
	if (!task || task == a->none || vec_has(&a->tasks, task) ||
	    a->tasks.n >= MAX_TASKS)
		return true;
	return vec_push(&a->tasks, task);
}

/* A weak reference in a WeakSet: its referent, if alive. */
static bool add_weak_task(void *arg, uint64_t ref)
{
	struct aio *a = arg;
	uint64_t obj = 0;
	struct tp_error *err = py_read_ptr(a->py, ref +
					   LOFF(a->py, WEAKREF_OBJECT), &obj);
	if (err) {
		tp_error_destroy(err);
		return true;
	}
	return add_task(a, obj);
}

/* The tasks of WeakSet @ws (0: none). */
static struct tp_error *weakset_obj_tasks(struct aio *a, uint64_t ws)
{
	uint64_t data = 0;
	struct tp_error *err = NULL;
	if (ws)
		err = py_instance_attr(a->py, ws, "data", &data);
	if (!err && data) {
		if (!LHAS(a->py, WEAKREF_OBJECT))
			err = tp_error_create(TP_ERR_NODEBUG,
					      "no layout of weak references");
		else
			err = set_iter(a, data, add_weak_task, a);
	}
	return err;
}

static void weakset_tasks(struct aio *a, const char *name)
{
	uint64_t ws = 0, data = 0;
	struct tp_error *err = py_dict_get_str(a->py, a->tasks_dict, name, &ws);
	if (!err && ws)
		err = py_instance_attr(a->py, ws, "data", &data);
	if (!err && data) {
		if (!LHAS(a->py, WEAKREF_OBJECT))
			err = tp_error_create(TP_ERR_NODEBUG,
					      "no layout of weak references");
		else
			err = set_iter(a, data, add_weak_task, a);
	}
	note(a, err, name);
}

static void set_tasks(struct aio *a, const char *name)
{
	uint64_t set = 0;
	struct tp_error *err = py_dict_get_str(a->py, a->tasks_dict, name,
					       &set);
	if (!err && set)
		err = set_iter(a, set, add_task, a);
	note(a, err, name);
}

/* 3.14+: the tasks linked through task_node from the list at @head. */
static void list_tasks(struct aio *a, uint64_t head, const char *what)
{
	struct tp_python *py = a->py;
	uint64_t node;
	struct tp_error *err = py_read_ptr(py, head + LOFF(py, LLIST_NEXT),
					   &node);
	for (size_t n = 0; !err && node && node != head; n++) {
		if (n >= MAX_TASKS) {
			err = tp_error_fault(head, "task list too long or looping");
			break;
		}
		if (!add_task(a, node - (uint64_t)LOFF(py, TASK_NODE))) {
			err = &tp_error_nomem;
			break;
		}
		err = py_read_ptr(py, node + LOFF(py, LLIST_NEXT), &node);
	}
	note(a, err, what);
}

static bool running_cb(void *arg, uint64_t key, uint64_t value)
{
	struct aio *a = arg;
	(void)key;
	return vec_push(&a->running, value);
}

/*
 * 3.6: the object a static variable @name of the _asyncio module points
 * to (all_tasks, its WeakSet of C tasks; current_tasks, loop -> running
 * task), 0 when unknown.  The variable's address comes from the module's
 * symbol table, placed by the C Task type the snapshot has
 * (asyncio.tasks._CTask is the module's static TaskType): the libdwfl
 * session may be another snapshot's of the same build, with the module
 * mapped elsewhere.
 */
static struct tp_error *asyncio36_static(struct aio *a, const char *name,
					 uint64_t *ret)
{
	struct tp_target *t = a->py->target;
	*ret = 0;
	uint64_t type = tp_target_module_symbol(t, "_asyncio.", "TaskType");
	uint64_t var = tp_target_module_symbol(t, "_asyncio.", name);
	if (!a->ctask || !type || !var)
		return tp_error_create(TP_ERR_NODEBUG,
				       "no symbol %s of the _asyncio module", name);
	return py_read_ptr(a->py, var - type + a->ctask, ret);
}

/* 3.6: attribute @name of the Python Task class (_all_tasks,
 * _current_tasks), 0 when absent. */
static struct tp_error *pytask_class_attr(struct aio *a, const char *name,
					  uint64_t *ret)
{
	uint64_t dict = 0;
	*ret = 0;
	if (!a->pytask)
		return NULL;
	struct tp_error *err = py_read_ptr(a->py, a->pytask +
					   LOFF(a->py, TP_DICT), &dict);
	if (!err && dict)
		err = py_dict_get_str(a->py, dict, name, ret);
	return err;
}

static void tasks36(struct aio *a)
{
	uint64_t obj;
	struct tp_error *err = asyncio36_static(a, "current_tasks", &obj);
	if (!err && obj)
		err = py_dict_iter(a->py, obj, running_cb, a);
	note(a, err, "_asyncio current_tasks");
	err = asyncio36_static(a, "all_tasks", &obj);
	if (!err)
		err = weakset_obj_tasks(a, obj);
	note(a, err, "_asyncio all_tasks");
	err = pytask_class_attr(a, "_current_tasks", &obj);
	if (!err && obj)
		err = py_dict_iter(a->py, obj, running_cb, a);
	note(a, err, "Task._current_tasks");
	err = pytask_class_attr(a, "_all_tasks", &obj);
	if (!err)
		err = weakset_obj_tasks(a, obj);
	note(a, err, "Task._all_tasks");
}

/* ---- one task --------------------------------------------------------- */

struct frame_vec {
	struct tp_rframe *v;
	size_t n, cap;
};

static struct tp_rframe *frame_vec_push(struct frame_vec *f)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct tp_rframe *v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		f->v = v;
		f->cap = cap;
	}
	return &f->v[f->n++];
}

/*
 * The object a suspended PyFrameObject (3.6-3.10) awaits, 0 if none: the
 * instruction after f_lasti is YIELD_FROM; the awaited object is on top of
 * the value stack (3.6-3.9 f_stacktop, NULL unless suspended; 3.10
 * f_valuestack[f_stackdepth - 1]).
 */
static struct tp_error *frameobj_awaits(struct aio *a, uint64_t frame,
					uint64_t *ret)
{
	struct tp_python *py = a->py;
	struct tp_error *err;
	int32_t lasti;
	uint64_t code, bytes, top = 0;
	*ret = 0;
	if ((err = py_read_i32(py, frame + LOFF(py, FO_LASTI), &lasti)))
		return err;
	if (lasti < 0)
		return NULL;
	if (LHAS(py, FO_STACKTOP)) {
		if ((err = py_read_ptr(py, frame + LOFF(py, FO_STACKTOP), &top)))
			return err;
		if (!top)
			return NULL;
	}
	uint64_t next = py->caps->lasti_in_code_units ? ((uint64_t)lasti + 1) * 2
						      : (uint64_t)lasti + 2;
	uint8_t op;
	if ((err = py_read_ptr(py, frame + LOFF(py, FO_CODE), &code)) ||
	    (err = py_read_ptr(py, code + LOFF(py, CO_CODE), &bytes)) ||
	    (err = py_read_u8(py, bytes + LOFF(py, BYTES_SVAL) + next, &op)))
		return err;
	if (op != py->caps->await_opcode)
		return NULL;
	if (top)
		return py_read_ptr(py, top - 8, ret);
	if (!LHAS(py, FO_STACKDEPTH) || !LHAS(py, FO_VALUESTACK))
		return tp_error_create(TP_ERR_NODEBUG,
				       "no layout of a frame's value stack");
	int32_t depth;
	uint64_t stack;
	if ((err = py_read_i32(py, frame + LOFF(py, FO_STACKDEPTH), &depth)) ||
	    (err = py_read_ptr(py, frame + LOFF(py, FO_VALUESTACK), &stack)))
		return err;
	if (depth < 1)
		return NULL;
	return py_read_ptr(py, stack + ((uint64_t)depth - 1) * 8, ret);
}

/* The same for a generator's interpreter frame (3.11+), in @state. */
static struct tp_error *iframe_awaits(struct aio *a, uint64_t iframe,
				      int8_t state, uint64_t instr,
				      uint64_t *ret)
{
	struct tp_python *py = a->py;
	const struct tp_python_caps *caps = py->caps;
	struct tp_error *err;
	*ret = 0;
	if (state != caps->gen_suspended && state != caps->gen_suspended_locked)
		return NULL;
	if (caps->await_model == TP_AWAIT_RESUME_ARG) {
		/* the code unit after prev_instr: opcode, then oparg */
		uint8_t unit[2];
		if ((err = py_read(py, instr + 2, unit, 2)))
			return err;
		if ((unit[0] != caps->await_opcode &&
		     unit[0] != caps->await_opcode2) || unit[1] < 2)
			return NULL;
	}
	uint64_t top;
	if (LHAS(py, IF_STACKPOINTER)) {
		if ((err = py_read_ptr(py, iframe + LOFF(py, IF_STACKPOINTER),
				       &top)))
			return err;
	} else if (LHAS(py, IF_STACKTOP)) {
		int32_t n;
		if ((err = py_read_i32(py, iframe + LOFF(py, IF_STACKTOP), &n)))
			return err;
		if (n < 1)
			return NULL;
		top = iframe + LOFF(py, IF_LOCALSPLUS) + (uint64_t)n * 8;
	} else {
		return tp_error_create(TP_ERR_NODEBUG,
				       "no layout of a frame's value stack");
	}
	uint64_t v;
	uint64_t slot = caps->await_stack_slot ? caps->await_stack_slot : 1;
	if ((err = py_read_ptr(py, top - 8 * slot, &v)))
		return err;
	if (caps->tagged_stackrefs && !tp_stackref_object(v, &v))
		v = 0;
	*ret = v;
	return NULL;
}

/*
 * Push the frame of generator or coroutine @gen onto @fv and say what it
 * awaits (@next, 0 for nothing); a finished one has no frame.
 */
static struct tp_error *gen_frame(struct aio *a, uint64_t gen,
				  struct frame_vec *fv, uint64_t *next)
{
	struct tp_python *py = a->py;
	struct tp_error *err;
	struct tp_rframe rf;
	*next = 0;
	if (py->caps->frames == TP_FRAMES_FRAMEOBJECT) {
		uint64_t frame;
		if ((err = py_read_ptr(py, gen + LOFF(py, GEN_FRAME), &frame)))
			return err;
		if (!frame)
			return NULL;
		if ((err = py_frameobj_decode(py, frame, &rf)))
			return err;
		struct tp_rframe *slot = frame_vec_push(fv);
		if (!slot)
			return &tp_error_nomem;
		*slot = rf;
		return frameobj_awaits(a, frame, next);
	}
	uint8_t st;
	if ((err = py_read_u8(py, gen + LOFF(py, GEN_FRAME_STATE), &st)))
		return err;
	int8_t state = (int8_t)st;
	if (state >= py->caps->gen_completed)
		return NULL;
	uint64_t iframe = gen + LOFF(py, GEN_IFRAME), code, instr;
	if ((err = py_read_ptr(py, iframe + LOFF(py, IF_CODE), &code)) ||
	    (err = py_read_ptr(py, iframe + LOFF(py, IF_INSTR), &instr)))
		return err;
	bool skip;
	if ((err = py_iframe_decode(py, iframe, code, instr,
				    py->caps->owner_generator, &rf, &skip)))
		return err;
	if (!skip) {
		struct tp_rframe *slot = frame_vec_push(fv);
		if (!slot)
			return &tp_error_nomem;
		*slot = rf;
	}
	return iframe_awaits(a, iframe, state, instr, next);
}

/* The task's facts from its fields (C) or attributes (Python). */
struct task_facts {
	uint64_t loop, coro, waiter, name, exception;
	int state;        /* FUT_*, -1 unknown */
};

/*
 * Attribute @name of @obj as Python finds it for a plain data attribute:
 * the instance's dict, else the class's and its bases' (Future._state is
 * a class attribute until the state changes); None gives 0.
 */
static struct tp_error *py_attr_opt(struct aio *a, uint64_t obj,
				    const char *name, uint64_t *ret)
{
	struct tp_python *py = a->py;
	*ret = 0;
	struct tp_error *err = py_instance_attr(py, obj, name, ret);
	uint64_t type = 0, dict;
	if (!err && !*ret)
		err = py_type_of(py, obj, &type);
	for (int i = 0; !err && !*ret && type && i < MAX_BASES; i++) {
		err = py_read_ptr(py, type + LOFF(py, TP_DICT), &dict);
		if (!err && dict)
			err = py_dict_get_str(py, dict, name, ret);
		if (!err && !*ret)
			err = py_read_ptr(py, type + LOFF(py, TP_BASE), &type);
	}
	if (!err && *ret == a->none)
		*ret = 0;
	return err;
}

static struct tp_error *task_facts(struct aio *a, uint64_t task, bool c,
				   struct task_facts *f)
{
	struct tp_python *py = a->py;
	struct tp_error *err;
	memset(f, 0, sizeof(*f));
	f->state = -1;
	if (c) {
		int32_t state;
		if ((err = py_read_ptr(py, task + LOFF(py, TASK_LOOP), &f->loop)) ||
		    (err = py_read_ptr(py, task + LOFF(py, TASK_CORO), &f->coro)) ||
		    (err = py_read_ptr(py, task + LOFF(py, TASK_FUT_WAITER),
				       &f->waiter)) ||
		    (err = py_read_ptr(py, task + LOFF(py, TASK_EXCEPTION),
				       &f->exception)) ||
		    (err = py_read_i32(py, task + LOFF(py, TASK_STATE), &state)))
			return err;
		f->state = state;
		if (LHAS(py, TASK_NAME) &&
		    (err = py_read_ptr(py, task + LOFF(py, TASK_NAME), &f->name)))
			return err;
		return NULL;
	}
	uint64_t state = 0, type;
	const char *s = NULL;
	/*
	 * 3.6's Python Task derives from asyncio.Future as tasks.py found it:
	 * the C Future.  Its loop, state and exception are then the C
	 * Future's fields, at the same offsets as the C Task's (both begin
	 * with FutureObj_HEAD); the rest are instance attributes.
	 */
	if ((err = py_type_of(py, task, &type)))
		return err;
	if (derives(a, type, a->cfuture) && LHAS(py, TASK_STATE)) {
		int32_t cstate;
		if ((err = py_read_ptr(py, task + LOFF(py, TASK_LOOP), &f->loop)) ||
		    (err = py_read_ptr(py, task + LOFF(py, TASK_EXCEPTION),
				       &f->exception)) ||
		    (err = py_read_i32(py, task + LOFF(py, TASK_STATE), &cstate)) ||
		    (err = py_attr_opt(a, task, "_coro", &f->coro)) ||
		    (err = py_attr_opt(a, task, "_fut_waiter", &f->waiter)) ||
		    (err = py_attr_opt(a, task, "_name", &f->name)))
			return err;
		f->state = cstate;
		return NULL;
	}
	if ((err = py_attr_opt(a, task, "_loop", &f->loop)) ||
	    (err = py_attr_opt(a, task, "_coro", &f->coro)) ||
	    (err = py_attr_opt(a, task, "_fut_waiter", &f->waiter)) ||
	    (err = py_attr_opt(a, task, "_exception", &f->exception)) ||
	    (err = py_attr_opt(a, task, "_name", &f->name)) ||
	    (err = py_attr_opt(a, task, "_state", &state)))
		return err;
	if (state && !(err = py_str_utf8(py, state, 64, &s))) {
		f->state = !strcmp(s, "PENDING")     ? FUT_PENDING
			   : !strcmp(s, "CANCELLED") ? FUT_CANCELLED
			   : !strcmp(s, "FINISHED")  ? FUT_FINISHED
						     : -1;
	}
	return err;
}

/*
 * The task's name: a str, or (3.13+, until get_name() asks for it) the
 * number of its lazily made "Task-N".
 */
static const char *task_name(struct aio *a, uint64_t name)
{
	struct tp_python *py = a->py;
	if (!name || name == a->none)
		return NULL;
	const char *s = NULL;
	uint64_t type;
	struct tp_error *err = py_type_of(py, name, &type);
	if (!err && type == py->target->sym[TP_SYM_PyLong_Type]) {
		uint64_t n;
		bool neg;
		if (!(err = py_int_value(py, name, &n, &neg))) {
			char buf[32];
			snprintf(buf, sizeof(buf), "Task-%s%llu", neg ? "-" : "",
				 (unsigned long long)n);
			s = tp_pyval_arena_strdup(py->arena, buf);
		}
	} else if (!err) {
		err = py_str_utf8(py, name, 4096, &s);
	}
	tp_error_destroy(err);
	return s;
}

/* What each task awaits (a future, a task), by index in a->tasks. */
struct task_state {
	uint64_t awaited;         /* the innermost awaited future, or 0 */
};

static struct tp_error *decode_task(struct aio *a, uint64_t task,
				    struct tp_rtask *rt, struct task_state *ts)
{
	struct tp_python *py = a->py;
	struct tp_error *err;
	uint64_t type;
	memset(rt, 0, sizeof(*rt));
	memset(ts, 0, sizeof(*ts));
	rt->address = task;
	if ((err = py_type_of(py, task, &type)))
		return err;
	bool c = is_c_task(a, type);
	if (!c && !is_py_task(a, type))
		return tp_error_create(TP_ERR_FORMAT, "not an asyncio Task");
	if (c && !LHAS(py, TASK_CORO))
		return tp_error_create(TP_ERR_NODEBUG,
				       "no layout of _asyncio.Task (no debug info for the _asyncio module)");
	struct task_facts f;
	if ((err = task_facts(a, task, c, &f)))
		return err;
	rt->loop = f.loop;
	rt->name = task_name(a, f.name);
	bool failed = f.exception && f.exception != a->none;
	rt->state = f.state == FUT_PENDING	? "pending"
		    : f.state == FUT_CANCELLED ? "cancelled"
		    : f.state == FUT_FINISHED  ? (failed ? "failed" : "done")
					       : NULL;
	if (f.state == FUT_PENDING && vec_has(&a->running, task))
		rt->state = "running";

	/* the await chain from the task's coroutine */
	struct frame_vec fv = { 0 };
	uint64_t obj = f.state == FUT_PENDING ? f.coro : 0;
	uint64_t gen_t = py->target->sym[TP_SYM_PyGen_Type];
	uint64_t coro_t = py->target->sym[TP_SYM_PyCoro_Type];
	for (size_t depth = 0; obj && obj != a->none; depth++) {
		if (depth >= MAX_AWAIT_DEPTH) {
			rt->truncated = true;
			break;
		}
		if ((err = py_type_of(py, obj, &type)))
			break;
		if (type == gen_t || type == coro_t) {
			uint64_t next;
			if ((err = gen_frame(a, obj, &fv, &next)))
				break;
			obj = next;
			continue;
		}
		if (type_named(a, type, "_asyncio.FutureIter") &&
		    LHAS(py, FUTITER_FUTURE)) {
			err = py_read_ptr(py, obj + LOFF(py, FUTITER_FUTURE),
					  &ts->awaited);
			break;
		}
		if (is_future(a, type)) {
			ts->awaited = obj;
			break;
		}
		/* an awaitable tripod does not follow: show what it is */
		err = py_value(py, obj, &rt->awaiting);
		break;
	}
	if (err == &tp_error_nomem) {
		free(fv.v);
		return err;
	}
	if (err) {
		rt->error = tp_pyval_arena_strdup(py->arena,
						  tp_error_message(err));
		tp_error_destroy(err);
	}
	if (!ts->awaited && f.waiter && f.waiter != a->none)
		ts->awaited = f.waiter;
	if (fv.n) {
		rt->frames = tp_pyval_arena_alloc(py->arena,
						  fv.n * sizeof(*rt->frames));
		if (!rt->frames) {
			free(fv.v);
			return &tp_error_nomem;
		}
		memcpy(rt->frames, fv.v, fv.n * sizeof(*rt->frames));
		rt->nframes = fv.n;
	}
	free(fv.v);
	return NULL;
}

/* ---- who awaits whom -------------------------------------------------- */

static struct tp_rtask *find_task(struct tp_rtask *v, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].address == addr)
			return &v[i];
	return NULL;
}

struct edges {
	uint64_t *child, *parent;
	size_t n, cap;
};

static bool edge_add(struct edges *e, uint64_t child, uint64_t parent)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->child[i] == child && e->parent[i] == parent)
			return true;
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 32;
		uint64_t *c = realloc(e->child, cap * sizeof(*c));
		if (!c)
			return false;
		e->child = c;
		uint64_t *p = realloc(e->parent, cap * sizeof(*p));
		if (!p)
			return false;
		e->parent = p;
		e->cap = cap;
	}
	e->child[e->n] = child;
	e->parent[e->n] = parent;
	e->n++;
	return true;
}

/* @parent awaits future @fut: a task, or a gather's children. */
static struct tp_error *awaits_future(struct aio *a, struct edges *e,
				      struct tp_rtask *tasks, size_t n,
				      uint64_t parent, uint64_t fut, int depth)
{
	if (!fut || fut == a->none || depth > MAX_GATHER_DEPTH)
		return NULL;
	if (find_task(tasks, n, fut))
		return edge_add(e, fut, parent) ? NULL : &tp_error_nomem;
	uint64_t type, children = 0;
	struct tp_error *err = py_type_of(a->py, fut, &type);
	if (err || !derives(a, type, a->gathering))
		return err;
	if ((err = py_instance_attr(a->py, fut, "_children", &children)) ||
	    !children)
		return err;
	uint64_t ltype, items;
	int64_t len;
	if ((err = py_type_of(a->py, children, &ltype)))
		return err;
	if (ltype != a->py->target->sym[TP_SYM_PyList_Type])
		return NULL;
	if ((err = py_read_i64(a->py, children + LOFF(a->py, OB_SIZE), &len)) ||
	    (err = py_read_ptr(a->py, children + LOFF(a->py, LIST_ITEM),
			       &items)))
		return err;
	for (int64_t i = 0; i < len && i < MAX_TASKS && !err; i++) {
		uint64_t child;
		if ((err = py_read_ptr(a->py, items + (uint64_t)i * 8, &child)))
			break;
		err = awaits_future(a, e, tasks, n, parent, child, depth + 1);
	}
	return err;
}

/* The TaskGroup whose bound method @cb is (its __self__), or 0. */
static uint64_t callback_group(struct aio *a, uint64_t cb)
{
	struct tp_python *py = a->py;
	uint64_t type, self = 0, stype;
	struct tp_error *err = py_type_of(py, cb, &type);
	if (!err && type == py->target->sym[TP_SYM_PyTuple_Type]) {
		/* (callback, context) */
		err = py_read_ptr(py, cb + LOFF(py, TUPLE_ITEM), &cb);
		if (!err)
			err = py_type_of(py, cb, &type);
	}
	if (!err && type_named(a, type, "method") && LHAS(py, METHOD_SELF))
		err = py_read_ptr(py, cb + LOFF(py, METHOD_SELF), &self);
	if (!err && self)
		err = py_type_of(py, self, &stype);
	bool tg = !err && self && derives(a, stype, a->taskgroup);
	tp_error_destroy(err);
	return tg ? self : 0;
}

/*
 * A task made by a TaskGroup has the group's _on_task_done among its
 * done callbacks (C tasks: callback0 and the callbacks list; Python
 * tasks: _callbacks); the group's _parent_task awaits it.
 */
static struct tp_error *taskgroup_parent(struct aio *a, uint64_t task,
					 uint64_t *ret)
{
	struct tp_python *py = a->py;
	struct tp_error *err;
	uint64_t type, first = 0, list = 0;
	*ret = 0;
	if ((err = py_type_of(py, task, &type)))
		return err;
	if (is_c_task(a, type)) {
		if (!LHAS(py, TASK_CALLBACK0) || !LHAS(py, TASK_CALLBACKS))
			return NULL;
		if ((err = py_read_ptr(py, task + LOFF(py, TASK_CALLBACK0),
				       &first)) ||
		    (err = py_read_ptr(py, task + LOFF(py, TASK_CALLBACKS),
				       &list)))
			return err;
	} else if ((err = py_attr_opt(a, task, "_callbacks", &list))) {
		return err;
	}
	uint64_t tg = first ? callback_group(a, first) : 0;
	uint64_t ltype, items = 0;
	int64_t len = 0;
	if (!tg && list && list != a->none) {
		if ((err = py_type_of(py, list, &ltype)))
			return err;
		if (ltype == py->target->sym[TP_SYM_PyList_Type] &&
		    !(err = py_read_i64(py, list + LOFF(py, OB_SIZE), &len)))
			err = py_read_ptr(py, list + LOFF(py, LIST_ITEM), &items);
		if (err)
			return err;
	}
	for (int64_t i = 0; !tg && i < len && i < MAX_TASKS; i++) {
		uint64_t cb;
		if ((err = py_read_ptr(py, items + (uint64_t)i * 8, &cb)))
			return err;
		tg = callback_group(a, cb);
	}
	if (tg)
		err = py_attr_opt(a, tg, "_parent_task", ret);
	return err;
}

/* Does following awaited_by from @start lead back to it? */
static bool in_cycle(struct tp_rtask *tasks, size_t n, size_t start)
{
	uint64_t *stack = malloc(n * sizeof(*stack));
	bool *seen = calloc(n, sizeof(*seen));
	bool found = false;
	size_t top = 0;
	if (!stack || !seen)
		goto out;
	stack[top++] = tasks[start].address;
	while (top && !found) {
		struct tp_rtask *t = find_task(tasks, n, stack[--top]);
		if (!t)
			continue;
		for (size_t i = 0; i < t->nawaited_by; i++) {
			uint64_t p = t->awaited_by[i];
			if (p == tasks[start].address) {
				found = true;
				break;
			}
			struct tp_rtask *pt = find_task(tasks, n, p);
			size_t k = pt ? (size_t)(pt - tasks) : n;
			if (k < n && !seen[k]) {
				seen[k] = true;
				stack[top++] = p;
			}
		}
	}
out:
	free(stack);
	free(seen);
	return found;
}

static struct tp_error *link_tasks(struct aio *a, struct tp_rtask *tasks,
				   size_t n, const struct task_state *ts)
{
	struct edges e = { 0 };
	struct tp_error *err = NULL;
	for (size_t i = 0; i < n && !err; i++)
		err = awaits_future(a, &e, tasks, n, tasks[i].address,
				    ts[i].awaited, 0);
	for (size_t i = 0; i < n && !err && a->taskgroup; i++) {
		uint64_t parent;
		err = taskgroup_parent(a, tasks[i].address, &parent);
		if (!err && parent && find_task(tasks, n, parent) &&
		    !edge_add(&e, tasks[i].address, parent))
			err = &tp_error_nomem;
		if (err && err != &tp_error_nomem) {
			note(a, err, "TaskGroup");
			err = NULL;
		}
	}
	for (size_t i = 0; i < n && !err; i++) {
		size_t k = 0;
		for (size_t j = 0; j < e.n; j++)
			k += e.child[j] == tasks[i].address;
		if (!k)
			continue;
		tasks[i].awaited_by = tp_pyval_arena_alloc(
			a->py->arena, k * sizeof(*tasks[i].awaited_by));
		if (!tasks[i].awaited_by) {
			err = &tp_error_nomem;
			break;
		}
		for (size_t j = 0; j < e.n; j++)
			if (e.child[j] == tasks[i].address)
				tasks[i].awaited_by[tasks[i].nawaited_by++] =
					e.parent[j];
	}
	for (size_t i = 0; i < n && !err; i++)
		tasks[i].in_cycle = in_cycle(tasks, n, i);
	free(e.child);
	free(e.parent);
	return err;
}

/* ---- the walk ---------------------------------------------------------- */

static uint64_t dict_type(struct aio *a, uint64_t dict, const char *name)
{
	uint64_t v = 0;
	struct tp_error *err = dict ? py_dict_get_str(a->py, dict, name, &v)
				    : NULL;
	tp_error_destroy(err);
	return v;
}

struct tp_error *py_asyncio_walk(struct tp_python *py, uint64_t interp,
				 const uint64_t *tstates, size_t ntstates,
				 struct tp_rsnapshot *snap)
{
	struct aio a = { .py = py, .snap = snap };
	struct tp_error *err = NULL;
	uint64_t modules = 0, futures_dict = 0, tg_dict = 0;
	a.none = py->target->sym[TP_SYM__Py_NoneStruct];
	if (LHAS(py, IS_MODULES))
		err = py_read_ptr(py, interp + LOFF(py, IS_MODULES), &modules);
	if (!err && modules)
		err = module_dict(&a, modules, "asyncio.tasks", &a.tasks_dict);
	if (err || !a.tasks_dict) {
		/* asyncio was never imported: no tasks, nothing to say */
		note(&a, err, "sys.modules");
		err = NULL;
		goto out;
	}
	if (py->caps->task_registry == TP_TASKS_NONE) {
		tp_strbuf_printf(&a.errors,
				 "asyncio tasks of Python %u.%u are not decoded",
				 py->major, py->minor);
		goto out;
	}
	note(&a, module_dict(&a, modules, "asyncio.futures", &futures_dict),
	     "asyncio.futures");
	note(&a, module_dict(&a, modules, "asyncio.taskgroups", &tg_dict),
	     "asyncio.taskgroups");
	a.ctask = dict_type(&a, a.tasks_dict, "_CTask");
	a.pytask = dict_type(&a, a.tasks_dict, "_PyTask");
	a.gathering = dict_type(&a, a.tasks_dict, "_GatheringFuture");
	a.cfuture = dict_type(&a, futures_dict, "_CFuture");
	a.pyfuture = dict_type(&a, futures_dict, "_PyFuture");
	a.taskgroup = dict_type(&a, tg_dict, "TaskGroup");

	/* the running tasks */
	if (py->caps->task_registry == TP_TASKS_PER_THREAD) {
		for (size_t i = 0; i < ntstates; i++) {
			uint64_t t = 0;
			if (!LHAS(py, TS_ASYNCIO_RUNNING_TASK))
				break;
			err = py_read_ptr(py, tstates[i] +
						      LOFF(py, TS_ASYNCIO_RUNNING_TASK),
					  &t);
			if (!err && t && !vec_push(&a.running, t))
				err = &tp_error_nomem;
			if (err == &tp_error_nomem)
				goto out;
			note(&a, err, "running task");
			err = NULL;
		}
	}
	uint64_t current = dict_type(&a, a.tasks_dict, "_current_tasks");
	if (current) {
		err = py_dict_iter(py, current, running_cb, &a);
		if (err == &tp_error_nomem)
			goto out;
		note(&a, err, "_current_tasks");
		err = NULL;
	}

	/* every task */
	switch (py->caps->task_registry) {
	case TP_TASKS_36:
		tasks36(&a);
		break;
	case TP_TASKS_ALL_WEAKSET:
		weakset_tasks(&a, "_all_tasks");
		break;
	case TP_TASKS_PER_THREAD:
		if (!LHAS(py, TS_ASYNCIO_TASKS_HEAD) ||
		    !LHAS(py, TASK_NODE) || !LHAS(py, LLIST_NEXT)) {
			tp_strbuf_printf(&a.errors, "%sno layout of the per-thread task lists",
					 a.errors.len ? "; " : "");
		} else {
			for (size_t i = 0; i < ntstates; i++)
				list_tasks(&a, tstates[i] +
						       LOFF(py, TS_ASYNCIO_TASKS_HEAD),
					   "thread task list");
			if (LHAS(py, IS_ASYNCIO_TASKS_HEAD))
				list_tasks(&a, interp +
						       LOFF(py, IS_ASYNCIO_TASKS_HEAD),
					   "interpreter task list");
		}
		/* and the tasks of the Python implementation: */
		__attribute__((fallthrough));
	case TP_TASKS_SCHEDULED_EAGER:
		weakset_tasks(&a, "_scheduled_tasks");
		set_tasks(&a, "_eager_tasks");
		break;
	case TP_TASKS_NONE:
		break;
	}

	size_t n = a.tasks.n;
	if (!n)
		goto out;
	struct tp_rtask *tasks = tp_pyval_arena_alloc(py->arena,
						      n * sizeof(*tasks));
	struct task_state *ts = calloc(n, sizeof(*ts));
	if (!tasks || !ts) {
		free(ts);
		err = &tp_error_nomem;
		goto out;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct tp_error *e = decode_task(&a, a.tasks.v[i], &tasks[k],
						 &ts[k]);
		if (e == &tp_error_nomem) {
			free(ts);
			err = e;
			goto out;
		}
		if (e && e->code == TP_ERR_FORMAT) {
			/* a set member that is no task: not one of ours */
			tp_error_destroy(e);
			continue;
		}
		/* done: no stack to show; asyncio.all_tasks() leaves them out */
		if (!e && tasks[k].state && strcmp(tasks[k].state, "pending") &&
		    strcmp(tasks[k].state, "running"))
			continue;
		if (e) {
			tasks[k].error = tp_pyval_arena_strdup(
				py->arena, tp_error_message(e));
			tp_error_destroy(e);
		}
		k++;
	}
	err = link_tasks(&a, tasks, k, ts);
	free(ts);
	if (err)
		goto out;
	/* this interpreter's after those of the others walked before */
	size_t total = snap->ntasks + k;
	struct tp_rtask *all = tp_pyval_arena_alloc(py->arena,
						    (total ? total : 1) *
							    sizeof(*all));
	if (!all) {
		err = &tp_error_nomem;
		goto out;
	}
	if (snap->ntasks)
		memcpy(all, snap->tasks, snap->ntasks * sizeof(*all));
	memcpy(all + snap->ntasks, tasks, k * sizeof(*all));
	snap->tasks = all;
	snap->ntasks = total;
out:
	if (err != &tp_error_nomem && a.errors.len && !a.errors.failed) {
		const char *prev = snap->tasks_error;
		struct tp_strbuf sb = TP_STRBUF_INIT;
		if (prev)
			tp_strbuf_printf(&sb, "%s; ", prev);
		tp_strbuf_puts(&sb, tp_strbuf_str(&a.errors));
		snap->tasks_error = tp_pyval_arena_strdup(py->arena,
							  tp_strbuf_str(&sb));
		tp_strbuf_deinit(&sb);
	}
	tp_strbuf_deinit(&a.errors);
	free(a.tasks.v);
	free(a.running.v);
	return err == &tp_error_nomem ? err : NULL;
}
