package org.densenet4j.engine.ir;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A graph in the engine's intermediate representation: one input, nodes in an order where each
 * reads only the input and earlier nodes, and the values that are its outputs. Passes
 * ({@link Passes}) turn a graph into another; the engines plan the last one.
 */
public record Graph(String input, List<Node> nodes, List<String> outputs) {

    /** Copies the lists. */
    public Graph {
        nodes = List.copyOf(nodes);
        outputs = List.copyOf(outputs);
    }

    /** How many nodes read each value, each output counting as one more reader. */
    public Map<String, Integer> readers() {
        Map<String, Integer> readers = new HashMap<>();
        nodes.forEach(n -> n.inputs().forEach(i -> readers.merge(i, 1, Integer::sum)));
        outputs.forEach(o -> readers.merge(o, 1, Integer::sum));
        return readers;
    }

    /** The node making each value. */
    public Map<String, Node> producers() {
        Map<String, Node> producers = new HashMap<>();
        nodes.forEach(n -> producers.put(n.name(), n));
        return producers;
    }

    /** The channels (features) of every value, from those of the input. */
    public Map<String, Long> channels(long inputChannels) {
        Map<String, Long> channels = new HashMap<>();
        channels.put(input, inputChannels);
        for (Node n : nodes) {
            channels.put(n.name(), n.channels(n.inputs().stream().map(channels::get).toList()));
        }
        return channels;
    }
}
