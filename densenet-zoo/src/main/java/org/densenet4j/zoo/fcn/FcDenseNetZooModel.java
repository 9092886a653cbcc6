package org.densenet4j.zoo.fcn;

import java.util.Objects;
import java.util.function.UnaryOperator;

import org.densenet4j.dl4j.FastPath;
import org.densenet4j.dl4j.NativeDefaults;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.ModelMetaData;
import org.deeplearning4j.zoo.PretrainedType;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.ZooType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An FC-DenseNet as a DL4J {@link ZooModel}:
 *
 * <pre>{@code
 * ComputationGraph tiramisu = FcDenseNetZooModel.of(FcDenseNetPreset.FC_DENSENET103).init();
 * ComputationGraph small = new FcDenseNetZooModel(FcDenseNetPreset.FC_DENSENET56,
 *         c -> c.numClasses(2).inputShape(96, 96, 1)).init();
 * }</pre>
 *
 * <p>The graph is built for its configured input size (see {@link FcDenseNetBuilder}); move a
 * graph's parameters to another size with {@link #resized}. No pretrained weights are published.
 */
public class FcDenseNetZooModel extends ZooModel<FcDenseNetZooModel> {

    private final String name;
    private FcDenseNetConfig config;

    /** A model of {@code config}, reported by DL4J under {@code name}. */
    public FcDenseNetZooModel(String name, FcDenseNetConfig config) {
        this.name = Objects.requireNonNull(name, "name");
        this.config = Objects.requireNonNull(config, "config");
    }

    /** The preset, changed by {@code customise} (for example the classes or the input size). */
    public FcDenseNetZooModel(FcDenseNetPreset preset, UnaryOperator<FcDenseNetConfig.Builder> customise) {
        this(preset.id(), customise.apply(preset.config().toBuilder()).build());
    }

    /** The preset as it is. */
    public static FcDenseNetZooModel of(FcDenseNetPreset preset) {
        return new FcDenseNetZooModel(preset, UnaryOperator.identity());
    }

    /** The configuration this model builds. */
    public FcDenseNetConfig config() {
        return config;
    }

    /** The graph configuration, not yet initialised. */
    public ComputationGraphConfiguration conf() {
        return FcDenseNetBuilder.build(config);
    }

    /** A new graph with freshly initialised weights, on the fast CPU path. */
    @Override
    public ComputationGraph init() {
        NativeDefaults.apply(); // before the first array: the fast CPU natives, unless ND4J has loaded
        ComputationGraph graph = new ComputationGraph(conf());
        graph.init();
        return FastPath.install(graph);
    }

    /**
     * A graph of {@code config} built for {@code height x width} inputs holding {@code graph}'s
     * parameters (and batch-norm statistics), layer by layer: the same network for another input size.
     *
     * @param graph  a graph of {@code config} (initialised), at any input size
     * @throws IllegalArgumentException naming the first layer {@code graph} lacks or holds in
     *         another shape (a graph of another configuration), or a size the network cannot take
     */
    public static ComputationGraph resized(ComputationGraph graph, FcDenseNetConfig config, int height, int width) {
        ComputationGraph out = new FcDenseNetZooModel("resized",
                config.toBuilder().inputShape(height, width, config.inputChannels()).build()).init();
        for (Layer layer : out.getLayers()) {
            if (layer.numParams() == 0) {
                continue;
            }
            String layerName = layer.conf().getLayer().getLayerName();
            if (!graph.getConfiguration().getVertices().containsKey(layerName)) {
                throw new IllegalArgumentException("the graph has no layer '" + layerName
                        + "': it is not a graph of this FC-DenseNet configuration");
            }
            INDArray from = graph.getLayer(layerName).params();
            if (from.length() != layer.numParams()) {
                throw new IllegalArgumentException("layer '" + layerName + "' holds " + from.length()
                        + " parameters in the graph and " + layer.numParams() + " in this configuration");
            }
            layer.setParams(from.dup());
        }
        return out;
    }

    @Override
    public ModelMetaData metaData() {
        return new ModelMetaData(new int[][] {{config.inputChannels(), config.inputHeight(), config.inputWidth()}},
                1, ZooType.CNN);
    }

    /**
     * Sets the input shape as DL4J's zoo does: {@code inputShape[0] = {channels, height, width}}.
     *
     * @throws IllegalArgumentException if the shape is malformed or too small for the network
     */
    @Override
    public void setInputShape(int[][] inputShape) {
        if (inputShape == null || inputShape.length != 1 || inputShape[0] == null || inputShape[0].length != 3) {
            throw new IllegalArgumentException(
                    "inputShape must be {{channels, height, width}}, was " + java.util.Arrays.deepToString(inputShape));
        }
        int[] chw = inputShape[0];
        config = config.toBuilder().inputShape(chw[1], chw[2], chw[0]).build();
    }

    @Override
    public Class<? extends Model> modelType() {
        return ComputationGraph.class;
    }

    /** False: no pretrained FC-DenseNet weights are published by the zoo. */
    @Override
    public boolean pretrainedAvailable(PretrainedType pretrainedType) {
        return false;
    }

    /** Null: there are no pretrained weights (DL4J's {@code initPretrained} then refuses). */
    @Override
    public String pretrainedUrl(PretrainedType pretrainedType) {
        return null;
    }

    @Override
    public long pretrainedChecksum(PretrainedType pretrainedType) {
        return 0L;
    }

    @Override
    public String modelName() {
        return name;
    }
}
