package org.densenet4j.training;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.CompiledGraph;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The epoch loop of supervised training on in-memory data: each epoch shuffles the training set,
 * fits it in batches (augmented with random flips and shifts when asked), evaluates on the test set
 * through the compiled engine, reports the epoch and writes a checkpoint. What {@code densenet
 * train} runs.
 *
 * <pre>{@code
 * TrainingStep step = TrainingStep.of(new DenseNetZooModel(preset, c -> c.numClasses(10)).init(), true);
 * List<Epoch> epochs = new Trainer(step, new Trainer.Options(3, 64, true)).run(train, test, new Random(42));
 * }</pre>
 */
public final class Trainer {

    /**
     * How long and in what batches to train.
     *
     * @param epochs  epochs to train
     * @param batch   images per step
     * @param augment whether to flip and shift the training images at random
     * @param input   what every batch of images goes through before the network, training and test
     *                alike (a resize, for example); applied before the augmentation
     */
    public record Options(int epochs, int batch, boolean augment, UnaryOperator<INDArray> input) {
        /** Checks the numbers. */
        public Options {
            if (epochs < 1 || batch < 1) {
                throw new IllegalArgumentException("epochs and batch must be >= 1, were " + epochs + " and " + batch);
            }
            Objects.requireNonNull(input, "input");
        }

        /** Options whose batches reach the network as they are stored. */
        public Options(int epochs, int batch, boolean augment) {
            this(epochs, batch, augment, UnaryOperator.identity());
        }
    }

    /** Hears of the run's progress. */
    public interface Listener {
        /** After each batch: the running mean loss and accuracy of the epoch, and the images per second so far. */
        default void batch(int epoch, int batchesDone, int batches, double loss, double accuracy,
                double imagesPerSecond) {
        }

        /** After each epoch's evaluation. */
        default void epoch(Epoch epoch) {
        }
    }

    private static final Listener SILENT = new Listener() {
    };

    private final TrainingStep step;
    private final Options options;

    /** A trainer taking {@code step}s as {@code options} say. */
    public Trainer(TrainingStep step, Options options) {
        this.step = step;
        this.options = options;
    }

    /** The batches of one epoch over {@code examples} images. */
    public static int batchesPerEpoch(int examples, int batch) {
        return (examples + batch - 1) / batch;
    }

    /** Trains every epoch from the first, silently, without checkpoints. */
    public List<Epoch> run(DataSet train, DataSet test, Random random) throws IOException {
        return run(train, test, 1, random, null, null, List.of());
    }

    /**
     * Trains epochs {@code firstEpoch..options.epochs()} on {@code train}, evaluating on {@code test}
     * after each (when there is one: without, the epochs' test loss and accuracy are NaN).
     *
     * @param random     the shuffles' and the augmentation's random stream (a resumed run's, to continue exactly)
     * @param listener   progress, or null
     * @param checkpoint written after every epoch but the last, or null
     * @param before     the epochs of the run before {@code firstEpoch} (a resumed run's), saved with the checkpoints
     * @return this call's epochs
     */
    public List<Epoch> run(DataSet train, DataSet test, int firstEpoch, Random random, Listener listener,
            Checkpoint checkpoint, List<Epoch> before) throws IOException {
        Listener l = listener != null ? listener : SILENT;
        List<Epoch> all = new ArrayList<>(before);
        List<Epoch> epochs = new ArrayList<>();
        int n = train.numExamples();
        int batches = batchesPerEpoch(n, options.batch());
        for (int epoch = firstEpoch; epoch <= options.epochs(); epoch++) {
            int[] order = shuffled(n, random);
            double lossSum = 0;
            long start = System.nanoTime();
            step.accuracy().reset();
            for (int b = 0; b < batches; b++) {
                int from = b * options.batch();
                int to = Math.min(n, from + options.batch());
                long[] idx = Arrays.stream(Arrays.copyOfRange(order, from, to)).asLongStream().toArray();
                INDArray x = options.input().apply(train.getFeatures().get(NDArrayIndex.indices(idx)).dup());
                INDArray y = train.getLabels().get(NDArrayIndex.indices(idx));
                if (options.augment()) {
                    Augmentation.flipAndShift(x, 2, random);
                }
                step.fit(new DataSet(x, y));
                lossSum += step.score() * (to - from);
                l.batch(epoch, b + 1, batches, lossSum / to, step.accuracy().value(),
                        to / ((System.nanoTime() - start) / 1e9));
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double testLoss = Double.NaN;
            double testAccuracy = Double.NaN;
            if (test != null && test.numExamples() > 0) {
                Evaluation eval = new Evaluation(train.getLabels().columns());
                testLoss = evaluate(step.graph(), test, eval, options.input());
                testAccuracy = eval.accuracy();
            }
            Epoch e = new Epoch(epoch, lossSum / n, step.accuracy().value(), testLoss, testAccuracy, seconds,
                    n / seconds);
            epochs.add(e);
            all.add(e);
            l.epoch(e);
            if (checkpoint != null && epoch < options.epochs()) {
                checkpoint.save(step.graph(), epoch, random, all);
            }
        }
        return epochs;
    }

    /**
     * The mean cross-entropy of {@code net}'s predictions on {@code test}, accumulating them into
     * {@code eval}; through the compiled graph of the weights as they are now.
     */
    public static double evaluate(ComputationGraph net, DataSet test, Evaluation eval) {
        return evaluate(net, test, eval, UnaryOperator.identity());
    }

    /** As {@link #evaluate(ComputationGraph, DataSet, Evaluation)}, each batch through {@code input} first. */
    public static double evaluate(ComputationGraph net, DataSet test, Evaluation eval, UnaryOperator<INDArray> input) {
        UnaryOperator<INDArray> infer = CompiledGraph.inference(net);
        double loss = 0;
        int n = test.numExamples();
        for (int from = 0; from < n; from += 256) {
            int to = Math.min(n, from + 256);
            INDArray x = test.getFeatures().get(NDArrayIndex.interval(from, to));
            INDArray y = test.getLabels().get(NDArrayIndex.interval(from, to));
            INDArray p = infer.apply(input.apply(x));
            eval.eval(y, p);
            loss -= Transforms.log(p.add(1e-12), false).mul(y).sumNumber().doubleValue();
        }
        return loss / n;
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
}
