/* SPDX-License-Identifier: ISC */
/* fxd-probe: plays a known signal into an fxd instance and measures, on
 * the signal itself, the latency fxd adds.
 *
 * Two JACK clients in one process: a player feeding fxd's inputs and a
 * recorder on its outputs (one client doing both would see an extra period
 * through the feedback loop). The player loops a maximum-length sequence
 * (MLS, 2^16 - 1 frames of +-A), indexed by JACK frame time; the recorder
 * captures one whole period of fxd's output. Their circular
 * cross-correlation is the chain's impulse response (the MLS trick:
 * permute, fast Hadamard transform, permute; Borish and Angell 1983), so
 * an effect that never falls silent (a reverb tail) only adds to it where
 * its echoes fall. The strong arrival is the first lag at a quarter of
 * the strongest or more, after the longest quiet stretch; the latency is
 * where its rising edge leaves the floor (a steep lowpass rises over a few
 * dozen frames, all of them after the onset). A measurement is refused,
 * not guessed, when the onset does not stand clear of what precedes it,
 * when the edge is too slow to place its start, when two quiet stretches
 * compete, or when the period changed while it was taken.
 *
 * Usage: fxd-probe [--target NAME] [--in PATTERN] [--out PATTERN]
 * [--expect N] [--seconds N] [--count N] [--freewheel]; the server comes
 * from JACK_DEFAULT_SERVER. Prints a line per measurement. Exits 0 when at
 * least one measurement was made and each equals the latency fxd reports
 * (or --expect), 1 otherwise, 2 on a usage error. See fxd-probe(1). */
#include <errno.h>
#include <jack/jack.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	PORTS = 2,
	MLS_ORDER = 16,
	MLS_LEN = (1 << MLS_ORDER) - 1, ///< frames in one period, L
	/* The output is periodic once the sequence has played this long
	 * before a capture starts: latencies up to L/2 are measured. */
	WARMUP = MLS_LEN / 2,
	/* How far before the onset must be quiet. */
	PRE_WINDOW = 1024,
	/* The longest rising edge, onset to the strong arrival, whose start
	 * is placed: an order-8 lowpass at 1 kHz takes 26 frames at 48 kHz;
	 * at 200 Hz its first frames sink below the floor. */
	MAX_EDGE = 64,
};

/* Under fxd's default compressor (-18 dB threshold): 0.05 is -26 dBFS. */
static const float LEVEL = 0.05f;
/* An arrival this many times stronger than anything in the PRE_WINDOW
 * frames before it is clear. */
static const double MIN_CLARITY = 16.0;
/* A second quiet stretch this close in length to the longest makes the
 * first arrival ambiguous. */
static const double MAX_GAP_RATIO = 0.75;
/* The rising edge is the run of frames, back from the strong arrival, that
 * each rise by more than this many times the largest step in the quiet
 * stretch before it: a step that size is above the floor's own wobble. */
static const double EDGE_OVER_FLOOR = 1.5;
/* An onset whose first step is this many times the floor's wobble is out
 * of the floor: placed. A smaller first step is placed only when the next
 * one is EDGE_GROWTH times larger or more: at the very start of an order-N
 * lowpass the second step is about N times the first, while a reading
 * frames into a rise that began under the floor grows more slowly (the
 * order-8 lowpass at 400 Hz: its first five frames are under the floor). */
static const double ONSET_OVER_FLOOR = 8.0;
static const double EDGE_GROWTH = 10.0;

/* x^16 + x^15 + x^13 + x^4 + 1: a maximal-length feedback polynomial. */
static const int MLS_TAPS[] = {16, 15, 13, 4};

typedef struct {
	jack_client_t *client;
	jack_port_t *port[PORTS];
} Side;

typedef enum {
	CAP_IDLE,      ///< main thread owns the capture
	CAP_ARMED,     ///< main thread asked for one
	CAP_CAPTURING, ///< the recorder fills it
	CAP_READY,     ///< whole: the main thread analyses it
} CaptureState;

static Side player, recorder;
static unsigned char mls[MLS_LEN]; ///< the sequence, 0/1
static float *capture;             ///< L frames of out_1
static _Atomic int cap_state = CAP_IDLE;
static jack_nframes_t cap_t0;             ///< recorder: frame time of frame 0
static long cap_n;                        ///< recorder: frames captured so far
static _Atomic int64_t t_ref = -1;        ///< player: frame time of index 0
static _Atomic unsigned player_gaps;      ///< player callbacks out of step
static _Atomic unsigned xruns;            ///< JACK xruns seen by the recorder
static _Atomic unsigned periods;          ///< period changes JACK announced
static _Atomic jack_nframes_t cap_period; ///< recorder: period of capture
static _Atomic int freewheeling;          ///< JACK's freewheel mode is on
static jack_nframes_t player_next;        ///< player: the frame time expected
static volatile sig_atomic_t stop;

/* ---- the sequence and its correlation ---------------------------------- */

static void mls_generate(void)
{
	unsigned reg = 1;
	for (int i = 0; i < MLS_LEN; i++) {
		unsigned bit = 0;
		for (size_t t = 0; t < sizeof MLS_TAPS / sizeof MLS_TAPS[0]; t++)
			bit ^= reg >> (MLS_ORDER - MLS_TAPS[t]);
		mls[i] = reg & 1;
		reg = (reg >> 1) | ((bit & 1) << (MLS_ORDER - 1));
	}
}

/* The permutations that turn circular correlation with the sequence into
 * a Hadamard transform: tag_s places the signal, tag_l reads the
 * response. */
static int *tag_s, *tag_l;

static int make_tags(void)
{
	tag_s = calloc(MLS_LEN, sizeof *tag_s);
	tag_l = calloc(MLS_LEN, sizeof *tag_l);
	if (!tag_s || !tag_l)
		return -1;
	int unit[MLS_ORDER]; /* where tag_s is each power of two */
	for (int i = 0; i < MLS_LEN; i++) {
		int v = 0;
		for (int j = 0; j < MLS_ORDER; j++)
			v += mls[(MLS_LEN + i - j) % MLS_LEN]
			     << (MLS_ORDER - 1 - j);
		tag_s[i] = v;
		for (int j = 0; j < MLS_ORDER; j++)
			if (v == 1 << j)
				unit[j] = i;
	}
	for (int i = 0; i < MLS_LEN; i++) {
		int v = 0;
		for (int j = 0; j < MLS_ORDER; j++)
			v += mls[(MLS_LEN + unit[j] - i) % MLS_LEN] << j;
		tag_l[i] = v;
	}
	return 0;
}

/* In place, on L + 1 = 2^MLS_ORDER values. */
static void hadamard(double *x)
{
	for (int half = (MLS_LEN + 1) / 2; half >= 1; half /= 2)
		for (int base = 0; base < MLS_LEN + 1; base += 2 * half)
			for (int i = base; i < base + half; i++) {
				double a = x[i], b = x[i + half];
				x[i] = a + b;
				x[i + half] = a - b;
			}
}

/* The impulse response h[k] (per unit of LEVEL) of the system that turned
 * the sequence, starting at index @p phase, into @p rec. @p work holds
 * L + 1 values. */
static void correlate(const float *rec, int phase, double *work, double *h)
{
	double sum = 0;
	for (int n = 0; n < MLS_LEN; n++)
		sum += rec[n];
	work[0] = -sum;
	for (int n = 0; n < MLS_LEN; n++)
		work[tag_s[(phase + n) % MLS_LEN]] = rec[n];
	hadamard(work);
	for (int k = 0; k < MLS_LEN; k++)
		h[k] = work[tag_l[k]] / ((MLS_LEN + 1) * (double)LEVEL);
}

typedef struct {
	int lag;        ///< frames from the player's port to the recorder's
	double clarity; ///< the arrival over the strongest value before it
	char why[128];  ///< when refused
} Measurement;

/* The longest and second longest quiet stretches seen so far. */
typedef struct {
	long best, second;
	int best_end; ///< the strong lag that ends the longest
} Gaps;

static void gap_seen(Gaps *g, long gap, int end)
{
	if (gap > g->best) {
		g->second = g->best;
		g->best = gap;
		g->best_end = end;
	} else if (gap > g->second) {
		g->second = gap;
	}
}

/* The step into lag @p k, signed so that the arrival rises. */
static double step(const double *h, int k, double sign)
{
	return sign * (h[k % MLS_LEN] - h[(k + MLS_LEN - 1) % MLS_LEN]);
}

/* Finds the onset of the first arrival in @p h. Returns 0 and fills m->lag,
 * or -1 with m->why. */
static int first_arrival(const double *h, Measurement *m)
{
	double peak = 0;
	for (int k = 0; k < MLS_LEN; k++)
		peak = fmax(peak, fabs(h[k]));
	if (!(peak > 1e-3)) {
		snprintf(m->why, sizeof m->why,
		         "no signal comes back (peak %.2g)", peak);
		return -1;
	}
	/* The runs between strong lags, around the circle. */
	Gaps g = {0, 0, -1};
	int first = -1, last = -1;
	for (int k = 0; k < MLS_LEN; k++) {
		if (fabs(h[k]) < peak / 4)
			continue;
		if (first < 0)
			first = k;
		else
			gap_seen(&g, k - last, k);
		last = k;
	}
	gap_seen(&g, first + MLS_LEN - last, first);
	if (g.second > MAX_GAP_RATIO * g.best) {
		snprintf(m->why, sizeof m->why,
		         "two arrivals compete (quiet "
		         "stretches of %ld and %ld frames)",
		         g.best, g.second);
		return -1;
	}
	int arrival = g.best_end;
	double sign = h[arrival] < 0 ? -1 : 1;
	/* The floor's wobble: the largest step in the quiet stretch that ends
	 * where the longest edge could begin. Steps, not values: a lowpass
	 * passes the sequence's DC, a slow drift under the onset. */
	long window = g.best - 1 - MAX_EDGE;
	if (window > PRE_WINDOW)
		window = PRE_WINDOW;
	if (window < 16) {
		snprintf(m->why, sizeof m->why,
		         "no quiet stretch before the arrival (%ld frames)",
		         g.best);
		return -1;
	}
	double wobble = 0;
	for (long d = 0; d < window; d++)
		wobble = fmax(
			wobble,
			fabs(step(h, arrival - MAX_EDGE - (int)d + MLS_LEN, 1)));
	int onset = arrival;
	while (arrival - onset <= MAX_EDGE &&
	       step(h, onset - 1 + MLS_LEN, sign) > EDGE_OVER_FLOOR * wobble)
		onset--;
	if (arrival - onset > MAX_EDGE) {
		snprintf(m->why, sizeof m->why,
		         "the onset is smeared over more than %d frames",
		         MAX_EDGE);
		return -1;
	}
	double first_step = step(h, onset + MLS_LEN, sign);
	if (first_step < ONSET_OVER_FLOOR * wobble && onset < arrival &&
	    step(h, onset + 1 + MLS_LEN, sign) < EDGE_GROWTH * first_step) {
		snprintf(m->why, sizeof m->why,
		         "the onset rises out of the floor too slowly to place "
		         "(%d frames before the arrival)",
		         arrival - onset);
		return -1;
	}
	double before = 0;
	for (long d = 1; d <= window; d++)
		before = fmax(before, fabs(h[(onset - d + MLS_LEN) % MLS_LEN]));
	m->lag = onset;
	m->clarity = before > 0 ? fabs(h[arrival]) / before : INFINITY;
	if (m->clarity < MIN_CLARITY) {
		snprintf(m->why, sizeof m->why,
		         "the first arrival is not clear "
		         "(%.1f times what precedes it)",
		         m->clarity);
		return -1;
	}
	return 0;
}

/* ---- JACK ----------------------------------------------------------------- */

static int play(jack_nframes_t nframes, void *arg)
{
	(void)arg;
	jack_nframes_t t0 = jack_last_frame_time(player.client);
	int64_t ref = atomic_load_explicit(&t_ref, memory_order_relaxed);
	if (ref < 0) {
		ref = t0;
		atomic_store_explicit(&t_ref, ref, memory_order_release);
	} else if (t0 != player_next) {
		atomic_fetch_add_explicit(&player_gaps, 1, memory_order_relaxed);
	}
	player_next = t0 + nframes;
	float *out[PORTS];
	for (int c = 0; c < PORTS; c++)
		out[c] = jack_port_get_buffer(player.port[c], nframes);
	for (jack_nframes_t i = 0; i < nframes; i++) {
		/* Frame time wraps after 2^32 frames: 24 h at 48 kHz. */
		uint32_t index = (uint32_t)(t0 + i - (jack_nframes_t)ref) %
		                 MLS_LEN;
		float v = mls[index] ? -LEVEL : LEVEL;
		for (int c = 0; c < PORTS; c++)
			out[c][i] = v;
	}
	return 0;
}

/* Captures L frames in a row, starting once the sequence has played for
 * WARMUP frames; a callback out of step, or with another period, starts
 * the capture again. */
static int record(jack_nframes_t nframes, void *arg)
{
	(void)arg;
	int state = atomic_load_explicit(&cap_state, memory_order_acquire);
	if (state != CAP_ARMED && state != CAP_CAPTURING)
		return 0;
	jack_nframes_t t0 = jack_last_frame_time(recorder.client);
	int64_t ref = atomic_load_explicit(&t_ref, memory_order_acquire);
	if (ref < 0 || (uint32_t)(t0 - (jack_nframes_t)ref) < WARMUP)
		return 0;
	if (state == CAP_ARMED || t0 != cap_t0 + (jack_nframes_t)cap_n ||
	    nframes != atomic_load_explicit(&cap_period, memory_order_relaxed)) {
		cap_t0 = t0;
		cap_n = 0;
		atomic_store_explicit(&cap_period, nframes, memory_order_relaxed);
		atomic_store_explicit(&cap_state, CAP_CAPTURING,
		                      memory_order_relaxed);
	}
	const float *in = jack_port_get_buffer(recorder.port[0], nframes);
	long take = MLS_LEN - cap_n < (long)nframes ? MLS_LEN - cap_n
	                                            : (long)nframes;
	memcpy(capture + cap_n, in, (size_t)take * sizeof *in);
	cap_n += take;
	if (cap_n == MLS_LEN)
		atomic_store_explicit(&cap_state, CAP_READY,
		                      memory_order_release);
	return 0;
}

static int on_xrun(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&xruns, 1, memory_order_relaxed);
	return 0;
}

/* Called before the first callback with the new period (PipeWire's
 * quantum changing, jack_bufsize). */
static int on_period(jack_nframes_t nframes, void *arg)
{
	(void)nframes;
	(void)arg;
	atomic_fetch_add_explicit(&periods, 1, memory_order_relaxed);
	return 0;
}

static void on_freewheel(int starting, void *arg)
{
	(void)arg;
	atomic_store(&freewheeling, starting);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int open_side(Side *s, const char *name, const char *dir,
                     unsigned long flags, JackProcessCallback cb)
{
	jack_status_t status;
	s->client = jack_client_open(name, JackNoStartServer, &status);
	if (!s->client) {
		fprintf(stderr,
		        "fxd-probe: cannot connect to JACK (status 0x%x)\n",
		        status);
		return -1;
	}
	for (int c = 0; c < PORTS; c++) {
		char port[32];
		snprintf(port, sizeof port, "%s_%d", dir, c + 1);
		s->port[c] = jack_port_register(
			s->client, port, JACK_DEFAULT_AUDIO_TYPE, flags, 0);
		if (!s->port[c]) {
			fprintf(stderr, "fxd-probe: cannot register %s\n", port);
			return -1;
		}
	}
	return jack_set_process_callback(s->client, cb, NULL);
}

/* The ports the player feeds and the recorder takes from: fxd's own, or
 * those the patterns of --in and --out match (jack_get_ports: extended
 * regular expressions), sorted as JACK lists them. */
typedef struct {
	const char *target; ///< the fxd whose reported latency is compared
	const char *in_pattern, *out_pattern;
	long expect; ///< the latency to find instead, or -1
	char in[PORTS][256], out[PORTS][256];
	int channels;
} Route;

/* What fxd adds: its output's capture latency minus its input's; or
 * --expect, or -1 when neither is known. */
static int reported_latency(const Route *r)
{
	if (r->expect >= 0)
		return (int)r->expect;
	if (!r->target)
		return -1;
	char name[256], in_name[256];
	snprintf(name, sizeof name, "%s:out_1", r->target);
	snprintf(in_name, sizeof in_name, "%s:in_1", r->target);
	jack_port_t *p = jack_port_by_name(recorder.client, name);
	jack_port_t *q = jack_port_by_name(recorder.client, in_name);
	if (!p || !q)
		return -1;
	jack_latency_range_t out_r, in_r;
	jack_port_get_latency_range(p, JackCaptureLatency, &out_r);
	jack_port_get_latency_range(q, JackCaptureLatency, &in_r);
	return (int)out_r.max - (int)in_r.max;
}

/* Fills @p names with up to PORTS audio ports matching @p pattern whose
 * flags include @p flags; returns how many. */
static int find_ports(const char *pattern, unsigned long flags,
                      char names[PORTS][256])
{
	const char **found = jack_get_ports(player.client, pattern,
	                                    JACK_DEFAULT_AUDIO_TYPE, flags);
	int n = 0;
	for (; found && found[n] && n < PORTS; n++)
		snprintf(names[n], sizeof names[n], "%s", found[n]);
	jack_free(found);
	return n;
}

/* Picks the ports: fxd's in_N and out_N (a mono fxd has only in_1 and
 * out_1), unless --in or --out name others. */
static int route(Route *r)
{
	int ins = 0, outs = 0;
	if (r->in_pattern)
		ins = find_ports(r->in_pattern, JackPortIsInput, r->in);
	if (r->out_pattern)
		outs = find_ports(r->out_pattern, JackPortIsOutput, r->out);
	for (int c = 0; c < PORTS && r->target; c++) {
		if (!r->in_pattern) {
			snprintf(r->in[c], sizeof r->in[c], "%s:in_%d",
			         r->target, c + 1);
			ins += jack_port_by_name(player.client, r->in[c]) != NULL;
		}
		if (!r->out_pattern) {
			snprintf(r->out[c], sizeof r->out[c], "%s:out_%d",
			         r->target, c + 1);
			outs += jack_port_by_name(player.client, r->out[c]) !=
			        NULL;
		}
	}
	r->channels = ins < outs ? ins : outs;
	if (!r->channels) {
		fprintf(stderr, "fxd-probe: no %s ports found (%s)\n",
		        ins ? "output" : "input",
		        ins ? (r->out_pattern ? r->out_pattern : r->target)
		            : (r->in_pattern ? r->in_pattern : r->target));
		return -1;
	}
	return 0;
}

/* jack_connect, tried again for up to 2 s: under pipewire-jack a port
 * that just appeared (a target that started or reconnected a moment ago)
 * is listed before it can be linked. A link already there is success. */
static int link_ports(jack_client_t *c, const char *from, const char *to)
{
	for (int tries = 0;; tries++) {
		int err = jack_connect(c, from, to);
		if (!err || err == EEXIST)
			return 0;
		if (tries == 20)
			return err;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* Connects the player to the chosen inputs and the chosen outputs to the
 * recorder. */
static int wire(const Route *r)
{
	for (int c = 0; c < r->channels; c++) {
		if (link_ports(player.client, jack_port_name(player.port[c]),
		               r->in[c])) {
			fprintf(stderr, "fxd-probe: cannot connect to %s\n",
			        r->in[c]);
			return -1;
		}
		if (link_ports(recorder.client, r->out[c],
		               jack_port_name(recorder.port[c]))) {
			fprintf(stderr, "fxd-probe: cannot connect from %s\n",
			        r->out[c]);
			return -1;
		}
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void usage(FILE *f)
{
	fputs("usage: fxd-probe [--target NAME] [--in PATTERN] [--out PATTERN] "
	      "[--expect N]\n"
	      "                 [--seconds N] [--count N] [--freewheel]\n"
	      "Measures the latency the JACK client NAME (default fxd) adds, "
	      "on the signal,\nfor N seconds (default 10) or until N "
	      "measurements; --in and --out play into\nand record from the "
	      "ports those patterns match instead, --expect N is the\nlatency "
	      "to find; --freewheel runs the JACK graph with no deadline "
	      "meanwhile.\nSee fxd-probe(1).\n",
	      f);
}

/* A whole number in [lo, hi] from @p text, or exit 2. */
static long number_arg(const char *opt, const char *text, long lo, long hi)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (end == text || *end || v < lo || v > hi) {
		fprintf(stderr, "fxd-probe: %s: '%s' is not %ld..%ld\n", opt,
		        text, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	Route r = {.target = NULL, .expect = -1};
	long seconds = 10, count = 0;
	int freewheel = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--target") && i + 1 < argc) {
			r.target = argv[++i];
		} else if (!strcmp(argv[i], "--in") && i + 1 < argc) {
			r.in_pattern = argv[++i];
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			r.out_pattern = argv[++i];
		} else if (!strcmp(argv[i], "--expect") && i + 1 < argc) {
			r.expect = number_arg("--expect", argv[++i], 0, WARMUP);
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = number_arg("--seconds", argv[++i], 1, 86400);
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			count = number_arg("--count", argv[++i], 1, 1000000);
		} else if (!strcmp(argv[i], "--freewheel")) {
			freewheel = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	/* fxd's own ports stand in for a pattern not given. */
	if (!r.target && (!r.in_pattern || !r.out_pattern))
		r.target = "fxd";
	mls_generate();
	capture = calloc(MLS_LEN, sizeof *capture);
	/* Static, as the globals: every early return keeps them reachable. */
	static double *work, *h;
	work = calloc(MLS_LEN + 1, sizeof *work);
	h = calloc(MLS_LEN, sizeof *h);
	if (!capture || !work || !h || make_tags()) {
		fprintf(stderr, "fxd-probe: out of memory\n");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (open_side(&player, "fxd-probe-play", "out", JackPortIsOutput, play) ||
	    open_side(&recorder, "fxd-probe-rec", "in", JackPortIsInput, record) ||
	    jack_set_xrun_callback(recorder.client, on_xrun, NULL) ||
	    jack_set_buffer_size_callback(recorder.client, on_period, NULL) ||
	    jack_set_freewheel_callback(player.client, on_freewheel, NULL))
		return 1;
	if (jack_activate(player.client) || jack_activate(recorder.client)) {
		fprintf(stderr, "fxd-probe: cannot activate\n");
		return 1;
	}
	if (route(&r) || wire(&r))
		return 1;
	/* No deadline: every period is processed, however busy the machine. */
	if (freewheel && jack_set_freewheel(player.client, 1)) {
		fprintf(stderr, "fxd-probe: cannot start freewheeling\n");
		return 1;
	}
	double start = now_s(), said = start;
	/* The switch itself may count as an xrun: capture only once it is
	 * done, and count from there. */
	while (freewheel && !atomic_load(&freewheeling) && !stop &&
	       now_s() - start < seconds)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	double sr = jack_get_sample_rate(player.client);
	int measured = 0, refused = 0, mismatches = 0;
	unsigned gaps0 = atomic_load(&player_gaps), xruns0 = atomic_load(&xruns);
	/* A capture counts only when the period and the reported latency
	 * stayed as they were when it was armed. */
	unsigned periods0 = atomic_load(&periods);
	int reported0 = reported_latency(&r);
	/* With both patterns and no --target or --expect, nothing is
	 * compared: the measurement is the answer. */
	int compared = r.expect >= 0 || r.target;
	const char *says = r.expect >= 0 ? "expected" : "fxd reports";
	atomic_store(&cap_state, CAP_ARMED);
	while (!stop && now_s() - start < seconds &&
	       (!count || measured + refused < count)) {
		if (atomic_load_explicit(&cap_state, memory_order_acquire) !=
		    CAP_READY) {
			if (now_s() - said >= 2) {
				if (compared)
					printf("probe: measuring (%s %d frames)\n",
					       says, reported_latency(&r));
				else
					printf("probe: measuring\n");
				fflush(stdout);
				said = now_s();
			}
			nanosleep(&(struct timespec){0, 10000000}, NULL);
			continue;
		}
		/* The capture is ours until it is armed again. */
		unsigned gaps = atomic_load(&player_gaps),
			 xr = atomic_load(&xruns);
		int phase = (int)((uint32_t)(cap_t0 -
		                             (jack_nframes_t)atomic_load(&t_ref)) %
		                  MLS_LEN);
		int reported = reported_latency(&r);
		unsigned per = atomic_load(&periods);
		Measurement m = {0};
		int ok = 0;
		if (per != periods0 || reported != reported0) {
			snprintf(m.why, sizeof m.why,
			         "the period changed (now %u frames) or fxd's "
			         "latency with it (%d to %d frames)",
			         (unsigned)jack_get_buffer_size(recorder.client),
			         reported0, reported);
		} else if (gaps != gaps0 || xr != xruns0) {
			snprintf(m.why, sizeof m.why,
			         "a JACK xrun or a skipped "
			         "period disturbed it");
		} else {
			correlate(capture, phase, work, h);
			ok = first_arrival(h, &m) == 0;
		}
		gaps0 = gaps;
		xruns0 = xr;
		periods0 = per;
		reported0 = reported;
		atomic_store_explicit(&cap_state, CAP_ARMED,
		                      memory_order_release);
		if (ok) {
			char clarity[32];
			if (m.clarity >= 1000)
				snprintf(clarity, sizeof clarity, "over 1000");
			else
				snprintf(clarity, sizeof clarity, "%.0f",
				         m.clarity);
			measured++;
			int differs = compared && m.lag != reported;
			mismatches += differs;
			printf("probe: added latency %d frames (%.2f ms) measured on "
			       "the signal (clarity %s)",
			       m.lag, 1e3 * m.lag / sr, clarity);
			if (compared)
				printf("; %s %d%s", says, reported,
				       differs ? "  MISMATCH" : "");
			putchar('\n');
		} else {
			refused++;
			printf("probe: no measurement: %s", m.why);
			if (compared)
				printf(" (%s %d frames)", says, reported);
			putchar('\n');
		}
		fflush(stdout);
		said = now_s();
	}
	if (freewheel)
		jack_set_freewheel(player.client, 0);
	jack_client_close(player.client);
	jack_client_close(recorder.client);
	free(work);
	free(h);
	free(capture);
	free(tag_s);
	free(tag_l);
	if (!measured)
		fprintf(stderr, "fxd-probe: no measurement in %ld s\n", seconds);
	return measured && !mismatches ? 0 : 1;
}
