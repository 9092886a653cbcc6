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
 * keras.applications' DenseNet-121/169/201 (with and without top; MD5 from keras' densenet.py) and
 * torchvision's DenseNet-121/161/169/201 (the SHA-256 prefix in each file name, as torchvision
 * checks it). The seed's Caffe-converted files have no stable address: they keep the manual
 * {@code densenet convert} path.
 *
 * <p>Each preset's default source is the more accurate one by its publisher's own figure (ImageNet
 * top-1, single 224x224 crop): keras.applications for 121 (75.0% against torchvision's 74.43%), 169
 * (76.2% against 75.60%) and 201 (77.3% against 76.90%); torchvision for 161 (77.14%), which
 * keras.applications does not publish.
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
            "0962ca643bae20f9b6771cb844dca3b0"),
    KERAS_121_NO_TOP(DenseNetPreset.DENSENET121, Source.KERAS, false,
            "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5", "4912a53fbd2a69346e7f2c0b5ec8c6d3"),
    KERAS_169(DenseNetPreset.DENSENET169, Source.KERAS, true, "densenet169_weights_tf_dim_ordering_tf_kernels.h5",
            "bcf9965cf5064a5f9eb6d7dc69386f43"),
    KERAS_169_NO_TOP(DenseNetPreset.DENSENET169, Source.KERAS, false,
            "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5", "50662582284e4cf834ce40ab4dfa58c6"),
    KERAS_201(DenseNetPreset.DENSENET201, Source.KERAS, true, "densenet201_weights_tf_dim_ordering_tf_kernels.h5",
            "7bb75edd58cb43163be7e0005fbe95ef"),
    KERAS_201_NO_TOP(DenseNetPreset.DENSENET201, Source.KERAS, false,
            "densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5", "1c2de60ee40562448dbac34a0737e798"),
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

    /** The published weights of {@code preset} from {@code source} (null: the preset's default). */
    public static Optional<PretrainedWeights> of(DenseNetPreset preset, Source source, boolean includeTop) {
        Source wanted = source != null ? source : defaultSource(preset);
        return Arrays.stream(values()).filter(w -> w.preset == preset && w.source == wanted && w.includeTop == includeTop)
                .findFirst();
    }

    /** The preset's default source: the more accurate published weights (see the class comment). */
    public static Source defaultSource(DenseNetPreset preset) {
        return preset == DenseNetPreset.DENSENET161 ? Source.TORCHVISION : Source.KERAS;
    }

    /** The address: the publisher's, or the mirror's when {@code densenet4j.weights.baseUrl} is set. */
    public URI url() {
        String mirror = setting("densenet4j.weights.baseUrl", "DENSENET_WEIGHTS_URL");
        String base = mirror != null ? (mirror.endsWith("/") ? mirror : mirror + "/") : source.baseUrl;
        return URI.create(base + fileName);
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
