package org.densenet4j.engine.ir;

import java.util.List;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;

/**
 * One operation of a {@link Graph}: it reads the values named {@link #inputs()} and makes the value
 * named {@link #name()} (the name of the DL4J vertex it came from). Nodes carry what the operation
 * is, never parameter values: those stay in the DL4J graph, where an engine reads them (a snapshot
 * for inference, the live arrays for training).
 */
public sealed interface Node permits Node.Conv, Node.Norm, Node.Relu, Node.Pool, Node.GlobalPool, Node.Concat,
        Node.Add, Node.Dense, Node.Identity {

    /** The value this node makes: its vertex's name. */
    String name();

    /** The values it reads, in order. */
    List<String> inputs();

    /** The single input of a one-input node. */
    default String input() {
        return inputs().get(0);
    }

    /** The same node reading {@code inputs} instead. */
    Node reading(List<String> inputs);

    /** Channels (features) of the value made, from those of the inputs. */
    default long channels(List<Long> inputChannels) {
        return inputChannels.get(0);
    }

    /**
     * A 2-d convolution (NCHW, undilated) with weights of {@code weightShape} [out, in, kh, kw]. It
     * convolves its first input; a second one, after {@link Passes#FUSE_SUM} (inference), is a map of
     * the output's shape added to the result before the ReLU (oneDNN's sum post-op).
     *
     * @param folded the batch norm folded into its weights and bias (inference), or null
     * @param relu   whether a ReLU follows inside the same step
     */
    record Conv(String name, List<String> inputs, long[] weightShape, int[] strides, int[] pad,
            ConvolutionMode mode, boolean bias, Norm folded, boolean relu) implements Node {
        @Override
        public Conv reading(List<String> inputs) {
            return new Conv(name, inputs, weightShape, strides, pad, mode, bias, folded, relu);
        }

        @Override
        public long channels(List<Long> inputChannels) {
            return weightShape[0];
        }

        /** This convolution with {@code norm} folded in. */
        public Conv folding(Norm norm) {
            return new Conv(name, inputs, weightShape, strides, pad, mode, bias, norm, relu);
        }

        /** This convolution with a ReLU after. */
        public Conv withRelu() {
            return new Conv(name, inputs, weightShape, strides, pad, mode, bias, folded, true);
        }

        /** This convolution with {@code summand} added to its output, then a ReLU if {@code relu}. */
        public Conv adding(String summand, boolean relu) {
            return new Conv(name, List.of(input(), summand), weightShape, strides, pad, mode, bias, folded, relu);
        }

        /** The map added to the output before the ReLU, or null. */
        public String summand() {
            return inputs.size() > 1 ? inputs.get(1) : null;
        }
    }

    /**
     * Batch normalisation over the channels, as DL4J's BatchNormalization computes it.
     *
     * @param logStd  whether the layer keeps log10 of the standard deviation instead of the variance
     * @param locked  whether gamma and beta are the constants {@code gamma}, {@code beta} (no parameters)
     * @param relu    whether a ReLU follows inside the same step
     */
    record Norm(String name, List<String> inputs, double eps, double decay, boolean logStd, boolean locked,
            double gamma, double beta, boolean relu) implements Node {
        @Override
        public Norm reading(List<String> inputs) {
            return new Norm(name, inputs, eps, decay, logStd, locked, gamma, beta, relu);
        }

        /** This batch norm with a ReLU after. */
        public Norm withRelu() {
            return new Norm(name, inputs, eps, decay, logStd, locked, gamma, beta, true);
        }
    }

    /** {@code max(x, 0)}. */
    record Relu(String name, List<String> inputs) implements Node {
        @Override
        public Relu reading(List<String> inputs) {
            return new Relu(name, inputs);
        }
    }

    /** Max or average pooling over windows (NCHW, undilated). */
    record Pool(String name, List<String> inputs, boolean max, boolean includePadding, int[] kernel, int[] strides,
            int[] pad, ConvolutionMode mode) implements Node {
        @Override
        public Pool reading(List<String> inputs) {
            return new Pool(name, inputs, max, includePadding, kernel, strides, pad, mode);
        }
    }

    /** Max or average pooling over all of height and width: [N, C, H, W] to [N, C]. */
    record GlobalPool(String name, List<String> inputs, boolean max) implements Node {
        @Override
        public GlobalPool reading(List<String> inputs) {
            return new GlobalPool(name, inputs, max);
        }
    }

    /** Concatenation along the channels. */
    record Concat(String name, List<String> inputs) implements Node {
        @Override
        public Concat reading(List<String> inputs) {
            return new Concat(name, inputs);
        }

        @Override
        public long channels(List<Long> inputChannels) {
            return inputChannels.stream().mapToLong(Long::longValue).sum();
        }
    }

    /**
     * The elementwise sum of two or more feature maps of one shape (a residual connection).
     *
     * @param relu whether a ReLU follows inside the same step
     */
    record Add(String name, List<String> inputs, boolean relu) implements Node {
        @Override
        public Add reading(List<String> inputs) {
            return new Add(name, inputs, relu);
        }

        /** This sum with a ReLU after. */
        public Add withRelu() {
            return new Add(name, inputs, true);
        }
    }

    /**
     * A dense or output layer on [N, F] features, then its activation.
     *
     * @param loss the output layer's loss, or null for a dense layer
     */
    record Dense(String name, List<String> inputs, long in, long out, IActivation activation, boolean bias,
            Loss loss) implements Node {
        @Override
        public Dense reading(List<String> inputs) {
            return new Dense(name, inputs, in, out, activation, bias, loss);
        }

        @Override
        public long channels(List<Long> inputChannels) {
            return out;
        }

        /** Whether the activation is a plain ReLU. */
        public boolean relu() {
            return new ActivationReLU().equals(activation);
        }

        /** Whether the activation is the identity. */
        public boolean identity() {
            return activation instanceof ActivationIdentity;
        }
    }

    /**
     * Softmax with DL4J's multi-class cross-entropy (unweighted).
     *
     * @param clip LossMCXENT's clipping of the probabilities inside the logarithm
     */
    record Loss(double clip) {
    }

    /**
     * The identity at this point of the graph: a dropout layer at inference or one that drops
     * nothing, an identity activation. {@link Passes#DROP_IDENTITY} removes it.
     */
    record Identity(String name, List<String> inputs) implements Node {
        @Override
        public Identity reading(List<String> inputs) {
            return new Identity(name, inputs);
        }
    }
}
