// SPDX-License-Identifier: GPL-2.0

//! The sysfs files of a PMU: `format/` and `events/`, from static tables.
//!
//! perf tools read `/sys/bus/event_source/devices/<pmu>/format/*` to learn how an event
//! string maps onto `perf_event_attr` fields, and `events/*` (with `*.unit` and `*.scale`)
//! to learn the named events. Both are served by perf core's own
//! `perf_event_sysfs_show()` from `struct perf_pmu_events_attr` tables that live as long as
//! the code that declares them. Declare them with [`pmu_attributes!`](crate::pmu_attributes).
//!
//! C header: [`include/linux/perf_event.h`](srctree/include/linux/perf_event.h)

use crate::{bindings, str::CStr};

/// One read-only sysfs file of a PMU, holding a constant string.
///
/// # Invariants
///
/// `self.0` is a `perf_pmu_events_attr` with a valid, static `name` and `event_str`, mode
/// `0444`, and `perf_event_sysfs_show` as its `show` callback.
#[repr(transparent)]
pub struct Attribute(bindings::perf_pmu_events_attr);

// SAFETY: The attribute is never written after construction; sysfs only reads it.
unsafe impl Sync for Attribute {}

impl Attribute {
    /// A file called `name` that reads `value` followed by a newline.
    pub const fn new(name: &'static CStr, value: &'static CStr) -> Self {
        let mut a: bindings::perf_pmu_events_attr = pin_init::zeroed();
        a.attr.attr.name = crate::str::as_char_ptr_in_const_context(name);
        a.attr.attr.mode = 0o444;
        a.attr.__bindgen_anon_1.show = Some(bindings::perf_event_sysfs_show);
        a.event_str = crate::str::as_char_ptr_in_const_context(value);
        // INVARIANT: All fields the invariant names were just set from static data.
        Self(a)
    }

    /// A pointer to the embedded `struct attribute`, for an attribute array.
    pub const fn as_ptr(&'static self) -> AttributePtr {
        AttributePtr(core::ptr::from_ref(&self.0.attr.attr).cast_mut())
    }
}

/// An entry of a NULL-terminated `struct attribute *` array.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct AttributePtr(*mut bindings::attribute);

// SAFETY: The pointer targets a static, immutable `Attribute`.
unsafe impl Sync for AttributePtr {}

impl AttributePtr {
    /// The terminating NULL entry.
    pub const NULL: Self = Self(core::ptr::null_mut());
}

/// Builds a NULL-terminated attribute pointer array from an attribute array.
///
/// `M` must be `N + 1`; the extra entry is the terminator.
pub const fn attribute_ptrs<const N: usize, const M: usize>(
    attrs: &'static [Attribute; N],
) -> [AttributePtr; M] {
    assert!(M == N + 1);
    let mut out = [AttributePtr::NULL; M];
    let mut i = 0;
    while i < N {
        out[i] = attrs[i].as_ptr();
        i += 1;
    }
    out
}

/// A named sysfs directory of a PMU (`struct attribute_group`).
///
/// # Invariants
///
/// `self.0.name` is a static C string and `self.0.attrs` a static NULL-terminated array of
/// [`AttributePtr`]s.
#[repr(transparent)]
pub struct Group(bindings::attribute_group);

// SAFETY: The group is never written after construction; sysfs only reads it.
unsafe impl Sync for Group {}

impl Group {
    /// A directory `name` holding the attributes of `ptrs`, which must end with
    /// [`AttributePtr::NULL`] (as [`attribute_ptrs`] makes it): a table without the terminator
    /// fails to build in a `static`, and panics elsewhere.
    pub const fn new(name: &'static CStr, ptrs: &'static [AttributePtr]) -> Self {
        assert!(
            matches!(ptrs.last(), Some(p) if p.0.is_null()),
            "attribute table without its NULL terminator"
        );
        let mut g: bindings::attribute_group = pin_init::zeroed();
        g.name = crate::str::as_char_ptr_in_const_context(name);
        g.__bindgen_anon_2.attrs = ptrs.as_ptr().cast::<*mut bindings::attribute>().cast_mut();
        // INVARIANT: `name` and `ptrs` are static, and `ptrs` ends with NULL (checked above).
        Self(g)
    }
}

/// The sysfs tables of a PMU: a NULL-terminated array of [`Group`] pointers, as
/// `struct pmu::attr_groups` expects.
///
/// # Invariants
///
/// `self.0` points to a static NULL-terminated array of pointers to static [`Group`]s.
pub struct AttributeGroups(*const *const bindings::attribute_group);

// SAFETY: The tables are static and immutable.
unsafe impl Sync for AttributeGroups {}
// SAFETY: The tables are static and immutable.
unsafe impl Send for AttributeGroups {}

/// An entry of the NULL-terminated group pointer array.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct GroupPtr(*const bindings::attribute_group);

// SAFETY: The pointer targets a static, immutable `Group`.
unsafe impl Sync for GroupPtr {}

impl GroupPtr {
    /// The terminating NULL entry.
    pub const NULL: Self = Self(core::ptr::null());

    /// Points at `group`.
    pub const fn new(group: &'static Group) -> Self {
        Self(&group.0)
    }
}

impl AttributeGroups {
    /// Wraps a group pointer array, which must end with [`GroupPtr::NULL`]: a table without the
    /// terminator fails to build in a `static`, and panics elsewhere.
    pub const fn new(groups: &'static [GroupPtr]) -> Self {
        assert!(
            matches!(groups.last(), Some(g) if g.0.is_null()),
            "group table without its NULL terminator"
        );
        // INVARIANT: `groups` is static and ends with NULL (checked above).
        Self(groups.as_ptr().cast())
    }

    /// No sysfs tables beyond what perf core adds (`type`, `cpumask`).
    pub const EMPTY: Self = Self(core::ptr::null());

    pub(crate) fn as_raw(&self) -> *mut *const bindings::attribute_group {
        self.0.cast_mut()
    }
}

/// Declares the static sysfs tables of a PMU.
///
/// Each `format` entry becomes `format/<name>` (e.g. `config:0-20`); each `events` entry
/// becomes `events/<name>` holding its event string, plus `events/<name>.unit` and
/// `events/<name>.scale` when given.
///
/// # Examples
///
/// ```
/// kernel::pmu_attributes! {
///     static ATTRS = {
///         format: { "event" => "config:0-7" },
///         events: {
///             "busy" => "event=0x01", unit "ns";
///             "interrupts" => "event=0x02";
///             "energy" => "event=0x03", unit "Joules", scale "2.3283064365386962890625e-10";
///         },
///     };
/// }
/// ```
#[macro_export]
macro_rules! pmu_attributes {
    (
        $vis:vis static $name:ident = {
            format: { $($fname:literal => $fval:literal),* $(,)? },
            events: { $($ename:literal => $eval:literal
                        $(, unit $unit:literal)? $(, scale $scale:literal)?);* $(;)? } $(,)?
        };
    ) => {
        $vis static $name: $crate::perf::AttributeGroups = {
            use $crate::perf::attr::{attribute_ptrs, Attribute, AttributePtr, Group, GroupPtr};
            const NF: usize = 0 $(+ { let _ = $fname; 1 })*;
            const NE: usize = 0 $(+ { let _ = $ename; 1 } $(+ { let _ = $unit; 1 })?
                                    $(+ { let _ = $scale; 1 })?)*;
            static FORMAT: [Attribute; NF] = [
                $(Attribute::new($crate::c_str!($fname), $crate::c_str!($fval))),*
            ];
            static FORMAT_PTRS: [AttributePtr; NF + 1] = attribute_ptrs(&FORMAT);
            static EVENTS: [Attribute; NE] = [
                $(
                    Attribute::new($crate::c_str!($ename), $crate::c_str!($eval)),
                    $(Attribute::new(
                        $crate::c_str!(::core::concat!($ename, ".unit")),
                        $crate::c_str!($unit),
                    ),)?
                    $(Attribute::new(
                        $crate::c_str!(::core::concat!($ename, ".scale")),
                        $crate::c_str!($scale),
                    ),)?
                )*
            ];
            static EVENT_PTRS: [AttributePtr; NE + 1] = attribute_ptrs(&EVENTS);
            static FORMAT_GROUP: Group = Group::new(c"format", &FORMAT_PTRS);
            static EVENTS_GROUP: Group = Group::new(c"events", &EVENT_PTRS);
            static GROUPS: [GroupPtr; 3] = [
                GroupPtr::new(&FORMAT_GROUP),
                GroupPtr::new(&EVENTS_GROUP),
                GroupPtr::NULL,
            ];
            $crate::perf::AttributeGroups::new(&GROUPS)
        };
    };
}
