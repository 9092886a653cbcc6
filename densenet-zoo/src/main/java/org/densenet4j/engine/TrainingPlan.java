package org.densenet4j.engine;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.primitive_desc_base;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.ir.Graph;
import org.densenet4j.engine.ir.Node;
import org.densenet4j.onednn.BufferPlanner;
import org.densenet4j.onednn.HostArrays;
import org.densenet4j.onednn.OneDnn;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A compiled trainer's plan for one input shape: every value's buffer and its gradient's, the
 * forward and the backward pass as fixed lists of oneDNN primitives (planned by the
 * {@link TrainingOp}s), and the loss between them. Planning allocates nothing: {@link #bytes()}
 * says what {@link #allocate()} will.
 */
final class TrainingPlan {

    final List<String> labels = new ArrayList<>();
    private final ComputationGraph graph;
    private final String input;
    private final long classes;
    /** LossMCXENT's clipping of the probabilities in the logarithm. */
    private final double clip;
    /** The softmax probabilities of the last batch. */
    private float[] probabilities;
    private final memory.format_tag layout;
    private final Map<String, Value> values = new HashMap<>();
    /** The forward and the backward pass's steps, in the order they run. */
    final List<Step> forward = new ArrayList<>();
    final List<Step> backward = new ArrayList<>();
    private final List<Bound> bound = new ArrayList<>();
    /**
     * Every buffer of the plan: kept values' (taken for the whole step), the shared ones' (one per
     * role, grown to its largest use), the gradients' (given back once read, for later gradients
     * to reuse) and the scratch space.
     */
    private final BufferPlanner buffers = new BufferPlanner();
    private final Set<Integer> keptSlots = new HashSet<>();
    private final Set<Integer> gradientSlots = new HashSet<>();
    private final Set<Integer> transientSlots = new HashSet<>();
    private final Set<Integer> recomputedSlots = new HashSet<>();
    private final int scratchSlot = buffers.reserve(1);
    /** Views into a memory of the plan (a merge's parts), bound to it once it is. */
    private final List<Map.Entry<memory, memory>> pendingViews = new ArrayList<>();
    /** Values whose gradient has been written by a backward step already (later ones add to it). */
    private final Set<String> written = new HashSet<>();

    /**
     * Short-lived buffers shared by all steps, by role: a batch norm's or convolution's output in
     * its own layout before conversion, an output gradient converted for one, its input gradient
     * before conversion, a gradient share before it is added.
     */
    static final int OUT = 0;
    static final int DIFF_DST = 1;
    static final int DIFF_SRC = 2;
    static final int SHARE = 3;
    /** The shared buffers of the values a memory-efficient step recomputes ({@link Recomputation}), by kind. */
    private static final int RECOMPUTED = 4;
    /** Each role's slot in {@link #buffers}, or -1 before its first use. */
    private final int[] roleSlots = java.util.stream.IntStream.range(0, RECOMPUTED + Recomputation.BUFFERS)
            .map(i -> -1).toArray();
    private final Recomputation recomputation;
    /** The op making each value, which recomputes it when it is not kept. */
    private final Map<String, TrainingOp> producers = new HashMap<>();
    /** Per kind of recomputed value, the one its shared buffer holds at this point of the plan. */
    private final String[] held = new String[Recomputation.BUFFERS];
    /** Each value's gradient slot, given back once its producer's backward step has read it. */
    private final Map<String, Integer> gradBufferOf = new HashMap<>();
    /** Per gradient slot, the values whose gradient it still is ({@link #shareGradient}: more than one). */
    private final Map<Integer, Integer> gradHolders = new HashMap<>();
    /** How many nodes read each value (the graph's output counting as one more). */
    private final Map<String, Integer> readers;
    /** Views into values' gradients (a merge's parts), bound with them. */
    private final List<Map.Entry<String, memory>> gradViews = new ArrayList<>();
    private final List<Runnable> afterBackward = new ArrayList<>();
    private memory inputMemory;
    private memory logits;
    private memory logitsGrad;

    TrainingPlan(ComputationGraph graph, Graph ir, EngineOptions options, long[] inputShape) {
        this.graph = graph;
        this.input = ir.input();
        this.layout = Layouts.choose(ir, inputShape[1], options);
        memory.desc plain = new memory.desc(inputShape, memory.data_type.f32, memory.format_tag.nchw);
        inputMemory = OneDnn.unbound(plain);
        // The input's gradient is computed only where a layer other than a convolution reads it.
        values.put(input, new Value(plain, inputShape, inputMemory, OneDnn.unbound(plain)));
        Node.Dense output = (Node.Dense) ir.nodes().get(ir.nodes().size() - 1);
        this.classes = output.out();
        this.clip = output.loss().clip();
        this.recomputation = options.memoryEfficient() ? Recomputation.of(ir) : Recomputation.none();
        this.readers = ir.readers();
        List<TrainingOp> ops = ir.nodes().stream().map(TrainingOp::of).toList();
        for (int i = 0; i < ops.size(); i++) {
            producers.put(ir.nodes().get(i).name(), ops.get(i));
            labels.add("-- " + ir.nodes().get(i).name());
            ops.get(i).forward(this);
        }
        for (int i = ops.size() - 1; i >= 0; i--) {
            ops.get(i).backward(this);
            Integer done = gradBufferOf.get(ir.nodes().get(i).name()); // read by its producer: free again
            if (done != null && gradHolders.merge(done, -1, Integer::sum) == 0) {
                buffers.release(done);
            }
        }
    }

    /** What {@link #allocate} allocates. */
    long bytes() {
        return buffers.bytes();
    }

    /** {@link #bytes()} by what the bytes hold. */
    MemoryPlan memoryPlan() {
        return new MemoryPlan(capacity(keptSlots), capacity(gradientSlots), capacity(transientSlots),
                capacity(recomputedSlots), buffers.capacity(scratchSlot));
    }

    private long capacity(Set<Integer> slots) {
        return slots.stream().mapToLong(buffers::capacity).sum();
    }

    /**
     * Allocates the plan's buffers and binds its memories to them, after checking that they fit in
     * what JavaCPP may still allocate: a batch too large fails here, in one line, not in the middle
     * of a step with an OutOfMemoryError.
     */
    TrainingPlan allocate() {
        long[] shape = values.get(input).dims();
        NativeMemory.check(bytes(), "training a batch of " + java.util.Arrays.toString(shape)
                + " with the compiled trainer", "train a smaller batch");
        gradBufferOf.forEach((v, slot) -> buffers.place(slot, values.get(v).grad(), 0));
        gradViews.forEach(e -> buffers.place(gradBufferOf.get(e.getKey()), e.getValue(), 0));
        buffers.allocate();
        pendingViews.forEach(e -> e.getKey().set_data_handle(e.getValue().get_data_handle()));
        return this;
    }

    /** The value named {@code name}, planned already. */
    Value value(String name) {
        return values.get(name);
    }

    /** The graph's input. */
    String input() {
        return input;
    }

    /** The graph trained, whose parameter and gradient arrays the plan's memories are bound to. */
    ComputationGraph graph() {
        return graph;
    }

    /** The logits' memory, of {@code desc}, with their gradient's beside it (for the output layer). */
    memory logits(memory.desc desc) {
        logits = owned(desc);
        logitsGrad = owned(desc);
        return logits;
    }

    memory logitsGrad() {
        return logitsGrad;
    }

    /** The softmax probabilities of the last batch run, [N * classes]. */
    float[] probabilities() {
        return probabilities;
    }

    /** Runs {@code r} after each backward pass. */
    void afterBackward(Runnable r) {
        afterBackward.add(r);
    }

    /** {@code view} (part of {@code of}), bound when {@code of} is. */
    void viewOfData(memory view, memory of) {
        pendingViews.add(Map.entry(view, of));
    }

    /** {@code view} (part of value {@code value}'s gradient), bound with that gradient's buffer. */
    void viewOfGradient(String value, memory view) {
        gradViews.add(Map.entry(value, view));
    }

    /** A step of {@code p} with {@code args}, labelled {@code label}, added to {@code steps}. */
    void step(List<Step> steps, primitive p, IntMemoryMap args, String label) {
        steps.add(new Step(p, args));
        labels.add(label);
    }

    /** A new value of {@code dims} in the plan's layout, with buffers for it and its gradient. */
    Value newValue(String name, long[] dims) {
        memory.desc desc = new memory.desc(dims, memory.data_type.f32, layout);
        Integer kind = recomputation.kind.get(name);
        memory data = kind == null ? owned(desc) : transientMemory(RECOMPUTED + Recomputation.buffer(kind), desc);
        if (kind != null) {
            held[Recomputation.buffer(kind)] = name;
        }
        Value v = new Value(desc, dims, data, OneDnn.unbound(desc));
        values.put(name, v);
        return v;
    }

    /** Whether {@code value} is not kept from the forward pass but rebuilt when the backward pass needs it. */
    boolean recomputed(String value) {
        return recomputation.kind.containsKey(value);
    }

    /** A rebuilt concatenation's features (kept values), in channel order. */
    List<String> features(String concat) {
        return recomputation.features.get(concat);
    }

    /**
     * Makes {@code value}'s data valid at this point of the backward pass: nothing for a kept value;
     * for a recomputed one, the steps that rebuild it into its shared buffer, unless it is there.
     */
    void materialize(String value) {
        Integer kind = recomputation.kind.get(value);
        if (kind == null || value.equals(held[Recomputation.buffer(kind)])) {
            return;
        }
        if (kind == Recomputation.UNREAD) {
            throw new IllegalStateException("'" + value + "' was planned as read by no backward step");
        }
        producers.get(value).recompute(this);
        held[Recomputation.buffer(kind)] = value;
    }

    /** A memory of {@code desc} with a buffer of its own, allocated with the plan's. */
    memory owned(memory.desc desc) {
        int slot = buffers.reserve(Math.max(desc.get_size(), 1));
        keptSlots.add(slot);
        return buffers.over(slot, desc);
    }

    /** A memory of {@code desc} in the shared buffer of {@code role}, valid until the next step of that role. */
    memory transientMemory(int role, memory.desc desc) {
        long bytes = Math.max(desc.get_size(), 1);
        if (roleSlots[role] < 0) {
            roleSlots[role] = buffers.reserve(bytes);
            (role >= RECOMPUTED ? recomputedSlots : transientSlots).add(roleSlots[role]);
        }
        buffers.grow(roleSlots[role], bytes);
        return buffers.over(roleSlots[role], desc);
    }

    /**
     * Gives {@code value}'s gradient a buffer (the smallest free one that fits, else one grown or new) when it is first
     * written.
     */
    private void gradBuffer(String value) {
        int slot = buffers.take(Math.max(values.get(value).desc().get_size(), 1));
        gradientSlots.add(slot);
        gradBufferOf.put(value, slot);
        gradHolders.put(slot, 1);
    }

    /** A memory over one parameter (or its gradient) of a layer, bound to the graph's arrays on every step. */
    memory param(String layer, String key, boolean gradient, memory.desc desc) {
        memory m = OneDnn.unbound(desc);
        bound.add(new Bound(m, () -> gradient ? gradientOf(layer, key)
                : HostArrays.pointer(graph.getLayer(layer).getParam(key))));
        return m;
    }

    /**
     * Where a parameter's gradient lies in the graph's gradient array: at the parameter's own offset
     * in the parameter array (DL4J lays both out alike, layer by layer and parameter by parameter).
     */
    private Pointer gradientOf(String layer, String key) {
        return HostArrays.at(HostArrays.address(graph.getFlattenedGradients()) + offsetBytes(graph, layer, key));
    }

    /**
     * Where a backward step writes its share of {@code value}'s gradient: the gradient itself when it
     * is the first share, else a temporary that {@link #accumulate} then adds to it.
     */
    memory gradientTarget(String value) {
        Value v = values.get(value);
        if (!written.contains(value)) {
            gradBuffer(value);
            return v.grad();
        }
        return transientMemory(SHARE, v.desc());
    }

    /**
     * Makes {@code from}'s gradient {@code to}'s whole gradient without a copy, where nothing else
     * writes {@code to}'s (a sum's term read by the sum alone): {@code to}'s gradient is bound to
     * {@code from}'s buffer, which stays taken until every value sharing it has been read.
     *
     * @return false, planning nothing, when {@code to} has other readers, a gradient already, or
     *         another layout (the graph's input)
     */
    boolean shareGradient(String from, String to) {
        Value v = values.get(to);
        if (written.contains(to) || readers.getOrDefault(to, 0) != 1 || to.equals(input)
                || !v.desc().equals(values.get(from).desc())) {
            return false;
        }
        int slot = gradBufferOf.get(from);
        gradBufferOf.put(to, slot);
        gradHolders.merge(slot, 1, Integer::sum);
        written.add(to);
        return true;
    }

    void accumulate(String value, memory target) {
        Value v = values.get(value);
        if (written.add(value)) {
            return;
        }
        var pd = new binary.primitive_desc(new binary.desc(dnnl.algorithm.binary_add, v.desc(), v.desc(),
                v.desc()), attr(), OneDnn.ENGINE);
        add(backward, new binary(pd), pd, OneDnn.args(dnnl.DNNL_ARG_SRC_0, v.grad(),
                dnnl.DNNL_ARG_SRC_1, target, dnnl.DNNL_ARG_DST, v.grad()));
    }

    // ---- shared

    /** {@code m}, or a copy of it in layout {@code wanted} made by a step added to {@code steps}. */
    memory converted(List<Step> steps, memory m, memory.desc wanted) {
        if (m.get_desc().equals(wanted)) {
            return m;
        }
        memory copy = owned(wanted);
        convert(steps, m, copy);
        return copy;
    }

    /** An output gradient as a backward step wants it: itself, or a short-lived converted copy. */
    memory convertedTransient(memory grad, memory.desc wanted) {
        if (grad.get_desc().equals(wanted)) {
            return grad;
        }
        memory copy = transientMemory(DIFF_DST, wanted);
        convert(backward, grad, copy);
        return copy;
    }

    /** A step converting {@code from} into {@code to}, unless they are the same memory. */
    void convert(List<Step> steps, memory from, memory to) {
        if (from != to) {
            steps.add(new Step(new reorder(from, to), OneDnn.args(dnnl.DNNL_ARG_FROM, from, dnnl.DNNL_ARG_TO, to)));
            labels.add("reorder");
        }
    }

    static memory.desc any(long[] dims) {
        return new memory.desc(dims, memory.data_type.f32, memory.format_tag.any);
    }

    static boolean referenceOnly(primitive_desc_base pd) {
        return pd.impl_info_str().getString().startsWith("ref");
    }

    static primitive_attr attr() {
        primitive_attr attr = new primitive_attr();
        attr.set_scratchpad_mode(dnnl.scratchpad_mode.user);
        return attr;
    }

    void add(List<Step> steps, primitive p, primitive_desc_base pd, IntMemoryMap args) {
        memory.desc scratchDesc = pd.scratchpad_desc();
        buffers.grow(scratchSlot, Math.max(scratchDesc.get_size(), 1));
        memory m = buffers.over(scratchSlot, scratchDesc);
        args.put(dnnl.DNNL_ARG_SCRATCHPAD, m);
        steps.add(new Step(p, args));
        labels.add((steps == forward ? "forward " : "backward ") + pd.impl_info_str().getString());
    }


    /**
     * One step's forward and backward passes on {@code x} with one-hot (or soft) labels {@code y}:
     * returns the summed cross-entropy; the gradients are in the graph's gradient array after.
     */
    double run(INDArray x, float[] y) {
        inputMemory.set_data_handle(HostArrays.pointer(x));
        for (Bound b : bound) {
            b.memory().set_data_handle(b.address().get());
        }
        stream s = OneDnn.STREAM.get();
        for (Step step : forward) {
            step.primitive().execute(s, step.args());
        }
        s._wait();
        double loss = softmaxCrossEntropy(y);
        for (Step step : backward) {
            step.primitive().execute(s, step.args());
        }
        s._wait();
        // x may be the trainer's own float copy, unreachable to the JIT once its address is taken:
        // it must outlive the last primitive that reads it (the stem's weight gradient)
        Reference.reachabilityFence(x);
        afterBackward.forEach(Runnable::run);
        return loss;
    }

    /**
     * Softmax of the logits and DL4J's multi-class cross-entropy: the loss summed over the batch
     * (probabilities clipped to [1e-10, 1 - 1e-10] in the logarithm, as LossMCXENT does), and the
     * logits' gradient {@code p - y} (summed-loss convention: DL4J's updater divides by the batch).
     */
    private double softmaxCrossEntropy(float[] y) {
        int classes = (int) this.classes;
        int n = y.length / classes;
        float[] z = new float[y.length];
        new FloatPointer(logits.get_data_handle()).get(z);
        float[] grad = new float[y.length];
        float[] probabilities = new float[y.length];
        double eps = clip;
        double loss = 0;
        for (int i = 0; i < n; i++) {
            int o = i * classes;
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < classes; k++) {
                max = Math.max(max, z[o + k]);
            }
            double sum = 0;
            for (int k = 0; k < classes; k++) {
                sum += Math.exp(z[o + k] - max);
            }
            for (int k = 0; k < classes; k++) {
                double p = Math.exp(z[o + k] - max) / sum;
                probabilities[o + k] = (float) p;
                grad[o + k] = (float) (p - y[o + k]);
                if (y[o + k] != 0) {
                    loss -= y[o + k] * Math.log(Math.min(Math.max(p, eps), 1 - eps));
                }
            }
        }
        new FloatPointer(logitsGrad.get_data_handle()).put(grad);
        this.probabilities = probabilities;
        return loss;
    }

    /**
     * The running statistics' entries in the gradient array, as DL4J's BatchNormalization writes them:
     * the old value minus the new one (mean and variance: {@code decay * old + (1 - decay) * batch};
     * log10 standard deviation: of that variance), so that the step {@code params -= gradient} sets
     * the new value (the updater leaves these entries alone).
     */
    void runningStatistics(Node.Norm b, memory batchMean, memory batchVar) {
        int c = (int) values.get(b.name()).dims()[1];
        float[] mean = new float[c];
        float[] var = new float[c];
        new FloatPointer(batchMean.get_data_handle()).get(mean);
        new FloatPointer(batchVar.get_data_handle()).get(var);
        Layer layer = graph.getLayer(b.name());
        double decay = b.decay();
        float[] globalMean = floats(layer.getParam("mean"), c);
        float[] meanGrad = new float[c];
        for (int i = 0; i < c; i++) {
            meanGrad[i] = (float) ((globalMean[i] - mean[i]) * (1 - decay));
        }
        put(gradientOf(b.name(), "mean"), meanGrad);
        String key = b.logStd() ? "log10stdev" : "var";
        float[] global = floats(layer.getParam(key), c);
        float[] grad = new float[c];
        for (int i = 0; i < c; i++) {
            if (b.logStd()) {
                double old = Math.pow(10, 2.0 * global[i]);
                double updated = decay * old + (1 - decay) * var[i];
                grad[i] = (float) (0.5 * Math.log10(old / updated));
            } else {
                grad[i] = (float) ((global[i] - var[i]) * (1 - decay));
            }
        }
        put(gradientOf(b.name(), key), grad);
    }

    /** A dense float parameter's values, read where it lies. */
    private float[] floats(INDArray param, int n) {
        float[] values = new float[n];
        new FloatPointer(HostArrays.pointer(param)).get(values);
        return values;
    }

    private void put(Pointer at, float[] values) {
        new FloatPointer(at).put(values);
    }

    /** A parameter's offset in bytes in the graph's flattened parameter (and gradient) array. */
    static long offsetBytes(ComputationGraph graph, String layer, String key) {
        return HostArrays.address(graph.getLayer(layer).getParam(key)) - HostArrays.address(graph.params());
    }

    /** A value: a feature map (or the pooled features) in the plan's layout, and its gradient. */
    record Value(memory.desc desc, long[] dims, memory data, memory grad) {
    }

    record Step(primitive primitive, IntMemoryMap args) {
    }

    /** A user memory bound on every step to an array of the graph (a parameter or gradient slice, the input). */
    record Bound(memory memory, java.util.function.Supplier<Pointer> address) {
    }
}
