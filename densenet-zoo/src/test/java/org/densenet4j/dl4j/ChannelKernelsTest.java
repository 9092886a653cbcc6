package org.densenet4j.dl4j;

import org.densenet4j.onednn.HostArrays;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The Java kernels against nd4j's own ops, on views with an offset and on tensors large enough to run in parallel. */
class ChannelKernelsTest {

    /** ND4J's random arrays from a fixed seed, so that a failure replays. */
    @BeforeEach
    void seed() {
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(20261203L);
    }

    /** Sizes below and above the serial cut-off, with row lengths that are not multiples of four. */
    private static final long[][] SHAPES = {{2, 3, 5, 5}, {8, 24, 15, 15}, {4, 64, 28, 28}};

    @Test
    void rowSumsAndSquaresMatchNd4j() {
        for (long[] shape : SHAPES) {
            INDArray x = offsetView(shape);
            int channels = (int) shape[1];
            int rows = (int) (shape[0] * channels);
            INDArray x3 = x.reshape('c', shape[0], channels, shape[2] * shape[3]);
            double[] expected = x3.castTo(DataType.DOUBLE).sum(2).reshape(rows).toDoubleVector();
            assertArrayEquals(expected, ChannelKernels.rowSums(x, rows), 1e-3 * shape[2] * shape[3]);

            float[] centre = new float[channels];
            for (int c = 0; c < channels; c++) {
                centre[c] = 0.25f * c;
            }
            INDArray centred = x3.castTo(DataType.DOUBLE).sub(Nd4j.createFromArray(centre).castTo(DataType.DOUBLE)
                    .reshape(1, channels, 1).broadcast(x3.shape()));
            double[] squares = centred.mul(centred).sum(2).reshape(rows).toDoubleVector();
            assertArrayEquals(squares, ChannelKernels.rowCentredSquares(x, rows, centre), 1e-3 * shape[2] * shape[3]);
        }
    }

    @Test
    void affineAndGradientMapMatchNd4j() {
        for (long[] shape : SHAPES) {
            INDArray x = offsetView(shape);
            INDArray g = Nd4j.randn(DataType.FLOAT, shape);
            int channels = (int) shape[1];
            int rows = (int) (shape[0] * channels);
            float[] a = new float[channels];
            float[] b = new float[channels];
            float[] m = new float[channels];
            for (int c = 0; c < channels; c++) {
                a[c] = 0.5f + c;
                b[c] = -0.1f * c;
                m[c] = 0.01f * c;
            }
            INDArray out = Nd4j.createUninitialized(DataType.FLOAT, shape);
            for (boolean parallel : new boolean[] {true, false}) {
                ChannelKernels.affine(x, rows, a, b, out, parallel);
                assertClose(x.mul(perChannel(a, shape)).add(perChannel(b, shape)), out);
            }

            ChannelKernels.gradientMap(g, x, rows, m, a, b, m, out);
            INDArray expected = g.mul(perChannel(a, shape)).add(x.sub(perChannel(m, shape)).mul(perChannel(b, shape)))
                    .add(perChannel(m, shape));
            assertClose(expected, out);

            double[][] sums = ChannelKernels.rowGradientSums(g, x, rows, m);
            INDArray g3 = g.reshape('c', shape[0], channels, shape[2] * shape[3]).castTo(DataType.DOUBLE);
            INDArray xc = x.sub(perChannel(m, shape)).reshape('c', shape[0], channels, shape[2] * shape[3])
                    .castTo(DataType.DOUBLE);
            double[] sumG = g3.sum(2).reshape(rows).toDoubleVector();
            double[] sumGx = g3.mul(xc).sum(2).reshape(rows).toDoubleVector();
            for (int r = 0; r < rows; r++) {
                assertEquals(sumG[r], sums[0][r], 1e-3 * shape[2] * shape[3], "sum(g) of row " + r);
                assertEquals(sumGx[r], sums[1][r], 1e-3 * shape[2] * shape[3], "sum(g * (x - m)) of row " + r);
            }
        }
    }

    @Test
    void refusesWhatItCannotRead() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 4, 4);
        assertTrue(ChannelKernels.usable(x));
        assertFalse(ChannelKernels.usable(x.permute(0, 2, 3, 1)), "not C order");
        assertFalse(ChannelKernels.usable(x.castTo(DataType.DOUBLE)), "double");
        assertFalse(ChannelKernels.usable(x.dup('f')), "Fortran order");
        assertTrue(HostArrays.contiguous(x) == x, "read in place");
        INDArray copy = HostArrays.contiguous(x.dup('f'));
        assertTrue(ChannelKernels.usable(copy) && copy.equals(x), "a C-order copy of a Fortran-order array");
        assertTrue(ChannelKernels.usable(HostArrays.contiguous(x.permute(0, 2, 3, 1))), "a copy of a permuted view");
        INDArray channels = x.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2), NDArrayIndex.all(),
                NDArrayIndex.all());
        assertFalse(ChannelKernels.usable(channels), "a view with gaps");
        assertTrue(HostArrays.contiguous(channels).equals(channels), "copied");
    }

    @Test
    void readsParameterViewsInPlace() {
        // A 1x1 convolution's weights as DL4J holds them: a C-order view into the flat parameters.
        INDArray params = Nd4j.rand(DataType.FLOAT, 1, 5 + 6 * 4);
        INDArray weights = params.get(NDArrayIndex.point(0), NDArrayIndex.interval(5, 5 + 6 * 4)).reshape('c', 6, 4, 1,
                1);
        assertTrue(HostArrays.denseRowMajor(weights));
        assertTrue(HostArrays.contiguous(weights) == weights, "no copy");
        assertEquals(params.getFloat(0, 5 + 4), ChannelKernels.floats(weights).get(4), 0f);
    }

    /** A C-order view into a larger array, so that its data starts at an offset. */
    private static INDArray offsetView(long[] shape) {
        long[] bigger = shape.clone();
        bigger[0] += 1;
        INDArray big = Nd4j.randn(DataType.FLOAT, bigger);
        INDArray view = big.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, bigger[0]));
        assertTrue(view.offset() > 0, "a view with an offset");
        return view;
    }

    private static INDArray perChannel(float[] values, long[] shape) {
        return Nd4j.createFromArray(values).reshape(1, values.length, 1, 1).broadcast(shape);
    }

    private static void assertClose(INDArray expected, INDArray actual) {
        double diff = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff < 1e-4 * Math.max(1, expected.amaxNumber().doubleValue()), "max difference " + diff);
    }
}
