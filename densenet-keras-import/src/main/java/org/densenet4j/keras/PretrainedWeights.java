package org.densenet4j.keras;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.densenet4j.preprocess.ImageNetClasses;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.PretrainedProvider;
import org.densenet4j.zoo.io.Download;
import org.densenet4j.zoo.io.ImageTransform;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;

/**
 * The catalog of published ImageNet DenseNet weights: one entry per downloadable file, with what its
 * publisher states about it, as data: the address and hash, the layout and the image transform it
 * was evaluated with ({@link #transform}), its classes ({@link #classes}), its accuracy with the
 * protocol ({@link #accuracy}), its licence ({@link #licence}), and which entry is the preset's
 * default ({@link #defaultFor}). keras.applications' DenseNet-121/169/201 (with and without top) and
 * torchvision's DenseNet-121/161/169/201. The zoo ({@link DenseNetPreset}) knows only that a preset
 * has published weights; which file {@code initPretrained()} installs is this catalog's default,
 * through {@link Provider}. The original Keras port's Caffe-converted files (the DenseNet-Keras project's) have no
 * stable address and are not in the catalog; {@link KerasDenseNetImporter} converts them from a file.
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
 * its classifier; see {@link #accuracy}):
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
 * <p><b>Licences, as each publisher states them</b> ({@link #licence}; "not stated" where nothing is):
 * <ul>
 *   <li>torchvision: the code is BSD-3-Clause (pytorch/vision {@code LICENSE}; Debian's
 *       python3-torchvision 0.14.1 copyright file). For the weights, the README's "Pre-trained Model
 *       License" section (pytorch/vision {@code README.md}, e.g. at 0a12c070) names no licence for
 *       the DenseNets: it says pre-trained models may have their own licences or terms derived from
 *       the training data and that permission for a use is the user's to determine (it names one only
 *       for the SWAG models).</li>
 *   <li>keras.applications: "These weights are released under the BSD 3-clause License" (linking to
 *       liuzhuang13/DenseNet's {@code LICENSE}), in the DenseNet section of keras' own applications
 *       docs (keras-team/keras {@code docs/templates/applications.md}, from caf05b43, 2018-01-05,
 *       which added the models, to 33c4e162, 2020-10-20, which removed the legacy docs); keras.io's
 *       applications pages (keras-team/keras-io {@code templates/api/applications/index.md}) state
 *       none today. The code: keras-applications "is distributed under the MIT license" (its
 *       README), keras under Apache-2.0 (its {@code LICENSE}).</li>
 * </ul>
 *
 * <p><b>Classes.</b> Every file with a classifier has ImageNet-1k's 1000 classes in the order of
 * their sorted WordNet ids, the order both publishers number them in ({@link ImageNetClasses}); the
 * names are torchvision's ({@code _IMAGENET_CATEGORIES} of {@code torchvision/models/_meta.py},
 * 0.14.1, which {@link ImageNetClasses#imageNet()} equals).
 *
 * <p><b>Default source: torchvision, for every preset.</b> The two sets of figures are not
 * like-for-like: both are single 224x224 centre crops of the ILSVRC 2012 validation images, but
 * keras.applications does not state how it resized them (size, resampling) or decoded them, so its
 * 0.4 to 0.6 points more cannot be put down to the weights rather than to the protocol. Both
 * publishers point to the LuaTorch DenseNets (torchvision as the weights' origin, keras.applications
 * as its reference implementation, without saying where its weights came from). torchvision's
 * figures come with the protocol that reproduces them, and one publisher for all four presets gives
 * one format, one hash scheme and one evaluation protocol; each preset's torchvision entry is its
 * {@linkplain #isDefault default}, as torchvision's own {@code DEFAULT = IMAGENET1K_V1}.
 * {@code of(preset, Source.KERAS, ...)} picks keras.applications' files; files without the
 * classifier, which torchvision does not publish, are keras.applications' {@code _notop} ones.
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
            "9d60b8095a5708f2dcce2bca79d332c7", 74.972, Choice.ALTERNATIVE),
    KERAS_121_NO_TOP(DenseNetPreset.DENSENET121, Source.KERAS, false,
            "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5", "30ee3e1110167f948a6b9946edeeb738", 74.972,
            Choice.ALTERNATIVE),
    KERAS_169(DenseNetPreset.DENSENET169, Source.KERAS, true, "densenet169_weights_tf_dim_ordering_tf_kernels.h5",
            "d699b8f76981ab1b30698df4c175e90b", 76.176, Choice.ALTERNATIVE),
    KERAS_169_NO_TOP(DenseNetPreset.DENSENET169, Source.KERAS, false,
            "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5", "b8c4d4c20dd625c148057b9ff1c1176b", 76.176,
            Choice.ALTERNATIVE),
    KERAS_201(DenseNetPreset.DENSENET201, Source.KERAS, true, "densenet201_weights_tf_dim_ordering_tf_kernels.h5",
            "1ceb130c1ea1b78c3bf6114dbdfd8807", 77.320, Choice.ALTERNATIVE),
    KERAS_201_NO_TOP(DenseNetPreset.DENSENET201, Source.KERAS, false,
            "densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5", "c13680b51ded0fb44dff2d8f86ac8bb1", 77.320,
            Choice.ALTERNATIVE),
    TORCHVISION_121(DenseNetPreset.DENSENET121, Source.TORCHVISION, true, "densenet121-a639ec97.pth", "a639ec97",
            74.434, Choice.DEFAULT),
    TORCHVISION_161(DenseNetPreset.DENSENET161, Source.TORCHVISION, true, "densenet161-8d451a50.pth", "8d451a50",
            77.138, Choice.DEFAULT),
    TORCHVISION_169(DenseNetPreset.DENSENET169, Source.TORCHVISION, true, "densenet169-b2777c0a.pth", "b2777c0a",
            75.600, Choice.DEFAULT),
    TORCHVISION_201(DenseNetPreset.DENSENET201, Source.TORCHVISION, true, "densenet201-c1103571.pth", "c1103571",
            76.896, Choice.DEFAULT);

    /** Whether an entry is its preset's default, as torchvision's {@code DEFAULT} names one per model. */
    private enum Choice { DEFAULT, ALTERNATIVE }

    /**
     * The classes a file's classifier predicts, in output order.
     */
    public enum Classes {
        /**
         * ImageNet-1k (ILSVRC 2012): 1000 classes in the order of their sorted WordNet ids, as both
         * publishers number them, with torchvision's names ({@link ImageNetClasses#imageNet()}).
         */
        IMAGENET_1K("ImageNet-1k, 1000 classes in sorted WordNet-id order, torchvision's names"),
        /** A file without the classifier: it predicts no classes. */
        NONE("none (no classifier)");

        private final String description;

        Classes(String description) {
            this.description = description;
        }

        /** The class names in output order; empty for {@link #NONE}. */
        public List<String> names() {
            return this == IMAGENET_1K ? ImageNetClasses.imageNet() : List.of();
        }

        /** The WordNet ids in output order; empty for {@link #NONE}. */
        public List<String> wordNetIds() {
            return this == IMAGENET_1K ? ImageNetClasses.wordNetIds() : List.of();
        }

        /** What the classes are, in a few words. */
        public String description() {
            return description;
        }
    }

    /**
     * A publisher's ImageNet top-1 figure for a file, of the model with its classifier (for the files
     * without it too), with the data set and protocol it states and where it states them.
     *
     * @param top1     the top-1 accuracy in percent, as published (three decimals)
     * @param dataset  the images it was measured on
     * @param protocol how they were made into the model's input, as far as the publisher says
     * @param statedIn where the figure is stated
     */
    public record Accuracy(double top1, String dataset, String protocol, String statedIn) {
        /** E.g. {@code 74.434% top-1, ImageNet-1K validation set (acc@1), <protocol> (<where>)}. */
        public String describe() {
            return String.format(Locale.ROOT, "%.3f%% top-1, %s, %s (%s)", top1, dataset, protocol, statedIn);
        }
    }

    /**
     * The terms a publisher states for its code and its weight files, as it states them; "not stated"
     * where it states none.
     *
     * @param code     the licence of the publisher's code
     * @param weights  the licence or terms of the weight files
     * @param statedIn where the publisher states them
     */
    public record Licence(String code, String weights, String statedIn) {
        /** {@code code: ...; weights: ... (where)}. */
        public String describe() {
            return "code: " + code + "; weights: " + weights + " (" + statedIn + ")";
        }
    }

    /** Who publishes the weights, with the terms and the evaluation protocol it states for all its files. */
    public enum Source {
        KERAS("https://storage.googleapis.com/tensorflow/keras-applications/densenet/", "MD5", WeightLayout.KERAS2,
                new Licence("MIT (keras-applications, which published the files; keras itself: Apache-2.0)",
                        "BSD-3-Clause (\"These weights are released under the BSD 3-clause License\", linking to "
                                + "liuzhuang13/DenseNet's LICENSE)",
                        "keras-team/keras docs/templates/applications.md, DenseNet, 2018-01-05 to 2020-10-20; "
                                + "keras.io states none today"),
                "ILSVRC 2012 validation set", "single centre crop at 224x224, resize not stated"),
        TORCHVISION("https://download.pytorch.org/models/", "SHA-256", WeightLayout.TORCHVISION,
                new Licence("BSD-3-Clause",
                        "not stated (\"The pre-trained models provided in this library may have their own licenses "
                                + "or terms and conditions derived from the dataset used for training\"; whether a "
                                + "use is permitted is the user's to determine)",
                        "pytorch/vision LICENSE; README.md, Pre-trained Model License"),
                "ImageNet-1K validation set (acc@1)", "shorter side resized to 256 (bilinear), centre crop 224x224");

        private final String baseUrl;
        private final String algorithm;
        private final WeightLayout layout;
        private final Licence licence;
        private final String dataset;
        private final String protocol;

        Source(String baseUrl, String algorithm, WeightLayout layout, Licence licence, String dataset,
               String protocol) {
            this.baseUrl = baseUrl;
            this.algorithm = algorithm;
            this.layout = layout;
            this.licence = licence;
            this.dataset = dataset;
            this.protocol = protocol;
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

        /** The publisher's licence statements, for all its files. */
        public Licence licence() {
            return licence;
        }

        /** How the weights are laid out in the publisher's files. */
        public WeightLayout layout() {
            return layout;
        }

        /** The accuracy record of {@code preset}'s figure {@code top1}: where this publisher states it. */
        private Accuracy accuracy(DenseNetPreset preset, double top1) {
            String where = switch (this) {
                case KERAS -> String.format(Locale.ROOT, "keras-applications README; keras.io shows %.3f, with no "
                        + "protocol", top1 / 100);
                case TORCHVISION -> "torchvision DenseNet" + preset.id().substring("densenet".length())
                        + "_Weights.IMAGENET1K_V1";
            };
            return new Accuracy(top1, dataset, protocol, where);
        }
    }

    private final DenseNetPreset preset;
    private final Source source;
    private final boolean includeTop;
    private final String fileName;
    private final String hash;
    private final Accuracy accuracy;
    private final boolean isDefault;

    PretrainedWeights(DenseNetPreset preset, Source source, boolean includeTop, String fileName, String hash,
                      double top1, Choice choice) {
        this.preset = preset;
        this.source = source;
        this.includeTop = includeTop;
        this.fileName = fileName;
        this.hash = hash;
        this.accuracy = source.accuracy(preset, top1);
        this.isDefault = choice == Choice.DEFAULT;
    }

    /**
     * The published weights of {@code preset} from {@code source}. With {@code source} null: with the
     * classifier, the preset's {@linkplain #defaultFor default}; without, which torchvision does not
     * publish, keras.applications' {@code _notop} file.
     */
    public static Optional<PretrainedWeights> of(DenseNetPreset preset, Source source, boolean includeTop) {
        if (source == null && includeTop) {
            return defaultFor(preset);
        }
        return Arrays.stream(values()).filter(w -> w.preset == preset && w.includeTop == includeTop
                && (source == null || w.source == source)).findFirst();
    }

    /**
     * The preset's default weights, what {@code initPretrained()} installs: torchvision's, for every
     * preset with published weights (see the class comment); empty for a preset without.
     */
    public static Optional<PretrainedWeights> defaultFor(DenseNetPreset preset) {
        return Arrays.stream(values()).filter(w -> w.preset == preset && w.isDefault).findFirst();
    }

    /**
     * The source of the preset's {@linkplain #defaultFor default} weights.
     *
     * @throws IllegalArgumentException for a preset without published weights
     */
    public static Source defaultSource(DenseNetPreset preset) {
        return defaultFor(preset).map(PretrainedWeights::source).orElseThrow(() -> new IllegalArgumentException(
                "no published ImageNet weights of " + preset.id() + "; the catalog has " + Arrays.stream(values())
                        .map(w -> w.preset.id()).distinct().toList()));
    }

    /** Whether these are their preset's default weights ({@link #defaultFor}). */
    public boolean isDefault() {
        return isDefault;
    }

    /** Whether the file holds the classifier (else it is keras.applications' {@code _notop} file). */
    public boolean includeTop() {
        return includeTop;
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
     * the files without it too), with the data set, the protocol and where it is stated.
     */
    public Accuracy accuracy() {
        return accuracy;
    }

    /** {@link #accuracy()} in words, e.g. {@code 74.434% top-1, ImageNet-1K validation set (acc@1), ...}. */
    public String publisherAccuracy() {
        return accuracy.describe();
    }

    /** The licence of the publisher's code and the terms of its weight files, as the publisher states them. */
    public Licence licence() {
        return source.licence;
    }

    /** The classes the file's classifier predicts: ImageNet-1k, or none for a file without the classifier. */
    public Classes classes() {
        return includeTop ? Classes.IMAGENET_1K : Classes.NONE;
    }

    /** The class names in output order ({@link Classes#names()}); empty without the classifier. */
    public List<String> labels() {
        return classes().names();
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

    /** The manual step, for error messages: what to download and what to make of it, in library terms. */
    String manualStep(Path target) {
        return "to do it by hand, download " + url() + " (" + expected() + "), convert it with KerasDenseNetImporter "
                + "(layout " + source.layout.id() + ") and write the model zip to " + target + " with ModelFiles.write";
    }

    /**
     * Downloads these weights, converts them into a graph of the preset (headless without top) and
     * writes the model zip {@code target}.
     *
     * @throws IOException naming the URL and the manual step when downloads are off or one fails
     */
    public ComputationGraph fetch(Path target, boolean replace) throws IOException {
        if (offline()) {
            throw new IOException(url() + ": not downloaded, downloads are off (densenet4j.offline / "
                    + "DENSENET_OFFLINE); "
                    + manualStep(target));
        }
        DenseNetConfig config = includeTop ? preset.config()
                : preset.config().toBuilder().headless(DenseNetConfig.Pooling.AVG).build();
        return fetch(url(), expected(), config, source.layout, target, replace,
                Download.Options.defaults(manualStep(target)));
    }

    /**
     * Downloads {@code url}, checks it against {@code expected}, converts it into a graph of
     * {@code config} ({@code layout} null: detected) and writes the model zip {@code target}, its card
     * naming the URL; the download is deleted whatever happens.
     */
    public static ComputationGraph fetch(URI url, Download.Expected expected, DenseNetConfig config,
                                         WeightLayout layout, Path target, boolean replace, Download.Options options)
            throws IOException {
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

    /** The provider {@code initPretrained()} finds: downloads the preset's {@linkplain #defaultFor default} weights. */
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
            Optional<PretrainedWeights> weights = defaultFor(preset);
            if (weights.isEmpty()) {
                return false;
            }
            weights.get().fetch(target, true).close();
            return true;
        }
    }
}
