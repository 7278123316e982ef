// SPDX-License-Identifier: GPL-2.0

//! An i915-style perf PMU, in Rust, on QEMU's educational `edu` PCI device.
//!
//! The device is modelled as a small GPU "GT" with a render engine (`rcs0`, the factorial unit)
//! and a copy engine (`bcs0`, the DMA engine). Jobs are submitted through debugfs
//! (`/sys/kernel/debug/i915rs_<slot>/submit`), run on the device and complete by interrupt.
//! The PMU `i915rs_<slot>` has i915's event names, units and config encoding.
//!
//! The device can be unbound, hot-unplugged or the module removed while `perf stat` runs: the
//! PMU's [`perf::Registration`] is dropped with the driver data, which folds the final counts
//! into the open events and leaves them on stubs in the kernel. Nothing here checks whether
//! the device is still registered.
//!
//! See `Documentation/rust/i915-pmu-rs.rst`.

use kernel::{
    debugfs,
    device::Core,
    dma::{CoherentHandle, Device as _, DmaMask},
    fmt,
    io::Io,
    irq, pci, perf,
    prelude::*,
    str::CString,
    sync::Arc,
};

mod events;
mod gt;
mod pmu;

use gt::{regs, Gt, IrqHandler};

/// The driver data of one bound edu device.
///
/// Fields drop in declaration order, which is the order of unbind: the PMU first (final counts
/// folded in, events left on stubs), then the submission interface, then the GT stops (its
/// tick, and the device's work and interrupts, which the handler still sees through), and
/// last the interrupt handler and its vector.
#[pin_data]
struct EduGt<'bound> {
    _pmu: perf::Registration<pmu::GtPmu>,
    #[pin]
    _submit: debugfs::File<Arc<Gt>>,
    #[pin]
    _engines: debugfs::File<Arc<Gt>>,
    _dir: debugfs::Dir,
    _gt: Quiesce,
    #[pin]
    _irq: irq::Registration<'bound, IrqHandler>,
    vectors: pci::IrqVectorRegistration<'bound>,
}

/// Stops the GT when the driver data goes, after everything that could start work on it.
struct Quiesce(Arc<Gt>);

impl Drop for Quiesce {
    fn drop(&mut self) {
        self.0.quiesce();
    }
}

struct EduDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    <EduDriver as pci::Driver>::IdInfo,
    [(pci::DeviceId::from_id(pci::Vendor::QEMU, 0x11e8), ())]
);

/// A PCI device name with each `:` (reserved by perf tools) written as `_`.
struct PmuSafe<'a>(&'a str);

impl fmt::Display for PmuSafe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.0.split(':').enumerate() {
            if i > 0 {
                f.write_str("_")?;
            }
            f.write_str(part)?;
        }
        Ok(())
    }
}

/// `i915rs_` and the PCI slot, e.g. `i915rs_0000_01_00.0`.
fn pmu_name(pdev: &pci::Device) -> Result<CString> {
    let slot = pdev.as_ref().name().to_str().map_err(|_| EINVAL)?;
    CString::try_from_fmt(fmt!("i915rs_{}", PmuSafe(slot)))
}

/// Checks that the device is an edu device and alive.
fn identify(bar: &pci::Bar<'_, { regs::END }>) -> Result {
    let id = bar.read32(regs::ID);
    if id & 0xff != regs::ID_MAGIC {
        return Err(ENODEV);
    }
    let probe = 0x5a5a_c3c3;
    bar.write32(probe, regs::LIVENESS);
    if bar.read32(regs::LIVENESS) != !probe {
        return Err(EIO);
    }
    bar.write32(regs::STATUS_IRQ_FACTORIAL, regs::STATUS);
    Ok(())
}

impl pci::Driver for EduDriver {
    type IdInfo = ();
    type Data<'bound> = EduGt<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            pdev.enable_device_mem()?;
            pdev.set_master();
            let bar = pdev.iomap_region_sized::<{ regs::END }>(0, c"i915_pmu_rs")?;
            identify(&bar).inspect_err(|e| {
                dev_err!(pdev, "not a live edu device ({:?})\n", e);
            })?;
            // SAFETY: Nothing allocates or maps DMA memory for this device concurrently: probe
            // has not allocated any yet.
            unsafe { pdev.dma_set_mask_and_coherent(DmaMask::new::<28>())? };
            let dma = CoherentHandle::alloc(pdev.as_ref(), regs::DMA_SIZE, GFP_KERNEL)?;
            // Quiesced however probe ends from here: a failed probe stops what it started.
            let gt = Quiesce(Gt::new(bar.into_devres()?, dma)?);
            let name = pmu_name(pdev)?;
            let dir = debugfs::Dir::new(&name);

            Ok(try_pin_init!(EduGt {
                vectors: pdev.alloc_irq_vectors(1, 1, pci::IrqTypes::all())?,
                // SAFETY: `irq::Registration::new()` must not be forgotten: it is dropped with
                // the driver data at unbind, never leaked. Its vector borrows `vectors`, a
                // sibling field, for `'bound`, which pin-init cannot express (the driver data
                // would borrow itself), hence the reborrow through a raw pointer: `vectors` is
                // initialised before this expression is evaluated, lives at a pinned address
                // with the driver data until unbind (`'bound`), and is dropped after `_irq`
                // (field order).
                _irq <- unsafe {
                    let vectors: &'bound pci::IrqVectorRegistration<'bound> =
                        &*core::ptr::from_ref(vectors);
                    irq::Registration::new(
                        vectors.index(0)?.into(),
                        irq::Flags::SHARED,
                        c"i915_pmu_rs",
                        Ok::<_, Error>(IrqHandler(gt.0.clone())),
                    )
                },
                _pmu: {
                    let options = perf::Options {
                        name: &name,
                        scope: perf::Scope::SystemWide,
                        attributes: &events::ATTRS,
                        parent: Some(pdev.as_ref()),
                        // Like i915: counting only, no exclude_* bits.
                        capabilities: perf::Capabilities::empty(),
                    };
                    let pmu = perf::Registration::new(options, gt.0.clone())?;
                    dev_info!(pdev, "PMU {} registered, type {}\n", &*name, pmu.pmu_type());
                    pmu
                },
                _engines <- dir.read_callback_file(
                    c"engines",
                    Ok::<_, Error>(gt.0.clone()),
                    &gt::show,
                ),
                _submit <- dir.write_callback_file(
                    c"submit",
                    Ok::<_, Error>(gt.0.clone()),
                    &gt::write_submit,
                ),
                _dir: dir,
                _gt: gt,
            }))
        })
    }
}

kernel::module_pci_driver! {
    type: EduDriver,
    name: "i915_pmu_rs",
    authors: ["pmu-rs developers"],
    description: "i915-style perf PMU in Rust on QEMU's edu device",
    license: "GPL",
}
