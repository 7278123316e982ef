// SPDX-License-Identifier: GPL-2.0

//! The GT's perf PMU: i915's events, counted from the GT's lock-free counters.
//!
//! No callback checks whether the device is still there: the PMU's [`Registration`] lives in
//! the driver data, and dropping it at unbind takes every event off through `del`, which folds
//! its final count, before the driver's data goes.
//!
//! [`Registration`]: kernel::perf::Registration

use crate::{events::Counter, gt::Gt};
use kernel::{
    perf::{Event, EventFlags, HwState, Operations},
    prelude::*,
    sync::Arc,
};

/// The PMU of one GT.
pub(crate) struct GtPmu;

#[vtable]
impl Operations for GtPmu {
    type Data = Arc<Gt>;
    type EventData = Counter;

    fn event_init(_gt: &Arc<Gt>, event: &Event) -> Result<Counter> {
        Counter::from_config(event.config()).ok_or(ENOENT)
    }

    fn add(gt: &Arc<Gt>, event: &Event, counter: &Counter, flags: EventFlags) -> Result {
        event.set_hw_state(HwState::STOPPED | HwState::UPTODATE);
        if flags.contains(EventFlags::START) {
            Self::start(gt, event, counter, flags);
        }
        Ok(())
    }

    fn del(gt: &Arc<Gt>, event: &Event, counter: &Counter, _flags: EventFlags) {
        Self::stop(gt, event, counter, EventFlags::UPDATE);
    }

    fn start(gt: &Arc<Gt>, event: &Event, counter: &Counter, _flags: EventFlags) {
        if counter.needs_sampling() {
            gt.set_sampling(true);
        }
        event.set_prev_count(gt.read(*counter));
        event.set_hw_state(HwState::RUNNING);
    }

    fn stop(gt: &Arc<Gt>, event: &Event, counter: &Counter, _flags: EventFlags) {
        if event.hw_state().contains(HwState::STOPPED) {
            return;
        }
        // Every stop folds, also the `stop(0)` of throttling: the counters run on regardless.
        Self::read(gt, event, counter);
        if counter.needs_sampling() {
            gt.set_sampling(false);
        }
        event.set_hw_state(HwState::STOPPED | HwState::UPTODATE);
    }

    fn read(gt: &Arc<Gt>, event: &Event, counter: &Counter) {
        // `read` may come on another CPU before `start` or after `stop`.
        if !event.hw_state().contains(HwState::STOPPED) {
            event.update_count_monotonic(|| gt.read(*counter));
        }
    }
}
