package org.densenet4j.training;

import java.util.Random;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Data augmentation on NCHW batches, in place. */
public final class Augmentation {

    private Augmentation() {
    }

    /** Flips each image horizontally with probability 1/2 and shifts it by up to {@code max} pixels, zero-filled. */
    public static void flipAndShift(INDArray x, int max, Random rnd) {
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

    private static long[] reversed(long n) {
        long[] r = new long[(int) n];
        for (int i = 0; i < n; i++) {
            r[i] = n - 1 - i;
        }
        return r;
    }
}
