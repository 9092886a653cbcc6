package org.densenet4j.zoo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.densenet4j.dl4j.FastPath;
import org.densenet4j.dl4j.NativeDefaults;
import org.densenet4j.zoo.io.ModelFiles;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.ModelMetaData;
import org.deeplearning4j.zoo.PretrainedType;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.ZooType;
import org.nd4j.linalg.api.ndarray.INDArray;

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

    /** Times {@link #initPretrained} rebuilt a graph and copied the weights into it, for tests. */
    static final AtomicInteger TRANSFERS = new AtomicInteger();

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
     * its checksum and architecture. A configuration with the preset's architecture gets the
     * cached graph itself, with its own {@link TrainingSettings} applied when they differ (no copy
     * of the weights); another architecture gets a graph of its own holding the weights that fit.
     * A model bundled in this jar is installed into the cache on first
     * use; the published ImageNet weights are downloaded and converted by a {@link PretrainedProvider}
     * when one is on the class path (densenet-keras-import's, whose catalog {@code PretrainedWeights}
     * says which file, checked against its publisher's hash). Without one, the error says to add
     * densenet-keras-import to the class path or to put a converted model zip at the cache path.
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
                            + "this build of densenet-zoo bundles none (" + source.resource() + "); put a model zip "
                            + "of " + name + " there (ModelFiles.write, which writes its .sha256 file beside it), "
                            + "e.g. one trained with org.densenet4j.training.Trainer");
                }
            } else {
                install(pretrainedType, zip);
            }
        }
        ComputationGraph graph = ModelFiles.read(zip, true);
        long expected = DenseNetBuilder.numParams(DenseNetBuilder.build(preset.config()));
        if (graph.numParams() != expected) {
            throw new IOException(zip + ": holds a model of " + graph.numParams() + " parameters, not a " + name
                    + " (" + expected + "); " + (source.bundled() ? "delete it to reinstall the bundled model"
                            : "delete it for initPretrained() to install the published weights again, or replace it "
                                    + "with a converted model zip of " + name));
        }
        if (config.equals(preset.config())) {
            return (M) graph;
        }
        if (config.sameArchitecture(preset.config())) {
            return (M) config.training().applyTo(graph); // the same layers: the weights as they are
        }
        TRANSFERS.incrementAndGet();
        return (M) transferred(graph, zip);
    }

    /**
     * The pretrained weights in a graph of this model's configuration, as Keras'
     * {@code weights='imagenet', include_top=False} and torchvision's weights with a new classifier
     * give them: every layer but the classifier takes the pretrained parameters; a classifier of
     * another size starts fresh, a headless graph has none; the input size is free (global pooling).
     *
     * @throws IllegalArgumentException naming the first layer that cannot take the weights (another
     *         growth rate, other blocks, another stem or input channels)
     */
    private ComputationGraph transferred(ComputationGraph pretrained, Path zip) {
        double eps = config.bnEpsilon(); // the weights', which the conversion chose for their layout
        for (Layer l : pretrained.getLayers()) {
            if (l.conf().getLayer() instanceof BatchNormalization bn) {
                eps = bn.getEps();
                break;
            }
        }
        ComputationGraph graph = new DenseNetZooModel(name, null, config.toBuilder().bnEpsilon(eps).build()).init();
        for (Layer layer : graph.getLayers()) {
            String layerName = layer.conf().getLayer().getLayerName();
            if (layer.numParams() == 0) {
                continue;
            }
            // getLayer throws for a name the graph does not have
            Layer from = pretrained.getConfiguration().getVertices().containsKey(layerName)
                    ? pretrained.getLayer(layerName) : null;
            boolean classifier = layerName.equals(DenseNetBuilder.CLASSIFIER);
            if (classifier && (from == null || from.numParams() != layer.numParams())) {
                continue; // a classifier of other classes: trained anew
            }
            if (from == null) {
                throw new IllegalArgumentException(name + "'s pretrained weights (" + zip + ") have no layer '"
                        + layerName
                        + "', which this configuration has: it cannot take them (" + difference() + ")");
            }
            for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                INDArray w = from.getParam(p.getKey());
                if (w == null || !java.util.Arrays.equals(w.shape(), p.getValue().shape())) {
                    throw new IllegalArgumentException(name + "'s pretrained weights (" + zip + ") cannot fill layer '"
                            + layerName + "': its " + p.getKey() + " is " + (w == null ? "absent"
                                    : java.util.Arrays.toString(w.shape())) + " there and "
                            + java.util.Arrays.toString(p.getValue().shape()) + " here (" + difference() + ")");
                }
                p.getValue().assign(w);
            }
        }
        pretrained.close();
        return graph;
    }

    /** How this configuration's architecture differs from the preset's, for the error above. */
    private String difference() {
        DenseNetConfig p = preset.config();
        List<String> d = new ArrayList<>();
        if (config.growthRate() != p.growthRate()) {
            d.add("growth rate " + config.growthRate() + " instead of " + p.growthRate());
        }
        if (!config.blockLayers().equals(p.blockLayers())) {
            d.add("blocks " + config.blockLayers() + " instead of " + p.blockLayers());
        }
        if (config.initialFilters() != p.initialFilters()) {
            d.add(config.initialFilters() + " initial filters instead of " + p.initialFilters());
        }
        if (config.compression() != p.compression()) {
            d.add("compression " + config.compression() + " instead of " + p.compression());
        }
        if (config.stem() != p.stem() || config.inputChannels() != p.inputChannels()) {
            d.add("another stem or input channels");
        }
        return d.isEmpty() ? "another architecture" : String.join(", ", d);
    }

    /**
     * Installs the published weights at {@code zip} with the first {@link PretrainedProvider} on the
     * class path that has them (densenet-keras-import's downloads).
     *
     * @throws NoSuchFileException naming {@code zip} and what the caller can do, when no provider has them
     */
    private void install(PretrainedType type, Path zip) throws IOException {
        List<String> providers = new ArrayList<>();
        for (PretrainedProvider provider : java.util.ServiceLoader.load(PretrainedProvider.class)) {
            if (provider.install(name, type, zip)) {
                return;
            }
            providers.add(provider.getClass().getName());
        }
        String put = "or put a converted model zip of " + name + " (ModelFiles.write, which writes its .sha256 file "
                + "beside it) at " + zip;
        throw new NoSuchFileException(zip.toString(), null, "no " + name + " model in the zoo cache, and " + (providers
                .isEmpty() ? "nothing on the class path downloads its published " + type + " weights: add "
                        + "densenet-keras-import to the class path to download the published weights, " + put
                : "no PretrainedProvider on the class path " + providers + " has its " + type + " weights; " + put));
    }

    /**
     * The cached model's location (a file URL): where the bundled model is installed and a
     * {@link PretrainedProvider} puts the converted published weights; DL4J's own download is not used.
     */
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
