// ONNX Runtime's inference time for an ONNX model (made by tools/bench/export_onnx.py): the peer
// that tools/bench/engine_ab.sh compares `densenet benchmark --mode infer` against.
//
// Usage: java -cp ~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/onnxruntime-1.29.0.jar \
//          tools/bench/OrtBench.java --model densenet121.onnx [--batch 1] [--warmup 5] [--iterations 7]
//          [--threads 2] [--input 224x224]
// (the jar: mvn -B -q dependency:get -Dartifact=com.microsoft.onnxruntime:onnxruntime:1.29.0)
// Session options as in ../shared/notes/anchors-2026-12.md: intra-op threads = --threads, inter-op 1,
// OptLevel.ALL_OPT. Times session.run on one random (seeded) NCHW float batch; prints the median of
// the timed runs and a final JSON line with the keys `densenet benchmark` prints; peak RSS is VmHWM.
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

public class OrtBench {
    public static void main(String[] argv) throws Exception {
        Map<String, String> a = new HashMap<>(Map.of("--batch", "1", "--warmup", "5", "--iterations", "7",
                "--threads", "2", "--input", "224x224"));
        for (int i = 0; i + 1 < argv.length; i += 2) a.put(argv[i], argv[i + 1]);
        if (!a.containsKey("--model") || argv.length % 2 != 0) {
            System.err.println("usage: OrtBench --model X.onnx [--batch B] [--warmup W] [--iterations I] [--threads T] [--input HxW]");
            System.exit(2);
        }
        int batch = Integer.parseInt(a.get("--batch")), warmup = Integer.parseInt(a.get("--warmup"));
        int iterations = Integer.parseInt(a.get("--iterations")), threads = Integer.parseInt(a.get("--threads"));
        String[] hw = a.get("--input").toLowerCase().split("x");
        long[] shape = {batch, 3, Long.parseLong(hw[0]), Long.parseLong(hw[1])};

        float[] data = new float[(int) (shape[0] * shape[1] * shape[2] * shape[3])];
        Random random = new Random(1);
        for (int i = 0; i < data.length; i++) data[i] = random.nextFloat();

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession session = env.createSession(a.get("--model"), options);
                 OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape)) {
                String inputName = session.getInputNames().iterator().next();
                Map<String, OnnxTensor> feed = Map.of(inputName, input);
                double[] times = new double[iterations];
                for (int i = 0; i < warmup + iterations; i++) {
                    long t0 = System.nanoTime();
                    try (OrtSession.Result result = session.run(feed)) {
                        if (i >= warmup) times[i - warmup] = (System.nanoTime() - t0) / 1e6;
                    }
                }
                Arrays.sort(times);
                double median = iterations % 2 == 1 ? times[iterations / 2]
                        : (times[iterations / 2 - 1] + times[iterations / 2]) / 2;
                long rssMb = peakRssKb() / 1024;
                System.out.printf(Locale.ROOT, "onnxruntime infer %d %s median %.1f ms min %.1f ms peak RSS %d MB%n",
                        batch, a.get("--input"), median, times[0], rssMb);
                System.out.printf(Locale.ROOT, "{\"framework\":\"onnxruntime\",\"backend\":\"onnxruntime-cpu\",\"mode\":\"infer\","
                        + "\"batch\":%d,\"input\":\"%s\",\"median_ms\":%.2f,\"min_ms\":%.2f,\"peak_rss_mb\":%d}%n",
                        batch, a.get("--input"), median, times[0], rssMb);
            }
        }
    }

    /** VmHWM of /proc/self/status in kB (the process's peak resident set). */
    static long peakRssKb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        return -1;
    }
}
