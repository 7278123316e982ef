// SPDX-License-Identifier: GPL-2.0

//! Perf events as a PMU driver sees them.
//!
//! C header: [`include/linux/perf_event.h`](srctree/include/linux/perf_event.h)

use crate::{
    bindings,
    sync::atomic::{Acquire, Atomic, Relaxed, Release},
    types::Opaque,
};

/// The `local64_t` operations of the counting hot path, compiled inline.
///
/// On 64-bit kernels a `local64_t` is one naturally aligned machine word (a `local_t`), which
/// `local64_read()`, `local64_set()`, `local64_add()` and `local64_cmpxchg()` access with
/// single instructions. Called through the C helpers, each would be an out-of-line call on
/// every `read()` of an event; these are the same operations on the same word, done with
/// `core` atomics. They need no ordering, as `local_t` gives none.
///
/// They are stronger than the `local_t` ones on purpose. x86's `local64_add()` and
/// `local64_cmpxchg()` omit the `lock` prefix, which makes them atomic only against the
/// CPU's own interrupts, but the callbacks that fold a count do not all run on the event's
/// CPU: for a PMU with a scope (`PERF_EV_CAP_READ_SCOPE`), `read()` runs `pmu->read` on the
/// reader's CPU under the context lock, and `perf_event_read_local()` (BPF) on any CPU of the
/// scope without it, while the event's own CPU may be stopping or reading it. Locked
/// instructions keep `Event::update_count()` exact in all of these.
#[cfg(CONFIG_64BIT)]
mod local64 {
    use crate::bindings::local64_t;
    use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

    use core::mem::{align_of, size_of};

    const _: () = assert!(
        size_of::<local64_t>() == size_of::<AtomicU64>()
            && align_of::<local64_t>() >= align_of::<AtomicU64>()
    );

    /// # Safety
    ///
    /// `l` must point to a live `local64_t` that is only accessed atomically while the
    /// returned reference exists.
    #[inline(always)]
    unsafe fn atomic<'a>(l: *mut local64_t) -> &'a AtomicU64 {
        // SAFETY: The caller guarantees a live, atomically accessed `local64_t`; its size and
        // alignment are those of `AtomicU64` (checked above).
        unsafe { AtomicU64::from_ptr(l.cast()) }
    }

    /// # Safety
    ///
    /// As for [`atomic`].
    #[inline(always)]
    pub(super) unsafe fn read(l: *mut local64_t) -> u64 {
        // SAFETY: Guaranteed by the caller.
        unsafe { atomic(l) }.load(Relaxed)
    }

    /// # Safety
    ///
    /// As for [`atomic`].
    #[inline(always)]
    pub(super) unsafe fn set(l: *mut local64_t, v: u64) {
        // SAFETY: Guaranteed by the caller.
        unsafe { atomic(l) }.store(v, Relaxed)
    }

    /// # Safety
    ///
    /// As for [`atomic`].
    #[inline(always)]
    pub(super) unsafe fn add(v: u64, l: *mut local64_t) {
        // SAFETY: Guaranteed by the caller.
        unsafe { atomic(l) }.fetch_add(v, Relaxed);
    }

    /// # Safety
    ///
    /// As for [`atomic`].
    #[inline(always)]
    pub(super) unsafe fn cmpxchg(l: *mut local64_t, old: u64, new: u64) -> u64 {
        // SAFETY: Guaranteed by the caller.
        match unsafe { atomic(l) }.compare_exchange(old, new, Relaxed, Relaxed) {
            Ok(v) | Err(v) => v,
        }
    }
}

/// 32-bit kernels: `local64_t` may be an `atomic64_t` behind a lock; use the C helpers.
#[cfg(not(CONFIG_64BIT))]
mod local64 {
    pub(super) use crate::bindings::{
        local64_add as add, local64_cmpxchg as cmpxchg, local64_read as read, local64_set as set,
    };
}

/// The `PERF_HES_*` state of an event's hardware counter (`event->hw.state`).
///
/// A counting driver sets [`HwState::STOPPED`] when its counter does not run and
/// [`HwState::UPTODATE`] once `event->count` holds everything the counter counted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct HwState(u32);

impl HwState {
    /// The counter is stopped (`PERF_HES_STOPPED`).
    pub const STOPPED: Self = Self(bindings::PERF_HES_STOPPED);
    /// `event->count` is up to date with the counter (`PERF_HES_UPTODATE`).
    pub const UPTODATE: Self = Self(bindings::PERF_HES_UPTODATE);
    /// The counter is running and `event->count` may lag behind it.
    pub const RUNNING: Self = Self(0);

    /// Whether all flags of `other` are set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw `PERF_HES_*` bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

impl core::ops::BitOr for HwState {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The `PERF_EF_*` flags perf passes to `add`, `del`, `start` and `stop`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EventFlags(u32);

impl EventFlags {
    /// `add`: start the counter right away (`PERF_EF_START`).
    pub const START: Self = Self(bindings::PERF_EF_START);
    /// `start`: reload the counter from `prev_count` (`PERF_EF_RELOAD`).
    pub const RELOAD: Self = Self(bindings::PERF_EF_RELOAD);
    /// `stop` and `del`: fold the counter into `event->count` (`PERF_EF_UPDATE`).
    pub const UPDATE: Self = Self(bindings::PERF_EF_UPDATE);

    pub(crate) const fn from_raw(flags: i32) -> Self {
        Self(flags as u32)
    }

    /// Whether all flags of `other` are set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for EventFlags {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The `exclude_*` bits of `perf_event_attr`: what an event asks not to count.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Exclude(u32);

impl Exclude {
    /// No bit set.
    pub const NONE: Self = Self(0);
    /// `exclude_user`.
    pub const USER: Self = Self(1 << 0);
    /// `exclude_kernel`.
    pub const KERNEL: Self = Self(1 << 1);
    /// `exclude_hv`.
    pub const HV: Self = Self(1 << 2);
    /// `exclude_idle`.
    pub const IDLE: Self = Self(1 << 3);
    /// `exclude_host`.
    pub const HOST: Self = Self(1 << 4);
    /// `exclude_guest`.
    pub const GUEST: Self = Self(1 << 5);

    /// Whether all bits of `other` are set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Exclude {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// A perf event (`struct perf_event`) handed to a PMU driver's callbacks.
///
/// The driver only ever gets `&Event` for the duration of a callback; the
/// abstraction owns the per-event driver state (see
/// [`Operations::EventData`](super::Operations::EventData)).
///
/// # Invariants
///
/// `self.0` is a valid, initialised `struct perf_event` whose `pmu` is a PMU
/// registered through this module, for as long as the reference exists.
#[repr(transparent)]
pub struct Event(Opaque<bindings::perf_event>);

impl Event {
    /// Creates a reference to an [`Event`] from a valid pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct perf_event` for the lifetime `'a`, and its PMU must be
    /// one registered through this module.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::perf_event) -> &'a Self {
        // SAFETY: `Event` is `repr(transparent)` over the C struct; the caller guarantees that
        // `ptr` is valid for `'a`.
        unsafe { &*ptr.cast() }
    }

    #[inline]
    pub(crate) fn as_raw(&self) -> *mut bindings::perf_event {
        self.0.get()
    }

    #[inline]
    fn attr(&self) -> &bindings::perf_event_attr {
        // SAFETY: By the type invariant the event is valid, and `attr` does not change after
        // the event has been allocated.
        unsafe { &(*self.as_raw()).attr }
    }

    /// `perf_event_attr::type`: the PMU type the event was opened for.
    #[inline]
    pub(crate) fn attr_type(&self) -> u32 {
        self.attr().type_
    }

    /// The `perf_event_attr::config` the user asked for.
    #[inline]
    pub fn config(&self) -> u64 {
        self.attr().config
    }

    /// `perf_event_attr::config1`.
    #[inline]
    pub fn config1(&self) -> u64 {
        // SAFETY: `config1` is a plain `u64` in an anonymous union of `u64`s.
        unsafe { self.attr().__bindgen_anon_3.config1 }
    }

    /// `perf_event_attr::config2`.
    #[inline]
    pub fn config2(&self) -> u64 {
        // SAFETY: `config2` is a plain `u64` in an anonymous union of `u64`s.
        unsafe { self.attr().__bindgen_anon_4.config2 }
    }

    /// The CPU the event counts on, or `-1` for a per-task event on any CPU.
    ///
    /// Perf core moves the event to another CPU of the PMU's scope when its CPU goes offline
    /// (`perf_pmu_migrate_context()`, with the event off the PMU): the value may differ from
    /// one callback to the next, but not between an `add` and its `del`.
    #[inline]
    pub fn cpu(&self) -> i32 {
        // SAFETY: By the type invariant the event is valid. Perf core writes `cpu` while it
        // migrates the event, concurrently with a reader on another CPU of the scope: an
        // atomic load of the `int` is free of data races on the Rust side.
        unsafe { Atomic::from_ptr(&raw mut (*self.as_raw()).cpu) }.load(Relaxed)
    }

    /// Whether the event samples (has a sample period or frequency).
    #[inline]
    pub fn is_sampling(&self) -> bool {
        // SAFETY: `sample_period` and `sample_freq` share a `u64` union.
        unsafe { self.attr().__bindgen_anon_1.sample_period != 0 }
    }

    /// Whether the event asks for a branch stack.
    #[inline]
    pub fn has_branch_stack(&self) -> bool {
        self.attr().sample_type
            & u64::from(bindings::perf_event_sample_format_PERF_SAMPLE_BRANCH_STACK)
            != 0
    }

    /// Whether any `exclude_*` bit is set in the attributes.
    #[inline]
    pub fn has_exclude_flags(&self) -> bool {
        self.exclude() != Exclude::NONE
    }

    /// The `exclude_*` bits of the attributes. Perf core refuses them all right after the
    /// driver's `event_init`, before any other callback sees the event, unless the PMU
    /// declared [`Capabilities::EXCLUDE`](super::Capabilities::EXCLUDE).
    pub fn exclude(&self) -> Exclude {
        let a = self.attr();
        let bit = |set: u64, flag: Exclude| if set != 0 { flag } else { Exclude::NONE };
        bit(a.exclude_user(), Exclude::USER)
            | bit(a.exclude_kernel(), Exclude::KERNEL)
            | bit(a.exclude_hv(), Exclude::HV)
            | bit(a.exclude_idle(), Exclude::IDLE)
            | bit(a.exclude_host(), Exclude::HOST)
            | bit(a.exclude_guest(), Exclude::GUEST)
    }

    /// Whether the event is currently scheduled on its PMU (`PERF_EVENT_STATE_ACTIVE`).
    #[inline]
    pub fn is_active(&self) -> bool {
        // SAFETY: By the type invariant the event is valid. `state` is an `int`-sized enum
        // written by perf core under its context lock; an atomic load is fine for this hint.
        let state = unsafe { Atomic::from_ptr(&raw mut (*self.as_raw()).state) };
        state.load(Relaxed) == bindings::perf_event_state_PERF_EVENT_STATE_ACTIVE
    }

    /// The `event->hw.state` word, accessed atomically.
    #[inline]
    fn hw_state_word(&self) -> &Atomic<i32> {
        // SAFETY: By the type invariant the event is valid; `hw.state` is an aligned `int`.
        // The PMU callbacks write it, and `read` may run on another CPU of the scope at the
        // same time as the event's own CPU runs `stop` or `del`, so every access from Rust is
        // atomic; perf core's own accesses happen under its context lock.
        unsafe { Atomic::from_ptr(&raw mut (*self.as_raw()).hw.state) }
    }

    /// The hardware state flags (`event->hw.state`).
    ///
    /// The load pairs with [`Event::set_hw_state`]: a `read` on another CPU that sees
    /// [`HwState::RUNNING`] also sees the `prev_count` that `start` set before it.
    #[inline]
    pub fn hw_state(&self) -> HwState {
        HwState(self.hw_state_word().load(Acquire) as u32)
    }

    /// Sets the hardware state flags (`event->hw.state`).
    ///
    /// Callbacks of the same event may run concurrently (see
    /// [`Operations`](super::Operations)): the store is atomic, but a driver that must not
    /// lose a concurrent update keeps its own state in its [`Operations::EventData`].
    ///
    /// [`Operations::EventData`]: super::Operations::EventData
    #[inline]
    pub fn set_hw_state(&self, state: HwState) {
        self.hw_state_word().store(state.0 as i32, Release);
    }

    /// The value of the event's count (`event->count`), without the child counts.
    #[inline]
    pub fn count(&self) -> u64 {
        // SAFETY: By the type invariant the event is valid; `count` is a `local64_t`.
        unsafe { local64::read(&raw mut (*self.as_raw()).count) }
    }

    /// Records `now`, a raw reading of a free-running counter, as the point the next
    /// [`Event::update_count`] counts from (`hw.prev_count`).
    #[inline]
    pub fn set_prev_count(&self, now: u64) {
        // SAFETY: By the type invariant the event is valid; `prev_count` is a `local64_t`.
        unsafe { local64::set(&raw mut (*self.as_raw()).hw.prev_count, now) };
    }

    /// Folds the progress of a free-running counter into `event->count`.
    ///
    /// `read_counter` returns a fresh reading of the counter. The delta since the reading
    /// stored in `hw.prev_count` is added to the event's count, and the new reading becomes the
    /// previous one. If another caller (`read` racing with `stop`, say) moved `prev_count`
    /// meanwhile, the counter is read again, so concurrent callers account disjoint parts of
    /// the delta and nothing is counted twice or backwards. The counter is taken to wrap at 64
    /// bits. Returns the delta this call accounted.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::perf::Event;
    /// use kernel::sync::atomic::{Atomic, Relaxed};
    ///
    /// fn read(event: &Event, busy_ns: &Atomic<u64>) {
    ///     event.update_count(|| busy_ns.load(Relaxed));
    /// }
    /// ```
    #[inline]
    pub fn update_count(&self, read_counter: impl Fn() -> u64) -> u64 {
        self.fold(read_counter, false)
    }

    /// Folds the progress of a counter that only grows, but whose readings may lag, into
    /// `event->count`.
    ///
    /// As [`Event::update_count`], except that a reading below the one in `hw.prev_count`
    /// accounts nothing and leaves `hw.prev_count` alone, so the event's count never goes
    /// backwards. This is for software counters computed without a lock, such as a time
    /// in a state derived from a clock and the time the state was entered: a reader that
    /// races with a state change, or whose clock lags another CPU's, may get a slightly
    /// smaller value than an earlier reader did. The clamp is per event, so readers of
    /// different events write nothing they share. The counter must not wrap.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::perf::Event;
    /// use kernel::sync::atomic::{Atomic, Acquire};
    ///
    /// /// Time spent busy up to `now`: the busy periods completed, plus the current one.
    /// fn read(event: &Event, total: &Atomic<u64>, since: &Atomic<u64>, now: u64) {
    ///     event.update_count_monotonic(|| {
    ///         let (total, since) = (total.load(Acquire), since.load(Acquire));
    ///         if since == 0 { total } else { total + now.saturating_sub(since) }
    ///     });
    /// }
    /// ```
    #[inline]
    pub fn update_count_monotonic(&self, read_counter: impl Fn() -> u64) -> u64 {
        self.fold(read_counter, true)
    }

    #[inline(always)]
    fn fold(&self, read_counter: impl Fn() -> u64, monotonic: bool) -> u64 {
        let ev = self.as_raw();
        // SAFETY: By the type invariant the event is valid; `prev_count` and `count` are
        // `local64_t`s that are only accessed atomically, here and by perf core.
        unsafe {
            let prev_count = &raw mut (*ev).hw.prev_count;
            let mut prev = local64::read(prev_count);
            let now = loop {
                let mut now = read_counter();
                if monotonic {
                    // If the exchange succeeds, `prev_count` was `prev` and becomes `now`:
                    // it never decreases, and the delta below is never negative.
                    now = now.max(prev);
                }
                let seen = local64::cmpxchg(prev_count, prev, now);
                if seen == prev {
                    break now;
                }
                prev = seen;
            };
            let delta = now.wrapping_sub(prev);
            local64::add(delta, &raw mut (*ev).count);
            delta
        }
    }
}
