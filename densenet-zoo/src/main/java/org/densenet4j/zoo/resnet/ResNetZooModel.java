package org.densenet4j.zoo.resnet;

import java.util.Objects;
import java.util.function.UnaryOperator;

import org.densenet4j.dl4j.FastPath;
import org.densenet4j.dl4j.NativeDefaults;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.ModelMetaData;
import org.deeplearning4j.zoo.PretrainedType;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.ZooType;

/**
 * A ResNet as a DL4J {@link ZooModel}:
 *
 * <pre>{@code
 * ComputationGraph resnet = ResNetZooModel.of(ResNetPreset.RESNET18_D2L).init();
 * ComputationGraph rgb = new ResNetZooModel(ResNetPreset.RESNET18_D2L, c -> c.inputShape(64, 64, 3)).init();
 * }</pre>
 *
 * <p>Global pooling makes the graph take any input size; no pretrained weights are published.
 */
public class ResNetZooModel extends ZooModel<ResNetZooModel> {

    private final String name;
    private ResNetConfig config;

    /** A model of {@code config}, reported by DL4J under {@code name}. */
    public ResNetZooModel(String name, ResNetConfig config) {
        this.name = Objects.requireNonNull(name, "name");
        this.config = Objects.requireNonNull(config, "config");
    }

    /** The preset, changed by {@code customise} (for example the number of classes). */
    public ResNetZooModel(ResNetPreset preset, UnaryOperator<ResNetConfig.Builder> customise) {
        this(preset.id(), customise.apply(preset.config().toBuilder()).build());
    }

    /** The preset as it is. */
    public static ResNetZooModel of(ResNetPreset preset) {
        return new ResNetZooModel(preset, UnaryOperator.identity());
    }

    /** The configuration this model builds. */
    public ResNetConfig config() {
        return config;
    }

    /** The graph configuration, not yet initialised. */
    public ComputationGraphConfiguration conf() {
        return ResNetBuilder.build(config);
    }

    /** A new graph with freshly initialised weights, on the fast CPU path. */
    @Override
    public ComputationGraph init() {
        NativeDefaults.apply(); // before the first array: the fast CPU natives, unless ND4J has loaded
        ComputationGraph graph = new ComputationGraph(conf());
        graph.init();
        return FastPath.install(graph);
    }

    @Override
    public ModelMetaData metaData() {
        return new ModelMetaData(new int[][] {{config.inputChannels(), config.inputHeight(), config.inputWidth()}},
                1, ZooType.CNN);
    }

    /**
     * Sets the input shape as DL4J's zoo does: {@code inputShape[0] = {channels, height, width}}.
     *
     * @throws IllegalArgumentException if the shape is malformed
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

    /** False: no pretrained ResNet weights are published by the zoo. */
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
