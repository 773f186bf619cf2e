/* SPDX-License-Identifier: ISC */
/* fxd — benchmark of parallel-in-time SOS filtering (clients/file/ptime_run.c)
 * against the sequential kernel (fx_sos_process), and the measurement
 * behind fx_pt_switch_over().
 *
 * Usage: bench_ptime [--quick] [--json FILE|-] [--threads N] [--budget S]
 *   The table goes to stdout; --json FILE also writes JSON to FILE, and
 *   with --json - the JSON goes to stdout and the table to stderr. --quick
 *   is a smoke run of a few seconds; the full run takes a few minutes.
 *   --threads N measures 1..N threads (default: the online CPUs);
 *   --budget S is the seconds spent per (filter, frames, channels).
 *
 * Cases: an order-10 Butterworth lowpass at 1 kHz, 48 kHz (5 sections:
 * the fix-up stops after ~2.5k samples) and an order-4 highpass at 20 Hz,
 * 96 kHz (2 sections: the fix-up runs whole segments), float32, blocks of
 * 256 .. 2^20 frames on 1, 2 and 8 channels, state carried from block to
 * block. Variants: "seq" is fx_pt_filter_process without a pool (the
 * sequential fx_sos kernel, as below the switch-over), "par P" the same
 * with a pool of P threads and the threshold at 1 frame.
 *
 * Method: each call is timed on its own (CLOCK_MONOTONIC); the input is
 * copied back before each call, untimed. Variants run interleaved in
 * rounds, the order rotating, until the budget is spent (at least 5
 * rounds), so noise on the shared machine hits all alike. Reported per
 * variant: median, best and p90 per call, ns per sample-section (one
 * channel-sample through one section) and the speedup of the median over
 * seq's.
 *
 * The switch-over: the shortest block from which, at every longer block
 * measured, par N (all threads) has a lower median than seq for every
 * filter and channel count that the cost model (the default rule of
 * fx_pt_filter_process, column "pred") would split, refined by bisection
 * between the grid points around it. Where the threads take turns instead
 * of running at once (N equal jobs take about N times one job: the
 * development VM at times), the decision uses the "model" column instead:
 * each call's critical path (fx_pt_filter_timing) plus the measured
 * dispatch cost.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_common.h"
#include "bench/bench_filters.h"
#include "dsp/denormal.h"
#include "dsp/design.h"
#include "clients/file/ptime_run.h"

enum {
	MAX_CH = 8,
	MAX_THREADS = 64,
	MAX_FRAMES = 1 << 20,
	MAX_ROUNDS = 2000,
	MIN_ROUNDS = 5,
};

static const int channel_counts[] = {1, 2, 8};

typedef struct {
	int filter, frames, channels, threads; ///< threads 1: seq
	double median_ns, best_ns, p90_ns;
	double crit_ns;   ///< median critical path (fx_pt_filter_timing)
	double model_ns;  ///< crit_ns + dispatches * the measured dispatch cost
	double predicted; ///< fx_pt_filter_predicted_gain
	int rounds;
} Result;

static Result *results;
static int n_results, cap_results;
static float *input[MAX_CH], *work[MAX_CH];
static FxPtPool *pools[MAX_THREADS + 1];
static double dispatch; ///< ns per fx_pt_pool_run of an empty job
static int use_model;   ///< decide on model_ns: threads do not run at once

static void fill_input(void)
{
	unsigned s = 12345;
	for (int c = 0; c < MAX_CH; c++) {
		input[c] = malloc(sizeof(float) * MAX_FRAMES);
		work[c] = malloc(sizeof(float) * MAX_FRAMES);
		if (!input[c] || !work[c]) {
			fprintf(stderr, "bench_ptime: out of memory\n");
			exit(1);
		}
		for (int i = 0; i < MAX_FRAMES; i++) {
			s = s * 1664525u + 1013904223u;
			input[c][i] = (float)((s >> 8) * (1.0 / 16777216.0) -
			                      0.5) +
			              0.2f * (float)sin(i * 0.001 * (c + 1));
		}
	}
}

/* Times variants (threads[0..nv), 1 = seq) on one configuration; returns
 * the medians in med[] and records results. */
static void measure(int fi, int frames, int channels, const int *threads,
                    int nv, double budget_s, double *med)
{
	const Filter *flt = &filters[fi];
	FxPtFilter *f[MAX_THREADS + 1];
	static double t[MAX_THREADS + 1][MAX_ROUNDS],
		cr[MAX_THREADS + 1][MAX_ROUNDS];
	static int nd[MAX_THREADS + 1];
	for (int v = 0; v < nv; v++) {
		FxStatus st;
		f[v] = fx_pt_filter_new(flt->sec, flt->n, channels, frames, &st);
		if (!f[v]) {
			fprintf(stderr, "bench_ptime: %s\n", fx_strerror(st));
			exit(1);
		}
		fx_pt_filter_set_threshold(f[v], 1);
	}
	double end = bench_now_ns() + budget_s * 1e9;
	int rounds = 0;
	while (rounds < MAX_ROUNDS &&
	       (rounds < MIN_ROUNDS || bench_now_ns() < end)) {
		for (int j = 0; j < nv; j++) {
			int v = (j + rounds) % nv;
			for (int c = 0; c < channels; c++)
				memcpy(work[c], input[c],
				       sizeof(float) * (size_t)frames);
			FxPtPool *pool = threads[v] > 1 ? pools[threads[v]]
			                                : NULL;
			double t0 = bench_now_ns();
			fx_pt_filter_process(f[v], pool, work, frames);
			t[v][rounds] = bench_now_ns() - t0;
			FxPtTiming tm = fx_pt_filter_timing(f[v]);
			cr[v][rounds] = tm.critical_ns;
			nd[v] = tm.dispatches;
		}
		rounds++;
	}
	for (int v = 0; v < nv; v++) {
		double best = t[v][0];
		for (int r = 1; r < rounds; r++)
			best = fmin(best, t[v][r]);
		Result res = {
			fi,
			frames,
			channels,
			threads[v],
			0,
			best,
			0,
			0,
			0,
			fx_pt_filter_predicted_gain(f[v], threads[v], frames),
			rounds};
		res.p90_ns = bench_quantile(t[v], rounds, 0.9);
		res.median_ns = bench_quantile(t[v], rounds, 0.5);
		res.crit_ns = bench_quantile(cr[v], rounds, 0.5);
		res.model_ns = threads[v] > 1 ? res.crit_ns + nd[v] * dispatch
		                              : res.median_ns;
		med[v] = use_model ? res.model_ns : res.median_ns;
		if (n_results == cap_results) {
			cap_results = cap_results ? 2 * cap_results : 256;
			results = realloc(results,
			                  sizeof *results * (size_t)cap_results);
			if (!results)
				exit(1);
		}
		results[n_results++] = res;
		fx_pt_filter_free(f[v]);
	}
}

static void print_config(int fi, int frames, int channels, int nv)
{
	const Filter *flt = &filters[fi];
	const Result *seq = &results[n_results - nv];
	for (int v = 0; v < nv; v++) {
		const Result *r = &results[n_results - nv + v];
		double ss = (double)frames * channels * flt->n;
		char path[16] = "seq";
		if (r->threads > 1)
			snprintf(path, sizeof path, "par %d", r->threads);
		say("%-16s %8d %3d  %-6s %10.1f %10.1f %10.1f %7.3f %6.2fx "
		    "%10.1f %6.2fx %5.2fx %5d\n",
		    flt->name, frames, channels, path, r->median_ns / 1e3,
		    r->best_ns / 1e3, r->p90_ns / 1e3, r->median_ns / ss,
		    seq->median_ns / r->median_ns, r->model_ns / 1e3,
		    seq->median_ns / r->model_ns, r->predicted, r->rounds);
	}
}

/* At @p frames, does par N win for every filter and channel count that
 * the cost model would split (and is there one)? */
static int par_wins(int frames, int nthreads, double budget_s)
{
	int th[2] = {1, nthreads}, ok = 1, any = 0;
	double med[2];
	for (int fi = 0; fi < NELEM(filters); fi++)
		for (int ci = 0; ci < NELEM(channel_counts); ci++) {
			measure(fi, frames, channel_counts[ci], th, 2, budget_s,
			        med);
			int approve = results[n_results - 1].predicted >= 1.2;
			n_results -= 2; // probes are not results
			ok &= !approve || med[1] < med[0];
			any |= approve;
		}
	return ok && any;
}

/* A fixed amount of arithmetic per thread. */
static void spin_job(void *arg, int i)
{
	(void)i;
	volatile double x = 1;
	for (long k = 0, n = *(const long *)arg; k < n; k++)
		x = x * 1.0000001 + 1e-9;
}

/* How much longer N threads take for N jobs than one thread for one:
 * 1.0 when the threads run at once, N when they take turns on one CPU. */
static double serialisation(FxPtPool *p, int n)
{
	long iters = 2000000;
	double one = 1e300, all = 1e300;
	for (int r = 0; r < 5; r++) {
		double t0 = bench_now_ns();
		spin_job(&iters, 0);
		double t1 = bench_now_ns();
		fx_pt_pool_run(p, spin_job, &iters);
		double t2 = bench_now_ns();
		one = fmin(one, t1 - t0);
		all = fmin(all, t2 - t1);
	}
	(void)n;
	return all / one;
}

static void nothing(void *arg, int i)
{
	(void)arg;
	(void)i;
}

static double dispatch_ns(FxPtPool *p)
{
	enum { N = 2000 };
	static double t[N];
	for (int i = 0; i < N; i++) {
		double t0 = bench_now_ns();
		fx_pt_pool_run(p, nothing, NULL);
		t[i] = bench_now_ns() - t0;
	}
	return bench_quantile(t, N, 0.5);
}

static void write_json(FILE *o, const char *mode, int nthreads, double disp,
                       double serial, long measured, long compiled)
{
	fprintf(o, "{\n  \"bench\": \"ptime\",\n  \"mode\": \"%s\",\n", mode);
	fprintf(o, "  \"threads_max\": %d,\n  \"pool_run_median_ns\": %.0f,\n",
	        nthreads, disp);
	fprintf(o, "  \"serialisation\": %.3f,\n", serial);
	fprintf(o, "  \"switch_over_basis\": \"%s\",\n",
	        use_model ? "model" : "wall");
	fprintf(o, "  \"switch_over_measured\": %ld,\n", measured);
	fprintf(o, "  \"switch_over_compiled\": %ld,\n", compiled);
	fprintf(o, "  \"results\": [\n");
	for (int i = 0; i < n_results; i++) {
		const Result *r = &results[i];
		const Filter *flt = &filters[r->filter];
		double seq = r->median_ns;
		for (int j = i; j >= 0; j--) // this configuration's seq row
			if (results[j].threads == 1 &&
			    results[j].filter == r->filter &&
			    results[j].frames == r->frames &&
			    results[j].channels == r->channels) {
				seq = results[j].median_ns;
				break;
			}
		fprintf(o,
		        "    {\"filter\": \"%s\", \"sections\": %d, \"frames\": %d, "
		        "\"channels\": %d, \"threads\": %d, \"path\": \"%s\", "
		        "\"median_us\": %.3f, \"best_us\": %.3f, \"p90_us\": %.3f, "
		        "\"ns_per_sample_section\": %.4f, \"speedup\": %.3f, "
		        "\"critical_us\": %.3f, \"model_us\": %.3f, "
		        "\"model_speedup\": %.3f, \"predicted_speedup\": %.3f, "
		        "\"rounds\": %d}%s\n",
		        flt->name, flt->n, r->frames, r->channels, r->threads,
		        r->threads > 1 ? "parallel" : "sequential",
		        r->median_ns / 1e3, r->best_ns / 1e3, r->p90_ns / 1e3,
		        r->median_ns / ((double)r->frames * r->channels * flt->n),
		        seq / r->median_ns, r->crit_ns / 1e3, r->model_ns / 1e3,
		        seq / r->model_ns, r->predicted, r->rounds,
		        i + 1 < n_results ? "," : "");
	}
	fprintf(o, "  ]\n}\n");
}

int main(int argc, char **argv)
{
	BenchArgs args = bench_args_parse(argc, argv, "bench_ptime",
	                                  MAX_THREADS, 0.02, 0.4);
	int quick = args.quick, nthreads = args.threads;
	double budget = args.budget;
	const char *json = args.json;
	fx_denormals_off(); // as the pool's workers
	FxStatus design_st = bench_filters_design();
	if (design_st != FX_OK) {
		fprintf(stderr, "bench_ptime: %s\n", fx_strerror(design_st));
		return 1;
	}
	fill_input();
	for (int t = 2; t <= nthreads; t++) {
		FxStatus st;
		pools[t] = fx_pt_pool_new(t, &st);
		if (!pools[t]) {
			fprintf(stderr, "bench_ptime: pool: %s\n",
			        fx_strerror(st));
			return 1;
		}
	}
	double disp = nthreads > 1 ? dispatch_ns(pools[nthreads]) : 0;
	double serial = nthreads > 1 ? serialisation(pools[nthreads], nthreads)
	                             : 1;
	dispatch = disp;
	use_model = nthreads > 1 && serial > 1 + 0.5 * (nthreads - 1);
	say("bench_ptime (%s): threads 1..%d, pool dispatch %.1f us (median, "
	    "%d threads); %d equal jobs on %d threads take %.2fx one job%s\n",
	    quick ? "quick" : "full", nthreads, disp / 1e3, nthreads, nthreads,
	    nthreads, serial,
	    use_model ? ": the threads take turns, so the switch-over comes "
	                "from the model (critical path + dispatches)"
	              : "");
	say("times per call in us; model = critical path (longest job per "
	    "phase + the caller's steps) + %.1f us per dispatch\n",
	    disp / 1e3);
	say("%-16s %8s %3s  %-6s %10s %10s %10s %7s %7s %10s %7s %6s %5s\n",
	    "filter", "frames", "ch", "path", "median", "best", "p90", "ns/s-s",
	    "speedup", "model", "m.speed", "pred", "rounds");
	int th[MAX_THREADS + 1], nv = 0;
	for (int t = 1; t <= nthreads; t++)
		th[nv++] = t;
	int lo_frames = 256, hi_frames = quick ? 1 << 16 : MAX_FRAMES;
	int step = quick ? 4 : 2;
	/* ok[g]: at grid point g, par N won wherever the cost model would
	 * split (predicted gain >= 1.2); also count where the model and the
	 * measurement disagree */
	int ok[32], ng = 0, grid[32], missed = 0, harmful = 0, approved[32];
	for (int frames = lo_frames; frames <= hi_frames; frames *= step)
		grid[ng++] = frames;
	for (int g = 0; g < ng; g++) {
		ok[g] = 1;
		approved[g] = 0;
		for (int fi = 0; fi < NELEM(filters); fi++)
			for (int ci = 0; ci < NELEM(channel_counts); ci++) {
				double med[MAX_THREADS + 1];
				int ch = channel_counts[ci];
				measure(fi, grid[g], ch, th, nv, budget, med);
				print_config(fi, grid[g], ch, nv);
				if (nv < 2)
					continue;
				int approve = results[n_results - 1].predicted >=
				              1.2;
				int win = med[nv - 1] < med[0];
				approved[g] += approve;
				ok[g] &= !approve || win;
				harmful += approve && !win;
				missed += !approve && med[nv - 1] * 1.2 < med[0];
			}
	}
	/* the first grid point from which it holds at every longer one */
	long measured = -1;
	if (nthreads > 1) {
		int first = ng;
		for (int g = ng - 1; g >= 0 && ok[g]; g--)
			first = g;
		while (first < ng && !approved[first])
			first++; // nothing split there: no evidence
		if (first < ng) {
			measured = grid[first];
			if (first > 0 && !quick) {
				/* bisect between the grid points (geometric) */
				long lo = grid[first - 1], hi = grid[first];
				while (hi > lo * 1.19) {
					long mid = (long)sqrt((double)lo *
					                      (double)hi);
					mid = (mid + 63) / 64 * 64;
					if (mid <= lo || mid >= hi)
						break;
					if (par_wins((int)mid, nthreads, budget))
						hi = mid;
					else
						lo = mid;
				}
				measured = hi;
			}
		}
		say("cost model vs measurement (%d threads): split but lost %d "
		    "times, kept sequential where splitting won by 20%% %d times\n",
		    nthreads, harmful, missed);
	}
	long compiled = fx_pt_switch_over();
	const char *basis = use_model ? "modelled" : "measured";
	if (measured > 0)
		say("switch-over (%s): parallel (%d threads) beats sequential for "
		    "every filter and channel count the cost model splits, from "
		    "%ld frames on; fx_pt_switch_over() = %ld\n",
		    basis, nthreads, measured, compiled);
	else
		say("switch-over (%s): none found (%s); fx_pt_switch_over() = "
		    "%ld\n",
		    basis,
		    nthreads > 1 ? "parallel never won everywhere" : "one thread",
		    compiled);
	if (json) {
		FILE *o = strcmp(json, "-") ? fopen(json, "w") : stdout;
		if (!o) {
			perror(json);
			return 1;
		}
		write_json(o, quick ? "quick" : "full", nthreads, disp, serial,
		           measured, compiled);
		if (o != stdout && fclose(o)) {
			perror(json);
			return 1;
		}
	}
	for (int t = 2; t <= nthreads; t++)
		fx_pt_pool_free(pools[t]);
	for (int c = 0; c < MAX_CH; c++) {
		free(input[c]);
		free(work[c]);
	}
	free(results);
	return 0;
}
