#!/bin/sh
# apt-install.sh - used by the image builds (Dockerfile, prometheus/):
# apt's sources from the mirror $1 and the security mirror $2
# (apt-sources.sh, beside this file; empty: the base image's), then the
# packages named after them without recommends; apt's lists, caches and
# logs are removed after.
set -eu
mirror=${1:-}
security=${2:-}
shift 2
sh "$(dirname "$0")/apt-sources.sh" "$mirror" "$security"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$@" >/dev/null
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
