package org.densenet4j.zoo;

import java.util.Objects;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.ModelMetaData;
import org.deeplearning4j.zoo.PretrainedType;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.ZooType;

/**
 * A DenseNet as a DL4J {@link ZooModel}, so it drops into code written for DL4J's own zoo:
 *
 * <pre>{@code
 * ComputationGraph net = new DenseNet121().init();
 * ComputationGraph cifar = DenseNetZooModel.of(DenseNetPreset.CIFAR_DENSENET_BC100_K12).init();
 * ComputationGraph tuned = new DenseNet121(c -> c.numClasses(5).inputShape(160, 200, 3)).init();
 * }</pre>
 *
 * <p>Any input size the architecture can take works (global pooling makes the graph independent of
 * the spatial size); {@link #setInputShape(int[][])} only changes the shape the graph is configured
 * and validated for.
 */
public class DenseNetZooModel extends ZooModel<DenseNetZooModel> {

    private final String name;
    private DenseNetConfig config;

    /** A model of {@code config}, reported by DL4J under {@code name}. */
    public DenseNetZooModel(String name, DenseNetConfig config) {
        this.name = Objects.requireNonNull(name, "name");
        this.config = Objects.requireNonNull(config, "config");
    }

    /** The preset, changed by {@code customise} (for example the number of classes). */
    public DenseNetZooModel(DenseNetPreset preset, UnaryOperator<DenseNetConfig.Builder> customise) {
        this(preset.id(), customise.apply(preset.config().toBuilder()).build());
    }

    /** The preset as it is. */
    public static DenseNetZooModel of(DenseNetPreset preset) {
        return new DenseNetZooModel(preset.id(), preset.config());
    }

    /** The configuration this model builds. */
    public DenseNetConfig config() {
        return config;
    }

    /** The graph configuration, not yet initialised. */
    public ComputationGraphConfiguration conf() {
        return DenseNetBuilder.build(config);
    }

    /** A new graph with freshly initialised weights. */
    @Override
    @SuppressWarnings("unchecked")
    public ComputationGraph init() {
        ComputationGraph graph = new ComputationGraph(conf());
        graph.init();
        return graph;
    }

    @Override
    public ModelMetaData metaData() {
        return new ModelMetaData(new int[][] {{config.inputChannels(), config.inputHeight(), config.inputWidth()}},
                1, ZooType.CNN);
    }

    /**
     * Sets the input shape as DL4J's zoo does: {@code inputShape[0] = {channels, height, width}}.
     *
     * @throws IllegalArgumentException if the shape is malformed or too small for the architecture
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
