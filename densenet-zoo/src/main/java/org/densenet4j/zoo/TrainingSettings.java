package org.densenet4j.zoo;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;

/**
 * How a network is trained, apart from what it is: the optimiser, the L2 weight decay and the
 * random seed. A zoo configuration ({@link DenseNetConfig}, {@code ResNetConfig},
 * {@code FcDenseNetConfig}) holds its architecture and one of these; two configurations that differ
 * only here build graphs of the same layers and parameters, so pretrained weights fit both as they are.
 *
 * <p>Dropout and the batch-normalisation epsilon are not here: a dropout rate above 0 adds
 * {@code *_drop} layers to the graph, and the epsilon changes what the network computes at
 * inference, so both belong to the architecture.
 *
 * @param updater     optimiser used by {@code fit()}
 * @param weightDecay L2 regularisation coefficient of the weights, a finite value at least 0 (0 for none)
 * @param seed        random seed of the weight initialisation (and of dropout)
 */
public record TrainingSettings(IUpdater updater, double weightDecay, long seed) {

    /** Validates the settings: a null updater or a negative or non-finite weight decay fails, naming it. */
    public TrainingSettings {
        Objects.requireNonNull(updater, "updater must not be null");
        if (!(weightDecay >= 0 && Double.isFinite(weightDecay))) {
            throw new IllegalArgumentException("weightDecay must be a finite value >= 0, was " + weightDecay);
        }
    }

    /** These settings with another optimiser. */
    public TrainingSettings withUpdater(IUpdater newUpdater) {
        return new TrainingSettings(newUpdater, weightDecay, seed);
    }

    /** These settings with another L2 coefficient. */
    public TrainingSettings withWeightDecay(double newWeightDecay) {
        return new TrainingSettings(updater, newWeightDecay, seed);
    }

    /** These settings with another seed. */
    public TrainingSettings withSeed(long newSeed) {
        return new TrainingSettings(updater, weightDecay, newSeed);
    }

    /**
     * The L2 regularisation of the weights, as {@code NeuralNetConfiguration.Builder.l2} sets it:
     * none for a weight decay of 0.
     */
    List<Regularization> regularization() {
        List<Regularization> r = new ArrayList<>();
        if (weightDecay > 0) {
            r.add(new L2Regularization(weightDecay));
        }
        return r;
    }

    /**
     * Sets these settings on every layer of an initialised {@code graph} in place, as DL4J's
     * {@code FineTuneConfiguration} does for transfer learning, without touching its parameters:
     * the updater of weights and biases, the L2 regularisation of the weights and the seed, in the
     * graph's configuration as well (so it is saved with them). Any updater state is dropped: it
     * belonged to the previous optimiser.
     *
     * @return {@code graph}
     */
    public ComputationGraph applyTo(ComputationGraph graph) {
        graph.getConfiguration().getDefaultConfiguration().setSeed(seed);
        for (GraphVertex vertex : graph.getConfiguration().getVertices().values()) {
            if (vertex instanceof LayerVertex lv) {
                apply(lv.getLayerConf());
            }
        }
        for (Layer layer : graph.getLayers()) {
            apply(layer.conf()); // the configuration's own objects in DL4J 1.0.0-M2.1; set in case of a copy
        }
        graph.setUpdater(null);
        return graph;
    }

    private void apply(NeuralNetConfiguration conf) {
        conf.setSeed(seed);
        if (conf.getLayer() instanceof BaseLayer base) {
            base.setIUpdater(updater.clone());
            base.setBiasUpdater(null); // DL4J then uses the weights' updater for the biases too
            base.setRegularization(regularization());
        }
    }
}
