/* SPDX-License-Identifier: ISC */
/* The convolver: scipy's fftconvolve for responses from 1 to 240,000
 * frames, cut into any chunks; no added latency; resampling; one clear
 * line for each kind of bad file; mono, stereo and true-stereo routing;
 * mix, gain, predelay, normalize and trim; the ir= text parameter. */
#include "tests/fxtest.h"
#include "tests/unit/refdata.h"

#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dsp/chain.h"
#include "dsp/convolver.h"
#include "dsp/pages.h"

enum {
	FS = 48000,
	INPUT_FRAMES = 4096, ///< as gen_conv_refs.py
	HEAD = 256,
	SPREAD = 768,
	EXCERPT = HEAD + SPREAD,
};

static char dir[256]; ///< a temporary directory for the test's files

static void make_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/fxd-conv-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The generator's values (gen_conv_refs.py): xorshift32, then s >> 8
 * mapped onto [-1, 1) exactly in float. */
static void noise(uint32_t seed, float *out, long n)
{
	uint32_t s = seed;
	for (long i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 17;
		s ^= s << 5;
		out[i] = (float)((double)(s >> 8) / 8388608.0 - 1.0);
	}
}

static float *response(long length)
{
	float *h = malloc((size_t)length * sizeof *h);
	noise(2 + (uint32_t)length, h, length);
	for (long i = 0; i < length; i++)
		h[i] = (float)(h[i] * (1.0 - (double)i / (double)length));
	return h;
}

/* Writes @p channels planar channels of @p frames at @p rate as a float
 * WAV named @p name in the test's directory; returns its path. */
static const char *write_ir(const char *name, const float *planar, int channels,
                            long frames, int rate)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	SF_INFO info = {0};
	info.samplerate = rate;
	info.channels = channels;
	info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);
	ck_assert_msg(f, "%s: %s", path, sf_strerror(NULL));
	float *inter = malloc((size_t)(frames ? frames : 1) * channels *
	                      sizeof *inter);
	for (long i = 0; i < frames; i++)
		for (int c = 0; c < channels; c++)
			inter[i * channels + c] = planar[c * frames + i];
	ck_assert_int_eq(sf_writef_float(f, inter, frames), frames);
	free(inter);
	sf_close(f);
	return path;
}

static FxChain *chain_of(const char *text, int channels)
{
	FxChainConfig cfg = fx_test_chain_config(channels, 0);
	cfg.sample_rate = FS;
	cfg.max_block = 1024;
	return fx_test_chain(text, cfg);
}

/* Runs planar x (channels of n frames, consecutive) through @p c in
 * chunks of @p chunk, in place. */
static void run(FxChain *c, float *x, int channels, long n, int chunk)
{
	float *p[8];
	for (long off = 0; off < n; off += chunk) {
		for (int ch = 0; ch < channels; ch++)
			p[ch] = x + ch * n + off;
		fx_chain_process(c, p, n - off < chunk ? (int)(n - off) : chunk);
	}
}

/* ---- scipy's fftconvolve --------------------------------------------- */

static const long lengths[] = {1, 63, 64, 65, 1000, 48000, 240000};
static const int chunks[] = {1, 7, 64, 256, 1024};

START_TEST(matches_fftconvolve_in_any_chunks)
{
	long length = lengths[_i];
	make_dir();
	float *h = response(length);
	const char *path = write_ir("ir.wav", h, 1, length, FS);
	char text[600];
	snprintf(text, sizeof text, "c:convolver ir=%s normalize=off", path);
	char name[64];
	snprintf(name, sizeof name, "conv_%ld.out.f64", length);
	double *ref = fx_test_load_le(name, 8, EXCERPT);
	long total = INPUT_FRAMES + length - 1;
	float *first = NULL;
	for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
		float *y = calloc((size_t)total, sizeof *y);
		noise(1, y, INPUT_FRAMES);
		FxChain *c = chain_of(text, 1);
		run(c, y, 1, total, chunks[k]);
		fx_chain_free(c);
		if (!first) {
			float got[EXCERPT];
			for (long j = 0; j < EXCERPT; j++) {
				long at = j < HEAD
				                  ? j
				                  : HEAD + (j - HEAD) *
				                                    (total -
				                                     HEAD - 1) /
				                                    (SPREAD - 1);
				got[j] = y[at];
			}
			double err = fx_test_rel_rms(got, ref, EXCERPT);
			printf("# %ld frames: relative RMS error %.3g\n",
			       length, err);
			ck_assert_msg(err <= 1e-6, "%ld frames: %g", length, err);
			first = y;
			continue;
		}
		ck_assert_msg(!memcmp(first, y, (size_t)total * sizeof *y),
		              "%ld frames: chunks of %d differ from chunks of 1",
		              length, chunks[k]);
		free(y);
	}
	free(first);
	free(ref);
	free(h);
	remove_dir();
}
END_TEST

/* ---- latency ----------------------------------------------------------- */

/* An impulse at frame p gives the response from frame p on, to float
 * precision; the first 64 frames are the direct form's, exact. */
START_TEST(an_impulse_gives_the_response_at_once)
{
	enum { LEN = 3000, N = 8192 };
	make_dir();
	float *h = response(LEN);
	char text[600];
	snprintf(text, sizeof text, "convolver ir=%s normalize=off",
	         write_ir("ir.wav", h, 1, LEN, FS));
	static const long at[] = {0, 1, 63, 64, 1000, 4095};
	for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
		float *y = calloc(N, sizeof *y);
		y[at[k]] = 1;
		FxChain *c = chain_of(text, 1);
		run(c, y, 1, N, 100);
		fx_chain_free(c);
		for (long i = 0; i < at[k]; i++)
			ck_assert_float_eq(y[i], 0);
		/* Before the first partition's block, only the direct form
		 * has spoken. */
		for (long i = 0; at[k] == 0 && i < FX_CONV_HEAD; i++)
			ck_assert_float_eq(y[i], h[i]);
		for (long i = 0; i < LEN; i++)
			ck_assert_msg(fabsf(y[at[k] + i] - h[i]) < 1e-6f,
			              "impulse at %ld, frame %ld: %g, not %g",
			              at[k], i, y[at[k] + i], h[i]);
		for (long i = at[k] + LEN; i < N; i++)
			ck_assert(fabsf(y[i]) < 1e-6f);
		free(y);
	}
	free(h);
	remove_dir();
}
END_TEST

/* ---- resampling -------------------------------------------------------- */

/* Half a second of 1 kHz at 44.1 kHz, on a 48 kHz chain: the impulse
 * response is 1 kHz at 48 kHz, 24,000 frames long, its amplitude scaled
 * by 44.1/48 so the response's gain stays. */
START_TEST(a_response_at_44k1_is_resampled)
{
	enum { LEN = 22050, N = 30000 };
	make_dir();
	float *h = malloc(LEN * sizeof *h);
	for (int i = 0; i < LEN; i++)
		h[i] = (float)(0.5 * sin(2 * M_PI * 1000.0 * i / 44100.0));
	char text[600];
	snprintf(text, sizeof text, "convolver ir=%s normalize=off",
	         write_ir("ir44.wav", h, 1, LEN, 44100));
	float *y = calloc(N, sizeof *y);
	y[0] = 1;
	FxChain *c = chain_of(text, 1);
	run(c, y, 1, N, 256);
	fx_chain_free(c);
	double amp = 0.5 * 44100.0 / 48000.0, worst = 0;
	for (int i = 200; i < 23800; i++)
		worst = fmax(worst,
		             fabs(y[i] - amp * sin(2 * M_PI * 1000.0 * i / FS)));
	ck_assert_msg(worst < 1e-3 * amp, "off a 1 kHz sine by %g", worst);
	/* The length: still ringing at 24,000 - 100, gone 100 frames on. */
	double late = 0, after = 0;
	for (int i = 23800; i < 23900; i++)
		late = fmax(late, fabs(y[i]));
	for (int i = 24100; i < N; i++)
		after = fmax(after, fabs(y[i]));
	ck_assert(late > 0.5 * amp);
	ck_assert_msg(after < 1e-3 * amp, "rings on after 24000: %g", after);
	free(y);
	free(h);
	remove_dir();
}
END_TEST

/* ---- bad files ----------------------------------------------------------- */

static void refused(const char *path, FxStatus st, const char *want)
{
	char text[600];
	snprintf(text, sizeof text, "cab:convolver ir=%s", path);
	FxChainSpec spec;
	FxSpecError err;
	ck_assert_int_eq(fx_spec_parse(text, "chain", &spec, &err), st);
	printf("# %s\n", err.message);
	ck_assert_msg(strstr(err.message, want), "got '%s', want '%s'",
	              err.message, want);
	ck_assert_msg(strstr(err.message, path), "'%s' names no file",
	              err.message);
	ck_assert_ptr_null(strchr(err.message, '\n'));
}

/* A WAV header declaring no channels, which libsndfile itself refuses. */
static const char *write_zero_channels(void)
{
	static const unsigned char wav[44] = {
		'R', 'I', 'F',  'F',  36,  0,   0,   0, 'W', 'A', 'V',
		'E', 'f', 'm',  't',  ' ', 16,  0,   0, 0,   3,   0,
		0,   0,   0x80, 0xbb, 0,   0,   0,   0, 0,   0,   0,
		0,   32,  0,    'd',  'a', 't', 'a', 0, 0,   0,   0};
	static char path[512];
	snprintf(path, sizeof path, "%s/zero.wav", dir);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(wav, 1, sizeof wav, f), sizeof wav);
	fclose(f);
	return path;
}

START_TEST(bad_files_get_one_clear_line)
{
	make_dir();
	char missing[300];
	snprintf(missing, sizeof missing, "%s/nothing.wav", dir);
	refused(missing, FX_ERR_IO, "No such file");
	float one = 1, three[3 * 10] = {0};
	refused(write_ir("empty.wav", &one, 1, 0, FS), FX_ERR_IO, "empty");
	refused(write_ir("three.wav", three, 3, 10, FS), FX_ERR_CHANNELS,
	        "has 3 channels");
	refused(write_zero_channels(), FX_ERR_IO, "not a sound file");
	enum { LONG = 8000 * 11 };
	float *quiet = calloc(LONG, sizeof *quiet);
	refused(write_ir("long.wav", quiet, 1, LONG, 8000), FX_ERR_RANGE,
	        "11.0 s long; the convolver takes at most 10 s");
	free(quiet);
	char text[300];
	snprintf(text, sizeof text, "%s/text.wav", dir);
	FILE *f = fopen(text, "w");
	fputs("not audio at all\n", f);
	fclose(f);
	refused(text, FX_ERR_IO, "not a sound file");
	fx_test_spec_refused("convolver mix=50", FX_ERR_SYNTAX,
	                     "convolver: ir= must be given");
	fx_test_spec_refused("convolver ir=", FX_ERR_SYNTAX,
	                     "convolver: ir= needs a value");
	remove_dir();
}
END_TEST

/* ---- the text parameter ------------------------------------------------ */

/* A relative path is made absolute; the spec formats and parses back. */
START_TEST(ir_paths_round_trip_through_specs)
{
	make_dir();
	float h[4] = {1, 0.5f, 0.25f, 0.125f};
	const char *path = write_ir("short.wav", h, 1, 4, FS);
	char cwd[512], text[600];
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(dir), 0);
	FxChainSpec spec = fx_test_spec("cab:convolver ir=short.wav mix=30");
	ck_assert_int_eq(chdir(cwd), 0);
	const FxEffectClass *cls = spec.slots[0].cls;
	int ir = fx_param_find(cls, "ir");
	ck_assert_str_eq(fx_text_of(spec.slots[0].values[ir]), path);
	fx_spec_format(&spec, text, sizeof text);
	char want[600];
	snprintf(want, sizeof want,
	         "cab:convolver ir=%s mix=30 gain=0 predelay=0 normalize=on "
	         "trim=off",
	         path);
	ck_assert_str_eq(text, want);
	FxChainSpec again = fx_test_spec(text);
	ck_assert(again.slots[0].values[ir] == spec.slots[0].values[ir]);
	/* Texts no spec word can hold are refused; ids are kept as they are. */
	double v;
	const FxParamInfo *p = &cls->params[ir];
	ck_assert_int_eq(fx_param_parse(p, "/a b.wav", &v), FX_ERR_SYNTAX);
	ck_assert_int_eq(fx_param_parse(p, "/a|b.wav", &v), FX_ERR_SYNTAX);
	ck_assert(fx_param_clamp(p, 7) == 7);
	ck_assert_ptr_null(fx_text_of(1e6));
	ck_assert_str_eq(fx_text_of(0), "");
	ck_assert_int_eq(fx_text_intern(path), (int)spec.slots[0].values[ir]);
	/* Structural: a change needs a rebuild. */
	FxChain *c = chain_of(text, 2);
	ck_assert_int_eq(fx_chain_set_param(c, 0, ir, 0, NULL),
	                 FX_ERR_STRUCTURAL);
	fx_chain_free(c);
	remove_dir();
}
END_TEST

/* ---- routing ------------------------------------------------------------- */

/* y += h * x in double, for @p n frames. */
static void convolve(double *y, const float *x, const float *h, long hn, long n)
{
	for (long i = 0; i < n; i++)
		for (long k = 0; k < hn && k <= i; k++)
			y[i] += (double)h[k] * x[i - k];
}

/* Runs stereo noise through a response of @p ir_channels channels and
 * checks each output against the sum the routing calls for. */
static void check_routing(int ir_channels, const int (*paths)[3], int n_paths)
{
	enum { LEN = 300, N = 2000 };
	make_dir();
	float *h = malloc((size_t)ir_channels * LEN * sizeof *h);
	for (int c = 0; c < ir_channels; c++)
		noise(100 + (uint32_t)c, h + c * LEN, LEN);
	char text[600];
	snprintf(text, sizeof text, "convolver ir=%s normalize=off",
	         write_ir("ir.wav", h, ir_channels, LEN, FS));
	float x[2 * N];
	noise(7, x, 2 * N);
	float y[2 * N];
	memcpy(y, x, sizeof y);
	FxChain *c = chain_of(text, 2);
	run(c, y, 2, N, 128);
	fx_chain_free(c);
	for (int out = 0; out < 2; out++) {
		double ref[N] = {0};
		for (int p = 0; p < n_paths; p++)
			if (paths[p][1] == out)
				convolve(ref, x + paths[p][0] * N,
				         h + paths[p][2] * LEN, LEN, N);
		double err = fx_test_rel_rms(y + out * N, ref, N);
		ck_assert_msg(err < 1e-6, "%d channels, out %d: %g",
		              ir_channels, out, err);
	}
	free(h);
	remove_dir();
}

START_TEST(mono_stereo_and_true_stereo_route_as_documented)
{
	/* input, output, response channel */
	static const int mono[][3] = {{0, 0, 0}, {1, 1, 0}};
	static const int stereo[][3] = {{0, 0, 0}, {1, 1, 1}};
	static const int true_stereo[][3] = {
		{0, 0, 0}, {0, 1, 1}, {1, 0, 2}, {1, 1, 3}};
	check_routing(1, mono, 2);
	check_routing(2, stereo, 2);
	check_routing(4, true_stereo, 4);
	/* A stereo or true-stereo response fits only a stereo chain. */
	make_dir();
	float h[4 * 8] = {1};
	char text[600];
	snprintf(text, sizeof text, "convolver ir=%s",
	         write_ir("ts.wav", h, 4, 8, FS));
	FxChainSpec spec = fx_test_spec(text);
	FxChainConfig cfg = fx_test_chain_config(1, 0);
	FxStatus st;
	ck_assert_ptr_null(fx_chain_new(&spec, &cfg, &st));
	ck_assert_int_eq(st, FX_ERR_CHANNELS);
	remove_dir();
}
END_TEST

/* ---- mix, gain, predelay, normalize, trim ------------------------------ */

/* The impulse response of "convolver ir=<h> OPTIONS", mono. */
static float *impulse_response(const float *h, long len, const char *options,
                               long n)
{
	char text[700];
	snprintf(text, sizeof text, "convolver ir=%s %s",
	         write_ir("ir.wav", h, 1, len, FS), options);
	float *y = calloc((size_t)n, sizeof *y);
	y[0] = 1;
	FxChain *c = chain_of(text, 1);
	run(c, y, 1, n, 64);
	fx_chain_free(c);
	return y;
}

START_TEST(mix_gain_and_predelay_do_what_they_say)
{
	enum { LEN = 500, N = 2000 };
	make_dir();
	float *h = response(LEN);
	/* mix: the dry share is 1 - mix, the wet one mix times the gain. */
	float *y = impulse_response(h, LEN, "normalize=off mix=25 gain=-6", N);
	double wet = 0.25 * pow(10, -6 / 20.0);
	ck_assert(fabs(y[0] - (0.75 + wet * h[0])) < 1e-6);
	for (int i = 1; i < LEN; i++)
		ck_assert(fabs(y[i] - wet * h[i]) < 1e-6);
	free(y);
	y = impulse_response(h, LEN, "normalize=off mix=0", N);
	ck_assert_float_eq(y[0], 1);
	for (int i = 1; i < N; i++)
		ck_assert_float_eq(y[i], 0);
	free(y);
	/* predelay: 10 ms of silence first. */
	y = impulse_response(h, LEN, "normalize=off predelay=10", N);
	for (int i = 0; i < 480; i++)
		ck_assert(fabsf(y[i]) < 1e-6f);
	for (int i = 0; i < LEN; i++)
		ck_assert(fabs(y[480 + i] - h[i]) < 1e-6);
	free(y);
	free(h);
	remove_dir();
}
END_TEST

START_TEST(normalize_and_trim_do_what_they_say)
{
	enum { LEN = 6000, N = 8000 };
	make_dir();
	/* 100 frames of near silence, then a loud decaying response, then
	 * a quiet tail below -90 dB of its peak. */
	float *h = calloc(LEN, sizeof *h);
	noise(9, h + 100, 3000);
	for (int i = 100; i < 3100; i++)
		h[i] *= 4.0f * (float)(1.0 - (i - 100) / 3000.0);
	h[20] = 1e-4f; /* -92 dB: part of the onset trim cuts */
	for (int i = 3100; i < LEN; i++)
		h[i] = 1e-5f;
	float *y = impulse_response(h, LEN, "normalize=on", N);
	double energy = 0;
	for (int i = 0; i < N; i++)
		energy += (double)y[i] * y[i];
	ck_assert_msg(fabs(energy - 1) < 1e-5, "energy %g", energy);
	free(y);
	/* trim: the first frame within -60 dB of the peak comes at once,
	 * and nothing rings past the last one above -90 dB. */
	y = impulse_response(h, LEN, "normalize=off trim=on", N);
	int first = 100;
	while (fabsf(h[first]) < 4e-3f)
		first++;
	for (int i = 0; i < 3100 - first; i++)
		ck_assert(fabs(y[i] - h[first + i]) < 1e-5);
	for (int i = 3100 - first; i < N; i++)
		ck_assert(fabsf(y[i]) < 1e-6f);
	free(y);
	free(h);
	remove_dir();
}
END_TEST

/* ---- memory ---------------------------------------------------------------- */

/* The class's plan says what its init takes (all of it in pages of its
 * own), and the engine's block is what it says. */
START_TEST(init_allocates_what_plan_says)
{
	make_dir();
	float *h = response(100000);
	const FxEffectClass *cls = fx_effect_find("convolver");
	static const int channels[] = {1, 2, 8};
	static const double rates[] = {44100, 48000, 96000};
	for (size_t ci = 0; ci < 3; ci++)
		for (size_t ri = 0; ri < 3; ri++) {
			char text[600];
			snprintf(text, sizeof text,
			         "convolver ir=%s predelay=3.3 trim=on",
			         write_ir("ir.wav", h, 1, 100000, FS));
			FxChainSpec spec = fx_test_spec(text);
			FxEffectSetup setup = {cls,
			                       rates[ri],
			                       channels[ci],
			                       512,
			                       spec.slots[0].values,
			                       NULL};
			FxEffectPlan plan;
			ck_assert_int_eq(cls->plan(&setup, &plan), FX_OK);
			void *state = calloc(1, cls->state_size);
			size_t before = fx_pages_in_use();
			ck_assert_int_eq(cls->init(state, &setup), FX_OK);
			ck_assert_uint_eq(fx_pages_in_use() - before, plan.bytes);
			cls->cleanup(state);
			ck_assert_uint_eq(fx_pages_in_use(), before);
			free(state);
		}
	FxConvolverShape shape = {
		2, 2, 4, {{0, 0}, {0, 1}, {1, 0}, {1, 1}}, 480000, 0};
	size_t before = fx_pages_in_use();
	FxConvolver *c = fx_convolver_new(&shape);
	ck_assert_uint_eq(fx_pages_in_use() - before, fx_convolver_bytes(&shape));
	fx_convolver_free(c);
	shape.route[3][0] = 2; /* no such input */
	ck_assert_uint_eq(fx_convolver_bytes(&shape), 0);
	ck_assert_ptr_null(fx_convolver_new(&shape));
	free(h);
	remove_dir();
}
END_TEST

/* ---- split transforms --------------------------------------------- */

/* Runs @p n frames of @p x (one channel) through a convolver of @p shape
 * with response @p h, in chunks of @p chunk; returns the output. */
static float *convolve_engine(FxConvolverShape shape, const float *h,
                              const float *x, long n, int chunk)
{
	FxConvolver *c = fx_convolver_new(&shape);
	ck_assert_ptr_nonnull(c);
	fx_convolver_set_ir(c, 0, h, shape.frames);
	float *y = malloc((size_t)n * sizeof *y);
	for (long off = 0; off < n; off += chunk) {
		const float *in[1] = {x + off};
		float *out[1] = {y + off};
		fx_convolver_process(c, in, out,
		                     n - off < chunk ? (int)(n - off) : chunk);
	}
	fx_convolver_free(c);
	return y;
}

/* Transforms split down to 256 frames (every level from 256 on, up to
 * nine passes) give what whole ones give, to float rounding, and the
 * same samples however the calls are cut. */
START_TEST(split_transforms_match_whole_ones)
{
	enum { LENGTH = 240000, N = LENGTH + 8192 };
	float *h = response(LENGTH);
	float *x = calloc(N, sizeof *x);
	noise(7, x, INPUT_FRAMES);
	FxConvolverShape whole = {1, 1, 1, {{0, 0}}, LENGTH, 0};
	FxConvolverShape split = whole;
	split.transform_max = 256;
	float *ref = convolve_engine(whole, h, x, N, 1024);
	float *y = convolve_engine(split, h, x, N, 1024);
	float *y7 = convolve_engine(split, h, x, N, 7);
	double err = 0, sum = 0;
	for (long i = 0; i < N; i++) {
		err += ((double)y[i] - ref[i]) * ((double)y[i] - ref[i]);
		sum += (double)ref[i] * ref[i];
	}
	double rel = sqrt(err / sum);
	printf("# split at 256 vs whole: relative RMS difference %.2e\n", rel);
	ck_assert_double_lt(rel, 1e-6);
	ck_assert_int_eq(memcmp(y, y7, N * sizeof *y), 0);
	split.transform_max = 200; /* not a power of two */
	ck_assert_uint_eq(fx_convolver_bytes(&split), 0);
	free(h);
	free(x);
	free(ref);
	free(y);
	free(y7);
}
END_TEST

/* Chains built on two threads at once: FFTW's planner is shared. */
static void *build_many(void *arg)
{
	const char *text = arg;
	for (int i = 0; i < 20; i++) {
		FxChainSpec spec;
		FxChainConfig cfg = fx_test_chain_config(2, 0);
		if (fx_spec_parse(text, "t", &spec, NULL) != FX_OK)
			return "parse";
		FxStatus st;
		FxChain *c = fx_chain_new(&spec, &cfg, &st);
		if (!c)
			return "build";
		fx_chain_free(c);
	}
	return NULL;
}

START_TEST(chains_build_on_two_threads_at_once)
{
	make_dir();
	float *h = response(20000);
	char text[600];
	snprintf(text, sizeof text, "convolver ir=%s",
	         write_ir("ir.wav", h, 1, 20000, FS));
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, build_many, text),
		                 0);
	for (int i = 0; i < 2; i++) {
		void *r;
		pthread_join(t[i], &r);
		ck_assert_msg(!r, "%s failed", (char *)r);
	}
	free(h);
	remove_dir();
}
END_TEST

int main(void)
{
	const FxTestCase cases[] = {
		{"reference",
	         120,
	         NULL,
	         NULL,
	         {{matches_fftconvolve_in_any_chunks,
	           sizeof lengths / sizeof *lengths},
	          {an_impulse_gives_the_response_at_once, 0},
	          {a_response_at_44k1_is_resampled, 0},
	          {split_transforms_match_whole_ones, 0}}},
		{"files",
	         30,
	         NULL,
	         NULL,
	         {{bad_files_get_one_clear_line, 0},
	          {ir_paths_round_trip_through_specs, 0}}},
		{"behaviour",
	         60,
	         NULL,
	         NULL,
	         {{mono_stereo_and_true_stereo_route_as_documented, 0},
	          {mix_gain_and_predelay_do_what_they_say, 0},
	          {normalize_and_trim_do_what_they_say, 0},
	          {init_allocates_what_plan_says, 0},
	          {chains_build_on_two_threads_at_once, 0}}},
		{NULL, 0, NULL, NULL, {{NULL, 0}}},
	};
	return fx_test_run_forking(fx_test_suite("convolver", cases),
	                           CK_FORK_GETENV);
}
