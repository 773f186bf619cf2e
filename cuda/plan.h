/* SPDX-License-Identifier: ISC */
/* fxd — the host side of an accel plan, in plain C (no CUDA headers):
 * argument checks, the kernel choice, tile and buffer sizes, the
 * coefficient image, and the order of uploads, captures, replays and
 * resets. The device work goes through an FxPlanOps table: CUDA calls in
 * cuda/accel_cuda.cu, fakes that log and emulate in tests/unit/test_accel_plan.c.
 *
 * Op order (the contract the CUDA runner and the tests rely on):
 *   start:                 zero_state(0), wait_upload, upload, capture
 *   set_coeffs, same n:    wait_upload, upload            (no capture)
 *   set_coeffs, another n: wait_upload, upload, zero_state(2 min(n, n')),
 *                          capture
 *   reset_state:           zero_state(0)
 *   forward:               per chunk: replay, wait
 * Coefficients always reach the device before the graph that reads them is
 * captured or replayed; both go on one stream, so they also arrive first.
 */
#ifndef FX_PLAN_H
#define FX_PLAN_H

#include <stddef.h>

#include "cuda/accel.h"
#include "cuda/accel_math.h"

enum {
	FX_PLAN_TILE_MIN = 64,   ///< shortest tile
	FX_PLAN_TILE_MAX = 4096, ///< longest tile
	FX_PLAN_ALIGN = 256,     ///< alignment of every buffer in the blocks
	FX_PLAN_MAX_MATS = 1 + FX_ACC_SCAN_LOG2, ///< T and the U_j
	FX_PLAN_ERR_SIZE = 192,
};

/** Everything a plan's shape decides: sizes in bytes, and offsets into one
 *  device block and one pinned host block. */
typedef struct {
	FxAccelDtype dtype;
	size_t sample_size; ///< 4 or 8
	int channels;
	long chunk;     ///< frames per chunk (= geom.stride)
	long threshold; ///< the scan threshold in effect
	int scan;       ///< 1: scan kernels, 0: sequential kernel
	FxAccGeom geom;
	int nmat; ///< matrices in the coefficient image (0 unless scan)

	size_t io_bytes, zs_bytes, agg_bytes, state_bytes, coef_bytes,
		params_bytes;
	/* device block; agg_bytes also sizes pre */
	size_t dev_io, dev_zs, dev_agg, dev_pre, dev_state, dev_coef,
		dev_params, dev_bytes;
	/* pinned host block: the staged chunk, the coefficient image, the
	 * FxAccParams the graph copies each replay */
	size_t host_io, host_coef, host_params, host_bytes;
} FxPlanLayout;

typedef struct FxPlan FxPlan;

/** The device side. Each returns FX_OK, or an error after writing why into
 *  p->err (fx_plan_fail). */
typedef struct {
	/** Queues zeroing of state variables [first, FX_ACC_M) of every
	 *  channel (first = 0: all). */
	FxStatus (*zero_state)(FxPlan *p, int first);
	/** Blocks until the previous upload has read the pinned image. */
	FxStatus (*wait_upload)(FxPlan *p);
	/** Queues a copy of image bytes [0, bytes) to the device. */
	FxStatus (*upload)(FxPlan *p, size_t bytes);
	/** Captures (again) the graph of one chunk for @p nsec sections. */
	FxStatus (*capture)(FxPlan *p, int nsec);
	/** Queues one replay of the graph: the staged chunk in, filtered, out. */
	FxStatus (*replay)(FxPlan *p);
	/** Blocks until all queued work is done. */
	FxStatus (*wait)(FxPlan *p);
} FxPlanOps;

/** A plan's host state. Filled by fx_plan_start; read-only elsewhere. */
struct FxPlan {
	FxPlanLayout lay;
	const FxPlanOps *ops;
	void *dev;           ///< the ops' own context
	unsigned char *host; ///< the pinned block, lay.host_bytes
	int nsec;            ///< sections in the last image uploaded
	int graph_nsec;      ///< sections the graph was captured for; -1: none
	long captures, uploads, replays, resets;
	char err[FX_PLAN_ERR_SIZE]; ///< why the last call failed
};

/** FX_ACCEL_SCAN_THRESHOLD_F32 or _F64; -1 for other types. */
long fx_plan_default_threshold(FxAccelDtype dtype);

/** "float32", "float64", "float16", "bfloat16", or "unknown". */
const char *fx_plan_dtype_name(FxAccelDtype dtype);

/** The tile length for chunks of @p chunk frames: the power of two nearest
 *  above sqrt(chunk / 8), within [FX_PLAN_TILE_MIN, FX_PLAN_TILE_MAX]. It
 *  balances a tile's sequential work (tile * n) against a scan thread's
 *  (tiles / B * m^2). */
long fx_plan_tile_for(long chunk);

/** Checks the shape and fills @p lay. A negative @p threshold means the
 *  dtype's default; the scan runs when chunk >= threshold. F16 and BF16
 *  give FX_ERR_INVALID; sizes out of range FX_ERR_RANGE. On failure writes
 *  why into @p err (may be NULL). */
FxStatus fx_plan_layout(FxPlanLayout *lay, int channels, long chunk,
                        FxAccelDtype dtype, long threshold, char *err,
                        size_t errsize);

/** Checks @p nsec (0..FX_ACCEL_MAX_SECTIONS) sections: finite, a0 != 0. */
FxStatus fx_plan_check_sections(const FxSection *sec, int nsec, char *err,
                                size_t errsize);

/** Writes the coefficient image of @p nsec checked sections for @p lay
 *  into @p image (lay->coef_bytes); returns the bytes to upload. */
size_t fx_plan_coef_image(const FxPlanLayout *lay, const FxSection *sec,
                          int nsec, void *image);

/** Sets up @p p over @p host (lay->host_bytes, zeroed by the caller) and
 *  runs the start ops. On failure p->err says why. */
FxStatus fx_plan_start(FxPlan *p, const FxPlanLayout *lay, const FxPlanOps *ops,
                       void *dev, void *host, const FxSection *sec, int nsec);

/** fx_accel_plan_set_coeffs. */
FxStatus fx_plan_set_coeffs(FxPlan *p, const FxSection *sec, int nsec);

/** fx_accel_plan_reset_state. */
FxStatus fx_plan_reset_state(FxPlan *p);

/** Filters @p frames frames of buf[0..channels) in place, samples of the
 *  plan's dtype, chunk by chunk through the staged pinned buffer. */
FxStatus fx_plan_forward(FxPlan *p, void *const *buf, long frames);

/** Fills @p info from @p p. */
void fx_plan_info(const FxPlan *p, FxAccelPlanInfo *info);

/** Writes the formatted reason into p->err and returns @p st. */
FxStatus fx_plan_fail(FxPlan *p, FxStatus st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** The pinned coefficient image, chunk staging and params of @p p. */
static inline void *fx_plan_image(const FxPlan *p)
{
	return p->host + p->lay.host_coef;
}

static inline FxAccParams *fx_plan_params(const FxPlan *p)
{
	return (FxAccParams *)(void *)(p->host + p->lay.host_params);
}

#endif
