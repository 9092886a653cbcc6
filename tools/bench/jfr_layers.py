#!/usr/bin/env python3
"""Where a DL4J run's main thread spends its time, from a Java Flight Recorder file.

Usage: jfr_layers.py RECORDING.jfr
Record with e.g.
  DENSENET_JAVA_OPTS="-Xmx4g -XX:StartFlightRecording=filename=run.jfr,settings=profile" \\
    ./densenet benchmark --model densenet121 --mode infer --batch 1 --iterations 30
JFR samples threads in Java code (jdk.ExecutionSample) and in native methods
(jdk.NativeMethodSample) separately; this counts the main thread's samples of both, attributing a
native sample to the innermost DL4J layer, helper or vertex method above it (libnd4j's kernels run
on the main thread and on its OpenMP workers, so this measures the main thread's wall time).
"""
import collections
import re
import subprocess
import sys

OWNERS = ("org.deeplearning4j.nn.layers.", "org.deeplearning4j.nn.graph.vertex.",
          "org.densenet4j.", "org.nd4j.linalg.cpu.nativecpu.CpuNDArrayFactory.")


def samples(recording, event):
    text = subprocess.run(["jfr", "print", "--events", event, recording], check=True,
                          capture_output=True, text=True).stdout
    for block in text.split(event + " {")[1:]:
        thread = re.search(r'sampledThread = "([^"]+)"', block)
        if thread and thread.group(1) != "main":
            continue
        frames = re.findall(r"^\s+([\w.$<>]+)\(", block, re.M)
        if frames:
            yield frames


def main():
    recording = sys.argv[1]
    counts = collections.Counter()
    java = 0
    for frames in samples(recording, "jdk.ExecutionSample"):
        java += 1
    for frames in samples(recording, "jdk.NativeMethodSample"):
        owner = next((f for f in frames if f.startswith(OWNERS)), frames[0])
        counts["native: " + owner] += 1
    counts["Java code (all of it)"] = java
    total = sum(counts.values())
    print("%d main-thread samples" % total)
    for name, n in counts.most_common(15):
        print("%5.1f %%  %5d  %s" % (100.0 * n / total, n, name))


if __name__ == "__main__":
    main()
