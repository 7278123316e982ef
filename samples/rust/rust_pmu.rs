// SPDX-License-Identifier: GPL-2.0

//! Rust PMU sample: a software perf PMU counting the ticks of a 1 ms timer, and the
//! nanoseconds of the clock.
//!
//! ```text
//! # modprobe rust_pmu
//! # perf stat -a -e rust_pmu/ticks/,rust_pmu/clock/ -I 1000
//! # rmmod rust_pmu        # while perf runs: perf keeps its final count
//! ```
//!
//! With `package=1` the PMU counts per package ([`Scope::Package`]): its `cpumask` names one
//! CPU of each package, `perf stat -a` opens an event on each of them, and when one of these
//! CPUs goes offline perf core moves its events to another CPU of the package. The driver
//! needs no CPU hotplug code for that. The counters are the system's, not a package's: every
//! package's event counts the same ticks and time, and `perf stat -a` adds them up.
//!
//! The PMU and its timer live in the module; removing the module drops the
//! [`Registration`], which folds the final counts into the open events and
//! leaves them on stubs in the kernel, so `rmmod` never waits for perf.

use kernel::{
    impl_has_hr_timer,
    perf::{Capabilities, Event, Operations, Options, Registration, Scope},
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, ArcBorrow,
    },
    time::{
        hrtimer::{
            ArcHrTimerHandle, HrTimer, HrTimerCallback, HrTimerCallbackContext, HrTimerPointer,
            HrTimerRestart, RelativeMode,
        },
        Delta, Monotonic,
    },
};

module! {
    type: RustPmu,
    name: "rust_pmu",
    authors: ["pmu-rs developers"],
    description: "Rust PMU sample: a software PMU counting timer ticks and time",
    license: "GPL",
    params: {
        package: bool {
            default: false,
            description: "Count per package (Scope::Package), not for the whole system",
        },
        forget_registration: bool {
            default: false,
            description: "Forget the registration, as a buggy driver might (tests kernel::perf)",
        },
    },
}

const TICK: Delta = Delta::from_millis(1);

kernel::pmu_attributes! {
    static ATTRS = {
        format: { "event" => "config:0-0" },
        events: {
            "ticks" => "event=0", unit "ms";
            "clock" => "event=1", unit "ns";
        },
    };
}

/// The counter: a 1 ms periodic timer bumping `ticks`.
#[pin_data]
struct Ticker {
    #[pin]
    timer: HrTimer<Self>,
    ticks: Atomic<u64>,
}

impl_has_hr_timer! {
    impl HasHrTimer<Self> for Ticker {
        mode: RelativeMode<Monotonic>, field: self.timer
    }
}

impl HrTimerCallback for Ticker {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, mut ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        this.ticks.fetch_add(1, Relaxed);
        ctx.forward_now(TICK);
        HrTimerRestart::Restart
    }
}

/// The PMU's state: the ticker and the handle that cancels its timer on drop.
struct PmuData {
    ticker: Arc<Ticker>,
    _timer: ArcHrTimerHandle<Ticker>,
}

impl PmuData {
    fn new() -> Result<Self> {
        let ticker = Arc::pin_init(
            pin_init!(Ticker {
                timer <- HrTimer::new(),
                ticks: Atomic::new(0),
            }),
            GFP_KERNEL,
        )?;
        let timer = ticker.clone().start(TICK);
        Ok(Self {
            ticker,
            _timer: timer,
        })
    }

    fn ticks(&self) -> u64 {
        self.ticker.ticks.load(Relaxed)
    }
}

/// What an event counts: its `config`.
enum Source {
    /// The timer's ticks (`event=0`).
    Ticks,
    /// The nanoseconds of the monotonic clock (`event=1`).
    Clock,
}

struct TickPmu;

#[vtable]
impl Operations for TickPmu {
    type Data = PmuData;
    type EventData = Source;

    fn event_init(_: &PmuData, event: &Event) -> Result<Source> {
        match event.config() {
            0 => Ok(Source::Ticks),
            1 => Ok(Source::Clock),
            _ => Err(ENOENT),
        }
    }

    // `add`, `del`, `start`, `stop` and `read` are the defaults: they count the progress of
    // the counter between `start` and `stop`, fold on every `stop` (throttling's too) and count
    // nothing while the event is stopped.
    fn counter(data: &PmuData, _: &Event, source: &Source) -> u64 {
        match source {
            Source::Ticks => data.ticks(),
            Source::Clock => kernel::perf::clock_ns(),
        }
    }
}

struct RustPmu {
    _pmu: Option<Registration<TickPmu>>,
}

impl kernel::Module for RustPmu {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let options = Options {
            name: c"rust_pmu",
            scope: if module_parameters::package.value() {
                Scope::Package
            } else {
                Scope::SystemWide
            },
            attributes: &ATTRS,
            parent: None,
            capabilities: Capabilities::empty(),
        };
        let pmu = Registration::new(options, PmuData::new()?)?;
        pr_info!("registered PMU rust_pmu, type {}\n", pmu.pmu_type());
        if module_parameters::forget_registration.value() {
            // Safe, and a bug: nothing unregisters the PMU when the module goes, so
            // `kernel::perf` does it then, with a warning.
            core::mem::forget(pmu);
            return Ok(Self { _pmu: None });
        }
        Ok(Self { _pmu: Some(pmu) })
    }
}
