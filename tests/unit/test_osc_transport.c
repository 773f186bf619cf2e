/* SPDX-License-Identifier: ISC */
/* OSC unit tests, the transport: malformed packets, bundles, TCP framing and limits. */
#define _GNU_SOURCE
#include "tests/unit/osc_fixture.h"

/* A valid message, serialised, for cutting up. */
static void *serialise(const char *path, lo_message m, size_t *len)
{
	*len = 0;
	void *data = lo_message_serialise(m, path, NULL, len);
	lo_message_free(m);
	ck_assert_ptr_nonnull(data);
	return data;
}

START_TEST(unknown_and_malformed_messages_fail)
{
	Rig *r = rig_new();
	FxOscCounters before = counters(r);
	int sent = 0;
	SEND(r, "/fx/nope/cutoff", "f", 1.0), sent++;
	expect_fail(r, "/fx/nope/cutoff", "no slot 'nope'");
	SEND(r, "/fx/7/cutoff", "f", 1.0), sent++;
	expect_fail(r, "/fx/7/cutoff", "no slot '7'");
	SEND(r, "/fx/lpf/cutof", "f", 1.0), sent++;
	expect_fail(r, "/fx/lpf/cutof", "did you mean 'cutoff'");
	SEND(r, "/fx/lpf/cutof", ""), sent++; /* a get, equally unknown */
	expect_fail(r, "/fx/lpf/cutof", "did you mean 'cutoff'");
	SEND(r, "/fx/lpf/bypass/norm", "f", 1.0), sent++;
	expect_fail(r, "/fx/lpf/bypass/norm", "no parameter");
	SEND(r, "/fx/lpf/cutoff/nrom", "f", 1.0), sent++;
	expect_fail(r, "/fx/lpf/cutoff/nrom", "unknown address");
	SEND(r, "/fx/lpf", "f", 1.0), sent++;
	expect_fail(r, "/fx/lpf", "unknown address");
	SEND(r, "/fxd/x", ""), sent++;
	expect_fail(r, "/fxd/x", "unknown address");
	SEND(r, "/fxd/", ""), sent++;
	expect_fail(r, "/fxd/", "end with '/'");
	SEND(r, "/", ""), sent++;
	expect_fail(r, "/", "end with '/'");
	SEND(r, "fxd/ping", ""), sent++;
	expect_fail(r, "fxd/ping", "start with '/'");

	static const uint8_t garbage[] = {0xff, 0xfe, 0x01, 0x80, 0x7f, 0x00,
	                                  0x00, 0x00, 0xde, 0xad, 0xbe, 0xef};
	send_raw(r, garbage, sizeof garbage), sent++;
	expect_fail(r, "?????", "start with '/'"); /* printable */
	static const uint8_t no_nul[] = {'/', 'f', 'x', 'd',
	                                 '/', 'p', 'i', 'n'};
	send_raw(r, no_nul, sizeof no_nul), sent++;
	expect_fail(r, "", "unterminated");
	send_raw(r, "", 0), sent++;
	expect_fail(r, "", "truncated");

	/* A valid message cut mid-way: off the 4-byte grid, then on it (the
	 * float is missing), then without type tags. */
	lo_message m = lo_message_new();
	lo_message_add_float(m, 2000);
	size_t len;
	uint8_t *data = serialise("/fx/lpf/cutoff", m, &len);
	ck_assert_uint_eq(len, 24);
	send_raw(r, data, len - 2), sent++;
	expect_fail(r, "", "truncated");
	send_raw(r, data, len - 4), sent++;
	expect_fail(r, "/fx/lpf/cutoff", "malformed");
	send_raw(r, data, 16), sent++;
	expect_fail(r, "/fx/lpf/cutoff", "malformed");
	free(data);

	/* A 60 KB string where a number, a spec, a name or a host goes. */
	char *big = malloc(60000);
	memset(big, 'x', 59999);
	big[59999] = '\0';
	memcpy(big, "/fx/", 4);
	SEND(r, "/fx/lpf/cutoff", "s", big), sent++;
	expect_fail(r, "/fx/lpf/cutoff", "number");
	SEND(r, "/fxd/chain/load", "s", big), sent++;
	expect_fail(r, "/fxd/chain/load", "chain:1:");
	SEND(r, "/fxd/preset/save", "s", big), sent++;
	expect_fail(r, "/fxd/preset/save", "bad preset name");
	SEND(r, "/fxd/info", "s", big), sent++;
	expect_fail(r, "/fxd/info", "");
	SEND(r, "/fxd/subscribe", "si", big, 9000), sent++;
	expect_fail(r, "/fxd/subscribe", "host '/fx/xxx");
	/* ...and as the address itself. */
	lo_message e = lo_message_new();
	data = serialise(big, e, &len);
	send_raw(r, data, len), sent++;
	lo_message f = expect(&r->cl, "/fxd/fail", "ss", WAIT_MS);
	ck_assert_uint_le(strlen(arg_s(f, 0)), 127);
	lo_message_free(f);
	free(data);
	free(big);

	FxOscCounters after = counters(r);
	ck_assert_uint_eq(after.received - before.received, (unsigned)sent);
	ck_assert_uint_eq(after.rejected - before.rejected, (unsigned)sent);
	ck_assert_uint_eq(after.send_errors, 0);
	expect_nothing(&r->cl);
	SEND(r, "/fxd/ping", "");
	lo_message_free(expect(&r->cl, "/fxd/pong", "", WAIT_MS));
	rig_free(r);
}
END_TEST

/* ---- TCP ----------------------------------------------------------------- */

static int tcp_connect(Rig *r)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in to = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)fx_osc_port(r->o)),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
	return fd;
}

static void tcp_send_internal(int fd, const char *path, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	size_t len;
	void *data = build_va(path, &len, types, ap);
	va_end(ap);
	uint32_t be = htonl((uint32_t)len);
	ck_assert_int_eq(send(fd, &be, 4, MSG_NOSIGNAL), 4);
	ck_assert_int_eq(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
	free(data);
}
#define TCP_SEND(fd, path, ...) \
	tcp_send_internal(fd, path, __VA_ARGS__, LO_ARGS_END)

/* Reads exactly @p n bytes: 1, 0 when the peer closed, -1 on timeout. */
static int read_full(int fd, uint8_t *buf, size_t n, int timeout_ms)
{
	for (size_t got = 0; got < n;) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, timeout_ms) != 1)
			return -1;
		ssize_t k = recv(fd, buf + got, n - got, 0);
		if (k <= 0)
			return 0;
		got += (size_t)k;
	}
	return 1;
}

/* The next framed message: 1, 0 when the server closed, -1 on timeout. */
static int tcp_next(int fd, Reply *out, int timeout_ms)
{
	static uint8_t buf[FX_OSC_MAX_PACKET];
	uint8_t be[4];
	int rc = read_full(fd, be, 4, timeout_ms);
	if (rc != 1)
		return rc;
	uint32_t len = (uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 |
	               (uint32_t)be[2] << 8 | be[3];
	ck_assert_uint_le(len, sizeof buf);
	ck_assert_int_eq(read_full(fd, buf, len, THREAD_WAIT_MS), 1);
	int res = 0;
	out->m = lo_message_deserialise(buf, len, &res);
	ck_assert_msg(out->m, "undecodable TCP reply to %s (%d)", buf, res);
	out->path = strdup((const char *)buf);
	return 1;
}

static void tcp_ping(int fd)
{
	TCP_SEND(fd, "/fxd/ping", "");
	Reply rep;
	ck_assert_int_eq(tcp_next(fd, &rep, THREAD_WAIT_MS), 1);
	ck_assert_str_eq(rep.path, "/fxd/pong");
	reply_free(&rep);
}

/* Idle TCP connections must not lock other clients out: when all
 * --osc-tcp-max places are taken, the connection that spoke least
 * recently is closed for the new one. */
START_TEST(tcp_the_longest_silent_connection_gives_way)
{
	Rig *r = rig_open((RigOptions){.threaded = 1, .tcp = 1, .tcp_max = 2});
	int a = tcp_connect(r), b = tcp_connect(r);
	tcp_ping(a);
	tcp_ping(b);
	int c = tcp_connect(r);
	tcp_ping(c);
	Reply rep;
	ck_assert_int_eq(tcp_next(a, &rep, 10 * WAIT_MS), 0);
	tcp_ping(b);
	tcp_ping(c);
	ck_assert_uint_eq(counters(r).tcp_evicted, 1);
	close(a);
	close(b);
	close(c);
	rig_free(r);
}
END_TEST

/* A TCP connection silent for --osc-tcp-idle seconds is closed. */
START_TEST(tcp_idle_connections_time_out)
{
	Rig *r = rig_open(
		(RigOptions){.threaded = 1, .tcp = 1, .tcp_idle_s = 0.2});
	int a = tcp_connect(r);
	tcp_ping(a);
	Reply rep;
	ck_assert_msg(tcp_next(a, &rep, 20 * WAIT_MS) == 0,
	              "an idle connection stayed open");
	ck_assert(AWAIT(counters(r).tcp_timed_out == 1, 10));
	close(a);
	rig_free(r);
}
END_TEST

/* Over TCP a reply is one message up to FX_OSC_TCP_PART bytes; what
 * grows past a packet (1,200 preset names) comes in parts there too. */
START_TEST(tcp_replies_larger_than_a_packet_come_in_parts)
{
	Rig *r = rig_open((RigOptions){.threaded = 1, .tcp = 1});
	make_presets(r, 1200);
	int fd = tcp_connect(r);
	TCP_SEND(fd, "/fxd/preset/list", "");
	Replies rs = {.n = 0};
	for (int parts = 1; rs.n < parts; rs.n++) {
		ck_assert_int_eq(tcp_next(fd, &rs.r[rs.n], THREAD_WAIT_MS), 1);
		if (!strncmp(types_of(rs.r[rs.n].m), "ii", 2))
			parts = arg_i(rs.r[rs.n].m, 1);
	}
	ck_assert_int_eq(preset_parts(&rs, FX_OSC_TCP_PART), 1200);
	replies_free(&rs);

	/* The largest namespace the effects make today (32 delays with long
	 * labels) still fits one TCP message: one part. */
	char chain[8192] = "";
	for (int s = 0; s < FX_MAX_SLOTS; s++)
		snprintf(chain + strlen(chain), sizeof chain - strlen(chain),
		         "%sa_label_of_thirty_one_chars_%03d:delay",
		         s ? " | " : "", s);
	TCP_SEND(fd, "/fxd/chain/load", "s", chain);
	ck_assert_int_eq(tcp_next(fd, &rs.r[0], THREAD_WAIT_MS), 1);
	ck_assert_str_eq(rs.r[0].path, "/fxd/done");
	reply_free(&rs.r[0]);
	TCP_SEND(fd, "/fxd/json", "");
	ck_assert_int_eq(tcp_next(fd, &rs.r[0], THREAD_WAIT_MS), 1);
	ck_assert_str_eq(rs.r[0].path, "/fxd/json");
	ck_assert_int_eq(arg_i(rs.r[0].m, 0), 0);
	ck_assert_int_eq(arg_i(rs.r[0].m, 1), 1);
	ck_assert_uint_gt(strlen(arg_s(rs.r[0].m, 2)), 40000);
	ck_assert(json_valid(arg_s(rs.r[0].m, 2)));
	reply_free(&rs.r[0]);
	ck_assert_uint_eq(counters(r).send_errors, 0);
	close(fd);
	rig_free(r);
}
END_TEST

/* ---- bundles -------------------------------------------------------------- */

static void send_bundle(Rig *r, lo_timetag when, const char *path, int copies)
{
	lo_bundle b = lo_bundle_new(when);
	for (int i = 0; i < copies; i++)
		lo_bundle_add_message(b, path, lo_message_new());
	size_t len = 0;
	void *data = lo_bundle_serialise(b, NULL, &len);
	ck_assert_ptr_nonnull(data);
	send_raw(r, data, len);
	free(data);
	lo_bundle_free_recursive(b);
}

START_TEST(bundles_are_dispatched_now)
{
	Rig *r = rig_new();
	send_bundle(r, LO_TT_IMMEDIATE, "/fxd/ping", 2);
	lo_message_free(expect(&r->cl, "/fxd/pong", "", WAIT_MS));
	lo_message_free(expect(&r->cl, "/fxd/pong", "", WAIT_MS));
	send_bundle(r, LO_TT_IMMEDIATE, "/fxd/", 1);
	expect_fail(r, "/fxd/", "end with '/'");
	ck_assert_uint_eq(counters(r).received, 2);
	/* A bundle in a bundle is answered too (acted on, or refused). */
	lo_bundle outer = lo_bundle_new(LO_TT_IMMEDIATE);
	lo_bundle inner = lo_bundle_new(LO_TT_IMMEDIATE);
	lo_bundle_add_message(inner, "/fxd/ping", lo_message_new());
	lo_bundle_add_bundle(outer, inner);
	size_t len = 0;
	void *data = lo_bundle_serialise(outer, NULL, &len);
	ck_assert_ptr_nonnull(data);
	send_raw(r, data, len);
	free(data);
	lo_bundle_free_recursive(outer);
	Reply rep;
	ck_assert_msg(next_reply(&r->cl, &rep, WAIT_MS),
	              "a nested bundle went unanswered");
	ck_assert_msg(!strcmp(rep.path, "/fxd/pong") ||
	                      !strcmp(rep.path, "/fxd/fail"),
	              "nested bundle: %s", rep.path);
	reply_free(&rep);
	/* A bundle cut short. */
	lo_bundle b = lo_bundle_new(LO_TT_IMMEDIATE);
	lo_bundle_add_message(b, "/fxd/ping", lo_message_new());
	data = lo_bundle_serialise(b, NULL, &len);
	lo_bundle_free_recursive(b);
	send_raw(r, data, len - 4);
	expect_fail(r, "", "truncated");
	free(data);
	rig_free(r);
}
END_TEST

/* A bundle timed in the future: fxd never runs liblo's scheduler, so it
 * must act on it (or refuse it) at once, not leave it in liblo's queue
 * unanswered and growing. */
START_TEST(timed_bundles_are_answered)
{
	Rig *r = rig_new();
	lo_timetag later;
	lo_timetag_now(&later);
	later.sec += 3600;
	send_bundle(r, later, "/fxd/ping", 1);
	Reply rep;
	int answered = next_reply(&r->cl, &rep, 200);
	if (answered)
		reply_free(&rep);
	int queued = lo_server_events_pending(r->o->lo);
	ck_assert_msg(answered && !queued,
	              "a bundle timed an hour ahead got %s, and liblo %s it",
	              answered ? "a reply" : "no reply",
	              queued ? "queued" : "did not queue");
	rig_free(r);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"namespace", 60, .tests = {
			{unknown_and_malformed_messages_fail, 0},
			{bundles_are_dispatched_now, 0},
			{timed_bundles_are_answered, 0},
			{tcp_the_longest_silent_connection_gives_way, 0},
			{tcp_idle_connections_time_out, 0},
			{tcp_replies_larger_than_a_packet_come_in_parts, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("osc_transport", cases));
}
