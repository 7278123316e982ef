// SPDX-License-Identifier: GPL-2.0
/*
 * BASELINE FOR BENCHMARKS ONLY - not a driver to ship.
 *
 * The C twin of i915_pmu_rs's PMU, written the way upstream's C GPU PMUs are
 * today (drivers/gpu/drm/i915/i915_pmu.c, drivers/gpu/drm/xe/xe_pmu.c): a
 * "registered" flag checked in every callback, a reference on the driver's
 * object per event, perf_pmu_unregister() at remove, and no final count at
 * unbind. It binds to QEMU's edu device like i915_pmu_rs and has the same
 * events, config encoding and counter arithmetic (lock-free residencies
 * and an interrupt count), so that perf_unbind_bench can compare the cost
 * of the Rust abstractions with it in one boot. It runs no work: its
 * counters hold what an idle GT would show. It holds the device resources
 * i915_pmu_rs holds (the BAR, a DMA buffer, an MSI vector with a handler, a
 * debugfs directory) and gives them back at unbind in the same order, so
 * that the bench's unbind times compare like with like.
 *
 * With count_disables=1 it also counts its pmu_disable() calls (debugfs
 * pmu_disables), for perf_unbind's test of what the tick's unthrottling
 * costs an idle PMU without interrupts; the bench loads it without.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/kref.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/perf_event.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

/*
 * The time spent in one state, as Residency in i915_pmu_rs/events.rs: read
 * without a lock, so a reading may lag an earlier one; the event read clamps.
 */
struct residency {
	atomic64_t total;
	atomic64_t since;
};

static void residency_set(struct residency *r, bool on, u64 now)
{
	u64 since = atomic64_read(&r->since);

	if (on && !since) {
		atomic64_set_release(&r->since, now);
	} else if (!on && since) {
		atomic64_set_release(&r->since, 0);
		atomic64_add(now > since ? now - since : 0, &r->total);
	}
}

static u64 residency_read(struct residency *r, u64 now)
{
	u64 total = atomic64_read_acquire(&r->total);
	u64 since = atomic64_read_acquire(&r->since);

	return since ? total + (now > since ? now - since : 0) : total;
}

enum { RCS0, BCS0, NR_ENGINES };
enum { BUSY, WAIT, SEMA };
enum { ACTUAL_FREQ, REQUESTED_FREQ, INTERRUPTS, RC6, AWAKE, NR_OTHER };

#define OTHER_BASE 0x100000ULL

/* edu registers, as in i915_pmu_rs/gt.rs. */
#define EDU_STATUS		0x20
#define EDU_STATUS_IRQ_FACT	0x80
#define EDU_IRQ_STATUS		0x24
#define EDU_IRQ_ACK		0x64
#define EDU_DMA_SIZE		4096

struct twin {
	struct pmu base;
	struct kref ref;
	bool registered;
	char name[32];
	void __iomem *regs;
	struct pci_dev *pdev;
	struct dentry *dir;
	struct residency engine[NR_ENGINES][3];
	struct residency rc6, awake;
	atomic64_t interrupts, actual, requested;
	atomic_t pmu_disables;
};

static bool count_disables;
module_param(count_disables, bool, 0444);
MODULE_PARM_DESC(count_disables, "count pmu_disable() calls in debugfs pmu_disables");

static struct twin *to_twin(struct perf_event *event)
{
	return container_of(event->pmu, struct twin, base);
}

/* perf_pmu_disable() calls this when the PMU's disable count on a CPU leaves 0. */
static void twin_pmu_disable(struct pmu *pmu)
{
	atomic_inc(&container_of(pmu, struct twin, base)->pmu_disables);
}

/* perf_pmu_register() replaces a lone pmu_disable with its no-op: both are set. */
static void twin_pmu_enable(struct pmu *pmu)
{
}

static void twin_free(struct kref *ref)
{
	kfree(container_of(ref, struct twin, ref));
}

/* i915's config encoding: class << 12 | instance << 4 | sample, others from 0x100000. */
static int twin_decode(u64 config)
{
	if (config >= OTHER_BASE)
		return config - OTHER_BASE < NR_OTHER ? 0 : -ENOENT;
	if ((config & 0xf) > SEMA || (config & ~0xfULL) > 0x1000 || (config & 0xff0))
		return -ENOENT;
	return 0;
}

static u64 twin_counter(struct twin *t, u64 config)
{
	u64 now = ktime_get_mono_fast_ns();

	if (config >= OTHER_BASE) {
		switch (config - OTHER_BASE) {
		case ACTUAL_FREQ:
			return atomic64_read(&t->actual) / 1000000;
		case REQUESTED_FREQ:
			return atomic64_read(&t->requested) / 1000000;
		case INTERRUPTS:
			return atomic64_read(&t->interrupts);
		case RC6:
			return residency_read(&t->rc6, now);
		default:
			return residency_read(&t->awake, now);
		}
	}
	return residency_read(&t->engine[config >> 12][config & 0xf], now);
}

static void twin_event_destroy(struct perf_event *event)
{
	kref_put(&to_twin(event)->ref, twin_free);
}

static int twin_event_init(struct perf_event *event)
{
	struct twin *t = to_twin(event);
	int ret;

	if (!t->registered)
		return -ENODEV;
	if (event->attr.type != event->pmu->type)
		return -ENOENT;
	if (is_sampling_event(event))
		return -EINVAL;
	if (has_branch_stack(event))
		return -EOPNOTSUPP;
	if (event->cpu < 0)
		return -EINVAL;
	ret = twin_decode(event->attr.config);
	if (ret)
		return ret;
	kref_get(&t->ref);
	event->destroy = twin_event_destroy;
	return 0;
}

static void twin_event_read(struct perf_event *event)
{
	struct twin *t = to_twin(event);
	struct hw_perf_event *hwc = &event->hw;
	u64 prev, new;

	if (!t->registered) {
		event->hw.state = PERF_HES_STOPPED;
		return;
	}
	/* A lagging reading counts nothing (Event::update_count_monotonic). */
	prev = local64_read(&hwc->prev_count);
	do {
		new = max(twin_counter(t, event->attr.config), prev);
	} while (!local64_try_cmpxchg(&hwc->prev_count, &prev, new));
	local64_add(new - prev, &event->count);
}

static void twin_event_start(struct perf_event *event, int flags)
{
	struct twin *t = to_twin(event);

	if (!t->registered)
		return;
	local64_set(&event->hw.prev_count, twin_counter(t, event->attr.config));
	event->hw.state = 0;
}

static void twin_event_stop(struct perf_event *event, int flags)
{
	struct twin *t = to_twin(event);

	if (!t->registered)
		goto out;
	if (flags & PERF_EF_UPDATE)
		twin_event_read(event);
out:
	event->hw.state = PERF_HES_STOPPED;
}

static int twin_event_add(struct perf_event *event, int flags)
{
	struct twin *t = to_twin(event);

	if (!t->registered)
		return -ENODEV;
	if (flags & PERF_EF_START)
		twin_event_start(event, flags);
	return 0;
}

static void twin_event_del(struct perf_event *event, int flags)
{
	twin_event_stop(event, PERF_EF_UPDATE);
}

/*
 * PMU_EVENT_ATTR_STRING() stringifies its name, which would keep the quotes
 * of a string literal in the file name; i915's names have dashes.
 */
#define TWIN_ATTR(var, _name, str)						\
	static struct perf_pmu_events_attr var = {				\
		.attr = { .attr = { .name = _name, .mode = 0444 },		\
			  .show = perf_event_sysfs_show },			\
		.event_str = str,						\
	}
#define TWIN_EVENT(var, name, cfg) TWIN_ATTR(twin_attr_##var, name, "config=" cfg)
#define TWIN_UNIT(var, name, unit) TWIN_ATTR(twin_unit_##var, name ".unit", unit)

TWIN_EVENT(rcs0_busy, "rcs0-busy", "0x0");
TWIN_EVENT(rcs0_wait, "rcs0-wait", "0x1");
TWIN_EVENT(rcs0_sema, "rcs0-sema", "0x2");
TWIN_EVENT(bcs0_busy, "bcs0-busy", "0x1000");
TWIN_EVENT(bcs0_wait, "bcs0-wait", "0x1001");
TWIN_EVENT(bcs0_sema, "bcs0-sema", "0x1002");
TWIN_EVENT(actual, "actual-frequency", "0x100000");
TWIN_EVENT(requested, "requested-frequency", "0x100001");
TWIN_EVENT(interrupts, "interrupts", "0x100002");
TWIN_EVENT(rc6, "rc6-residency", "0x100003");
TWIN_EVENT(awake, "software-gt-awake-time", "0x100004");
TWIN_UNIT(rcs0_busy, "rcs0-busy", "ns");
TWIN_UNIT(rcs0_wait, "rcs0-wait", "ns");
TWIN_UNIT(rcs0_sema, "rcs0-sema", "ns");
TWIN_UNIT(bcs0_busy, "bcs0-busy", "ns");
TWIN_UNIT(bcs0_wait, "bcs0-wait", "ns");
TWIN_UNIT(bcs0_sema, "bcs0-sema", "ns");
TWIN_UNIT(actual, "actual-frequency", "M");
TWIN_UNIT(requested, "requested-frequency", "M");
TWIN_UNIT(rc6, "rc6-residency", "ns");
TWIN_UNIT(awake, "software-gt-awake-time", "ns");

static struct attribute *twin_event_attrs[] = {
	&twin_attr_rcs0_busy.attr.attr, &twin_attr_rcs0_wait.attr.attr,
	&twin_attr_rcs0_sema.attr.attr, &twin_attr_bcs0_busy.attr.attr,
	&twin_attr_bcs0_wait.attr.attr, &twin_attr_bcs0_sema.attr.attr,
	&twin_attr_actual.attr.attr, &twin_attr_requested.attr.attr,
	&twin_attr_interrupts.attr.attr, &twin_attr_rc6.attr.attr,
	&twin_attr_awake.attr.attr,
	&twin_unit_rcs0_busy.attr.attr, &twin_unit_rcs0_wait.attr.attr,
	&twin_unit_rcs0_sema.attr.attr, &twin_unit_bcs0_busy.attr.attr,
	&twin_unit_bcs0_wait.attr.attr, &twin_unit_bcs0_sema.attr.attr,
	&twin_unit_actual.attr.attr, &twin_unit_requested.attr.attr,
	&twin_unit_rc6.attr.attr, &twin_unit_awake.attr.attr,
	NULL,
};

static const struct attribute_group twin_events_group = {
	.name = "events",
	.attrs = twin_event_attrs,
};

PMU_FORMAT_ATTR(i915_eventid, "config:0-20");

static struct attribute *twin_format_attrs[] = {
	&format_attr_i915_eventid.attr,
	NULL,
};

static const struct attribute_group twin_format_group = {
	.name = "format",
	.attrs = twin_format_attrs,
};

static const struct attribute_group *twin_attr_groups[] = {
	&twin_format_group,
	&twin_events_group,
	NULL,
};

static irqreturn_t twin_irq(int irq, void *arg)
{
	struct twin *t = arg;
	u32 status = readl(t->regs + EDU_IRQ_STATUS);

	if (!status)
		return IRQ_NONE;
	writel(status, t->regs + EDU_IRQ_ACK);
	atomic64_inc(&t->interrupts);
	return IRQ_HANDLED;
}

/* The device resources i915_pmu_rs holds, but the PMU's. */
static int twin_device_init(struct pci_dev *pdev, struct twin *t)
{
	dma_addr_t dma;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	t->regs = pcim_iomap_region(pdev, 0, "pmu_c_twin");
	if (IS_ERR(t->regs))
		return PTR_ERR(t->regs);
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(28));
	if (ret)
		return ret;
	if (!dmam_alloc_coherent(&pdev->dev, EDU_DMA_SIZE, &dma, GFP_KERNEL))
		return -ENOMEM;
	writel(EDU_STATUS_IRQ_FACT, t->regs + EDU_STATUS);
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_ALL_TYPES);
	if (ret < 0)
		return ret;
	ret = request_irq(pci_irq_vector(pdev, 0), twin_irq, IRQF_SHARED, "pmu_c_twin", t);
	if (ret) {
		pci_free_irq_vectors(pdev);
		return ret;
	}
	t->pdev = pdev;
	t->dir = debugfs_create_dir(t->name, NULL);
	debugfs_create_bool("registered", 0444, t->dir, &t->registered);
	if (count_disables)
		debugfs_create_atomic_t("pmu_disables", 0444, t->dir, &t->pmu_disables);
	return 0;
}

static void twin_device_fini(struct twin *t)
{
	debugfs_remove(t->dir);
	writel(0, t->regs + EDU_STATUS);
	free_irq(pci_irq_vector(t->pdev, 0), t);
	pci_free_irq_vectors(t->pdev);
}

static int twin_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct twin *t;
	int ret;

	t = kzalloc_obj(*t);
	if (!t)
		return -ENOMEM;
	kref_init(&t->ref);
	snprintf(t->name, sizeof(t->name), "i915c_%s", pci_name(pdev));
	strreplace(t->name, ':', '_');
	residency_set(&t->rc6, true, ktime_get_mono_fast_ns());
	ret = twin_device_init(pdev, t);
	if (ret) {
		kref_put(&t->ref, twin_free);
		return ret;
	}

	t->base = (struct pmu) {
		.module = THIS_MODULE,
		.parent = &pdev->dev,
		.task_ctx_nr = perf_invalid_context,
		.scope = PERF_PMU_SCOPE_SYS_WIDE,
		.capabilities = PERF_PMU_CAP_NO_INTERRUPT | PERF_PMU_CAP_NO_EXCLUDE,
		.attr_groups = twin_attr_groups,
		.event_init = twin_event_init,
		.add = twin_event_add,
		.del = twin_event_del,
		.start = twin_event_start,
		.stop = twin_event_stop,
		.read = twin_event_read,
	};
	if (count_disables) {
		t->base.pmu_disable = twin_pmu_disable;
		t->base.pmu_enable = twin_pmu_enable;
	}
	ret = perf_pmu_register(&t->base, t->name, -1);
	if (ret) {
		twin_device_fini(t);
		kref_put(&t->ref, twin_free);
		return ret;
	}
	t->registered = true;
	pci_set_drvdata(pdev, t);
	return 0;
}

static void twin_remove(struct pci_dev *pdev)
{
	struct twin *t = pci_get_drvdata(pdev);

	/* Like i915: callbacks see this and stop counting; the last interval is lost. */
	t->registered = false;
	synchronize_rcu();
	perf_pmu_unregister(&t->base);
	twin_device_fini(t);
	kref_put(&t->ref, twin_free);
}

static const struct pci_device_id twin_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, twin_ids);

static struct pci_driver twin_driver = {
	.name = "pmu_c_twin",
	.id_table = twin_ids,
	.probe = twin_probe,
	.remove = twin_remove,
};
module_pci_driver(twin_driver);

MODULE_DESCRIPTION("C baseline twin of i915_pmu_rs's PMU, for benchmarks only");
MODULE_LICENSE("GPL");
