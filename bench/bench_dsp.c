/* SPDX-License-Identifier: ISC */
/* fxd — DSP benchmark (not a test: `make bench` runs it, `make check` only
 * smoke-tests --quick).
 *
 * Usage: bench_dsp [--quick] [--json FILE] [--budget SECONDS] [--convolver]
 *   --convolver runs case g alone (no JSON).
 *   The table goes to stdout. --json FILE also writes a JSON document to
 *   FILE; with --json - the JSON goes to stdout and the table to stderr.
 *   --quick is the CI smoke run (a second or two); the default full run
 *   takes about a minute. --budget sets the seconds spent per
 *   (frames, channels) configuration.
 *
 * Cases, at 48 kHz, 64..1024 frames per chunk, 1, 2 and 8 channels:
 *   a  order-10 Butterworth lowpass at 8 kHz (5 sections) through fx_sos,
 *      and the same filter as a plain scalar textbook Direct Form I float
 *      loop, the baseline every ratio refers to;
 *   b  the "depth-5" chain: highpass 80 Hz order 2 and lowpass 8 kHz order 4
 *      alternating five times, read as HP2, LP4, HP2, LP4, HP2 = 1+2+1+2+1
 *      = 7 sections; once as one 7-section fx_sos, once as 5 fx_sos in
 *      series (as five filter effects in a chain would run);
 *   c  the lowpass of (a) ringing out: an impulse, then 100 ms of silence
 *      per round, with FTZ and DAZ set as the worker sets them, and again
 *      without, for the ratio;
 *   d  chains through fx_chain_process, as the worker runs them: the
 *      live-rig chain (highpass, 3-band EQ, compressor, delay, reverb,
 *      gain: LIVE_RIG below) and the reverb alone, for scale;
 *   f  an LV2 slot's host overhead: SWH's amp (a one-line gain, so the
 *      plugin's own work is small and fxd's side shows) as a chain slot
 *      through fx_chain_process, against the same plugin instantiated
 *      with lilv and its run called directly (one instance per channel,
 *      ports connected to the buffers, as lv2apply does); the ratio and
 *      the difference are fxd's cost per slot per chunk. Skipped, with a
 *      note, when swh-lv2 is not installed;
 *   e  the worker's cost with MIDI: the whole engine on fxd's default
 *      chain (FX_DEFAULT_CHAIN) and fxd's default engine settings, stereo,
 *      driven by a fake driver as the unit tests drive it
 *      (fx_engine_midi_in, fx_engine_process, then the timed
 *      fx_engine_work: one chunk), at 64, 256 and 1024 frames, with 0, 1
 *      and 100 events per period of a CC mapped by
 *      `cc 1 7 = /fx/vol/db -60 0`, spread evenly across the period (the
 *      worker splits the chunk at each event's frame; at 64 frames 100
 *      events share 64 frames), their values sweeping like a fader so
 *      each is a change. The three engines run interleaved, 8 periods a
 *      round in rotating order; the control side's work (the MIDI
 *      reports, feedback out, fx_engine_poll) runs untimed between
 *      periods. Reported: per-chunk median, p99, max, and the ratios of
 *      the median and the p99 to the 0-event engine's in the same run;
 *   g  the convolver's engine (dsp/convolver.h), stereo with one response
 *      per channel, 256-frame chunks, responses of 0.1, 0.5, 1, 2 and 5 s
 *      (decaying noise), against a naive direct-form FIR for 0.1 and
 *      0.5 s; interleaved rounds of 8 chunks; median, p99 and max.
 *
 * Method: every chunk is timed on its own with CLOCK_MONOTONIC (the
 * timer's own median cost is measured and subtracted). Variants run
 * interleaved in many short rounds (8 chunks each, or one whole tail for
 * case c), the order rotating each round, so drift and noise from the
 * shared machine hit all variants alike. Reported per variant: per-chunk
 * median, p99 and max, the best round's median, ns per sample-section and
 * the share of the period deadline (frames / fs) the median and p99 use.
 * Accuracy (relative RMS error against a double-precision reference
 * computed here) and chunk invariance are checked once, untimed.
 */
#define _GNU_SOURCE
#include <lilv/lilv.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_common.h"
#include "daemon/engine/engine.h"
#include "daemon/engine/midi_map.h"
#include "daemon/options.h"
#include "dsp/chain.h"
#include "dsp/convolver.h"
#include "dsp/denormal.h"
#include "dsp/design.h"
#include "dsp/lv2.h"
#include "dsp/sos.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
/* The bits fx_denormals_off() sets on the worker thread. */
enum { MXCSR_FTZ = 1u << 15, MXCSR_DAZ = 1u << 6 };
#endif

enum {
	FS = 48000,
	MAX_CH = 8,
	IN_FRAMES = 8192,   ///< cyclic input; a multiple of every chunk size
	ROUND_CHUNKS = 8,   ///< chunks per variant per round
	TAIL_FRAMES = 4800, ///< case c: 100 ms from the impulse on
	MAX_OBJ = 5,
};

static const int frame_sizes[] = {64, 128, 256, 512, 1024};
static const int channel_counts[] = {1, 2, 8};

static void die(const char *what, FxStatus st)
{
	fprintf(stderr, "bench_dsp: %s: %s\n", what, fx_strerror(st));
	exit(1);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank quantile of sorted v[0..n). */
static double quantile(const float *v, size_t n, double q)
{
	size_t i = (size_t)ceil(q * (double)n);
	return v[i ? i - 1 : 0];
}

static float median_of(float *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_float);
	return (float)quantile(v, n, 0.5);
}

/* ---- filters ------------------------------------------------------------ */

static FxSection lp8k[8], hp80[8], lp8k4[8], depth5[16];
static int n_lp8k, n_hp80, n_lp8k4, n_depth5;

static void design(FxButterType type, int order, double f1, double f2,
                   double fs, FxSection *sec, int *n)
{
	FxStatus st = fx_design_butter(type, order, f1, f2, fs, sec, n);
	if (st != FX_OK)
		die("fx_design_butter", st);
}

static void design_all(void)
{
	design(FX_BUTTER_LOWPASS, 10, 8000, 0, FS, lp8k, &n_lp8k);
	design(FX_BUTTER_HIGHPASS, 2, 80, 0, FS, hp80, &n_hp80);
	design(FX_BUTTER_LOWPASS, 4, 8000, 0, FS, lp8k4, &n_lp8k4);
	/* HP2, LP4, HP2, LP4, HP2 */
	n_depth5 = 0;
	for (int i = 0; i < 5; i++) {
		const FxSection *src = i & 1 ? lp8k4 : hp80;
		int n = i & 1 ? n_lp8k4 : n_hp80;
		memcpy(depth5[n_depth5], src, (size_t)n * sizeof(FxSection));
		n_depth5 += n;
	}
}

/* The baseline: a plain scalar textbook Direct Form I in float, per sample
 * through all sections. */
typedef struct {
	int channels, n;
	float coef[FX_MAX_SECTIONS][5];          ///< b0, b1, b2, a1, a2
	float state[MAX_CH][FX_MAX_SECTIONS][4]; ///< x1, x2, y1, y2
} Dfi;

static void dfi_set(Dfi *d, int channels, const FxSection *sec, int n)
{
	memset(d, 0, sizeof *d);
	d->channels = channels;
	d->n = n;
	for (int k = 0; k < n; k++) {
		double a0 = sec[k][3];
		d->coef[k][0] = (float)(sec[k][0] / a0);
		d->coef[k][1] = (float)(sec[k][1] / a0);
		d->coef[k][2] = (float)(sec[k][2] / a0);
		d->coef[k][3] = (float)(sec[k][4] / a0);
		d->coef[k][4] = (float)(sec[k][5] / a0);
	}
}

static void dfi_process(Dfi *d, const float *const *in, float *const *out,
                        int frames)
{
	for (int c = 0; c < d->channels; c++)
		for (int i = 0; i < frames; i++) {
			float x = in[c][i];
			for (int k = 0; k < d->n; k++) {
				const float *q = d->coef[k];
				float *z = d->state[c][k];
				float y = q[0] * x + q[1] * z[0] + q[2] * z[1] -
				          q[3] * z[2] - q[4] * z[3];
				z[1] = z[0];
				z[0] = x;
				z[3] = z[2];
				z[2] = y;
				x = y;
			}
			out[c][i] = x;
		}
}

/* Double-precision reference, TDF-II as scipy.signal.sosfilt computes it. */
static void ref_process(const FxSection *sec, int n, const float *x, double *y,
                        int frames)
{
	double z[FX_MAX_SECTIONS][2] = {{0}};
	for (int i = 0; i < frames; i++) {
		double v = x[i];
		for (int k = 0; k < n; k++) {
			double a0 = sec[k][3];
			double o = sec[k][0] / a0 * v + z[k][0];
			z[k][0] = sec[k][1] / a0 * v - sec[k][4] / a0 * o +
			          z[k][1];
			z[k][1] = sec[k][2] / a0 * v - sec[k][5] / a0 * o;
			v = o;
		}
		y[i] = v;
	}
}

/* ---- variants ----------------------------------------------------------- */

typedef struct Variant Variant;
struct Variant {
	const char *id;    ///< JSON name
	const char *label; ///< table name
	char kase;         ///< 'a', 'b', 'c', 'd', 'f'
	const char *spec;  ///< case d: the chain
	int sections;      ///< per channel, for ns per sample-section
	int tail;          ///< impulse-then-silence rounds (case c)
	int no_ftz;        ///< timed with FTZ and DAZ off
	void (*setup)(Variant *v, int channels);
	void (*run)(Variant *v, const float *const *in, float *const *out,
	            int frames);
	void (*reset)(Variant *v);
	void (*teardown)(Variant *v);

	FxSos *sos[MAX_OBJ];
	int nsos;
	Dfi *dfi;
	FxChain *chain;
	LilvInstance *lv2[MAX_CH]; ///< case f, run directly
	float lv2_gain;
	int missing; ///< case f without the plugin: the run copies
	int pos;     ///< read position in the cyclic input
	float *out[MAX_CH];

	/* Results of one configuration. */
	float *t; ///< per-chunk ns
	size_t nt, cap;
	float *rmed; ///< per-round medians
	int nrounds;
	double rel_rms; ///< case a accuracy, NAN if not measured
};

static FxSos *sos_new(int channels, const FxSection *sec, int n)
{
	FxStatus st;
	FxSos *s = fx_sos_new(channels, n, &st);
	if (!s)
		die("fx_sos_new", st);
	if ((st = fx_sos_set(s, sec, n)) != FX_OK)
		die("fx_sos_set", st);
	return s;
}

static void setup_lp8k(Variant *v, int channels)
{
	v->sos[0] = sos_new(channels, lp8k, n_lp8k);
	v->nsos = 1;
}

static void setup_depth5_one(Variant *v, int channels)
{
	v->sos[0] = sos_new(channels, depth5, n_depth5);
	v->nsos = 1;
}

static void setup_depth5_series(Variant *v, int channels)
{
	for (int i = 0; i < 5; i++)
		v->sos[i] = i & 1 ? sos_new(channels, lp8k4, n_lp8k4)
		                  : sos_new(channels, hp80, n_hp80);
	v->nsos = 5;
}

static void run_sos(Variant *v, const float *const *in, float *const *out,
                    int frames)
{
	fx_sos_process(v->sos[0], in, out, frames);
	for (int i = 1; i < v->nsos; i++)
		fx_sos_process(v->sos[i], (const float *const *)out, out, frames);
}

static void reset_sos(Variant *v)
{
	for (int i = 0; i < v->nsos; i++)
		fx_sos_reset(v->sos[i]);
}

static void teardown_sos(Variant *v)
{
	for (int i = 0; i < v->nsos; i++)
		fx_sos_free(v->sos[i]);
	v->nsos = 0;
}

static void setup_dfi(Variant *v, int channels)
{
	v->dfi = malloc(sizeof *v->dfi);
	if (!v->dfi)
		die("malloc", FX_ERR_NOMEM);
	dfi_set(v->dfi, channels, lp8k, n_lp8k);
}

static void run_dfi(Variant *v, const float *const *in, float *const *out,
                    int frames)
{
	dfi_process(v->dfi, in, out, frames);
}

static void reset_dfi(Variant *v)
{
	memset(v->dfi->state, 0, sizeof v->dfi->state);
}

static void teardown_dfi(Variant *v)
{
	free(v->dfi);
	v->dfi = NULL;
}

/* ---- chain-level cases ---------------------------------------------------
 * Whole chains, in place, as the worker runs them. */

/** What a live rig runs: highpass, 3-band EQ, compressor, delay, reverb,
 *  gain. The target: p99 <= 15 us at stereo 256. */
#define LIVE_RIG                                                               \
	"hpf:highpass cutoff=80 order=2 | lo:lowshelf cutoff=200 gain=2 | "    \
	"mid:peaking cutoff=1000 q=0.7 gain=-2 | hi:highshelf cutoff=6000 "    \
	"gain=1 | comp:compressor threshold=-18 ratio=3 | dly:delay time=350 " \
	"feedback=0.3 mix=0.2 | verb:reverb room=0.4 mix=0.15 | vol:gain db=0"

/* The chain of @p text; exits with the parser's message if it is bad. */
static FxChainSpec parse_chain(const char *text)
{
	FxChainSpec spec;
	FxSpecError err;
	if (fx_spec_parse(text, "bench", &spec, &err) != FX_OK) {
		fprintf(stderr, "bench_dsp: %s\n", err.message);
		exit(1);
	}
	return spec;
}

static void setup_chain(Variant *v, int channels)
{
	FxChainSpec spec = parse_chain(v->spec);
	FxStatus st;
	FxChainConfig cc = fx_chain_config_default();
	cc.sample_rate = FS;
	cc.channels = channels;
	cc.max_block = 1024;
	if (!(v->chain = fx_chain_new(&spec, &cc, &st)))
		die("fx_chain_new", st);
}

static void run_chain(Variant *v, const float *const *in, float *const *out,
                      int frames)
{
	for (int c = 0; c < fx_chain_config(v->chain).channels; c++)
		memcpy(out[c], in[c], (size_t)frames * sizeof(float));
	fx_chain_process(v->chain, out, frames);
}

static void reset_chain(Variant *v)
{
	fx_chain_reset(v->chain);
}

static void teardown_chain(Variant *v)
{
	fx_chain_free(v->chain);
	v->chain = NULL;
}

/* ---- case f: an LV2 slot against the plugin's run called directly ---- */

#define LV2_AMP "http://plugin.org.uk/swh-plugins/amp"

static void setup_lv2_slot(Variant *v, int channels)
{
	char why[512];
	v->missing = !fx_lv2_class(LV2_AMP, why, sizeof why);
	if (v->missing)
		say("bench_dsp: case f skipped: %s\n", why);
	else
		setup_chain(v, channels);
}

static void run_lv2_slot(Variant *v, const float *const *in, float *const *out,
                         int frames)
{
	if (!v->missing) {
		run_chain(v, in, out, frames);
		return;
	}
	for (int c = 0; c < MAX_CH && out[c] && in[c]; c++)
		memcpy(out[c], in[c], (size_t)frames * sizeof(float));
}

static void reset_lv2_slot(Variant *v)
{
	if (!v->missing)
		reset_chain(v);
}

static void teardown_lv2_slot(Variant *v)
{
	if (!v->missing)
		teardown_chain(v);
}

/* The baseline has a world of its own, as a plain lilv host would. */
static LilvWorld *direct_world;

static void setup_lv2_direct(Variant *v, int channels)
{
	if (!direct_world) {
		direct_world = lilv_world_new();
		lilv_world_load_all(direct_world);
	}
	LilvNode *uri = lilv_new_uri(direct_world, LV2_AMP);
	const LilvPlugin *pl = lilv_plugins_get_by_uri(
		lilv_world_get_all_plugins(direct_world), uri);
	lilv_node_free(uri);
	v->missing = !pl;
	v->lv2_gain = -6.0f;
	for (int c = 0; pl && c < channels; c++) {
		if (!(v->lv2[c] = lilv_plugin_instantiate(pl, FS, NULL)))
			die("lilv_plugin_instantiate", FX_ERR_PLUGIN);
		lilv_instance_connect_port(v->lv2[c], 0, &v->lv2_gain);
		lilv_instance_activate(v->lv2[c]);
	}
}

/* SWH amp's ports: 0 gain, 1 input, 2 output. */
static void run_lv2_direct(Variant *v, const float *const *in,
                           float *const *out, int frames)
{
	for (int c = 0; c < MAX_CH && v->lv2[c]; c++) {
		lilv_instance_connect_port(v->lv2[c], 1, (void *)in[c]);
		lilv_instance_connect_port(v->lv2[c], 2, out[c]);
		lilv_instance_run(v->lv2[c], (uint32_t)frames);
	}
	if (v->missing)
		run_lv2_slot(v, in, out, frames);
}

static void reset_lv2_direct(Variant *v)
{
	(void)v;
}

static void teardown_lv2_direct(Variant *v)
{
	for (int c = 0; c < MAX_CH && v->lv2[c]; c++) {
		lilv_instance_deactivate(v->lv2[c]);
		lilv_instance_free(v->lv2[c]);
		v->lv2[c] = NULL;
	}
}

/* One line per field group, as a table reads. */
/* clang-format off */
static Variant variants[] = {
	{.id = "a.fx_sos", .label = "a  fx_sos LP8k o10", .kase = 'a',
	 .setup = setup_lp8k, .run = run_sos, .reset = reset_sos,
	 .teardown = teardown_sos},
	{.id = "a.dfi_baseline", .label = "a  DF-I float baseline", .kase = 'a',
	 .setup = setup_dfi, .run = run_dfi, .reset = reset_dfi,
	 .teardown = teardown_dfi},
	{.id = "b.fx_sos_7sec", .label = "b  depth-5, one 7-sec", .kase = 'b',
	 .setup = setup_depth5_one, .run = run_sos, .reset = reset_sos,
	 .teardown = teardown_sos},
	{.id = "b.fx_sos_5series", .label = "b  depth-5, 5 in series",
	 .kase = 'b', .setup = setup_depth5_series, .run = run_sos,
	 .reset = reset_sos, .teardown = teardown_sos},
	{.id = "c.tail_ftz", .label = "c  tail, FTZ+DAZ", .kase = 'c', .tail = 1,
	 .setup = setup_lp8k, .run = run_sos, .reset = reset_sos,
	 .teardown = teardown_sos},
	{.id = "c.tail_no_ftz", .label = "c  tail, no FTZ", .kase = 'c',
	 .tail = 1, .no_ftz = 1, .setup = setup_lp8k, .run = run_sos,
	 .reset = reset_sos, .teardown = teardown_sos},
	{.id = "d.live_rig", .label = "d  live-rig chain", .kase = 'd',
	 .spec = LIVE_RIG, .setup = setup_chain, .run = run_chain,
	 .reset = reset_chain, .teardown = teardown_chain},
	{.id = "d.reverb", .label = "d  reverb alone", .kase = 'd',
	 .spec = "verb:reverb room=0.4 mix=0.15", .setup = setup_chain,
	 .run = run_chain, .reset = reset_chain, .teardown = teardown_chain},
	{.id = "f.lv2_direct", .label = "f  LV2 amp, run directly", .kase = 'f',
	 .setup = setup_lv2_direct, .run = run_lv2_direct,
	 .reset = reset_lv2_direct, .teardown = teardown_lv2_direct},
	{.id = "f.lv2_slot", .label = "f  LV2 amp as a slot", .kase = 'f',
	 .spec = "a:lv2 uri=" LV2_AMP " gain=-6", .setup = setup_lv2_slot,
	 .run = run_lv2_slot, .reset = reset_lv2_slot,
	 .teardown = teardown_lv2_slot},
};
/* clang-format on */
enum { NVAR = NELEM(variants) };

/* ---- signals and buffers ------------------------------------------------ */

static float input[MAX_CH][IN_FRAMES]; ///< noise at -6 dBFS
static float silence[MAX_CH][1024];
static float impulse[MAX_CH][1024]; ///< 1.0 at frame 0

static uint32_t rng = 0x12345678u;

static float noise(void)
{
	rng = rng * 1664525u + 1013904223u;
	return (float)((double)(rng >> 8) / 16777216.0 - 0.5);
}

static void make_signals(void)
{
	for (int c = 0; c < MAX_CH; c++) {
		for (int i = 0; i < IN_FRAMES; i++)
			input[c][i] = noise();
		impulse[c][0] = 1.0f;
	}
}

/* ---- timing ------------------------------------------------------------- */

static double timer_overhead;

static void measure_timer(void)
{
	enum { N = 20001 };
	static float d[N];
	for (int i = 0; i < N; i++) {
		double t0 = bench_now_ns();
		d[i] = (float)(bench_now_ns() - t0);
	}
	timer_overhead = median_of(d, N);
}

#ifdef HAVE_MXCSR
static unsigned ftz_on_csr, ftz_off_csr;

static void set_ftz(int on)
{
	_mm_setcsr(on ? ftz_on_csr : ftz_off_csr);
}
#else
/* Elsewhere the denormal mode is left as it is; case c's two variants
 * then measure the same thing. */
static void set_ftz(int on)
{
	(void)on;
}
#endif

/* ns since t0, less the timer's own cost. */
static float lap(double t0)
{
	double d = bench_now_ns() - t0 - timer_overhead;
	return (float)(d > 0 ? d : 0);
}

/* One round of variant v: ROUND_CHUNKS chunks of the running signal, or a
 * whole tail. Returns the round's median. */
static float round_of(Variant *v, int channels, int frames, int keep)
{
	float rt[TAIL_FRAMES / 64 + ROUND_CHUNKS];
	int n = 0;
	const float *in[MAX_CH];
	set_ftz(!v->no_ftz);
	if (v->tail) {
		int chunks = (TAIL_FRAMES + frames - 1) / frames;
		v->reset(v);
		for (int k = 0; k < chunks; k++) {
			for (int c = 0; c < channels; c++)
				in[c] = k ? silence[c] : impulse[c];
			double t0 = bench_now_ns();
			v->run(v, in, v->out, frames);
			rt[n++] = lap(t0);
		}
	} else {
		for (int k = 0; k < ROUND_CHUNKS; k++) {
			for (int c = 0; c < channels; c++)
				in[c] = input[c] + v->pos;
			double t0 = bench_now_ns();
			v->run(v, in, v->out, frames);
			rt[n++] = lap(t0);
			v->pos = (v->pos + frames) % IN_FRAMES;
		}
	}
	set_ftz(1);
	if (!keep)
		return 0;
	for (int k = 0; k < n && v->nt < v->cap; k++)
		v->t[v->nt++] = rt[k];
	return median_of(rt, (size_t)n);
}

typedef struct {
	double median, p99, max, mean, best_round;
} Stats;

/* Median, p99, max and mean in us of t[0..n) ns (sorted here). */
static Stats times_stats(float *t, size_t n)
{
	Stats s = {0};
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += t[i];
	qsort(t, n, sizeof *t, cmp_float);
	s.median = quantile(t, n, 0.5) / 1e3;
	s.p99 = quantile(t, n, 0.99) / 1e3;
	s.max = t[n - 1] / 1e3;
	s.mean = sum / (double)n / 1e3;
	return s;
}

static Stats stats_of(Variant *v)
{
	Stats s = times_stats(v->t, v->nt);
	s.best_round = v->rmed[0];
	for (int r = 1; r < v->nrounds; r++)
		if (v->rmed[r] < s.best_round)
			s.best_round = v->rmed[r];
	s.best_round /= 1e3;
	return s;
}

/* ---- case e: the engine's worker with MIDI --------------------------------
 * fxd's engine behind a fake driver; the worker's chunk is timed. */

static const int engine_periods[] = {64, 256, 1024};
static const int engine_events[] = {0, 1, 100}; ///< CC events per period
#define ENGINE_MAP "cc 1 7 = /fx/vol/db -60 0"
enum { ENGINE_CH = 2, NEV = NELEM(engine_events), MAX_EVENTS = 100 };

typedef struct {
	FxEngine *e;
	int events; ///< per period
	int value;  ///< the next CC value: a fader sweeping 0..127
	int pos;    ///< read position in the cyclic input
	float out[ENGINE_CH][1024];
	float *t; ///< per-chunk ns
	size_t nt, cap;
	uint64_t sent; ///< events handed to fx_engine_midi_in
} EngineRun;

typedef struct {
	int frames, events, chunks;
	Stats st;
	double ratio_median, ratio_p99; ///< to the 0-event engine's
	uint64_t sent, taken, overflows, underflows;
	double midi_frames_max; ///< the engine's own MIDI-to-ear max, frames
} EngineResult;

static void jnum(FILE *f, const char *key, double v, const char *sep);

static EngineResult engine_results[NELEM(engine_periods) * NEV];
static int n_engine_results;

static FxEngine *engine_new(int frames)
{
	FxChainSpec spec = parse_chain(FX_DEFAULT_CHAIN);
	FxStatus st;
	FxEngineConfig cfg = fx_engine_config_default();
	cfg.period = frames;
	cfg.sample_rate = FS;
	cfg.inputs = cfg.outputs = cfg.channels = ENGINE_CH;
	FxEngine *e = fx_engine_new(&cfg, &spec, &st);
	if (!e)
		die("fx_engine_new", st);
	FxMidiMapping m;
	char err[256];
	if (fx_midi_mapping_parse(ENGINE_MAP, &m, NULL, err, sizeof err) !=
	    FX_OK) {
		fprintf(stderr, "bench_dsp: %s: %s\n", ENGINE_MAP, err);
		exit(1);
	}
	FxMidiTable *t = fx_midi_table_new(&m, 1, &spec, NULL, &st);
	if (!t)
		die("fx_midi_table_new", st);
	if ((st = fx_engine_set_midi_table(e, t)) != FX_OK)
		die("fx_engine_set_midi_table", st);
	return e;
}

/* One period as fxd runs it: the driver's MIDI and audio, the worker's
 * chunk (timed when @p keep), then what fxd's control thread does. */
static void engine_period(EngineRun *r, int frames, int keep)
{
	FxMidiEvent ev[MAX_EVENTS];
	for (int i = 0; i < r->events; i++) {
		ev[i] = (FxMidiEvent){(uint32_t)(i * frames / r->events),
		                      3,
		                      {0xB0, 7, (uint8_t)r->value}};
		r->value = (r->value + 1) & 127;
	}
	const float *in[ENGINE_CH];
	float *out[ENGINE_CH];
	for (int c = 0; c < ENGINE_CH; c++) {
		in[c] = input[c] + r->pos;
		out[c] = r->out[c];
	}
	r->pos = (r->pos + frames) % IN_FRAMES;
	if (r->events && fx_engine_midi_in(r->e, ev, r->events))
		r->sent += (uint64_t)r->events;
	fx_engine_process(r->e, in, out, frames);
	double t0 = bench_now_ns();
	fx_engine_work(r->e);
	float dt = lap(t0);
	if (keep && r->nt < r->cap)
		r->t[r->nt++] = dt;
	FxMidiReport rep[MAX_EVENTS + 8];
	while (fx_engine_midi_reports(r->e, rep, NELEM(rep)) == NELEM(rep))
		;
	FxMidiEvent fb[64];
	while (fx_engine_midi_out(r->e, fb, NELEM(fb)) == NELEM(fb))
		;
	fx_engine_poll(r->e);
}

static void engine_config(int frames, double budget, int min_rounds,
                          int max_rounds)
{
	static EngineRun runs[NEV];
	for (int i = 0; i < NEV; i++) {
		EngineRun *r = &runs[i];
		memset(r, 0, sizeof *r);
		r->e = engine_new(frames);
		r->events = engine_events[i];
		r->cap = (size_t)max_rounds * ROUND_CHUNKS;
		if (!(r->t = malloc(r->cap * sizeof *r->t)))
			die("malloc", FX_ERR_NOMEM);
	}
	/* Warm-up, not kept: past the fade in and the first glides. */
	int warm = (int)(0.2 * FS / frames) + 8;
	for (int k = 0; k < warm; k++)
		for (int i = 0; i < NEV; i++)
			engine_period(&runs[i], frames, 0);
	for (int i = 0; i < NEV; i++) {
		fx_engine_reset_metrics(runs[i].e);
		runs[i].sent = 0;
	}
	double t_end = bench_now_ns() + budget * 1e9;
	for (int n = 0;
	     n < max_rounds && (n < min_rounds || bench_now_ns() < t_end); n++)
		for (int k = 0; k < NEV; k++)
			for (int c = 0; c < ROUND_CHUNKS; c++)
				engine_period(&runs[(n + k) % NEV], frames, 1);
	Stats base = {0};
	for (int i = 0; i < NEV; i++) {
		EngineRun *r = &runs[i];
		EngineResult *res = &engine_results[n_engine_results++];
		res->frames = frames;
		res->events = r->events;
		res->chunks = (int)r->nt;
		res->st = times_stats(r->t, r->nt);
		res->st.best_round = NAN;
		if (i == 0)
			base = res->st;
		res->ratio_median = res->st.median / base.median;
		res->ratio_p99 = res->st.p99 / base.p99;
		FxEngineMetrics m;
		fx_engine_metrics(r->e, &m);
		res->sent = r->sent;
		res->taken = m.midi_events;
		res->overflows = m.midi_overflows;
		res->underflows = m.underflows;
		res->midi_frames_max = m.midi_frames.count ? m.midi_frames.max
		                                           : NAN;
		fx_engine_free(r->e);
		free(r->t);
	}
}

static void engine_print(void)
{
	say("\ne: the engine's worker per chunk with MIDI, %s, stereo, "
	    "`%s`; ratio = this / 0 events, same run\n",
	    "fxd's default chain", ENGINE_MAP);
	say("%6s %6s %7s %8s %8s %8s %7s %7s %8s %8s %6s %6s\n", "frames",
	    "events", "chunks", "med us", "p99 us", "max us", "%ddl", "%ddl99",
	    "med x", "p99 x", "undfl", "m2e");
	for (int i = 0; i < n_engine_results; i++) {
		const EngineResult *r = &engine_results[i];
		double period_us = 1e6 * r->frames / FS;
		say("%6d %6d %7d %8.3f %8.3f %8.2f %7.2f %7.2f %8.2f %8.2f "
		    "%6llu %6.0f\n",
		    r->frames, r->events, r->chunks, r->st.median, r->st.p99,
		    r->st.max, 100 * r->st.median / period_us,
		    100 * r->st.p99 / period_us, r->ratio_median, r->ratio_p99,
		    (unsigned long long)r->underflows, r->midi_frames_max);
		if (r->taken != r->sent || r->overflows)
			say("       (events sent %llu, taken %llu, periods "
			    "refused %llu)\n",
			    (unsigned long long)r->sent,
			    (unsigned long long)r->taken,
			    (unsigned long long)r->overflows);
	}
	say("(undfl: the engine's underflows; m2e: its MIDI-to-ear max in "
	    "frames, the latency when every event landed on its frame)\n");
}

static void engine_json(FILE *f)
{
	fprintf(f,
	        "  \"engine_midi\": {\"chain\": \"%s\", \"mapping\": \"%s\", "
	        "\"channels\": %d, \"spread\": \"event i of n at frame "
	        "i*frames/n\", \"timed\": \"fx_engine_work, one chunk\", "
	        "\"results\": [\n",
	        FX_DEFAULT_CHAIN, ENGINE_MAP, ENGINE_CH);
	for (int i = 0; i < n_engine_results; i++) {
		const EngineResult *r = &engine_results[i];
		double period_us = 1e6 * r->frames / FS;
		fprintf(f,
		        "    {\"frames\": %d, \"events\": %d, \"chunks\": %d, ",
		        r->frames, r->events, r->chunks);
		jnum(f, "median_us", r->st.median, ", ");
		jnum(f, "p99_us", r->st.p99, ", ");
		jnum(f, "max_us", r->st.max, ", ");
		jnum(f, "mean_us", r->st.mean, ", ");
		jnum(f, "ratio_median", r->ratio_median, ", ");
		jnum(f, "ratio_p99", r->ratio_p99, ", ");
		jnum(f, "deadline_us", period_us, ", ");
		jnum(f, "deadline_pct_p99", 100 * r->st.p99 / period_us, ", ");
		fprintf(f,
		        "\"events_sent\": %llu, \"events_taken\": %llu, "
		        "\"midi_overflows\": %llu, \"underflows\": %llu, ",
		        (unsigned long long)r->sent, (unsigned long long)r->taken,
		        (unsigned long long)r->overflows,
		        (unsigned long long)r->underflows);
		jnum(f, "midi_to_ear_max_frames", r->midi_frames_max, "");
		fprintf(f, "}%s\n", i + 1 < n_engine_results ? "," : "");
	}
	fprintf(f, "  ]},\n");
}

/* ---- accuracy (untimed) ------------------------------------------------- */

typedef struct {
	const char *filter, *impl;
	double fs;
	int sections;
	double rel_rms;
	int chunk_invariant; ///< -1: not checked
} Accuracy;

static Accuracy acc[16];
static int nacc;

enum { ACC_FRAMES = 48000, ACC_CH = 2 };

static float acc_x[ACC_CH][ACC_FRAMES], acc_y[ACC_CH][ACC_FRAMES];
static float acc_y2[ACC_CH][ACC_FRAMES];
static double acc_ref[ACC_FRAMES];

/* Runs fx_sos (or DF-I) over acc_x in chunks of @p chunk into @p y. */
static void acc_run(const FxSection *sec, int n, int use_dfi, int chunk,
                    float (*y)[ACC_FRAMES])
{
	FxSos *s = use_dfi ? NULL : sos_new(ACC_CH, sec, n);
	static Dfi d;
	if (use_dfi)
		dfi_set(&d, ACC_CH, sec, n);
	for (int i = 0; i < ACC_FRAMES; i += chunk) {
		int f = ACC_FRAMES - i < chunk ? ACC_FRAMES - i : chunk;
		const float *in[ACC_CH];
		float *out[ACC_CH];
		for (int c = 0; c < ACC_CH; c++) {
			in[c] = acc_x[c] + i;
			out[c] = y[c] + i;
		}
		if (s)
			fx_sos_process(s, in, out, f);
		else
			dfi_process(&d, in, out, f);
	}
	fx_sos_free(s);
}

static double accuracy(const char *filter, const char *impl, double fs,
                       const FxSection *sec, int n, int use_dfi)
{
	double e = 0, p = 0;
	acc_run(sec, n, use_dfi, 256, acc_y);
	for (int c = 0; c < ACC_CH; c++) {
		ref_process(sec, n, acc_x[c], acc_ref, ACC_FRAMES);
		for (int i = 0; i < ACC_FRAMES; i++) {
			double d = acc_y[c][i] - acc_ref[i];
			e += d * d;
			p += acc_ref[i] * acc_ref[i];
		}
	}
	int inv = -1;
	if (!use_dfi) {
		/* Bit-identical output for any chunking. */
		static const int chunks[] = {1, 7, 64, 4096, ACC_FRAMES};
		inv = 1;
		for (int k = 0; k < NELEM(chunks); k++) {
			acc_run(sec, n, 0, chunks[k], acc_y2);
			if (memcmp(acc_y, acc_y2, sizeof acc_y))
				inv = 0;
		}
	}
	double r = sqrt(e / p);
	if (nacc < NELEM(acc))
		acc[nacc++] = (Accuracy){filter, impl, fs, n, r, inv};
	return r;
}

static void accuracy_all(void)
{
	for (int c = 0; c < ACC_CH; c++)
		for (int i = 0; i < ACC_FRAMES; i++)
			acc_x[c][i] = noise();
	FxSection hp20[8], lp1k[8];
	int n_hp20, n_lp1k;
	design(FX_BUTTER_HIGHPASS, 4, 20, 0, 96000, hp20, &n_hp20);
	design(FX_BUTTER_LOWPASS, 10, 1000, 0, 48000, lp1k, &n_lp1k);
	variants[0].rel_rms = accuracy("a: LP 8 kHz order 10", "fx_sos", FS,
	                               lp8k, n_lp8k, 0);
	variants[1].rel_rms = accuracy("a: LP 8 kHz order 10", "dfi_baseline",
	                               FS, lp8k, n_lp8k, 1);
	accuracy("b: depth-5, 7 sections", "fx_sos", FS, depth5, n_depth5, 0);
	accuracy("HP 20 Hz order 4", "fx_sos", 96000, hp20, n_hp20, 0);
	accuracy("HP 20 Hz order 4", "dfi_baseline", 96000, hp20, n_hp20, 1);
	accuracy("LP 1 kHz order 10", "fx_sos", 48000, lp1k, n_lp1k, 0);
	accuracy("LP 1 kHz order 10", "dfi_baseline", 48000, lp1k, n_lp1k, 1);
}

/* ---- driver ------------------------------------------------------------- */

typedef struct {
	int frames, channels;
	Stats st[NVAR];
	size_t chunks[NVAR];
	int rounds[NVAR];
} Result;

static Result results[NELEM(frame_sizes) * NELEM(channel_counts)];
static int nresults;

static void run_config(int frames, int channels, double budget, int min_rounds,
                       int max_rounds)
{
	static float out_store[NVAR][MAX_CH][1024];
	for (int i = 0; i < NVAR; i++) {
		Variant *v = &variants[i];
		int per_round = v->tail ? (TAIL_FRAMES + frames - 1) / frames
		                        : ROUND_CHUNKS;
		v->cap = (size_t)max_rounds * per_round;
		v->t = malloc(v->cap * sizeof *v->t);
		v->rmed = malloc((size_t)max_rounds * sizeof *v->rmed);
		if (!v->t || !v->rmed)
			die("malloc", FX_ERR_NOMEM);
		v->nt = 0;
		v->nrounds = 0;
		v->pos = 0;
		for (int c = 0; c < MAX_CH; c++)
			v->out[c] = out_store[i][c];
		v->setup(v, channels);
	}
	/* Warm-up rounds, not kept. */
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < NVAR; i++)
			round_of(&variants[i], channels, frames, 0);
	double t_end = bench_now_ns() + budget * 1e9;
	int r = 0;
	for (; r < max_rounds && (r < min_rounds || bench_now_ns() < t_end); r++)
		for (int k = 0; k < NVAR; k++) {
			Variant *v = &variants[(r + k) % NVAR];
			v->rmed[v->nrounds++] = round_of(v, channels, frames, 1);
		}
	Result *res = &results[nresults++];
	res->frames = frames;
	res->channels = channels;
	for (int i = 0; i < NVAR; i++) {
		Variant *v = &variants[i];
		res->st[i] = stats_of(v);
		res->chunks[i] = v->nt;
		res->rounds[i] = v->nrounds;
		v->teardown(v);
		free(v->t);
		free(v->rmed);
		v->t = v->rmed = NULL;
	}
}

/* Filter sections per channel; 0 for whole chains (case d). */
static int sections_of(const Variant *v)
{
	return v->kase == 'd' || v->kase == 'f' ? 0
	       : v->kase == 'b'                 ? n_depth5
	                                        : n_lp8k;
}

/* ns per sample and section, NAN when it means nothing (case d). */
static double ns_per_ss(const Stats *s, int frames, int channels, int sec)
{
	return sec ? s->median * 1e3 / ((double)frames * channels * sec) : NAN;
}

static void print_table(void)
{
	say("\n%6s %3s  %-24s %3s %8s %8s %8s %8s %8s %7s %7s  %s\n", "frames",
	    "ch", "variant", "sec", "med us", "p99 us", "max us", "best us",
	    "ns/s-s", "%ddl", "%ddl99", "ratio");
	for (int r = 0; r < nresults; r++) {
		const Result *res = &results[r];
		double period_us = 1e6 * res->frames / FS;
		for (int i = 0; i < NVAR; i++) {
			const Variant *v = &variants[i];
			const Stats *s = &res->st[i];
			int sec = sections_of(v);
			char ratio[64] = "";
			if (i == 0)
				snprintf(ratio, sizeof ratio,
				         "DF-I/this %.1fx (best %.1fx)",
				         res->st[1].median / s->median,
				         res->st[1].best_round / s->best_round);
			else if (v->no_ftz)
				snprintf(ratio, sizeof ratio,
				         "noFTZ/FTZ mean %.2fx, median %.2fx",
				         s->mean / res->st[i - 1].mean,
				         s->median / res->st[i - 1].median);
			else if (v->kase == 'f' && v->spec)
				snprintf(ratio, sizeof ratio,
				         v->missing
				                 ? "(plugin not installed)"
				                 : "slot/direct %.2fx, +%.3f us",
				         s->median / res->st[i - 1].median,
				         s->median - res->st[i - 1].median);
			say("%6d %3d  %-24s %3d %8.3f %8.3f %8.2f %8.3f %8.3f %7.2f %7.2f  %s\n",
			    res->frames, res->channels, v->label, sec,
			    s->median, s->p99, s->max, s->best_round,
			    ns_per_ss(s, res->frames, res->channels, sec),
			    100 * s->median / period_us,
			    100 * s->p99 / period_us, ratio);
		}
		if (r + 1 < nresults && results[r + 1].frames != res->frames)
			say("\n");
	}
	say("\naccuracy: relative RMS error against a double-precision TDF-II "
	    "reference, 1 s of noise, 2 channels, 256-frame chunks;\n"
	    "chunk invariance: output bit-identical for chunks of 1, 7, 64, 4096 "
	    "and one call\n");
	for (int i = 0; i < nacc; i++)
		say("  %-26s %-13s %6.0f Hz  %2d sec  rel RMS %.3g%s\n",
		    acc[i].filter, acc[i].impl, acc[i].fs, acc[i].sections,
		    acc[i].rel_rms,
		    acc[i].chunk_invariant < 0 ? ""
		    : acc[i].chunk_invariant   ? "  chunk-invariant: yes"
		                               : "  chunk-invariant: NO");
}

/* JSON numbers must be finite. */
static void jnum(FILE *f, const char *key, double v, const char *sep)
{
	if (isfinite(v))
		fprintf(f, "\"%s\": %.6g%s", key, v, sep);
	else
		fprintf(f, "\"%s\": null%s", key, sep);
}

/* Case g's rows, for the JSON: filled by conv_bench. */
typedef struct {
	const char *variant;
	double seconds;
	Stats st;
	size_t chunks;
} ConvRow;
static ConvRow conv_rows[16];
static int n_conv_rows;

static void write_json(FILE *f, const char *mode, int cpu_avx2, int cpu_fma)
{
	fprintf(f, "{\n  \"bench\": \"bench_dsp\",\n  \"mode\": \"%s\",\n", mode);
	fprintf(f, "  \"sample_rate\": %d,\n", FS);
	fprintf(f,
	        "  \"timer\": {\"source\": \"clock_gettime(CLOCK_MONOTONIC)\", ");
	jnum(f, "overhead_ns", timer_overhead, ", ");
	fprintf(f, "\"subtracted\": true},\n");
#ifdef HAVE_MXCSR
	fprintf(f, "  \"ftz_daz\": true,\n");
#else
	fprintf(f, "  \"ftz_daz\": false,\n");
#endif
	fprintf(f, "  \"cpu\": {\"avx2\": %s, \"fma\": %s},\n",
	        cpu_avx2 ? "true" : "false", cpu_fma ? "true" : "false");
	fprintf(f,
	        "  \"case_b\": \"depth-5 chain read as HP 80 Hz o2, LP 8 kHz "
	        "o4, HP o2, LP o4, HP o2 = 1+2+1+2+1 = %d sections\",\n",
	        n_depth5);
	engine_json(f);
	fprintf(f, "  \"results\": [\n");
	for (int r = 0; r < nresults; r++) {
		const Result *res = &results[r];
		double period_us = 1e6 * res->frames / FS;
		for (int i = 0; i < NVAR; i++) {
			const Variant *v = &variants[i];
			const Stats *s = &res->st[i];
			int sec = sections_of(v);
			fprintf(f,
			        "    {\"case\": \"%c\", \"variant\": \"%s\", "
			        "\"frames\": %d, \"channels\": %d, \"sections\": %d, "
			        "\"ftz_daz\": %s, \"rounds\": %d, \"chunks\": %zu, ",
			        v->kase, v->id, res->frames, res->channels, sec,
			        v->no_ftz ? "false" : "true", res->rounds[i],
			        res->chunks[i]);
			jnum(f, "median_us", s->median, ", ");
			jnum(f, "p99_us", s->p99, ", ");
			jnum(f, "max_us", s->max, ", ");
			jnum(f, "mean_us", s->mean, ", ");
			jnum(f, "best_round_median_us", s->best_round, ", ");
			jnum(f, "ns_per_sample_section",
			     ns_per_ss(s, res->frames, res->channels, sec), ", ");
			jnum(f, "deadline_us", period_us, ", ");
			jnum(f, "deadline_pct_median",
			     100 * s->median / period_us, ", ");
			if (i == 0)
				jnum(f, "speedup_vs_dfi_median",
				     res->st[1].median / s->median, ", ");
			if (v->no_ftz) {
				jnum(f, "ratio_no_ftz_mean",
				     s->mean / res->st[i - 1].mean, ", ");
				jnum(f, "ratio_no_ftz_median",
				     s->median / res->st[i - 1].median, ", ");
			}
			if (v->kase == 'a')
				jnum(f, "rel_rms", v->rel_rms, ", ");
			if (v->kase == 'f' && v->spec && !v->missing) {
				jnum(f, "ratio_slot_to_direct_median",
				     s->median / res->st[i - 1].median, ", ");
				jnum(f, "host_overhead_us_median",
				     s->median - res->st[i - 1].median, ", ");
			}
			jnum(f, "deadline_pct_p99", 100 * s->p99 / period_us, "");
			fprintf(f, "}%s\n",
			        r + 1 < nresults || i + 1 < NVAR ? "," : "");
		}
	}
	fprintf(f, "  ],\n  \"accuracy\": [\n");
	for (int i = 0; i < nacc; i++) {
		fprintf(f, "    {\"filter\": \"%s\", \"impl\": \"%s\", ",
		        acc[i].filter, acc[i].impl);
		jnum(f, "fs", acc[i].fs, ", ");
		fprintf(f, "\"sections\": %d, ", acc[i].sections);
		if (acc[i].chunk_invariant >= 0)
			fprintf(f, "\"chunk_invariant\": %s, ",
			        acc[i].chunk_invariant ? "true" : "false");
		jnum(f, "rel_rms", acc[i].rel_rms, "");
		fprintf(f, "}%s\n", i + 1 < nacc ? "," : "");
	}
	fprintf(f, "  ],\n  \"convolver\": [\n");
	for (int i = 0; i < n_conv_rows; i++) {
		const ConvRow *c = &conv_rows[i];
		fprintf(f,
		        "    {\"case\": \"g\", \"variant\": \"%s\", "
		        "\"frames\": 256, \"channels\": 2, \"chunks\": %zu, ",
		        c->variant, c->chunks);
		jnum(f, "response_s", c->seconds, ", ");
		jnum(f, "median_us", c->st.median, ", ");
		jnum(f, "mean_us", c->st.mean, ", ");
		jnum(f, "p99_us", c->st.p99, ", ");
		jnum(f, "max_us", c->st.max, ", ");
		jnum(f, "deadline_pct_p99", 100 * c->st.p99 / (1e6 * 256 / FS),
		     "");
		fprintf(f, "}%s\n", i + 1 < n_conv_rows ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
}

/* ---- g: the convolver ------------------------------------------------ */

enum { CONV_FRAMES = 256, CONV_CH = 2 };
static const double conv_seconds[] = {0.1, 0.5, 1, 2, 5, 10};
#define CONV_FIR_MAX 0.5 /* seconds: the direct form beyond is hopeless */

typedef struct {
	const char *name;
	double seconds;
	FxConvolver *conv;        ///< or, for the direct form:
	float *h, *hist[CONV_CH]; ///< taps; history then the chunk
	long taps;
	float *t;
	size_t nt, cap;
} ConvVariant;

/* A decaying noise burst of @p n frames. */
static float *conv_response(long n)
{
	float *h = malloc((size_t)n * sizeof *h);
	for (long i = 0; i < n; i++)
		h[i] = noise() * (float)exp(-6.9 * (double)i / (double)n);
	return h;
}

/* The naive FIR: y[j] = sum over k of h[k] x[j - k], taps outside so the
 * inner loop vectorises, the history moved along once per chunk. */
static void fir_run(ConvVariant *v, const float *const *in, float *const *out,
                    int frames)
{
	for (int c = 0; c < CONV_CH; c++) {
		float *x = v->hist[c] + v->taps;
		memcpy(x, in[c], (size_t)frames * sizeof *x);
		float *restrict y = out[c];
		memset(y, 0, (size_t)frames * sizeof *y);
		for (long k = 0; k < v->taps; k++) {
			float hk = v->h[k];
			const float *restrict xk = x - k;
			for (int j = 0; j < frames; j++)
				y[j] += hk * xk[j];
		}
		memmove(v->hist[c], v->hist[c] + frames,
		        (size_t)v->taps * sizeof *x);
	}
}

static void conv_chunk(ConvVariant *v, int pos, int keep)
{
	static float out_l[CONV_FRAMES], out_r[CONV_FRAMES];
	float *out[CONV_CH] = {out_l, out_r};
	const float *in[CONV_CH] = {input[0] + pos, input[1] + pos};
	double t0 = bench_now_ns();
	if (v->conv)
		fx_convolver_process(v->conv, in, out, CONV_FRAMES);
	else
		fir_run(v, in, out, CONV_FRAMES);
	float dt = lap(t0);
	if (keep && v->nt < v->cap)
		v->t[v->nt++] = dt;
}

static void conv_bench(int quick)
{
	enum { MAXV = 2 * NELEM(conv_seconds) };
	ConvVariant vs[MAXV];
	int nv = 0;
	/* Quick still runs the largest partitions (16,384 frames) many
	 * rounds: 1,024 chunks are 262,144 frames. */
	size_t cap = quick ? 1024 : 8192;
	for (int i = 0; i < NELEM(conv_seconds); i++) {
		long n = (long)(conv_seconds[i] * FS);
		float *h = conv_response(n);
		FxConvolverShape shape = {CONV_CH,          CONV_CH, CONV_CH,
		                          {{0, 0}, {1, 1}}, n,       0};
		ConvVariant *v = &vs[nv++];
		*v = (ConvVariant){.name = "convolver",
		                   .seconds = conv_seconds[i]};
		if (!(v->conv = fx_convolver_new(&shape)))
			die("fx_convolver_new", FX_ERR_NOMEM);
		fx_convolver_set_ir(v->conv, 0, h, n);
		fx_convolver_set_ir(v->conv, 1, h, n);
		if (conv_seconds[i] <= CONV_FIR_MAX) {
			ConvVariant *f = &vs[nv++];
			*f = (ConvVariant){.name = "direct FIR",
			                   .seconds = conv_seconds[i]};
			f->h = h;
			f->taps = n;
			for (int c = 0; c < CONV_CH; c++)
				f->hist[c] = calloc((size_t)(n + CONV_FRAMES),
				                    sizeof(float));
		} else {
			free(h);
		}
	}
	for (int i = 0; i < nv; i++) {
		/* The direct form costs milliseconds a chunk: fewer of them. */
		vs[i].cap = vs[i].conv ? cap : cap / 16;
		vs[i].t = malloc(vs[i].cap * sizeof(float));
	}
	/* Rounds of 8 chunks, interleaved, the order rotating; the
	 * convolver's larger partitions come every 4 to 32 chunks, so a
	 * round's chunks run on where the last round stopped. */
	int pos[MAXV] = {0};
	for (int round = 0;; round++) {
		int busy = 0;
		for (int k = 0; k < nv; k++) {
			ConvVariant *v = &vs[(k + round) % nv];
			int i = (int)(v - vs);
			if (v->nt >= v->cap)
				continue;
			busy = 1;
			for (int c = 0; c < ROUND_CHUNKS; c++) {
				conv_chunk(v, pos[i], round > 0);
				pos[i] = (pos[i] + CONV_FRAMES) % IN_FRAMES;
			}
		}
		if (!busy)
			break;
	}
	say("\ng: convolver, stereo (one response per channel), %d frames a "
	    "chunk at %d Hz (deadline %.0f us); per-chunk times in us\n",
	    CONV_FRAMES, FS, 1e6 * CONV_FRAMES / FS);
	say("%-11s %8s %9s %9s %9s %9s %7s\n", "variant", "response", "median",
	    "mean", "p99", "max", "chunks");
	for (int i = 0; i < nv; i++) {
		ConvVariant *v = &vs[i];
		Stats st = times_stats(v->t, v->nt);
		say("%-11s %7.1fs %9.2f %9.2f %9.2f %9.2f %7zu\n", v->name,
		    v->seconds, st.median, st.mean, st.p99, st.max, v->nt);
		if (n_conv_rows < NELEM(conv_rows))
			conv_rows[n_conv_rows++] = (ConvRow){v->name, v->seconds,
			                                     st, v->nt};
		fx_convolver_free(v->conv);
		free(v->h);
		for (int c = 0; c < CONV_CH; c++)
			free(v->hist[c]);
		free(v->t);
	}
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: bench_dsp [--quick] [--json FILE|-] [--budget SECONDS] "
	        "[--convolver]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int quick = 0, only_convolver = 0;
	const char *json = NULL;
	double budget = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else if (!strcmp(argv[i], "--convolver"))
			only_convolver = 1;
		else if (!strcmp(argv[i], "--budget") && i + 1 < argc)
			budget = atof(argv[++i]);
		else
			usage();
	}
	tab = json && !strcmp(json, "-") ? stderr : stdout;
	if (budget < 0)
		budget = quick ? 0.05 : 3.5;
	int min_rounds = quick ? 4 : 100, max_rounds = quick ? 400 : 20000;

#ifdef HAVE_MXCSR
	/* Time everything as the worker runs: flush-to-zero and
	 * denormals-are-zero on (fx_denormals_off). */
	ftz_off_csr = _mm_getcsr() & ~(unsigned)(MXCSR_FTZ | MXCSR_DAZ);
	ftz_on_csr = ftz_off_csr | MXCSR_FTZ | MXCSR_DAZ;
	set_ftz(1);
#endif
	int cpu_avx2 = 0, cpu_fma = 0;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	cpu_avx2 = !!__builtin_cpu_supports("avx2");
	cpu_fma = !!__builtin_cpu_supports("fma");
#endif
	design_all();
	make_signals();
	measure_timer();

	say("bench_dsp: %s run, %d Hz, CPU avx2=%d fma=%d, FTZ+DAZ %s\n",
	    quick ? "quick" : "full", FS, cpu_avx2, cpu_fma,
#ifdef HAVE_MXCSR
	    "on (except 'no FTZ')"
#else
	    "not controlled here"
#endif
	);
	say("timer: clock_gettime(CLOCK_MONOTONIC), median cost %.0f ns, "
	    "subtracted from every chunk\n",
	    timer_overhead);
	say("a: Butterworth lowpass 8 kHz order 10 (%d sections); ratio = DF-I "
	    "baseline median / fx_sos median\n",
	    n_lp8k);
	say("b: depth-5 chain read as HP 80 Hz o2, LP 8 kHz o4, HP o2, LP o4, "
	    "HP o2 = 1+2+1+2+1 = %d sections\n",
	    n_depth5);
	say("c: the filter of (a) after an impulse, %d frames into silence "
	    "per round\n",
	    TAIL_FRAMES);
	say("columns: per-chunk median, p99, max; best round's median; ns per "
	    "sample-section (median); median and p99 as %% of the period "
	    "(frames/fs)\n");

	if (only_convolver) {
		conv_bench(quick);
		return 0;
	}
	accuracy_all();
	for (int f = 0; f < NELEM(frame_sizes); f++)
		for (int c = 0; c < NELEM(channel_counts); c++)
			run_config(frame_sizes[f], channel_counts[c], budget,
			           min_rounds, max_rounds);
	for (int f = 0; f < NELEM(engine_periods); f++)
		engine_config(engine_periods[f], budget, min_rounds, max_rounds);
	print_table();
	engine_print();
	conv_bench(quick);

	if (json) {
		FILE *f = strcmp(json, "-") ? fopen(json, "w") : stdout;
		if (!f) {
			perror(json);
			return 1;
		}
		write_json(f, quick ? "quick" : "full", cpu_avx2, cpu_fma);
		if (f != stdout && fclose(f)) {
			perror(json);
			return 1;
		}
	}
	return 0;
}
