package org.densenet4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.examples.Architecture;
import org.densenet4j.examples.PeakMemory;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.engine.Precision;
import org.densenet4j.keras.KerasDenseNetImporter;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetZooModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet benchmark}: timings of inference, training steps or weight import, median of repeated runs. */
@Command(name = "benchmark", mixinStandardHelpOptions = true,
        description = "Time inference (--mode infer), a training step (--mode train: SGD with momentum, softmax "
                + "cross-entropy) or the import of a Keras weight file into a ready graph (--mode import). "
                + "Prints a table, then one JSON line; compare with tools/bench/torch_bench.py.")
final class BenchmarkCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", defaultValue = "densenet121",
            description = "Preset id, or a JSON file of DenseNet settings (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--mode", defaultValue = "infer",
            description = "infer, train or import (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--batch", defaultValue = "1", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--input", description = "Input HxW, or HxWxC to change the channels (default: the model's own).")
    String input;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed runs first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--iterations", defaultValue = "5", description = "Timed runs (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--weights", description = "The Keras weight file, for --mode import.")
    Path weights;

    @Option(names = "--threads", description = "Threads of ND4J's and oneDNN's parallel loops "
            + "(default: ND4J's own choice, OMP_NUM_THREADS or the cores).")
    Integer threads;

    @Mixin
    EngineOption engineOption;

    @Mixin
    MemoryOption memory;

    @Mixin
    PrecisionOption precision;

    /** The precision the compiled inference ran in (training steps run fp32). */
    private String ranIn = "fp32";

    /** The native bytes the compiled training steps planned, or -1. */
    private long plannedBytes = -1;

    /** The engine that ran: compiled, or graph where the compiled one was not asked for or cannot run the model. */
    private String engine = "graph";

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || warmup < 0 || iterations < 1 || (threads != null && threads < 1)) {
            throw new UserError("--batch, --iterations and --threads must be >= 1 and --warmup >= 0");
        }
        if (precision.asked() != Precision.FP32) {
            if (!mode.equalsIgnoreCase("infer")) {
                throw new UserError("--precision " + precision.precision + " is for inference (--mode infer): "
                        + "training steps run fp32");
            }
            if (!engineOption.compiled()) {
                throw new UserError("--precision " + precision.precision
                        + " needs the compiled engine (--engine compiled)");
            }
        }
        if (threads != null) {
            Backend.setThreads(threads);
        }
        Architecture architecture = Models.architecture(model);
        DenseNetConfig base = architecture.config().build();
        DenseNetConfig config = input == null ? base : withInput(base, input);
        Run run = switch (mode.toLowerCase(Locale.ROOT)) {
            case "infer" -> inference(config);
            case "train" -> training(config);
            case "import" -> {
                if (weights == null) {
                    throw new UserError("--mode import needs --weights FILE.h5");
                }
                yield () -> KerasDenseNetImporter.load(weights, config).close();
            }
            default -> throw new UserError("--mode must be infer, train or import, was '" + mode + "'");
        };
        for (int i = 0; i < warmup; i++) {
            run.once();
        }
        double[] ms = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            long t0 = System.nanoTime();
            run.once();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        String size = config.inputHeight() + "x" + config.inputWidth()
                + (config.inputChannels() == 3 ? "" : "x" + config.inputChannels());
        report(spec.commandLine().getOut(), architecture.name(), size, ms);
        return 0;
    }

    @FunctionalInterface
    private interface Run {
        void once() throws Exception;
    }

    private Run inference(DenseNetConfig config) {
        ComputationGraph net = new DenseNetZooModel(model, config).init();
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, config.inputChannels(), config.inputHeight(),
                config.inputWidth());
        if (engineOption.compiled() && CompiledGraph.available()) {
            CompiledGraph compiled = CompiledGraph.compile(net, precision.engineOptions());
            engine = "compiled";
            ranIn = compiled.precision().id();
            return () -> compiled.outputSingle(x);
        }
        return () -> net.outputSingle(x);
    }

    private Run training(DenseNetConfig config) {
        ComputationGraph net = new DenseNetZooModel(model, config.toBuilder()
                .updater(new org.nd4j.linalg.learning.config.Nesterovs(0.01, 0.9)).build()).init();
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, config.inputChannels(), config.inputHeight(),
                config.inputWidth());
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, config.numClasses());
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, i % config.numClasses(), 1f);
        }
        org.nd4j.linalg.dataset.DataSet data = new org.nd4j.linalg.dataset.DataSet(x, y);
        TrainingStep step = TrainingStep.of(net, engineOption.compiled(), memory.memoryEfficient);
        engine = step.compiled().isPresent() ? memory.memoryEfficient ? "compiled-memory-efficient" : "compiled"
                : "graph";
        plannedBytes = Models.prepare(model, step, x.shape());
        return () -> step.fit(data);
    }

    /** Peak resident memory of this process in MB (Linux), or -1. */
    private static long peakRssMb() {
        long bytes = PeakMemory.residentBytes();
        return bytes < 0 ? -1 : bytes / (1L << 20);
    }

    /** {@code base} at the size of {@code --input}: HxW keeps the channels, HxWxC sets them. */
    private static DenseNetConfig withInput(DenseNetConfig base, String input) {
        int[] hwc = Models.parseInput(input);
        int channels = input.toLowerCase(Locale.ROOT).split("x").length == 3 ? hwc[2] : base.inputChannels();
        return base.toBuilder().inputShape(hwc[0], hwc[1], channels).build();
    }

    private void report(PrintWriter out, String id, String input, double[] ms) {
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        boolean images = !mode.equalsIgnoreCase("import");
        double imagesPerSecond = images ? batch * 1000.0 / median : 0;
        boolean infer = mode.equalsIgnoreCase("infer");
        String backend = Backend.describe();
        out.printf("%-12s %-7s %5s %9s %10s %10s %12s%n", "model", "mode", "batch", "input", "median ms", "min ms",
                "images/s");
        out.printf(Locale.ROOT, "%-12s %-7s %5d %9s %10.1f %10.1f %12.1f%s%n", id, mode, batch, input, median,
                sorted[0], imagesPerSecond, infer ? "   " + engine + ", " + ranIn : "");
        out.println("runs (ms): " + Arrays.toString(Arrays.stream(ms).map(v -> Math.round(v * 10) / 10.0).toArray()));
        if (plannedBytes >= 0) {
            out.printf(Locale.ROOT, "memory: the trainer planned %,d MB (beyond the graph's parameters, gradients and "
                    + "updater state); peak RSS %,d MB%n", plannedBytes / (1L << 20), peakRssMb());
        }
        out.printf(Locale.ROOT, "{\"model\":\"%s\",\"mode\":\"%s\",\"batch\":%d,\"input\":\"%s\",\"median_ms\":%.2f,"
                + "\"min_ms\":%.2f,\"images_per_s\":%.2f,\"backend\":\"%s\",\"peak_rss_mb\":%d%s}%n",
                id, mode.toLowerCase(Locale.ROOT), batch, input, median, sorted[0], imagesPerSecond, backend,
                peakRssMb(),
                mode.equalsIgnoreCase("import") ? "" : ",\"engine\":\"" + engine + "\""
                        + (infer ? ",\"precision\":\"" + ranIn + "\"" : "")
                        + (plannedBytes >= 0 ? ",\"planned_mb\":" + plannedBytes / (1L << 20) : ""));
    }
}
