package org.densenet4j.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.FloatPointer;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.ir.Graph;
import org.densenet4j.engine.ir.Node;
import org.densenet4j.onednn.OneDnn;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The inference engine's operations: the nodes of a {@link Graph} after the inference passes, each
 * with a snapshot of its parameters (a folded batch norm already in its convolution's weights).
 */
abstract sealed class InferenceOp permits InferenceOp.Conv, InferenceOp.Norm, InferenceOp.Relu, InferenceOp.Pool,
        InferenceOp.GlobalPool, InferenceOp.Concat, InferenceOp.Add, InferenceOp.Dense {

    final String out;
    final List<String> in;

    InferenceOp(Node node) {
        this.out = node.name();
        this.in = node.inputs();
    }

    String out() {
        return out;
    }

    List<String> in() {
        return in;
    }

    /** The single input of a one-input operation. */
    String source() {
        return in.get(0);
    }

    /** Frees the native memory the operation's parameters were copied into. */
    void release() {
    }

    /** The operations of {@code ir}, with the parameters {@code graph} has now. */
    static List<InferenceOp> snapshot(Graph ir, ComputationGraph graph) {
        List<InferenceOp> ops = new ArrayList<>();
        for (Node node : ir.nodes()) {
            Layer layer = node instanceof Node.Concat || node instanceof Node.Add ? null : graph.getLayer(node.name());
            if (node instanceof Node.Conv c) {
                ops.add(new Conv(c, layer, c.folded() == null ? null : graph.getLayer(c.folded().name())));
            } else if (node instanceof Node.Norm n) {
                ops.add(new Norm(n, NormParameters.of(n, layer)));
            } else if (node instanceof Node.Relu r) {
                ops.add(new Relu(r));
            } else if (node instanceof Node.Pool p) {
                ops.add(new Pool(p));
            } else if (node instanceof Node.GlobalPool g) {
                ops.add(new GlobalPool(g));
            } else if (node instanceof Node.Concat c) {
                ops.add(new Concat(c));
            } else if (node instanceof Node.Add a) {
                ops.add(new Add(a));
            } else if (node instanceof Node.Dense d) {
                ops.add(new Dense(d, layer));
            } else {
                throw new IllegalStateException("'" + node.name() + "' (" + node.getClass().getSimpleName()
                        + ") is left after the inference passes");
            }
        }
        return ops;
    }

    /** A oneDNN memory of {@code desc} holding {@code values} (in the plain layout {@code desc} names). */
    static memory filled(memory.desc desc, float[] values) {
        memory m = new memory(desc, OneDnn.ENGINE);
        new FloatPointer(m.get_data_handle()).put(values);
        return m;
    }

    static final class Weights {
        final float[] values;
        final memory.desc plain;
        float[] bias;
        private final List<memory> converted = new ArrayList<>();
        private memory biasMemory;

        Weights(float[] values, memory.desc plain, float[] bias) {
            this.values = values;
            this.plain = plain;
            this.bias = bias;
        }

        /** The weights in {@code desc}'s layout, converted the first time it is asked for. */
        memory in(memory.desc desc) {
            for (memory m : converted) {
                if (m.get_desc().equals(desc)) {
                    return m;
                }
            }
            memory from = filled(plain, values);
            memory m = new memory(desc, OneDnn.ENGINE);
            stream s = OneDnn.STREAM.get();
            new reorder(from, m).execute(s, from, m);
            s._wait();
            converted.add(m);
            return m;
        }

        /** The bias as a oneDNN memory (made once), or null. */
        memory bias() {
            if (bias != null && biasMemory == null) {
                biasMemory = filled(new memory.desc(new long[] {bias.length}, memory.data_type.f32,
                        memory.format_tag.a), bias);
            }
            return biasMemory;
        }

        void release() {
            converted.forEach(memory::close);
            converted.clear();
            if (biasMemory != null) {
                biasMemory.close();
                biasMemory = null;
            }
        }

        /** The weights and bias as primitive arguments. */
        void addTo(IntMemoryMap args, memory.desc desc) {
            args.put(dnnl.DNNL_ARG_WEIGHTS, in(desc));
            if (bias != null) {
                args.put(dnnl.DNNL_ARG_BIAS, bias());
            }
        }
    }

    /**
     * A convolution, possibly with a batch normalisation folded in, a map added to its result (a
     * residual sum) and a ReLU after.
     */
    static final class Conv extends InferenceOp {
        final long[] shape;
        /** The map added to the result, or null. */
        final String summand;
        final Weights weights;
        final int[] strides;
        final int[] pad;
        final ConvolutionMode mode;
        final boolean relu;

        Conv(Node.Conv node, Layer layer, Layer folded) {
            super(node);
            this.shape = node.weightShape();
            this.summand = node.summand();
            float[] w = NormParameters.floats(layer, "W");
            float[] b = node.bias() ? NormParameters.floats(layer, "b") : null;
            if (node.folded() != null) {
                BatchNormFolding.Folded f = BatchNormFolding.fold(w, b, NormParameters.of(node.folded(), folded));
                w = f.weights();
                b = f.bias();
            }
            this.weights = new Weights(w, new memory.desc(shape, memory.data_type.f32, memory.format_tag.oihw), b);
            this.strides = node.strides();
            this.pad = node.pad();
            this.mode = node.mode();
            this.relu = node.relu();
        }

        @Override
        void release() {
            weights.release();
        }
    }

    /** Batch normalisation with the running statistics, possibly with a ReLU after. */
    static final class Norm extends InferenceOp {
        final NormParameters p;
        final float eps;
        final boolean relu;
        private memory[] parameters;
        private memory[] affine;

        Norm(Node.Norm node, NormParameters p) {
            super(node);
            this.p = p;
            this.eps = p.eps();
            this.relu = node.relu();
        }

        /** mean, variance, scale, shift as oneDNN memories, made once. */
        memory[] parameters() {
            if (parameters == null) {
                memory.desc d = new memory.desc(new long[] {p.gamma().length}, memory.data_type.f32,
                        memory.format_tag.a);
                parameters = new memory[] {filled(d, p.mean()), filled(d, p.var()), filled(d, p.gamma()),
                        filled(d, p.beta())};
            }
            return parameters;
        }

        /** The per-channel scale and shift of {@link NormParameters#affine()}, [1, C] memories made once. */
        memory[] affine() {
            if (affine == null) {
                float[][] a = p.affine();
                memory.desc d = new memory.desc(new long[] {1, a[0].length}, memory.data_type.f32,
                        memory.format_tag.ab);
                affine = new memory[] {filled(d, a[0]), filled(d, a[1])};
            }
            return affine;
        }

        @Override
        void release() {
            if (parameters != null) {
                Arrays.stream(parameters).forEach(memory::close);
                parameters = null;
            }
            if (affine != null) {
                Arrays.stream(affine).forEach(memory::close);
                affine = null;
            }
        }
    }

    static final class Relu extends InferenceOp {
        Relu(Node.Relu node) {
            super(node);
        }
    }

    static final class Pool extends InferenceOp {
        final boolean max;
        final boolean includePadding;
        final int[] kernel;
        final int[] strides;
        final int[] pad;
        final ConvolutionMode mode;

        Pool(Node.Pool node) {
            super(node);
            this.max = node.max();
            this.includePadding = node.includePadding();
            this.kernel = node.kernel();
            this.strides = node.strides();
            this.pad = node.pad();
            this.mode = node.mode();
        }
    }

    /** Pooling over all of height and width: [N, C, H, W] to [N, C]. */
    static final class GlobalPool extends InferenceOp {
        final boolean max;

        GlobalPool(Node.GlobalPool node) {
            super(node);
            this.max = node.max();
        }
    }

    static final class Concat extends InferenceOp {
        Concat(Node.Concat node) {
            super(node);
        }
    }

    /** The elementwise sum of feature maps of one shape, possibly with a ReLU after. */
    static final class Add extends InferenceOp {
        final boolean relu;

        Add(Node.Add node) {
            super(node);
            this.relu = node.relu();
        }
    }

    /**
     * A dense or output layer on [N, F] features: oneDNN's inner product, then the layer's activation
     * (a ReLU inside the primitive, anything else by DL4J's own activation function on the result).
     */
    static final class Dense extends InferenceOp {
        final long inputs;
        final long outputs;
        final Weights weights;
        final IActivation activation;
        private final Node.Dense node;

        Dense(Node.Dense node, Layer layer) {
            super(node);
            this.node = node;
            INDArray w = layer.getParam("W"); // [in, out]: as oneDNN's [out, in] weights, strides (1, out)
            INDArray b = layer.getParam("b");
            memory.desc plain = new memory.desc(new long[] {w.size(1), w.size(0)}, memory.data_type.f32,
                    new long[] {1, w.size(1)});
            this.inputs = w.size(0);
            this.outputs = w.size(1);
            this.weights = new Weights(w.dup('c').data().asFloat(), plain,
                    b == null ? null : b.dup('c').data().asFloat());
            this.activation = node.activation();
        }

        @Override
        void release() {
            weights.release();
        }

        boolean relu() {
            return node.relu();
        }

        boolean identity() {
            return node.identity();
        }
    }
}
