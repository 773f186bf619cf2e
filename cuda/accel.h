/* SPDX-License-Identifier: ISC */
/* fxd — a cascade of second-order sections on a CUDA device.
 *
 * The only interface the tree sees of the CUDA path. A CUDA build links
 * cuda/accel_cuda.cu and cuda/kernels.cu behind it; a build without CUDA
 * links cuda/accel_none.c, where every call reports that the build has no
 * CUDA support. Nothing outside cuda/ tests for CUDA at compile time.
 *
 * A plan filters planar channels in place, chunk by chunk, with the state
 * carried across calls in double precision (the math of dsp/ptime.h, so
 * the results match clients/file/ptime_run.h to rounding). Everything a plan needs
 * on the device and in pinned host memory is allocated by
 * fx_accel_plan_new; a forward allocates nothing. One chunk forward is
 * captured once as a CUDA graph and replayed per chunk; coefficients live
 * in device memory the graph reads, so a gliding parameter costs one small
 * copy, and only a change in the number of sections captures again.
 *
 * Each chunk runs one of two kernels, fixed per plan by chunk_frames:
 * - sequential: one thread per channel runs the whole cascade over the
 *   chunk, its state in registers (chunks below the scan threshold);
 * - parallel scan: the chunk is cut into tiles filtered from zero state at
 *   once, the state entering each tile comes from a scan of the tiles'
 *   affine maps, and a fix-up pass adds each tile's zero-input response.
 *
 * Threads: an FxAccel and its plans are used from one thread at a time
 * (fx_accel_error reports the last failure of any of them). No call here
 * is realtime safe: a forward waits for the device.
 */
#ifndef FX_ACCEL_H
#define FX_ACCEL_H

#include <stddef.h>

#include "dsp/design.h"
#include "dsp/status.h"

/** The status for "no CUDA here" (no device, no driver, or a build without
 *  CUDA). status.h has no FX_ERR_UNSUPPORTED yet; this is the one line to
 *  change when it does. */
#define FX_ACCEL_ERR_UNSUPPORTED FX_ERR_IO

enum {
	FX_ACCEL_MAX_SECTIONS = 16, ///< sections per plan (FX_PT_MAX_SECTIONS)
	FX_ACCEL_MAX_CHANNELS = 64, ///< channels per plan
	FX_ACCEL_MAX_CHUNK = 1 << 24, ///< frames per chunk, at most
	FX_ACCEL_DEVICE_ANY = -1,     ///< FxAccelConfig.device: pick one
	FX_ACCEL_SCAN_DEFAULT = -1,   ///< scan_threshold: the dtype's default
};

/** Sample types. The recursion needs more mantissa than half precision
 *  has, so F16 and BF16 are named only to be refused with a clear error. */
typedef enum {
	FX_ACCEL_F32,
	FX_ACCEL_F64,
	FX_ACCEL_F16,
	FX_ACCEL_BF16,
} FxAccelDtype;

/** Chunk length from which a plan uses the parallel scan by default. */
#define FX_ACCEL_SCAN_THRESHOLD_F32 2048
#define FX_ACCEL_SCAN_THRESHOLD_F64 1024

/** Device selection. A NULL config is { FX_ACCEL_DEVICE_ANY }. */
typedef struct {
	int device; ///< CUDA ordinal, or FX_ACCEL_DEVICE_ANY: most multiprocessors
} FxAccelConfig;

typedef struct FxAccelImpl FxAccel;
typedef struct FxAccelPlanImpl FxAccelPlan;

/** What a plan chose and has done (for logs and tests). */
typedef struct {
	int scan;            ///< 1: parallel scan kernel, 0: sequential kernel
	long threshold;      ///< the scan threshold in effect, in frames
	long tile;           ///< frames per tile (scan only)
	int tiles;           ///< tiles per channel per chunk (scan only)
	size_t device_bytes; ///< device memory held
	size_t pinned_bytes; ///< pinned host memory held
	long captures;       ///< graph captures so far (1 + structure changes)
	long uploads;        ///< coefficient uploads so far
	long replays;        ///< chunks run
	long resets; ///< in-place state zeroings (reset, structure changes)
} FxAccelPlanInfo;

/** 1 if this build has CUDA and a usable device is present; else 0 with
 *  the reason in @p why (may be NULL): "this build has no CUDA support",
 *  "no CUDA device (cudaGetDeviceCount: error 35, ...)". */
int fx_accel_available(char *why, size_t size);

/** Opens a device. Returns NULL, sets @p st and writes the reason to
 *  @p err (may be NULL) on failure. */
FxAccel *fx_accel_new(const FxAccelConfig *cfg, FxStatus *st, char *err,
                      size_t errsize);

/** Frees @p acc; its plans must be freed first. NULL is a no-op. */
void fx_accel_free(FxAccel *acc);

/** "NVIDIA H100 (sm_90)" style name of the device @p acc opened. */
const char *fx_accel_device_name(const FxAccel *acc);

/** Text of the last failure of a call on @p acc or one of its plans ("" if
 *  none): fx_accel_plan_new tells why a plan was refused here. */
const char *fx_accel_error(const FxAccel *acc);

/** A plan for @p nsec (1..FX_ACCEL_MAX_SECTIONS) sections over @p channels
 *  (1..FX_ACCEL_MAX_CHANNELS) planar channels, run in chunks of
 *  @p chunk_frames (1..FX_ACCEL_MAX_CHUNK) frames of type @p dtype (F32 or
 *  F64). The scan kernel runs when chunk_frames >= @p scan_threshold
 *  (FX_ACCEL_SCAN_DEFAULT: FX_ACCEL_SCAN_THRESHOLD_F32 or _F64; 0 forces
 *  the scan). Zero state. Returns NULL and sets @p st on failure, with the
 *  reason in fx_accel_error(acc). */
FxAccelPlan *fx_accel_plan_new(FxAccel *acc, const FxSection *sec, int nsec,
                               int channels, long chunk_frames,
                               FxAccelDtype dtype, long scan_threshold,
                               FxStatus *st);

/** Sets new coefficients, effective from the next forward. The same
 *  number of sections copies them to the device asynchronously (no new
 *  capture); another number captures the graph again, keeps the state of
 *  the sections both cascades have and zeroes the rest (as fx_sos_set). */
FxStatus fx_accel_plan_set_coeffs(FxAccelPlan *plan, const FxSection *sec,
                                  int nsec);

/** Zeroes the state in place (queued on the plan's stream). */
FxStatus fx_accel_plan_reset_state(FxAccelPlan *plan);

/** Filters @p frames frames of buf[0..channels) in place (F32 plans);
 *  any length: longer runs go chunk by chunk, a short last chunk is fine.
 *  Returns when the output is in @p buf. Allocates nothing. */
FxStatus fx_accel_plan_forward(FxAccelPlan *plan, float *const *buf, long frames);

/** fx_accel_plan_forward for F64 plans. */
FxStatus fx_accel_plan_forward_f64(FxAccelPlan *plan, double *const *buf,
                                   long frames);

/** Fills @p info. */
void fx_accel_plan_info(const FxAccelPlan *plan, FxAccelPlanInfo *info);

/** Frees @p plan (waits for its work first); NULL is a no-op. */
void fx_accel_plan_free(FxAccelPlan *plan);

#endif
