// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the PMU lifecycle, driven by in-kernel counters.

#[macros::kunit_tests(rust_perf)]
mod lifecycle {
    use crate::{
        bindings, device,
        error::from_err_ptr,
        faux,
        perf::{
            Capabilities, Event, EventFlags, Exclude, HwState, Operations, Options, Registration,
            Scope,
        },
        prelude::*,
        sync::{
            atomic::{Atomic, Relaxed},
            Arc, Completion,
        },
        time::{delay::fsleep, Delta},
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
    }

    impl Probe {
        fn new() -> Result<Arc<Self>> {
            Ok(Arc::new(
                Probe {
                    counter: Atomic::new(0),
                    calls: Atomic::new(0),
                    data_dropped: Atomic::new(0),
                    events_dropped: Atomic::new(0),
                },
                GFP_KERNEL,
            )?)
        }

        fn tick(&self, n: u64) {
            self.counter.fetch_add(n, Relaxed);
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
            event.set_hw_state(HwState::STOPPED | HwState::UPTODATE);
            if flags.contains(EventFlags::START) {
                Self::start(d, event, s, flags);
            }
            Ok(())
        }

        fn del(d: &TestData, event: &Event, s: &TestEvent, _: EventFlags) {
            d.0.calls.fetch_add(1, Relaxed);
            Self::stop(d, event, s, EventFlags::UPDATE);
        }

        fn start(d: &TestData, event: &Event, _: &TestEvent, _: EventFlags) {
            d.0.calls.fetch_add(1, Relaxed);
            event.set_prev_count(d.0.counter.load(Relaxed));
            event.set_hw_state(HwState::RUNNING);
        }

        fn stop(d: &TestData, event: &Event, _: &TestEvent, flags: EventFlags) {
            d.0.calls.fetch_add(1, Relaxed);
            if event.hw_state().contains(HwState::STOPPED) {
                return;
            }
            if flags.contains(EventFlags::UPDATE) {
                event.update_count(|| d.0.counter.load(Relaxed));
            }
            event.set_hw_state(HwState::STOPPED | HwState::UPTODATE);
        }

        fn read(d: &TestData, event: &Event, _: &TestEvent) {
            d.0.calls.fetch_add(1, Relaxed);
            event.update_count(|| d.0.counter.load(Relaxed));
        }
    }

    /// The callbacks of [`TestPmu`] after `event_init`, for the test PMUs that differ from it
    /// in something else.
    macro_rules! test_pmu_callbacks {
        () => {
            fn add(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) -> Result {
                TestPmu::add(d, event, s, flags)
            }

            fn del(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) {
                TestPmu::del(d, event, s, flags)
            }

            fn start(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) {
                TestPmu::start(d, event, s, flags)
            }

            fn stop(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) {
                TestPmu::stop(d, event, s, flags)
            }

            fn read(d: &TestData, event: &Event, s: &TestEvent) {
                TestPmu::read(d, event, s)
            }
        };
    }

    /// The same PMU with `event_unmapped`: perf core cannot revoke its events and
    /// `perf_pmu_unregister()` says `EBUSY` while any is open.
    struct MappedPmu;

    #[vtable]
    impl Operations for MappedPmu {
        type Data = TestData;
        type EventData = TestEvent;

        fn event_init(d: &TestData, event: &Event) -> Result<TestEvent> {
            TestPmu::event_init(d, event)
        }

        test_pmu_callbacks!();

        fn event_unmapped(_: &TestData, _: &Event, _: &TestEvent) {}
    }

    /// `TestPmu` that honours `exclude_kernel` (its counter has no kernel part) and nothing
    /// else of the `exclude_*` bits.
    struct ExcludePmu;

    #[vtable]
    impl Operations for ExcludePmu {
        type Data = TestData;
        type EventData = TestEvent;

        fn event_init(d: &TestData, event: &Event) -> Result<TestEvent> {
            if !Exclude::KERNEL.contains(event.exclude()) {
                return Err(EOPNOTSUPP);
            }
            TestPmu::event_init(d, event)
        }

        test_pmu_callbacks!();
    }

    /// `TestPmu` for a counter whose readings may lag: it folds with
    /// [`Event::update_count_monotonic`].
    struct LaggingPmu;

    #[vtable]
    impl Operations for LaggingPmu {
        type Data = TestData;
        type EventData = TestEvent;

        fn event_init(d: &TestData, event: &Event) -> Result<TestEvent> {
            TestPmu::event_init(d, event)
        }

        fn add(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) -> Result {
            TestPmu::add(d, event, s, flags)
        }

        fn del(d: &TestData, event: &Event, s: &TestEvent, _: EventFlags) {
            Self::stop(d, event, s, EventFlags::UPDATE);
        }

        fn start(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) {
            TestPmu::start(d, event, s, flags)
        }

        fn stop(d: &TestData, event: &Event, s: &TestEvent, flags: EventFlags) {
            if flags.contains(EventFlags::UPDATE) && !event.hw_state().contains(HwState::STOPPED) {
                Self::read(d, event, s);
            }
            TestPmu::stop(d, event, s, EventFlags::from_raw(0));
        }

        fn read(d: &TestData, event: &Event, _: &TestEvent) {
            event.update_count_monotonic(|| d.0.counter.load(Relaxed));
        }
    }

    fn options(name: &CStr) -> Options<'_> {
        Options {
            name,
            scope: Scope::SystemWide,
            attributes: &ATTRS,
            parent: None,
            capabilities: Capabilities::NONE,
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
    // SAFETY: `perf_event_read_value` may run concurrently on any thread.
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

    #[pin_data]
    struct Reader {
        counter: Counter,
        stop: Atomic<bool>,
        backwards: Atomic<u64>,
        reads: Atomic<u64>,
        last: Atomic<u64>,
        #[pin]
        done: Completion,
    }

    /// A second thread reads in a tight loop while the PMU is unregistered: its reads never go
    /// backwards and it ends on the final count.
    #[test]
    fn reader_during_unregistration() -> Result {
        let probe = Probe::new()?;
        let reg = register::<TestPmu>(c"rust_perf_test_reader", &probe)?;
        let counter = Counter::open(reg.pmu_type())?;
        let reader = Arc::pin_init(
            pin_init!(Reader {
                counter,
                stop: Atomic::new(false),
                backwards: Atomic::new(0),
                reads: Atomic::new(0),
                last: Atomic::new(0),
                done <- Completion::new(),
            }),
            GFP_KERNEL,
        )?;
        let r = reader.clone();
        workqueue::system_long().try_spawn(GFP_KERNEL, move || {
            while !r.stop.load(Relaxed) {
                let v = r.counter.read();
                if v < r.last.load(Relaxed) {
                    r.backwards.fetch_add(1, Relaxed);
                }
                r.last.store(v, Relaxed);
                r.reads.fetch_add(1, Relaxed);
            }
            r.done.complete_all();
        })?;
        for _ in 0..100 {
            probe.tick(3);
        }
        while reader.reads.load(Relaxed) < 10 {
            fsleep(Delta::from_millis(1));
        }
        drop(reg);
        let after = reader.reads.load(Relaxed);
        while reader.reads.load(Relaxed) < after + 10 {
            fsleep(Delta::from_millis(1));
        }
        reader.stop.store(true, Relaxed);
        reader.done.wait_for_completion();
        assert_eq!(reader.backwards.load(Relaxed), 0);
        assert_eq!(reader.last.load(Relaxed), 300);
        assert_eq!(reader.counter.read(), 300);
        Ok(())
    }

    /// Perf core refuses to revoke events of a PMU with `event_unmapped`: the PMU stays
    /// published on stubs (the driver's data is gone all the same) and is torn down when its
    /// last event is released.
    #[test]
    fn busy_unregister_defers_teardown_to_last_event() -> Result {
        let probe = Probe::new()?;
        let reg = register::<MappedPmu>(c"rust_perf_test_busy", &probe)?;
        let c = Counter::open(reg.pmu_type())?;
        probe.tick(7);
        drop(reg);
        assert_eq!(probe.data_dropped.load(Relaxed), 1);
        assert_eq!(probe.events_dropped.load(Relaxed), 1);
        let calls = probe.calls.load(Relaxed);
        probe.tick(5);
        assert_eq!(c.read(), 7);
        assert_eq!(probe.calls.load(Relaxed), calls);
        // Still published: the name is taken until the last event goes.
        assert_eq!(
            register::<TestPmu>(c"rust_perf_test_busy", &probe).err(),
            Some(EEXIST)
        );
        drop(c);
        let mut again = None;
        for _ in 0..5000 {
            match register::<TestPmu>(c"rust_perf_test_busy", &probe) {
                Ok(reg) => {
                    again = Some(reg);
                    break;
                }
                Err(e) => assert_eq!(e, EEXIST),
            }
            fsleep(Delta::from_millis(1));
        }
        assert!(again.is_some());
        assert_eq!(probe.calls.load(Relaxed), calls);
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
        assert_eq!(probe.events_dropped.load(Relaxed), 1);
        Ok(())
    }

    /// A PMU that declares `Capabilities::EXCLUDE` gets `exclude_*` events, and its driver
    /// sees the bits; a plain one never does (`event_init_errors`).
    #[test]
    fn exclude_capability_lets_exclude_bits_through() -> Result {
        let probe = Probe::new()?;
        let opts = Options {
            capabilities: Capabilities::EXCLUDE,
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
