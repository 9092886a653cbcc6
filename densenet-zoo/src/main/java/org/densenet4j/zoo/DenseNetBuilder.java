package org.densenet4j.zoo;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Builds the DL4J graph of a {@link DenseNetConfig}, block by block, as the original Keras port's code does
 * ({@code conv_block}, {@code dense_block}, {@code transition_block}) and with its layer names:
 *
 * <pre>
 * conv1 -> conv1_bn -> relu1 -> pool1                          (ImageNet stem; CIFAR: conv1 only)
 * dense block s, conv block b:
 *   conv{s}_{b}_x1_bn -> relu{s}_{b}_x1 -> conv{s}_{b}_x1       (1x1 bottleneck, when enabled)
 *   conv{s}_{b}_x2_bn -> relu{s}_{b}_x2 -> conv{s}_{b}_x2       (3x3, growth-rate filters)
 *   concat_{s}_{b} = [previous features, conv{s}_{b}_x2]
 * transition after block s:  conv{s}_blk_bn -> relu{s}_blk -> conv{s}_blk -> pool{s}
 * head:  conv{F}_blk_bn -> relu{F}_blk -> pool{F} -> fc6       (F = final stage, 5 for 121)
 * </pre>
 *
 * <p>Keras' {@code *_scale} layers are folded into the {@code *_bn} before them (one per-channel
 * affine), and its {@code *_zeropadding} layers into the padding of the convolution or pooling that
 * follows (explicit, symmetric: 3 for conv1, 1 for pool1 and every 3x3), which saves a copy of the
 * feature map per layer and gives the same numbers. Without a bottleneck a conv block is only the
 * 3x3 part, which keeps its {@code x2} names. Dropout, when enabled, follows each convolution as
 * {@code <conv>_drop}.
 *
 * <p>Every ReLU is its own {@link ActivationLayer}: DL4J 1.0.0-M2.1's BatchNormalization layer
 * ignores any activation set on it.
 */
public final class DenseNetBuilder {

    /** Name of the graph's input, as in the original Keras port's code. */
    public static final String INPUT = "data";
    /** Name of the classifier layer. */
    public static final String CLASSIFIER = "fc6";

    private final DenseNetConfig config;
    private final GraphBuilder graph;

    private DenseNetBuilder(DenseNetConfig config) {
        this.config = config;
        this.graph = GraphDefaults.graphBuilder(config.training(), WeightInit.RELU,
                INPUT, config.inputHeight(), config.inputWidth(), config.inputChannels());
    }

    /** The graph configuration of {@code config}. */
    public static ComputationGraphConfiguration build(DenseNetConfig config) {
        return graphBuilder(config).build();
    }

    /**
     * The graph builder of {@code config}, for callers that add vertices of their own before
     * {@code build()}; its outputs are already set.
     */
    public static GraphBuilder graphBuilder(DenseNetConfig config) {
        return new DenseNetBuilder(config).assemble();
    }

    /**
     * The layers of {@code conf} that hold parameters, with their parameter counts (BN statistics
     * included), in the order they were added; computed without allocating anything.
     */
    public static java.util.Map<String, Long> weightLayers(ComputationGraphConfiguration conf) {
        java.util.Map<String, Long> layers = new java.util.LinkedHashMap<>();
        conf.getVertices().forEach((name, vertex) -> {
            if (vertex instanceof org.deeplearning4j.nn.conf.graph.LayerVertex lv) {
                var layer = lv.getLayerConf().getLayer();
                long n = layer.initializer().numParams(layer);
                if (n > 0) {
                    layers.put(name, n);
                }
            }
        });
        return layers;
    }

    /** The parameters a graph of {@code conf} holds (BN statistics included), computed without allocating them. */
    public static long numParams(ComputationGraphConfiguration conf) {
        return weightLayers(conf).values().stream().mapToLong(Long::longValue).sum();
    }

    private GraphBuilder assemble() {
        String x = stem(INPUT);
        int channels = config.initialFilters();
        int blocks = config.numBlocks();
        for (int b = 0; b < blocks - 1; b++) {
            int stage = b + 2;
            x = denseBlock(x, stage, config.blockLayers().get(b));
            channels += config.blockLayers().get(b) * config.growthRate();
            channels = config.transitionFilters(channels);
            x = transitionBlock(x, stage, channels);
        }
        x = denseBlock(x, config.finalStage(), config.blockLayers().get(blocks - 1));
        return graph.setOutputs(head(x, config.finalStage()));
    }

    /** conv1 [-> conv1_bn -> relu1 -> pool1]. */
    private String stem(String input) {
        if (config.stem() == DenseNetConfig.Stem.CIFAR) {
            return conv("conv1", input, config.initialFilters(), 3, 1, 1);
        }
        String x = conv("conv1", input, config.initialFilters(), 7, 2, 3);
        x = bnRelu("conv1_bn", "relu1", x);
        // The input is post-ReLU (>= 0), so padding inside the max pool equals Keras' zero padding.
        graph.addLayer("pool1", new SubsamplingLayer.Builder(PoolingType.MAX)
                .kernelSize(3, 3).stride(2, 2).padding(1, 1).build(), x);
        return "pool1";
    }

    /** dense_block: {@code layers} conv blocks, each concatenated to the features before it. */
    private String denseBlock(String input, int stage, int layers) {
        String features = input;
        for (int branch = 1; branch <= layers; branch++) {
            String x = convBlock(features, stage, branch);
            String concat = "concat_" + stage + "_" + branch;
            graph.addVertex(concat, new MergeVertex(), features, x);
            features = concat;
        }
        return features;
    }

    /** conv_block: [BN-ReLU-1x1 bottleneck], BN-ReLU-3x3 with growth-rate filters. */
    private String convBlock(String input, int stage, int branch) {
        String base = "conv" + stage + "_" + branch;
        String reluBase = "relu" + stage + "_" + branch;
        String x = input;
        if (config.bottleneck()) {
            x = bnRelu(base + "_x1_bn", reluBase + "_x1", x);
            x = dropout(conv(base + "_x1", x, config.bottleneckWidth() * config.growthRate(), 1, 1, 0));
        }
        x = bnRelu(base + "_x2_bn", reluBase + "_x2", x);
        return dropout(conv(base + "_x2", x, config.growthRate(), 3, 1, 1));
    }

    /** transition_block: BN-ReLU-1x1 conv to {@code filters} maps, 2x2/2 average pooling. */
    private String transitionBlock(String input, int stage, int filters) {
        String base = "conv" + stage + "_blk";
        String x = bnRelu(base + "_bn", "relu" + stage + "_blk", input);
        x = dropout(conv(base, x, filters, 1, 1, 0));
        String pool = "pool" + stage;
        graph.addLayer(pool, new SubsamplingLayer.Builder(PoolingType.AVG)
                .kernelSize(2, 2).stride(2, 2).build(), x);
        return pool;
    }

    /** Final BN-ReLU, then global pooling and fc6, or the headless output. Returns the output name. */
    private String head(String input, int stage) {
        String x = bnRelu("conv" + stage + "_blk_bn", "relu" + stage + "_blk", input);
        if (config.pooling() == DenseNetConfig.Pooling.NONE) {
            return x;
        }
        String pool = "pool" + stage;
        PoolingType type = config.pooling() == DenseNetConfig.Pooling.MAX ? PoolingType.MAX : PoolingType.AVG;
        graph.addLayer(pool, new GlobalPoolingLayer.Builder(type).build(), x);
        if (!config.includeTop()) {
            return pool;
        }
        graph.addLayer(CLASSIFIER, new OutputLayer.Builder(LossFunction.MCXENT)
                .nOut(config.numClasses())
                .activation(Activation.SOFTMAX)
                .weightInit(WeightInit.XAVIER)
                .build(), pool);
        return CLASSIFIER;
    }

    /** Batch normalisation (Scale folded in) followed by its ReLU. Returns the ReLU's name. */
    private String bnRelu(String bnName, String reluName, String input) {
        graph.addLayer(bnName, new BatchNormalization.Builder()
                .eps(config.bnEpsilon())
                .useLogStd(false) // store the variance itself, as Keras and PyTorch do
                .build(), input);
        graph.addLayer(reluName, new ActivationLayer.Builder().activation(Activation.RELU).build(), bnName);
        return reluName;
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
