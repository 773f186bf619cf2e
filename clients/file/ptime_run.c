/* SPDX-License-Identifier: ISC */
#include "clients/file/ptime_run.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsp/denormal.h"
#include "dsp/ptime.h"
#include "dsp/sos.h"

_Static_assert((int)FX_PT_MAX_SECTIONS == (int)FX_MAX_SECTIONS,
               "ptime.h and design.h disagree on the section limit");

enum {
	W = FX_PT_LANES,
	MAX_SEGMENTS = 256, ///< per channel
	MAX_CHANNELS = 64,  ///< as fx_sos
};

/* ---- pool ---------------------------------------------------------------- */

/* Workers spin between jobs for up to SPIN_NS before they sleep on a
 * condition variable, and the runner spins while it waits for them: on
 * the development VM, waking a thread whose vCPU had gone idle took
 * 200-1000 us (a 57 us job took 244 us of wall time). Spinning loops
 * yield every few microseconds, so that threads sharing a CPU still take
 * turns: that VM's kernel packs a process's threads onto one vCPU
 * (sched_vcpu_pack), where spinning without yielding cost whole 2.5 ms
 * time slices. */
enum {
	SPIN_NS = 2000000, ///< a worker sleeps after 2 ms without a job
	SPIN_CHECK = 256,  ///< pauses between clock reads and yields
};

typedef struct {
	FxPtPool *pool;
	int index;
} Worker;

struct FxPtPoolImpl {
	int threads;
	int started;             ///< workers running
	pthread_t *tid;          ///< [threads - 1]
	Worker *workers;         ///< [threads - 1]
	pthread_mutex_t run_mu;  ///< held through a whole fx_pt_pool_run
	void (*fn)(void *, int); ///< the job; written by: the runner, before gen
	void *arg;               ///< written by: the runner, before gen
	_Atomic unsigned long gen; ///< bumped (release) by the runner per job
	_Atomic int pending;       ///< workers still in the job
	_Atomic int quit;          ///< set by fx_pt_pool_free
	pthread_mutex_t mu; ///< guards sleepers and the sleep/wake handshake
	pthread_cond_t go;  ///< gen moved, or quit
	int sleepers;       ///< workers in pthread_cond_wait; under mu
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Waits until gen differs from @p seen (or quit); returns the new gen. */
static unsigned long wait_job(FxPtPool *p, unsigned long seen)
{
	long long since = mono_ns();
	for (unsigned i = 1;; i++) {
		unsigned long g = atomic_load_explicit(&p->gen,
		                                       memory_order_acquire);
		if (g != seen ||
		    atomic_load_explicit(&p->quit, memory_order_relaxed))
			return g;
		cpu_relax();
		if (i % SPIN_CHECK)
			continue;
		if (mono_ns() - since < SPIN_NS) {
			sched_yield();
			continue;
		}
		/* Sleep. The runner bumps gen before it takes mu to look at
		 * sleepers, so either we see the new gen here or it sees us. */
		pthread_mutex_lock(&p->mu);
		p->sleepers++;
		while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
			pthread_cond_wait(&p->go, &p->mu);
		p->sleepers--;
		pthread_mutex_unlock(&p->mu);
		since = mono_ns();
	}
}

static void *worker_main(void *v)
{
	Worker *w = v;
	FxPtPool *p = w->pool;
	unsigned long seen = 0;
	fx_denormals_off();
	for (;;) {
		seen = wait_job(p, seen);
		if (atomic_load(&p->quit))
			break;
		p->fn(p->arg, w->index);
		atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
	}
	return NULL;
}

FxPtPool *fx_pt_pool_new(int threads, FxStatus *st)
{
	if (threads < 1 || threads > FX_PT_MAX_THREADS) {
		*st = FX_ERR_RANGE;
		return NULL;
	}
	FxPtPool *p = calloc(1, sizeof *p);
	if (!p) {
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	p->threads = threads;
	atomic_init(&p->gen, 0);
	atomic_init(&p->pending, 0);
	atomic_init(&p->quit, 0);
	pthread_mutex_init(&p->run_mu, NULL);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	if (threads > 1) {
		p->tid = calloc((size_t)threads - 1, sizeof *p->tid);
		p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
		if (!p->tid || !p->workers) {
			fx_pt_pool_free(p);
			*st = FX_ERR_NOMEM;
			return NULL;
		}
	}
	for (int i = 0; i + 1 < threads; i++) {
		p->workers[i].pool = p;
		p->workers[i].index = i + 1;
		if (pthread_create(&p->tid[i], NULL, worker_main, &p->workers[i])) {
			fx_pt_pool_free(p);
			*st = FX_ERR_NOMEM;
			return NULL;
		}
		p->started++;
	}
	*st = FX_OK;
	return p;
}

void fx_pt_pool_free(FxPtPool *p)
{
	if (!p)
		return;
	atomic_store(&p->quit, 1);
	pthread_mutex_lock(&p->mu);
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->started; i++)
		pthread_join(p->tid[i], NULL);
	pthread_cond_destroy(&p->go);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->run_mu);
	free(p->workers);
	free(p->tid);
	free(p);
}

int fx_pt_pool_threads(const FxPtPool *p)
{
	return p->threads;
}

void fx_pt_pool_run(FxPtPool *p, void (*fn)(void *arg, int i), void *arg)
{
	if (p->threads == 1) {
		fn(arg, 0);
		return;
	}
	pthread_mutex_lock(&p->run_mu);
	p->fn = fn;
	p->arg = arg;
	atomic_store_explicit(&p->pending, p->threads - 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->gen, 1, memory_order_seq_cst);
	pthread_mutex_lock(&p->mu);
	if (p->sleepers)
		pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	fn(arg, 0);
	for (unsigned i = 1;
	     atomic_load_explicit(&p->pending, memory_order_acquire); i++) {
		cpu_relax();
		if (i % SPIN_CHECK == 0)
			sched_yield();
	}
	pthread_mutex_unlock(&p->run_mu);
}

/* ---- the plan ------------------------------------------------------------ */

int fx_pt_plan_segments(int channels, int threads, long frames)
{
	if (threads < 2 || channels < 1 || frames < 1)
		return 0;
	long k = (long)threads * W / channels;
	if (k > frames / FX_PT_MIN_SEGMENT)
		k = frames / FX_PT_MIN_SEGMENT;
	if (k > MAX_SEGMENTS)
		k = MAX_SEGMENTS;
	return k < 1 ? 1 : (int)k;
}

/* One parallel pass over a chunk. Stream s is segment k = s % K of channel
 * c = s / K; its lockstep part covers [r + k*L, r + (k+1)*L), and segment 0
 * also [0, r) before it. Group g (a job) holds streams
 * [g*S/G, (g+1)*S/G), at most W; thread i runs groups i, i+P, ... */
typedef struct {
	FxPtFilter *f;
	float *const *bf;  ///< the block (float samples), or NULL
	double *const *bd; ///< the block (double samples), or NULL
	long off;          ///< the chunk's first frame in the block
	long frames, L, r;
	int K, S, G, P;
	int phase; ///< 1: zero-state, 3: fix-up, 0: K == 1 (direct)
	long zir[FX_PT_MAX_THREADS];       ///< per thread: zero-input samples
	long long busy[FX_PT_MAX_THREADS]; ///< per thread: ns in this phase
} Pass;

typedef struct {
	void (*group)(Pass *p, int g, int thread);
	void (*seq64)(FxPtFilter *f, double *const *buf, long off, long n);
	void (*carry)(FxPtFilter *f, const Pass *p);
} Kernels;

struct FxPtFilterImpl {
	int channels;
	int m; ///< state doubles per channel, 2 * sections
	long max_frames;
	long chunk;     ///< frames per parallel pass, at most
	long chunk_max; ///< frames per channel in zs: min(chunk, max_frames)
	long threshold; ///< frames from which process goes parallel
	int forced;     ///< threshold set: no cost model
	long decay;     ///< zero-input samples to FX_PT_TOL_F32, measured
	FxPtCoef q;
	FxSos *sos; ///< the sequential float path; the state between calls
	const Kernels *kern;
	double *zs; ///< [channels][chunk_max] zero-state outputs (float path)
	double *e;  ///< [channels * MAX_SEGMENTS][m] end, then entry states
	double *T, *Tlo;   ///< [m][m] A^trans_len, double-double
	double *work;      ///< [4][m][m]
	long trans_len;    ///< -1 until T is computed
	long zir;          ///< zero-input samples, last process call
	FxPtTiming timing; ///< of the last process call
	Pass pass;         ///< the pass in progress
};

/* ---- per-group work (instantiated per ISA below) ------------------------- */

static void load_state(const FxPtFilter *f, int c, double *z)
{
	for (int k = 0; k < f->q.n; k++)
		fx_sos_get_state(f->sos, c, k, z + 2 * k);
}

static void store_state(FxPtFilter *f, int c, const double *z)
{
	for (int k = 0; k < f->q.n; k++)
		fx_sos_set_state(f->sos, c, k, z + 2 * k);
}

/* Lane l of a lane state from / into m doubles. */
static inline void lane_set(double *z, int m, int l, const double *s)
{
	for (int i = 0; i < m; i++)
		z[i * W + l] = s[i];
}

static inline void lane_get(const double *z, int m, int l, double *s)
{
	for (int i = 0; i < m; i++)
		s[i] = z[i * W + l];
}

/* Lanes past the group's last stream repeat it (same pointers and state:
 * they compute and write the same values). */
static inline void pad_lanes(double *z, int m, int cnt, const void **a,
                             const void **b)
{
	for (int l = cnt; l < W; l++) {
		a[l] = a[cnt - 1];
		b[l] = b[cnt - 1];
		for (int i = 0; i < m; i++)
			z[i * W + l] = z[i * W + cnt - 1];
	}
}

static inline void group_range(const Pass *p, int g, int *s0, int *cnt)
{
	*s0 = (int)((long)g * p->S / p->G);
	*cnt = (int)((long)(g + 1) * p->S / p->G) - *s0;
}

/* Phase 1: zero-state response and end state of each stream. */
static inline void phase1(Pass *p, int g)
{
	FxPtFilter *f = p->f;
	const int m = f->m;
	int s0, cnt;
	group_range(p, g, &s0, &cnt);
	const void *x[W], *y[W];
	double z[FX_PT_MAX_STATE * W];
	memset(z, 0, sizeof(double) * (size_t)m * W);
	for (int l = 0; l < cnt; l++) {
		int s = s0 + l, c = s / p->K, k = s % p->K;
		long at = p->off + p->r + k * p->L;
		double *zc = f->zs + (size_t)c * f->chunk_max;
		if (k == 0) {
			double t[FX_PT_MAX_STATE];
			load_state(f, c, t);
			if (p->bf)
				fx_pt_segment_f32(&f->q, p->bf[c] + p->off, zc,
				                  p->r, t);
			else
				fx_pt_segment_f64(&f->q, p->bd[c] + p->off,
				                  p->bd[c] + p->off, p->r, t);
			lane_set(z, m, l, t);
		}
		if (p->bf) {
			x[l] = p->bf[c] + at;
			y[l] = zc + p->r + k * p->L;
		} else {
			x[l] = y[l] = p->bd[c] + at;
		}
	}
	pad_lanes(z, m, cnt, x, y);
	if (p->bf)
		fx_pt_segment_lanes_f32(&f->q, (const float *const *)x,
		                        (double *const *)y, p->L, z);
	else
		fx_pt_segment_lanes_f64(&f->q, (const double *const *)x,
		                        (double *const *)y, p->L, z);
	for (int l = 0; l < cnt; l++)
		lane_get(z, m, l, f->e + (size_t)(s0 + l) * m);
}

/* Phase 3: the zero-input response of the true entry state added, and the
 * rounding to float. */
static inline long phase3(Pass *p, int g)
{
	FxPtFilter *f = p->f;
	const int m = f->m;
	int s0, cnt, live = 0;
	group_range(p, g, &s0, &cnt);
	const void *zsrc[W], *y[W];
	double z[FX_PT_MAX_STATE * W];
	memset(z, 0, sizeof(double) * (size_t)m * W);
	for (int l = 0; l < cnt; l++) {
		int s = s0 + l, c = s / p->K, k = s % p->K;
		long at = p->off + p->r + k * p->L;
		const double *zc = f->zs + (size_t)c * f->chunk_max;
		if (k > 0) {
			lane_set(z, m, l, f->e + (size_t)s * m);
			live++;
		}
		if (p->bf) {
			if (k == 0)
				for (long t = 0; t < p->r; t++)
					p->bf[c][p->off + t] = (float)zc[t];
			zsrc[l] = zc + p->r + k * p->L;
			y[l] = p->bf[c] + at;
		} else {
			zsrc[l] = y[l] = p->bd[c] + at;
		}
	}
	pad_lanes(z, m, cnt, zsrc, y);
	long done;
	if (p->bf)
		done = fx_pt_fixup_lanes_f32(&f->q, (const double *const *)zsrc,
		                             (float *const *)y, p->L, z,
		                             FX_PT_TOL_F32);
	else
		done = fx_pt_fixup_lanes_f64(&f->q, (const double *const *)zsrc,
		                             (double *const *)y, p->L, z,
		                             FX_PT_TOL_F64);
	return done * live;
}

/* K == 1: each stream is a whole channel from its true state. */
static inline void direct(Pass *p, int g)
{
	FxPtFilter *f = p->f;
	const int m = f->m;
	int s0, cnt;
	group_range(p, g, &s0, &cnt);
	const void *x[W], *y[W];
	double z[FX_PT_MAX_STATE * W];
	for (int l = 0; l < cnt; l++) {
		int c = s0 + l;
		double t[FX_PT_MAX_STATE];
		load_state(f, c, t);
		lane_set(z, m, l, t);
		if (p->bf)
			x[l] = y[l] = p->bf[c] + p->off;
		else
			x[l] = y[l] = p->bd[c] + p->off;
	}
	pad_lanes(z, m, cnt, x, y);
	if (p->bf)
		fx_pt_filter_lanes_f32(&f->q, (const float *const *)x,
		                       (float *const *)y, p->frames, z);
	else
		fx_pt_filter_lanes_f64(&f->q, (const double *const *)x,
		                       (double *const *)y, p->frames, z);
	for (int l = 0; l < cnt; l++)
		lane_get(z, m, l, f->e + (size_t)(s0 + l) * m);
}

static inline void group_work(Pass *p, int g, int thread)
{
	if (p->phase == 1)
		phase1(p, g);
	else if (p->phase == 3)
		p->zir[thread] += phase3(p, g);
	else
		direct(p, g);
}

/* The sequential double path: channels W at a time from their state. */
static inline void seq64_work(FxPtFilter *f, double *const *buf, long off, long n)
{
	const int m = f->m;
	for (int c0 = 0; c0 < f->channels; c0 += W) {
		int cnt = f->channels - c0 < W ? f->channels - c0 : W;
		const void *x[W], *y[W];
		double z[FX_PT_MAX_STATE * W];
		for (int l = 0; l < cnt; l++) {
			double t[FX_PT_MAX_STATE];
			load_state(f, c0 + l, t);
			lane_set(z, m, l, t);
			x[l] = y[l] = buf[c0 + l] + off;
		}
		pad_lanes(z, m, cnt, x, y);
		fx_pt_filter_lanes_f64(&f->q, (const double *const *)x,
		                       (double *const *)y, n, z);
		for (int l = 0; l < cnt; l++) {
			double t[FX_PT_MAX_STATE];
			lane_get(z, m, l, t);
			store_state(f, c0 + l, t);
		}
	}
}

/* Phase 2: the true state entering each segment, and the final one. The
 * state runs in double-double from segment to segment: with a near-DC
 * cascade each product T s cancels ~3 digits, which would pile up over the
 * segments (measured 5e-11 instead of 2e-11 against sosfilt for the 20 Hz
 * highpass at 96 kHz). */
static inline void carry_work(FxPtFilter *f, const Pass *p)
{
	const int m = f->m, K = p->K;
	if (K > 1 && f->trans_len != p->L) {
		fx_pt_transition(&f->q, p->L, f->T, f->Tlo, f->work);
		f->trans_len = p->L;
	}
	for (int c = 0; c < f->channels; c++) {
		double *e = f->e + (size_t)c * K * m;
		double sh[FX_PT_MAX_STATE], sl[FX_PT_MAX_STATE] = {0};
		double th[FX_PT_MAX_STATE], tl[FX_PT_MAX_STATE];
		memcpy(sh, e, sizeof(double) * (size_t)m);
		for (int k = 1; k < K; k++) {
			double *ek = e + (size_t)k * m;
			fx_pt_affine_apply_dd(m, f->T, f->Tlo, sh, sl, ek, th,
			                      tl);
			memcpy(ek, sh, sizeof(double) * (size_t)m); // entry state
			memcpy(sh, th, sizeof(double) * (size_t)m);
			memcpy(sl, tl, sizeof(double) * (size_t)m);
		}
		store_state(f, c, sh);
	}
}

/* flatten inlines the header's loops into each variant, so they get the
 * variant's instruction set (without it GCC keeps them out of line, at the
 * baseline ISA). */
#define KERNELS(NAME, ATTR)                                                    \
	ATTR __attribute__((flatten)) static void NAME##_group(Pass *p, int g, \
	                                                       int thread)     \
	{                                                                      \
		group_work(p, g, thread);                                      \
	}                                                                      \
	ATTR __attribute__((flatten)) static void NAME##_seq64(                \
		FxPtFilter *f, double *const *buf, long off, long n)           \
	{                                                                      \
		seq64_work(f, buf, off, n);                                    \
	}                                                                      \
	ATTR __attribute__((flatten)) static void NAME##_carry(FxPtFilter *f,  \
	                                                       const Pass *p)  \
	{                                                                      \
		carry_work(f, p);                                              \
	}                                                                      \
	static const Kernels NAME##_kernels = {NAME##_group, NAME##_seq64,     \
	                                       NAME##_carry};

KERNELS(base, )

#if defined(__x86_64__) && defined(__GNUC__)
KERNELS(avx2, __attribute__((target("avx2,fma"))))

static const Kernels *pick_kernels(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return &avx2_kernels;
	return &base_kernels;
}
#else
static const Kernels *pick_kernels(void)
{
	return &base_kernels;
}
#endif

/* ---- when to split ------------------------------------------------------- */

/* How long the zero-input response lasts: from two states (all ones, and
 * alternating signs), samples until the state is below FX_PT_TOL_F32 of
 * where it started (the fix-up's own test), at most FX_PT_CHUNK. */
static long measure_decay(const FxPtCoef *q)
{
	const int m = 2 * q->n;
	long most = 0;
	for (int kind = 0; kind < 2 && m > 0; kind++) {
		double z[FX_PT_MAX_STATE], buf[FX_PT_BLOCK], r0, r;
		for (int i = 0; i < m; i++)
			z[i] = kind && (i & 1) ? -1.0 : 1.0;
		fx_pt_norm_lanes(m, z, 1, &r0);
		long t = 0;
		for (; t < FX_PT_CHUNK; t += FX_PT_BLOCK) {
			fx_pt_norm_lanes(m, z, 1, &r);
			if (r <= FX_PT_TOL_F32 * r0)
				break;
			memset(buf, 0, sizeof buf);
			fx_pt_block_1(q, z, buf, FX_PT_BLOCK);
		}
		most = t > most ? t : most;
	}
	return most;
}

/* The cost model behind the default rule, in ns, fitted to single-thread
 * measurements with AVX2 (bench_ptime's machine: 2-vCPU AMD EPYC VM):
 *   fx_sos_process: SEQ_A + SEQ_B*n per frame per channel pair (a pair
 *     costs what one channel does: 1.55 ns at n = 2, 2.19 at n = 5), and
 *     SEQ_2 for n <= 2 with two pairs or more, which its kernel
 *     interleaves (1.0 ns at n = 2, 8 channels);
 *   a lockstep group (FX_PT_LANES streams), per sample: zero-state
 *     LANE_A + LANE_B*n, zero-input fix-up ZIR_A + ZIR_B*n, rounding only
 *     CONV;
 *   a dispatch: DISPATCH (measured 0.1-0.4 us with the workers spinning,
 *     up to 1 ms when they had slept; 1 us is the rule's allowance).
 * The predicted speedups matched bench_ptime's (2 threads running at
 * once) within about 20% from 16k frames on (mono lp10 65536: 1.6x
 * predicted, 1.9x measured; stereo hp4: 0.77x / 0.84x) and are low below
 * (mono lp10 4096: 1.1x / 1.2x), where fx_pt_switch_over() decides. */
#define SEQ_A 1.15
#define SEQ_B 0.20
#define SEQ_2 1.0
#define LANE_A 4.2
#define LANE_B 1.26
#define ZIR_A 5.4
#define ZIR_B 1.34
#define CONV 0.9
#define DISPATCH 1000.0
#define MIN_GAIN 1.2 ///< split only for a predicted 20% or more

static double predicted_gain(const FxPtFilter *f, int P, long frames)
{
	const int n = f->q.n, C = f->channels;
	long nc = (frames + f->chunk - 1) / f->chunk, len = frames / nc;
	int K = fx_pt_plan_segments(C, P, len);
	long L = len / K, S = (long)C * K, per = (long)P * W;
	long G = (long)P * ((S + per - 1) / per);
	G = G < S ? G : S;
	double groups = (double)((G + P - 1) / P); // per thread
	double zir = K > 1 ? (double)(f->decay < L ? f->decay : L) : 0;
	double par = groups * ((double)L * (LANE_A + LANE_B * n) +
	                       zir * (ZIR_A + ZIR_B * n) +
	                       (K > 1 ? ((double)L - zir) * CONV : 0)) +
	             (K > 1 ? 2 : 1) * DISPATCH;
	const int pairs = (C + 1) / 2;
	double seq = (double)len * pairs *
	             (n <= 2 && pairs >= 2 ? SEQ_2 : SEQ_A + SEQ_B * n);
	return seq / par;
}

/* ---- filter -------------------------------------------------------------- */

FxPtFilter *fx_pt_filter_new(const FxSection *sec, int nsec, int channels,
                             long max_frames, FxStatus *st)
{
	if (nsec < 0 || nsec > FX_MAX_SECTIONS || channels < 1 ||
	    channels > MAX_CHANNELS || max_frames < 1 || (nsec && !sec)) {
		*st = FX_ERR_INVALID;
		return NULL;
	}
	FxPtFilter *f = calloc(1, sizeof *f);
	if (!f) {
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	f->channels = channels;
	f->m = 2 * nsec;
	f->max_frames = max_frames;
	f->chunk = FX_PT_CHUNK / channels > FX_PT_MIN_CHUNK
	                   ? FX_PT_CHUNK / channels
	                   : FX_PT_MIN_CHUNK;
	f->chunk_max = max_frames < f->chunk ? max_frames : f->chunk;
	f->threshold = fx_pt_switch_over();
	f->trans_len = -1;
	f->kern = pick_kernels();
	fx_pt_coef_init(&f->q, (const double(*)[6])sec, nsec);
	f->decay = measure_decay(&f->q);
	f->sos = fx_sos_new(channels, nsec > 0 ? nsec : 1, st);
	if (!f->sos) {
		fx_pt_filter_free(f);
		return NULL;
	}
	size_t m = (size_t)f->m > 0 ? (size_t)f->m : 1;
	f->zs = malloc(sizeof(double) * (size_t)channels * (size_t)f->chunk_max);
	f->e = malloc(sizeof(double) * (size_t)channels * MAX_SEGMENTS * m);
	f->T = malloc(sizeof(double) * m * m);
	f->Tlo = malloc(sizeof(double) * m * m);
	f->work = malloc(sizeof(double) * 4 * m * m);
	if (!f->zs || !f->e || !f->T || !f->Tlo || !f->work ||
	    fx_sos_set(f->sos, sec, nsec) != FX_OK) {
		fx_pt_filter_free(f);
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	*st = FX_OK;
	return f;
}

void fx_pt_filter_free(FxPtFilter *f)
{
	if (!f)
		return;
	fx_sos_free(f->sos);
	free(f->zs);
	free(f->e);
	free(f->T);
	free(f->Tlo);
	free(f->work);
	free(f);
}

void fx_pt_filter_reset(FxPtFilter *f)
{
	fx_sos_reset(f->sos);
}

void fx_pt_filter_set_threshold(FxPtFilter *f, long frames)
{
	f->threshold = frames < 1 ? 1 : frames;
	f->forced = 1;
}

double fx_pt_filter_predicted_gain(const FxPtFilter *f, int threads, long frames)
{
	if (threads < 2 || frames < 1 || f->q.n == 0)
		return 0;
	return predicted_gain(f, threads, frames);
}

long fx_pt_filter_decay(const FxPtFilter *f)
{
	return f->decay;
}

int fx_pt_filter_would_split(const FxPtFilter *f, int threads, long frames)
{
	if (threads < 2 || f->q.n == 0)
		return 0;
	if (f->forced)
		return frames >= f->threshold;
	return frames >= fx_pt_switch_over() &&
	       predicted_gain(f, threads, frames) >= MIN_GAIN;
}

void fx_pt_filter_get_state(const FxPtFilter *f, int channel, int section,
                            double z[2])
{
	fx_sos_get_state(f->sos, channel, section, z);
}

long fx_pt_filter_zir_samples(const FxPtFilter *f)
{
	return f->zir;
}

FxPtTiming fx_pt_filter_timing(const FxPtFilter *f)
{
	return f->timing;
}

static void pass_job(void *arg, int thread)
{
	Pass *p = arg;
	long long t0 = mono_ns();
	for (int g = thread; g < p->G; g += p->P)
		p->f->kern->group(p, g, thread);
	p->busy[thread] = mono_ns() - t0;
}

/* One phase on the pool; its longest job goes to the critical path. */
static void run_phase(FxPtFilter *f, FxPtPool *pool, int phase)
{
	Pass *p = &f->pass;
	p->phase = phase;
	fx_pt_pool_run(pool, pass_job, p);
	long long most = 0;
	for (int i = 0; i < p->P; i++)
		most = p->busy[i] > most ? p->busy[i] : most;
	f->timing.critical_ns += (double)most;
	f->timing.dispatches++;
}

static void parallel_chunk(FxPtFilter *f, FxPtPool *pool, float *const *bf,
                           double *const *bd, long off, long frames)
{
	Pass *p = &f->pass;
	const int P = pool->threads;
	p->f = f;
	p->bf = bf;
	p->bd = bd;
	p->off = off;
	p->frames = frames;
	p->P = P;
	p->K = fx_pt_plan_segments(f->channels, P, frames);
	p->L = frames / p->K;
	p->r = frames - (long)p->K * p->L;
	p->S = f->channels * p->K;
	/* As few lockstep groups as keep every thread busy, a multiple of P:
	 * every thread then has the same work. */
	long per = (long)P * W;
	long G = (long)P * ((p->S + per - 1) / per);
	p->G = (int)(G < p->S ? G : p->S);
	memset(p->zir, 0, sizeof(long) * (size_t)P);
	if (p->K == 1) {
		run_phase(f, pool, 0);
		for (int c = 0; c < f->channels; c++)
			store_state(f, c, f->e + (size_t)c * f->m);
		return;
	}
	run_phase(f, pool, 1);
	long long t0 = mono_ns();
	f->kern->carry(f, p);
	f->timing.critical_ns += (double)(mono_ns() - t0);
	run_phase(f, pool, 3);
	for (int i = 0; i < P; i++)
		f->zir += p->zir[i];
}

static void sequential(FxPtFilter *f, float *const *bf, double *const *bd,
                       long off, long frames)
{
	if (bd) {
		f->kern->seq64(f, bd, off, frames);
		return;
	}
	float *ptr[MAX_CHANNELS];
	while (frames > 0) {
		int n = frames > INT_MAX / 2 ? INT_MAX / 2 : (int)frames;
		for (int c = 0; c < f->channels; c++)
			ptr[c] = bf[c] + off;
		fx_sos_process(f->sos, (const float *const *)ptr, ptr, n);
		off += n;
		frames -= n;
	}
}

static void process(FxPtFilter *f, FxPtPool *pool, float *const *bf,
                    double *const *bd, long frames)
{
	long long start = mono_ns();
	f->zir = 0;
	f->timing = (FxPtTiming){0, 0, 0};
	if (f->q.n == 0)
		return;
	const int P = pool ? pool->threads : 1;
	for (long off = 0; off < frames;) {
		long n = frames - off < f->max_frames ? frames - off
		                                      : f->max_frames;
		if (!fx_pt_filter_would_split(f, P, n)) {
			long long t0 = mono_ns();
			sequential(f, bf, bd, off, n);
			f->timing.critical_ns += (double)(mono_ns() - t0);
		} else {
			/* Equal chunks of at most f->chunk frames (<= chunk_max, as
			 * n <= max_frames). */
			long nc = (n + f->chunk - 1) / f->chunk, at = off;
			for (long i = 0; i < nc; i++) {
				long len = n / nc + (i < n % nc);
				parallel_chunk(f, pool, bf, bd, at, len);
				at += len;
			}
		}
		off += n;
	}
	f->timing.wall_ns = (double)(mono_ns() - start);
}

void fx_pt_filter_process(FxPtFilter *f, FxPtPool *pool, float *const *buf,
                          long frames)
{
	process(f, pool, buf, NULL, frames);
}

void fx_pt_filter_process_f64(FxPtFilter *f, FxPtPool *pool, double *const *buf,
                              long frames)
{
	process(f, pool, NULL, buf, frames);
}

/* The switch-over, from bench/bench_ptime (float32, 2 threads on the
 * 2-vCPU AMD EPYC development VM, AVX2; speedup = sequential median /
 * parallel median, threshold forced to 1 for the table):
 *
 *   frames    lp10 1ch  hp4 1ch  lp10 2ch  hp4 2ch  lp10 8ch  hp4 8ch
 *     2048     0.67x     0.72x    0.61x     0.66x    0.74x     0.51x
 *     4096     1.17x     1.27x    0.67x     0.71x    0.85x     0.53x
 *     8192     1.30x     1.41x    0.72x     0.77x    1.05x     0.52x
 *    16384     1.42x     1.52x    0.83x     0.80x    1.19x     0.52x
 *    65536     2.07x     1.64x    1.17x     0.83x    1.28x     0.51x
 *   262144     2.52x     1.62x    1.28x     0.83x    1.25x     0.50x
 *  1048576     2.40x     1.54x    1.12x     0.78x    1.01x     0.42x
 *
 * Dispatch and the fix-up dominate short blocks: nothing wins below 4096
 * frames; mono wins from 4096 on. Stereo and eight channels gain less
 * (fx_sos does two channels for the price of one) and the 20 Hz highpass,
 * whose fix-up spans whole segments, never wins there on two threads; the
 * cost model above keeps those sequential. bench_ptime's criterion (the
 * shortest block from which every configuration the model splits was
 * faster split, bisected between grid points) gave 5824 frames in the
 * last run; 8192 keeps a margin for the noise between runs. From 8192 on,
 * in three full runs, the model's splits were faster every time but once
 * (stereo lp10 at 2^20 frames: 0.91x in one run, 1.12x and 1.23x in the
 * others). The runs were taken while two equal jobs on the two threads
 * took 1.00x the time of one; at other times this VM ran a process's
 * threads in turn (2.0x), where no split pays. On more cores the model
 * splits more. */
long fx_pt_switch_over(void)
{
	return 8192;
}
