# pmu-rs: Rust-for-Linux perf PMUs that survive unbind.
#
# The two commands:    make demo    make check
# See README.md for the rest. Every target sets itself up on first use.

H := harness

.PHONY: all setup base tree config build lint rustdoc docs check demo shell \
	stress kcsan bench kselftest kunit report series series-check series-selftest \
	bump fmt clean distclean help mutants check-start perf-test

all: help

help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## setup      install the toolchain, QEMU and virtme-ng (idempotent)
setup:
	@sh $(H)/setup.sh

## base       fetch and verify the pinned base kernel (base.lock)
base: setup
	@sh $(H)/base.sh

## tree       assemble base + patches/ + overlay in the cache
tree: base
	@sh $(H)/tree.sh

config: tree
	@sh $(H)/config.sh

## build      build the test kernel (KASAN, lockdep) and the kselftests
build: config
	@sh $(H)/build.sh

## lint       rustfmt and checkpatch --strict (clippy runs in build)
lint: tree
	@sh $(H)/lint.sh

## rustdoc    build the kernel crate's docs; warnings in our code fail
rustdoc: build
	@sh $(H)/rustdoc.sh

## docs       Sphinx build of Documentation/rust; warnings in our pages fail
docs: tree
	@sh $(H)/docs.sh

## check      lints, build, boot, KUnit + kselftests + splat scan: the verdict
# The boot's timeout: it took 1659 s in one run and passed 1800 s in the
# next on the same 2-core machine (runs/*/phases), so 1800 s is no margin.
check: check-start lint build rustdoc docs series-selftest
	@BOOT_TIMEOUT=$${BOOT_TIMEOUT:-3000} sh $(H)/run.sh check.sh

# The timing table of a check lists this check's host steps only.
check-start:
	@rm -f "$${PMU_RS_CACHE:-$$HOME/.cache/pmu-rs}/phases.host"

## stress     like check's boot, with the full counts: 1000 unbind/rebind
##            cycles, 100 QMP hot-unplugs, 150 failslab probes, ...
##            then `make kcsan`
stress: build
	@BOOT_TIMEOUT=$${BOOT_TIMEOUT:-10800} sh $(H)/run.sh check.sh stress
	@$(MAKE) --no-print-directory kcsan

## kcsan      the guest tests, KUnit and perf_unbind on a kernel with KCSAN
##            instead of KASAN (FLAVOUR=kcsan, built on first use); fails on
##            a data race report that names our code, lists the others
kcsan:
	@FLAVOUR=kcsan $(MAKE) --no-print-directory build
	@FLAVOUR=kcsan BOOT_TIMEOUT=$${BOOT_TIMEOUT:-5400} sh $(H)/run.sh check.sh kcsan

## bench      Rust PMU vs its C twin in one boot of a kernel without
##            KASAN/lockdep (FLAVOUR=bench, built on first use), then the
##            host's incremental rebuild time; prints the table
bench:
	@FLAVOUR=bench $(MAKE) --no-print-directory build
	@FLAVOUR=bench sh $(H)/bench.sh

## perf-test  the perf tool's own `perf test` on the test kernel and on the
##            same kernel without the perf core patches (FLAVOUR=nocore,
##            built on first use), side by side; fails on a test that
##            fails only with our patches, a splat, or a result other than
##            Ok with no reason in harness/perf-test.reasons; not part of
##            check
perf-test: build
	@FLAVOUR=nocore $(MAKE) --no-print-directory build
	@sh $(H)/perf-test.sh

## mutants    every deliberate bug of harness/mutants/ must fail the test it
##            names, which first passes without them: one incremental build
##            and boot each, on a scratch copy of the test tree (`M="name ..." make mutants` for some: M in the
##            environment, as Kbuild takes M= on make's command line); not
##            part of check
mutants: build
	@sh $(H)/mutants.sh

## report     print the table of the last check run again
report:
	@sh $(H)/report.sh

## demo       boot the test kernel and run the showcase
demo: build
	@sh $(H)/boot.sh demo.sh

## shell      boot the test kernel with a shell in the guest
shell: build
	@sh $(H)/shell.sh

## kunit      boot and run the KUnit suites only: the Rust doctests,
##            rust_perf and i915_pmu_rs
kunit: build
	@sh $(H)/run.sh check.sh kunit

## kselftest  T=target[:program|:case] boot and run one kselftest target,
##            program or kselftest_harness case (T=perf_unbind:case_name)
kselftest: build
	@test -n "$(T)" || { echo "usage: make kselftest T=perf_events[:mmap]"; exit 2; }
	@BOOT_APPEND="$${BOOT_APPEND:-} kunit.enable=0" sh $(H)/run.sh check.sh only "$(T)"

## series     the patch series as `git format-patch` output, one directory
##            per section of `series` (O=dir, default ~/.cache/pmu-rs/series/out;
##            V=n for a reroll); signed off with your git config
series: base
	@O="$(O)" V="$(V)" sh $(H)/series.sh

## series-check  apply the series patch by patch to the base: checkpatch
##            --strict and a CLIPPY=1 build after each, the last one equal
##            to `make build`'s tree and built with sample and driver =y
series-check: tree
	@sh $(H)/series-check.sh

## series-selftest  series-check must fail on a series that breaks
##            bisection and on one with a clippy warning, naming the patch
##            (in check; seconds when it passed on the same inputs)
series-selftest: tree
	@sh $(H)/series-selftest.sh

## bump       move base.lock to the newest 7.3.y served, once check passes on it
bump:
	@sh $(H)/bump.sh

## fmt        rustfmt the overlay's Rust files in place
fmt: tree
	@sh $(H)/lint.sh fmt

## clean      drop the build directories (the next build is cold)
clean:
	rm -rf "$${PMU_RS_CACHE:-$$HOME/.cache/pmu-rs}/build"

## distclean  drop the whole cache: downloads, trees, builds, tools
distclean:
	rm -rf "$${PMU_RS_CACHE:-$$HOME/.cache/pmu-rs}"
