// SPDX-License-Identifier: GPL-2.0

//! PMU registration: a refcounted PMU object whose driver can go at any time.
//!
//! C header: [`include/linux/perf_event.h`](srctree/include/linux/perf_event.h)

use super::{
    attr::AttributeGroups,
    event::{Event, EventFlags, HwState},
};
use crate::{
    bindings,
    device::Device,
    error::{from_result, to_result, VTABLE_DEFAULT_ERROR},
    ffi::{c_int, c_ulong},
    module::this_module,
    new_mutex,
    prelude::*,
    str::CString,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        rcu, Arc, ArcBorrow, Mutex, SetOnce,
    },
    types::Opaque,
    workqueue::{self, impl_has_work, new_work, Work, WorkItem},
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

/// What the events of a PMU may ask for beyond plain counting.
///
/// By default perf core and the abstraction reject everything a counting PMU cannot honour
/// (see [`Operations`]). A driver that can do more says so here, and then checks the request
/// itself in [`Operations::event_init`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Capabilities(u32);

impl Capabilities {
    /// Plain counting: every `exclude_*` bit is refused with `EINVAL` by perf core.
    pub const NONE: Self = Self(0);
    /// The driver honours `exclude_*` bits (see [`Event::has_exclude_flags`]); perf core lets
    /// them through instead of refusing them (no `PERF_PMU_CAP_NO_EXCLUDE`).
    pub const EXCLUDE: Self = Self(1);

    /// Whether all capabilities of `other` are in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The `PERF_PMU_CAP_*` bits of `struct pmu` for these capabilities.
    fn as_raw(self) -> i32 {
        let mut caps = bindings::PERF_PMU_CAP_NO_INTERRUPT;
        if !self.contains(Self::EXCLUDE) {
            caps |= bindings::PERF_PMU_CAP_NO_EXCLUDE;
        }
        caps as i32
    }
}

impl core::ops::BitOr for Capabilities {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
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
    /// What events may ask for beyond plain counting; [`Capabilities::NONE`] for most PMUs.
    pub capabilities: Capabilities,
}

/// The callbacks of a counting PMU driver.
///
/// Perf core calls them in these contexts (see `Documentation/rust/perf.rst`):
///
/// - [`event_init`](Operations::event_init): process context; may sleep.
/// - [`add`](Operations::add), [`del`](Operations::del), [`start`](Operations::start),
///   [`stop`](Operations::stop): interrupts off, perf core's raw context lock held.
/// - [`read`](Operations::read): any context, NMI included; it must be lock-free.
///
/// Before any of them runs, the abstraction has rejected what a counting PMU cannot do:
/// events of another PMU (`ENOENT`), sampling events (`EINVAL`), events on no particular CPU
/// (`cpu < 0`, `EINVAL`) and branch stacks (`EOPNOTSUPP`); perf core itself refuses per-task
/// events (`EINVAL`) and `exclude_*` bits (`EINVAL`).
///
/// No callback runs once the [`Registration`] has been dropped; none needs to check whether
/// the device is still there.
#[vtable]
pub trait Operations: Sized + 'static {
    /// The driver's shared state, owned by the [`Registration`].
    type Data: Send + Sync;

    /// Per-event state, created by [`Operations::event_init`] and dropped exactly once: when
    /// the event is destroyed or when the registration goes, whichever comes first.
    type EventData: Send + Sync;

    /// Validates a new event and creates its state. Return `ENOENT` for a config this PMU does
    /// not know.
    fn event_init(data: &Self::Data, event: &Event) -> Result<Self::EventData>;

    /// Schedules the event on the PMU; starts counting if `flags` has [`EventFlags::START`].
    fn add(data: &Self::Data, event: &Event, state: &Self::EventData, flags: EventFlags) -> Result;

    /// Takes the event off the PMU; folds its count in if `flags` has [`EventFlags::UPDATE`].
    fn del(data: &Self::Data, event: &Event, state: &Self::EventData, flags: EventFlags);

    /// Starts counting.
    fn start(data: &Self::Data, event: &Event, state: &Self::EventData, flags: EventFlags);

    /// Stops counting; folds the count in if `flags` has [`EventFlags::UPDATE`].
    fn stop(data: &Self::Data, event: &Event, state: &Self::EventData, flags: EventFlags);

    /// Folds the counter's progress into the event's count, typically with
    /// [`Event::update_count`].
    fn read(data: &Self::Data, event: &Event, state: &Self::EventData);

    /// The event's ring buffer was mapped into a task (`pmu::event_mapped`).
    fn event_mapped(_data: &Self::Data, _event: &Event, _state: &Self::EventData) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The event's ring buffer was unmapped (`pmu::event_unmapped`).
    ///
    /// Perf core cannot revoke the events of a PMU with this callback, so dropping its
    /// [`Registration`] leaves the PMU published on stubs until its last event is released.
    fn event_unmapped(_data: &Self::Data, _event: &Event, _state: &Self::EventData) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The driver's callbacks with the types erased, or the kernel's stubs.
struct RawOps {
    event_init: unsafe fn(*const c_void, &Event) -> Result<*mut c_void>,
    event_free: unsafe fn(*mut c_void),
    add: unsafe fn(*const c_void, &Event, *mut c_void, EventFlags) -> Result,
    del: unsafe fn(*const c_void, &Event, *mut c_void, EventFlags),
    start: unsafe fn(*const c_void, &Event, *mut c_void, EventFlags),
    stop: unsafe fn(*const c_void, &Event, *mut c_void, EventFlags),
    read: unsafe fn(*const c_void, &Event, *mut c_void),
    mapped: unsafe fn(*const c_void, &Event, *mut c_void),
    unmapped: unsafe fn(*const c_void, &Event, *mut c_void),
}

fn stub_event_init(_: *const c_void, _: &Event) -> Result<*mut c_void> {
    Err(ENODEV)
}
fn stub_event_free(_: *mut c_void) {}
fn stub_add(_: *const c_void, _: &Event, _: *mut c_void, _: EventFlags) -> Result {
    Ok(())
}
fn stub_flags(_: *const c_void, _: &Event, _: *mut c_void, _: EventFlags) {}
fn stub_event(_: *const c_void, _: &Event, _: *mut c_void) {}

/// What an event of a revoked PMU runs: nothing. These live in the kernel image, so a PMU
/// object that outlives its driver module never calls into freed module text.
static STUB_OPS: RawOps = RawOps {
    event_init: stub_event_init,
    event_free: stub_event_free,
    add: stub_add,
    del: stub_flags,
    start: stub_flags,
    stop: stub_flags,
    read: stub_event,
    mapped: stub_event,
    unmapped: stub_event,
};

/// Instantiates [`RawOps`] for a driver.
struct Adapter<T: Operations>(PhantomData<T>);

impl<T: Operations> Adapter<T> {
    const OPS: RawOps = RawOps {
        event_init: Self::event_init,
        event_free: Self::event_free,
        add: Self::add,
        del: Self::del,
        start: Self::start,
        stop: Self::stop,
        read: Self::read,
        mapped: Self::mapped,
        unmapped: Self::unmapped,
    };

    /// # Safety
    ///
    /// `data` must point to a live `T::Data`.
    unsafe fn event_init(data: *const c_void, event: &Event) -> Result<*mut c_void> {
        // SAFETY: The caller guarantees that `data` is a live `T::Data`.
        let data = unsafe { &*data.cast::<T::Data>() };
        let state = KBox::new(T::event_init(data, event)?, GFP_KERNEL)?;
        Ok(KBox::into_raw(state).cast())
    }

    /// # Safety
    ///
    /// `state` must come from `event_init` and not have been freed yet.
    unsafe fn event_free(state: *mut c_void) {
        // SAFETY: The caller guarantees that `state` came from `KBox::into_raw` in
        // `event_init` and is freed only here, once.
        drop(unsafe { KBox::from_raw(state.cast::<T::EventData>()) });
    }

    /// # Safety
    ///
    /// `data` must point to a live `T::Data` and `state` to the event's live `T::EventData`.
    unsafe fn add(data: *const c_void, ev: &Event, state: *mut c_void, f: EventFlags) -> Result {
        // SAFETY: Guaranteed by the caller.
        let (data, state) = unsafe { (&*data.cast(), &*state.cast()) };
        T::add(data, ev, state, f)
    }

    /// # Safety
    ///
    /// As for `add`.
    unsafe fn del(data: *const c_void, ev: &Event, state: *mut c_void, f: EventFlags) {
        // SAFETY: Guaranteed by the caller.
        let (data, state) = unsafe { (&*data.cast(), &*state.cast()) };
        T::del(data, ev, state, f)
    }

    /// # Safety
    ///
    /// As for `add`.
    unsafe fn start(data: *const c_void, ev: &Event, state: *mut c_void, f: EventFlags) {
        // SAFETY: Guaranteed by the caller.
        let (data, state) = unsafe { (&*data.cast(), &*state.cast()) };
        T::start(data, ev, state, f)
    }

    /// # Safety
    ///
    /// As for `add`.
    unsafe fn stop(data: *const c_void, ev: &Event, state: *mut c_void, f: EventFlags) {
        // SAFETY: Guaranteed by the caller.
        let (data, state) = unsafe { (&*data.cast(), &*state.cast()) };
        T::stop(data, ev, state, f)
    }

    /// # Safety
    ///
    /// As for `add`.
    unsafe fn read(data: *const c_void, ev: &Event, state: *mut c_void) {
        // SAFETY: Guaranteed by the caller.
        let (data, state) = unsafe { (&*data.cast(), &*state.cast()) };
        T::read(data, ev, state)
    }

    /// `struct pmu::read` while the driver is live: perf core calls the driver's `read` without
    /// a dispatcher in between. [`PmuObject::swap_locked`] points the field at
    /// [`stub_read_callback`] before it swaps the ops.
    ///
    /// # Safety
    ///
    /// Perf core calls this with interrupts disabled, for a live event of a PMU registered with
    /// `T`'s callbacks that went through [`event_init_callback`].
    unsafe extern "C" fn read_callback(event: *mut bindings::perf_event) {
        // SAFETY: As in `with_ops`.
        let es = unsafe { &*(*event).pmu_private.cast::<EventState>() };
        if cfg!(CONFIG_PROVE_LOCKING) {
            // SAFETY: It is always safe to call `lockdep_assert_irqs_disabled()`.
            unsafe { bindings::lockdep_assert_irqs_disabled() };
        }
        // SAFETY: The event is live (caller guarantee).
        let ev = unsafe { Event::from_raw(event) };
        // SAFETY: Perf core loaded this function from `pmu->read`, so it did so before the
        // stubs were swapped in, and it runs with interrupts disabled, in an RCU read-side
        // critical section: the driver's data and `es.driver` stay valid until it returns
        // (type invariant of `PmuObject`).
        unsafe { Self::read(es.pmu.data, ev, es.driver) }
    }

    /// # Safety
    ///
    /// As for `add`.
    unsafe fn mapped(data: *const c_void, ev: &Event, state: *mut c_void) {
        if T::HAS_EVENT_MAPPED {
            // SAFETY: Guaranteed by the caller.
            let (data, state) = unsafe { (&*data.cast(), &*state.cast()) };
            T::event_mapped(data, ev, state)
        }
    }

    /// # Safety
    ///
    /// As for `add`.
    unsafe fn unmapped(data: *const c_void, ev: &Event, state: *mut c_void) {
        if T::HAS_EVENT_UNMAPPED {
            // SAFETY: Guaranteed by the caller.
            let (data, state) = unsafe { (&*data.cast(), &*state.cast()) };
            T::event_unmapped(data, ev, state)
        }
    }
}

/// The abstraction's state of one event, behind `event->pmu_private`.
///
/// # Invariants
///
/// - `driver` is the `T::EventData` created for `event` and is freed exactly once: by the
///   event's `destroy` while the PMU is live, or by [`PmuObject::revoke`].
/// - While the PMU is not revoked, `index` is this state's position in its PMU's event list;
///   it changes only under the PMU's state lock.
struct EventState {
    event: *mut bindings::perf_event,
    driver: *mut c_void,
    index: Atomic<usize>,
    /// The event's reference to its PMU object.
    pmu: Arc<PmuObject>,
}

/// A pointer to an [`EventState`] in a PMU's event list.
struct EventPtr(*mut EventState);

// SAFETY: The event list is only touched under the PMU's state lock, from any thread.
unsafe impl Send for EventPtr {}

/// The mutable part of a PMU object.
struct State {
    /// The live events of this PMU, until it is revoked; not used afterwards.
    events: KVec<EventPtr>,
    /// Set when the stubs were swapped in: the RCU grace-period state at that point
    /// (`get_state_synchronize_rcu()`). Driver code that loaded the driver's ops before the
    /// swap may run until a grace period has elapsed since.
    swapped: Option<c_ulong>,
    /// Perf core refused to unregister (`-EBUSY`): the registration's reference, waiting for
    /// the last event to go.
    zombie: Option<Arc<PmuObject>>,
}

/// The refcounted PMU object: owns the `struct pmu` that perf core sees.
///
/// References are held by the [`Registration`] and by every live event. Every callback in the
/// `struct pmu` but `read` points at a dispatcher in the kernel image, which calls the driver
/// through `ops`; `read`, the hot path, points straight at the driver's. Revocation points
/// `read` at a stub in the kernel image and then swaps `ops` for [`STUB_OPS`], so nothing perf
/// core can reach points into a driver module once the registration has gone.
///
/// # Invariants
///
/// - `pmu` is zero-initialised, filled in by [`Registration::new`] and registered with perf
///   core until unregistration succeeds; the object is freed only after that.
/// - `ops` points to either the driver's [`RawOps`] (`driver_ops`) or [`STUB_OPS`], and
///   `pmu.read` to either the driver's [`Adapter::read_callback`] or [`stub_read_callback`].
///   Both are swapped once, `read` first, under the state lock, which records the grace-period
///   state in `state.swapped`. No `T::EventData`, and not the driver's data, is dropped after
///   the swap before an RCU grace period has elapsed since.
/// - `driver_ops` and `data` are valid while `revoked` is false. `revoked` becomes true once,
///   under the state lock; after that `state.events` is never read again.
/// - `live` is the number of events that went through `init_event` and whose `destroy` has
///   not finished; it only goes up while not revoked.
/// - The registration's reference (held by the [`Registration`], then by `state.zombie` or
///   the teardown work) is the last one dropped.
#[pin_data]
struct PmuObject {
    #[pin]
    pmu: Opaque<bindings::pmu>,
    ops: Atomic<*const RawOps>,
    driver_ops: &'static RawOps,
    data: *const c_void,
    /// The driver is gone: its callbacks, its data and every `T::EventData` are dropped.
    revoked: Atomic<bool>,
    live: Atomic<usize>,
    name: CString,
    module: *mut bindings::module,
    #[pin]
    state: Mutex<State>,
    #[pin]
    teardown: Work<PmuObject>,
}

// SAFETY: The raw pointers are either immutable after construction (`data`, `module`,
// `driver_ops`) or accessed under the rules of the type invariants; perf core allows its
// callbacks on any CPU.
unsafe impl Send for PmuObject {}
// SAFETY: See `Send`; shared access goes through atomics, RCU and the state lock.
unsafe impl Sync for PmuObject {}

impl_has_work! {
    impl HasWork<Self> for PmuObject { self.teardown }
}

impl WorkItem for PmuObject {
    type Pointer = Arc<PmuObject>;

    /// Deferred teardown of a PMU that perf core refused to unregister: runs once its last
    /// event has been released.
    fn run(this: Arc<PmuObject>) {
        let pmu = this.pmu.get();
        // SAFETY: The PMU is registered (type invariant). Its last event is gone and took its
        // mappings with it, so no `event_unmapped` call can be pending; without the hook, perf
        // core detaches (and waits for) any event still being freed instead of refusing.
        unsafe {
            (*pmu).event_mapped = None;
            (*pmu).event_unmapped = None;
        }
        // SAFETY: The PMU is registered (type invariant).
        let ret = unsafe { bindings::perf_pmu_unregister(pmu) };
        if ret != 0 {
            // Cannot happen without the hook; keep the object rather than free it under perf.
            pr_err!(
                "perf: PMU {:?} still refused to unregister ({})\n",
                this.name,
                ret
            );
            core::mem::forget(this);
            return;
        }
        unregister_name(&this.name);
        // SAFETY: `make_zombie` took this reference on the driver's module.
        unsafe { bindings::module_put(this.module) };
    }
}

impl PmuObject {
    /// An unregistered PMU object for a driver.
    ///
    /// Neither generic nor inlined: the lock class keys and names of its mutex and work item
    /// must be instantiated once, in the kernel image, not in each driver's crate, or lockdep
    /// sees one key with two names.
    #[inline(never)]
    fn new(
        driver_ops: &'static RawOps,
        data: *const c_void,
        name: CString,
        module: *mut bindings::module,
    ) -> Result<Arc<Self>> {
        let init = try_pin_init!(PmuObject {
            pmu: Opaque::zeroed(),
            ops: Atomic::new(ptr::from_ref(driver_ops)),
            driver_ops,
            data,
            revoked: Atomic::new(false),
            live: Atomic::new(0),
            name,
            module,
            state <- new_mutex!(State {
                events: KVec::new(),
                swapped: None,
                zombie: None,
            }),
            teardown <- new_work!("perf::PmuObject::teardown"),
        });
        Arc::pin_init(init, GFP_KERNEL)
    }

    /// # Safety
    ///
    /// `pmu` must be the `pmu` field of a live [`PmuObject`].
    unsafe fn from_pmu<'a>(pmu: *mut bindings::pmu) -> &'a Self {
        // SAFETY: Guaranteed by the caller; `Opaque` is `repr(transparent)`.
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

        // SAFETY: `self` lives in an `Arc` (type invariant) that is alive while perf core can
        // call `event_init`, i.e. at least until unregistration.
        let this: Arc<Self> = unsafe { ArcBorrow::from_raw(self) }.into();
        let mut state = self.state.lock();
        if state.swapped.is_some() {
            return Err(ENODEV);
        }
        state.events.reserve(1, GFP_KERNEL)?;
        let mut es = KBox::new(
            EventState {
                event: ev.as_raw(),
                driver: ptr::null_mut(),
                index: Atomic::new(state.events.len()),
                pmu: this,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: Not revoked, so `driver_ops` and `data` are valid (type invariant).
        es.driver = unsafe { (self.driver_ops.event_init)(self.data, ev)? };
        let es = KBox::into_raw(es);
        if state.events.push_within_capacity(EventPtr(es)).is_err() {
            // Unreachable after `reserve`; undo rather than leak.
            // SAFETY: `es` was just created above and is not shared.
            let es = unsafe { KBox::from_raw(es) };
            // SAFETY: `es.driver` came from `driver_ops.event_init` and is freed once, here.
            unsafe { (self.driver_ops.event_free)(es.driver) };
            return Err(ENOMEM);
        }
        self.live.add(1, Relaxed);
        // SAFETY: `ev` is being initialised by perf core, which leaves `pmu_private` and
        // `destroy` to the PMU.
        unsafe {
            (*ev.as_raw()).pmu_private = es.cast();
            (*ev.as_raw()).destroy = Some(destroy_callback);
        }
        Ok(())
    }

    /// Forgets an event: called from its `destroy`. Once the PMU is revoked, this takes no
    /// lock unless `es` is the last event of a PMU waiting to be unregistered.
    ///
    /// # Safety
    ///
    /// `es` must be an event state of this PMU, in its list while not revoked, that is not
    /// used again.
    unsafe fn release_event(&self, es: *mut EventState) {
        if !self.revoked.load(Acquire) {
            let mut state = self.state.lock();
            // Revocation may have won the lock; then the list and `es.driver` are its business.
            if !self.revoked.load(Relaxed) {
                // Between the swap and revocation (perf core detaching the events in
                // `perf_pmu_unregister()`), a callback that started before the swap may still
                // use the driver's state of this event.
                if let Some(swapped) = state.swapped {
                    // SAFETY: `swapped` came from `get_state_synchronize_rcu()`; this runs in
                    // process context, as the lock above already requires.
                    unsafe { bindings::cond_synchronize_rcu(swapped) };
                }
                // SAFETY: Not revoked, so `es` is in the list, which only changes under the
                // lock, and so are the states it points to.
                let i = unsafe { (*es).index.load(Relaxed) };
                let last = state.events.len() - 1;
                if i != last {
                    let moved = state.events[last].0;
                    state.events[i] = EventPtr(moved);
                    // SAFETY: Every pointer in the list is a live `EventState` while the lock is
                    // held.
                    unsafe { (*moved).index.store(i, Relaxed) };
                }
                state.events.truncate(last);
                // SAFETY: Not revoked: `driver_ops` is valid and `es.driver` has not been freed.
                unsafe { (self.driver_ops.event_free)((*es).driver) };
            }
        }
        if self.live.fetch_sub(1, Relaxed) == 1 {
            // The last event: if the registration is gone and perf core refused to unregister,
            // now it can.
            let teardown = self.state.lock().zombie.take();
            if let Some(this) = teardown {
                // Cannot fail: the work item is queued only from here or `make_zombie`, once.
                let _ = workqueue::system_long().enqueue(this);
            }
        }
    }

    /// Takes the driver's callbacks away: folds the final counts and swaps the callbacks for
    /// stubs. New events get `ENODEV`. Callbacks that started before may still be running;
    /// [`PmuObject::revoke`] waits for them. Does not wait itself, so that the grace period perf
    /// core waits for in `perf_pmu_unregister()` also serves the swap.
    fn swap_in_stubs(&self) {
        self.swap_locked(&mut self.state.lock());
    }

    /// [`PmuObject::swap_in_stubs`], with the state lock held. Returns the grace-period state
    /// of the swap, this one's or an earlier one's.
    fn swap_locked(&self, state: &mut State) -> c_ulong {
        if let Some(swapped) = state.swapped {
            return swapped;
        }
        for e in state.events.iter() {
            // SAFETY: The list holds live `EventState`s while the lock is held.
            let es = unsafe { &*e.0 };
            // SAFETY: An event is alive until its `destroy` has removed it from the list.
            let ev = unsafe { Event::from_raw(es.event) };
            if ev.is_active() && !ev.hw_state().contains(HwState::STOPPED) {
                // SAFETY: Not swapped yet: the driver's ops, data and event state are valid.
                unsafe { (self.driver_ops.read)(self.data, ev, es.driver) };
            }
        }
        let stub_read: unsafe extern "C" fn(*mut bindings::perf_event) = stub_read_callback;
        // SAFETY: `pmu->read` is a function pointer, aligned and pointer-sized, in the live
        // `struct pmu`. Perf core loads it once per call (`event->pmu->read(event)`) and never
        // writes it after registration; this is its only other store (`WRITE_ONCE()`).
        let read = unsafe { Atomic::from_ptr((&raw mut (*self.pmu.get()).read).cast()) };
        read.store(stub_read as *const c_void, Relaxed);
        // After `read`: a callback that sees the stub ops sees the stub `read` afterwards too.
        self.ops.store(&raw const STUB_OPS, Release);
        // SAFETY: `get_state_synchronize_rcu()` may be called from any context.
        let swapped = unsafe { bindings::get_state_synchronize_rcu() };
        state.swapped = Some(swapped);
        swapped
    }

    /// Takes the driver away: swaps in the stubs if [`PmuObject::swap_in_stubs`] has not,
    /// waits until an RCU grace period has elapsed since the swap, and drops every
    /// `T::EventData` left. When this returns, no driver code runs for this PMU again.
    fn revoke(&self) {
        let mut state = self.state.lock();
        let swapped = self.swap_locked(&mut state);
        // Every callback that loaded the driver's ops has returned after this. Free when a
        // grace period has elapsed since the swap, as it has if perf core unregistered the PMU
        // in between.
        // SAFETY: `swapped` came from `get_state_synchronize_rcu()`; process context.
        unsafe { bindings::cond_synchronize_rcu(swapped) };
        for e in state.events.iter() {
            // SAFETY: The list holds live `EventState`s while the lock is held; `driver` is
            // freed here, once, as `revoked` becomes true.
            unsafe { (self.driver_ops.event_free)((*e.0).driver) };
        }
        // From now on `destroy` leaves the list alone: free it rather than keep it up to date.
        state.events = KVec::new();
        self.revoked.store(true, Release);
    }

    /// Keeps the object published on stubs until the last event goes (perf core said `EBUSY`).
    fn make_zombie(&self, this: Arc<Self>) {
        // SAFETY: The module is live: its code is dropping the registration right now. The
        // reference keeps the sysfs tables (in the module) alive while the PMU is published.
        unsafe { bindings::__module_get(self.module) };
        let mut state = self.state.lock();
        // `release_event` drops `live` to 0 and then takes the lock to look for the zombie:
        // either it finds it, or this sees 0.
        if self.live.load(Relaxed) == 0 {
            drop(state);
            let _ = workqueue::system_long().enqueue(this);
        } else {
            state.zombie = Some(this);
        }
    }
}

/// The dispatcher of the callbacks: the driver's ops or the stubs.
///
/// `f` runs inside an RCU read-side critical section, which [`PmuObject::revoke`] waits for
/// after swapping the ops. For the hot-path callbacks (`add`, `del`, `start` and `stop`) that
/// section is the one perf core already holds: it calls them with interrupts disabled (under
/// the context's raw lock or from an IPI), and `synchronize_rcu()` waits for
/// interrupts-disabled regions as for `rcu_read_lock()`. The others take the RCU read lock
/// here. `read` has no dispatcher: see [`Adapter::read_callback`].
///
/// # Safety
///
/// `event` must be a live event of a [`PmuObject`] that went through `init_event`, and if
/// `irqs_off` is true, interrupts must be disabled until this returns.
#[inline(always)]
unsafe fn with_ops(
    event: *mut bindings::perf_event,
    irqs_off: bool,
    f: impl FnOnce(&RawOps, *const c_void, &Event, *mut c_void),
) {
    // SAFETY: `pmu_private` was set by `init_event` and is freed only by `destroy`, which perf
    // core never runs concurrently with the event's other callbacks.
    let es = unsafe { &*(*event).pmu_private.cast::<EventState>() };
    // SAFETY: The event is live (caller guarantee).
    let ev = unsafe { Event::from_raw(event) };
    let _rcu = if irqs_off {
        if cfg!(CONFIG_PROVE_LOCKING) {
            // SAFETY: It is always safe to call `lockdep_assert_irqs_disabled()`.
            unsafe { bindings::lockdep_assert_irqs_disabled() };
        }
        None
    } else {
        Some(rcu::read_lock())
    };
    // SAFETY: `ops` always points to a valid, static `RawOps`; the driver's stay valid until
    // an RCU grace period after the swap, and this runs in an RCU read-side critical section.
    let ops = unsafe { &*es.pmu.ops.load(Acquire) };
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
    // calls it once, with no other callback of the event running.
    let es = unsafe { (*event).pmu_private.cast::<EventState>() };
    // SAFETY: As above; the event is still valid.
    unsafe { (*event).pmu_private = ptr::null_mut() };
    // SAFETY: `es` is the event's state, created by `init_event` with `KBox`, not freed yet.
    // It holds a reference to the PMU object, so `pmu` is valid until `es` is dropped below.
    let pmu: &PmuObject = unsafe { &(*es).pmu };
    // SAFETY: `es` is this PMU's and is not used again but to be dropped.
    unsafe { pmu.release_event(es) };
    // SAFETY: `es` came from `KBox::into_raw` in `init_event`; this drops its PMU reference
    // last, after every use of `pmu`.
    drop(unsafe { KBox::from_raw(es) });
}

/// # Safety
///
/// Perf core calls this with a valid event of a PMU registered by [`Registration`], which went
/// through [`event_init_callback`] successfully.
unsafe extern "C" fn add_callback(event: *mut bindings::perf_event, flags: c_int) -> c_int {
    let mut ret = 0;
    // SAFETY: Perf core calls `add` for an initialised event of ours, with interrupts
    // disabled; the ops' arguments are the ones `with_ops` vouches for.
    unsafe {
        with_ops(event, true, |ops, data, ev, st| {
            ret = from_result(|| (ops.add)(data, ev, st, EventFlags::from_raw(flags)).map(|()| 0));
        })
    };
    ret
}

macro_rules! void_callback {
    ($name:ident, $op:ident) => {
        /// # Safety
        ///
        /// Perf core calls this with a valid event of a PMU registered by [`Registration`],
        /// which went through [`event_init_callback`] successfully.
        unsafe extern "C" fn $name(event: *mut bindings::perf_event, flags: c_int) {
            // SAFETY: Perf core calls this for an initialised event of ours, with interrupts
            // disabled; the ops' arguments are the ones `with_ops` vouches for.
            unsafe {
                with_ops(event, true, |ops, data, ev, st| {
                    (ops.$op)(data, ev, st, EventFlags::from_raw(flags))
                })
            };
        }
    };
}
void_callback!(del_callback, del);
void_callback!(start_callback, start);
void_callback!(stop_callback, stop);

/// `struct pmu::read` once the stubs are swapped in: nothing to do, the count is final.
extern "C" fn stub_read_callback(_: *mut bindings::perf_event) {}

/// # Safety
///
/// Perf core calls this with a valid event of a PMU registered by [`Registration`], which went
/// through [`event_init_callback`] successfully.
unsafe extern "C" fn mapped_callback(
    event: *mut bindings::perf_event,
    _mm: *mut bindings::mm_struct,
) {
    // SAFETY: Perf core calls this for an initialised event of ours.
    unsafe { with_ops(event, false, |ops, data, ev, st| (ops.mapped)(data, ev, st)) };
}

/// # Safety
///
/// Perf core calls this with a valid event of a PMU registered by [`Registration`], which went
/// through [`event_init_callback`] successfully.
unsafe extern "C" fn unmapped_callback(
    event: *mut bindings::perf_event,
    _mm: *mut bindings::mm_struct,
) {
    // SAFETY: Perf core calls this for an initialised event of ours.
    unsafe {
        with_ops(event, false, |ops, data, ev, st| {
            (ops.unmapped)(data, ev, st)
        })
    };
}

/// Names of the PMUs registered through this module, to refuse a duplicate with `EEXIST`
/// before sysfs warns about it.
static NAMES: SetOnce<Pin<KBox<Mutex<KVec<CString>>>>> = SetOnce::new();

fn names() -> Result<&'static Mutex<KVec<CString>>> {
    loop {
        if let Some(names) = NAMES.as_ref() {
            return Ok(names);
        }
        let names = KBox::pin_init(new_mutex!(KVec::new(), "perf::NAMES"), GFP_KERNEL)?;
        if !NAMES.populate(names) {
            // Another thread is populating it.
            core::hint::spin_loop();
        }
    }
}

fn register_name(name: &CStr) -> Result<CString> {
    if name.is_empty() || name.to_bytes().iter().any(|&b| b == b':' || b == b'/') {
        return Err(EINVAL);
    }
    // Every allocation before the push: a failure must not leave the name taken.
    let owned = CString::try_from(name)?;
    let entry = CString::try_from(name)?;
    let mut names = names()?.lock();
    if names.iter().any(|n| n.to_bytes() == name.to_bytes()) {
        return Err(EEXIST);
    }
    names.push(entry, GFP_KERNEL)?;
    Ok(owned)
}

fn unregister_name(name: &CStr) {
    if let Ok(names) = names() {
        let mut names = names.lock();
        if let Some(i) = names.iter().position(|n| n.to_bytes() == name.to_bytes()) {
            let _ = names.remove(i);
        }
    }
}

/// A PMU registered with perf core.
///
/// Dropping it (on driver unbind, say) unregisters the PMU without waiting for userspace:
///
/// 1. the final counts of all active events are folded into their `event->count`;
/// 2. the driver's callbacks are swapped for stubs in the kernel image;
/// 3. `perf_pmu_unregister()` revokes the events: their fds stay open and `read()` returns
///    the final count. If perf core refuses (`EBUSY`, for PMUs with
///    [`Operations::event_unmapped`]), the PMU stays published on stubs, pinning the module,
///    and is unregistered when its last event is released;
/// 4. once an RCU grace period has elapsed since the swap (perf core waits for one in
///    `perf_pmu_unregister()`, so this does not wait again), running callbacks have finished
///    and every event's [`Operations::EventData`] is dropped, then the [`Operations::Data`].
///
/// The `struct pmu` is freed when the last reference (the registration, or an event) is gone.
/// The same name can be registered again as soon as the drop has returned.
///
/// # Invariants
///
/// `pmu` is registered with perf core with `T`'s callbacks and `data` until dropped.
pub struct Registration<T: Operations> {
    pmu: Arc<PmuObject>,
    data: Pin<KBox<T::Data>>,
}

impl<T: Operations> Registration<T> {
    /// Registers a PMU named `options.name`, with `data` as the driver's state.
    ///
    /// `data` may be a plain value or an initializer. Fails with `EINVAL` for a bad name and
    /// `EEXIST` for a name already registered through this module.
    pub fn new<E>(options: Options<'_>, data: impl PinInit<T::Data, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        let data = KBox::<T::Data>::new_uninit(GFP_KERNEL)?.write_pin_init(data)?;
        let name = register_name(options.name)?;
        let parent = options.parent.map_or(ptr::null_mut(), Device::as_raw);
        let reg = Self::register(&options, parent, name, data);
        if reg.is_err() {
            unregister_name(options.name);
        }
        reg
    }

    fn register(
        options: &Options<'_>,
        parent: *mut bindings::device,
        name: CString,
        data: Pin<KBox<T::Data>>,
    ) -> Result<Self> {
        let data_ptr: *const T::Data = &*data;
        let driver_ops: &'static RawOps = &Adapter::<T>::OPS;
        let module = this_module::<T::OwnerModule>().as_ptr();
        let pmu = PmuObject::new(driver_ops, data_ptr.cast(), name, module)?;

        let raw = pmu.pmu.get();
        // SAFETY: `raw` is zeroed and not shared yet; `parent` is NULL or a live device that
        // perf core's device takes a reference on at registration. Every callback but `read`
        // points into the kernel image, and dropping the registration points `read` there too;
        // `module` stays NULL so that events do not pin the driver module, which may go as soon
        // as the registration is dropped.
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
            (*raw).read = Some(Adapter::<T>::read_callback);
            if T::HAS_EVENT_MAPPED {
                (*raw).event_mapped = Some(mapped_callback);
            }
            if T::HAS_EVENT_UNMAPPED {
                (*raw).event_unmapped = Some(unmapped_callback);
            }
        }
        // SAFETY: `raw` is a fully set up `struct pmu`; it and `name` live in `pmu`, which is
        // freed only after a successful unregistration (type invariant of `PmuObject`).
        to_result(unsafe { bindings::perf_pmu_register(raw, pmu.name.as_char_ptr(), -1) })?;
        // INVARIANT: Registered just above.
        Ok(Self { pmu, data })
    }

    /// The driver's data.
    pub fn data(&self) -> Pin<&T::Data> {
        self.data.as_ref()
    }

    /// The PMU's dynamic type number, for `perf_event_attr::type`.
    pub fn pmu_type(&self) -> u32 {
        self.pmu.type_()
    }
}

impl<T: Operations> Drop for Registration<T> {
    fn drop(&mut self) {
        self.pmu.swap_in_stubs();
        // SAFETY: Registered (type invariant); no driver code is reachable from it any more.
        let ret = unsafe { bindings::perf_pmu_unregister(self.pmu.pmu.get()) };
        // Perf core waited for a grace period in there (also when it says `EBUSY`), so this
        // does not wait again.
        self.pmu.revoke();
        if ret == 0 {
            unregister_name(&self.pmu.name);
        } else {
            // `EBUSY`: perf core keeps the PMU published; its events keep working on stubs.
            self.pmu.make_zombie(self.pmu.clone());
        }
        // `data` is dropped right after this: the driver's state does not outlive unbind.
    }
}
