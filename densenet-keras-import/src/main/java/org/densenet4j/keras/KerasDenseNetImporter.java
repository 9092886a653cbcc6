package org.densenet4j.keras;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.keras.WeightFile.Tensor;
import org.densenet4j.zoo.DenseNetBuilder;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.io.ImageTransform;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads DenseNet weights saved by Keras, or by PyTorch, into the zoo's graphs, exactly:
 *
 * <pre>{@code
 * // the original Keras port's Caffe-converted DenseNet-121 ('tf' or 'th' ordering, detected)
 * ComputationGraph net = KerasDenseNetImporter.load(Path.of("densenet121_weights_tf.h5"),
 *         DenseNetPreset.DENSENET121.config());
 * // whatever the file holds, as the file describes it
 * WeightFileSummary s = KerasDenseNetImporter.inspect(file);
 * ComputationGraph any = KerasDenseNetImporter.load(file, s.toConfig().build(), s.layout());
 * }</pre>
 *
 * <p>Loading is strict. Every weight-holding layer of the graph is filled exactly once, and every
 * weight of the file is used, except a classifier the caller asked to drop by building a headless
 * graph. Weights are matched to a layer's parameters by their role (kernel, gamma, moving_mean, ...:
 * the last part of the weight's name), never by their order in the file. Anything else (a missing or
 * extra layer or weight, a shape that differs, a weight that is not finite) fails with a
 * {@link WeightImportException} naming the file, the layer and what was expected and found, and no
 * graph is returned.
 *
 * <p>torchvision's and timm's DenseNet state_dicts load the same way ({@code .pth}/{@code .pt} as
 * {@code torch.save} writes them, zip or legacy, and {@code .safetensors}; see {@link TorchNames} for
 * the names, the published checkpoints' legacy ones included), with BN epsilon 1e-5:
 *
 * <pre>{@code
 * ComputationGraph tv = KerasDenseNetImporter.load(Path.of("densenet121-a639ec97.pth"),
 *         DenseNetPreset.DENSENET121.config());
 * }</pre>
 *
 * <p>What the conversion does: conv kernels go from (kh, kw, in, out) or, for Theano files, from
 * spatially flipped (out, in, kh, kw) to DL4J's (out, in, kh, kw) (PyTorch's are DL4J's already);
 * PyTorch's (out, in) classifier is transposed to DL4J's (in, out); a Keras 1 {@code Scale} layer is
 * folded into the BatchNormalization before it ({@code gamma' = s_gamma * gamma},
 * {@code beta' = s_gamma * beta + s_beta}); {@code running_std} is, despite its name, the variance;
 * the graph's BN epsilon is the layout's (1.1e-5 for the original Keras port's files, 1.001e-5 for keras.applications).
 */
public final class KerasDenseNetImporter {

    private static final Logger log = LoggerFactory.getLogger(KerasDenseNetImporter.class);
    private static final Pattern BRANCH_3X3 = Pattern.compile("conv(\\d+)_(\\d+)_x2");

    /**
     * What a stored tensor is to its layer, with the name each layout gives it: Keras 1's
     * ({@code W}, {@code running_std}, ...), Keras 2's ({@code kernel}, {@code moving_variance}, ...) and
     * PyTorch's ({@code weight}, {@code running_var}, ...).
     */
    enum Role {
        KERNEL("W", "kernel", "weight"),
        BIAS("b", "bias", "bias"),
        GAMMA("gamma", "gamma", "weight"),
        BETA("beta", "beta", "bias"),
        MEAN("running_mean", "moving_mean", "running_mean"),
        VARIANCE("running_std", "moving_variance", "running_var");

        private final String keras1;
        private final String keras2;
        private final String torch;

        Role(String keras1, String keras2, String torch) {
            this.keras1 = keras1;
            this.keras2 = keras2;
            this.torch = torch;
        }

        /** The name {@code layout} gives a weight of this role, for messages. */
        String nameIn(WeightLayout layout) {
            return switch (layout) {
                case KERAS1_TF, KERAS1_TH -> keras1;
                case KERAS2 -> keras2;
                case TORCHVISION -> torch;
            };
        }

        /** The roles' names in {@code layout}, in the roles' order, each once, e.g. {@code gamma, beta}. */
        static String names(java.util.Collection<Role> roles, WeightLayout layout) {
            return roles.stream().sorted().map(r -> r.nameIn(layout)).distinct()
                    .collect(java.util.stream.Collectors.joining(", "));
        }

        /**
         * The role of weight {@code weightName} of layer {@code layer}, e.g. {@code conv1_bn_running_std:0}:
         * by the last part of the name, whatever scope comes before it ({@code densenet121/conv1/bn/gamma:0}).
         */
        static Role of(String layer, String weightName) {
            String s = weightName.replaceFirst(":\\d+$", "");
            s = s.substring(s.lastIndexOf('/') + 1);
            if (s.startsWith(layer + "_")) {
                s = s.substring(layer.length() + 1);
            }
            return switch (s) {
                case "W", "kernel" -> KERNEL;
                case "b", "bias" -> BIAS;
                case "gamma" -> GAMMA;
                case "beta" -> BETA;
                case "running_mean", "moving_mean" -> MEAN;
                case "running_std", "moving_variance" -> VARIANCE;
                default -> null;
            };
        }
    }

    /** The file's weights for one zoo layer (with the Scale layer folded into it, for a Keras 1 BN). */
    record Source(String fileLayer, Map<Role, Tensor> tensors, String scaleLayer, Map<Role, Tensor> scale) {
    }

    private KerasDenseNetImporter() {
    }

    /** Loads {@code file} into a new graph of {@code target}, detecting the file's layout. */
    public static ComputationGraph load(Path file, DenseNetConfig target) throws WeightImportException {
        return load(file, target, null);
    }

    /**
     * Loads {@code file} into a new graph of {@code target}.
     *
     * @param layout the file's layout, or null to detect it
     * @throws WeightImportException if the file cannot be read or does not fit the graph exactly
     */
    public static ComputationGraph load(Path file, DenseNetConfig target, WeightLayout layout)
            throws WeightImportException {
        org.densenet4j.dl4j.NativeDefaults.apply(); // before the graph's first array, unless ND4J has loaded
        long start = System.nanoTime();
        WeightFile weights = WeightFile.readAny(file);
        WeightLayout actual = layout != null ? checked(weights, layout) : detect(weights);
        Map<String, Source> sources = byZooName(weights, actual);

        // An ONNX graph says its batch norms' epsilon; the other files' layouts imply theirs.
        double eps = Double.isNaN(weights.bnEpsilon()) ? actual.bnEpsilon() : weights.bnEpsilon();
        DenseNetConfig config = target.toBuilder().bnEpsilon(eps).build();
        ComputationGraphConfiguration conf = DenseNetBuilder.build(config);
        checkArchitecture(file, actual, sources, config, conf);

        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        org.densenet4j.dl4j.FastPath.install(graph);
        for (Layer layer : graph.getLayers()) {
            if (layer.numParams() > 0) {
                String name = layer.conf().getLayer().getLayerName();
                fill(file, actual, name, layer, sources.remove(name));
            }
        }
        log.info("Loaded {} ({}) into a {}-parameter graph in {} ms", file, actual.id(), graph.numParams(),
                (System.nanoTime() - start) / 1_000_000);
        return graph;
    }

    /**
     * The model card of weights imported from {@code file} in {@code layout} into a graph of
     * {@code config}: the layout's image transform ({@link WeightLayout#transform}), the configuration's
     * input size, ImageNet's class
     * names for a 1000-class classifier, and the file's name, SHA-256, format and layout.
     */
    public static ModelCard card(Path file, WeightLayout layout, DenseNetConfig config) throws WeightImportException {
        Map<String, String> source = new LinkedHashMap<>();
        source.put("file", file.getFileName().toString());
        WeightFile weights;
        try {
            source.put("sha256", ModelFiles.sha256(file));
            weights = WeightFile.readAny(file);
            source.put("format", weights.format());
        } catch (java.io.IOException e) {
            throw new WeightImportException(file, "cannot read: " + e.getMessage(), e);
        }
        source.put("layout", layout.id());
        List<String> labels = config.includeTop() && config.numClasses() == 1000
                ? org.densenet4j.preprocess.ImageNetClasses.imageNet() : List.of();
        // An ONNX file written by DenseNet4J carries its model card's transform and labels in its metadata.
        ImageTransform transform = recordedTransform(weights.metadata().get("transform"))
                .orElse(layout.transform(config.inputHeight(), config.inputWidth()));
        List<String> recordedLabels = jsonStrings(weights.metadata().get("labels"));
        if (config.includeTop() && recordedLabels != null && recordedLabels.size() == config.numClasses()) {
            labels = recordedLabels;
        }
        return new ModelCard(transform, config.inputHeight(), config.inputWidth(), config.inputChannels(), labels,
                source).withArchitecture(config.toJson());
    }

    /** The transform a file's metadata records (JSON, as a model card holds it), if it holds a valid one. */
    private static java.util.Optional<ImageTransform> recordedTransform(String json) {
        if (json == null) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(ImageTransform.fromJson(json));
        } catch (java.io.IOException | IllegalArgumentException e) {
            return java.util.Optional.empty();
        }
    }

    /** A JSON array of strings, or null when {@code json} is absent or not one. */
    private static List<String> jsonStrings(String json) {
        if (json == null) {
            return null;
        }
        try {
            List<?> list = new org.nd4j.shade.jackson.databind.ObjectMapper().readValue(json, List.class);
            return list.stream().allMatch(String.class::isInstance) ? list.stream().map(String.class::cast).toList()
                    : null;
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /**
     * Reads what a weight file holds: its layout and the DenseNet architecture it fits.
     *
     * @throws WeightImportException if the file cannot be read or is not a DenseNet weight file
     */
    public static WeightFileSummary inspect(Path file) throws WeightImportException {
        WeightFile weights = WeightFile.readAny(file);
        WeightLayout layout = detect(weights);
        return summarise(file, layout, byZooName(weights, layout));
    }

    /**
     * The layout of a file: keras.applications names mean {@link WeightLayout#KERAS2}; otherwise the
     * order of the kernel dimensions tells 'tf' (kh, kw, in, out) from 'th' (out, in, kh, kw).
     */
    static WeightLayout detect(WeightFile weights) throws WeightImportException {
        List<WeightFile.Layer> layers = weights.weightLayers();
        if (layers.isEmpty()) {
            throw new WeightImportException(weights.file(), "the file holds no weights");
        }
        if (weights.stateDict()) {
            return WeightLayout.TORCHVISION;
        }
        if (layers.stream().anyMatch(l -> KerasNames.isKeras2Name(l.name()))) {
            return WeightLayout.KERAS2;
        }
        int tf = 0;
        int th = 0;
        for (WeightFile.Layer layer : layers) {
            for (Tensor t : layer.weights()) {
                long[] s = t.shape();
                if (s.length == 4 && Role.of(layer.name(), t.name()) == Role.KERNEL) {
                    boolean tfLike = s[0] == s[1] && s[0] <= 11;
                    boolean thLike = s[2] == s[3] && s[2] <= 11;
                    tf += tfLike && !thLike ? 1 : 0;
                    th += thLike && !tfLike ? 1 : 0;
                }
            }
        }
        if (tf > 0 && th == 0) {
            return WeightLayout.KERAS1_TF;
        }
        if (th > 0 && tf == 0) {
            return WeightLayout.KERAS1_TH;
        }
        throw new WeightImportException(weights.file(), "cannot tell the dimension ordering of the conv kernels ("
                + tf + " look 'tf', " + th + " look 'th'); name the layout (keras1-tf, keras1-th or keras2)");
    }

    /** {@code layout}, when it can be the file's: a state_dict layout for a PyTorch file, a Keras one for HDF5. */
    private static WeightLayout checked(WeightFile weights, WeightLayout layout) throws WeightImportException {
        if (layout.stateDict() != weights.stateDict()) {
            throw new WeightImportException(weights.file(),
                    "is a " + weights.format() + " file, which cannot be in the "
                    + "'" + layout.id() + "' layout (" + (weights.stateDict() ? "torchvision" : "keras1-tf, keras1-th "
                    + "or keras2") + " can)");
        }
        return layout;
    }

    /** The file's weight layers keyed by the zoo layer they fill, Scale layers attached to their BN. */
    static Map<String, Source> byZooName(WeightFile weights, WeightLayout layout) throws WeightImportException {
        Path file = weights.file();
        if (layout == WeightLayout.TORCHVISION) {
            return byZooNameFromStateDict(weights);
        }
        int finalStage = KerasNames.keras2FinalStage(weights.layers().keySet());
        Map<String, Source> sources = new LinkedHashMap<>();
        Map<String, WeightFile.Layer> scales = new LinkedHashMap<>();
        for (WeightFile.Layer layer : weights.weightLayers()) {
            if (layout != WeightLayout.KERAS2 && layer.name().endsWith("_scale")) {
                scales.put(layer.name(), layer);
                continue;
            }
            String zoo = layout == WeightLayout.KERAS2
                    ? KerasNames.keras2ToZoo(layer.name(), finalStage).orElseThrow(() -> WeightImportException.atLayer(
                            file, layer.name(), "is not a layer of a keras.applications DenseNet"))
                    : layer.name();
            if (sources.containsKey(zoo)) {
                throw WeightImportException.atLayer(file, layer.name(),
                        "fills '" + zoo + "', which another layer fills too");
            }
            sources.put(zoo, new Source(layer.name(), roles(file, layout, layer, Role::of), null, Map.of()));
        }
        checkScaleLayers(weights, layout, scales, sources);
        for (WeightFile.Layer scale : scales.values()) {
            String bnName = scale.name().substring(0, scale.name().length() - "_scale".length()) + "_bn";
            Source bn = sources.get(bnName);
            if (bn == null) {
                throw WeightImportException.atLayer(file, scale.name(),
                        "is a Scale layer without its BatchNormalization '"
                        + bnName + "'");
            }
            sources.put(bnName, new Source(bn.fileLayer(), bn.tensors(), scale.name(),
                    roles(file, layout, scale, Role::of)));
        }
        return sources;
    }

    /** A state_dict's modules keyed by the zoo layer they fill ({@link TorchNames}). */
    private static Map<String, Source> byZooNameFromStateDict(WeightFile weights) throws WeightImportException {
        Path file = weights.file();
        int finalStage = TorchNames.finalStage(weights.layers().keySet());
        Map<String, Source> sources = new LinkedHashMap<>();
        for (WeightFile.Layer module : weights.weightLayers()) {
            String zoo = TorchNames.toZoo(module.name(), finalStage).orElseThrow(() -> WeightImportException.atLayer(
                    file, module.name(), "is not a module of a torchvision DenseNet"));
            if (sources.containsKey(zoo)) {
                throw WeightImportException.atLayer(file, module.name(),
                        "fills '" + zoo + "', which another module fills too");
            }
            sources.put(zoo, new Source(module.name(), roles(file, WeightLayout.TORCHVISION, module,
                    (m, p) -> TorchNames.role(zoo, p)), null, Map.of()));
        }
        return sources;
    }

    /**
     * The original Keras port's files give every BatchNormalization a Scale layer: a file that has Scale layers
     * must have one, with weights, for every BN, or a damaged file would load with some BNs unscaled.
     */
    private static void checkScaleLayers(WeightFile weights, WeightLayout layout,
                                         Map<String, WeightFile.Layer> scales, Map<String, Source> sources)
            throws WeightImportException {
        if (layout == WeightLayout.KERAS2) {
            return;
        }
        boolean anyScale = !scales.isEmpty();
        for (WeightFile.Layer layer : weights.layers().values()) {
            if (layer.name().endsWith("_scale") && layer.weights().isEmpty()) {
                throw WeightImportException.atLayer(weights.file(), layer.name(),
                        "is a Scale layer that lists no weights");
            }
            anyScale |= layer.name().endsWith("_scale");
        }
        if (!anyScale) {
            return;
        }
        for (String name : sources.keySet()) {
            if (name.endsWith("_bn") && !scales.containsKey(name.substring(0, name.length() - 3) + "_scale")) {
                throw WeightImportException.atLayer(weights.file(), name, "has no Scale layer '"
                        + name.substring(0,
                        name.length() - 3) + "_scale', though the file's other BatchNormalizations do");
            }
        }
    }

    /** A layer's tensors by their role; a tensor of no role, or two of one, is an error naming both. */
    private static Map<Role, Tensor> roles(Path file, WeightLayout layout, WeightFile.Layer layer,
                                           java.util.function.BiFunction<String, String, Role> roleOf)
            throws WeightImportException {
        Map<Role, Tensor> byRole = new EnumMap<>(Role.class);
        for (Tensor t : layer.weights()) {
            Role role = roleOf.apply(layer.name(), t.name());
            if (role == null) {
                throw WeightImportException.atLayer(file, layer.name(), "has a weight '" + t.name()
                        + "' that no DenseNet layer holds (their weights are " + Role.names(EnumSet.allOf(Role.class),
                        layout) + ")");
            }
            Tensor before = byRole.put(role, t);
            if (before != null) {
                throw WeightImportException.atLayer(file, layer.name(), "holds two " + role.nameIn(layout)
                        + " weights, '" + before.name() + "' and '" + t.name() + "'");
            }
            for (float v : t.data()) {
                if (!Float.isFinite(v)) {
                    throw WeightImportException.atLayer(file, layer.name(), "weight '" + t.name() + "' holds " + v);
                }
            }
        }
        return byRole;
    }

    /**
     * Fails when the file's layers and the graph's differ, saying which and, when the file is
     * another known DenseNet, which.
     */
    private static void checkArchitecture(Path file, WeightLayout layout, Map<String, Source> sources,
                                          DenseNetConfig config, ComputationGraphConfiguration conf)
            throws WeightImportException {
        List<String> graphLayers = List.copyOf(DenseNetBuilder.weightLayers(conf).keySet());
        List<String> missing = graphLayers.stream().filter(n -> !sources.containsKey(n)).toList();
        List<String> extra = new ArrayList<>(sources.keySet());
        extra.removeAll(graphLayers);
        if (!config.includeTop() && extra.remove(DenseNetBuilder.CLASSIFIER)) {
            log.info("{}: the classifier '{}' is not loaded into the headless graph", file, DenseNetBuilder.CLASSIFIER);
        }
        if (missing.isEmpty() && extra.isEmpty()) {
            return;
        }
        StringBuilder msg = new StringBuilder("the file does not fit the graph (").append(describe(config)).append(")");
        try {
            msg.append(": it holds a ").append(summarise(file, layout, sources).describe());
        } catch (WeightImportException e) {
            msg.append(": ").append(e.getMessage().substring(file.toString().length() + 2));
        }
        if (!missing.isEmpty()) {
            msg.append("; ").append(missing.size()).append(" layers of the graph are not in the file: ")
                    .append(firstFew(missing));
        }
        if (!extra.isEmpty()) {
            msg.append("; ").append(extra.size()).append(" layers of the file are not in the graph: ")
                    .append(firstFew(extra));
        }
        if (missing.equals(List.of(DenseNetBuilder.CLASSIFIER))) {
            msg.append(" (the file has no classifier: build a headless graph to load it)");
        }
        throw new WeightImportException(file, msg.toString());
    }

    private static String describe(DenseNetConfig c) {
        return "k=" + c.growthRate() + ", blocks " + c.blockLayers().stream().map(String::valueOf)
                .reduce((a, b) -> a + "/" + b).orElse("") + ", compression " + c.compression();
    }

    private static String firstFew(List<String> names) {
        return names.size() <= 6 ? String.join(", ", names)
                : String.join(", ", names.subList(0, 6)) + ", ...";
    }

    /** The architecture a file's layers describe. */
    private static WeightFileSummary summarise(Path file, WeightLayout layout, Map<String, Source> sources)
            throws WeightImportException {
        Source conv1 = sources.get("conv1");
        if (conv1 == null || conv1.tensors().get(Role.KERNEL) == null || conv1.tensors().get(Role.KERNEL).shape().length
                != 4) {
            throw new WeightImportException(file, "not a DenseNet weight file: it has no 'conv1' kernel");
        }
        long[] conv1Shape = oihwShape(conv1.tensors().get(Role.KERNEL).shape(), layout);
        TreeMap<Integer, Integer> blocks = new TreeMap<>();
        for (String name : sources.keySet()) {
            Matcher m = BRANCH_3X3.matcher(name);
            if (m.matches()) {
                blocks.merge(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Math::max);
            }
        }
        if (blocks.isEmpty() || blocks.firstKey() != 2 || blocks.lastKey() != blocks.size() + 1) {
            throw new WeightImportException(file,
                    "not a DenseNet weight file: its dense blocks are not stages 2, 3, ... "
                    + "(found stages " + blocks.keySet() + ")");
        }
        int growth = (int) kernelOut(file, sources, "conv2_1_x2", layout);
        double compression = 1.0;
        if (blocks.size() > 1) {
            Tensor t = kernel(file, sources, "conv2_blk");
            long[] oihw = oihwShape(t.shape(), layout);
            compression = (double) oihw[0] / oihw[1];
        }
        Source fc = sources.get(DenseNetBuilder.CLASSIFIER);
        OptionalInt classes = fc != null && fc.tensors().get(Role.BIAS) != null
                ? OptionalInt.of((int) fc.tensors().get(Role.BIAS).shape()[0]) : OptionalInt.empty();
        DenseNetConfig.Stem stem = sources.containsKey("conv1_bn") ? DenseNetConfig.Stem.IMAGENET
                : DenseNetConfig.Stem.CIFAR;
        return new WeightFileSummary(file, layout, stem, growth, (int) conv1Shape[0], List.copyOf(blocks.values()),
                sources.containsKey("conv2_1_x1"), compression, (int) conv1Shape[1], classes);
    }

    private static Tensor kernel(Path file, Map<String, Source> sources, String layer) throws WeightImportException {
        Source s = sources.get(layer);
        Tensor t = s == null ? null : s.tensors().get(Role.KERNEL);
        if (t == null || t.shape().length != 4) {
            throw new WeightImportException(file, "not a DenseNet weight file: it has no '" + layer + "' kernel");
        }
        return t;
    }

    private static long kernelOut(Path file, Map<String, Source> sources, String layer, WeightLayout layout)
            throws WeightImportException {
        return oihwShape(kernel(file, sources, layer).shape(), layout)[0];
    }

    // --- filling one layer ------------------------------------------------------------------------

    private static void fill(Path file, WeightLayout layout, String name, Layer layer, Source source)
            throws WeightImportException {
        Map<String, INDArray> params = layer.paramTable();
        checkRoles(file, layout, name, source.fileLayer(), source.tensors().keySet(), expectedRoles(params));
        if (source.scaleLayer() != null) {
            checkRoles(file, layout, name, source.scaleLayer(), source.scale().keySet(),
                    EnumSet.of(Role.GAMMA, Role.BETA));
        }
        Map<Role, Tensor> unused = new EnumMap<>(source.tensors()); // each taken once, by role
        if (params.containsKey("gamma")) {
            fillBatchNorm(file, name, params, source, unused);
        } else if (params.get("W").rank() == 4) {
            fillConv(file, layout, name, params, unused);
        } else {
            Tensor kernel = take(file, name, unused, Role.KERNEL);
            assign(file, name, "kernel", params.get("W"), layout.denseOutIn() ? transposed(kernel) : kernel);
            if (params.containsKey("b")) {
                assign(file, name, "bias", params.get("b"), take(file, name, unused, Role.BIAS));
            }
        }
    }

    /** The roles of the weights a graph layer takes: a BN's four, or a kernel and, if it has one, a bias. */
    private static Set<Role> expectedRoles(Map<String, INDArray> params) {
        if (params.containsKey("gamma")) {
            return EnumSet.of(Role.GAMMA, Role.BETA, Role.MEAN, Role.VARIANCE);
        }
        return params.containsKey("b") ? EnumSet.of(Role.KERNEL, Role.BIAS) : EnumSet.of(Role.KERNEL);
    }

    /**
     * Fails unless the file's layer holds exactly the weights the graph's layer takes, naming the
     * file, the file's layer, the graph's layer, what it takes and what is missing or left over.
     */
    private static void checkRoles(Path file, WeightLayout layout, String graphLayer, String fileLayer, Set<Role> found,
                                   Set<Role> expected) throws WeightImportException {
        Set<Role> missing = EnumSet.noneOf(Role.class);
        missing.addAll(expected);
        missing.removeAll(found);
        Set<Role> extra = EnumSet.noneOf(Role.class);
        extra.addAll(found);
        extra.removeAll(expected);
        if (missing.isEmpty() && extra.isEmpty()) {
            return;
        }
        String into = fileLayer.equals(graphLayer) ? "" : " (the graph's '" + graphLayer + "')";
        throw WeightImportException.atLayer(file, fileLayer, "holds " + (found.isEmpty() ? "no weights"
                : Role.names(found, layout)) + " but" + into + " takes " + Role.names(expected, layout)
                + (missing.isEmpty() ? "" : "; missing: " + Role.names(missing, layout))
                + (extra.isEmpty() ? "" : "; not taken: " + Role.names(extra, layout)));
    }

    private static void fillConv(Path file, WeightLayout layout, String name, Map<String, INDArray> params,
                                 Map<Role, Tensor> unused) throws WeightImportException {
        INDArray w = params.get("W");
        Tensor kernel = take(file, name, unused, Role.KERNEL);
        long[] expected = w.shape();
        long[] found = kernel.shape().length == 4 ? oihwShape(kernel.shape(), layout) : kernel.shape();
        if (!java.util.Arrays.equals(expected, found)) {
            throw WeightImportException.atLayer(file, name,
                    "kernel shape " + kernel.shapeText() + " does not fit: expected "
                    + Tensor.shapeText(fileShape(expected, layout)) + " " + kernelAxes(layout));
        }
        w.assign(Nd4j.create(toOihw(kernel, layout), expected, 'c'));
        if (params.containsKey("b")) {
            assign(file, name, "bias", params.get("b"), take(file, name, unused, Role.BIAS));
        }
    }

    private static void fillBatchNorm(Path file, String name, Map<String, INDArray> params, Source source,
                                      Map<Role, Tensor> unused) throws WeightImportException {
        float[] gamma = vector(file, name, params.get("gamma"), take(file, name, unused, Role.GAMMA));
        float[] beta = vector(file, name, params.get("beta"), take(file, name, unused, Role.BETA));
        float[] mean = vector(file, name, params.get("mean"), take(file, name, unused, Role.MEAN));
        float[] var = vector(file, name, params.get("var"), take(file, name, unused, Role.VARIANCE));
        for (float v : var) {
            if (v < 0) {
                throw WeightImportException.atLayer(file, name, "holds a negative variance " + v);
            }
        }
        if (source.scaleLayer() != null) {
            Map<Role, Tensor> scale = new EnumMap<>(source.scale());
            float[] sGamma = vector(file, source.scaleLayer(), params.get("gamma"), take(file, source.scaleLayer(),
                    scale, Role.GAMMA));
            float[] sBeta = vector(file, source.scaleLayer(), params.get("beta"), take(file, source.scaleLayer(), scale,
                    Role.BETA));
            // Scale(BN(x)) = s_gamma * (gamma * x_hat + beta) + s_beta
            for (int c = 0; c < gamma.length; c++) {
                beta[c] = sGamma[c] * beta[c] + sBeta[c];
                gamma[c] = sGamma[c] * gamma[c];
            }
        }
        params.get("gamma").assign(Nd4j.create(gamma, params.get("gamma").shape(), 'c'));
        params.get("beta").assign(Nd4j.create(beta, params.get("beta").shape(), 'c'));
        params.get("mean").assign(Nd4j.create(mean, params.get("mean").shape(), 'c'));
        params.get("var").assign(Nd4j.create(var, params.get("var").shape(), 'c'));
    }

    private static Tensor take(Path file, String layer, Map<Role, Tensor> tensors,
            Role role) throws WeightImportException {
        Tensor t = tensors.remove(role);
        if (t == null) {
            throw WeightImportException.atLayer(file, layer,
                    "has no " + role.name().toLowerCase(Locale.ROOT) + " weight");
        }
        return t;
    }

    /** The values of a per-channel tensor, checked against the length of the graph's parameter. */
    private static float[] vector(Path file, String layer, INDArray param, Tensor t) throws WeightImportException {
        if (t.shape().length != 1 || t.shape()[0] != param.length()) {
            throw WeightImportException.atLayer(file, layer, "weight '" + t.name() + "' has shape " + t.shapeText()
                    + ", expected (" + param.length() + ",)");
        }
        return t.data().clone();
    }

    /** A stored (out, in) dense kernel as (in, out); any other tensor as it is (the shape check then fails). */
    private static Tensor transposed(Tensor t) {
        if (t.shape().length != 2) {
            return t;
        }
        int out = (int) t.shape()[0];
        int in = (int) t.shape()[1];
        float[] src = t.data();
        float[] dst = new float[src.length];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                dst[i * out + o] = src[o * in + i];
            }
        }
        return new Tensor(t.name(), new long[] {in, out}, dst);
    }

    /** Copies a tensor stored as DL4J stores it (dense kernels (in, out), biases) into a parameter. */
    private static void assign(Path file, String layer, String what, INDArray param,
            Tensor t) throws WeightImportException {
        long[] expected = param.rank() == 2 && param.size(0) == 1 && t.shape().length == 1
                ? new long[] {param.size(1)} : param.shape();
        if (!java.util.Arrays.equals(expected, t.shape())) {
            throw WeightImportException.atLayer(file, layer,
                    what + " shape " + t.shapeText() + " does not fit: expected "
                    + Tensor.shapeText(expected));
        }
        param.assign(Nd4j.create(t.data(), param.shape(), 'c').castTo(DataType.FLOAT));
    }

    // --- kernel orderings -------------------------------------------------------------------------

    private static String kernelAxes(WeightLayout layout) {
        return layout.kernelsLast() ? "(kh, kw, in, out)" : "(out, in, kh, kw)";
    }

    /** A stored kernel shape as DL4J's (out, in, kh, kw). */
    static long[] oihwShape(long[] s, WeightLayout layout) {
        return layout.kernelsLast() ? new long[] {s[3], s[2], s[0], s[1]} : s.clone();
    }

    /** A DL4J (out, in, kh, kw) shape as the layout stores it. */
    static long[] fileShape(long[] oihw, WeightLayout layout) {
        return layout.kernelsLast() ? new long[] {oihw[2], oihw[3], oihw[1], oihw[0]} : oihw.clone();
    }

    /**
     * A stored kernel's values in DL4J's (out, in, kh, kw) order: transposed from (kh, kw, in, out),
     * or, for Theano, un-flipped in both spatial axes.
     */
    static float[] toOihw(Tensor kernel, WeightLayout layout) {
        long[] s = kernel.shape();
        float[] src = kernel.data();
        float[] dst = new float[src.length];
        if (layout.kernelsLast()) {
            int kh = (int) s[0], kw = (int) s[1], in = (int) s[2], out = (int) s[3];
            int i = 0;
            for (int y = 0; y < kh; y++) {
                for (int x = 0; x < kw; x++) {
                    for (int c = 0; c < in; c++) {
                        for (int o = 0; o < out; o++) {
                            dst[((o * in + c) * kh + y) * kw + x] = src[i++];
                        }
                    }
                }
            }
        } else if (layout.flipped()) {
            int out = (int) s[0], in = (int) s[1], kh = (int) s[2], kw = (int) s[3];
            int plane = kh * kw;
            for (int oc = 0; oc < out * in; oc++) {
                for (int y = 0; y < kh; y++) {
                    for (int x = 0; x < kw; x++) {
                        dst[oc * plane + y * kw + x] = src[oc * plane + (kh - 1 - y) * kw + (kw - 1 - x)];
                    }
                }
            }
        } else {
            System.arraycopy(src, 0, dst, 0, src.length); // PyTorch's (out, in, kh, kw) is DL4J's
        }
        return dst;
    }
}
