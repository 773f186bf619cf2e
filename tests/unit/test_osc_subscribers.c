/* SPDX-License-Identifier: ISC */
/* OSC unit tests, subscribers: feedback, meters, stats, counters, leases, failures forwarded. */
#define _GNU_SOURCE
#include "tests/unit/osc_fixture.h"

START_TEST(counters_go_to_subscribers_when_they_move)
{
	Rig *r = rig_new();
	subscribe(r);
	tick(r);
	drain(&r->cl);
	/* Two periods and no worker: the second has nothing to play. */
	fx_engine_process(r->e, r->inp, r->outp, PERIOD);
	fx_engine_process(r->e, r->inp, r->outp, PERIOD);
	Replies rs;
	tick_collect(r, &rs);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/fxd/counters", &m), 1);
	ck_assert_str_eq(types_of(m), "sdsdsdsdsd");
	static const char *const names[] = {"xruns", "underflows", "late",
	                                    "nonfinite", "overflows"};
	for (int k = 0; k < 5; k++)
		ck_assert_str_eq(arg_s(m, 2 * k), names[k]);
	ck_assert_double_eq(arg_d(m, 3), 1);
	ck_assert_double_eq(arg_d(m, 1), 0);
	replies_free(&rs);
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/fxd/counters", NULL), 0);
	replies_free(&rs);
	rig_free(r);
}
END_TEST

/* ---- meters --------------------------------------------------------------- */

START_TEST(meters_report_peak_and_rms)
{
	Rig *r = rig_new();
	SEND(r, "/fxd/subscribe", "i", 20);
	lo_message m = expect(&r->cl, "/fxd/subscribed", "sii", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 2), 20);
	lo_message_free(m);
	drain(&r->cl);
	r->amp = 0.5;
	r->hz = 1000;
	play(r, 40); /* past the fade in and the filters' start */
	tick(r);     /* reads and sends what came so far */
	drain(&r->cl);
	play(r, 20);
	nap_ms(25);
	Replies rs;
	tick_collect(r, &rs);
	lo_message meters = NULL;
	ck_assert_int_eq(count_path(&rs, "/fxd/meters", &meters), 1);
	ck_assert_str_eq(types_of(meters), "ffff");
	for (int port = 0; port < 2; port++) {
		float peak = arg_f(meters, 2 * port);
		float rms = arg_f(meters, 2 * port + 1);
		ck_assert_msg(fabsf(peak - 0.5f) < 0.5f * 0.02f, "peak %g", peak);
		ck_assert_msg(fabsf(rms - 0.35355f) < 0.35355f * 0.02f,
		              "rms %g", rms);
	}
	/* The input ports, before the chain: the sine as it was played. */
	ck_assert_int_eq(count_path(&rs, "/fxd/meters/in", &meters), 1);
	ck_assert_str_eq(types_of(meters), "ffff");
	for (int port = 0; port < 2; port++) {
		ck_assert_float_eq_tol(arg_f(meters, 2 * port), 0.5f, 1e-6f);
		ck_assert_float_eq_tol(arg_f(meters, 2 * port + 1), 0.35355f,
		                       1e-3f);
	}
	replies_free(&rs);

	/* No audio since: silence. */
	nap_ms(25);
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/fxd/meters", &meters), 1);
	for (int i = 0; i < 4; i++)
		ck_assert_float_eq(arg_f(meters, i), 0.0f);
	replies_free(&rs);
	rig_free(r);
}
END_TEST

/* ---- subscribers ---------------------------------------------------------- */

START_TEST(subscribe_sends_the_full_state)
{
	static const char *const labels[] = {"hpf", "lpf", "vol"};
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	SEND(r, "/fx/hpf/bypass", "i", 1);
	SEND(r, "/fxd/mute", "i", 1);
	SEND(r, "/fxd/bpm", "f", 90.0);
	fx_osc_tick(r->o); /* these changes are old news by now */
	SEND(r, "/fxd/subscribe", "");
	lo_message m = expect(&r->cl, "/fxd/subscribed", "sii", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "127.0.0.1");
	ck_assert_int_eq(arg_i(m, 1), r->cl.port);
	ck_assert_int_eq(arg_i(m, 2), 100);
	lo_message_free(m);

	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	char text[4096];
	fx_spec_format(&spec, text, sizeof text);
	m = expect(&r->cl, "/fxd/chain", "s", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), text);
	lo_message_free(m);
	for (int s = 0; s < 3; s++) {
		const FxEffectClass *cls = spec.slots[s].cls;
		for (int p = 0; p < cls->n_params; p++) {
			char path[96];
			double v = spec.slots[s].values[p];
			snprintf(path, sizeof path, "/fx/%s/%s", labels[s],
			         cls->params[p].name);
			m = expect(&r->cl, path, "f", WAIT_MS);
			ck_assert_float_eq(arg_f(m, 0), (float)v);
			lo_message_free(m);
			strcat(path, "/norm");
			m = expect(&r->cl, path, "f", WAIT_MS);
			ck_assert_float_eq(
				arg_f(m, 0),
				(float)fx_param_to_norm(&cls->params[p], v));
			lo_message_free(m);
		}
		char path[64];
		snprintf(path, sizeof path, "/fx/%s/bypass", labels[s]);
		m = expect(&r->cl, path, "i", WAIT_MS);
		ck_assert_int_eq(arg_i(m, 0), s == 0);
		lo_message_free(m);
	}
	m = expect(&r->cl, "/fxd/mute", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), 1);
	lo_message_free(m);
	m = expect(&r->cl, "/fxd/bpm", "f", WAIT_MS);
	ck_assert_float_eq(arg_f(m, 0), 90.0f);
	lo_message_free(m);
	expect_nothing(&r->cl);
	ck_assert_int_eq(counters(r).subscribers, 1);

	/* The first tick: meters and stats at once. */
	Replies rs;
	tick_collect(r, &rs);
	lo_message meters = NULL;
	ck_assert_int_eq(count_path(&rs, "/fxd/meters", &meters), 1);
	ck_assert_str_eq(types_of(meters), "ffff");
	ck_assert_int_eq(count_path(&rs, "/fxd/stats", NULL), 1);
	ck_assert_int_eq(count_prefix(&rs, "/fx/"), 0);
	replies_free(&rs);
	rig_free(r);
}
END_TEST

START_TEST(subscribe_another_host_and_port)
{
	Rig *r = rig_new();
	Client other;
	client_open(&other, "127.0.0.2");
	SEND(r, "/fxd/subscribe", "si", "127.0.0.2", other.port);
	expect_nothing(&r->cl); /* the confirmation goes to the subscriber */
	lo_message m = expect(&other, "/fxd/subscribed", "sii", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "127.0.0.2");
	ck_assert_int_eq(arg_i(m, 1), other.port);
	ck_assert_int_eq(arg_i(m, 2), 100);
	lo_message_free(m);
	lo_message_free(expect(&other, "/fxd/chain", "s", WAIT_MS));
	drain(&other);
	/* Again, with an interval: the same subscriber, updated. */
	SEND(r, "/fxd/subscribe", "sii", "127.0.0.2", other.port, 50);
	m = expect(&other, "/fxd/subscribed", "sii", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 2), 50);
	lo_message_free(m);
	drain(&other);
	ck_assert_int_eq(counters(r).subscribers, 1);
	/* Its feedback goes there. */
	SEND(r, "/fx/vol/db", "f", -12.0);
	tick(r);
	Replies rs;
	collect(&other, &rs, QUIET_MS);
	lo_message v = NULL;
	ck_assert_int_eq(count_path(&rs, "/fx/vol/db", &v), 1);
	ck_assert_float_eq(arg_f(v, 0), -12.0f);
	replies_free(&rs);
	expect_nothing(&r->cl);

	SEND(r, "/fxd/subscribe", "si", "127.0.0.2", 9);
	expect_nothing(&r->cl);
	ck_assert_int_eq(counters(r).subscribers, 2);

	SEND(r, "/fxd/subscribe", "si", "localhost", 9000);
	expect_fail(r, "/fxd/subscribe", "numeric");
	SEND(r, "/fxd/subscribe", "s", "127.0.0.2");
	expect_fail(r, "/fxd/subscribe", "port");
	SEND(r, "/fxd/subscribe", "si", "127.0.0.2", 0);
	expect_fail(r, "/fxd/subscribe", "port");
	SEND(r, "/fxd/subscribe", "si", "127.0.0.2", 65536);
	expect_fail(r, "/fxd/subscribe", "port");
	SEND(r, "/fxd/subscribe", "sf", "127.0.0.2", 9000.5);
	expect_fail(r, "/fxd/subscribe", "port");
	SEND(r, "/fxd/subscribe", "siii", "127.0.0.2", 9000, 100, 1);
	expect_fail(r, "/fxd/subscribe", "expects");
	SEND(r, "/fxd/subscribe", "f", (double)NAN);
	expect_fail(r, "/fxd/subscribe", "expects");
	ck_assert_int_eq(counters(r).subscribers, 2);

	/* Intervals are clamped to 20..10000 ms. */
	SEND(r, "/fxd/subscribe", "i", 5);
	m = expect(&r->cl, "/fxd/subscribed", "sii", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 2), 20);
	lo_message_free(m);
	drain(&r->cl);
	SEND(r, "/fxd/subscribe", "d", 1e12);
	m = expect(&r->cl, "/fxd/subscribed", "sii", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 2), 10000);
	lo_message_free(m);
	drain(&r->cl);
	client_close(&other);
	rig_free(r);
}
END_TEST

/* Clients that quit without unsubscribing must not lock new ones out:
 * when all 16 places are taken, the one renewed longest ago gives way. */
START_TEST(a_full_table_evicts_the_stalest_subscriber)
{
	Rig *r = rig_new();
	subscribe(r);
	for (int i = 1; i < FX_OSC_MAX_SUBSCRIBERS; i++) {
		fx_osc_clock_advance(r->o, 1); /* each renewed a second later */
		SEND(r, "/fxd/subscribe", "si", "127.0.0.2", 9000 + i);
		expect_nothing(&r->cl);
	}
	ck_assert_int_eq(counters(r).subscribers, 16);
	FxOscCounters before = counters(r);
	fx_osc_clock_advance(r->o, 1);
	SEND(r, "/fxd/subscribe", "si", "127.0.0.2", 9100);
	/* The client, subscribed first, gave way and was told. */
	lo_message m = expect(&r->cl, "/fxd/unsubscribed", "si", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "127.0.0.1");
	ck_assert_int_eq(arg_i(m, 1), r->cl.port);
	lo_message_free(m);
	expect_nothing(&r->cl);
	FxOscCounters after = counters(r);
	ck_assert_int_eq(after.subscribers, 16);
	ck_assert_uint_eq(after.subs_evicted - before.subs_evicted, 1);
	ck_assert_uint_eq(after.rejected, before.rejected);
	/* Renewing keeps a place: 127.0.0.2:9001 is now the stalest. */
	fx_osc_clock_advance(r->o, 1);
	SEND(r, "/fxd/subscribe", "si", "127.0.0.2", 9002);
	fx_osc_clock_advance(r->o, 1);
	subscribe(r);
	SEND(r, "/fxd/unsubscribe", "si", "127.0.0.2", 9001);
	expect_fail(r, "/fxd/unsubscribe", "127.0.0.2:9001 is not subscribed");
	SEND(r, "/fxd/unsubscribe", "si", "127.0.0.2", 9002);
	lo_message_free(expect(&r->cl, "/fxd/unsubscribed", "si", WAIT_MS));
	ck_assert_uint_eq(counters(r).subs_evicted - before.subs_evicted, 2);
	rig_free(r);
}
END_TEST

/* --osc-targets never give way: with 16 of them a newcomer is refused. */
START_TEST(sixteen_static_targets_refuse_a_newcomer)
{
	char text[FX_OSC_MAX_SUBSCRIBERS][32];
	const char *targets[FX_OSC_MAX_SUBSCRIBERS];
	for (int i = 0; i < FX_OSC_MAX_SUBSCRIBERS; i++) {
		snprintf(text[i], sizeof text[i], "127.0.0.2:%d", 9000 + i);
		targets[i] = text[i];
	}
	Rig *r = rig_open((RigOptions){.targets = targets,
	                               .n_targets = FX_OSC_MAX_SUBSCRIBERS});
	SEND(r, "/fxd/subscribe", "");
	expect_fail(r, "/fxd/subscribe", "all 16 are --osc-targets");
	ck_assert_int_eq(counters(r).subscribers, 16);
	ck_assert_uint_eq(counters(r).subs_evicted, 0);
	rig_free(r);
}
END_TEST

/* A subscription lasts --osc-lease seconds after its last /fxd/subscribe;
 * --osc-targets stay. The clock is moved, not waited for. */
START_TEST(subscriptions_expire_unless_renewed)
{
	static const char *const targets[] = {"127.0.0.2:9"};
	Rig *r = rig_open((RigOptions){.targets = targets, .n_targets = 1});
	ck_assert_double_eq(r->o->cfg.lease_s, 60);
	subscribe(r);
	ck_assert_int_eq(counters(r).subscribers, 2);
	fx_osc_clock_advance(r->o, 59);
	tick(r);
	drain(&r->cl);
	ck_assert_int_eq(counters(r).subscribers, 2);
	subscribe(r); /* renewed */
	fx_osc_clock_advance(r->o, 59);
	tick(r);
	drain(&r->cl);
	ck_assert_int_eq(counters(r).subscribers, 2);
	fx_osc_clock_advance(r->o, 2);
	fx_osc_tick(r->o);
	lo_message m = expect(&r->cl, "/fxd/unsubscribed", "si", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 1), r->cl.port);
	lo_message_free(m);
	FxOscCounters c = counters(r);
	ck_assert_int_eq(c.subscribers, 1);
	ck_assert_uint_eq(c.subs_expired, 1);
	/* No more feedback for it; the static target stays for good. */
	SEND(r, "/fx/vol/db", "f", -12.0);
	fx_osc_clock_advance(r->o, 100000);
	tick(r);
	expect_nothing(&r->cl);
	ck_assert_int_eq(counters(r).subscribers, 1);
	lo_message st = get_stats(r);
	ck_assert_double_eq(stat_of(st, "osc.lease"), 60);
	ck_assert_double_eq(stat_of(st, "osc.subscribers_expired"), 1);
	lo_message_free(st);
	rig_free(r);
}
END_TEST

/* A subscriber whose socket is closed: the host answers fxd's datagrams
 * with ICMP port unreachable, and fxd drops it (a static target stays),
 * counts it, and goes on answering others. Real sockets, the server's
 * own thread. */
START_TEST(a_subscriber_whose_port_closed_is_dropped)
{
	Client gone, target_gone;
	client_open(&gone, "127.0.0.2");
	client_open(&target_gone, "127.0.0.3");
	char target[32];
	snprintf(target, sizeof target, "127.0.0.3:%d", target_gone.port);
	const char *targets[] = {target};
	client_close(&target_gone);
	Rig *r = rig_open(
		(RigOptions){.threaded = 1, .targets = targets, .n_targets = 1});
	UDP_SEND(r, &r->cl, "/fxd/subscribe", "");
	lo_message_free(expect(&r->cl, "/fxd/subscribed", "sii", THREAD_WAIT_MS));
	drain(&r->cl);
	UDP_SEND(r, &r->cl, "/fxd/subscribe", "sii", "127.0.0.2", gone.port, 20);
	ck_assert(AWAIT(counters(r).subscribers == 3, 10));
	client_close(&gone); /* quits without unsubscribing */
	ck_assert_msg(AWAIT(counters(r).subs_unreachable == 1 &&
	                            counters(r).subscribers == 2,
	                    10),
	              "a subscriber whose port is closed stayed (%d "
	              "subscribers, %llu unreachable, %llu send errors)",
	              counters(r).subscribers, counters(r).subs_unreachable,
	              counters(r).send_errors);
	ck_assert_uint_gt(counters(r).send_errors, 0);
	/* The error reported on the socket costs no reply to anyone else. */
	drain(&r->cl);
	for (int i = 0; i < 20; i++) {
		UDP_SEND(r, &r->cl, "/fxd/ping", "");
		Reply rep;
		int pong = 0;
		while (!pong && next_reply(&r->cl, &rep, THREAD_WAIT_MS)) {
			pong = !strcmp(rep.path, "/fxd/pong");
			reply_free(&rep);
		}
		ck_assert_msg(pong, "ping %d got no pong", i);
	}
	ck_assert_int_eq(counters(r).subscribers, 2);
	rig_free(r);
}
END_TEST

START_TEST(unsubscribe_stops_feedback)
{
	Rig *r = rig_new();
	subscribe(r);
	SEND(r, "/fxd/unsubscribe", "");
	lo_message m = expect(&r->cl, "/fxd/unsubscribed", "si", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "127.0.0.1");
	ck_assert_int_eq(arg_i(m, 1), r->cl.port);
	lo_message_free(m);
	ck_assert_int_eq(counters(r).subscribers, 0);
	SEND(r, "/fx/vol/db", "f", -12.0);
	tick(r);
	expect_nothing(&r->cl);
	SEND(r, "/fxd/unsubscribe", "");
	expect_fail(r, "/fxd/unsubscribe", "not subscribed");
	SEND(r, "/fxd/unsubscribe", "si", "127.0.0.2", 9);
	expect_fail(r, "/fxd/unsubscribe", "127.0.0.2:9 is not subscribed");
	SEND(r, "/fxd/unsubscribe", "i", 100);
	expect_fail(r, "/fxd/unsubscribe", "expects");
	rig_free(r);
}
END_TEST

/* --osc-target subscribers are static: never unsubscribed (osc_impl.h). */
START_TEST(static_targets_stay_subscribed)
{
	static const char *const targets[] = {"127.0.0.2:9"};
	Rig *r = rig_open((RigOptions){.targets = targets, .n_targets = 1});
	ck_assert_int_eq(counters(r).subscribers, 1);
	SEND(r, "/fxd/unsubscribe", "si", "127.0.0.2", 9);
	Reply rep;
	ck_assert(next_reply(&r->cl, &rep, WAIT_MS));
	int subs = counters(r).subscribers;
	char path[64];
	snprintf(path, sizeof path, "%s", rep.path);
	reply_free(&rep);
	rig_free(r);
	ck_assert_msg(subs == 1 && !strcmp(path, "/fxd/fail"),
	              "a static --osc-target was unsubscribed over OSC "
	              "(reply %s, %d subscribers left)",
	              path, subs);
}
END_TEST

/* What the server threads would do, on this thread: each server reads its
 * own socket and dispatches what came, as from its sender's port, until
 * every socket stays quiet. Returns the packets moved, at most @p limit. */
static int pump(FxOsc *const *servers, int n, int limit)
{
	uint8_t *buf = malloc(FX_OSC_MAX_PACKET);
	int moved = 0;
	for (int busy = 1; busy && moved < limit;) {
		busy = 0;
		for (int i = 0; i < n && moved < limit; i++) {
			struct sockaddr_in from;
			socklen_t len = sizeof from;
			ssize_t got = recvfrom(
				fx_osc_transport_udp_fd(servers[i]->transport),
				buf, FX_OSC_MAX_PACKET, MSG_DONTWAIT,
				(struct sockaddr *)&from, &len);
			if (got < 0)
				continue;
			fx_osc_inject(servers[i], buf, (size_t)got,
			              ntohs(from.sin_port));
			moved++;
			busy = 1;
		}
		if (!busy) {
			struct pollfd fds[2];
			for (int i = 0; i < n && i < 2; i++)
				fds[i] = (struct pollfd){
					fx_osc_transport_udp_fd(
						servers[i]->transport),
					POLLIN, 0};
			busy = poll(fds, (nfds_t)(n < 2 ? n : 2), QUIET_MS) > 0;
		}
	}
	free(buf);
	return moved;
}

/* fxd subscribed to its own port: whatever it sends itself must not be
 * answered back and forth forever (a packet storm from one message, that
 * outlives the subscription). */
START_TEST(fxd_subscribed_to_itself_goes_quiet)
{
	Rig *r = rig_new();
	SEND(r, "/fxd/subscribe", "si", "127.0.0.1", fx_osc_port(r->o));
	drain(&r->cl); /* refused or not: either is fine */
	fx_osc_tick(r->o);
	SEND(r, "/fxd/unsubscribe", "si", "127.0.0.1", fx_osc_port(r->o));
	drain(&r->cl);
	int moved = pump(&r->o, 1, 20000);
	FxOscCounters c = counters(r);
	rig_free(r);
	ck_assert_msg(moved < 20000,
	              "fxd kept answering itself: %d packets and counting "
	              "(%llu rejected)",
	              moved, c.rejected);
}
END_TEST

/* Two fxd, one subscribed to the other's port by mistake: they must not
 * keep answering each other's replies. */
START_TEST(two_fxd_subscribed_to_each_other_go_quiet)
{
	Rig *a = rig_new(), *b = rig_new();
	SEND(a, "/fxd/subscribe", "si", "127.0.0.1", fx_osc_port(b->o));
	SEND(b, "/fxd/subscribe", "si", "127.0.0.1", fx_osc_port(a->o));
	fx_osc_tick(a->o);
	fx_osc_tick(b->o);
	FxOsc *both[2] = {a->o, b->o};
	int moved = pump(both, 2, 20000);
	rig_free(a);
	rig_free(b);
	ck_assert_msg(moved < 20000,
	              "two fxd kept answering each other: %d packets and "
	              "counting",
	              moved);
}
END_TEST

START_TEST(feedback_is_coalesced_to_the_latest_value)
{
	Rig *r = rig_new();
	const FxParamInfo *cut = param_info("lowpass", "cutoff");
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fx/lpf/cutoff", "f", 1000.0);
	SEND(r, "/fx/1/cutoff", "f", 3000.0);
	expect_nothing(&r->cl);
	Replies rs;
	tick_collect(r, &rs);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/cutoff", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), 3000.0f);
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/cutoff/norm", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), (float)fx_param_to_norm(cut, 3000));
	ck_assert_int_eq(count_prefix(&rs, "/fx/"), 2);
	replies_free(&rs);
	/* Setting what is already there changes nothing: no feedback. */
	SEND(r, "/fx/lpf/cutoff", "f", 3000.0);
	tick_collect(r, &rs);
	ck_assert_int_eq(count_prefix(&rs, "/fx/"), 0);
	replies_free(&rs);
	rig_free(r);
}
END_TEST

START_TEST(feedback_respects_the_rate_limit)
{
	Rig *r = rig_open((RigOptions){.rate_hz = 30});
	subscribe(r);
	SEND(r, "/fx/vol/db", "f", -3.0);
	fx_osc_tick(r->o); /* flushes, and the next flush is 1/30 s away */
	SEND(r, "/fx/vol/db", "f", -4.0);
	fx_osc_tick(r->o); /* too soon: held back */
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/fx/vol/db", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), -3.0f);
	replies_free(&rs);
	nap_ms(40);
	fx_osc_tick(r->o);
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_eq(count_path(&rs, "/fx/vol/db", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), -4.0f);
	replies_free(&rs);
	rig_free(r);
}
END_TEST

/* ---- control-plane correctness ------------------------------------------- */

/* Injects a message as if it came from 127.0.0.1:@p port. */
static void send_from_internal(Rig *r, int port, const char *path,
                               const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	size_t len;
	void *data = build_va(path, &len, types, ap);
	va_end(ap);
	fx_osc_inject(r->o, data, len, port);
	free(data);
}
#define SEND_FROM(r, port, path, ...) \
	send_from_internal(r, port, path, __VA_ARGS__, LO_ARGS_END)

/* Pd's [netsend], TouchOSC Mk1 and python-osc's SimpleUDPClient send from a
 * socket they do not listen on: they see their failures only through
 * their subscription. Forwarded at the feedback rate, repeats merged, at
 * most FX_OSC_FAILS_PER_S a second, the rest counted and then said. */
/* The /fxd/fail messages among what reaches @p cl until it is quiet
 * (meters and stats come too); the first in *@p first (free it). */
static int forwarded_fails(Client *cl, lo_message *first)
{
	Replies rs;
	collect(cl, &rs, QUIET_MS);
	int n = 0;
	if (first)
		*first = NULL;
	for (int i = 0; i < rs.n; i++) {
		if (strcmp(rs.r[i].path, "/fxd/fail"))
			continue;
		ck_assert_str_eq(types_of(rs.r[i].m), "sssii");
		if (!n++ && first) {
			*first = rs.r[i].m;
			rs.r[i].m = lo_message_new();
		}
	}
	replies_free(&rs);
	return n;
}

/* Pd's [netsend], TouchOSC Mk1 and python-osc's SimpleUDPClient send from a
 * socket they do not listen on: they see their failures only through
 * their subscription. Forwarded at the feedback rate, repeats merged, at
 * most FX_OSC_FAILS_PER_S a second, the rest counted and then said. */
START_TEST(failures_reach_subscribers)
{
	Rig *r = rig_new();
	subscribe(r);
	tick(r);
	drain(&r->cl);
	Client sender;
	client_open(&sender, "127.0.0.1");
	SEND_FROM(r, sender.port, "/fx/nope/db", "f", 1.0);
	lo_message_free(expect(&sender, "/fxd/fail", "ss", WAIT_MS));
	expect_nothing(&r->cl); /* it waits for the feedback tick */
	tick(r);
	lo_message m;
	ck_assert_int_eq(forwarded_fails(&r->cl, &m), 1);
	char from[40];
	snprintf(from, sizeof from, "udp 127.0.0.1:%d", sender.port);
	ck_assert_str_eq(arg_s(m, 0), "/fx/nope/db");
	ck_assert_ptr_nonnull(strstr(arg_s(m, 1), "no slot 'nope'"));
	ck_assert_str_eq(arg_s(m, 2), from);
	ck_assert_int_eq(arg_i(m, 3), 1);
	ck_assert_int_eq(arg_i(m, 4), 0);
	lo_message_free(m);
	expect_nothing(&sender);

	/* A subscriber's own failure is not sent to it twice. */
	SEND(r, "/fx/nope/db", "f", 1.0);
	expect_fail(r, "/fx/nope/db", "no slot");
	tick(r);
	ck_assert_int_eq(forwarded_fails(&r->cl, NULL), 0);

	/* The same failure again and again: one message that counts them. */
	for (int i = 0; i < 10; i++)
		SEND_FROM(r, sender.port, "/fx/nope/db", "f", 1.0);
	drain(&sender);
	tick(r);
	ck_assert_int_eq(forwarded_fails(&r->cl, &m), 1);
	ck_assert_int_eq(arg_i(m, 3), 10);
	ck_assert_int_eq(arg_i(m, 4), 0);
	lo_message_free(m);

	/* Twenty different ones in a new second: five, then the count. */
	fx_osc_clock_advance(r->o, 1.5);
	for (int i = 0; i < 20; i++) {
		char path[32];
		snprintf(path, sizeof path, "/fx/nope%d/db", i);
		SEND_FROM(r, sender.port, path, "f", 1.0);
	}
	drain(&sender);
	tick(r);
	ck_assert_int_eq(forwarded_fails(&r->cl, NULL), FX_OSC_FAILS_PER_S);
	tick(r);
	/* Still the same second: nothing more. */
	ck_assert_int_eq(forwarded_fails(&r->cl, NULL), 0);
	fx_osc_clock_advance(r->o, 1.5);
	tick(r);
	ck_assert_int_eq(forwarded_fails(&r->cl, &m), 1);
	ck_assert_str_eq(arg_s(m, 0), "");
	ck_assert_msg(strstr(arg_s(m, 1), "15 failures were not forwarded"),
	              "%s", arg_s(m, 1));
	ck_assert_int_eq(arg_i(m, 3), 0);
	ck_assert_int_eq(arg_i(m, 4), 15);
	lo_message_free(m);
	FxOscCounters c = counters(r);
	ck_assert_uint_eq(c.fails_forwarded, 1 + 1 + FX_OSC_FAILS_PER_S + 1);
	ck_assert_uint_eq(c.fails_skipped, 15);
	client_close(&sender);
	rig_free(r);
}
END_TEST

/* The chain's text holds every value: subscribers get it again when a
 * value changes, once per feedback tick. */
START_TEST(chain_text_follows_value_changes)
{
	Rig *r = rig_new();
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fx/vol/db", "f", -6.0);
	SEND(r, "/fx/lpf/cutoff", "f", 3000.0);
	SEND(r, "/fx/hpf/bypass", "i", 1);
	Replies rs;
	tick_collect(r, &rs);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/fxd/chain", &m), 1);
	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	char want[4096];
	fx_spec_format(&spec, want, sizeof want);
	ck_assert_str_eq(arg_s(m, 0), want);
	ck_assert_ptr_nonnull(strstr(want, "cutoff=3000 "));
	ck_assert_ptr_nonnull(strstr(want, "db=-6"));
	ck_assert_ptr_nonnull(strstr(want, "bypass=1"));
	replies_free(&rs);
	tick_collect(r, &rs);
	ck_assert_int_eq(count_path(&rs, "/fxd/chain", NULL), 0);
	replies_free(&rs);
	rig_free(r);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"namespace", 60, .tests = {
			{counters_go_to_subscribers_when_they_move, 0},
			{meters_report_peak_and_rms, 0},
			{subscribe_sends_the_full_state, 0},
			{subscribe_another_host_and_port, 0},
			{a_full_table_evicts_the_stalest_subscriber, 0},
			{sixteen_static_targets_refuse_a_newcomer, 0},
			{subscriptions_expire_unless_renewed, 0},
			{a_subscriber_whose_port_closed_is_dropped, 0},
			{unsubscribe_stops_feedback, 0},
			{static_targets_stay_subscribed, 0},
			{fxd_subscribed_to_itself_goes_quiet, 0},
			{two_fxd_subscribed_to_each_other_go_quiet, 0},
			{feedback_is_coalesced_to_the_latest_value, 0},
			{feedback_respects_the_rate_limit, 0},
			{failures_reach_subscribers, 0},
			{chain_text_follows_value_changes, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("osc_subscribers", cases));
}
