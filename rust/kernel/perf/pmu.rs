// SPDX-License-Identifier: GPL-2.0

//! PMU registration: a refcounted PMU object whose driver can go at any time.
//!
//! C header: [`include/linux/perf_event.h`](srctree/include/linux/perf_event.h)

use super::{
    attr::AttributeGroups,
    event::{Event, EventFlag, EventFlags, HwFlag, HwState},
};
use crate::{
    bindings,
    bits::bit_u32,
    build_error,
    device::Device,
    error::VTABLE_DEFAULT_ERROR,
    error::{from_result, to_result},
    ffi::c_int,
    prelude::*,
    str::CString,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        Arc, ArcBorrow,
    },
    types::{Opaque, ScopeGuard},
    warn_on,
};
use core::{ffi::c_void, marker::PhantomData, ptr};

/// The set of CPUs a PMU's events count on (`PERF_PMU_SCOPE_*`).
///
/// Perf core provides the `cpumask` sysfs file for the scope and migrates events off a CPU
/// that goes offline, so a driver needs no CPU hotplug code of its own.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    /// One event per core (`PERF_PMU_SCOPE_CORE`).
    Core,
    /// One event per die (`PERF_PMU_SCOPE_DIE`).
    Die,
    /// One event per cluster (`PERF_PMU_SCOPE_CLUSTER`).
    Cluster,
    /// One event per package (`PERF_PMU_SCOPE_PKG`).
    Package,
    /// One event for the whole system, e.g. a device's counters (`PERF_PMU_SCOPE_SYS_WIDE`).
    SystemWide,
}

impl Scope {
    fn as_raw(self) -> u32 {
        match self {
            Self::Core => bindings::perf_pmu_scope_PERF_PMU_SCOPE_CORE,
            Self::Die => bindings::perf_pmu_scope_PERF_PMU_SCOPE_DIE,
            Self::Cluster => bindings::perf_pmu_scope_PERF_PMU_SCOPE_CLUSTER,
            Self::Package => bindings::perf_pmu_scope_PERF_PMU_SCOPE_PKG,
            Self::SystemWide => bindings::perf_pmu_scope_PERF_PMU_SCOPE_SYS_WIDE,
        }
    }
}

crate::impl_flags!(
    /// What the events of a PMU may ask for beyond plain counting.
    ///
    /// By default perf core and the abstraction reject everything a counting PMU cannot honour
    /// (see [`Operations`]). A driver that can do more says so here, and then checks the
    /// request itself in [`Operations::event_init`]. Most PMUs have none:
    /// [`Capabilities::empty()`].
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
    pub struct Capabilities(u32);

    /// One capability of a PMU.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Capability {
        /// The driver honours `exclude_*` bits (see [`Event::exclude`]); perf core lets them
        /// through instead of refusing them (no `PERF_PMU_CAP_NO_EXCLUDE`).
        Exclude = bit_u32(0),
    }
);

impl Capabilities {
    /// The `PERF_PMU_CAP_*` bits of `struct pmu` for these capabilities.
    fn as_raw(self) -> c_int {
        let mut caps = bindings::PERF_PMU_CAP_NO_INTERRUPT;
        if !self.contains(Capability::Exclude) {
            caps |= bindings::PERF_PMU_CAP_NO_EXCLUDE;
        }
        caps as c_int
    }
}

/// What a PMU is called and how it shows up in sysfs.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// The name under `/sys/bus/event_source/devices/`. It may not contain `:` (perf tools
    /// use it to separate the PMU name from modifiers) or `/`.
    pub name: &'a CStr,
    /// The CPUs the events count on.
    pub scope: Scope,
    /// The `format/` and `events/` tables, from [`pmu_attributes!`](crate::pmu_attributes).
    pub attributes: &'static AttributeGroups,
    /// The device the PMU belongs to, if any: the PMU's sysfs directory is created under it
    /// (perf core's device holds a reference on it while the PMU is published).
    pub parent: Option<&'a Device>,
    /// What events may ask for beyond plain counting; [`Capabilities::empty()`] for most PMUs.
    pub capabilities: Capabilities,
}

/// The callbacks of a counting PMU driver.
///
/// A driver of a counting PMU implements two: [`event_init`](Operations::event_init), which
/// checks an event and creates its state, and [`counter`](Operations::counter), which returns
/// the current value of the event's counter. The defaults of the other callbacks count with
/// it: `add` and `start` take a reading ([`Event::start_count`]), `read` folds the progress
/// since the last reading into the event's count ([`Event::update_count_monotonic`]), `stop`
/// and `del` fold it a last time ([`Event::stop_count_monotonic`]), and nothing is counted
/// while the event is stopped, even by a `read` that races the `stop` and the next `start`
/// from another CPU. Every default can be overridden, for a counter that
/// must be programmed, say; a driver that overrides `start`, `stop` and `read` needs no
/// `counter`.
///
/// Perf core calls them in these contexts (see `Documentation/rust/perf.rst`):
///
/// - [`event_init`](Operations::event_init): process context; may sleep.
/// - [`add`](Operations::add) and [`del`](Operations::del): on the event's CPU, interrupts off,
///   perf core's raw context lock held.
/// - [`start`](Operations::start) and [`stop`](Operations::stop): as `add` and `del`; and
///   without the context lock when a software event in the group throttles it from its
///   overflow (`perf_event_throttle_group()`): on the event's CPU, from the `cpu-clock` hrtimer
///   or a `sched_stat_*` tracepoint under the runqueue lock, interrupts off.
/// - [`read`](Operations::read) (and [`counter`](Operations::counter), which the defaults call
///   from all of these): any context, NMI included, and on any CPU of the PMU's [`Scope`]
///   (`PERF_EV_CAP_READ_SCOPE`), concurrently with the event's other callbacks, also before the
///   first `add`, between `add` and `start` and after `del`; it must be lock-free, and count
///   nothing while the event is stopped (an event starts out stopped): a driver's own `stop`
///   folds with [`Event::stop_count`], and its `start` counts from [`Event::start_count`],
///   which keep every fold of a `read` that races them exact.
///
/// None of them runs in a sleepable context but `event_init`, and all of them may run
/// concurrently for different events, `read` also for the same event.
///
/// Before `event_init` runs, the abstraction has rejected what a counting PMU cannot do, with
/// the errors i915's PMU gives: events of another PMU (`ENOENT`), sampling events (`EINVAL`;
/// perf core's own `EOPNOTSUPP` for a PMU without interrupts comes only after `event_init`, in
/// `perf_event_open()`, and never for in-kernel counters), events on no particular CPU
/// (`cpu < 0`, `EINVAL`) and branch stacks (`EOPNOTSUPP`). Perf core refuses per-task and
/// cgroup events (`EINVAL`) and `exclude_*` bits (`EINVAL`) *after* a successful
/// `event_init`: the driver's [`Operations::EventData`] for such an event is created and
/// dropped again, and no other callback sees the event.
///
/// When the [`Registration`] is dropped, perf core takes every event off the PMU on the
/// event's own CPU, through `del`, so every `add` gets its `del` and the final count is
/// folded where the driver may read its counter. No callback runs once the drop has returned,
/// and none runs while the driver's data or an event's state is being dropped; none needs to
/// check whether the device is still there.
#[vtable]
pub trait Operations: Sized + 'static {
    /// The driver's shared state, given to [`Registration::new`] and dropped once the PMU is
    /// unregistered.
    type Data: Send + Sync;

    /// Per-event state, created by [`Operations::event_init`] and dropped exactly once: when
    /// the event is destroyed while the PMU is registered, or when the registration goes (it is
    /// leaked, with a warning, if perf core failed to unregister the PMU, which it does not).
    type EventData: Send + Sync;

    /// Validates a new event and creates its state. Return `ENOENT` for a config this PMU does
    /// not know.
    fn event_init(data: &Self::Data, event: &Event) -> Result<Self::EventData>;

    /// The current value of the event's counter, for the default callbacks. Lock-free: it runs
    /// where [`read`](Operations::read) runs.
    ///
    /// The defaults fold with [`Event::update_count_monotonic`]: the counter must only grow,
    /// and never wrap or reset; a reading that lags an earlier one counts nothing. A counter
    /// narrower than 64 bits overrides `start`, `stop` and `read` instead and folds with
    /// [`Event::update_count`]; one that resets (on resume, say) adds what it counted before
    /// the reset to its readings (see [`Event::start_count`]). Required unless those three
    /// are overridden (checked at build time).
    fn counter(_data: &Self::Data, _event: &Event, _state: &Self::EventData) -> u64 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Schedules the event on the PMU; starts counting if `flags` has [`EventFlag::Start`].
    fn add(data: &Self::Data, event: &Event, state: &Self::EventData, flags: EventFlags) -> Result {
        event.set_hw_state(HwFlag::Stopped | HwFlag::UpToDate);
        if flags.contains(EventFlag::Start) {
            Self::start(data, event, state, flags);
        }
        Ok(())
    }

    /// Takes the event off the PMU and folds its count in.
    ///
    /// Perf's contract is that `del` always updates the count; `flags` always has
    /// [`EventFlag::Update`], so a `del` that stops the counter with its own `flags` folds.
    /// This is also how the final count of an event is taken when the registration goes.
    fn del(data: &Self::Data, event: &Event, state: &Self::EventData, flags: EventFlags) {
        Self::stop(data, event, state, flags);
    }

    /// Starts counting.
    fn start(data: &Self::Data, event: &Event, state: &Self::EventData, _flags: EventFlags) {
        event.start_count(Self::counter(data, event, state));
        event.set_hw_state(HwState::RUNNING);
    }

    /// Stops counting; must fold the count in if `flags` has [`EventFlag::Update`].
    ///
    /// Throttling sends `stop` without `Update` and later `start` without
    /// [`EventFlag::Reload`]: a driver whose `start` takes a fresh reading of a free-running
    /// counter folds on every `stop`, or what counted before the throttle is lost. The default
    /// does, with [`Event::stop_count_monotonic`], which also keeps a `read` that races the
    /// `stop` and the next `start` exact. A driver that folds only on `Update` (a counter that
    /// stops in hardware) has its `read` check [`HwFlag::Stopped`]; such a `read` that saw the
    /// event running just before a `stop` may still count up to its own reading.
    fn stop(data: &Self::Data, event: &Event, state: &Self::EventData, _flags: EventFlags) {
        event.stop_count_monotonic(|| Self::counter(data, event, state));
        event.set_hw_state(HwFlag::Stopped | HwFlag::UpToDate);
    }

    /// Folds the counter's progress into the event's count; counts nothing while the event is
    /// stopped ([`Event::stop_count`]).
    fn read(data: &Self::Data, event: &Event, state: &Self::EventData) {
        event.update_count_monotonic(|| Self::counter(data, event, state));
    }
}

/// The driver's callbacks with the types erased, or the kernel's stubs.
struct RawOps {
    add: unsafe fn(*const c_void, &Event, *mut c_void, EventFlags) -> Result,
    del: unsafe fn(*const c_void, &Event, *mut c_void, EventFlags),
    start: unsafe fn(*const c_void, &Event, *mut c_void, EventFlags),
    stop: unsafe fn(*const c_void, &Event, *mut c_void, EventFlags),
    read: unsafe fn(*const c_void, &Event, *mut c_void),
}

/// The driver's event constructor and destructor, and its data's destructor, with the types
/// erased.
struct DriverOps {
    ops: RawOps,
    event_init: unsafe fn(*const c_void, &Event) -> Result<*mut c_void>,
    event_free: unsafe fn(*mut c_void),
    data_free: unsafe fn(*const c_void),
}

fn stub_add(_: *const c_void, _: &Event, _: *mut c_void, _: EventFlags) -> Result {
    Ok(())
}
fn stub_flags(_: *const c_void, _: &Event, _: *mut c_void, _: EventFlags) {}
fn stub_read(_: *const c_void, _: &Event, _: *mut c_void) {}

/// What an event runs once perf core has detached it from its PMU: nothing, its count is
/// final. Perf core may still reach an event it has just detached: `perf_event_read_local()`
/// (BPF) on another CPU of the scope checks the event and loads its PMU with interrupts off,
/// but not under the context lock, so it can call `read` after the detach. A late call that
/// loads the table after the swap finds the stubs, in the kernel image; one that loaded it
/// before runs the driver's `read` on a state that is still valid, after `del`.
static STUB_OPS: RawOps = RawOps {
    add: stub_add,
    del: stub_flags,
    start: stub_flags,
    stop: stub_flags,
    read: stub_read,
};

/// Instantiates [`DriverOps`] for a driver.
struct Adapter<T: Operations>(PhantomData<T>);

impl<T: Operations> Adapter<T> {
    const OPS: DriverOps = {
        // The default `start`, `stop` and `read` call `counter`; the default `add` and `del`
        // call `start` and `stop`.
        assert!(
            T::HAS_COUNTER || (T::HAS_START && T::HAS_STOP && T::HAS_READ),
            "perf::Operations: implement `counter`, or override `start`, `stop` and `read`"
        );
        DriverOps {
            ops: RawOps {
                add: Self::add,
                del: Self::del,
                start: Self::start,
                stop: Self::stop,
                read: Self::read,
            },
            event_init: Self::event_init,
            event_free: Self::event_free,
            data_free: Self::data_free,
        }
    };

    /// # Safety
    ///
    /// `data` must come from `KBox::into_raw` of the pinned `T::Data` of a [`Registration`],
    /// not be freed yet, and not be used again.
    unsafe fn data_free(data: *const c_void) {
        // SAFETY: `data` is the registration's pinned box (caller guarantee); it is dropped in
        // place, as pinning requires, and this is its one free.
        drop(unsafe { Pin::new_unchecked(KBox::from_raw(data.cast::<T::Data>().cast_mut())) });
    }

    /// # Safety
    ///
    /// `data` must be the `PmuObject::data` of a registered PMU of `T`: the `T::Data` that
    /// [`Registration::new`] boxed, which [`PmuObject::unregister`] drops only after
    /// `perf_pmu_unregister()` has returned.
    unsafe fn event_init(data: *const c_void, event: &Event) -> Result<*mut c_void> {
        // SAFETY: `data` is the registration's boxed `T::Data`, alive while the PMU is
        // registered, which it is while perf core calls `event_init` (caller guarantee).
        let data = unsafe { &*data.cast::<T::Data>() };
        let state = KBox::new(T::event_init(data, event)?, GFP_KERNEL)?;
        Ok(KBox::into_raw(state).cast())
    }

    /// # Safety
    ///
    /// `state` must be an `EventState::driver`: a pointer that `event_init` returned, not
    /// freed yet, and not used again.
    unsafe fn event_free(state: *mut c_void) {
        // SAFETY: `state` came from `KBox::into_raw` in `event_init` (caller guarantee), and
        // this is its one free.
        drop(unsafe { KBox::from_raw(state.cast::<T::EventData>()) });
    }

    /// Turns the erased pointers of a callback back into the driver's references.
    ///
    /// # Safety
    ///
    /// `data` must be as for [`Adapter::event_init`], and `state` the event's
    /// `EventState::driver`, which is freed only by `destroy_callback` (perf core calls nothing
    /// for the event after it) or by `PmuObject::free_deferred` (after
    /// `perf_pmu_unregister()`, which no callback outlives): both stay valid for `'a`, the
    /// duration of the callback.
    #[inline(always)]
    unsafe fn refs<'a>(data: *const c_void, state: *mut c_void) -> (&'a T::Data, &'a T::EventData) {
        // SAFETY: Both point to live values for `'a` (caller guarantee); the driver only ever
        // gets shared references to them.
        unsafe { (&*data.cast(), &*state.cast()) }
    }

    /// # Safety
    ///
    /// As for [`Adapter::refs`].
    unsafe fn add(data: *const c_void, ev: &Event, state: *mut c_void, f: EventFlags) -> Result {
        // SAFETY: Same guarantee as ours.
        let (data, state) = unsafe { Self::refs(data, state) };
        T::add(data, ev, state, f)
    }

    /// # Safety
    ///
    /// As for [`Adapter::refs`].
    unsafe fn del(data: *const c_void, ev: &Event, state: *mut c_void, f: EventFlags) {
        // SAFETY: Same guarantee as ours.
        let (data, state) = unsafe { Self::refs(data, state) };
        T::del(data, ev, state, f)
    }

    /// # Safety
    ///
    /// As for [`Adapter::refs`].
    unsafe fn start(data: *const c_void, ev: &Event, state: *mut c_void, f: EventFlags) {
        // SAFETY: Same guarantee as ours.
        let (data, state) = unsafe { Self::refs(data, state) };
        T::start(data, ev, state, f)
    }

    /// # Safety
    ///
    /// As for [`Adapter::refs`].
    unsafe fn stop(data: *const c_void, ev: &Event, state: *mut c_void, f: EventFlags) {
        // SAFETY: Same guarantee as ours.
        let (data, state) = unsafe { Self::refs(data, state) };
        T::stop(data, ev, state, f)
    }

    /// # Safety
    ///
    /// As for [`Adapter::refs`].
    unsafe fn read(data: *const c_void, ev: &Event, state: *mut c_void) {
        // SAFETY: Same guarantee as ours.
        let (data, state) = unsafe { Self::refs(data, state) };
        T::read(data, ev, state)
    }
}

/// The abstraction's state of one event, behind `event->pmu_private`.
///
/// # Invariants
///
/// - `ops` points to the driver's [`RawOps`] from the event's `event_init` until its `destroy`,
///   and to [`STUB_OPS`] afterwards; it changes once, in a `destroy` that runs while the PMU is
///   being unregistered (other states are freed by their `destroy`).
/// - `driver` is the `T::EventData` created for `event`. It is freed exactly once: by
///   `destroy` for an event closed while the PMU is registered, else by
///   [`PmuObject::unregister`] once `perf_pmu_unregister()` has returned.
/// - `next` links the states that wait for that (see [`PmuObject::deferred`]).
struct EventState {
    ops: Atomic<*const RawOps>,
    driver: *mut c_void,
    /// The event's reference to its PMU object: `pmu.data` and the `struct pmu` stay valid
    /// for as long as the state exists.
    pmu: Arc<PmuObject>,
    next: Atomic<*mut EventState>,
}

/// The refcounted PMU object: owns the `struct pmu` that perf core sees.
///
/// References are held by the [`Registration`] and by the state of every event. Every
/// callback in the `struct pmu` points at a dispatcher in the kernel image, which calls the
/// driver through the event's [`EventState::ops`]. The abstraction never writes the
/// `struct pmu` after `perf_pmu_register()`: perf core loads its callbacks with plain loads,
/// at any time.
///
/// # Invariants
///
/// - `pmu` is zero-initialised, filled in by [`Registration::new`] before it is registered,
///   and not written by the abstraction afterwards; it is registered with perf core from then
///   until [`PmuObject::unregister`] has unregistered it.
/// - `driver_ops` and `data` are the driver's and valid until [`PmuObject::unregister`] has
///   called `perf_pmu_unregister()` and freed the deferred event states; `data` is owned by the
///   object and freed there.
/// - `unregistering` becomes true once, in [`PmuObject::unregister`], before
///   `perf_pmu_unregister()`; whoever sets it unregisters the PMU. (The KUnit tests'
///   `Registration::while_unregistering` sets it for a while and clears it again, with the
///   registration borrowed.)
/// - `deferred` is a stack, linked through [`EventState::next`], of the states whose `destroy`
///   ran while `unregistering` was true.
/// - `owners` are the addresses of the modules that `driver_ops` and the attribute tables are
///   in, 0 for the kernel image; never dereferenced. When one of them is not 0, the object is
///   on the list of watched PMUs from `watch` (in [`Registration::new`], once registered) until
///   `unwatch` (in [`Registration::drop`]) or `module_going` takes it off.
/// - The object is created only by [`PmuObject::new`], inside an [`Arc`].
#[pin_data]
struct PmuObject {
    #[pin]
    pmu: Opaque<bindings::pmu>,
    driver_ops: &'static DriverOps,
    data: *const c_void,
    unregistering: Atomic<bool>,
    /// Event states that perf core destroyed while unregistering the PMU, which another CPU
    /// may still be using; freed once `perf_pmu_unregister()` has returned.
    deferred: Atomic<*mut EventState>,
    name: CString,
    /// The `struct module`s of the driver's ops and of its attribute tables, only compared.
    owners: [usize; 2],
}

// SAFETY: The raw pointers are either immutable after construction (`data`, `driver_ops`) or
// accessed under the rules of the type invariants; perf core allows its callbacks on any CPU.
unsafe impl Send for PmuObject {}
// SAFETY: See `Send`; shared access goes through atomics.
unsafe impl Sync for PmuObject {}

impl PmuObject {
    /// An unregistered PMU object for a driver.
    fn new(
        driver_ops: &'static DriverOps,
        data: *const c_void,
        name: CString,
        attributes: &'static AttributeGroups,
    ) -> Result<Arc<Self>> {
        let init = try_pin_init!(PmuObject {
            pmu: Opaque::zeroed(),
            driver_ops,
            data,
            unregistering: Atomic::new(false),
            deferred: Atomic::new(ptr::null_mut()),
            name,
            owners: [
                module_of(ptr::from_ref(driver_ops).cast()),
                module_of(attributes.as_raw().cast())
            ],
        });
        Arc::pin_init(init, GFP_KERNEL)
    }

    /// Unregisters the PMU, once: the first caller does it, from [`Registration::drop`] or
    /// from `module_going`; others return at once.
    ///
    /// The caller that unregisters returns with no callback of the driver running, its event
    /// states and data dropped. Another returns at once, which may be before that only for a
    /// [`Registration::drop`] racing `module_going`: module code running after its module's
    /// exit.
    fn unregister(&self) {
        if self.unregistering.xchg(true, Relaxed) {
            return;
        }
        // SAFETY: Registered: `unregistering` is set only once `perf_pmu_register()` has
        // succeeded (`Registration::new`), and this is its first setting.
        let ret = unsafe { bindings::perf_pmu_unregister(self.pmu.get()) };
        // It fails only for a PMU that is not registered (ruled out above), or one with
        // `event_unmapped` (never set), so this cannot happen.
        if warn_on!(ret != 0) {
            // Still published: leak everything perf core can reach rather than free it.
            // SAFETY: `self` lives in an `Arc` (type invariant), whose pointer `self` is; this
            // leaks a reference to it.
            core::mem::forget(Arc::<Self>::from(unsafe { ArcBorrow::from_raw(self) }));
            return;
        }
        // SAFETY: `perf_pmu_unregister()` has returned: it detached every event, waited for a
        // grace period afterwards, and the driver's data and ops are still here.
        unsafe { self.free_deferred() };
        // SAFETY: No callback runs any more, and `data` is used by nobody after this: only the
        // caller that set `unregistering` frees it.
        unsafe { (self.driver_ops.data_free)(self.data) };
    }

    /// # Safety
    ///
    /// `pmu` must be the `pmu` field of a [`PmuObject`] that stays alive for `'a`.
    unsafe fn from_pmu<'a>(pmu: *mut bindings::pmu) -> &'a Self {
        // SAFETY: `pmu` is the `pmu` field of a live `PmuObject` (caller guarantee), and
        // `Opaque` is `repr(transparent)`, so `container_of!` gives that object.
        unsafe { &*crate::container_of!(pmu.cast::<Opaque<bindings::pmu>>(), Self, pmu) }
    }

    /// The PMU's dynamic type, for `perf_event_attr::type`.
    fn type_(&self) -> u32 {
        // SAFETY: `type` is set by `perf_pmu_register` and constant afterwards.
        unsafe { (*self.pmu.get()).type_ as u32 }
    }

    /// The validation every counting PMU gets, then the driver's `event_init`.
    fn init_event(&self, ev: &Event) -> Result {
        if ev.attr_type() != self.type_() {
            return Err(ENOENT);
        }
        if ev.is_sampling() || ev.cpu() < 0 {
            return Err(EINVAL);
        }
        if ev.has_branch_stack() {
            return Err(EOPNOTSUPP);
        }
        // Perf core stops creating events before it detaches them (`pmus_srcu`); this only
        // refuses what it would not detach.
        if self.unregistering.load(Relaxed) {
            return Err(ENODEV);
        }

        // SAFETY: `self` lives in an `Arc` (type invariant) that is alive while perf core can
        // call `event_init`, i.e. at least until unregistration.
        let this: Arc<Self> = unsafe { ArcBorrow::from_raw(self) }.into();
        let mut es = KBox::new(
            EventState {
                ops: Atomic::new(&raw const self.driver_ops.ops),
                driver: ptr::null_mut(),
                pmu: this,
                next: Atomic::new(ptr::null_mut()),
            },
            GFP_KERNEL,
        )?;
        // An event starts out stopped: perf core marks it active before its first `add`, and
        // `perf_event_read_local()` may call `read` in between.
        ev.set_hw_state(HwFlag::Stopped | HwFlag::UpToDate);
        ev.park();
        // SAFETY: Perf core calls `event_init` only while the PMU is registered, so the driver's
        // data and ops are valid (type invariant).
        es.driver = unsafe { (self.driver_ops.event_init)(self.data, ev)? };
        // SAFETY: `ev` is being initialised by perf core, which leaves `pmu_private` and
        // `destroy` to the PMU.
        unsafe {
            (*ev.as_raw()).pmu_private = KBox::into_raw(es).cast();
            (*ev.as_raw()).destroy = Some(destroy_callback);
        }
        Ok(())
    }

    /// Frees the event states that `destroy` deferred. Not inlined, so that `make bench` can
    /// time it with a kprobe.
    ///
    /// # Safety
    ///
    /// `perf_pmu_unregister()` must have returned: no callback of this PMU runs any more, and
    /// the driver's data and ops are still valid.
    #[inline(never)]
    unsafe fn free_deferred(&self) {
        let mut es = self.deferred.xchg(ptr::null_mut(), Acquire);
        while !es.is_null() {
            // SAFETY: Every state on the stack came from `KBox::into_raw` in `init_event` and
            // was pushed once by `destroy`; perf core is done with it (caller guarantee).
            let state = unsafe { KBox::from_raw(es) };
            es = state.next.load(Relaxed);
            // SAFETY: `driver` came from the driver's `event_init` and was not freed by
            // `destroy`; the driver's ops are valid (caller guarantee).
            unsafe { (self.driver_ops.event_free)(state.driver) };
        }
    }
}

/// Checks what keeps a callback's event state alive (see [`EventState`]): perf core calls
/// them with interrupts or preemption disabled, which `perf_pmu_unregister()` waits for
/// (`synchronize_rcu()`) after detaching the events and before [`PmuObject::unregister`] frees
/// their states.
#[inline(always)]
fn assert_callback_context() {
    #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
    // SAFETY: `rcu_read_lock_any_held()` may be called from any context.
    crate::warn_on!(unsafe { bindings::rcu_read_lock_any_held() } == 0);
}

/// The dispatcher of the callbacks: the driver's ops or, once perf core has detached the
/// event, the stubs.
///
/// # Safety
///
/// `event` must be an event of a [`PmuObject`] that went through `init_event`, called by perf
/// core with interrupts or preemption disabled, before its state is freed.
#[inline(always)]
unsafe fn with_ops<R>(
    event: *mut bindings::perf_event,
    f: impl FnOnce(&RawOps, *const c_void, &Event, *mut c_void) -> R,
) -> R {
    assert_callback_context();
    // SAFETY: `pmu_private` was set by `init_event`; the state it points to is freed either by
    // the event's `destroy`, after which perf core calls nothing for the event, or by
    // `PmuObject::unregister` after a grace period that this callback's disabled preemption
    // holds off (caller guarantee).
    let es = unsafe { &*(*event).pmu_private.cast::<EventState>() };
    // SAFETY: The event is valid while perf core calls its callbacks (caller guarantee).
    let ev = unsafe { Event::from_raw(event) };
    // SAFETY: `ops` points to the driver's ops, valid while the state is not detached, or to
    // the static stubs (type invariant of `EventState`).
    let ops = unsafe { &*es.ops.load(Acquire) };
    f(ops, es.pmu.data, ev, es.driver)
}

/// # Safety
///
/// Perf core calls this with a valid event whose `pmu` is the `struct pmu` of a [`PmuObject`].
unsafe extern "C" fn event_init_callback(event: *mut bindings::perf_event) -> c_int {
    // SAFETY: Perf core calls `event_init` with a valid event whose `pmu` is ours.
    let (pmu, ev) = unsafe { (PmuObject::from_pmu((*event).pmu), Event::from_raw(event)) };
    from_result(|| pmu.init_event(ev).map(|()| 0))
}

/// # Safety
///
/// Perf core calls this with a valid event of a PMU registered by [`Registration`], which went
/// through [`event_init_callback`] successfully.
unsafe extern "C" fn destroy_callback(event: *mut bindings::perf_event) {
    // SAFETY: `destroy` is installed by `init_event` together with `pmu_private`, and perf core
    // calls it once; the state is not freed before this runs.
    let es = unsafe { (*event).pmu_private.cast::<EventState>() };
    // SAFETY: As above, `es` is the event's live state; it holds a reference to the PMU
    // object, so `pmu` is valid while `es` is.
    let pmu: &PmuObject = unsafe { &(*es).pmu };
    // `PmuObject::unregister` sets this before `perf_pmu_unregister()` detaches the events, on
    // this thread; a close or a failed event creation that races with it may see either value
    // and is done with the event either way.
    if pmu.unregistering.load(Relaxed) {
        // Detached: a late call (see `STUB_OPS`) may still come, and finds the stubs or the
        // driver's `read`, and a valid state until `PmuObject::unregister` frees it after perf
        // core's grace period.
        // SAFETY: `es` is valid (see above); `pmu_private` keeps pointing to it.
        unsafe { (*es).ops.store(&raw const STUB_OPS, Release) };
        let mut head = pmu.deferred.load(Relaxed);
        loop {
            // SAFETY: `es` is valid (see above); it is not on the stack yet, and only this
            // `destroy` links it.
            unsafe { (*es).next.store(head, Relaxed) };
            match pmu.deferred.cmpxchg(head, es, Release) {
                Ok(_) => return,
                Err(seen) => head = seen,
            }
        }
    }
    // SAFETY: `perf_pmu_unregister()` waits for this `destroy` to return before it returns
    // (`pmu_empty()`), so the driver's ops are valid; `driver` came from its `event_init` and is
    // freed only here.
    unsafe { (pmu.driver_ops.event_free)((*es).driver) };
    // SAFETY: Perf core calls nothing for the event after `destroy`.
    unsafe { (*event).pmu_private = ptr::null_mut() };
    // SAFETY: `es` came from `KBox::into_raw` in `init_event`; this drops its PMU reference
    // last, after every use of `pmu`.
    drop(unsafe { KBox::from_raw(es) });
}

/// # Safety
///
/// Perf core calls this with a valid event of a PMU registered by [`Registration`], which went
/// through [`event_init_callback`] successfully.
unsafe extern "C" fn add_callback(event: *mut bindings::perf_event, flags: c_int) -> c_int {
    // SAFETY: Perf core calls `add` for an initialised event of ours, with interrupts
    // disabled; the ops' arguments are the ones `with_ops` vouches for.
    unsafe {
        with_ops(event, |ops, data, ev, st| {
            from_result(|| (ops.add)(data, ev, st, EventFlags::from_raw(flags)).map(|()| 0))
        })
    }
}

/// # Safety
///
/// Perf core calls this with a valid event of a PMU registered by [`Registration`], which went
/// through [`event_init_callback`] successfully.
unsafe extern "C" fn del_callback(event: *mut bindings::perf_event, flags: c_int) {
    // `del` always updates (`perf_event.h`); perf core passes 0.
    let flags = EventFlags::from_raw(flags) | EventFlag::Update;
    // SAFETY: Perf core calls `del` for an initialised event of ours, with interrupts
    // disabled; the ops' arguments are the ones `with_ops` vouches for.
    unsafe { with_ops(event, |ops, data, ev, st| (ops.del)(data, ev, st, flags)) };
}

/// # Safety
///
/// Perf core calls this with a valid event of a PMU registered by [`Registration`], which went
/// through [`event_init_callback`] successfully.
unsafe extern "C" fn start_callback(event: *mut bindings::perf_event, flags: c_int) {
    let flags = EventFlags::from_raw(flags);
    // SAFETY: Perf core calls `start` for an initialised event of ours, with interrupts
    // disabled; the ops' arguments are the ones `with_ops` vouches for.
    unsafe { with_ops(event, |ops, data, ev, st| (ops.start)(data, ev, st, flags)) };
}

/// # Safety
///
/// Perf core calls this with a valid event of a PMU registered by [`Registration`], which went
/// through [`event_init_callback`] successfully.
unsafe extern "C" fn stop_callback(event: *mut bindings::perf_event, flags: c_int) {
    let flags = EventFlags::from_raw(flags);
    // SAFETY: Perf core calls `stop` for an initialised event of ours, with interrupts
    // disabled; the ops' arguments are the ones `with_ops` vouches for.
    unsafe { with_ops(event, |ops, data, ev, st| (ops.stop)(data, ev, st, flags)) };
}

/// Lockdep's view of a `read`: a context in which no lock may be taken (`LD_WAIT_FREE`), as
/// `rv_react()` declares its reactors'. `read` runs in NMI (`perf_event_read_local()` from a BPF
/// program of a hardware event's overflow), where a lock the interrupted code holds is a
/// deadlock; lockdep does not follow locks in NMI, so it checks the rule wherever `read` runs
/// outside it: a driver whose `read` (or the `counter` the default `read` calls) takes a lock
/// (a `SpinLock`, a raw spinlock, a `Mutex`) gets "BUG: Invalid wait context" the first time
/// it does (`CONFIG_PROVE_LOCKING`; lockdep reports once per boot). A trylock passes, as
/// lockdep lets it everywhere. `start` and `stop`, which reach `counter` too, are not covered.
#[cfg(CONFIG_LOCKDEP)]
struct ReadContext(Opaque<bindings::lockdep_map>);

// SAFETY: Rust code never accesses the map; it only passes its address to lockdep, which
// updates it (the key and class cache) as it does the maps of C's `DEFINE_WAIT_OVERRIDE_MAP()`,
// from any CPU.
#[cfg(CONFIG_LOCKDEP)]
unsafe impl Sync for ReadContext {}

/// The name lockdep gives [`READ_CONTEXT`], as C's `DEFINE_WAIT_OVERRIDE_MAP()` names its maps.
#[cfg(CONFIG_LOCKDEP)]
const READ_CONTEXT_NAME: &[u8] = b"kernel::perf read-wait-type-override\0";

#[cfg(CONFIG_LOCKDEP)]
static READ_CONTEXT: ReadContext = ReadContext(Opaque::new(bindings::lockdep_map {
    name: READ_CONTEXT_NAME.as_ptr(),
    wait_type_inner: bindings::lockdep_wait_type_LD_WAIT_FREE as u8,
    lock_type: bindings::lockdep_lock_type_LD_LOCK_WAIT_OVERRIDE as u8,
    // SAFETY: An all-zeroes `lockdep_map` is valid: no key, no class cached yet (as C's
    // `DEFINE_WAIT_OVERRIDE_MAP()` leaves them).
    ..unsafe { core::mem::zeroed() }
}));

/// Runs `f` in lockdep's no-lock context of [`ReadContext`] (without lockdep, just `f`).
#[inline(always)]
fn in_read_context<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(CONFIG_LOCKDEP)]
    {
        let map = READ_CONTEXT.0.get();
        let ip = read_callback as *const () as usize as crate::ffi::c_ulong;
        // SAFETY: `map` is a static wait-type override map, acquired as a trylock as lockdep
        // requires of those (`lock_map_acquire_try()`), and released below on this task
        // before it returns.
        unsafe { bindings::lock_acquire(map, 0, 1, 0, 1, ptr::null_mut(), ip) };
        let _release = ScopeGuard::new(|| {
            // SAFETY: Acquired above, in this task and context.
            unsafe { bindings::lock_release(map, ip) }
        });
        f()
    }
    #[cfg(not(CONFIG_LOCKDEP))]
    f()
}

/// # Safety
///
/// Perf core calls this with a valid event of a PMU registered by [`Registration`], which went
/// through [`event_init_callback`] successfully.
unsafe extern "C" fn read_callback(event: *mut bindings::perf_event) {
    in_read_context(|| {
        // SAFETY: Perf core calls `read` for an initialised event of ours, with interrupts
        // disabled; the ops' arguments are the ones `with_ops` vouches for.
        unsafe { with_ops(event, |ops, data, ev, st| (ops.read)(data, ev, st)) };
    })
}

/// The address of the module whose memory holds `addr`, or 0 if the kernel image does.
///
/// A driver's [`DriverOps`] is instantiated in the driver's crate, next to the code it points
/// to; its attribute tables are statics of its own.
fn module_of(addr: *const c_void) -> usize {
    #[cfg(CONFIG_MODULES)]
    {
        let _rcu = crate::sync::rcu::read_lock();
        // SAFETY: Called in an RCU read-side section, as `__module_address()` requires; the
        // result is only compared.
        unsafe { bindings::__module_address(addr as crate::ffi::c_ulong) as usize }
    }
    #[cfg(not(CONFIG_MODULES))]
    {
        let _ = addr;
        0
    }
}

/// The PMUs of modules.
#[cfg(CONFIG_MODULES)]
struct Watched {
    /// Registered, with their registration alive or forgotten.
    pmus: KVec<Arc<PmuObject>>,
    /// Unregistered by `module_going`: each has the reference of a registration that nobody
    /// will drop. Kept here, where kmemleak sees them, rather than reported as a leak once
    /// more after the warning.
    forgotten: KVec<Arc<PmuObject>>,
}

#[cfg(CONFIG_MODULES)]
impl Watched {
    /// Takes the first registered PMU that `pick` picks off the list.
    fn take(&mut self, pick: impl Fn(&PmuObject) -> bool) -> Option<Arc<PmuObject>> {
        let i = self.pmus.iter().position(|p| pick(p))?;
        // `remove()` fails only for an index out of bounds, which `i` is not.
        self.pmus.remove(i).ok()
    }
}

#[cfg(CONFIG_MODULES)]
crate::sync::global_lock! {
    // SAFETY: `watch_setup()` initialises it, once, before any other use.
    unsafe(uninit) static WATCHED_PMUS: Mutex<Watched> = Watched {
        pmus: KVec::new(),
        forgotten: KVec::new(),
    };
}

/// `WATCHED_PMUS` and `MODULE_NB`: 0 not set up, 1 being set up, 2 ready.
#[cfg(CONFIG_MODULES)]
static WATCH_STATE: Atomic<u32> = Atomic::new(0);

/// The module notifier of every PMU of a module, linked by the notifier chain under its lock.
#[cfg(CONFIG_MODULES)]
struct ModuleNotifier(Opaque<bindings::notifier_block>);

// SAFETY: Only the module notifier chain accesses the block, under its own lock.
#[cfg(CONFIG_MODULES)]
unsafe impl Sync for ModuleNotifier {}

/// Runs before every other module notifier (`INT_MAX`): the driver's callbacks and destructors
/// that `module_going` runs are the module's code, which must still be as it was, with no
/// kprobe, ftrace or jump-label state torn down by the notifiers that run later.
#[cfg(CONFIG_MODULES)]
static MODULE_NB: ModuleNotifier = ModuleNotifier(Opaque::new(bindings::notifier_block {
    notifier_call: Some(module_going),
    next: ptr::null_mut(),
    priority: c_int::MAX,
}));

/// Sets up `WATCHED_PMUS` and `MODULE_NB` on first use. May sleep.
#[cfg(CONFIG_MODULES)]
fn watch_setup() {
    loop {
        match WATCH_STATE.load(Acquire) {
            2 => return,
            0 if WATCH_STATE.cmpxchg(0, 1, Relaxed).is_ok() => {
                // SAFETY: Only the thread that moved the state from 0 gets here, once; nobody
                // uses the lock before the state is 2.
                unsafe { WATCHED_PMUS.init() };
                // SAFETY: `MODULE_NB` is a static, set up and never freed; it is registered
                // once. It fails only for a block that is on the chain already.
                warn_on!(unsafe { bindings::register_module_notifier(MODULE_NB.0.get()) } != 0);
                WATCH_STATE.store(2, Release);
                return;
            }
            _ => crate::time::delay::fsleep(crate::time::Delta::from_micros(100)),
        }
    }
}

/// Puts a registered PMU of a module on the list of watched PMUs.
fn watch(pmu: &Arc<PmuObject>) -> Result {
    #[cfg(CONFIG_MODULES)]
    if pmu.owners != [0, 0] {
        watch_setup();
        WATCHED_PMUS.lock().pmus.push(pmu.clone(), GFP_KERNEL)?;
    }
    #[cfg(not(CONFIG_MODULES))]
    let _ = pmu;
    Ok(())
}

/// Takes a PMU off the list of watched PMUs, if it is on it.
fn unwatch(pmu: &Arc<PmuObject>) {
    #[cfg(CONFIG_MODULES)]
    if pmu.owners != [0, 0] {
        // The registration holds another reference: this is not the last.
        let _ = WATCHED_PMUS.lock().take(|p| ptr::eq(p, &**pmu));
    }
    #[cfg(not(CONFIG_MODULES))]
    let _ = pmu;
}

/// Unregisters the PMUs of a module that goes without having dropped their [`Registration`]
/// (`core::mem::forget()` is safe): the module's exit has run, and its memory is freed once the
/// notifier chain has returned. Each is unregistered as on a drop, folding the final counts;
/// what the forgotten registration held stays allocated.
///
/// The driver's callbacks and destructors run here, in the task that removes the module, after
/// its exit, with the notifier chain's lock held for reading: a destructor that registers or
/// unregisters a module notifier would deadlock (dropping a [`Registration`] does not).
///
/// # Safety
///
/// Called by the module notifier chain, with `data` the `struct module` the event is about.
#[cfg(CONFIG_MODULES)]
unsafe extern "C" fn module_going(
    _nb: *mut bindings::notifier_block,
    action: crate::ffi::c_ulong,
    data: *mut c_void,
) -> c_int {
    if action != bindings::module_state_MODULE_STATE_GOING as crate::ffi::c_ulong {
        return bindings::NOTIFY_DONE as c_int;
    }
    let module = data as usize;
    loop {
        // Taken off the list under the lock, unregistered without it: `Registration::drop`
        // takes it too.
        let Some(pmu) = WATCHED_PMUS.lock().take(|p| p.owners.contains(&module)) else {
            return bindings::NOTIFY_DONE as c_int;
        };
        // SAFETY: `data` is the going module (caller guarantee), whose name is a NUL-terminated
        // array that lives until the module is freed, after this callback.
        let name = unsafe { CStr::from_char_ptr((*data.cast::<bindings::module>()).name.as_ptr()) };
        pr_warn!(
            "PMU {}: registration forgotten by module {}, unregistering it as the module goes\n",
            &*pmu.name,
            name
        );
        pmu.unregister();
        // If this fails, the object is only leaked.
        let _ = WATCHED_PMUS.lock().forgotten.push(pmu, GFP_KERNEL);
    }
}

/// Checks a PMU name and copies it for the `struct pmu`, which keeps a pointer to it.
fn pmu_name(name: &CStr) -> Result<CString> {
    if name.is_empty() || name.to_bytes().iter().any(|&b| b == b':' || b == b'/') {
        return Err(EINVAL);
    }
    Ok(CString::try_from(name)?)
}

/// A PMU registered with perf core.
///
/// Dropping it (on driver unbind, say) unregisters the PMU without waiting for userspace:
/// `perf_pmu_unregister()` takes every event off the PMU on the event's own CPU, through the
/// driver's [`Operations::del`], which folds the final count, and revokes it: its fd stays
/// open, and `read()` returns the final count. Once that has returned, no driver callback runs
/// again; the events' [`Operations::EventData`] are dropped, then the [`Operations::Data`].
/// The name can be registered again once the drop has returned.
///
/// A registration that is never dropped (`core::mem::forget()`, a reference cycle) keeps the
/// PMU registered for as long as the driver's code is there: for ever in built-in code; in a
/// module, until the module goes, when the PMU is unregistered as on a drop, after the module's
/// exit, with a warning. Only the PMU object stays allocated.
///
/// # Invariants
///
/// `pmu` is registered with perf core with `T`'s callbacks and data from `new` until the
/// registration is dropped or its driver's module goes, whichever comes first.
pub struct Registration<T: Operations> {
    pmu: Arc<PmuObject>,
    /// The driver's data is owned by `pmu`, which drops it when it unregisters.
    _ops: PhantomData<fn() -> T>,
}

impl<T: Operations> Registration<T> {
    /// Registers a PMU named `options.name`, with `data` as the driver's state.
    ///
    /// `data` may be a plain value or an initializer. Fails with `EINVAL` for a bad name and
    /// `EEXIST` for a name that a PMU has, C or Rust (perf core checks it).
    ///
    /// May sleep. The first registration of a module's PMU registers the abstraction's module
    /// notifier, which takes the module notifier chain's lock for writing: it must not be made
    /// from a module notifier or with `cpus_read_lock()` held.
    pub fn new<E>(options: Options<'_>, data: impl PinInit<T::Data, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        let name = pmu_name(options.name)?;
        let data = KBox::<T::Data>::new_uninit(GFP_KERNEL)?.write_pin_init(data)?;
        // SAFETY: The data stays where it is: `Adapter::data_free` drops it in place.
        let data = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
        // Until the PMU is registered, nobody else frees the data.
        let data = ScopeGuard::new_with_data(data.cast_const().cast::<c_void>(), |data| {
            // SAFETY: `data` came from `KBox::into_raw` just above; perf core never saw it.
            unsafe { Adapter::<T>::data_free(data) }
        });
        let parent = options.parent.map_or(ptr::null_mut(), Device::as_raw);
        let pmu = PmuObject::new(&Adapter::<T>::OPS, *data, name, options.attributes)?;

        let raw = pmu.pmu.get();
        // SAFETY: `raw` is zeroed and not shared yet; `parent` is NULL or a live device that
        // perf core's device takes a reference on at registration. Every callback points into
        // the kernel image; `module` stays NULL so that events do not pin the driver module,
        // which may go as soon as the registration is dropped.
        unsafe {
            (*raw).attr_groups = options.attributes.as_raw();
            (*raw).parent = parent;
            (*raw).capabilities = options.capabilities.as_raw();
            (*raw).scope = options.scope.as_raw();
            (*raw).task_ctx_nr = bindings::perf_event_task_context_perf_invalid_context;
            (*raw).event_init = Some(event_init_callback);
            (*raw).add = Some(add_callback);
            (*raw).del = Some(del_callback);
            (*raw).start = Some(start_callback);
            (*raw).stop = Some(stop_callback);
            (*raw).read = Some(read_callback);
        }
        // SAFETY: `raw` is a fully set up `struct pmu`; it and `name` live in `pmu`, which
        // outlives the registration (it is dropped after `perf_pmu_unregister()`).
        to_result(unsafe { bindings::perf_pmu_register(raw, pmu.name.as_char_ptr(), -1) })?;
        // The PMU owns the data now: `unregister` frees it.
        data.dismiss();
        if let Err(e) = watch(&pmu) {
            pmu.unregister();
            return Err(e);
        }
        // INVARIANT: Registered just above.
        Ok(Self {
            pmu,
            _ops: PhantomData,
        })
    }

    /// The PMU's dynamic type number, for `perf_event_attr::type`.
    pub fn pmu_type(&self) -> u32 {
        self.pmu.type_()
    }
}

/// A reference to a PMU object that outlives its registration, for the KUnit tests.
#[cfg(CONFIG_RUST_PERF_KUNIT_TEST)]
pub(super) struct PmuRef(Arc<PmuObject>);

#[cfg(CONFIG_RUST_PERF_KUNIT_TEST)]
impl PmuRef {
    /// The callbacks perf core loads from the `struct pmu`, as addresses.
    pub(super) fn published(&self) -> [usize; 8] {
        // SAFETY: The `struct pmu` lives as long as the object, which `self` keeps; the loads
        // are as racy as perf core's own, and only compared.
        let p = unsafe { &*self.0.pmu.get() };
        [
            p.event_init.map_or(0, |f| f as usize),
            p.add.map_or(0, |f| f as usize),
            p.del.map_or(0, |f| f as usize),
            p.start.map_or(0, |f| f as usize),
            p.stop.map_or(0, |f| f as usize),
            p.read.map_or(0, |f| f as usize),
            p.event_mapped.map_or(0, |f| f as usize),
            p.event_unmapped.map_or(0, |f| f as usize),
        ]
    }
}

#[cfg(CONFIG_RUST_PERF_KUNIT_TEST)]
impl<T: Operations> Registration<T> {
    /// A reference to the PMU object, for the KUnit tests.
    pub(super) fn pmu_ref(&self) -> PmuRef {
        PmuRef(self.pmu.clone())
    }

    /// Runs `f` as if the unregistration had begun and perf core had not unpublished the PMU
    /// yet: for the test of an open in that window, which no timing forces. The registration
    /// is borrowed, so it is not dropped meanwhile, and the flag is cleared again only if `f`
    /// found it clear. Meanwhile a `destroy` of the PMU's events defers their states to the
    /// unregistration and gives them the stubs, and `module_going` would take the PMU for
    /// unregistered: the tests call it with no event open, in the kernel image.
    pub(super) fn while_unregistering<R>(&self, f: impl FnOnce() -> R) -> R {
        let set = self.pmu.unregistering.cmpxchg(false, true, Relaxed).is_ok();
        let _restore = ScopeGuard::new(|| {
            if set {
                self.pmu.unregistering.store(false, Relaxed);
            }
        });
        f()
    }

    /// The PMU's device, valid while the registration is; NULL without one.
    pub(super) fn dev(&self) -> *mut bindings::device {
        // SAFETY: The PMU is registered (type invariant; the tests are in the kernel image, which
        // does not go): `perf_pmu_register()` set `dev` under `pmus_lock` before returning (the
        // PMU bus is up once the tests run), and only `perf_pmu_unregister()` frees it.
        unsafe { (*self.pmu.pmu.get()).dev }
    }

    /// The parent of the PMU's device, under which its sysfs directory is; NULL without one.
    pub(super) fn dev_parent(&self) -> *mut bindings::device {
        let dev = self.dev();
        // `PMU_NULL_DEV` (no sysfs presence) is set by a PMU's owner; `Registration::new`
        // leaves `dev` NULL for perf core to fill in.
        if dev.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: `dev` is perf core's live, added device of the PMU (see `dev`); `parent` is
        // set before `device_add()` and not changed afterwards.
        unsafe { (*dev).parent }
    }
}

impl<T: Operations> Drop for Registration<T> {
    fn drop(&mut self) {
        // `module_going` cannot find it from now on; if it took it first, the PMU is
        // unregistered already (or being, by module code that outlived its module's exit).
        unwatch(&self.pmu);
        self.pmu.unregister();
    }
}
