#!/usr/bin/env bash
# Install the PhenoSort plugin into a Fiji/ImageJ installation:
#   scripts/install-fiji-plugin.sh /path/to/Fiji.app
# Builds the jar first when there is none (scripts/build-plugin.sh), removes older PhenoSort_
# jars from <Fiji.app>/plugins and copies the new one there. Restart Fiji afterwards.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -ne 1 ]]; then
    echo "usage: $0 /path/to/Fiji.app" >&2
    exit 2
fi
app="${1%/}"
[[ -d "$app" ]] || { echo "install-fiji-plugin: $app is not a folder" >&2; exit 1; }
# a Fiji/ImageJ install has plugins/ and ImageJ itself: jars/ij-*.jar (Fiji) or ij.jar (ImageJ 1)
is_imagej=false
if [[ -d "$app/plugins" ]]; then
    if compgen -G "$app/jars/ij-*.jar" >/dev/null || [[ -f "$app/ij.jar" ]] \
        || compgen -G "$app/ImageJ-*" >/dev/null || compgen -G "$app/Contents/MacOS/*" >/dev/null; then
        is_imagej=true
    fi
fi
if ! $is_imagej; then
    echo "install-fiji-plugin: $app does not look like a Fiji or ImageJ installation" \
        "(expected plugins/ and jars/ij-*.jar or ij.jar)" >&2
    exit 1
fi
jar="$(ls -1 "$root"/fiji-plugin/target/PhenoSort_-*.jar 2>/dev/null | grep -v '/original-' | head -n 1 || true)"
if [[ -z "$jar" ]]; then
    jar="$("$root/scripts/build-plugin.sh")"
fi
for old in "$app"/plugins/PhenoSort_-*.jar; do
    [[ -e "$old" && "$(basename "$old")" != "$(basename "$jar")" ]] && rm -f -- "$old"
done
cp -- "$jar" "$app/plugins/"
echo "installed $app/plugins/$(basename "$jar"); restart Fiji, then Plugins > PhenoSort > Connect to Server"
