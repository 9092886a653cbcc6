package org.densenet4j.dl4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * {@link FastBatchNormHelper} at inference: batch normalisation with the running statistics, as its formula gives it.
 */
class BatchNormInferenceTest {

    @Test
    void normalisesWithTheRunningStatistics() {
        Nd4j.getRandom().setSeed(11);
        FastBatchNormHelper helper = new FastBatchNormHelper(new MKLDNNBatchNormHelper(DataType.FLOAT));
        for (long[] shape : new long[][] {{1, 5, 7, 3}, {3, 16, 4, 4}, {2, 40, 9, 9}}) {
            int c = (int) shape[1];
            // the parameters as DL4J holds them: views into one flat array
            INDArray params = Nd4j.rand(DataType.FLOAT, 1, 4 * c + 3);
            INDArray gamma = view(params, 3, c).addi(0.5);
            INDArray beta = view(params, 3 + c, c).subi(0.5);
            INDArray mean = view(params, 3 + 2 * c, c).subi(0.25);
            INDArray var = view(params, 3 + 3 * c, c).addi(0.1);
            double eps = 1e-3;
            INDArray dense = Nd4j.randn(DataType.FLOAT, shape).muli(2).addi(1);
            // and an input that is a view with gaps (a channel slice), which is read through a copy
            INDArray wide = Nd4j.randn(DataType.FLOAT, shape[0], 2 * c, shape[2], shape[3]);
            INDArray gappy = wide.get(NDArrayIndex.all(), NDArrayIndex.interval(0, c), NDArrayIndex.all(),
                    NDArrayIndex.all());
            for (INDArray x : new INDArray[] {dense, gappy}) {
                INDArray actual = helper.preOutput(x, false, shape, gamma, beta, mean, var, 0.9, eps,
                        CNN2DFormat.NCHW, LayerWorkspaceMgr.noWorkspaces());
                INDArray scale = gamma.div(Transforms.sqrt(var.add(eps))).reshape(1, c, 1, 1);
                INDArray expected = x.sub(mean.reshape(1, c, 1, 1)).mul(scale).add(beta.reshape(1, c, 1, 1));
                double diff = expected.sub(actual).amaxNumber().doubleValue();
                assertTrue(diff < 1e-5, "max |difference| " + diff);
            }
        }
    }

    private static INDArray view(INDArray flat, int from, int length) {
        return flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(from, from + length));
    }
}
