package org.densenet4j.zoo.fcn;

import java.util.Collections;
import java.util.List;
import java.util.Objects;

import org.densenet4j.zoo.TrainingBuilder;
import org.densenet4j.zoo.TrainingSettings;
import org.nd4j.linalg.learning.config.RmsProp;

/**
 * Everything that defines a fully convolutional DenseNet for semantic segmentation ("The One
 * Hundred Layers Tiramisu", Jégou et al. 2017, after the authors' code, SimJeg/FC-DenseNet): a
 * 3x3 convolution; a downsampling path of dense blocks, each followed by a transition down; a
 * bottleneck dense block; an upsampling path of transitions up (a transposed convolution of the
 * previous block's new feature maps, concatenated with the skip connection from the downsampling
 * path) each followed by a dense block; a 1x1 convolution and a softmax per pixel.
 *
 * <p>Instances are immutable and validated on construction: a bad value fails with an
 * {@link IllegalArgumentException} naming the parameter.
 *
 * @param initialFilters filters of the first convolution ({@code conv1}, 48 in the paper)
 * @param growthRate     k: feature maps each layer of a dense block adds
 * @param blockLayers    layers of each dense block: the downsampling blocks, the bottleneck, the
 *                       upsampling blocks ({@code 2 * pools + 1} entries)
 * @param dropoutRate    probability of dropping an activation after each convolution of a dense
 *                       block or transition down (0.2 in the paper), in [0, 1)
 * @param bnEpsilon      epsilon of every batch normalisation (Lasagne's default, 1e-4, in the authors' code)
 * @param numClasses     classes of the per-pixel softmax (11 for CamVid)
 * @param inputHeight    input height the graph is built for
 * @param inputWidth     input width the graph is built for
 * @param inputChannels  input channels
 * @param training       updater, L2 weight decay and seed (RMSprop at 1e-3 and an L2 of 1e-4 in the
 *                       authors' configuration): how the graph is trained, not what it is
 */
public record FcDenseNetConfig(
        int initialFilters,
        int growthRate,
        List<Integer> blockLayers,
        double dropoutRate,
        double bnEpsilon,
        int numClasses,
        int inputHeight,
        int inputWidth,
        int inputChannels,
        TrainingSettings training) {

    /** Validates every field; see {@link FcDenseNetConfig} for the meaning of each. */
    public FcDenseNetConfig {
        require(initialFilters > 0, "initialFilters", "must be > 0", initialFilters);
        require(growthRate > 0, "growthRate", "must be > 0", growthRate);
        Objects.requireNonNull(blockLayers, "blockLayers must not be null");
        blockLayers = List.copyOf(blockLayers);
        require(blockLayers.size() >= 3 && blockLayers.size() % 2 == 1, "blockLayers",
                "must have 2 * pools + 1 entries (downsampling blocks, bottleneck, upsampling blocks), "
                        + "an odd number of at least 3", blockLayers);
        for (int i = 0; i < blockLayers.size(); i++) {
            require(blockLayers.get(i) > 0, "blockLayers", "entry " + i + " must be > 0", blockLayers);
        }
        require(dropoutRate >= 0 && dropoutRate < 1, "dropoutRate",
                "must be in [0, 1) (it is the probability of dropping)", dropoutRate);
        require(bnEpsilon > 0 && Double.isFinite(bnEpsilon), "bnEpsilon", "must be a finite value > 0", bnEpsilon);
        require(numClasses > 1, "numClasses", "must be > 1", numClasses);
        require(inputChannels > 0, "inputChannels", "must be > 0", inputChannels);
        int pools = blockLayers.size() / 2;
        long minimum = 1L << Math.min(pools, 62);
        require(inputHeight >= minimum, "inputHeight", "must be at least 2^pools = " + minimum
                + " (each of the " + pools + " transitions down halves it)", inputHeight);
        require(inputWidth >= minimum, "inputWidth", "must be at least 2^pools = " + minimum
                + " (each of the " + pools + " transitions down halves it)", inputWidth);
        Objects.requireNonNull(training, "training must not be null");
    }

    private static void require(boolean ok, String parameter, String rule, Object value) {
        if (!ok) {
            throw new IllegalArgumentException(parameter + " " + rule + ", was " + value);
        }
    }

    /** Transitions down (and up): the number of times the input is halved. */
    public int pools() {
        return blockLayers.size() / 2;
    }

    /**
     * The architecture as a JSON object: {@code "family": "fc-densenet"}, one key per field above but
     * the training settings, the input as {@code "input": [height, width, channels]};
     * {@link #fromJson} reads it back (and a DenseNet's reader refuses it, for its family key).
     */
    public String toJson() {
        return FcDenseNetConfigJson.write(this);
    }

    /**
     * A builder holding the architecture {@code json} describes (as {@link #toJson} writes it, or
     * only some of its keys: the others keep {@link #builder()}'s FC-DenseNet103 values, as do the
     * training settings).
     *
     * @throws IllegalArgumentException for text that is not a JSON object, an unknown or repeated
     *         key, another family's architecture, or a value of the wrong kind, naming the key;
     *         values out of range fail in {@link Builder#build()}, naming the field
     */
    public static Builder fromJson(String json) {
        return fromJson(json, builder());
    }

    /** {@link #fromJson(String)} with the keys {@code json} leaves out kept from {@code defaults}. */
    public static Builder fromJson(String json, Builder defaults) {
        return FcDenseNetConfigJson.read(json, defaults);
    }

    /** A builder initialised with this configuration's values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A builder with FC-DenseNet103's architecture, 11 classes (CamVid) and a 224x224x3 input. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Fluent builder of {@link FcDenseNetConfig}; {@link #build()} validates. The training setters
     * ({@code seed}, {@code updater}, {@code weightDecay}, {@code training}) are {@link TrainingBuilder}'s.
     */
    public static final class Builder extends TrainingBuilder<Builder> {
        private int initialFilters = 48;
        private int growthRate = 16;
        private List<Integer> blockLayers = List.of(4, 5, 7, 10, 12, 15, 12, 10, 7, 5, 4);
        private double dropoutRate = 0.2;
        private double bnEpsilon = 1e-4;
        private int numClasses = 11;
        private int inputHeight = 224;
        private int inputWidth = 224;
        private int inputChannels = 3;

        private Builder() {
            super(new TrainingSettings(new RmsProp(1e-3, 0.9, 1e-6), 1e-4, 12345L));
        }

        private Builder(FcDenseNetConfig c) {
            super(c.training);
            initialFilters = c.initialFilters;
            growthRate = c.growthRate;
            blockLayers = c.blockLayers;
            dropoutRate = c.dropoutRate;
            bnEpsilon = c.bnEpsilon;
            numClasses = c.numClasses;
            inputHeight = c.inputHeight;
            inputWidth = c.inputWidth;
            inputChannels = c.inputChannels;
        }

        /** Filters of {@code conv1}. */
        public Builder initialFilters(int filters) {
            this.initialFilters = filters;
            return this;
        }

        /** Growth rate k. */
        public Builder growthRate(int k) {
            this.growthRate = k;
            return this;
        }

        /** Layers of every dense block: the downsampling ones, the bottleneck, the upsampling ones. */
        public Builder blockLayers(int... layers) {
            this.blockLayers = java.util.Arrays.stream(layers).boxed().toList();
            return this;
        }

        /** {@code layers} layers in each of the {@code 2 * pools + 1} dense blocks. */
        public Builder layersPerBlock(int layers, int pools) {
            this.blockLayers = Collections.nCopies(Math.max(0, 2 * pools + 1), layers);
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

        /** Number of classes of the per-pixel softmax. */
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

        /** Validates and returns the configuration. */
        public FcDenseNetConfig build() {
            return new FcDenseNetConfig(initialFilters, growthRate, blockLayers, dropoutRate, bnEpsilon,
                    numClasses, inputHeight, inputWidth, inputChannels, trainingSettings());
        }
    }
}
