package org.densenet4j.examples.segmentation;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Per-pixel evaluation of a segmentation: a confusion matrix over pixels (true class by predicted
 * class) and what follows from it, the pixel accuracy, each class's intersection over union
 * (true positives / (true positives + false positives + false negatives)) and their mean.
 *
 * <p>The mean IoU averages the classes that occur, in the truth or in the predictions; a class
 * neither has is left out rather than counted as 0 or 1 (as the Tiramisu paper's and most
 * segmentation benchmarks' code does).
 */
public final class SegmentationMetrics {

    private final long[][] confusion;

    /** Empty counts for {@code classes} classes. */
    public SegmentationMetrics(int classes) {
        if (classes < 1) {
            throw new IllegalArgumentException("classes must be >= 1, was " + classes);
        }
        confusion = new long[classes][classes];
    }

    /**
     * The metrics of predicting {@code predicted} everywhere on {@code set} (the all-background
     * baseline for {@link SegmentationSet#BACKGROUND}).
     */
    public static SegmentationMetrics constant(SegmentationSet set, int predicted) {
        SegmentationMetrics m = new SegmentationMetrics(SegmentationSet.classes());
        for (byte[] mask : set.masks()) {
            for (byte truth : mask) {
                m.add(truth, predicted);
            }
        }
        return m;
    }

    /** The number of classes. */
    public int classes() {
        return confusion.length;
    }

    /** Counts one pixel. */
    public void add(int truth, int predicted) {
        confusion[truth][predicted]++;
    }

    /**
     * Counts the pixels of a batch: {@code truth} the class masks of its scenes (row-major),
     * {@code scores} the model's per-pixel class scores [n, classes, H, W], the highest one predicted.
     */
    public void add(byte[][] truth, INDArray scores) {
        if (scores.rank() != 4 || scores.size(0) != truth.length || scores.size(1) != classes()) {
            throw new IllegalArgumentException("scores must be [" + truth.length + ", " + classes()
                    + ", H, W], were " + java.util.Arrays.toString(scores.shape()));
        }
        int[] predicted = scores.argMax(1).dup('c').data().asInt();
        int area = predicted.length / truth.length;
        for (int n = 0; n < truth.length; n++) {
            if (truth[n].length != area) {
                throw new IllegalArgumentException("mask " + n + " has " + truth[n].length + " pixels, the scores "
                        + area);
            }
            for (int i = 0; i < area; i++) {
                confusion[truth[n][i]][predicted[n * area + i]]++;
            }
        }
    }

    /** The pixels of class {@code truth} predicted as {@code predicted}. */
    public long count(int truth, int predicted) {
        return confusion[truth][predicted];
    }

    /** All pixels counted. */
    public long pixels() {
        long n = 0;
        for (long[] row : confusion) {
            for (long v : row) {
                n += v;
            }
        }
        return n;
    }

    /** The fraction of pixels whose class was predicted right (NaN before any pixel). */
    public double pixelAccuracy() {
        long right = 0;
        for (int c = 0; c < classes(); c++) {
            right += confusion[c][c];
        }
        long n = pixels();
        return n == 0 ? Double.NaN : (double) right / n;
    }

    /** Class {@code c}'s intersection over union, NaN when it is neither in the truth nor predicted. */
    public double iou(int c) {
        long truePositives = confusion[c][c];
        long union = -truePositives;
        for (int k = 0; k < classes(); k++) {
            union += confusion[c][k] + confusion[k][c];
        }
        return union == 0 ? Double.NaN : (double) truePositives / union;
    }

    /** The mean of the classes' IoU, over the classes in the truth or the predictions (NaN before any pixel). */
    public double meanIoU() {
        double sum = 0;
        int n = 0;
        for (int c = 0; c < classes(); c++) {
            double v = iou(c);
            if (!Double.isNaN(v)) {
                sum += v;
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }
}
