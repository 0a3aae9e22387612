# Sourced by the deploy scripts, which each take at most one flag.
#
# skip_flag FLAG ARGS…: sets `skipped` to 1 when FLAG is among ARGS, else 0. `-h`/`--help` prints the
# calling script's header comment and exits; any other argument is an error naming the one expected.
skip_flag() {
    local flag="$1" arg
    shift
    skipped=0
    for arg in "$@"; do
        case "$arg" in
            "$flag") skipped=1 ;;
            -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;  # the header comment
            *) echo "$(basename "$0"): unknown option '$arg' (expected $flag)" >&2; exit 2 ;;
        esac
    done
}
