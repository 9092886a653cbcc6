package org.densenet4j.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.densenet4j.zoo.DenseNetBuilder;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet summary}: the Keras-style table of a preset's layers. */
@Command(name = "summary", mixinStandardHelpOptions = true,
        description = "Print a model's layers (name, type, output shape, parameters, inputs) and totals.")
final class SummaryCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "A preset id, e.g. densenet121 (see --list).")
    String model;

    @Option(names = "--classes", description = "Number of classes of fc6 (default: the preset's).")
    Integer classes;

    @Option(names = "--input", description = "Input HxWxC (default: the preset's, e.g. 224x224x3).")
    String input;

    @Override
    public Integer call() {
        DenseNetPreset preset = Models.preset(model);
        DenseNetConfig config = Models.configure(preset, classes, input);
        print(spec.commandLine().getOut(), preset.id() + ": " + preset.description(), config);
        return 0;
    }

    /** Prints the table of {@code config}'s graph; no parameters are allocated. */
    static void print(PrintWriter out, String title, DenseNetConfig config) {
        ComputationGraphConfiguration conf = DenseNetBuilder.build(config);
        InputType in = InputType.convolutional(config.inputHeight(), config.inputWidth(), config.inputChannels());
        Map<String, InputType> types = conf.getLayerActivationTypes(false, in);
        String format = "%-22s %-22s %-18s %12s  %s%n";
        String rule = "=".repeat(100);
        out.println("Model: " + title);
        out.println(rule);
        out.printf(format, "Layer", "Type", "Output shape", "Params", "Inputs");
        out.println(rule);
        out.printf(format, DenseNetBuilder.INPUT, "Input", shape(in), 0, "");
        long total = 0;
        long statistics = 0;
        for (String name : order(conf)) {
            GraphVertex v = conf.getVertices().get(name);
            if (v == null) {
                continue;
            }
            long params = 0;
            String type = v.getClass().getSimpleName().replace("Vertex", "");
            if (v instanceof LayerVertex lv) {
                Layer layer = lv.getLayerConf().getLayer();
                params = layer.initializer().numParams(layer);
                type = layer.getClass().getSimpleName();
                if (layer instanceof BatchNormalization) {
                    statistics += params / 2; // mean and variance, half of gamma/beta/mean/var
                }
            }
            total += params;
            List<String> inputs = conf.getVertexInputs().get(name);
            out.printf(format, name, type, shape(types.get(name)), String.format("%,d", params),
                    inputs == null ? "" : String.join(", ", inputs));
        }
        out.println(rule);
        out.printf("Total params: %,d%n", total);
        out.printf("Trainable params: %,d%n", total - statistics);
        out.printf("Non-trainable params: %,d (batch normalisation moving statistics)%n", statistics);
    }

    private static List<String> order(ComputationGraphConfiguration conf) {
        var indices = new org.deeplearning4j.nn.graph.ComputationGraph(conf).calculateIndices();
        java.util.ArrayList<String> names = new java.util.ArrayList<>();
        for (int i : indices.getTopologicalSortOrder()) {
            names.add(indices.getIdxToName().get(i));
        }
        return names;
    }

    private static String shape(InputType t) {
        if (t == null) {
            return "?";
        }
        long[] s = t.getShape(false);
        return java.util.Arrays.toString(s);
    }
}
