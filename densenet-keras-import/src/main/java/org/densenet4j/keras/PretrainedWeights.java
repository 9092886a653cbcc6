package org.densenet4j.keras;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.PretrainedProvider;
import org.densenet4j.zoo.io.Download;
import org.densenet4j.zoo.io.ImageTransform;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;

/**
 * The published ImageNet DenseNet weights that can be downloaded, with their publishers' hashes:
 * keras.applications' DenseNet-121/169/201 (with and without top) and torchvision's
 * DenseNet-121/161/169/201. The seed's Caffe-converted files have no stable address: they keep the
 * manual {@code densenet convert} path.
 *
 * <p><b>Addresses and hashes, as the publishers' code checks them.</b> keras.applications: the file
 * names, the base URL and the MD5s of keras-team/keras {@code keras/src/applications/densenet.py}
 * ({@code get_file(..., file_hash=...)}; 32 hex digits select MD5, compared whole). These MD5s are
 * those of the files re-saved in keras-team/keras-applications d0c13ac2 (2018-07-27, "Fix weight
 * names in DenseNet pretrained weight files"); the ones before ({@code 0962ca64...} for 121) belong
 * to the files first published in December 2017, which keras no longer names. The importer reads
 * both namings ({@link KerasNames}). torchvision: the file names of {@code DenseNet121_Weights} ...
 * {@code DenseNet201_Weights.IMAGENET1K_V1} in {@code torchvision/models/densenet.py}; the hash is
 * the hex digits after the last {@code -} of the name, which {@code torch.hub.load_state_dict_from_url}
 * with {@code check_hash=True} requires the file's SHA-256 to start with. (torchvision itself loads
 * these weights without {@code check_hash}; this class always checks.)
 *
 * <p><b>Accuracy, as each publisher states it</b> (ImageNet validation set, top-1, of the model with
 * its classifier; see {@link #publisherAccuracy}):
 * <ul>
 *   <li>torchvision: 74.434% (121), 77.138% (161), 75.600% (169), 76.896% (201), the {@code acc@1}
 *       of each {@code IMAGENET1K_V1}'s metadata, for its stated transforms: resize the shorter side
 *       to 256 (bilinear), crop the centre 224x224, ImageNet mean and std. torchvision says the
 *       weights are ported from LuaTorch.</li>
 *   <li>keras.applications: 74.972% (121), 76.176% (169), 77.320% (201), from the
 *       keras-applications README (2018-08-25 to 2022-02-17: "single center crop", input 224,
 *       TensorFlow backend, ILSVRC 2012 validation set). It does not say how the images were
 *       resized before the crop. keras.io's table rounds the same figures to 0.750, 0.762 and 0.773
 *       and states no protocol at all. The README's earlier 74.52%, 76.07% and 77.06% (June 2018)
 *       were measured on a graph without the final ReLU, added in keras-applications e8a74741.</li>
 * </ul>
 *
 * <p><b>Default source: torchvision, for every preset.</b> The two sets of figures are not
 * like-for-like: both are single 224x224 centre crops of the ILSVRC 2012 validation images, but
 * keras.applications does not state how it resized them (size, resampling) or decoded them, so its
 * 0.4 to 0.6 points more cannot be put down to the weights rather than to the protocol. Both
 * publishers point to the LuaTorch DenseNets (torchvision as the weights' origin, keras.applications
 * as its reference implementation, without saying where its weights came from). torchvision's
 * figures come with the protocol that reproduces them, and one publisher for all four presets gives
 * one format, one hash scheme and one evaluation protocol. {@code of(preset, Source.KERAS, ...)} picks
 * keras.applications' files; files without the classifier, which torchvision does not publish, are
 * keras.applications' by default.
 *
 * <p>{@link #fetch} downloads to a temporary file, checks the hash, converts, and writes the model
 * zip (with its {@link ModelCard}) in one rename, then deletes the download. The system property
 * {@code densenet4j.weights.baseUrl} (or the environment variable {@code DENSENET_WEIGHTS_URL})
 * replaces the publishers' addresses with a mirror holding the same file names; the property
 * {@code densenet4j.offline=true} (or {@code DENSENET_OFFLINE=1}) makes a missing file an error
 * instead of a download.
 */
public enum PretrainedWeights {
    KERAS_121(DenseNetPreset.DENSENET121, Source.KERAS, true, "densenet121_weights_tf_dim_ordering_tf_kernels.h5",
            "9d60b8095a5708f2dcce2bca79d332c7"),
    KERAS_121_NO_TOP(DenseNetPreset.DENSENET121, Source.KERAS, false,
            "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5", "30ee3e1110167f948a6b9946edeeb738"),
    KERAS_169(DenseNetPreset.DENSENET169, Source.KERAS, true, "densenet169_weights_tf_dim_ordering_tf_kernels.h5",
            "d699b8f76981ab1b30698df4c175e90b"),
    KERAS_169_NO_TOP(DenseNetPreset.DENSENET169, Source.KERAS, false,
            "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5", "b8c4d4c20dd625c148057b9ff1c1176b"),
    KERAS_201(DenseNetPreset.DENSENET201, Source.KERAS, true, "densenet201_weights_tf_dim_ordering_tf_kernels.h5",
            "1ceb130c1ea1b78c3bf6114dbdfd8807"),
    KERAS_201_NO_TOP(DenseNetPreset.DENSENET201, Source.KERAS, false,
            "densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5", "c13680b51ded0fb44dff2d8f86ac8bb1"),
    TORCHVISION_121(DenseNetPreset.DENSENET121, Source.TORCHVISION, true, "densenet121-a639ec97.pth", "a639ec97"),
    TORCHVISION_161(DenseNetPreset.DENSENET161, Source.TORCHVISION, true, "densenet161-8d451a50.pth", "8d451a50"),
    TORCHVISION_169(DenseNetPreset.DENSENET169, Source.TORCHVISION, true, "densenet169-b2777c0a.pth", "b2777c0a"),
    TORCHVISION_201(DenseNetPreset.DENSENET201, Source.TORCHVISION, true, "densenet201-c1103571.pth", "c1103571");

    /** Who publishes the weights. */
    public enum Source {
        KERAS("https://storage.googleapis.com/tensorflow/keras-applications/densenet/", "MD5", WeightLayout.KERAS2),
        TORCHVISION("https://download.pytorch.org/models/", "SHA-256", WeightLayout.TORCHVISION);

        private final String baseUrl;
        private final String algorithm;
        private final WeightLayout layout;

        Source(String baseUrl, String algorithm, WeightLayout layout) {
            this.baseUrl = baseUrl;
            this.algorithm = algorithm;
            this.layout = layout;
        }

        /** The id on the command line: {@code keras} or {@code torchvision}. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The source named {@code id}, or an error naming the known ones. */
        public static Source fromId(String id) {
            for (Source s : values()) {
                if (s.id().equalsIgnoreCase(id.trim())) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown weight source '" + id + "'; use keras or torchvision");
        }
    }

    private final DenseNetPreset preset;
    private final Source source;
    private final boolean includeTop;
    private final String fileName;
    private final String hash;

    PretrainedWeights(DenseNetPreset preset, Source source, boolean includeTop, String fileName, String hash) {
        this.preset = preset;
        this.source = source;
        this.includeTop = includeTop;
        this.fileName = fileName;
        this.hash = hash;
    }

    /**
     * The published weights of {@code preset} from {@code source}. With {@code source} null, the
     * preset's default source's; for files without top, which torchvision does not publish,
     * keras.applications' {@code _notop} files.
     */
    public static Optional<PretrainedWeights> of(DenseNetPreset preset, Source source, boolean includeTop) {
        Source wanted = source != null ? source : defaultSource(preset);
        Optional<PretrainedWeights> exact = Arrays.stream(values())
                .filter(w -> w.preset == preset && w.source == wanted && w.includeTop == includeTop).findFirst();
        if (exact.isPresent() || source != null) {
            return exact;
        }
        return Arrays.stream(values()).filter(w -> w.preset == preset && w.includeTop == includeTop).findFirst();
    }

    /**
     * The preset's default source: torchvision for every preset, the only publisher whose accuracy
     * comes with the protocol that reproduces it (see the class comment).
     */
    public static Source defaultSource(DenseNetPreset preset) {
        return Source.TORCHVISION;
    }

    /** The address: the publisher's, or the mirror's when {@code densenet4j.weights.baseUrl} is set. */
    public URI url() {
        String mirror = setting("densenet4j.weights.baseUrl", "DENSENET_WEIGHTS_URL");
        return mirror != null ? URI.create((mirror.endsWith("/") ? mirror : mirror + "/") + fileName) : publisherUrl();
    }

    /** The publisher's address of the file, whatever mirror is set. */
    URI publisherUrl() {
        return URI.create(source.baseUrl + fileName);
    }

    /**
     * The publisher's ImageNet top-1 figure for these weights (of the model with its classifier, for
     * the files without it too), with where it is stated and for what protocol.
     */
    public String publisherAccuracy() {
        return switch (source) {
            case KERAS -> keras2Top1() + "% top-1, ILSVRC 2012 validation set, single centre crop at 224x224, "
                    + "resize not stated (keras-applications README; keras.io shows " + String.format(Locale.ROOT,
                    "%.3f", Double.parseDouble(keras2Top1()) / 100) + ", with no protocol)";
            case TORCHVISION -> torchvisionTop1() + "% top-1 (acc@1), ImageNet-1K validation set, shorter side resized "
                    + "to 256 (bilinear), centre crop 224x224 (torchvision " + torchvisionWeights() + ")";
        };
    }

    private String keras2Top1() {
        return switch (preset) {
            case DENSENET121 -> "74.972";
            case DENSENET169 -> "76.176";
            case DENSENET201 -> "77.320";
            default -> throw new IllegalStateException(preset + " has no keras.applications weights");
        };
    }

    private String torchvisionTop1() {
        return switch (preset) {
            case DENSENET121 -> "74.434";
            case DENSENET161 -> "77.138";
            case DENSENET169 -> "75.600";
            case DENSENET201 -> "76.896";
            default -> throw new IllegalStateException(preset + " has no torchvision weights");
        };
    }

    private String torchvisionWeights() {
        return "DenseNet" + preset.id().substring("densenet".length()) + "_Weights.IMAGENET1K_V1";
    }

    /** The hash the publisher gives for the file. */
    public Download.Expected expected() {
        return new Download.Expected(source.algorithm, hash);
    }

    /** The preset these weights are for. */
    public DenseNetPreset preset() {
        return preset;
    }

    /** The publisher. */
    public Source source() {
        return source;
    }

    /**
     * How the publisher evaluated these weights, recorded in the model zip's card: torchvision's
     * {@code ImageClassification(crop_size=224)}, keras.applications' {@code load_img} at 224x224
     * then {@code preprocess_input} ({@link WeightLayout#transform}).
     */
    public ImageTransform transform() {
        return source.layout.transform(preset.config().inputHeight(), preset.config().inputWidth());
    }

    /** The published file's name. */
    public String fileName() {
        return fileName;
    }

    /** Whether downloads are switched off ({@code densenet4j.offline=true} or {@code DENSENET_OFFLINE=1}). */
    public static boolean offline() {
        String v = setting("densenet4j.offline", "DENSENET_OFFLINE");
        return v != null && (v.equals("1") || v.equalsIgnoreCase("true"));
    }

    /** The manual step, for error messages. */
    String manualStep() {
        return "to do it by hand, download " + url() + " and run: ./densenet convert --weights " + fileName
                + " --model " + preset.id() + " --install";
    }

    /**
     * Downloads these weights, converts them into a graph of the preset (headless without top) and
     * writes the model zip {@code target}.
     *
     * @throws IOException naming the URL and the manual step when downloads are off or one fails
     */
    public ComputationGraph fetch(Path target, boolean replace) throws IOException {
        if (offline()) {
            throw new IOException(url() + ": not downloaded, downloads are off (densenet4j.offline / DENSENET_OFFLINE); "
                    + manualStep());
        }
        DenseNetConfig config = includeTop ? preset.config()
                : preset.config().toBuilder().headless(DenseNetConfig.Pooling.AVG).build();
        return fetch(url(), expected(), config, source.layout, target, replace, Download.Options.defaults(manualStep()));
    }

    /**
     * Downloads {@code url}, checks it against {@code expected}, converts it into a graph of
     * {@code config} ({@code layout} null: detected) and writes the model zip {@code target}, its card
     * naming the URL; the download is deleted whatever happens.
     */
    public static ComputationGraph fetch(URI url, Download.Expected expected, DenseNetConfig config, WeightLayout layout,
                                         Path target, boolean replace, Download.Options options) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path file = Download.fetch(url, expected, dir, options);
        try {
            // Named as published, so that the card and errors show the publisher's file name.
            Path named = Files.move(file, file.resolveSibling(file.getFileName() + "-"
                    + Path.of(url.getPath()).getFileName()));
            file = named;
            WeightLayout actual = layout != null ? layout : KerasDenseNetImporter.inspect(file).layout();
            ComputationGraph graph = KerasDenseNetImporter.load(file, config, actual);
            ModelCard card = KerasDenseNetImporter.card(file, actual, config);
            Map<String, String> source = new LinkedHashMap<>(card.source());
            source.put("file", Path.of(url.getPath()).getFileName().toString());
            source.put("url", url.toString());
            ModelFiles.write(graph, target, replace, null, Map.of(), false, new ModelCard(card.transform(),
                    card.inputHeight(), card.inputWidth(), card.inputChannels(), card.labels(), source));
            return graph;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static String setting(String property, String env) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) {
            v = System.getenv(env);
        }
        return v == null || v.isBlank() ? null : v.trim();
    }

    /** The provider {@code initPretrained()} finds: downloads the preset's default ImageNet weights. */
    public static final class Provider implements PretrainedProvider {
        @Override
        public boolean install(String presetId, PretrainedType type, Path target) throws IOException {
            if (type != PretrainedType.IMAGENET) {
                return false;
            }
            DenseNetPreset preset;
            try {
                preset = DenseNetPreset.fromId(presetId);
            } catch (IllegalArgumentException e) {
                return false;
            }
            Optional<PretrainedWeights> weights = of(preset, null, true);
            if (weights.isEmpty()) {
                return false;
            }
            weights.get().fetch(target, true).close();
            return true;
        }
    }
}
