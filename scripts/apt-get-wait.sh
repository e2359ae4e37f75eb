#!/usr/bin/env bash
# apt-get "$@" once no other apt-get, apt or dpkg holds their locks (unattended upgrades often
# run on a freshly booted machine): waits up to APT_LOCK_TIMEOUT seconds (default 1200), saying
# which program holds which lock, instead of failing with "Could not get lock". apt-get itself
# also gets DPkg::Lock::Timeout for a lock taken between the check and its start.
# Usage: scripts/apt-get-wait.sh update -qq   (as root, like apt-get)
set -euo pipefail
timeout=${APT_LOCK_TIMEOUT:-1200}
locks=${APT_LOCKS:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock}

holder() {  # "COMMAND (pid PID) holds PATH" for the first of $locks that is held, else nothing
    lslocks -n -r -o COMMAND,PID,PATH 2>/dev/null | awk -v locks="$locks" '
        BEGIN { n = split(locks, l, " "); for (i = 1; i <= n; i++) want[l[i]] = 1 }
        ($3 in want) { print $1 " (pid " $2 ") holds " $3; exit }'
}

waited=0
while who=$(holder) && [ -n "$who" ]; do
    if [ "$waited" -eq 0 ]; then
        echo "apt-get-wait: another package manager is running: $who; waiting up to" \
            "${timeout} s for it to finish (APT_LOCK_TIMEOUT)" >&2
    fi
    if [ "$waited" -ge "$timeout" ]; then
        echo "apt-get-wait: gave up after ${waited} s: $who; let it finish (or stop it)," \
            "then run this again" >&2
        exit 1
    fi
    sleep 1
    waited=$((waited + 1))
done
if [ "$waited" -gt 0 ]; then
    echo "apt-get-wait: the lock was released after ${waited} s; running apt-get $*" >&2
fi
exec apt-get -o DPkg::Lock::Timeout="$timeout" "$@"
