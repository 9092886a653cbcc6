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
 * block's concatenations, rebuilt from the features they join, and batch norms' outputs read only
 * by convolutions, recomputed from their input with the batch's saved statistics. Each lives in one
 * buffer shared by all values of its kind, so their memory no longer grows with the square of the
 * block's depth.
 *
 * <p>A value qualifies only where sharing is safe: in the forward pass every reader of it runs
 * before the next value of its kind is made, and a concatenation's features are all kept values.
 * (A concatenation read by the next one does not count as read: it is rebuilt from the features.)
 */
final class Recomputation {

    /** A shared buffer: the concatenations'. */
    static final int CONCAT = 0;
    /** A shared buffer: the batch norms'. */
    static final int NORM = 1;

    /** Value to its kind (CONCAT or NORM), for the values not kept. */
    final Map<String, Integer> kind = new HashMap<>();
    /** A rebuilt concatenation's features (kept values), in channel order. */
    final Map<String, List<String>> features = new HashMap<>();

    private Recomputation() {
    }

    /** Nothing recomputed: every value kept (the default mode). */
    static Recomputation none() {
        return new Recomputation();
    }

    /** The values of {@code graph} a memory-efficient step recomputes. */
    static Recomputation of(Graph graph) {
        Recomputation r = new Recomputation();
        List<Node> nodes = graph.nodes();
        Map<String, List<Integer>> readers = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            for (String in : nodes.get(i).inputs()) {
                readers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
            }
        }
        int[] lastUse = {-1, -1}; // per kind: the last forward reader of the value now in its buffer
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            if (graph.outputs().contains(n.name())) {
                continue;
            }
            List<Integer> read = readers.getOrDefault(n.name(), List.of());
            int kind;
            if (n instanceof Node.Concat c) {
                List<String> parts = new ArrayList<>();
                for (String in : c.inputs()) {
                    parts.addAll(r.features.getOrDefault(in, List.of(in)));
                }
                if (parts.stream().anyMatch(p -> r.kind.containsKey(p) || p.equals(graph.input()))) {
                    continue; // a feature not kept (or the graph's input, bound per call): keep this one
                }
                read = read.stream().filter(j -> !(nodes.get(j) instanceof Node.Concat next
                        && next.input().equals(c.name()))).toList();
                if (read.stream().anyMatch(j -> !(nodes.get(j) instanceof Node.Norm))) {
                    continue;
                }
                r.features.put(c.name(), parts);
                kind = CONCAT;
            } else if (n instanceof Node.Norm && !read.isEmpty()
                    && read.stream().allMatch(j -> nodes.get(j) instanceof Node.Conv)) {
                kind = NORM;
            } else {
                continue;
            }
            if (lastUse[kind] >= i) {
                r.features.remove(n.name());
                continue; // the value now in this kind's buffer is still to be read
            }
            r.kind.put(n.name(), kind);
            lastUse[kind] = read.stream().mapToInt(Integer::intValue).max().orElse(i);
        }
        return r;
    }
}
