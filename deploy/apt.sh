# Sourced by the scripts that install Debian packages (POSIX sh).
#
# apt_get ARGS…: apt-get as root, non-interactive, waiting up to 5 minutes for the dpkg lock that a freshly
# booted machine's apt-daily holds. Not root: through $apt_sudo, by default `sudo -n` (a test script must never
# hang at a password prompt; a script a person runs sets apt_sudo=sudo).
# apt_update: `apt-get update`, which does not wait for the package lists' lock by itself: while another apt
# holds it (apt-daily again), try again every 5 seconds for up to 5 minutes; any other failure returns at once.
apt_get() {
    if [ "$(id -u)" -eq 0 ]; then
        env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
    else
        ${apt_sudo:-sudo -n} env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
    fi
}

apt_update() {
    apt_tries=0
    while ! apt_errors=$(apt_get update -qq 2>&1 >/dev/null); do
        apt_tries=$((apt_tries + 1))
        case "$apt_errors" in
            *"Could not get lock"*) [ "$apt_tries" -lt 60 ] && { sleep 5; continue; } ;;
        esac
        printf '%s\n' "$apt_errors" >&2
        return 1
    done
}
