package org.densenet4j.zoo;

import java.util.List;
import java.util.Objects;

import org.nd4j.linalg.learning.config.Nesterovs;

/**
 * Everything that defines a DenseNet: the architecture (growth rate, blocks, compression,
 * bottleneck, stem, dropout, batch-normalisation epsilon), the head (classes or a pooled feature
 * extractor) and the input shape, which together make the graph; and the {@link TrainingSettings}
 * (updater, L2, seed), which do not change its layers or parameters (see {@link #sameArchitecture}).
 *
 * <p>Instances are immutable and validated on construction: a bad value fails fast with an
 * {@link IllegalArgumentException} that names the parameter. Build one with {@link #builder()}, or
 * start from a preset with {@link DenseNetPreset#config()} and change it with {@link #toBuilder()}.
 *
 * @param growthRate      k: feature maps each conv block adds to the dense block's output
 * @param initialFilters  filters of the first convolution ({@code conv1})
 * @param blockLayers     conv blocks in each dense block, one entry per block
 * @param compression     fraction of feature maps a transition block keeps, {@code 1 - reduction}
 *                        in the original Keras port's code, in (0, 1]
 * @param bottleneck      whether each conv block starts with a 1x1 convolution to
 *                        {@code bottleneckWidth * growthRate} maps (the "B" of DenseNet-BC)
 * @param bottleneckWidth multiple of the growth rate the bottleneck convolution outputs (4 in the paper)
 * @param stem            how the network starts (ImageNet 7x7 conv + max pool, or CIFAR 3x3 conv)
 * @param convBias        whether convolutions have a bias (false in the paper; true in d2l's small model)
 * @param dropoutRate     probability of dropping an activation after each convolution, in [0, 1)
 * @param bnEpsilon       epsilon of every batch normalisation (1.1e-5 in the original Keras port's code)
 * @param numClasses      classes of the {@code fc6} softmax layer (ignored when {@code includeTop} is false)
 * @param inputHeight     input height in pixels
 * @param inputWidth      input width in pixels
 * @param inputChannels   input channels (3 for RGB, 1 for grayscale)
 * @param includeTop      whether the graph ends in the {@code fc6} classifier or in pooled features
 * @param pooling         global pooling of a headless graph ({@link Pooling#AVG} when the top is included)
 * @param training        updater, L2 weight decay and seed: how the graph is trained, not what it is
 */
public record DenseNetConfig(
        int growthRate,
        int initialFilters,
        List<Integer> blockLayers,
        double compression,
        boolean bottleneck,
        int bottleneckWidth,
        Stem stem,
        boolean convBias,
        double dropoutRate,
        double bnEpsilon,
        int numClasses,
        int inputHeight,
        int inputWidth,
        int inputChannels,
        boolean includeTop,
        Pooling pooling,
        TrainingSettings training) {

    /** How a DenseNet begins, before its first dense block. */
    public enum Stem {
        /** 7x7/2 convolution, BN, ReLU, 3x3/2 max pooling: the ImageNet models (input shrinks 4x). */
        IMAGENET,
        /** A single 3x3/1 convolution and no pooling: the CIFAR models of the paper. */
        CIFAR
    }

    /** Global pooling at the end of the feature extractor. */
    public enum Pooling {
        /** Global average pooling ({@code pool5} in DenseNet-121). */
        AVG,
        /** Global max pooling. */
        MAX,
        /** No pooling: a headless graph outputs the final [N, C, H, W] feature maps. */
        NONE
    }

    /** Validates every field; see {@link DenseNetConfig} for the meaning of each. */
    public DenseNetConfig {
        require(growthRate > 0, "growthRate", "must be > 0", growthRate);
        require(initialFilters > 0, "initialFilters", "must be > 0", initialFilters);
        Objects.requireNonNull(blockLayers, "blockLayers must not be null");
        blockLayers = List.copyOf(blockLayers);
        require(!blockLayers.isEmpty(), "blockLayers", "must name at least one dense block", blockLayers);
        for (int i = 0; i < blockLayers.size(); i++) {
            require(blockLayers.get(i) > 0, "blockLayers",
                    "entry " + i + " must be > 0", blockLayers);
        }
        require(compression > 0 && compression <= 1, "compression",
                "must be in (0, 1] (compression = 1 - reduction)", compression);
        require(bottleneckWidth > 0, "bottleneckWidth", "must be > 0", bottleneckWidth);
        Objects.requireNonNull(stem, "stem must not be null");
        require(dropoutRate >= 0 && dropoutRate < 1, "dropoutRate",
                "must be in [0, 1) (it is the probability of dropping)", dropoutRate);
        require(bnEpsilon > 0 && Double.isFinite(bnEpsilon), "bnEpsilon",
                "must be a finite value > 0", bnEpsilon);
        require(!includeTop || numClasses > 0, "numClasses",
                "must be > 0 when the top is included", numClasses);
        require(inputHeight > 0, "inputHeight", "must be > 0", inputHeight);
        require(inputWidth > 0, "inputWidth", "must be > 0", inputWidth);
        require(inputChannels > 0, "inputChannels", "must be > 0", inputChannels);
        Objects.requireNonNull(pooling, "pooling must not be null");
        require(!includeTop || pooling == Pooling.AVG, "pooling",
                "must be AVG when the top is included (fc6 follows the global average pool)", pooling);
        Objects.requireNonNull(training, "training must not be null");
        checkTransitionsKeepFeatures(initialFilters, growthRate, blockLayers, compression);
        checkInputFits(stem, blockLayers.size(), inputHeight, "inputHeight");
        checkInputFits(stem, blockLayers.size(), inputWidth, "inputWidth");
    }

    private static void checkTransitionsKeepFeatures(int initialFilters, int growthRate,
                                                     List<Integer> blockLayers, double compression) {
        int channels = initialFilters;
        for (int b = 0; b < blockLayers.size() - 1; b++) {
            channels += blockLayers.get(b) * growthRate;
            int kept = (int) (channels * compression);
            require(kept > 0, "compression", "keeps no feature map of the " + channels
                    + " entering transition block " + (b + 2), compression);
            channels = kept;
        }
    }

    /**
     * Rejects an input dimension that some pooling would shrink to nothing. Global pooling lets any
     * size at or above the minimum through; below it DL4J would fail deep inside a native op.
     */
    private static void checkInputFits(Stem stem, int blocks, int size, String parameter) {
        if (size <= 0) {
            return; // reported by the positivity check
        }
        String failure = shrinkingFailure(stem, blocks, size);
        if (failure != null) {
            throw new IllegalArgumentException(parameter + " " + size + " is too small: " + failure
                    + "; this architecture needs at least " + minimumInputSize(stem, blocks) + " pixels");
        }
    }

    /** Describes where a dimension of {@code size} pixels vanishes, or null when it survives. */
    private static String shrinkingFailure(Stem stem, int blocks, int size) {
        int s = size;
        if (stem == Stem.IMAGENET) {
            s = pooledSize(s, 7, 2, 3); // conv1
            s = pooledSize(s, 3, 2, 1); // pool1
            if (s < 1) {
                return "it shrinks to nothing at pool1";
            }
        }
        for (int stage = 2; stage <= blocks; stage++) {
            s = pooledSize(s, 2, 2, 0);
            if (s < 1) {
                return "it shrinks to nothing at pool" + stage;
            }
        }
        return null;
    }

    private static int pooledSize(int size, int kernel, int stride, int pad) {
        return Math.floorDiv(size + 2 * pad - kernel, stride) + 1;
    }

    /** The smallest input height or width that a network with this stem and block count can take. */
    public static long minimumInputSize(Stem stem, int blocks) {
        // Each of the (blocks - 1) 2x2/2 average pools needs at least 2 pixels in.
        long atFirstBlock = 1L << Math.min(blocks - 1, 60);
        // conv1 (7x7/2, pad 3) and pool1 (3x3/2, pad 1) each map x to floor((x - 1) / 2) + 1.
        return stem == Stem.IMAGENET ? 4 * atFirstBlock - 3 : atFirstBlock;
    }

    private static void require(boolean ok, String parameter, String rule, Object value) {
        if (!ok) {
            throw new IllegalArgumentException(parameter + " " + rule + ", was " + value);
        }
    }

    /** Number of dense blocks. */
    public int numBlocks() {
        return blockLayers.size();
    }

    /**
     * The Keras "stage" of the last dense block: stages count from 2 (stage 1 is {@code conv1}),
     * so DenseNet-121's final block, BN and pool are {@code conv5_*}, {@code conv5_blk_bn}, {@code pool5}.
     */
    public int finalStage() {
        return blockLayers.size() + 1;
    }

    /** Feature maps coming out of the last dense block: the width of the pooled feature vector. */
    public int outputChannels() {
        int channels = initialFilters;
        for (int b = 0; b < blockLayers.size(); b++) {
            channels += blockLayers.get(b) * growthRate;
            if (b < blockLayers.size() - 1) {
                channels = transitionFilters(channels);
            }
        }
        return channels;
    }

    /** Filters a transition block keeps from {@code channels}: {@code int(channels * compression)} as in Keras. */
    public int transitionFilters(int channels) {
        return (int) (channels * compression);
    }

    /**
     * Whether {@code other} has this configuration's architecture, whatever its training settings:
     * then both build graphs of the same layers and parameter shapes, and weights of one fit the other.
     */
    public boolean sameArchitecture(DenseNetConfig other) {
        return other != null && equals(other.withTraining(training));
    }

    /** This architecture with other training settings. */
    public DenseNetConfig withTraining(TrainingSettings settings) {
        return toBuilder().training(settings).build();
    }

    /**
     * The architecture as a JSON object, one key per field above but the training settings, the
     * input as {@code "input": [height, width, channels]}; {@link #fromJson} reads it back.
     */
    public String toJson() {
        return DenseNetConfigJson.write(this);
    }

    /**
     * A builder holding the architecture {@code json} describes (as {@link #toJson} writes it, or
     * only some of its keys: the others keep {@link #builder()}'s DenseNet-121 values, as do the
     * training settings). {@code "reduction"} is taken for {@code 1 - compression}, as in the original Keras port.
     *
     * @throws IllegalArgumentException for text that is not a JSON object, an unknown or repeated
     *         key, or a value of the wrong kind, naming the key; values out of range fail in
     *         {@link Builder#build()}, naming the field
     */
    public static Builder fromJson(String json) {
        return DenseNetConfigJson.read(json);
    }

    /** A builder initialised with this configuration's values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A builder with DenseNet-121's architecture, 1000 classes and a 224x224x3 input. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Fluent builder of {@link DenseNetConfig}; {@link #build()} validates. The training setters
     * ({@code seed}, {@code updater}, {@code weightDecay}, {@code training}) are {@link TrainingBuilder}'s.
     */
    public static final class Builder extends TrainingBuilder<Builder> {
        private int growthRate = 32;
        private int initialFilters = 64;
        private List<Integer> blockLayers = List.of(6, 12, 24, 16);
        private double compression = 0.5;
        private boolean bottleneck = true;
        private int bottleneckWidth = 4;
        private Stem stem = Stem.IMAGENET;
        private boolean convBias = false;
        private double dropoutRate = 0.0;
        private double bnEpsilon = 1.1e-5;
        private int numClasses = 1000;
        private int inputHeight = 224;
        private int inputWidth = 224;
        private int inputChannels = 3;
        private boolean includeTop = true;
        private Pooling pooling = Pooling.AVG;

        private Builder() {
            super(new TrainingSettings(new Nesterovs(0.1, 0.9), 1e-4, 12345L));
        }

        private Builder(DenseNetConfig c) {
            super(c.training);
            growthRate = c.growthRate;
            initialFilters = c.initialFilters;
            blockLayers = c.blockLayers;
            compression = c.compression;
            bottleneck = c.bottleneck;
            bottleneckWidth = c.bottleneckWidth;
            stem = c.stem;
            convBias = c.convBias;
            dropoutRate = c.dropoutRate;
            bnEpsilon = c.bnEpsilon;
            numClasses = c.numClasses;
            inputHeight = c.inputHeight;
            inputWidth = c.inputWidth;
            inputChannels = c.inputChannels;
            includeTop = c.includeTop;
            pooling = c.pooling;
        }

        /** Growth rate k. */
        public Builder growthRate(int k) {
            this.growthRate = k;
            return this;
        }

        /** Filters of {@code conv1}. */
        public Builder initialFilters(int filters) {
            this.initialFilters = filters;
            return this;
        }

        /** Conv blocks per dense block, e.g. {@code 6, 12, 24, 16} for DenseNet-121. */
        public Builder blockLayers(int... layers) {
            this.blockLayers = java.util.Arrays.stream(layers).boxed().toList();
            return this;
        }

        /** Fraction of feature maps kept by each transition block, {@code 1 - reduction}. */
        public Builder compression(double compression) {
            this.compression = compression;
            return this;
        }

        /** The original Keras port's parameter: {@code reduction = 1 - compression}. */
        public Builder reduction(double reduction) {
            return compression(1.0 - reduction);
        }

        /** Whether conv blocks have the 1x1 bottleneck convolution. */
        public Builder bottleneck(boolean bottleneck) {
            this.bottleneck = bottleneck;
            return this;
        }

        /** Bottleneck width as a multiple of the growth rate. */
        public Builder bottleneckWidth(int width) {
            this.bottleneckWidth = width;
            return this;
        }

        /** The stem: ImageNet (7x7/2 conv + pool) or CIFAR (3x3 conv). */
        public Builder stem(Stem stem) {
            this.stem = stem;
            return this;
        }

        /** Whether convolutions carry a bias. */
        public Builder convBias(boolean convBias) {
            this.convBias = convBias;
            return this;
        }

        /** Probability of dropping an activation after each convolution (0 disables dropout). */
        public Builder dropoutRate(double rate) {
            this.dropoutRate = rate;
            return this;
        }

        /** Batch normalisation epsilon. */
        public Builder bnEpsilon(double eps) {
            this.bnEpsilon = eps;
            return this;
        }

        /** Number of classes of {@code fc6}. */
        public Builder numClasses(int classes) {
            this.numClasses = classes;
            return this;
        }

        /** Input height, width and channels. */
        public Builder inputShape(int height, int width, int channels) {
            this.inputHeight = height;
            this.inputWidth = width;
            this.inputChannels = channels;
            return this;
        }

        /** Whether the graph ends with the {@code fc6} classifier. */
        public Builder includeTop(boolean includeTop) {
            this.includeTop = includeTop;
            return this;
        }

        /** A headless feature extractor ({@code includeTop(false)}) with the given global pooling. */
        public Builder headless(Pooling pooling) {
            this.includeTop = false;
            this.pooling = pooling;
            return this;
        }

        /** Global pooling before the top (must be AVG when the top is included). */
        public Builder pooling(Pooling pooling) {
            this.pooling = pooling;
            return this;
        }

        /** Validates and returns the configuration. */
        public DenseNetConfig build() {
            return new DenseNetConfig(growthRate, initialFilters, blockLayers, compression, bottleneck,
                    bottleneckWidth, stem, convBias, dropoutRate, bnEpsilon, numClasses,
                    inputHeight, inputWidth, inputChannels, includeTop, pooling, trainingSettings());
        }
    }
}
