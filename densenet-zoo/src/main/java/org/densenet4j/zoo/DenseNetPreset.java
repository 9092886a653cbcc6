package org.densenet4j.zoo;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

import org.densenet4j.zoo.DenseNetConfig.Stem;

/**
 * The named DenseNets: the ImageNet models of the paper's Table 1, the CIFAR models of its Table 2,
 * and the small DenseNet of "Dive into Deep Learning". Each is data (a {@link DenseNetConfig}), built
 * by the one {@link DenseNetBuilder}.
 *
 * <p>The ImageNet presets use compression 0.5 (the original Keras port's {@code reduction=0.5}), which
 * the published weights need; the original Keras port's function signature defaults to {@code reduction=0.0}, a
 * different, larger network that no published weight file fits.
 */
public enum DenseNetPreset {
    /** DenseNet-121: k=32, 64 initial filters, blocks 6/12/24/16. */
    DENSENET121("densenet121", "DenseNet-121 (ImageNet, k=32)", imageNet(32, 64, 6, 12, 24, 16),
            WeightSource.PUBLISHED_IMAGENET),
    /** DenseNet-161: k=48, 96 initial filters, blocks 6/12/36/24. */
    DENSENET161("densenet161", "DenseNet-161 (ImageNet, k=48)", imageNet(48, 96, 6, 12, 36, 24),
            WeightSource.PUBLISHED_IMAGENET),
    /** DenseNet-169: k=32, 64 initial filters, blocks 6/12/32/32. */
    DENSENET169("densenet169", "DenseNet-169 (ImageNet, k=32)", imageNet(32, 64, 6, 12, 32, 32),
            WeightSource.PUBLISHED_IMAGENET),
    /** DenseNet-201: k=32, 64 initial filters, blocks 6/12/48/32. */
    DENSENET201("densenet201", "DenseNet-201 (ImageNet, k=32)", imageNet(32, 64, 6, 12, 48, 32),
            WeightSource.PUBLISHED_IMAGENET),
    /** DenseNet-264: k=32, 64 initial filters, blocks 6/12/64/48. */
    DENSENET264("densenet264", "DenseNet-264 (ImageNet, k=32)", imageNet(32, 64, 6, 12, 64, 48)),

    /** DenseNet L=40, k=12 for CIFAR (1.0M parameters). */
    CIFAR_DENSENET40_K12("densenet40-k12", "DenseNet L=40 k=12 (CIFAR)", cifar(40, 12, false)),
    /** DenseNet L=100, k=12 for CIFAR (7.0M parameters). */
    CIFAR_DENSENET100_K12("densenet100-k12", "DenseNet L=100 k=12 (CIFAR)", cifar(100, 12, false)),
    /** DenseNet L=100, k=24 for CIFAR (27.2M parameters). */
    CIFAR_DENSENET100_K24("densenet100-k24", "DenseNet L=100 k=24 (CIFAR)", cifar(100, 24, false)),
    /** DenseNet-BC L=100, k=12 for CIFAR (0.8M parameters). */
    CIFAR_DENSENET_BC100_K12("densenet-bc100-k12", "DenseNet-BC L=100 k=12 (CIFAR)", cifar(100, 12, true)),
    /** DenseNet-BC L=250, k=24 for CIFAR (15.3M parameters). */
    CIFAR_DENSENET_BC250_K24("densenet-bc250-k24", "DenseNet-BC L=250 k=24 (CIFAR)", cifar(250, 24, true)),
    /** DenseNet-BC L=190, k=40 for CIFAR (25.6M parameters). */
    CIFAR_DENSENET_BC190_K40("densenet-bc190-k40", "DenseNet-BC L=190 k=40 (CIFAR)", cifar(190, 40, true)),

    /**
     * The small DenseNet of "Dive into Deep Learning" (seed 001): ImageNet stem with 64 filters, four
     * dense blocks of four BN-ReLU-3x3 convs with growth 32, transitions halving the channels,
     * biased convolutions, a 96x96 grayscale input (Fashion-MNIST resized) and 10 classes.
     */
    D2L_DENSENET("densenet-d2l", "Small DenseNet of Dive into Deep Learning (Fashion-MNIST, 96x96x1)",
            DenseNetConfig.builder()
                    .growthRate(32).initialFilters(64).blockLayers(4, 4, 4, 4)
                    .compression(0.5).bottleneck(false).convBias(true)
                    .bnEpsilon(1e-5).numClasses(10).inputShape(96, 96, 1)
                    .build()),

    /**
     * DenseNet-BC L=40 k=12 on 28x28 grayscale Fashion-MNIST images (0.18M parameters), with weights
     * that DenseNet4J trained with {@code densenet train} and ships in this jar
     * ({@link org.deeplearning4j.zoo.PretrainedType#MNIST}, the MNIST family of datasets).
     */
    FASHION_MNIST("densenet-fmnist", "DenseNet-BC L=40 k=12 (Fashion-MNIST, 28x28x1), trained here",
            cifar(40, 12, true).toBuilder().inputShape(28, 28, 1).build(),
            WeightSource.bundled("densenet-fmnist.zip"));

    private final String id;
    private final String description;
    private final DenseNetConfig config;
    private final WeightSource weights;

    DenseNetPreset(String id, String description, DenseNetConfig config) {
        this(id, description, config, null);
    }

    DenseNetPreset(String id, String description, DenseNetConfig config, WeightSource weights) {
        this.id = id;
        this.description = description;
        this.config = config;
        this.weights = weights;
    }

    /**
     * What the zoo itself knows of a preset's pretrained weights: of what kind they are, and whether
     * they are a model zip bundled in this jar or published ImageNet weights. Which published file,
     * from which publisher, with which hash, transform and licence, is the catalog's
     * ({@code org.densenet4j.keras.PretrainedWeights} in densenet-keras-import), whose
     * {@link PretrainedProvider} downloads and converts it when that module is on the class path.
     *
     * @param type        what the weights were trained on
     * @param bundledFile the bundled model zip's name under {@value #BUNDLED_DIR}, or null for published
     *                    weights, which are not in this jar
     */
    public record WeightSource(org.deeplearning4j.zoo.PretrainedType type, String bundledFile) {
        /** The class path folder of the bundled models. */
        public static final String BUNDLED_DIR = "/org/densenet4j/zoo/pretrained/";

        /** Published ImageNet weights, installed by a {@link PretrainedProvider}. */
        static final WeightSource PUBLISHED_IMAGENET = new WeightSource(org.deeplearning4j.zoo.PretrainedType.IMAGENET,
                null);

        static WeightSource bundled(String fileName) {
            return new WeightSource(org.deeplearning4j.zoo.PretrainedType.MNIST, fileName);
        }

        /** Whether the model ships in this jar (installed into the zoo cache on first use). */
        public boolean bundled() {
            return bundledFile != null;
        }

        /**
         * The class path resource of a bundled model.
         *
         * @throws IllegalStateException for published weights, which are not bundled
         */
        public String resource() {
            if (!bundled()) {
                throw new IllegalStateException("published " + type + " weights are not bundled in densenet-zoo");
            }
            return BUNDLED_DIR + bundledFile;
        }

        /** Where the weights come from, in a few words. */
        public String origin() {
            return bundled()
                    ? "trained on Fashion-MNIST by DenseNet4J (org.densenet4j.training), bundled in densenet-zoo"
                    : "published " + type + " weights, downloaded and converted by densenet-keras-import";
        }
    }

    /**
     * Whether ImageNet weights of this architecture are published (DenseNet-121, 161, 169, 201); which
     * file is densenet-keras-import's catalog's to say ({@code PretrainedWeights.defaultFor}).
     */
    public java.util.Optional<WeightSource> imageNetWeights() {
        return pretrained(org.deeplearning4j.zoo.PretrainedType.IMAGENET);
    }

    /** The pretrained weights of this architecture of {@code type}, if there are any. */
    public java.util.Optional<WeightSource> pretrained(org.deeplearning4j.zoo.PretrainedType type) {
        return weights != null && weights.type() == type ? java.util.Optional.of(weights) : java.util.Optional.empty();
    }

    /** The kind of pretrained weights this architecture has, if any. */
    public java.util.Optional<org.deeplearning4j.zoo.PretrainedType> pretrainedType() {
        return java.util.Optional.ofNullable(weights).map(WeightSource::type);
    }

    /** The id used by the command line and the docs, e.g. {@code densenet121}. */
    public String id() {
        return id;
    }

    /** A one-line human description. */
    public String description() {
        return description;
    }

    /** The preset's configuration; change it with {@link DenseNetConfig#toBuilder()}. */
    public DenseNetConfig config() {
        return config;
    }

    /**
     * The preset with the given id (case-insensitive).
     *
     * @throws IllegalArgumentException naming the known ids when there is none
     */
    public static DenseNetPreset fromId(String id) {
        String wanted = id == null ? "" : id.trim().toLowerCase(Locale.ROOT);
        for (DenseNetPreset p : values()) {
            if (p.id.equals(wanted)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown DenseNet preset '" + id + "'; known presets: "
                + Arrays.stream(values()).map(DenseNetPreset::id).collect(Collectors.joining(", ")));
    }

    private static DenseNetConfig imageNet(int growthRate, int initialFilters, int... blockLayers) {
        return DenseNetConfig.builder()
                .growthRate(growthRate)
                .initialFilters(initialFilters)
                .blockLayers(blockLayers)
                .reduction(0.5)
                .build();
    }

    /**
     * A CIFAR DenseNet of depth L: three dense blocks of (L-4)/3 conv blocks, or (L-4)/6 for
     * DenseNet-BC, whose conv blocks hold two convolutions (bottleneck) and whose transitions halve
     * the channels; the first conv has 16 filters, or 2k for DenseNet-BC.
     */
    private static DenseNetConfig cifar(int depth, int growthRate, boolean bc) {
        int perBlock = (depth - 4) / (bc ? 6 : 3);
        return DenseNetConfig.builder()
                .stem(Stem.CIFAR)
                .growthRate(growthRate)
                .initialFilters(bc ? 2 * growthRate : 16)
                .blockLayers(perBlock, perBlock, perBlock)
                .bottleneck(bc)
                .compression(bc ? 0.5 : 1.0)
                .numClasses(10)
                .inputShape(32, 32, 3)
                .build();
    }
}
