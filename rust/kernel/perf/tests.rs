// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the PMU lifecycle, driven by in-kernel counters.

#[macros::kunit_tests(rust_perf)]
mod lifecycle {
    use crate::{
        bindings, device,
        error::{from_err_ptr, to_result},
        faux,
        perf::{
            clock_ns, Capabilities, Capability, Event, EventFlag, EventFlags, Exclude, Excludes,
            HwFlag, HwState, Operations, Options, Registration, Scope,
        },
        prelude::*,
        sync::{
            atomic::{Atomic, Relaxed},
            barrier::{self, smp_mb},
            Arc, Completion,
        },
        time::{delay::fsleep, Delta},
        types::ScopeGuard,
        workqueue,
    };

    crate::pmu_attributes! {
        static ATTRS = {
            format: { "event" => "config:0-7" },
            events: {
                "ticks" => "event=0x00", unit "ticks";
            },
        };
    }

    /// What the test sees of the test PMU; outlives every registration.
    struct Probe {
        /// The "hardware" counter the PMU counts.
        counter: Atomic<u64>,
        /// Driver callbacks run so far.
        calls: Atomic<u64>,
        /// `Operations::Data` instances dropped.
        data_dropped: Atomic<u64>,
        /// `Operations::EventData` instances dropped.
        events_dropped: Atomic<u64>,
        /// "Hardware" that only its own CPU can read: one counter per CPU, for [`CorePmu`].
        per_cpu: [Atomic<u64>; MAX_CPUS],
        /// `add` calls so far.
        adds: Atomic<u64>,
        /// `del` calls so far.
        dels: Atomic<u64>,
        /// Callbacks of [`CorePmu`] that ran on a CPU other than the event's.
        wrong_cpu: Atomic<u64>,
        /// The first reading of [`ClockPmu`]'s counter: the event's `start`.
        first: Atomic<u64>,
        /// The largest reading of [`ClockPmu`]'s counter so far.
        largest: Atomic<u64>,
        /// Readings of [`ClockPmu`]'s or [`TickingPmu`]'s counter in progress.
        in_flight: Atomic<u64>,
        /// Readings of that counter that began while another was in progress.
        overlaps: Atomic<u64>,
        /// `add` calls that [`OneCounterPmu`] refused.
        refused: Atomic<u64>,
        /// What [`racing_reading`] does on its next call: nothing (0), stop the event first
        /// ([`STOP_FIRST`]), or stop and restart it after its reading ([`RESTART_AFTER`]).
        race: Atomic<u32>,
        /// The reading [`TickingPmu`]'s `start` counted from.
        started: Atomic<u64>,
        /// The reading [`TickingPmu`]'s `del` folded last: its final count is up to there.
        final_fold: Atomic<u64>,
    }

    /// The CPUs [`CorePmu`] has counters for.
    const MAX_CPUS: usize = 8;

    impl Probe {
        fn new() -> Result<Arc<Self>> {
            Ok(Arc::new(
                Probe {
                    counter: Atomic::new(0),
                    calls: Atomic::new(0),
                    data_dropped: Atomic::new(0),
                    events_dropped: Atomic::new(0),
                    per_cpu: [const { Atomic::new(0) }; MAX_CPUS],
                    adds: Atomic::new(0),
                    dels: Atomic::new(0),
                    wrong_cpu: Atomic::new(0),
                    first: Atomic::new(0),
                    largest: Atomic::new(0),
                    in_flight: Atomic::new(0),
                    overlaps: Atomic::new(0),
                    refused: Atomic::new(0),
                    race: Atomic::new(0),
                    started: Atomic::new(0),
                    final_fold: Atomic::new(0),
                },
                GFP_KERNEL,
            )?)
        }

        fn tick(&self, n: u64) {
            self.counter.fetch_add(n, Relaxed);
        }

        /// A slow reading, as the "hardware" of [`ClockPmu`] and [`TickingPmu`] gives: spins
        /// for `ns`, then takes `read()`. Counts in `overlaps` the readings that began while
        /// another was in flight.
        fn slow_read(&self, ns: u64, read: impl FnOnce() -> u64) -> u64 {
            if self.in_flight.fetch_add(1, Relaxed) > 0 {
                self.overlaps.fetch_add(1, Relaxed);
            }
            let start = clock_ns();
            // The fast clock may step back a little: saturate.
            while clock_ns().saturating_sub(start) < ns {
                core::hint::spin_loop();
            }
            let value = read();
            self.in_flight.fetch_sub(1, Relaxed);
            value
        }
    }

    struct TestData(Arc<Probe>);

    impl Drop for TestData {
        fn drop(&mut self) {
            self.0.data_dropped.fetch_add(1, Relaxed);
        }
    }

    struct TestEvent(Arc<Probe>);

    impl Drop for TestEvent {
        fn drop(&mut self) {
            self.0.events_dropped.fetch_add(1, Relaxed);
        }
    }

    /// An instrumented counting PMU: config 0 counts `Probe::counter`, config 1 fails in the
    /// driver with `EBUSY`, anything else is not ours.
    struct TestPmu;

    #[vtable]
    impl Operations for TestPmu {
        type Data = TestData;
        type EventData = TestEvent;

        fn event_init(d: &TestData, event: &Event) -> Result<TestEvent> {
            d.0.calls.fetch_add(1, Relaxed);
            match event.config() {
                0 => Ok(TestEvent(d.0.clone())),
                1 => Err(EBUSY),
                _ => Err(ENOENT),
            }
        }

        fn add(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) -> Result {
            d.0.calls.fetch_add(1, Relaxed);
            event.set_hw_state(HwFlag::Stopped | HwFlag::UpToDate);
            if flags.contains(EventFlag::Start) {
                Self::start(d, event, s, flags);
            }
            Ok(())
        }

        fn del(d: &TestData, event: &Event, s: &TestEvent, _: EventFlags) {
            d.0.calls.fetch_add(1, Relaxed);
            Self::stop(d, event, s, EventFlag::Update.into());
        }

        fn start(d: &TestData, event: &Event, _: &TestEvent, _: EventFlags) {
            d.0.calls.fetch_add(1, Relaxed);
            event.start_count(d.0.counter.load(Relaxed));
            event.set_hw_state(HwState::RUNNING);
        }

        fn stop(d: &TestData, event: &Event, _: &TestEvent, _: EventFlags) {
            d.0.calls.fetch_add(1, Relaxed);
            event.stop_count(|| d.0.counter.load(Relaxed));
            event.set_hw_state(HwFlag::Stopped | HwFlag::UpToDate);
        }

        fn read(d: &TestData, event: &Event, _: &TestEvent) {
            d.0.calls.fetch_add(1, Relaxed);
            // `UpdateOnlyPmu`'s `stop` without `Update` stops the event without a last fold.
            if !event.hw_state().contains(HwFlag::Stopped) {
                event.update_count(|| d.0.counter.load(Relaxed));
            }
        }
    }

    /// Callbacks of [`TestPmu`], for the test PMUs that differ from it in something else:
    /// `test_pmu_callbacks!(add, start)` delegates those two; `test_pmu_callbacks!()` every
    /// callback after `event_init`. `#[vtable]` does not see the methods a macro defines, so
    /// each comes with its `HAS_*` constant.
    macro_rules! test_pmu_callbacks {
        () => {
            test_pmu_callbacks!(add, del, start, stop, read);
        };
        ($($cb:ident),+) => {
            $(test_pmu_callbacks!(@ $cb);)+
        };
        (@ event_init) => {
            const HAS_EVENT_INIT: bool = true;
            fn event_init(d: &TestData, event: &Event) -> Result<TestEvent> {
                TestPmu::event_init(d, event)
            }
        };
        (@ add) => {
            const HAS_ADD: bool = true;
            fn add(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) -> Result {
                TestPmu::add(d, event, s, flags)
            }
        };
        (@ del) => {
            const HAS_DEL: bool = true;
            fn del(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) {
                TestPmu::del(d, event, s, flags)
            }
        };
        (@ start) => {
            const HAS_START: bool = true;
            fn start(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) {
                TestPmu::start(d, event, s, flags)
            }
        };
        (@ stop) => {
            const HAS_STOP: bool = true;
            fn stop(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) {
                TestPmu::stop(d, event, s, flags)
            }
        };
        (@ read) => {
            const HAS_READ: bool = true;
            fn read(d: &TestData, event: &Event, s: &TestEvent) {
                TestPmu::read(d, event, s)
            }
        };
    }

    /// `TestPmu` that honours `exclude_kernel` (its counter has no kernel part) and nothing
    /// else of the `exclude_*` bits.
    struct ExcludePmu;

    #[vtable]
    impl Operations for ExcludePmu {
        type Data = TestData;
        type EventData = TestEvent;

        fn event_init(d: &TestData, event: &Event) -> Result<TestEvent> {
            if !Excludes::from(Exclude::Kernel).contains_all(event.exclude()) {
                return Err(EOPNOTSUPP);
            }
            TestPmu::event_init(d, event)
        }

        test_pmu_callbacks!();
    }

    /// A PMU for a counter whose readings may lag, on the default callbacks, which fold with
    /// [`Event::update_count_monotonic`]: only `event_init` and `counter` are its own.
    struct LaggingPmu;

    #[vtable]
    impl Operations for LaggingPmu {
        type Data = TestData;
        type EventData = TestEvent;

        test_pmu_callbacks!(event_init);

        fn counter(d: &TestData, _: &Event, _: &TestEvent) -> u64 {
            d.0.counter.load(Relaxed)
        }
    }

    /// [`racing_reading`]: the event's CPU stops the event before the reading.
    const STOP_FIRST: u32 = 1;
    /// [`racing_reading`]: the event's CPU stops the event after the reading, and starts it
    /// again.
    const RESTART_AFTER: u32 = 2;

    /// A reading of `Probe::counter` that races with `T`'s `stop` and `start` of the event on
    /// its CPU, as [`Probe::race`] says: as if a `read` on another CPU of the scope
    /// (`perf_event_read_local()`, without the context lock) was between its load of
    /// `prev_count` and its exchange. The counter moves 50 while the event is stopped (not the
    /// event's), and 20 after a [`RESTART_AFTER`] restart.
    fn racing_reading<T: Operations<Data = TestData, EventData = TestEvent>>(
        d: &TestData,
        event: &Event,
        s: &TestEvent,
    ) -> u64 {
        match d.0.race.xchg(0, Relaxed) {
            STOP_FIRST => {
                T::stop(d, event, s, EventFlag::Update.into());
                d.0.tick(50);
                d.0.counter.load(Relaxed)
            }
            RESTART_AFTER => {
                let now = d.0.counter.load(Relaxed);
                T::stop(d, event, s, EventFlag::Update.into());
                d.0.tick(50);
                T::start(d, event, s, EventFlags::empty());
                d.0.tick(20);
                now
            }
            _ => d.0.counter.load(Relaxed),
        }
    }

    /// [`LaggingPmu`] over [`racing_reading`]: the default callbacks.
    struct RacingPmu;

    #[vtable]
    impl Operations for RacingPmu {
        type Data = TestData;
        type EventData = TestEvent;

        test_pmu_callbacks!(event_init);

        fn counter(d: &TestData, event: &Event, s: &TestEvent) -> u64 {
            racing_reading::<Self>(d, event, s)
        }
    }

    /// [`RacingPmu`] with a driver's own `start`, `stop` and `read`, which fold as for a
    /// counter that may wrap ([`Event::update_count`], [`Event::stop_count`]).
    struct RacingWrapPmu;

    #[vtable]
    impl Operations for RacingWrapPmu {
        type Data = TestData;
        type EventData = TestEvent;

        test_pmu_callbacks!(event_init);

        fn start(d: &TestData, event: &Event, s: &TestEvent, _: EventFlags) {
            event.start_count(racing_reading::<Self>(d, event, s));
            event.set_hw_state(HwState::RUNNING);
        }

        fn stop(d: &TestData, event: &Event, s: &TestEvent, _: EventFlags) {
            event.stop_count(|| racing_reading::<Self>(d, event, s));
            event.set_hw_state(HwFlag::Stopped | HwFlag::UpToDate);
        }

        fn read(d: &TestData, event: &Event, s: &TestEvent) {
            event.update_count(|| racing_reading::<Self>(d, event, s));
        }
    }

    /// `TestPmu` whose `stop` folds the count only when asked to (`EventFlag::Update`), as
    /// many drivers' does, and whose `del` is that `stop` with its own flags.
    struct UpdateOnlyPmu;

    #[vtable]
    impl Operations for UpdateOnlyPmu {
        type Data = TestData;
        type EventData = TestEvent;

        test_pmu_callbacks!(event_init, add, start, read);

        fn del(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) {
            Self::stop(d, event, s, flags);
        }

        /// As `perf_event.h` asks: a `stop` with `UPDATE` folds also after a `stop` without.
        fn stop(d: &TestData, event: &Event, _: &TestEvent, flags: EventFlags) {
            if !event.hw_state().contains(HwFlag::Stopped) {
                event.set_hw_state(HwFlag::Stopped);
            }
            if flags.contains(EventFlag::Update) && !event.hw_state().contains(HwFlag::UpToDate) {
                event.stop_count(|| d.0.counter.load(Relaxed));
                event.set_hw_state(HwFlag::Stopped | HwFlag::UpToDate);
            }
        }
    }

    /// A `Scope::Core` PMU over per-CPU "hardware": each callback reads the counter of the
    /// CPU it runs on, as a core PMU's registers are, and counts it when that is not the
    /// event's CPU. A final count taken on the wrong CPU is off by the difference between
    /// the two CPUs' counters. It takes every CPU for a core of its own, as the test guests
    /// are (QEMU's `-smp 2`, one thread per core); on SMT, perf core may read a core's event on
    /// either thread and this would count it as wrong.
    struct CorePmu;

    #[vtable]
    impl Operations for CorePmu {
        type Data = TestData;
        type EventData = TestEvent;

        test_pmu_callbacks!(event_init);

        fn counter(d: &TestData, event: &Event, _: &TestEvent) -> u64 {
            let cpu = crate::cpu::CpuId::current().as_u32();
            if i64::from(cpu) != i64::from(event.cpu()) {
                d.0.wrong_cpu.fetch_add(1, Relaxed);
            }
            d.0.per_cpu[cpu as usize % MAX_CPUS].load(Relaxed)
        }

        // Counted, then as the defaults.
        fn add(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) -> Result {
            d.0.adds.fetch_add(1, Relaxed);
            event.set_hw_state(HwFlag::Stopped | HwFlag::UpToDate);
            if flags.contains(EventFlag::Start) {
                Self::start(d, event, s, flags);
            }
            Ok(())
        }

        fn del(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) {
            d.0.dels.fetch_add(1, Relaxed);
            Self::stop(d, event, s, flags);
        }
    }

    /// `TestPmu` with one counter: `add` refuses a second event with `EAGAIN`, as a PMU out of
    /// counters does, and perf core multiplexes the events from the context's hrtimer, which
    /// `merge_sched_in()` arms when an `add` fails.
    struct OneCounterPmu;

    #[vtable]
    impl Operations for OneCounterPmu {
        type Data = TestData;
        type EventData = TestEvent;

        test_pmu_callbacks!(event_init, start, stop, read);

        // Perf core calls `add` and `del` under the context's lock: the counts do not move
        // between the check and the increment.
        fn add(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) -> Result {
            if d.0.adds.load(Relaxed) != d.0.dels.load(Relaxed) {
                d.0.refused.fetch_add(1, Relaxed);
                return Err(EAGAIN);
            }
            d.0.adds.fetch_add(1, Relaxed);
            TestPmu::add(d, event, s, flags)
        }

        fn del(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) {
            d.0.dels.fetch_add(1, Relaxed);
            TestPmu::del(d, event, s, flags)
        }
    }

    /// How long [`ClockPmu`] takes to read its counter.
    const CLOCK_READ_NS: u64 = 200_000;

    /// A free-running counter that is slow to read: the clock, read after a spin of
    /// [`CLOCK_READ_NS`], so that folds on two CPUs overlap between their load of
    /// `prev_count` and their update of it. Keeps its first reading (the event's `start`) and
    /// its largest: no count may exceed their difference. Counts the readings that overlapped.
    struct ClockPmu;

    #[vtable]
    impl Operations for ClockPmu {
        type Data = TestData;
        type EventData = TestEvent;

        test_pmu_callbacks!(event_init);

        fn counter(d: &TestData, _: &Event, _: &TestEvent) -> u64 {
            let now = d.0.slow_read(CLOCK_READ_NS, clock_ns);
            let _ = d.0.first.cmpxchg(0, now, Relaxed);
            let mut largest = d.0.largest.load(Relaxed);
            while largest < now {
                match d.0.largest.cmpxchg(largest, now, Relaxed) {
                    Ok(_) => break,
                    Err(seen) => largest = seen,
                }
            }
            // `largest` is visible before the fold makes `now` part of the count: pairs with
            // the barrier in `Folders::read`.
            smp_mb(barrier::Full);
            now
        }
    }

    fn options(name: &CStr) -> Options<'_> {
        Options {
            name,
            scope: Scope::SystemWide,
            attributes: &ATTRS,
            parent: None,
            capabilities: Capabilities::empty(),
        }
    }

    fn register<T: Operations<Data = TestData>>(
        name: &CStr,
        probe: &Arc<Probe>,
    ) -> Result<Registration<T>> {
        Registration::<T>::new(options(name), TestData(probe.clone()))
    }

    /// An in-kernel counter (`perf_event_create_kernel_counter`), released on drop.
    struct Counter(*mut bindings::perf_event);

    // SAFETY: Kernel counters may be read and released from any thread.
    unsafe impl Send for Counter {}
    // SAFETY: `perf_event_read_value` and `perf_event_read_local` may run concurrently on any
    // thread.
    unsafe impl Sync for Counter {}

    impl Counter {
        fn open_with(
            pmu_type: u32,
            config: u64,
            cpu: i32,
            f: impl FnOnce(&mut bindings::perf_event_attr),
        ) -> Result<Self> {
            let mut attr: bindings::perf_event_attr = pin_init::zeroed();
            attr.type_ = pmu_type;
            attr.size = core::mem::size_of::<bindings::perf_event_attr>() as u32;
            attr.config = config;
            f(&mut attr);
            // SAFETY: `attr` is a valid attribute; no task, overflow handler or context.
            let event = unsafe {
                bindings::perf_event_create_kernel_counter(
                    &mut attr,
                    cpu,
                    core::ptr::null_mut(),
                    None,
                    core::ptr::null_mut(),
                )
            };
            Ok(Self(from_err_ptr(event)?))
        }

        fn open(pmu_type: u32) -> Result<Self> {
            Self::open_with(pmu_type, 0, 0, |_| {})
        }

        /// The type of the PMU that took the event. Only while that PMU is registered: perf
        /// core clears `event->pmu` when it revokes the event.
        fn pmu_type(&self) -> u32 {
            // SAFETY: `self.0` is a live kernel counter, and its PMU is registered (see above),
            // so `pmu` points to it.
            unsafe { (*(*self.0).pmu).type_ as u32 }
        }

        /// `perf_event_read_local()`: the count as read on this CPU, without perf core's
        /// context lock (BPF's way), or the error.
        fn read_local(&self) -> Result<u64> {
            let mut v = 0;
            // SAFETY: `self.0` is a live kernel counter, not inherited and not a task's; the
            // enabled and running times are optional (NULL). It disables interrupts itself, and
            // a revoked event is refused with `ENODEV` before its cleared PMU is looked at
            // (patches/0002).
            to_result(unsafe {
                bindings::perf_event_read_local(
                    self.0,
                    &mut v,
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                )
            })?;
            Ok(v)
        }

        fn read(&self) -> u64 {
            let (mut enabled, mut running) = (0, 0);
            // SAFETY: `self.0` is a live kernel counter.
            unsafe { bindings::perf_event_read_value(self.0, &mut enabled, &mut running) }
        }
    }

    impl Drop for Counter {
        fn drop(&mut self) {
            // SAFETY: `self.0` is a live kernel counter, released once.
            unsafe { bindings::perf_event_release_kernel(self.0) };
        }
    }

    #[test]
    fn register_and_read() -> Result {
        let probe = Probe::new()?;
        let reg = register::<TestPmu>(c"rust_perf_test_read", &probe)?;
        let c = Counter::open(reg.pmu_type())?;
        probe.tick(100);
        assert_eq!(c.read(), 100);
        probe.tick(23);
        assert_eq!(c.read(), 123);
        drop(c);
        assert_eq!(probe.events_dropped.load(Relaxed), 1);
        Ok(())
    }

    /// Unregistering with a live counter folds the last partial interval in, drops the
    /// driver's data and per-event data once, and no driver callback runs afterwards.
    #[test]
    fn unregister_folds_final_count_then_stubs() -> Result {
        let probe = Probe::new()?;
        let reg = register::<TestPmu>(c"rust_perf_test_fold", &probe)?;
        let c = Counter::open(reg.pmu_type())?;
        probe.tick(40);
        assert_eq!(c.read(), 40);
        // Never read by perf: only the fold at unregistration can count it.
        probe.tick(2);
        drop(reg);
        assert_eq!(probe.data_dropped.load(Relaxed), 1);
        assert_eq!(probe.events_dropped.load(Relaxed), 1);
        let calls = probe.calls.load(Relaxed);
        assert_eq!(c.read(), 42);
        probe.tick(1000);
        assert_eq!(c.read(), 42);
        drop(c);
        assert_eq!(probe.calls.load(Relaxed), calls);
        assert_eq!(probe.events_dropped.load(Relaxed), 1);
        Ok(())
    }

    /// A PMU under a (faux) parent device: the parent can go after unregistration while a
    /// counter is still open, as on hot-unplug.
    #[test]
    fn parent_device_can_go_after_unregistration() -> Result {
        let probe = Probe::new()?;
        let fdev = faux::Registration::new(c"rust_perf_test_parent", None)?;
        let parent: &device::Device = fdev.as_ref().as_ref();
        let reg = Registration::<TestPmu>::new(
            Options {
                parent: Some(parent),
                ..options(c"rust_perf_test_parent")
            },
            TestData(probe.clone()),
        )?;
        // The PMU's sysfs directory is the device's child.
        assert_eq!(reg.dev_parent(), parent.as_raw());
        let c = Counter::open(reg.pmu_type())?;
        probe.tick(11);
        drop(reg);
        drop(fdev);
        probe.tick(1);
        assert_eq!(c.read(), 11);
        Ok(())
    }

    /// The name is free again as soon as the registration is dropped; the old counter stays
    /// frozen while a new one counts.
    #[test]
    fn reregister_same_name() -> Result {
        let probe = Probe::new()?;
        let reg = register::<TestPmu>(c"rust_perf_test_rebind", &probe)?;
        let old = Counter::open(reg.pmu_type())?;
        probe.tick(5);
        drop(reg);
        let reg = register::<TestPmu>(c"rust_perf_test_rebind", &probe)?;
        let new = Counter::open(reg.pmu_type())?;
        probe.tick(7);
        assert_eq!(old.read(), 5);
        assert_eq!(new.read(), 7);
        drop(reg);
        assert_eq!(new.read(), 7);
        Ok(())
    }

    #[test]
    fn thousand_cycles_with_live_counters() -> Result {
        let probe = Probe::new()?;
        for i in 0..1000u64 {
            let reg = register::<TestPmu>(c"rust_perf_test_cycles", &probe)?;
            let c = Counter::open(reg.pmu_type())?;
            probe.tick(i);
            drop(reg);
            assert_eq!(c.read(), i);
        }
        assert_eq!(probe.data_dropped.load(Relaxed), 1000);
        assert_eq!(probe.events_dropped.load(Relaxed), 1000);
        Ok(())
    }

    /// How long [`TickingPmu`] takes to read its counter.
    const TICKING_READ_NS: u64 = 100_000;

    /// `Probe::counter`, which a thread of the test ticks all along, read slowly (a spin of
    /// [`TICKING_READ_NS`]) so that folds on two CPUs overlap (counted as [`ClockPmu`] counts
    /// them), with the default `read` and `stop`. Keeps the reading its `start` counted from
    /// and the one its `del` folded last: an event started once and deleted at unregistration
    /// counts exactly their difference.
    struct TickingPmu;

    #[vtable]
    impl Operations for TickingPmu {
        type Data = TestData;
        type EventData = TestEvent;

        test_pmu_callbacks!(event_init);

        fn counter(d: &TestData, _: &Event, _: &TestEvent) -> u64 {
            d.0.slow_read(TICKING_READ_NS, || d.0.counter.load(Relaxed))
        }

        fn start(d: &TestData, event: &Event, s: &TestEvent, _: EventFlags) {
            let now = Self::counter(d, event, s);
            d.0.started.store(now, Relaxed);
            event.start_count(now);
            event.set_hw_state(HwState::RUNNING);
        }

        fn del(d: &TestData, event: &Event, s: &TestEvent, _: EventFlags) {
            // The default `stop`, keeping the reading of its last try: the one it folded. The
            // counter only grows, and every reading on another CPU that the fold may find in
            // `prev_count` was taken before (the fold loads it with acquire), so no reading
            // lags behind it.
            event.stop_count_monotonic(|| {
                let now = Self::counter(d, event, s);
                d.0.final_fold.store(now, Relaxed);
                now
            });
            event.set_hw_state(HwFlag::Stopped | HwFlag::UpToDate);
        }
    }

    /// What [`reader_during_unregistration`] shares with its threads.
    #[pin_data]
    struct Racers {
        counter: Counter,
        probe: Arc<Probe>,
        stop: Atomic<bool>,
        /// Set just before the PMU is unregistered: reads may fail with `ENODEV` from then on.
        revoked: Atomic<bool>,
        backwards: Atomic<u64>,
        reads: Atomic<u64>,
        errors: Atomic<u64>,
        /// The count each reader read once the PMU was gone.
        finals: [Atomic<u64>; 2],
        /// Threads still running.
        left: Atomic<u32>,
        #[pin]
        done: Completion,
    }

    impl Racers {
        /// Reader `i`: reads on its CPU, without perf core's context lock
        /// (`perf_event_read_local()`, as BPF reads), until told to stop; then reads the final
        /// count (`perf_event_read_value()`, which a revoked event answers).
        fn reader(&self, i: usize) {
            let mut last = 0;
            while !self.stop.load(Relaxed) {
                match self.counter.read_local() {
                    Ok(v) => {
                        if v < last {
                            self.backwards.fetch_add(1, Relaxed);
                        }
                        last = v;
                        if self.reads.fetch_add(1, Relaxed) % 256 == 255 {
                            fsleep(Delta::from_millis(1));
                        }
                    }
                    Err(e) => {
                        // `revoked` after the read that found the event revoked (pairs with the
                        // unregistration's barriers, which follow the store of `revoked`).
                        smp_mb(barrier::Read);
                        if e != ENODEV || !self.revoked.load(Relaxed) {
                            self.errors.fetch_add(1, Relaxed);
                        }
                    }
                }
            }
            let v = self.counter.read();
            if v < last {
                self.backwards.fetch_add(1, Relaxed);
            }
            self.finals[i].store(v, Relaxed);
        }

        fn finish(&self) {
            if self.left.fetch_sub(1, Relaxed) == 1 {
                self.done.complete_all();
            }
        }
    }

    /// Two readers fold on their CPUs (`perf_event_read_local()`, no context lock) while a
    /// third thread ticks the counter and the PMU is unregistered: the counter moves through
    /// the race and through the final fold. Reads never go backwards, and the final count every
    /// reader reads is exact: the progress of the counter from the event's `start` to the
    /// reading its last `del` folded. A fold that counts a delta twice, or a final fold that
    /// is lost, shows here.
    #[test]
    fn reader_during_unregistration() -> Result {
        let probe = Probe::new()?;
        let reg = register::<TickingPmu>(c"rust_perf_test_reader", &probe)?;
        let counter = Counter::open(reg.pmu_type())?;
        let shared = probe.clone();
        let r = Arc::pin_init(
            pin_init!(Racers {
                counter,
                probe: shared,
                stop: Atomic::new(false),
                revoked: Atomic::new(false),
                backwards: Atomic::new(0),
                reads: Atomic::new(0),
                errors: Atomic::new(0),
                finals: [const { Atomic::new(0) }; 2],
                left: Atomic::new(3),
                done <- Completion::new(),
            }),
            GFP_KERNEL,
        )?;
        // Stops the threads on every way out, a failed spawn included.
        let stop = ScopeGuard::new(|| r.stop.store(true, Relaxed));
        for i in 0..2 {
            let w = r.clone();
            dfl_wq().try_spawn(GFP_KERNEL, move || {
                w.reader(i);
                w.finish();
            })?;
        }
        let w = r.clone();
        dfl_wq().try_spawn(GFP_KERNEL, move || {
            let mut n = 0u64;
            while !w.stop.load(Relaxed) {
                w.probe.tick(1);
                n += 1;
                if n % 4096 == 0 {
                    fsleep(Delta::from_micros(100));
                }
            }
            w.finish();
        })?;
        // The race, for 300 ms.
        fsleep(Delta::from_millis(300));
        r.revoked.store(true, Relaxed);
        drop(reg);
        let after = probe.counter.load(Relaxed);
        // The ticker shares the CPUs with the readers: give it up to a second to tick again.
        for _ in 0..100 {
            fsleep(Delta::from_millis(10));
            if probe.counter.load(Relaxed) > after {
                break;
            }
        }
        drop(stop);
        r.done.wait_for_completion();
        let exact = probe
            .final_fold
            .load(Relaxed)
            .checked_sub(probe.started.load(Relaxed));
        pr_info!(
            "reader during unregistration: {} reads, {} overlapping, final counts {} and {}, \
             exact {:?}\n",
            r.reads.load(Relaxed),
            probe.overlaps.load(Relaxed),
            r.finals[0].load(Relaxed),
            r.finals[1].load(Relaxed),
            exact
        );
        let exact = exact.ok_or(EINVAL)?;
        assert_eq!(r.errors.load(Relaxed), 0);
        assert_eq!(r.backwards.load(Relaxed), 0);
        assert!(r.reads.load(Relaxed) > 0);
        // The readings did overlap, or the test would show nothing.
        assert!(probe.overlaps.load(Relaxed) > 0);
        // The counter moved through the race, and on after the final fold.
        assert!(exact > 0);
        assert!(probe.counter.load(Relaxed) > after);
        for f in &r.finals {
            assert_eq!(f.load(Relaxed), exact);
        }
        assert_eq!(r.counter.read(), exact);
        Ok(())
    }

    /// A `Scope::Core` PMU with an event on every CPU, unregistered from whichever CPU the
    /// test runs on: every event's final count is taken on its own CPU (exact counts, no
    /// callback on another CPU), and every `add` got its `del`.
    #[test]
    fn core_scope_final_counts_on_every_cpu() -> Result {
        let probe = Probe::new()?;
        let opts = Options {
            scope: Scope::Core,
            ..options(c"rust_perf_test_core")
        };
        let reg = Registration::<CorePmu>::new(opts, TestData(probe.clone()))?;
        let t = reg.pmu_type();
        let mut counters = KVec::new();
        for cpu in 0..MAX_CPUS {
            match Counter::open_with(t, 0, cpu as i32, |_| {}) {
                Ok(c) => counters.push(c, GFP_KERNEL)?,
                Err(_) => break,
            }
        }
        assert!(counters.len() >= 2);
        // The open that failed (a CPU that is offline, or none) may have dropped the state of
        // an event that never was.
        let dropped = probe.events_dropped.load(Relaxed);
        // Far apart, so that a count taken on the wrong CPU cannot come out right.
        let step = |cpu: usize| 1_000_000 * (cpu as u64 + 1);
        for cpu in 0..counters.len() {
            probe.per_cpu[cpu].fetch_add(step(cpu), Relaxed);
        }
        for (cpu, c) in counters.iter().enumerate() {
            assert_eq!(c.read(), step(cpu));
        }
        // Never read by perf: only the final count at unregistration can see it.
        for cpu in 0..counters.len() {
            probe.per_cpu[cpu].fetch_add(cpu as u64 + 1, Relaxed);
        }
        drop(reg);
        for (cpu, c) in counters.iter().enumerate() {
            assert_eq!(c.read(), step(cpu) + cpu as u64 + 1);
        }
        assert_eq!(probe.wrong_cpu.load(Relaxed), 0);
        assert!(probe.adds.load(Relaxed) >= counters.len() as u64);
        assert_eq!(probe.adds.load(Relaxed), probe.dels.load(Relaxed));
        assert_eq!(
            probe.events_dropped.load(Relaxed) - dropped,
            counters.len() as u64
        );
        Ok(())
    }

    /// CPU hotplug moves the events of a scope off a CPU that goes offline: perf core's
    /// offline path (`perf_event_clear_cpumask()`) picks another CPU of the scope and calls
    /// `perf_pmu_migrate_context()`, as a driver's own hotplug callback does. The kselftest
    /// `package_event_moves_with_its_cpu` takes that path (a `Scope::Package` PMU, a CPU
    /// going offline); this test calls the function itself, under the hotplug lock, as a
    /// driver's callback would, to check the counts against a counter of each CPU: the path
    /// that moves the event is perf core's own, without the cpumask update and `pmus_lock` of
    /// the offline path. A `Scope::Core` event moved
    /// from CPU 1 to CPU 0 keeps what it counted on CPU 1, unread progress included (its
    /// `del` there), counts CPU 0's counter from then on (its `add` there, with a fresh
    /// reading), and its final count at unregistration is taken on CPU 0.
    #[test]
    fn migrated_event_counts_on_its_new_cpu() -> Result {
        let probe = Probe::new()?;
        let opts = Options {
            scope: Scope::Core,
            ..options(c"rust_perf_test_mig")
        };
        let reg = Registration::<CorePmu>::new(opts, TestData(probe.clone()))?;
        let t = reg.pmu_type();
        let stay = Counter::open_with(t, 0, 0, |_| {})?;
        let moved = Counter::open_with(t, 0, 1, |_| {})?;
        // Far apart, so that a reading of one CPU's counter cannot pass for the other's.
        probe.per_cpu[0].fetch_add(1_000, Relaxed);
        probe.per_cpu[1].fetch_add(2_000_000, Relaxed);
        assert_eq!(stay.read(), 1_000);
        assert_eq!(moved.read(), 2_000_000);
        // Not read before the move: only the `del` on CPU 1 can count it.
        probe.per_cpu[1].fetch_add(30, Relaxed);
        let dels = probe.dels.load(Relaxed);
        // SAFETY: `moved` is open on CPU 1 and its PMU is registered (`reg` is alive), so
        // `pmu` points to it. CPUs 0 and 1 are online (events were opened on them) and stay
        // so under the hotplug lock, which a driver's hotplug callback holds too.
        unsafe {
            bindings::cpus_read_lock();
            bindings::perf_pmu_migrate_context((*moved.0).pmu, 1, 0);
            bindings::cpus_read_unlock();
        }
        // Its `del` on CPU 1 (installing it on CPU 0 also reschedules the events there).
        assert!(probe.dels.load(Relaxed) > dels);
        // CPU 1's counter is no longer the event's; CPU 0's is.
        probe.per_cpu[1].fetch_add(50_000_000, Relaxed);
        probe.per_cpu[0].fetch_add(400, Relaxed);
        assert_eq!(moved.read(), 2_000_030 + 400);
        assert_eq!(stay.read(), 1_400);
        // Never read by perf: only the final counts, both taken on CPU 0, see it.
        probe.per_cpu[0].fetch_add(5, Relaxed);
        drop(reg);
        assert_eq!(stay.read(), 1_405);
        assert_eq!(moved.read(), 2_000_435);
        assert_eq!(probe.wrong_cpu.load(Relaxed), 0);
        assert_eq!(probe.adds.load(Relaxed), probe.dels.load(Relaxed));
        Ok(())
    }

    /// Writes `value` to the sysfs attribute `name` that perf core's bus gives every PMU
    /// device, as a write to the file does: through the attribute's `store`.
    fn store_pmu_attr<T: Operations>(reg: &Registration<T>, name: &CStr, value: &CStr) -> Result {
        let dev = reg.dev();
        if dev.is_null() {
            return Err(ENOENT);
        }
        // SAFETY: `dev` is the registered PMU's live device, on perf core's bus, whose
        // `dev_groups` is a static NULL-terminated array of groups with NULL-terminated
        // attribute arrays; every attribute of it is a `device_attribute`, and `store` is called
        // with a NUL-terminated buffer of `len` bytes, as sysfs does.
        unsafe {
            let mut group = (*(*dev).bus).dev_groups;
            while !group.is_null() && !(*group).is_null() {
                let mut attr = (**group).__bindgen_anon_2.attrs;
                while !attr.is_null() && !(*attr).is_null() {
                    if CStr::from_char_ptr((**attr).name) == name {
                        let da = crate::container_of!(*attr, bindings::device_attribute, attr);
                        let store = (*da).__bindgen_anon_2.store.ok_or(EPERM)?;
                        let n = store(dev, da, value.as_char_ptr(), value.to_bytes().len());
                        return if n < 0 {
                            Err(Error::from_errno(n as i32))
                        } else {
                            Ok(())
                        };
                    }
                    attr = attr.add(1);
                }
                group = group.add(1);
            }
        }
        Err(ENOENT)
    }

    /// Unregistering a PMU whose context is being multiplexed: two events on one CPU of
    /// [`OneCounterPmu`] take the counter in turns, rotated by the context's hrtimer, which an
    /// `add` that failed armed and each rotation re-arms while the context needs rotating.
    /// Perf core frees the per-CPU context with the PMU (after a grace period, for a context
    /// that had events), and must cancel the timer first (patches/0006): debug-objects reports
    /// "ODEBUG: free active ... hrtimer" otherwise, and the timer would fire in freed memory.
    /// The run's log scan fails on either. A long interval (`perf_event_mux_interval_ms`),
    /// written while no event is open, keeps the timer armed past the grace period; the write
    /// arms every CPU's timer, which then fires once and stops before the events are opened,
    /// so only the event CPU's is armed at the unregistration, by the failed `add`.
    #[test]
    fn rotating_context_unregisters_with_its_timer() -> Result {
        let probe = Probe::new()?;
        let reg = register::<OneCounterPmu>(c"rust_perf_test_rotate", &probe)?;
        store_pmu_attr(&reg, c"perf_event_mux_interval_ms", c"1000")?;
        fsleep(Delta::from_millis(1200));
        let a = Counter::open(reg.pmu_type())?;
        let b = Counter::open(reg.pmu_type())?;
        // The second event did not get the counter (installing it may have rescheduled the
        // first, once).
        let (adds, refused) = (probe.adds.load(Relaxed), probe.refused.load(Relaxed));
        assert!(refused >= 1);
        probe.tick(1000);
        // One rotation: the counter changes hands, and the timer is re-armed a second ahead.
        fsleep(Delta::from_millis(1300));
        assert!(probe.adds.load(Relaxed) > adds);
        assert!(probe.refused.load(Relaxed) > refused);
        let adds = probe.adds.load(Relaxed);
        drop(reg);
        // The context is freed from an RCU callback.
        // SAFETY: `rcu_barrier()` may sleep, as this test may.
        unsafe { bindings::rcu_barrier() };
        assert!(probe.adds.load(Relaxed) <= adds + 1);
        assert_eq!(probe.adds.load(Relaxed), probe.dels.load(Relaxed));
        assert_eq!(probe.data_dropped.load(Relaxed), 1);
        // What each counted while it had the counter, and nothing twice.
        assert!(a.read() + b.read() <= 1000);
        Ok(())
    }

    /// A driver whose `del` folds only on `EventFlag::Update` still gets its final count:
    /// perf's contract is that `del` always updates, and the abstraction says so in the flags.
    #[test]
    fn del_folds_with_update_flag() -> Result {
        let probe = Probe::new()?;
        let reg = register::<UpdateOnlyPmu>(c"rust_perf_test_upd", &probe)?;
        let c = Counter::open(reg.pmu_type())?;
        probe.tick(30);
        assert_eq!(c.read(), 30);
        probe.tick(4);
        drop(reg);
        assert_eq!(c.read(), 34);
        Ok(())
    }

    /// `system_dfl_wq`: its workers are unbound, so that they can run on another CPU.
    /// `system_unbound()` is `system_unbound_wq`, which 7.3 warns about as deprecated; the
    /// kernel crate has no accessor for its successor yet.
    fn dfl_wq() -> &'static workqueue::Queue {
        // SAFETY: `system_dfl_wq` is a C global, set up at boot before any test and never freed.
        unsafe { workqueue::Queue::from_raw(bindings::system_dfl_wq) }
    }

    /// What [`concurrent_folds_count_nothing_twice`] shares with its readers.
    #[pin_data]
    struct Folders {
        counter: Counter,
        probe: Arc<Probe>,
        stop: Atomic<bool>,
        /// Reads that saw more than the counter's progress.
        over: Atomic<u64>,
        /// Reads that returned a count.
        reads: Atomic<u64>,
        /// Set once the PMU is unregistered: reads may fail with `ENODEV` from then on.
        revoked: Atomic<bool>,
        /// Reads that failed otherwise.
        errors: Atomic<u64>,
        /// Readers still running.
        left: Atomic<u32>,
        #[pin]
        done: Completion,
    }

    impl Folders {
        /// Reads once, on this CPU (`perf_event_read_local()`, which folds without perf core's
        /// context lock); counts a read that saw more than the counter moved since the start.
        /// A revoked event has no PMU to read on: `ENODEV`.
        fn read(&self) {
            let v = match self.counter.read_local() {
                Ok(v) => v,
                Err(e) => {
                    if e != ENODEV || !self.revoked.load(Relaxed) {
                        self.errors.fetch_add(1, Relaxed);
                    }
                    return;
                }
            };
            // `largest` after the read: it is at least every reading the count is made of
            // (pairs with the barrier in `ClockPmu::counter`).
            smp_mb(barrier::Read);
            let first = self.probe.first.load(Relaxed);
            if v > self.probe.largest.load(Relaxed) - first {
                self.over.fetch_add(1, Relaxed);
            }
            if self.reads.fetch_add(1, Relaxed) % 256 == 255 {
                fsleep(Delta::from_millis(1));
            }
        }
    }

    /// Readers on two CPUs fold a free-running counter into one event concurrently
    /// (`perf_event_read_local()`, as BPF reads: each on its own CPU, `PERF_EV_CAP_READ_SCOPE`,
    /// without the context lock), with each other and with the final fold at unregistration.
    /// Nothing is counted twice: no read exceeds the counter's progress since the event
    /// started, and the final count is that progress up to the unregistration. The readings
    /// did overlap, or the test would show nothing.
    #[test]
    fn concurrent_folds_count_nothing_twice() -> Result {
        let probe = Probe::new()?;
        let reg = register::<ClockPmu>(c"rust_perf_test_clock", &probe)?;
        let counter = Counter::open(reg.pmu_type())?;
        let shared = probe.clone();
        let f = Arc::pin_init(
            pin_init!(Folders {
                counter,
                probe: shared,
                stop: Atomic::new(false),
                over: Atomic::new(0),
                reads: Atomic::new(0),
                revoked: Atomic::new(false),
                errors: Atomic::new(0),
                left: Atomic::new(2),
                done <- Completion::new(),
            }),
            GFP_KERNEL,
        )?;
        // Stops the readers on every way out, a failed spawn included.
        let stop = ScopeGuard::new(|| f.stop.store(true, Relaxed));
        for _ in 0..2 {
            let w = f.clone();
            dfl_wq().try_spawn(GFP_KERNEL, move || {
                while !w.stop.load(Relaxed) {
                    w.read();
                }
                if w.left.fetch_sub(1, Relaxed) == 1 {
                    w.done.complete_all();
                }
            })?;
        }
        let until = clock_ns() + Delta::from_secs(1).as_nanos() as u64;
        while clock_ns() < until {
            f.read();
        }
        let before = clock_ns();
        f.revoked.store(true, Relaxed);
        drop(reg);
        // Late reads find the event revoked.
        let until = clock_ns() + Delta::from_millis(200).as_nanos() as u64;
        while clock_ns() < until {
            f.read();
        }
        drop(stop);
        f.done.wait_for_completion();
        let first = probe.first.load(Relaxed);
        let end = f.counter.read();
        pr_info!(
            "concurrent folds: {} reads, {} overlapping, count {} ns, counter moved {} ns\n",
            f.reads.load(Relaxed),
            probe.overlaps.load(Relaxed),
            end,
            probe.largest.load(Relaxed) - first
        );
        assert_eq!(f.errors.load(Relaxed), 0);
        assert!(f.reads.load(Relaxed) > 0);
        assert!(probe.overlaps.load(Relaxed) > 0);
        assert_eq!(f.over.load(Relaxed), 0);
        assert!(end <= probe.largest.load(Relaxed) - first);
        // The final fold read the counter after `before`.
        assert!(end >= before - first);
        Ok(())
    }

    /// A fold that another fold interrupts between its load of `prev_count` and its update
    /// (an NMI's `read` on this CPU, say) accounts only what the other left: the counter moved
    /// 10, then 10 more; the count is 20. No timing involved.
    #[test]
    fn nested_fold_counts_nothing_twice() -> Result {
        let probe = Probe::new()?;
        let reg = register::<TestPmu>(c"rust_perf_test_nest", &probe)?;
        // Disabled: no callback of perf core touches the event while the test folds it.
        let counter = Counter::open_with(reg.pmu_type(), 0, 0, |a| a.set_disabled(1))?;
        {
            // SAFETY: `counter` is open for this scope, and its PMU is a `kernel::perf` one.
            let ev = unsafe { Event::from_raw(counter.0) };
            ev.start_count(0);
            let nested = Atomic::new(false);
            ev.update_count(|| {
                if !nested.xchg(true, Relaxed) {
                    ev.update_count(|| 10);
                }
                20
            });
        }
        assert_eq!(counter.read(), 20);
        drop(counter);
        drop(reg);
        Ok(())
    }

    /// A `read` that races a `stop` and the next `start` of its event counts nothing of the
    /// time the event was stopped, and nothing twice. The event counts 100, is stopped while
    /// a `read` is between its load of `prev_count` and its update, the counter moves 50 while
    /// it is stopped, then 20 once it is started again: its count is 120. No timing involved:
    /// the `read` stops the event from inside its own reading ([`racing_reading`]), before
    /// it ([`STOP_FIRST`]: the `read` finds the event stopped, and the test starts it again)
    /// or after it ([`RESTART_AFTER`]: the `read` finds the reading of the new `start`).
    #[test]
    fn read_racing_a_restart_counts_only_running_time() -> Result {
        read_racing_a_restart::<RacingPmu>(c"rust_perf_test_race", STOP_FIRST)?;
        read_racing_a_restart::<RacingPmu>(c"rust_perf_test_race", RESTART_AFTER)
    }

    /// [`read_racing_a_restart_counts_only_running_time`] with a driver's own callbacks, which
    /// fold with [`Event::update_count`] and [`Event::stop_count`].
    #[test]
    fn own_read_racing_a_restart_counts_only_running_time() -> Result {
        read_racing_a_restart::<RacingWrapPmu>(c"rust_perf_test_race_own", STOP_FIRST)?;
        read_racing_a_restart::<RacingWrapPmu>(c"rust_perf_test_race_own", RESTART_AFTER)
    }

    fn read_racing_a_restart<T: Operations<Data = TestData, EventData = TestEvent>>(
        name: &CStr,
        race: u32,
    ) -> Result {
        let probe = Probe::new()?;
        let reg = register::<T>(name, &probe)?;
        // Disabled: no callback of perf core touches the event while the test drives it.
        let counter = Counter::open_with(reg.pmu_type(), 0, 0, |a| a.set_disabled(1))?;
        let (d, s) = (TestData(probe.clone()), TestEvent(probe.clone()));
        {
            // SAFETY: `counter` is open for this scope, and its PMU is a `kernel::perf` one.
            let ev = unsafe { Event::from_raw(counter.0) };
            T::start(&d, ev, &s, EventFlags::empty());
            probe.tick(100);
            probe.race.store(race, Relaxed);
            T::read(&d, ev, &s);
            if race == STOP_FIRST {
                T::start(&d, ev, &s, EventFlags::empty());
                probe.tick(20);
            }
            T::stop(&d, ev, &s, EventFlag::Update.into());
        }
        let count = counter.read();
        pr_info!("read racing a restart ({race}): count {count}, 120 counted while running\n");
        assert_eq!(count, 120);
        drop(counter);
        drop(reg);
        Ok(())
    }

    /// Perf core offers an event whose type no PMU has registered (`PERF_TYPE_RAW` and
    /// `PERF_TYPE_HARDWARE` without a CPU PMU, as under TCG, or an unused dynamic type) to
    /// every PMU in turn, newest first (ours before every PMU of the boot: nothing can answer
    /// for it), and stops at the first answer other than `ENOENT`: a PMU of this abstraction
    /// answers `ENOENT` and never takes the event, whatever its config says. Unused dynamic
    /// types below ours (the type of a PMU registered just before it, gone again) and above it
    /// test this where a CPU PMU takes `RAW` and `HARDWARE` (KVM), for a check that compares
    /// the wrong way.
    #[test]
    fn events_of_other_types_are_not_ours() -> Result {
        let probe = Probe::new()?;
        // Perf core gives a new PMU the lowest free type: `before` gets a lower one than ours.
        let before = register::<TestPmu>(c"rust_perf_test_type_before", &probe)?;
        let reg = register::<TestPmu>(c"rust_perf_test_type", &probe)?;
        let ours = reg.pmu_type();
        let below = before.pmu_type();
        drop(before);
        assert!(below < ours);
        let types = [
            bindings::perf_type_id_PERF_TYPE_HARDWARE,
            bindings::perf_type_id_PERF_TYPE_RAW,
            below,
            ours + 1000,
        ];
        for t in types {
            // Config 0 is this PMU's `ticks`.
            // Refused (by every PMU, `ENOENT`, or by one that owns the type), or taken by
            // another PMU.
            if let Ok(c) = Counter::open_with(t, 0, 0, |_| {}) {
                assert!(c.pmu_type() != ours);
            }
        }
        assert_eq!(probe.calls.load(Relaxed), 0);
        Ok(())
    }

    /// Perf core loads the callbacks of a registered `struct pmu` with plain loads: nothing
    /// may write them while it is published, unregistration included.
    #[test]
    fn published_pmu_is_never_written() -> Result {
        let probe = Probe::new()?;
        let reg = register::<TestPmu>(c"rust_perf_test_pub", &probe)?;
        let pmu = reg.pmu_ref();
        let c = Counter::open(reg.pmu_type())?;
        let published = pmu.published();
        probe.tick(3);
        assert_eq!(c.read(), 3);
        assert!(published == pmu.published());
        drop(reg);
        assert!(published == pmu.published());
        assert_eq!(c.read(), 3);
        Ok(())
    }

    #[test]
    fn registration_errors() -> Result {
        let probe = Probe::new()?;
        for bad in [c"", c"bad:name", c"bad/name"] {
            assert_eq!(register::<TestPmu>(bad, &probe).err(), Some(EINVAL));
        }
        let reg = register::<TestPmu>(c"rust_perf_test_dup", &probe)?;
        assert_eq!(
            register::<TestPmu>(c"rust_perf_test_dup", &probe).err(),
            Some(EEXIST)
        );
        drop(reg);
        assert_eq!(probe.data_dropped.load(Relaxed), 5);
        Ok(())
    }

    /// A name that a C PMU has (`software`, perf core's own) is refused with `EEXIST`, as a
    /// name of ours is, and without sysfs' duplicate-name stack dump (the splat check sees it).
    #[test]
    fn name_of_a_c_pmu_is_eexist() -> Result {
        let probe = Probe::new()?;
        assert_eq!(register::<TestPmu>(c"software", &probe).err(), Some(EEXIST));
        assert_eq!(probe.data_dropped.load(Relaxed), 1);
        Ok(())
    }

    /// Driver errors from `event_init` reach the caller; so do the core's checks.
    #[test]
    fn event_init_errors() -> Result {
        let probe = Probe::new()?;
        let reg = register::<TestPmu>(c"rust_perf_test_init", &probe)?;
        let t = reg.pmu_type();
        assert_eq!(Counter::open_with(t, 1, 0, |_| {}).err(), Some(EBUSY));
        assert_eq!(Counter::open_with(t, 2, 0, |_| {}).err(), Some(ENOENT));
        let sampling = Counter::open_with(t, 0, 0, |a| a.__bindgen_anon_1.sample_period = 1000);
        assert_eq!(sampling.err(), Some(EINVAL));
        let exclude = Counter::open_with(t, 0, 0, |a| a.set_exclude_kernel(1));
        assert_eq!(exclude.err(), Some(EINVAL));
        let branches = Counter::open_with(t, 0, 0, |a| {
            a.sample_type = u64::from(bindings::perf_event_sample_format_PERF_SAMPLE_BRANCH_STACK);
        });
        assert_eq!(branches.err(), Some(EOPNOTSUPP));
        assert_eq!(probe.events_dropped.load(Relaxed), 1);
        Ok(())
    }

    /// An open that reaches the PMU once its unregistration has begun, but before perf core
    /// unpublished it (an open already past perf core's lookup of the type), is refused with
    /// `ENODEV` before the driver sees it; `ENOENT` once the PMU is gone. The window is forced:
    /// no timing opens it reliably.
    #[test]
    fn open_during_unregistration_is_enodev() -> Result {
        let probe = Probe::new()?;
        let reg = register::<TestPmu>(c"rust_perf_test_enodev", &probe)?;
        let t = reg.pmu_type();
        let refused = reg.while_unregistering(|| Counter::open(t).err());
        assert_eq!(refused, Some(ENODEV));
        assert_eq!(probe.calls.load(Relaxed), 0);
        // Still registered, and counting.
        let c = Counter::open(t)?;
        probe.tick(7);
        assert_eq!(c.read(), 7);
        drop(c);
        drop(reg);
        assert_eq!(Counter::open(t).err(), Some(ENOENT));
        Ok(())
    }

    /// A PMU that declares `Capability::Exclude` gets `exclude_*` events, and its driver
    /// sees the bits; a plain one never does (`event_init_errors`).
    #[test]
    fn exclude_capability_lets_exclude_bits_through() -> Result {
        let probe = Probe::new()?;
        let opts = Options {
            capabilities: Capability::Exclude.into(),
            ..options(c"rust_perf_test_excl")
        };
        let reg = Registration::<ExcludePmu>::new(opts, TestData(probe.clone()))?;
        let t = reg.pmu_type();
        let user_only = Counter::open_with(t, 0, 0, |a| a.set_exclude_kernel(1))?;
        probe.tick(7);
        assert_eq!(user_only.read(), 7);
        // The driver refuses what it cannot honour, with its own errno.
        let no_hv = Counter::open_with(t, 0, 0, |a| a.set_exclude_hv(1));
        assert_eq!(no_hv.err(), Some(EOPNOTSUPP));
        // Sampling stays refused whatever the capabilities.
        let sampling = Counter::open_with(t, 0, 0, |a| a.__bindgen_anon_1.sample_period = 1);
        assert_eq!(sampling.err(), Some(EINVAL));
        Ok(())
    }

    /// What [`hw_state_accessors_are_race_free`] shares with its second thread. The counter
    /// stays with the test, which releases it only once the thread is done with it.
    #[pin_data]
    struct Toggler {
        event: *mut bindings::perf_event,
        stop: Atomic<bool>,
        stores: Atomic<u64>,
        #[pin]
        done: Completion,
    }

    // SAFETY: `event` is only passed to `Event::from_raw`, whose accessors may be used from any
    // thread; the rest is atomics and a completion.
    unsafe impl Send for Toggler {}
    // SAFETY: As for `Send`.
    unsafe impl Sync for Toggler {}

    /// `Event::hw_state` and `Event::set_hw_state` are safe, and a driver may call them from
    /// `read`, which runs on another CPU of the scope while the event's CPU stops it: a second
    /// thread stores while this one loads, on a disabled event that no callback touches. A
    /// plain access on either side is a data race that KCSAN reports (`make kcsan`); in other
    /// kernels the test shows that every load sees one of the values stored.
    #[test]
    fn hw_state_accessors_are_race_free() -> Result {
        let probe = Probe::new()?;
        let reg = register::<TestPmu>(c"rust_perf_test_hw", &probe)?;
        let counter = Counter::open_with(reg.pmu_type(), 0, 0, |a| a.set_disabled(1))?;
        let t = Arc::pin_init(
            pin_init!(Toggler {
                event: counter.0,
                stop: Atomic::new(false),
                stores: Atomic::new(0),
                done <- Completion::new(),
            }),
            GFP_KERNEL,
        )?;
        let stopped: HwState = HwFlag::Stopped | HwFlag::UpToDate;
        let w = t.clone();
        dfl_wq().try_spawn(GFP_KERNEL, move || {
            // SAFETY: The test keeps the counter open until `done`, which is the last thing
            // this thread does with it, and its PMU is a `kernel::perf` one.
            let ev = unsafe { Event::from_raw(w.event) };
            // The atomic add between the stores keeps a compiler from merging them.
            while !w.stop.load(Relaxed) {
                ev.set_hw_state(HwState::RUNNING);
                w.stores.fetch_add(1, Relaxed);
                ev.set_hw_state(stopped);
                w.stores.fetch_add(1, Relaxed);
            }
            w.done.complete_all();
        })?;
        // SAFETY: `counter` is open, and its PMU is a `kernel::perf` one.
        let ev = unsafe { Event::from_raw(counter.0) };
        let (mut loads, mut running) = (0u64, 0u64);
        while loads < 200_000 || t.stores.load(Relaxed) < 2000 {
            let s = ev.hw_state();
            assert!(s == HwState::RUNNING || s == stopped);
            running += u64::from(s == HwState::RUNNING);
            loads += 1;
            // Lets the worker run should it be on this CPU.
            if loads % 50_000 == 0 {
                fsleep(Delta::from_millis(1));
            }
        }
        t.stop.store(true, Relaxed);
        t.done.wait_for_completion();
        pr_info!(
            "hw_state: {loads} loads ({running} running), {} stores\n",
            t.stores.load(Relaxed)
        );
        drop(t);
        drop(counter);
        drop(reg);
        Ok(())
    }

    /// A reading below the last one counts nothing, and counting resumes only past it: the
    /// count never wraps to a huge delta, and nothing is counted twice.
    #[test]
    fn monotonic_update_ignores_lagging_readings() -> Result {
        let probe = Probe::new()?;
        let reg = register::<LaggingPmu>(c"rust_perf_test_lag", &probe)?;
        let c = Counter::open(reg.pmu_type())?;
        probe.tick(100);
        assert_eq!(c.read(), 100);
        // A reader that raced with a state change, or whose clock lags, sees less.
        probe.counter.store(90, Relaxed);
        assert_eq!(c.read(), 100);
        probe.counter.store(95, Relaxed);
        assert_eq!(c.read(), 100);
        probe.counter.store(130, Relaxed);
        assert_eq!(c.read(), 130);
        // The fold at unregistration clamps the same way.
        probe.counter.store(120, Relaxed);
        drop(reg);
        assert_eq!(c.read(), 130);
        Ok(())
    }
}
