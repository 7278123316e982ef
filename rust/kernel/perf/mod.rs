// SPDX-License-Identifier: GPL-2.0

//! Performance monitoring units (PMUs) for perf events, safe against driver unbind.
//!
//! C header: [`include/linux/perf_event.h`](srctree/include/linux/perf_event.h)
//!
//! A PMU driver implements [`Operations`] and keeps a [`Registration`] for as long as its
//! hardware is there, typically in its device's driver data. When the device is unbound,
//! hot-unplugged or its module removed, dropping the registration unregisters the PMU: perf
//! core takes every open event off the PMU on its own CPU through the driver's `del`, which
//! folds the final count, and revokes it; the events' callbacks are swapped for stubs that
//! live in the kernel image, for the calls perf core may still make on an event it has just
//! revoked. Open events keep a valid fd that reads the final count. Then the driver's data is
//! dropped. The refcounted `struct pmu` goes with its last reference, once the events' states
//! are gone. No callback of the driver needs an "is it still registered?" check, and none runs
//! once the drop has returned.
//!
//! See `Documentation/rust/perf.rst` for the lifecycle and the errors perf users get.
//!
//! # Examples
//!
//! A PMU with one event, `ticks`, counting a driver-maintained counter:
//!
//! ```
//! use kernel::perf::{Capabilities, Event, Operations, Options, Registration, Scope};
//! use kernel::sync::atomic::{Atomic, Relaxed};
//!
//! kernel::pmu_attributes! {
//!     static ATTRS = {
//!         format: { "event" => "config:0-7" },
//!         events: { "ticks" => "event=0x00" },
//!     };
//! }
//!
//! struct Ticks;
//!
//! // `add`, `del`, `start`, `stop` and `read` are the defaults, which count with `counter`.
//! #[vtable]
//! impl Operations for Ticks {
//!     type Data = Atomic<u64>;
//!     type EventData = ();
//!
//!     fn event_init(_: &Atomic<u64>, event: &Event) -> Result {
//!         if event.config() != 0 {
//!             return Err(ENOENT);
//!         }
//!         Ok(())
//!     }
//!
//!     fn counter(ticks: &Atomic<u64>, _: &Event, (): &()) -> u64 {
//!         ticks.load(Relaxed)
//!     }
//! }
//!
//! let options = Options {
//!     name: c"doctest_ticks",
//!     scope: Scope::SystemWide,
//!     attributes: &ATTRS,
//!     parent: None,
//!     capabilities: Capabilities::empty(),
//! };
//! let reg = Registration::<Ticks>::new(options, Atomic::new(0))?;
//! assert!(reg.pmu_type() > 0);
//!
//! // A colon is reserved by perf tools.
//! let bad = Options { name: c"doctest:ticks", ..options };
//! assert_eq!(Registration::<Ticks>::new(bad, Atomic::new(0)).err(), Some(EINVAL));
//!
//! // Unbind: unregisters at once, whatever userspace holds open.
//! drop(reg);
//! # Ok::<(), Error>(())
//! ```

pub mod attr;
mod event;
mod pmu;

#[cfg(CONFIG_RUST_PERF_KUNIT_TEST)]
mod tests;

pub use attr::AttributeGroups;
pub use event::{Event, EventFlag, EventFlags, Exclude, Excludes, HwFlag, HwState};
pub use pmu::{Capabilities, Capability, Operations, Options, Registration, Scope};

/// The time in nanoseconds of `CLOCK_MONOTONIC`, for counters that measure time.
///
/// Unlike [`Instant::now`](crate::time::Instant::now) it may be called from every PMU
/// callback, including [`Operations::read`] in NMI context (`ktime_get_mono_fast_ns()`). It
/// never returns 0 once the system is up, so 0 can mean "not started".
///
/// # Examples
///
/// ```
/// let t0 = kernel::perf::clock_ns();
/// assert!(t0 > 0);
/// assert!(kernel::perf::clock_ns() >= t0);
/// ```
#[inline]
pub fn clock_ns() -> u64 {
    // SAFETY: `ktime_get_mono_fast_ns()` has no preconditions and is NMI-safe.
    unsafe { crate::bindings::ktime_get_mono_fast_ns() }
}
