package org.densenet4j.zoo.resnet;

import org.densenet4j.zoo.GraphDefaults;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Builds the DL4J graph of a {@link ResNetConfig}, as d2l's {@code Residual} and
 * {@code resnet_block} compose it, with readable names (stages count from 2, as d2l's {@code b2}
 * to {@code b5}: stage 1 is the stem):
 *
 * <pre>
 * stem_conv -> stem_bn -> stem_relu -> stem_pool                     (7x7/2, 3x3/2 max pooling)
 * residual block b of stage s (p = stage{s}_block{b}):
 *   p_conv1 -> p_bn1 -> p_relu1 -> p_conv2 -> p_bn2                   (3x3, stride 2 in p_conv1 of a
 *   p_shortcut                                                        halving block, with its 1x1/2)
 *   p_add = p_bn2 + (p_shortcut or the block's input) -> p_relu
 * pool -> fc                                                          (global average, softmax)
 * </pre>
 *
 * <p>Every ReLU is its own {@link ActivationLayer}: DL4J 1.0.0-M2.1's BatchNormalization layer
 * ignores any activation set on it.
 */
public final class ResNetBuilder {

    /** Name of the graph's input. */
    public static final String INPUT = "input";
    /** Name of the global average pooling, the pooled features. */
    public static final String POOL = "pool";
    /** Name of the classifier layer. */
    public static final String CLASSIFIER = "fc";

    private final ResNetConfig config;
    private final GraphBuilder graph;

    private ResNetBuilder(ResNetConfig config) {
        this.config = config;
        this.graph = GraphDefaults.graphBuilder(config.training(), config.weightInit(),
                INPUT, config.inputHeight(), config.inputWidth(), config.inputChannels());
    }

    /** The graph configuration of {@code config}. */
    public static ComputationGraphConfiguration build(ResNetConfig config) {
        return new ResNetBuilder(config).assemble().build();
    }

    /** The name prefix of block {@code block} (from 1) of stage {@code stage} (from 2). */
    public static String blockName(int stage, int block) {
        return "stage" + stage + "_block" + block;
    }

    private GraphBuilder assemble() {
        String x = stem(INPUT);
        for (int s = 0; s < config.numStages(); s++) {
            for (int b = 0; b < config.stageBlocks().get(s); b++) {
                // d2l: every stage but the first starts with stride 2 and a 1x1 shortcut; the first
                // stage has the stem's channels, so its blocks add their input as it is
                boolean halving = b == 0 && s > 0;
                x = residual(blockName(s + 2, b + 1), x, halving, config.stageChannels().get(s));
            }
        }
        graph.addLayer(POOL, new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), x);
        graph.addLayer(CLASSIFIER, new OutputLayer.Builder(LossFunction.MCXENT)
                .nOut(config.numClasses())
                .activation(Activation.SOFTMAX)
                .build(), POOL);
        return graph.setOutputs(CLASSIFIER);
    }

    /** stem_conv -> stem_bn -> stem_relu -> stem_pool. */
    private String stem(String input) {
        String x = conv("stem_conv", input, config.stageChannels().get(0), 7, 2, 3);
        x = relu("stem_relu", bn("stem_bn", x));
        // The input is post-ReLU (>= 0), so padding inside the max pool equals PyTorch's -inf padding.
        graph.addLayer("stem_pool", new SubsamplingLayer.Builder(PoolingType.MAX)
                .kernelSize(3, 3).stride(2, 2).padding(1, 1).build(), x);
        return "stem_pool";
    }

    /** d2l's {@code Residual}: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). */
    private String residual(String p, String input, boolean halving, int channels) {
        int stride = halving ? 2 : 1;
        String y = relu(p + "_relu1", bn(p + "_bn1", conv(p + "_conv1", input, channels, 3, stride, 1)));
        y = bn(p + "_bn2", conv(p + "_conv2", y, channels, 3, 1, 1));
        String shortcut = halving ? conv(p + "_shortcut", input, channels, 1, stride, 0) : input;
        graph.addVertex(p + "_add", new ElementWiseVertex(ElementWiseVertex.Op.Add), y, shortcut);
        return relu(p + "_relu", p + "_add");
    }

    private String bn(String name, String input) {
        graph.addLayer(name, new BatchNormalization.Builder()
                .eps(config.bnEpsilon())
                .useLogStd(false) // store the variance itself, as PyTorch does
                .build(), input);
        return name;
    }

    private String relu(String name, String input) {
        graph.addLayer(name, new ActivationLayer.Builder().activation(Activation.RELU).build(), input);
        return name;
    }

    /** A square convolution with explicit symmetric padding and no activation. */
    private String conv(String name, String input, int filters, int kernel, int stride, int padding) {
        graph.addLayer(name, new ConvolutionLayer.Builder()
                .kernelSize(kernel, kernel)
                .stride(stride, stride)
                .padding(padding, padding)
                .nOut(filters)
                .hasBias(config.convBias())
                .build(), input);
        return name;
    }
}
