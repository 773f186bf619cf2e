/* SPDX-License-Identifier: ISC */
/* fxd — parallel-in-time filtering of long blocks on the CPU: a cascade of
 * second-order sections over planar channels, the block cut into segments
 * that worker threads filter at once (the math is in ptime.h).
 *
 * A block of F frames on C channels with P threads is cut into K segments
 * per channel, K = min(P * FX_PT_LANES / C, F / FX_PT_MIN_SEGMENT, 256)
 * (at least 1). Segments are L = F / K frames long; the first segment of a
 * channel also takes the F - K*L frames left over, at its start. The C*K
 * (segment, channel) streams run FX_PT_LANES at a time in lockstep (SIMD
 * across streams), spread evenly over at most P jobs per phase:
 *   1. every stream from zero state (the first segment of a channel from the
 *      true state), keeping its zero-state output in double and its end
 *      state;
 *   2. on the calling thread, the true state entering each segment, through
 *      the segment transition A^L (computed by squaring in double-double,
 *      kept while L stays the same), carried in double-double;
 *   3. every segment but the first: zero-state output plus the zero-input
 *      response of its true state, rounded once.
 * With K = 1 (many channels) step 1 alone runs, from the true state. A
 * pass covers at most max(FX_PT_CHUNK / C, FX_PT_MIN_CHUNK) frames (the
 * scratch stays in cache); longer blocks go in equal chunks.
 *
 * Whether to split: by default, when frames >= fx_pt_switch_over() and a
 * cost model (ptime_run.c, fitted to bench_ptime) predicts a gain of 20%
 * for this filter, channel count and thread count: the zero-input response
 * of a slowly decaying filter (a 20 Hz highpass) spans whole segments,
 * which doubles the parallel work, and fx_sos runs two channels for the
 * price of one; so on two threads, for instance, stereo through that
 * highpass stays sequential. fx_pt_filter_set_threshold replaces the
 * whole rule by a plain threshold.
 *
 * Which segments, and so the output, depend only on (coefficients, state,
 * frames, thread count); jobs go to threads in a fixed order. Workers set
 * flush-to-zero (fx_denormals_off); so should the calling thread, since it
 * runs jobs too.
 *
 * Threads: the pool's workers spin (yielding every few microseconds) for
 * up to 2 ms after each job before they sleep, so the phases of a call,
 * and calls in quick succession, reach running workers; the caller spins
 * while it waits for them.
 */
#ifndef FX_PTIME_RUN_H
#define FX_PTIME_RUN_H

#include "dsp/design.h"
#include "dsp/status.h"

enum {
	FX_PT_MIN_SEGMENT = 256,   ///< shortest segment the split makes
	FX_PT_CHUNK = 1 << 18,     ///< samples (frames * channels) per pass
	FX_PT_MIN_CHUNK = 1 << 14, ///< frames per pass, at least
	FX_PT_MAX_THREADS = 256,   ///< largest pool
};

typedef struct FxPtPoolImpl FxPtPool;

/** A pool of @p threads (1..FX_PT_MAX_THREADS) threads: threads - 1 workers
 *  started here, plus the calling thread, which runs its share of every
 *  job; 1 runs everything on the caller. Returns NULL and sets @p st on
 *  failure. */
FxPtPool *fx_pt_pool_new(int threads, FxStatus *st);

/** Stops the workers and frees @p p; NULL is a no-op. */
void fx_pt_pool_free(FxPtPool *p);

/** The thread count given to fx_pt_pool_new. */
int fx_pt_pool_threads(const FxPtPool *p);

/** Runs fn(arg, i) for i = 0..threads-1, i on thread i (0: the caller), and
 *  returns when all have returned. Calls from several threads take turns. */
void fx_pt_pool_run(FxPtPool *p, void (*fn)(void *arg, int i), void *arg);

typedef struct FxPtFilterImpl FxPtFilter;

/** One cascade of @p nsec (0..FX_MAX_SECTIONS; 0 passes samples through)
 *  sections @p sec over @p channels (1..64) planar channels, for blocks of
 *  up to @p max_frames (>= 1) frames; allocates all scratch (at most
 *  8 * max(FX_PT_CHUNK, channels * FX_PT_MIN_CHUNK) bytes, less for small
 *  max_frames) and measures how long the filter's zero-input response
 *  lasts (for the cost model; a few ms at most). Zero state. Returns NULL
 *  and sets @p st on failure. */
FxPtFilter *fx_pt_filter_new(const FxSection *sec, int nsec, int channels,
                             long max_frames, FxStatus *st);

/** Frees @p f; NULL is a no-op. */
void fx_pt_filter_free(FxPtFilter *f);

/** Zeroes the state. */
void fx_pt_filter_reset(FxPtFilter *f);

/** Filters @p frames (<= max_frames; more go in max_frames pieces) frames
 *  of buf[0..channels) in place, the state carried across calls (double).
 *  With a pool of more than one thread, frames >= fx_pt_switch_over() and
 *  a predicted gain (header comment), or frames >= the threshold set by
 *  fx_pt_filter_set_threshold, the block is split and runs on @p pool;
 *  otherwise it runs on the caller through fx_sos_process. @p pool may be
 *  NULL (sequential). Allocates nothing. One call at a time per filter;
 *  filters may share a pool (their phases take turns). */
void fx_pt_filter_process(FxPtFilter *f, FxPtPool *pool, float *const *buf,
                          long frames);

/** fx_pt_filter_process for double samples; the sequential path runs the
 *  channels through the ptime.h recursion, FX_PT_LANES at a time. */
void fx_pt_filter_process_f64(FxPtFilter *f, FxPtPool *pool, double *const *buf,
                              long frames);

/** From now on process goes parallel exactly when the pool has more than
 *  one thread and frames >= @p frames (>= 1), whatever the cost model
 *  says: tests and benchmarks force either path with it. */
void fx_pt_filter_set_threshold(FxPtFilter *f, long frames);

/** Reads the state of @p section on @p channel (as fx_sos_get_state). */
void fx_pt_filter_get_state(const FxPtFilter *f, int channel, int section,
                            double z[2]);

/** Whether process would split a block of @p frames on @p threads
 *  threads (the default rule, or the threshold if one was set). */
int fx_pt_filter_would_split(const FxPtFilter *f, int threads, long frames);

/** The cost model's predicted speedup of splitting @p frames on @p threads
 *  threads over fx_sos_process (the default rule splits from 1.2 on). */
double fx_pt_filter_predicted_gain(const FxPtFilter *f, int threads, long frames);

/** How long the filter's zero-input response lasts, in samples, as
 *  measured by fx_pt_filter_new (capped at FX_PT_CHUNK). */
long fx_pt_filter_decay(const FxPtFilter *f);

/** Segments per channel a parallel pass over @p frames frames would make
 *  on @p channels channels with @p threads threads (0: it would run
 *  sequentially, threads < 2). */
int fx_pt_plan_segments(int channels, int threads, long frames);

/** Zero-input samples the last process call computed over all segments
 *  (the fix-up's work; its early stop shows here). */
long fx_pt_filter_zir_samples(const FxPtFilter *f);

/** Timing of a process call, for benchmarks. */
typedef struct {
	double wall_ns;     ///< the whole call
	double critical_ns; ///< its critical path: the longest job of each
			    ///< parallel phase plus the caller's own steps;
			    ///< the wall time if the pool's threads ran at once
			    ///< and handing out jobs were free
	int dispatches;     ///< fx_pt_pool_run calls it made
} FxPtTiming;

/** The timing of the last process call. */
FxPtTiming fx_pt_filter_timing(const FxPtFilter *f);

/** The measured switch-over length in frames (see ptime_run.c): below it
 *  the sequential kernel wins on the machines fxd targets. */
long fx_pt_switch_over(void);

#endif
