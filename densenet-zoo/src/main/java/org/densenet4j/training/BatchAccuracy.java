package org.densenet4j.training;

import java.util.Map;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Training accuracy over the batches of an epoch: from the classifier's scores of each forward pass
 * of the graph's {@code fit()} (as a listener), or from the outputs a CompiledTrainer step reports
 * ({@link #add}). Set {@link #labels(INDArray)} before each batch. The classifier is the graph's
 * output layer: a dense softmax layer (the zoo's DenseNets and ResNet), whose scores are computed
 * from its input, or a loss layer without parameters on per-pixel scores (the FC-DenseNets'
 * {@code CnnLossLayer}), whose input they are; per-pixel outputs count pixels.
 */
public final class BatchAccuracy extends BaseTrainingListener {
    private INDArray labels;
    private long correct;
    private long seen;

    /** The one-hot labels of the batch about to be fitted ([N, classes], or [N, classes, H, W]). */
    public void labels(INDArray labels) {
        this.labels = labels;
    }

    /** Starts counting again (a new epoch). */
    public void reset() {
        correct = 0;
        seen = 0;
    }

    /** The fraction of the examples (or pixels) counted so far that were classified right. */
    public double value() {
        return seen == 0 ? 0 : (double) correct / seen;
    }

    /**
     * DL4J's training forward pass stops before the output layer (it scores from that layer's
     * input), so a dense classifier's logits are computed here from its input: a small matmul.
     */
    @Override
    public void onForwardPass(Model model, Map<String, INDArray> activations) {
        ComputationGraph net = (ComputationGraph) model;
        if (labels == null) {
            return;
        }
        String output = net.getConfiguration().getNetworkOutputs().get(0);
        INDArray input = activations.get(net.getConfiguration().getVertexInputs().get(output).get(0));
        if (input == null) {
            return;
        }
        Map<String, INDArray> params = net.getLayer(output).paramTable();
        if (params.isEmpty()) {
            add(input); // a loss layer: its input is the scores
        } else if (params.containsKey("W") && params.containsKey("b")) {
            add(input.mmul(params.get("W")).addiRowVector(params.get("b")));
        }
    }

    /**
     * Counts the batch whose class scores (logits or probabilities, [N, classes] or per pixel
     * [N, classes, H, W]) are {@code scores}.
     */
    public void add(INDArray scores) {
        INDArray predicted = scores.argMax(1);
        INDArray actual = labels.argMax(1);
        correct += predicted.eq(actual).castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue();
        seen += predicted.length();
    }
}
