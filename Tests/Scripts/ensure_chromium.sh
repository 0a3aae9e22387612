#!/bin/sh
# Installs Debian's chromium for the dashboard's browser tests (ServiceTests.DashboardBrowserTests) and
# the screenshot script; does nothing when it is already there. Uses sudo when not run as root.
set -eu
command -v chromium >/dev/null 2>&1 && exit 0
# Without root, sudo -n: never a password prompt (the test suite would hang); without rights the install fails.
. "$(dirname "$0")/../../deploy/apt.sh"
apt_get install -y --no-install-recommends chromium >/dev/null 2>&1 || {
    apt_update
    apt_get install -y --no-install-recommends chromium >/dev/null
}
command -v chromium >/dev/null
