/* SPDX-License-Identifier: ISC */
#include "daemon/realtime.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon/log.h"

/* GCC and Clang define these under -fsanitize=address / thread. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FX_SANITIZED 1
#endif
#endif

int fx_realtime_lock_memory(void)
{
#ifdef FX_SANITIZED
	fx_log(LOG_DEBUG, "sanitizer build: memory is not locked");
	return 0;
#else
	struct rlimit rl;
	if (geteuid() != 0 && getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY) {
		fx_log(LOG_WARNING,
		       "memory is not locked: RLIMIT_MEMLOCK is %llu kB (set "
		       "LimitMEMLOCK=infinity, or memlock unlimited in "
		       "/etc/security/limits.d)",
		       (unsigned long long)rl.rlim_cur / 1024);
		return 0;
	}
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
		fx_log(LOG_WARNING, "memory is not locked: mlockall: %s",
		       strerror(errno));
		return 0;
	}
	fx_log(LOG_DEBUG, "memory locked");
	return 1;
#endif
}
