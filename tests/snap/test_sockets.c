/* SPDX-License-Identifier: MIT */
/*
 * The sockets note: what tripod-snap writes reads back, a damaged note is
 * refused (never read past its end), and the scan records what the
 * kernel answers this very process's getsockname() and getpeername().
 */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sockets.h"
#include "snap/sockets.h"

static void sample(struct tp_sockets *s, struct tp_socket *v)
{
	memset(v, 0, 3 * sizeof(*v));
	v[0].fd = 3;
	v[0].name.len = 16;
	memset(v[0].name.addr, 0xab, 16);
	v[0].peer.err = ENOTCONN;
	v[1].fd = 7;
	v[1].name.len = 2;
	v[1].peer.len = TP_SOCKETS_MAX_ADDR;
	memset(v[1].peer.addr, 0x5a, TP_SOCKETS_MAX_ADDR);
	v[2].fd = 1000;
	v[2].name.err = EBADF;
	v[2].peer.err = EBADF;
	*s = (struct tp_sockets){ v, 3, true };
}

static void encode(struct tp_strbuf *sb)
{
	struct tp_socket v[3];
	struct tp_sockets s;
	sample(&s, v);
	tp_sockets_encode(&s, sb);
	cr_assert_null(tp_strbuf_error(sb));
}

Test(sockets_note, round_trip)
{
	struct tp_socket v[3];
	struct tp_sockets s, r;
	sample(&s, v);
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_sockets_encode(&s, &sb);
	struct tp_error *err = tp_sockets_decode(sb.str, sb.len, &r);
	cr_assert_null(err, "%s", err ? tp_error_message(err) : "");
	cr_assert_eq(r.n, 3);
	cr_assert(r.truncated);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(r.v[i].fd, v[i].fd);
		cr_assert_eq(r.v[i].name.err, v[i].name.err);
		cr_assert_eq(r.v[i].name.len, v[i].name.len);
		cr_assert_eq(r.v[i].peer.err, v[i].peer.err);
		cr_assert_eq(r.v[i].peer.len, v[i].peer.len);
		cr_assert_arr_eq(r.v[i].name.addr, v[i].name.addr,
				 v[i].name.len);
		cr_assert_arr_eq(r.v[i].peer.addr, v[i].peer.addr,
				 v[i].peer.len);
	}
	cr_assert_eq(tp_sockets_find(&r, 7), &r.v[1]);
	cr_assert_eq(tp_sockets_find(&r, 1000), &r.v[2]);
	cr_assert_null(tp_sockets_find(&r, 4));
	cr_assert_null(tp_sockets_find(&r, 0));
	cr_assert_null(tp_sockets_find(NULL, 3));
	tp_sockets_deinit(&r);
	tp_strbuf_deinit(&sb);
}

Test(sockets_note, every_truncation_is_refused)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	encode(&sb);
	for (size_t len = 0; len < sb.len; len++) {
		/* a copy of exactly @len bytes: a read past it is ASan's */
		char *cut = malloc(len ? len : 1);
		memcpy(cut, sb.str, len);
		struct tp_sockets r;
		struct tp_error *err = tp_sockets_decode(cut, len, &r);
		cr_assert_not_null(err, "%zu of %zu bytes read as a note", len,
				   sb.len);
		cr_assert_eq(err->code, TP_ERR_FORMAT);
		tp_error_destroy(err);
		free(cut);
	}
	tp_strbuf_deinit(&sb);
}

/* The note with the u32 at @off replaced by @v: refused with @code. */
static void spoiled(size_t off, uint32_t v, enum tp_error_code code)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	encode(&sb);
	memcpy(sb.str + off, &v, 4);
	struct tp_sockets r;
	struct tp_error *err = tp_sockets_decode(sb.str, sb.len, &r);
	cr_assert_not_null(err, "u32 at %zu = %u read", off, v);
	cr_assert_eq(err->code, code, "%s", tp_error_message(err));
	tp_error_destroy(err);
	tp_strbuf_deinit(&sb);
}

Test(sockets_note, damage_is_named)
{
	spoiled(0, 0x21212121, TP_ERR_FORMAT);           /* magic */
	spoiled(8, 2, TP_ERR_UNSUPPORTED);               /* version */
	spoiled(12, 4, TP_ERR_FORMAT);                   /* count too big */
	spoiled(12, 0xffffffffu, TP_ERR_FORMAT);
	spoiled(24, 7, TP_ERR_FORMAT);                   /* fd 3 -> 7: order */
	spoiled(36, 129, TP_ERR_FORMAT);                 /* name len > cap */
	spoiled(32, 5000, TP_ERR_FORMAT);                /* errno */
	spoiled(32, EBADF, TP_ERR_FORMAT);               /* errno and bytes */
}

static bool is_socket(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int tcp_listener(struct sockaddr_in *at)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(l, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 1), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)at, &len), 0);
	return l;
}

/* @k holds what the kernel answers for @fd now. */
static void same_as_kernel(const struct tp_socket *k, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	int rc = getsockname(fd, (struct sockaddr *)&ss, &len);
	cr_assert_eq(k->name.err, rc < 0 ? errno : 0, "fd %d", fd);
	if (rc == 0) {
		cr_assert_eq(k->name.len, len, "fd %d", fd);
		cr_assert_arr_eq(k->name.addr, &ss, len);
	}
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	rc = getpeername(fd, (struct sockaddr *)&ss, &len);
	cr_assert_eq(k->peer.err, rc < 0 ? errno : 0, "fd %d", fd);
	if (rc == 0) {
		cr_assert_eq(k->peer.len, len, "fd %d", fd);
		cr_assert_arr_eq(k->peer.addr, &ss, len);
	}
}

Test(sockets_scan, records_what_the_kernel_answers)
{
	struct sockaddr_in at;
	int l = tcp_listener(&at);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c, (struct sockaddr *)&at, sizeof(at)), 0);
	int a = accept(l, NULL, NULL);
	int pair[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	int file = open("/dev/null", O_RDONLY);
	cr_assert_geq(a, 0);
	cr_assert_geq(file, 0);

	struct tp_socket_scan scan;
	struct tp_sockets got;
	cr_assert_null(tp_socket_scan_begin(getpid(), &scan));
	cr_assert_geq(scan.pidfd, 0, "pidfd_open() failed here");
	cr_assert_null(tp_socket_scan_read(&scan, &got));
	/* every socket descriptor of this process, and no other */
	size_t n = 0;
	for (int fd = 0; fd < 4096; fd++) {
		const struct tp_socket *k = tp_sockets_find(&got, fd);
		cr_assert_eq(k != NULL, is_socket(fd), "fd %d", fd);
		if (k) {
			same_as_kernel(k, fd);
			n++;
		}
	}
	cr_assert_eq(n, got.n);
	cr_assert_not(got.truncated);
	cr_assert_eq(tp_sockets_find(&got, l)->peer.err, ENOTCONN);
	cr_assert_eq(tp_sockets_find(&got, c)->peer.err, 0);
	tp_sockets_deinit(&got);
	tp_socket_scan_deinit(&scan);
	close(l), close(c), close(a), close(pair[0]), close(pair[1]);
	close(file);
}

Test(sockets_scan, a_descriptor_replaced_after_the_listing_is_left_out)
{
	struct sockaddr_in at;
	int l = tcp_listener(&at);
	struct tp_socket_scan scan;
	struct tp_sockets got;
	cr_assert_null(tp_socket_scan_begin(getpid(), &scan));
	/* the same number, another socket */
	int other = socket(AF_INET6, SOCK_DGRAM, 0);
	cr_assert_geq(other, 0);
	cr_assert_eq(dup2(other, l), l);
	close(other);
	cr_assert_null(tp_socket_scan_read(&scan, &got));
	cr_assert_null(tp_sockets_find(&got, l));
	cr_assert(got.truncated);
	tp_sockets_deinit(&got);
	tp_socket_scan_deinit(&scan);
	close(l);
}
