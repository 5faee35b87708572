#!/usr/bin/env bash
# The daemon's layers call downward only (docs/architecture.md, "Layers"):
# a file of service/<layer>/ may include headers of its own layer and of the
# layers below it, never of a layer above. With -Werror a call needs its
# declaration, so an include is the only way up; this fails on the first one.
set -euo pipefail
service=${1:-$(dirname "$0")/../../service}
layers=(core transports spool bus daemon) # bottom to top

# The layer that owns a header, by its file name.
declare -A owner
for layer in "${layers[@]}"; do
    for h in "$service/$layer"/*.h; do
        [ -e "$h" ] && owner[$(basename "$h")]=$layer
    done
done

rank() {
    local i
    for i in "${!layers[@]}"; do
        [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }
    done
}

bad=0
for i in "${!layers[@]}"; do
    layer=${layers[$i]}
    for f in "$service/$layer"/*.[ch]; do
        [ -e "$f" ] || continue
        while read -r header; do
            up=${owner[$header]:-}
            [ -n "$up" ] || continue # a system or library header, or interfaces/
            if [ "$(rank "$up")" -gt "$i" ]; then
                echo "${f#"$service"/} includes $header of $up/, a layer above $layer/" >&2
                bad=1
            fi
        done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$f")
    done
done
[ "$bad" -eq 0 ] && echo "every include of service/ points to its own layer or one below"
exit "$bad"
