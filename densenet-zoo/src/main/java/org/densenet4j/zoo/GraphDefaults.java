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
     * @param training    updater, L2 regularisation coefficient of the weights (0 for none) and seed
     * @param weightInit  initialisation of every layer that does not set its own
     * @param input       name of the graph's input
     * @param height      input height the graph is configured (and its shapes inferred) for
     * @param width       input width
     * @param channels    input channels
     */
    public static GraphBuilder graphBuilder(TrainingSettings training, WeightInit weightInit,
                                            String input, int height, int width, int channels) {
        return new NeuralNetConfiguration.Builder()
                .seed(training.seed())
                .dataType(DataType.FLOAT)
                .updater(training.updater())
                .weightInit(weightInit)
                .l2(training.weightDecay())
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
