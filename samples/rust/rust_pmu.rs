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
    perf::{Capabilities, Event, EventFlags, HwState, Operations, Options, Registration, Scope},
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

    fn add(data: &PmuData, event: &Event, (): &(), flags: EventFlags) -> Result {
        event.set_hw_state(HwState::STOPPED | HwState::UPTODATE);
        if flags.contains(EventFlags::START) {
            Self::start(data, event, &(), flags);
        }
        Ok(())
    }

    fn del(data: &PmuData, event: &Event, (): &(), _: EventFlags) {
        Self::stop(data, event, &(), EventFlags::UPDATE);
    }

    fn start(data: &PmuData, event: &Event, (): &(), _: EventFlags) {
        event.set_prev_count(data.ticks());
        event.set_hw_state(HwState::RUNNING);
    }

    fn stop(data: &PmuData, event: &Event, (): &(), _: EventFlags) {
        if event.hw_state().contains(HwState::STOPPED) {
            return;
        }
        // A free-running counter: folding is cheap and loses nothing, so fold on every stop,
        // also the `stop(0)` of throttling, not only on `EventFlags::UPDATE`.
        event.update_count(|| data.ticks());
        event.set_hw_state(HwState::STOPPED | HwState::UPTODATE);
    }

    fn read(data: &PmuData, event: &Event, (): &()) {
        // `read` may come on another CPU before `start` or after `stop`: count only while
        // counting.
        if !event.hw_state().contains(HwState::STOPPED) {
            event.update_count(|| data.ticks());
        }
    }
}

struct RustPmu {
    _pmu: Registration<TickPmu>,
}

impl kernel::Module for RustPmu {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let options = Options {
            name: c"rust_pmu",
            scope: Scope::SystemWide,
            attributes: &ATTRS,
            parent: None,
            capabilities: Capabilities::NONE,
        };
        let pmu = Registration::new(options, PmuData::new()?)?;
        pr_info!("registered PMU rust_pmu, type {}\n", pmu.pmu_type());
        Ok(Self { _pmu: pmu })
    }
}
