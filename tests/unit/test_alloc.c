/* SPDX-License-Identifier: ISC */
/* After setup, the chunk path allocates nothing: every allocator is wrapped
 * at link time (-Wl,--wrap=...) and counted while armed. And setup
 * allocates exactly what fx_chain_plan says, the measure of the memory
 * budget: bytes asked of the allocators are summed while weighing. */
#include "tests/fxtest.h"

#include <sndfile.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/engine/engine.h"
#include "daemon/engine/morph.h"
#include "dsp/chain.h"
#include "dsp/lv2.h"
#include "dsp/pages.h"

static volatile int armed, weighing;
static volatile long calls;
static volatile size_t weighed; ///< bytes asked for while weighing

#define COUNT() (armed ? (void)calls++ : (void)0)
#define WEIGH(n) (weighing ? (void)(weighed += (n)) : (void)0)

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
int __wrap_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);

void *__wrap_malloc(size_t n)
{
	COUNT();
	WEIGH(n);
	return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
	COUNT();
	WEIGH(n * m);
	return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
	COUNT();
	WEIGH(n);
	return __real_realloc(p, n);
}
void __wrap_free(void *p)
{
	COUNT();
	__real_free(p);
}
int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
	COUNT();
	WEIGH(n);
	return __real_posix_memalign(p, a, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n)
{
	COUNT();
	WEIGH(n);
	return __real_aligned_alloc(a, n);
}

START_TEST(wrappers_count)
{
	calls = 0;
	armed = 1;
	void *p = malloc(16);
	free(p);
	armed = 0;
	ck_assert_int_eq(calls, 2);
}
END_TEST

/* Writes a 0.2 s impulse response of @p channels channels (decaying
 * noise) at 48 kHz into a temporary WAV file named in @p path. */
static void test_ir(char *path, size_t size, int channels)
{
	snprintf(path, size, "/tmp/fxd-alloc-ir-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	SF_INFO info = {.samplerate = 48000,
	                .channels = channels,
	                .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);
	ck_assert_ptr_nonnull(f);
	static float x[9600 * 4];
	uint32_t seed = 1;
	for (int i = 0; i < 9600 * channels; i++) {
		seed = seed * 1664525u + 1013904223u;
		x[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) *
		       expf(-(float)(i / channels) / 2000.0f);
	}
	ck_assert_int_eq(sf_writef_float(f, x, 9600), 9600);
	sf_close(f);
}

START_TEST(chunk_path_allocates_nothing)
{
	const char *text =
		"hpf:highpass cutoff=80 order=2 | eq:peaking cutoff=1000 q=0.7 "
		"gain=0 | bp:bandpass cutoff=700 q=2 order=8 | ls:lowshelf | "
		"hs:highshelf | n:notch | ap:allpass | bs:bandstop | "
		"lpf:lowpass cutoff=12000 order=16 | vol:gain db=0 | "
		"c1:cheby1 order=8 | c2:cheby2 type=highpass cutoff=300 | "
		"x:lr order=8 | comp:compressor detect=rms | "
		"dly:delay time=300 pingpong=1 | "
		"tdly:delay division=1/8d feedback=0.6 | verb:reverb room=0.9 | "
		"lim:limiter lookahead=5 | gate:gate threshold=-30 | "
		"tun:tuner | cab:convolver mix=50 ir=";
	char ir[96], *full = malloc(strlen(text) + sizeof ir);
	test_ir(ir, sizeof ir, 2);
	sprintf(full, "%s%s", text, ir);
	FxChainSpec spec = fx_test_spec(full);
	free(full);
	FxChainConfig cfg = fx_chain_config_default();
	cfg.channels = 2;
	cfg.max_block = 256;
	FxStatus st;
	FxChain *c = fx_chain_new(&spec, &cfg, &st);
	ck_assert_ptr_nonnull(c);
	static float l[256], r[256];
	float *buf[2] = {l, r};
	long chunks = 0;
	calls = 0;
	armed = 1;
	for (int k = 0; k < 4000; k++) {
		for (int i = 0; i < 256; i++)
			l[i] = r[i] = (float)sin((k * 256 + i) * 0.05);
		if (k % 7 == 0)
			fx_chain_set_param(c, 0, 0, 20 + (k * 37) % 2000, NULL);
		if (k % 11 == 0)
			fx_chain_set_param(c, 2, 0, 100 + (k * 53) % 10000, NULL);
		if (k % 13 == 0)
			fx_chain_set_param(c, 9, 0, -20 + k % 30, NULL);
		if (k % 50 == 0)
			fx_chain_set_bypass(c, 1, (k / 50) & 1);
		/* Time-based and latency effects: glides, tempo, bypass. */
		if (k % 17 == 0)
			fx_chain_set_param(c, 14, 0, 50 + (k * 7) % 900, NULL);
		if (k % 100 == 0)
			fx_chain_set_tempo(c, 60 + k % 120);
		if (k % 60 == 0)
			fx_chain_set_bypass(c, 17, (k / 60) & 1);
		if (k == 3000)
			l[5] = NAN; /* the non-finite guard's path too */
		if (k % 19 == 0)
			fx_chain_set_param(c, 18, 0, -60 + k % 40, NULL);
		fx_chain_process(c, buf, (k % 3) ? 256 : 64 + k % 192);
		/* Read-only outputs, as the worker publishes them. */
		float outs[FX_MAX_OUTPUTS];
		for (int s = 0; s < fx_chain_slots(c); s++)
			fx_chain_slot_outputs(c, s, outs);
		chunks++;
	}
	fx_chain_reset(c);
	armed = 0;
	ck_assert_int_eq(chunks, 4000);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 1);
	ck_assert_msg(calls == 0, "%ld allocator calls on the chunk path", calls);
	fx_chain_free(c);
	unlink(ir);
}
END_TEST

/* LV2 slots: fxd's side of the chunk path (control values, copies, run
 * calls, glides in sub-blocks, bypass with latency, the non-finite reset)
 * calls no allocator. The plugins are shared objects loaded at run time, so
 * the link-time wrappers count fxd's calls only, not the plugin's own. */
START_TEST(lv2_chunk_path_allocates_nothing)
{
	static const char *const uris[] = {
		"http://plugin.org.uk/swh-plugins/amp",
		"http://plugin.org.uk/swh-plugins/butthigh_iir",
		"http://gareus.org/oss/lv2/dpl#stereo",
	};
	char why[512];
	for (size_t i = 0; i < sizeof uris / sizeof *uris; i++)
		if (!fx_lv2_class(uris[i], why, sizeof why)) {
			fprintf(stderr, "# SKIP %s\n", why);
			return;
		}
	FxChainSpec spec = fx_test_spec(
		"a:lv2 uri=http://plugin.org.uk/swh-plugins/amp gain=-6 | "
		"h:lv2 uri=http://plugin.org.uk/swh-plugins/butthigh_iir "
		"cutoff=200 | l:lv2 uri=http://gareus.org/oss/lv2/dpl#stereo");
	FxChainConfig cfg = fx_chain_config_default();
	cfg.channels = 2;
	cfg.max_block = 256;
	FxStatus st;
	FxChain *c = fx_chain_new(&spec, &cfg, &st);
	ck_assert_msg(c, "%s", fx_strerror(st));
	static float l[256], r[256];
	float *buf[2] = {l, r};
	calls = 0;
	armed = 1;
	for (int k = 0; k < 2000; k++) {
		for (int i = 0; i < 256; i++)
			l[i] = r[i] = (float)sin((k * 256 + i) * 0.05);
		if (k % 7 == 0)
			fx_chain_set_param(c, 0, 0, -20 + k % 30, NULL);
		if (k % 11 == 0)
			fx_chain_set_param(c, 1, 0, 100 + (k * 53) % 10000, NULL);
		if (k % 50 == 0)
			fx_chain_set_bypass(c, 2, (k / 50) & 1);
		if (k == 1500)
			l[5] = NAN;
		fx_chain_process(c, buf, (k % 3) ? 256 : 64 + k % 192);
	}
	armed = 0;
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 1);
	ck_assert_msg(calls == 0, "%ld allocator calls on the LV2 chunk path",
	              calls);
	fx_chain_free(c);
}
END_TEST

/* A morph pedal mapped over MIDI: the worker reads the morph per event. */
START_TEST(morphing_allocates_nothing)
{
	FxChainSpec a = fx_test_spec("lpf:lowpass cutoff=200 | vol:gain db=-20 "
	                             "| dly:delay division=1/8 pingpong=0");
	FxChainSpec b = fx_test_spec("lpf:lowpass cutoff=2000 | vol:gain db=0 "
	                             "| dly:delay division=1/4 pingpong=1 "
	                             "bypass=1");
	FxStatus st;
	FxMorph *m = fx_morph_new(&a, &b, &st, NULL, 0);
	ck_assert_ptr_nonnull(m);
	static FxChainSpec out;
	double sum = 0;
	calls = 0;
	armed = 1;
	for (int k = 0; k <= 10000; k++) {
		double x = k / 10000.0;
		for (int i = 0; i < fx_morph_count(m); i++) {
			int slot, param;
			double v;
			fx_morph_value(m, i, x, &slot, &param, &v);
			sum += v;
		}
		fx_morph_spec(m, x, &out);
	}
	armed = 0;
	ck_assert_int_eq(fx_morph_count(m), 5);
	ck_assert(sum > 0);
	ck_assert_msg(calls == 0, "%ld allocator calls while morphing", calls);
	fx_morph_free(m);
}
END_TEST

/* The driver's and the worker's MIDI: events in, mapped (CC, 14-bit CC,
 * note toggle and momentary, bend, a morph pedal, taps, programs, clock,
 * bad bytes) and applied at their frames, reports and feedback out. */
START_TEST(midi_on_the_chunk_path_allocates_nothing)
{
	const char *text = "lpf:lowpass cutoff=1000 | vol:gain db=-6 | "
			   "dly:delay division=1/8";
	FxChainSpec spec = fx_test_spec(text);
	FxChainSpec b = fx_test_spec("lpf:lowpass cutoff=4000 | vol:gain db=0 "
	                             "| dly:delay division=1/4");
	FxEngineConfig cfg = fx_test_engine_config(128);
	cfg.glide_ms = 20;
	FxStatus st;
	FxEngine *e = fx_engine_new(&cfg, &spec, &st);
	ck_assert_ptr_nonnull(e);
	static const char *const lines[] = {
		"cc 1 7 = /fx/vol/db -60 0",
		"cc * 74 = /fx/lpf/cutoff/norm",
		"cc14 1 1 = /fx/lpf/cutoff",
		"note 1 36 = /fx/dly/bypass toggle",
		"note 1 37 = /fx/vol/db -30 0 momentary",
		"bend 1 = /fxd/morph",
		"note 1 60 = /fxd/tap",
		"program 1 2 = preset verse",
	};
	enum { N = sizeof lines / sizeof lines[0] };
	FxMidiMapping maps[N];
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(fx_midi_mapping_parse(lines[i], &maps[i], NULL,
		                                       NULL, 0),
		                 FX_OK);
	FxMorph *m = fx_morph_new(&spec, &b, &st, NULL, 0);
	FxMidiTable *t = fx_midi_table_new(maps, N, &spec, m, &st);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(fx_midi_table_size(t), N);
	ck_assert_int_eq(fx_engine_set_midi_table(e, t), FX_OK);
	static float in[2][128], out[2][128];
	const float *inp[2] = {in[0], in[1]};
	float *outp[2] = {out[0], out[1]};
	static FxMidiEvent ev[64], sent[16];
	static FxMidiReport rep[256];
	long reports = 0;
	calls = 0;
	for (int k = 0; k < 3000; k++) {
		int n = 0;
		for (int j = 0; j < 12; j++) {
			uint8_t v = (uint8_t)((k * 7 + j * 13) % 128);
			static const uint8_t STATUS[12] = {
				0xB0, 0xB3, 0xB0, 0xB0, 0x90, 0x80,
				0x90, 0xE0, 0xF8, 0xC0, 0xF0, 0x90,
			};
			static const uint8_t D1[12] = {7,  74, 1, 33, 36, 36,
			                               37, 0,  0, 2,  1,  60};
			ev[n++] = (FxMidiEvent){
				(uint32_t)(j * 10), 3, {STATUS[j], D1[j], v}};
		}
		ev[8].size = 1;   /* clock */
		ev[9].size = 2;   /* program */
		ev[10].size = 40; /* SysEx */
		for (int i = 0; i < 128; i++)
			in[0][i] = in[1][i] = (float)sin((k * 128 + i) * 0.05);
		uint8_t fb[3] = {0xB0, 7, (uint8_t)(k % 128)};
		fx_engine_midi_send(e, fb, 3);
		armed = 1;
		fx_engine_midi_in(e, ev, n);
		fx_engine_process(e, inp, outp, 128);
		fx_engine_work(e);
		fx_engine_midi_out(e, sent, 16);
		armed = 0;
		reports += fx_engine_midi_reports(e, rep, 256);
		if (k % 500 == 0)
			fx_engine_collect(e);
	}
	ck_assert_msg(calls == 0, "%ld allocator calls on the MIDI path", calls);
	FxEngineMetrics mt;
	fx_engine_metrics(e, &mt);
	ck_assert_uint_eq(mt.midi_events, 3000 * 12);
	ck_assert_uint_eq(mt.midi_reports_dropped, 0);
	ck_assert(reports > 3000);
	fx_engine_free(e);
}
END_TEST

/* Builds a one-slot chain of @p cls with @p values and checks that it
 * allocates exactly what fx_chain_plan said, with the latency it said, or
 * fails as it said (allocating nothing). */
static void check_plan(const FxEffectClass *cls, const double *values,
                       const FxChainConfig *cfg)
{
	FxChainSpec spec;
	memset(&spec, 0, sizeof spec);
	spec.n_slots = 1;
	spec.slots[0].cls = cls;
	memcpy(spec.slots[0].values, values, sizeof spec.slots[0].values);
	FxChainPlan plan = {0, 0};
	FxStatus planned = fx_chain_plan(&spec, cfg, &plan), st;
	size_t pages0 = fx_pages_in_use();
	weighed = 0;
	weighing = 1;
	FxChain *c = fx_chain_new(&spec, cfg, &st);
	weighing = 0;
	size_t bytes = weighed + (fx_pages_in_use() - pages0);
	ck_assert_msg(st == planned, "%s at %d ch %g Hz: planned %s, got %s",
	              cls->name, cfg->channels, cfg->sample_rate,
	              fx_strerror(planned), fx_strerror(st));
	if (!c) {
		ck_assert_uint_eq(fx_pages_in_use(), pages0);
		return;
	}
	ck_assert_msg(bytes == plan.bytes,
	              "%s at %d ch %g Hz, block %d: planned %zu bytes, "
	              "allocated %zu",
	              cls->name, cfg->channels, cfg->sample_rate,
	              cfg->max_block, plan.bytes, bytes);
	ck_assert_int_eq(fx_chain_latency(c), plan.latency);
	fx_chain_free(c);
	ck_assert_uint_eq(fx_pages_in_use(), pages0);
}

/* Every class, at several channel counts, rates and blocks, with each
 * structural parameter across its range (whole numbers one by one). */
START_TEST(chains_allocate_what_they_plan)
{
	static const int channels[] = {1, 2, 8, 64};
	static const double rates[] = {8000, 44100, 48000, 96000, 192000};
	static const int blocks[] = {64, 1024};
	long checked = 0;
	for (int k = 0; fx_effects[k]; k++) {
		const FxEffectClass *cls = fx_effects[k];
		double values[FX_MAX_PARAMS] = {0};
		for (int p = 0; p < cls->n_params; p++)
			values[p] = cls->params[p].def;
		for (size_t ci = 0; ci < sizeof channels / sizeof *channels; ci++)
			for (size_t ri = 0; ri < sizeof rates / sizeof *rates;
			     ri++)
				for (size_t bi = 0;
				     bi < sizeof blocks / sizeof *blocks; bi++) {
					FxChainConfig cfg =
						fx_chain_config_default();
					cfg.channels = channels[ci];
					cfg.sample_rate = rates[ri];
					cfg.max_block = blocks[bi];
					check_plan(cls, values, &cfg);
					checked++;
					for (int p = 0; p < cls->n_params; p++) {
						const FxParamInfo *info =
							&cls->params[p];
						if (!(info->flags &
						      FX_PARAM_STRUCTURAL))
							continue;
						double v[FX_MAX_PARAMS];
						memcpy(v, values, sizeof v);
						int whole =
							info->flags &
								FX_PARAM_INTEGER ||
							info->scale ==
								FX_SCALE_ENUM;
						double step = whole ? 1
						                    : (info->max -
						                       info->min) /
						                              4;
						for (v[p] = info->min;
						     v[p] <= info->max;
						     v[p] += step) {
							check_plan(cls, v, &cfg);
							checked++;
						}
					}
				}
	}
	ck_assert_int_gt(checked, 1000);
}
END_TEST

/* The convolver plans what it takes with a real impulse response (its
 * default, no file, fails before allocating): mono, stereo and true
 * stereo, at two rates (one resampled) and both block sizes. */
START_TEST(the_convolver_allocates_what_it_plans)
{
	const FxEffectClass *cls = fx_effect_find("convolver");
	ck_assert_ptr_nonnull(cls);
	static const int irs[] = {1, 2, 4};
	for (size_t k = 0; k < sizeof irs / sizeof *irs; k++) {
		char path[96];
		test_ir(path, sizeof path, irs[k]);
		double values[FX_MAX_PARAMS] = {0};
		for (int p = 0; p < cls->n_params; p++)
			values[p] = cls->params[p].def;
		ck_assert_int_eq(
			fx_param_parse(&cls->params[0], path, &values[0]), FX_OK);
		static const double rates[] = {44100, 48000};
		static const int blocks[] = {64, 1024};
		for (size_t ri = 0; ri < 2; ri++)
			for (size_t bi = 0; bi < 2; bi++) {
				FxChainConfig cfg = fx_chain_config_default();
				cfg.channels = irs[k] == 1 ? 1 : 2;
				cfg.sample_rate = rates[ri];
				cfg.max_block = blocks[bi];
				check_plan(cls, values, &cfg);
			}
		unlink(path);
	}
}
END_TEST

/* Builds @p spec under @p cfg, checking that it allocates what it plans
 * (its latency in *@p plan). */
static FxChain *new_as_planned(const FxChainSpec *spec,
                               const FxChainConfig *cfg, FxChainPlan *plan)
{
	ck_assert_int_eq(fx_chain_plan(spec, cfg, plan), FX_OK);
	size_t pages0 = fx_pages_in_use();
	weighed = 0;
	weighing = 1;
	FxStatus st;
	FxChain *c = fx_chain_new(spec, cfg, &st);
	weighing = 0;
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(weighed + (fx_pages_in_use() - pages0), plan->bytes);
	ck_assert_int_eq(fx_chain_latency(c), plan->latency);
	return c;
}

/* A whole chain: the slots' plans add up, with the latency lines. */
START_TEST(a_whole_chain_allocates_what_it_plans)
{
	FxChainSpec spec;
	FxSpecError err;
	ck_assert_msg(fx_spec_parse("hpf:highpass order=4 | comp:compressor | "
	                            "dly:delay max=3 | verb:reverb | "
	                            "lim:limiter lookahead=7 | x:lr order=6 | "
	                            "lim2:limiter",
	                            "t", &spec, &err) == FX_OK,
	              "%s", err.message);
	FxChainConfig cfg = fx_chain_config_default();
	cfg.channels = 6;
	size_t pages0 = fx_pages_in_use();
	FxChainPlan plan;
	FxChain *c = new_as_planned(&spec, &cfg, &plan);
	ck_assert_int_eq(plan.latency, 336 + 240);
	fx_chain_free(c);
	ck_assert_uint_eq(fx_pages_in_use(), pages0);
}
END_TEST

/* Rewind (issue 18): a chain of every class that rewinds plans its
 * checkpoint space, and checkpoint, rollback and the chunk rendered again
 * allocate nothing. */
START_TEST(rewinding_allocates_nothing)
{
	FxChainSpec spec = fx_test_spec(
		"hpf:highpass order=4 | eq:peaking gain=3 | vol:gain | "
		"c1:cheby1 order=8 | x:lr order=6 | comp:compressor | "
		"dly:delay time=40 max=0.1 feedback=0.5 | verb:reverb | "
		"gate:gate threshold=-30 | tun:tuner | lim:limiter ceiling=-6");
	FxChainConfig cfg = fx_chain_config_default();
	cfg.channels = 3;
	cfg.max_block = 256;
	FxChainPlan plan;
	FxChain *c = new_as_planned(&spec, &cfg, &plan);
	ck_assert_int_eq(fx_chain_can_rewind(c), 1);
	static float a[256], b[256], d[256];
	float *buf[3] = {a, b, d};
	calls = 0;
	armed = 1;
	for (int k = 0; k < 500; k++) {
		for (int i = 0; i < 256; i++)
			a[i] = b[i] = d[i] = (float)sin((k * 256 + i) * 0.05);
		fx_chain_checkpoint(c);
		fx_chain_process(c, buf, 256);
		fx_chain_rollback(c);
		fx_chain_set_param(c, k % 10, 0, 100 + k, NULL);
		if (k % 9 == 0)
			fx_chain_set_bypass(c, 6, (k / 9) & 1);
		fx_chain_process(c, buf, 256);
	}
	armed = 0;
	ck_assert_msg(calls == 0, "%ld allocator calls rewinding", calls);
	fx_chain_free(c);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"alloc", 120, .tests = {
			{wrappers_count, 0},
			{chunk_path_allocates_nothing, 0},
			{lv2_chunk_path_allocates_nothing, 0},
			{morphing_allocates_nothing, 0},
			{midi_on_the_chunk_path_allocates_nothing, 0},
			{chains_allocate_what_they_plan, 0},
			{a_whole_chain_allocates_what_it_plans, 0},
			{the_convolver_allocates_what_it_plans, 0},
			{rewinding_allocates_nothing, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("alloc", cases));
}
