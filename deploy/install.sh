#!/usr/bin/env bash
# Installs unipelt as a systemd service on this host: release binary, config, unit, a dedicated
# system user, and the default model in the state directory. Idempotent; an existing
# /etc/unipelt/unipelt.conf is kept (the shipped one goes beside it as unipelt.conf.dist).
#
#   sudo deploy/install.sh            build, install, enable and (re)start the service
#   sudo deploy/install.sh --no-start install only
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/deploy/options.sh"
skip_flag --no-start "$@"
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo deploy/install.sh)" >&2; exit 1; }
command -v systemctl >/dev/null 2>&1 || { echo "install.sh: this host has no systemd (systemctl not found)" >&2; exit 1; }

"$here/deploy/setup.sh"
(cd "$here" && swift build -c release --product unipelt)
install -m 0755 "$here/.build/release/unipelt" /usr/local/bin/unipelt.new
mv /usr/local/bin/unipelt.new /usr/local/bin/unipelt

getent group unipelt >/dev/null || groupadd --system unipelt
getent passwd unipelt >/dev/null || useradd --system --gid unipelt --home-dir /var/lib/unipelt \
    --no-create-home --shell /usr/sbin/nologin unipelt

install -d -m 0755 /etc/unipelt
if [ -f /etc/unipelt/unipelt.conf ]; then
    install -m 0644 "$here/config/unipelt.conf" /etc/unipelt/unipelt.conf.dist
else
    install -m 0640 -g unipelt "$here/config/unipelt.conf" /etc/unipelt/unipelt.conf
fi

# State: the default model, and GLUE data when this checkout has it beside it.
install -d -m 0750 -o unipelt -g unipelt /var/lib/unipelt /var/lib/unipelt/models
if [ ! -d /var/lib/unipelt/models/minilm-l6 ]; then
    cp -r "$here/var/models/minilm-l6" /var/lib/unipelt/models/minilm-l6
fi
if [ ! -e /var/lib/unipelt/glue ] && [ -d "$here/var/glue" ]; then
    cp -rL "$here/var/glue" /var/lib/unipelt/glue
fi
chown -R unipelt:unipelt /var/lib/unipelt

install -m 0644 "$here/deploy/unipelt.service" /etc/systemd/system/unipelt.service
systemctl daemon-reload
if [ "$skipped" -eq 0 ]; then  # not --no-start
    systemctl enable unipelt.service
    systemctl reset-failed unipelt.service 2>/dev/null || true  # a start limit hit before this install
    systemctl restart unipelt.service
    systemctl --no-pager --lines=0 status unipelt.service || true
fi
