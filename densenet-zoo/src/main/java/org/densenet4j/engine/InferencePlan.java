package org.densenet4j.engine;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.eltwise_forward;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.inner_product_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.pooling_forward;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.primitive_desc_base;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.Pointer;
import org.densenet4j.engine.InferenceOp.Add;
import org.densenet4j.engine.InferenceOp.Concat;
import org.densenet4j.engine.InferenceOp.Conv;
import org.densenet4j.engine.InferenceOp.Dense;
import org.densenet4j.engine.InferenceOp.GlobalPool;
import org.densenet4j.engine.InferenceOp.Norm;
import org.densenet4j.engine.InferenceOp.Pool;
import org.densenet4j.engine.InferenceOp.Relu;
import org.densenet4j.engine.ir.Graph;
import org.densenet4j.onednn.BufferPlanner;
import org.densenet4j.onednn.ConvGeometry;
import org.densenet4j.onednn.HostArrays;
import org.densenet4j.onednn.OneDnn;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A compiled graph's plan for one input shape: its operations as a fixed list of oneDNN primitives
 * over buffers planned once ({@link BufferPlanner}), run in order on every call.
 */
final class InferencePlan {

    private static final int BN_FLAGS = dnnl.normalization_flags.use_global_stats.value
            | dnnl.normalization_flags.use_scale.value | dnnl.normalization_flags.use_shift.value;

    private final String input;
    private final List<InferenceOp> ops;
    private final List<String> outputs;
    private final memory.format_tag layout;
    /** The feature maps' number format: f32, or bf16 (the input converted first, the arrays out in f32). */
    private final memory.data_type type;
    private final EngineOptions options;
    private final memory inputMemory;
    private final List<Step> steps = new ArrayList<>();
    private final Map<String, Value> values = new HashMap<>();
    /** Values converted to the plan's layout (the input, when a primitive cannot read NCHW). */
    private final Map<String, Value> inLayout = new HashMap<>();
    private final Map<String, Integer> lastRead = new HashMap<>();
    private final BufferPlanner slots = new BufferPlanner();
    private final Map<String, Long> channels;
    /**
     * Concatenations built in place: each value of a chain (a dense block's successive
     * concatenations) is a prefix of one buffer sized for the chain's last, so that extending it
     * copies only the new maps. Value to the chain's last concatenation.
     */
    private final Map<String, String> chainEnd = new HashMap<>();
    /** oneDNN's scratch space, one buffer for every primitive (they run one after another). */
    private final List<memory> scratch = new ArrayList<>();
    private long scratchBytes;
    /** The value the operation being planned makes, for the steps' labels. */
    private String current;
    /** The index of the operation being planned. */
    private int step;

    InferencePlan(Graph ir, List<InferenceOp> ops, memory.format_tag layout, EngineOptions options, long[] shape) {
        this.input = ir.input();
        this.ops = ops;
        this.outputs = ir.outputs();
        this.layout = layout;
        this.options = options;
        this.type = options.precision() == Precision.BF16 ? memory.data_type.bf16 : memory.data_type.f32;
        inputMemory = OneDnn.unbound(new memory.desc(shape, memory.data_type.f32, memory.format_tag.nchw));
        values.put(input, new Value(inputMemory, shape, -1));
        if (type != memory.data_type.f32) {
            // The caller's fp32 input in the plan's number format: in NHWC plans in NHWC (AMX convolutions
            // read only that), else NCHW, which the first convolution of a blocked plan reads, as in fp32.
            current = input;
            memory.format_tag tag = layout == memory.format_tag.nhwc ? layout : memory.format_tag.nchw;
            values.put(input, convertedTo(values.get(input), new memory.desc(shape, type, tag)));
        }
        channels = ir.channels(shape[1]);
        for (int i = 0; i < ops.size(); i++) {
            for (String in : ops.get(i).in()) {
                lastRead.put(in, i);
            }
        }
        findChains();
        for (int i = 0; i < ops.size(); i++) {
            InferenceOp op = ops.get(i);
            current = op.out();
            step = i;
            try {
                add(op);
            } catch (IllegalArgumentException e) {
                throw e;
            } catch (RuntimeException e) { // oneDNN's error
                throw new IllegalArgumentException("layer '" + op.out() + "' cannot run on input shape "
                        + Arrays.toString(shape) + ": " + e.getMessage(), e);
            }
            Value made = values.get(op.out());
            if (outputs.contains(op.out()) && made.dims().length == 4) { // [N, F] values are arrays already
                toArray(op.out(), made, made.dims());
            }
            for (String in : op.in()) {
                if (lastRead.get(in) == i) {
                    release(in);
                }
            }
        }
        slots.allocate();
        memory buffer = new memory(new memory.desc(new long[] {Math.max(scratchBytes, 1)}, memory.data_type.u8,
                memory.format_tag.a), OneDnn.ENGINE);
        scratch.add(buffer);
        for (memory m : scratch) {
            m.set_data_handle(buffer.get_data_handle());
        }
    }

    /**
     * Chains concatenations whose first input is a concatenation no other one extends, in layouts
     * where a prefix of the channels is contiguous per image (blocked or NCHW, not NHWC); a chain's
     * buffer lives until the last read of any of its values.
     */
    private void findChains() {
        if (layout == memory.format_tag.nhwc || !options.inPlaceConcat()) {
            return;
        }
        List<Concat> concats = ops.stream().filter(Concat.class::isInstance).map(Concat.class::cast).toList();
        Map<String, Integer> extensions = new HashMap<>();
        concats.forEach(c -> extensions.merge(c.source(), 1, Integer::sum));
        Set<String> concatValues = new HashSet<>();
        Map<String, String> next = new HashMap<>();
        for (Concat c : concats) {
            String first = c.source();
            if (concatValues.contains(first) && extensions.get(first) == 1
                    && !c.in().subList(1, c.in().size()).contains(first)) {
                next.put(first, c.out());
            }
            concatValues.add(c.out());
        }
        for (int i = concats.size() - 1; i >= 0; i--) { // the last first, so that each end is known
            String c = concats.get(i).out();
            chainEnd.put(c, next.containsKey(c) ? chainEnd.get(next.get(c)) : c);
        }
        Map<String, Integer> chainLastRead = new HashMap<>();
        chainEnd.forEach((c, end) -> chainLastRead.merge(end, lastRead.getOrDefault(c, -1), Math::max));
        chainEnd.forEach((c, end) -> lastRead.put(c, chainLastRead.get(end)));
    }

    /** Frees the plan's buffers, primitives and memories, each once (values share memories). */
    /** What each step does, in order: the value it makes and oneDNN's implementation, or what it copies. */
    List<String> labels() {
        return steps.stream().map(Step::label).toList();
    }

    void release() {
        Set<Pointer> natives = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Step step : steps) {
            natives.add(step.primitive());
            natives.add(step.args());
            if (step instanceof ToArray toArray) {
                natives.addAll(toArray.views());
            }
        }
        slots.addTo(natives);
        natives.addAll(scratch);
        for (Value v : values.values()) {
            natives.add(v.memory());
            natives.addAll(v.images());
        }
        natives.add(inputMemory);
        natives.forEach(Pointer::close);
    }

    INDArray[] run(INDArray x) {
        inputMemory.set_data_handle(HostArrays.pointer(x));
        Map<String, INDArray> arrays = new HashMap<>();
        stream s = OneDnn.STREAM.get();
        for (Step step : steps) {
            step.run(arrays, s);
        }
        s._wait();
        Reference.reachabilityFence(x); // the caller's copy may be dead to the JIT while oneDNN reads it
        return outputs.stream().map(arrays::get).toArray(INDArray[]::new);
    }

    private void add(InferenceOp op) {
        if (op instanceof Conv c) {
            conv(c);
        } else if (op instanceof Norm n) {
            norm(n);
        } else if (op instanceof Relu r) {
            relu(r);
        } else if (op instanceof Pool p) {
            pool(p);
        } else if (op instanceof GlobalPool g) {
            globalPool(g);
        } else if (op instanceof Concat c) {
            concat(c);
        } else if (op instanceof Add a) {
            add(a);
        } else if (op instanceof Dense d) {
            dense(d);
        }
    }

    private void conv(Conv c) {
        Value src = values.get(c.source());
        if (src.dims()[1] != c.shape[1]) {
            throw new IllegalArgumentException("layer '" + c.out + "' expects " + c.shape[1]
                    + " input channels, got " + src.dims()[1]);
        }
        ConvGeometry g = ConvGeometry.of(src.dims(), c.shape, c.strides, c.pad, c.mode).fitting(c.out);
        if (c.summand != null && !Arrays.equals(values.get(c.summand).dims(), g.dst())) {
            throw new IllegalArgumentException("layer '" + c.out + "' makes " + Arrays.toString(g.dst())
                    + ", which cannot be added to '" + c.summand + "' of "
                    + Arrays.toString(values.get(c.summand).dims()));
        }
        memory.desc dstDesc = mapDesc(g.dst());
        convolution_forward.primitive_desc pd = convolution(g, src.desc(), dstDesc, c);
        if (referenceOnly(pd) && !src.desc().equals(mapDesc(src.dims()))) {
            src = inLayout(c.source()); // oneDNN's fast kernels do not read this layout: convert first
            pd = convolution(g, src.desc(), dstDesc, c);
        }
        if (referenceOnly(pd)) {
            // Not in the plan's layout either (a first convolution on one channel into NHWC, say):
            // the layouts oneDNN picks for itself, with conversions around.
            memory.desc any = new memory.desc(src.dims(), type, memory.format_tag.any);
            var own = convolution(g, any, new memory.desc(g.dst(), type, memory.format_tag.any), c);
            if (!referenceOnly(own)) {
                convolution(c, own, convertedTo(values.get(c.source()), own.src_desc()), g.dst());
                return;
            }
        }
        convolution(c, pd, src, g.dst());
    }

    /**
     * The convolution step reading {@code src}; its output converted to the plan's layout if it is
     * not in it. A summand is added by the primitive to what its output buffer holds: the summand's
     * own buffer, taken over, where this is its last reader and the primitive writes the plan's
     * layout; else a copy of it made first.
     */
    private void convolution(Conv c, convolution_forward.primitive_desc pd, Value src, long[] dims) {
        boolean inPlace = c.summand != null && pd.dst_desc().equals(mapDesc(dims)) && canTakeOver(c.summand, dims);
        Value dst = inPlace ? takeOver(c.summand, c.out) : produce(c.out, dims);
        Value out = pd.dst_desc().equals(dst.desc()) ? dst : temporary(pd.dst_desc(), dims);
        if (c.summand != null && !inPlace) {
            copy(inLayout(c.summand).memory(), out.memory());
        }
        IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, src.memory(), dnnl.DNNL_ARG_DST, out.memory());
        c.weights.addTo(args, pd.weights_desc());
        then(new convolution_forward(pd), pd, args);
        if (src != values.get(c.source()) && src != inLayout.get(c.source())) {
            slots.release(src.slot());
        }
        if (out != dst) {
            copy(out.memory(), dst.memory());
            slots.release(out.slot());
        }
    }

    /**
     * Whether the convolution now planned may write into {@code summand}'s buffer: a dense map of
     * {@code dims} in the plan's layout with a buffer of its own, read by nothing after it, not an output.
     */
    private boolean canTakeOver(String summand, long[] dims) {
        Value v = values.get(summand);
        return v.slot() >= 0 && v.images().isEmpty() && v.desc().equals(mapDesc(dims)) && !outputs.contains(summand)
                && !chainEnd.containsKey(summand) && lastRead.get(summand) == step;
    }

    /** {@code summand}'s buffer as value {@code name}'s; the summand no longer owns it (its release frees nothing). */
    private Value takeOver(String summand, String name) {
        Value v = values.get(summand);
        values.put(summand, new Value(v.memory(), v.dims(), -1));
        Value dst = new Value(v.memory(), v.dims(), v.slot());
        values.put(name, dst);
        return dst;
    }

    private convolution_forward.primitive_desc convolution(ConvGeometry g, memory.desc src, memory.desc dst,
            Conv c) {
        primitive_attr attr = attr(false);
        post_ops ops = new post_ops();
        if (c.summand != null) {
            ops.append_sum(); // scale 1: dst = conv(src) + dst
        }
        if (c.relu) {
            ops.append_eltwise(1f, dnnl.algorithm.eltwise_relu, 0f, 0f);
        }
        attr.set_post_ops(ops);
        return new convolution_forward.primitive_desc(new convolution_forward.desc(dnnl.prop_kind.forward_inference,
                dnnl.algorithm.convolution_direct, src,
                new memory.desc(g.weights(), type, memory.format_tag.any),
                c.weights.bias != null ? g.bias() : new memory.desc(), dst, g.strides(), g.padLeft(),
                g.padRight()), attr, OneDnn.ENGINE);
    }

    /** {@code v} itself when it is in layout {@code desc}, else a temporary converted copy. */
    private Value convertedTo(Value v, memory.desc desc) {
        if (v.desc().equals(desc)) {
            return v;
        }
        Value copy = temporary(desc, v.dims());
        copy(v.memory(), copy.memory());
        return copy;
    }

    /** A map in layout {@code desc} in a free buffer, for the caller to release once read. */
    private Value temporary(memory.desc desc, long[] dims) {
        int slot = slots.take(desc.get_size());
        return new Value(slots.over(slot, desc), dims, slot);
    }

    private void norm(Norm n) {
        if (type == memory.data_type.bf16 && layout == memory.format_tag.nhwc && affine(n)) {
            return;
        }
        if (!values.get(n.source()).images().isEmpty()) {
            normPerImage(n, values.get(n.source()));
            return;
        }
        Value src = inLayout(n.source());
        var pd = normalization(n, src.desc());
        Value dst = produce(n.out, src.dims());
        memory[] p = n.parameters();
        then(new batch_normalization_forward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.memory(),
                dnnl.DNNL_ARG_DST, dst.memory(), dnnl.DNNL_ARG_MEAN, p[0], dnnl.DNNL_ARG_VARIANCE, p[1],
                dnnl.DNNL_ARG_SCALE, p[2], dnnl.DNNL_ARG_SHIFT, p[3]));
    }

    /**
     * Batch norm as oneDNN's binary primitive, {@code x * scale + shift} per channel with the add and
     * the ReLU as post-ops: the same arithmetic in one pass over memory. In NHWC bf16 plans, where
     * oneDNN 2.5's batch norm took 2.4x as long (DenseNet-121's [8, 256, 56, 56]: 2.7 against 1.15 ms
     * on one core). The map is read as what its bytes are, [N*H*W, C] rows: as [N, C, H, W] in NHWC
     * oneDNN vectorises some shapes only ([100, 24, 28, 28] not, [100, 24, 14, 14] yes). False,
     * planning nothing, where the map is not a dense buffer of its own or oneDNN has only its
     * reference code for it.
     */
    private boolean affine(Norm n) {
        Value src = inLayout(n.source());
        long[] d = src.dims();
        if (src.slot() < 0 || !src.desc().equals(mapDesc(d))) {
            return false;
        }
        memory.desc rows = new memory.desc(new long[] {d[0] * d[2] * d[3], d[1]}, type, memory.format_tag.ab);
        memory[] a = n.affine();
        post_ops ops = new post_ops();
        ops.append_binary(dnnl.algorithm.binary_add, a[1].get_desc());
        if (n.relu) {
            ops.append_eltwise(1f, dnnl.algorithm.eltwise_relu, 0f, 0f);
        }
        primitive_attr attr = attr();
        attr.set_post_ops(ops);
        var pd = new binary.primitive_desc(new binary.desc(dnnl.algorithm.binary_mul, rows, a[0].get_desc(), rows),
                attr, OneDnn.ENGINE);
        if (referenceOnly(pd)) {
            return false;
        }
        Value dst = produce(n.out, d);
        IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC_0, slots.over(src.slot(), rows), dnnl.DNNL_ARG_SRC_1, a[0],
                dnnl.DNNL_ARG_DST, slots.over(dst.slot(), rows),
                dnnl.DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE | dnnl.DNNL_ARG_SRC_1, a[1]);
        scratch(pd, args);
        steps.add(new Primitive(new binary(pd), args, label(pd) + " (batch norm as a binary multiply-add)"));
        return true;
    }

    /** Batch norm of a view into a larger buffer, image by image (oneDNN's fast kernels read dense maps only). */
    private void normPerImage(Norm n, Value src) {
        long[] d = src.dims();
        memory.desc image = mapDesc(new long[] {1, d[1], d[2], d[3]});
        var pd = normalization(n, image);
        primitive norm = new batch_normalization_forward(pd);
        Value dst = produce(n.out, d);
        memory[] p = n.parameters();
        for (int i = 0; i < d[0]; i++) {
            memory out = slots.over(dst.slot(), image, i * image.get_size());
            then(norm, pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.images().get(i), dnnl.DNNL_ARG_DST, out,
                    dnnl.DNNL_ARG_MEAN, p[0], dnnl.DNNL_ARG_VARIANCE, p[1], dnnl.DNNL_ARG_SCALE, p[2],
                    dnnl.DNNL_ARG_SHIFT, p[3]));
        }
    }

    private batch_normalization_forward.primitive_desc normalization(Norm n, memory.desc src) {
        int flags = BN_FLAGS | (n.relu ? dnnl.normalization_flags.fuse_norm_relu.value : 0);
        return new batch_normalization_forward.primitive_desc(new batch_normalization_forward.desc(
                dnnl.prop_kind.forward_inference.value, src, n.eps, flags), attr(), OneDnn.ENGINE);
    }

    private void relu(Relu r) {
        Value src = inLayout(r.source());
        var pd = new eltwise_forward.primitive_desc(new eltwise_forward.desc(dnnl.prop_kind.forward_inference,
                dnnl.algorithm.eltwise_relu, src.desc(), 0f, 0f), attr(), OneDnn.ENGINE);
        Value dst = produce(r.out(), src.dims());
        then(new eltwise_forward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.memory(),
                dnnl.DNNL_ARG_DST, dst.memory()));
    }

    private void pool(Pool p) {
        Value src = inLayout(p.source());
        long[] d = src.dims();
        ConvGeometry g = ConvGeometry.of(d, new long[] {d[1], d[1], p.kernel[0], p.kernel[1]},
                p.strides, p.pad, p.mode).fitting(p.out());
        dnnl.algorithm algorithm = p.max ? dnnl.algorithm.pooling_max
                : p.includePadding ? dnnl.algorithm.pooling_avg_include_padding
                : dnnl.algorithm.pooling_avg_exclude_padding;
        pooling(p.out(), src, algorithm, g.dst(), g.strides(), g.kernel(), g.padLeft(), g.padRight());
    }

    private void globalPool(GlobalPool p) {
        Value src = inLayout(p.source());
        long[] d = src.dims();
        long[] pooled = {d[0], d[1], 1, 1};
        Value dst = pooling(p.out() + "#maps", src, p.max ? dnnl.algorithm.pooling_max
                : dnnl.algorithm.pooling_avg_exclude_padding, pooled, new long[] {1, 1},
                new long[] {d[2], d[3]}, new long[] {0, 0}, new long[] {0, 0});
        toArray(p.out(), dst, new long[] {d[0], d[1]});
        slots.release(dst.slot());
    }

    /**
     * The inner product into a new [N, out] array, which later steps read as a flat value: in fp32
     * whatever the plan's number format, since it reads [N, F] arrays (pooled features) and its cost
     * is small beside the convolutions'.
     */
    private void dense(Dense d) {
        Value src = values.get(d.source());
        if (src.dims()[1] != d.inputs) {
            throw new IllegalArgumentException("layer '" + d.out() + "' expects " + d.inputs
                    + " features, got " + src.dims()[1]);
        }
        long[] shape = {src.dims()[0], d.outputs};
        memory.desc dstDesc = new memory.desc(shape, memory.data_type.f32, memory.format_tag.nc);
        var pd = new inner_product_forward.primitive_desc(new inner_product_forward.desc(
                dnnl.prop_kind.forward_inference, src.desc(),
                new memory.desc(new long[] {d.outputs, d.inputs}, memory.data_type.f32, memory.format_tag.any),
                d.weights.bias != null ? new memory.desc(new long[] {d.outputs}, memory.data_type.f32,
                        memory.format_tag.a) : new memory.desc(), dstDesc), attr(d.relu()), OneDnn.ENGINE);
        memory dst = OneDnn.unbound(dstDesc);
        IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, src.memory(), dnnl.DNNL_ARG_DST, dst);
        d.weights.addTo(args, pd.weights_desc());
        scratch(pd, args);
        steps.add(new ToArray(d.out(), shape, new inner_product_forward(pd), args, List.of(dst),
                d.relu() || d.identity() ? null : d.activation, label(pd)));
        values.put(d.out(), new Value(dst, shape, -1));
    }

    private Value pooling(String out, Value src, dnnl.algorithm algorithm, long[] dstDims, long[] strides,
            long[] kernel, long[] padLeft, long[] padRight) {
        var pd = new pooling_forward.primitive_desc(new pooling_forward.desc(dnnl.prop_kind.forward_inference,
                algorithm, src.desc(), mapDesc(dstDims), strides, kernel, padLeft, padRight), attr(),
                OneDnn.ENGINE);
        Value dst = produce(out, dstDims);
        then(new pooling_forward(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC, src.memory(),
                dnnl.DNNL_ARG_DST, dst.memory()));
        return dst;
    }

    /**
     * Concatenation along the channels: each input copied into its place in the output; in a chain,
     * into the chain's buffer after the concatenation it extends, which is already there.
     */
    private void concat(Concat c) {
        long[] first = values.get(c.in().get(0)).dims();
        long total = 0;
        for (String name : c.in()) {
            long[] d = values.get(name).dims();
            if (d[0] != first[0] || d[2] != first[2] || d[3] != first[3]) {
                throw new IllegalArgumentException("merge '" + c.out() + "': input '" + name + "' is "
                        + Arrays.toString(d) + ", expected the size of " + Arrays.toString(first));
            }
            total += d[1];
        }
        long[] dims = {first[0], total, first[2], first[3]};
        String end = chainEnd.getOrDefault(c.out(), c.out()); // itself when not in a chain
        boolean extension = chainEnd.containsKey(c.in().get(0)) && chainEnd.get(c.in().get(0)).equals(end);
        memory.desc buffer = mapDesc(new long[] {dims[0], channels.get(end), dims[2], dims[3]});
        int slot = extension ? values.get(c.in().get(0)).slot() : slots.take(buffer.get_size());
        long offset = extension ? first[1] : 0;
        for (String name : extension ? c.in().subList(1, c.in().size()) : c.in()) {
            Value v = inLayout(name);
            memory part = slots.over(slot, buffer.submemory_desc(v.dims(), new long[] {0, offset, 0, 0}));
            copy(v.memory(), part);
            offset += v.dims()[1];
        }
        values.put(c.out(), prefix(slot, buffer, dims));
    }

    /**
     * The elementwise sum into a new map: oneDNN's binary add of the first two inputs, then each
     * further input added to the sum in place; a fused ReLU is the last add's post-op.
     */
    private void add(Add a) {
        long[] dims = values.get(a.source()).dims();
        for (String name : a.in()) {
            if (!Arrays.equals(values.get(name).dims(), dims)) {
                throw new IllegalArgumentException("add '" + a.out() + "': input '" + name + "' is "
                        + Arrays.toString(values.get(name).dims()) + ", expected " + Arrays.toString(dims));
            }
        }
        Value dst = produce(a.out(), dims);
        memory sum = inLayout(a.source()).memory();
        for (int k = 1; k < a.in().size(); k++) {
            memory term = inLayout(a.in().get(k)).memory();
            var pd = new binary.primitive_desc(new binary.desc(dnnl.algorithm.binary_add, sum.get_desc(),
                    term.get_desc(), dst.desc()), attr(a.relu && k == a.in().size() - 1), OneDnn.ENGINE);
            then(new binary(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC_0, sum, dnnl.DNNL_ARG_SRC_1, term,
                    dnnl.DNNL_ARG_DST, dst.memory()));
            sum = dst.memory();
        }
    }

    /**
     * The first {@code dims[1]} channels of {@code buffer} (in slot {@code slot}) as a value: a dense
     * map for one image, else a view with each image's part as a dense map of its own.
     */
    private Value prefix(int slot, memory.desc buffer, long[] dims) {
        if (dims[1] == buffer.dims().get(1) || dims[0] == 1) {
            return new Value(slots.over(slot, mapDesc(dims)), dims, slot);
        }
        long[] image = {1, dims[1], dims[2], dims[3]};
        long imageBytes = buffer.get_size() / dims[0];
        List<memory> images = new ArrayList<>();
        for (int i = 0; i < dims[0]; i++) {
            images.add(slots.over(slot, mapDesc(image), i * imageBytes));
        }
        return new Value(slots.over(slot, buffer.submemory_desc(dims, new long[4])), dims, slot, images);
    }

    /** A feature map's dims in the plan's layout. */
    private memory.desc mapDesc(long[] dims) {
        return new memory.desc(dims, type, layout);
    }

    /** Value {@code name} in the plan's layout: itself, or a converted copy made once. */
    private Value inLayout(String name) {
        Value v = values.get(name);
        memory.desc wanted = mapDesc(v.dims());
        if (v.desc().equals(wanted)) {
            return v;
        }
        return inLayout.computeIfAbsent(name, n -> convertedTo(v, wanted));
    }

    /** A new feature map {@code name} in the plan's layout, in a free buffer. */
    private Value produce(String name, long[] dims) {
        Value v = temporary(mapDesc(dims), dims);
        values.put(name, v);
        return v;
    }

    private void release(String name) {
        Value v = values.get(name);
        if (v != null && v.slot() >= 0) {
            slots.release(v.slot());
        }
        Value converted = inLayout.get(name);
        if (converted != null && converted.slot() >= 0) {
            slots.release(converted.slot());
        }
    }

    /**
     * Copies feature map {@code v} out into a new NCHW array of {@code shape} on each call; a
     * pooled [N, C, 1, 1] map becomes value {@code name}, [N, C] features later steps read.
     */
    private void toArray(String name, Value v, long[] shape) {
        memory to = OneDnn.unbound(new memory.desc(v.dims(), memory.data_type.f32, memory.format_tag.nchw));
        List<memory> views = new ArrayList<>(List.of(to));
        if (shape.length == 2) {
            memory flatView = OneDnn.unbound(new memory.desc(shape, memory.data_type.f32, memory.format_tag.nc));
            views.add(flatView);
            values.put(name, new Value(flatView, shape, -1));
        }
        steps.add(new ToArray(name, shape, new reorder(v.memory(), to),
                OneDnn.args(dnnl.DNNL_ARG_FROM, v.memory(), dnnl.DNNL_ARG_TO, to), views, null,
                name + ": out to an array, " + types(v.desc(), to.get_desc())));
    }

    /** Attributes every primitive gets: scratch space from the plan's shared buffer. */
    private primitive_attr attr() {
        return attr(false);
    }

    /** The attributes, with a ReLU after the primitive's own work when {@code relu}. */
    private primitive_attr attr(boolean relu) {
        primitive_attr attr = new primitive_attr();
        attr.set_scratchpad_mode(dnnl.scratchpad_mode.user);
        if (relu) {
            post_ops ops = new post_ops();
            ops.append_eltwise(1f, dnnl.algorithm.eltwise_relu, 0f, 0f);
            attr.set_post_ops(ops);
        }
        return attr;
    }

    /** Adds {@code p} as the next step, with the plan's scratch buffer. */
    private void then(primitive p, primitive_desc_base pd, IntMemoryMap args) {
        scratch(pd, args);
        steps.add(new Primitive(p, args, label(pd)));
    }

    /** Adds a conversion (or copy) of {@code from} into {@code to} as the next step. */
    private void copy(memory from, memory to) {
        steps.add(new Primitive(new reorder(from, to),
                OneDnn.args(dnnl.DNNL_ARG_FROM, from, dnnl.DNNL_ARG_TO, to),
                current + ": reorder, " + types(from.get_desc(), to.get_desc())));
    }

    /**
     * The step's value, oneDNN's implementation and the number format it writes:
     * {@code conv1: jit:avx512_core, f32}.
     */
    private String label(primitive_desc_base pd) {
        return current + ": " + pd.impl_info_str().getString() + ", " + name(pd.dst_desc());
    }

    /** {@code f32}, or {@code bf16 -> f32} for a conversion between number formats. */
    private static String types(memory.desc from, memory.desc to) {
        String a = name(from);
        String b = name(to);
        return a.equals(b) ? a : a + " -> " + b;
    }

    /** The number format of {@code desc}'s data (read from the C struct: the C++ accessor gives null here). */
    private static String name(memory.desc desc) {
        int value = desc.data().data_type();
        for (memory.data_type t : memory.data_type.values()) {
            if (t.value == value) {
                return t.name();
            }
        }
        return "data type " + value;
    }

    /** The plan's scratch buffer as {@code pd}'s scratch-space argument. */
    private void scratch(primitive_desc_base pd, IntMemoryMap args) {
        memory.desc scratchDesc = pd.scratchpad_desc();
        scratchBytes = Math.max(scratchBytes, scratchDesc.get_size());
        memory m = OneDnn.unbound(scratchDesc);
        scratch.add(m);
        args.put(dnnl.DNNL_ARG_SCRATCHPAD, m);
    }

    private static boolean referenceOnly(primitive_desc_base pd) {
        return pd.impl_info_str().getString().startsWith("ref");
    }

    /** One step of a plan, run in order. */
    interface Step {
        void run(Map<String, INDArray> arrays, stream s);

        /** What the step does: the value it works on, oneDNN's primitive and its implementation. */
        String label();

        primitive primitive();

        IntMemoryMap args();
    }

    record Primitive(primitive primitive, IntMemoryMap args, String label) implements Step {
        @Override
        public void run(Map<String, INDArray> arrays, stream s) {
            primitive.execute(s, args);
        }
    }

    /**
     * A primitive that writes a new array of the caller's (an output, or [N, F] features): the array
     * is made on each call and {@code views} (memories of its data, as the primitive and later readers
     * see it) bound to it; DL4J's activation function is then applied in place, unless null.
     */
    record ToArray(String name, long[] shape, primitive primitive, IntMemoryMap args, List<memory> views,
            IActivation activation, String label) implements Step {
        @Override
        public void run(Map<String, INDArray> arrays, stream s) {
            INDArray out = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
            for (memory view : views) {
                view.set_data_handle(HostArrays.pointer(out));
            }
            primitive.execute(s, args);
            if (activation != null) {
                s._wait();
                INDArray activated = activation.getActivation(out, false);
                if (activated != out) {
                    out.assign(activated);
                }
            }
            arrays.put(name, out);
        }
    }

    /**
     * A feature map in a plan: its layout and dimensions, in memory bound to a buffer slot. A map that
     * is a prefix of a larger buffer (a concatenation extended in place, batch above 1) also has
     * {@code images}: each image's part as a dense map of one image, for primitives that read only
     * dense memory.
     */
    record Value(memory memory, long[] dims, int slot, List<memory> images) {
        Value(memory memory, long[] dims, int slot) {
            this(memory, dims, slot, List.of());
        }

        memory.desc desc() {
            return memory.get_desc();
        }
    }
}
