package org.densenet4j.engine;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.stepfunctions.NegativeDefaultStepFunction;
import org.deeplearning4j.nn.conf.stepfunctions.NegativeGradientStepFunction;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.ir.Graph;
import org.densenet4j.engine.ir.GraphReader;
import org.densenet4j.engine.ir.Node;
import org.densenet4j.engine.ir.Passes;
import org.densenet4j.onednn.HostArrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What compiled training needs of a graph beyond the layers {@link GraphReader} reads for it: an
 * initialised float graph stepping against the gradient, one path from the input to a softmax output
 * layer on which every parameter lies, and each layer's parameters dense floats in the flattened
 * arrays (whose order the trainer's gradient views follow).
 */
final class TrainableGraph {

    private TrainableGraph() {
    }

    /** The trainer of {@code graph}, or an UnsupportedOperationException naming what it cannot train. */
    static CompiledTrainer check(ComputationGraph graph, EngineOptions options) {
        ComputationGraphConfiguration conf = graph.getConfiguration();
        if (graph.params() == null) {
            throw new UnsupportedOperationException("the graph is not initialised (call init())");
        }
        if (graph.getFlattenedGradients() == null) {
            graph.initGradientsView(); // as fit() does on its first call
        }
        if (graph.params().dataType() != DataType.FLOAT) {
            throw new UnsupportedOperationException("compiled training runs float graphs, this one is "
                    + graph.params().dataType());
        }
        var stepFunction = conf.getDefaultConfiguration().getStepFunction();
        if (stepFunction != null && !(stepFunction instanceof NegativeGradientStepFunction)
                && !(stepFunction instanceof NegativeDefaultStepFunction)) {
            throw new UnsupportedOperationException("compiled training steps against the gradient, "
                    + "the graph's step function is " + stepFunction.getClass().getSimpleName());
        }
        Graph read = GraphReader.read(graph, GraphReader.Purpose.TRAINING, conf.getNetworkOutputs());
        Graph ir = Passes.run(read, Passes.TRAINING);
        String out = conf.getNetworkOutputs().get(0);
        Node last = ir.producers().get(ir.outputs().get(0));
        if (!(last instanceof Node.Dense d) || d.loss() == null) {
            throw unsupported(out, "the graph's output is not a softmax output layer");
        }
        Set<String> readers = new HashSet<>();
        ir.nodes().forEach(n -> readers.addAll(n.inputs()));
        if (readers.contains(last.name())) {
            throw unsupported(last.name(), "the output layer feeds another layer");
        }
        for (Node n : ir.nodes()) {
            if (n != last && !readers.contains(n.name())) {
                throw unsupported(n.name(), "its output does not lead to the graph's output");
            }
        }
        if (ir.nodes().get(ir.nodes().size() - 1) != last) {
            List<Node> nodes = new ArrayList<>(ir.nodes()); // the output layer last, where the plans expect it
            nodes.remove(last);
            nodes.add(last);
            ir = new Graph(ir.input(), nodes, ir.outputs());
        }
        Map<String, List<String>> paramKeys = new LinkedHashMap<>();
        for (Node n : ir.nodes()) {
            if (n instanceof Node.Conv c) {
                params(graph, paramKeys, c.name(), c.bias() ? List.of("W", "b") : List.of("W"));
            } else if (n instanceof Node.Norm b) {
                params(graph, paramKeys, b.name(), List.of("gamma", "beta", "mean", b.logStd() ? "log10stdev" : "var"));
            } else if (n instanceof Node.Dense) {
                params(graph, paramKeys, n.name(), List.of("W", "b"));
            }
        }
        for (Layer layer : graph.getLayers()) {
            String name = layer.conf().getLayer().getLayerName();
            if (layer.numParams() > 0 && !paramKeys.containsKey(name)) {
                throw unsupported(name, "parameters outside the path to the output");
            }
        }
        return CompiledTrainer.of(graph, ir, options, paramKeys);
    }

    /** Records the layer's parameter keys, in the order of its parameter table (its slice of the flattened arrays). */
    private static void params(ComputationGraph graph, Map<String, List<String>> paramKeys, String name,
            List<String> expected) {
        List<String> keys = new ArrayList<>(graph.getLayer(name).paramTable().keySet());
        if (!new HashSet<>(keys).equals(new HashSet<>(expected))) {
            throw unsupported(name, "parameters " + keys);
        }
        for (String k : keys) {
            INDArray p = graph.getLayer(name).getParam(k);
            if (p.dataType() != DataType.FLOAT || k.equals("W") && p.rank() == 4 && !HostArrays.denseRowMajor(p)) {
                throw unsupported(name, "parameter " + k + " not a dense float array");
            }
        }
        paramKeys.put(name, keys);
    }

    private static UnsupportedOperationException unsupported(String name, String what) {
        return GraphReader.unsupported(name, what, GraphReader.Purpose.TRAINING);
    }
}
