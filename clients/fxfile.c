/* SPDX-License-Identifier: ISC */
/* fxfile: runs an fxd effect chain over a sound file (doc/fxfile.1).
 *
 * The input is read in --chunk frames and gathered into blocks of
 * FXFILE_BLOCK frames, cut at fixed positions from the start of the file;
 * each block goes through the pipeline (fxfile_pipeline.h) and is written
 * whole, so the output depends neither on the chunk size nor on how the
 * input arrives. The chain's latency is compensated: the first `latency`
 * frames out are dropped and as many silent frames are fed after the
 * input (and --tail). With --normalize the input runs twice: once to
 * measure the peak, once more, on a fresh pipeline, to write. --device
 * cuda or auto opens a CUDA device once (cuda/accel.h); the pipeline runs
 * its leading filter and gain slots there.
 *
 * Nothing is lost: OUT is written to a temporary file beside it, synced,
 * and renamed into place; an error, or SIGINT, SIGTERM or SIGHUP (whose
 * handlers only set a flag, read between chunks and blocks), removes it.
 * The modules return an FxStatus and one line; only this file prints an
 * error and exits (fail()).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cuda/accel.h"
#include "dsp/denormal.h"
#include "dsp/describe.h"
#include "clients/file/fxfile_io.h"
#include "clients/file/fxfile_options.h"
#include "clients/file/fxfile_pipeline.h"
#include "clients/file/fxfile_report.h"

#ifdef PACKAGE_VERSION
#define FXFILE_VERSION "fxfile " PACKAGE_VERSION
#else
#define FXFILE_VERSION "fxfile"
#endif

/** The progress bar on stderr: only on a terminal, never with -q. */
typedef struct {
	int on, shown;
	double start, last; ///< CLOCK_MONOTONIC seconds
	long long total;    ///< frames to run over every pass; 0: unknown
	long long done;
	double rate;      ///< Hz
	const char *what; ///< "measuring", "writing"
} Progress;

static FxFileOptions opt;
static FxFileOutput out;
static FxAccel *accel; ///< NULL: everything on the CPU
static Progress progress;

/* ---- the way out -------------------------------------------------------- */

static void progress_clear(void *ctx)
{
	(void)ctx;
	if (progress.shown) {
		fputs("\r\033[K", stderr);
		progress.shown = 0;
	}
}

/* The exit code of each status that does not exit with FXFILE_USAGE. */
static const struct {
	FxStatus st;
	int rc;
} exit_codes[] = {
	{FX_ERR_NOMEM, FXFILE_FAILURE},
};

static int exit_code(FxStatus st)
{
	if (st == FXFILE_ERR_INTERRUPTED)
		return 128 + fxfile_interrupted;
	for (size_t i = 0; i < sizeof exit_codes / sizeof exit_codes[0]; i++)
		if (exit_codes[i].st == st)
			return exit_codes[i].rc;
	return FXFILE_USAGE;
}

/* Removes the unfinished output, prints "fxfile: @p why" and exits with
 * @p rc. */
static void die(int rc, const char *why) __attribute__((noreturn));

static void die(int rc, const char *why)
{
	fxfile_output_discard(&out);
	fxfile_say("%s", why);
	exit(rc);
}

/* die() with @p st's code, saying what an interruption leaves behind. */
static void fail(FxStatus st, const char *why) __attribute__((noreturn));

static void fail(FxStatus st, const char *why)
{
	if (st != FXFILE_ERR_INTERRUPTED)
		die(exit_code(st), why);
	fxfile_output_discard(&out);
	int sig = fxfile_interrupted;
	const char *name = sig == SIGINT    ? "SIGINT"
	                   : sig == SIGTERM ? "SIGTERM"
	                                    : "SIGHUP";
	if (!out.label[0]) /* still opening the input */
		fxfile_say("interrupted by %s; nothing written", name);
	else if (out.direct)
		fxfile_say("interrupted by %s; the output on %s is incomplete",
		           name, out.label);
	else
		fxfile_say("interrupted by %s; %s not written", name, out.label);
	exit(exit_code(st));
}

/* The error buffer of every call below: a label is up to PATH_MAX. */
static char err[PATH_MAX + 1024];

/* fail() unless @p st is FX_OK. */
static void check(FxStatus st)
{
	if (st != FX_OK)
		fail(st, err);
}

static void *calloc_or_fail(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p)
		fail(FX_ERR_NOMEM, "out of memory");
	return p;
}

/* ---- signals ------------------------------------------------------------ */

static void on_signal(int sig)
{
	fxfile_interrupted = sig;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed pipe and a file size limit become write errors. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
}

/* ---- progress ----------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void clock_text(char *buf, size_t size, double s)
{
	long t = (long)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60,
		         t % 60);
	else
		snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

/* Counts @p frames done and redraws at most 10 times a second. */
static void progress_update(Progress *p, long long frames)
{
	p->done += frames;
	if (!p->on)
		return;
	double t = now_s();
	if (t - p->last < 0.1)
		return;
	p->last = t;
	double elapsed = t - p->start;
	double speed = elapsed > 0 ? p->done / p->rate / elapsed : 0;
	char line[160], clock[32];
	if (p->total > 0) {
		double f = (double)p->done / (double)p->total;
		f = f > 1 ? 1 : f;
		char bar[31];
		int fill = (int)(f * 30);
		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(30 - fill));
		bar[30] = '\0';
		double left = f > 0 ? elapsed * (1 - f) / f : 0;
		clock_text(clock, sizeof clock, left);
		snprintf(line, sizeof line,
		         "%s %3d%% [%s] %6.1fx realtime  "
		         "ETA %s",
		         p->what, (int)(f * 100), bar, speed, clock);
	} else {
		clock_text(clock, sizeof clock, p->done / p->rate);
		snprintf(line, sizeof line, "%s: %s of audio, %.1fx realtime",
		         p->what, clock, speed);
	}
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	p->shown = 1;
}

/* ---- the passes --------------------------------------------------------- */

typedef enum { PASS_MEASURE, PASS_WRITE } PassMode;

typedef struct {
	PassMode mode;
	FxFilePipeline *pipeline;
	int channels;
	float **blk;     ///< channels planar buffers of FXFILE_BLOCK frames
	long fill;       ///< frames in the block
	long long skip;  ///< output frames still to drop (the latency)
	float peak;      ///< PASS_MEASURE: the largest |sample| out
	double gain;     ///< PASS_WRITE
	long long muted; ///< blocks muted as not finite
} Pass;

static void flush_block(Pass *ps)
{
	long frames = ps->fill;
	int r = fxfile_pipeline_process(ps->pipeline, ps->blk, (int)frames);
	if (r < 0) {
		snprintf(err, sizeof err, "CUDA: %s", fx_accel_error(accel));
		die(FXFILE_FAILURE, err);
	}
	ps->muted += r;
	long off = ps->skip < frames ? (long)ps->skip : frames;
	ps->skip -= off;
	long n = frames - off;
	if (n > 0 && ps->mode == PASS_MEASURE) {
		float peak = ps->peak;
		for (int c = 0; c < ps->channels; c++) {
			const float *x = ps->blk[c] + off;
			for (long i = 0; i < n; i++)
				peak = fabsf(x[i]) > peak ? fabsf(x[i]) : peak;
		}
		ps->peak = peak;
	} else if (n > 0) {
		check(fxfile_output_write(&out, ps->blk, off, n, ps->gain, err,
		                          sizeof err));
	}
	progress_update(&progress, frames);
	ps->fill = 0;
	check(fxfile_interruption());
}

/* Runs the whole input, then the tail and the latency's worth of
 * silence, through the pipeline. */
static void run_pass(Pass *ps, FxFileInput *in, float *rbuf, int chunk,
                     long long tail, int latency)
{
	const int ch = ps->channels;
	ps->fill = 0;
	ps->skip = latency;
	for (;;) {
		long n;
		check(fxfile_input_read(in, rbuf, chunk, &n, err, sizeof err));
		check(fxfile_interruption());
		for (long i = 0; i < n;) {
			long take = FXFILE_BLOCK - ps->fill;
			take = take < n - i ? take : n - i;
			for (int c = 0; c < ch; c++) {
				float *d = ps->blk[c] + ps->fill;
				const float *s = rbuf + i * ch + c;
				for (long k = 0; k < take; k++)
					d[k] = s[k * ch];
			}
			ps->fill += take;
			i += take;
			if (ps->fill == FXFILE_BLOCK)
				flush_block(ps);
		}
		if (n < chunk)
			break;
	}
	for (long long pad = tail + latency; pad > 0;) {
		long take = FXFILE_BLOCK - ps->fill;
		take = take < pad ? take : (long)pad;
		for (int c = 0; c < ch; c++)
			memset(ps->blk[c] + ps->fill, 0,
			       (size_t)take * sizeof(float));
		ps->fill += take;
		pad -= take;
		if (ps->fill == FXFILE_BLOCK)
			flush_block(ps);
	}
	if (ps->fill)
		flush_block(ps);
}

static FxFilePipeline *build_pipeline(const FxChainSpec *spec,
                                      const FxFilePipelineConfig *cfg)
{
	FxStatus st;
	/* Workers take no signals: the main thread sees them all. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	char why[512];
	FxFilePipeline *p = fxfile_pipeline_new(spec, cfg, &st, why, sizeof why);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!p) {
		snprintf(err, sizeof err, "%s: %s", opt.chain_source, why);
		fail(st, err);
	}
	return p;
}

static int cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

static void describe(const FxFileInput *in, const FxFilePipeline *pipeline,
                     const FxFilePipelineConfig *cfg)
{
	char sub[64], stages[1024];
	fxfile_note("%s: %s %s, %d channels, %d Hz%s", in->label,
	            fxfile_format_name(in->info.format),
	            fxfile_subtype_name(in->info.format, sub, sizeof sub),
	            in->info.channels, in->info.samplerate,
	            in->info.seekable ? "" : ", streamed");
	fxfile_pipeline_describe(pipeline, stages, sizeof stages);
	fxfile_note("stages: %s; latency %d frames, compensated; %d threads",
	            stages, fxfile_pipeline_latency(pipeline), cfg->threads);
	if (accel)
		fxfile_note("device: %s", fx_accel_device_name(accel));
	fxfile_note("%s: %s %s%s", out.label, fxfile_format_name(out.info.format),
	            fxfile_subtype_name(out.info.format, sub, sizeof sub),
	            out.dither ? ", TPDF dither" : "");
}

int main(int argc, char **argv)
{
	FxFileReportHooks hooks = {.clear = progress_clear};
	fxfile_report_init(&hooks);
	FxStatus st = fxfile_options_load(&opt, argc, argv, err, sizeof err);
	check(st);
	hooks.quiet = opt.quiet;
	fxfile_report_init(&hooks);
	if (opt.help) {
		fxfile_usage(stdout);
		return FXFILE_OK;
	}
	if (opt.version) {
		puts(FXFILE_VERSION);
		return FXFILE_OK;
	}
	if (opt.list_effects) {
		fx_describe_text(stdout);
		return FXFILE_OK;
	}
	static FxChainSpec spec;
	FxSpecError serr;
	st = fx_spec_parse(opt.chain, opt.chain_source, &spec, &serr);
	if (st != FX_OK)
		fail(st == FX_ERR_NOMEM ? FX_ERR_SYNTAX : st, serr.message);
	char why[256] = "";
	if (opt.device != FXFILE_DEVICE_CPU) {
		accel = fx_accel_new(NULL, &st, why, sizeof why);
		if (!accel && opt.device == FXFILE_DEVICE_CUDA) {
			snprintf(err, sizeof err, "--device cuda: %s", why);
			fail(st == FX_ERR_NOMEM ? FX_ERR_INVALID : st, err);
		}
	}

	install_signals();
	/* As fxd's worker does; the pool's workers do it too, and this
	 * thread runs its share of their jobs. */
	fx_denormals_off();
	static FxFileInput in;
	check(fxfile_input_open(&in, &opt, err, sizeof err));
	check(fxfile_output_plan(&out, &opt, &in, err, sizeof err));
	FxFilePipelineConfig cfg = {
		.sample_rate = in.info.samplerate,
		.channels = in.info.channels,
		.threads = opt.threads ? opt.threads : cores(),
		.bpm = opt.bpm,
		.accel = accel,
		.scan_threshold = opt.scan_threshold < 0 ? FX_ACCEL_SCAN_DEFAULT
	                                                 : opt.scan_threshold,
	};
	FxFilePipeline *pipeline = build_pipeline(&spec, &cfg);
	const int latency = fxfile_pipeline_latency(pipeline);
	const long long tail = llround(opt.tail * in.info.samplerate);
	const int normalize = !isnan(opt.normalize);
	/* Most machines have no GPU: say so only when asked (-v, --device). */
	if (opt.device == FXFILE_DEVICE_AUTO && !accel &&
	    (opt.device_asked || opt.verbose))
		fxfile_note("%s: using the CPU", why);
	if (opt.verbose)
		describe(&in, pipeline, &cfg);

	const int ch = in.info.channels;
	float *rbuf = calloc_or_fail((size_t)opt.chunk * ch, sizeof(float));
	float **blk = calloc_or_fail((size_t)ch, sizeof *blk);
	for (int c = 0; c < ch; c++)
		blk[c] = calloc_or_fail(FXFILE_BLOCK, sizeof(float));

	progress.on = !opt.quiet && isatty(2);
	progress.rate = in.info.samplerate;
	progress.start = now_s(); /* last = 0: the first update draws */
	if (in.info.seekable && in.info.frames > 0 &&
	    in.info.frames < (sf_count_t)1 << 48)
		progress.total = (in.info.frames + tail + latency) *
		                 (normalize ? 2 : 1);

	check(fxfile_output_open(&out, err, sizeof err));
	double gain = 1.0;
	if (normalize) {
		check(fxfile_input_keep(&in, err, sizeof err));
		progress.what = "measuring";
		Pass m = {.mode = PASS_MEASURE,
		          .pipeline = pipeline,
		          .channels = ch,
		          .blk = blk};
		run_pass(&m, &in, rbuf, opt.chunk, tail, latency);
		if (m.peak > 0.0f)
			gain = pow(10.0, opt.normalize / 20.0) / m.peak;
		else
			fxfile_note("the output is silent; --normalize leaves "
			            "it so");
		if (!progress.total)
			progress.total = 2 * progress.done;
		/* Pass 2 starts from a fresh pipeline, as pass 1 did. */
		fxfile_pipeline_free(pipeline);
		pipeline = build_pipeline(&spec, &cfg);
		check(fxfile_input_rewind(&in, err, sizeof err));
	}
	progress.what = "writing";
	Pass w = {.mode = PASS_WRITE,
	          .pipeline = pipeline,
	          .channels = ch,
	          .blk = blk,
	          .gain = gain};
	run_pass(&w, &in, rbuf, opt.chunk, tail, latency);
	check(fxfile_output_finish(&out, err, sizeof err));
	progress_clear(NULL);
	if (w.muted)
		fxfile_note("%lld blocks were not finite and came out silent",
		            w.muted);

	fxfile_pipeline_free(pipeline);
	fx_accel_free(accel);
	fxfile_input_close(&in);
	for (int c = 0; c < ch; c++)
		free(blk[c]);
	free(blk);
	free(rbuf);
	fxfile_options_free(&opt);
	return FXFILE_OK;
}
