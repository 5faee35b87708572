#!/bin/sh
# Renders manual pages and fails if the formatter says anything at all.
#
#   check-man.sh [PAGE...]     (default: every page next to this script)
#
# With groff: groff -man -Tutf8 -ww -z PAGE (every warning, no output).
# Without groff: man --warnings=w -l PAGE, the same formatter through man-db
# ("w" is groff's name for every warning; "all" would leave some out).
# Set CHECK_MAN_TOOL=groff or CHECK_MAN_TOOL=man to choose.
#
# Exit status: 0 every page is clean; 1 a page warned, failed or is missing;
# 77 neither groff nor man is installed (meson's code for a skipped test).
set -u

case $0 in
*/*) here=${0%/*} ;;
*) here=. ;;
esac
if [ $# -eq 0 ]; then
    set -- "$here"/*.[1-8]
fi

tool=${CHECK_MAN_TOOL:-}
if [ -z "$tool" ]; then
    if command -v groff >/dev/null 2>&1; then
        tool='groff'
    elif command -v man >/dev/null 2>&1; then
        tool='man'
    else
        echo "check-man.sh: neither groff nor man is installed; skipped" >&2
        exit 77
    fi
fi
case $tool in
groff | man) command -v "$tool" >/dev/null 2>&1 || {
    echo "check-man.sh: $tool is not installed; skipped" >&2
    exit 77
} ;;
*)
    echo "check-man.sh: CHECK_MAN_TOOL must be groff or man, not \"$tool\"" >&2
    exit 1
    ;;
esac

# Prints what the formatter said about $1 (nothing when all is well) and
# returns its exit status.
render() {
    if [ "$tool" = groff ]; then
        groff -man -Tutf8 -ww -z "$1" 2>&1
    else
        # Only stderr is kept: the rendered page goes to /dev/null.
        { man --warnings=w -l "$1" >/dev/null; } 2>&1
    fi
}

failed=0
for page in "$@"; do
    if [ ! -f "$page" ]; then
        echo "$page: no such file"
        failed=1
        continue
    fi
    said=$(render "$page")
    status=$?
    if [ -n "$said" ] || [ "$status" -ne 0 ]; then
        echo "$page: $tool reported (exit status $status):"
        printf '%s\n' "$said" | sed 's/^/    /'
        failed=1
    else
        echo "$page: ok ($tool)"
    fi
done
exit "$failed"
