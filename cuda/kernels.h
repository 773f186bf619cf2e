/* SPDX-License-Identifier: ISC */
/* fxd — launching the accel kernels (cuda/kernels.cu) for one chunk. Used
 * by cuda/accel_cuda.cu only; both are built by nvcc. */
#ifndef FX_KERNELS_H
#define FX_KERNELS_H

#include <cuda_runtime.h>

extern "C" {
#include "cuda/plan.h"
}

/** Queues on @p stream the kernels of one chunk (FxAccParams at
 *  lay->dev_params says how many frames) of a plan with layout @p lay and
 *  @p nsec sections over the device block @p dev. Returns the launch
 *  error, if any. */
cudaError_t fx_acc_launch_chunk(const FxPlanLayout *lay, int nsec,
                                unsigned char *dev, cudaStream_t stream);

#endif
