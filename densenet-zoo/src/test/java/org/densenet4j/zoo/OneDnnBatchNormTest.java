package org.densenet4j.zoo;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/** {@link OneDnnBatchNorm}: batch normalisation with running statistics, as its formula gives it. */
class OneDnnBatchNormTest {

    @Test
    void normalisesWithTheRunningStatistics() {
        Nd4j.getRandom().setSeed(11);
        OneDnnBatchNorm bn = new OneDnnBatchNorm();
        for (long[] shape : new long[][] {{1, 5, 7, 3}, {3, 16, 4, 4}, {3, 16, 4, 4}}) {
            int c = (int) shape[1];
            // the parameters as DL4J holds them: views into one flat array
            INDArray params = Nd4j.rand(DataType.FLOAT, 1, 4 * c + 3);
            INDArray gamma = view(params, 3, c).addi(0.5);
            INDArray beta = view(params, 3 + c, c).subi(0.5);
            INDArray mean = view(params, 3 + 2 * c, c).subi(0.25);
            INDArray var = view(params, 3 + 3 * c, c).addi(0.1);
            INDArray x = Nd4j.randn(DataType.FLOAT, shape).muli(2).addi(1);
            double eps = 1e-3;

            INDArray actual = bn.inference(x, gamma, beta, mean, var, eps, LayerWorkspaceMgr.noWorkspaces());
            assertNotNull(actual, "oneDNN runs this shape");
            INDArray scale = gamma.div(Transforms.sqrt(var.add(eps))).reshape(1, c, 1, 1);
            INDArray expected = x.sub(mean.reshape(1, c, 1, 1)).mul(scale).add(beta.reshape(1, c, 1, 1));
            double diff = expected.sub(actual).amaxNumber().doubleValue();
            assertTrue(diff < 1e-5, "max |difference| " + diff);
        }
        INDArray gappy = Nd4j.rand(DataType.FLOAT, 2, 6, 3, 3).get(NDArrayIndex.all(), NDArrayIndex.interval(0, 3),
                NDArrayIndex.all(), NDArrayIndex.all());
        INDArray ones = Nd4j.ones(DataType.FLOAT, 3);
        assertNull(bn.inference(gappy, ones, ones, ones, ones, 1e-5, LayerWorkspaceMgr.noWorkspaces()),
                "a view with gaps goes back to DL4J's helper");
    }

    private static INDArray view(INDArray flat, int from, int length) {
        return flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(from, from + length));
    }
}
