package org.densenet4j.training;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * A graph's last layer on its own, to train on cached features: when everything below it is frozen,
 * its input never changes, so the backbone's features can be computed once (as DL4J's
 * {@code TransferLearningHelper} does) and the head trained on them, epoch after epoch, in
 * milliseconds. {@link #of} copies the layer (configuration, regularisation, parameters) into a
 * graph of one input; {@link #copyBack} puts the trained parameters back.
 */
public final class ClassifierHead {

    private ClassifierHead() {
    }

    /**
     * Layer {@code layer} of {@code net} (a dense or output layer) as a graph of its own, fed by its
     * input's features and trained with {@code updater}.
     */
    public static ComputationGraph of(ComputationGraph net, String layer, IUpdater updater) {
        Layer conf = net.getLayer(layer).conf().getLayer().clone();
        if (!(conf instanceof FeedForwardLayer ff) || !(conf instanceof BaseLayer base)) {
            throw new IllegalArgumentException("layer '" + layer + "' is not a dense or output layer");
        }
        base.setIUpdater(updater);
        base.setBiasUpdater(null);
        ComputationGraph head = new ComputationGraph(new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT)
                .graphBuilder().addInputs("features").addLayer(layer, conf, "features").setOutputs(layer)
                .setInputTypes(InputType.feedForward(ff.getNIn())).build());
        head.init();
        head.getLayer(layer).setParams(net.getLayer(layer).params().dup());
        return head;
    }

    /** The head's trained parameters of {@code layer} into {@code net}'s. */
    public static void copyBack(ComputationGraph head, ComputationGraph net, String layer) {
        net.getLayer(layer).setParams(head.getLayer(layer).params().dup());
    }
}
