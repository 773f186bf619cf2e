/* SPDX-License-Identifier: ISC */
/* OSC unit tests, random packets never crash the server and each is counted. */
#define _GNU_SOURCE
#include "tests/unit/osc_fixture.h"

/* ---- fuzz ----------------------------------------------------------------- */

typedef struct {
	uint64_t s;
} Rng;

static uint64_t rnd(Rng *g)
{
	g->s ^= g->s << 13;
	g->s ^= g->s >> 7;
	g->s ^= g->s << 17;
	return g->s;
}

static int rnd_below(Rng *g, int n)
{
	return (int)(rnd(g) % (uint64_t)n);
}

static const char *const fuzz_paths[] = {
	"/fxd/ping",
	"/fxd/mute",
	"/fxd/panic",
	"/fxd/reset_state",
	"/fxd/reset_metrics",
	"/fxd/sync",
	"/fxd/list",
	"/fxd/info",
	"/fxd/json",
	"/fxd/stats",
	"/fxd/chain",
	"/fxd/chain/load",
	"/fxd/bpm",
	"/fxd/preset/save",
	"/fxd/preset/load",
	"/fxd/preset/list",
	"/fxd/subscribe",
	"/fxd/unsubscribe",
	"/fx/lpf/cutoff",
	"/fx/lpf/cutoff/norm",
	"/fx/0/q",
	"/fx/hpf/order",
	"/fx/lpf/order",
	"/fx/vol/db",
	"/fx/vol/db/norm",
	"/fx/2/bypass",
	"/fx/*/bypass",
	"/fx/*/*",
	"/fx/*/*/norm",
	"/fx/{lpf,hpf}/cutoff",
	"/fx/[0-9]/order",
	"/fx/?pf/q",
	"/fx/lpf/bypass/norm",
	"/fx/9/x",
	"/fx/",
	"/fx//cutoff",
	"/fxd/*",
	"/fxd/preset/*",
	"/*",
	"/1/fader1",
	"/",
	"/fxd/",
	"fxd/ping",
	"/fx/lpf/cutoff/norm/x",
	"/fx/*",
	"/fx/[/q",
	"/fx/{/q",
	"/fxd/[!p]*",
};

static const char *const fuzz_strings[] = {
	"",
	"a",
	"b-1",
	"../x",
	".h",
	"localhost",
	"::1",
	"/fx/lpf/cutoff",
	"/fx/9/q",
	"vol:gain db=-6",
	CHAIN,
	"lpf:lowpass order=8",
	"hpf:highpass | hpf:highpass",
	"x:nope",
	"a|b|c|",
	"\xff\xfe",
	"cutoff=",
	"%s%n%x",
	"0",
	"-1",
	"1e999",
};

/* A random argument of a random type. */
static void fuzz_arg(Rng *g, lo_message m)
{
	static const float floats[] = {0, 0.5f, 1, -1, 1e9f, 2000, 1e-40f};
	switch (rnd_below(g, 14)) {
	case 0:
		lo_message_add_int32(m, (int32_t)rnd(g));
		break;
	case 1:
		lo_message_add_int32(m, rnd_below(g, 3) - 1);
		break;
	case 2:
		lo_message_add_float(m, floats[rnd_below(g, 7)]);
		break;
	case 3: {
		static const float odd[] = {NAN, INFINITY, -INFINITY};
		lo_message_add_float(m, odd[rnd_below(g, 3)]);
		break;
	}
	case 4: {
		uint64_t bits = rnd(g);
		double d;
		memcpy(&d, &bits, sizeof d);
		lo_message_add_double(m, d);
		break;
	}
	case 5:
		lo_message_add_int64(m, (int64_t)rnd(g));
		break;
	case 6:
		lo_message_add_string(
			m,
			fuzz_strings[rnd_below(
				g, sizeof fuzz_strings / sizeof fuzz_strings[0])]);
		break;
	case 7:
		lo_message_add_symbol(m, fuzz_strings[rnd_below(g, 6)]);
		break;
	case 8:
		lo_message_add_true(m);
		break;
	case 9:
		lo_message_add_false(m);
		break;
	case 10:
		lo_message_add_nil(m);
		break;
	case 11:
		lo_message_add_infinitum(m);
		break;
	case 12: {
		uint8_t bytes[16];
		for (int i = 0; i < 16; i++)
			bytes[i] = (uint8_t)rnd(g);
		lo_blob b = lo_blob_new(1 + rnd_below(g, 16), bytes);
		if (b)
			lo_message_add_blob(m, b);
		lo_blob_free(b);
		break;
	}
	default:
		lo_message_add_char(m, (char)rnd(g));
		break;
	}
}

/* 1 if the bytes hold anything inet_pton takes for an IPv4 address: the
 * server would send to it, and the fuzz must send nothing off this host
 * (nor to some other program's port on it). */
static int names_a_host(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char s[24];
		size_t n = 0;
		while (i + n < len && n < sizeof s - 1 &&
		       ((p[i + n] >= '0' && p[i + n] <= '9') || p[i + n] == '.')) {
			s[n] = (char)p[i + n];
			n++;
		}
		s[n] = '\0';
		struct in_addr a;
		if (n >= 7 && inet_pton(AF_INET, s, &a) == 1)
			return 1;
	}
	return 0;
}

/* One fuzz packet into @p buf; its length. */
static size_t fuzz_packet(Rng *g, uint8_t *buf, size_t cap)
{
	if (rnd_below(g, 4) == 0) { /* random bytes */
		size_t n = (size_t)rnd_below(g, 200);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd(g);
		if (n >= 1 && rnd_below(g, 2))
			buf[0] = '/';
		return n;
	}
	size_t len = 0;
	int in_bundle = rnd_below(g, 8) == 0;
	lo_bundle b = in_bundle ? lo_bundle_new(LO_TT_IMMEDIATE) : NULL;
	int n_msgs = in_bundle ? 1 + rnd_below(g, 3) : 1;
	lo_message msgs[3];
	const char *paths[3];
	for (int k = 0; k < n_msgs; k++) {
		msgs[k] = lo_message_new();
		paths[k] = fuzz_paths[rnd_below(
			g, sizeof fuzz_paths / sizeof fuzz_paths[0])];
		int argc = rnd_below(g, 8) == 0 ? rnd_below(g, 6)
		                                : rnd_below(g, 2);
		for (int a = 0; a < argc; a++)
			fuzz_arg(g, msgs[k]);
	}
	if (in_bundle) {
		for (int k = 0; k < n_msgs; k++)
			lo_bundle_add_message(b, paths[k], msgs[k]);
		len = cap;
		if (!lo_bundle_serialise(b, buf, &len))
			len = 0;
		lo_bundle_free_recursive(b);
	} else {
		len = lo_message_length(msgs[0], paths[0]);
		if (len > cap ||
		    !lo_message_serialise(msgs[0], paths[0], buf, &len))
			len = 0;
		lo_message_free(msgs[0]);
	}
	int how = rnd_below(g, 3);
	if (how >= 1) { /* flips */
		int flips = 1 + rnd_below(g, 4);
		for (int f = 0; f < flips && len; f++)
			buf[rnd_below(g, (int)len)] = (uint8_t)rnd(g);
	}
	if (how == 2 && len) /* truncation */
		len = (size_t)rnd_below(g, (int)len + 1);
	return len;
}

START_TEST(fuzz_never_crashes_and_counts_every_packet)
{
	static const char *const aliases[] = {"/1/fader1=/fx/vol/db/norm"};
	Rig *r = rig_open((RigOptions){.aliases = aliases, .n_aliases = 1});
	r->amp = 0.3;
	r->hz = 440;
	Rng g = {0x9e3779b97f4a7c15ull};
	static uint8_t buf[4096];
	unsigned long injected = 0;
	for (int i = 0; i < 20000; i++) {
		size_t len = fuzz_packet(&g, buf, sizeof buf);
		if (names_a_host(buf, len))
			continue;
		send_raw(r, buf, len);
		injected++;
		if (i % 16 == 0)
			drain_now(&r->cl);
		if (i % 200 == 0) {
			play(r, 2);
			fx_osc_tick(r->o);
			fx_engine_collect(r->e);
		}
		if (i % 2000 == 0) { /* back to a chain the paths name */
			SEND(r, "/fxd/chain/load", "s", CHAIN);
			injected++;
		}
	}
	drain_now(&r->cl);
	ck_assert_uint_gt(injected, 15000);
	FxOscCounters c = counters(r);
	ck_assert_uint_eq(c.received, injected);
	SEND(r, "/fxd/unsubscribe", "");
	SEND(r, "/fxd/ping", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_eq(count_path(&rs, "/fxd/pong", NULL), 1);
	replies_free(&rs);
	c = counters(r);
	rig_free(r);
	ck_assert_uint_eq(c.received, injected + 2);
	ck_assert_msg(c.rejected <= c.received,
	              "%llu rejections for %llu packets", c.rejected, c.received);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"fuzz", 120, .tests = {
			{fuzz_never_crashes_and_counts_every_packet, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("osc_fuzz", cases));
}
