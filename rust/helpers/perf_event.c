// SPDX-License-Identifier: GPL-2.0

/*
 * Helpers for perf events: the local64_t accessors that the counter
 * bookkeeping of a PMU driver needs.
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
