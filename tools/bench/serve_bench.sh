#!/usr/bin/env bash
# BatchingPredictor against ConcurrentPredictor and DL4J's ParallelInference (BATCHED), in one run:
# tools/bench/serve_bench.sh [CLIENTS=8] [REQUESTS=25] [ROUNDS=2]. Fetches deeplearning4j-parallel-wrapper
# (Maven Central) for the comparison only; the project does not depend on it.
set -euo pipefail
cd "$(dirname "$0")/../.."
./densenet --help >/dev/null
work=$(mktemp -d)
cat > "$work/pom.xml" <<'POM'
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>bench</groupId><artifactId>serve</artifactId><version>1</version>
  <dependencies><dependency><groupId>org.deeplearning4j</groupId><artifactId>deeplearning4j-parallel-wrapper</artifactId>
    <version>1.0.0-M2.1</version></dependency></dependencies></project>
POM
mvn -B -q -f "$work/pom.xml" dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" >/dev/null
cp="densenet-examples/target/densenet-examples-0.1.0-SNAPSHOT.jar:$(cat densenet-examples/target/classpath-nd4j-native-platform.txt):$(cat "$work/cp.txt")"
java -Xmx4g -Dorg.bytedeco.javacpp.maxbytes=12g -Dorg.bytedeco.javacpp.maxphysicalbytes=16g \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$cp" tools/bench/ServeBench.java "$@"
rm -rf "$work"
