#!/usr/bin/env bash
# Build the PhenoSort Fiji plugin (tests included) and print the jar's path.
#
# Installs nothing. Offline it needs JDK >= 11, Maven and these Debian packages (the build reads
# Debian's /usr/share/maven-repo through .mvn/maven.config):
#   libij-java libgrpc-java libprotobuf-java protobuf-compiler protobuf-compiler-grpc-java-plugin
#   libprotobuf-dev libnetty-java libperfmark-java libanimal-sniffer-java libgoogle-gson-java
#   libgoogle-common-protos-java libjsr305-java junit4 libsurefire-java libplexus-utils2-java
#   libmaven-clean-plugin-java libmaven-resources-plugin-java libmaven-compiler-plugin-java
#   libmaven-jar-plugin-java libmaven-shade-plugin-java libexec-maven-plugin-java
#   libbuild-helper-maven-plugin-java
# The tests start a real `phenosort serve` with ./.venv/bin/python (scripts/setup.sh makes it);
# another interpreter: PHENOSORT_PYTHON=/path/to/python. Extra Maven arguments pass through
# (e.g. -DskipTests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v mvn >/dev/null || { echo "build-plugin: Maven (mvn) is not installed" >&2; exit 1; }
args=(-q package)
if [[ -n "${PHENOSORT_PYTHON:-}" ]]; then args+=("-Dphenosort.python=$PHENOSORT_PYTHON"); fi
mvn "${args[@]}" "$@" >&2
jar="$(ls -1 "$root"/fiji-plugin/target/PhenoSort_-*.jar 2>/dev/null | grep -v '/original-' | head -n 1)"
[[ -n "$jar" && -f "$jar" ]] || { echo "build-plugin: no jar was built" >&2; exit 1; }
echo "$jar"
