// SPDX-License-Identifier: GPL-2.0

//! The GT: two engines on the edu device, their job queues, parking and the 200 Hz tick.
//!
//! `rcs0` runs each unit of a job as one factorial on the device, `bcs0` as one 1 KiB DMA
//! transfer from RAM into the device; both complete by interrupt. Every state change happens
//! under [`Gt::state`] and updates the residencies the PMU reads without a lock.

use crate::events::{
    next_frequency, Counter, Engine, FrequencyCounter, Other, Residency, Sample, Submission,
    MIN_MHZ,
};
use core::fmt;
use kernel::{
    dma::{CoherentHandle, DmaAddress},
    impl_has_hr_timer,
    io::Io,
    irq::{self, IrqReturn},
    new_mutex, new_spinlock_irq, pci, perf,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, ArcBorrow, Mutex, SpinLockIrq,
    },
    time::{
        delay::fsleep,
        hrtimer::{
            ArcHrTimerHandle, HrTimer, HrTimerCallback, HrTimerCallbackContext, HrTimerPointer,
            HrTimerRestart, RelativeMode,
        },
        Delta, Monotonic,
    },
};

/// The registers of QEMU's edu device (QEMU's `docs/specs/edu.rst`).
pub(crate) mod regs {
    pub(crate) const ID: usize = 0x00;
    pub(crate) const LIVENESS: usize = 0x04;
    pub(crate) const FACTORIAL: usize = 0x08;
    pub(crate) const STATUS: usize = 0x20;
    pub(crate) const IRQ_STATUS: usize = 0x24;
    pub(crate) const IRQ_ACK: usize = 0x64;
    pub(crate) const DMA_SRC: usize = 0x80;
    pub(crate) const DMA_DST: usize = 0x88;
    pub(crate) const DMA_COUNT: usize = 0x90;
    pub(crate) const DMA_CMD: usize = 0x98;
    /// The mapping covers every register.
    pub(crate) const END: usize = 0x100;

    /// `ID`: the low byte identifies an edu device.
    pub(crate) const ID_MAGIC: u32 = 0xed;
    /// `STATUS`: raise interrupt 0x1 when a factorial is done.
    pub(crate) const STATUS_IRQ_FACTORIAL: u32 = 0x80;
    /// `IRQ_STATUS` bits.
    pub(crate) const IRQ_FACTORIAL: u32 = 0x1;
    pub(crate) const IRQ_DMA: u32 = 0x100;
    /// `DMA_CMD`: start, RAM to device, interrupt 0x100 when done.
    pub(crate) const DMA_START_IRQ: u32 = 0x1 | 0x4;
    /// The device's DMA buffer, in device address space.
    pub(crate) const DMA_BUFFER: u32 = 0x40000;
    pub(crate) const DMA_SIZE: usize = 4096;
    /// One transfer. QEMU 7.2's edu aborts the VM on a transfer of all 4 KiB (its range check
    /// is off by one), so a unit of work moves 1 KiB.
    pub(crate) const DMA_UNIT: u32 = 1024;

    /// Which engines' units an `IRQ_STATUS` reading says are done, `[rcs0, bcs0]`, or `None`
    /// if the reading is no interrupt of this device: 0 (none pending, the interrupt of a
    /// device sharing the line, or QEMU's answer while memory decoding is off) or all-ones,
    /// what a read of a device that has gone off the bus returns on real hardware. A driver
    /// that took all-ones for a status would count interrupts and finish units that never ran.
    pub(crate) fn completed(status: u32) -> Option<[bool; 2]> {
        if status == 0 || status == u32::MAX {
            return None;
        }
        Some([status & IRQ_FACTORIAL != 0, status & IRQ_DMA != 0])
    }
}

type Bar<'a> = pci::Bar<'a, { regs::END }>;

/// The period of the GT's tick: i915's PMU sampling rate, 200 Hz.
const TICK: Delta = Delta::from_millis(5);
/// How long the GT stays awake with nothing to do.
const PARK_DELAY_NS: u64 = 20_000_000;
/// The jobs an engine may have queued.
const MAX_QUEUED: usize = 64;
/// What each `rcs0` unit computes.
const FACTORIAL_N: u32 = 12;

#[derive(Clone, Copy)]
struct Job {
    seqno: u64,
    units: u32,
    /// The engine and seqno this job waits for.
    after: Option<(Engine, u64)>,
}

struct EngineQueue {
    queued: KVec<Job>,
    running: Option<Job>,
    submitted: u64,
    completed: u64,
}

struct State {
    engines: [EngineQueue; 2],
    awake: bool,
    /// When the last engine went idle.
    idle_since: u64,
    /// When the tick last sampled the frequency.
    last_tick: u64,
    /// The governor's frequency, in MHz.
    freq: u32,
    /// Set by [`Gt::quiesce`]: no new work starts on the device.
    stopped: bool,
}

impl State {
    /// Whether a unit of work is in flight on an engine.
    fn running(&self) -> bool {
        self.engines.iter().any(|q| q.running.is_some())
    }
}

/// The GT and its counters.
///
/// # Invariants
///
/// The tick runs only while `state.awake`; its handle is in `tick_handle` (process context
/// only), and the last handle is dropped by [`Gt::quiesce`].
#[pin_data]
pub(crate) struct Gt {
    bar: pci::DevresBar<{ regs::END }>,
    dma: CoherentHandle,
    #[pin]
    state: SpinLockIrq<State>,
    #[pin]
    tick: HrTimer<Gt>,
    #[pin]
    tick_handle: Mutex<Option<ArcHrTimerHandle<Gt>>>,
    busy: [Residency; 2],
    wait: [Residency; 2],
    sema: [Residency; 2],
    rc6: Residency,
    awake: Residency,
    interrupts: Atomic<u64>,
    actual: FrequencyCounter,
    requested: FrequencyCounter,
    /// Open events that need the frequency sampled.
    sampling: Atomic<u32>,
}

impl_has_hr_timer! {
    impl HasHrTimer<Self> for Gt {
        mode: RelativeMode<Monotonic>, field: self.tick
    }
}

impl Gt {
    pub(crate) fn new(bar: pci::DevresBar<{ regs::END }>, dma: CoherentHandle) -> Result<Arc<Gt>> {
        let idle = || EngineQueue {
            queued: KVec::new(),
            running: None,
            submitted: 0,
            completed: 0,
        };
        let gt = Arc::pin_init(
            pin_init!(Gt {
                bar,
                dma,
                state <- new_spinlock_irq!(State {
                    engines: [idle(), idle()],
                    awake: false,
                    idle_since: 0,
                    last_tick: 0,
                    freq: MIN_MHZ,
                    stopped: false,
                }),
                tick <- HrTimer::new(),
                tick_handle <- new_mutex!(None),
                busy: [Residency::new(), Residency::new()],
                wait: [Residency::new(), Residency::new()],
                sema: [Residency::new(), Residency::new()],
                rc6: Residency::new(),
                awake: Residency::new(),
                interrupts: Atomic::new(0),
                actual: FrequencyCounter::new(),
                requested: FrequencyCounter::new(),
                sampling: Atomic::new(0),
            }),
            GFP_KERNEL,
        )?;
        // The GT starts parked.
        gt.rc6.set(true, perf::clock_ns());
        Ok(gt)
    }

    /// The value of a PMU counter now. Lock-free: callable from any perf callback. A reading
    /// may be slightly below an earlier one (see [`Residency`]); the PMU's default callbacks
    /// fold it with [`kernel::perf::Event::update_count_monotonic`].
    pub(crate) fn read(&self, counter: Counter) -> u64 {
        let now = perf::clock_ns();
        match counter {
            Counter::Engine(e, Sample::Busy) => self.busy[e as usize].read(now),
            Counter::Engine(e, Sample::Wait) => self.wait[e as usize].read(now),
            Counter::Engine(e, Sample::Sema) => self.sema[e as usize].read(now),
            Counter::Other(Other::ActualFrequency) => self.actual.read(),
            Counter::Other(Other::RequestedFrequency) => self.requested.read(),
            Counter::Other(Other::Interrupts) => self.interrupts.load(Relaxed),
            Counter::Other(Other::Rc6Residency) => self.rc6.read(now),
            Counter::Other(Other::AwakeTime) => self.awake.read(now),
        }
    }

    /// An event that needs the frequency sampled was created (`true`) or dropped.
    pub(crate) fn set_sampling(&self, on: bool) {
        if on {
            self.sampling.fetch_add(1, Relaxed);
        } else {
            self.sampling.fetch_sub(1, Relaxed);
        }
    }

    /// Queues a job; wakes the GT if it is parked. Process context.
    pub(crate) fn submit(this: &Arc<Gt>, sub: Submission) -> Result {
        // Serialises submitters, and with them the tick's (re)start.
        let mut tick = this.tick_handle.lock();
        let unparked = {
            let bar = this.bar.try_access().ok_or(ENODEV)?;
            let now = perf::clock_ns();
            let mut guard = this.state.lock();
            let st = &mut *guard;
            if st.stopped {
                return Err(ENODEV);
            }
            let after = sub.after.and_then(|o| {
                let q = &st.engines[o as usize];
                (q.submitted > q.completed).then_some((o, q.submitted))
            });
            let q = &mut st.engines[sub.engine as usize];
            if q.queued.len() >= MAX_QUEUED {
                return Err(EBUSY);
            }
            let job = Job {
                seqno: q.submitted + 1,
                units: sub.units,
                after,
            };
            q.queued.push(job, GFP_ATOMIC)?;
            q.submitted = job.seqno;
            let unparked = !st.awake;
            if unparked {
                st.awake = true;
                st.last_tick = now;
                st.freq = MIN_MHZ;
                this.awake.set(true, now);
                this.rc6.set(false, now);
            }
            this.schedule(&bar, st, now);
            unparked
        };
        if unparked {
            // The tick of the last awake period has stopped by itself (it parked the GT);
            // dropping its handle waits for its callback to return.
            drop(tick.take());
            *tick = Some(this.clone().start(TICK));
        }
        Ok(())
    }

    /// Handles the device's interrupt: a unit of work completed. Hard IRQ context.
    fn handle_irq(&self) -> IrqReturn {
        let Some(bar) = self.bar.try_access() else {
            return IrqReturn::None;
        };
        let status = bar.read32(regs::IRQ_STATUS);
        let Some(done) = regs::completed(status) else {
            return IrqReturn::None;
        };
        bar.write32(status, regs::IRQ_ACK);
        self.interrupts.fetch_add(1, Relaxed);
        let now = perf::clock_ns();
        let mut st = self.state.lock();
        for e in Engine::ALL {
            if done[e as usize] {
                self.unit_done(&bar, &mut st, e);
            }
        }
        self.schedule(&bar, &mut st, now);
        IrqReturn::Handled
    }

    /// One unit of the running job of `e` is done: start the next unit, or retire the job.
    /// Once the GT is stopped, the rest of the job is dropped.
    fn unit_done(&self, bar: &Bar<'_>, st: &mut State, e: Engine) {
        let stopped = st.stopped;
        let q = &mut st.engines[e as usize];
        let Some(job) = q.running.as_mut() else {
            return;
        };
        job.units -= 1;
        if job.units == 0 {
            q.completed = job.seqno;
            q.running = None;
        } else if stopped {
            q.running = None;
        } else {
            self.start_unit(bar, e);
        }
    }

    /// Starts one unit of work on an engine; its interrupt follows.
    fn start_unit(&self, bar: &Bar<'_>, e: Engine) {
        match e {
            Engine::Rcs0 => bar.write32(FACTORIAL_N, regs::FACTORIAL),
            Engine::Bcs0 => {
                // The 28-bit DMA mask keeps the address below 4 GiB: the device takes 32-bit
                // writes to its 64-bit DMA registers.
                let src: DmaAddress = self.dma.dma_address();
                bar.write32(src as u32, regs::DMA_SRC);
                bar.write32(regs::DMA_BUFFER, regs::DMA_DST);
                bar.write32(regs::DMA_UNIT, regs::DMA_COUNT);
                bar.write32(regs::DMA_START_IRQ, regs::DMA_CMD);
            }
        }
    }

    /// Starts the next job on every idle engine whose semaphore is signalled, then brings the
    /// residencies up to date.
    fn schedule(&self, bar: &Bar<'_>, st: &mut State, now: u64) {
        let completed = [st.engines[0].completed, st.engines[1].completed];
        let ready = |j: &Job| {
            j.after
                .is_none_or(|(o, seqno)| completed[o as usize] >= seqno)
        };
        let mut idle = true;
        for e in Engine::ALL {
            let i = e as usize;
            let q = &mut st.engines[i];
            if q.running.is_none() && q.queued.first().is_some_and(ready) {
                if let Ok(job) = q.queued.remove(0) {
                    q.running = Some(job);
                    self.start_unit(bar, e);
                }
            }
            let running = q.running.is_some();
            // Not running with work queued: the next job waits on its semaphore (a job that
            // is ready has just been started). As in i915, an engine that waits on a
            // semaphore is busy: `sema` is part of `busy`.
            let sema = !running && !q.queued.is_empty();
            self.busy[i].set(running || sema, now);
            self.wait[i].set(running && !q.queued.is_empty(), now);
            self.sema[i].set(sema, now);
            idle &= !running && q.queued.is_empty();
        }
        if idle && st.idle_since == 0 {
            st.idle_since = now;
        } else if !idle {
            st.idle_since = 0;
        }
    }

    /// The tick: governor, frequency sampling and parking. Hard IRQ context.
    fn tick(&self) -> bool {
        let now = perf::clock_ns();
        let mut st = self.state.lock();
        let period = now.saturating_sub(st.last_tick);
        st.last_tick = now;
        if self.sampling.load(Relaxed) > 0 {
            // The actual frequency is the requested one while the GT is awake.
            self.requested.add_sample(st.freq, period);
            self.actual.add_sample(st.freq, period);
        }
        let busy = st.engines.iter().filter(|q| q.running.is_some()).count();
        st.freq = next_frequency(st.freq, busy as u32);
        if st.idle_since != 0 && now.saturating_sub(st.idle_since) >= PARK_DELAY_NS {
            st.awake = false;
            self.awake.set(false, now);
            self.rc6.set(true, now);
            return false;
        }
        true
    }

    /// Stops the GT for unbind, after the submission interface is gone and while the interrupt
    /// handler is still registered: stops the tick, drops the queued work, lets the unit in
    /// flight on each engine complete by interrupt, then stops the device from raising any.
    /// Freeing the vector with a unit still running would leave its completion to the legacy
    /// interrupt line, which nobody handles. Bounded: a device that has gone away answers
    /// all-ones and never completes. Process context.
    pub(crate) fn quiesce(&self) {
        drop(self.tick_handle.lock().take());
        {
            let mut st = self.state.lock();
            st.stopped = true;
            for q in &mut st.engines {
                q.queued.clear();
            }
        }
        for _ in 0..50 {
            let running = self.state.lock().running();
            if !running {
                break;
            }
            fsleep(Delta::from_millis(10));
        }
        if let Some(bar) = self.bar.try_access() {
            bar.write32(0, regs::STATUS);
            let status = bar.read32(regs::IRQ_STATUS);
            if regs::completed(status).is_some() {
                bar.write32(status, regs::IRQ_ACK);
            }
        }
    }
}

impl HrTimerCallback for Gt {
    type Pointer<'a> = Arc<Gt>;

    fn run(this: ArcBorrow<'_, Gt>, mut ctx: HrTimerCallbackContext<'_, Gt>) -> HrTimerRestart {
        if this.tick() {
            ctx.forward_now(TICK);
            HrTimerRestart::Restart
        } else {
            HrTimerRestart::NoRestart
        }
    }
}

/// The interrupt handler: the GT it completes work for.
pub(crate) struct IrqHandler(pub(crate) Arc<Gt>);

impl irq::Handler for IrqHandler {
    fn handle(&self) -> IrqReturn {
        self.0.handle_irq()
    }
}

/// The `engines` debugfs file: one line per engine, then the GT.
pub(crate) fn show(gt: &Arc<Gt>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (engines, awake, freq) = {
        let st = gt.state.lock();
        let e = |q: &EngineQueue| {
            (
                q.submitted,
                q.completed,
                q.queued.len() + usize::from(q.running.is_some()),
            )
        };
        ([e(&st.engines[0]), e(&st.engines[1])], st.awake, st.freq)
    };
    for (e, (submitted, completed, pending)) in Engine::ALL.into_iter().zip(engines) {
        writeln!(
            f,
            "{} submitted {} completed {} pending {} busy_ns {}",
            e.name(),
            submitted,
            completed,
            pending,
            gt.read(Counter::Engine(e, Sample::Busy))
        )?;
    }
    writeln!(
        f,
        "gt awake {} freq_mhz {} interrupts {}",
        u8::from(awake),
        freq,
        gt.interrupts.load(Relaxed)
    )
}

/// The `submit` debugfs file: one [`Submission`] per write.
pub(crate) fn write_submit(gt: &Arc<Gt>, reader: &mut kernel::uaccess::UserSliceReader) -> Result {
    let mut buf = [0u8; 64];
    let n = reader.len();
    if n > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    Gt::submit(gt, Submission::parse(&buf[..n])?)
}
