package org.densenet4j.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.Step;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** {@link OneDnnRelu}: the same numbers as libnd4j's ReLU and DL4J's gradient, zeros included. */
class OneDnnReluTest {

    /** ND4J's random arrays from a fixed seed, so that a failure replays. */
    @BeforeEach
    void seed() {
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(20261203L);
    }

    @Test
    void matchesLibnd4jBothWays() {
        OneDnnRelu relu = new OneDnnRelu();
        for (long[] shape : new long[][] {{2, 3, 5, 7}, {1, 64}, {3, 17}}) {
            INDArray x = Nd4j.randn(DataType.FLOAT, shape);
            x.putScalar(0, 0f); // the kink: gradient 0 there, as DL4J has it
            x.putScalar(1, -0f);
            INDArray g = Nd4j.randn(DataType.FLOAT, shape);

            INDArray y = Nd4j.create(DataType.FLOAT, shape);
            assertTrue(relu.forward(x, y));
            assertEquals(Nd4j.exec(new RectifiedLinear(x.dup(), 0.0)), y);

            INDArray dx = Nd4j.create(DataType.FLOAT, shape);
            assertTrue(relu.backward(x, g, dx));
            INDArray expected = Nd4j.exec(new Step(x.dup(), 0.0)).muli(g);
            assertEquals(expected, dx);
            assertEquals(0f, dx.getFloat(0), 0f);
        }
        INDArray gappy = Nd4j.rand(DataType.FLOAT, 4, 6).get(NDArrayIndex.all(), NDArrayIndex.interval(0, 3));
        assertFalse(relu.forward(gappy, Nd4j.create(DataType.FLOAT, 4, 3)), "a view with gaps: libnd4j's ops");
    }
}
