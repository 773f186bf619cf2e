#!/bin/sh
# SPDX-License-Identifier: ISC
# The CUDA objects hold every accel kernel (TAP): `nm -C` lists the
# extern __device_stub_ symbol nvcc emits for each __global__ function
# (this CUDA install has no cuobjdump). Skips in a build without CUDA.
#
# FX_HAVE_CUDA (yes/no, from configure) and FX_CUDA_OBJECTS (the nvcc-built
# objects) come from the Makefile; by hand, run it from the build directory
# with FX_HAVE_CUDA=yes FX_CUDA_OBJECTS="cuda/kernels.o cuda/accel_cuda.o".
set -u
NM=${NM:-nm}
if [ "${FX_HAVE_CUDA:-no}" != yes ]; then
	echo "1..0 # SKIP this build has no CUDA support"
	exit 0
fi
objs=${FX_CUDA_OBJECTS:-}
if [ -z "$objs" ]; then
	echo "1..0 # SKIP FX_CUDA_OBJECTS is not set"
	exit 0
fi
kernels="fx_acc_tile_kernel_f32 fx_acc_tile_kernel_f64 fx_acc_scan_kernel
	fx_acc_fixup_kernel_f32 fx_acc_fixup_kernel_f64"
for t in f32 f64; do
	n=0
	while [ $n -le 16 ]; do
		kernels="$kernels fx_acc_seq_kernel_${t}_n$n"
		n=$((n + 1))
	done
done
set -- $kernels
echo "1..$(($# + 2))"
i=1
syms=$($NM -C $objs 2>nm.err.$$)
if [ $? -eq 0 ]; then
	echo "ok $i - $NM -C reads $objs"
else
	echo "not ok $i - $NM -C reads $objs"; sed 's/^/# /' nm.err.$$
fi
rm -f nm.err.$$
bad=0
for k in "$@"; do
	i=$((i + 1))
	# An extern (T) stub: _Z<length><name>, so one name never matches
	# another that merely starts with it.
	if printf '%s\n' "$syms" |
		grep -Eq " T __device_stub__Z${#k}${k}[A-Z]"; then
		echo "ok $i - $k has its __device_stub__"
	else
		echo "not ok $i - $k has no __device_stub__"; bad=1
	fi
done
i=$((i + 1))
# The entry points of accel.h are there too (accel_cuda.cu, not the stub).
if printf '%s\n' "$syms" | grep -q " T fx_accel_plan_forward_f64$" &&
	printf '%s\n' "$syms" | grep -q " T fx_acc_launch_chunk("; then
	echo "ok $i - accel.h and the launcher are defined"
else
	echo "not ok $i - accel.h or the launcher is missing"; bad=1
fi
exit $bad
