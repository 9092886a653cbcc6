package org.densenet4j.engine.ir;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * The graph rewrites the engines run, each a small rule over the {@link Graph}, and the two lists
 * they run in. A fusion rewrites a node that alone reads another node's value into one node doing
 * both; it never applies across a value that is also an output or read elsewhere.
 */
public final class Passes {

    private Passes() {
    }

    /** Drops the nodes that no output needs. */
    public static final Pass PRUNE = graph -> {
        Set<String> needed = new HashSet<>(graph.outputs());
        List<Node> kept = new ArrayList<>();
        List<Node> nodes = graph.nodes();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            if (needed.contains(nodes.get(i).name())) {
                needed.addAll(nodes.get(i).inputs());
                kept.add(0, nodes.get(i));
            }
        }
        return kept.size() == nodes.size() ? graph : new Graph(graph.input(), kept, graph.outputs());
    };

    /** Removes identity nodes: their readers (and the outputs) read what they read instead. */
    public static final Pass DROP_IDENTITY = graph -> {
        Map<String, String> alias = new HashMap<>();
        List<Node> kept = new ArrayList<>();
        for (Node n : graph.nodes()) {
            List<String> inputs = n.inputs().stream().map(i -> alias.getOrDefault(i, i)).toList();
            if (n instanceof Node.Identity) {
                alias.put(n.name(), inputs.get(0));
            } else {
                kept.add(inputs.equals(n.inputs()) ? n : n.reading(inputs));
            }
        }
        if (alias.isEmpty()) {
            return graph;
        }
        List<String> outputs = graph.outputs().stream().map(o -> alias.getOrDefault(o, o)).toList();
        if (outputs.contains(graph.input())) {
            throw new UnsupportedOperationException("output '" + graph.outputs().get(outputs.indexOf(graph.input()))
                    + "' is the graph's input");
        }
        return new Graph(graph.input(), kept, outputs);
    };

    /** Folds a batch norm into the convolution before it (inference: the running statistics are constants). */
    public static final Pass FOLD_BATCH_NORM = fuse((before, after) ->
            before instanceof Node.Conv c && !c.relu() && c.folded() == null && after instanceof Node.Norm n
                    && !n.relu() ? c.folding(n) : null);

    /**
     * Runs a ReLU inside the convolution, batch norm or sum before it (oneDNN's post-op, or its fused
     * ReLU): a residual block's {@code relu(bn2 + shortcut)} is one step.
     */
    public static final Pass FUSE_RELU = fuse((before, after) ->
            !(after instanceof Node.Relu) ? null
                    : before instanceof Node.Conv c && !c.relu() ? c.withRelu()
                    : before instanceof Node.Norm n && !n.relu() ? n.withRelu()
                    : before instanceof Node.Add a && !a.relu() ? a.withRelu() : null);

    /** Runs a ReLU inside the batch norm before it (training: oneDNN's fused ReLU has its own backward pass). */
    public static final Pass FUSE_NORM_RELU = fuse((before, after) ->
            after instanceof Node.Relu && before instanceof Node.Norm n && !n.relu() ? n.withRelu() : null);

    /**
     * Runs a sum of two maps, and the ReLU after it, inside the convolution making one of them
     * (inference: oneDNN's sum post-op adds the convolution's result to what its output buffer
     * holds, which can be the other map's buffer): a residual block's {@code relu(conv2 + shortcut)}.
     * The convolution must be the sum's only reader, and the other map made before it.
     */
    public static final Pass FUSE_SUM = graph -> {
        Map<String, Integer> readers = graph.readers();
        Map<String, Integer> position = new HashMap<>();
        position.put(graph.input(), -1);
        List<Node> nodes = new ArrayList<>(graph.nodes());
        for (int i = 0; i < nodes.size(); i++) {
            position.put(nodes.get(i).name(), i);
        }
        Map<String, String> alias = new HashMap<>();
        Set<Integer> removed = new HashSet<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (!(nodes.get(i) instanceof Node.Add a) || a.inputs().size() != 2) {
                continue;
            }
            int conv = -1;
            for (int k = 0; k < 2; k++) { // the later of the two convolutions, so that the other map exists
                String term = a.inputs().get(k);
                int at = position.get(term);
                if (at >= 0 && !removed.contains(at) && nodes.get(at) instanceof Node.Conv c && c.summand() == null
                        && !c.relu() && readers.get(term) == 1 && position.get(a.inputs().get(1 - k)) < at
                        && (conv < 0 || at > conv)) {
                    conv = at;
                }
            }
            if (conv >= 0) {
                Node.Conv c = (Node.Conv) nodes.get(conv);
                String other = a.inputs().get(a.inputs().get(0).equals(c.name()) ? 1 : 0);
                nodes.set(conv, c.adding(other, a.relu()));
                alias.put(a.name(), c.name());
                position.put(a.name(), conv); // the sum is made there now
                removed.add(i);
            }
        }
        if (alias.isEmpty()) {
            return graph;
        }
        List<Node> kept = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (!removed.contains(i)) {
                Node n = nodes.get(i);
                List<String> inputs = n.inputs().stream().map(in -> alias.getOrDefault(in, in)).toList();
                kept.add(inputs.equals(n.inputs()) ? n : n.reading(inputs));
            }
        }
        return new Graph(graph.input(), kept, graph.outputs().stream().map(o -> alias.getOrDefault(o, o)).toList());
    };

    /** The inference engine's passes, in order. */
    public static final List<Pass> INFERENCE = List.of(PRUNE, DROP_IDENTITY, FOLD_BATCH_NORM, FUSE_RELU, FUSE_SUM);

    /** The training engine's passes, in order. */
    public static final List<Pass> TRAINING = List.of(DROP_IDENTITY, FUSE_NORM_RELU);

    /** {@code graph} after each of {@code passes}. */
    public static Graph run(Graph graph, List<Pass> passes) {
        Graph g = graph;
        for (Pass p : passes) {
            g = p.apply(g);
        }
        return g;
    }

    /**
     * A fusion pass: where a node reads a value of which it is the only reader, and {@code rule}
     * gives a node for the pair (producer, reader), that node replaces both under the producer's
     * place and the reader's name is read as the fused node's value.
     */
    static Pass fuse(BiFunction<Node, Node, Node> rule) {
        return graph -> {
            Map<String, Integer> readers = graph.readers();
            Map<String, String> alias = new HashMap<>();
            List<Node> nodes = new ArrayList<>();
            Map<String, Integer> position = new HashMap<>();
            for (Node n : graph.nodes()) {
                List<String> inputs = n.inputs().stream().map(i -> alias.getOrDefault(i, i)).toList();
                Node node = inputs.equals(n.inputs()) ? n : n.reading(inputs);
                if (inputs.size() == 1 && readers.getOrDefault(n.input(),
                        0) == 1 && position.containsKey(inputs.get(0))) {
                    int at = position.get(inputs.get(0));
                    Node merged = rule.apply(nodes.get(at), node);
                    if (merged != null) {
                        nodes.set(at, merged);
                        alias.put(n.name(), merged.name());
                        continue;
                    }
                }
                position.put(node.name(), nodes.size());
                nodes.add(node);
            }
            if (alias.isEmpty()) {
                return graph;
            }
            return new Graph(graph.input(), nodes,
                    graph.outputs().stream().map(o -> alias.getOrDefault(o, o)).toList());
        };
    }
}
