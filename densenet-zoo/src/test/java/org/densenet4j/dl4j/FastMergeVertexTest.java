package org.densenet4j.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * {@link FastMergeVertex}: the same concatenation, forward and backward, as DL4J's MergeVertex, on
 * three inputs of different widths (its copies are exact, so the outputs are equal, not close).
 */
class FastMergeVertexTest {

    @Test
    void concatenatesLikeDl4j() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).updater(new Sgd(0.1))
                .dataType(DataType.FLOAT).graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(5, 6, 3))
                .addLayer("a", new BatchNormalization.Builder().build(), "in")
                .addLayer("b", new BatchNormalization.Builder().build(), "in")
                .addVertex("ab", new MergeVertex(), "a", "b")
                .addVertex("abin", new MergeVertex(), "ab", "in", "a")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "abin")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("out").build();
        ComputationGraph plain = new ComputationGraph(conf);
        plain.init();
        ComputationGraph fast = FastPath.install(plain.clone());
        long merges = Arrays.stream(fast.getVertices()).filter(v -> v instanceof FastMergeVertex).count();
        assertEquals(2, merges, "both merge vertices run FastMergeVertex");
        for (GraphVertex v : fast.getVertices()) {
            assertTrue(fast.getVertex(v.getVertexName()) == v,
                    "the name map and the array agree: " + v.getVertexName());
        }

        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 3, 5, 6);
        INDArray y = Nd4j.eye(4).getRows(0, 2, 1).castTo(DataType.FLOAT);
        assertEquals(plain.feedForward(x, false).get("abin"), fast.feedForward(x, false).get("abin"));
        DataSet data = new DataSet(x, y);
        plain.fit(data);
        fast.fit(data);
        assertEquals(plain.params(), fast.params(), "one training step: the same gradients through the merges");
    }
}
