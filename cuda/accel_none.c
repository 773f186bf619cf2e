/* SPDX-License-Identifier: ISC */
/* accel.h for a build without CUDA: nothing opens, every call says why. */
#include "cuda/accel.h"

#include <stdio.h>
#include <string.h>

static const char no_cuda[] = "this build has no CUDA support";

int fx_accel_available(char *why, size_t size)
{
	if (why && size)
		snprintf(why, size, "%s", no_cuda);
	return 0;
}

FxAccel *fx_accel_new(const FxAccelConfig *cfg, FxStatus *st, char *err,
                      size_t errsize)
{
	(void)cfg;
	if (err && errsize)
		snprintf(err, errsize, "%s", no_cuda);
	*st = FX_ACCEL_ERR_UNSUPPORTED;
	return NULL;
}

void fx_accel_free(FxAccel *acc)
{
	(void)acc;
}

const char *fx_accel_device_name(const FxAccel *acc)
{
	(void)acc;
	return "none";
}

const char *fx_accel_error(const FxAccel *acc)
{
	(void)acc;
	return no_cuda;
}

FxAccelPlan *fx_accel_plan_new(FxAccel *acc, const FxSection *sec, int nsec,
                               int channels, long chunk_frames,
                               FxAccelDtype dtype, long scan_threshold,
                               FxStatus *st)
{
	(void)acc, (void)sec, (void)nsec, (void)channels, (void)chunk_frames;
	(void)dtype, (void)scan_threshold;
	*st = FX_ACCEL_ERR_UNSUPPORTED;
	return NULL;
}

FxStatus fx_accel_plan_set_coeffs(FxAccelPlan *plan, const FxSection *sec,
                                  int nsec)
{
	(void)plan, (void)sec, (void)nsec;
	return FX_ACCEL_ERR_UNSUPPORTED;
}

FxStatus fx_accel_plan_reset_state(FxAccelPlan *plan)
{
	(void)plan;
	return FX_ACCEL_ERR_UNSUPPORTED;
}

FxStatus fx_accel_plan_forward(FxAccelPlan *plan, float *const *buf, long frames)
{
	(void)plan, (void)buf, (void)frames;
	return FX_ACCEL_ERR_UNSUPPORTED;
}

FxStatus fx_accel_plan_forward_f64(FxAccelPlan *plan, double *const *buf,
                                   long frames)
{
	(void)plan, (void)buf, (void)frames;
	return FX_ACCEL_ERR_UNSUPPORTED;
}

void fx_accel_plan_info(const FxAccelPlan *plan, FxAccelPlanInfo *info)
{
	(void)plan;
	memset(info, 0, sizeof *info);
}

void fx_accel_plan_free(FxAccelPlan *plan)
{
	(void)plan;
}
