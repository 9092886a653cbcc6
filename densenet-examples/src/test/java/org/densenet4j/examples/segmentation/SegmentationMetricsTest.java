package org.densenet4j.examples.segmentation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

/** Pixel accuracy and IoU on confusions worked out by hand. */
class SegmentationMetricsTest {

    /** 10 pixels: 6 background, 3 of class 1, 1 of class 2 (3 classes). */
    private static final int[] TRUTH = {0, 0, 0, 0, 0, 0, 1, 1, 1, 2};

    private static SegmentationMetrics of(int[] truth, int[] predicted) {
        SegmentationMetrics m = new SegmentationMetrics(3);
        for (int i = 0; i < truth.length; i++) {
            m.add(truth[i], predicted[i]);
        }
        return m;
    }

    @Test
    void aPerfectSegmentationScoresOne() {
        SegmentationMetrics m = of(TRUTH, TRUTH);
        assertEquals(1.0, m.pixelAccuracy());
        assertEquals(1.0, m.meanIoU());
        assertEquals(10, m.pixels());
    }

    @Test
    void allBackgroundScoresTheBackgroundShareAndItsIoUOverTheClasses() {
        SegmentationMetrics m = of(TRUTH, new int[10]);
        assertEquals(0.6, m.pixelAccuracy(), 1e-12);
        assertEquals(0.6, m.iou(0), 1e-12); // 6 right of a union of 10
        assertEquals(0.0, m.iou(1));
        assertEquals(0.0, m.iou(2));
        assertEquals(0.2, m.meanIoU(), 1e-12);
    }

    @Test
    void twoSwappedClassesCountAgainstBoth() {
        // class 1's pixels called 2 and class 2's called 1
        SegmentationMetrics m = of(TRUTH, new int[] {0, 0, 0, 0, 0, 0, 2, 2, 2, 1});
        assertEquals(0.6, m.pixelAccuracy(), 1e-12);
        assertEquals(1.0, m.iou(0));
        assertEquals(0.0, m.iou(1));
        assertEquals(0.0, m.iou(2));
        assertEquals(1.0 / 3, m.meanIoU(), 1e-12);
        assertEquals(3, m.count(1, 2));
        // one of class 1's three pixels called background: IoU(1) = 2/3, IoU(0) = 6/7
        SegmentationMetrics one = of(TRUTH, new int[] {0, 0, 0, 0, 0, 0, 0, 1, 1, 2});
        assertEquals(6.0 / 7, one.iou(0), 1e-12);
        assertEquals(2.0 / 3, one.iou(1), 1e-12);
        assertEquals((6.0 / 7 + 2.0 / 3 + 1) / 3, one.meanIoU(), 1e-12);
    }

    @Test
    void aClassNeitherPresentNorPredictedIsLeftOutOfTheMean() {
        SegmentationMetrics m = new SegmentationMetrics(5);
        m.add(0, 0);
        m.add(1, 1);
        assertTrue(Double.isNaN(m.iou(4)));
        assertEquals(1.0, m.meanIoU());
        assertTrue(Double.isNaN(new SegmentationMetrics(3).pixelAccuracy()));
    }

    @Test
    void scoresArePredictedByTheirHighestClassPerPixel() {
        // one scene of 1x2 pixels, 3 classes: pixel 0 scores class 2 highest, pixel 1 class 0
        var scores = Nd4j.create(new float[] {0.1f, 0.7f, 0.2f, 0.1f, 0.7f, 0.2f}, new long[] {1, 3, 1, 2}, 'c');
        SegmentationMetrics m = new SegmentationMetrics(3);
        m.add(new byte[][] {{2, 1}}, scores);
        assertEquals(1, m.count(2, 2));
        assertEquals(1, m.count(1, 0));
        assertEquals(0.5, m.pixelAccuracy());
        assertThrows(IllegalArgumentException.class, () -> m.add(new byte[][] {{0, 0}, {0, 0}}, scores));
    }

    @Test
    void theConstantBaselineOfASet() throws Exception {
        SegmentationSet set = SegmentationSet.generate(org.densenet4j.examples.FashionMnist.samples(), 5, 32, 3);
        SegmentationMetrics m = SegmentationMetrics.constant(set, SegmentationSet.BACKGROUND);
        long[] counts = set.classCounts();
        assertEquals((double) counts[0] / (5 * 32 * 32), m.pixelAccuracy(), 1e-12);
        long present = java.util.Arrays.stream(counts).filter(c -> c > 0).count();
        assertEquals(m.pixelAccuracy() / present, m.meanIoU(), 1e-12);
    }
}
