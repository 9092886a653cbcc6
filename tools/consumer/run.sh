#!/usr/bin/env bash
# The consumer check CI runs: install DenseNet4J's artifacts (with their sources and javadoc), write a
# torchvision fixture with Debian's torch, then build and test tools/consumer against the installed
# artifacts alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -q -Prelease -DskipTests install
fixture=$(mktemp -d)
trap 'rm -rf "$fixture"' EXIT
(cd tools/fixtures && /usr/bin/python3 make_torch_fixtures.py --arch densenet-tiny --height 32 --width 32 --batch 2 \
    --classes 5 --exact --out "$fixture" >/dev/null)
mvn -B -f tools/consumer/pom.xml test -Dfixture="$fixture"
