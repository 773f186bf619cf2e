/* SPDX-License-Identifier: ISC */
/* fxd — what the OSC unit tests share: a client socket that collects
 * replies, a rig (engine driven by a fake driver, control surface, OSC
 * server fed on the test's thread) and the send/expect helpers. */
#ifndef FX_OSC_FIXTURE_H
#define FX_OSC_FIXTURE_H

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
#include "daemon/engine/midi.h"
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

void client_open(Client *cl, const char *host);

void client_close(Client *cl);

/* The next datagram as a reply; 0 if none came within @p timeout_ms. */
int next_reply(Client *cl, Reply *out, int timeout_ms);

void reply_free(Reply *r);

/* Every reply that arrives until @p quiet_ms pass without one. */
void collect(Client *cl, Replies *out, int quiet_ms);

void replies_free(Replies *rs);

void drain(Client *cl);

void drain_now(Client *cl);

const char *types_of(lo_message m);

/* Argument @p i. liblo's lo_arg pointers are only 4-byte aligned, so
 * values are copied out rather than read through the (8-byte) union. */
const void *arg(lo_message m, int i);

float arg_f(lo_message m, int i);

int arg_i(lo_message m, int i);

double arg_d(lo_message m, int i);

const char *arg_s(lo_message m, int i);

/* The next reply, which must be @p path with type tags @p types. The
 * caller frees it. @p line: the test's line, for the message. */
lo_message expect_at(Client *cl, const char *path, const char *types,
                     int timeout_ms, int line);
#define expect(cl, path, types, timeout_ms) \
	expect_at(cl, path, types, timeout_ms, __LINE__)

void expect_nothing_at(Client *cl, int line);
#define expect_nothing(cl) expect_nothing_at(cl, __LINE__)

/* Replies to @p path among @p rs, and the last of them in *@p last. */
int count_path(const Replies *rs, const char *path, lo_message *last);

int count_prefix(const Replies *rs, const char *prefix);

/* ---- the rig: engine, control, server, client ------------------------------ */

typedef struct {
	char dir[64], preset_dir[96], state_file[96];
	FxEngine *e;
	FxControl *c;
	FxMidi *midi; ///< NULL unless RigOptions.midi
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
	int tcp, tcp_max;  ///< 0: UDP only; 0: the default
	double tcp_idle_s; ///< 0: the default
	int midi;          ///< MIDI control on (the OSC server polls it)
	/* Called as the control surface takes its lock (may be NULL). */
	void (*on_lock)(void *user);
	void *on_lock_user;
} RigOptions;

Rig *rig_open(RigOptions opt);

Rig *rig_new(void);

int remove_one(const char *path, const struct stat *st, int flag,
               struct FTW *ftw);

void rig_free(Rig *r);

/* Sends a message built from @p types and what follows (liblo varargs:
 * 'f' and 'd' take doubles, 'h' an int64_t, 'T' 'F' 'N' nothing). */
void send_internal(Rig *r, const char *path, const char *types, ...);
#define SEND(r, path, ...) send_internal(r, path, __VA_ARGS__, LO_ARGS_END)

void send_raw(Rig *r, const void *data, size_t len);

/* A message as bytes (liblo varargs), malloc'd. */
void *build_va(const char *path, size_t *len, const char *types, va_list ap);

/* Sends a real datagram from @p cl to the (threaded) server. */
void udp_send_internal(Rig *r, Client *cl, const char *path, const char *types,
                       ...);
#define UDP_SEND(r, cl, path, ...) \
	udp_send_internal(r, cl, path, __VA_ARGS__, LO_ARGS_END)

/* Waits until @p cond holds, up to @p seconds: 1 if it did. */
#define AWAIT(cond, seconds)                              \
	({                                                \
		double until_ = fx_osc_now() + (seconds); \
		while (!(cond) && fx_osc_now() < until_)  \
			nap_ms(5);                        \
		(cond) ? 1 : 0;                           \
	})

/* Expects /fxd/fail for @p path whose reason contains @p why. */
void expect_fail_at(Rig *r, const char *path, const char *why, int line);
#define expect_fail(r, path, why) expect_fail_at(r, path, why, __LINE__)

void expect_done_at(Rig *r, const char *path, int line);
#define expect_done(r, path) expect_done_at(r, path, __LINE__)

/* A parameter's value through a get. */
float get_f(Rig *r, const char *path);

int get_i(Rig *r, const char *path);

FxOscCounters counters(Rig *r);

void nap_ms(int ms);

/* One period through the fake driver, then the worker's step. */
void play(Rig *r, int periods);

/* Past the feedback rate limit (1 kHz in these rigs), then a tick. */
void tick(Rig *r);

/* A tick, then every reply the client gets until QUIET_MS pass without
 * one (into @p rs). */
void tick_collect(Rig *r, Replies *rs);

/* Subscribes the client (no arguments: the sender) and reads the
 * confirmation and the full state. */
void subscribe(Rig *r);

const FxParamInfo *param_info(const char *effect, const char *name);

/* ---- basics --------------------------------------------------------------- */

/* Index of @p label among @p p's labels. */
int label_index(const FxParamInfo *p, const char *label);

/* A stats message as name/value pairs; found in *@p ok. */
double stat_value(lo_message m, const char *key, int *ok);

double stat_of(lo_message m, const char *key);

lo_message get_stats(Rig *r);

/* Writes @p n presets (PRESET_STEM and a number) into the rig's preset
 * directory. */
void make_presets(Rig *r, int n);

/* The preset names in the parts of a /fxd/preset/list reply, checked and
 * counted; each part no larger than @p part bytes. */
int preset_parts(const Replies *rs, size_t part);

/* A small JSON checker: 1 if the whole text is one valid JSON value. */
int json_valid(const char *text);

void write_file(const char *path, const void *data, size_t len);

/* The /fxd/json parts joined, checked to be JSON; the caller frees it. */
char *json_of(Rig *r);

/* Preset names of 60 characters: 1,200 of them pass 64 kB. */
#define PRESET_STEM "a_preset_with_a_name_long_enough_to_fill_sixty_bytes_"

#endif
