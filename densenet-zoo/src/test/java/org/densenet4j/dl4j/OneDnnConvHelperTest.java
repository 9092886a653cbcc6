package org.densenet4j.dl4j;

import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.AlgoMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.FwdAlgo;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@link OneDnnConvHelper}: the same convolutions, forward and backward, as DL4J's oneDNN helper
 * (libnd4j's {@code conv2d} and {@code conv2d_bp}) on every kind of shape DenseNet has and a few it
 * has not.
 */
class OneDnnConvHelperTest {

    @Test
    void theZoosGraphsRunIt() {
        assertTrue(OneDnnConvHelper.available(), "oneDNN's natives load on the test machine");
        ComputationGraph net = new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init();
        long convolutions = 0;
        for (Layer layer : net.getLayers()) {
            if (layer instanceof ConvolutionLayer conv) {
                assertEquals(OneDnnConvHelper.class, conv.getHelper().getClass(), conv.getConfig().getLayerName());
                convolutions++;
            }
        }
        assertTrue(convolutions > 0);
    }

    @ParameterizedTest(name = "{0}x{1}x{2}x{3}, {4} filters {5}x{6}, stride {7}, pad {8}, {9}, bias {10}")
    @CsvSource({
        // batch, channels, height, width, filters, kH, kW, stride, pad, mode, bias
        "1, 24, 9, 9, 8, 1, 1, 1, 0, Truncate, false",   // bottleneck 1x1: plain layout
        "3, 16, 9, 9, 4, 3, 3, 1, 1, Truncate, false",   // 3x3 growth conv: blocked layout
        "2, 3, 29, 29, 16, 7, 7, 2, 3, Truncate, false", // stem 7x7/2, odd size: Truncate drops a row
        "2, 5, 10, 10, 6, 3, 3, 2, 0, Same, true",       // Same with stride 2: asymmetric padding
        "1, 7, 8, 6, 5, 1, 1, 2, 0, Truncate, true",     // 1x1 strided, not square
        "4, 10, 5, 5, 3, 3, 3, 1, 1, Strict, true",
    })
    void matchesLibnd4jsConv2d(int batch, int channels, int height, int width, int filters, int kH, int kW,
            int stride, int pad, ConvolutionMode mode, boolean hasBias) {
        Nd4j.getRandom().setSeed(batch * 31L + channels);
        INDArray input = Nd4j.rand(DataType.FLOAT, batch, channels, height, width).subi(0.5);
        INDArray weights = Nd4j.rand(DataType.FLOAT, filters, channels, kH, kW).subi(0.5);
        INDArray bias = hasBias ? Nd4j.rand(DataType.FLOAT, 1, filters) : Nd4j.zeros(DataType.FLOAT, 1, filters);
        int[] kernel = {kH, kW};
        int[] strides = {stride, stride};
        int[] padding = {pad, pad};

        INDArray expected = new MKLDNNConvHelper(DataType.FLOAT).preOutput(input, weights, bias, kernel, strides,
                padding, AlgoMode.PREFER_FASTEST, FwdAlgo.IMPLICIT_GEMM, mode, new int[] {1, 1}, CNN2DFormat.NCHW,
                LayerWorkspaceMgr.noWorkspaces());
        OneDnnConvHelper helper = new OneDnnConvHelper(DataType.FLOAT);
        for (int call = 0; call < 2; call++) { // the second call runs the kept plan on new arrays
            INDArray actual = helper.preOutput(input.dup(), weights.dup(), bias.dup(), kernel, strides, padding,
                    AlgoMode.PREFER_FASTEST, FwdAlgo.IMPLICIT_GEMM, mode, new int[] {1, 1}, CNN2DFormat.NCHW,
                    LayerWorkspaceMgr.noWorkspaces());
            assertArrayEquals(expected.shape(), actual.shape());
            assertClose(expected, actual);
        }

        // backward: the gradients of the input, the weights and (if any) the bias
        INDArray delta = Nd4j.rand(DataType.FLOAT, expected.shape()).subi(0.5);
        INDArray weightGradExpected = Nd4j.create(DataType.FLOAT, weights.shape());
        INDArray biasGradExpected = hasBias ? Nd4j.create(DataType.FLOAT, 1, filters) : null;
        INDArray inputGradExpected = new MKLDNNConvHelper(DataType.FLOAT).backpropGradient(input, weights,
                hasBias ? bias : null, delta, kernel, strides, padding, biasGradExpected, weightGradExpected, null,
                AlgoMode.PREFER_FASTEST, null, null, mode, new int[] {1, 1}, CNN2DFormat.NCHW,
                LayerWorkspaceMgr.noWorkspaces()).getSecond();
        for (int call = 0; call < 2; call++) {
            INDArray weightGrad = Nd4j.zeros(DataType.FLOAT, weights.shape()).addi(7); // overwritten, not added to
            INDArray biasGrad = hasBias ? Nd4j.zeros(DataType.FLOAT, 1, filters).addi(7) : null;
            var result = helper.backpropGradient(input.dup(), weights.dup(), hasBias ? bias.dup() : null, delta.dup(),
                    kernel, strides, padding, biasGrad, weightGrad, null, AlgoMode.PREFER_FASTEST, null, null, mode,
                    new int[] {1, 1}, CNN2DFormat.NCHW, LayerWorkspaceMgr.noWorkspaces());
            assertClose(inputGradExpected, result.getSecond());
            assertClose(weightGradExpected, weightGrad);
            assertTrue(result.getFirst().getGradientFor("W") == weightGrad, "the weight gradient in the layer's view");
            if (hasBias) {
                assertClose(biasGradExpected, biasGrad);
                assertTrue(result.getFirst().getGradientFor("b") == biasGrad);
            }
        }
    }

    @Test
    void readsViewsAndSeesWeightsChangedInPlace() {
        // Arrays that start inside a larger buffer (DL4J's parameters are views of one flat array).
        INDArray flat = Nd4j.rand(DataType.FLOAT, 1, 7 + 6 * 4 * 3 * 3);
        INDArray weights = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(7, 7 + 6 * 4 * 3 * 3))
                .reshape('c', 6, 4, 3, 3);
        INDArray batch = Nd4j.rand(DataType.FLOAT, 5, 4, 8, 8);
        INDArray input = batch.get(NDArrayIndex.interval(2, 4), NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.all());
        INDArray bias = Nd4j.zeros(DataType.FLOAT, 1, 6);
        OneDnnConvHelper helper = new OneDnnConvHelper(DataType.FLOAT);
        MKLDNNConvHelper reference = new MKLDNNConvHelper(DataType.FLOAT);
        for (int step = 0; step < 2; step++) {
            INDArray expected = reference.preOutput(input.dup(), weights.dup(), bias, new int[] {3, 3},
                    new int[] {1, 1}, new int[] {1, 1}, AlgoMode.PREFER_FASTEST, FwdAlgo.IMPLICIT_GEMM,
                    ConvolutionMode.Truncate, new int[] {1, 1}, CNN2DFormat.NCHW, LayerWorkspaceMgr.noWorkspaces());
            INDArray actual = helper.preOutput(input, weights, bias, new int[] {3, 3}, new int[] {1, 1},
                    new int[] {1, 1}, AlgoMode.PREFER_FASTEST, FwdAlgo.IMPLICIT_GEMM, ConvolutionMode.Truncate,
                    new int[] {1, 1}, CNN2DFormat.NCHW, LayerWorkspaceMgr.noWorkspaces());
            assertClose(expected, actual);
            weights.muli(-0.5).addi(0.25); // an optimiser's step, in place
        }
    }

    @Test
    void manyImageSizesOneAfterAnother() {
        // More input shapes than a layer keeps plans for: the oldest are dropped and built again.
        OneDnnConvHelper helper = new OneDnnConvHelper(DataType.FLOAT);
        MKLDNNConvHelper reference = new MKLDNNConvHelper(DataType.FLOAT);
        INDArray weights = Nd4j.rand(DataType.FLOAT, 4, 3, 3, 3).subi(0.5);
        INDArray bias = Nd4j.zeros(DataType.FLOAT, 1, 4);
        for (int size : new int[] {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 5, 6}) {
            INDArray input = Nd4j.rand(DataType.FLOAT, 2, 3, size, size + 1);
            INDArray expected = reference.preOutput(input, weights, bias, new int[] {3, 3}, new int[] {1, 1},
                    new int[] {1, 1}, AlgoMode.PREFER_FASTEST, FwdAlgo.IMPLICIT_GEMM, ConvolutionMode.Truncate,
                    new int[] {1, 1}, CNN2DFormat.NCHW, LayerWorkspaceMgr.noWorkspaces());
            INDArray actual = helper.preOutput(input, weights, bias, new int[] {3, 3}, new int[] {1, 1},
                    new int[] {1, 1}, AlgoMode.PREFER_FASTEST, FwdAlgo.IMPLICIT_GEMM, ConvolutionMode.Truncate,
                    new int[] {1, 1}, CNN2DFormat.NCHW, LayerWorkspaceMgr.noWorkspaces());
            assertClose(expected, actual);
        }
    }

    private static void assertClose(INDArray expected, INDArray actual) {
        double scale = Math.max(1, expected.amaxNumber().doubleValue());
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-5 * scale, "max |difference| " + diff + " for outputs up to " + scale + ", shape "
                + Arrays.toString(expected.shape()));
    }
}
