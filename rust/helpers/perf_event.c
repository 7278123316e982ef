// SPDX-License-Identifier: GPL-2.0

/*
 * Helpers for perf events: the local64_t accessors that the counter
 * bookkeeping of a PMU driver needs, for 32-bit kernels. 64-bit kernels
 * do these inline (rust/kernel/perf/event.rs).
 */

#include <linux/perf_event.h>

__rust_helper u64 rust_helper_local64_read(local64_t *l)
{
	return local64_read(l);
}

__rust_helper void rust_helper_local64_set(local64_t *l, u64 v)
{
	local64_set(l, v);
}

__rust_helper void rust_helper_local64_add(u64 v, local64_t *l)
{
	local64_add(v, l);
}

__rust_helper u64 rust_helper_local64_cmpxchg(local64_t *l, u64 old, u64 new)
{
	return local64_cmpxchg(l, old, new);
}
