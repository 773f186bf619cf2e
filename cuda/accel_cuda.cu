// SPDX-License-Identifier: ISC
// fxd — accel.h on the CUDA runtime: device choice, a plan's two memory
// blocks, its stream, and the FxPlanOps that cuda/plan.c drives (upload,
// capture, replay, zeroing). Setup code; nothing here runs on JACK's thread.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cuda_runtime.h>

#include "cuda/kernels.h"

extern "C" {
#include "cuda/accel.h"
}

struct FxAccelImpl {
	int device;
	char name[300]; // cudaDeviceProp.name is 256
	char err[FX_PLAN_ERR_SIZE];
};

struct FxAccelPlanImpl {
	FxPlan core;
	FxAccel *acc;
	cudaStream_t stream;
	cudaEvent_t uploaded; // recorded after each coefficient upload
	cudaGraphExec_t exec;
	unsigned char *dev;   // one cudaMalloc, laid out by core.lay
	unsigned char *host;  // one cudaMallocHost
};

namespace {

enum { MIN_CC = 75 }; // nvcc 13 builds for sm_75 and newer

void say(char *err, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void say(char *err, size_t size, const char *fmt, ...)
{
	if (!err || !size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

// The usable device @p want (or the one with most multiprocessors), or -1
// with why in err.
int pick_device(int want, char *err, size_t size)
{
	int count = 0;
	cudaError_t e = cudaGetDeviceCount(&count);
	if (e != cudaSuccess) {
		say(err, size, "no CUDA device (cudaGetDeviceCount: error %d, %s)",
		    (int)e, cudaGetErrorName(e));
		(void)cudaGetLastError();
		return -1;
	}
	if (count < 1) {
		say(err, size, "no CUDA device (cudaGetDeviceCount: 0 devices)");
		return -1;
	}
	if (want >= count) {
		say(err, size, "no CUDA device %d (%d present)", want, count);
		return -1;
	}
	int best = -1, best_sms = -1;
	for (int d = want >= 0 ? want : 0; d < (want >= 0 ? want + 1 : count);
	     d++) {
		cudaDeviceProp prop;
		if ((e = cudaGetDeviceProperties(&prop, d)) != cudaSuccess) {
			say(err, size, "CUDA device %d: cudaGetDeviceProperties: "
			    "error %d, %s", d, (int)e, cudaGetErrorName(e));
			continue;
		}
		if (prop.major * 10 + prop.minor < MIN_CC) {
			say(err, size, "CUDA device %d (%s) has compute capability "
			    "%d.%d; this build needs 7.5 or newer", d, prop.name,
			    prop.major, prop.minor);
			continue;
		}
		if (prop.multiProcessorCount > best_sms) {
			best = d;
			best_sms = prop.multiProcessorCount;
		}
	}
	return best;
}

FxAccelPlanImpl *impl(FxPlan *p)
{
	return static_cast<FxAccelPlanImpl *>(p->dev);
}

FxStatus cuda_fail(FxPlan *p, cudaError_t e, const char *what)
{
	return fx_plan_fail(p, FX_ERR_IO, "%s: error %d, %s", what, (int)e,
	                    cudaGetErrorName(e));
}

FxStatus op_zero_state(FxPlan *p, int first)
{
	if (first >= FX_ACC_M)
		return FX_OK;
	FxAccelPlanImpl *pl = impl(p);
	const size_t pitch = FX_ACC_M * sizeof(double);
	cudaError_t e = cudaMemset2DAsync(
		pl->dev + p->lay.dev_state + (size_t)first * sizeof(double), pitch,
		0, (size_t)(FX_ACC_M - first) * sizeof(double),
		(size_t)p->lay.channels, pl->stream);
	return e == cudaSuccess ? FX_OK : cuda_fail(p, e, "zeroing the state");
}

FxStatus op_wait_upload(FxPlan *p)
{
	cudaError_t e = cudaEventSynchronize(impl(p)->uploaded);
	return e == cudaSuccess ? FX_OK
	                        : cuda_fail(p, e, "waiting for an upload");
}

FxStatus op_upload(FxPlan *p, size_t bytes)
{
	FxAccelPlanImpl *pl = impl(p);
	cudaError_t e = cudaMemcpyAsync(pl->dev + p->lay.dev_coef,
	                                pl->host + p->lay.host_coef, bytes,
	                                cudaMemcpyHostToDevice, pl->stream);
	if (e == cudaSuccess)
		e = cudaEventRecord(pl->uploaded, pl->stream);
	return e == cudaSuccess ? FX_OK
	                        : cuda_fail(p, e, "uploading coefficients");
}

// The chunk graph: params and samples in, the kernels, samples out. The
// copies read and write the pinned block, so each replay moves whatever
// fx_plan_forward staged there.
FxStatus op_capture(FxPlan *p, int nsec)
{
	FxAccelPlanImpl *pl = impl(p);
	const FxPlanLayout *lay = &p->lay;
	if (pl->exec) {
		(void)cudaGraphExecDestroy(pl->exec);
		pl->exec = nullptr;
	}
	cudaError_t e = cudaStreamBeginCapture(pl->stream,
	                                       cudaStreamCaptureModeThreadLocal);
	if (e != cudaSuccess)
		return cuda_fail(p, e, "cudaStreamBeginCapture");
	const char *what = "capturing the parameter copy";
	e = cudaMemcpyAsync(pl->dev + lay->dev_params, pl->host + lay->host_params,
	                    lay->params_bytes, cudaMemcpyHostToDevice, pl->stream);
	if (e == cudaSuccess) {
		what = "capturing the input copy";
		e = cudaMemcpyAsync(pl->dev + lay->dev_io, pl->host + lay->host_io,
		                    lay->io_bytes, cudaMemcpyHostToDevice,
		                    pl->stream);
	}
	if (e == cudaSuccess) {
		what = "capturing the kernels";
		e = fx_acc_launch_chunk(lay, nsec, pl->dev, pl->stream);
	}
	if (e == cudaSuccess) {
		what = "capturing the output copy";
		e = cudaMemcpyAsync(pl->host + lay->host_io, pl->dev + lay->dev_io,
		                    lay->io_bytes, cudaMemcpyDeviceToHost,
		                    pl->stream);
	}
	cudaGraph_t graph = nullptr;
	cudaError_t end = cudaStreamEndCapture(pl->stream, &graph);
	if (e == cudaSuccess && end != cudaSuccess) {
		e = end;
		what = "cudaStreamEndCapture";
	}
	if (e == cudaSuccess) {
		e = cudaGraphInstantiate(&pl->exec, graph, 0);
		what = "cudaGraphInstantiate";
	}
	if (graph)
		(void)cudaGraphDestroy(graph);
	if (e != cudaSuccess) {
		pl->exec = nullptr;
		(void)cudaGetLastError();
		return cuda_fail(p, e, what);
	}
	return FX_OK;
}

FxStatus op_replay(FxPlan *p)
{
	FxAccelPlanImpl *pl = impl(p);
	cudaError_t e = cudaGraphLaunch(pl->exec, pl->stream);
	return e == cudaSuccess ? FX_OK : cuda_fail(p, e, "cudaGraphLaunch");
}

FxStatus op_wait(FxPlan *p)
{
	cudaError_t e = cudaStreamSynchronize(impl(p)->stream);
	return e == cudaSuccess ? FX_OK : cuda_fail(p, e, "running a chunk");
}

const FxPlanOps cuda_ops = {
	op_zero_state, op_wait_upload, op_upload, op_capture, op_replay, op_wait,
};

// Copies the plan's last error into its FxAccel (fx_accel_error).
FxStatus report(FxAccelPlan *plan, FxStatus st)
{
	if (st != FX_OK)
		snprintf(plan->acc->err, sizeof plan->acc->err, "%s",
		         plan->core.err);
	return st;
}

FxStatus use_device(FxAccelPlan *plan)
{
	cudaError_t e = cudaSetDevice(plan->acc->device);
	return e == cudaSuccess ? FX_OK
	                        : report(plan, cuda_fail(&plan->core, e,
	                                                 "cudaSetDevice"));
}

void release(FxAccelPlan *plan)
{
	if (plan->stream)
		(void)cudaStreamSynchronize(plan->stream);
	if (plan->exec)
		(void)cudaGraphExecDestroy(plan->exec);
	if (plan->uploaded)
		(void)cudaEventDestroy(plan->uploaded);
	if (plan->stream)
		(void)cudaStreamDestroy(plan->stream);
	if (plan->dev)
		(void)cudaFree(plan->dev);
	if (plan->host)
		(void)cudaFreeHost(plan->host);
	free(plan);
}

} // namespace

int fx_accel_available(char *why, size_t size)
{
	return pick_device(FX_ACCEL_DEVICE_ANY, why, size) >= 0;
}

FxAccel *fx_accel_new(const FxAccelConfig *cfg, FxStatus *st, char *err,
                      size_t errsize)
{
	const int want = cfg ? cfg->device : FX_ACCEL_DEVICE_ANY;
	if (want < FX_ACCEL_DEVICE_ANY) {
		say(err, errsize, "bad CUDA device number %d", want);
		*st = FX_ERR_INVALID;
		return nullptr;
	}
	const int device = pick_device(want, err, errsize);
	if (device < 0) {
		*st = FX_ACCEL_ERR_UNSUPPORTED;
		return nullptr;
	}
	cudaDeviceProp prop;
	cudaError_t e = cudaSetDevice(device);
	if (e == cudaSuccess)
		e = cudaFree(nullptr); // creates the context now, not mid-stream
	if (e == cudaSuccess)
		e = cudaGetDeviceProperties(&prop, device);
	if (e != cudaSuccess) {
		say(err, errsize, "CUDA device %d: error %d, %s", device, (int)e,
		    cudaGetErrorName(e));
		(void)cudaGetLastError();
		*st = FX_ACCEL_ERR_UNSUPPORTED;
		return nullptr;
	}
	FxAccel *acc = static_cast<FxAccel *>(calloc(1, sizeof *acc));
	if (!acc) {
		say(err, errsize, "out of memory");
		*st = FX_ERR_NOMEM;
		return nullptr;
	}
	acc->device = device;
	snprintf(acc->name, sizeof acc->name, "%s (sm_%d%d)", prop.name,
	         prop.major, prop.minor);
	*st = FX_OK;
	return acc;
}

void fx_accel_free(FxAccel *acc)
{
	free(acc);
}

const char *fx_accel_device_name(const FxAccel *acc)
{
	return acc->name;
}

const char *fx_accel_error(const FxAccel *acc)
{
	return acc->err;
}

FxAccelPlan *fx_accel_plan_new(FxAccel *acc, const FxSection *sec, int nsec,
                               int channels, long chunk_frames,
                               FxAccelDtype dtype, long scan_threshold,
                               FxStatus *st)
{
	if (!acc) {
		*st = FX_ERR_INVALID;
		return nullptr;
	}
	acc->err[0] = '\0';
	FxPlanLayout lay;
	*st = fx_plan_layout(&lay, channels, chunk_frames, dtype, scan_threshold,
	                     acc->err, sizeof acc->err);
	if (*st == FX_OK)
		*st = fx_plan_check_sections(sec, nsec, acc->err, sizeof acc->err);
	if (*st != FX_OK)
		return nullptr;
	FxAccelPlan *plan = static_cast<FxAccelPlan *>(calloc(1, sizeof *plan));
	if (!plan) {
		say(acc->err, sizeof acc->err, "out of memory");
		*st = FX_ERR_NOMEM;
		return nullptr;
	}
	plan->acc = acc;
	plan->core.lay = lay; // for cuda_fail before fx_plan_start
	const char *what = "cudaSetDevice";
	cudaError_t e = cudaSetDevice(acc->device);
	if (e == cudaSuccess) {
		what = "cudaStreamCreate";
		e = cudaStreamCreateWithFlags(&plan->stream, cudaStreamNonBlocking);
	}
	if (e == cudaSuccess) {
		what = "cudaEventCreate";
		e = cudaEventCreateWithFlags(&plan->uploaded,
		                             cudaEventDisableTiming);
	}
	if (e == cudaSuccess) {
		what = "cudaMalloc";
		e = cudaMalloc(&plan->dev, lay.dev_bytes);
	}
	if (e == cudaSuccess) {
		what = "cudaMallocHost";
		e = cudaMallocHost(&plan->host, lay.host_bytes);
	}
	if (e == cudaSuccess) {
		what = "cudaMemset";
		memset(plan->host, 0, lay.host_bytes);
		e = cudaMemset(plan->dev, 0, lay.dev_bytes);
	}
	if (e != cudaSuccess) {
		say(acc->err, sizeof acc->err, "%s (%zu device + %zu pinned bytes): "
		    "error %d, %s", what, lay.dev_bytes, lay.host_bytes, (int)e,
		    cudaGetErrorName(e));
		(void)cudaGetLastError();
		*st = e == cudaErrorMemoryAllocation ? FX_ERR_NOMEM : FX_ERR_IO;
		release(plan);
		return nullptr;
	}
	*st = fx_plan_start(&plan->core, &lay, &cuda_ops, plan, plan->host, sec,
	                    nsec);
	if (*st == FX_OK)
		*st = op_wait(&plan->core); // surfaces launch errors here
	if (*st != FX_OK) {
		report(plan, *st);
		release(plan);
		return nullptr;
	}
	return plan;
}

FxStatus fx_accel_plan_set_coeffs(FxAccelPlan *plan, const FxSection *sec,
                                  int nsec)
{
	FxStatus st = use_device(plan);
	if (st == FX_OK)
		st = report(plan, fx_plan_set_coeffs(&plan->core, sec, nsec));
	return st;
}

FxStatus fx_accel_plan_reset_state(FxAccelPlan *plan)
{
	FxStatus st = use_device(plan);
	if (st == FX_OK)
		st = report(plan, fx_plan_reset_state(&plan->core));
	return st;
}

FxStatus fx_accel_plan_forward(FxAccelPlan *plan, float *const *buf,
                               long frames)
{
	if (plan->core.lay.dtype != FX_ACCEL_F32)
		return report(plan, fx_plan_fail(&plan->core, FX_ERR_INVALID,
		                                 "forward: this plan takes %s "
		                                 "samples (use the _f64 call)",
		                                 fx_plan_dtype_name(
		                                         plan->core.lay.dtype)));
	FxStatus st = use_device(plan);
	if (st == FX_OK)
		st = report(plan, fx_plan_forward(&plan->core,
		                                  (void *const *)buf, frames));
	return st;
}

FxStatus fx_accel_plan_forward_f64(FxAccelPlan *plan, double *const *buf,
                                   long frames)
{
	if (plan->core.lay.dtype != FX_ACCEL_F64)
		return report(plan, fx_plan_fail(&plan->core, FX_ERR_INVALID,
		                                 "forward_f64: this plan takes "
		                                 "%s samples",
		                                 fx_plan_dtype_name(
		                                         plan->core.lay.dtype)));
	FxStatus st = use_device(plan);
	if (st == FX_OK)
		st = report(plan, fx_plan_forward(&plan->core,
		                                  (void *const *)buf, frames));
	return st;
}

void fx_accel_plan_info(const FxAccelPlan *plan, FxAccelPlanInfo *info)
{
	fx_plan_info(&plan->core, info);
}

void fx_accel_plan_free(FxAccelPlan *plan)
{
	if (!plan)
		return;
	(void)cudaSetDevice(plan->acc->device);
	release(plan);
}
