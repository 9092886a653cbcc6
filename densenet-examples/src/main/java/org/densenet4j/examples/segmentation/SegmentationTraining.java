package org.densenet4j.examples.segmentation;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;

import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.training.Checkpoint;
import org.densenet4j.training.Epoch;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.io.AtomicFile;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The epoch loop of segmentation training on a {@link SegmentationSet}: each epoch shuffles the
 * scenes, fits them in batches through a {@link TrainingStep} (one-hot per-pixel labels made per
 * batch), then evaluates per pixel on the test set ({@link SegmentationMetrics}) and writes a
 * checkpoint. The zoo's {@code Trainer} scores classifiers (per image) and augments the features
 * alone, which would move the scenes off their masks; this loop does neither.
 */
public final class SegmentationTraining {

    /** Hears of the run's progress. */
    public interface Listener {
        /** After each batch: the running mean loss and pixel accuracy of the epoch, and the images per second. */
        default void batch(int epoch, int batchesDone, int batches, double loss, double pixelAccuracy,
                double imagesPerSecond) {
        }

        /** After each epoch's evaluation. */
        default void epoch(SegmentationEpoch epoch) {
        }
    }

    private static final String MEAN_IOU = "test mean IoU";
    private static final int EVAL_BATCH = 32;

    private final TrainingStep step;
    private final int epochs;
    private final int batch;

    /** Training through {@code step} for {@code epochs} epochs of batches of {@code batch} scenes. */
    public SegmentationTraining(TrainingStep step, int epochs, int batch) {
        if (epochs < 1 || batch < 1) {
            throw new IllegalArgumentException("epochs and batch must be >= 1, were " + epochs + " and " + batch);
        }
        this.step = step;
        this.epochs = epochs;
        this.batch = batch;
    }

    /** The batches of one epoch over {@code scenes} scenes. */
    public static int batchesPerEpoch(int scenes, int batch) {
        return (scenes + batch - 1) / batch;
    }

    /**
     * Trains epochs {@code firstEpoch..epochs} on {@code train}, evaluating on {@code test} after each.
     *
     * @param random     the shuffles' random stream (a resumed run's, to continue exactly)
     * @param listener   progress, or null
     * @param checkpoint written after every epoch but the last, or null
     * @param before     the epochs of the run before {@code firstEpoch} (a resumed run's, {@link #resumed})
     * @return this call's epochs
     */
    public List<SegmentationEpoch> run(SegmentationSet train, SegmentationSet test, int firstEpoch, Random random,
            Listener listener, Checkpoint checkpoint, List<SegmentationEpoch> before) throws IOException {
        Listener l = listener != null ? listener : new Listener() {
        };
        List<SegmentationEpoch> all = new ArrayList<>(before);
        List<SegmentationEpoch> done = new ArrayList<>();
        int n = train.count();
        int batches = batchesPerEpoch(n, batch);
        double pixels = (double) train.size() * train.size();
        for (int epoch = firstEpoch; epoch <= epochs; epoch++) {
            long[] order = shuffled(n, random);
            double lossSum = 0;
            long start = System.nanoTime();
            step.accuracy().reset();
            for (int b = 0; b < batches; b++) {
                int from = b * batch;
                int to = Math.min(n, from + batch);
                long[] idx = Arrays.copyOfRange(order, from, to);
                step.fit(new DataSet(train.features(idx), train.oneHot(idx)));
                // DL4J's CnnLossLayer sums the loss over a scene's pixels: report it per pixel, as the test loss
                lossSum += step.score() / pixels * (to - from);
                l.batch(epoch, b + 1, batches, lossSum / to, step.accuracy().value(),
                        to / ((System.nanoTime() - start) / 1e9));
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            SegmentationMetrics metrics = new SegmentationMetrics(SegmentationSet.classes());
            double testLoss = evaluate(step, test, metrics);
            SegmentationEpoch e = new SegmentationEpoch(epoch, lossSum / n, step.accuracy().value(), testLoss,
                    metrics.pixelAccuracy(), metrics.meanIoU(), seconds, n / seconds);
            done.add(e);
            all.add(e);
            l.epoch(e);
            if (checkpoint != null && epoch < epochs) {
                checkpoint.save(step.graph(), epoch, random, all.stream().map(SegmentationTraining::asEpoch).toList(),
                        Map.of(MEAN_IOU, all.stream().mapToDouble(SegmentationEpoch::testMeanIoU).toArray()));
            }
        }
        return done;
    }

    /**
     * The mean per-pixel cross-entropy of the step's graph on {@code test}, its predictions counted
     * into {@code metrics}.
     */
    public static double evaluate(TrainingStep step, SegmentationSet test, SegmentationMetrics metrics) {
        UnaryOperator<INDArray> infer = CompiledGraph.inference(step.graph());
        double loss = 0;
        int n = test.count();
        for (int from = 0; from < n; from += EVAL_BATCH) {
            int to = Math.min(n, from + EVAL_BATCH);
            long[] idx = new long[to - from];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = from + i;
            }
            INDArray p = infer.apply(test.features(idx));
            metrics.add(Arrays.copyOfRange(test.masks(), from, to), p);
            loss -= Transforms.log(p.add(1e-12), false).mul(test.oneHot(idx)).sumNumber().doubleValue();
        }
        return loss / ((double) n * test.size() * test.size());
    }

    /** The epochs of a resumed run, with the mean IoUs it saved beside them. */
    public static List<SegmentationEpoch> resumed(Checkpoint.Resumed r) {
        double[] iou = r.extra().get(MEAN_IOU) instanceof double[] d ? d : new double[0];
        List<SegmentationEpoch> out = new ArrayList<>();
        for (int i = 0; i < r.epochs().size(); i++) {
            Epoch e = r.epochs().get(i);
            out.add(new SegmentationEpoch(e.epoch(), e.trainLoss(), e.trainAccuracy(), e.testLoss(), e.testAccuracy(),
                    i < iou.length ? iou[i] : Double.NaN, e.seconds(), e.imagesPerSecond()));
        }
        return out;
    }

    private static Epoch asEpoch(SegmentationEpoch e) {
        return new Epoch(e.epoch(), e.trainLoss(), e.trainPixelAccuracy(), e.testLoss(), e.testPixelAccuracy(),
                e.seconds(), e.imagesPerSecond());
    }

    /**
     * Writes the epochs as CSV, atomically, with the all-background baseline's pixel accuracy and
     * mean IoU on the test set in every row for comparison.
     */
    public static void writeCsv(Path file, List<SegmentationEpoch> epochs, SegmentationMetrics baseline)
            throws IOException {
        StringBuilder sb = new StringBuilder("epoch,train_loss,train_pixel_accuracy,test_loss,test_pixel_accuracy,"
                + "test_mean_iou,baseline_pixel_accuracy,baseline_mean_iou,seconds,images_per_s\n");
        for (SegmentationEpoch e : epochs) {
            sb.append(String.format(Locale.ROOT, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.2f%n", e.epoch(),
                    e.trainLoss(), e.trainPixelAccuracy(), e.testLoss(), e.testPixelAccuracy(), e.testMeanIoU(),
                    baseline.pixelAccuracy(), baseline.meanIoU(), e.seconds(), e.imagesPerSecond()));
        }
        AtomicFile.write(file, tmp -> Files.writeString(tmp, sb, StandardCharsets.UTF_8));
    }

    private static long[] shuffled(int n, Random rnd) {
        long[] a = new long[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            long t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }
}
