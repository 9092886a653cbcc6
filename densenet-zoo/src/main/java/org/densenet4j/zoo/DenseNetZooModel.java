package org.densenet4j.zoo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
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

    static {
        NativeDefaults.apply(); // before any layer exists: the fast CPU path by default
    }

    private final String name;
    private final DenseNetPreset preset;
    private DenseNetConfig config;

    /** A model of {@code config}, reported by DL4J under {@code name}; it has no pretrained weights. */
    public DenseNetZooModel(String name, DenseNetConfig config) {
        this(name, null, config);
    }

    /** The preset, changed by {@code customise} (for example the number of classes). */
    public DenseNetZooModel(DenseNetPreset preset, UnaryOperator<DenseNetConfig.Builder> customise) {
        this(preset.id(), preset, customise.apply(preset.config().toBuilder()).build());
    }

    private DenseNetZooModel(String name, DenseNetPreset preset, DenseNetConfig config) {
        this.name = Objects.requireNonNull(name, "name");
        this.preset = preset;
        this.config = Objects.requireNonNull(config, "config");
    }

    /** The preset as it is. */
    public static DenseNetZooModel of(DenseNetPreset preset) {
        return new DenseNetZooModel(preset, UnaryOperator.identity());
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
    public ComputationGraph init() {
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

    /**
     * Whether pretrained weights exist for this preset: ImageNet weights for DenseNet-121, 161, 169
     * and 201, Fashion-MNIST ({@link PretrainedType#MNIST}) weights for {@link DenseNetPreset#FASHION_MNIST}.
     */
    @Override
    public boolean pretrainedAvailable(PretrainedType pretrainedType) {
        return source(pretrainedType) != null;
    }

    /**
     * The pretrained model of the kind this preset has (ImageNet, or MNIST for the Fashion-MNIST
     * model); see {@link #initPretrained(PretrainedType)}.
     */
    @Override
    public ComputationGraph initPretrained() throws IOException {
        PretrainedType type = preset == null ? PretrainedType.IMAGENET
                : preset.pretrainedType().orElse(PretrainedType.IMAGENET);
        return initPretrained(type);
    }

    /**
     * The pretrained model from the local zoo cache ({@link ModelFiles#cachedModel}), checked against
     * its checksum and architecture. A model bundled in this jar is installed into the cache on first
     * use; the published ImageNet weights are downloaded and converted by a {@link PretrainedProvider}
     * when one is on the class path (densenet-keras-import's, checked against the publishers'
     * hashes), or converted by hand with {@code densenet convert --install}, which the error names
     * when neither can be done.
     *
     * @throws UnsupportedOperationException if no weights are published for this model and type
     * @throws IOException naming the file and what to do when the cached model is missing or damaged
     */
    @Override
    @SuppressWarnings("unchecked")
    public <M extends Model> M initPretrained(PretrainedType pretrainedType) throws IOException {
        DenseNetPreset.WeightSource source = source(pretrainedType);
        if (source == null) {
            throw new UnsupportedOperationException("No pretrained " + pretrainedType + " weights are published for "
                    + name + "; pretrained models exist for " + java.util.Arrays.stream(DenseNetPreset.values())
                            .filter(p -> p.pretrainedType().isPresent())
                            .map(p -> p.id() + " (" + p.pretrainedType().get() + ")").toList());
        }
        Path zip = ModelFiles.cachedModel(name, pretrainedType);
        if (!Files.exists(zip)) {
            if (source.bundled()) {
                try {
                    ModelFiles.installResource(source.resource(), zip);
                } catch (NoSuchFileException e) {
                    throw new NoSuchFileException(zip.toString(), null, "no " + name + " model in the zoo cache, and "
                            + "this build of densenet-zoo bundles none (" + source.resource() + "). Train one ("
                            + "./densenet train --model " + name + " --out " + name + ".zip) and copy it there with "
                            + "its .sha256 file");
                }
            } else if (!installedByProvider(pretrainedType, zip)) {
                throw new NoSuchFileException(zip.toString(), null, "no converted " + name + " model in the zoo cache. "
                        + "Get " + source.fileName() + " (" + source.origin() + ") and run:\n  ./densenet convert --weights "
                        + source.fileName() + " --model " + name + " --install");
            }
        }
        ComputationGraph graph = ModelFiles.read(zip, true);
        long expected = DenseNetBuilder.numParams(DenseNetBuilder.build(preset.config()));
        if (graph.numParams() != expected) {
            throw new IOException(zip + ": holds a model of " + graph.numParams() + " parameters, not a " + name
                    + " (" + expected + "); " + (source.bundled() ? "delete it to reinstall the bundled model"
                            : "convert it again"));
        }
        return (M) graph;
    }

    /** Whether a {@link PretrainedProvider} on the class path (densenet-keras-import's downloads) installed the model. */
    private boolean installedByProvider(PretrainedType type, Path zip) throws IOException {
        for (PretrainedProvider provider : java.util.ServiceLoader.load(PretrainedProvider.class)) {
            if (provider.install(name, type, zip)) {
                return true;
            }
        }
        return false;
    }

    /** The cached model's location (a file URL): models are installed from this jar or by conversion, not downloaded. */
    @Override
    public String pretrainedUrl(PretrainedType pretrainedType) {
        return source(pretrainedType) == null ? null : ModelFiles.cachedModel(name, pretrainedType).toUri().toString();
    }

    /** 0: the checksum of a cached model is the SHA-256 written beside it, checked by {@link #initPretrained}. */
    @Override
    public long pretrainedChecksum(PretrainedType pretrainedType) {
        return 0L;
    }

    private DenseNetPreset.WeightSource source(PretrainedType type) {
        return preset == null ? null : preset.pretrained(type).orElse(null);
    }

    @Override
    public String modelName() {
        return name;
    }
}
