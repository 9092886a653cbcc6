package org.densenet4j.zoo.fcn;

import java.util.ArrayList;
import java.util.List;

import org.densenet4j.zoo.GraphDefaults;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Builds the DL4J graph of an {@link FcDenseNetConfig} as the authors' code composes it
 * (SimJeg/FC-DenseNet: {@code BN_ReLU_Conv}, {@code TransitionDown}, {@code TransitionUp},
 * {@code SoftmaxLayer}), with the zoo's DenseNet names for the dense blocks. Dense blocks are
 * stages 2 to {@code 2 * pools + 2} (stage 1 is {@code conv1}); the bottleneck is stage
 * {@code pools + 2}:
 *
 * <pre>
 * conv1                                                   3x3, initialFilters
 * dense block s, layer b:  conv{s}_{b}_x2_bn -> relu{s}_{b}_x2 -> conv{s}_{b}_x2 [-> conv{s}_{b}_x2_drop]
 *                          concat_{s}_{b} = [stack, new maps]   (not after the last layer of a block
 *                                                                 whose new maps alone are upsampled)
 * after a downsampling block s:
 *   transition_down{s}_bn -> _relu -> _conv (1x1, all maps) [-> _drop] -> _pool (2x2 max)
 * before an upsampling block s:
 *   transition_up{s}_in      the previous block's new maps only (a concatenation when there are several)
 *   transition_up{s}_deconv  3x3/2 transposed convolution to as many maps, no padding (2n+1 pixels)
 *   transition_up{s}_crop    its centre cropped to the skip connection's size, where they differ
 *   transition_up{s}_concat  [upsampled, skip connection]
 * classifier -> prob                                       1x1 conv to the classes, softmax per pixel
 * </pre>
 *
 * <p>The crops are fixed when the graph is built, from the configured input size: a graph takes
 * inputs of that size (and of others that halve to the same parities); build it anew for another
 * size, {@link FcDenseNetZooModel#resized} moving the parameters, which do not depend on it.
 * Lasagne's centre crop keeps the first rows when one is too many, so the crops are taken from
 * the bottom and right.
 *
 * <p>The output {@code prob} is a {@link CnnLossLayer}: [N, classes, H, W] probabilities, trained
 * with multi-class cross-entropy against one-hot labels of the same shape.
 */
public final class FcDenseNetBuilder {

    /** Name of the graph's input. */
    public static final String INPUT = "data";
    /** Name of the 1x1 convolution giving each pixel's class scores. */
    public static final String CLASSIFIER = "classifier";
    /** Name of the per-pixel softmax, the graph's output. */
    public static final String OUTPUT = "prob";

    private final FcDenseNetConfig config;
    private final GraphBuilder graph;

    private FcDenseNetBuilder(FcDenseNetConfig config) {
        this.config = config;
        this.graph = GraphDefaults.graphBuilder(config.training(), WeightInit.RELU_UNIFORM,
                INPUT, config.inputHeight(), config.inputWidth(), config.inputChannels());
    }

    /** The graph configuration of {@code config}. */
    public static ComputationGraphConfiguration build(FcDenseNetConfig config) {
        return new FcDenseNetBuilder(config).assemble().build();
    }

    /** A dense block's result: the grown stack and the new maps alone. */
    private record Block(String stack, List<String> newMaps) {
    }

    /** A skip connection: the stack at the end of a downsampling block and its size. */
    private record Skip(String name, int height, int width) {
    }

    private GraphBuilder assemble() {
        int pools = config.pools();
        List<Integer> layers = config.blockLayers();
        String stack = conv("conv1", INPUT, config.initialFilters(), 3, 1, 1);
        int channels = config.initialFilters();
        int height = config.inputHeight();
        int width = config.inputWidth();
        List<Skip> skips = new ArrayList<>();
        for (int i = 0; i < pools; i++) {
            int stage = i + 2;
            stack = denseBlock(stack, stage, layers.get(i), true).stack();
            channels += layers.get(i) * config.growthRate();
            skips.add(new Skip(stack, height, width));
            stack = transitionDown(stack, stage, channels);
            height /= 2; // 2x2/2 max pooling, truncating
            width /= 2;
        }
        Block block = denseBlock(stack, pools + 2, layers.get(pools), false);
        for (int i = 0; i < pools; i++) {
            int stage = pools + 3 + i;
            Skip skip = skips.get(pools - 1 - i);
            String up = transitionUp(block.newMaps(), stage, layers.get(pools + i) * config.growthRate(),
                    height, width, skip);
            height = skip.height();
            width = skip.width();
            block = denseBlock(up, stage, layers.get(pools + 1 + i), i == pools - 1);
        }
        conv(CLASSIFIER, block.stack(), config.numClasses(), 1, 1, 0);
        graph.addLayer(OUTPUT, new CnnLossLayer.Builder(LossFunction.MCXENT)
                .activation(Activation.SOFTMAX).build(), CLASSIFIER);
        return graph.setOutputs(OUTPUT);
    }

    /**
     * {@code layers} BN-ReLU-conv3x3 layers, each concatenated after the stack it read; the last
     * concatenation only when the stack goes on ({@code keepStack}): the bottleneck and the
     * upsampling blocks but the last pass on their new maps alone, as the authors' code does.
     */
    private Block denseBlock(String input, int stage, int layers, boolean keepStack) {
        String stack = input;
        List<String> newMaps = new ArrayList<>();
        for (int branch = 1; branch <= layers; branch++) {
            String base = "conv" + stage + "_" + branch + "_x2";
            String x = bnRelu(base + "_bn", "relu" + stage + "_" + branch + "_x2", stack);
            x = dropout(conv(base, x, config.growthRate(), 3, 1, 1));
            newMaps.add(x);
            if (branch == layers && !keepStack) {
                return new Block(null, newMaps);
            }
            String concat = "concat_" + stage + "_" + branch;
            graph.addVertex(concat, new MergeVertex(), stack, x);
            stack = concat;
        }
        return new Block(stack, newMaps);
    }

    /** BN-ReLU-conv1x1 keeping every map, dropout, 2x2 max pooling. */
    private String transitionDown(String input, int stage, int channels) {
        String base = "transition_down" + stage;
        String x = bnRelu(base + "_bn", base + "_relu", input);
        x = dropout(conv(base + "_conv", x, channels, 1, 1, 0));
        graph.addLayer(base + "_pool", new SubsamplingLayer.Builder(PoolingType.MAX)
                .kernelSize(2, 2).stride(2, 2).build(), x);
        return base + "_pool";
    }

    /**
     * The new maps of the block below, upsampled by a 3x3/2 transposed convolution from
     * {@code height x width} to {@code 2h+1 x 2w+1}, cropped to the skip connection and put before it.
     */
    private String transitionUp(List<String> newMaps, int stage, int filters, int height, int width, Skip skip) {
        String base = "transition_up" + stage;
        String x = newMaps.get(0);
        if (newMaps.size() > 1) {
            x = base + "_in";
            graph.addVertex(x, new MergeVertex(), newMaps.toArray(String[]::new));
        }
        graph.addLayer(base + "_deconv", new Deconvolution2D.Builder()
                .kernelSize(3, 3).stride(2, 2).padding(0, 0)
                .nOut(filters)
                .build(), x);
        x = base + "_deconv";
        int extraRows = 2 * height + 1 - skip.height();
        int extraColumns = 2 * width + 1 - skip.width();
        if (extraRows != 0 || extraColumns != 0) {
            // Lasagne's 'center' crop starts at (extra / 2): with one extra row, the last one goes.
            graph.addLayer(base + "_crop", new Cropping2D(extraRows / 2, extraRows - extraRows / 2,
                    extraColumns / 2, extraColumns - extraColumns / 2), x);
            x = base + "_crop";
        }
        graph.addVertex(base + "_concat", new MergeVertex(), x, skip.name());
        return base + "_concat";
    }

    /** Batch normalisation followed by its ReLU. Returns the ReLU's name. */
    private String bnRelu(String bnName, String reluName, String input) {
        graph.addLayer(bnName, new BatchNormalization.Builder()
                .eps(config.bnEpsilon())
                .useLogStd(false) // store the variance itself, as Lasagne and PyTorch do
                .build(), input);
        graph.addLayer(reluName, new ActivationLayer.Builder().activation(Activation.RELU).build(), bnName);
        return reluName;
    }

    /** A square convolution with a bias, explicit symmetric padding and no activation. */
    private String conv(String name, String input, int filters, int kernel, int stride, int padding) {
        graph.addLayer(name, new ConvolutionLayer.Builder()
                .kernelSize(kernel, kernel)
                .stride(stride, stride)
                .padding(padding, padding)
                .nOut(filters)
                .build(), input);
        return name;
    }

    /** Dropout after {@code input} when the configuration asks for it. */
    private String dropout(String input) {
        if (config.dropoutRate() == 0) {
            return input;
        }
        String name = input + "_drop";
        // DL4J takes the probability of retaining an activation.
        graph.addLayer(name, new DropoutLayer.Builder(1.0 - config.dropoutRate()).build(), input);
        return name;
    }
}
