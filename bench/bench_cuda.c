/* SPDX-License-Identifier: ISC */
/* fxd — benchmark of the CUDA SOS cascade (cuda/accel.h) against the CPU
 * paths of clients/file/ptime_run.h. Runs only with a GPU.
 *
 * Usage: bench_cuda [--quick] [--json FILE|-] [--threads N] [--budget S]
 *   The table goes to stdout; --json FILE also writes JSON to FILE, and
 *   with --json - the JSON goes to stdout and the table to stderr. --quick
 *   is a smoke run of a few seconds. --threads N is the CPU's parallel
 *   pool (default: the online CPUs); --budget S the seconds spent per
 *   chunk configuration. Without a usable device it prints
 *   "skipped: no CUDA device (...)" (the reason) and exits 0; the JSON
 *   then says "skipped": true with the reason.
 *
 * Cases: the filters of bench_ptime, an order-10 Butterworth lowpass at
 * 1 kHz, 48 kHz (5 sections) and an order-4 highpass at 20 Hz, 96 kHz
 * (2 sections), float32, state carried from call to call.
 *
 * 1. Per chunk: one fx_accel_plan_forward of 128..2048 frames on 2..64
 *    channels, with the sequential kernel (threshold above the chunk) and
 *    the parallel scan (threshold 0). Each call is timed on its own
 *    (CLOCK_MONOTONIC), the input copied back before it, untimed; median,
 *    best and p90 over rounds until the budget is spent (at least 5).
 *    cuda/accel.h has no eager mode: every forward replays the graph
 *    captured by fx_accel_plan_new, so only "graph" is measured and the
 *    JSON says so ("eager": null, "eager_note").
 * 2. Throughput on a long signal (2^22 frames, 2^20 with --quick) in
 *    chunks of 65536 frames (fxfile's block): the device, fx_pt_filter
 *    without a pool (sequential) and with a pool of N threads split from
 *    1 frame (parallel); the median of 3 runs, samples (frames * channels)
 *    per second, times realtime at the filter's rate, the speedup over the
 *    sequential CPU path and the largest difference from its output.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cuda/accel.h"
#include "bench/bench_common.h"
#include "bench/bench_filters.h"
#include "dsp/denormal.h"
#include "dsp/design.h"
#include "clients/file/ptime_run.h"

enum {
	MAX_CH = 64,
	MAX_CHUNK = 2048,
	MAX_ROUNDS = 5000,
	MIN_ROUNDS = 5,
	LONG_CHUNK = 65536,
	LONG_RUNS = 3,
	MAX_THREADS = 64,
};

static const int chunk_frames[] = {128, 256, 512, 1024, 2048};
static const int chunk_channels[] = {2, 8, 16, 64};
static const int long_channels[] = {2, 8};

typedef struct {
	int filter, frames, channels, scan;
	double median_us, best_us, p90_us;
	int rounds;
} ChunkResult;

typedef struct {
	int filter, channels, threads;
	const char *path; ///< "cuda", "cpu_sequential", "cpu_parallel"
	long frames;
	double seconds;  ///< median of LONG_RUNS
	double max_diff; ///< against cpu_sequential's output
} LongResult;

static ChunkResult chunk_results[NELEM(filters) * NELEM(chunk_frames) *
                                 NELEM(chunk_channels) * 2];
static int n_chunk;
static LongResult long_results[NELEM(filters) * NELEM(long_channels) * 3];
static int n_long;
static FxAccel *acc;

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt,
                                                                ...)
{
	va_list ap;
	fputs("bench_cuda: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		die("out of memory");
	return p;
}

static void fill(float *x, long n, int c)
{
	unsigned s = 12345u + 7919u * (unsigned)c;
	for (long i = 0; i < n; i++) {
		s = s * 1664525u + 1013904223u;
		x[i] = (float)((s >> 8) * (1.0 / 16777216.0) - 0.5) +
		       0.2f * (float)sin((double)i * 0.001 * (c + 1));
	}
}

static FxAccelPlan *plan_or_die(const Filter *f, int channels, long chunk,
                                long threshold)
{
	FxStatus st;
	FxAccelPlan *p = fx_accel_plan_new(acc, f->sec, f->n, channels, chunk,
	                                   FX_ACCEL_F32, threshold, &st);
	if (!p)
		die("plan: %s", fx_accel_error(acc));
	return p;
}

static void forward_or_die(FxAccelPlan *p, float *const *buf, long frames)
{
	if (fx_accel_plan_forward(p, buf, frames) != FX_OK)
		die("forward: %s", fx_accel_error(acc));
}

/* Part 1: one configuration, both kernels interleaved. */
static void measure_chunk(int fi, int frames, int channels, double budget_s,
                          float **input, float **work)
{
	static double t[2][MAX_ROUNDS];
	FxAccelPlan *p[2] = {
		plan_or_die(&filters[fi], channels, frames, LONG_MAX),
		plan_or_die(&filters[fi], channels, frames, 0),
	};
	for (int v = 0; v < 2; v++) // the first replay may load modules
		forward_or_die(p[v], work, frames);
	double end = bench_now_ns() + budget_s * 1e9;
	int rounds = 0;
	while (rounds < MAX_ROUNDS &&
	       (rounds < MIN_ROUNDS || bench_now_ns() < end)) {
		for (int j = 0; j < 2; j++) {
			int v = (j + rounds) % 2;
			for (int c = 0; c < channels; c++)
				memcpy(work[c], input[c],
				       sizeof(float) * (size_t)frames);
			double t0 = bench_now_ns();
			forward_or_die(p[v], work, frames);
			t[v][rounds] = bench_now_ns() - t0;
		}
		rounds++;
	}
	for (int v = 0; v < 2; v++) {
		ChunkResult r = {fi, frames, channels, v, 0, 0, 0, rounds};
		r.median_us = bench_quantile(t[v], rounds, 0.5) / 1e3;
		r.p90_us = bench_quantile(t[v], rounds, 0.9) / 1e3;
		r.best_us = bench_quantile(t[v], rounds, 0.0) / 1e3;
		chunk_results[n_chunk++] = r;
		say("%-16s %6d %3d  %-6s %-10s %10.1f %10.1f %10.1f %6d\n",
		    filters[fi].name, frames, channels, "graph",
		    r.scan ? "scan" : "sequential", r.median_us, r.best_us,
		    r.p90_us, rounds);
		fx_accel_plan_free(p[v]);
	}
}

static double long_seq_seconds(const LongResult *r)
{
	for (int i = 0; i < n_long; i++)
		if (long_results[i].filter == r->filter &&
		    long_results[i].channels == r->channels &&
		    !strcmp(long_results[i].path, "cpu_sequential"))
			return long_results[i].seconds;
	return r->seconds;
}

/* Part 2: one filter and channel count over the long signal. */
static void measure_long(int fi, int channels, long frames, FxPtPool *pool,
                         float **input, float **work, float **ref)
{
	const Filter *f = &filters[fi];
	const char *paths[3] = {"cpu_sequential", "cpu_parallel", "cuda"};
	int threads = pool ? fx_pt_pool_threads(pool) : 1;
	for (int v = 0; v < 3; v++) {
		if (v == 1 && !pool)
			continue;
		double t[LONG_RUNS];
		FxPtFilter *cpu = NULL;
		FxAccelPlan *gpu = NULL;
		FxStatus st;
		if (v < 2) {
			cpu = fx_pt_filter_new(f->sec, f->n, channels,
			                       LONG_CHUNK, &st);
			if (!cpu)
				die("fx_pt_filter_new: %s", fx_strerror(st));
			if (v == 1)
				fx_pt_filter_set_threshold(cpu, 1);
		} else {
			gpu = plan_or_die(f, channels, LONG_CHUNK,
			                  FX_ACCEL_SCAN_DEFAULT);
		}
		for (int r = 0; r < LONG_RUNS; r++) {
			for (int c = 0; c < channels; c++)
				memcpy(work[c], input[c],
				       sizeof(float) * (size_t)frames);
			if (cpu)
				fx_pt_filter_reset(cpu);
			else if (fx_accel_plan_reset_state(gpu) != FX_OK)
				die("reset: %s", fx_accel_error(acc));
			double t0 = bench_now_ns();
			if (cpu)
				fx_pt_filter_process(cpu, v == 1 ? pool : NULL,
				                     work, frames);
			else
				forward_or_die(gpu, work, frames);
			t[r] = bench_now_ns() - t0;
		}
		double diff = 0;
		for (int c = 0; c < channels; c++) {
			if (v == 0) {
				memcpy(ref[c], work[c],
				       sizeof(float) * (size_t)frames);
				continue;
			}
			for (long i = 0; i < frames; i++)
				diff = fmax(diff,
				            fabs((double)work[c][i] - ref[c][i]));
		}
		LongResult res = {fi,
		                  channels,
		                  v == 1 ? threads : 1,
		                  paths[v],
		                  frames,
		                  bench_quantile(t, LONG_RUNS, 0.5) / 1e9,
		                  diff};
		long_results[n_long++] = res;
		double seq = long_seq_seconds(&res);
		double sps = (double)frames * channels / res.seconds;
		say("%-16s %3d  %-14s %3d %10.3f %10.1f %9.1fx %7.2fx %10.2e\n",
		    f->name, channels, res.path, res.threads, res.seconds * 1e3,
		    sps / 1e6, (double)frames / f->fs / res.seconds,
		    seq / res.seconds, diff);
		fx_pt_filter_free(cpu);
		fx_accel_plan_free(gpu);
	}
}

static void json_string(FILE *o, const char *s)
{
	fputc('"', o);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(o, "\\u%04x", *s);
		else
			fputc(*s, o);
	}
	fputc('"', o);
}

static void write_json(FILE *o, const char *mode, const char *skipped, int threads)
{
	fprintf(o, "{\n  \"bench\": \"cuda\",\n  \"mode\": \"%s\",\n", mode);
	if (skipped) {
		fprintf(o, "  \"skipped\": true,\n  \"reason\": ");
		json_string(o, skipped);
		fprintf(o, "\n}\n");
		return;
	}
	fprintf(o, "  \"skipped\": false,\n  \"device\": ");
	json_string(o, fx_accel_device_name(acc));
	fprintf(o, ",\n  \"threads\": %d,\n", threads);
	fprintf(o, "  \"eager\": null,\n  \"eager_note\": \"cuda/accel.h has no "
	           "eager mode: every forward replays the graph captured by "
	           "fx_accel_plan_new\",\n");
	fprintf(o, "  \"chunks\": [\n");
	for (int i = 0; i < n_chunk; i++) {
		const ChunkResult *r = &chunk_results[i];
		const Filter *f = &filters[r->filter];
		fprintf(o,
		        "    {\"filter\": \"%s\", \"sections\": %d, \"frames\": %d, "
		        "\"channels\": %d, \"mode\": \"graph\", \"kernel\": \"%s\", "
		        "\"median_us\": %.3f, \"best_us\": %.3f, \"p90_us\": %.3f, "
		        "\"rounds\": %d}%s\n",
		        f->name, f->n, r->frames, r->channels,
		        r->scan ? "scan" : "sequential", r->median_us, r->best_us,
		        r->p90_us, r->rounds, i + 1 < n_chunk ? "," : "");
	}
	fprintf(o, "  ],\n  \"throughput\": [\n");
	for (int i = 0; i < n_long; i++) {
		const LongResult *r = &long_results[i];
		const Filter *f = &filters[r->filter];
		double sps = (double)r->frames * r->channels / r->seconds;
		fprintf(o,
		        "    {\"filter\": \"%s\", \"sections\": %d, \"frames\": %ld, "
		        "\"chunk\": %d, \"channels\": %d, \"path\": \"%s\", "
		        "\"threads\": %d, \"seconds\": %.6f, "
		        "\"msamples_per_s\": %.3f, \"realtime_x\": %.1f, "
		        "\"speedup_vs_cpu_sequential\": %.3f, "
		        "\"max_abs_diff\": %.3e}%s\n",
		        f->name, f->n, r->frames, LONG_CHUNK, r->channels,
		        r->path, r->threads, r->seconds, sps / 1e6,
		        (double)r->frames / f->fs / r->seconds,
		        long_seq_seconds(r) / r->seconds, r->max_diff,
		        i + 1 < n_long ? "," : "");
	}
	fprintf(o, "  ]\n}\n");
}

static void emit_json(const char *json, const char *mode, const char *skipped,
                      int threads)
{
	if (!json)
		return;
	FILE *o = strcmp(json, "-") ? fopen(json, "w") : stdout;
	if (!o) {
		perror(json);
		exit(1);
	}
	write_json(o, mode, skipped, threads);
	if (o != stdout && fclose(o)) {
		perror(json);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	BenchArgs args = bench_args_parse(argc, argv, "bench_cuda", MAX_THREADS,
	                                  0.02, 0.3);
	int quick = args.quick, nthreads = args.threads;
	double budget = args.budget;
	const char *json = args.json;
	const char *mode = quick ? "quick" : "full";

	char why[256], line[300];
	FxStatus st;
	if (!(acc = fx_accel_new(NULL, &st, why, sizeof why))) {
		if (!strncmp(why, "no CUDA device", 14))
			snprintf(line, sizeof line, "skipped: %s", why);
		else
			snprintf(line, sizeof line,
			         "skipped: no CUDA device (%s)", why);
		say("%s\n", line);
		emit_json(json, mode, line + strlen("skipped: "), nthreads);
		return 0;
	}
	fx_denormals_off(); // as the pool's workers
	st = bench_filters_design();
	if (st != FX_OK)
		die("%s", fx_strerror(st));
	long long_frames = quick ? 1L << 20 : 1L << 22;
	float *input[MAX_CH], *work[MAX_CH], *ref[MAX_CH];
	for (int c = 0; c < MAX_CH; c++) {
		long n = c < 8 ? long_frames : MAX_CHUNK; // long runs: 8 channels
		input[c] = xmalloc(sizeof(float) * (size_t)n);
		work[c] = xmalloc(sizeof(float) * (size_t)n);
		ref[c] = c < 8 ? xmalloc(sizeof(float) * (size_t)n) : NULL;
		fill(input[c], n, c);
	}

	say("bench_cuda (%s) on %s: graph replay only (cuda/accel.h has no "
	    "eager mode)\n",
	    mode, fx_accel_device_name(acc));
	say("per chunk, us per fx_accel_plan_forward\n");
	say("%-16s %6s %3s  %-6s %-10s %10s %10s %10s %6s\n", "filter",
	    "frames", "ch", "mode", "kernel", "median", "best", "p90", "rounds");
	for (int fi = 0; fi < NELEM(filters); fi++)
		for (int ci = 0; ci < NELEM(chunk_channels); ci++)
			for (int k = 0; k < NELEM(chunk_frames); k++)
				measure_chunk(fi, chunk_frames[k],
				              chunk_channels[ci], budget, input,
				              work);

	FxPtPool *pool = NULL;
	if (nthreads > 1 && !(pool = fx_pt_pool_new(nthreads, &st)))
		die("pool: %s", fx_strerror(st));
	say("throughput over %ld frames in chunks of %d, median of %d runs\n",
	    long_frames, LONG_CHUNK, LONG_RUNS);
	say("%-16s %3s  %-14s %3s %10s %10s %10s %8s %10s\n", "filter", "ch",
	    "path", "thr", "ms", "Msamp/s", "realtime", "vs seq", "max diff");
	for (int fi = 0; fi < NELEM(filters); fi++)
		for (int ci = 0; ci < NELEM(long_channels); ci++)
			measure_long(fi, long_channels[ci], long_frames, pool,
			             input, work, ref);
	emit_json(json, mode, NULL, nthreads);

	fx_pt_pool_free(pool);
	for (int c = 0; c < MAX_CH; c++) {
		free(input[c]);
		free(work[c]);
		free(ref[c]);
	}
	fx_accel_free(acc);
	return 0;
}
