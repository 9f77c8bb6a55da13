#!/bin/sh
# apt-sources.sh - used by every image build stage: point apt at the Debian
# mirror given as $1 (and the security mirror $2), the same the host uses,
# since a locally debootstrapped base may name another. No mirror: leave
# the base image's sources alone.
set -eu
mirror=${1:-}
security=${2:-}
[ -n "$mirror" ] || exit 0
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" >/etc/apt/sources.list.d/debian.sources
if [ -n "$security" ]; then
    printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$security" >>/etc/apt/sources.list.d/debian.sources
fi
