/* SPDX-License-Identifier: MIT */
/*
 * repr() of socket objects.  The C type (Modules/socketmodule.c,
 * sock_repr) prints what its object holds:
 *
 *   "<socket object, fd=%ld, family=%d, type=%d, proto=%d>"
 *   (2.7: "protocol=%d")
 *
 * socket.socket's __repr__ (Lib/socket.py, 3.x) adds the addresses:
 *
 *   closed = getattr(self, '_closed', False)
 *   s = "<%s.%s%s fd=%i, family=%s, type=%s, proto=%i" % (
 *       self.__class__.__module__, self.__class__.__qualname__,
 *       " [closed]" if closed else "", self.fileno(), self.family,
 *       self.type, self.proto)
 *   if not closed:
 *       laddr = self.getsockname()    (error: left out)
 *       if laddr: s += ", laddr=%s" % str(laddr)
 *       raddr = self.getpeername()    (likewise)
 *       if raddr: s += ", raddr=%s" % str(raddr)
 *   s += '>'
 *
 * self.family and self.type are _intenum_converter(value, AddressFamily /
 * SocketKind): the enum member, or the int when the value is none; %s of
 * an IntEnum member is "AddressFamily.AF_INET" before 3.11, its number
 * from 3.11 (IntEnum's __str__ is int's).  The members are looked up in
 * the enum class the socket module of the target made (its
 * _value2member_map_), found through __repr__'s globals.
 *
 * The addresses are the kernel's: tripod-snap asks getsockname() and
 * getpeername() of each socket descriptor in the freeze (the sockets
 * note, core/sockets.h); they are turned into what makesockaddr() makes
 * of them.  A descriptor the note does not have, or an address family
 * not written here, leaves the repr unknown (object.__repr__'s text).
 *
 * PySocketSockObject after PyObject_HEAD, the same in 2.7 and 3.x:
 *   SOCKET_T sock_fd (int); int sock_family; int sock_type; int sock_proto
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/netlink.h>

#include "core/sockets.h"
#include "python/pytypes.h"

#define SOCK_FD 0
#define SOCK_FAMILY 4
#define SOCK_TYPE 8
#define SOCK_PROTO 12

/* Members one _value2member_map_ may have (AddressFamily has ~45). */
#define MAX_MEMBERS 4096


struct sock_fields {
	int32_t fd, family, type, proto;
};

static struct tp_error *read_fields(struct tp_python *py, uint64_t addr,
				    struct sock_fields *f)
{
	if (!LHAS(py, SIZEOF_PYOBJECT))
		return py_unsupported("no object size");
	uint64_t at = addr + (uint64_t)LOFF(py, SIZEOF_PYOBJECT);
	struct tp_error *err;
	if ((err = py_read_i32(py, at + SOCK_FD, &f->fd)) ||
	    (err = py_read_i32(py, at + SOCK_FAMILY, &f->family)) ||
	    (err = py_read_i32(py, at + SOCK_TYPE, &f->type)) ||
	    (err = py_read_i32(py, at + SOCK_PROTO, &f->proto)))
		return err;
	return NULL;
}

/*
 * "%s" of _intenum_converter(@value, globals()[@enum_name]) into @sb: the
 * number from 3.11 (and for a value no member has), else
 * "ClassName.MEMBER".
 */
static struct tp_error *put_intenum(struct tp_python *py, uint64_t globals,
				    const char *enum_name, int32_t value,
				    struct tp_strbuf *sb)
{
	if (py->major > 3 || (py->major == 3 && py->minor >= 11)) {
		tp_strbuf_printf(sb, "%" PRId32, value);
		return NULL;
	}
	uint64_t cls, map, *pairs;
	size_t n;
	struct tp_error *err;
	if ((err = py_dict_get_str(py, globals, enum_name, &cls)))
		return err;
	if (!cls)
		return py_unsupported("no enum class in the socket module");
	if ((err = py_class_attr(py, cls, "_value2member_map_", &map)))
		return err;
	if (!map)
		return py_unsupported("enum class without _value2member_map_");
	if ((err = py_dict_pairs(py, map, &pairs, &n)))
		return err;
	if (n > MAX_MEMBERS)
		return py_unsupported("too many enum members");
	for (size_t i = 0; i < n; i++) {
		int64_t key;
		if (py_int64(py, pairs[2 * i], &key) || key != value)
			continue;
		uint64_t member = pairs[2 * i + 1], mtype, name;
		const char *cname, *mname;
		if ((err = py_type_of(py, member, &mtype)) ||
		    (err = py_type_short_name(py, mtype, &cname)) ||
		    (err = py_object_attr(py, member, "_name_", &name)))
			return err;
		if (!name)
			return py_unsupported("enum member without _name_");
		if ((err = py_str_text(py, name, 256, &mname)))
			return err;
		/* Enum.__str__: "%s.%s" % (self.__class__.__name__, _name_) */
		tp_strbuf_printf(sb, "%s.%s", cname, mname);
		return NULL;
	}
	tp_strbuf_printf(sb, "%" PRId32, value);
	return NULL;
}

/* Whether @s (of @n bytes) is printable ASCII: printed as it is. */
static bool plain_ascii(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

/*
 * str() of what makesockaddr() makes of @a into @sb; *@truthy whether
 * that object is true (an empty str or bytes, or None, is not: the repr
 * then leaves it out).
 */
static struct tp_error *put_addr(struct tp_python *py,
				 const struct tp_socket_addr *a,
				 struct tp_strbuf *sb, bool *truthy)
{
	*truthy = true;
	if (a->len == 0) {          /* None */
		*truthy = false;
		return NULL;
	}
	if (a->len < sizeof(sa_family_t))
		return py_unsupported("short socket address");
	sa_family_t family;
	memcpy(&family, a->addr, sizeof(family));
	char host[INET6_ADDRSTRLEN];
	switch (family) {
	case AF_INET: {
		struct sockaddr_in in;
		if (a->len < sizeof(in))
			return py_unsupported("short AF_INET address");
		memcpy(&in, a->addr, sizeof(in));
		if (!inet_ntop(AF_INET, &in.sin_addr, host, sizeof(host)))
			return py_unsupported("bad AF_INET address");
		tp_strbuf_printf(sb, "('%s', %u)", host,
				 (unsigned)ntohs(in.sin_port));
		return NULL;
	}
	case AF_INET6: {
		struct sockaddr_in6 in6;
		if (a->len < sizeof(in6))
			return py_unsupported("short AF_INET6 address");
		memcpy(&in6, a->addr, sizeof(in6));
		/* before 3.7 getnameinfo() wrote the host, with "%scope" */
		if (in6.sin6_scope_id && py->major == 3 && py->minor < 7)
			return py_unsupported("scoped AF_INET6 address");
		if (!inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof(host)))
			return py_unsupported("bad AF_INET6 address");
		tp_strbuf_printf(sb, "('%s', %u, %" PRIu32 ", %" PRIu32 ")",
				 host, (unsigned)ntohs(in6.sin6_port),
				 (uint32_t)ntohl(in6.sin6_flowinfo),
				 (uint32_t)in6.sin6_scope_id);
		return NULL;
	}
	case AF_UNIX: {
		const size_t at = offsetof(struct sockaddr_un, sun_path);
		const unsigned char *path = a->addr + at;
		size_t n = a->len > at ? a->len - at : 0;
		if (n > 0 && path[0] == 0) {
			/* Linux's abstract namespace: bytes, str() is repr() */
			struct tp_pyval *b = py_new_node(py, TP_PV_BYTES, 0,
							 "bytes");
			const char *text;
			struct tp_error *err;
			if (!b || !(b->u.bytes.data = tp_pyval_arena_memdup(
					    py->arena, path, n)))
				return &tp_error_nomem;
			b->u.bytes.len = n;
			if ((err = py_repr_text(py, b, &text)))
				return err;
			tp_strbuf_puts(sb, text);
			return NULL;
		}
		/* a NUL-terminated path, decoded with the file system's
		 * encoding: only what every encoding reads alike */
		n = strnlen((const char *)path, n);
		if (!plain_ascii(path, n))
			return py_unsupported("AF_UNIX path not ASCII");
		*truthy = n > 0;
		tp_strbuf_append(sb, path, n);
		return NULL;
	}
	case AF_NETLINK: {
		struct sockaddr_nl nl;
		if (a->len < sizeof(nl))
			return py_unsupported("short AF_NETLINK address");
		memcpy(&nl, a->addr, sizeof(nl));
		tp_strbuf_printf(sb, "(%" PRIu32 ", %" PRIu32 ")",
				 (uint32_t)nl.nl_pid, (uint32_t)nl.nl_groups);
		return NULL;
	}
	default:
		return py_unsupported("socket address of another family");
	}
}

/* ", laddr=%s" (@what) when the call succeeded and gave a true object. */
static struct tp_error *put_call(struct tp_python *py, const char *what,
				 const struct tp_socket_addr *a,
				 struct tp_strbuf *sb)
{
	if (a->err)
		return NULL;
	struct tp_strbuf text = TP_STRBUF_INIT;
	bool truthy;
	struct tp_error *err = put_addr(py, a, &text, &truthy);
	if (!err)
		err = tp_strbuf_error(&text);
	if (!err && truthy)
		tp_strbuf_printf(sb, ", %s=%s", what, tp_strbuf_str(&text));
	tp_strbuf_deinit(&text);
	return err;
}

/* socket.py's __repr__, @func (whose globals hold the enum classes) */
static struct tp_error *python_repr(struct tp_python *py,
				    const struct py_obj *o, uint64_t func,
				    const struct sock_fields *f,
				    struct tp_strbuf *sb)
{
	uint64_t closed_obj, globals;
	bool closed = false;
	struct tp_error *err;
	if ((err = py_object_attr(py, o->addr, "_closed", &closed_obj)))
		return err;
	if (closed_obj == py->target->sym[TP_SYM__Py_TrueStruct])
		closed = true;
	else if (closed_obj &&
		 closed_obj != py->target->sym[TP_SYM__Py_FalseStruct])
		return py_unsupported("_closed is not a bool");
	if ((err = py_function_globals(py, func, &globals)))
		return err;
	if (!globals)
		return py_unsupported("__repr__ without globals");
	const struct tp_socket *k = NULL;
	if (!closed) {
		k = tp_sockets_find(py->sockets, f->fd);
		if (!k)
			return py_unsupported("socket not in the snapshot's note");
	}
	tp_strbuf_printf(sb, "<%s%s fd=%" PRId32 ", family=",
			 py_type_name(py, o->type), closed ? " [closed]" : "",
			 f->fd);
	if ((err = put_intenum(py, globals, "AddressFamily", f->family, sb)))
		return err;
	tp_strbuf_puts(sb, ", type=");
	if ((err = put_intenum(py, globals, "SocketKind", f->type, sb)))
		return err;
	tp_strbuf_printf(sb, ", proto=%" PRId32, f->proto);
	if (k && ((err = put_call(py, "laddr", &k->name, sb)) ||
		  (err = put_call(py, "raddr", &k->peer, sb))))
		return err;
	tp_strbuf_putc(sb, '>');
	return NULL;
}

struct tp_error *py_socket_fd(struct tp_python *py, uint64_t sock,
			      int32_t *ret)
{
	struct sock_fields f;
	struct tp_error *err = read_fields(py, sock, &f);
	if (!err)
		*ret = f.fd;
	return err;
}

struct tp_error *py_socket_repr(struct tp_python *py, struct dstate *st,
				const struct py_obj *o, uint64_t func,
				struct tp_pyval **ret)
{
	struct sock_fields f;
	struct tp_error *err = read_fields(py, o->addr, &f);
	if (err)
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	if (func) {
		err = python_repr(py, o, func, &f, &sb);
	} else {
		tp_strbuf_printf(&sb,
				 "<socket object, fd=%" PRId32 ", family=%" PRId32
				 ", type=%" PRId32 ", %s=%" PRId32 ">",
				 f.fd, f.family, f.type,
				 py->caps->py2_objects ? "protocol" : "proto",
				 f.proto);
	}
	if (err) {
		tp_strbuf_deinit(&sb);
		return err;
	}
	return py_strbuf_node(py, st, o, &sb, ret);
}
