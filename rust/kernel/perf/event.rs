// SPDX-License-Identifier: GPL-2.0

//! Perf events as a PMU driver sees them.
//!
//! C header: [`include/linux/perf_event.h`](srctree/include/linux/perf_event.h)

use crate::{
    bindings,
    bits::bit_u32,
    ffi::c_int,
    sync::atomic::{Acquire, Atomic, Relaxed, Release},
    types::Opaque,
};

crate::impl_flags!(
    /// The `PERF_HES_*` state of an event's hardware counter (`event->hw.state`).
    ///
    /// A counting driver sets [`HwFlag::Stopped`] when its counter does not run and
    /// [`HwFlag::UpToDate`] once `event->count` holds everything the counter counted.
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
    pub struct HwState(u32);

    /// One `PERF_HES_*` flag.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum HwFlag {
        /// The counter is stopped (`PERF_HES_STOPPED`).
        Stopped = bindings::PERF_HES_STOPPED,
        /// `event->count` is up to date with the counter (`PERF_HES_UPTODATE`).
        UpToDate = bindings::PERF_HES_UPTODATE,
    }
);

impl HwState {
    /// The counter is running and `event->count` may lag behind it: no flag set.
    pub const RUNNING: Self = Self::empty();
}

crate::impl_flags!(
    /// The `PERF_EF_*` flags perf passes to `add`, `del`, `start` and `stop`.
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
    pub struct EventFlags(u32);

    /// One `PERF_EF_*` flag.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum EventFlag {
        /// `add`: start the counter right away (`PERF_EF_START`).
        Start = bindings::PERF_EF_START,
        /// `start`: reload the counter from `prev_count` (`PERF_EF_RELOAD`).
        Reload = bindings::PERF_EF_RELOAD,
        /// `stop` and `del`: fold the counter into `event->count` (`PERF_EF_UPDATE`).
        Update = bindings::PERF_EF_UPDATE,
    }
);

impl EventFlags {
    /// The flags of a callback's `int flags` argument; bits perf does not define are dropped.
    pub(crate) fn from_raw(flags: c_int) -> Self {
        Self(flags as u32 & Self::all_bits())
    }
}

crate::impl_flags!(
    /// The `exclude_*` bits of `perf_event_attr`: what an event asks not to count.
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
    pub struct Excludes(u32);

    /// One `exclude_*` bit.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Exclude {
        /// `exclude_user`.
        User = bit_u32(0),
        /// `exclude_kernel`.
        Kernel = bit_u32(1),
        /// `exclude_hv`.
        Hv = bit_u32(2),
        /// `exclude_idle`.
        Idle = bit_u32(3),
        /// `exclude_host`.
        Host = bit_u32(4),
        /// `exclude_guest`.
        Guest = bit_u32(5),
    }
);

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
    pub(crate) fn is_sampling(&self) -> bool {
        // SAFETY: `sample_period` and `sample_freq` share a `u64` union.
        unsafe { self.attr().__bindgen_anon_1.sample_period != 0 }
    }

    /// Whether the event asks for a branch stack.
    #[inline]
    pub(crate) fn has_branch_stack(&self) -> bool {
        self.attr().sample_type
            & u64::from(bindings::perf_event_sample_format_PERF_SAMPLE_BRANCH_STACK)
            != 0
    }

    /// The `exclude_*` bits of the attributes. Perf core refuses them all right after the
    /// driver's `event_init`, before any other callback sees the event, unless the PMU
    /// declared [`Capability::Exclude`](super::Capability::Exclude).
    pub fn exclude(&self) -> Excludes {
        let a = self.attr();
        [
            (a.exclude_user(), Exclude::User),
            (a.exclude_kernel(), Exclude::Kernel),
            (a.exclude_hv(), Exclude::Hv),
            (a.exclude_idle(), Exclude::Idle),
            (a.exclude_host(), Exclude::Host),
            (a.exclude_guest(), Exclude::Guest),
        ]
        .into_iter()
        .filter(|&(set, _)| set != 0)
        .fold(Excludes::empty(), |all, (_, bit)| all | bit)
    }

    /// The `event->hw.state` word, accessed atomically.
    #[inline]
    fn hw_state_word(&self) -> &Atomic<i32> {
        // SAFETY: By the type invariant the event is valid; `hw.state` is an aligned `int`.
        // The PMU callbacks write it, and `read` may run on another CPU of the scope at the
        // same time as the event's own CPU runs `stop` or `del`, so every access from Rust is
        // atomic. Perf core does not write it for these events after `perf_event_alloc()`
        // zeroed it; it reads it with plain loads, under its context lock and also without it:
        // `perf_event_index()`, from `perf_mmap()` through `perf_event_update_userpage()`,
        // tests `PERF_HES_STOPPED` for the user page's index, which a racing callback may leave
        // stale until the page's next update.
        unsafe { Atomic::from_ptr(&raw mut (*self.as_raw()).hw.state) }
    }

    /// The hardware state flags (`event->hw.state`).
    ///
    /// The load pairs with [`Event::set_hw_state`]: a `read` on another CPU that sees
    /// [`HwState::RUNNING`] also sees the `prev_count` that `start` set before it.
    #[inline]
    pub fn hw_state(&self) -> HwState {
        HwState(self.hw_state_word().load(Acquire) as u32 & HwState::all_bits())
    }

    /// Sets the hardware state flags (`event->hw.state`).
    ///
    /// Callbacks of the same event may run concurrently (see
    /// [`Operations`](super::Operations)): the store is atomic, but a driver that must not
    /// lose a concurrent update keeps its own state in its [`Operations::EventData`].
    ///
    /// [`Operations::EventData`]: super::Operations::EventData
    #[inline]
    pub fn set_hw_state(&self, state: impl Into<HwState>) {
        self.hw_state_word()
            .store(u32::from(state.into()) as i32, Release);
    }

    /// One of the event's `local64_t`s (`count`, `hw.prev_count`), as an [`Atomic<u64>`].
    ///
    /// A `local64_t` is a `local_t` on 64-bit kernels and an `atomic64_t` on 32-bit ones: either
    /// way one aligned 64-bit counter, which the `atomic64_*` operations behind [`Atomic<u64>`]
    /// access (on 32-bit, the very ones `local64_*` are). They are stronger than x86's
    /// `local64_add()` and `local64_cmpxchg()`, which omit the `lock` prefix and are atomic only
    /// against the CPU's own interrupts, on purpose: the callbacks that fold a count do not all
    /// run on the event's CPU. For a PMU with a scope (`PERF_EV_CAP_READ_SCOPE`), `read()` runs
    /// `pmu->read` on the reader's CPU under the context lock, and `perf_event_read_local()`
    /// (BPF) on any CPU of the scope without it, while the event's own CPU may be stopping or
    /// reading it. Locked operations keep [`Event::update_count`] exact in all of these; the
    /// fold orders its accesses to `prev_count` itself (`local64_t` gives no ordering).
    ///
    /// # Safety
    ///
    /// `field` must be `count` or `hw.prev_count` of `self`.
    #[inline(always)]
    unsafe fn local64(&self, field: *mut bindings::local64_t) -> &Atomic<u64> {
        const _: () = assert!(
            core::mem::size_of::<bindings::local64_t>() == core::mem::size_of::<u64>()
                && core::mem::align_of::<bindings::local64_t>() >= core::mem::align_of::<u64>()
        );
        // SAFETY: `field` is a `local64_t` of the event (caller guarantee), valid for as long
        // as `&self` (type invariant); it is one aligned 64-bit counter (checked above). It is
        // accessed only atomically: here, and by perf core, which for the events of a PMU
        // registered here only reads and sets `count` and reads `prev_count`
        // (`local64_read()`, `local64_set()`). Its one read-modify-write of `count`,
        // `local64_xchg()` in `__perf_event_sync_stat()`, is for task contexts, which these
        // PMUs do not have (`perf_invalid_context`).
        unsafe { Atomic::from_ptr(field.cast::<u64>()) }
    }

    /// `hw.prev_count` of an event that does not count: every fold accounts nothing until
    /// [`Event::start_count`] replaces it with a reading. No reading is stored as it.
    const PARKED: u64 = u64::MAX;

    /// The event's `hw.prev_count`, as an [`Atomic<u64>`].
    #[inline(always)]
    fn prev_count(&self) -> &Atomic<u64> {
        // SAFETY: `hw.prev_count` of `self`.
        unsafe { self.local64(&raw mut (*self.as_raw()).hw.prev_count) }
    }

    /// Makes the event count nothing until its next [`Event::start_count`]; the state of a new
    /// event.
    #[inline]
    pub(crate) fn park(&self) {
        self.prev_count().store(Self::PARKED, Relaxed);
    }

    /// Starts counting from `now`, a raw reading of the counter: the next fold counts from it.
    ///
    /// Until then, from the event's creation or its last [`Event::stop_count`] on, every fold
    /// ([`Event::update_count`], [`Event::stop_count`] and their `_monotonic` forms) accounts
    /// nothing. A reading of `u64::MAX` is taken as `u64::MAX - 1`, one more unit counted: that
    /// value marks an event that does not count.
    ///
    /// The readings of a counter must go on across a stop and a start, as a free-running
    /// counter's do (wrapping aside): a fold on another CPU that loaded `prev_count` before the
    /// last stop fails its exchange only if `now` differs from what it loaded. A counter that
    /// resets (on resume, say) adds what it counted before the reset to its readings.
    #[inline]
    pub fn start_count(&self, now: u64) {
        self.prev_count().store(now.min(Self::PARKED - 1), Release);
    }

    /// Folds the progress of a free-running counter into `event->count`.
    ///
    /// `read_counter` returns a fresh reading of the counter. The delta since the reading
    /// stored in `hw.prev_count` is added to the event's count, and the new reading becomes the
    /// previous one. If another caller (`read` racing with `stop`, say) moved `prev_count`
    /// meanwhile, the counter is read again, so concurrent callers account disjoint parts of
    /// the delta and nothing is counted twice or backwards. `read_counter` may thus run more
    /// than once, and the fold may be entered again on the same CPU while it runs (an NMI's
    /// `perf_event_read_local()`). The counter is taken to wrap at 64 bits. Accounts nothing
    /// while the event is stopped (see [`Event::stop_count`]), and reads no counter if it was
    /// stopped when the fold began. Returns the delta this call accounted.
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
        self.fold(read_counter, false, false)
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
        self.fold(read_counter, true, false)
    }

    /// Folds the progress of a free-running counter into `event->count` one last time, and
    /// stops counting: from then on every fold accounts nothing until [`Event::start_count`].
    ///
    /// As [`Event::update_count`]. The last fold and the stop are one atomic update of
    /// `hw.prev_count`: a fold on another CPU that loaded `prev_count` before it fails its own
    /// update and then finds the event stopped, however late it reads the counter, or finds the
    /// reading of the next [`Event::start_count`] and counts from it. So nothing the counter
    /// does while the event is stopped is counted, and nothing twice, whatever `read` on
    /// another CPU of the scope (`perf_event_read_local()`, without perf core's lock) races
    /// with the event's `stop` and its next `start`: for a driver whose every `stop` ends with
    /// this, as the default's does (a `stop` without [`EventFlag::Update`] too), and whose
    /// readings go on across a stop and a start (see [`Event::start_count`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::perf::{Event, HwFlag};
    /// use kernel::sync::atomic::{Atomic, Relaxed};
    ///
    /// fn stop(event: &Event, busy_ns: &Atomic<u64>) {
    ///     event.stop_count(|| busy_ns.load(Relaxed));
    ///     event.set_hw_state(HwFlag::Stopped | HwFlag::UpToDate);
    /// }
    /// ```
    #[inline]
    pub fn stop_count(&self, read_counter: impl Fn() -> u64) -> u64 {
        self.fold(read_counter, false, true)
    }

    /// [`Event::stop_count`] for a counter that only grows, with the clamp of
    /// [`Event::update_count_monotonic`].
    #[inline]
    pub fn stop_count_monotonic(&self, read_counter: impl Fn() -> u64) -> u64 {
        self.fold(read_counter, true, true)
    }

    #[inline(always)]
    fn fold(&self, read_counter: impl Fn() -> u64, monotonic: bool, stop: bool) -> u64 {
        let prev_count = self.prev_count();
        // SAFETY: `count` of `self`.
        let count = unsafe { self.local64(&raw mut (*self.as_raw()).count) };
        // Acquire, as the reload below: a fold that finds the reading of a `start` or of another
        // fold in `prev_count` reads the counter after that reading was taken (pairs with the
        // release of `start_count` and of the exchange below), so it never counts backwards
        // from it. On x86 these are plain loads.
        let mut prev = prev_count.load(Acquire);
        let (prev, end) = loop {
            if prev == Self::PARKED {
                return 0;
            }
            let mut now = read_counter();
            if monotonic {
                // If the exchange succeeds, `prev_count` was `prev` and becomes `now` (or
                // `PARKED`): it never decreases, and the delta below is never negative.
                now = now.max(prev);
            }
            // What the fold counts up to, and what it leaves in `prev_count`: a reading, which
            // cannot be `PARKED` (see `start_count`), or `PARKED` itself for the last fold.
            let (end, next) = if stop {
                (now, Self::PARKED)
            } else {
                let end = now.min(Self::PARKED - 1);
                (end, end)
            };
            match prev_count.cmpxchg(prev, next, Release) {
                Ok(_) => break (prev, end),
                // A failed exchange orders nothing: load again.
                Err(_) => prev = prev_count.load(Acquire),
            }
        };
        let delta = end.wrapping_sub(prev);
        count.add(delta, Relaxed);
        delta
    }
}
