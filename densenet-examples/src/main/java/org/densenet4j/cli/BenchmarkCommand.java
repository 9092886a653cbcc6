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
import org.densenet4j.zoo.fcn.FcDenseNetConfig;
import org.densenet4j.zoo.fcn.FcDenseNetPreset;
import org.densenet4j.zoo.fcn.FcDenseNetZooModel;
import org.densenet4j.zoo.resnet.ResNetConfig;
import org.densenet4j.zoo.resnet.ResNetPreset;
import org.densenet4j.zoo.resnet.ResNetZooModel;
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
            description = "Preset id (a DenseNet's, resnet18-d2l or an fc-densenet*), or a JSON file of DenseNet "
                    + "settings (default: ${DEFAULT-VALUE}).")
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

    /** Why the compiled engine could not run the model, when it was asked for and could not; else null. */
    private String fallback;

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
        String lower = mode.toLowerCase(Locale.ROOT);
        if (!lower.equals("infer") && !lower.equals("train") && !lower.equals("import")) {
            throw new UserError("--mode must be infer, train or import, was '" + mode + "'");
        }
        Subject subject = subject();
        Run run = switch (lower) {
            case "infer" -> inference(subject);
            case "train" -> training(subject);
            default -> {
                if (weights == null) {
                    throw new UserError("--mode import needs --weights FILE.h5");
                }
                DenseNetConfig config = subject.denseNet();
                if (config == null) {
                    throw new UserError("--mode import reads Keras DenseNet weights; " + model + " is not a DenseNet");
                }
                yield () -> KerasDenseNetImporter.load(weights, config).close();
            }
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
        long[] in = subject.input();
        String size = in[2] + "x" + in[3] + (in[1] == 3 ? "" : "x" + in[1]);
        report(spec.commandLine().getOut(), subject.name(), size, ms);
        return 0;
    }

    @FunctionalInterface
    private interface Run {
        void once() throws Exception;
    }

    /**
     * The network {@code --model} names at {@code --input}, with SGD + momentum for training steps:
     * a DenseNet (a preset or a settings file), d2l's ResNet or an FC-DenseNet; {@code denseNet} is
     * its configuration when it is a DenseNet (the one kind {@code --mode import} reads weights for).
     *
     * @param input  the shape of a batch of inputs
     * @param labels the shape of its labels: one-hot classes, or per pixel for an FC-DenseNet
     */
    private record Subject(String name, java.util.function.Supplier<ComputationGraph> net, long[] input,
            long[] labels, DenseNetConfig denseNet) {
    }

    private static final org.nd4j.linalg.learning.config.IUpdater UPDATER =
            new org.nd4j.linalg.learning.config.Nesterovs(0.01, 0.9);

    private Subject subject() throws java.io.IOException {
        String id = model.trim().toLowerCase(Locale.ROOT);
        int[] hwc = input == null ? null : Models.parseInput(input);
        boolean channelsGiven = input != null && input.toLowerCase(Locale.ROOT).split("x").length == 3;
        try {
            if (id.startsWith("resnet")) {
                ResNetConfig base = ResNetPreset.fromId(id).config();
                ResNetConfig c = base.toBuilder().inputShape(hwc == null ? base.inputHeight() : hwc[0],
                        hwc == null ? base.inputWidth() : hwc[1], channelsGiven ? hwc[2] : base.inputChannels())
                        .updater(UPDATER).build();
                return new Subject(id, () -> new ResNetZooModel(id, c).init(), shape(c.inputChannels(),
                        c.inputHeight(), c.inputWidth()), new long[] {batch, c.numClasses()}, null);
            }
            if (id.startsWith("fc-densenet")) {
                FcDenseNetConfig base = FcDenseNetPreset.fromId(id).config();
                FcDenseNetConfig c = base.toBuilder().inputShape(hwc == null ? base.inputHeight() : hwc[0],
                        hwc == null ? base.inputWidth() : hwc[1], channelsGiven ? hwc[2] : base.inputChannels())
                        .updater(UPDATER).build();
                return new Subject(id, () -> new FcDenseNetZooModel(id, c).init(), shape(c.inputChannels(),
                        c.inputHeight(), c.inputWidth()), new long[] {batch, c.numClasses(), c.inputHeight(),
                        c.inputWidth()}, null);
            }
        } catch (IllegalArgumentException e) {
            throw new UserError(model + ": " + e.getMessage());
        }
        Architecture architecture = Models.architecture(model);
        DenseNetConfig base = architecture.config().build();
        DenseNetConfig config = input == null ? base : withInput(base, input);
        DenseNetConfig trained = config.toBuilder().updater(UPDATER).build();
        return new Subject(architecture.name(), () -> new DenseNetZooModel(model, trained).init(),
                shape(config.inputChannels(), config.inputHeight(), config.inputWidth()),
                new long[] {batch, config.numClasses()}, config);
    }

    private long[] shape(int channels, int height, int width) {
        return new long[] {batch, channels, height, width};
    }

    private Run inference(Subject subject) {
        ComputationGraph net = subject.net().get();
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, subject.input());
        if (engineOption.compiled() && CompiledGraph.available()) {
            try {
                CompiledGraph compiled = CompiledGraph.compile(net, precision.engineOptions());
                engine = "compiled";
                ranIn = compiled.precision().id();
                return () -> compiled.outputSingle(x);
            } catch (UnsupportedOperationException e) {
                fallback(subject, e);
            }
        }
        return () -> net.outputSingle(x);
    }

    private Run training(Subject subject) {
        ComputationGraph net = subject.net().get();
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, subject.input());
        INDArray y = Nd4j.zeros(DataType.FLOAT, subject.labels());
        long classes = subject.labels()[1];
        for (int i = 0; i < batch; i++) {
            if (subject.labels().length == 2) {
                y.putScalar(i, i % classes, 1f);
            } else { // per pixel: one class per image
                y.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i), org.nd4j.linalg.indexing.NDArrayIndex.point(
                        i % classes)).assign(1f);
            }
        }
        org.nd4j.linalg.dataset.DataSet data = new org.nd4j.linalg.dataset.DataSet(x, y);
        TrainingStep step = TrainingStep.of(net, engineOption.compiled(), memory.memoryEfficient);
        engine = step.compiled().isPresent() ? memory.memoryEfficient ? "compiled-memory-efficient" : "compiled"
                : "graph";
        if (step.compiled().isEmpty() && engineOption.compiled()) {
            try {
                org.densenet4j.engine.CompiledTrainer.compile(net); // only to say why it cannot
            } catch (UnsupportedOperationException e) {
                fallback(subject, e);
            }
        }
        plannedBytes = Models.prepare(model, step, x.shape());
        return () -> step.fit(data);
    }

    /** Says that the compiled engine cannot run the model and DL4J's graph times it instead. */
    private void fallback(Subject subject, UnsupportedOperationException why) {
        spec.commandLine().getOut().printf("%s: the compiled engine cannot run it (%s); timing DL4J's graph "
                + "(with FastPath's helpers) instead%n", subject.name(), why.getMessage());
        engine = "graph";
        fallback = why.getMessage();
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
                        + (plannedBytes >= 0 ? ",\"planned_mb\":" + plannedBytes / (1L << 20) : "")
                        + (fallback != null ? ",\"fallback\":\"" + fallback.replace("\\", "/").replace('"', '\'')
                                + "\"" : ""));
    }
}
