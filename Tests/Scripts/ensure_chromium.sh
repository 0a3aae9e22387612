#!/bin/sh
# Installs Debian's chromium for the dashboard's browser tests (ServiceTests.DashboardBrowserTests) and
# the screenshot script; does nothing when it is already there. Uses sudo when not run as root.
set -eu
command -v chromium >/dev/null 2>&1 && exit 0
sudo=""
# -n: never wait at a password prompt (the test suite would hang); without rights the install fails.
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends chromium >/dev/null 2>&1 || {
    $sudo apt-get -o DPkg::Lock::Timeout=300 update >/dev/null
    $sudo apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends chromium >/dev/null
}
command -v chromium >/dev/null
