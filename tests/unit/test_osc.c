/* The OSC control plane without JACK: an engine driven by a fake driver, a
 * control surface over it and an OSC server fed with fx_osc_inject on the
 * test's thread; replies come back over real UDP to the test's socket. */
#define _GNU_SOURCE
#include "tests/fxtest.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/engine/control.h"
#include "daemon/engine/engine.h"
#include "osc/osc.h"
#include "osc/osc_impl.h"

static const char CHAIN[] =
	"hpf:highpass cutoff=80 | lpf:lowpass cutoff=12000 | vol:gain db=0";
/* How long a reply may take, and how long silence must last to count as
 * "no reply" (loopback delivers within the sendto; these are margins). */
enum { WAIT_MS = 1000, QUIET_MS = 30, PERIOD = 256, MAX_REPLIES = 512 };
/* With the server's own thread: it is scheduled by a busy machine. */
enum { THREAD_WAIT_MS = 5000 };

/* ---- the client socket ---------------------------------------------------- */

typedef struct {
	int fd, port;
	uint8_t buf[65536];
} Client;

/* One reply: its address and its message. */
typedef struct {
	char *path;
	lo_message m;
} Reply;

typedef struct {
	Reply r[MAX_REPLIES];
	int n;
} Replies;

static void client_open(Client *cl, const char *host)
{
	cl->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(cl->fd, 0);
	int size = 4 << 20;
	setsockopt(cl->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	struct sockaddr_in a = {.sin_family = AF_INET};
	ck_assert_int_eq(inet_pton(AF_INET, host, &a.sin_addr), 1);
	ck_assert_int_eq(bind(cl->fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t len = sizeof a;
	getsockname(cl->fd, (struct sockaddr *)&a, &len);
	cl->port = ntohs(a.sin_port);
}

static void client_close(Client *cl)
{
	close(cl->fd);
}

/* The next datagram as a reply; 0 if none came within @p timeout_ms. */
static int next_reply(Client *cl, Reply *out, int timeout_ms)
{
	struct pollfd p = {cl->fd, POLLIN, 0};
	if (poll(&p, 1, timeout_ms) != 1)
		return 0;
	ssize_t n = recv(cl->fd, cl->buf, sizeof cl->buf, 0);
	ck_assert_int_gt(n, 0);
	size_t plen = strnlen((const char *)cl->buf, (size_t)n);
	ck_assert_msg(plen < (size_t)n, "reply without a terminated address");
	int res = 0;
	out->m = lo_message_deserialise(cl->buf, (size_t)n, &res);
	ck_assert_msg(out->m, "undecodable reply to %s (%d)", cl->buf, res);
	out->path = strdup((const char *)cl->buf);
	return 1;
}

static void reply_free(Reply *r)
{
	lo_message_free(r->m);
	free(r->path);
}

/* Every reply that arrives until @p quiet_ms pass without one. */
static void collect(Client *cl, Replies *out, int quiet_ms)
{
	out->n = 0;
	while (out->n < MAX_REPLIES && next_reply(cl, &out->r[out->n], quiet_ms))
		out->n++;
}

static void replies_free(Replies *rs)
{
	for (int i = 0; i < rs->n; i++)
		reply_free(&rs->r[i]);
	rs->n = 0;
}

static void drain(Client *cl)
{
	Replies rs;
	collect(cl, &rs, QUIET_MS);
	replies_free(&rs);
}

static void drain_now(Client *cl)
{
	while (recv(cl->fd, cl->buf, sizeof cl->buf, MSG_DONTWAIT) > 0)
		;
}

static const char *types_of(lo_message m)
{
	return lo_message_get_types(m);
}

/* Argument @p i. liblo's lo_arg pointers are only 4-byte aligned, so
 * values are copied out rather than read through the (8-byte) union. */
static const void *arg(lo_message m, int i)
{
	ck_assert_int_lt(i, lo_message_get_argc(m));
	return lo_message_get_argv(m)[i];
}

static float arg_f(lo_message m, int i)
{
	ck_assert_int_eq(types_of(m)[i], LO_FLOAT);
	float v;
	memcpy(&v, arg(m, i), sizeof v);
	return v;
}

static int arg_i(lo_message m, int i)
{
	ck_assert_int_eq(types_of(m)[i], LO_INT32);
	int32_t v;
	memcpy(&v, arg(m, i), sizeof v);
	return v;
}

static double arg_d(lo_message m, int i)
{
	ck_assert_int_eq(types_of(m)[i], LO_DOUBLE);
	double v;
	memcpy(&v, arg(m, i), sizeof v);
	return v;
}

static const char *arg_s(lo_message m, int i)
{
	ck_assert_int_eq(types_of(m)[i], LO_STRING);
	return arg(m, i);
}

/* The next reply, which must be @p path with type tags @p types. The
 * caller frees it. @p line: the test's line, for the message. */
static lo_message expect_at(Client *cl, const char *path, const char *types,
                            int timeout_ms, int line)
{
	Reply r;
	ck_assert_msg(next_reply(cl, &r, timeout_ms),
	              "line %d: no reply, wanted %s", line, path);
	ck_assert_msg(!strcmp(r.path, path) && !strcmp(types_of(r.m), types),
	              "line %d: got %s ,%s %s, wanted %s ,%s", line, r.path,
	              types_of(r.m),
	              !strcmp(r.path, "/fxd/fail") ? (const char *)arg(r.m, 1) : "",
	              path, types);
	free(r.path);
	return r.m;
}
#define expect(cl, path, types, timeout_ms)                                  \
	expect_at(cl, path, types, timeout_ms, __LINE__)

static void expect_nothing_at(Client *cl, int line)
{
	Reply r;
	if (next_reply(cl, &r, QUIET_MS)) {
		char path[256];
		snprintf(path, sizeof path, "%s ,%s", r.path, types_of(r.m));
		reply_free(&r);
		ck_abort_msg("line %d: unexpected reply %s", line, path);
	}
}
#define expect_nothing(cl) expect_nothing_at(cl, __LINE__)

/* Replies to @p path among @p rs, and the last of them in *@p last. */
static int count_path(const Replies *rs, const char *path, lo_message *last)
{
	int n = 0;
	for (int i = 0; i < rs->n; i++)
		if (!strcmp(rs->r[i].path, path)) {
			n++;
			if (last)
				*last = rs->r[i].m;
		}
	return n;
}

static int count_prefix(const Replies *rs, const char *prefix)
{
	int n = 0;
	for (int i = 0; i < rs->n; i++)
		n += !strncmp(rs->r[i].path, prefix, strlen(prefix));
	return n;
}

/* ---- the rig: engine, control, server, client ------------------------------ */

typedef struct {
	char dir[64], preset_dir[96], state_file[96];
	FxEngine *e;
	FxControl *c;
	FxOsc *o;
	Client cl;
	float in[2][PERIOD], out[2][PERIOD];
	const float *inp[2];
	float *outp[2];
	long frame;
	double amp, hz; ///< the sine played into the inputs
} Rig;

typedef struct {
	const char *chain;
	const char *const *aliases;
	int n_aliases;
	const char *const *targets;
	int n_targets;
	double rate_hz;
	/* The OSC server's own thread runs, taking real packets: the test
	 * sends with udp_send and must not inject. */
	int threaded;
	int tcp, tcp_max;          ///< 0: UDP only; 0: the default
	double tcp_idle_s;         ///< 0: the default
	/* Called as the control surface takes its lock (may be NULL). */
	void (*on_lock)(void *user);
	void *on_lock_user;
} RigOptions;

static Rig *rig_open(RigOptions opt)
{
	Rig *r = calloc(1, sizeof *r);
	ck_assert_ptr_nonnull(r);
	snprintf(r->dir, sizeof r->dir, "/tmp/fxd-test-osc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	snprintf(r->preset_dir, sizeof r->preset_dir, "%s/presets", r->dir);
	snprintf(r->state_file, sizeof r->state_file, "%s/state", r->dir);

	FxChainSpec spec;
	FxSpecError err;
	ck_assert_msg(fx_spec_parse(opt.chain ? opt.chain : CHAIN, "test",
	                            &spec, &err) == FX_OK,
	              "%s", err.message);
	FxEngineConfig ec = fx_engine_config_default();
	ec.period = PERIOD;
	FxStatus st;
	r->e = fx_engine_new(&ec, &spec, &st);
	ck_assert_msg(r->e, "fx_engine_new: %s", fx_strerror(st));
	fx_engine_set_worker_running(r->e, 0);

	FxControlConfig cc = {.preset_dir = r->preset_dir,
	                      .state_file = r->state_file,
	                      .on_lock = opt.on_lock,
	                      .user = opt.on_lock_user};
	r->c = fx_control_new(r->e, &cc);
	ck_assert_ptr_nonnull(r->c);

	FxOscConfig oc = fx_osc_config_default();
	oc.port = 0;
	oc.aliases = opt.aliases;
	oc.n_aliases = opt.n_aliases;
	oc.targets = opt.targets;
	oc.n_targets = opt.n_targets;
	oc.rate_hz = opt.rate_hz > 0 ? opt.rate_hz : 1000;
	oc.tcp = opt.tcp;
	if (opt.tcp_max)
		oc.tcp_max = opt.tcp_max;
	if (opt.tcp_idle_s > 0)
		oc.tcp_idle_s = opt.tcp_idle_s;
	char why[256] = "";
	r->o = fx_osc_new(&oc, r->c, why, sizeof why);
	ck_assert_msg(r->o, "fx_osc_new: %s", why);
	ck_assert_int_gt(fx_osc_port(r->o), 0);

	client_open(&r->cl, "127.0.0.1");
	for (int c = 0; c < 2; c++) {
		r->inp[c] = r->in[c];
		r->outp[c] = r->out[c];
	}
	if (opt.threaded)
		ck_assert_int_eq(fx_osc_start(r->o), 0);
	return r;
}

static Rig *rig_new(void)
{
	return rig_open((RigOptions){0});
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void rig_free(Rig *r)
{
	fx_osc_free(r->o);
	fx_control_free(r->c);
	fx_engine_free(r->e);
	client_close(&r->cl);
	nftw(r->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	free(r);
}

/* Sends a message built from @p types and what follows (liblo varargs:
 * 'f' and 'd' take doubles, 'h' an int64_t, 'T' 'F' 'N' nothing). */
static void send_internal(Rig *r, const char *path, const char *types, ...)
{
	lo_message m = lo_message_new();
	va_list ap;
	va_start(ap, types);
	ck_assert_int_eq(lo_message_add_varargs(m, types, ap), 0);
	va_end(ap);
	size_t len = 0;
	void *data = lo_message_serialise(m, path, NULL, &len);
	ck_assert_ptr_nonnull(data);
	fx_osc_inject(r->o, data, len, r->cl.port);
	free(data);
	lo_message_free(m);
}
#define SEND(r, path, ...) send_internal(r, path, __VA_ARGS__, LO_ARGS_END)

static void send_raw(Rig *r, const void *data, size_t len)
{
	fx_osc_inject(r->o, data, len, r->cl.port);
}

/* A message as bytes (liblo varargs), malloc'd. */
static void *build_va(const char *path, size_t *len, const char *types,
                      va_list ap)
{
	lo_message m = lo_message_new();
	ck_assert_int_eq(lo_message_add_varargs(m, types, ap), 0);
	*len = 0;
	void *data = lo_message_serialise(m, path, NULL, len);
	ck_assert_ptr_nonnull(data);
	lo_message_free(m);
	return data;
}

/* Sends a real datagram from @p cl to the (threaded) server. */
static void udp_send_internal(Rig *r, Client *cl, const char *path,
                              const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	size_t len;
	void *data = build_va(path, &len, types, ap);
	va_end(ap);
	struct sockaddr_in to = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)fx_osc_port(r->o)),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(sendto(cl->fd, data, len, 0, (struct sockaddr *)&to,
	                        sizeof to),
	                 (ssize_t)len);
	free(data);
}
#define UDP_SEND(r, cl, path, ...)                                           \
	udp_send_internal(r, cl, path, __VA_ARGS__, LO_ARGS_END)

/* Waits until @p cond holds, up to @p seconds: 1 if it did. */
#define AWAIT(cond, seconds)                                                 \
	({                                                                   \
		double until_ = fx_osc_now() + (seconds);                    \
		while (!(cond) && fx_osc_now() < until_)                     \
			nap_ms(5);                                           \
		(cond) ? 1 : 0;                                              \
	})

/* Expects /fxd/fail for @p path whose reason contains @p why. */
static void expect_fail_at(Rig *r, const char *path, const char *why,
                           int line)
{
	lo_message m = expect_at(&r->cl, "/fxd/fail", "ss", WAIT_MS, line);
	ck_assert_msg(!strcmp(arg_s(m, 0), path) && strstr(arg_s(m, 1), why),
	              "line %d: failed %s (%s), wanted %s (...%s...)", line,
	              arg_s(m, 0), arg_s(m, 1), path, why);
	lo_message_free(m);
}
#define expect_fail(r, path, why) expect_fail_at(r, path, why, __LINE__)

static void expect_done_at(Rig *r, const char *path, int line)
{
	lo_message m = expect_at(&r->cl, "/fxd/done", "s", WAIT_MS, line);
	ck_assert_msg(!strcmp(arg_s(m, 0), path), "line %d: done %s", line,
	              arg_s(m, 0));
	lo_message_free(m);
}
#define expect_done(r, path) expect_done_at(r, path, __LINE__)

/* A parameter's value through a get. */
static float get_f(Rig *r, const char *path)
{
	SEND(r, path, "");
	lo_message m = expect(&r->cl, path, "f", WAIT_MS);
	float v = arg_f(m, 0);
	lo_message_free(m);
	return v;
}

static int get_i(Rig *r, const char *path)
{
	SEND(r, path, "");
	lo_message m = expect(&r->cl, path, "i", WAIT_MS);
	int v = arg_i(m, 0);
	lo_message_free(m);
	return v;
}

static FxOscCounters counters(Rig *r)
{
	FxOscCounters c;
	fx_osc_counters(r->o, &c);
	return c;
}

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* One period through the fake driver, then the worker's step. */
static void play(Rig *r, int periods)
{
	for (int p = 0; p < periods; p++) {
		for (int i = 0; i < PERIOD; i++, r->frame++) {
			float x = (float)(r->amp *
			                  sin(2 * M_PI * r->hz * r->frame / 48000.0));
			r->in[0][i] = r->in[1][i] = x;
		}
		fx_engine_process(r->e, r->inp, r->outp, PERIOD);
		fx_engine_work(r->e);
	}
}

/* Past the feedback rate limit (1 kHz in these rigs), then a tick. */
static void tick(Rig *r)
{
	nap_ms(2);
	fx_osc_tick(r->o);
}

/* Subscribes the client (no arguments: the sender) and reads the
 * confirmation and the full state. */
static void subscribe(Rig *r)
{
	SEND(r, "/fxd/subscribe", "");
	lo_message m = expect(&r->cl, "/fxd/subscribed", "sii", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "127.0.0.1");
	ck_assert_int_eq(arg_i(m, 1), r->cl.port);
	lo_message_free(m);
	drain(&r->cl);
}

static const FxParamInfo *param_info(const char *effect, const char *name)
{
	const FxEffectClass *cls = fx_effect_find(effect);
	ck_assert_ptr_nonnull(cls);
	int p = fx_param_find(cls, name);
	ck_assert_int_ge(p, 0);
	return &cls->params[p];
}

/* ---- basics --------------------------------------------------------------- */

START_TEST(ping_answers_pong)
{
	Rig *r = rig_new();
	SEND(r, "/fxd/ping", "");
	lo_message_free(expect(&r->cl, "/fxd/pong", "", WAIT_MS));
	expect_nothing(&r->cl);
	FxOscCounters c = counters(r);
	ck_assert_uint_eq(c.received, 1);
	ck_assert_uint_eq(c.rejected, 0);
	rig_free(r);
}
END_TEST

START_TEST(set_and_get_by_label_and_index)
{
	Rig *r = rig_new();
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 12000.0f);
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	expect_nothing(&r->cl); /* no reply on success */
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 2000.0f);
	/* By index: the reply is on the canonical (label) path. */
	SEND(r, "/fx/1/cutoff", "f", 3000.0);
	SEND(r, "/fx/1/cutoff", "");
	lo_message m = expect(&r->cl, "/fx/lpf/cutoff", "f", WAIT_MS);
	ck_assert_float_eq(arg_f(m, 0), 3000.0f);
	lo_message_free(m);
	ck_assert_double_eq(fx_engine_get_param(r->e, (FxParamRef){1, 0}), 3000.0);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), 0.0f);
	ck_assert_int_eq(get_i(r, "/fx/hpf/bypass"), 0);
	FxOscCounters c = counters(r);
	ck_assert_uint_eq(c.rejected, 0);
	rig_free(r);
}
END_TEST

START_TEST(numbers_in_every_type_and_booleans)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "i", 1500);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 1500.0f);
	SEND(r, "/fx/lpf/cutoff", "h", (int64_t)2500);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 2500.0f);
	SEND(r, "/fx/lpf/cutoff", "d", 3500.5);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 3500.5f);
	SEND(r, "/fx/vol/db", "d", -6.5);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -6.5f);

	SEND(r, "/fx/lpf/bypass", "T");
	ck_assert_int_eq(get_i(r, "/fx/lpf/bypass"), 1);
	SEND(r, "/fx/lpf/bypass", "F");
	ck_assert_int_eq(get_i(r, "/fx/lpf/bypass"), 0);
	SEND(r, "/fx/2/bypass", "i", 1);
	ck_assert_int_eq(get_i(r, "/fx/vol/bypass"), 1);
	SEND(r, "/fx/vol/bypass", "f", 0.0);
	ck_assert_int_eq(get_i(r, "/fx/vol/bypass"), 0);
	ck_assert_uint_eq(counters(r).rejected, 0);
	rig_free(r);
}
END_TEST

START_TEST(out_of_range_values_are_clamped)
{
	Rig *r = rig_new();
	const FxParamInfo *cut = param_info("lowpass", "cutoff");
	const FxParamInfo *db = param_info("gain", "db");
	SEND(r, "/fx/lpf/cutoff", "f", 1e9);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), (float)cut->max);
	SEND(r, "/fx/lpf/cutoff", "i", -5);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), (float)cut->min);
	SEND(r, "/fx/vol/db", "h", (int64_t)-1000000000000LL);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), (float)db->min);
	SEND(r, "/fx/vol/db/norm", "f", 7.0);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), (float)db->max);
	SEND(r, "/fx/vol/db/norm", "f", -1.0);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), (float)db->min);
	ck_assert_uint_eq(counters(r).rejected, 0);
	rig_free(r);
}
END_TEST

START_TEST(norm_round_trips_through_the_scale)
{
	Rig *r = rig_new();
	const FxParamInfo *cut = param_info("lowpass", "cutoff");
	const FxParamInfo *db = param_info("gain", "db");
	/* Set through /norm: the value follows the log scale. */
	SEND(r, "/fx/lpf/cutoff/norm", "f", 0.25);
	double want = fx_param_from_norm(cut, (float)0.25);
	ck_assert_double_eq_tol(get_f(r, "/fx/lpf/cutoff"), want, want * 1e-6);
	ck_assert_double_eq_tol(get_f(r, "/fx/lpf/cutoff/norm"), 0.25, 1e-6);
	/* Set in Hz, read the norm. */
	SEND(r, "/fx/lpf/cutoff", "f", 1000.0);
	ck_assert_double_eq_tol(get_f(r, "/fx/lpf/cutoff/norm"),
	                        fx_param_to_norm(cut, 1000), 1e-6);
	/* dB is linear: 0.5 of -96..24 is -36. */
	SEND(r, "/fx/2/db/norm", "f", 0.5);
	ck_assert_double_eq_tol(get_f(r, "/fx/vol/db"),
	                        fx_param_from_norm(db, 0.5), 1e-5);
	ck_assert_double_eq_tol(get_f(r, "/fx/vol/db"), -36.0, 1e-5);
	SEND(r, "/fx/vol/db/norm", "");
	lo_message m = expect(&r->cl, "/fx/vol/db/norm", "f", WAIT_MS);
	ck_assert_double_eq_tol(arg_f(m, 0), 0.5, 1e-6);
	lo_message_free(m);
	rig_free(r);
}
END_TEST

START_TEST(bad_values_fail_and_change_nothing)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	FxOscCounters before = counters(r);
	SEND(r, "/fx/lpf/cutoff", "f", (double)NAN);
	expect_fail(r, "/fx/lpf/cutoff", "finite");
	SEND(r, "/fx/lpf/cutoff", "d", (double)INFINITY);
	expect_fail(r, "/fx/lpf/cutoff", "finite");
	SEND(r, "/fx/lpf/cutoff/norm", "f", (double)-INFINITY);
	expect_fail(r, "/fx/lpf/cutoff/norm", "finite");
	SEND(r, "/fx/lpf/cutoff", "s", "2000");
	expect_fail(r, "/fx/lpf/cutoff", "number");
	SEND(r, "/fx/lpf/cutoff", "ff", 1.0, 2.0);
	expect_fail(r, "/fx/lpf/cutoff", "one number");
	SEND(r, "/fx/lpf/cutoff", "N");
	expect_fail(r, "/fx/lpf/cutoff", "number");
	SEND(r, "/fx/lpf/bypass", "ii", 1, 1);
	expect_fail(r, "/fx/lpf/bypass", "one number");
	/* Methods that need arguments, given none. */
	SEND(r, "/fxd/sync", "");
	expect_fail(r, "/fxd/sync", "");
	SEND(r, "/fxd/chain/load", "");
	expect_fail(r, "/fxd/chain/load", "string");
	SEND(r, "/fxd/preset/save", "");
	expect_fail(r, "/fxd/preset/save", "string");
	SEND(r, "/fxd/reset_state", "i", 1);
	expect_fail(r, "/fxd/reset_state", "no arguments");
	FxOscCounters after = counters(r);
	ck_assert_uint_eq(after.received - before.received, 11);
	ck_assert_uint_eq(after.rejected - before.rejected, 11);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 2000.0f);
	ck_assert_int_eq(get_i(r, "/fx/lpf/bypass"), 0);
	expect_nothing(&r->cl);
	rig_free(r);
}
END_TEST

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
	static const uint8_t no_nul[] = {'/', 'f', 'x', 'd', '/', 'p', 'i', 'n'};
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

START_TEST(structural_changes_coalesce_to_the_last_value)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/order", "f", 2.6); /* whole numbers only */
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/lpf/order"), 3.0f);
	/* Each change is a rebuild with a crossfade; without audio none of
	 * them can run, yet none is refused: they coalesce, and the last
	 * one sent is the one that runs. */
	for (int i = 0; i < 32; i++)
		SEND(r, "/fx/lpf/order", "i", 4 + i % 2);
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/lpf/order"), 5.0f);
	SEND(r, "/fxd/sync", "i", 1);
	expect_nothing(&r->cl);
	for (int p = 0; p < 200; p++) {
		play(r, 1);
		fx_osc_tick(r->o);
		fx_engine_collect(r->e);
	}
	lo_message m = expect(&r->cl, "/fxd/synced", "i", WAIT_MS);
	lo_message_free(m);
	ck_assert_float_eq(get_f(r, "/fx/lpf/order"), 5.0f);
	SEND(r, "/fx/lpf/order", "i", 6);
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/lpf/order"), 6.0f);
	rig_free(r);
}
END_TEST

/* A chain over the memory budget is refused before anything is built, and
 * the reason names its cost; the running chain stays. */
START_TEST(chain_over_the_memory_budget_fails_naming_its_cost)
{
	Rig *r = rig_new();
	char big[1024] = "";
	for (int i = 0; i < 32; i++)
		strcat(big, i ? " | delay max=30" : "delay max=30");
	SEND(r, "/fxd/chain/load", "s", big);
	expect_fail(r, "/fxd/chain/load", "cannot run this chain: chain needs "
	            "368.7 MB of buffers, over the 256 MB budget "
	            "(--memory-budget)");
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 12000.0f);
	rig_free(r);
}
END_TEST

/* ---- patterns ------------------------------------------------------------- */

START_TEST(pattern_bypasses_every_slot_once)
{
	static const char *const labels[] = {"hpf", "lpf", "vol"};
	Rig *r = rig_new();
	subscribe(r);
	tick(r); /* meters, stats: the first tick's periodic messages */
	drain(&r->cl);
	SEND(r, "/fx/*/bypass", "i", 1);
	expect_nothing(&r->cl);
	for (int s = 0; s < 3; s++) {
		char path[64];
		snprintf(path, sizeof path, "/fx/%s/bypass", labels[s]);
		ck_assert_int_eq(get_i(r, path), 1);
	}
	/* One staged change per slot, not one per matching name. */
	ck_assert_uint_eq(fx_engine_staged_seq(r->e), 3);

	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	for (int s = 0; s < 3; s++) {
		char path[64];
		snprintf(path, sizeof path, "/fx/%s/bypass", labels[s]);
		lo_message m = NULL;
		ck_assert_int_eq(count_path(&rs, path, &m), 1);
		ck_assert_str_eq(types_of(m), "i");
		ck_assert_int_eq(arg_i(m, 0), 1);
	}
	ck_assert_int_eq(count_prefix(&rs, "/fx/"), 3);
	replies_free(&rs);

	/* A pattern get answers once per parameter, on canonical paths. */
	SEND(r, "/fx/*/cutoff", "");
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_eq(rs.n, 2);
	ck_assert_int_eq(count_path(&rs, "/fx/hpf/cutoff", NULL), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/cutoff", NULL), 1);
	replies_free(&rs);
	SEND(r, "/fx/[0-1]/q", "f", 2.0);
	ck_assert_float_eq(get_f(r, "/fx/hpf/q"), 2.0f);
	ck_assert_float_eq(get_f(r, "/fx/lpf/q"), 2.0f);
	SEND(r, "/fx/{lpf,vol}/bypass", "i", 0);
	ck_assert_int_eq(get_i(r, "/fx/hpf/bypass"), 1);
	ck_assert_int_eq(get_i(r, "/fx/lpf/bypass"), 0);
	ck_assert_int_eq(get_i(r, "/fx/vol/bypass"), 0);
	SEND(r, "/fx/*/nothing", "f", 1.0);
	expect_fail(r, "/fx/*/nothing", "matches no parameter");
	rig_free(r);
}
END_TEST

START_TEST(patterns_over_unlabelled_slots)
{
	Rig *r = rig_open((RigOptions){.chain = "highpass | lpf:lowpass | gain"});
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fx/*/bypass", "i", 1);
	ck_assert_uint_eq(fx_engine_staged_seq(r->e), 3);
	SEND(r, "/fx/{0,lpf,1}/cutoff", "f", 500.0);
	ck_assert_uint_eq(fx_engine_staged_seq(r->e), 5);
	ck_assert_float_eq(get_f(r, "/fx/0/cutoff"), 500.0f);
	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_eq(count_path(&rs, "/fx/0/bypass", NULL), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/bypass", NULL), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/2/bypass", NULL), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/1/bypass", NULL), 0);
	ck_assert_int_eq(count_path(&rs, "/fx/0/cutoff", NULL), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/cutoff", NULL), 1);
	ck_assert_int_eq(count_prefix(&rs, "/fx/"), 3 + 2 * 2);
	replies_free(&rs);
	/* An index query of a labelled slot answers on its label. */
	SEND(r, "/fx/1/bypass", "");
	lo_message m = expect(&r->cl, "/fx/lpf/bypass", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), 1);
	lo_message_free(m);
	SEND(r, "/fx/2/db", "");
	lo_message_free(expect(&r->cl, "/fx/2/db", "f", WAIT_MS));
	rig_free(r);
}
END_TEST

/* A bad value sent to a pattern is one bad message: one /fxd/fail and
 * one rejection, however many parameters the pattern matches. */
START_TEST(pattern_with_a_bad_value_is_rejected_once)
{
	Rig *r = rig_new();
	FxOscCounters before = counters(r);
	SEND(r, "/fx/*/cutoff", "s", "loud");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	int fails = count_path(&rs, "/fxd/fail", NULL);
	replies_free(&rs);
	FxOscCounters after = counters(r);
	rig_free(r);
	ck_assert_uint_eq(after.received - before.received, 1);
	ck_assert_msg(fails == 1 && after.rejected - before.rejected == 1,
	              "one message to /fx/*/cutoff got %d /fxd/fail replies "
	              "and %llu rejections",
	              fails, after.rejected - before.rejected);
}
END_TEST

/* ---- introspection -------------------------------------------------------- */

/* The scale names doc/osc.md promises in /fxd/param. */
static const char *doc_scale_name(FxScale s)
{
	static const char *const names[] = {"lin", "log", "dB", "enum"};
	return (unsigned)s < 4 ? names[s] : "?";
}

static void check_param(lo_message m, const char *path, const char *effect,
                        const FxParamInfo *p, double value)
{
	ck_assert_str_eq(types_of(m), "ssffffss");
	ck_assert_str_eq(arg_s(m, 0), path);
	ck_assert_str_eq(arg_s(m, 1), effect);
	ck_assert_float_eq(arg_f(m, 2), (float)value);
	ck_assert_float_eq(arg_f(m, 3), (float)p->min);
	ck_assert_float_eq(arg_f(m, 4), (float)p->max);
	ck_assert_float_eq(arg_f(m, 5), (float)p->def);
	ck_assert_str_eq(arg_s(m, 6), p->unit);
	ck_assert_msg(!strcmp(arg_s(m, 7), doc_scale_name(p->scale)),
	              "%s: scale '%s', doc/osc.md says one of lin, log, dB, "
	              "enum ('%s' here)",
	              path, arg_s(m, 7), doc_scale_name(p->scale));
}

START_TEST(list_describes_every_parameter)
{
	static const char *const labels[] = {"hpf", "lpf", "vol"};
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	FxChainSpec spec;
	fx_control_get_spec(r->c, &spec);
	SEND(r, "/fxd/list", "");
	int n = 0;
	for (int s = 0; s < spec.n_slots; s++) {
		const FxEffectClass *cls = spec.slots[s].cls;
		for (int p = 0; p < cls->n_params; p++, n++) {
			char path[96];
			snprintf(path, sizeof path, "/fx/%s/%s", labels[s],
			         cls->params[p].name);
			lo_message m = expect(&r->cl, "/fxd/param", "ssffffss",
			                      WAIT_MS);
			check_param(m, path, cls->name, &cls->params[p],
			            spec.slots[s].values[p]);
			lo_message_free(m);
		}
	}
	ck_assert_int_eq(n, 3 + 3 + 1);
	lo_message m = expect(&r->cl, "/fxd/list/done", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), n);
	lo_message_free(m);
	expect_nothing(&r->cl);
	rig_free(r);
}
END_TEST

START_TEST(info_describes_one_parameter)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	SEND(r, "/fxd/info", "s", "/fx/lpf/cutoff");
	lo_message m = expect(&r->cl, "/fxd/param", "ssffffss", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "/fx/lpf/cutoff");
	ck_assert_str_eq(arg_s(m, 1), "lowpass");
	ck_assert_float_eq(arg_f(m, 2), 2000.0f);
	ck_assert_float_eq(arg_f(m, 3), 20.0f);
	ck_assert_float_eq(arg_f(m, 4), 20000.0f);
	ck_assert_float_eq(arg_f(m, 5), 12000.0f);
	ck_assert_str_eq(arg_s(m, 6), "Hz");
	ck_assert_str_eq(arg_s(m, 7), "log");
	lo_message_free(m);
	/* By index, the canonical path comes back. */
	SEND(r, "/fxd/info", "s", "/fx/2/db");
	m = expect(&r->cl, "/fxd/param", "ssffffss", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "/fx/vol/db");
	ck_assert_str_eq(arg_s(m, 6), "dB");
	lo_message_free(m);
	SEND(r, "/fxd/info", "s", "/fx/lpf/nope");
	expect_fail(r, "/fxd/info", "no parameter");
	SEND(r, "/fxd/info", "s", "lpf");
	expect_fail(r, "/fxd/info", "/fx/lpf/cutoff");
	SEND(r, "/fxd/info", "i", 3);
	expect_fail(r, "/fxd/info", "/fx/lpf/cutoff");
	rig_free(r);
}
END_TEST

/* A small JSON checker: 1 if the whole text is one valid JSON value. */
typedef struct {
	const char *p;
	int depth;
} Json;

static int json_value(Json *j);

static void json_space(Json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static int json_string(Json *j)
{
	if (*j->p++ != '"')
		return 0;
	for (;;) {
		unsigned char ch = (unsigned char)*j->p++;
		if (ch == '"')
			return 1;
		if (ch < 32)
			return 0;
		if (ch != '\\')
			continue;
		ch = (unsigned char)*j->p++;
		if (ch == 'u') {
			for (int i = 0; i < 4; i++, j->p++)
				if (!strchr("0123456789abcdefABCDEF", *j->p) ||
				    !*j->p)
					return 0;
		} else if (!ch || !strchr("\"\\/bfnrt", ch)) {
			return 0;
		}
	}
}

static int json_digits(Json *j)
{
	const char *start = j->p;
	while (*j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start;
}

static int json_number(Json *j)
{
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (!json_digits(j))
		return 0;
	if (*j->p == '.') {
		j->p++;
		if (!json_digits(j))
			return 0;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!json_digits(j))
			return 0;
	}
	return 1;
}

static int json_word(Json *j, const char *w)
{
	size_t n = strlen(w);
	if (strncmp(j->p, w, n))
		return 0;
	j->p += n;
	return 1;
}

/* Members of an object (@p close '}') or elements of an array (']'). */
static int json_items(Json *j, char close)
{
	j->p++;
	json_space(j);
	if (*j->p == close) {
		j->p++;
		return 1;
	}
	for (;;) {
		json_space(j);
		if (close == '}') {
			if (!json_string(j))
				return 0;
			json_space(j);
			if (*j->p++ != ':')
				return 0;
		}
		if (!json_value(j))
			return 0;
		json_space(j);
		char ch = *j->p++;
		if (ch == close)
			return 1;
		if (ch != ',')
			return 0;
	}
}

static int json_value(Json *j)
{
	if (++j->depth > 64)
		return 0;
	json_space(j);
	int ok;
	switch (*j->p) {
	case '{': ok = json_items(j, '}'); break;
	case '[': ok = json_items(j, ']'); break;
	case '"': ok = json_string(j); break;
	case 't': ok = json_word(j, "true"); break;
	case 'f': ok = json_word(j, "false"); break;
	case 'n': ok = json_word(j, "null"); break;
	default: ok = json_number(j); break;
	}
	j->depth--;
	return ok;
}

static int json_valid(const char *text)
{
	Json j = {text, 0};
	if (!json_value(&j))
		return 0;
	json_space(&j);
	return *j.p == '\0';
}

START_TEST(json_checker_knows_json)
{
	ck_assert(json_valid("{\"a\":[1,-2.5e3,true,null,\"x\\u00e9\"]}"));
	ck_assert(!json_valid("{\"a\":1,}"));
	ck_assert(!json_valid("{\"a\" 1}"));
	ck_assert(!json_valid("[1"));
	ck_assert(!json_valid("{\"a\":nan}"));
	ck_assert(!json_valid("\"abc"));
}
END_TEST

START_TEST(json_parts_form_the_namespace)
{
	/* Long labels make the text span several 1 KB parts. */
	Rig *r = rig_open((RigOptions){
		.chain = "hpf:highpass cutoff=80 | lpf:lowpass cutoff=12000 | "
		         "a_rather_long_label_number_one:peaking | "
		         "a_rather_long_label_number_two:peaking | "
		         "a_rather_long_label_number_3:highshelf | vol:gain db=0"});
	SEND(r, "/fxd/json", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_ge(rs.n, 2);
	size_t total = 0;
	for (int i = 0; i < rs.n; i++) {
		ck_assert_str_eq(rs.r[i].path, "/fxd/json");
		ck_assert_str_eq(types_of(rs.r[i].m), "iis");
		ck_assert_int_eq(arg_i(rs.r[i].m, 0), i);
		ck_assert_int_eq(arg_i(rs.r[i].m, 1), rs.n);
		size_t n = strlen(arg_s(rs.r[i].m, 2));
		ck_assert_uint_le(n, FX_OSC_JSON_PART);
		if (i < rs.n - 1)
			ck_assert_uint_eq(n, FX_OSC_JSON_PART);
		total += n;
	}
	char *text = calloc(1, total + 1);
	for (int i = 0; i < rs.n; i++)
		strcat(text, arg_s(rs.r[i].m, 2));
	replies_free(&rs);
	ck_assert_msg(json_valid(text), "not JSON: %s", text);
	ck_assert_int_eq(text[0], '{');
	ck_assert_int_eq(text[total - 1], '}');
	static const char *const labels[] = {
		"hpf", "lpf", "a_rather_long_label_number_one",
		"a_rather_long_label_number_two", "a_rather_long_label_number_3",
		"vol"};
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
		char want[64];
		snprintf(want, sizeof want, "\"label\":\"%s\"", labels[i]);
		ck_assert_msg(strstr(text, want), "no %s in %s", want, text);
	}
	ck_assert_ptr_nonnull(strstr(text, "\"path\":\"/fx/lpf/cutoff\""));
	free(text);
	rig_free(r);
}
END_TEST

/* ---- sync ----------------------------------------------------------------- */

START_TEST(sync_answers_once_audio_applied_the_change)
{
	Rig *r = rig_new();
	/* Nothing pending: at once. */
	SEND(r, "/fxd/sync", "i", 3);
	lo_message m = expect(&r->cl, "/fxd/synced", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), 3);
	lo_message_free(m);

	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	SEND(r, "/fxd/sync", "i", 7);
	expect_nothing(&r->cl);
	tick(r);
	expect_nothing(&r->cl); /* no audio ran yet */
	play(r, 1);
	tick(r);
	m = expect(&r->cl, "/fxd/synced", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), 7);
	lo_message_free(m);
	tick(r);
	expect_nothing(&r->cl); /* answered once */

	/* Several waiting, answered in one tick; ids as h and d. */
	SEND(r, "/fx/vol/db", "f", -3.0);
	SEND(r, "/fxd/sync", "h", (int64_t)-5);
	SEND(r, "/fxd/sync", "d", 2147483647.0);
	expect_nothing(&r->cl);
	play(r, 1);
	tick(r);
	m = expect(&r->cl, "/fxd/synced", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), -5);
	lo_message_free(m);
	m = expect(&r->cl, "/fxd/synced", "i", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 0), 2147483647);
	lo_message_free(m);

	SEND(r, "/fxd/sync", "f", 1.5);
	expect_fail(r, "/fxd/sync", "whole number");
	SEND(r, "/fxd/sync", "d", 4294967296.0);
	expect_fail(r, "/fxd/sync", "whole number");
	SEND(r, "/fxd/sync", "s", "7");
	expect_fail(r, "/fxd/sync", "number");
	rig_free(r);
}
END_TEST

START_TEST(syncs_waiting_are_capped)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	for (int i = 0; i < FX_OSC_MAX_SYNCS; i++)
		SEND(r, "/fxd/sync", "i", i);
	expect_nothing(&r->cl);
	SEND(r, "/fxd/sync", "i", 99);
	expect_fail(r, "/fxd/sync", "too many");
	play(r, 1);
	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_eq(rs.n, FX_OSC_MAX_SYNCS);
	int seen[FX_OSC_MAX_SYNCS] = {0};
	for (int i = 0; i < rs.n; i++) {
		ck_assert_str_eq(rs.r[i].path, "/fxd/synced");
		int id = arg_i(rs.r[i].m, 0);
		ck_assert(id >= 0 && id < FX_OSC_MAX_SYNCS && !seen[id]);
		seen[id] = 1;
	}
	replies_free(&rs);
	rig_free(r);
}
END_TEST

START_TEST(sync_fails_when_no_audio_runs)
{
	Rig *r = rig_new();
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	SEND(r, "/fxd/sync", "i", 9);
	tick(r);
	expect_nothing(&r->cl);
	nap_ms(2100);
	tick(r);
	expect_fail(r, "/fxd/sync", "timed out");
	play(r, 1);
	tick(r);
	expect_nothing(&r->cl); /* the sync is gone */
	rig_free(r);
}
END_TEST

/* ---- stats ---------------------------------------------------------------- */

/* A stats message as name/value pairs; found in *@p ok. */
static double stat_value(lo_message m, const char *key, int *ok)
{
	const char *t = types_of(m);
	*ok = 0;
	for (int i = 0; t[i] && t[i + 1]; i += 2) {
		ck_assert_int_eq(t[i], LO_STRING);
		ck_assert_int_eq(t[i + 1], LO_DOUBLE);
		if (!strcmp(arg_s(m, i), key)) {
			*ok = 1;
			return arg_d(m, i + 1);
		}
	}
	return NAN;
}

static double stat_of(lo_message m, const char *key)
{
	int ok;
	double v = stat_value(m, key, &ok);
	ck_assert_msg(ok, "no %s in /fxd/stats", key);
	ck_assert_msg(isfinite(v), "%s is %g", key, v);
	return v;
}

static lo_message get_stats(Rig *r)
{
	SEND(r, "/fxd/stats", "");
	Reply rep;
	ck_assert(next_reply(&r->cl, &rep, WAIT_MS));
	ck_assert_str_eq(rep.path, "/fxd/stats");
	free(rep.path);
	return rep.m;
}

START_TEST(stats_name_every_documented_value)
{
	static const char *const whats[] = {"callback", "worker", "knob"};
	static const char *const fields[] = {"count", "min", "median", "mean",
	                                     "p95", "p99", "max"};
	static const char *const names[] = {
		"load", "callbacks", "chunks", "underflows", "late", "xruns",
		"nonfinite", "overflows", "osc.received", "osc.rejected",
		"osc.dropped", "osc.kernel_drops", "osc.send_errors",
		"osc.subscribers_unreachable", "osc.subscribers_expired",
		"osc.subscribers_evicted", "osc.tcp_timed_out",
		"osc.tcp_evicted", "osc.fails_forwarded", "osc.fails_skipped",
		"osc.lease", "subscribers", "rate", "period", "latency"};
	Rig *r = rig_new();
	play(r, 10);
	lo_message m = get_stats(r);
	const char *t = types_of(m);
	ck_assert_int_eq(strlen(t) % 2, 0);
	for (size_t i = 0; t[i]; i += 2)
		ck_assert(t[i] == 's' && t[i + 1] == 'd');
	size_t n = 0;
	for (size_t w = 0; w < 3; w++)
		for (size_t f = 0; f < 7; f++, n++) {
			char key[32];
			snprintf(key, sizeof key, "%s.%s", whats[w], fields[f]);
			stat_of(m, key);
		}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++, n++)
		stat_of(m, names[i]);
	ck_assert_uint_eq(strlen(t) / 2, n);
	ck_assert_double_eq(stat_of(m, "callbacks"), 10);
	ck_assert_double_eq(stat_of(m, "chunks"), 10);
	ck_assert_double_eq(stat_of(m, "callback.count"), 10);
	ck_assert_double_eq(stat_of(m, "underflows"), 0);
	ck_assert_double_eq(stat_of(m, "rate"), 48000);
	ck_assert_double_eq(stat_of(m, "period"), PERIOD);
	ck_assert_double_eq(stat_of(m, "latency"), PERIOD);
	ck_assert_double_eq(stat_of(m, "osc.received"), 1);
	ck_assert_double_eq(stat_of(m, "subscribers"), 0);
	ck_assert_double_eq(stat_of(m, "knob.count"), 0);
	lo_message_free(m);
	rig_free(r);
}
END_TEST

START_TEST(stats_time_knob_to_ear)
{
	Rig *r = rig_new();
	play(r, 4);
	SEND(r, "/fx/lpf/cutoff", "f", 1000.0);
	play(r, 3);
	tick(r); /* settles the timings */
	lo_message m = get_stats(r);
	ck_assert_double_ge(stat_of(m, "knob.count"), 1);
	double median = stat_of(m, "knob.median");
	ck_assert_double_ge(median, 0);
	ck_assert_double_le(median, 1000); /* a fake driver: no real periods */
	ck_assert_double_ge(stat_of(m, "knob.max"), median);
	ck_assert_double_eq(stat_of(m, "callbacks"), 7);
	lo_message_free(m);
	rig_free(r);
}
END_TEST

START_TEST(counters_go_to_subscribers_when_they_move)
{
	Rig *r = rig_new();
	subscribe(r);
	tick(r);
	drain(&r->cl);
	/* Two periods and no worker: the second has nothing to play. */
	fx_engine_process(r->e, r->inp, r->outp, PERIOD);
	fx_engine_process(r->e, r->inp, r->outp, PERIOD);
	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
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
	tick(r);
	collect(&r->cl, &rs, QUIET_MS);
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
	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message meters = NULL;
	ck_assert_int_eq(count_path(&rs, "/fxd/meters", &meters), 1);
	ck_assert_str_eq(types_of(meters), "ffff");
	for (int port = 0; port < 2; port++) {
		float peak = arg_f(meters, 2 * port);
		float rms = arg_f(meters, 2 * port + 1);
		ck_assert_msg(fabsf(peak - 0.5f) < 0.5f * 0.02f, "peak %g", peak);
		ck_assert_msg(fabsf(rms - 0.35355f) < 0.35355f * 0.02f, "rms %g",
		              rms);
	}
	replies_free(&rs);

	/* No audio since: silence. */
	nap_ms(25);
	tick(r);
	collect(&r->cl, &rs, QUIET_MS);
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
			ck_assert_float_eq(arg_f(m, 0),
			                   (float)fx_param_to_norm(&cls->params[p],
			                                           v));
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
	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
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
		r->o->clock_offset += 1; /* each renewed a second later */
		SEND(r, "/fxd/subscribe", "si", "127.0.0.2", 9000 + i);
		expect_nothing(&r->cl);
	}
	ck_assert_int_eq(counters(r).subscribers, 16);
	FxOscCounters before = counters(r);
	r->o->clock_offset += 1;
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
	r->o->clock_offset += 1;
	SEND(r, "/fxd/subscribe", "si", "127.0.0.2", 9002);
	r->o->clock_offset += 1;
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
	r->o->clock_offset += 59;
	tick(r);
	drain(&r->cl);
	ck_assert_int_eq(counters(r).subscribers, 2);
	subscribe(r); /* renewed */
	r->o->clock_offset += 59;
	tick(r);
	drain(&r->cl);
	ck_assert_int_eq(counters(r).subscribers, 2);
	r->o->clock_offset += 2;
	fx_osc_tick(r->o);
	lo_message m = expect(&r->cl, "/fxd/unsubscribed", "si", WAIT_MS);
	ck_assert_int_eq(arg_i(m, 1), r->cl.port);
	lo_message_free(m);
	FxOscCounters c = counters(r);
	ck_assert_int_eq(c.subscribers, 1);
	ck_assert_uint_eq(c.subs_expired, 1);
	/* No more feedback for it; the static target stays for good. */
	SEND(r, "/fx/vol/db", "f", -12.0);
	r->o->clock_offset += 100000;
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
	Rig *r = rig_open((RigOptions){.threaded = 1, .targets = targets,
	                               .n_targets = 1});
	UDP_SEND(r, &r->cl, "/fxd/subscribe", "");
	lo_message_free(
		expect(&r->cl, "/fxd/subscribed", "sii", THREAD_WAIT_MS));
	drain(&r->cl);
	UDP_SEND(r, &r->cl, "/fxd/subscribe", "sii", "127.0.0.2", gone.port,
	         20);
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
			ssize_t got = recvfrom(servers[i]->udp, buf,
			                       FX_OSC_MAX_PACKET, MSG_DONTWAIT,
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
				fds[i] = (struct pollfd){servers[i]->udp, POLLIN, 0};
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
	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/cutoff", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), 3000.0f);
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/cutoff/norm", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), (float)fx_param_to_norm(cut, 3000));
	ck_assert_int_eq(count_prefix(&rs, "/fx/"), 2);
	replies_free(&rs);
	/* Setting what is already there changes nothing: no feedback. */
	SEND(r, "/fx/lpf/cutoff", "f", 3000.0);
	tick(r);
	collect(&r->cl, &rs, QUIET_MS);
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

/* ---- daemon methods ------------------------------------------------------- */

static int out_silent(Rig *r)
{
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < PERIOD; i++)
			if (r->out[c][i] != 0.0f)
				return 0;
	return 1;
}

START_TEST(mute_panic_and_resets)
{
	Rig *r = rig_new();
	r->amp = 0.5;
	r->hz = 1000;
	ck_assert_int_eq(get_i(r, "/fxd/mute"), 0);
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fxd/mute", "i", 1);
	expect_nothing(&r->cl);
	play(r, 20);
	ck_assert(out_silent(r));
	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/fxd/mute", &m), 1);
	ck_assert_int_eq(arg_i(m, 0), 1);
	replies_free(&rs);
	ck_assert_int_eq(get_i(r, "/fxd/mute"), 1);
	SEND(r, "/fxd/mute", "F");
	ck_assert_int_eq(get_i(r, "/fxd/mute"), 0);
	play(r, 20);
	ck_assert(!out_silent(r));
	SEND(r, "/fxd/mute", "s", "yes");
	expect_fail(r, "/fxd/mute", "number");

	SEND(r, "/fxd/panic", "");
	expect_done(r, "/fxd/panic");
	/* A button: its press panics, its release does nothing. */
	SEND(r, "/fxd/panic", "f", 1.0);
	expect_done(r, "/fxd/panic");
	SEND(r, "/fxd/panic", "f", 0.0);
	expect_nothing(&r->cl);
	SEND(r, "/fxd/panic", "T");
	expect_done(r, "/fxd/panic");
	SEND(r, "/fxd/panic", "s", "now");
	expect_fail(r, "/fxd/panic", "number");
	SEND(r, "/fxd/panic", "ii", 1, 1);
	expect_fail(r, "/fxd/panic", "one number");
	play(r, 20);
	ck_assert(!out_silent(r));
	SEND(r, "/fxd/reset_state", "");
	expect_done(r, "/fxd/reset_state");

	lo_message st = get_stats(r);
	ck_assert_double_eq(stat_of(st, "callbacks"), 60);
	lo_message_free(st);
	SEND(r, "/fxd/reset_metrics", "");
	expect_done(r, "/fxd/reset_metrics");
	st = get_stats(r);
	ck_assert_double_eq(stat_of(st, "callbacks"), 0);
	ck_assert_double_eq(stat_of(st, "chunks"), 0);
	ck_assert_double_eq(stat_of(st, "callback.count"), 0);
	lo_message_free(st);
	play(r, 2);
	st = get_stats(r);
	ck_assert_double_eq(stat_of(st, "callbacks"), 2);
	lo_message_free(st);
	rig_free(r);
}
END_TEST

START_TEST(chain_query_load_and_errors)
{
	Rig *r = rig_new();
	FxChainSpec spec;
	char want[4096];
	fx_control_get_spec(r->c, &spec);
	fx_spec_format(&spec, want, sizeof want);
	SEND(r, "/fxd/chain", "");
	lo_message m = expect(&r->cl, "/fxd/chain", "s", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), want);
	ck_assert_ptr_nonnull(strstr(arg_s(m, 0), "lpf:lowpass"));
	lo_message_free(m);

	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fxd/chain/load", "s", "vol:gain db=-6");
	expect_done(r, "/fxd/chain/load");
	ck_assert(fx_spec_parse("vol:gain db=-6", "t", &spec, NULL) == FX_OK);
	fx_spec_format(&spec, want, sizeof want);
	SEND(r, "/fxd/chain", "");
	m = expect(&r->cl, "/fxd/chain", "s", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), want);
	lo_message_free(m);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -6.0f);
	SEND(r, "/fx/lpf/cutoff", "");
	expect_fail(r, "/fx/lpf/cutoff", "no slot 'lpf'");
	/* Subscribers get the new state. */
	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message c = NULL;
	ck_assert_int_eq(count_path(&rs, "/fxd/chain", &c), 1);
	ck_assert_str_eq(arg_s(c, 0), want);
	ck_assert_int_eq(count_path(&rs, "/fx/vol/db", &c), 1);
	ck_assert_float_eq(arg_f(c, 0), -6.0f);
	replies_free(&rs);

	SEND(r, "/fxd/chain/load", "s", "vol:gainn");
	lo_message f = expect(&r->cl, "/fxd/fail", "ss", WAIT_MS);
	ck_assert_str_eq(arg_s(f, 0), "/fxd/chain/load");
	ck_assert_msg(!strncmp(arg_s(f, 1), "chain:1:", 8), "reason %s",
	              arg_s(f, 1));
	ck_assert_ptr_nonnull(strstr(arg_s(f, 1), "gain"));
	lo_message_free(f);
	SEND(r, "/fxd/chain/load", "s", "lpf:lowpass cutoff=1e9");
	expect_fail(r, "/fxd/chain/load", "chain:1:");
	SEND(r, "/fxd/chain/load", "i", 1);
	expect_fail(r, "/fxd/chain/load", "string");
	/* /fxd/chain with a string is what fxd sends as feedback: coming
	 * in (from another fxd, or a loop) it is ignored, never answered. */
	SEND(r, "/fxd/chain", "s", "x");
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -6.0f);
	rig_free(r);
}
END_TEST

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Names in @p dir, sorted, joined with spaces. */
static void list_dir(const char *dir, char *out, size_t size)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") &&
		    strcmp(names[i]->d_name, "..")) {
			if (*out)
				strncat(out, " ", size - strlen(out) - 1);
			strncat(out, names[i]->d_name, size - strlen(out) - 1);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

START_TEST(presets_save_load_and_list)
{
	Rig *r = rig_new();
	SEND(r, "/fxd/preset/list", "");
	lo_message_free(expect(&r->cl, "/fxd/preset/list", "", WAIT_MS));
	SEND(r, "/fx/lpf/cutoff", "f", 2000.0);
	SEND(r, "/fx/vol/bypass", "i", 1);
	SEND(r, "/fxd/preset/save", "s", "a");
	expect_done(r, "/fxd/preset/save");
	SEND(r, "/fx/lpf/cutoff", "f", 500.0);
	SEND(r, "/fx/vol/bypass", "i", 0);
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 500.0f);
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fxd/preset/load", "s", "a");
	expect_done(r, "/fxd/preset/load");
	ck_assert_float_eq(get_f(r, "/fx/lpf/cutoff"), 2000.0f);
	ck_assert_int_eq(get_i(r, "/fx/vol/bypass"), 1);
	/* Same shape: the values glide, and subscribers hear of each. */
	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/fx/lpf/cutoff", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), 2000.0f);
	ck_assert_int_eq(count_path(&rs, "/fx/vol/bypass", &m), 1);
	ck_assert_int_eq(arg_i(m, 0), 1);
	/* No new chain, but its text follows the values: once. */
	ck_assert_int_eq(count_path(&rs, "/fxd/chain", &m), 1);
	ck_assert_ptr_nonnull(strstr(arg_s(m, 0), "cutoff=2000 "));
	ck_assert_int_eq(count_path(&rs, "/fxd/subscribed", NULL), 0);
	replies_free(&rs);
	SEND(r, "/fxd/unsubscribe", "");
	drain(&r->cl);

	SEND(r, "/fxd/preset/save", "s", "b-2_x.y");
	expect_done(r, "/fxd/preset/save");
	SEND(r, "/fxd/preset/list", "");
	m = expect(&r->cl, "/fxd/preset/list", "ss", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "a");
	ck_assert_str_eq(arg_s(m, 1), "b-2_x.y");
	lo_message_free(m);
	SEND(r, "/fxd/preset/load", "s", "missing");
	expect_fail(r, "/fxd/preset/load", "no preset 'missing'");

	/* A preset of another shape swaps the chain. */
	char path[160];
	snprintf(path, sizeof path, "%s/other.fxchain", r->preset_dir);
	write_file(path, "vol:gain db=-3\n", 15);
	snprintf(path, sizeof path, "%s/broken.fxchain", r->preset_dir);
	write_file(path, "vol:gain db=loud\n", 17);
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fxd/preset/load", "s", "other");
	expect_done(r, "/fxd/preset/load");
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -3.0f);
	SEND(r, "/fx/lpf/cutoff", "");
	expect_fail(r, "/fx/lpf/cutoff", "no slot");
	tick(r);
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_eq(count_path(&rs, "/fxd/chain", &m), 1);
	ck_assert_ptr_nonnull(strstr(arg_s(m, 0), "vol:gain"));
	replies_free(&rs);
	SEND(r, "/fxd/preset/load", "s", "broken");
	expect_fail(r, "/fxd/preset/load", "broken:1:");
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -3.0f);
	SEND(r, "/fxd/preset/list", "");
	m = expect(&r->cl, "/fxd/preset/list", "ssss", WAIT_MS);
	ck_assert_str_eq(arg_s(m, 0), "a");
	ck_assert_str_eq(arg_s(m, 1), "b-2_x.y");
	ck_assert_str_eq(arg_s(m, 2), "broken");
	ck_assert_str_eq(arg_s(m, 3), "other");
	lo_message_free(m);
	rig_free(r);
}
END_TEST

START_TEST(presets_refuse_bad_names)
{
	static const char *const bad[] = {"../x", ".hidden", "a/b", "", "a b",
	                                  "/tmp/x", "..", "x\\y"};
	Rig *r = rig_new();
	SEND(r, "/fxd/preset/save", "s", "a");
	expect_done(r, "/fxd/preset/save");
	char name[70];
	memset(name, 'n', 64);
	name[64] = '\0';
	SEND(r, "/fxd/preset/save", "s", name); /* 64: the longest */
	expect_done(r, "/fxd/preset/save");
	FxOscCounters before = counters(r);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		SEND(r, "/fxd/preset/save", "s", bad[i]);
		expect_fail(r, "/fxd/preset/save", "bad preset name");
		SEND(r, "/fxd/preset/load", "s", bad[i]);
		expect_fail(r, "/fxd/preset/load", "bad preset name");
	}
	strcat(name, "n");
	SEND(r, "/fxd/preset/save", "s", name);
	expect_fail(r, "/fxd/preset/save", "bad preset name");
	SEND(r, "/fxd/preset/save", "S", "../y");
	expect_fail(r, "/fxd/preset/save", "bad preset name");
	SEND(r, "/fxd/preset/save", "i", 1);
	expect_fail(r, "/fxd/preset/save", "string");
	ck_assert_uint_eq(counters(r).rejected - before.rejected,
	                  2 * (sizeof bad / sizeof bad[0]) + 3);
	char names[512], want[128];
	list_dir(r->dir, names, sizeof names);
	ck_assert_str_eq(names, "presets");
	list_dir(r->preset_dir, names, sizeof names);
	name[64] = '\0';
	snprintf(want, sizeof want, "a.fxchain %s.fxchain", name);
	ck_assert_str_eq(names, want);
	ck_assert_int_ne(access("/tmp/x.fxchain", F_OK), 0);
	rig_free(r);
}
END_TEST

/* ---- the state file ------------------------------------------------------- */

START_TEST(state_file_round_trips)
{
	Rig *r = rig_new();
	char err[512] = "";
	/* Nothing changed: nothing written. */
	ck_assert_int_eq(fx_control_save_state(r->c, 0, err, sizeof err), 0);
	ck_assert_int_ne(access(r->state_file, F_OK), 0);
	SEND(r, "/fx/lpf/cutoff", "f", 2345.0);
	SEND(r, "/fx/hpf/bypass", "i", 1);
	SEND(r, "/fxd/bpm", "f", 140.0);
	/* Just changed: not due yet unless forced. */
	ck_assert_int_eq(fx_control_save_state(r->c, 0, err, sizeof err), 0);
	ck_assert_int_ne(access(r->state_file, F_OK), 0);
	ck_assert_int_eq(fx_control_save_state(r->c, 1, err, sizeof err), 0);
	ck_assert_int_eq(access(r->state_file, F_OK), 0);

	FxChainSpec spec, now;
	double bpm = 0;
	ck_assert_int_eq(fx_state_read(r->state_file, &spec, &bpm, err,
	                               sizeof err),
	                 FX_OK);
	ck_assert_double_eq(bpm, 140);
	fx_control_get_spec(r->c, &now);
	char a[4096], b[4096];
	fx_spec_format(&spec, a, sizeof a);
	fx_spec_format(&now, b, sizeof b);
	ck_assert_str_eq(a, b);
	ck_assert_double_eq(spec.slots[1].values[0], 2345);
	ck_assert_int_eq(spec.slots[0].bypass, 1);

	/* A later change is written once it rests (0.25 s). */
	SEND(r, "/fxd/bpm", "f", 100.0);
	nap_ms(300);
	ck_assert_int_eq(fx_control_save_state(r->c, 0, err, sizeof err), 0);
	ck_assert_int_eq(fx_state_read(r->state_file, &spec, &bpm, err,
	                               sizeof err),
	                 FX_OK);
	ck_assert_double_eq(bpm, 100);
	char tmp[128];
	snprintf(tmp, sizeof tmp, "%s.tmp", r->state_file);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	rig_free(r);
}
END_TEST

static void count_latency_change(void *user)
{
	++*(int *)user;
}

/* A structural change that moves the chain's latency (the limiter's
 * look-ahead) must reach the driver, which tells JACK. */
START_TEST(structural_change_of_latency_tells_the_driver)
{
	FxChainSpec spec;
	FxSpecError err;
	ck_assert(fx_spec_parse("lim:limiter lookahead=5", "t", &spec, &err) ==
	          FX_OK);
	FxEngineConfig ec = fx_engine_config_default();
	FxStatus st;
	FxEngine *e = fx_engine_new(&ec, &spec, &st);
	ck_assert_ptr_nonnull(e);
	int told = 0;
	FxControlConfig cc = {.latency_changed = count_latency_change,
	                      .user = &told};
	FxControl *c = fx_control_new(e, &cc);
	ck_assert_ptr_nonnull(c);
	int before = fx_control_latency(c);
	int look = fx_param_find(spec.slots[0].cls, "lookahead");
	ck_assert_int_ge(look, 0);
	ck_assert_int_eq(fx_control_set_param(c, 0, look, 2, NULL, 0), FX_OK);
	ck_assert_int_ne(fx_control_latency(c), before);
	ck_assert_int_eq(told, 1);
	/* Through the generation-checked path too. */
	FxChainSpec now;
	uint32_t gen = fx_control_get_spec_gen(c, &now);
	int stale = 1;
	ck_assert_int_eq(fx_control_set_param_at(c, gen, 0, look, 4, 0, &stale),
	                 FX_OK);
	ck_assert_int_eq(stale, 0);
	ck_assert_int_eq(told, 2);
	/* A value that moves no latency tells nothing. */
	int rel = fx_param_find(spec.slots[0].cls, "release");
	ck_assert_int_ge(rel, 0);
	ck_assert_int_eq(fx_control_set_param(c, 0, rel, 120, NULL, 0), FX_OK);
	ck_assert_int_eq(told, 2);
	fx_control_free(c);
	fx_engine_free(e);
}
END_TEST

START_TEST(state_file_write_failure_is_reported_and_retried)
{
	Rig *r = rig_new();
	char blocker[128], path[160], err[512] = "";
	snprintf(blocker, sizeof blocker, "%s/file", r->dir);
	write_file(blocker, "x", 1);
	snprintf(path, sizeof path, "%s/state", blocker); /* under a file */
	FxControlConfig cc = {.preset_dir = r->preset_dir, .state_file = path};
	FxControl *c = fx_control_new(r->e, &cc);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(fx_control_set_bpm(c, 150), FX_OK);
	ck_assert_int_eq(fx_control_save_state(c, 1, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, blocker));
	/* Still unsaved: once the file can be written, it is. */
	unlink(blocker);
	mkdir(blocker, 0755);
	ck_assert_int_eq(fx_control_save_state(c, 1, err, sizeof err), 0);
	FxChainSpec spec;
	double bpm = 0;
	ck_assert_int_eq(fx_state_read(path, &spec, &bpm, err, sizeof err),
	                 FX_OK);
	ck_assert_double_eq(bpm, 150);
	fx_control_free(c);
	rig_free(r);
}
END_TEST

START_TEST(state_file_damage_is_reported)
{
	static const char *const bad[] = {
		"",
		"hello\n",
		"fxd-state 2\nbpm 120\nchain vol:gain\n",
		"fxd-state 1\nbpm fast\nchain vol:gain\n",
		"fxd-state 1\nbpm nan\nchain vol:gain\n",
		"fxd-state 1\nbpm 120\n",
		"fxd-state 1\nbpm 120\nchain vol:gian db=0\n",
		"fxd-state 1\nchain lpf:lowpass cutoff=1e9\n",
	};
	Rig *r = rig_new();
	FxChainSpec spec;
	double bpm = 0;
	char err[512];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(r->state_file, bad[i], strlen(bad[i]));
		err[0] = '\0';
		FxStatus st = fx_state_read(r->state_file, &spec, &bpm, err,
		                            sizeof err);
		ck_assert_msg(st != FX_OK, "accepted: %s", bad[i]);
		ck_assert_msg(st != FX_ERR_IO, "damage reported as missing");
		ck_assert_msg(*err, "no message for: %s", bad[i]);
	}
	/* Random bytes. */
	uint8_t junk[3000];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof junk; i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (uint8_t)(x >> 16);
	}
	write_file(r->state_file, junk, sizeof junk);
	err[0] = '\0';
	ck_assert_int_ne(fx_state_read(r->state_file, &spec, &bpm, err,
	                               sizeof err),
	                 FX_OK);
	ck_assert(*err);
	/* A good one, written by hand. */
	static const char good[] = "fxd-state 1\nbpm 97.5\nchain vol:gain db=-3\n";
	write_file(r->state_file, good, strlen(good));
	ck_assert_int_eq(fx_state_read(r->state_file, &spec, &bpm, err,
	                               sizeof err),
	                 FX_OK);
	ck_assert_double_eq(bpm, 97.5);
	ck_assert_int_eq(spec.n_slots, 1);
	ck_assert_double_eq(spec.slots[0].values[0], -3);
	/* None at all. */
	unlink(r->state_file);
	ck_assert_int_eq(fx_state_read(r->state_file, &spec, &bpm, err,
	                               sizeof err),
	                 FX_ERR_IO);
	rig_free(r);
}
END_TEST

/* ---- aliases and tempo ---------------------------------------------------- */

START_TEST(aliases_act_and_echo)
{
	static const char *const aliases[] = {"/1/fader1=/fx/vol/db/norm",
	                                      "/1/rotary1=/fx/2/db"};
	Rig *r = rig_open((RigOptions){.aliases = aliases, .n_aliases = 2});
	const FxParamInfo *db = param_info("gain", "db");
	SEND(r, "/fxd/subscribe", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message m = NULL;
	/* The full state covers the aliases too. */
	ck_assert_int_eq(count_path(&rs, "/1/fader1", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), (float)fx_param_to_norm(db, 0));
	ck_assert_int_eq(count_path(&rs, "/1/rotary1", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), 0.0f);
	replies_free(&rs);
	tick(r);
	drain(&r->cl);

	SEND(r, "/1/fader1", "f", 0.5);
	expect_nothing(&r->cl);
	ck_assert_double_eq_tol(get_f(r, "/fx/vol/db"),
	                        fx_param_from_norm(db, 0.5), 1e-5);
	tick(r);
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_eq(count_path(&rs, "/1/fader1", &m), 1);
	ck_assert_double_eq_tol(arg_f(m, 0), 0.5, 1e-6);
	ck_assert_int_eq(count_path(&rs, "/1/rotary1", &m), 1);
	ck_assert_double_eq_tol(arg_f(m, 0), -36, 1e-5);
	ck_assert_int_eq(count_path(&rs, "/fx/vol/db", &m), 1);
	ck_assert_int_eq(count_path(&rs, "/fx/vol/db/norm", &m), 1);
	replies_free(&rs);

	SEND(r, "/1/rotary1", "i", -20);
	ck_assert_float_eq(get_f(r, "/fx/vol/db"), -20.0f);
	/* A query through an alias answers on the canonical path. */
	SEND(r, "/1/fader1", "");
	m = expect(&r->cl, "/fx/vol/db/norm", "f", WAIT_MS);
	ck_assert_double_eq_tol(arg_f(m, 0), fx_param_to_norm(db, -20), 1e-6);
	lo_message_free(m);
	SEND(r, "/1/fader1", "s", "up");
	expect_fail(r, "/fx/vol/db/norm", "number");
	rig_free(r);
}
END_TEST

START_TEST(aliases_of_mute_and_tempo_echo)
{
	static const char *const aliases[] = {"/1/toggle1=/fxd/mute",
	                                      "/1/tempo=/fxd/bpm",
	                                      "/1/push1=/fxd/panic"};
	Rig *r = rig_open((RigOptions){.aliases = aliases, .n_aliases = 3});
	SEND(r, "/fxd/subscribe", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/1/toggle1", &m), 1);
	ck_assert_int_eq(arg_i(m, 0), 0);
	ck_assert_int_eq(count_path(&rs, "/1/tempo", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), 120.0f);
	replies_free(&rs);
	tick(r);
	drain(&r->cl);

	SEND(r, "/1/toggle1", "f", 1.0);
	SEND(r, "/1/tempo", "f", 133.0);
	expect_nothing(&r->cl);
	ck_assert_int_eq(fx_control_muted(r->c), 1);
	ck_assert_double_eq(fx_control_bpm(r->c), 133);
	tick(r);
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_eq(count_path(&rs, "/1/toggle1", &m), 1);
	ck_assert_int_eq(arg_i(m, 0), 1);
	ck_assert_int_eq(count_path(&rs, "/fxd/mute", &m), 1);
	ck_assert_int_eq(arg_i(m, 0), 1);
	ck_assert_int_eq(count_path(&rs, "/1/tempo", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), 133.0f);
	ck_assert_int_eq(count_path(&rs, "/fxd/bpm", &m), 1);
	replies_free(&rs);
	/* A push button: press and release, one panic. */
	SEND(r, "/1/push1", "f", 1.0);
	expect_done(r, "/fxd/panic");
	SEND(r, "/1/push1", "f", 0.0);
	expect_nothing(&r->cl);
	rig_free(r);
}
END_TEST

START_TEST(bad_aliases_are_refused)
{
	static const char *const bad[] = {"/1/fader1", "/1/f=/fx/vol/db/",
	                                  "/1/*=/fx/vol/db", "1/f=/fx/vol/db",
	                                  "/1/f=fx/vol/db", "/1/f /x=/fx/vol/db"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(fx_osc_check_alias(bad[i], NULL, 0), "accepted %s",
		              bad[i]);
		FxOscConfig oc = fx_osc_config_default();
		oc.port = 0;
		oc.aliases = &bad[i];
		oc.n_aliases = 1;
		char why[256] = "";
		FxOsc *o = fx_osc_new(&oc, NULL, why, sizeof why);
		ck_assert_ptr_null(o);
		ck_assert_ptr_nonnull(strstr(why, "alias"));
	}
	ck_assert_ptr_null(fx_osc_check_alias("/1/fader1=/fx/vol/db/norm", NULL,
	                                      0));
}
END_TEST

START_TEST(bpm_set_get_and_reject)
{
	Rig *r = rig_new();
	ck_assert_float_eq(get_f(r, "/fxd/bpm"), 120.0f);
	SEND(r, "/fxd/bpm", "f", 140.0);
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fxd/bpm"), 140.0f);
	ck_assert_double_eq(fx_control_bpm(r->c), 140);
	SEND(r, "/fxd/bpm", "f", (double)NAN);
	expect_fail(r, "/fxd/bpm", "finite");
	SEND(r, "/fxd/bpm", "d", (double)INFINITY);
	expect_fail(r, "/fxd/bpm", "finite");
	SEND(r, "/fxd/bpm", "s", "fast");
	expect_fail(r, "/fxd/bpm", "number");
	ck_assert_float_eq(get_f(r, "/fxd/bpm"), 140.0f);
	SEND(r, "/fxd/bpm", "i", 96);
	ck_assert_float_eq(get_f(r, "/fxd/bpm"), 96.0f);
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
#define SEND_FROM(r, port, path, ...)                                        \
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
	r->o->clock_offset += 1.5;
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
	r->o->clock_offset += 1.5;
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
	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
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
	tick(r);
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_eq(count_path(&rs, "/fxd/chain", NULL), 0);
	replies_free(&rs);
	rig_free(r);
}
END_TEST

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "cannot read %s", path);
	static char text[16384];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* An 'f' argument is the float nearest its decimal: 0.3 arrives as
 * 0.300000011920928955078125, and is kept as the double 0.3, so the
 * chain, presets and the state file say 0.3 (not 0.30000001192092896). */
START_TEST(float_arguments_keep_their_shortest_decimal)
{
	Rig *r = rig_open((RigOptions){.chain = "verb:reverb | vol:gain"});
	SEND(r, "/fx/verb/room", "f", 0.3);
	SEND(r, "/fx/vol/db", "f", -4.1);
	SEND(r, "/fx/verb/damp", "d", 0.1);
	SEND(r, "/fxd/chain", "");
	lo_message m = expect(&r->cl, "/fxd/chain", "s", WAIT_MS);
	const char *text = arg_s(m, 0);
	ck_assert_msg(strstr(text, "room=0.3 ") && strstr(text, "db=-4.1") &&
	                      strstr(text, "damp=0.1 "),
	              "%s", text);
	lo_message_free(m);
	/* A controller reads back the float it sent. */
	ck_assert_float_eq(get_f(r, "/fx/verb/room"), 0.3f);
	SEND(r, "/fxd/preset/save", "s", "p");
	expect_done(r, "/fxd/preset/save");
	char path[160];
	snprintf(path, sizeof path, "%s/p.fxchain", r->preset_dir);
	text = slurp(path);
	ck_assert_msg(strstr(text, "room=0.3 ") && strstr(text, "db=-4.1"),
	              "%s: %s", path, text);
	char err[512] = "";
	ck_assert_int_eq(fx_control_save_state(r->c, 1, err, sizeof err), 0);
	text = slurp(r->state_file);
	ck_assert_msg(strstr(text, "room=0.3 ") && strstr(text, "db=-4.1"),
	              "state file: %s", text);
	rig_free(r);
}
END_TEST

/* Index of @p label among @p p's labels. */
static int label_index(const FxParamInfo *p, const char *label)
{
	for (int i = 0; p->labels[i]; i++)
		if (!strcmp(p->labels[i], label))
			return i;
	ck_abort_msg("no label %s", label);
	return -1;
}

/* A string naming one of an enum parameter's labels sets it; a number
 * still does; feedback and gets stay numeric for controllers. */
START_TEST(enum_parameters_take_their_labels)
{
	Rig *r = rig_open((RigOptions){.chain = "dly:delay | vol:gain"});
	const FxParamInfo *div = param_info("delay", "division");
	int eighth = label_index(div, "1/8");
	int sixteenth = label_index(div, "1/16");
	subscribe(r);
	tick(r);
	drain(&r->cl);
	SEND(r, "/fx/dly/division", "s", "1/8");
	expect_nothing(&r->cl);
	tick(r);
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	lo_message m = NULL;
	ck_assert_int_eq(count_path(&rs, "/fx/dly/division", &m), 1);
	ck_assert_float_eq(arg_f(m, 0), (float)eighth);
	ck_assert_int_eq(count_path(&rs, "/fxd/chain", &m), 1);
	ck_assert_ptr_nonnull(strstr(arg_s(m, 0), "division=1/8 "));
	replies_free(&rs);
	SEND(r, "/fxd/unsubscribe", "");
	drain(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/dly/division"), (float)eighth);
	SEND(r, "/fx/dly/division", "i", 2);
	ck_assert_float_eq(get_f(r, "/fx/dly/division"), 2.0f);
	SEND(r, "/fx/0/division", "S", "1/16"); /* a symbol, by index */
	ck_assert_float_eq(get_f(r, "/fx/dly/division"), (float)sixteenth);
	SEND(r, "/fx/*/division", "s", "1/8"); /* a pattern */
	expect_nothing(&r->cl);
	ck_assert_float_eq(get_f(r, "/fx/dly/division"), (float)eighth);
	FxOscCounters before = counters(r);
	SEND(r, "/fx/dly/division", "s", "1/7");
	expect_fail(r, "/fx/dly/division",
	            "'1/7' is not a number or one of division's values: off, "
	            "1/1, 1/2");
	SEND(r, "/fx/dly/time", "s", "1/8");
	expect_fail(r, "/fx/dly/time", "expects a number");
	SEND(r, "/fx/dly/division/norm", "s", "1/8");
	expect_fail(r, "/fx/dly/division/norm", "expects a number");
	SEND(r, "/fx/dly/bypass", "s", "1/8");
	expect_fail(r, "/fx/dly/bypass", "expects a number");
	SEND(r, "/fx/*/d*", "s", "1/4");
	expect_fail(r, "/fx/*/d*", "not a value of 1 of the 2 parameters");
	ck_assert_uint_eq(counters(r).rejected - before.rejected, 5);
	/* The pattern set what it could. */
	ck_assert_float_eq(get_f(r, "/fx/dly/division"),
	                   (float)label_index(div, "1/4"));
	rig_free(r);
}
END_TEST

/* /fxd/json as one text, its parts joined (malloc'd). */
static char *json_of(Rig *r)
{
	SEND(r, "/fxd/json", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_int_ge(rs.n, 1);
	char *text = calloc(1, (size_t)rs.n * FX_OSC_JSON_PART + 1);
	for (int i = 0; i < rs.n; i++) {
		ck_assert_str_eq(rs.r[i].path, "/fxd/json");
		strcat(text, arg_s(rs.r[i].m, 2));
	}
	replies_free(&rs);
	ck_assert_msg(json_valid(text), "not JSON: %s", text);
	return text;
}

/* /fxd/info, /fxd/list and /fxd/json name an enum's value and its labels,
 * from the parameter table. */
START_TEST(introspection_names_enum_values)
{
	Rig *r = rig_open((RigOptions){.chain = "dly:delay | vol:gain"});
	const FxParamInfo *div = param_info("delay", "division");
	int n_labels = 0;
	while (div->labels[n_labels])
		n_labels++;
	char types[64] = "ssffffss";
	memset(types + 8, 's', (size_t)n_labels + 1);
	SEND(r, "/fx/dly/division", "s", "1/8");
	SEND(r, "/fxd/info", "s", "/fx/dly/division");
	lo_message m = expect(&r->cl, "/fxd/param", types, WAIT_MS);
	ck_assert_str_eq(arg_s(m, 7), "enum");
	ck_assert_float_eq(arg_f(m, 2), (float)label_index(div, "1/8"));
	ck_assert_str_eq(arg_s(m, 8), "1/8");
	for (int i = 0; i < n_labels; i++)
		ck_assert_str_eq(arg_s(m, 9 + i), div->labels[i]);
	lo_message_free(m);
	/* Other parameters are as before. */
	SEND(r, "/fxd/info", "s", "/fx/vol/db");
	lo_message_free(expect(&r->cl, "/fxd/param", "ssffffss", WAIT_MS));
	/* /fxd/list: the same message for each. */
	SEND(r, "/fxd/list", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	int enums = 0;
	for (int i = 0; i < rs.n; i++)
		if (!strcmp(rs.r[i].path, "/fxd/param") &&
		    !strcmp(arg_s(rs.r[i].m, 0), "/fx/dly/division")) {
			enums++;
			ck_assert_str_eq(types_of(rs.r[i].m), types);
			ck_assert_str_eq(arg_s(rs.r[i].m, 8), "1/8");
		}
	ck_assert_int_eq(enums, 1);
	replies_free(&rs);
	/* /fxd/json: "label" and "labels"; numbers in their shortest form. */
	SEND(r, "/fx/vol/db", "f", 0.3);
	char *text = json_of(r);
	ck_assert_msg(strstr(text, "\"scale\":\"enum\",\"label\":\"1/8\","
	                           "\"labels\":[\"off\",\"1/1\","),
	              "%s", text);
	ck_assert_msg(strstr(text, "\"name\":\"db\",\"value\":0.3,"), "%s",
	              text);
	free(text);
	rig_free(r);
}
END_TEST

/* A rig whose control surface swaps the chain just before it takes its
 * lock for the swap_at-th time: between the OSC thread looking a slot up
 * and writing. */
typedef struct {
	FxControl *c;
	int calls, swap_at;
	FxChainSpec swap_to;
} SwapHook;

static void hook_lock(void *user)
{
	SwapHook *h = user;
	if (++h->calls == h->swap_at) {
		h->swap_at = 0;
		ck_assert_int_eq(fx_control_swap(h->c, &h->swap_to, NULL, 0), FX_OK);
	}
}

/* A SIGHUP swap between looking a label up and writing: the write lands
 * on the label in the new chain (or is refused), never on the old index. */
START_TEST(a_swap_between_lookup_and_write_moves_the_write)
{
	SwapHook h = {0};
	Rig *r = rig_open((RigOptions){.on_lock = hook_lock,
	                               .on_lock_user = &h});
	h.c = r->c;
	/* vol was slot 2; now slot 2 is another gain. */
	ck_assert(fx_spec_parse("vol:gain db=0 | hpf:highpass cutoff=80 | "
	                        "mon:gain db=0",
	                        "t", &h.swap_to, NULL) == FX_OK);
	h.calls = 0;
	h.swap_at = 2; /* 1: the lookup, 2: the write */
	SEND(r, "/fx/vol/db", "f", -12.0);
	expect_nothing(&r->cl);
	ck_assert_int_eq(h.swap_at, 0); /* it did swap in between */
	FxChainSpec now;
	fx_control_get_spec(r->c, &now);
	ck_assert_str_eq(now.slots[0].label, "vol");
	ck_assert_str_eq(now.slots[2].label, "mon");
	ck_assert_msg(now.slots[2].values[0] == 0 &&
	                      now.slots[0].values[0] == -12,
	              "the write went to slot 2 (mon db=%g), not to vol "
	              "(db=%g)",
	              now.slots[2].values[0], now.slots[0].values[0]);
	/* A label gone with the swap: refused, nothing else written. */
	ck_assert(fx_spec_parse("mon:gain db=0 | x:gain db=0 | y:gain db=0",
	                        "t", &h.swap_to, NULL) == FX_OK);
	h.calls = 0;
	h.swap_at = 2;
	SEND(r, "/fx/vol/db", "f", -20.0);
	expect_fail(r, "/fx/vol/db", "no slot 'vol'");
	fx_control_get_spec(r->c, &now);
	for (int s = 0; s < now.n_slots; s++)
		ck_assert_double_eq(now.slots[s].values[0], 0);
	/* By index, the index of the new chain. */
	ck_assert(fx_spec_parse("a:gain db=0 | b:lowpass | c:gain db=0", "t",
	                        &h.swap_to, NULL) == FX_OK);
	h.calls = 0;
	h.swap_at = 2;
	SEND(r, "/fx/0/db", "f", -3.0);
	expect_nothing(&r->cl);
	fx_control_get_spec(r->c, &now);
	ck_assert_str_eq(now.slots[0].label, "a");
	ck_assert_double_eq(now.slots[0].values[0], -3);
	rig_free(r);
}
END_TEST

/* Preset names of 60 characters: 1,200 of them pass 64 kB. */
#define PRESET_STEM "a_preset_with_a_name_long_enough_to_fill_sixty_bytes_"

/* Writes @p n presets (PRESET_STEM and a number) into the rig's preset
 * directory. */
static void make_presets(Rig *r, int n)
{
	mkdir(r->preset_dir, 0755);
	for (int i = 0; i < n; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s/%s%05d.fxchain", r->preset_dir,
		         PRESET_STEM, i);
		write_file(path, "vol:gain\n", 9);
	}
}

/* The preset names in the parts of a /fxd/preset/list reply, checked and
 * counted; each part no larger than @p part bytes. */
static int preset_parts(const Replies *rs, size_t part)
{
	int names = 0, parts = rs->n;
	ck_assert_int_ge(parts, 2);
	for (int i = 0; i < parts; i++) {
		lo_message m = rs->r[i].m;
		const char *t = types_of(m);
		ck_assert_str_eq(rs->r[i].path, "/fxd/preset/list");
		ck_assert(!strncmp(t, "ii", 2) &&
		          strspn(t + 2, "s") == strlen(t + 2));
		ck_assert_int_eq(arg_i(m, 0), i);
		ck_assert_int_eq(arg_i(m, 1), parts);
		ck_assert_uint_le(lo_message_length(m, "/fxd/preset/list"),
		                  part + 64);
		for (int k = 2; t[k]; k++, names++) {
			char want[80];
			snprintf(want, sizeof want, "%s%05d", PRESET_STEM,
			         names);
			ck_assert_str_eq(arg_s(m, k), want);
		}
	}
	return names;
}

/* 1,200 presets are more than a datagram holds: the list comes in
 * numbered parts, as /fxd/json does. */
START_TEST(a_long_preset_list_comes_in_parts)
{
	Rig *r = rig_new();
	make_presets(r, 1200);
	SEND(r, "/fxd/preset/list", "");
	Replies rs;
	collect(&r->cl, &rs, QUIET_MS);
	ck_assert_msg(rs.n > 0, "no answer to /fxd/preset/list (%llu send "
	                        "errors)",
	              counters(r).send_errors);
	ck_assert_int_eq(preset_parts(&rs, FX_OSC_JSON_PART), 1200);
	replies_free(&rs);
	ck_assert_uint_eq(counters(r).send_errors, 0);
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

static void tcp_send_internal(int fd, const char *path, const char *types,
                              ...)
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
#define TCP_SEND(fd, path, ...)                                              \
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
	Rig *r = rig_open((RigOptions){.threaded = 1, .tcp = 1,
	                               .tcp_idle_s = 0.2});
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

static void send_bundle(Rig *r, lo_timetag when, const char *path,
                        int copies)
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
	"/fxd/ping", "/fxd/mute", "/fxd/panic", "/fxd/reset_state",
	"/fxd/reset_metrics", "/fxd/sync", "/fxd/list", "/fxd/info",
	"/fxd/json", "/fxd/stats", "/fxd/chain", "/fxd/chain/load", "/fxd/bpm",
	"/fxd/preset/save", "/fxd/preset/load", "/fxd/preset/list",
	"/fxd/subscribe", "/fxd/unsubscribe", "/fx/lpf/cutoff",
	"/fx/lpf/cutoff/norm", "/fx/0/q", "/fx/hpf/order", "/fx/lpf/order",
	"/fx/vol/db", "/fx/vol/db/norm", "/fx/2/bypass", "/fx/*/bypass",
	"/fx/*/*", "/fx/*/*/norm", "/fx/{lpf,hpf}/cutoff", "/fx/[0-9]/order",
	"/fx/?pf/q", "/fx/lpf/bypass/norm", "/fx/9/x", "/fx/", "/fx//cutoff",
	"/fxd/*", "/fxd/preset/*", "/*", "/1/fader1", "/", "/fxd/", "fxd/ping",
	"/fx/lpf/cutoff/norm/x", "/fx/*", "/fx/[/q", "/fx/{/q", "/fxd/[!p]*",
};

static const char *const fuzz_strings[] = {
	"", "a", "b-1", "../x", ".h", "localhost", "::1", "/fx/lpf/cutoff",
	"/fx/9/q", "vol:gain db=-6", CHAIN, "lpf:lowpass order=8",
	"hpf:highpass | hpf:highpass", "x:nope", "a|b|c|", "\xff\xfe",
	"cutoff=", "%s%n%x", "0", "-1", "1e999",
};

/* A random argument of a random type. */
static void fuzz_arg(Rng *g, lo_message m)
{
	static const float floats[] = {0, 0.5f, 1, -1, 1e9f, 2000, 1e-40f};
	switch (rnd_below(g, 14)) {
	case 0: lo_message_add_int32(m, (int32_t)rnd(g)); break;
	case 1: lo_message_add_int32(m, rnd_below(g, 3) - 1); break;
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
	case 5: lo_message_add_int64(m, (int64_t)rnd(g)); break;
	case 6:
		lo_message_add_string(
			m, fuzz_strings[rnd_below(
				   g, sizeof fuzz_strings / sizeof fuzz_strings[0])]);
		break;
	case 7:
		lo_message_add_symbol(m, fuzz_strings[rnd_below(g, 6)]);
		break;
	case 8: lo_message_add_true(m); break;
	case 9: lo_message_add_false(m); break;
	case 10: lo_message_add_nil(m); break;
	case 11: lo_message_add_infinitum(m); break;
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
	default: lo_message_add_char(m, (char)rnd(g)); break;
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
		if (len > cap || !lo_message_serialise(msgs[0], paths[0], buf,
		                                       &len))
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
	              "%llu rejections for %llu packets", c.rejected,
	              c.received);
}
END_TEST

static Suite *osc_suite(void)
{
	Suite *s = suite_create("osc");
	TCase *t = tcase_create("namespace");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, ping_answers_pong);
	tcase_add_test(t, set_and_get_by_label_and_index);
	tcase_add_test(t, numbers_in_every_type_and_booleans);
	tcase_add_test(t, out_of_range_values_are_clamped);
	tcase_add_test(t, norm_round_trips_through_the_scale);
	tcase_add_test(t, bad_values_fail_and_change_nothing);
	tcase_add_test(t, unknown_and_malformed_messages_fail);
	tcase_add_test(t, structural_changes_coalesce_to_the_last_value);
	tcase_add_test(t, chain_over_the_memory_budget_fails_naming_its_cost);
	tcase_add_test(t, pattern_bypasses_every_slot_once);
	tcase_add_test(t, patterns_over_unlabelled_slots);
	tcase_add_test(t, pattern_with_a_bad_value_is_rejected_once);
	tcase_add_test(t, list_describes_every_parameter);
	tcase_add_test(t, info_describes_one_parameter);
	tcase_add_test(t, json_checker_knows_json);
	tcase_add_test(t, json_parts_form_the_namespace);
	tcase_add_test(t, sync_answers_once_audio_applied_the_change);
	tcase_add_test(t, syncs_waiting_are_capped);
	tcase_add_test(t, sync_fails_when_no_audio_runs);
	tcase_add_test(t, stats_name_every_documented_value);
	tcase_add_test(t, stats_time_knob_to_ear);
	tcase_add_test(t, counters_go_to_subscribers_when_they_move);
	tcase_add_test(t, meters_report_peak_and_rms);
	tcase_add_test(t, subscribe_sends_the_full_state);
	tcase_add_test(t, subscribe_another_host_and_port);
	tcase_add_test(t, a_full_table_evicts_the_stalest_subscriber);
	tcase_add_test(t, sixteen_static_targets_refuse_a_newcomer);
	tcase_add_test(t, subscriptions_expire_unless_renewed);
	tcase_add_test(t, a_subscriber_whose_port_closed_is_dropped);
	tcase_add_test(t, unsubscribe_stops_feedback);
	tcase_add_test(t, static_targets_stay_subscribed);
	tcase_add_test(t, fxd_subscribed_to_itself_goes_quiet);
	tcase_add_test(t, two_fxd_subscribed_to_each_other_go_quiet);
	tcase_add_test(t, feedback_is_coalesced_to_the_latest_value);
	tcase_add_test(t, feedback_respects_the_rate_limit);
	tcase_add_test(t, mute_panic_and_resets);
	tcase_add_test(t, chain_query_load_and_errors);
	tcase_add_test(t, presets_save_load_and_list);
	tcase_add_test(t, presets_refuse_bad_names);
	tcase_add_test(t, state_file_round_trips);
	tcase_add_test(t, state_file_write_failure_is_reported_and_retried);
	tcase_add_test(t, state_file_damage_is_reported);
	tcase_add_test(t, aliases_act_and_echo);
	tcase_add_test(t, aliases_of_mute_and_tempo_echo);
	tcase_add_test(t, bad_aliases_are_refused);
	tcase_add_test(t, bpm_set_get_and_reject);
	tcase_add_test(t, bundles_are_dispatched_now);
	tcase_add_test(t, timed_bundles_are_answered);
	tcase_add_test(t, failures_reach_subscribers);
	tcase_add_test(t, chain_text_follows_value_changes);
	tcase_add_test(t, float_arguments_keep_their_shortest_decimal);
	tcase_add_test(t, enum_parameters_take_their_labels);
	tcase_add_test(t, introspection_names_enum_values);
	tcase_add_test(t, a_swap_between_lookup_and_write_moves_the_write);
	tcase_add_test(t, a_long_preset_list_comes_in_parts);
	tcase_add_test(t, tcp_the_longest_silent_connection_gives_way);
	tcase_add_test(t, tcp_idle_connections_time_out);
	tcase_add_test(t, tcp_replies_larger_than_a_packet_come_in_parts);
	tcase_add_test(t, structural_change_of_latency_tells_the_driver);
	suite_add_tcase(s, t);
	TCase *f = tcase_create("fuzz");
	tcase_set_timeout(f, 120);
	tcase_add_test(f, fuzz_never_crashes_and_counts_every_packet);
	suite_add_tcase(s, f);
	return s;
}

int main(void)
{
	return fx_test_run(osc_suite());
}
