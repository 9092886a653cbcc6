package org.densenet4j.examples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.function.Function;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.training.Checkpoint;
import org.densenet4j.training.Epoch;
import org.densenet4j.training.Trainer;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TrainingSettings;
import org.densenet4j.zoo.io.AtomicFile;
import org.densenet4j.zoo.resnet.ResNetPreset;
import org.densenet4j.zoo.resnet.ResNetZooModel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ArrayNode;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

/**
 * Networks trained one after the other on the same data with the same settings, as "Dive into Deep
 * Learning" trains its ResNet-18 and its DenseNet on Fashion-MNIST (sections 8.6 and 8.7 of the
 * book: {@code train_ch6}, plain SGD, no augmentation): {@link #d2lContenders} are the two. Each
 * network's run is kept in a directory: a checkpoint after every epoch, its result when it is
 * done; a comparison started again over the same directory takes up the finished results and
 * continues an unfinished run from its checkpoint, so that hours of training survive a stop.
 *
 * <pre>{@code
 * ModelComparison compare = new ModelComparison(Path.of("compare"), ModelComparison.Settings.D2L, true);
 * List<ModelComparison.Result> results = compare.run(ModelComparison.d2lContenders(96), train, test,
 *         FashionMnist.d2lInput(96), null);
 * ComparisonReport.write(Path.of("compare"), results, ModelComparison.Settings.D2L);
 * }</pre>
 */
public final class ModelComparison {

    /**
     * A network to compare.
     *
     * @param name         its name (a file name stem too)
     * @param learningRate the SGD learning rate it trains at
     * @param build        a fresh network of these training settings
     */
    public record Contender(String name, double learningRate, Function<TrainingSettings, ComputationGraph> build) {
        /** Checks the name and the rate. */
        public Contender {
            if (name == null || !name.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("a contender's name must be letters, digits, '.', '_' or '-', was "
                        + name);
            }
            if (!(learningRate > 0 && Double.isFinite(learningRate))) {
                throw new IllegalArgumentException(name + ": the learning rate must be > 0, was " + learningRate);
            }
            Objects.requireNonNull(build, "build");
        }
    }

    /**
     * What every contender trains with.
     *
     * @param epochs epochs
     * @param batch  images per step
     * @param size   the side the images are resized to
     * @param seed   the seed of the weights and of the shuffles
     */
    public record Settings(int epochs, int batch, int size, long seed) {
        /** The book's: 10 epochs of batches of 256 at 96x96 ({@code num_epochs, batch_size} and {@code resize}). */
        public static final Settings D2L = new Settings(10, 256, 96, 42);

        /** Checks the numbers. */
        public Settings {
            if (epochs < 1 || batch < 1 || size < 1) {
                throw new IllegalArgumentException("epochs, batch and size must be >= 1, were " + epochs + ", " + batch
                        + " and " + size);
            }
        }
    }

    /**
     * One contender's run.
     *
     * @param name              the contender
     * @param learningRate      its learning rate
     * @param parameters        its parameter count (DL4J's: batch-norm statistics included)
     * @param engine            what ran its steps ({@link TrainingStep#describe()})
     * @param peakResidentBytes the largest peak resident memory of the processes that trained it, -1 unknown
     * @param trainImages       training images per epoch
     * @param testImages        test images evaluated after each epoch
     * @param epochs            its epochs
     */
    public record Result(String name, double learningRate, long parameters, String engine, long peakResidentBytes,
            int trainImages, int testImages, List<Epoch> epochs) {
        /** Copies the epochs. */
        public Result {
            epochs = List.copyOf(epochs);
        }

        /** The mean training time of an epoch, seconds. */
        public double meanEpochSeconds() {
            return epochs.stream().mapToDouble(Epoch::seconds).average().orElse(Double.NaN);
        }

        /** Training images per second over all epochs. */
        public double imagesPerSecond() {
            return trainImages / meanEpochSeconds();
        }

        /** The last epoch. */
        public Epoch last() {
            return epochs.get(epochs.size() - 1);
        }
    }

    /** Hears of the comparison's progress: the trainer's events, and when each contender starts and ends. */
    public interface Listener extends Trainer.Listener {
        /** Before {@code contender}'s first epoch of this call ({@code epochsDone} of them resumed). */
        default void starting(Contender contender, long parameters, String engine, int epochsDone) {
        }

        /** When {@code result} is complete (trained now, or read from an earlier run). */
        default void finished(Result result, boolean earlier) {
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Listener SILENT = new Listener() {
    };

    private final Path dir;
    private final Settings settings;
    private final boolean compiled;

    /**
     * A comparison kept in {@code dir}.
     *
     * @param compiled whether steps run on the compiled trainer where it can run a network
     */
    public ModelComparison(Path dir, Settings settings, boolean compiled) {
        this.dir = Objects.requireNonNull(dir, "dir");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.compiled = compiled;
    }

    /**
     * The book's two networks for {@code size x size} grayscale images: d2l's ResNet-18 at its
     * learning rate 0.05 and its DenseNet at 0.1 (the book's {@code lr} of each section).
     */
    public static List<Contender> d2lContenders(int size) {
        return List.of(
                new Contender(ResNetPreset.RESNET18_D2L.id(), 0.05, training -> new ResNetZooModel(
                        ResNetPreset.RESNET18_D2L, c -> c.inputShape(size, size, 1).training(training)).init()),
                new Contender(DenseNetPreset.D2L_DENSENET.id(), 0.1, training -> new DenseNetZooModel(
                        DenseNetPreset.D2L_DENSENET, c -> c.inputShape(size, size, 1).training(training)).init()));
    }

    /** The checkpoint of {@code contender}'s unfinished run. */
    public Path checkpointFile(Contender contender) {
        return dir.resolve(contender.name() + "-checkpoint.zip");
    }

    /** The result of {@code contender}'s finished run. */
    public Path resultFile(Contender contender) {
        return dir.resolve(contender.name() + "-result.json");
    }

    /** Whether the directory holds a run of any of {@code contenders}, finished or not. */
    public boolean hasState(List<Contender> contenders) {
        return contenders.stream().anyMatch(c -> Files.exists(checkpointFile(c)) || Files.exists(resultFile(c))
                || Files.exists(peakFile(c)));
    }

    /** Deletes what the directory holds of {@code contenders}' runs. */
    public void clear(List<Contender> contenders) throws IOException {
        for (Contender c : contenders) {
            new Checkpoint(checkpointFile(c), "").delete();
            Files.deleteIfExists(resultFile(c));
            Files.deleteIfExists(peakFile(c));
        }
    }

    /**
     * Trains every contender that has no result in the directory yet (continuing its checkpoint
     * when there is one) and returns all their results, in order.
     *
     * @param train    the training images and one-hot labels, as stored
     * @param test     the test images and labels, evaluated after each epoch
     * @param input    what every batch goes through first (the resize), training and test alike
     * @param listener progress, or null
     * @throws IOException naming the file when a checkpoint or result was written with other settings
     */
    public List<Result> run(List<Contender> contenders, DataSet train, DataSet test, UnaryOperator<INDArray> input,
            Listener listener) throws IOException {
        Listener l = listener != null ? listener : SILENT;
        Files.createDirectories(dir);
        List<Result> results = new ArrayList<>();
        for (Contender c : contenders) {
            String runSettings = runSettings(c, train.numExamples(), test.numExamples());
            Result earlier = readResult(c, runSettings);
            if (earlier != null) {
                l.finished(earlier, true);
                results.add(earlier);
                continue;
            }
            Result r = train(c, runSettings, train, test, input, l);
            writeResult(c, runSettings, r);
            new Checkpoint(checkpointFile(c), runSettings).delete();
            Files.deleteIfExists(peakFile(c));
            l.finished(r, false);
            results.add(r);
        }
        return results;
    }

    private Result train(Contender c, String runSettings, DataSet train, DataSet test, UnaryOperator<INDArray> input,
            Listener l) throws IOException {
        Checkpoint checkpoint = new Checkpoint(checkpointFile(c), runSettings);
        ComputationGraph net;
        Random random;
        int done = 0;
        List<Epoch> before = List.of();
        if (checkpoint.exists()) {
            Checkpoint.Resumed r = checkpoint.resume();
            net = r.net();
            random = r.random();
            done = r.epochsDone();
            before = r.epochs();
        } else {
            net = c.build().apply(new TrainingSettings(new Sgd(c.learningRate()), 0, settings.seed()));
            random = new Random(settings.seed());
        }
        TrainingStep step = TrainingStep.of(net, compiled);
        l.starting(c, net.numParams(), step.describe(), done);
        System.gc(); // the previous contender's arrays, before the peak starts over
        long peak = Math.max(readPeak(c), PeakMemory.reset() ? -1 : PeakMemory.residentBytes());
        long[] peakSoFar = {peak};
        Trainer.Listener epochs = new Trainer.Listener() {
            @Override
            public void batch(int epoch, int batchesDone, int batches, double loss, double accuracy, double perSecond) {
                l.batch(epoch, batchesDone, batches, loss, accuracy, perSecond);
            }

            @Override
            public void epoch(Epoch e) {
                peakSoFar[0] = Math.max(peakSoFar[0], PeakMemory.residentBytes());
                writePeak(c, peakSoFar[0]);
                l.epoch(e);
            }
        };
        List<Epoch> now = new Trainer(step, new Trainer.Options(settings.epochs(), settings.batch(), false, input))
                .run(train, test, done + 1, random, epochs, checkpoint, before);
        step.finish();
        List<Epoch> all = new ArrayList<>(before);
        all.addAll(now);
        return new Result(c.name(), c.learningRate(), net.numParams(), step.describe(),
                Math.max(peakSoFar[0], PeakMemory.residentBytes()), train.numExamples(), test.numExamples(), all);
    }

    /** What must match for a checkpoint or result to be taken up: the contender and every setting. */
    private String runSettings(Contender c, int trainImages, int testImages) {
        return String.join("|", "compare", c.name(), "lr=" + c.learningRate(), "sgd", "epochs=" + settings.epochs(),
                "batch=" + settings.batch(), "size=" + settings.size(), "seed=" + settings.seed(),
                "train=" + trainImages, "test=" + testImages);
    }

    private Path peakFile(Contender c) {
        return dir.resolve(c.name() + "-peak-bytes.txt");
    }

    private long readPeak(Contender c) {
        try {
            return Long.parseLong(Files.readString(peakFile(c)).trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    private void writePeak(Contender c, long bytes) {
        try {
            AtomicFile.write(peakFile(c), Long.toString(bytes).getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void writeResult(Contender c, String runSettings, Result r) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("settings", runSettings);
        root.put("name", r.name());
        root.put("learningRate", r.learningRate());
        root.put("parameters", r.parameters());
        root.put("engine", r.engine());
        root.put("peakResidentBytes", r.peakResidentBytes());
        root.put("trainImages", r.trainImages());
        root.put("testImages", r.testImages());
        ArrayNode epochs = root.putArray("epochs");
        for (Epoch e : r.epochs()) {
            epochs.addArray().add(e.epoch()).add(e.trainLoss()).add(e.trainAccuracy()).add(e.testLoss())
                    .add(e.testAccuracy()).add(e.seconds()).add(e.imagesPerSecond());
        }
        AtomicFile.write(resultFile(c), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
    }

    /** The finished result of {@code c}, or null when there is none; one of other settings is an error. */
    private Result readResult(Contender c, String runSettings) throws IOException {
        Path file = resultFile(c);
        if (!Files.exists(file)) {
            return null;
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not a comparison result (" + e.getMessage() + "); delete it to train "
                    + c.name() + " again", e);
        }
        if (!runSettings.equals(root.path("settings").asText())) {
            throw new IOException(file + ": was written by a comparison with other settings (" + root.path("settings")
                    .asText() + ", now " + runSettings + "); compare in another directory, or delete it");
        }
        List<Epoch> epochs = new ArrayList<>();
        for (JsonNode e : root.path("epochs")) {
            epochs.add(new Epoch(e.get(0).asInt(), e.get(1).asDouble(), e.get(2).asDouble(), e.get(3).asDouble(),
                    e.get(4).asDouble(), e.get(5).asDouble(), e.get(6).asDouble()));
        }
        if (epochs.size() != settings.epochs()) {
            throw new IOException(file + ": holds " + epochs.size() + " epochs, the settings say " + settings.epochs()
                    + "; delete it to train " + c.name() + " again");
        }
        return new Result(root.path("name").asText(), root.path("learningRate").asDouble(),
                root.path("parameters").asLong(), root.path("engine").asText(), root.path("peakResidentBytes").asLong(),
                root.path("trainImages").asInt(), root.path("testImages").asInt(), epochs);
    }
}
