#!/bin/sh
# Move base.lock to the newest linux-source 7.3.y the suite serves, but only
# after `make check` passes on it.
set -eu
. "$(dirname "$0")/env.sh"
. "$REPO/base.lock"

say "running make check on whatever base is served (falls back if needed)"
make -C "$REPO" check
. "$CACHE/base.used"
if [ "$USED_VERSION" = "$BASE_VERSION" ]; then
	say "base.lock already pins $BASE_VERSION, the version served"
	exit 0
fi
tar=$(dpkg-deb --fsys-tarfile "$CACHE/dl/${BASE_PACKAGE}_${USED_VERSION}_all.deb" |
	tar -x -O --wildcards './usr/src/linux-source-*.tar.xz' | sha256sum | cut -d' ' -f1)
sed -i -e "s/^BASE_VERSION=.*/BASE_VERSION=$USED_VERSION/" \
	-e "s/^BASE_DEB_SHA256=.*/BASE_DEB_SHA256=$USED_DEB_SHA256/" \
	-e "s/^BASE_TAR_SHA256=.*/BASE_TAR_SHA256=$tar/" "$REPO/base.lock"
say "base.lock now pins $BASE_PACKAGE $USED_VERSION; commit it"
