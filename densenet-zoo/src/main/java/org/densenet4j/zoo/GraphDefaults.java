package org.densenet4j.zoo;

import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * The settings every graph of the zoo starts from (DenseNet, ResNet, FC-DenseNet): float
 * parameters, identity activations unless a layer says otherwise, explicit padding, workspaces on
 * and convolution outputs cached for the backward pass.
 */
public final class GraphDefaults {

    private GraphDefaults() {
    }

    /**
     * A graph builder with one NCHW input named {@code input} of {@code height x width x channels}.
     *
     * @param seed        random seed of the weight initialisation
     * @param updater     optimiser used by {@code fit()}
     * @param weightInit  initialisation of every layer that does not set its own
     * @param l2          L2 regularisation coefficient of the weights (0 for none)
     * @param input       name of the graph's input
     * @param height      input height the graph is configured (and its shapes inferred) for
     * @param width       input width
     * @param channels    input channels
     */
    public static GraphBuilder graphBuilder(long seed, IUpdater updater, WeightInit weightInit, double l2,
                                            String input, int height, int width, int channels) {
        return new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(updater)
                .weightInit(weightInit)
                .l2(l2)
                .activation(Activation.IDENTITY) // DL4J's default is sigmoid
                .convolutionMode(ConvolutionMode.Truncate)
                .trainingWorkspaceMode(WorkspaceMode.ENABLED)
                .inferenceWorkspaceMode(WorkspaceMode.ENABLED)
                .cacheMode(CacheMode.DEVICE) // backprop reuses each convolution's output
                .graphBuilder()
                .addInputs(input)
                .setInputTypes(InputType.convolutional(height, width, channels));
    }
}
