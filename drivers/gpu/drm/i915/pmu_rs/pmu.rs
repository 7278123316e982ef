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
    perf::{Event, Operations},
    prelude::*,
    sync::Arc,
};

/// The PMU of one GT.
pub(crate) struct GtPmu;

/// An event of the PMU: its counter and, for a frequency counter, the GT's frequency sampling,
/// on for as long as the event exists.
pub(crate) struct GtEvent {
    counter: Counter,
    _sampling: Option<Sampling>,
}

/// Keeps the GT's tick sampling the frequency until dropped.
struct Sampling(Arc<Gt>);

impl Sampling {
    fn new(gt: &Arc<Gt>) -> Self {
        gt.set_sampling(true);
        Self(gt.clone())
    }
}

impl Drop for Sampling {
    fn drop(&mut self) {
        self.0.set_sampling(false);
    }
}

// `add`, `del`, `start`, `stop` and `read` are the defaults: they fold the counter's progress
// between `start` and `stop` (every `stop`, throttling's too), and count nothing while the
// event is stopped.
#[vtable]
impl Operations for GtPmu {
    type Data = Arc<Gt>;
    type EventData = GtEvent;

    fn event_init(gt: &Arc<Gt>, event: &Event) -> Result<GtEvent> {
        let counter = Counter::from_config(event.config()).ok_or(ENOENT)?;
        Ok(GtEvent {
            counter,
            _sampling: counter.needs_sampling().then(|| Sampling::new(gt)),
        })
    }

    fn counter(gt: &Arc<Gt>, _event: &Event, event: &GtEvent) -> u64 {
        gt.read(event.counter)
    }
}
