package org.densenet4j.training;

import java.util.Map;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.densenet4j.zoo.DenseNetBuilder;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Training accuracy over the batches of an epoch: from the classifier's scores of each forward pass
 * of the graph's {@code fit()} (as a listener), or from the outputs a CompiledTrainer step reports
 * ({@link #add}). Set {@link #labels(INDArray)} before each batch.
 */
public final class BatchAccuracy extends BaseTrainingListener {
    private INDArray labels;
    private long correct;
    private long seen;

    /** The one-hot labels of the batch about to be fitted. */
    public void labels(INDArray labels) {
        this.labels = labels;
    }

    /** Starts counting again (a new epoch). */
    public void reset() {
        correct = 0;
        seen = 0;
    }

    /** The fraction of the examples counted so far that were classified right. */
    public double value() {
        return seen == 0 ? 0 : (double) correct / seen;
    }

    /**
     * DL4J's training forward pass stops before the output layer (it scores from that layer's
     * input), so the classifier's logits are computed here from its input: a small matmul.
     */
    @Override
    public void onForwardPass(Model model, Map<String, INDArray> activations) {
        ComputationGraph net = (ComputationGraph) model;
        String input = net.getConfiguration().getVertexInputs().get(DenseNetBuilder.CLASSIFIER).get(0);
        INDArray features = activations.get(input);
        if (features == null || labels == null) {
            return;
        }
        var fc = net.getLayer(DenseNetBuilder.CLASSIFIER).paramTable();
        add(features.mmul(fc.get("W")).addiRowVector(fc.get("b")));
    }

    /** Counts the batch whose class scores (logits or probabilities, [N, classes]) are {@code scores}. */
    public void add(INDArray scores) {
        INDArray predicted = scores.argMax(1);
        INDArray actual = labels.argMax(1);
        correct += predicted.eq(actual).castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue();
        seen += labels.size(0);
    }
}
