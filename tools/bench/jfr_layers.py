#!/usr/bin/env python3
"""Where a DL4J run's main thread spends its time, from a Java Flight Recorder file.

Usage: jfr_layers.py RECORDING.jfr [ROWS]
Record with e.g.
  DENSENET_JAVA_OPTS="-Xmx4g -XX:FlightRecorderOptions=stackdepth=256 -XX:StartFlightRecording=filename=run.jfr,settings=profile" \\
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
          "org.densenet4j.", "org.nd4j.linalg.cpu.nativecpu.CpuNDArrayFactory.",
          "org.deeplearning4j.nn.updater.", "org.deeplearning4j.optimize.")
# The phase of a training step a sample belongs to, by the ComputationGraph method below it.
PHASES = (("calcBackpropGradients", "backward"), ("ffToLayerActivations", "forward"),
          ("outputOfLayersDetached", "forward"), ("output", "forward"))


def samples(recording, event):
    text = subprocess.run(["jfr", "print", "--stack-depth", "256", "--events", event, recording], check=True,
                          capture_output=True, text=True).stdout
    for block in text.split(event + " {")[1:]:
        thread = re.search(r'sampledThread = "([^"]+)"', block)
        if thread and thread.group(1) != "main":
            continue
        frames = re.findall(r"^\s+([\w.$<>]+)\(", block, re.M)
        if frames:
            yield frames


def phase(frames):
    """forward, backward or other (updater, data, start-up): the innermost ComputationGraph step."""
    for f in frames:
        if f.startswith("org.deeplearning4j.nn.graph.ComputationGraph."):
            method = f.rsplit(".", 1)[1]
            for prefix, name in PHASES:
                if method.startswith(prefix):
                    return name
    return "other"


def main():
    recording = sys.argv[1]
    counts = collections.Counter()
    phases = collections.Counter()
    for frames in samples(recording, "jdk.ExecutionSample"):
        counts["Java code (all of it)"] += 1
        phases[phase(frames)] += 1
    for frames in samples(recording, "jdk.NativeMethodSample"):
        owner = next((f for f in frames if f.startswith(OWNERS)), frames[0])
        counts["native: %s [%s]" % (owner, phase(frames))] += 1
        phases[phase(frames)] += 1
    total = sum(counts.values())
    print("%d main-thread samples" % total)
    print("by phase: " + ", ".join("%s %.1f %%" % (k, 100.0 * v / total) for k, v in phases.most_common()))
    for name, n in counts.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 20):
        print("%5.1f %%  %5d  %s" % (100.0 * n / total, n, name))


if __name__ == "__main__":
    main()
