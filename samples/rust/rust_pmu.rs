// SPDX-License-Identifier: GPL-2.0

//! Rust PMU sample: a software perf PMU counting the ticks of a 1 ms timer.
//!
//! ```text
//! # modprobe rust_pmu
//! # perf stat -a -e rust_pmu/ticks/ -I 1000
//! # rmmod rust_pmu        # while perf runs: perf keeps its final count
//! ```
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
    description: "Rust PMU sample: a software PMU counting timer ticks",
    license: "GPL",
    params: {
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
        events: { "ticks" => "event=0", unit "ms" },
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

struct TickPmu;

#[vtable]
impl Operations for TickPmu {
    type Data = PmuData;
    type EventData = ();

    fn event_init(_: &PmuData, event: &Event) -> Result {
        if event.config() != 0 {
            return Err(ENOENT);
        }
        Ok(())
    }

    // `add`, `del`, `start`, `stop` and `read` are the defaults: they count the ticks between
    // `start` and `stop`, fold on every `stop` (throttling's too) and count nothing while the
    // event is stopped.
    fn counter(data: &PmuData, _: &Event, (): &()) -> u64 {
        data.ticks()
    }
}

struct RustPmu {
    _pmu: Option<Registration<TickPmu>>,
}

impl kernel::Module for RustPmu {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let options = Options {
            name: c"rust_pmu",
            scope: Scope::SystemWide,
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
