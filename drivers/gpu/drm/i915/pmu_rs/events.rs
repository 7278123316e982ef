// SPDX-License-Identifier: GPL-2.0

//! The i915 PMU event encoding and the arithmetic behind each counter.
//!
//! Everything here is pure: no device, no locks. The config encoding is i915's own, from
//! [`include/uapi/drm/i915_drm.h`](srctree/include/uapi/drm/i915_drm.h), so perf users and tools
//! written for i915 see the same numbers.

use kernel::{
    prelude::*,
    sync::atomic::{Acquire, Atomic, Relaxed, Release},
};

/// `I915_PMU_SAMPLE_BITS`: the sample kind sits in the low bits of an engine event.
const SAMPLE_BITS: u32 = 4;
/// `I915_PMU_CLASS_SHIFT`: the engine class sits above the instance.
const CLASS_SHIFT: u32 = 12;
/// `__I915_PMU_OTHER(0)`: the first config that is not an engine event.
const OTHER_BASE: u64 = 0x10_0000;

/// An engine of the GT, each backed by a unit of the edu device.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Engine {
    /// `rcs0`, render class: runs work on the factorial unit.
    Rcs0 = 0,
    /// `bcs0`, copy class: runs work on the DMA engine.
    Bcs0 = 1,
}

impl Engine {
    /// All engines, in index order.
    pub(crate) const ALL: [Engine; 2] = [Engine::Rcs0, Engine::Bcs0];

    /// The engine's name, as in i915's event names.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Engine::Rcs0 => "rcs0",
            Engine::Bcs0 => "bcs0",
        }
    }

    /// `I915_ENGINE_CLASS_*` and the instance.
    const fn class_instance(self) -> (u64, u64) {
        match self {
            Engine::Rcs0 => (0, 0), // I915_ENGINE_CLASS_RENDER
            Engine::Bcs0 => (1, 0), // I915_ENGINE_CLASS_COPY
        }
    }

    /// The engine called `name`.
    pub(crate) fn from_name(name: &[u8]) -> Option<Engine> {
        Engine::ALL
            .into_iter()
            .find(|e| e.name().as_bytes() == name)
    }
}

/// What an engine event measures (`I915_SAMPLE_*`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Sample {
    /// Time the engine executes a job.
    Busy = 0,
    /// Time jobs sit queued behind the job the engine executes.
    Wait = 1,
    /// Time the engine's next job is blocked on another engine's job.
    Sema = 2,
}

/// A GT-wide counter (`I915_PMU_*` beyond the engine events).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Other {
    /// `I915_PMU_ACTUAL_FREQUENCY`, MHz integrated over time.
    ActualFrequency = 0,
    /// `I915_PMU_REQUESTED_FREQUENCY`, MHz integrated over time.
    RequestedFrequency = 1,
    /// `I915_PMU_INTERRUPTS`: device interrupts handled.
    Interrupts = 2,
    /// `I915_PMU_RC6_RESIDENCY`: ns the GT spent parked.
    Rc6Residency = 3,
    /// `I915_PMU_SOFTWARE_GT_AWAKE_TIME`: ns the GT spent awake.
    AwakeTime = 4,
}

/// A counter of the PMU, decoded from `perf_event_attr::config`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Counter {
    /// An engine event.
    Engine(Engine, Sample),
    /// A GT-wide event.
    Other(Other),
}

impl Counter {
    /// The i915 config of the counter.
    pub(crate) const fn config(self) -> u64 {
        match self {
            Counter::Engine(e, s) => {
                let (class, instance) = e.class_instance();
                class << CLASS_SHIFT | instance << SAMPLE_BITS | s as u64
            }
            Counter::Other(o) => OTHER_BASE + o as u64,
        }
    }

    /// Decodes an i915 config; `None` for a config this GT does not have.
    pub(crate) fn from_config(config: u64) -> Option<Counter> {
        if config >= OTHER_BASE {
            let other = match config - OTHER_BASE {
                0 => Other::ActualFrequency,
                1 => Other::RequestedFrequency,
                2 => Other::Interrupts,
                3 => Other::Rc6Residency,
                4 => Other::AwakeTime,
                _ => return None,
            };
            return Some(Counter::Other(other));
        }
        let sample = match config & ((1 << SAMPLE_BITS) - 1) {
            0 => Sample::Busy,
            1 => Sample::Wait,
            2 => Sample::Sema,
            _ => return None,
        };
        let engine = Engine::ALL
            .into_iter()
            .find(|e| Counter::Engine(*e, Sample::Busy).config() == config & !0xf)?;
        Some(Counter::Engine(engine, sample))
    }

    /// Whether the counter is fed by the GT's sampling timer (i915's frequency counters).
    pub(crate) const fn needs_sampling(self) -> bool {
        matches!(
            self,
            Counter::Other(Other::ActualFrequency | Other::RequestedFrequency)
        )
    }
}

/// Declares the sysfs tables and, from the same literals, [`EVENT_STRINGS`] for the tests.
macro_rules! i915_events {
    ($($name:literal => $value:literal $(, unit $unit:literal)?;)*) => {
        kernel::pmu_attributes! {
            pub(crate) static ATTRS = {
                format: { "i915_eventid" => "config:0-20" },
                events: { $($name => $value $(, unit $unit)?;)* },
            };
        }

        /// The `events/` files as (name, contents) pairs.
        #[cfg_attr(not(CONFIG_KUNIT), allow(dead_code))]
        pub(crate) const EVENT_STRINGS: &[(&str, &str)] = &[$(($name, $value)),*];
    };
}

i915_events! {
    "rcs0-busy" => "config=0x0", unit "ns";
    "rcs0-wait" => "config=0x1", unit "ns";
    "rcs0-sema" => "config=0x2", unit "ns";
    "bcs0-busy" => "config=0x1000", unit "ns";
    "bcs0-wait" => "config=0x1001", unit "ns";
    "bcs0-sema" => "config=0x1002", unit "ns";
    "actual-frequency" => "config=0x100000", unit "M";
    "requested-frequency" => "config=0x100001", unit "M";
    "interrupts" => "config=0x100002";
    "rc6-residency" => "config=0x100003", unit "ns";
    "software-gt-awake-time" => "config=0x100004", unit "ns";
}

/// The most work units one job may ask for.
pub(crate) const MAX_UNITS: u32 = 10_000;

/// A job for an engine, as written to the `submit` file: `<engine> <units> [after <engine>]`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Submission {
    /// The engine that runs the job.
    pub(crate) engine: Engine,
    /// How many units of work: factorials on `rcs0`, 1 KiB DMA transfers on `bcs0`.
    pub(crate) units: u32,
    /// The job waits for the last job submitted to this engine (a semaphore).
    pub(crate) after: Option<Engine>,
}

impl Submission {
    /// Parses one submission; `EINVAL` for anything but the documented grammar.
    pub(crate) fn parse(line: &[u8]) -> Result<Submission> {
        let line = core::str::from_utf8(line).map_err(|_| EINVAL)?;
        let mut words = line.split_ascii_whitespace();
        let engine = Engine::from_name(words.next().ok_or(EINVAL)?.as_bytes()).ok_or(EINVAL)?;
        let units: u32 = words.next().ok_or(EINVAL)?.parse().map_err(|_| EINVAL)?;
        if units == 0 || units > MAX_UNITS {
            return Err(EINVAL);
        }
        let after = match words.next() {
            None => None,
            Some("after") => {
                let other =
                    Engine::from_name(words.next().ok_or(EINVAL)?.as_bytes()).ok_or(EINVAL)?;
                if other == engine {
                    return Err(EINVAL);
                }
                Some(other)
            }
            Some(_) => return Err(EINVAL),
        };
        if words.next().is_some() {
            return Err(EINVAL);
        }
        Ok(Submission {
            engine,
            units,
            after,
        })
    }
}

/// Lowest frequency of the governor, in MHz (the GT idles there).
pub(crate) const MIN_MHZ: u32 = 300;
/// Highest frequency of the governor, in MHz.
pub(crate) const MAX_MHZ: u32 = 1200;
/// How far one sampling period moves the frequency, per busy engine.
const STEP_MHZ: u32 = 50;

/// The load-following governor: the requested frequency for the next sampling period.
///
/// Each busy engine raises the frequency by one step; an idle GT lowers it by one step.
pub(crate) const fn next_frequency(cur: u32, busy_engines: u32) -> u32 {
    let f = if busy_engines > 0 {
        cur.saturating_add(STEP_MHZ * busy_engines)
    } else {
        cur.saturating_sub(STEP_MHZ)
    };
    if f < MIN_MHZ {
        MIN_MHZ
    } else if f > MAX_MHZ {
        MAX_MHZ
    } else {
        f
    }
}

/// A frequency counter as i915 keeps it: MHz times microseconds, read as MHz times seconds,
/// so `perf stat -I 1000` shows the average frequency of each interval in MHz.
pub(crate) struct FrequencyCounter(Atomic<u64>);

impl FrequencyCounter {
    pub(crate) const fn new() -> Self {
        Self(Atomic::new(0))
    }

    /// Accounts `mhz` for `period_ns`.
    pub(crate) fn add_sample(&self, mhz: u32, period_ns: u64) {
        self.0
            .fetch_add(u64::from(mhz) * (period_ns / 1000), Relaxed);
    }

    /// The counter in MHz times seconds.
    pub(crate) fn read(&self) -> u64 {
        self.0.load(Relaxed) / 1_000_000
    }
}

/// The time spent in one state (busy, parked, ...), readable from any context, NMI included.
///
/// The state is entered and left by one writer at a time (the GT's lock); [`Residency::read`]
/// takes no lock and writes nothing. A reader that races with a transition, or whose clock
/// lags behind another CPU's, may get a value slightly smaller than an earlier reader got: the
/// PMU folds readings with [`kernel::perf::Event::update_count_monotonic`], which keeps each
/// event's count from going backwards without a word that all readers write.
///
/// # Invariants
///
/// `since` is 0 while the state is not entered, else the time it was entered. `total` is the
/// time of all completed stays.
pub(crate) struct Residency {
    total: Atomic<u64>,
    since: Atomic<u64>,
}

impl Residency {
    pub(crate) const fn new() -> Self {
        Self {
            total: Atomic::new(0),
            since: Atomic::new(0),
        }
    }

    /// Enters (`on`) or leaves the state at time `now` (ns, never 0); no-op if already there.
    pub(crate) fn set(&self, on: bool, now: u64) {
        let since = self.since.load(Relaxed);
        if on && since == 0 {
            self.since.store(now, Release);
        } else if !on && since != 0 {
            // Clear `since` before growing `total`: a reader that sees the new total also
            // sees the state left, so a stay is never counted twice.
            self.since.store(0, Release);
            self.total.fetch_add(now.saturating_sub(since), Release);
        }
    }

    /// The time spent in the state up to `now`, in ns. A `now` before the state was entered
    /// counts as no time.
    pub(crate) fn read(&self, now: u64) -> u64 {
        let total = self.total.load(Acquire);
        let since = self.since.load(Acquire);
        if since == 0 {
            total
        } else {
            total + now.saturating_sub(since)
        }
    }
}

#[kunit_tests(i915_pmu_rs)]
mod tests {
    use super::*;
    use crate::gt::regs;

    /// A device that stops answering reads all-ones on real hardware (0 under QEMU, which the
    /// `device_stops_answering` script case meets): no engine's unit is done, no interrupt.
    #[test]
    fn irq_status_of_a_gone_device_completes_nothing() {
        assert_eq!(regs::completed(u32::MAX), None);
        assert_eq!(regs::completed(0), None);
        assert_eq!(regs::completed(regs::IRQ_FACTORIAL), Some([true, false]));
        assert_eq!(regs::completed(regs::IRQ_DMA), Some([false, true]));
        assert_eq!(
            regs::completed(regs::IRQ_FACTORIAL | regs::IRQ_DMA),
            Some([true, true])
        );
    }

    #[test]
    fn config_round_trip() {
        for e in Engine::ALL {
            for s in [Sample::Busy, Sample::Wait, Sample::Sema] {
                let c = Counter::Engine(e, s);
                assert_eq!(Counter::from_config(c.config()), Some(c));
            }
        }
        for o in 0..5 {
            let c = Counter::from_config(0x10_0000 + o).unwrap();
            assert_eq!(c.config(), 0x10_0000 + o);
        }
    }

    #[test]
    fn config_matches_i915_uapi() {
        // Values of I915_PMU_ENGINE_BUSY(RENDER, 0), I915_PMU_ENGINE_SEMA(COPY, 0),
        // I915_PMU_ACTUAL_FREQUENCY and I915_PMU_SOFTWARE_GT_AWAKE_TIME.
        assert_eq!(Counter::Engine(Engine::Rcs0, Sample::Busy).config(), 0x0);
        assert_eq!(Counter::Engine(Engine::Bcs0, Sample::Sema).config(), 0x1002);
        assert_eq!(Counter::Other(Other::ActualFrequency).config(), 0x10_0000);
        assert_eq!(Counter::Other(Other::AwakeTime).config(), 0x10_0004);
    }

    #[test]
    fn unknown_configs_are_refused() {
        // A sample kind i915 does not have, an engine this GT does not have (vcs0), a
        // second instance, the next "other" counter, and bits above config:0-20.
        for config in [0x3, 0xf, 0x2000, 0x10, 0x10_0005, 0x20_0000, u64::MAX] {
            assert_eq!(Counter::from_config(config), None);
        }
    }

    #[test]
    fn sysfs_strings_match_the_encoding() {
        assert_eq!(EVENT_STRINGS.len(), 11);
        for (name, value) in EVENT_STRINGS {
            let hex = value.strip_prefix("config=0x").unwrap();
            let config = u64::from_str_radix(hex, 16).unwrap();
            let counter = Counter::from_config(config).unwrap();
            match counter {
                Counter::Engine(e, s) => {
                    let (engine, sample) = name.split_once('-').unwrap();
                    assert_eq!(engine, e.name());
                    let want = match s {
                        Sample::Busy => "busy",
                        Sample::Wait => "wait",
                        Sample::Sema => "sema",
                    };
                    assert_eq!(sample, want);
                }
                Counter::Other(o) => {
                    let want = match o {
                        Other::ActualFrequency => "actual-frequency",
                        Other::RequestedFrequency => "requested-frequency",
                        Other::Interrupts => "interrupts",
                        Other::Rc6Residency => "rc6-residency",
                        Other::AwakeTime => "software-gt-awake-time",
                    };
                    assert_eq!(*name, want);
                }
            }
        }
    }

    #[test]
    fn only_frequencies_need_the_timer() {
        assert!(Counter::Other(Other::ActualFrequency).needs_sampling());
        assert!(Counter::Other(Other::RequestedFrequency).needs_sampling());
        assert!(!Counter::Other(Other::Interrupts).needs_sampling());
        assert!(!Counter::Engine(Engine::Rcs0, Sample::Busy).needs_sampling());
    }

    #[test]
    fn submissions_parse() {
        let ok = |s: &str| Submission::parse(s.as_bytes());
        assert_eq!(
            ok("rcs0 100\n"),
            Ok(Submission {
                engine: Engine::Rcs0,
                units: 100,
                after: None
            })
        );
        assert_eq!(
            ok("  bcs0\t2 after rcs0"),
            Ok(Submission {
                engine: Engine::Bcs0,
                units: 2,
                after: Some(Engine::Rcs0)
            })
        );
        assert_eq!(ok("rcs0 10000").map(|s| s.units), Ok(MAX_UNITS));
    }

    #[test]
    fn bad_submissions_are_einval() {
        for bad in [
            "",
            "\n",
            "rcs0",
            "vcs0 1",
            "rcs0 0",
            "rcs0 10001",
            "rcs0 -1",
            "rcs0 1x",
            "rcs0 99999999999",
            "rcs0 1 after",
            "rcs0 1 after rcs0",
            "rcs0 1 after vcs0",
            "rcs0 1 before bcs0",
            "rcs0 1 after bcs0 x",
            "RCS0 1",
        ] {
            assert_eq!(Submission::parse(bad.as_bytes()), Err(EINVAL));
        }
        assert_eq!(Submission::parse(b"rcs0 \xff"), Err(EINVAL));
    }

    #[test]
    fn governor_follows_load() {
        assert_eq!(next_frequency(MIN_MHZ, 0), MIN_MHZ);
        assert_eq!(next_frequency(MIN_MHZ, 1), MIN_MHZ + 50);
        assert_eq!(next_frequency(MIN_MHZ, 2), MIN_MHZ + 100);
        assert_eq!(next_frequency(MAX_MHZ, 2), MAX_MHZ);
        assert_eq!(next_frequency(MAX_MHZ, 0), MAX_MHZ - 50);
        assert_eq!(next_frequency(0, 0), MIN_MHZ);
        assert_eq!(next_frequency(u32::MAX, 1), MAX_MHZ);
        let mut f = MIN_MHZ;
        for _ in 0..100 {
            f = next_frequency(f, 1);
        }
        assert_eq!(f, MAX_MHZ);
    }

    #[test]
    fn frequency_counter_reads_mhz_seconds() {
        let c = FrequencyCounter::new();
        // 200 samples of 5 ms at 600 MHz: one second at 600 MHz.
        for _ in 0..200 {
            c.add_sample(600, 5_000_000);
        }
        assert_eq!(c.read(), 600);
        c.add_sample(1200, 500_000_000);
        assert_eq!(c.read(), 1200);
    }

    #[test]
    fn residency_park_unpark_transitions() {
        let r = Residency::new();
        assert_eq!(r.read(100), 0);
        r.set(true, 100);
        r.set(true, 150); // already in the state: no restart
        assert_eq!(r.read(160), 60);
        r.set(false, 200);
        r.set(false, 250); // already out
        assert_eq!(r.read(1000), 100);
        r.set(true, 1000);
        assert_eq!(r.read(1010), 110);
        r.set(false, 1020);
        assert_eq!(r.read(5000), 120);
    }

    #[test]
    fn residency_lagging_clocks() {
        let r = Residency::new();
        r.set(true, 1000);
        assert_eq!(r.read(1500), 500);
        // A reader whose clock lags behind the last one (another CPU) gets less; the event's
        // fold (`update_count_monotonic`) keeps its count from going backwards.
        assert_eq!(r.read(1200), 200);
        // A clock before the state was entered counts as no time, not as a wrapped delta.
        r.set(false, 1600);
        r.set(true, 2000);
        assert_eq!(r.read(1900), 600);
        assert_eq!(r.read(2100), 700);
    }
}
