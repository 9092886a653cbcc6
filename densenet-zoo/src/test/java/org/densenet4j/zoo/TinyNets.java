package org.densenet4j.zoo;

import org.densenet4j.zoo.DenseNetConfig.Stem;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** Small DenseNets and a synthetic two-class image problem for fast tests. */
public final class TinyNets {

    private TinyNets() {
    }

    /** A DenseNet-BC with two dense blocks of two conv blocks, k=4, on 12x12 grayscale images. */
    public static DenseNetConfig.Builder tinyBc() {
        return DenseNetConfig.builder()
                .stem(Stem.CIFAR)
                .growthRate(4)
                .initialFilters(8)
                .blockLayers(2, 2)
                .bottleneck(true)
                .compression(0.5)
                .numClasses(2)
                .inputShape(12, 12, 1)
                .weightDecay(0);
    }

    /**
     * Images whose class is where a bright bar is: the top half (class 0) or the bottom half (class
     * 1), on uniform noise. Labels are one-hot.
     */
    public static DataSet bars(int n, int size, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, n, 1, size, size).muli(0.5);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, 2);
        java.util.Random rnd = new java.util.Random(seed);
        for (int i = 0; i < n; i++) {
            int cls = rnd.nextInt(2);
            int row = cls == 0 ? rnd.nextInt(size / 2) : size / 2 + rnd.nextInt(size / 2);
            for (int c = 0; c < size; c++) {
                x.putScalar(new long[] {i, 0, row, c}, 1.0);
            }
            y.putScalar(i, cls, 1.0);
        }
        return new DataSet(x, y);
    }

    /**
     * A two-class segmentation problem: a bright rectangle of random size and place on uniform
     * noise; the labels are one-hot per pixel, [n, 2, size, size], class 1 inside the rectangle.
     */
    public static DataSet squares(int n, int size, long seed) {
        java.util.Random rnd = new java.util.Random(seed);
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, n, 1, size, size).muli(0.6);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, 2, size, size);
        for (int i = 0; i < n; i++) {
            int h = size / 4 + rnd.nextInt(size / 3);
            int w = size / 4 + rnd.nextInt(size / 3);
            int top = rnd.nextInt(size - h);
            int left = rnd.nextInt(size - w);
            for (int r = 0; r < size; r++) {
                for (int c = 0; c < size; c++) {
                    boolean inside = r >= top && r < top + h && c >= left && c < left + w;
                    if (inside) {
                        x.putScalar(new long[] {i, 0, r, c}, 0.4 + 0.6 * rnd.nextFloat());
                    }
                    y.putScalar(new long[] {i, inside ? 1 : 0, r, c}, 1.0);
                }
            }
        }
        return new DataSet(x, y);
    }
}
