#!/usr/bin/env bash
# Builds loaxa's Debian package with cargo-deb and installs it on this machine, as on a clean
# station PC (run it on a throwaway machine: CI does, after the tests). Checks what the
# package promises: the program, the unit, the loaxa user in group audio, the configuration,
# the station folder with the example plan, an installed station that validates and airs
# (into a WAV: CI has no sound card), then removal that keeps the journal. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
    echo "test-deb: needs root (it installs a package)" >&2
    exit 2
fi
# dpkg-shlibdeps works out the package's library dependencies.
command -v dpkg-shlibdeps >/dev/null || { apt-get update -qq && apt-get install -y -qq dpkg-dev; }
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked

# The package is built from the release profile, as shipped. CI, which has just built the
# test profile's binaries, sets LOAXA_DEB_PROFILE=dev: what this checks is the packaging, and
# the release build (whole-program LTO) alone would add minutes to every run.
profile=${LOAXA_DEB_PROFILE:-release}
case "$profile" in dev) bindir=target/debug ;; *) bindir=target/$profile ;; esac

step "build the package ($profile profile)"
if [ "$profile" = dev ]; then
    # The test build's own binaries, as they are: `cargo build` would compile loaxa again
    # (the tests' dev-dependencies unify features differently), and fast compression, since
    # this package only goes onto a throwaway machine.
    cargo deb --profile dev --no-build --fast
else
    cargo deb --profile "$profile"
fi
deb=$(ls -t target/debian/loaxa_*.deb | head -1)
dpkg-deb --info "$deb" | sed -n '1,20p'
dpkg-deb --contents "$deb"
# A binary with packed relocations does not start on glibc before 2.36: the package must say so
# (dpkg-shlibdeps does not see that need).
if readelf -V "$bindir/loaxa" | grep -q GLIBC_ABI_DT_RELR; then
    dpkg-deb -f "$deb" Depends | grep -q 'libc6 (>= 2.36)' \
        || { echo "test-deb: the binary needs glibc 2.36 and the package does not say so" >&2; exit 1; }
fi

step "install it (apt pulls its dependencies)"
apt-get install -y "./$deb"

step "what the package promises"
test -x /usr/bin/loaxa
/usr/bin/loaxa --version
test -x /usr/bin/loaxa-web
/usr/bin/loaxa web --version
test -f /usr/lib/systemd/system/loaxa.service
test -f /usr/lib/systemd/system/loaxa-web.service
test -f /usr/lib/systemd/system/loaxa-sync.service
test -f /usr/lib/systemd/system/loaxa-central-web.service
test -f /usr/lib/sysusers.d/loaxa.conf
id loaxa
id -nG loaxa | grep -qw audio
test -f /etc/loaxa/loaxa.toml
test -f /var/lib/loaxa/schedules/vi-du-cchc-2025.toml.example
test -f /var/lib/loaxa/audio/nhac-hieu.ogg
test "$(stat -c %U /var/lib/loaxa)" = loaxa
if [ -d /run/systemd/system ]; then
    systemctl is-enabled loaxa.service
    systemctl is-enabled loaxa-web.service
    # The province's console is for the province's server: shipped, never enabled here.
    ! systemctl is-enabled --quiet loaxa-central-web.service
else
    echo "(no systemd as PID 1 here: enabling the unit is not checked)"
fi

step "the installed station validates and airs, as the loaxa user"
cd /var/lib/loaxa
cp schedules/vi-du-cchc-2025.toml.example schedules/cchc-2025.toml
# Clips copied just now are still "settling" for a moment.
touch -d '1 minute ago' audio/*/* audio/*.* 2>/dev/null || true
chown loaxa:loaxa schedules/cchc-2025.toml
runuser -u loaxa -- /usr/bin/loaxa validate --config /etc/loaxa/loaxa.toml --lang en
runuser -u loaxa -- /usr/bin/loaxa play gioi-thieu.mp3 --config /etc/loaxa/loaxa.toml \
    --output wav:/var/lib/loaxa/journal/check.wav --lang en
test -s /var/lib/loaxa/journal/check.wav
runuser -u loaxa -- /usr/bin/loaxa log verify --config /etc/loaxa/loaxa.toml --lang en
rm schedules/cchc-2025.toml
cd /

step "remove it: the program goes, the journal (evidence) stays"
apt-get remove -y loaxa
test ! -e /usr/bin/loaxa
test -f /var/lib/loaxa/journal/loaxa.db
echo
echo "test-deb: the package builds, installs, runs and removes cleanly"
