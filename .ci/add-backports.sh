#!/usr/bin/env bash
# Adds the bookworm-backports suite, reusing the mirror this machine's apt is already set up with
# (the first deb822 stanza that lists the `bookworm` suite).
set -euo pipefail
if grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then exit 0; fi
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ]; then
  awk 'BEGIN{RS=""; ORS="\n\n"} /Suites:[^\n]*bookworm( |$|\n)/ && !done {print; done=1}' "$src" \
    | sed -e 's/^Suites:.*/Suites: bookworm-backports/' > /etc/apt/sources.list.d/scion-backports.sources
else
  # one-line format: take the first bookworm line and change its suite
  line=$(grep -h '^deb .* bookworm ' /etc/apt/sources.list | head -n 1)
  echo "${line/ bookworm / bookworm-backports }" > /etc/apt/sources.list.d/scion-backports.list
fi
