package org.densenet4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.examples.ImageFolder;
import org.densenet4j.examples.TrainingCurves;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.engine.CompiledTrainer;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.ImagePreProcessingScaler;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.schedule.CycleSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code densenet train}: trains a preset on Fashion-MNIST and writes the model, its curves and a plot. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train a DenseNet on Fashion-MNIST (28x28 grayscale, 10 classes) or on a folder of class "
                + "subfolders with SGD + Nesterov momentum "
                + "and a one-cycle learning rate, random flips and 2-pixel shifts; evaluate on the test set after "
                + "each epoch; write the model zip (labels and input scaling stored with it), a CSV of the curves "
                + "and a PNG plot. Files are written only when complete."})
final class TrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--dataset", defaultValue = "fashion-mnist",
            description = "fashion-mnist (default), or a folder with one subfolder of images per class.")
    String dataset;

    @Option(names = "--data-dir", defaultValue = FashionMnist.DEBIAN_DIR,
            description = "Folder of the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--input", description = "Images are resized to HxWxC (default: 28x28x1 for Fashion-MNIST, "
            + "32x32x3 for a folder).")
    String input;

    @Option(names = "--test-split", defaultValue = "0.2",
            description = "For a folder: the fraction of each class's images held out as the test set "
                    + "(default: ${DEFAULT-VALUE}).")
    double testSplit;

    @Option(names = "--model", defaultValue = "densenet-bc100-k12",
            description = "Preset id, or a JSON file of DenseNet settings; set to 28x28x1 and 10 classes "
                    + "(default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--epochs", defaultValue = "1", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", defaultValue = "64", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", defaultValue = "0.2", description = "Peak learning rate of the one-cycle schedule (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--limit", defaultValue = "0", description = "Use only the first N training images (0: all).")
    int limit;

    @Option(names = "--test-limit", defaultValue = "0", description = "Use only the first N test images (0: all).")
    int testLimit;

    @Option(names = "--no-augment", description = "Train without random flips and shifts.")
    boolean noAugment;

    @Mixin
    EngineOption engine;

    @Option(names = "--out", required = true, description = "The model zip to write; the curves go beside it.")
    Path out;

    @Option(names = "--force", description = "Replace existing output files (and an earlier run's checkpoint).")
    boolean force;

    @Option(names = "--resume", description = "Continue the run whose checkpoint (<out>-checkpoint.zip, written after "
            + "every epoch) is there; the settings must be the same.")
    boolean resume;

    @Override
    public Integer call() throws Exception {
        boolean fashion = dataset.equals("fashion-mnist");
        if (!fashion && !Files.isDirectory(Path.of(dataset))) {
            throw new UserError("--dataset '" + dataset + "': neither fashion-mnist nor a folder of class subfolders");
        }
        if (testSplit <= 0 || testSplit >= 1) {
            throw new UserError("--test-split must be between 0 and 1, was " + testSplit);
        }
        if (epochs < 1 || batch < 1) {
            throw new UserError("--epochs and --batch must be >= 1");
        }
        Path csv = sibling(out, "-curves.csv");
        Path png = sibling(out, "-curves.png");
        Path checkpoint = sibling(out, "-checkpoint.zip");
        for (Path p : List.of(out, csv, png)) {
            if (Files.exists(p) && !force) {
                throw new UserError(p + ": exists; pass --force to replace it");
            }
        }
        if (Files.exists(checkpoint) && !resume && !force) {
            throw new UserError(checkpoint + ": an earlier run stopped here; pass --resume to continue it or --force "
                    + "to start over");
        }
        int[] hwc = input != null ? Models.parseInput(input) : fashion ? new int[] {28, 28, 1} : new int[] {32, 32, 3};
        DataSet train;
        DataSet test;
        List<String> labels;
        String dataName;
        if (fashion) {
            train = FashionMnist.load(dataDir, true, limit);
            test = FashionMnist.load(dataDir, false, testLimit);
            if (hwc[0] != 28 || hwc[1] != 28 || hwc[2] != 1) {
                throw new UserError("--input " + input + ": Fashion-MNIST images are 28x28x1");
            }
            labels = FashionMnist.LABELS;
            dataName = "Fashion-MNIST";
        } else {
            ImageFolder folder = ImageFolder.scan(Path.of(dataset));
            List<List<Integer>> parts = folder.split(testSplit, seed);
            if (parts.get(1).isEmpty()) {
                throw new UserError(dataset + ": too few images to hold out a test set (" + folder.files().size()
                        + " images in " + folder.classes().size() + " classes)");
            }
            List<Integer> trainPart = limit > 0 ? parts.get(0).subList(0, Math.min(limit, parts.get(0).size())) : parts.get(0);
            List<Integer> testPart = testLimit > 0 ? parts.get(1).subList(0, Math.min(testLimit, parts.get(1).size())) : parts.get(1);
            train = folder.load(trainPart, hwc[0], hwc[1], hwc[2]);
            test = folder.load(testPart, hwc[0], hwc[1], hwc[2]);
            labels = folder.classes();
            dataName = dataset;
        }
        ImagePreProcessingScaler scaler = new ImagePreProcessingScaler(0, 1);
        scaler.transform(train.getFeatures());
        scaler.transform(test.getFeatures());

        int n = train.numExamples();
        int iterationsPerEpoch = (n + batch - 1) / batch;
        Models.Architecture architecture = Models.architecture(model);
        String name = architecture.name();
        DenseNetConfig config = architecture.config()
                .inputShape(hwc[0], hwc[1], hwc[2]).numClasses(labels.size()).seed(seed)
                .updater(new Nesterovs(schedule(epochs * iterationsPerEpoch), 0.9))
                .build();
        String settings = String.join("|", config.toString(), "epochs=" + epochs, "batch=" + batch, "n=" + n,
                "augment=" + !noAugment) + (fashion ? "" : "|data=" + dataName);
        TrainingCurves curves = new TrainingCurves();
        Random rnd = new Random(seed);
        ComputationGraph net;
        int done = 0;
        if (resume && Files.exists(checkpoint)) {
            net = ModelFiles.read(checkpoint, true, true);
            Map<String, Object> state = ModelSerializer.getObjectFromFile(checkpoint.toFile(), CHECKPOINT_STATE);
            if (!settings.equals(state.get("settings"))) {
                throw new UserError(checkpoint + ": was written by a run with other settings; run with those, or "
                        + "--force to start over (it had: " + state.get("settings") + ")");
            }
            done = (Integer) state.get("epochs done");
            rnd = (Random) state.get("random");
            for (double[] e : (double[][]) state.get("curves")) {
                curves.add(new TrainingCurves.Epoch((int) e[0], e[1], e[2], e[3], e[4], e[5], e[6]));
            }
        } else {
            net = new DenseNetZooModel(name, config).init();
        }
        BatchAccuracy accuracy = new BatchAccuracy();
        CompiledTrainer trainer = engine.compiled() ? CompiledTrainer.tryCompile(net).orElse(null) : null;
        if (trainer == null) {
            net.setListeners(accuracy); // the graph's fit() reports its forward passes to listeners
        }

        PrintWriter o = spec.commandLine().getOut();
        o.printf("Training %s (%,d parameters) on %s: %,d training, %,d test images, %d epochs of %d "
                + "batches of %d%s; %s, %s%n", name, net.numParams(), dataName, n, test.numExamples(), epochs,
                iterationsPerEpoch, batch, done > 0 ? ", resuming after epoch " + done : "", Backend.describe(),
                trainer != null ? "compiled training steps" : "the graph's fit()");
        if (trainer != null) {
            long[] shape = train.getFeatures().shape();
            Models.prepare(name, trainer, Math.min(batch, n), shape[1], shape[2], shape[3]);
        }
        for (int epoch = done + 1; epoch <= epochs; epoch++) {
            Progress progress = new Progress(o, "epoch " + epoch + "/" + epochs, iterationsPerEpoch);
            int[] order = shuffled(n, rnd);
            double lossSum = 0;
            long start = System.nanoTime();
            accuracy.reset();
            for (int it = 0; it < iterationsPerEpoch; it++) {
                int from = it * batch;
                int to = Math.min(n, from + batch);
                int[] idx = java.util.Arrays.copyOfRange(order, from, to);
                INDArray x = train.getFeatures().get(NDArrayIndex.indices(toLong(idx))).dup();
                INDArray y = train.getLabels().get(NDArrayIndex.indices(toLong(idx)));
                if (!noAugment) {
                    Augment.flipAndShift(x, 2, rnd);
                }
                accuracy.labels = y;
                if (trainer != null) {
                    trainer.fit(new DataSet(x, y));
                    accuracy.add(trainer.lastOutput());
                } else {
                    net.fit(new DataSet(x, y));
                }
                lossSum += net.score() * (to - from);
                double seconds = (System.nanoTime() - start) / 1e9;
                progress.update(it + 1, String.format(Locale.ROOT, "loss %.4f  acc %.4f  %.0f img/s",
                        lossSum / to, accuracy.value(), to / seconds));
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            Evaluation eval = new Evaluation(labels.size());
            double testLoss = evaluate(net, test, eval);
            curves.add(new TrainingCurves.Epoch(epoch, lossSum / n, accuracy.value(), testLoss, eval.accuracy(),
                    seconds, n / seconds));
            progress.done(String.format(Locale.ROOT, "loss %.4f  acc %.4f  test loss %.4f  test acc %.4f  %.0f s",
                    lossSum / n, accuracy.value(), testLoss, eval.accuracy(), seconds));
            if (epoch < epochs) {
                saveCheckpoint(net, checkpoint, settings, epoch, rnd, curves);
            }
        }
        net.setListeners();
        ModelFiles.write(net, out, force, scaler, Map.of("labels", labels, "model", name), false,
                new ModelCard(scaler != null ? ModelCard.STORED : "none", config.inputHeight(), config.inputWidth(),
                        config.inputChannels(), labels, Map.of("trainedOn", fashion ? dataName : dataset, "model", name)));
        curves.writeCsv(csv);
        curves.writePng(png, name + " on " + (fashion ? dataName : Path.of(dataset).getFileName()));
        Files.deleteIfExists(checkpoint);
        Files.deleteIfExists(ModelFiles.checksumFile(checkpoint));
        o.printf("Wrote %s, %s, %s%n", out, csv, png);
        return 0;
    }

    private static final String CHECKPOINT_STATE = "densenet-train-state";

    /** The model with its updater state, the settings, the epochs done, the random stream and the curves so far. */
    private static void saveCheckpoint(ComputationGraph net, Path checkpoint, String settings, int epoch, Random rnd,
                                       TrainingCurves curves) throws java.io.IOException {
        HashMap<String, Object> state = new HashMap<>();
        state.put("settings", settings);
        state.put("epochs done", epoch);
        state.put("random", rnd);
        state.put("curves", curves.epochs().stream().map(e -> new double[] {e.epoch(), e.trainLoss(), e.trainAccuracy(),
                e.testLoss(), e.testAccuracy(), e.seconds(), e.imagesPerSecond()}).toArray(double[][]::new));
        ModelFiles.write(net, checkpoint, true, null, Map.of(CHECKPOINT_STATE, state), true);
    }

    /**
     * One cycle over the whole run (constant for runs too short to have one): lr/10 up to lr over 45%
     * of the iterations, back to lr/10 over the next 45%, then decaying to lr/1000. DL4J's
     * three-argument CycleSchedule decays by 10x per iteration in its last 10%, which wastes them.
     * tools/bench/torch_train_fashion.py computes the same schedule.
     */
    private org.nd4j.linalg.schedule.ISchedule schedule(int iterations) {
        if (iterations < 20) {
            return new org.nd4j.linalg.schedule.FixedSchedule(learningRate);
        }
        int annealing = (int) Math.round(iterations * 0.1);
        return new CycleSchedule(ScheduleType.ITERATION, learningRate / 10, learningRate, iterations, annealing,
                Math.pow(0.01, 1.0 / annealing));
    }

    /** Mean test loss, accumulating the evaluation; through the compiled graph of the weights as they are now. */
    private double evaluate(ComputationGraph net, DataSet test, Evaluation eval) {
        UnaryOperator<INDArray> infer = CompiledGraph.inference(net);
        double loss = 0;
        int n = test.numExamples();
        for (int from = 0; from < n; from += 256) {
            int to = Math.min(n, from + 256);
            INDArray x = test.getFeatures().get(NDArrayIndex.interval(from, to));
            INDArray y = test.getLabels().get(NDArrayIndex.interval(from, to));
            INDArray p = infer.apply(x);
            eval.eval(y, p);
            // cross-entropy of the predicted probabilities
            loss -= org.nd4j.linalg.ops.transforms.Transforms.log(p.add(1e-12), false).mul(y).sumNumber().doubleValue();
        }
        return loss / n;
    }

    private static Path sibling(Path zip, String suffix) {
        String name = zip.getFileName().toString().replaceFirst("\\.zip$", "");
        return zip.resolveSibling(name + suffix);
    }

    private static int[] shuffled(int n, Random rnd) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }

    private static long[] toLong(int[] a) {
        long[] l = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            l[i] = a[i];
        }
        return l;
    }

    /** Data augmentation on NCHW batches. */
    static final class Augment {
        private Augment() {
        }

        private static long[] reversed(long n) {
            long[] r = new long[(int) n];
            for (int i = 0; i < n; i++) {
                r[i] = n - 1 - i;
            }
            return r;
        }

        /** Flips each image horizontally with probability 1/2 and shifts it by up to {@code max} pixels, zero-filled. */
        static void flipAndShift(INDArray x, int max, Random rnd) {
            long n = x.size(0);
            long h = x.size(2);
            long w = x.size(3);
            for (int i = 0; i < n; i++) {
                INDArray img = x.get(NDArrayIndex.point(i));
                INDArray src = img.dup();
                if (rnd.nextBoolean()) {
                    src = src.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.indices(reversed(w))).dup();
                }
                int dy = rnd.nextInt(2 * max + 1) - max;
                int dx = rnd.nextInt(2 * max + 1) - max;
                img.assign(0);
                long y0 = Math.max(0, dy);
                long y1 = Math.min(h, h + dy);
                long x0 = Math.max(0, dx);
                long x1 = Math.min(w, w + dx);
                img.get(NDArrayIndex.all(), NDArrayIndex.interval(y0, y1), NDArrayIndex.interval(x0, x1))
                        .assign(src.get(NDArrayIndex.all(), NDArrayIndex.interval(y0 - dy, y1 - dy),
                                NDArrayIndex.interval(x0 - dx, x1 - dx)));
            }
        }
    }
}
