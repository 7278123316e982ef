#!/bin/sh
# Fetch the pinned base kernel (base.lock) and unpack it as the pristine
# tree. The package comes from the lock's suite, reached through the same
# archive URI the machine's apt configuration already uses for Debian. A
# private apt configuration under the cache is used, so the machine's own
# sources are never changed.
#
# If the pinned version is no longer served, the newest served version of
# the same package (same 7.3.y series) is used instead, with a warning;
# `make bump` then records it in base.lock.
set -eu
. "$(dirname "$0")/env.sh"
. "$REPO/base.lock"

APT=$CACHE/apt
DL=$CACHE/dl

debian_uri() {
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	{
		# deb822 sources: print the URI of each stanza with our suite
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk -v c="$codename" '
				/^URIs:/ { u = $2 }
				/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == c) print u }
				/^$/ { u = "" }' "$f"
		done
		# one-line sources
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk -v c="$codename" '$1 == "deb" {
				i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++
				if ($(i + 2) == c) print $(i + 1) }'
	} | head -n 1
}

apt_private() {
	"$@" -o Dir::Etc::sourcelist="$APT/sources.list" \
		-o Dir::Etc::sourceparts="$APT/empty" \
		-o Dir::Etc::preferencesparts="$APT/empty" \
		-o Dir::State::Lists="$APT/lists" \
		-o Dir::Cache="$APT/cache" \
		-o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root
}

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# A pristine tree unpacked from a verified package is reused as is.
used_file=$CACHE/base.used
if [ -f "$used_file" ]; then
	. "$used_file"
	if [ "$USED_VERSION" = "$BASE_VERSION" ] &&
	   [ "$USED_DEB_SHA256" = "$BASE_DEB_SHA256" ] &&
	   [ -f "$CACHE/src/pristine-$USED_VERSION/.pmu-rs-pristine" ]; then
		exit 0
	fi
fi

version=$BASE_VERSION
deb=$DL/${BASE_PACKAGE}_$(echo "$version" | sed 's/:/%3a/')_all.deb
if [ ! -f "$deb" ]; then
	uri=$(debian_uri)
	[ -n "$uri" ] || die "no Debian archive URI in the machine's apt sources"
	mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/empty" "$DL"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $BASE_SUITE main" \
		> "$APT/sources.list"
	say "fetching the package index of $BASE_SUITE"
	apt_private apt-get -q update > "$APT/update.log" 2>&1 ||
		{ cat "$APT/update.log" >&2; die "apt-get update of suite $BASE_SUITE failed"; }
	if grep -q "does not have a Release file\|404" "$APT/update.log"; then
		cat "$APT/update.log" >&2
		die "suite $BASE_SUITE is not served by $uri"
	fi
	served=$(apt_private apt-cache madison "$BASE_PACKAGE" | awk '{print $3}')
	[ -n "$served" ] || die "$BASE_PACKAGE is not served in $BASE_SUITE"
	if ! echo "$served" | grep -qxF "$BASE_VERSION"; then
		newest=$(echo "$served" | head -n 1)
		case "$newest" in
		7.3.*) ;;
		*) die "$BASE_PACKAGE $BASE_VERSION is gone and $newest is not 7.3.y" ;;
		esac
		warn "$BASE_PACKAGE $BASE_VERSION (pinned) is no longer served"
		warn "falling back to $BASE_PACKAGE $newest; run 'make bump' once the tests pass"
		version=$newest
		deb=$DL/${BASE_PACKAGE}_$(echo "$version" | sed 's/:/%3a/')_all.deb
	fi
	say "downloading $BASE_PACKAGE $version"
	(cd "$DL" && apt_private apt-get -q download "$BASE_PACKAGE=$version")
fi

sum=$(sha256 "$deb")
if [ "$version" = "$BASE_VERSION" ] && [ "$sum" != "$BASE_DEB_SHA256" ]; then
	mv "$deb" "$deb.rejected"
	die "checksum mismatch for $deb: sha256 $sum, base.lock pins $BASE_DEB_SHA256; refusing it (kept as $deb.rejected)"
fi

pristine=$CACHE/src/pristine-$version
if [ ! -f "$pristine/.pmu-rs-pristine" ]; then
	say "unpacking $BASE_PACKAGE $version (about a minute)"
	rm -rf "$pristine" "$pristine.tmp"
	mkdir -p "$pristine.tmp"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -O --wildcards './usr/src/linux-source-*.tar.xz' > "$pristine.tmp.tar.xz"
	tsum=$(sha256 "$pristine.tmp.tar.xz")
	if [ "$version" = "$BASE_VERSION" ] && [ "$tsum" != "$BASE_TAR_SHA256" ]; then
		rm -rf "$pristine.tmp" "$pristine.tmp.tar.xz"
		die "tarball checksum mismatch: sha256 $tsum, base.lock pins $BASE_TAR_SHA256"
	fi
	tar -xJf "$pristine.tmp.tar.xz" -C "$pristine.tmp" --strip-components=1
	rm -f "$pristine.tmp.tar.xz"
	echo "$version" > "$pristine.tmp/.pmu-rs-pristine"
	mv "$pristine.tmp" "$pristine"
fi

cat > "$used_file" <<EOT
USED_VERSION=$version
USED_DEB_SHA256=$sum
EOT
if [ "$version" != "$BASE_VERSION" ]; then
	warn "building on $BASE_PACKAGE $version, NOT the pinned $BASE_VERSION"
fi
say "base: $BASE_PACKAGE $version (sha256 $sum)"
