package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.keras.KerasDenseNetImporter;
import org.densenet4j.zoo.DenseNet121;
import org.densenet4j.zoo.DenseNetConfig;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/** What a user's project does with DenseNet4J's artifacts: build, compile, import weights, predict. */
class ConsumerTest {

    @Test
    void buildsAndCompilesDenseNet121() {
        ComputationGraph net = new DenseNet121().init();
        CompiledGraph compiled = CompiledGraph.compile(net);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 224, 224).muli(255);
        INDArray p = compiled.outputSingle(x);
        assertArrayEquals(new long[] {2, 1000}, p.shape());
        INDArray reference = net.outputSingle(x);
        double diff = Transforms.abs(p.sub(reference)).maxNumber().doubleValue();
        assertTrue(diff < 1e-4, "compiled against DL4J's output: " + diff);
    }

    @Test
    void importsTorchvisionWeightsAndPredictsAsTorchvisionDoes() throws Exception {
        Path fixture = Path.of(System.getProperty("fixture"));
        Path weights = fixture.resolve("weights.pth");
        DenseNetConfig config = KerasDenseNetImporter.inspect(weights).toConfig().inputShape(32, 32, 3).build();
        ComputationGraph net = KerasDenseNetImporter.load(weights, config);
        INDArray x = Nd4j.createFromNpyFile(fixture.resolve("x.npy").toFile());
        INDArray expected = Nd4j.createFromNpyFile(fixture.resolve("logp.npy").toFile());
        INDArray logp = Transforms.log(CompiledGraph.compile(net).outputSingle(x), true);
        double diff = Transforms.abs(logp.sub(expected)).maxNumber().doubleValue();
        assertTrue(diff <= 1e-3, "max |log p - log p_torch| = " + diff);
    }
}
