package org.densenet4j.engine;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.batch_normalization_backward;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.convolution_backward_data;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.eltwise_backward;
import org.bytedeco.dnnl.eltwise_forward;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.inner_product_backward_data;
import org.bytedeco.dnnl.inner_product_backward_weights;
import org.bytedeco.dnnl.inner_product_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.pooling_backward;
import org.bytedeco.dnnl.pooling_forward;
import org.bytedeco.dnnl.reorder;
import org.densenet4j.engine.TrainingPlan.Step;
import org.densenet4j.engine.TrainingPlan.Value;
import org.densenet4j.engine.ir.Node;
import org.densenet4j.onednn.ConvGeometry;
import org.densenet4j.onednn.OneDnn;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The training engine's operations, one class per kind of node: each plans its forward pass and,
 * beside it, its backward pass, into a {@link TrainingPlan}, keeping what the backward pass needs
 * from the forward one in a record of its own. A new object per plan: the saved state is the plan's.
 */
abstract sealed class TrainingOp permits TrainingOp.Conv, TrainingOp.Norm, TrainingOp.Relu, TrainingOp.Pool,
        TrainingOp.Concat, TrainingOp.Add, TrainingOp.Output {

    /** Plans the forward pass (batch statistics) of this node. */
    abstract void forward(TrainingPlan p);

    /** Plans the backward pass: the parameters' gradients and the inputs' shares of theirs. */
    abstract void backward(TrainingPlan p);

    /**
     * Plans the steps that rebuild this node's value in the backward pass, for a value the plan does
     * not keep ({@link TrainingPlan#recomputed}); only batch norms and concatenations are.
     */
    void recompute(TrainingPlan p) {
        throw new IllegalStateException(getClass().getSimpleName() + " values are kept, never recomputed");
    }

    /** Makes the input {@code read} (the memory a backward step reads for value {@code value}) valid. */
    static void readable(TrainingPlan p, String value, memory read) {
        if (read == p.value(value).data()) {
            p.materialize(value);
        }
    }

    /** The operation running {@code node} (after the training passes). */
    static TrainingOp of(Node node) {
        if (node instanceof Node.Conv c && c.summand() == null) {
            return new Conv(c);
        } else if (node instanceof Node.Norm n) {
            return new Norm(n);
        } else if (node instanceof Node.Relu r) {
            return new Relu(r);
        } else if (node instanceof Node.Pool || node instanceof Node.GlobalPool) {
            return new Pool(node);
        } else if (node instanceof Node.Concat c) {
            return new Concat(c);
        } else if (node instanceof Node.Add a && !a.relu()) {
            return new Add(a);
        } else if (node instanceof Node.Dense d && d.loss() != null) {
            return new Output(d);
        }
        throw new IllegalStateException("'" + node.name() + "' (" + node.getClass().getSimpleName()
                + ") is left after the training passes");
    }

    /** A convolution: forward, then the weights' gradient and the input's. */
    static final class Conv extends TrainingOp {
        private final Node.Conv node;
        private Saved saved;

        /** The geometry, the forward primitive (the backward passes' hint) and its operands. */
        private record Saved(ConvGeometry g, convolution_forward.primitive_desc pd, memory src, memory weights) {
        }

        Conv(Node.Conv node) {
            this.node = node;
        }

        @Override
        void forward(TrainingPlan p) {
            Value src = p.value(node.input());
            long[] w = node.weightShape();
            if (src.dims()[1] != w[1]) {
                throw new IllegalArgumentException("layer '" + node.name() + "' expects " + w[1]
                        + " input channels, got " + src.dims()[1]);
            }
            ConvGeometry g = ConvGeometry.of(src.dims(), w, node.strides(), node.pad(),
                    node.mode()).fitting(node.name());
            Value dst = p.newValue(node.name(), g.dst());
            var pd = primitive(g, node.input().equals(p.input()) ? TrainingPlan.any(src.dims()) : src.desc(),
                    dst.desc());
            if (TrainingPlan.referenceOnly(pd)) {
                // No fast kernel in these layouts (one input channel into NHWC, say): oneDNN's own
                // layouts, with conversions around.
                var own = primitive(g, TrainingPlan.any(src.dims()), TrainingPlan.any(g.dst()));
                pd = TrainingPlan.referenceOnly(own) ? pd : own;
            }
            memory srcMemory = p.converted(p.forward, src.data(), pd.src_desc());
            memory weights = p.converted(p.forward, p.param(node.name(), "W", false, g.plainWeights()),
                    pd.weights_desc());
            memory out = pd.dst_desc().equals(dst.desc()) ? dst.data() : p.transientMemory(TrainingPlan.OUT,
                    pd.dst_desc());
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, srcMemory, dnnl.DNNL_ARG_WEIGHTS, weights,
                    dnnl.DNNL_ARG_DST, out);
            if (node.bias()) {
                args.put(dnnl.DNNL_ARG_BIAS, p.param(node.name(), "b", false, g.bias()));
            }
            p.add(p.forward, new convolution_forward(pd), pd, args);
            p.convert(p.forward, out, dst.data());
            saved = new Saved(g, pd, srcMemory, weights);
        }

        /** The forward convolution again, from its (kept or recomputed) input, into the value's buffer. */
        @Override
        void recompute(TrainingPlan p) {
            readable(p, node.input(), saved.src());
            Value dst = p.value(node.name());
            var pd = saved.pd();
            memory out = pd.dst_desc().equals(dst.desc()) ? dst.data() : p.transientMemory(TrainingPlan.OUT,
                    pd.dst_desc());
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, saved.src(), dnnl.DNNL_ARG_WEIGHTS, saved.weights(),
                    dnnl.DNNL_ARG_DST, out);
            if (node.bias()) {
                args.put(dnnl.DNNL_ARG_BIAS, p.param(node.name(), "b", false, saved.g().bias()));
            }
            p.add(p.backward, new convolution_forward(pd), pd, args);
            p.convert(p.backward, out, dst.data());
        }

        private convolution_forward.primitive_desc primitive(ConvGeometry g, memory.desc src, memory.desc dst) {
            return new convolution_forward.primitive_desc(new convolution_forward.desc(
                    dnnl.prop_kind.forward_training, dnnl.algorithm.convolution_direct, src,
                    TrainingPlan.any(g.weights()),
                    node.bias() ? g.bias() : new memory.desc(), dst, g.strides(), g.padLeft(), g.padRight()),
                    TrainingPlan.attr(), OneDnn.ENGINE);
        }

        @Override
        void backward(TrainingPlan p) {
            readable(p, node.input(), saved.src());
            ConvGeometry g = saved.g();
            var hint = saved.pd();
            memory diffDst = p.convertedTransient(p.value(node.name()).grad(), hint.dst_desc());
            var weightsPd = new convolution_backward_weights.primitive_desc(new convolution_backward_weights.desc(
                    dnnl.algorithm.convolution_direct, saved.src().get_desc(), TrainingPlan.any(g.weights()),
                    node.bias() ? g.bias() : new memory.desc(), diffDst.get_desc(), g.strides(), g.padLeft(),
                    g.padRight()), TrainingPlan.attr(), OneDnn.ENGINE, hint);
            memory userGrad = p.param(node.name(), "W", true, g.plainWeights());
            memory diffWeights = weightsPd.diff_weights_desc().equals(g.plainWeights()) ? userGrad
                    : p.owned(weightsPd.diff_weights_desc());
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, saved.src(), dnnl.DNNL_ARG_DIFF_DST, diffDst,
                    dnnl.DNNL_ARG_DIFF_WEIGHTS, diffWeights);
            if (node.bias()) {
                args.put(dnnl.DNNL_ARG_DIFF_BIAS, p.param(node.name(), "b", true, g.bias()));
            }
            p.add(p.backward, new convolution_backward_weights(weightsPd), weightsPd, args);
            p.convert(p.backward, diffWeights, userGrad);
            String in = node.input();
            if (in.equals(p.input())) {
                return; // the graph's input: no gradient wanted
            }
            var dataPd = new convolution_backward_data.primitive_desc(new convolution_backward_data.desc(
                    dnnl.algorithm.convolution_direct, saved.src().get_desc(), TrainingPlan.any(g.weights()),
                    diffDst.get_desc(), g.strides(), g.padLeft(), g.padRight()), TrainingPlan.attr(), OneDnn.ENGINE,
                    hint);
            memory w = p.converted(p.backward, saved.weights(), dataPd.weights_desc());
            memory target = p.gradientTarget(in);
            memory out = dataPd.diff_src_desc().equals(target.get_desc()) ? target
                    : p.transientMemory(TrainingPlan.DIFF_SRC, dataPd.diff_src_desc());
            p.add(p.backward, new convolution_backward_data(dataPd), dataPd, OneDnn.args(
                    dnnl.DNNL_ARG_DIFF_DST, diffDst, dnnl.DNNL_ARG_WEIGHTS, w, dnnl.DNNL_ARG_DIFF_SRC, out));
            p.convert(p.backward, out, target);
            p.accumulate(in, target);
        }
    }

    /** Batch normalisation with batch statistics (and its fused ReLU): both passes, and the running statistics. */
    static final class Norm extends TrainingOp {
        private final Node.Norm node;
        private Saved saved;

        /**
         * The forward primitive, the batch mean and variance, the fused ReLU's workspace (or null), the input as read.
         */
        private record Saved(batch_normalization_forward.primitive_desc pd, memory mean, memory variance,
                memory workspace, memory in) {
        }

        Norm(Node.Norm node) {
            this.node = node;
        }

        @Override
        void forward(TrainingPlan p) {
            Value src = p.value(node.input());
            Value dst = p.newValue(node.name(), src.dims());
            long channels = src.dims()[1];
            memory.desc pc = perChannel(channels);
            var pd = normalization(src.desc());
            if (!pd.impl_info_str().getString().contains("jit")) {
                // oneDNN's NHWC kernel wants channels in whole vectors (C % 8 == 0), else runs a C++
                // loop many times slower: the blocked layout (channels padded) with conversions around.
                pd = normalization(new memory.desc(src.dims(), memory.data_type.f32, OneDnn.BLOCKED));
            }
            memory in = p.converted(p.forward, src.data(), pd.src_desc());
            memory out = pd.dst_desc().equals(dst.desc()) ? dst.data() : p.transientMemory(TrainingPlan.OUT,
                    pd.dst_desc());
            memory mean = p.owned(pc);
            memory variance = p.owned(pc);
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, in, dnnl.DNNL_ARG_DST, out,
                    dnnl.DNNL_ARG_SCALE, p.param(node.name(), "gamma", false, pc),
                    dnnl.DNNL_ARG_SHIFT, p.param(node.name(), "beta", false, pc),
                    dnnl.DNNL_ARG_MEAN, mean, dnnl.DNNL_ARG_VARIANCE, variance);
            memory workspace = null;
            if (node.relu()) {
                workspace = p.owned(pd.workspace_desc());
                args.put(dnnl.DNNL_ARG_WORKSPACE, workspace);
            }
            p.add(p.forward, new batch_normalization_forward(pd), pd, args);
            p.convert(p.forward, out, dst.data());
            saved = new Saved(pd, mean, variance, workspace, in);
            p.afterBackward(() -> p.runningStatistics(node, mean, variance));
        }

        private batch_normalization_forward.primitive_desc normalization(memory.desc data) {
            return new batch_normalization_forward.primitive_desc(new batch_normalization_forward.desc(
                    dnnl.prop_kind.forward_training.value, data, (float) node.eps(), flags()), TrainingPlan.attr(),
                    OneDnn.ENGINE);
        }

        private int flags() {
            return dnnl.normalization_flags.use_scale.value | dnnl.normalization_flags.use_shift.value
                    | (node.relu() ? dnnl.normalization_flags.fuse_norm_relu.value : 0);
        }

        /**
         * The forward pass again, from the kept input with the batch's saved statistics (oneDNN's
         * inference primitive on them gives the training forward's output, fused ReLU included).
         */
        @Override
        void recompute(TrainingPlan p) {
            readable(p, node.input(), saved.in());
            Value dst = p.value(node.name());
            int flags = flags() | dnnl.normalization_flags.use_global_stats.value;
            var pd = new batch_normalization_forward.primitive_desc(new batch_normalization_forward.desc(
                    dnnl.prop_kind.forward_inference.value, saved.pd().src_desc(), (float) node.eps(), flags),
                    TrainingPlan.attr(), OneDnn.ENGINE);
            memory out = pd.dst_desc().equals(dst.desc()) ? dst.data()
                    : p.transientMemory(TrainingPlan.OUT, pd.dst_desc());
            memory.desc pc = perChannel(dst.dims()[1]);
            p.add(p.backward, new batch_normalization_forward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, saved.in(),
                    dnnl.DNNL_ARG_DST, out, dnnl.DNNL_ARG_MEAN, saved.mean(), dnnl.DNNL_ARG_VARIANCE, saved.variance(),
                    dnnl.DNNL_ARG_SCALE, p.param(node.name(), "gamma", false, pc),
                    dnnl.DNNL_ARG_SHIFT, p.param(node.name(), "beta", false, pc)));
            p.convert(p.backward, out, dst.data());
        }

        private static memory.desc perChannel(long channels) {
            return new memory.desc(new long[] {channels}, memory.data_type.f32, memory.format_tag.a);
        }

        @Override
        void backward(TrainingPlan p) {
            readable(p, node.input(), saved.in());
            memory.desc data = saved.pd().src_desc();
            memory.desc pc = perChannel(p.value(node.name()).dims()[1]);
            var pd = new batch_normalization_backward.primitive_desc(new batch_normalization_backward.desc(
                    dnnl.prop_kind.backward.value, data, data, (float) node.eps(), flags()), TrainingPlan.attr(),
                    OneDnn.ENGINE, saved.pd());
            memory diffDst = p.convertedTransient(p.value(node.name()).grad(), data);
            memory target = p.gradientTarget(node.input());
            memory out = data.equals(target.get_desc()) ? target : p.transientMemory(TrainingPlan.DIFF_SRC, data);
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, saved.in(), dnnl.DNNL_ARG_DIFF_DST, diffDst,
                    dnnl.DNNL_ARG_SCALE, p.param(node.name(), "gamma", false, pc),
                    dnnl.DNNL_ARG_SHIFT, p.param(node.name(), "beta", false, pc),
                    dnnl.DNNL_ARG_MEAN, saved.mean(), dnnl.DNNL_ARG_VARIANCE, saved.variance(),
                    dnnl.DNNL_ARG_DIFF_SRC, out,
                    dnnl.DNNL_ARG_DIFF_SCALE, p.param(node.name(), "gamma", true, pc),
                    dnnl.DNNL_ARG_DIFF_SHIFT, p.param(node.name(), "beta", true, pc));
            if (node.relu()) {
                args.put(dnnl.DNNL_ARG_WORKSPACE, saved.workspace());
            }
            p.add(p.backward, new batch_normalization_backward(pd), pd, args);
            p.convert(p.backward, out, target);
            p.accumulate(node.input(), target);
        }
    }

    /** A ReLU of its own (one whose input has other readers). */
    static final class Relu extends TrainingOp {
        private final Node.Relu node;
        private eltwise_forward.primitive_desc hint;

        Relu(Node.Relu node) {
            this.node = node;
        }

        @Override
        void forward(TrainingPlan p) {
            Value src = p.value(node.input());
            Value dst = p.newValue(node.name(), src.dims());
            hint = new eltwise_forward.primitive_desc(new eltwise_forward.desc(dnnl.prop_kind.forward_training,
                    dnnl.algorithm.eltwise_relu, src.desc(), 0f, 0f), TrainingPlan.attr(), OneDnn.ENGINE);
            p.add(p.forward, new eltwise_forward(hint), hint, OneDnn.args(dnnl.DNNL_ARG_SRC, src.data(),
                    dnnl.DNNL_ARG_DST, dst.data()));
        }

        @Override
        void backward(TrainingPlan p) {
            p.materialize(node.input());
            Value src = p.value(node.input());
            var pd = new eltwise_backward.primitive_desc(new eltwise_backward.desc(dnnl.algorithm.eltwise_relu,
                    src.desc(), src.desc(), 0f, 0f), TrainingPlan.attr(), OneDnn.ENGINE, hint);
            memory target = p.gradientTarget(node.input());
            p.add(p.backward, new eltwise_backward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.data(),
                    dnnl.DNNL_ARG_DIFF_DST, p.value(node.name()).grad(), dnnl.DNNL_ARG_DIFF_SRC, target));
            p.accumulate(node.input(), target);
        }
    }

    /** Max or average pooling over windows, or over all of height and width (global pooling). */
    static final class Pool extends TrainingOp {
        private final Node node;
        private Saved saved;

        /** The forward primitive, max pooling's workspace (or null), and the pooling's shape. */
        private record Saved(pooling_forward.primitive_desc pd, memory workspace, dnnl.algorithm algorithm,
                long[] strides, long[] kernel, long[] padLeft, long[] padRight) {
        }

        Pool(Node node) {
            this.node = node;
        }

        @Override
        void forward(TrainingPlan p) {
            Value src = p.value(node.input());
            long[] d = src.dims();
            if (node instanceof Node.Pool s) {
                ConvGeometry g = ConvGeometry.of(d, new long[] {d[1], d[1], s.kernel()[0], s.kernel()[1]}, s.strides(),
                        s.pad(), s.mode()).fitting(s.name());
                dnnl.algorithm algorithm = s.max() ? dnnl.algorithm.pooling_max
                        : s.includePadding() ? dnnl.algorithm.pooling_avg_include_padding
                        : dnnl.algorithm.pooling_avg_exclude_padding;
                pooling(p, src, algorithm, g.dst(), g.strides(), g.kernel(), g.padLeft(), g.padRight());
            } else {
                boolean max = ((Node.GlobalPool) node).max();
                pooling(p, src, max ? dnnl.algorithm.pooling_max : dnnl.algorithm.pooling_avg_exclude_padding,
                        new long[] {d[0], d[1], 1, 1}, new long[] {1, 1}, new long[] {d[2], d[3]}, new long[] {0, 0},
                        new long[] {0, 0});
            }
        }

        private void pooling(TrainingPlan p, Value src, dnnl.algorithm algorithm, long[] dstDims, long[] strides,
                long[] kernel, long[] padLeft, long[] padRight) {
            Value dst = p.newValue(node.name(), dstDims);
            var pd = new pooling_forward.primitive_desc(new pooling_forward.desc(dnnl.prop_kind.forward_training,
                    algorithm, src.desc(), dst.desc(), strides, kernel, padLeft, padRight), TrainingPlan.attr(),
                    OneDnn.ENGINE);
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, src.data(), dnnl.DNNL_ARG_DST, dst.data());
            memory workspace = null;
            if (algorithm == dnnl.algorithm.pooling_max) {
                workspace = p.owned(pd.workspace_desc());
                args.put(dnnl.DNNL_ARG_WORKSPACE, workspace);
            }
            p.add(p.forward, new pooling_forward(pd), pd, args);
            saved = new Saved(pd, workspace, algorithm, strides, kernel, padLeft, padRight);
        }

        @Override
        void backward(TrainingPlan p) {
            Value src = p.value(node.input());
            Value dst = p.value(node.name());
            var pd = new pooling_backward.primitive_desc(new pooling_backward.desc(saved.algorithm(), src.desc(),
                    dst.desc(), saved.strides(), saved.kernel(), saved.padLeft(), saved.padRight()),
                    TrainingPlan.attr(),
                    OneDnn.ENGINE, saved.pd());
            memory target = p.gradientTarget(node.input());
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_DIFF_DST, dst.grad(), dnnl.DNNL_ARG_DIFF_SRC, target);
            if (saved.workspace() != null) {
                args.put(dnnl.DNNL_ARG_WORKSPACE, saved.workspace());
            }
            p.add(p.backward, new pooling_backward(pd), pd, args);
            p.accumulate(node.input(), target);
        }
    }

    /** Concatenation along the channels: each input copied into its place; backward, each part's gradient out. */
    static final class Concat extends TrainingOp {
        private final Node.Concat node;

        Concat(Node.Concat node) {
            this.node = node;
        }

        @Override
        void forward(TrainingPlan p) {
            long[] dims = p.value(node.input()).dims().clone();
            dims[1] = node.inputs().stream().mapToLong(i -> p.value(i).dims()[1]).sum();
            for (String i : node.inputs()) {
                long[] part = p.value(i).dims();
                if (part[0] != dims[0] || part[2] != dims[2] || part[3] != dims[3]) {
                    throw new IllegalArgumentException("merge '" + node.name() + "': input '" + i + "' of "
                            + java.util.Arrays.toString(part) + " does not match the others ("
                            + java.util.Arrays.toString(dims) + " after merging)");
                }
            }
            Value dst = p.newValue(node.name(), dims);
            // A rebuilt concatenation joins its features directly: the one it extends is not kept.
            copyIn(p, p.forward, p.recomputed(node.name()) ? p.features(node.name()) : node.inputs(), dst);
        }

        @Override
        void recompute(TrainingPlan p) {
            copyIn(p, p.backward, p.features(node.name()), p.value(node.name()));
        }

        /** Steps copying the values {@code parts} side by side along the channels into {@code dst}. */
        private void copyIn(TrainingPlan p, java.util.List<Step> steps, java.util.List<String> parts, Value dst) {
            long offset = 0;
            for (String i : parts) {
                Value part = p.value(i);
                memory view = OneDnn.unbound(dst.desc().submemory_desc(part.dims(), new long[] {0, offset, 0, 0}));
                p.viewOfData(view, dst.data());
                p.step(steps, new reorder(part.data(), view),
                        OneDnn.args(dnnl.DNNL_ARG_FROM, part.data(), dnnl.DNNL_ARG_TO, view),
                        node.name() + ": reorder into the merge");
                offset += part.dims()[1];
            }
        }

        @Override
        void backward(TrainingPlan p) {
            Value whole = p.value(node.name());
            long offset = 0;
            for (String i : node.inputs()) {
                Value part = p.value(i);
                memory view = OneDnn.unbound(whole.desc().submemory_desc(part.dims(), new long[] {0, offset, 0, 0}));
                p.viewOfGradient(node.name(), view); // bound with the merge's gradient buffer
                memory target = p.gradientTarget(i);
                p.step(p.backward, new reorder(view, target),
                        OneDnn.args(dnnl.DNNL_ARG_FROM, view, dnnl.DNNL_ARG_TO, target),
                        node.name() + ": reorder out of the merge's gradient");
                p.accumulate(i, target);
                offset += part.dims()[1];
            }
        }
    }

    /**
     * The elementwise sum of feature maps (a residual connection): forward, oneDNN's binary add (one
     * per input after the first, the later ones adding to the sum in place); backward, the sum's
     * gradient is each input's share of theirs: the very buffer for an input only the sum reads (a
     * block's last batch norm, its shortcut convolution), else copied out and added to what the
     * input's other readers give it. Neither pass reads the inputs' or the sum's data.
     */
    static final class Add extends TrainingOp {
        private final Node.Add node;

        Add(Node.Add node) {
            this.node = node;
        }

        @Override
        void forward(TrainingPlan p) {
            long[] dims = p.value(node.input()).dims();
            for (String i : node.inputs()) {
                if (!java.util.Arrays.equals(p.value(i).dims(), dims)) {
                    throw new IllegalArgumentException("add '" + node.name() + "': input '" + i + "' is "
                            + java.util.Arrays.toString(p.value(i).dims()) + ", expected "
                            + java.util.Arrays.toString(dims));
                }
            }
            Value dst = p.newValue(node.name(), dims);
            memory sum = p.value(node.input()).data();
            for (String term : node.inputs().subList(1, node.inputs().size())) {
                memory t = p.value(term).data();
                var pd = new binary.primitive_desc(new binary.desc(dnnl.algorithm.binary_add, sum.get_desc(),
                        t.get_desc(), dst.desc()), TrainingPlan.attr(), OneDnn.ENGINE);
                p.add(p.forward, new binary(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC_0, sum, dnnl.DNNL_ARG_SRC_1, t,
                        dnnl.DNNL_ARG_DST, dst.data()));
                sum = dst.data();
            }
        }

        @Override
        void backward(TrainingPlan p) {
            memory grad = p.value(node.name()).grad();
            for (String i : node.inputs()) {
                if (p.shareGradient(node.name(), i)) {
                    continue;
                }
                memory target = p.gradientTarget(i);
                p.step(p.backward, new reorder(grad, target),
                        OneDnn.args(dnnl.DNNL_ARG_FROM, grad, dnnl.DNNL_ARG_TO, target),
                        node.name() + ": the sum's gradient to '" + i + "'");
                p.accumulate(i, target);
            }
        }
    }

    /** The softmax output layer's inner product: the logits forward; the weights', bias' and input's gradients back. */
    static final class Output extends TrainingOp {
        private final Node.Dense node;
        private Saved saved;

        /** The forward primitive, the weights in DL4J's layout and as the primitive reads them, and their dims. */
        private record Saved(inner_product_forward.primitive_desc pd, memory.desc user, memory.desc bias,
                memory weights, long[] weightDims) {
        }

        Output(Node.Dense node) {
            this.node = node;
        }

        @Override
        void forward(TrainingPlan p) {
            Value src = p.value(node.input());
            long[] d = src.dims();
            INDArray w = p.graph().getLayer(node.name()).getParam("W"); // [in, out]: oneDNN's [out, in, 1, 1] weights
            if (w.size(0) != d[1]) {
                throw new IllegalArgumentException("layer '" + node.name() + "' expects " + w.size(0)
                        + " features, got " + d[1]);
            }
            long classes = node.out();
            long[] wDims = {classes, d[1], 1, 1};
            memory.desc user = new memory.desc(wDims, memory.data_type.f32,
                    new long[] {w.stride(1), w.stride(0), w.length(), w.length()});
            memory.desc bias = new memory.desc(new long[] {classes}, memory.data_type.f32, memory.format_tag.a);
            memory.desc dstDesc = new memory.desc(new long[] {d[0], classes}, memory.data_type.f32,
                    memory.format_tag.nc);
            var pd = new inner_product_forward.primitive_desc(new inner_product_forward.desc(
                    dnnl.prop_kind.forward_training, src.desc(),
                    new memory.desc(wDims, memory.data_type.f32, memory.format_tag.any), bias, dstDesc),
                    TrainingPlan.attr(), OneDnn.ENGINE);
            memory weights = p.converted(p.forward, p.param(node.name(), "W", false, user), pd.weights_desc());
            memory logits = p.logits(dstDesc);
            p.add(p.forward, new inner_product_forward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.data(),
                    dnnl.DNNL_ARG_WEIGHTS, weights, dnnl.DNNL_ARG_BIAS, p.param(node.name(), "b", false, bias),
                    dnnl.DNNL_ARG_DST, logits));
            saved = new Saved(pd, user, bias, weights, wDims);
        }

        @Override
        void backward(TrainingPlan p) {
            p.materialize(node.input());
            Value src = p.value(node.input());
            memory logitsGrad = p.logitsGrad();
            memory.desc any = new memory.desc(saved.weightDims(), memory.data_type.f32, memory.format_tag.any);
            var weightsPd = new inner_product_backward_weights.primitive_desc(new inner_product_backward_weights.desc(
                    src.desc(), any, saved.bias(), logitsGrad.get_desc()), TrainingPlan.attr(), OneDnn.ENGINE,
                    saved.pd());
            memory userGrad = p.param(node.name(), "W", true, saved.user());
            memory diffWeights = weightsPd.diff_weights_desc().equals(saved.user()) ? userGrad
                    : p.owned(weightsPd.diff_weights_desc());
            p.add(p.backward, new inner_product_backward_weights(weightsPd), weightsPd, OneDnn.args(
                    dnnl.DNNL_ARG_SRC, src.data(), dnnl.DNNL_ARG_DIFF_DST, logitsGrad,
                    dnnl.DNNL_ARG_DIFF_WEIGHTS, diffWeights,
                    dnnl.DNNL_ARG_DIFF_BIAS, p.param(node.name(), "b", true, saved.bias())));
            p.convert(p.backward, diffWeights, userGrad);
            var dataPd = new inner_product_backward_data.primitive_desc(new inner_product_backward_data.desc(
                    src.desc(), any, logitsGrad.get_desc()), TrainingPlan.attr(), OneDnn.ENGINE, saved.pd());
            memory w = p.converted(p.backward, saved.weights(), dataPd.weights_desc());
            memory target = p.gradientTarget(node.input());
            p.add(p.backward, new inner_product_backward_data(dataPd), dataPd, OneDnn.args(
                    dnnl.DNNL_ARG_DIFF_DST, logitsGrad, dnnl.DNNL_ARG_WEIGHTS, w, dnnl.DNNL_ARG_DIFF_SRC, target));
            p.accumulate(node.input(), target);
        }
    }
}
