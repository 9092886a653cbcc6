package org.densenet4j.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.densenet4j.engine.ir.Graph;
import org.densenet4j.engine.ir.Node;

/**
 * Which values a memory-efficient training step does not keep from the forward pass to the
 * backward one (Pleiss et al. 2017, "Memory-Efficient Implementation of DenseNets"): a dense
 * block's concatenations, rebuilt from the features they join; batch norms' outputs, recomputed
 * from their input with the batch's saved statistics; cheap convolutions' outputs (a bottleneck's
 * 1x1, the stem's), recomputed from their input; and values no backward step reads at all (a
 * convolution's output that only a pooling or a residual sum reads). Each kind lives in one buffer shared by all
 * values of that kind, so the memory of what is not kept no longer grows with the block's depth.
 *
 * <p>A value qualifies only where sharing is safe: in the forward pass every reader of it runs
 * before the next value of its kind is made, and a concatenation's features are all kept values.
 * (A concatenation read by the next one does not count as read: it is rebuilt from the features.)
 */
final class Recomputation {

    /** Kinds of values not kept, each with a shared buffer: concatenations. */
    static final int CONCAT = 0;
    /** Batch norms' outputs. */
    static final int NORM = 1;
    /** Convolutions' outputs. */
    static final int CONV = 2;
    /** Values no backward step reads, never recomputed; they share the convolutions' buffer. */
    static final int UNREAD = 3;
    static final int KINDS = 4;
    /** The shared buffers: one per kind, but for the unread values, which only the forward pass reads. */
    static final int BUFFERS = 3;

    /**
     * A convolution is recomputed when it costs at most this many multiply-adds per output value
     * (input channels times kernel area): a 1x1 bottleneck on up to 1,024 channels (all of
     * DenseNet-121's), the 7x7 stem on 3. Above it, running the convolution again costs more time
     * than its output's memory is worth.
     */
    static final long CHEAP_CONV_MACS = 1024;

    /** Value to its kind, for the values not kept. */
    final Map<String, Integer> kind = new HashMap<>();
    /** A rebuilt concatenation's features (kept values), in channel order. */
    final Map<String, List<String>> features = new HashMap<>();

    private Recomputation() {
    }

    /** Nothing recomputed: every value kept (the default mode). */
    static Recomputation none() {
        return new Recomputation();
    }

    /** The values of {@code graph} a memory-efficient step does not keep. */
    static Recomputation of(Graph graph) {
        Recomputation r = new Recomputation();
        List<Node> nodes = graph.nodes();
        Map<String, List<Integer>> readers = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            for (String in : nodes.get(i).inputs()) {
                readers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
            }
        }
        int[] lastUse = new int[BUFFERS]; // per buffer: the last forward reader of the value now in it
        java.util.Arrays.fill(lastUse, -1);
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            List<Integer> read = readers.getOrDefault(n.name(), List.of());
            if (graph.outputs().contains(n.name()) || read.isEmpty()) {
                continue;
            }
            List<String> parts = null;
            if (n instanceof Node.Concat c) {
                parts = new ArrayList<>();
                for (String in : c.inputs()) {
                    parts.addAll(r.features.getOrDefault(in, List.of(in)));
                }
                // the next concatenation rebuilds from the features, it does not read this one
                read = read.stream().filter(j -> !(nodes.get(j) instanceof Node.Concat next
                        && next.input().equals(c.name()))).toList();
            }
            int kind = kindOf(n, read, nodes, parts, r, graph.input());
            if (kind < 0 || lastUse[buffer(kind)] >= i) {
                continue; // kept, or the value now in this kind's buffer is still to be read
            }
            if (parts != null) {
                r.features.put(n.name(), parts);
            }
            r.kind.put(n.name(), kind);
            lastUse[buffer(kind)] = read.stream().mapToInt(Integer::intValue).max().orElse(i);
        }
        return r;
    }

    /** The shared buffer the values of {@code kind} live in. */
    static int buffer(int kind) {
        return kind == UNREAD ? CONV : kind;
    }

    /** The kind {@code n}'s value can be, given who reads it, or -1 to keep it. */
    private static int kindOf(Node n, List<Integer> read, List<Node> nodes, List<String> parts, Recomputation r,
            String input) {
        // pooling's and a sum's backward passes read only their output's gradient, not their input
        boolean unreadBackward = read.stream().allMatch(j -> nodes.get(j) instanceof Node.Pool
                || nodes.get(j) instanceof Node.GlobalPool || nodes.get(j) instanceof Node.Add);
        if (n instanceof Node.Concat) {
            boolean keptParts = parts.stream().noneMatch(p -> r.kind.containsKey(p) || p.equals(input));
            return keptParts && read.stream().allMatch(j -> nodes.get(j) instanceof Node.Norm) ? CONCAT : -1;
        }
        if (n instanceof Node.Norm) {
            return read.stream().allMatch(j -> nodes.get(j) instanceof Node.Conv || nodes.get(j) instanceof Node.Pool
                    || nodes.get(j) instanceof Node.GlobalPool || nodes.get(j) instanceof Node.Add) ? NORM : -1;
        }
        if (unreadBackward) {
            return UNREAD;
        }
        if (n instanceof Node.Conv c) {
            long[] w = c.weightShape();
            boolean cheap = w[1] * w[2] * w[3] <= CHEAP_CONV_MACS;
            return cheap && read.stream().allMatch(j -> nodes.get(j) instanceof Node.Norm) ? CONV : -1;
        }
        return -1;
    }
}
