package org.densenet4j.zoo.resnet;

import java.util.List;
import java.util.Objects;

import org.densenet4j.zoo.TrainingBuilder;
import org.densenet4j.zoo.TrainingSettings;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * Everything that defines a ResNet of the kind "Dive into Deep Learning" builds (section 8.6 of the
 * book, {@code Residual} and {@code resnet_block}): a 7x7/2 convolution, BN, ReLU and 3x3/2 max
 * pooling; stages of residual blocks, each block two 3x3 convolutions with BN whose sum with the
 * block's input is passed through a ReLU; the first block of every stage but the first halving the
 * size (stride 2) and adding a 1x1 convolution to its shortcut; global average pooling and a dense
 * softmax classifier. The stem has as many filters as the first stage.
 *
 * <p>Instances are immutable and validated on construction: a bad value fails with an
 * {@link IllegalArgumentException} naming the parameter.
 *
 * @param stageBlocks   residual blocks in each stage
 * @param stageChannels channels of each stage (the stem's filters are the first stage's)
 * @param convBias      whether convolutions have a bias (true in d2l: PyTorch's default)
 * @param bnEpsilon     epsilon of every batch normalisation (PyTorch's 1e-5 in d2l)
 * @param numClasses    classes of the {@code fc} softmax layer
 * @param inputHeight   input height in pixels
 * @param inputWidth    input width in pixels
 * @param inputChannels input channels (1 for Fashion-MNIST)
 * @param weightInit    initialisation of the convolutions and the classifier
 * @param training      updater, L2 weight decay and seed: how the graph is trained, not what it is
 */
public record ResNetConfig(
        List<Integer> stageBlocks,
        List<Integer> stageChannels,
        boolean convBias,
        double bnEpsilon,
        int numClasses,
        int inputHeight,
        int inputWidth,
        int inputChannels,
        WeightInit weightInit,
        TrainingSettings training) {

    /** Validates every field; see {@link ResNetConfig} for the meaning of each. */
    public ResNetConfig {
        Objects.requireNonNull(stageBlocks, "stageBlocks must not be null");
        Objects.requireNonNull(stageChannels, "stageChannels must not be null");
        stageBlocks = List.copyOf(stageBlocks);
        stageChannels = List.copyOf(stageChannels);
        require(!stageBlocks.isEmpty(), "stageBlocks", "must name at least one stage", stageBlocks);
        require(stageBlocks.size() == stageChannels.size(), "stageChannels",
                "must have one entry per stage (" + stageBlocks.size() + " stages)", stageChannels);
        for (int i = 0; i < stageBlocks.size(); i++) {
            require(stageBlocks.get(i) > 0, "stageBlocks", "entry " + i + " must be > 0", stageBlocks);
            require(stageChannels.get(i) > 0, "stageChannels", "entry " + i + " must be > 0", stageChannels);
        }
        require(bnEpsilon > 0 && Double.isFinite(bnEpsilon), "bnEpsilon", "must be a finite value > 0", bnEpsilon);
        require(numClasses > 0, "numClasses", "must be > 0", numClasses);
        require(inputHeight > 0, "inputHeight", "must be > 0", inputHeight);
        require(inputWidth > 0, "inputWidth", "must be > 0", inputWidth);
        require(inputChannels > 0, "inputChannels", "must be > 0", inputChannels);
        Objects.requireNonNull(weightInit, "weightInit must not be null");
        Objects.requireNonNull(training, "training must not be null");
    }

    private static void require(boolean ok, String parameter, String rule, Object value) {
        if (!ok) {
            throw new IllegalArgumentException(parameter + " " + rule + ", was " + value);
        }
    }

    /** Number of stages. */
    public int numStages() {
        return stageBlocks.size();
    }

    /** A builder initialised with this configuration's values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * A builder with d2l's ResNet-18 for Fashion-MNIST: stages of 2 blocks with 64, 128, 256 and 512
     * channels, biased convolutions, 10 classes, a 96x96x1 input, Xavier-uniform weights and SGD at
     * 0.05 (the book's {@code train_ch6} with its ResNet learning rate).
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Fluent builder of {@link ResNetConfig}; {@link #build()} validates. The training setters
     * ({@code seed}, {@code updater}, {@code weightDecay}, {@code training}) are {@link TrainingBuilder}'s.
     */
    public static final class Builder extends TrainingBuilder<Builder> {
        private List<Integer> stageBlocks = List.of(2, 2, 2, 2);
        private List<Integer> stageChannels = List.of(64, 128, 256, 512);
        private boolean convBias = true;
        private double bnEpsilon = 1e-5;
        private int numClasses = 10;
        private int inputHeight = 96;
        private int inputWidth = 96;
        private int inputChannels = 1;
        private WeightInit weightInit = WeightInit.XAVIER_UNIFORM;

        private Builder() {
            super(new TrainingSettings(new Sgd(0.05), 0, 12345L));
        }

        private Builder(ResNetConfig c) {
            super(c.training);
            stageBlocks = c.stageBlocks;
            stageChannels = c.stageChannels;
            convBias = c.convBias;
            bnEpsilon = c.bnEpsilon;
            numClasses = c.numClasses;
            inputHeight = c.inputHeight;
            inputWidth = c.inputWidth;
            inputChannels = c.inputChannels;
            weightInit = c.weightInit;
        }

        /** Residual blocks per stage, e.g. {@code 2, 2, 2, 2} for ResNet-18. */
        public Builder stageBlocks(int... blocks) {
            this.stageBlocks = java.util.Arrays.stream(blocks).boxed().toList();
            return this;
        }

        /** Channels per stage, e.g. {@code 64, 128, 256, 512}. */
        public Builder stageChannels(int... channels) {
            this.stageChannels = java.util.Arrays.stream(channels).boxed().toList();
            return this;
        }

        /** Whether convolutions carry a bias. */
        public Builder convBias(boolean convBias) {
            this.convBias = convBias;
            return this;
        }

        /** Batch normalisation epsilon. */
        public Builder bnEpsilon(double eps) {
            this.bnEpsilon = eps;
            return this;
        }

        /** Number of classes of {@code fc}. */
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

        /** Initialisation of the convolutions and the classifier. */
        public Builder weightInit(WeightInit init) {
            this.weightInit = init;
            return this;
        }

        /** Validates and returns the configuration. */
        public ResNetConfig build() {
            return new ResNetConfig(stageBlocks, stageChannels, convBias, bnEpsilon, numClasses, inputHeight,
                    inputWidth, inputChannels, weightInit, trainingSettings());
        }
    }
}
